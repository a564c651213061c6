import java.util.ArrayList;
import java.util.List;

/**
 * Renders query results as CSV text, as an export endpoint or a nightly job writes them.
 *
 * <p>Planted inefficiency (offense corpus): {@code csv} builds its text with {@code out += ...}:
 * every line copies everything written so far into a new string, so n lines cost n * n / 2
 * line copies.
 */
public final class Report {
    private Report() {}

    /** One result: an id, a name and an amount in cents. */
    public record Row(int id, String name, long cents) {}

    /** The rows with a header line, one line each, fields joined by commas. */
    public static String csv(List<Row> rows) {
        String out = "id,name,amount\n";
        for (Row r : rows) {
            out += r.id() + "," + quote(r.name()) + "," + amount(r.cents()) + "\n";
        }
        return out;
    }

    /** A field quoted when it holds a comma, a quote or a line break. */
    static String quote(String field) {
        if (field.indexOf(',') < 0 && field.indexOf('"') < 0 && field.indexOf('\n') < 0) {
            return field;
        }
        return "\"" + field.replace("\"", "\"\"") + "\"";
    }

    /** An amount in cents as units with two decimals. */
    static String amount(long cents) {
        String sign = cents < 0 ? "-" : "";
        long abs = Math.abs(cents);
        long frac = abs % 100;
        return sign + (abs / 100) + "." + (frac < 10 ? "0" : "") + frac;
    }

    /** {@code n} reproducible rows. */
    public static List<Row> rows(int n) {
        List<Row> rows = new ArrayList<>(n);
        long state = 0x9e3779b97f4a7c15L;
        for (int i = 0; i < n; i++) {
            state ^= state << 13;
            state ^= state >>> 7;
            state ^= state << 17;
            long r = Math.floorMod(state, 2_000_000L);
            String name = "customer " + Long.toString(r % 100_000, 36) + (r % 7 == 0 ? ", ltd" : "");
            rows.add(new Row(i + 1, name, r - 1_000_000));
        }
        return rows;
    }
}
