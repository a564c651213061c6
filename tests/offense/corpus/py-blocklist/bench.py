"""The workload: 20,000 addresses against a blocklist of 4,000. Prints `elapsed_ns N` like
the Rust corpus programs.

python3 bench.py [--iterations N]
"""

import sys
import time

from blocklist import addresses, allowed


def main():
    iterations = 1
    args = sys.argv[1:]
    if args[:1] == ["--iterations"] and len(args) == 2:
        iterations = int(args[1])
    elif args:
        sys.exit("usage: bench.py [--iterations N]")
    send, blocked = addresses(20_000, 7), addresses(4_000, 7)
    start = time.perf_counter_ns()
    for _ in range(iterations):
        allowed(send, blocked)
    print(f"elapsed_ns {time.perf_counter_ns() - start}")


if __name__ == "__main__":
    main()
