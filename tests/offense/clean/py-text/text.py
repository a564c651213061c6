"""A plain-text table and a binary dump built with `+=` where CPython makes that linear: a
local `str` is extended in place, and a `bytearray` grows in place."""


def table(rows):
    """The rows as aligned text, one line each."""
    width = max((len(name) for name, _ in rows), default=0)
    text = ""
    for name, value in rows:
        text += f"{name:<{width}}  {value:>12.3f}\n"
    return text


def dump(rows):
    """The rows as `name=value` records, NUL-separated, in a bytearray."""
    out = bytearray()
    for name, value in rows:
        out += f"{name}={value!r}".encode()
        out += b"\0"
    return bytes(out)
