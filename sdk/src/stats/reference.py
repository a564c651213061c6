#!/usr/bin/env python3
"""Reference values for joule-sdk's `stats` module, from numpy, scipy, statsmodels and pymannkendall.

Prints a Rust module of constants (the fixed inputs below and the values the reference libraries
compute for them); `reference_tests.rs` holds that module verbatim between its GENERATED markers.

    python3 -m venv /tmp/statsvenv
    /tmp/statsvenv/bin/pip install scipy numpy statsmodels pymannkendall
    /tmp/statsvenv/bin/python sdk/src/stats/reference.py            # print the module
    /tmp/statsvenv/bin/python sdk/src/stats/reference.py --write    # replace it in reference_tests.rs

The inputs are literal (no random generator), so the output depends only on the library versions,
which the generated header records.
"""

import math
import pathlib
import platform
import sys

import numpy as np
import pymannkendall
import scipy
import statsmodels
from scipy import special, stats
from statsmodels.tsa.seasonal import seasonal_decompose

# --- Inputs ---------------------------------------------------------------------------------------

# Benchmark timings (ms) before and after a change; rounded to 0.1 ms, so there are ties within
# and across the samples.
TIMINGS_A = [
    12.6, 13, 12.7, 11.4, 11.2, 12, 12.5, 12.3, 13.1, 12.5, 12.4, 11.6, 11.3, 12.9, 12, 12.5,
    11.2, 11.7, 11.2, 11.5, 12.5, 11.1, 11.7, 12.1, 11.6, 11.8, 11.9, 12.3, 11.7, 12.2, 12, 12.3,
    12.1, 13, 11.6, 12.7, 11.8, 11.4, 12.7, 11.7,
]
TIMINGS_B = [
    12.2, 11.3, 10.6, 13.1, 11.5, 13.2, 14.2, 12.4, 11.5, 12.9, 13.2, 12.3, 12.5, 13.7, 13.6, 13.1,
    11.7, 12.5, 13, 12.3, 12, 11.8, 11.9, 11.9, 12.1, 13.5, 11.8, 13.3, 12.9, 12.6, 11.8, 12.1,
    14.3, 12.6,
]
# Small integers: heavy ties for the rank tests.
COUNTS_C = [1, 6, 3, 4, 5, 5, 5, 2, 6, 6, 4, 3, 3, 3, 6, 4, 2, 2, 2, 4, 3, 1, 5, 5, 3]
COUNTS_D = [2, 4, 3, 4, 3, 2, 2, 7, 5, 5, 3, 6, 7, 8, 3, 2, 8, 8, 5, 8, 2]
# A rising series with ties, and a trendless one.
TRENDING = [
    53, 51, 50, 49, 51, 48, 51, 51, 51, 54, 49, 52, 52, 53, 50, 52, 51, 52, 53, 53, 53, 53, 54, 54,
    54, 52, 53, 54, 53, 53, 55, 55, 56, 56, 55, 55, 52, 55, 56, 53, 56, 56, 58, 57, 59, 59, 55, 57,
]
TRENDLESS = [
    19.7, 20.2, 18.9, 21.2, 21.5, 17, 21.9, 18.7, 22.1, 21.1, 19.7, 24, 21.8, 20.1, 20.5, 24.8,
    22.8, 21.9, 20.4, 21.1, 20.3, 16.9, 21.8, 20.8, 17.3, 18.7, 19.5, 20.7, 23.5, 20, 16.1, 21.3,
    19.7, 16.5, 15.4, 17.9,
]
# Weekly pattern on a drift (49 values, odd length), and a period-6 wave on a decline (45 values).
WEEKLY = [
    100.15, 100.9, 102.14, 101.69, 101.67, 99.28, 98.93, 100.98, 103.37, 102.51, 103.12, 102.59,
    100.88, 99.58, 102.39, 103.54, 104.15, 104.37, 104.47, 101.41, 100.82, 104.09, 105.38, 106.38,
    105.67, 105.72, 103.56, 102.5, 105.56, 106.65, 106.92, 107.35, 107.64, 105.49, 103.72, 107.37,
    108.64, 109.38, 108.62, 108.72, 105.75, 105.92, 108.88, 109.5, 110.39, 110.54, 110.28, 107.13,
    107.64,
]
WAVE6 = [
    50.24, 52.57, 52.41, 50.05, 47.51, 46.26, 48.96, 51.03, 52.02, 49.29, 46.23, 45.75, 49.45,
    52.1, 51.99, 48.52, 45.87, 45.77, 48.13, 50.08, 50.29, 48.31, 45.2, 44.86, 47.47, 50.97, 50.74,
    47.85, 44.69, 43.9, 47.1, 49.34, 49.71, 47.21, 43.66, 44.56, 46.43, 48.94, 48.52, 46.01, 43.45,
    43.2, 45.64, 48.1, 49.22,
]
# Uneven x with ties, heavy-tailed y: Theil–Sen.
LINE_X = [0, 1, 1, 1, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 6, 6, 6, 7, 7, 8, 8, 9, 9, 9, 9, 10, 10]
LINE_Y = [
    2.95, 2.69, 2.75, 3.28, 3.51, 2.53, 4.7, 3.73, 4.7, 1.88, 10.4, 5.75, 3.76, 3.62, 6.48, 4.96,
    4.46, 4.82, 4.53, 5.95, 6.93, 7.43, 2.23, 9.26, 11.1, 7.98, 10.11, 8.49, 8.83, 12.08,
]
# TIMINGS_A in nanoseconds on a large offset: variance must survive the cancellation. The same
# expression in Rust gives the same doubles.
OFFSET_NS = [1e9 + 1000.0 * v for v in TIMINGS_A]

