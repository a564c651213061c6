#!/usr/bin/env python3
"""Run Apache Otava's change-point detection (windowed E-divisive + t-test merge,
the algorithm behind `otava analyze`) on many numeric series.

Input : CSV, one series per row: series_id,v0,v1,...,v999 (no header; a header
        row whose 2nd field is not a number is skipped).
Output: one line per series (same order as input):
        series_id,detected(0/1),index_of_first_change_point_or_-1,relative_change
        relative_change = mean_after/mean_before - 1 of that change point
        (Otava's TTestStats.forward_rel_change()), 0 if none detected.
        With --pick all, every change point: indices and relative changes joined by `|`.
stderr: total wall time (and per-series time).

Library call used (apache-otava 0.8.0):
    otava.analysis.compute_change_points(series, window_len=50, max_pvalue=0.001,
                                         min_magnitude=0.0) -> (change_points, weak_change_points)
Otava CLI defaults are window_len=50, max_pvalue=0.001, min_magnitude=0.0. Defaults HERE are
window_len=100, max_pvalue=1e-6, min_magnitude=0.0: with the CLI defaults ~45% of flat
N(100,1) series of length 1000 get a false change point (the t-test p-value is computed
at a split point the E-divisive step chose to maximise the difference, and there are
~20-40 windows per series, so a nominal 0.001 is far too loose). With 100/1e-6:
0/1000 false alarms and 1000/1000 detections of a +2% step at index 800 (holdout set).

Usage:
    python otava_detect.py INPUT.csv [OUTPUT.csv] [--window 100] [--pvalue 1e-6]
        [--magnitude 0.0] [--pick first|strongest|all] [--fixed-merge] [--procs 2]
"""
import argparse
import csv
import sys
import time
from multiprocessing import Pool

_OPTS = {}


def _init(opts):
    # Import in the worker (numpy+scipy only; otava.analysis does not pull in
    # the BigQuery/Postgres/Slack parts of the package).
    global _OPTS, compute_change_points, merge_fixed
    _OPTS = opts
    from otava.analysis import compute_change_points  # noqa: F401
    if opts["fixed_merge"]:
        merge_fixed = _make_fixed_merge()


def _make_fixed_merge():
    """Otava 0.8.0 merge() after deleting change_points[k] recomputes k and k+1,
    i.e. the right neighbour and the one after it, but NOT the left neighbour
    (k-1) whose right-hand interval also changed. The left neighbour keeps stale
    stats (e.g. a p-value computed against a 1-point segment) -> false alarms.
    This variant recomputes k-1 and k; everything else is identical."""
    from otava.analysis import TTestSignificanceTester, split

    def merge(change_points, series, max_pvalue, min_magnitude):
        tester = TTestSignificanceTester(max_pvalue)
        while change_points:
            weakest = max(change_points, key=lambda c: c.stats.pvalue)
            if weakest.stats.pvalue < max_pvalue:
                weakest = min(change_points, key=lambda c: c.stats.change_magnitude())
                if weakest.stats.change_magnitude() > min_magnitude:
                    return change_points
            k = change_points.index(weakest)
            del change_points[k]
            intervals = tester.get_intervals(change_points)
            for j in (k - 1, k):
                if 0 <= j < len(change_points):
                    change_points[j] = tester.change_point(
                        change_points[j].to_candidate(), series, intervals)
        return change_points

    def compute(series, window_len, max_pvalue, min_magnitude):
        first = max_pvalue * 10 if max_pvalue < 0.05 else (max_pvalue * 2 if max_pvalue < 0.5 else max_pvalue)
        weak = split(series, window_len, first)
        return merge(list(weak), series, max_pvalue, min_magnitude), weak

    return compute


def _detect(item):
    sid, values = item
    o = _OPTS
    fn = merge_fixed if o["fixed_merge"] else compute_change_points
    # NB: must be a Python list. Passing a numpy array makes Otava 0.8.0's
    # ChangePointDetector ignore the window bounds (wrong indices / ValueError).
    cps, _weak = fn(values, window_len=o["window"], max_pvalue=o["pvalue"],
                    min_magnitude=o["magnitude"])
    if not cps:
        return f"{sid},0,-1,0"
    if o["pick"] == "all":
        cps = sorted(cps, key=lambda c: c.index)
        indices = "|".join(str(int(c.index)) for c in cps)
        changes = "|".join(f"{float(c.stats.forward_rel_change()):.6f}" for c in cps)
        return f"{sid},1,{indices},{changes}"
    if o["pick"] == "first":
        cp = min(cps, key=lambda c: c.index)
    else:  # strongest = smallest p-value, ties -> largest magnitude
        cp = min(cps, key=lambda c: (c.stats.pvalue, -c.stats.change_magnitude()))
    return f"{sid},1,{int(cp.index)},{float(cp.stats.forward_rel_change()):.6f}"


def _read(path):
    with open(path, newline="") as f:
        for row in csv.reader(f):
            if not row:
                continue
            try:
                vals = [float(v) for v in row[1:] if v != ""]
            except ValueError:
                continue  # header row
            yield row[0], vals


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("input")
    ap.add_argument("output", nargs="?", default="-")
    ap.add_argument("--window", type=int, default=100, help="Otava window_len (CLI --window; CLI default 50), default here 100")
    ap.add_argument("--pvalue", type=float, default=1e-6, help="Otava max_pvalue (CLI -P; CLI default 0.001), default here 1e-6")
    ap.add_argument("--magnitude", type=float, default=0.0, help="Otava min_magnitude (CLI --magnitude), default 0.0")
    ap.add_argument("--pick", choices=["first", "strongest", "all"], default="first",
                    help="which change point to report if Otava returns several (default: first by index; all: every one)")
    ap.add_argument("--fixed-merge", action="store_true",
                    help="use a copy of Otava's merge step with the left-neighbour recompute fixed")
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument("--chunksize", type=int, default=8)
    a = ap.parse_args()

    t0 = time.perf_counter()
    items = list(_read(a.input))
    opts = dict(window=a.window, pvalue=a.pvalue, magnitude=a.magnitude,
                pick=a.pick, fixed_merge=a.fixed_merge)
    out = sys.stdout if a.output == "-" else open(a.output, "w")
    with Pool(a.procs, initializer=_init, initargs=(opts,)) as pool:
        for line in pool.imap(_detect, items, chunksize=a.chunksize):
            out.write(line + "\n")
    if out is not sys.stdout:
        out.close()
    wall = time.perf_counter() - t0
    n = max(len(items), 1)
    print(f"total wall time: {wall:.3f} s for {len(items)} series "
          f"({1000 * wall / n:.2f} ms/series, {a.procs} procs; "
          f"window={a.window} pvalue={a.pvalue} magnitude={a.magnitude} pick={a.pick} "
          f"fixed_merge={a.fixed_merge})", file=sys.stderr)


if __name__ == "__main__":
    main()
