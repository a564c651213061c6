"""The workload eval-real profiles pypdf with: a document pipeline reading the text of PDFs
whose page contents are ASCIIHex-encoded, as PostScript converters and some scanners' PDF
writers store them (7-bit clean), ROUNDS times. The PDFs are written first, with pypdf itself:
each page's content stream holds a few hundred lines of text operators, encoded with the
`/ASCIIHexDecode` filter. Run from the unpacked sdist: `python3 pypdf_workload.py ROUNDS`."""

import io
import sys

from pypdf import PdfReader, PdfWriter
from pypdf.generic import DictionaryObject, NameObject, StreamObject

PAGES = 12
LINES = 120


def content(page):
    """A page of text: LINES lines of words, each placed with its own text operators."""
    ops = [b"BT /F1 9 Tf 11 TL 36 800 Td"]
    for line in range(LINES):
        words = " ".join(f"item{page}-{line}-{w} qty {w * 7 % 13} at {w * 3.25:.2f}"
                         for w in range(4))
        ops.append(f"({words}) Tj T*".encode())
    ops.append(b"ET")
    return b"\n".join(ops)


def document():
    """The bytes of a PDF of PAGES pages whose content streams are ASCIIHex-encoded."""
    writer = PdfWriter()
    font = DictionaryObject({
        NameObject("/Type"): NameObject("/Font"),
        NameObject("/Subtype"): NameObject("/Type1"),
        NameObject("/BaseFont"): NameObject("/Courier"),
    })
    for number in range(PAGES):
        page = writer.add_blank_page(width=595, height=842)
        stream = StreamObject()
        stream.set_data(content(number).hex().encode() + b">")
        stream[NameObject("/Filter")] = NameObject("/ASCIIHexDecode")
        page[NameObject("/Contents")] = writer._add_object(stream)
        page[NameObject("/Resources")] = DictionaryObject({
            NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(font)}),
        })
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    pdf = document()
    characters = 0
    for _ in range(rounds):
        reader = PdfReader(io.BytesIO(pdf))
        for page in reader.pages:
            characters += len(page.extract_text())
    print(f"{len(pdf)} bytes, {PAGES} pages, {characters} characters of text")


if __name__ == "__main__":
    main()
