"""Body lines -> the letter's text, its sections and their findings.

Pure functions of :class:`Line` records; the heading vocabulary lives in
``data/headings.toml``.  Three passes:

1. ``blocks``: lines become headings, bullets, numbered items and paragraphs
   (continuations across line wraps and page breaks are joined here);
2. ``assemble``: blocks are written into one text, remembering every line's
   offsets, so each finding's spans slice back to its words;
3. ``sections``: headings open sections; list sections keep their items,
   prose sections keep every paragraph.
"""

from __future__ import annotations

import re
import string
import tomllib
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib import resources

from .clean import furniture
from .extract import BULLETS
from .model import Finding, Line, Section, Span
from .vocab import LIST_KINDS, POLARITY_OF_KIND

_BULLET_RE = re.compile(rf"^\s*(?:[{BULLETS}]|\(cid:127\)|[-–](?=\s))\s*")
# A paragraph number: "10. Strong", and also "10.Strong", "10 .Strong" (a capital or
# an opening quote right after the point) and "10.. Strong"; never "10.5%" or "2.3 million".
_NUMBER_RE = re.compile(r"^\s*\(?(\d{1,3})(?:[.)]\.?\s+(?=\S)|\s?[.)]\s*(?=[A-Z‘“'\"(]))")
_TERMINAL = (".", "!", "?", ":", ";", ".’", ".'", '."', ".”", ")")
_GRADE_TAIL = re.compile(
    r"(?:[:\s]+(?:is|are|is that it is|is that it)?:?\s*)"
    r"(?:outstanding|good|inadequate|adequate|requires? improvement(?: to be good)?)\.?$"
)
_FOOTNOTE_TAIL = re.compile(r"(?<=[a-z?)])\d{1,2}$")  # "area2", "improve?1": a footnote mark
_WORD = re.compile(r"[A-Za-z]+(?:-[A-Za-z]+)*")


# --- vocabulary ----------------------------------------------------------------


@dataclass(frozen=True)
class Vocabulary:
    kinds: tuple[tuple[str, re.Pattern], ...]
    ignore: re.Pattern
    title: re.Pattern
    closing: re.Pattern
    closing_starts: frozenset[str]  # first letters of the closing patterns
    context: re.Pattern  # headings of context sections (statistics, method, team...)
    judgement: re.Pattern  # headings that are judgement whatever came before them

    def kind_of(self, heading: str) -> str | None:
        key = normalise_heading(heading)
        for kind, pat in self.kinds:
            if pat.fullmatch(key):
                return kind
        return None

    def role_of(self, heading: str, inherited: str) -> str:
        """'context' or 'judgement': by the heading's own pattern, else ``inherited``
        (the parent's role, or the role of the section an unknown heading follows)."""
        key = normalise_heading(heading)
        if self.context.fullmatch(key):
            return "context"
        if self.judgement.fullmatch(key):
            return "judgement"
        return inherited


def _alt(patterns: list[str]) -> re.Pattern:
    return re.compile("|".join(f"(?:{p})" for p in patterns))


@cache
def vocabulary() -> Vocabulary:
    raw = tomllib.loads(resources.files("letterparse").joinpath("data/headings.toml").read_text("utf-8"))
    kinds = tuple((k, _alt(v)) for k, v in raw["kinds"].items())
    closing = raw["closing"]["patterns"]
    starts = frozenset(p[0] for p in closing)
    if not all(p[:1].isalpha() for p in closing):
        raise ValueError("closing patterns must begin with a letter (segment._may_close relies on it)")
    roles = raw["roles"]
    return Vocabulary(
        kinds,
        _alt(raw["ignore"]["patterns"]),
        _alt(raw["title"]["patterns"]),
        _alt(closing),
        starts,
        _alt(roles["context"]),
        _alt(roles["judgement"]),
    )


_SPACES = re.compile(r"\s+")


