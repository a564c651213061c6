"""Classifies words by rules built once: in a class body, in __init_subclass__ for each rule set
a subclass declares, and behind functools.lru_cache for the patterns made per keyword. Every
regex is compiled once (per class, or per distinct keyword), then used many times."""

import functools
import re

WORDS = [f"w{i}x{i * 7 % 13}" for i in range(4000)]


class Rules:
    # Compiled once, when the class body runs (at import).
    PATTERNS = [re.compile(rf"^w{i}x\d+$") for i in range(1500)]

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # Once per subclass, when it is defined.
        cls.compiled = [re.compile(rf"^{p}\w*$") for p in cls.prefixes]

    def matches(self, word):
        return any(p.match(word) for p in self.compiled)


def make_rules(n):
    """n rule sets, each a subclass with its own prefixes."""
    return [type(f"Rules{i}", (Rules,), {"prefixes": [f"w{i}{j}" for j in range(40)]})()
            for i in range(n)]


@functools.lru_cache(maxsize=None)
def keyword_pattern(keyword):
    # Compiled once per distinct keyword; later calls are cache hits.
    return re.compile(rf"\b{re.escape(keyword)}x(\d+)\b")


def classify(words, rules):
    counts = {}
    for word in words:
        key = word[:3]
        m = keyword_pattern(word).search(word)
        hit = sum(1 for r in rules if r.matches(word))
        counts[key] = counts.get(key, 0) + hit + (1 if m else 0)
    return counts
