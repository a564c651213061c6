"""Mailing-list hygiene: drop the addresses that are on the blocklist before a send.

Planted inefficiency (offense corpus): `allowed` tests every address against the blocklist,
a list, so each test walks the list: addresses x blocked string comparisons.
"""


def allowed(addresses, blocked):
    """The addresses not on the blocklist, in their order."""
    kept = []
    for address in addresses:
        if address not in blocked:
            kept.append(address)
    return kept


def addresses(n, seed):
    """`n` addresses, deterministic for a seed."""
    names = ["ana", "bo", "chen", "dee", "eve", "finn", "gus", "hana"]
    domains = ["example.com", "example.org", "mail.example.net"]
    state = seed
    out = []
    for i in range(n):
        state = (state * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        out.append(f"{names[state % 8]}.{state % 100_000}@{domains[state % 3]}")
    return out
