"""Dunning: does a customer have an overdue invoice? (asked for every customer of a run).

Planted inefficiency (offense corpus): `any_overdue` remembers that it found one and keeps
checking the rest of the invoices anyway.
"""


def any_overdue(invoices, today):
    """Whether any unpaid invoice is past its due date (days since an epoch)."""
    overdue = False
    for invoice in invoices:
        if not invoice["paid"] and invoice["due"] < today:
            overdue = True
    return overdue


def invoices(n, seed):
    """`n` invoices of one customer, deterministic; a few unpaid and late."""
    state = seed
    out = []
    for i in range(n):
        state = (state * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        out.append({"id": i, "paid": state % 7 != 0, "due": 19_000 + state % 1_000})
    return out
