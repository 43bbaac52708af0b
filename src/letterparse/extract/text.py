"""Plain text input: form feeds split pages, blank lines mark paragraph gaps."""

from __future__ import annotations

import re

from ..errors import BadTextEncoding, TooLarge
from ..model import Line, Page

_HYPHEN_END = re.compile(r"(?<=[A-Za-z])-$")


def read_text(path: str, data: bytes, *, max_pages: int | None = None) -> tuple[Page, ...]:
    """Pages of lines; more than ``max_pages`` pages (form feeds + 1) is :class:`TooLarge`."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadTextEncoding(path) from exc
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    chunks = text.split("\f")
    if max_pages is not None and len(chunks) > max_pages:
        raise TooLarge(path, "page count", len(chunks), max_pages)
    pages = []
    for number, chunk in enumerate(chunks, start=1):
        lines: list[Line] = []
        gap = True
        for raw in chunk.split("\n"):
            s = raw.strip()
            if not s:
                gap = True
                continue
            hyphen = bool(_HYPHEN_END.search(s))
            lines.append(Line(number, s[:-1] if hyphen else s, gap=gap, hyphen=hyphen))
            gap = False
        pages.append(Page(number, None, None, tuple(lines)))
    return tuple(pages)
