import java.util.List;

/**
 * The workload: filter a day of 20,000 events against a 1,000-account allowlist and list the
 * allowed accounts seen, N times; prints {@code elapsed_ns N}.
 */
public final class Bench {
    public static void main(String[] args) {
        int iterations = args.length == 2 && args[0].equals("--iterations") ? Integer.parseInt(args[1]) : 10;
        List<Audit.Event> day = Audit.dayOfEvents(20_000, 3_000);
        List<String> allow = Audit.allowlistOf(3_000, 3);
        long total = 0;
        long start = System.nanoTime();
        for (int i = 0; i < iterations; i++) {
            List<Audit.Event> kept = Audit.permitted(day, allow);
            total += Audit.firstSeen(kept).size();
        }
        System.out.println("elapsed_ns " + (System.nanoTime() - start));
        if (total == 0) {
            System.exit(1);
        }
    }
}
