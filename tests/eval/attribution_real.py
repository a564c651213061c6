"""Attribution on real histories (`make eval-attribution`): consecutive commits of open-source
projects in Python, Rust and Go (tests/eval/histories/<project>/history.bundle, rebuilt by
make_bundle.py), a realistic slowdown planted in a random hot function as its own commit, deployed
with one commit, every deploy profiled for real, then the chain regression-detect ->
regression-attribute -> regression-mitigate. Scores, per project and seed: a regression on the
planted function placed within two deploys of the planted one (detected), the planted commit
named first and in the top three for it, and its revert applying on the head.

    python3 tests/eval/attribution_real.py JOULE SKILL_DIR --out DIR [--seeds 1-8]
        [--projects python-markdown,similar,go-diff] [--pyspy PATH] [--only-evaluate]

`--only-evaluate` runs the chain again on the cases an earlier run built (the same seeds give
the same cases), so two builds of Joule are compared on the same profiles.

Each project (attribution_projects.py says how each is built, profiled and planted in):
- python-markdown: Python-Markdown 3.4 .. 3.8.2, thirteen releases; Markdown's own documentation
  through fourteen extensions, py-spy (speedscope, 1000 Hz); hot functions and calls by cProfile.
- similar (Rust): mitsuhiko/similar, fourteen commits; its sources diffed by a driver built in
  release with frame pointers, `perf record -g -e cpu-clock` + `perf script`.
- go-diff (Go): sergi/go-diff's diffmatchpatch, fifteen commits; its speed-test texts diffed,
  cleaned up, patched and matched by a driver, runtime/pprof.

The slowdown goes at the top of a function that the workload spends 3-30% of its time in
(measured on the commit the slowdown lands in) and that every later commit still has (the
compiled projects: and the two commits before, so that it has a level to rise from); it costs
20-60% of the function's time per call (the function's time per round over its calls per round,
counted, over the cost of one iteration, timed), as one of three shapes per language (an
allocation, a copy or sort, an arithmetic loop), and stays in every later commit. Commits are
deployed a day apart; each deploy is profiled `--per-deploy` times over its day. Profiles of
the clean commits are shared by every seed.
"""

import argparse
import datetime
import json
import os
import random
import re
import shutil
import subprocess
import sys

from attribution_projects import PROJECTS, git

# The skills each run names are the ones evaluated: the skills built into joule stay out.
os.environ["JOULE_NO_BUILTIN_SKILLS"] = "1"

START = 1_735_689_600  # 2025-01-01T00:00:00Z, the first release's commit time
DAY = 86_400
DEPLOY_DELAY = 6 * 3600
MESSAGES = ["Simplify {short}", "Tidy up {short}", "Refactor internal helpers",
            "Cache-friendly lookups", "Small clean-ups", "Prepare for the next release"]
# Seconds a profile runs, per project: Go's runtime/pprof samples at 100 Hz (the others at
# 1000; asked for more, Go 1.19 drops most of them), so its driver runs for 8 s of CPU time.
SECONDS = {"go-diff": 8.0}


def short_name(function):
    """The last part of a function's name, for a commit message."""
    return function.replace("::", ".").rstrip(")").rsplit(".", 1)[-1]


