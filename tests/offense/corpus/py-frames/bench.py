"""The workload: batches of 8,000 readings framed for the collector. Prints `elapsed_ns N`
like the Rust corpus programs.

python3 bench.py [--iterations N]
"""

import sys
import time

from frames import encode, readings


def main():
    iterations = 1
    args = sys.argv[1:]
    if args[:1] == ["--iterations"] and len(args) == 2:
        iterations = int(args[1])
    elif args:
        sys.exit("usage: bench.py [--iterations N]")
    batch = readings(8_000, 11)
    start = time.perf_counter_ns()
    for _ in range(iterations):
        encode(batch)
    print(f"elapsed_ns {time.perf_counter_ns() - start}")


if __name__ == "__main__":
    main()
