"""`make eval-offense`: the offense skills on a corpus of small real programs, each with one
known inefficiency and its real profile, and on clean code with no planted waste.

For every case under tests/offense/corpus/ and tests/offense/clean/ it runs `joule run` with
the offense skills on the case's committed profile and source, and compares the opportunities
reported with the case's `expect.toml` (skill, function, file, line): per skill, a finding at an
expected place is a true positive, any other opportunity a false positive, an expected finding
not reported a false negative. For a case whose finding carries a patch, it applies the patch
to a copy of the program (`git apply --check`, then `git apply`), runs the copy's own tests
(`cargo test`, or the case's `bench.test` command), builds both versions and times the workload
(best of three runs of the program's `elapsed_ns`, the two versions alternated), and says how
much faster the patch made the function.

Usage: python3 tests/eval/offense.py JOULE SKILL_DIR [--out DIR] [--no-bench]
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tomllib

# The skills each run names are the ones evaluated: the skills built into joule stay out.
os.environ["JOULE_NO_BUILTIN_SKILLS"] = "1"

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SKILLS = ["regex-in-hot-path", "sort-key-recomputed", "map-key-allocation", "linear-search-in-loop",
          "vec-growth-without-reserve", "unbuffered-write", "loop-after-answer", "quadratic-format",
          "strlen-in-loop-condition", "slow-hasher",
          "string-concat-in-loop", "alloc-in-loop",
          "constant-container-rebuilt", "exception-control-flow",
          "lock-contention", "comparator-reparse"]


def cases():
    for group in ("corpus", "clean"):
        base = os.path.join(ROOT, "tests", "offense", group)
        if not os.path.isdir(base):
            continue
        for name in sorted(os.listdir(base)):
            path = os.path.join(base, name)
            if os.path.isfile(os.path.join(path, "expect.toml")):
                with open(os.path.join(path, "expect.toml"), "rb") as f:
                    yield group, name, path, tomllib.load(f)


def run_joule(joule, skill_dir, case, expect, out):
    source = os.path.normpath(os.path.join(case, expect.get("source", ".")))
    profiles = expect.get("profile", "profile.pb.gz")
    args = [joule, "run", "--format", "json",
            "--source", f"src={source}", "--patch", os.path.join(out, "all.patch")]
    # One profile, or several of one program (a CPU profile beside an allocation profile).
    for profile in [profiles] if isinstance(profiles, str) else profiles:
        args += ["--profile", os.path.join(case, profile)]
    for s in SKILLS:
        args += ["--skills", os.path.join(skill_dir, f"{s}.wasm")]
    done = subprocess.run(args, capture_output=True, text=True)
    if done.returncode not in (0, 3):
        sys.exit(f"joule failed on {case} ({done.returncode}):\n{done.stderr}")
    report = json.loads(done.stdout)
    for r in report["runs"]:
        if r["status"] != "ok":
            print(f"  warning: {r['skill']} failed on {os.path.basename(case)}: {r.get('error')}")
    return report


def matches(finding, want):
    if finding["skill"] != want["skill"] or finding["rule"] != want.get("rule", finding["rule"]):
        return False
    for loc in finding["locations"]:
        lines = loc.get("lines") or {}
        if loc.get("file") == want["file"] and lines.get("start", 0) <= want["line"] <= lines.get("end", 0):
            return True
    return False


def target_dir(variant):
    """A build directory per variant: the two copies share a package name, and cargo keeps one
    binary of that name per target directory."""
    base = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    return os.path.join(base, "eval-offense", variant)


def cargo(*args, cwd, variant):
    env = dict(os.environ, CARGO_TARGET_DIR=target_dir(variant))
    # make's jobserver descriptors (named in MAKEFLAGS) are not passed on to this cargo.
    for name in ("MAKEFLAGS", "MFLAGS", "CARGO_MAKEFLAGS"):
        env.pop(name, None)
    return subprocess.run(["cargo", *args], cwd=cwd, capture_output=True, text=True, env=env)


def built_files(directory, names):
    """What a copy leaves out: build output (cargo's, Python's, and compiled programs, told by
    their ELF header), lock files and the compressed profiles."""
    skipped = set()
    for name in names:
        path = os.path.join(directory, name)
        if name in ("target", "Cargo.lock", "__pycache__") or name.endswith(".gz"):
            skipped.add(name)
        elif os.path.isfile(path):
            with open(path, "rb") as f:
                if f.read(4) == b"\x7fELF":
                    skipped.add(name)
    return skipped


def plain_copy(case, dest):
    """A copy of the case's sources as they are in the repository."""
    if os.path.exists(dest):
        shutil.rmtree(dest)
    shutil.copytree(case, dest, ignore=built_files)


