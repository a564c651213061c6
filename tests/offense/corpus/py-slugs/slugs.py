"""URL slugs for article titles, as a blog engine or a CMS makes them.

Planted inefficiency (offense corpus): `slugify` hands its patterns to `re.sub` as strings, so
every call looks the compiled patterns up again in the `re` module's cache (`re._compile`),
which costs more than the substitutions themselves on short titles.
"""

import re
import unicodedata


def slugify(title):
    """`Hello, World!` -> `hello-world`: ASCII, lower case, words joined by single dashes."""
    text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^\w\s-]", "", text.lower())
    return re.sub(r"[-\s_]+", "-", text).strip("-")


def titles(n):
    """`n` article titles, deterministic."""
    words = ["Rust", "performance", "Über", "fast", "Profiles", "regex", "café", "Joule",
             "watts", "Fleet", "hot path", "caching", "What's", "new?", "2026"]
    out = []
    state = 0x2545F4914F6CDD1D
    for _ in range(n):
        parts = []
        for _ in range(5):
            state = (state * 6364136223846793005 + 1442695040888963407) % (1 << 64)
            parts.append(words[state % len(words)])
        out.append(" ".join(parts))
    return out
