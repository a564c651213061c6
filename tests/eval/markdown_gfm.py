#!/usr/bin/env python3
"""Reads the Markdown corpus of host/src/untrusted/tests.rs with cmark-gfm, GitHub's own parser.

The unit tests check every Markdown escaping function against pulldown-cmark; a report is most
often read on GitHub, whose parser adds what pulldown-cmark does not (bare URLs become links as
the line is read). For each hostile string, written in each Markdown place, this checks what
the unit tests check: a table cell stays one cell of one row, a heading one heading, a list
item one item, a message its own blocks, a fenced block one block; no raw HTML, image, heading
or footnote comes from the text; and the paragraph after it is still ours.

    make markdown-gfm    # builds the corpus, installs cmarkgfm in a venv, runs this

Usage: markdown_gfm.py CORPUS.json
"""

import json
import re
import sys

import cmarkgfm
from cmarkgfm.cmark import Options

# Raw HTML passes through (UNSAFE) so that any the text smuggled in is seen, not filtered.
OPTIONS = Options.CMARK_OPT_UNSAFE | Options.CMARK_OPT_FOOTNOTES
BLOCKS = re.compile(r"<(h[1-6]|table|ul|ol|pre|blockquote|p|hr|section|div)\b")
UNWANTED = re.compile(
    r"<(script|img|h[1-6]|section|div|iframe|style|details)\b|<!--|data-footnote"
)
END = "<p>END</p>"


def html(markdown):
    return cmarkgfm.github_flavored_markdown_to_html(markdown, options=OPTIONS)


def one_cell(doc):
    h = html(doc)
    rows = re.findall(r"<tr>(.*?)</tr>", h, re.S)
    cells = [re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", r, re.S) for r in rows]
    blocks = BLOCKS.findall(re.sub(r"<table>.*?</table>", "<table></table>", h, flags=re.S))
    ok = (
        len(rows) == 2
        and len(cells[1]) == 2
        and cells[1][1] == "END"
        and blocks == ["table", "p"]
        and not UNWANTED.search(h)
    )
    return ok, h


def one_heading(doc):
    h = html(doc)
    ok = (
        len(re.findall(r"<h2>", h)) == 1
        and h.rstrip().endswith(END)
        and not UNWANTED.search(h.replace("<h2>", "", 1))
    )
    return ok, h


def one_item(doc):
    h = html(doc)
    inner = re.findall(r"<(ul|ol|li|pre|blockquote|h[1-6]|table|hr)\b", h)
    return inner == ["ul", "li"] and h.rstrip().endswith(END) and not UNWANTED.search(h), h


def own_blocks(doc):
    h = html(doc)
    ok = (
        h.startswith("<p><strong>info</strong>")
        and h.rstrip().endswith(END)
        and not UNWANTED.search(h)
    )
    return ok, h


def one_block(doc):
    h = html(doc)
    ok = len(re.findall(r"<pre", h)) == 1 and h.startswith("<pre") and h.rstrip().endswith(END)
    return ok, h


CHECKS = {
    "cell": one_cell,
    "code_in_cell": one_cell,
    "heading": one_heading,
    "item": one_item,
    "message": own_blocks,
    "fenced": one_block,
}


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    with open(sys.argv[1]) as f:
        corpus = json.load(f)
    failures = 0
    for entry in corpus:
        for place, check in CHECKS.items():
            ok, h = check(entry[place])
            if not ok:
                failures += 1
                if failures <= 10:
                    print(f"{place} of {entry['text']!r}:\n  {entry[place]!r}\n  -> {h!r}")
    print(f"{len(corpus)} strings, {len(CHECKS)} places each, {failures} failures")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
