"""`make eval-real`: the offense skills on real open-source programs nobody here wrote, at pinned
versions from the package registries, each run on a realistic workload and profiled for real
with the capture a user would make. Every finding is looked up in tests/eval/real/judgements.toml
(keyed by program, skill, function and the skill's fingerprint label), where a person recorded
whether it is true waste and why; a finding nobody judged fails the run, so the judgements keep
up with the skills. Prints per-skill precision on real code, the number of true findings, and,
for each true finding with a patch the program's recipe can check: whether it applies, builds,
passes the program's own tests, and the measured speed-up.

Programs (one class each below):

- `markdown` 3.7 (Python, PyPI; Python-Markdown): its own documentation (36 pages) rendered
  with a documentation site's extensions, 15 times, under py-spy (speedscope, 1000 Hz: at
  250 Hz a finding at 0.5% of a three-second workload rests on a handful of samples).
- `tabulate` 0.9.0 (Python, PyPI): a 3,000-row table of mixed columns in six formats, 10
  times, under py-spy.
- `inflection` 0.5.1 (Python, PyPI): an ORM's name conversions (class names to table names and
  back, plurals) over 2,400 identifiers, 20 times, under py-spy.
- `markdown2` 2.5.1 (Python, PyPI): its own Markdown files rendered with a documentation
  site's extras, 40 times, under py-spy.
- `pypdf` 5.1.0 (Python, PyPI): the text of a 12-page PDF whose page contents are
  ASCIIHex-encoded (as PostScript converters write them; the PDF is written by pypdf itself),
  extracted 30 times, under py-spy.
- `sqlparse` 0.5.1 (Python, PyPI): a SQL formatter reindenting and upper-casing a
  400-statement script of reporting queries and parsing it, 4 times, under py-spy.
- `lua` (C, crates.io lua-src 547.0.0: Lua 5.4.7's sources): built with gcc -O2 -g and frame
  pointers around a ten-line driver (tests/eval/real/lua_driver.c), running a script of string
  building, pattern matching, sorting and tables (lua_workload.lua) under `perf record -g`.
- `gofmt` (Go, Debian's golang-1.19 1.19.8-2): `gofmt -l -s` over Go's own 5,565-file source
  tree, with gofmt's own `-cpuprofile`; the source granted is that tree.
- `xsv` 0.13.0 (Rust, crates.io; BurntSushi's CSV toolkit): built by `cargo install --locked`
  with frame pointers and line tables; `frequency`, `sort -N`, `stats`, `search` and `join` on
  a generated 1,000,000-row CSV of orders (and a 50,000-row table of users), each under
  `perf record -g` (read as perf.data, symbolized by Joule).

Usage: python3 tests/eval/real.py JOULE SKILL_DIR [--out DIR] [--only NAME] [--no-patches]
"""

import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import time
import tomllib

from offense import ROOT, SKILLS

# The skills each run names are the ones evaluated: the skills built into joule stay out.
os.environ["JOULE_NO_BUILTIN_SKILLS"] = "1"

HERE = os.path.dirname(os.path.abspath(__file__))
JUDGEMENTS = os.path.join(HERE, "real", "judgements.toml")


def run(args, **kw):
    """A command's standard output; on failure its standard error is shown, then raised."""
    done = subprocess.run(args, capture_output=True, text=True, **kw)
    if done.returncode != 0:
        sys.stderr.write(f"{' '.join(map(str, args))} failed ({done.returncode}):\n"
                         f"{done.stderr[-4000:]}\n")
        raise subprocess.CalledProcessError(done.returncode, args, done.stdout, done.stderr)
    return done.stdout


def perf_record(command, data, cwd=None):
    """`perf record -g` of `command` (the software cpu-clock event, 999 Hz) into `data`."""
    run(["perf", "record", "-q", "-e", "cpu-clock", "-F", "999", "-g", "-o", data, "--", *command],
        cwd=cwd)
    return data