@lru_cache(maxsize=1 << 14)
def normalise_heading(text: str) -> str:
    """The heading as the vocabulary's patterns see it (lower case, plain quotes,
    single spaces, no footnote mark, grade or trailing punctuation).  Cached: the
    segmenter asks again for the same lines, and headings recur across documents."""
    t = text.replace("’", "'").replace("‘", "'").lower()
    t = _SPACES.sub(" ", t).strip()
    t = _FOOTNOTE_TAIL.sub("", t)
    t = _GRADE_TAIL.sub("", t) if not t.endswith("because") else t
    return t.strip(" :?.;,–-")


# --- pass 1: blocks ------------------------------------------------------------


@dataclass
class Block:
    kind: str  # heading | bullet | numbered | para
    lines: list[Line] = field(default_factory=list)
    number: int | None = None
    indent: float | None = None  # x0 of the item's text (hanging indent)
    margin: float | None = None  # x0 of the marker


def _strip_marker(line: Line) -> tuple[str, str, int | None]:
    """('bullet'|'numbered'|'', text without the marker, number)."""
    m = _BULLET_RE.match(line.text)
    if m and (m.end() < len(line.text) or line.text.strip() in BULLETS):
        return "bullet", line.text[m.end() :], None
    m = _NUMBER_RE.match(line.text)
    if m:
        return "numbered", line.text[m.end() :], int(m.group(1))
    return "", line.text, None


def _ends_sentence(text: str) -> bool:
    return text.rstrip().endswith(_TERMINAL)


def _looks_like_heading(line: Line, voc: Vocabulary, text_mode: bool, nxt: Line | None, nxt_marker: str) -> bool:
    """Whether ``line`` (which has no bullet marker) is a heading; ``nxt_marker`` is
    the marker :func:`_strip_marker` finds on the next line."""
    t = line.text.strip()
    if not t or len(t) > 160:
        return False
    n_words = t.count(" ") + 1
    if n_words > 22:
        return False
    if line.bold:
        if not line.gap and t[:1].islower():
            return False  # the wrapped end of a bold table row or sentence
        if t.endswith((",", ";")):
            return bool(voc.ignore.fullmatch(normalise_heading(t)))
        if t.endswith("."):
            key = normalise_heading(t)
            return voc.kind_of(t) is not None or bool(voc.title.fullmatch(key) or voc.ignore.fullmatch(key))
        if _NUMBER_RE.match(t) and not voc.ignore.fullmatch(normalise_heading(t)):
            return False
        return True
    # Not bold (plain text input, or a PDF whose font reports no weight): only a
    # known heading standing on its own line counts.
    if n_words > 14 or not (line.gap or text_mode):
        return False
    if voc.kind_of(t) is None and not voc.title.fullmatch(normalise_heading(t)):
        return False
    return nxt is None or nxt.gap or nxt.page != line.page or nxt_marker != ""


def blocks(lines: tuple[Line, ...]) -> list[Block]:
    voc = vocabulary()
    text_mode = all(ln.bbox is None for ln in lines)
    right = max((ln.bbox[2] for ln in lines if ln.bbox), default=None)
    out: list[Block] = []
    last_number = 0
    pending_bullet: Line | None = None  # a bullet glyph on a line of its own
    markers = [_strip_marker(ln) for ln in lines] + [("", "", None)]  # each line's, once
    for i, ln in enumerate(lines):
        nxt = lines[i + 1] if i + 1 < len(lines) else None
        prev = out[-1] if out else None
        marker, rest, number = markers[i]
        if marker == "bullet" and not rest.strip():
            pending_bullet = ln
            continue
        if prev and prev.kind == "heading" and ln.bold and _heading_tail(prev, ln):
            prev.lines.append(ln)
            continue
        if marker == "numbered" and not (
            number == last_number + 1 or number == 1 or (ln.gap and last_number < number <= last_number + 3)
        ):
            marker, rest = "", ln.text  # "2010. The ..." after a wrap is not item 2010
        # (a line with a bullet marker never reaches here: it is an item, or a lone glyph)
        if marker == "" and _looks_like_heading(ln, voc, text_mode, nxt, markers[i + 1][0]):
            if prev and prev.kind == "heading" and _continues_heading(prev, ln, voc, right):
                prev.lines.append(ln)
            else:
                out.append(Block("heading", [ln]))
            continue
        glyph = None
        if pending_bullet is not None:
            marker, rest, glyph, pending_bullet = "bullet", ln.text, pending_bullet, None
        if marker:
            where = glyph if glyph is not None else ln  # a detached glyph stands where the item starts
            x = where.bbox[0] if where.bbox else None
            b = Block(marker, [_with_text(ln, rest)], number=number, margin=x)
            if marker == "numbered":
                last_number = number
            if marker == "bullet" and prev and prev.kind == "numbered" and _deeper(where, prev):
                prev.lines.append(ln)  # a sub-bullet of a numbered item is part of it
                continue
            out.append(b)
            continue
        # a line without a marker: continue the previous block or start a paragraph
        if prev and prev.kind != "heading" and _continues(prev, ln, text_mode):
            if prev.indent is None and prev.kind != "para" and len(prev.lines) == 1 and ln.bbox:
                prev.indent = ln.bbox[0]
            prev.lines.append(ln)
        else:
            out.append(Block("para", [ln], margin=ln.bbox[0] if ln.bbox else None))
    return out


