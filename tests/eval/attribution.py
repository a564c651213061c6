"""Attribution accuracy for `make eval-defense`: a generated git repository, a deploy log, a
profile of the service, and one regression per deploy; `regression-detect` finds each step and
`regression-attribute` ranks the commits deployed before it. Prints top-1 and top-3 accuracy.

The repository is a small Rust service, `checkout`: ten modules of eight leaf functions each,
an entry function per module that calls its leaves, and `serve`, which calls every entry. One
commit an hour for twenty days, each editing one to three functions (mostly leaves, sometimes an
entry or `serve`); a deploy every six hours ships the commits since the last one. For each
deploy, one of its commits that edited a leaf is the culprit: that leaf's `self:` series steps
up 3% at the deploy. The other commits of the deploy are the decoys the ranking must get past,
among them commits to the culprit leaf's callers, which every one of its samples runs through.
A third of all commit messages name a function they change (decoys as often as culprits).
"""

import os
import random
import subprocess

MODULES = ["http", "auth", "cart", "pricing", "tax", "inventory", "render", "storage", "json",
           "cache"]
VERBS = ["parse", "encode", "lookup", "merge", "validate", "compute", "flush", "load"]
HOURS, DEPLOY_EVERY = 480, 6
POINTS, CHANGE, STEP = 1000, 800, 300
JUMP = 0.03


def leaves(module):
    return [f"{module}_{verb}" for verb in VERBS]


def module_source(module, constants):
    """The module's Rust source, each function's body shaped by its constants."""
    out = [f"//! The {module} stage of a checkout request.\n"]
    for name in leaves(module):
        k, m, extra = constants[name]
        out.append(f"""
/// Part of the {module} stage.
pub fn {name}(input: &[u8]) -> usize {{
    let mut total = 0usize;
    for chunk in input.chunks({k}) {{
        total += chunk.iter().map(|b| *b as usize).sum::<usize>();
    }}
{extra}    total.wrapping_mul({m})
}}
""")
    calls = " + ".join(f"{name}(input)" for name in leaves(module))
    k, m, extra = constants[f"{module}_entry"]
    out.append(f"""
/// Runs every part of the {module} stage.
pub fn {module}_entry(input: &[u8]) -> usize {{
    let mut total = {calls};
{extra}    total.wrapping_mul({m}).wrapping_add({k})
}}
""")
    return "".join(out)


def main_source(constants):
    k, m, extra = constants["serve"]
    mods = "".join(f"mod {m_};\n" for m_ in MODULES)
    calls = " + ".join(f"{m_}::{m_}_entry(input)" for m_ in MODULES)
    return f"""//! checkout: a request goes through every stage.
{mods}
/// Serves one request.
pub fn serve(input: &[u8]) -> usize {{
    let mut total = {calls};
{extra}    total.wrapping_mul({m}).wrapping_add({k})
}}

fn main() {{
    let input = vec![7u8; 4096];
    println!("{{}}", serve(&input));
}}
"""


def file_of(function):
    if function == "serve":
        return "src/main.rs"
    return f"src/{function.split('_')[0]}.rs"


def write_tree(repo, constants):
    os.makedirs(os.path.join(repo, "src"), exist_ok=True)
    with open(os.path.join(repo, "src/main.rs"), "w") as f:
        f.write(main_source(constants))
    for module in MODULES:
        with open(os.path.join(repo, f"src/{module}.rs"), "w") as f:
            f.write(module_source(module, constants))


def git(repo, *args, env=None):
    subprocess.run(["git", "-C", repo, *args], check=True, capture_output=True, env=env)


def profile(path, rng):
    """Folded stacks of the service: serve -> module entry -> leaf, leaves weighted unevenly."""
    with open(path, "w") as f:
        for module in MODULES:
            for name in leaves(module):
                weight = int(rng.lognormvariate(5, 1)) + 1
                f.write(f"checkout::main;checkout::serve;checkout::{module}::{module}_entry;"
                        f"checkout::{module}::{name} {weight}\n")
            f.write(f"checkout::main;checkout::serve;checkout::{module}::{module}_entry "
                    f"{int(rng.lognormvariate(3, 1)) + 1}\n")


