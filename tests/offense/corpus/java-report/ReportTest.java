import java.util.List;

/** The program's own tests: {@code make -f build.mk test} in this directory. */
public final class ReportTest {
    private static void check(boolean ok, String what) {
        if (!ok) {
            throw new AssertionError(what);
        }
    }

    public static void main(String[] args) {
        String got = Report.csv(List.of(
                new Report.Row(1, "ann", 1234), new Report.Row(2, "bob, inc", -5),
                new Report.Row(3, "say \"hi\"", 100)));
        check(got.equals("id,name,amount\n1,ann,12.34\n2,\"bob, inc\",-0.05\n3,\"say \"\"hi\"\"\",1.00\n"),
                "rendering: " + got);
        check(Report.csv(List.of()).equals("id,name,amount\n"), "empty");
        List<Report.Row> rows = Report.rows(3000);
        check(Report.csv(rows).split("\n").length == rows.size() + 1, "lines");
        System.out.println("ok");
    }
}
