"""The workload eval-real profiles Python-Markdown with: every page of its own documentation
(docs/**/*.md in the sdist), rendered with the extensions a documentation site uses, ROUNDS
times over. Run from the unpacked sdist: `python3 markdown_workload.py ROUNDS`."""

import glob
import sys

import markdown

EXTENSIONS = ["extra", "toc", "admonition", "sane_lists", "smarty", "meta", "wikilinks"]


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    pages = []
    for path in sorted(glob.glob("docs/**/*.md", recursive=True)):
        with open(path, encoding="utf-8") as f:
            pages.append(f.read())
    size = 0
    for _ in range(rounds):
        md = markdown.Markdown(extensions=EXTENSIONS)
        for text in pages:
            size += len(md.reset().convert(text))
    print(f"{len(pages)} pages, {size} bytes of HTML")


if __name__ == "__main__":
    main()
