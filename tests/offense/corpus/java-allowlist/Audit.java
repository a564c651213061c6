import java.util.ArrayList;
import java.util.List;

/**
 * Filters a day's account events against an allowlist, as an audit job does, and lists the
 * accounts seen.
 *
 * <p>Planted inefficiency (offense corpus): {@code permitted} looks every event's account up in
 * the allowlist with {@code List.contains}, which walks the whole list for each event. {@code
 * firstSeen} does the same against a list it grows in the loop: no set built before the loop
 * could replace it.
 */
public final class Audit {
    private Audit() {}

    /** One account event: the account and an amount in cents. */
    public record Event(String account, int amountCents) {}

    /** The events whose account is on the allowlist, in their order. */
    public static List<Event> permitted(List<Event> events, List<String> allowlist) {
        List<Event> out = new ArrayList<>();
        for (Event e : events) {
            if (allowlist.contains(e.account())) {
                out.add(e);
            }
        }
        return out;
    }

    /** Each account of the events once, in the order it first appears. */
    public static List<String> firstSeen(List<Event> events) {
        List<String> seen = new ArrayList<>();
        for (Event e : events) {
            if (!seen.contains(e.account())) {
                seen.add(e.account());
            }
        }
        return seen;
    }

    /** The name of account number {@code n}. */
    public static String account(int n) {
        return String.format("acct-%06d", n);
    }

    /** {@code n} events from the given number of distinct accounts, reproducible. */
    public static List<Event> dayOfEvents(int n, int accounts) {
        List<Event> out = new ArrayList<>(n);
        long state = 0x2545F4914F6CDD1DL;
        for (int i = 0; i < n; i++) {
            state ^= state << 13;
            state ^= state >>> 7;
            state ^= state << 17;
            out.add(new Event(account((int) Long.remainderUnsigned(state, accounts)),
                    (int) ((state >>> 40) % 100_000)));
        }
        return out;
    }

    /** Every {@code step}-th account below {@code accounts}: an allowlist as a configuration file gives it. */
    public static List<String> allowlistOf(int accounts, int step) {
        List<String> out = new ArrayList<>();
        for (int a = 0; a < accounts; a += step) {
            out.add(account(a));
        }
        return out;
    }
}
