"""Remove page furniture: letterheads and the Ofsted address block, running
headers and footers, page numbers, footnotes, contents pages and the closing
colophon.  Works on :class:`Line` records and returns the body lines in order.

Each rule is a small function of its own; ``clean`` composes them.
"""

from __future__ import annotations

import re
import tomllib
from collections import Counter
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources

from .model import Line, Page, RawDocument


@dataclass(frozen=True)
class Furniture:
    """The patterns of ``data/furniture.toml``, compiled."""

    lines: re.Pattern  # a whole line that is furniture wherever it stands
    colophon: re.Pattern  # the start of the closing page: dropped with all after it
    paragraphs: re.Pattern  # a paragraph that is never a finding (sign-off lines)
    boilerplate: re.Pattern  # standard wording (grade definitions): not a judgement finding
    not_prose: tuple[re.Pattern, ...]  # contact details, notices: no theme (themes.py); on lower-cased text
    not_prose_words: int  # ... in a text of at most this many words


def _alt(patterns: list[str]) -> str:
    return "|".join(f"(?:{p})" for p in patterns)


@cache
def furniture() -> Furniture:
    raw = tomllib.loads(resources.files("letterparse").joinpath("data/furniture.toml").read_text("utf-8"))
    return Furniture(
        lines=re.compile(rf"^(?:{_alt(raw['lines']['patterns'])})$", re.I),
        colophon=re.compile(rf"^(?:{_alt(raw['colophon']['patterns'])})", re.I),
        paragraphs=re.compile(_alt(raw["paragraphs"]["patterns"]), re.I),
        boilerplate=re.compile(_alt(raw["boilerplate"]["patterns"]), re.I),
        not_prose=tuple(re.compile(_lower_case_only(p)) for p in raw["not_prose"]["patterns"]),
        not_prose_words=int(raw["not_prose"]["max_words"]),
    )


def _lower_case_only(pattern: str) -> str:
    """``pattern``, which is matched against lower-cased text, so must not spell an
    upper-case letter outside an escape (``\\S``, ``\\W``...)."""
    if any(c.isupper() for c in re.sub(r"\\.", "", pattern)):
        raise ValueError(f"[not_prose] pattern {pattern!r}: patterns match lower-cased text; write its letters in lower case")
    return pattern


def not_prose(text: str) -> bool:
    """A short text that is contact details, an address or a notice, not inspection
    prose (``data/furniture.toml``, ``[not_prose]``).

    Runs on every finding and sentence the theme model scores: the word count stops
    at the limit, and each pattern searches the lower-cased text on its own (one
    case-insensitive alternation took 2.5 times as long)."""
    f = furniture()
    text = text.strip()
    if len(text.split(None, f.not_prose_words)) > f.not_prose_words:
        return False
    low = text.lower()
    for pattern in f.not_prose:  # a loop, not any(...): this runs for most sentences
        if pattern.search(low):
            return True
    return False


_CONTENTS = re.compile(r"^(?:table of )?contents$", re.I)
_ENDS_WITH_NUMBER = re.compile(r"\s\d{1,3}$")
_DIGITS = re.compile(r"\d+")
_ZONE = 0.085  # top and bottom fraction of a page where running headers and footers live


def clean(doc: RawDocument) -> tuple[Line, ...]:
    pages = doc.pages
    pages = tuple(drop_contents_page(p) for p in pages)
    pages = drop_running_lines(pages)
    body_size = _body_size(pages)
    lines: list[Line] = []
    for p in pages:
        lines.extend(drop_footnotes(p, body_size))
    lines = [strip_glued_page_number(ln) for ln in lines if not is_furniture(ln)]
    return tuple(drop_colophon(lines))


def is_furniture(line: Line) -> bool:
    return bool(furniture().lines.match(line.text.strip(" .")))


def drop_colophon(lines: list[Line]) -> list[Line]:
    """The closing page: from the first colophon line on the last page with text
    to the end.  Only the last page, so that a report quoting Ofsted's name in its
    body keeps its text."""
    if not lines:
        return lines
    last, colophon = lines[-1].page, furniture().colophon
    for i, ln in enumerate(lines):
        if ln.page == last and colophon.match(ln.text.strip()):
            return lines[:i]
    return lines


def drop_contents_page(page: Page) -> Page:
    """A contents page: drop from the 'Contents' line to the page's end when most of
    the lines after it end in a page number."""
    for i, ln in enumerate(page.lines):
        if _CONTENTS.match(ln.text.strip()):
            rest = page.lines[i + 1 :]
            numbered = sum(bool(_ENDS_WITH_NUMBER.search(r.text)) for r in rest)
            if rest and numbered >= max(3, len(rest) // 2):
                return replace(page, lines=page.lines[:i])
    return page


def _in_zone(line: Line, page: Page) -> bool:
    if line.bbox is None or not page.height:
        return False
    return line.bbox[1] < _ZONE * page.height or line.bbox[3] > (1 - _ZONE) * page.height


def drop_running_lines(pages: tuple[Page, ...]) -> tuple[Page, ...]:
    """Drop lines in the header/footer zones whose text (digits ignored) recurs on
    two or more pages: running headers and footers, with their page numbers."""
    seen: Counter[str] = Counter()
    for p in pages:
        keys = {_DIGITS.sub("#", ln.text.strip().lower()) for ln in p.lines if _in_zone(ln, p)}
        seen.update(keys)
    out = []
    for p in pages:
        keep = tuple(
            ln
            for ln in p.lines
            if not (_in_zone(ln, p) and seen[_DIGITS.sub("#", ln.text.strip().lower())] >= 2)
        )
        out.append(replace(p, lines=keep) if len(keep) != len(p.lines) else p)
    return tuple(out)


def _body_size(pages: tuple[Page, ...]) -> float | None:
    sizes: Counter[float] = Counter()
    for p in pages:
        for ln in p.lines:
            if ln.size:
                sizes[round(ln.size)] += len(ln.text)
    return sizes.most_common(1)[0][0] if sizes else None


_FOOTNOTE_START = re.compile(r"^(?:\d{1,2}|\*|[ivx]+)\s*\S")


def drop_footnotes(page: Page, body_size: float | None) -> list[Line]:
    """Footnotes: a run of lines in a smaller type in the lower part of the page,
    starting with a note number.  They can sit between body paragraphs in the
    content stream, so they are found by size and position, not by order."""
    lines = list(page.lines)
    if body_size is None or not page.height:
        return lines
    small = [
        ln.size is not None and ln.size < 0.88 * body_size and ln.bbox is not None and ln.bbox[1] > 0.45 * page.height
        for ln in lines
    ]
    out: list[Line] = []
    in_note = False
    for ln, is_small in zip(lines, small):
        if is_small and (in_note or _FOOTNOTE_START.match(ln.text)):
            in_note = True
            continue
        in_note = False
        out.append(ln)
    return out


def strip_glued_page_number(line: Line) -> Line:
    """'2 Inspection of Barnet' / 'Summary 12' at a page's edge: the number is the page's."""
    num = str(line.page)
    t = line.text
    if t.startswith(num + " ") and len(t) > len(num) + 3 and t[len(num) + 1].isupper() and _is_edge(line):
        return replace(line, text=t[len(num) + 1 :])
    if t.endswith(" " + num) and _is_edge(line) and not t[: -len(num) - 1].rstrip().endswith(("to", "and", "of")):
        return replace(line, text=t[: -len(num) - 1].rstrip())
    return line


def _is_edge(line: Line) -> bool:
    # Only lines near the top of the page (title lines); no page height here, so use points.
    return line.bbox is not None and line.bbox[1] < 90