_GRADE_ONLY = re.compile(r"(?i)(outstanding|good|inadequate|adequate|requires? improvement( to be good)?)\.?")


def _heading_tail(prev: Block, line: Line) -> bool:
    """A bold line that finishes the heading above it: a lower-case wrap
    ('protection requires improvement to be good.') or the grade printed in a box
    beside a judgement heading."""
    last = prev.lines[-1]
    if line.page != last.page:
        return False
    if not line.gap and line.text[:1].islower():
        return True
    if _GRADE_ONLY.fullmatch(line.text.strip()) and line.bbox and last.bbox:
        top = min(x.bbox[1] for x in prev.lines if x.bbox)
        return top - 3 <= line.bbox[1] <= last.bbox[3] + 3
    return False


def _with_text(line: Line, text: str) -> Line:
    # Line(...) directly: dataclasses.replace is several times slower
    return Line(line.page, text.strip(), line.bbox, line.size, line.bold, line.gap, line.hyphen)


def _deeper(line: Line, item: Block) -> bool:
    return bool(line.bbox and item.margin is not None and line.bbox[0] > item.margin + 8)


def _continues_heading(prev: Block, line: Line, voc: Vocabulary, right: float | None) -> bool:
    if line.page != prev.lines[-1].page:
        return False
    if line.gap and line.bbox is not None:
        return line.text[:1].islower()
    first = prev.lines[-1]
    alone_a = voc.kind_of(" ".join(x.text for x in prev.lines)) is not None
    alone_b = voc.kind_of(line.text) is not None
    joined = voc.kind_of(" ".join(x.text for x in prev.lines) + " " + line.text) is not None
    if joined:
        return True
    if alone_a and alone_b:
        return False
    if line.text[:1].islower():
        return True
    if first.bbox and right and first.bbox[2] > 0.72 * right:
        return True  # the heading wrapped
    return first.text.rstrip().split(" ")[-1].lower() in {"and", "of", "the", "for", "to", "in", "with", "who", "children", "on"}


def _continues(prev: Block, line: Line, text_mode: bool) -> bool:
    last = prev.lines[-1]
    # the block's text so far ends as its last line with any text does (not joined:
    # that would make a long paragraph quadratic)
    tail = next((x.text for x in reversed(prev.lines) if x.text.strip()), "")
    lower_start = line.text[:1].islower() or line.text[:1] in "(‘'\"“"
    unfinished = not _ends_sentence(tail) or last.hyphen
    new_page = line.page != last.page
    if prev.kind in ("bullet", "numbered"):
        if not line.gap and not new_page:
            return True
        if unfinished or lower_start:
            return True
        if line.bbox and prev.indent is not None and prev.margin is not None:
            # a further paragraph inside the item keeps the item's hanging indent
            return abs(line.bbox[0] - prev.indent) < 4 and line.bbox[0] > prev.margin + 4
        return False
    # a paragraph
    if new_page:
        return unfinished or lower_start
    if line.gap:
        return last.hyphen or (lower_start and unfinished and not text_mode)
    return True


# --- pass 2: text with offsets -------------------------------------------------


