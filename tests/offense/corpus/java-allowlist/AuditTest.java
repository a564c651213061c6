import java.util.List;

/** The program's own tests: {@code make -f build.mk test} in this directory. */
public final class AuditTest {
    private static void check(boolean ok, String what) {
        if (!ok) {
            throw new AssertionError(what);
        }
    }

    public static void main(String[] args) {
        List<Audit.Event> events = List.of(
                new Audit.Event("a", 1), new Audit.Event("b", 2), new Audit.Event("a", 3),
                new Audit.Event("c", 4));
        List<Audit.Event> kept = Audit.permitted(events, List.of("a", "c"));
        check(kept.equals(List.of(events.get(0), events.get(2), events.get(3))), "permitted: " + kept);
        check(Audit.permitted(events, List.of()).isEmpty(), "empty allowlist");
        check(Audit.firstSeen(events).equals(List.of("a", "b", "c")), "first seen");
        List<Audit.Event> day = Audit.dayOfEvents(5000, 900);
        List<String> allow = Audit.allowlistOf(900, 3);
        int expected = 0;
        for (Audit.Event e : day) {
            int n = Integer.parseInt(e.account().substring(5));
            if (n % 3 == 0) {
                expected++;
            }
        }
        check(Audit.permitted(day, allow).size() == expected, "a day's events");
        check(Audit.firstSeen(day).size() <= 900, "distinct accounts");
        System.out.println("ok");
    }
}