class Xsv:
    name = "xsv"
    language = "Rust"
    origin = "crates.io xsv 0.13.0"
    version = "0.13.0"

    def __init__(self, out, _py_spy):
        self.dir = os.path.join(out, self.name)
        self.bin = os.path.join(self.dir, "bin", "xsv")
        self.data = os.path.join(self.dir, "data.csv")

    def registry_source(self):
        found = glob.glob(os.path.expanduser(f"~/.cargo/registry/src/*/xsv-{self.version}"))
        return found[0] if found else None

    def prepare(self):
        """The binary (frame pointers, line tables) and a pristine copy of its source."""
        os.makedirs(self.dir, exist_ok=True)
        if not os.path.exists(self.bin):
            env = dict(os.environ, RUSTFLAGS="-C force-frame-pointers=yes",
                       CARGO_PROFILE_RELEASE_DEBUG="line-tables-only",
                       CARGO_TARGET_DIR=os.path.join(self.dir, "target"))
            for v in ("MAKEFLAGS", "MFLAGS", "CARGO_MAKEFLAGS"):
                env.pop(v, None)
            run(["cargo", "install", "xsv", "--version", self.version, "--locked", "--root",
                 self.dir], env=env)
        source = os.path.join(self.dir, "src-pristine")
        if not os.path.isdir(source):
            shutil.copytree(self.registry_source(), source)
        if not os.path.exists(self.data):
            write_orders(self.data, 1_000_000)
        return source

    def users(self):
        """A second table to join with: one row per user."""
        path = os.path.join(self.dir, "users.csv")
        if not os.path.exists(path):
            with open(path, "w") as f:
                f.write("user_id,name,tier\n")
                for u in range(50_000):
                    f.write(f"{u},user {u},{('gold', 'silver', 'bronze')[u % 3]}\n")
        return path

    def profiles(self):
        """One perf.data per workload, captured once (delete the directory to capture again)."""
        workloads = {
            "frequency": [self.bin, "frequency", "-s", "user_id,country", "-l", "10", self.data],
            "sort": [self.bin, "sort", "-N", "-s", "amount", self.data, "-o", os.devnull],
            "stats": [self.bin, "stats", "-s", "amount,user_id", self.data],
            "search": [self.bin, "search", "-s", "country", "^(DE|FR|NL)$", self.data, "-o",
                       os.devnull],
            "join": [self.bin, "join", "user_id", self.data, "user_id", self.users(), "-o",
                     os.devnull],
        }
        out = []
        for name, command in workloads.items():
            data = os.path.join(self.dir, f"{name}.perf.data")
            if not os.path.exists(data):
                perf_record(command, data)
            out.append(data)
        return out


def write_orders(path, rows):
    """A CSV of orders: id, user id (skewed: some users order often), country, status, amount
    with cents, day. Reproducible."""
    countries = ["DE", "FR", "US", "GB", "NL", "SE", "PL", "ES", "IT", "JP"]
    statuses = ["paid", "refunded", "pending", "shipped"]
    state = 0x9E3779B97F4A7C15
    mask = (1 << 64) - 1
    with open(path, "w") as f:
        f.write("id,user_id,country,status,amount,day\n")
        for i in range(rows):
            state ^= (state << 13) & mask
            state ^= state >> 7
            state ^= (state << 17) & mask
            u = (state % 1_000_000) / 1_000_000
            user = int(u * u * 50_000)
            f.write(f"{i},{user},{countries[state % 10]},{statuses[(state >> 8) % 4]},"
                    f"{(state >> 16) % 100_000 / 100:.2f},2026-{1 + (state >> 24) % 12:02d}-"
                    f"{1 + (state >> 32) % 28:02d}\n")