@dataclass
class Written:
    block: Block
    start: int  # offsets of the block's text (without marker) in the letter text
    end: int
    line_spans: list[tuple[Line, int, int]]


def _join_hyphen(left: str, right: str, vocab: _DocumentWords | frozenset[str]) -> str:
    """'' to close up a split word, '-' to keep a compound (decision-making)."""
    lw = _WORD.findall(left)
    rw = _WORD.findall(right)
    if not lw or not rw:
        return "-"
    a, b = lw[-1], rw[0]
    if b[:1].isupper() or b[:1].isdigit():
        return "-"
    if f"{a}-{b}".lower() in vocab:
        return "-"
    if f"{a}{b}".lower() in vocab:
        return ""
    return "-"


_ASCII_LETTERS = frozenset(string.ascii_letters)
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


class _DocumentWords:
    """The document's words as ``_WORD.findall`` lists them, lower-cased, for the
    ``in`` test of :func:`_join_hyphen`: each word asked about is looked for in the
    text, instead of every word of the text being listed first (2% of a parse, for
    the few words a letter's line-end hyphens ask about).  Tested against the list."""

    def __init__(self, text: str):
        # ASCII letters lower-cased and the other letters as they are (all that the
        # word pattern can match).  str.lower lower-cases other letters too, which is
        # harmless, except two (tested): it turns the Kelvin sign into "k" and
        # lengthens "İ"; with either in the text, the slower translation.
        odd = "\u212a" in text or "\u0130" in text
        self.low = text.translate(_ASCII_LOWER) if odd else text.lower()
        self.known: dict[str, bool] = {}

    def __contains__(self, word: str) -> bool:
        hit = self.known.get(word)
        if hit is None:
            hit = self.known[word] = self._occurs(word)
        return hit

    def _occurs(self, word: str) -> bool:
        low, letters = self.low, _ASCII_LETTERS
        i = low.find(word)
        while i >= 0:
            # findall starts a word at a letter that neither follows a letter nor a
            # hyphen after a letter (that hyphen joins it to the word before)
            starts = i == 0 or (low[i - 1] not in letters and not (low[i - 1] == "-" and i >= 2 and low[i - 2] in letters))
            if starts:
                m = _WORD.match(low, i)
                if m is not None and m.end() - i == len(word):
                    return True
            i = low.find(word, i + 1)
        return False


def assemble(blocks_: list[Block]) -> tuple[str, list[Written]]:
    # the document's own words decide whether a line-end hyphen closes up; only
    # looked at when some line ends in one
    vocab = (
        _DocumentWords("\n".join(ln.text for b in blocks_ for ln in b.lines))
        if any(ln.hyphen for b in blocks_ for ln in b.lines)
        else frozenset()
    )
    parts: list[str] = []
    pos = 0
    written: list[Written] = []
    for b in blocks_:
        if parts:
            parts.append("\n\n")
            pos += 2
        prefix = {"bullet": "• ", "numbered": f"{b.number}. "}.get(b.kind, "")
        parts.append(prefix)
        pos += len(prefix)
        start = pos
        spans: list[tuple[Line, int, int]] = []
        for j, ln in enumerate(b.lines):
            text = ln.text.strip()
            if j > 0:
                prev = b.lines[j - 1]
                sep = _join_hyphen(prev.text, text, vocab) if prev.hyphen else " "
                parts.append(sep)
                pos += len(sep)
                if sep == "-":  # a kept hyphen belongs to the line before it
                    ln0, s0, e0 = spans[-1]
                    spans[-1] = (ln0, s0, e0 + 1)
            elif b.kind in ("bullet", "numbered"):
                m = _BULLET_RE.match(text) if b.kind == "bullet" and j > 0 else None
                if m:
                    text = text[m.end() :]
            if j > 0 and b.kind == "numbered":
                m = _BULLET_RE.match(text)
                if m:  # sub-bullet inside a numbered item: keep a visible separator
                    text = "• " + text[m.end() :]
            parts.append(text)
            spans.append((ln, pos, pos + len(text)))
            pos += len(text)
        written.append(Written(b, start, pos, spans))
    text = "".join(parts)
    return text, written