def build(workdir, rng, start):
    """The repository, deploy log, profile and regression series; returns the truth: for each
    regressed series, the culprit commit."""
    repo = os.path.join(workdir, "checkout")
    if os.path.exists(repo):
        subprocess.run(["rm", "-rf", repo], check=True)
    os.makedirs(repo)
    every = [n for m in MODULES for n in leaves(m)]
    entries = [f"{m}_entry" for m in MODULES]
    constants = {n: (64, 31, "") for n in every + entries + ["serve"]}
    write_tree(repo, constants)
    git(repo, "init", "-q", "-b", "main")
    env = dict(os.environ, GIT_AUTHOR_NAME="Dev", GIT_AUTHOR_EMAIL="dev@checkout.invalid",
               GIT_COMMITTER_NAME="Dev", GIT_COMMITTER_EMAIL="dev@checkout.invalid")

    def commit(message, when):
        stamp = f"{when} +0000"
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = stamp
        git(repo, "add", "-A", env=env)
        git(repo, "commit", "-q", "-m", message, env=env)
        out = subprocess.run(["git", "-C", repo, "rev-parse", "HEAD"], check=True,
                             capture_output=True, text=True)
        return out.stdout.strip()

    base = start - 3600
    commit("checkout: first version", base)
    deploys, batch, history = [], [], []
    for hour in range(HOURS):
        when = start + hour * 3600
        roll = rng.random()
        count = 1 + (rng.random() < 0.4) + (rng.random() < 0.2)
        if roll < 0.05:
            touched = ["serve"]
        elif roll < 0.2:
            touched = [rng.choice(entries)]
        else:
            touched = rng.sample(every, count)
        for name in touched:
            k, m, extra = constants[name]
            change = rng.randrange(3)
            if change == 0:
                k = rng.choice([c for c in (16, 32, 64, 128, 256) if c != k])
            elif change == 1:
                m = rng.choice([c for c in (17, 31, 37, 61, 127) if c != m])
            else:
                extra += f"    total ^= {rng.randrange(1, 1 << 16)};\n"
            constants[name] = (k, m, extra)
        write_tree(repo, constants)
        module = touched[0].split("_")[0] if touched[0] != "serve" else "serve"
        what = rng.choice(["tune", "simplify", "rework", "speed up", "clean up", "fix"])
        if rng.random() < 1 / 3:
            message = f"{module}: {what} {touched[0]}"
        else:
            message = f"{module}: {what} the {rng.choice(['chunking', 'arithmetic', 'loop', 'hashing'])}"
        sha = commit(message, when)
        history.append((sha, touched))
        batch.append((sha, touched))
        if (hour + 1) % DEPLOY_EVERY == 0:
            deployed = when + 1800
            deploys.append((deployed, batch))
            batch = []
    with open(os.path.join(workdir, "deploys.csv"), "w") as f:
        f.write("timestamp,commit\n")
        for t, shipped in deploys:
            for sha, _ in shipped:
                f.write(f"{t},{sha}\n")
    profile(os.path.join(workdir, "checkout.folded"), rng)

    truth = {}
    rows = []
    for t, shipped in deploys:
        with_leaf = [(sha, [n for n in touched if n in every]) for sha, touched in shipped]
        with_leaf = [(sha, names) for sha, names in with_leaf if names]
        if not with_leaf:
            continue
        sha, names = rng.choice(with_leaf)
        leaf = rng.choice(names)
        truth[f"self:{leaf}{{deploy={t}}}"] = (sha, len(shipped))
        first = t - CHANGE * STEP
        level = rng.uniform(0.01, 0.2)
        for i in range(POINTS):
            v = level * (1 + rng.gauss(0, 0.01))
            if i >= CHANGE:
                v *= 1 + JUMP
            rows.append((first + i * STEP, leaf, t, v))
    with open(os.path.join(workdir, "attribution.csv"), "w") as f:
        f.write("timestamp,series,deploy,value\n")
        for t, leaf, deploy, v in rows:
            f.write(f"{t},self:{leaf},{deploy},{v:.6f}\n")
    return repo, truth


def evaluate(run_joule, joule, skills_dir, workdir, seed):
    """Runs the chain over the generated inputs; returns (top1, top3, regressions, detected,
    mean candidates per deploy, seconds)."""
    rng = random.Random(seed * 7919 + 1)
    os.makedirs(workdir, exist_ok=True)
    start = 1_764_547_200  # 2025-12-01T00:00:00Z
    repo, truth = build(workdir, rng, start)
    skills = [os.path.join(skills_dir, f"{s}.wasm")
              for s in ("regression-detect", "regression-attribute")]
    report, took = run_joule(joule, skills, [
        "--metrics", os.path.join(workdir, "attribution.csv"),
        "--history", f"checkout={repo}",
        "--deploy-log", f"checkout={os.path.join(workdir, 'deploys.csv')}",
        "--profile", os.path.join(workdir, "checkout.folded"),
        "--param", f"regression-attribute.lookback-hours={DEPLOY_EVERY}",
    ])
    for run in report["runs"]:
        if run["status"] != "ok":
            raise SystemExit(f"{run['skill']} failed: {run.get('error')}")
    top1 = top3 = 0
    detected = set()
    for f in report["findings"]:
        if f["skill"] != "regression-attribute":
            continue
        series = f.get("series", "")
        if series not in truth:
            continue
        detected.add(series)
        labels = f.get("labels", {})
        ranked = [c.split(":")[0] for c in labels.get("candidates", "").split(",") if c]
        culprit = truth[series][0]
        top1 += bool(ranked) and ranked[0] == culprit
        top3 += culprit in ranked[:3]
    batch = sum(n for _, n in truth.values()) / max(1, len(truth))
    return top1, top3, len(truth), len(detected), batch, took
