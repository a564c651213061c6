"""The clean Python workload: the defense evaluation's fleet generator (tests/eval/defense.py,
Joule's own code, no planted waste) building a fleet of labelled series, as `make
eval-defense` does. Profiled with py-spy by `make offense-profiles`.
"""

import os
import random
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "eval"))

import defense  # noqa: E402


def main():
    series = defense.fleet(random.Random(1), 1)
    print(f"{len(series)} series")


if __name__ == "__main__":
    main()