def build_case(project, seed, args):
    """The seed's repository (commits with the slowdown planted), deploy log and profiles;
    returns the case's truth."""
    rng = random.Random(seed * 7919 + 17)
    n = len(project.commits)
    landing = rng.randrange(3, n - 2)
    later = range(landing, n)
    candidates = []
    for q, rel, share in project.hot_functions(landing):
        if not 0.03 <= share <= 0.3:
            continue
        sources = [open(os.path.join(project.trees[v], rel)).read()
                   if os.path.exists(os.path.join(project.trees[v], rel)) else "" for v in later]
        if all(project.plant(s, q, "x") is not None for s in sources):
            candidates.append((q, rel, share))
    candidates.sort()
    while True:
        if not candidates:
            sys.exit(f"{project.name} seed {seed}: no function at release {landing} can be slowed")
        q, rel, share = rng.choice(candidates)
        if not project.has_baseline(q, landing):
            # New in the deploy before: no level to rise from (drawn again, after the choice,
            # so the draws of every other seed stay as they were).
            candidates.remove((q, rel, share))
            continue
        shape = rng.choice(sorted(project.shapes))
        rise = rng.uniform(0.2, 0.6)
        try:
            iterations = project.iterations(q, rel, share, shape, rise, landing)
        except subprocess.CalledProcessError as e:
            # The counting build (the same place, a counter for the slowdown) did not build or
            # run: a case that cannot be built is drawn again, and said so, not a crash.
            print(f"{project.name} seed {seed}: {q} at commit {landing} cannot be planted "
                  f"({' '.join(map(str, e.cmd[:3]))} failed); drawing another function",
                  file=sys.stderr, flush=True)
            iterations = None
        if iterations is not None:
            break
        candidates.remove((q, rel, share))
    statement = project.statement(shape, iterations)
    message = rng.choice(MESSAGES).format(short=short_name(q))

    case = os.path.join(project.out, f"seed-{seed}")
    if os.path.exists(case):
        shutil.rmtree(case)
    repo = os.path.join(case, "repo")
    os.makedirs(repo)
    git(repo, "init", "-q", "-b", "main")
    env = dict(os.environ, GIT_AUTHOR_NAME=project.name, GIT_AUTHOR_EMAIL="dev@example.org",
               GIT_COMMITTER_NAME=project.name, GIT_COMMITTER_EMAIL="dev@example.org")
    deploys, culprit, trees = [], None, []
    for v in range(n):
        for entry in os.listdir(repo):
            if entry != ".git":
                path = os.path.join(repo, entry)
                shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
        shutil.copytree(project.trees[v], repo, dirs_exist_ok=True)
        stamp = START + v * DAY
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = f"{stamp} +0000"
        planted = v > landing
        if planted:
            target = os.path.join(repo, rel)
            with open(target, "w") as f:
                f.write(project.plant(open(os.path.join(project.trees[v], rel)).read(), q,
                                      statement))
        git(repo, "add", "-A", env=env)
        git(repo, "commit", "-q", "--allow-empty", "-m", project.messages[v], env=env)
        shipped = [git(repo, "rev-parse", "HEAD")]
        if v == landing:
            target = os.path.join(repo, rel)
            planted_source = project.plant(open(target).read(), q, statement)
            with open(target, "w") as f:
                f.write(planted_source)
            env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = f"{stamp + 3600} +0000"
            git(repo, "add", "-A", env=env)
            git(repo, "commit", "-q", "-m", message, env=env)
            culprit = git(repo, "rev-parse", "HEAD")
            shipped.append(culprit)
        deploys.append((stamp + DEPLOY_DELAY, shipped))
        tree = (project.trees[v] if v < landing
                else os.path.join(case, "trees", str(v)))
        if v >= landing:
            shutil.copytree(repo, tree, ignore=shutil.ignore_patterns(".git"))
        trees.append(tree)
    with open(os.path.join(case, "deploys.csv"), "w") as f:
        f.write("timestamp,commit\n")
        for t, shipped in deploys:
            for sha in shipped:
                f.write(f"{t},{sha}\n")
    # Profiles: `per_deploy` a deploy, spread over its day; the clean commits' are shared.
    profiles = os.path.join(case, "profiles")
    os.makedirs(profiles)
    seconds = SECONDS.get(project.name, args.seconds)
    suffix = project.profile_suffix
    for v, (t, _) in enumerate(deploys):
        for j in range(args.per_deploy):
            when = t + 3600 + j * (20 * 3600 // args.per_deploy)
            name = f"cpu-{when}{suffix}"
            if v < landing:
                shared = os.path.join(project.out, "clean-profiles", project.workload_key(),
                                      str(v), f"{j}{suffix}")
                if not os.path.exists(shared):
                    os.makedirs(os.path.dirname(shared), exist_ok=True)
                    project.profile(trees[v], shared, seconds)
                shutil.copy(shared, os.path.join(profiles, name))
            else:
                project.profile(trees[v], os.path.join(profiles, name), seconds)
            project.date(os.path.join(profiles, name), when)
    last = sorted(os.listdir(profiles))[-1]
    return {
        "case": case, "repo": repo, "culprit": culprit, "function": q, "file": rel,
        "landing": landing, "shape": shape, "rise": rise, "iterations": iterations,
        "message": message, "deploys": len(deploys), "head_profile": os.path.join(profiles, last),
        "profiles": profiles, "marker": project.marker(shape),
        "sizing": getattr(project, "sizes", {}).get((landing, q)),
    }


def parse_time(text):
    """Unix seconds of an RFC 3339 time or of Unix seconds as text (0 when neither)."""
    try:
        return int(float(text))
    except ValueError:
        pass
    try:
        return int(datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())
    except ValueError:
        return 0


def series_function(series):
    """The function a series is about: `total:NAME{labels}` -> NAME (a Rust closure's
    `{{closure}}` is part of the name, not labels)."""
    base = re.sub(r"\{[^{}]*=[^{}]*\}$", "", series)
    return base.split(":", 1)[1] if base.startswith(("total:", "self:")) else None


def evaluate(project, joule, skills, truth, args):
    names = ["regression-detect", "regression-attribute", "regression-mitigate"]
    command = [joule, "run", "--format", "json",
               "--profile-series", truth["profiles"], "--profile", truth["head_profile"],
               "--history", f"{project.name}={truth['repo']}",
               "--deploy-log", f"{project.name}={os.path.join(truth['case'], 'deploys.csv')}",
               "--param", "regression-detect.series=total:",
               "--param", f"regression-detect.min-segment={2 * args.per_deploy}",
               "--param", "regression-detect.min-baseline=0.2",
               "--param", "regression-attribute.lookback-hours=96",
               *[a for s in names for a in ("--skills", os.path.join(skills, f"{s}.wasm"))]]
    out = subprocess.run(command, capture_output=True, text=True)
    if out.returncode not in (0, 3):
        sys.exit(f"joule failed ({out.returncode}):\n{out.stderr}")
    report = json.loads(out.stdout)
    # Kept beside the case, to read why a seed failed.
    with open(os.path.join(truth["case"], "report.json"), "w") as f:
        f.write(out.stdout)
    q = truth["function"]

    def about(f):
        names = [f.get("series", "")] + f.get("labels", {}).get("also", "").split(",")
        return any(project.same_function(frame, q)
                   for frame in map(series_function, names) if frame)

    regressions = [f for f in report["findings"]
                   if f["skill"] == "regression-detect" and f["kind"] == "regression"]
    # A series can change more than once (a real commit before or after the planted one moves
    # the same function); the regression counted is the one placed nearest the planted deploy.
    planted = START + truth["landing"] * DAY + DEPLOY_DELAY
    # Detected: a regression on the function placed within two deploys of the planted one (a
    # regression of the function at another time is a real commit's, not the slowdown found).
    hits = [f for f in regressions
            if about(f) and abs(parse_time(f.get("at", "")) - planted) <= 2 * DAY]
    hit = min(hits, key=lambda f: abs(parse_time(f.get("at", "")) - planted), default=None)
    result = {"detected": hit is not None, "top1": False, "top3": False, "revert": False,
              "regressions": len(regressions), "ranked": []}
    if hit is None:
        return result
    series = hit.get("series")
    # The root cause and mitigation of this regression: of its series and, when the skills say
    # which of the series' regressions they are about (a series can rise more than once), of it.
    fingerprint = hit.get("labels", {}).get("fingerprint")

    def of_hit(f, skill):
        labels = f.get("labels", {})
        return (f["skill"] == skill and f.get("series") == series
                and labels.get("fingerprint", fingerprint) == fingerprint)

    cause = next((f for f in report["findings"] if of_hit(f, "regression-attribute")), None)
    if cause is None:
        return result
    ranked = [c.split(":")[0] for c in cause.get("labels", {}).get("candidates", "").split(",")
              if c]
    result["ranked"] = [r[:10] for r in ranked]
    result["top1"] = bool(ranked) and ranked[0] == truth["culprit"]
    result["top3"] = truth["culprit"] in ranked[:3]
    mitigation = next((f for f in report["findings"] if of_hit(f, "regression-mitigate")),
                      None)
    patch = (mitigation or {}).get("labels", {}).get("revert-patch")
    if result["top1"] and patch:
        check = subprocess.run(["git", "-C", truth["repo"], "apply", "--check", "-"],
                               input=patch, capture_output=True, text=True)
        result["revert"] = check.returncode == 0 and truth["marker"] in patch
    return result


def seeds(text):
    if "-" in text:
        a, b = text.split("-")
        return list(range(int(a), int(b) + 1))
    return [int(s) for s in text.split(",")]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("joule")
    parser.add_argument("skills")
    parser.add_argument("--out", default="target/eval-attribution")
    parser.add_argument("--seeds", default="1-8")
    parser.add_argument("--projects", default=",".join(PROJECTS),
                        help="comma-separated: " + ", ".join(PROJECTS))
    parser.add_argument("--per-deploy", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--pyspy", default="py-spy")
    parser.add_argument("--only-evaluate", action="store_true",
                        help="reuse the cases built by an earlier run")
    args = parser.parse_args()
    # Paths as absolute ones: commands run in other directories (a case's copy, a
    # worktree), where a path relative to the caller's would name nothing.
    if os.sep in args.joule:
        args.joule = os.path.abspath(args.joule)
    args.skills = os.path.abspath(args.skills)
    args.out = os.path.abspath(args.out)
    if args.pyspy and os.sep in args.pyspy:
        args.pyspy = os.path.abspath(args.pyspy)
    summary = []
    for name in args.projects.split(","):
        project = PROJECTS[name](args.out, args)
        rows = []
        for seed in seeds(args.seeds):
            meta = os.path.join(project.out, f"seed-{seed}.json")
            if args.only_evaluate and os.path.exists(meta):
                truth = json.load(open(meta))
                truth.setdefault("marker", project.marker(truth["shape"]))
            else:
                truth = build_case(project, seed, args)
                json.dump(truth, open(meta, "w"))
            result = evaluate(project, args.joule, args.skills, truth, args)
            rows.append((seed, truth, result))
            print(f"{project.name} seed {seed:2}: {truth['function']} ({truth['file']}) "
                  f"+{truth['rise']:.0%} {truth['shape']} x{truth['iterations']} at commit "
                  f"{truth['landing']}, culprit {truth['culprit'][:10]}: "
                  f"detected {result['detected']}, first {result['top1']}, "
                  f"top-3 {result['top3']}, revert {result['revert']} "
                  f"(ranked {' '.join(result['ranked'])}; {result['regressions']} regressions)",
                  flush=True)
        n = len(rows)
        for key, label, target in [("detected", "regression detected on the function", None),
                                   ("top1", "culprit first", 0.9),
                                   ("top3", "culprit in top three", 0.98),
                                   ("revert", "its revert applies on the head", None)]:
            k = sum(r[key] for _, _, r in rows)
            goal = "" if target is None else (
                f"  (target {target:.0%}: {'met' if k >= target * n else 'NOT met'})")
            summary.append(f"{project.name}: {label}: {k}/{n} ({k / n:.0%}){goal}")
    print("\n".join(summary))


if __name__ == "__main__":
    main()
