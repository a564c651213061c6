"""Attribution on real histories (`make eval-attribution`): consecutive released versions of an
open-source project, one commit each (tests/eval/histories/<project>/history.bundle, rebuilt by
make_bundle.py), a realistic slowdown planted in a random hot function as its own commit, deployed
with one release, every deploy profiled for real, then the chain regression-detect ->
regression-attribute -> regression-mitigate. Scores, per project and seed: the planted commit
named first, in the top three, and its revert applying on the head.

    python3 tests/eval/attribution_real.py JOULE SKILL_DIR --out DIR [--seeds 1-8]
        [--pyspy PATH] [--only-evaluate]

`--only-evaluate` runs the chain again on the cases an earlier run built (the same seeds give
the same cases), so two builds of Joule are compared on the same profiles.

Python (Python-Markdown 3.4 .. 3.8.2, thirteen releases): the workload converts Markdown's own
documentation (from the first release) with fourteen extensions, profiled with py-spy (speedscope,
1000 Hz). The slowdown goes at the top of a function that the workload spends 3-30% of its time
in (measured with cProfile on the release the slowdown lands in) and that every later release
still has; it costs 20-60% of the function's time per call, measured, as one of three shapes
(a list built per call, a sorted generator per call, an arithmetic loop), and stays in every
later release. Releases are deployed a day apart; each deploy is profiled `--per-deploy` times
over its day. Profiles of the clean releases are shared by every seed.
"""

import argparse
import ast
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
START = 1_735_689_600  # 2025-01-01T00:00:00Z, the first release's commit time
DAY = 86_400
DEPLOY_DELAY = 6 * 3600
# By module path: the short names need the package installed (its entry points).
EXTENSIONS = [f"markdown.extensions.{e}" for e in
              ("abbr", "attr_list", "def_list", "fenced_code", "footnotes", "md_in_html", "tables",
               "toc", "admonition", "sane_lists", "smarty", "wikilinks", "meta", "nl2br")]
SHAPES = {
    "list": ("_warm = [str(_i) for _i in range({n})]", "[str(_i) for _i in range({n})]"),
    "sorted": ("_order = sorted(str(_i) for _i in range({n}))",
               "sorted(str(_i) for _i in range({n}))"),
    "loop": ("_acc = 0\nfor _i in range({n}):\n    _acc += _i * _i",
             "_acc = 0\nfor _i in range({n}):\n    _acc += _i * _i"),
}
MESSAGES = ["Simplify {short}", "Tidy up {short}", "Refactor internal helpers",
            "Cache-friendly lookups", "Small clean-ups", "Prepare for the next release"]

WORKLOAD = r'''
import glob, sys, time
tree, docs, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
sys.path.insert(0, tree)
import markdown
texts = [open(p, encoding="utf-8").read() for p in sorted(glob.glob(docs + "/**/*.md", recursive=True))]
end = time.monotonic() + seconds
while time.monotonic() < end:
    for t in texts:
        markdown.markdown(t, extensions=EXTENSIONS)
'''.replace("EXTENSIONS", repr(EXTENSIONS))

CPROFILE = r'''
import cProfile, glob, pstats, sys, json
tree, docs = sys.argv[1], sys.argv[2]
sys.path.insert(0, tree)
import markdown
texts = [open(p, encoding="utf-8").read() for p in sorted(glob.glob(docs + "/**/*.md", recursive=True))]
def work():
    for _ in range(3):
        for t in texts:
            markdown.markdown(t, extensions=EXTENSIONS)
p = cProfile.Profile(); p.enable(); work(); p.disable()
st = pstats.Stats(p).stats
total = max(ct for (_, _, _), (_, _, _, ct, _) in st.items())
print(json.dumps([[f, l, n, nc, ct / total] for (f, l, n), (cc, nc, tt, ct, _) in st.items()
                  if "/markdown/" in f]))
'''.replace("EXTENSIONS", repr(EXTENSIONS))


def run(*args, **kw):
    return subprocess.run(args, check=True, capture_output=True, text=True, **kw).stdout


def git(repo, *args, env=None):
    return run("git", "-C", repo, *args, env=env).strip()


