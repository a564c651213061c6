"""`make eval-capture`: the offense skills on the same programs captured three ways, to check that
a plain frame-pointer capture read as perf.data finds what a DWARF capture finds.

For each native corpus case profiled with perf (`prices` in Rust, `cpp-buckets` and
`cpp-allowlist` in C++, `c-slugs` and `c-stopwords` in C), the program is built as the case
builds it (release, frame pointers, line tables) and run under perf three times:

- `fp-script`: `perf record -g` (frame pointers), read as `perf script` text: what perf itself
  names, one frame per real call;
- `fp-data`: the same kind of capture, the `perf.data` file read by Joule, which symbolizes it
  from the binary (inlined calls and lines);
- `dwarf-script`: `perf record --call-graph dwarf,65528`, read as `perf script` text: the
  unwinder sees every frame, at hundreds of times the file size.

Each profile goes through `joule run` with the offense skills and the case's source, and the
case's expected findings (skill, file, line) are looked for; a case counts as found when every
one is. Prints, per case and capture, how many were found and the size of the perf.data perf
wrote.

Usage: python3 tests/eval/capture.py JOULE SKILL_DIR [--out DIR]
"""

import argparse
import gzip
import json
import os
import subprocess
import sys

from offense import ROOT, SKILLS, cases, matches

# The skills each run names are the ones evaluated: the skills built into joule stay out.
os.environ["JOULE_NO_BUILTIN_SKILLS"] = "1"

CAPTURES = {
    "fp-script": ["-g"],
    "fp-data": ["-g"],
    "dwarf-script": ["--call-graph", "dwarf,65528"],
}


def build(name, case, out):
    """The case's program built as `make offense-profiles` builds it, and its arguments."""
    if name == "prices":
        target = os.path.join(out, "frame-pointers")
        env = dict(os.environ, RUSTFLAGS="-C force-frame-pointers=yes", CARGO_TARGET_DIR=target)
        for v in ("MAKEFLAGS", "MFLAGS", "CARGO_MAKEFLAGS"):
            env.pop(v, None)
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "corpus-prices"], cwd=ROOT,
                       env=env, check=True)
        return [os.path.join(target, "release", "corpus-prices"), "--iterations", "10"], ROOT
    if name == "cpp-buckets":
        subprocess.run(["make", "-s", "-f", "build.mk", "bench"], cwd=case, check=True)
        return ["./bench", "--iterations", "15"], case
    if name == "cpp-allowlist":
        subprocess.run(["make", "-s", "-f", "build.mk", "bench"], cwd=case, check=True)
        return ["./bench", "--iterations", "200"], case
    if name == "c-slugs":
        subprocess.run(["make", "-s", "-f", "build.mk", "bench"], cwd=case, check=True)
        return ["./bench", "--iterations", "3"], case
    if name == "c-stopwords":
        subprocess.run(["make", "-s", "-f", "build.mk", "bench"], cwd=case, check=True)
        return ["./bench", "--iterations", "5"], case
    return None, None


# The cases built and captured here (build() knows how).
NATIVE = ("prices", "cpp-buckets", "cpp-allowlist", "c-slugs", "c-stopwords")


def capture(kind, command, cwd, out):
    data = os.path.join(out, f"{kind}.perf.data")
    subprocess.run(["perf", "record", "-q", "-e", "cpu-clock", "-F", "999", *CAPTURES[kind],
                    "-o", data, "--", *command], cwd=cwd, check=True, capture_output=True)
    if kind == "fp-data":
        return data
    text = subprocess.run(["perf", "script", "-i", data], capture_output=True, check=True).stdout
    path = os.path.join(out, f"{kind}.perf.txt.gz")
    with gzip.open(path, "wb") as f:
        f.write(text)
    return path


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("joule")
    parser.add_argument("skills")
    parser.add_argument("--out", default=os.path.join(ROOT, "target", "eval-capture"))
    args = parser.parse_args()
    joule = os.path.abspath(args.joule)
    found = {k: 0 for k in CAPTURES}
    total = 0
    for group, name, case, expect in cases():
        if group != "corpus" or name not in NATIVE:
            continue
        out = os.path.abspath(os.path.join(args.out, name))
        os.makedirs(out, exist_ok=True)
        command, cwd = build(name, case, out)
        if command is None:
            print(f"{name}: no build recipe here; skipped")
            continue
        total += 1
        source = os.path.normpath(os.path.join(case, expect.get("source", ".")))
        for kind in CAPTURES:
            profile = capture(kind, command, cwd, out)
            run = [joule, "run", "--format", "json", "--profile", profile,
                   "--source", f"src={source}"]
            for s in SKILLS:
                run += ["--skills", os.path.join(os.path.abspath(args.skills), f"{s}.wasm")]
            done = subprocess.run(run, capture_output=True, text=True)
            if done.returncode not in (0, 3):
                sys.exit(f"joule failed on {name} {kind}: {done.stderr}")
            report = json.loads(done.stdout)
            wanted = expect["finding"]
            hits = sum(any(matches(f, w) for f in report["findings"]) for w in wanted)
            found[kind] += hits == len(wanted)
            size = os.path.getsize(os.path.join(out, f"{kind}.perf.data"))
            print(f"{name:13} {kind:13} expected findings found {hits}/{len(wanted)}  "
                  f"perf.data {size / 1e6:8.2f} MB")
        # The binary a build.mk made in the case's directory is not the case's.
        if cwd == case and os.path.exists(os.path.join(case, "bench")):
            os.remove(os.path.join(case, "bench"))
    print()
    for kind in CAPTURES:
        print(f"{kind:13} found {found[kind]}/{total}")
    if found["fp-data"] < found["dwarf-script"]:
        print("frame-pointer perf.data finds less than DWARF: NOT met")
    else:
        print("frame-pointer perf.data finds as often as DWARF: met")


if __name__ == "__main__":
    main()
