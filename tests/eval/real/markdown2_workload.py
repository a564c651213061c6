"""The workload eval-real profiles markdown2 with: the Markdown documents of its sdist (README,
changelog, TODO...) rendered with a documentation site's extras, ROUNDS times over. Run from the
unpacked sdist with `lib` on the path: `python3 markdown2_workload.py ROUNDS`."""

import glob
import sys

import markdown2

EXTRAS = ["fenced-code-blocks", "tables", "header-ids", "footnotes", "smarty-pants", "toc",
          "code-friendly", "cuddled-lists"]


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    paths = sorted(glob.glob("*.md") + glob.glob("*.txt"))
    pages = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            pages.append(f.read())
    size = 0
    for _ in range(rounds):
        for text in pages:
            size += len(markdown2.markdown(text, extras=EXTRAS))
    print(f"{len(pages)} pages, {size} bytes of HTML")


if __name__ == "__main__":
    main()
