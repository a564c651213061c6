"""Builds the table and the dump of 200,000 rows, a few times."""

import sys

import text


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    rows = [(f"host{i % 977}/metric-{i}", i * 0.37) for i in range(200_000)]
    size = 0
    for _ in range(rounds):
        size += len(text.table(rows)) + len(text.dump(rows))
    print(size)


if __name__ == "__main__":
    main()
