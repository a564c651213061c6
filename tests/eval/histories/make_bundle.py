"""Rebuilds one of the real histories under tests/eval/histories/ as a git bundle: one commit
per released version of an open-source project on its package registry, or per real commit of
its own repository, oldest first, each with the project's own files of that version (the
package, its licence, what the workload reads), dated a day apart.

    python3 tests/eval/histories/make_bundle.py python-markdown DOWNLOADS_DIR
    python3 tests/eval/histories/make_bundle.py similar CLONE_OF_THE_REPOSITORY
    python3 tests/eval/histories/make_bundle.py go-diff CLONE_OF_THE_REPOSITORY

DOWNLOADS_DIR holds the registry's archives (`pip download --no-deps --no-binary :all:
markdown==3.4 ...`); a clone is `git clone --bare https://github.com/OWNER/NAME` (all its
history). The versions or commits and what to keep of each are in PROJECTS below. A commit
taken from a repository keeps its author and its message's subject; the commits of a slice are
consecutive: each is the next one on a path through the project's history that changes the
files kept (merges of a pull request stand for the pull request's commits where those are
not taken one by one).
"""

import fnmatch
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile

PROJECTS = {
    "python-markdown": {
        "archive": lambda v: [f"Markdown-{v}.tar.gz", f"markdown-{v}.tar.gz"],
        "versions": ["3.4", "3.4.1", "3.4.2", "3.4.3", "3.4.4", "3.5", "3.5.1", "3.5.2", "3.6",
                     "3.7", "3.8", "3.8.1", "3.8.2"],
        "keep": ["markdown", "LICENSE.md", "docs"],
        "author": "Python-Markdown maintainers <python.markdown@gmail.com>",
        "message": lambda v: f"Markdown {v}",
    },
    # mitsuhiko/similar, the first-parent commits that change `src/` from d154c8b (3.1.0's
    # cursor fix) to a56a53f (three-way merging): fixes and a run of performance work on the
    # diff algorithms. The crate has no dependencies at its default features; its examples and
    # benchmarks are kept because its manifest names them.
    "similar": {
        "commits": ["d154c8b", "cfad604", "043c907", "5119534", "d1ea553", "8045323",
                    "c629dff", "1ac1572", "3a5162b", "accea7d", "f16b309", "6301178",
                    "a635843", "a56a53f"],
        "keep": ["src/**.rs", "examples/*.rs", "benches/*.rs", "Cargo.toml", "LICENSE"],
    },
    # sergi/go-diff, the `diffmatchpatch` package (standard library only) from 2017's spelling
    # fix through Josh Bleecher Snyder's optimisations (#85, commit by commit) to 2022's shared
    # line hash; the speed-test texts the workload diffs come with it.
    "go-diff": {
        "commits": ["16cb5da", "2fc9cd3", "6cf2633", "a16f115", "6991d24", "258a5e0",
                    "639b52b", "ded6142", "217d392", "dbf098b", "c38fc1a", "df97e07",
                    "f9beae7", "0a651d5", "6dbe13c"],
        "keep": ["diffmatchpatch/*.go", "!*_test.go", "testdata/speedtest1.txt",
                 "testdata/speedtest2.txt", "LICENSE", "APACHE-LICENSE-2.0"],
    },
}

START = 1_735_689_600  # 2025-01-01T00:00:00Z


def git(repo, *args, env=None):
    return subprocess.run(["git", "-C", repo, *args], check=True, capture_output=True,
                          text=True, env=env).stdout.strip()


def from_archives(project, downloads, work):
    """Yields (tree, author, message) per released version, unpacked from the registry's
    archives."""
    for i, version in enumerate(project["versions"]):
        archive = next(os.path.join(downloads, a) for a in project["archive"](version)
                       if os.path.exists(os.path.join(downloads, a)))
        unpacked = os.path.join(work, f"v{i}")
        with tarfile.open(archive) as tar:
            tar.extractall(unpacked, filter="data")
        (top,) = os.listdir(unpacked)
        tree = os.path.join(work, f"t{i}")
        os.makedirs(tree)
        for keep in project["keep"]:
            source = os.path.join(unpacked, top, keep)
            if os.path.isdir(source):
                shutil.copytree(source, os.path.join(tree, keep))
            elif os.path.exists(source):
                shutil.copy(source, os.path.join(tree, keep))
        yield tree, project["author"], project["message"](version)


def kept(path, patterns):
    """Whether a repository path is kept: it matches a pattern (`src/**.rs` reaches into
    folders) and no `!pattern` (matched against the file's name)."""
    name = path.rsplit("/", 1)[-1]
    if any(p.startswith("!") and fnmatch.fnmatch(name, p[1:]) for p in patterns):
        return False
    return any(fnmatch.fnmatch(path, p.replace("**", "*")) if "**" in p
               else fnmatch.fnmatch(path, p) and path.count("/") == p.count("/")
               for p in patterns if not p.startswith("!"))


def from_commits(project, clone, work):
    """Yields (tree, author, message) per commit of the slice, read from a clone of the
    project's repository."""
    for i, commit in enumerate(project["commits"]):
        tree = os.path.join(work, f"t{i}")
        os.makedirs(tree)
        paths = git(clone, "ls-tree", "-r", "--name-only", commit).splitlines()
        for path in paths:
            if kept(path, project["keep"]):
                os.makedirs(os.path.dirname(os.path.join(tree, path)), exist_ok=True)
                blob = subprocess.run(["git", "-C", clone, "show", f"{commit}:{path}"],
                                      check=True, capture_output=True).stdout
                with open(os.path.join(tree, path), "wb") as f:
                    f.write(blob)
        author = git(clone, "log", "-1", "--format=%an <%ae>", commit)
        yield tree, author, git(clone, "log", "-1", "--format=%s", commit)


def main():
    name, source = sys.argv[1], sys.argv[2]
    project = PROJECTS[name]
    out_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), name)
    os.makedirs(out_dir, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        repo = os.path.join(work, "repo")
        os.makedirs(repo)
        git(repo, "init", "-q", "-b", "main")
        versions = (from_commits(project, source, work) if "commits" in project
                    else from_archives(project, source, work))
        count = 0
        for i, (tree, author, message) in enumerate(versions):
            for entry in os.listdir(repo):
                if entry != ".git":
                    path = os.path.join(repo, entry)
                    shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
            shutil.copytree(tree, repo, dirs_exist_ok=True)
            who, email = author.rsplit(" <", 1)
            stamp = f"{START + i * 86_400} +0000"
            env = dict(os.environ, GIT_AUTHOR_NAME=who, GIT_AUTHOR_EMAIL=email[:-1],
                       GIT_COMMITTER_NAME=who, GIT_COMMITTER_EMAIL=email[:-1],
                       GIT_AUTHOR_DATE=stamp, GIT_COMMITTER_DATE=stamp)
            git(repo, "add", "-A", env=env)
            git(repo, "commit", "-q", "--allow-empty", "-m", message, env=env)
            count += 1
        git(repo, "gc", "-q", "--aggressive")
        bundle = os.path.join(out_dir, "history.bundle")
        git(repo, "bundle", "create", bundle, "HEAD", "main")
        for path in os.listdir(repo):
            if "LICENSE" in path.upper():
                shutil.copy(os.path.join(repo, path), os.path.join(out_dir, path))
        print(f"{bundle}: {os.path.getsize(bundle)} bytes, {count} commits")


if __name__ == "__main__":
    main()