QUANTILE_LEVELS = [0.0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1.0]

# Distribution arguments: body and far tails.
NORMAL_Z = [-37.0, -20.0, -8.0, -5.0, -3.0, -1.5, -0.5, -1e-3, 0.0, 0.3, 1.0, 1.96, 2.5, 4.0, 6.0,
            8.0, 10.0, 20.0, 37.0]
ERF_X = [-3.0, -0.4, 1e-10, 0.1, 0.46875, 0.5, 1.0, 2.0, 3.9, 4.0, 4.1, 6.0, 10.0, 20.0, 26.0]
T_ARGS = [(0.5, 1.0), (-2.0, 2.5), (2.0, 5.0), (3.5, 10.0), (-1.2, 30.0), (4.0, 100.0),
          (2.5, 1000.0), (1.0, 1e6), (-4.0, 2e5), (10.0, 3.0), (30.0, 50.0), (1.5, 0.5),
          (-3.0, 1.3), (0.01, 7.0), (8.0, 3.0), (50.0, 10.0)]
CHI2_ARGS = [(0.5, 1.0), (3.841458820694124, 1.0), (10.0, 3.0), (50.0, 10.0), (200.0, 150.0),
             (1.0, 30.0), (1100.0, 1000.0), (0.01, 2.0), (30.0, 2.5), (5000.0, 4000.0),
             (1e-3, 0.5), (100.0, 1.0), (3.0, 1e4)]
LN_GAMMA_X = [1e-8, 0.1, 0.5, 1.0, 1.5, 2.0, 2.5, 3.7, 10.0, 30.5, 171.3, 1e4, 1e7]
BETA_ARGS = [(0.5, 0.5, 0.3), (2.0, 3.0, 0.4), (10.0, 0.5, 0.9), (0.5, 10.0, 0.01),
             (50.0, 60.0, 0.45), (500.0, 0.5, 0.999), (0.2, 0.3, 0.7), (1e4, 2e4, 0.34),
             (3.0, 3.0, 0.999999), (1.0, 1.0, 0.25), (5e5, 0.5, 0.99999)]
GAMMA_ARGS = [(0.5, 0.1), (0.5, 2.0), (1.0, 3.0), (3.0, 0.5), (10.0, 15.0), (100.0, 90.0),
              (100.0, 130.0), (0.1, 5.0), (1e4, 1.01e4), (1e5, 0.98e5), (25.0, 1.0), (0.3, 0.3)]
KOLMOGOROV_B = [0.2, 0.3, 0.5, 0.8, 0.99, 1.0, 1.2, 1.36, 1.63, 2.0, 3.0, 5.0]

# --- Output ---------------------------------------------------------------------------------------

BEGIN = "// GENERATED by reference.py: begin"
END = "// GENERATED by reference.py: end"


