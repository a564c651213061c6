"""The workload: a 20,000-row order report rendered as a table. Prints `elapsed_ns N` like
the Rust corpus programs.

python3 bench.py [--iterations N]
"""

import sys
import time

from columns import orders, render

HEADER = ("id", "customer", "city", "amount", "quantity", "email")


def main():
    iterations = 1
    args = sys.argv[1:]
    if args[:1] == ["--iterations"] and len(args) == 2:
        iterations = int(args[1])
    elif args:
        sys.exit("usage: bench.py [--iterations N]")
    rows = orders(20_000, 5)
    start = time.perf_counter_ns()
    for _ in range(iterations):
        render(HEADER, rows)
    print(f"elapsed_ns {time.perf_counter_ns() - start}")


if __name__ == "__main__":
    main()
