"""The workload profiled for this case: rule sets defined, then words classified in rounds."""

import sys
import time

import tokens


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    start = time.perf_counter()
    rules = tokens.make_rules(60)
    total = 0
    for _ in range(rounds):
        total += sum(tokens.classify(tokens.WORDS, rules[:6]).values())
    print(total, f"elapsed_ns {int((time.perf_counter() - start) * 1e9)}")


if __name__ == "__main__":
    main()