def qualnames(source):
    """Every named function of a Python file: qualname -> the ast node."""
    out = {}

    def walk(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = prefix + child.name
                out[name] = child
                walk(child, name + ".<locals>.")
            elif isinstance(child, ast.ClassDef):
                walk(child, prefix + child.name + ".")
            else:
                walk(child, prefix)

    walk(ast.parse(source), "")
    return out


def plant(source, qualname, statement):
    """`source` with `statement` as the first statement of function `qualname` (after its
    docstring); None when the function is not there or has its body on the `def` line."""
    node = qualnames(source).get(qualname)
    if node is None:
        return None
    body = node.body
    first = body[0]
    if (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
            and isinstance(first.value.value, str)):
        if len(body) == 1:
            return None
        first = body[1]
    if first.lineno <= node.lineno:
        return None
    lines = source.splitlines(keepends=True)
    indent = " " * first.col_offset
    text = "".join(indent + line + "\n" for line in statement.splitlines())
    return "".join(lines[:first.lineno - 1]) + text + "".join(lines[first.lineno - 1:])


class Project:
    """Python-Markdown: its bundle unpacked, one tree per release, and its workload."""

    def __init__(self, out, name="python-markdown"):
        self.name = name
        self.out = os.path.join(out, name)
        os.makedirs(self.out, exist_ok=True)
        self.base = os.path.join(self.out, "base")
        if not os.path.isdir(self.base):
            run("git", "clone", "-q", os.path.join(HERE, "histories", name, "history.bundle"),
                self.base)
        self.commits = git(self.base, "rev-list", "--reverse", "HEAD").split()
        self.messages = [git(self.base, "log", "-1", "--format=%s", c) for c in self.commits]
        self.trees = []
        for i, c in enumerate(self.commits):
            tree = os.path.join(self.out, "trees", str(i))
            if not os.path.isdir(tree):
                os.makedirs(tree)
                archive = subprocess.run(["git", "-C", self.base, "archive", c], check=True,
                                         capture_output=True).stdout
                subprocess.run(["tar", "xf", "-", "-C", tree], input=archive, check=True)
            self.trees.append(tree)
        self.docs = os.path.join(self.trees[0], "docs")
        self.workload = os.path.join(self.out, "workload.py")
        with open(self.workload, "w") as f:
            f.write(WORKLOAD)
        self.cprofile = os.path.join(self.out, "cprofile.py")
        with open(self.cprofile, "w") as f:
            f.write(CPROFILE)

    def hot_functions(self, version):
        """(qualname, file relative to the tree, calls, share of the workload) of the
        functions the workload spends time in, from cProfile on one release."""
        cache = os.path.join(self.out, f"cprofile-{version}.json")
        if not os.path.exists(cache):
            with open(cache, "w") as f:
                f.write(run(sys.executable, self.cprofile, self.trees[version], self.docs))
        rows = json.load(open(cache))
        out = []
        for path, line, name, calls, share in rows:
            rel = path[path.index("/markdown/") + 1:]
            try:
                names = qualnames(open(os.path.join(self.trees[version], rel)).read())
            except (OSError, SyntaxError):
                continue
            for q, node in names.items():
                first = min([node.lineno] + [d.lineno for d in node.decorator_list])
                if node.name == name and line in (node.lineno, first):
                    out.append((q, rel, calls, share))
        return out

    def profile(self, tree, path, seconds, pyspy):
        run(pyspy, "record", "-r", "1000", "-f", "speedscope", "-o", path, "--",
            sys.executable, self.workload, tree, self.docs, str(seconds))


def per_iteration(shape):
    """Seconds one iteration of a slowdown shape costs here."""
    setup, body = SHAPES[shape]
    n = 2000
    code = compile(body.format(n=n), "<shape>", "exec")
    t0 = time.perf_counter()
    for _ in range(50):
        exec(code, {})
    return (time.perf_counter() - t0) / (50 * n)


def build_case(project, seed, args):
    """The seed's repository (releases with the slowdown planted), deploy log and profiles;
    returns the case's truth."""
    rng = random.Random(seed * 7919 + 17)
    n = len(project.commits)
    landing = rng.randrange(3, n - 2)
    later = range(landing, n)
    candidates = []
    for q, rel, calls, share in project.hot_functions(landing):
        if "<" in q or not 0.03 <= share <= 0.3 or calls < 20:
            continue
        sources = [open(os.path.join(project.trees[v], rel)).read()
                   if os.path.exists(os.path.join(project.trees[v], rel)) else "" for v in later]
        if all(plant(s, q, "pass") is not None for s in sources):
            candidates.append((q, rel, calls, share))
    candidates.sort()
    q, rel, calls, share = rng.choice(candidates)
    shape = rng.choice(sorted(SHAPES))
    rise = rng.uniform(0.2, 0.6)
    # cProfile's share is of its own (slowed) run; the cost per call is what matters.
    workload_per_round = args.seconds_per_round
    per_call = rise * share * workload_per_round / (calls / 3)  # cProfile ran three rounds
    iterations = max(1, round(per_call / per_iteration(shape)))
    statement = SHAPES[shape][0].format(n=iterations)
    short = q.rsplit(".", 1)[-1]
    message = rng.choice(MESSAGES).format(short=short)

    case = os.path.join(project.out, f"seed-{seed}")
    if os.path.exists(case):
        shutil.rmtree(case)
    repo = os.path.join(case, "repo")
    os.makedirs(repo)
    git(repo, "init", "-q", "-b", "main")
    env = dict(os.environ, GIT_AUTHOR_NAME="Python-Markdown", GIT_AUTHOR_EMAIL="md@example.org",
               GIT_COMMITTER_NAME="Python-Markdown", GIT_COMMITTER_EMAIL="md@example.org")
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
                f.write(plant(open(os.path.join(project.trees[v], rel)).read(), q, statement))
        git(repo, "add", "-A", env=env)
        git(repo, "commit", "-q", "--allow-empty", "-m", project.messages[v], env=env)
        shipped = [git(repo, "rev-parse", "HEAD")]
        if v == landing:
            target = os.path.join(repo, rel)
            planted_source = plant(open(target).read(), q, statement)
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
    # Profiles: `per_deploy` a deploy, spread over its day; the clean releases' are shared.
    profiles = os.path.join(case, "profiles")
    os.makedirs(profiles)
    for v, (t, _) in enumerate(deploys):
        for j in range(args.per_deploy):
            when = t + 3600 + j * (20 * 3600 // args.per_deploy)
            name = f"cpu-{when}.speedscope.json"
            if v < landing:
                shared = os.path.join(project.out, "clean-profiles", str(v), f"{j}.json")
                if not os.path.exists(shared):
                    os.makedirs(os.path.dirname(shared), exist_ok=True)
                    project.profile(trees[v], shared, args.seconds, args.pyspy)
                shutil.copy(shared, os.path.join(profiles, name))
            else:
                project.profile(trees[v], os.path.join(profiles, name), args.seconds, args.pyspy)
    last = sorted(os.listdir(profiles))[-1]
    return {
        "case": case, "repo": repo, "culprit": culprit, "function": q, "file": rel,
        "landing": landing, "shape": shape, "rise": rise, "iterations": iterations,
        "message": message, "deploys": len(deploys), "head_profile": os.path.join(profiles, last),
        "profiles": profiles,
    }


def anonymous_free(name):
    """A frame's name with anonymous trailing parts dropped: `f.<locals>.<listcomp>` -> `f`."""
    parts = name.split(".")
    while parts and (parts[-1].startswith("<") or parts[-1] == ""):
        parts.pop()
    return ".".join(parts)


def evaluate(joule, skills, truth, args):
    names = ["regression-detect", "regression-attribute", "regression-mitigate"]
    command = [joule, "run", "--format", "json",
               "--profile-series", truth["profiles"], "--profile", truth["head_profile"],
               "--history", f"md={truth['repo']}",
               "--deploy-log", f"md={os.path.join(truth['case'], 'deploys.csv')}",
               "--param", "regression-detect.series=total:",
               "--param", f"regression-detect.min-segment={2 * args.per_deploy}",
               "--param", "regression-detect.min-baseline=0.2",
               "--param", "regression-attribute.lookback-hours=96",
               *[a for s in names for a in ("--skills", os.path.join(skills, f"{s}.wasm"))]]
    out = subprocess.run(command, capture_output=True, text=True)
    if out.returncode not in (0, 3):
        sys.exit(f"joule failed ({out.returncode}):\n{out.stderr}")
    report = json.loads(out.stdout)
    q = truth["function"]

    def about(f):
        names = [f.get("series", "")] + f.get("labels", {}).get("also", "").split(",")
        for s in names:
            base = s.split("{")[0]
            if ":" in base and anonymous_free(base.split(":", 1)[1]) == q:
                return True
        return False

    regressions = [f for f in report["findings"]
                   if f["skill"] == "regression-detect" and f["kind"] == "regression"]
    hit = next((f for f in regressions if about(f)), None)
    result = {"detected": hit is not None, "top1": False, "top3": False, "revert": False,
              "regressions": len(regressions), "ranked": []}
    if hit is None:
        return result
    series = hit.get("series")
    cause = next((f for f in report["findings"] if f["skill"] == "regression-attribute"
                  and f.get("series") == series), None)
    if cause is None:
        return result
    ranked = [c.split(":")[0] for c in cause.get("labels", {}).get("candidates", "").split(",")
              if c]
    result["ranked"] = [r[:10] for r in ranked]
    result["top1"] = bool(ranked) and ranked[0] == truth["culprit"]
    result["top3"] = truth["culprit"] in ranked[:3]
    mitigation = next((f for f in report["findings"] if f["skill"] == "regression-mitigate"
                       and f.get("series") == series), None)
    patch = (mitigation or {}).get("labels", {}).get("revert-patch")
    if result["top1"] and patch:
        check = subprocess.run(["git", "-C", truth["repo"], "apply", "--check", "-"],
                               input=patch, capture_output=True, text=True)
        planted_line = SHAPES[truth["shape"]][0].splitlines()[0].split("{")[0].strip()
        result["revert"] = check.returncode == 0 and planted_line[:6] in patch
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
    parser.add_argument("--per-deploy", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--pyspy", default="py-spy")
    parser.add_argument("--only-evaluate", action="store_true",
                        help="reuse the cases built by an earlier run")
    args = parser.parse_args()
    project = Project(args.out)
    # The workload's duration per round of documents, for sizing the slowdowns.
    t0 = time.monotonic()
    run(sys.executable, "-c", WORKLOAD.replace("while time.monotonic() < end:",
                                                 "for _ in range(1):"),
        project.trees[0], project.docs, "0")
    args.seconds_per_round = time.monotonic() - t0
    rows = []
    for seed in seeds(args.seeds):
        meta = os.path.join(project.out, f"seed-{seed}.json")
        if args.only_evaluate and os.path.exists(meta):
            truth = json.load(open(meta))
        else:
            truth = build_case(project, seed, args)
            json.dump(truth, open(meta, "w"))
        result = evaluate(args.joule, args.skills, truth, args)
        rows.append((seed, truth, result))
        print(f"seed {seed:2}: {truth['function']} ({truth['file']}) +{truth['rise']:.0%} "
              f"{truth['shape']} at release {truth['landing']}, culprit {truth['culprit'][:10]}: "
              f"detected {result['detected']}, first {result['top1']}, top-3 {result['top3']}, "
              f"revert {result['revert']} (ranked {' '.join(result['ranked'])}; "
              f"{result['regressions']} regressions)", flush=True)
    n = len(rows)
    for key, label, target in [("detected", "regression detected on the function", None),
                               ("top1", "culprit first", 0.9), ("top3", "culprit in top three", 0.98),
                               ("revert", "its revert applies on the head", None)]:
        k = sum(r[key] for _, _, r in rows)
        goal = "" if target is None else (
            f"  (target {target:.0%}: {'met' if k >= target * n else 'NOT met'})")
        print(f"{project.name}: {label}: {k}/{n} ({k / n:.0%}){goal}")


if __name__ == "__main__":
    main()