# --- pass 3: sections and findings -----------------------------------------------

_LEADING = re.compile(r"[\s:?.;,–-]*")  # what normalise_heading strips from a heading's start


def _may_close(text: str, voc: Vocabulary) -> bool:
    """False when ``text`` cannot begin a closing paragraph: the first letter that
    normalise_heading would keep does not begin any closing pattern.  Saves
    normalising every paragraph of a letter."""
    first = text[_LEADING.match(text).end() :][:1]
    return not first or first.lower()[:1] in voc.closing_starts


def _spans(w: Written) -> tuple[Span, ...]:
    out: list[Span] = []
    for ln, s, e in w.line_spans:
        if out and out[-1].page == ln.page:
            last = out[-1]
            bbox = last.bbox
            if bbox and ln.bbox:
                bbox = (min(bbox[0], ln.bbox[0]), min(bbox[1], ln.bbox[1]), max(bbox[2], ln.bbox[2]), max(bbox[3], ln.bbox[3]))
            out[-1] = Span(last.page, last.start, e, bbox)
        else:
            out.append(Span(ln.page, s, e, ln.bbox))
    return tuple(out)


def _opening(text: str, w: Written) -> str:
    """A paragraph's first words as the furniture patterns see them."""
    return text[w.start : min(w.end, w.start + 200)].lower().replace("’", "'")


def _is_furniture(text: str, w: Written) -> bool:
    """A sign-off line ("Lead inspector: ...") or the complaints line: never a finding."""
    return bool(furniture().paragraphs.match(_opening(text, w)))


def _without_boilerplate(text: str, items: list[Written], role: str) -> tuple[list[Written], str]:
    """Grade definitions and other standard wording are not judgement findings: a
    judgement section made only of them becomes context (and keeps them); any other
    judgement section loses them."""
    if role != "judgement":
        return items, role
    pattern = furniture().boilerplate
    keep = [w for w in items if not pattern.match(_opening(text, w))]
    if items and not keep:
        return items, "context"
    return keep, role


def _names_authority(heading: str) -> bool:
    from .gazetteer import load_gazetteer

    return load_gazetteer().resolve(heading) is not None


def segment(lines: tuple[Line, ...]) -> tuple[str, tuple[Section, ...]]:
    """Segment body lines into (letter text, sections)."""
    text, written = assemble(blocks(lines))
    builder = _Sections(text, vocabulary())
    for w in written:
        if w.block.kind == "heading":
            builder.heading(w)
        else:
            builder.paragraph(w)
    return text, builder.records()


_TABLE_HEADING = re.compile(r"(key )?judge?ment( grade)?|judge?ments?")
_NOT_A_SUBHEADING = re.compile(r"(main |inspection |key )?findings|the |overall|summary|progress")
_TABLE_ROWS = 12  # at most this many rows of a judgement table are consumed


@dataclass(slots=True)
class _Table:
    """A judgement table being read past: its page, the rows it may still have, and
    whether it is a "record of main findings" table (which has no overall row to end it)."""

    page: int
    rows: int = _TABLE_ROWS
    record: bool = False


