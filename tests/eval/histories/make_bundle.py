"""Rebuilds one of the real histories under tests/eval/histories/ from consecutive released
versions of an open-source project on its package registry: one commit per version, oldest
first, each the release's source (the package and its licence; docs and tests when the sdist
has them), dated a day apart and written by the project's name, then saved as a git bundle.

    python3 tests/eval/histories/make_bundle.py python-markdown DOWNLOADS_DIR

DOWNLOADS_DIR holds the registry's archives (`pip download --no-deps --no-binary :all:
markdown==3.4 ...`, `cargo download`, Debian `apt-get source`...); the versions and what to
keep of each are in PROJECTS below.
"""

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
}

START = 1_735_689_600  # 2025-01-01T00:00:00Z


def git(repo, *args, env=None):
    return subprocess.run(["git", "-C", repo, *args], check=True, capture_output=True,
                          text=True, env=env).stdout.strip()


def main():
    name, downloads = sys.argv[1], sys.argv[2]
    project = PROJECTS[name]
    out_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), name)
    os.makedirs(out_dir, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        repo = os.path.join(work, "repo")
        os.makedirs(repo)
        git(repo, "init", "-q", "-b", "main")
        author, email = project["author"].rsplit(" <", 1)
        for i, version in enumerate(project["versions"]):
            archive = next(os.path.join(downloads, a) for a in project["archive"](version)
                           if os.path.exists(os.path.join(downloads, a)))
            unpacked = os.path.join(work, f"v{i}")
            with tarfile.open(archive) as tar:
                tar.extractall(unpacked, filter="data")
            (top,) = os.listdir(unpacked)
            for entry in os.listdir(repo):
                if entry != ".git":
                    path = os.path.join(repo, entry)
                    shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
            for keep in project["keep"]:
                source = os.path.join(unpacked, top, keep)
                if os.path.isdir(source):
                    shutil.copytree(source, os.path.join(repo, keep))
                elif os.path.exists(source):
                    shutil.copy(source, os.path.join(repo, keep))
            stamp = f"{START + i * 86_400} +0000"
            env = dict(os.environ, GIT_AUTHOR_NAME=author, GIT_AUTHOR_EMAIL=email[:-1],
                       GIT_COMMITTER_NAME=author, GIT_COMMITTER_EMAIL=email[:-1],
                       GIT_AUTHOR_DATE=stamp, GIT_COMMITTER_DATE=stamp)
            git(repo, "add", "-A", env=env)
            git(repo, "commit", "-q", "--allow-empty", "-m", project["message"](version), env=env)
        git(repo, "gc", "-q", "--aggressive")
        bundle = os.path.join(out_dir, "history.bundle")
        git(repo, "bundle", "create", bundle, "HEAD", "main")
        licence = next(k for k in project["keep"] if k.upper().startswith("LICENSE"))
        shutil.copy(os.path.join(repo, licence), os.path.join(out_dir, licence))
        print(f"{bundle}: {os.path.getsize(bundle)} bytes, {len(project['versions'])} commits")


if __name__ == "__main__":
    main()
