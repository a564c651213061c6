"""The workload eval-real profiles tabulate with: a 3,000-row table of mixed columns (integers,
names, floats, padding, negatives) rendered in six formats, ROUNDS times over. Run from the
unpacked sdist: `python3 tabulate_workload.py ROUNDS`."""

import sys

from tabulate import tabulate

FORMATS = ("grid", "github", "pipe", "simple", "html", "latex")


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    rows = [[i, f"name {i}", i * 3.14159, "x" * (i % 17), -i * 7] for i in range(3000)]
    size = 0
    for _ in range(rounds):
        for fmt in FORMATS:
            size += len(tabulate(rows, headers=["id", "name", "value", "pad", "neg"],
                                 tablefmt=fmt))
    print(f"{size} characters")


if __name__ == "__main__":
    main()