class PythonSdist:
    """A Python package's sdist from PyPI, unpacked, its workload run from it under py-spy
    (speedscope, 1000 Hz)."""
    package = ""
    version = ""
    workload = ""
    rounds = ""
    # Where the package is, inside the unpacked sdist.
    path = ""

    def __init__(self, out, py_spy):
        self.dir = os.path.join(out, self.name)
        self.src = os.path.join(self.dir, f"{self.package}-{self.version}")
        self.py_spy = py_spy

    def prepare(self):
        os.makedirs(self.dir, exist_ok=True)
        if not os.path.isdir(self.src):
            run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
                 f"{self.package}=={self.version}", "-d", self.dir, "-q"])
            run(["tar", "xzf", os.path.join(self.dir, f"{self.package}-{self.version}.tar.gz")],
                cwd=self.dir)
        return self.src

    def workload_command(self, source):
        """The workload's command and environment, run from `source` (a copy, patched or not)."""
        return ([sys.executable, os.path.join(HERE, "real", self.workload), self.rounds],
                dict(os.environ, PYTHONPATH=os.path.join(source, self.path)))

    # The package's test files in the sdist (pytest); none: the sdist ships no tests.
    tests = []

    def test(self, source, out):
        """The package's own tests (pytest, in a venv of its own under the output directory);
        `None` when the sdist has none."""
        if not self.tests:
            return None
        venv = os.path.join(out, "pytest-venv")
        if not os.path.exists(os.path.join(venv, "bin", "pytest")):
            run([sys.executable, "-m", "venv", venv])
            run([os.path.join(venv, "bin", "pip"), "install", "-q", "pytest==8.3.4"])
        return subprocess.run([os.path.join(venv, "bin", "python"), "-m", "pytest", "-q",
                               *self.tests], cwd=source, capture_output=True, text=True,
                              env=dict(os.environ, PYTHONPATH=os.path.join(source, self.path)))

    def profiles(self):
        out = os.path.join(self.dir, "workload.speedscope.json")
        if not os.path.exists(out):
            run([self.py_spy, "record", "--format", "speedscope", "-r", "1000", "-o", out, "--",
                 sys.executable, os.path.join(HERE, "real", self.workload), self.rounds],
                cwd=self.src, env=dict(os.environ, PYTHONPATH=os.path.join(self.src, self.path)))
        return [out]


class PythonMarkdown(PythonSdist):
    name = "markdown"
    language = "Python"
    origin = "PyPI Markdown 3.7"
    package, version = "markdown", "3.7"
    # Its own documentation rendered 15 times over.
    workload, rounds = "markdown_workload.py", "15"


class Tabulate(PythonSdist):
    name = "tabulate"
    language = "Python"
    origin = "PyPI tabulate 0.9.0"
    package, version = "tabulate", "0.9.0"
    # A 3,000-row table in six formats, 10 times over.
    workload, rounds = "tabulate_workload.py", "10"


class Inflection(PythonSdist):
    name = "inflection"
    language = "Python"
    origin = "PyPI inflection 0.5.1"
    package, version = "inflection", "0.5.1"
    # Class names to table names and back, plurals, 2,400 identifiers, 20 times over.
    workload, rounds = "inflection_workload.py", "20"
    tests = ["test_inflection.py"]


class Markdown2(PythonSdist):
    name = "markdown2"
    language = "Python"
    origin = "PyPI markdown2 2.5.1"
    package, version = "markdown2", "2.5.1"
    path = "lib"
    # Its own Markdown files with a documentation site's extras, 40 times over.
    workload, rounds = "markdown2_workload.py", "40"


class Pypdf(PythonSdist):
    name = "pypdf"
    language = "Python"
    origin = "PyPI pypdf 5.1.0"
    package, version = "pypdf", "5.1.0"
    # The text of a 12-page PDF whose page contents are ASCIIHex-encoded, 30 times over.
    workload, rounds = "pypdf_workload.py", "30"


class Sqlparse(PythonSdist):
    name = "sqlparse"
    language = "Python"
    origin = "PyPI sqlparse 0.5.1"
    package, version = "sqlparse", "0.5.1"
    # A 400-statement script of reporting queries reindented and parsed, 4 times over.
    workload, rounds = "sqlparse_workload.py", "4"
    tests = ["tests"]


