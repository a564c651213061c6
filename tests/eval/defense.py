#!/usr/bin/env python3
"""Evaluation of Joule's defense chain on labelled synthetic fleets (`make eval-defense`).

Generates series of 1,000 five-minute points with 1% Gaussian noise, with changes anywhere in
the window (uniformly between point 50 and 950):

- step regressions from 0.05% to 5% (one rise each);
- double steps: two rises of 0.6-3%, at least 100 points apart;
- won back: a rise of 2-5% by point 700 and, 50-200 points later, a fall taking back 55-75% of
  it (a later release winning back part of the cost): the rise is a lasting regression of what
  was left;
- bumps: a rise of 1-5% by point 700 taken back whole 50-200 points later: no regression;
- drops (improvements) of 0.4-5%: reported as information, never as regressions;
- clean series; runs of spikes (two to four bursts of 1-5 points, 5-50% high, 3-11 points
  apart); a daily season of 1-5%;
- cost shifts between sibling series: 1-5 points of cost moved from one to the other, the fall
  0-5 points off the rise (the halves of a real shift are seldom on the same point).

Each spike or seasonal series has a twin with the same noise and no spike or season, scanned
separately at alpha 0.05: an alarm on a spike or seasonal series whose twin shows a change at
the same place (the evidence is in the noise) is not blamed on the spike or the season.

Runs `joule run` with the `regression-detect` skill over them twice: a one-off scan (the
default: every split) and a periodic one (`since=70%`: the most recent 30%, whose recall counts
only the changes in that part). A change is found at a tolerance when a regression of its series
is reported within that many points of it (10 and 100, scored apart); a regression further than
100 points from every rise of its series is a false alarm. Runs Apache Otava (PyPI
`apache-otava`) on the same series and scores every change point it reports the same way. Then
attribution (`attribution.py`): a generated git repository with a deploy log and a profile, one
regression per deploy, and the top-1 and top-3 accuracy of `regression-attribute` naming the
culprit commit.

Usage: defense.py JOULE SKILLS_DIR [--otava PYTHON] [--seed N] [--scale K] [--out DIR]
                  [--param NAME=VALUE]... [--no-attribution]
Deterministic for a given seed. Only the standard library is needed here; Otava runs in its own
Python (a venv the Makefile prepares).
"""

import argparse
import csv
import hashlib
import json
import math
import os
import random
import subprocess
import sys
import time

import attribution

# The skills each run names are the ones evaluated: the skills built into joule stay out.
os.environ["JOULE_NO_BUILTIN_SKILLS"] = "1"

POINTS = 1000
START, STEP = 1_764_547_200, 300  # 2025-12-01T00:00:00Z, five-minute points
STEPS = [0.0005, 0.001, 0.002, 0.004, 0.006, 0.01, 0.016, 0.02, 0.05]
DAY = 288  # points per day at five minutes
# Where changes are placed: anywhere with a segment of 50 points (the default min-segment)
# each side.
FIRST, LAST = 50, 950
# Placement tolerances, scored apart: 10 points (under an hour at five-minute points) and 100
# (about eight hours: a 0.4% step in 1% noise cannot always be placed closer, and the
# attribution window is wider anyway).
TOLERANCES = (10, 100)
# A regression further than this from every rise of its series is a false alarm.
FALSE = 100
# The periodic scan: the most recent 30% of each series.
SINCE = 0.7
# Prefix of the twin series: a spike or seasonal series' noise without the spike or season.
TWIN = "twin-"
# The level at which a twin "shows the same change": lenient on purpose, since the spike or
# season is only to blame when the noise alone shows nothing there.
TWIN_ALPHA = 0.05
KINDS = ("clean", "spike", "seasonal", "shift", "drop", "bump")


