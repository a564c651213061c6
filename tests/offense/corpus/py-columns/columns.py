"""Plain-text tables for a report: each column's cells are parsed as numbers where they are
numbers, numeric columns are aligned right (floats to two decimals) and text columns left.
"""


def parse_number(cell):
    """The cell's value as an int or a float, or None when it is not a number."""
    try:
        return int(cell)
    except ValueError:
        pass
    try:
        return float(cell)
    except ValueError:
        return None


def column_kinds(rows):
    """For each column: "int", "float" or "text", the narrowest that holds every cell."""
    kinds = []
    for cells in zip(*rows):
        values = [parse_number(cell) for cell in cells]
        if any(v is None for v in values):
            kinds.append("text")
        elif all(isinstance(v, int) for v in values):
            kinds.append("int")
        else:
            kinds.append("float")
    return kinds


def render(header, rows):
    """The table as text: the header, a rule, then the rows, columns two spaces apart."""
    kinds = column_kinds(rows)
    shown = [list(header)]
    for row in rows:
        shown.append([
            f"{float(cell):.2f}" if kind == "float" else cell
            for cell, kind in zip(row, kinds)
        ])
    widths = [max(len(r[i]) for r in shown) for i in range(len(header))]
    lines = []
    for n, row in enumerate(shown):
        lines.append("  ".join(
            cell.ljust(w) if kind == "text" or n == 0 else cell.rjust(w)
            for cell, w, kind in zip(row, widths, kinds)
        ).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines) + "\n"


CITIES = ["Lisbon", "Oslo", "Porto", "Tallinn", "Ghent", "Cork", "Lyon", "Graz"]


def orders(n, seed):
    """`n` made-up order rows (id, customer, city, amount, quantity, email), as text cells."""
    out = []
    state = seed
    for i in range(n):
        state = (state * 6364136223846793005 + 1442695040888963407) % 2**64
        customer = f"customer-{state % 9973}"
        out.append((
            str(10_000 + i),
            customer,
            CITIES[state % len(CITIES)],
            f"{(state >> 20) % 100_000 / 100:.2f}",
            str(1 + (state >> 40) % 12),
            f"{customer}@example.org",
        ))
    return out
