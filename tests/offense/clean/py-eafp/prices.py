"""Order totals: each line's price looked up in the catalogue (a SKU missing from it is rare,
so the lookup asks forgiveness rather than permission), and each region's tax rate computed
on first use and remembered."""


def catalogue(n):
    """Prices of `n` SKUs, `sku-0` .. `sku-{n-1}`."""
    return {f"sku-{i}": 1.0 + (i * 7919 % 10_000) / 100 for i in range(n)}


def total(prices, lines):
    """The sum of price times quantity over `lines`, and how many lines had no price."""
    amount = 0.0
    missing = 0
    for sku, quantity in lines:
        try:
            amount += prices[sku] * quantity
        except KeyError:
            missing += 1
    return amount, missing


_RATES = {}


def _compute_rate(region):
    """A region's tax rate from its code (a stand-in for a table read from disk)."""
    code = sum(ord(c) * (i + 1) for i, c in enumerate(region * 40))
    return 0.05 + (code % 200) / 1000


def rate(region):
    """The region's tax rate, computed once."""
    try:
        return _RATES[region]
    except KeyError:
        value = _RATES[region] = _compute_rate(region)
        return value


def invoice(prices, orders):
    """Each order's total with tax: orders are (region, lines)."""
    out = []
    for region, lines in orders:
        amount, _ = total(prices, lines)
        out.append(round(amount * (1 + rate(region)), 2))
    return out