def fleet(rng, scale):
    """(series name, group, values, changes) with changes = [(index, relative size)]."""
    out = []

    def noise(level=100.0):
        return [level * (1 + rng.gauss(0, 0.01)) for _ in range(POINTS)]

    def apply(v, changes):
        for at, size in changes:
            for j in range(at, POINTS):
                v[j] += 100 * size
        return v

    def place():
        return rng.randrange(FIRST, LAST + 1)

    for step in STEPS:
        for i in range(300 * scale):
            changes = [(place(), step)]
            out.append((f"step{step * 100:g}pct-{i}", f"s{i}", apply(noise(), changes), changes))
    for i in range(300 * scale):
        a = rng.randrange(FIRST, LAST - 100 + 1)
        b = rng.randrange(a + 100, LAST + 1)
        changes = [(a, rng.uniform(0.006, 0.03)), (b, rng.uniform(0.006, 0.03))]
        out.append((f"double-{i}", f"w{i}", apply(noise(), changes), changes))
    for i in range(300 * scale):
        changes = [(place(), -rng.uniform(0.004, 0.05))]
        out.append((f"drop-{i}", f"p{i}", apply(noise(), changes), changes))
    for i in range(5000 * scale):
        out.append((f"clean-{i}", f"c{i}", noise(), []))
    # Each spike and seasonal series has a twin: the same noise without the spike or the
    # season. An alarm on both is the noise's (counted, but not as the spike's or the season's).
    for i in range(300 * scale):
        v = noise()
        out.append((f"{TWIN}spike-{i}", f"tk{i}", list(v), []))
        at = rng.randrange(20, POINTS - 60)
        for _ in range(rng.randint(2, 4)):
            width = rng.randint(1, 5)
            height = rng.uniform(0.05, 0.5)
            for j in range(at, min(at + width, POINTS)):
                v[j] *= 1 + height
            at += width + rng.randint(3, 11)
        out.append((f"spike-{i}", f"k{i}", v, []))
    for i in range(300 * scale):
        phase, amplitude = rng.uniform(0, DAY), rng.uniform(0.01, 0.05)
        v = noise()
        out.append((f"{TWIN}seasonal-{i}", f"td{i}", list(v), []))
        for j in range(POINTS):
            v[j] += 100 * amplitude * math.sin(2 * math.pi * (j + phase) / DAY)
        out.append((f"seasonal-{i}", f"d{i}", v, []))
    for i in range(150 * scale):
        a, b = noise(), noise()
        at = rng.randrange(100, 901)
        off = rng.randint(0, 5) * rng.choice((-1, 1))
        moved = rng.uniform(0.01, 0.05) * 100
        for j in range(at, POINTS):
            a[j] += moved
        for j in range(at + off, POINTS):
            b[j] -= moved
        # The fleet's truth: neither is a regression (the total did not grow).
        out.append((f"shift-up-{i}", f"g{i}", a, []))
        out.append((f"shift-down-{i}", f"g{i}", b, []))
    # Drawn last, so the classes above are the same series as before they were added.
    # The change that ends an excursion needs a segment after it to be seen as one: both end
    # by point 900 (a bump ending at 980 is, for all a detector can tell, a lasting rise).
    for i in range(300 * scale):
        a = rng.randrange(FIRST, 700 + 1)
        b = a + rng.randint(50, 200)
        rise = rng.uniform(0.02, 0.05)
        changes = [(a, rise), (b, -rise * rng.uniform(0.55, 0.75))]
        out.append((f"wonback-{i}", f"b{i}", apply(noise(), changes), changes))
    for i in range(300 * scale):
        a = rng.randrange(FIRST, 700 + 1)
        b = a + rng.randint(50, 200)
        rise = rng.uniform(0.01, 0.05)
        # The truth: no lasting change (the fall is not an improvement either).
        out.append((f"bump-{i}", f"u{i}", apply(noise(), [(a, rise), (b, -rise)]), []))
    return out


def write_csv(path, series):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["timestamp", "series", "value", "group"])
        for name, group, values, _ in series:
            for j, v in enumerate(values):
                w.writerow([START + j * STEP, name, f"{v:.5f}", group])


