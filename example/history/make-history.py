#!/usr/bin/env python3
"""Rebuilds logscan.bundle: logscan's history, five commits whose last is example/logscan.

Usage: make-history.py [REPO_DIR]   (then: git -C REPO_DIR bundle create logscan.bundle HEAD main)

Each earlier state is the one after it with one change undone: the report line that says how
many lines were parsed; the one regex that matches a whole line, back to the split parser (the
regressing commit); ties in the top lists broken by key; numeric ids folded to {id}. The
repository builds on its own (its Cargo.toml does not inherit from Joule's workspace) with the
Cargo.lock of the current bundle. After changing the history, re-capture its profiles with
`example/history/capture`.
"""
import os, shutil, subprocess, sys, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "..", "logscan")
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", "target", "history", "repo")

def read(rel):
    with open(os.path.join(SRC, rel)) as f:
        return f.read()

def sub(text, old, new):
    assert old in text, old
    return text.replace(old, new, 1)

files = {rel: read(rel) for rel in ["src/main.rs", "src/parse.rs", "src/report.rs", "src/synth.rs", "src/capture.rs"]}
# The repository builds on its own (Joule's copy, example/logscan, takes these from the workspace).
files["Cargo.toml"] = sub(sub(sub(sub(read("Cargo.toml"),
    "version.workspace = true", 'version = "0.1.0"'),
    "edition.workspace = true", 'edition = "2024"'),
    "rust-version.workspace = true", 'rust-version = "1.95"'),
    "license.workspace = true", 'license = "Apache-2.0"') + """
# A repository of its own, not a member of any enclosing workspace.
[workspace]

# For capturing profiles: full debug info, so symbols keep their module paths.
[profile.profiling]
inherits = "release"
debug = "limited"
"""
files[".gitignore"] = "/target\n"
with tempfile.TemporaryDirectory() as clone:
    subprocess.run(["git", "-c", "init.defaultBranch=main", "clone", "-q",
                    os.path.join(HERE, "logscan.bundle"), clone], check=True)
    with open(os.path.join(clone, "Cargo.lock")) as f:
        files["Cargo.lock"] = f.read()

S5 = dict(files)
S4 = dict(S5)
S4["src/report.rs"] = sub(S5["src/report.rs"], '''            "{} lines, {} parsed, {} unparsed",
            self.lines, parsed, self.unparsed''', '''            "{} lines, {} unparsed",
            self.lines, self.unparsed''')
S3 = dict(S4)
REGEX_PARSE = S4["src/parse.rs"][S4["src/parse.rs"].index("/// Parses one line of an nginx/Apache"):S4["src/parse.rs"].index("/// Whether a user-agent string")]
SPLIT_PARSE = '''/// Parses one line of an nginx/Apache "combined" log, optionally followed by the request time in seconds.
pub fn parse_line(line: &str) -> Option<Entry> {
    // client ident user [time] "METHOD path PROTOCOL" status bytes "referer" "agent" [secs]
    let mut fields = line.splitn(4, ' ');
    let client = fields.next()?;
    let _ident = fields.next()?;
    let user = fields.next()?;
    let rest = fields.next()?.strip_prefix('[')?;
    let (_time, rest) = rest.split_once("] \\"")?;
    let (request, rest) = rest.split_once("\\" ")?;
    let path = request.split(' ').nth(1)?;
    let (status, rest) = rest.split_once(' ')?;
    let (bytes, rest) = rest.split_once(' ')?;
    let rest = rest.strip_prefix('"')?;
    let (_referer, rest) = rest.split_once("\\" \\"")?;
    let (agent, rest) = rest.split_once('"')?;
    let latency_ms = match rest.strip_prefix(' ') {
        Some(secs) => Some(secs.parse::<f64>().ok()? * 1000.0),
        None if rest.is_empty() => None,
        None => return None,
    };
    Some(Entry {
        client: client.to_string(),
        user: user.to_string(),
        path: path.to_string(),
        status: status.parse().ok().filter(|s| (100..1000).contains(s))?,
        bytes: bytes.parse().unwrap_or(0),
        user_agent: agent.to_string(),
        latency_ms,
    })
}

'''
S3["src/parse.rs"] = sub(S4["src/parse.rs"], REGEX_PARSE, SPLIT_PARSE)
S2 = dict(S3)
S2["src/report.rs"] = sub(S3["src/report.rs"], "counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));", "counts.sort_by(|a, b| b.1.cmp(&a.1));")
S2["src/report.rs"] = sub(S2["src/report.rs"], "/// The `n` largest counts, ties broken by key.", "/// The `n` largest counts.")
S1 = dict(S2)
S1["src/parse.rs"] = sub(S2["src/parse.rs"], '''        let segment = if segment.bytes().all(|b| b.is_ascii_digit()) {
            "{id}"
        } else {
            segment
        };
''', "")
S1["src/parse.rs"] = sub(S1["src/parse.rs"], "/// Canonical form of a request path: no query string, no empty segments, numeric ids as `{id}`.", "/// Canonical form of a request path: no query string, no empty segments.")
S1["src/parse.rs"] = sub(S1["src/parse.rs"], '''            "/api/v1/orders/{id}/items"''', '''            "/api/v1/orders/17/items"''')

commits = [
    (S1, "logscan: summarise combined-format access logs", "Ada Lovelace", "2026-11-20T09:12:00Z"),
    (S2, "paths: fold numeric ids to {id} so /users/42 and /users/43 group", "Grace Hopper", "2026-11-21T14:40:00Z"),
    (S3, "report: break ties by key so the top lists are stable", "Ada Lovelace", "2026-11-23T10:05:00Z"),
    (S4, "parse: match the whole line with one regex\n\nThe split parser accepted lines with a malformed request or status field;\none anchored regex with named groups says exactly what a combined line is.", "Linus Pauling", "2026-11-24T16:31:00Z"),
    (S5, "report: say how many lines were parsed", "Grace Hopper", "2026-11-25T11:18:00Z"),
]
if os.path.exists(OUT):
    shutil.rmtree(OUT)
os.makedirs(OUT)
def git(*a, env=None):
    subprocess.run(["git", "-C", OUT, *a], check=True, env=env, capture_output=True)
git("init", "-q", "-b", "main")
for state, message, author, date in commits:
    for rel, text in state.items():
        os.makedirs(os.path.dirname(os.path.join(OUT, rel)), exist_ok=True)
        with open(os.path.join(OUT, rel), "w") as f:
            f.write(text)
    email = author.split()[0].lower() + "@logscan.invalid"
    env = dict(os.environ, GIT_AUTHOR_NAME=author, GIT_AUTHOR_EMAIL=email, GIT_COMMITTER_NAME=author,
               GIT_COMMITTER_EMAIL=email, GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date)
    git("add", "-A", env=env)
    git("commit", "-q", "-m", message, env=env)
print("ok")
