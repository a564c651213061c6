"""The workload: the overdue check for 400 customers of 5,000 invoices each. Prints
`elapsed_ns N` like the Rust corpus programs.

python3 bench.py [--iterations N]
"""

import sys
import time

from invoices import any_overdue, invoices


def main():
    iterations = 1
    args = sys.argv[1:]
    if args[:1] == ["--iterations"] and len(args) == 2:
        iterations = int(args[1])
    elif args:
        sys.exit("usage: bench.py [--iterations N]")
    customers = [invoices(5_000, seed) for seed in range(400)]
    start = time.perf_counter_ns()
    for _ in range(iterations):
        for batch in customers:
            any_overdue(batch, 19_500)
    print(f"elapsed_ns {time.perf_counter_ns() - start}")


if __name__ == "__main__":
    main()