def fleet_policy(path, skill):
    """A policy for the fleet scan: the detector pinned, granted the metrics, with room for the
    thousands of findings a fleet of this size produces (the default limit is 1,000)."""
    with open(skill, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    with open(path, "w") as f:
        f.write(f"""version = 1

[[skill]]
id = "regression-detect"
digest = "sha256:{digest}"
metrics = ["*"]

[skill.limits]
timeout_seconds = 600
findings = 1000000
findings_kib = 1048576
host_call_mib = 65536
host_calls = 100000000
""")


def run_joule(joule, skills, args):
    t0 = time.monotonic()
    skill_args = [a for s in skills for a in ("--skills", s)]
    out = subprocess.run([joule, "run", "--format", "json", *args, *skill_args],
                         capture_output=True, text=True)
    took = time.monotonic() - t0
    if out.returncode not in (0, 3):
        sys.exit(f"joule failed ({out.returncode}):\n{out.stderr}")
    return json.loads(out.stdout), took


class Found:
    """What a detector reported per series: regressions and improvements, as point indices."""

    def __init__(self):
        self.rises = {}
        self.falls = {}

    def add(self, table, name, index):
        table.setdefault(name, []).append(index)


def joule_detections(report):
    """Series name -> the changes reported for it. Series that changed together with a
    correlated one are reported once, the others named in the finding's `also` label; they count
    as found, at the same place."""
    found = Found()
    for f in report["findings"]:
        if f["skill"] != "regression-detect" or f.get("at") is None:
            continue
        index = (int(f["at"]) - START) // STEP
        name = f["series"].split("{")[0]
        if f["kind"] == "regression":
            found.add(found.rises, name, index)
            for other in filter(None, f.get("labels", {}).get("also", "").split(",")):
                found.add(found.rises, other.split("{")[0], index)
        elif f["rule"] == "improvement":
            found.add(found.falls, name, index)
    return found


def score(series, found, since=0):
    """Per-size recall at each tolerance (only changes at or after `since` count), false alarms
    by kind, improvements found, precision, recall and F1 (at 100 points)."""
    def hit(indices, at, tol):
        return any(abs(i - at) <= tol for i in indices)

    rows = []
    for step in STEPS:
        changes = [(name, at) for name, _, _, ch in series if ch and name.startswith("step")
                   for at, size in ch if size == step and at >= since]
        rows.append((step, len(changes),
                     [sum(1 for n, at in changes if hit(found.rises.get(n, []), at, t))
                      for t in TOLERANCES]))
    doubles = [(name, at) for name, _, _, ch in series if name.startswith("double")
               for at, _ in ch if at >= since]
    double_hits = [sum(1 for n, at in doubles if hit(found.rises.get(n, []), at, t))
                   for t in TOLERANCES]
    # The rise of what was won back in part: the regression is what was left of it.
    wonback = [(name, ch[0][0]) for name, _, _, ch in series if name.startswith("wonback")
               and ch[0][0] >= since]
    wonback_hits = [sum(1 for n, at in wonback if hit(found.rises.get(n, []), at, t))
                    for t in TOLERANCES]
    false = {kind: 0 for kind in KINDS}
    misplaced = 0
    for name, _, _, ch in series:
        rises = [at for at, size in ch if size > 0]
        wrong = sum(1 for i in found.rises.get(name, []) if not hit(rises, i, FALSE))
        kind = next((k for k in KINDS if name.startswith(k)), None)
        if kind:
            false[kind] += wrong
        else:
            misplaced += wrong
    drops = [(name, at) for name, _, _, ch in series if name.startswith("drop")
             for at, _ in ch if at >= since]
    drops_found = sum(1 for n, at in drops if hit(found.falls.get(n, []), at, FALSE))
    positives = sum(c for _, c, _ in rows) + len(doubles) + len(wonback)
    tp = sum(h[1] for _, _, h in rows) + double_hits[1] + wonback_hits[1]
    fp = sum(false.values()) + misplaced
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / positives if positives else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "rows": rows, "doubles": (len(doubles), double_hits),
        "wonback": (len(wonback), wonback_hits), "false": false,
        "misplaced": misplaced, "drops": (len(drops), drops_found), "precision": precision,
        "recall": recall, "f1": f1,
    }


def otava_detections(python, series, workdir):
    path = os.path.join(workdir, "otava-input.csv")
    with open(path, "w") as f:
        for name, _, values, _ in series:
            f.write(name + "," + ",".join(f"{v:.5f}" for v in values) + "\n")
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "otava_detect.py")
    t0 = time.monotonic()
    out = subprocess.run([python, script, path, "--pick", "all"], capture_output=True, text=True)
    took = time.monotonic() - t0
    if out.returncode != 0:
        sys.exit(f"otava failed:\n{out.stderr}")
    found = Found()
    for line in out.stdout.splitlines():
        name, detected, indices, changes = line.split(",")
        if detected == "0":
            continue
        for index, change in zip(indices.split("|"), changes.split("|")):
            # Otava reports changes both ways; a regression here is a rise.
            table = found.rises if float(change) > 0 else found.falls
            found.add(table, name, int(index))
    return found, took


