"""Invoices 4,000 orders of 50 lines, a few times; one line in 500 names a SKU the catalogue
lacks, and there are 5,000 regions, each seen a few times."""

import sys

import prices


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    catalogue = prices.catalogue(20_000)
    orders = []
    for o in range(4_000):
        lines = []
        for j in range(50):
            k = (o * 50 + j) * 2654435761 % 2**32
            sku = f"sku-{k % 20_000}" if k % 500 else f"gone-{k}"
            lines.append((sku, 1 + k % 5))
        orders.append((f"region-{o * 7 % 5_000}", lines))
    checksum = 0.0
    for _ in range(rounds):
        prices._RATES.clear()
        checksum += sum(prices.invoice(catalogue, orders))
    print(round(checksum, 2))


if __name__ == "__main__":
    main()
