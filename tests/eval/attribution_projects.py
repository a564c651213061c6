"""The projects `attribution_real.py` evaluates on, one class each: how its history is unpacked,
how a version is built and profiled for real, which of its functions are hot, how a slowdown is
planted at the top of one, and how big it must be. A new project is a new class here and a
bundle under histories/.

- `PythonMarkdown` (Python): py-spy, speedscope, 1000 Hz; hot functions and calls from cProfile.
- `Similar` (Rust, mitsuhiko/similar): a driver built in release with line tables and frame
  pointers, `perf record -g -e cpu-clock` + `perf script`; hot functions from a perf profile,
  calls counted by a build whose planted statement is a counter.
- `GoDiff` (Go, sergi/go-diff): a driver built with the toolchain's defaults, runtime/pprof;
  hot functions from a pprof profile, calls counted the same way.
"""

import ast
import glob
import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def run(*args, **kw):
    """A command's standard output; on failure, its standard error is printed (a build's
    compiler errors say why) before the error is raised."""
    out = subprocess.run(args, capture_output=True, text=True, **kw)
    if out.returncode != 0:
        sys.stderr.write(f"{' '.join(map(str, args))} failed ({out.returncode}):\n"
                         f"{out.stderr[-4000:]}\n")
        raise subprocess.CalledProcessError(out.returncode, args, out.stdout, out.stderr)
    return out.stdout


def git(repo, *args, env=None):
    return run("git", "-C", repo, *args, env=env).strip()


