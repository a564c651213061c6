import java.util.List;

/** The workload: render 4,000 rows N times; prints {@code elapsed_ns N}. */
public final class Bench {
    public static void main(String[] args) {
        int iterations = args.length == 2 && args[0].equals("--iterations") ? Integer.parseInt(args[1]) : 100;
        List<Report.Row> rows = Report.rows(4_000);
        long total = 0;
        long start = System.nanoTime();
        for (int i = 0; i < iterations; i++) {
            total += Report.csv(rows).length();
        }
        System.out.println("elapsed_ns " + (System.nanoTime() - start));
        if (total == 0) {
            System.exit(1);
        }
    }
}