def lit(v):
    """A Rust f64 literal that parses to exactly `v`."""
    v = float(v)
    if math.isnan(v):
        return "f64::NAN"
    if math.isinf(v):
        return "f64::INFINITY" if v > 0 else "f64::NEG_INFINITY"
    r = repr(v)
    return r if ("." in r or "e" in r) else r + ".0"


def tup(*vs):
    return "(" + ", ".join(lit(v) for v in vs) + ")"


def array(values, per_line=6):
    items = [lit(v) for v in values]
    lines = [", ".join(items[i:i + per_line]) + "," for i in range(0, len(items), per_line)]
    return "&[\n" + "\n".join("        " + line for line in lines) + "\n    ]"


def tuples(rows):
    return "&[\n" + "\n".join("        " + tup(*row) + "," for row in rows) + "\n    ]"


def const(out, name, ty, value, doc):
    out.append(f"    /// {doc}")
    out.append(f"    pub const {name}: {ty} = {value};")


def summary_row(x):
    x = np.asarray(x, dtype=float)
    return (
        float(np.mean(x)),
        float(np.var(x, ddof=1)),
        float(np.std(x, ddof=1)),
        float(np.median(x)),
        float(stats.median_abs_deviation(x)),
        float(stats.median_abs_deviation(x, scale="normal")),
    )


