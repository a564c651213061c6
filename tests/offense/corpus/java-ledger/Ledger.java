import java.util.ArrayList;
import java.util.List;

/**
 * Totals of a column of CSV text, as a reconciliation job or a report reads an export in which
 * missing amounts are written as blanks, "n/a" or "-".
 *
 * <p>Planted inefficiency (offense corpus): {@code total} parses every field and lets {@code
 * Long.parseLong} throw for the ones that are not amounts: each bad field constructs a {@code
 * NumberFormatException}, which walks the thread's stack to fill in its stack trace.
 */
public final class Ledger {
    private Ledger() {}

    /** The sum of the whole-number amounts in column {@code column}; other fields count 0. */
    public static long total(List<String> lines, int column) {
        long sum = 0;
        for (String line : lines) {
            String field = line.split(",", -1)[column].trim();
            try {
                sum += Long.parseLong(field);
            } catch (NumberFormatException e) {
                // Not an amount: blank, "n/a", "-".
            }
        }
        return sum;
    }

    /** {@code n} reproducible lines of an export: id, customer, amount (a third missing). */
    public static List<String> export(int n) {
        List<String> lines = new ArrayList<>(n);
        long state = 0x9e3779b97f4a7c15L;
        String[] missing = {"", "n/a", "-"};
        for (int i = 0; i < n; i++) {
            state ^= state << 13;
            state ^= state >>> 7;
            state ^= state << 17;
            long r = Math.floorMod(state, 1_000_000L);
            String amount = r % 3 == 0 ? missing[(int) (r % 9) / 3] : Long.toString(r - 500_000);
            lines.add(i + ",customer " + (r % 977) + "," + amount);
        }
        return lines;
    }
}