def standalone(dest):
    """The copy's crate made to build on its own (outside the workspace): after any patch is
    applied, whose context is the manifest as committed."""
    manifest = os.path.join(dest, "Cargo.toml")
    if not os.path.isfile(manifest):
        return
    with open(manifest) as f:
        text = f.read()
    capture = os.path.join(ROOT, "example", "capture")
    text = text.replace('path = "../../../../example/capture"', f'path = "{capture}"')
    with open(manifest, "w") as f:
        f.write(text + "\n[workspace]\n")


def best_elapsed(command, cwd=None, runs=3):
    best = None
    for _ in range(runs):
        done = subprocess.run(command, capture_output=True, text=True, check=True, cwd=cwd)
        ns = int(done.stdout.split("elapsed_ns")[1].split()[0])
        best = ns if best is None else min(best, ns)
    return best


def measure(case, name, finding, expect, out):
    """Applies the finding's patch to a copy, tests it, and times both versions."""
    work = os.path.join(out, "cases", name)
    before, after = os.path.join(work, "before"), os.path.join(work, "after")
    plain_copy(case, before)
    plain_copy(case, after)
    standalone(before)
    patch = os.path.join(work, "finding.patch")
    with open(patch, "w") as f:
        f.write(finding["patch"])
    check = subprocess.run(["git", "apply", "--check", patch], cwd=after, capture_output=True, text=True)
    if check.returncode != 0:
        return f"patch does not apply: {check.stderr.strip()}"
    subprocess.run(["git", "apply", patch], cwd=after, check=True)
    standalone(after)
    bench = expect.get("bench", {})
    rust = os.path.isfile(os.path.join(case, "Cargo.toml"))
    if rust:
        tests = cargo("test", "--quiet", cwd=after, variant="after")
    else:
        tests = subprocess.run(bench["test"], cwd=after, capture_output=True, text=True)
    if tests.returncode != 0:
        return f"patched copy fails its tests:\n{tests.stdout[-2000:]}{tests.stderr[-2000:]}"
    commands = []
    for variant, copy in (("before", before), ("after", after)):
        if not rust:
            if "build" in bench:
                built = subprocess.run(bench["build"], cwd=copy, capture_output=True, text=True)
                if built.returncode != 0:
                    return f"cannot build {copy}: {built.stderr[-2000:]}"
            commands.append((bench["run"], copy))
            continue
        built = cargo("build", "--release", "--quiet", cwd=copy, variant=variant)
        if built.returncode != 0:
            return f"cannot build {copy}: {built.stderr[-2000:]}"
        with open(os.path.join(copy, "Cargo.toml"), "rb") as f:
            package = tomllib.load(f)["package"]["name"]
        commands.append(([os.path.join(target_dir(variant), "release", package)], copy))
    # Alternated, so a busy moment of the machine falls on both.
    times = [None, None]
    for _ in range(3):
        for i, (command, cwd) in enumerate(commands):
            ns = best_elapsed(command, cwd=cwd, runs=1)
            times[i] = ns if times[i] is None else min(times[i], ns)
    function = expect.get("bench", {}).get("function", "the workload")
    speedup = times[0] / times[1]
    return (f"tests pass; this patch made `{function}` {speedup:.1f}x faster "
            f"({times[0] / 1e6:.0f} ms -> {times[1] / 1e6:.0f} ms, best of 3)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("joule")
    ap.add_argument("skills")
    ap.add_argument("--out", default=os.path.join(ROOT, "target", "eval-offense"))
    ap.add_argument("--no-bench", action="store_true", help="skip building and timing the patches")
    args = ap.parse_args()
    # Paths as absolute ones: commands run in other directories (a case's copy, a
    # worktree), where a path relative to the caller's would name nothing.
    if os.sep in args.joule:
        args.joule = os.path.abspath(args.joule)
    args.skills = os.path.abspath(args.skills)
    args.out = os.path.abspath(args.out)
    os.makedirs(args.out, exist_ok=True)
    tally = {s: {"tp": 0, "fp": 0, "fn": 0} for s in SKILLS}
    speedups, ratios, failed_runs = [], [], []
    for group, name, case, expect in cases():
        report = run_joule(args.joule, args.skills, case, expect, args.out)
        failed_runs += [f"{name}: {r['skill']} failed: {r.get('error')}"
                        for r in report["runs"] if r["status"] != "ok"]
        found = [f for f in report["findings"] if f["kind"] == "opportunity"]
        wanted = expect.get("finding", [])
        matched = set()
        print(f"{group}/{name}:")
        for want in wanted:
            hit = next((i for i, f in enumerate(found) if i not in matched and matches(f, want)), None)
            if hit is None:
                tally[want["skill"]]["fn"] += 1
                print(f"  MISSED  {want['skill']}: {want['function']} at {want['file']}:{want['line']}")
                continue
            matched.add(hit)
            tally[want["skill"]]["tp"] += 1
            f = found[hit]
            saving = f.get("saving") or {}
            stated = (f"saving {saving['cores']:.0f} cores, {saving['watts']:.0f} W" if saving
                      else "no CPU saving stated")
            print(f"  found   {f['skill']}: {f['title']} ({stated})")
            measurable = os.path.isfile(os.path.join(case, "Cargo.toml")) or "run" in expect.get("bench", {})
            if f.get("patch") and not args.no_bench and measurable:
                result = measure(case, name, f, expect, args.out)
                print(f"          {result}")
                speedups.append((name, result))
                if " faster (" in result:
                    ratios.append((name, float(result.split("x faster (")[0].split()[-1])))
        for i, f in enumerate(found):
            if i not in matched:
                tally.setdefault(f["skill"], {"tp": 0, "fp": 0, "fn": 0})["fp"] += 1
                where = f["locations"][0] if f["locations"] else {}
                print(f"  FALSE   {f['skill']}: {f['title']} at {where.get('file')}:{(where.get('lines') or {}).get('start')}")
    print(f"\n{'skill':<28}{'tp':>4}{'fp':>4}{'fn':>4}{'precision':>11}{'recall':>8}")
    for skill, t in tally.items():
        p = t["tp"] / (t["tp"] + t["fp"]) if t["tp"] + t["fp"] else float("nan")
        r = t["tp"] / (t["tp"] + t["fn"]) if t["tp"] + t["fn"] else float("nan")
        print(f"{skill:<28}{t['tp']:>4}{t['fp']:>4}{t['fn']:>4}{p:>11.2f}{r:>8.2f}")
    problems = [f"{n}: {r}" for n, r in speedups if not r.startswith("tests pass")]
    problems += [f"{n}: the patch made it slower" for n, x in ratios if x < 1.0]
    problems += [f"{s}: {t['fn']} expected finding(s) missed" for s, t in tally.items() if t["fn"]]
    problems += [f"{s}: {t['fp']} false positive(s)" for s, t in tally.items() if t["fp"]]
    problems += failed_runs
    if problems:
        sys.exit("eval-offense: " + "; ".join(problems))


if __name__ == "__main__":
    main()
