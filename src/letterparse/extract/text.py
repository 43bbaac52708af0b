"""Plain text input: form feeds split pages, blank lines mark paragraph gaps."""

from __future__ import annotations

import re

from ..errors import BadTextEncoding
from ..model import Line, Page

_HYPHEN_END = re.compile(r"(?<=[A-Za-z])-$")


def read_text(path: str, data: bytes) -> tuple[Page, ...]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadTextEncoding(path) from exc
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    pages = []
    for number, chunk in enumerate(text.split("\f"), start=1):
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
