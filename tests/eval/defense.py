#!/usr/bin/env python3
"""Evaluation of Joule's defense chain on labelled synthetic fleets (`make eval-defense`).

Generates series of 1,000 points with 1% Gaussian noise (800 before a change, 200 after):
step regressions from 0.05% to 5%, clean series, transient spikes of up to 5 points, daily
seasonality, and cost shifts between sibling functions; each spike or seasonal series has a
twin with the same noise and no spike or season, scanned separately at alpha 0.05: an alarm
on a spike or seasonal series whose twin shows the change at the same place (the evidence is
in the noise) is not blamed on the spike or the season. Runs `joule run` with the
`regression-detect` skill over them and prints precision, recall and F1 by step size and
false alarms per 1,000 clean series. Runs Apache Otava (PyPI `apache-otava`) on the same series
in the same run and prints its figures beside ours. Then attribution (`attribution.py`): a
generated git repository with a deploy log and a profile, one regression per deploy, and the
top-1 and top-3 accuracy of `regression-attribute` naming the culprit commit.

Usage: defense.py JOULE SKILLS_DIR [--otava PYTHON] [--seed N] [--scale K] [--out DIR]
                  [--param NAME=VALUE]...
Deterministic for a given seed. Only the standard library is needed here; Otava runs in its own
Python (a venv the Makefile prepares).
"""

import argparse
import csv
import hashlib
import json
import os
import random
import subprocess
import sys
import time

import attribution

POINTS, CHANGE = 1000, 800
START, STEP = 1_764_547_200, 300  # 2025-12-01T00:00:00Z, five-minute points
STEPS = [0.0005, 0.001, 0.002, 0.004, 0.006, 0.01, 0.02, 0.05]
DAY = 288  # points per day at five minutes
# A detection counts when it places the change within this many points of the truth (about
# eight hours at five-minute points): a step of 0.4% in 1% noise cannot be placed much closer,
# and the attribution window is wider anyway. Detections further off count as false.
PLACE = 100
# Prefix of the twin series: a spike or seasonal series' noise without the spike or season.
TWIN = "twin-"
# The level at which a twin "shows the same change": lenient on purpose, since the spike or
# season is only to blame when the noise alone shows nothing there.
TWIN_ALPHA = 0.05


def fleet(rng, scale):
    """(series name, group, values, truth) with truth = step size or None."""
    out = []

    def noise(level=100.0):
        return [level * (1 + rng.gauss(0, 0.01)) for _ in range(POINTS)]

    for step in STEPS:
        for i in range(300 * scale):
            v = noise()
            for j in range(CHANGE, POINTS):
                v[j] *= 1 + step
            out.append((f"step{step * 100:g}pct-{i}", f"s{i}", v, step))
    for i in range(5000 * scale):
        out.append((f"clean-{i}", f"c{i}", noise(), None))
    # Each spike and seasonal series has a twin: the same noise without the spike or the
    # season. An alarm on both is the noise's (counted, but not as the spike's or the season's).
    for i in range(300 * scale):
        v = noise()
        out.append((f"{TWIN}spike-{i}", f"tk{i}", list(v), None))
        at, width = rng.randrange(20, POINTS - 5), rng.randint(1, 5)
        for j in range(at, at + width):
            v[j] *= 1 + rng.uniform(0.05, 0.5)
        out.append((f"spike-{i}", f"k{i}", v, None))
    for i in range(300 * scale):
        phase, amplitude = rng.uniform(0, DAY), rng.uniform(0.01, 0.05)
        v = noise()
        out.append((f"{TWIN}seasonal-{i}", f"td{i}", list(v), None))
        for j in range(POINTS):
            v[j] += 100 * amplitude * __import__("math").sin(2 * 3.141592653589793 * (j + phase) / DAY)
        out.append((f"seasonal-{i}", f"d{i}", v, None))
    for i in range(150 * scale):
        a, b = noise(), noise()
        moved = rng.uniform(0.01, 0.05) * 100
        for j in range(CHANGE, POINTS):
            a[j] += moved
            b[j] -= moved
        out.append((f"shift-up-{i}", f"g{i}", a, None))
        out.append((f"shift-down-{i}", f"g{i}", b, None))
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


def score(truth, found):
    """truth: name -> step or None; found: name -> detected index. Returns per-size rows."""
    rows = []
    for step in STEPS:
        names = [n for n, s in truth.items() if s == step]
        hits = sum(1 for n in names if n in found and abs(found[n] - CHANGE) <= PLACE)
        rows.append((step, len(names), hits))
    negatives = [n for n, s in truth.items() if s is None]
    false = {kind: sum(1 for n in negatives if n.startswith(kind) and n in found)
             for kind in ("clean", "spike", "seasonal", "shift")}
    tp = sum(h for _, _, h in rows)
    positives = sum(c for _, c, _ in rows)
    fp = sum(false.values()) + sum(1 for n, s in truth.items()
                                   if s is not None and n in found and abs(found[n] - CHANGE) > PLACE)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / positives if positives else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return rows, false, precision, recall, f1


def joule_detections(report):
    """Series name -> the index of the change reported for it. Series that changed together
    with a correlated one are reported once, the others named in the finding's `also` label;
    they count as found, at the same place."""
    found = {}
    for f in report["findings"]:
        if f["skill"] == "regression-detect" and f["kind"] == "regression":
            index = (int(f["at"]) - START) // STEP
            found[f["series"].split("{")[0]] = index
            for other in filter(None, f.get("labels", {}).get("also", "").split(",")):
                found.setdefault(other.split("{")[0], index)
    return found