class Lua:
    name = "lua"
    language = "C"
    origin = "crates.io lua-src 547.0.0 (Lua 5.4.7)"
    version = "547.0.0"

    def __init__(self, out, _py_spy):
        self.dir = os.path.join(out, self.name)
        self.bin = os.path.join(self.dir, "lua")

    def prepare(self):
        """Lua 5.4.7's C sources from the lua-src crate (fetched by cargo), built with gcc -O2
        -g and frame pointers around a ten-line driver (the crate ships no lua.c)."""
        os.makedirs(self.dir, exist_ok=True)
        fetch = os.path.join(self.dir, "fetch")
        if not os.path.isdir(fetch):
            os.makedirs(os.path.join(fetch, "src"))
            with open(os.path.join(fetch, "Cargo.toml"), "w") as f:
                f.write('[package]\nname = "fetch-lua"\nversion = "0.1.0"\nedition = "2021"\n\n'
                        f'[dependencies]\nlua-src = "={self.version}"\n\n[workspace]\n')
            with open(os.path.join(fetch, "src", "main.rs"), "w") as f:
                f.write("fn main() {}\n")
        run(["cargo", "fetch", "-q"], cwd=fetch)
        found = glob.glob(os.path.expanduser(
            f"~/.cargo/registry/src/*/lua-src-{self.version}/lua-5.4.7"))
        source = found[0]
        if not os.path.exists(self.bin):
            sources = sorted(glob.glob(os.path.join(source, "*.c")))
            run(["gcc", "-O2", "-g", "-fno-omit-frame-pointer", "-DLUA_USE_LINUX", f"-I{source}",
                 "-o", self.bin, os.path.join(HERE, "real", "lua_driver.c"), *sources, "-lm",
                 "-ldl"])
        return source

    def profiles(self):
        """`perf record -g` of the interpreter running the workload script."""
        data = os.path.join(self.dir, "lua.perf.data")
        if not os.path.exists(data):
            perf_record([self.bin, os.path.join(HERE, "real", "lua_workload.lua")], data)
        return [data]


class Gofmt:
    name = "gofmt"
    language = "Go"
    origin = "Debian golang-1.19 1.19.8-2"
    root = "/usr/lib/go-1.19"
    # The tree itself (`/usr/lib/go-1.19/src` is a link to it, which gofmt does not walk).
    src = "/usr/share/go-1.19/src"

    def __init__(self, out, _py_spy):
        self.dir = os.path.join(out, self.name)

    def prepare(self):
        """Debian's Go 1.19 (`make setup` installs golang-go; its sources are golang-1.19-src):
        gofmt and the standard library it is built from."""
        os.makedirs(self.dir, exist_ok=True)
        version = run(["dpkg-query", "-W", "-f", "${Version}", "golang-1.19-src"]).strip()
        if version != "1.19.8-2":
            print(f"  note: golang-1.19-src is {version}, the judgements were made on 1.19.8-2")
        return self.src

    def profiles(self):
        """gofmt's own -cpuprofile while it checks (`-l -s`) every file of Go's sources."""
        out = os.path.join(self.dir, "gofmt.pb.gz")
        if not os.path.exists(out):
            subprocess.run([os.path.join(self.root, "bin", "gofmt"), "-l", "-s", "-cpuprofile",
                            out, self.src], capture_output=True)
        return [out]


PROGRAMS = [Xsv, PythonMarkdown, Tabulate, Inflection, Markdown2, Pypdf, Sqlparse, Gofmt, Lua]


def run_skills(joule, skill_dir, source, profiles, out):
    args = [joule, "run", "--format", "json", "--source", f"src={source}"]
    for p in profiles:
        args += ["--profile", p]
    for s in SKILLS:
        args += ["--skills", os.path.join(skill_dir, f"{s}.wasm")]
    done = subprocess.run(args, capture_output=True, text=True)
    if done.returncode not in (0, 3):
        sys.exit(f"joule failed ({done.returncode}):\n{done.stderr}")
    report = json.loads(done.stdout)
    with open(os.path.join(out, "report.json"), "w") as f:
        json.dump(report, f, indent=1)
    return report


