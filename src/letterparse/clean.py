"""Remove page furniture: letterheads and the Ofsted address block, running
headers and footers, page numbers, footnotes, contents pages and the closing
colophon.  Works on :class:`Line` records and returns the body lines in order.

Each rule is a small function of its own; ``clean`` composes them.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace

from .model import Line, Page, RawDocument

# Lines that are furniture wherever they stand: Ofsted's postal addresses (every
# office it has used), phone numbers, addresses of its websites, page numbers,
# protective markings.
_FURNITURE = re.compile(
    r"""^(?:
        ofsted |
        piccadilly\ gate.* | store\ street | manchester(?:\ m1\ 2wd)? | m1\ 2wd |
        aviation\ house.* | 125\ kingsway | london\ wc2b\ 6se |
        agora.* | 6\ cumberland\ place | nottingham\ ng1\ 6hj |
        freshford\ house.* | redcliffe\ way | bristol\ bs1\ 6nl |
        royal\ exchange\ buildings.* | st\.?\ ann'?s\ square | manchester\ m2\ 7la |
        (?:direct\ )?[tf]:?\ ?0\d{3}\ ?\d{3}\ ?\d{3,4}.* |
        textphone.* | (?:direct\ )?(?:e|w|email|e-mail|web)?:?\ ?\S+@ofsted\.gov\.uk.* |
        (?:w:\ )?www\.(?:ofsted\.gov\.uk|gov\.uk/ofsted)\S*.* |
        \S+@ofsted\.gov\.uk |
        page\ \d+\ (?:of\ \d+)? | \d+\ of\ \d+ | -?\ ?\d{1,3}\ ?-? |
        official(?:\ ?[-–]\ ?sensitive)? | protect\ ?[-–]?\ ?inspection |
        ©\ crown\ copyright\ \d{4} |
        https?://\S+ | www\.\S+
    )$""",
    re.X | re.I,
)
# Lines that begin Ofsted's closing colophon; everything after them is boilerplate.
_COLOPHON = re.compile(
    r"^(?:the office for standards in education, children['’]s services and skills \(ofsted\) regulates"
    r"|ofsted has published this report|© crown copyright \d{4}$|this publication is available at)",
    re.I,
)
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
    return bool(_FURNITURE.match(line.text.strip(" .")))


def drop_colophon(lines: list[Line]) -> list[Line]:
    for i, ln in enumerate(lines):
        if _COLOPHON.match(ln.text):
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
