"""The workload: slugify 100,000 titles. Prints `elapsed_ns N` like the Rust corpus programs.

python3 bench.py [--iterations N]
"""

import sys
import time

from slugs import slugify, titles


def main():
    iterations = 3
    args = sys.argv[1:]
    if args[:1] == ["--iterations"] and len(args) == 2:
        iterations = int(args[1])
    elif args:
        sys.exit("usage: bench.py [--iterations N]")
    all_titles = titles(100_000)
    start = time.perf_counter_ns()
    for _ in range(iterations):
        for title in all_titles:
            slugify(title)
    print(f"elapsed_ns {time.perf_counter_ns() - start}")


if __name__ == "__main__":
    main()