def check_patch(program, finding, source, out):
    """The finding's patch applied to a copy of the program's source, its tests run, and the
    workload timed before and after (alternating, best of three): a line for the report."""
    work = os.path.join(program.dir, "patches", finding["id"])
    if os.path.exists(work):
        shutil.rmtree(work)
    after = os.path.join(work, "after")
    shutil.copytree(source, after)
    patch = os.path.join(work, "finding.patch")
    with open(patch, "w") as f:
        f.write(finding["patch"])
    check = subprocess.run(["git", "apply", "--check", patch], cwd=after, capture_output=True,
                           text=True)
    if check.returncode != 0:
        return f"patch does not apply: {check.stderr.strip()}"
    subprocess.run(["git", "apply", patch], cwd=after, check=True)
    tests = program.test(after, out)
    if tests is None:
        return "applies; the sdist ships no tests, so the patch is not verified"
    if tests.returncode != 0:
        return f"applies; tests fail:\n{tests.stdout[-1500:]}{tests.stderr[-1500:]}"
    passed = tests.stdout.strip().splitlines()[-1] if tests.stdout.strip() else "tests pass"
    best = {}
    for _ in range(3):
        for variant, tree in (("before", source), ("after", after)):
            command, env = program.workload_command(tree)
            start = time.perf_counter()
            subprocess.run(command, cwd=tree, env=env, capture_output=True, check=True)
            elapsed = time.perf_counter() - start
            best[variant] = min(best.get(variant, elapsed), elapsed)
    return (f"applies; {passed}; workload {best['before'] * 1000:.0f} ms -> "
            f"{best['after'] * 1000:.0f} ms ({best['before'] / best['after']:.2f}x, best of 3)")


def key(program, finding):
    where = finding["locations"][0] if finding["locations"] else {}
    return (program, finding["skill"], where.get("function") or "",
            (finding.get("labels") or {}).get("fingerprint", ""))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("joule")
    ap.add_argument("skills")
    ap.add_argument("--out", default=os.path.join(ROOT, "target", "eval-real"))
    ap.add_argument("--only", help="one program by name")
    ap.add_argument("--no-patches", action="store_true")
    ap.add_argument("--py-spy", default=os.path.join(ROOT, "target", "pyspy-venv", "bin", "py-spy"))
    args = ap.parse_args()
    args.joule = os.path.abspath(args.joule) if os.sep in args.joule else args.joule
    args.skills = os.path.abspath(args.skills)
    args.out = os.path.abspath(args.out)
    os.makedirs(args.out, exist_ok=True)
    with open(JUDGEMENTS, "rb") as f:
        judged = {(j["program"], j["skill"], j["function"], j["fingerprint"]): j
                  for j in tomllib.load(f).get("judgement", [])}
    tally = {}
    true_findings, unjudged, patched = 0, [], []
    for cls in PROGRAMS:
        if args.only and cls.name != args.only:
            continue
        program = cls(args.out, os.path.abspath(args.py_spy))
        source = program.prepare()
        profiles = program.profiles()
        report = run_skills(args.joule, args.skills, source, profiles, program.dir)
        found = [f for f in report["findings"] if f["kind"] == "opportunity"]
        print(f"{program.name} ({program.language}, {program.origin}): {len(profiles)} profiles, "
              f"{len(found)} findings")
        for f in found:
            k = key(program.name, f)
            t = tally.setdefault(f["skill"], {"true": 0, "false": 0})
            j = judged.get(k)
            if j is None:
                unjudged.append(k)
                print(f"  UNJUDGED {f['skill']}: {f['title']}\n           key {k}")
                continue
            verdict = j["verdict"] == "true"
            t["true" if verdict else "false"] += 1
            true_findings += verdict
            print(f"  {'TRUE ' if verdict else 'FALSE'}  {f['skill']}: {f['title']}\n"
                  f"           {j['why']}")
            if verdict and f.get("patch") and hasattr(program, "test") and not args.no_patches:
                result = check_patch(program, f, source, args.out)
                patched.append(result)
                print(f"           patch: {result}")
    print(f"\n{'skill':<28}{'true':>6}{'false':>7}{'precision':>11}")
    for skill, t in sorted(tally.items()):
        n = t["true"] + t["false"]
        p = t["true"] / n if n else float("nan")
        print(f"{skill:<28}{t['true']:>6}{t['false']:>7}{p:>11.2f}")
    judged_n = sum(t["true"] + t["false"] for t in tally.values())
    if judged_n:
        print(f"{'all':<28}{true_findings:>6}{judged_n - true_findings:>7}"
              f"{true_findings / judged_n:>11.2f}")
    print(f"true findings on real code: {true_findings}")
    verified = [r for r in patched if r.startswith("applies;") and " passed" in r]
    print(f"patches verified (apply, tests pass, timed): {len(verified)} of {len(patched)}")
    if unjudged:
        sys.exit(f"eval-real: {len(unjudged)} finding(s) not judged in {JUDGEMENTS}")


if __name__ == "__main__":
    main()
