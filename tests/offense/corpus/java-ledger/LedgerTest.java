import java.util.List;

/** The program's own tests: {@code make -f build.mk test} in this directory. */
public final class LedgerTest {
    private static void check(boolean ok, String what) {
        if (!ok) {
            throw new AssertionError(what);
        }
    }

    public static void main(String[] args) {
        check(Ledger.total(List.of("1,a,10", "2,b,n/a", "3,c, -5 ", "4,d,", "5,e,-"), 2) == 5, "sum");
        check(Ledger.total(List.of(), 2) == 0, "empty");
        check(Ledger.total(List.of("1,a,x1", "2,b,1.5", "3,c,9"), 2) == 9, "not whole numbers");
        List<String> lines = Ledger.export(3000);
        long expected = 0;
        for (String line : lines) {
            String f = line.substring(line.lastIndexOf(',') + 1);
            if (!f.isEmpty() && !f.equals("n/a") && !f.equals("-")) {
                expected += Long.parseLong(f);
            }
        }
        check(Ledger.total(lines, 2) == expected, "export");
        System.out.println("ok");
    }
}
