#!/usr/bin/env python3
"""How long syntax queries take, end to end: a skill's run in `make demo`'s command (its
`duration_ms` in Findings JSON, which counts the skill's host calls, query compilation
included; the other skills run beside it), the same skill run alone on the demo's profile and
source (`regex-in-hot-path` unless `--skill` says), and `joule query` with `regex-in-hot-path`'s
first query over a tree (the process's wall time).

Each build is a label, a `joule` binary and a directory of skills; runs alternate between the
builds, so that load on the machine falls on all of them alike, and the medians are printed.

    python3 tests/eval/query_speed.py --runs 21 \\
        before=target/before/joule=target/before/skills \\
        after=target/release/joule=target/joule-skills
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# The skills each run names are the ones evaluated: the skills built into joule stay out.
os.environ["JOULE_NO_BUILTIN_SKILLS"] = "1"

ROOT = Path(__file__).resolve().parents[2]


def skill_ms(skill, joule, skills, history=None):
    """The skill's run, alone, or with every skill in `make demo`'s command when `history` is
    a clone of the example's history."""
    command = [joule, "run", "--profile", "example/profiles/logscan.pb.gz",
               "--source", "example=example/logscan", "--format", "json"]
    if history:
        command += ["--history", f"logscan={history}",
                    "--deploy-log", "logscan=example/history/deploys.csv",
                    "--profile-series", "example/history/profiles",
                    "--param", "regression-detect.series=total:logscan::",
                    "--skills", skills]
    else:
        command += ["--skills", f"{skills}/{skill}.wasm"]
    out = subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True).stdout
    (run,) = [r for r in json.loads(out)["runs"] if r["skill"] == skill]
    return run["duration_ms"]


def query_ms(joule, tree, query_file):
    start = time.perf_counter()
    subprocess.run(
        [joule, "query", tree, "-l", "rust", "@" + query_file, "--limit", "10000"],
        cwd=ROOT, check=True, capture_output=True,
    )
    return (time.perf_counter() - start) * 1000


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("builds", nargs="+", metavar="LABEL=JOULE=SKILLS")
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--skill", default="regex-in-hot-path",
                        help="the skill whose runs are timed (default: regex-in-hot-path)")
    parser.add_argument("--tree", default="example/logscan",
                        help="the tree `joule query` runs over (default: the demo's source)")
    args = parser.parse_args()
    builds = [b.split("=", 2) for b in args.builds]
    if any(len(b) != 3 for b in builds):
        sys.exit("each build is LABEL=JOULE=SKILLS")
    scratch = Path(tempfile.mkdtemp(prefix="query-speed-"))
    try:
        measure(args, builds, scratch)
    finally:
        shutil.rmtree(scratch)


def measure(args, builds, scratch):
    history = scratch / "logscan"
    subprocess.run(["git", "-c", "init.defaultBranch=main", "clone", "-q",
                    "example/history/logscan.bundle", history], cwd=ROOT, check=True)

    # The skill's first query (CALLS), as it sends it, for `joule query`.
    rust = (ROOT / "skills/regex-in-hot-path/src/rust.rs").read_text()
    calls = re.search(r'const CALLS: &str = r#"(.*?)"#;', rust, re.S).group(1)
    query_file = scratch / "calls.scm"
    query_file.write_text(calls)

    columns = [f"{args.skill} in the demo", f"{args.skill} alone", f"joule query {args.tree}"]
    times = {label: [[] for _ in columns] for label, _, _ in builds}
    for _ in range(args.runs):
        for label, joule, skills in builds:
            demo, alone, query = times[label]
            demo.append(skill_ms(args.skill, joule, skills, history))
            alone.append(skill_ms(args.skill, joule, skills))
            query.append(query_ms(joule, args.tree, str(query_file)))

    print(f"medians of {args.runs} runs (min-max), ms")
    print(f"{'build':<12}" + "".join(f"{c:>36}" for c in columns))
    for label, runs in times.items():
        cell = lambda xs: f"{statistics.median(xs):.1f} ({min(xs):.1f}-{max(xs):.1f})"
        print(f"{label:<12}" + "".join(f"{cell(xs):>36}" for xs in runs))


if __name__ == "__main__":
    main()