def print_detection(count, columns):
    """columns: [(label, score)]."""
    print(f"\nDetection on {count:,} series of {POINTS} points, 1% noise, changes anywhere in "
          f"{FIRST}..{LAST}; recall within 10 / within 100 points:")
    header = f"{'step':>8}"
    for label, s in columns:
        header += f" {label:>22}"
    print(header)
    for i, step in enumerate(STEPS):
        line = f"{step * 100:>7g}%"
        for _, s in columns:
            _, n, hits = s["rows"][i]
            line += f" {hits[0] / n:>9.1%} {hits[1] / n:>7.1%} {n:>4}"
        print(line)
    for label, key in (("double", "doubles"), ("won back", "wonback")):
        line = f"{label:>8}"
        for _, s in columns:
            n, hits = s[key]
            line += f" {hits[0] / max(n, 1):>9.1%} {hits[1] / max(n, 1):>7.1%} {n:>4}"
        print(line)

    print(f"\n{'':28}" + "".join(f"{label:>16}" for label, _ in columns))

    def row(name, values):
        print(f"{name:<28}" + "".join(f"{v:>16}" for v in values))
    row("precision", [f"{s['precision']:.3f}" for _, s in columns])
    row("recall (all, within 100)", [f"{s['recall']:.3f}" for _, s in columns])
    row("F1", [f"{s['f1']:.3f}" for _, s in columns])
    for kind in KINDS:
        row(f"false alarms: {kind}", [str(s["false"][kind]) for _, s in columns])
    row("misplaced on steps (>100)", [str(s["misplaced"]) for _, s in columns])
    row("drops found as improvements",
        [f"{s['drops'][1]}/{s['drops'][0]}" for _, s in columns])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("joule")
    ap.add_argument("skills")
    ap.add_argument("--otava", help="a Python with apache-otava installed")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--scale", type=int, default=3)
    ap.add_argument("--out", default="target/eval-defense")
    ap.add_argument("--param", action="append", default=[],
                    help="a regression-detect parameter for joule run, e.g. alpha=0.002")
    ap.add_argument("--no-attribution", action="store_true")
    args = ap.parse_args()
    # Paths as absolute ones: commands run in other directories (a case's copy, a
    # worktree), where a path relative to the caller's would name nothing.
    if os.sep in args.joule:
        args.joule = os.path.abspath(args.joule)
    args.skills = os.path.abspath(args.skills)
    args.out = os.path.abspath(args.out)
    if args.otava and os.sep in args.otava:
        args.otava = os.path.abspath(args.otava)
    os.makedirs(args.out, exist_ok=True)
    rng = random.Random(args.seed)

    series = fleet(rng, args.scale)
    twins = [s for s in series if s[0].startswith(TWIN)]
    series = [s for s in series if not s[0].startswith(TWIN)]
    path = os.path.join(args.out, "fleet.csv")
    write_csv(path, series)
    detect = os.path.join(args.skills, "regression-detect.wasm")
    policy = os.path.join(args.out, "fleet-policy.toml")
    fleet_policy(policy, detect)
    params = [a for p in args.param for a in ("--param", f"regression-detect.{p}")]

    def scan(extra):
        report, took = run_joule(args.joule, [detect],
                                 ["--metrics", path, "--policy", policy, *params, *extra])
        run = next(r for r in report["runs"] if r["skill"] == "regression-detect")
        if run["status"] != "ok":
            sys.exit(f"regression-detect failed: {run.get('error')}")
        return joule_detections(report), took, run["duration_ms"] / 1000

    once, took, scan_s = scan([])
    since = SINCE * 100
    periodic, periodic_took, periodic_s = scan(["--param", f"regression-detect.since={since:g}%"])
    columns = [("joule one-off", score(series, once)),
               (f"joule since {since:g}%", score(series, periodic, since=int(SINCE * POINTS)))]
    twin_path = os.path.join(args.out, "twins.csv")
    write_csv(twin_path, twins)
    twin_report, _ = run_joule(args.joule, [detect], ["--metrics", twin_path, "--policy", policy,
                                                      *params, "--param",
                                                      f"regression-detect.alpha={TWIN_ALPHA}"])
    twin_found = joule_detections(twin_report)
    theirs_time = 0.0
    if args.otava:
        found, theirs_time = otava_detections(args.otava, series, args.out)
        columns.append(("otava", score(series, found)))
    print_detection(len(series), columns)
    row_time = [f"{took:.1f}", f"{periodic_took:.1f}"] + ([f"{theirs_time:.1f}"] if args.otava else [])
    print(f"{'time (s)':<28}" + "".join(f"{v:>16}" for v in row_time))
    per_series = scan_s / len(series)
    print(f"\njoule end to end {took:.1f} s (reading {os.path.getsize(path) / 1e6:.0f} MB of CSV "
          f"included); the skill's one-off scan {scan_s:.2f} s = {per_series * 1e6:.0f} us a "
          f"series, the periodic one {periodic_s:.2f} s")
    if args.otava and theirs_time > 0:
        print(f"speed: joule scan {theirs_time / scan_s:.0f}x faster than Otava "
              f"({theirs_time / took:.1f}x end to end)")

    print("\ntargets (issue 18):")
    for label, s in columns[:2]:
        rows = s["rows"]
        counted = [(n, h) for step, n, h in rows if step >= 0.004]
        r100 = sum(h[1] for _, h in counted) / sum(n for n, _ in counted)
        r04 = min(h[1] / n for step, n, h in rows if step >= 0.004)
        big = [(n, h) for step, n, h in rows if step >= 0.016]
        r10 = sum(h[0] for _, h in big) / sum(n for n, _ in big)
        clean = sum(1 for n, *_ in series if n.startswith("clean"))
        per_1000 = s["false"]["clean"] * 1000 / clean
        others = sum(1 for n, *_ in series if n.startswith(("spike", "shift")))
        spiky = (s["false"]["spike"] + s["false"]["shift"]) * 1000 / others
        print(f"  {label}:")
        print(f"    recall >= 95% for steps >= 0.4% within 100: all sizes {r100:.1%}, the "
              f"smallest size {r04:.1%} {'met' if r04 >= 0.95 else 'NOT met'}")
        print(f"    >= 99% of steps >= 1.6% within 10: {r10:.1%} {'met' if r10 >= 0.99 else 'NOT met'}")
        print(f"    <= 1 false alarm per 1,000 clean series: {per_1000:.2f} "
              f"{'met' if per_1000 <= 1 else 'NOT met'}")
        print(f"    <= 2 per 1,000 spiky or cost-shifted series: {spiky:.2f} "
              f"{'met' if spiky <= 2 else 'NOT met'}")
    truth = {name for name, *_ in series}
    for kind, noun in (("spike", "spike"), ("seasonal", "season")):
        alarms = [(n, i) for n in truth if n.startswith(kind + "-") for i in once.rises.get(n, [])]
        noise = [(n, i) for n, i in alarms
                 if any(abs(j - i) <= FALSE for j in twin_found.rises.get(TWIN + n, []))]
        print(f"  {kind} series (one-off): {len(alarms)} alarms, {len(noise)} of them on the same "
              f"noise without the {noun} too (p <= {TWIN_ALPHA}): {len(alarms) - len(noise)} "
              f"caused by the {noun}")

    if args.no_attribution:
        return
    top1, top3, n, detected, batch, took = attribution.evaluate(
        run_joule, args.joule, args.skills, os.path.join(args.out, "attribution"), args.seed)
    print(f"\nattribution: {n} regressions, one a deploy of {batch:.1f} commits on average; "
          f"regression-detect and regression-attribute in {took:.1f} s")
    print(f"  detected {detected}/{n}; culprit first {top1} ({top1 / n:.1%}), "
          f"in the top three {top3} ({top3 / n:.1%})")
    print(f"  attribution top-1 >= 80%: {top1 / n:.1%} {'met' if top1 >= 0.8 * n else 'NOT met'}")
    print(f"  attribution top-3 >= 95%: {top3 / n:.1%} {'met' if top3 >= 0.95 * n else 'NOT met'}")


if __name__ == "__main__":
    main()