def generate():
    out = [
        BEGIN,
        "// numpy {}, scipy {}, statsmodels {}, pymannkendall {}, Python {}".format(
            np.__version__, scipy.__version__, statsmodels.__version__,
            getattr(pymannkendall, "__version__", "?"), platform.python_version()),
        "#[rustfmt::skip]",
        "#[allow(clippy::excessive_precision, clippy::unreadable_literal, clippy::approx_constant)]",
        "mod expected {",
    ]
    inputs = [
        ("TIMINGS_A", TIMINGS_A), ("TIMINGS_B", TIMINGS_B), ("COUNTS_C", COUNTS_C),
        ("COUNTS_D", COUNTS_D), ("TRENDING", TRENDING), ("TRENDLESS", TRENDLESS),
        ("WEEKLY", WEEKLY), ("WAVE6", WAVE6), ("LINE_X", LINE_X), ("LINE_Y", LINE_Y),
        ("QUANTILE_LEVELS", QUANTILE_LEVELS),
    ]
    for name, values in inputs:
        const(out, name, "&[f64]", array(values), f"Input `{name}` ({len(values)} values).")

    # Distributions.
    const(out, "NORMAL", "&[(f64, f64, f64)]",
          tuples([(z, stats.norm.cdf(z), stats.norm.sf(z)) for z in NORMAL_Z]),
          "`(z, norm.cdf(z), norm.sf(z))`.")
    const(out, "ERF", "&[(f64, f64, f64)]",
          tuples([(x, special.erf(x), special.erfc(x)) for x in ERF_X]),
          "`(x, special.erf(x), special.erfc(x))`.")
    const(out, "STUDENT_T", "&[(f64, f64, f64, f64)]",
          tuples([(t, df, stats.t.cdf(t, df), 2 * stats.t.sf(abs(t), df)) for t, df in T_ARGS]),
          "`(t, df, t.cdf(t, df), 2·t.sf(|t|, df))`.")
    const(out, "CHI_SQUARE", "&[(f64, f64, f64, f64)]",
          tuples([(x, k, stats.chi2.cdf(x, k), stats.chi2.sf(x, k)) for x, k in CHI2_ARGS]),
          "`(x, k, chi2.cdf(x, k), chi2.sf(x, k))`.")
    const(out, "LN_GAMMA", "&[(f64, f64)]",
          tuples([(x, special.gammaln(x)) for x in LN_GAMMA_X]),
          "`(x, special.gammaln(x))`.")
    const(out, "BETA_INC", "&[(f64, f64, f64, f64)]",
          tuples([(a, b, x, special.betainc(a, b, x)) for a, b, x in BETA_ARGS]),
          "`(a, b, x, special.betainc(a, b, x))`.")
    const(out, "GAMMA_INC", "&[(f64, f64, f64, f64)]",
          tuples([(a, x, special.gammainc(a, x), special.gammaincc(a, x)) for a, x in GAMMA_ARGS]),
          "`(a, x, special.gammainc(a, x), special.gammaincc(a, x))`.")
    const(out, "KOLMOGOROV", "&[(f64, f64)]",
          tuples([(b, stats.kstwobign.sf(b)) for b in KOLMOGOROV_B]),
          "`(b, kstwobign.sf(b))`.")

    # Descriptive statistics.
    for name, x in [("TIMINGS_A", TIMINGS_A), ("WEEKLY", WEEKLY), ("OFFSET_NS", OFFSET_NS)]:
        const(out, f"SUMMARY_{name}", "(f64, f64, f64, f64, f64, f64)", tup(*summary_row(x)),
              f"`{name}`: mean, var(ddof=1), std(ddof=1), median, "
              "median_abs_deviation, median_abs_deviation(scale=\"normal\").")
        const(out, f"QUANTILES_{name}", "&[f64]",
              array(np.quantile(np.asarray(x, dtype=float), QUANTILE_LEVELS, method="linear")),
              f"`np.quantile({name}, QUANTILE_LEVELS, method=\"linear\")`.")

    # Two-sample tests.
    pairs = [
        ("A_B", TIMINGS_A, TIMINGS_B),
        ("B_A", TIMINGS_B, TIMINGS_A),
        ("C_D", COUNTS_C, COUNTS_D),
        ("A6_B30", TIMINGS_A[:6], TIMINGS_B[:30]),
    ]
    for name, a, b in pairs:
        r = stats.ttest_ind(a, b, equal_var=False)
        const(out, f"WELCH_{name}", "(f64, f64, f64)", tup(r.statistic, r.df, r.pvalue),
              "`ttest_ind(a, b, equal_var=False)`: statistic, df, pvalue.")
        r = stats.mannwhitneyu(a, b, method="asymptotic", use_continuity=True,
                               alternative="two-sided")
        const(out, f"MANN_WHITNEY_{name}", "(f64, f64)", tup(r.statistic, r.pvalue),
              "`mannwhitneyu(a, b, method=\"asymptotic\", use_continuity=True, "
              "alternative=\"two-sided\")`: statistic, pvalue.")

    # Trend tests.
    for name, x in [("TRENDING", TRENDING), ("TRENDLESS", TRENDLESS), ("COUNTS_C", COUNTS_C)]:
        r = pymannkendall.original_test(x)
        p_sf = 2 * stats.norm.sf(abs(r.z))
        out.append("    /// `pymannkendall.original_test`: (s, var_s, z, p, Tau), and `2·norm.sf(|z|)`")
        out.append("    /// (pymannkendall's `p` is `2·(1 − norm.cdf(|z|))`, which loses digits when small).")
        out.append(f"    pub const MANN_KENDALL_{name}: (i64, f64, f64, f64, f64, f64) = "
                   f"({int(r.s)}, {lit(r.var_s)}, {lit(r.z)}, {lit(r.p)}, {lit(r.Tau)}, {lit(p_sf)});")
    for name, x, y in [("TRENDING", list(range(len(TRENDING))), TRENDING), ("LINE", LINE_X, LINE_Y)]:
        r = stats.theilslopes(y, x, method="joint")
        const(out, f"THEIL_SEN_{name}", "(f64, f64)", tup(r.slope, r.intercept),
              "`theilslopes(y, x, method=\"joint\")`: slope, intercept.")

    # Seasonal decomposition.
    for name, x, period in [("WEEKLY", WEEKLY, 7), ("WAVE6", WAVE6, 6), ("WEEKLY", WEEKLY, 4),
                            ("WAVE6", WAVE6, 5)]:
        d = seasonal_decompose(np.asarray(x, dtype=float), model="additive", period=period)
        for part in ["trend", "seasonal", "resid"]:
            const(out, f"DECOMPOSE_{name}_{period}_{part.upper()}", "&[f64]",
                  array(getattr(d, part)),
                  f"`seasonal_decompose({name}, model=\"additive\", period={period}).{part}`.")

    out.append("}")
    out.append(END)
    return "\n".join(out) + "\n"


def main():
    text = generate()
    if sys.argv[1:] == ["--write"]:
        path = pathlib.Path(__file__).with_name("reference_tests.rs")
        current = path.read_text()
        start = current.index(BEGIN)
        end = current.index(END) + len(END) + 1
        path.write_text(current[:start] + text + current[end:])
        print(f"updated {path}")
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