class _Sections:
    """Builds the sections of one letter from its written blocks, in order: headings open
    sections (or are titles, table rows, ignored lines), paragraphs go to the open section
    until a closing paragraph; :meth:`records` turns them into :class:`Section` records."""

    def __init__(self, text: str, voc: Vocabulary):
        self.text, self.voc = text, voc
        self.sections: list[dict] = []
        self.in_title = False  # inside the document's title block
        self.table: _Table | None = None  # reading past a judgement table
        self.closed = False  # a closing paragraph ended the open section's findings
        self.last_known: dict | None = None  # the last section with a recognised heading
        self.seen_known = False

    def heading(self, w: Written) -> None:
        heading_text = self.text[w.start : w.end]
        key = normalise_heading(heading_text) if heading_text else ""
        page = w.block.lines[0].page
        voc = self.voc
        if voc.ignore.fullmatch(key):
            if _TABLE_HEADING.fullmatch(key):
                self.table = _Table(page)
            self.in_title = False
            return
        if voc.title.fullmatch(key) and not self.seen_known:
            self.in_title = True
            return
        kind = voc.kind_of(heading_text)
        if self.table and page == self.table.page:
            # judgement-table rows: consumed up to and including the overall row
            self.table.rows = 0 if key.startswith("overall") and not self.table.record else self.table.rows - 1
            if not self.table.rows:
                self.table = None
            return
        self.table = None
        if kind is None and _names_authority(heading_text):
            return  # the authority's name above a title
        if self.in_title and kind is None:
            return
        self.in_title = False
        sec = self._open(w, heading_text, key, kind, page)
        if sec is None:
            return
        self.closed = False
        self.sections.append(sec)
        if key == "record of main findings":
            self.table = _Table(page, record=True)  # a grade table follows

    def _open(self, w: Written, heading_text: str, key: str, kind: str | None, page: int) -> dict | None:
        """The section a heading opens, or None (an unknown heading after a closing paragraph)."""
        last = self.last_known
        base = {"heading": heading_text, "page": page, "items": [], "start": w.start, "end": w.end, "closed": False}
        if kind is None:
            if self.closed:
                return None
            parent = last if last and last["kind"] != "other" else None
            # an unknown heading takes the role of the known section it follows
            # ("Children living in this area" after "Information about this area")
            inherited = (parent or last or {}).get("role", "judgement")
            return {**base, "kind": parent["kind"] if parent else "other", "parent": parent,
                    "role": self.voc.role_of(heading_text, inherited)}
        if (
            kind == "main_findings" and last is not None and last["kind"] in LIST_KINDS
            and len(key.split()) <= 5 and not self.closed and not _NOT_A_SUBHEADING.match(key)
        ):
            # "Leadership and management" under "Areas for improvement" is a sub-heading
            return {**base, "kind": last["kind"], "parent": last, "role": self.voc.role_of(heading_text, last["role"])}
        self.seen_known = True
        sec = {**base, "kind": kind, "parent": None, "role": self.voc.role_of(heading_text, "judgement")}
        self.last_known = sec
        return sec

    def paragraph(self, w: Written) -> None:
        self.in_title = False
        para = self.text[w.start : w.end]
        if self.table:
            if w.block.lines[0].page != self.table.page or len(para) > 160:
                self.table = None  # prose: the table is over
            else:
                self.table.rows -= 1
                if not self.table.rows or (
                    re.match(r"overall (effectiveness|judge?ment)", normalise_heading(para)) and not self.table.record
                ):
                    self.table = None
                return
        if not self.sections:
            return
        if _may_close(para, self.voc) and self.voc.closing.match(normalise_heading(para[:200]) or " "):
            self.closed = True
        if not self.closed:
            self.sections[-1]["items"].append(w)

    def records(self) -> tuple[Section, ...]:
        text = self.text
        out: list[Section] = []
        ids: dict[int, str] = {}
        for i, sec in enumerate(self.sections, start=1):
            sid = f"s{i}"
            ids[id(sec)] = sid
            items = [w for w in sec["items"] if not _is_furniture(text, w)]
            if sec["kind"] in LIST_KINDS and any(w.block.kind != "para" for w in items):
                items = [w for w in items if w.block.kind != "para"]
            items, role = _without_boilerplate(text, items, sec["role"])
            polarity = POLARITY_OF_KIND.get(sec["kind"], "neutral")
            findings = tuple(
                Finding(
                    id=f"{sid}.f{j}",
                    text=text[w.start : w.end],
                    spans=_spans(w),
                    polarity=polarity,
                    marker={"bullet": "bullet", "numbered": "numbered"}.get(w.block.kind, "paragraph"),
                )
                for j, w in enumerate((w for w in items if w.end > w.start), start=1)
            )
            parent = ids.get(id(sec["parent"])) if sec["parent"] is not None else None
            heading = _FOOTNOTE_TAIL.sub("", re.sub(r"\s+", " ", sec["heading"]).strip())
            out.append(Section(sid, heading, sec["kind"], sec["page"], findings, parent, sec["start"], sec["end"], role))
        return tuple(out)
