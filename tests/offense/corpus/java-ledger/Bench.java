import java.util.List;

/** The workload: total 300,000 export lines N times; prints {@code elapsed_ns N}. */
public final class Bench {
    public static void main(String[] args) {
        int iterations = args.length == 2 && args[0].equals("--iterations") ? Integer.parseInt(args[1]) : 10;
        List<String> lines = Ledger.export(300_000);
        long total = 0;
        long start = System.nanoTime();
        for (int i = 0; i < iterations; i++) {
            total += Ledger.total(lines, 2);
        }
        System.out.println("elapsed_ns " + (System.nanoTime() - start));
        if (total == 42) {
            System.exit(1);
        }
    }
}