class Project:
    """A history unpacked: `commits`, their `messages`, one source tree per commit (`trees`)."""

    name = ""
    # Shapes of slowdown: name -> statement with `{n}` iterations (indented by `plant`).
    shapes = {}
    profile_suffix = ""

    def __init__(self, out, args):
        self.args = args
        # Absolute: builds run in other directories (and Go wants an absolute GOCACHE).
        self.out = os.path.abspath(os.path.join(out, self.name))
        os.makedirs(self.out, exist_ok=True)
        self.base = os.path.join(self.out, "base")
        if not os.path.isdir(self.base):
            run("git", "clone", "-q", os.path.join(HERE, "histories", self.name, "history.bundle"),
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

    def statement(self, shape, n):
        return self.shapes[shape].replace("{n}", str(n))

    def marker(self, shape):
        """Text of the planted statement's first line that a revert patch must remove."""
        return self.shapes[shape].splitlines()[0][:12]

    def same_function(self, frame, function):
        """Whether a profile frame (a series' function) is `function` or runs inside it."""
        return anonymous_free(frame) == function

    def has_baseline(self, function, version):
        """Whether the function was already there, with a cost of its own, before the version
        its slowdown lands in: a change is placed with `min-segment` points (two deploys) each
        side, so a slowdown in a function new in the deploy before cannot be told from the
        function's arrival. Checked where a profile of each version is at hand (the compiled
        projects'); Python's draws are left as they were."""
        return True

    def workload_key(self):
        """What the profiles of a tree depend on besides the tree (the workload's or the
        driver's source), so that profiles cached for clean versions are taken again when it
        changes."""
        return ""

    def date(self, path, unix_seconds):
        """Makes the profile at `path` say it was taken at `unix_seconds` (its file name says
        it already; formats that record their own time need it rewritten)."""

    # Per language: hot_functions(version) -> [(function, file, share)], plant(source,
    # function, statement) -> source or None, iterations(function, file, share, shape, rise,
    # version) -> int or None, profile(tree, path, seconds).


def anonymous_free(name):
    """A frame's name with anonymous trailing parts dropped: `f.<locals>.<listcomp>` -> `f`,
    `m::f::{{closure}}` -> `m::f`, `pkg.(*T).M.func1` -> `pkg.(*T).M`."""
    name = re.sub(r"::h[0-9a-f]{16}$", "", name)
    while True:
        shorter = re.sub(r"(::\{\{closure\}\}|\.func\d+(\.\d+)*|\.<[^.]*>)$", "", name)
        if shorter == name:
            return name
        name = shorter


# --- Python: Python-Markdown ----------------------------------------------------------------

# By module path: the short names need the package installed (its entry points).
EXTENSIONS = [f"markdown.extensions.{e}" for e in
              ("abbr", "attr_list", "def_list", "fenced_code", "footnotes", "md_in_html", "tables",
               "toc", "admonition", "sane_lists", "smarty", "wikilinks", "meta", "nl2br")]

WORKLOAD = r'''
import glob, sys, time
tree, docs, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
sys.path.insert(0, tree)
import markdown
texts = [open(p, encoding="utf-8").read() for p in sorted(glob.glob(docs + "/**/*.md", recursive=True))]
# CPU time, not wall time: on a loaded machine a wall-clock budget runs fewer rounds, the fixed
# import and set-up take more of each profile, and a planted rise fades in the shares.
end = time.process_time() + seconds
while time.process_time() < end:
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

# Python's shapes: (statement, the body timed for its cost per iteration).
PY_SHAPES = {
    "list": ("_warm = [str(_i) for _i in range({n})]", "[str(_i) for _i in range({n})]"),
    "sorted": ("_order = sorted(str(_i) for _i in range({n}))",
               "sorted(str(_i) for _i in range({n}))"),
    "loop": ("_acc = 0\nfor _i in range({n}):\n    _acc += _i * _i",
             "_acc = 0\nfor _i in range({n}):\n    _acc += _i * _i"),
}


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


class PythonMarkdown(Project):
    """Python-Markdown 3.4 .. 3.8.2: the workload converts Markdown's own documentation (from the
    first release) with fourteen extensions, profiled with py-spy (speedscope, 1000 Hz)."""

    name = "python-markdown"
    shapes = {k: v[0] for k, v in PY_SHAPES.items()}
    profile_suffix = ".speedscope.json"

    def __init__(self, out, args):
        super().__init__(out, args)
        self.docs = os.path.join(self.trees[0], "docs")
        self.workload = os.path.join(self.out, "workload.py")
        with open(self.workload, "w") as f:
            f.write(WORKLOAD)
        self.cprofile = os.path.join(self.out, "cprofile.py")
        with open(self.cprofile, "w") as f:
            f.write(CPROFILE)
        # The workload's duration per round of documents, for sizing the slowdowns.
        # CPU seconds of the child, as the workload budgets them.
        t0 = os.times().children_user + os.times().children_system
        run(sys.executable, "-c", WORKLOAD.replace("while time.process_time() < end:",
                                                     "for _ in range(1):"),
            self.trees[0], self.docs, "0")
        self.seconds_per_round = os.times().children_user + os.times().children_system - t0
        self.calls = {}

    def marker(self, shape):
        return self.shapes[shape].splitlines()[0].split("{")[0].strip()[:6]

    def workload_key(self):
        return hashlib.sha256(WORKLOAD.encode()).hexdigest()[:12]

    def hot_functions(self, version):
        """(qualname, file relative to the tree, share of the workload) of the functions the
        workload spends time in, from cProfile on one release."""
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
                    if "<" in q or calls < 20:
                        continue
                    self.calls[(version, q)] = calls
                    out.append((q, rel, share))
        return out

    def plant(self, source, qualname, statement):
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

    def iterations(self, function, rel, share, shape, rise, version):
        # cProfile's share is of its own (slowed) run; the cost per call is what matters.
        calls = self.calls[(version, function)]
        per_call = rise * share * self.seconds_per_round / (calls / 3)  # cProfile ran 3 rounds
        body = PY_SHAPES[shape][1]
        n = 2000
        code = compile(body.format(n=n), "<shape>", "exec")
        t0 = time.process_time()
        for _ in range(50):
            exec(code, {})
        per_iteration = (time.process_time() - t0) / (50 * n)
        return max(1, round(per_call / per_iteration))

    def profile(self, tree, path, seconds):
        run(self.args.pyspy, "record", "-r", "1000", "-f", "speedscope", "-o", path, "--",
            sys.executable, self.workload, tree, self.docs, str(seconds))


# --- Compiled languages: a driver built per version, calls counted by a counting build -------

class Compiled(Project):
    """A library with a driver program (histories/<name>/driver.*) built against each version.
    Subclasses say how to build, profile, and find and plant a function."""

    # The statement that counts calls instead of slowing them (the driver prints the count).
    counter = ""
    hot_seconds = 3.0

    def __init__(self, out, args):
        super().__init__(out, args)
        self.sizes = {}

    def workload_key(self):
        driver = open(os.path.join(HERE, "histories", self.name, self.driver), "rb").read()
        return hashlib.sha256(driver).hexdigest()[:12]

    def executable(self, tree, counting=False):
        """The driver built against `tree` (cached beside it, by the driver's contents)."""
        binary = "{}.{}{}.bin".format(tree.rstrip("/"), self.workload_key()[:8],
                                      ".count" if counting else "")
        if not os.path.exists(binary):
            self.build(tree, binary, counting)
        return binary

    def rounds(self, binary, count):
        """CPU seconds a round of the workload takes with `binary`, and the calls the counting
        build counted per round (0 for other builds)."""
        out = subprocess.run(self.command(binary, 0, count), check=True, capture_output=True,
                             text=True)
        calls = re.search(r"calls (\d+)", out.stderr)
        return float(out.stdout.strip()), (int(calls.group(1)) / count if calls else 0)

    def hot_functions(self, version):
        """(function as the profile names it, file, share of the profile) of the library's
        functions the workload spends 3-30% of its time in, on one version (a profile of it, read
        with `joule profile top`), that can be found in their source and that are still frames
        of their own in every later version's profile (a compiler may inline a function a later
        commit made smaller or called differently, and its cost then shows in its callers)."""
        later = [self.frames(v) for v in range(version, len(self.trees))]
        out = []
        for function, share in self.frames(version).items():
            if not 0.03 <= share <= 0.3 or anonymous_free(function) != function:
                continue
            if any(frames.get(function, 0) < 0.005 for frames in later):
                continue
            found = self.locate(self.trees[version], function)
            if found is not None:
                out.append((function, found, share))
        return out

    def has_baseline(self, function, version):
        return all(self.frames(v).get(function, 0) >= 0.005
                   for v in range(max(0, version - 2), version))

    def frames(self, version):
        """Function -> its share of a profile of one clean version (cached)."""
        cache = os.path.join(self.out, f"hot-{version}.json")
        if not os.path.exists(cache):
            path = os.path.join(self.out, f"hot-{version}{self.profile_suffix}")
            self.profile(self.trees[version], path, self.hot_seconds)
            top = json.loads(run(self.args.joule, "profile", "top", path, "--cum", "--json",
                                 "-n", "100000"))
            rows = [(f["function"], f["cum"] / top["total"]) for f in top["functions"]]
            json.dump(rows, open(cache, "w"))
            os.remove(path)
        return dict(json.load(open(cache)))

    def plant(self, source, function, statement):
        line = self.body_line(source, function)
        if line is None:
            return None
        lines = source.splitlines(keepends=True)
        indent = re.match(r"[ \t]*", lines[line]).group(0) + self.indent
        text = "".join(indent + s + "\n" for s in statement.splitlines())
        return "".join(lines[:line + 1]) + text + "".join(lines[line + 1:])

    def iterations(self, function, rel, share, shape, rise, version):
        """Iterations of `shape` that cost `rise` of the function's time: the function's share
        of a round (from the profile), the round's seconds, the calls a round makes (counted by a
        build of this version with a counter planted where the slowdown goes), and the cost of an
        iteration (timed alone). None when a whole number of iterations cannot cost 20-60% (a
        function too cheap for even one)."""
        key = (version, function)
        if key not in self.sizes:
            tree = os.path.join(self.out, "counting", str(version))
            if os.path.exists(tree):
                shutil.rmtree(tree)
            for stale in glob.glob(tree + ".*.bin"):
                os.remove(stale)
            shutil.copytree(self.trees[version], tree)
            path = os.path.join(tree, rel)
            counted = self.plant(open(path).read(), function, self.counter) + self.counter_decl
            with open(path, "w") as f:
                f.write(counted)
            clean = self.executable(self.trees[version])
            once, _ = self.rounds(clean, 1)
            count = max(3, round(1.0 / max(once, 1e-3)))
            # The fastest of three timings, as the shape's (a busy machine only slows them).
            seconds = min(self.rounds(clean, count)[0] for _ in range(3))
            _, calls = self.rounds(self.executable(tree, counting=True), count)
            self.sizes[key] = (seconds, calls)
        seconds, calls = self.sizes[key]
        if calls <= 0:
            return None
        n = rise * share * seconds / calls / self.per_iteration(shape)
        k = max(1, round(n))
        return k if 0.2 <= rise * k / n <= 0.6 else None


# Timing a shape alone: CPU seconds of one call, the best of ten batches of 0.05 s or more (a
# busy machine preempts; the fastest batch is the one it did not).
RUST_BENCH_MAIN = """
fn cpu() -> f64 {
    let s = std::fs::read_to_string("/proc/self/schedstat").unwrap();
    s.split_whitespace().next().unwrap().parse::<f64>().unwrap() / 1e9
}
fn main() {
    let mut best = f64::MAX;
    for _ in 0..10 {
        let (start, mut calls) = (cpu(), 0u32);
        while cpu() - start < 0.05 {
            for _ in 0..10 { shape(); }
            calls += 10;
        }
        best = best.min((cpu() - start) / calls as f64);
    }
    println!("{best}");
}
"""

GO_BENCH_MAIN = """
func cpu() float64 {
	var u syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &u)
	return time.Duration(u.Utime.Nano() + u.Stime.Nano()).Seconds()
}

func main() {
	best := 1e9
	for b := 0; b < 10; b++ {
		start, calls := cpu(), 0
		for cpu()-start < 0.05 {
			for i := 0; i < 10; i++ {
				shape()
			}
			calls += 10
		}
		if t := (cpu() - start) / float64(calls); t < best {
			best = t
		}
	}
	fmt.Println(best)
}
"""


def demangled_parts(name):
    """A Rust frame's path as (module parts, type, trait, function): `similar::algorithms::
    myers::conquer` -> (['algorithms', 'myers'], None, None, 'conquer'); `<similar::a::Compact<
    O,N,D> as similar::a::hook::DiffHook>::finish` -> (['a'], 'Compact', 'DiffHook', 'finish');
    `<str as similar::text::abstraction::DiffableStr>::tokenize_lines` -> (['text',
    'abstraction'], 'str', 'DiffableStr', 'tokenize_lines'). None outside the crate."""
    name = re.sub(r"::h[0-9a-f]{16}$", "", name)

    def plain(path):
        depth, out = 0, ""
        for c in path:
            if c == "<":
                depth += 1
            elif c == ">":
                depth -= 1
            elif depth == 0:
                out += c
        return out.split("::")

    if name.startswith("<"):
        depth = 0
        for i, c in enumerate(name):
            depth += {"<": 1, ">": -1}.get(c, 0)
            if depth == 0:
                break
        inner, rest = name[1:i], name[i + 1:]
        if not rest.startswith("::") or " as " not in inner:
            return None
        method = rest[2:]
        self_type, trait = inner.split(" as ", 1)
        self_parts, trait_parts = plain(self_type), plain(trait)
        if self_parts[0] == "similar":
            return self_parts[1:-1], self_parts[-1], trait_parts[-1], method
        if trait_parts[0] == "similar":
            return trait_parts[1:-1], self_parts[-1], trait_parts[-1], method
        return None
    parts = plain(name)
    if parts[0] != "similar" or len(parts) < 2:
        return None
    if len(parts) >= 3 and parts[-2][:1].isupper():
        return parts[1:-2], parts[-2], None, parts[-1]
    return parts[1:-1], None, None, parts[-1]


class Similar(Compiled):
    """mitsuhiko/similar, 14 commits: the driver diffs the first commit's sources against the
    last's (lines with three algorithms, words, characters, unified and inline output), built
    in release with line tables and frame pointers, profiled with `perf record -g -e cpu-clock
    -F 999` + `perf script`, gzipped."""

    name = "similar"
    driver = "driver.rs"
    profile_suffix = ".perf.gz"
    indent = "    "
    shapes = {
        "alloc": "let _warm: ::std::vec::Vec<::std::string::String> = (0..{n}u32)"
                 ".map(|_i| ::std::string::ToString::to_string(&_i)).collect();\n"
                 "::std::hint::black_box(&_warm);",
        "sort": "let mut _order: ::std::vec::Vec<u64> = (0..{n}u64)"
                ".map(|_i| _i.wrapping_mul(0x9E37_79B9_7F4A_7C15)).collect();\n"
                "_order.sort_unstable();\n::std::hint::black_box(&_order);",
        "loop": "let mut _acc = 0u64;\nfor _i in 0..{n}u64 {\n"
                "    _acc = _acc.wrapping_add(::std::hint::black_box(_i * _i));\n}\n"
                "::std::hint::black_box(_acc);",
    }
    counter = ("unsafe extern \"Rust\" {\n    static JOULE_EVAL_CALLS: "
               "::std::sync::atomic::AtomicU64;\n}\n"
               "unsafe { JOULE_EVAL_CALLS.fetch_add(1, ::std::sync::atomic::Ordering::Relaxed) };")
    counter_decl = ""
    _per_iteration = {}

    def build(self, tree, binary, counting):
        crate = os.path.join(self.out, "driver")
        os.makedirs(os.path.join(crate, "src"), exist_ok=True)
        shutil.copy(os.path.join(HERE, "histories", self.name, "driver.rs"),
                    os.path.join(crate, "src", "main.rs"))
        with open(os.path.join(crate, "Cargo.toml"), "w") as f:
            f.write('[package]\nname = "similar-workload"\nversion = "0.0.0"\nedition = "2021"\n'
                    'publish = false\n\n[dependencies]\n'
                    f'similar = {{ path = "{os.path.abspath(tree)}", features = ["inline"] }}\n\n'
                    '[profile.release]\ndebug = "line-tables-only"\n\n[workspace]\n')
        env = dict(os.environ, RUSTFLAGS="-C force-frame-pointers=yes",
                   CARGO_TARGET_DIR=os.path.join(self.out, "cargo-target"))
        run("cargo", "build", "--release", "-q", "--manifest-path",
            os.path.join(crate, "Cargo.toml"), env=env)
        shutil.copy(os.path.join(self.out, "cargo-target", "release", "similar-workload"), binary)

    def command(self, binary, seconds, rounds=None):
        old, new = (os.path.join(self.trees[i], "src") for i in (0, -1))
        return [binary, old, new, str(seconds)] + ([str(rounds)] if rounds else [])

    def profile(self, tree, path, seconds):
        binary = self.executable(tree)
        data = path + ".data"
        run("perf", "record", "-q", "-g", "-e", "cpu-clock", "-F", "999", "-o", data, "--",
            *self.command(binary, seconds))
        text = subprocess.run(["perf", "script", "-i", data], check=True, capture_output=True)
        os.remove(data)
        with gzip.open(path, "wb") as f:
            f.write(text.stdout)

    def locate(self, tree, function):
        """The file (relative to the tree) holding the function, when it is found once."""
        parts = demangled_parts(function)
        if parts is None or any("{" in p for p in parts[0]):
            return None
        modules = parts[0]
        for rel in ([os.path.join("src", *modules) + ".rs",
                     os.path.join("src", *modules, "mod.rs")] if modules else ["src/lib.rs"]):
            path = os.path.join(tree, rel)
            if os.path.exists(path) and self.body_line(open(path).read(), function) is not None:
                return rel
        return None

    def body_line(self, source, function):
        """Index of the line that opens the function's body (ends with `{`), when the function
        is defined once in `source` and is not a `const fn`."""
        parts = demangled_parts(function)
        if parts is None:
            return None
        _, type_, trait, fn = parts
        lines = source.splitlines()
        signature = re.compile(r"^(\s*)(pub(\([^)]*\))? )?(default )?((async|unsafe) )*fn "
                               + re.escape(fn) + r"\b")
        found = []
        if type_ is None:
            found = [i for i, l in enumerate(lines) if signature.match(l) and not l[0].isspace()]
        else:
            for i, l in enumerate(lines):
                if not (l.startswith("impl") and re.search(r"\b" + re.escape(type_) + r"\b", l)):
                    continue
                if trait and not re.search(r"\b" + re.escape(trait) + r"\b", l):
                    continue
                if not trait and re.search(r"\bfor\b", l):
                    continue
                for j in range(i + 1, len(lines)):
                    if lines[j].startswith("}"):
                        break
                    m = signature.match(lines[j])
                    if m and m.group(1) == "    ":
                        found.append(j)
        if len(found) != 1:
            return None
        for j in range(found[0], min(found[0] + 20, len(lines))):
            text = lines[j].split("//")[0].rstrip()
            if "const fn" in text:
                return None
            if text.endswith("{"):
                return j
            if text.endswith("}") or text.endswith(";"):
                return None
        return None

    def per_iteration(self, shape):
        """Seconds one iteration of a shape costs, timed alone (rustc -O, frame pointers)."""
        if shape not in self._per_iteration:
            bench = os.path.join(self.out, f"shape-{shape}")
            n = 2000
            with open(bench + ".rs", "w") as f:
                f.write("#[inline(never)]\nfn shape() {\n" + self.statement(shape, n) + "\n}\n"
                        + RUST_BENCH_MAIN)
            run("rustc", "-O", "--edition", "2021", "-C", "force-frame-pointers=yes", "-o", bench,
                bench + ".rs")
            self._per_iteration[shape] = float(run(bench).strip()) / n
        return self._per_iteration[shape]


class GoDiff(Compiled):
    """sergi/go-diff's diffmatchpatch, 15 commits: the driver diffs, cleans up, patches and
    matches the package's speed-test texts (from the first commit), built with the toolchain's
    defaults, profiled with runtime/pprof (100 Hz, so longer profiles)."""

    name = "go-diff"
    driver = "driver.go"
    profile_suffix = ".pb.gz"
    indent = "\t"
    module = "github.com/sergi/go-diff"
    package = "github.com/sergi/go-diff/diffmatchpatch"
    hot_seconds = 6.0
    shapes = {
        "alloc": "_warm := make([]*[64]byte, 0, 8)\nfor _i := 0; _i < {n}; _i++ {\n"
                 "\t_warm = append(_warm, new([64]byte))\n}\n"
                 "if len(_warm) == -1 {\n\tpanic(_warm)\n}",
        "copy": "_order := make([]int, {n})\nfor _i := range _order {\n"
                "\t_order[_i] = (_i * 7919) % {n}\n}\n_copied := append([]int(nil), _order...)\n"
                "if len(_copied) == -1 {\n\tpanic(_copied)\n}",
        "loop": "_acc := 0\nfor _i := 0; _i < {n}; _i++ {\n\t_acc += _i * _i\n}\n"
                "if _acc == -1 {\n\tpanic(_acc)\n}",
    }
    counter = "JouleEvalCalls++"
    counter_decl = "\n// JouleEvalCalls counts calls for the evaluation's sizing build.\nvar JouleEvalCalls int64\n"
    _per_iteration = {}

    def build(self, tree, binary, counting):
        work = os.path.join(self.out, "gobuild")
        if os.path.exists(work):
            shutil.rmtree(work)
        os.makedirs(os.path.join(work, "cmd", "driver"))
        shutil.copytree(os.path.join(tree, "diffmatchpatch"), os.path.join(work, "diffmatchpatch"))
        with open(os.path.join(work, "go.mod"), "w") as f:
            f.write(f"module {self.module}\n\ngo 1.13\n")
        shutil.copy(os.path.join(HERE, "histories", self.name, "driver.go"),
                    os.path.join(work, "cmd", "driver", "main.go"))
        if counting:
            with open(os.path.join(work, "cmd", "driver", "count.go"), "w") as f:
                f.write(f'package main\n\nimport "{self.package}"\n\n'
                        "func init() { countedCalls = func() int64 "
                        "{ return diffmatchpatch.JouleEvalCalls } }\n")
        env = dict(os.environ, GOFLAGS="-mod=mod", GOPROXY="off", GO111MODULE="on",
                   GOCACHE=os.path.join(self.out, "gocache"))
        run("go", "build", "-o", os.path.abspath(binary), "./cmd/driver", cwd=work, env=env)

    def command(self, binary, seconds, rounds=None, profile="-"):
        data = os.path.join(self.trees[0], "testdata")
        return [binary, data, str(seconds), profile] + ([str(rounds)] if rounds else [])

    def profile(self, tree, path, seconds):
        binary = self.executable(tree)
        run(*self.command(binary, seconds, profile=path))

    def date(self, path, unix_seconds):
        dated_pprof(path, unix_seconds)

    def locate(self, tree, function):
        folder = os.path.join(tree, "diffmatchpatch")
        hits = [os.path.join("diffmatchpatch", f) for f in sorted(os.listdir(folder))
                if f.endswith(".go") and not f.endswith("_test.go")
                and self.body_line(open(os.path.join(folder, f)).read(), function) is not None]
        return hits[0] if len(hits) == 1 else None

    def body_line(self, source, function):
        if not function.startswith(self.package + "."):
            return None
        name = function[len(self.package) + 1:]
        m = re.fullmatch(r"\((\*?)(\w+)\)\.(\w+)|(\w+)\.(\w+)|(\w+)", name)
        if m is None:
            return None
        if m.group(3):
            head = r"func \(\w+ " + re.escape(m.group(1)) + m.group(2) + r"\) " + m.group(3)
        elif m.group(5):
            head = r"func \(\w+ " + m.group(4) + r"\) " + m.group(5)
        else:
            head = r"func " + m.group(6)
        lines = source.splitlines()
        found = [i for i, l in enumerate(lines) if re.match(head + r"\(", l)]
        if len(found) != 1:
            return None
        for j in range(found[0], min(found[0] + 20, len(lines))):
            text = lines[j].split("//")[0].rstrip()
            if text.endswith("{"):
                return j
            if text.endswith("}"):
                return None
        return None

    def per_iteration(self, shape):
        if shape not in self._per_iteration:
            bench = os.path.join(self.out, f"shape-{shape}")
            os.makedirs(bench, exist_ok=True)
            n = 2000
            body = "\n".join("\t" + l for l in self.statement(shape, n).splitlines())
            with open(os.path.join(bench, "main.go"), "w") as f:
                f.write('package main\n\nimport (\n\t"fmt"\n\t"syscall"\n\t"time"\n)\n\n'
                        "//go:noinline\nfunc shape() {\n" + body + "\n}\n" + GO_BENCH_MAIN)
            env = dict(os.environ, GOCACHE=os.path.join(self.out, "gocache"), GO111MODULE="off")
            out = run("go", "run", os.path.join(bench, "main.go"), env=env)
            self._per_iteration[shape] = float(out.strip()) / n
        return self._per_iteration[shape]


def dated_pprof(path, unix_seconds):
    """Rewrites a gzipped pprof profile's own time (field 9, `time_nanos`) to `unix_seconds`:
    joule takes a profile's recorded time before the one in its file name, and the deploys are
    simulated days apart."""
    data = gzip.open(path).read()
    out, i = bytearray(), 0

    def varint(at):
        value, shift = 0, 0
        while True:
            b = data[at]
            value |= (b & 0x7F) << shift
            at += 1
            shift += 7
            if b < 0x80:
                return value, at

    def encode(value):
        b = bytearray()
        while True:
            low = value & 0x7F
            value >>= 7
            if value:
                b.append(low | 0x80)
            else:
                b.append(low)
                return bytes(b)

    while i < len(data):
        start = i
        key, i = varint(i)
        wire = key & 7
        if wire == 0:
            value, i = varint(i)
            if key >> 3 == 9:
                out += encode(key) + encode(unix_seconds * 1_000_000_000)
                continue
        elif wire == 1:
            i += 8
        elif wire == 2:
            length, i = varint(i)
            i += length
        elif wire == 5:
            i += 4
        else:
            raise ValueError(f"{path}: wire type {wire}")
        out += data[start:i]
    with gzip.open(path, "wb") as f:
        f.write(bytes(out))


PROJECTS = {p.name: p for p in (PythonMarkdown, Similar, GoDiff)}