def otava_detections(python, series, workdir):
    path = os.path.join(workdir, "otava-input.csv")
    with open(path, "w") as f:
        for name, _, values, _ in series:
            f.write(name + "," + ",".join(f"{v:.5f}" for v in values) + "\n")
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "otava_detect.py")
    t0 = time.monotonic()
    out = subprocess.run([python, script, path, "--pick", "strongest"], capture_output=True, text=True)
    took = time.monotonic() - t0
    if out.returncode != 0:
        sys.exit(f"otava failed:\n{out.stderr}")
    found = {}
    for line in out.stdout.splitlines():
        name, detected, index, change = line.split(",")
        # Otava reports changes both ways; a regression here is a rise.
        if detected == "1" and float(change) > 0:
            found[name] = int(index)
    return found, took


def print_table(ours, theirs, count, ours_time, theirs_time):
    rows, false, p, r, f1 = ours
    print(f"\nDetection on {count:,} series of {POINTS} points, 1% noise, change at {CHANGE}:")
    print(f"{'step':>8} {'series':>7} {'joule recall':>13}" + (f" {'otava recall':>13}" if theirs else ""))
    for i, (step, n, hits) in enumerate(rows):
        line = f"{step * 100:>7g}% {n:>7} {hits / n:>12.1%} "
        if theirs:
            line += f"{theirs[0][i][2] / n:>12.1%}"
        print(line)
    clean = sum(1 for k in ("clean",) for _ in range(1)) and false["clean"]
    print(f"\n{'':24}{'joule':>10}" + (f"{'otava':>10}" if theirs else ""))
    def row(label, a, b=None):
        print(f"{label:<24}{a:>10}" + (f"{b:>10}" if b is not None else ""))
    o = theirs
    row("precision", f"{p:.3f}", f"{o[2]:.3f}" if o else None)
    row("recall (all sizes)", f"{r:.3f}", f"{o[3]:.3f}" if o else None)
    row("F1", f"{f1:.3f}", f"{o[4]:.3f}" if o else None)
    for kind in ("clean", "spike", "seasonal", "shift"):
        row(f"false alarms: {kind}", str(false[kind]), str(o[1][kind]) if o else None)
    row("time (s)", f"{ours_time:.1f}", f"{theirs_time:.1f}" if o else None)


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
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rng = random.Random(args.seed)

    series = fleet(rng, args.scale)
    twins = [s for s in series if s[0].startswith(TWIN)]
    series = [s for s in series if not s[0].startswith(TWIN)]
    truth = {name: step for name, _, _, step in series}
    path = os.path.join(args.out, "fleet.csv")
    write_csv(path, series)
    detect = os.path.join(args.skills, "regression-detect.wasm")
    policy = os.path.join(args.out, "fleet-policy.toml")
    fleet_policy(policy, detect)
    params = [a for p in args.param for a in ("--param", f"regression-detect.{p}")]
    report, took = run_joule(args.joule, [detect], ["--metrics", path, "--policy", policy, *params])
    run = next(r for r in report["runs"] if r["skill"] == "regression-detect")
    if run["status"] != "ok":
        sys.exit(f"regression-detect failed: {run.get('error')}")
    scan = run["duration_ms"] / 1000
    detections = joule_detections(report)
    ours = score(truth, detections)
    twin_path = os.path.join(args.out, "twins.csv")
    write_csv(twin_path, twins)
    twin_report, _ = run_joule(args.joule, [detect], ["--metrics", twin_path, "--policy", policy,
                                                      *params, "--param",
                                                      f"regression-detect.alpha={TWIN_ALPHA}"])
    twin_found = joule_detections(twin_report)
    theirs, theirs_time = None, 0.0
    if args.otava:
        found, theirs_time = otava_detections(args.otava, series, args.out)
        theirs = score(truth, found)
    print_table(ours, theirs, len(series), took, theirs_time)
    per_series = scan / len(series)
    print(f"\njoule end to end {took:.1f} s (reading {os.path.getsize(path) / 1e6:.0f} MB of CSV "
          f"included); the skill's scan {scan:.2f} s = {per_series * 1e6:.0f} us a series, "
          f"{per_series * 100_000:.0f} s for 100,000 series")
    if args.otava and theirs_time > 0:
        print(f"speed: joule scan {theirs_time / scan:.0f}x faster than Otava "
              f"({theirs_time / took:.1f}x end to end)")
    rows, false, *_ = ours
    print("\ntargets:")
    recall_04 = min(h / n for s, n, h in rows if s >= 0.004)
    print(f"  recall >= 90% for steps >= 0.4%: {recall_04:.1%} {'met' if recall_04 >= 0.9 else 'NOT met'}")
    per_1000 = false["clean"] * 1000 / sum(1 for n in truth if n.startswith("clean"))
    print(f"  <= 1 false alarm per 1,000 clean series: {per_1000:.1f} {'met' if per_1000 <= 1 else 'NOT met'}")
    for kind, noun, target in (("spike", "spike", "spikes never reported"),
                               ("seasonal", "season", "seasonality causes no false alarms")):
        alarms = [n for n in truth if n.startswith(kind + "-") and n in detections]
        noise = [n for n in alarms
                 if abs(twin_found.get(TWIN + n, -10 * PLACE) - detections[n]) <= PLACE]
        caused = len(alarms) - len(noise)
        print(f"  {target}: {caused} {'met' if caused == 0 else 'NOT met'} ({len(alarms)} alarms on "
              f"{kind} series, {len(noise)} of them on the same noise without the {noun} too, p <= {TWIN_ALPHA})")
    print(f"  100,000 series in under 60 s: {per_series * 100_000:.0f} s "
          f"{'met' if per_series * 100_000 < 60 else 'NOT met'}")

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
