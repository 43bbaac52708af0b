"""Fuzzing: letters generated from a grammar round-trip through segmentation, and
mutated PDFs end in a Letter or a typed error, never another exception or a hang.

The grammar: known headings (read from ``data/headings.toml`` at test time),
bullets (◼ • ▪ U+F0B7 -, the glyph sometimes on a line of its own), numbered
items, prose paragraphs, line wraps, page breaks (between blocks and inside an
unfinished sentence) and "Page n of m" footers.  The same document is checked
as a .txt file through ``letterparse.parse`` and as PDF-like ``Line`` records
(bold headings, hanging indents, paragraph gaps) through ``segment``.
"""

from __future__ import annotations

import os
import random
import re
import time
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from letterparse import errors
from letterparse.model import Line
from letterparse.segment import LIST_KINDS, normalise_heading, segment, vocabulary
from conftest import CORPUS

GLYPHS = ["\u25fc", "\u2022", "\u25aa", "\uf0b7", "-"]

# Words that can never make a line look like a heading, a title, a closing
# sentence, page furniture or a list marker (checked by _plain below).
FIRST = ["Social", "Managers", "Most", "Many", "Some", "Partners", "Carers", "Staff", "Workers", "Families"]
WORDS = (
    "children families social workers plans assessments managers visits records reviews timely consistent "
    "strong weak effective support quality oversight partners carers health schools police decisions risks "
    "needs staff training supervision and of for with in to young people risk meetings thresholds referrals "
    "decision-making multi-agency up-to-date well-being"
).split()


def _literal_headings() -> dict[str, list[str]]:
    """Heading variants per kind: the plain-words patterns of headings.toml, kept only
    when the vocabulary maps them back to that kind, they are not ignored or titles,
    and they behave as plain headings (see _plain_heading)."""
    raw = tomllib.loads(resources.files("letterparse").joinpath("data/headings.toml").read_text("utf-8"))
    voc = vocabulary()
    out: dict[str, list[str]] = {}
    for kind, patterns in raw["kinds"].items():
        for pattern in patterns:
            for p in expand(pattern):
                key = normalise_heading(p)
                if voc.kind_of(p) != kind or voc.ignore.fullmatch(key) or voc.title.fullmatch(key):
                    continue
                h = p[0].upper() + p[1:]
                if _plain_heading(h, kind):
                    out.setdefault(kind, []).append(h)
                else:
                    SPECIAL.append(h)
    return out


def expand(pattern: str, limit: int = 8) -> list[str]:
    """Every string a pattern made of words, optional parts (``s?``, ``(and )?``),
    alternatives and character classes matches; [] for anything wider (``.*``)."""
    import re._parser as sre  # Python 3.11+

    def walk(items) -> list[str]:
        outs = [""]
        for op, av in items:
            name = str(op)
            if name == "LITERAL":
                alts = [chr(av)]
            elif name == "IN":
                alts = [chr(v) for o, v in av if str(o) == "LITERAL"]
                if len(alts) != len(av):
                    raise ValueError(name)
            elif name == "SUBPATTERN":
                alts = walk(av[3])
            elif name == "BRANCH":
                alts = [x for branch in av[1] for x in walk(branch)]
            elif name in ("MAX_REPEAT", "MIN_REPEAT") and av[1] == 1:
                alts = ([""] if av[0] == 0 else []) + walk(av[2])
            else:
                raise ValueError(name)
            outs = [a + b for a in outs for b in alts][: limit * 4]
        return outs

    try:
        found = walk(sre.parse(pattern))
    except ValueError:
        return []
    return [x for x in dict.fromkeys(found) if re.fullmatch(r"[a-z' ]+", x) and "  " not in x][:limit]


SPECIAL: list[str] = []  # headings with rules of their own (e.g. a grade table follows): not generated


def _plain_heading(h: str, kind: str) -> bool:
    """Between two other headings, with one bullet each, the heading opens a section
    of its kind that keeps its bullet and lets the next heading open its own."""
    item = "\u25fc Social workers visit children often."
    lines = []
    for page, t in enumerate(["Next steps", h, "Next steps"], start=1):
        lines.append(Line(page, t, (72.0, 71.0, 300.0, 82.0), 11.0, True, gap=True))
        lines.append(Line(page, item, (72.0, 93.0, 300.0, 104.0), 11.0, False, gap=True))
    _, secs = segment(tuple(lines))
    return [(s.kind, len(s.findings)) for s in secs] == [("next_steps", 1), (kind, 1), ("next_steps", 1)]


HEADINGS = _literal_headings()
# The segmenter reads a short main-findings heading right after a list section as
# its sub-heading, so generated main-findings sections come before any list section.
EARLY_KINDS = ("main_findings", "headline", "other")


def test_grammar_has_the_core_headings():
    """The headings every family uses behave as plain headings (so the grammar uses them)."""
    core = {"strengths": "Strengths", "improvements": "What needs to improve", "main_findings": "Main findings",
            "next_steps": "Next steps", "headline": "Summary"}
    for kind, h in core.items():
        assert h in HEADINGS.get(kind, []), (h, SPECIAL)
    assert "Areas for improvement" in HEADINGS["improvements"]


# --- the grammar ----------------------------------------------------------------------


@dataclass
class Block:
    marker: str  # "bullet" | "numbered" | "paragraph"
    lines: list[str]  # the printed lines, marker included on the first
    text: str  # what the finding's text must be
    glyph: str = ""
    number: int = 0
    detached: bool = False  # bullet glyph on a line of its own
    page_break_at: int | None = None  # page break before lines[page_break_at]
    break_after: bool = False  # page break after the block


@dataclass
class SectionSpec:
    heading: str
    kind: str
    blocks: list[Block] = field(default_factory=list)

    @property
    def expected(self) -> list[Block]:
        if self.kind in LIST_KINDS and any(b.marker != "paragraph" for b in self.blocks):
            return [b for b in self.blocks if b.marker != "paragraph"]
        return list(self.blocks)


@dataclass
class Doc:
    preamble: list[Block]
    sections: list[SectionSpec]


@st.composite
def sentences(draw, n_max: int = 2) -> list[str]:
    out = []
    for _ in range(draw(st.integers(1, n_max))):
        words = [draw(st.sampled_from(FIRST))] + draw(st.lists(st.sampled_from(WORDS), min_size=3, max_size=22))
        out.append(" ".join(words) + ".")
    return out


def _wrap(draw, words: list[str]) -> list[list[str]]:
    """Words into printed lines; a compound at a line end may break at its hyphen
    ("decision-" / "making"), as line-end hyphens do in the PDFs."""
    words = list(words)
    lines, i = [], 0
    while i < len(words):
        n = draw(st.integers(2, 9))
        line = words[i : i + n]
        i += n
        last = line[-1]
        if i < len(words) and "-" in last and draw(st.booleans()):
            cut = draw(st.sampled_from([k for k, c in enumerate(last) if c == "-"]))
            line[-1] = last[: cut + 1]
            words.insert(i, last[cut + 1 :])
        lines.append(line)
    return lines


@st.composite
def blocks_of(draw) -> Block:
    marker = draw(st.sampled_from(["bullet", "numbered", "paragraph"]))
    sents = draw(sentences(n_max=1 if marker != "paragraph" else 2))
    text = " ".join(sents)
    wrapped = _wrap(draw, text.split(" "))
    assert " ".join(" ".join(w) for w in wrapped).replace("- ", "-") == text
    glyph, number, detached = "", 0, False
    if marker == "bullet":
        glyph = draw(st.sampled_from(GLYPHS))
        detached = glyph != "-" and draw(st.booleans())
    elif marker == "numbered":
        number = 1 if draw(st.booleans()) else 0  # 0: one more than the last item (set by documents)
    lines = [" ".join(w) for w in wrapped]
    # a page break inside the block only where the sentence is unfinished
    candidates = [i for i in range(1, len(lines)) if not lines[i - 1].endswith(".")]
    pb = draw(st.sampled_from(candidates)) if candidates and draw(st.integers(0, 4)) == 0 else None
    return Block(marker, lines, text, glyph, number, detached, pb, draw(st.integers(0, 5)) == 0)


@st.composite
def documents(draw) -> Doc:
    counter = [0]
    preamble = draw(st.lists(sentences(), max_size=1))
    pre = [Block("paragraph", [" ".join(s)], " ".join(s)) for s in preamble]
    n = draw(st.integers(1, 5))
    kinds = draw(st.lists(st.sampled_from(sorted(HEADINGS)), min_size=n, max_size=n))
    kinds = [k for k in kinds if k in EARLY_KINDS] + [k for k in kinds if k not in EARLY_KINDS]
    sections = []
    for kind in kinds:
        heading = draw(st.sampled_from(HEADINGS[kind]))
        if draw(st.integers(0, 3)) == 0:
            heading += "?" if heading.lower().startswith("what") else ":"
        spec = SectionSpec(heading, kind)
        if kind in LIST_KINDS:
            # list sections: items, or prose only, or items with prose (the prose is dropped)
            style = draw(st.sampled_from(["items", "prose", "mixed"]))
        else:
            style = "mixed"
        for _ in range(draw(st.integers(1, 5))):
            b = draw(blocks_of())
            if style == "items" and b.marker == "paragraph":
                b = draw(blocks_of().filter(lambda x: x.marker != "paragraph"))
            if style == "prose" and b.marker != "paragraph":
                continue
            if b.marker == "numbered":
                b.number = b.number or counter[0] + 1
                counter[0] = b.number
            spec.blocks.append(b)
        if not spec.blocks:
            spec.blocks.append(Block("paragraph", ["Staff support children well."], "Staff support children well."))
        sections.append(spec)
    doc = Doc(pre, sections)
    for line in _all_lines(doc):
        assume(_plain(line))
    return doc


def _all_lines(doc: Doc):
    for b in doc.preamble:
        yield from b.lines
    for s in doc.sections:
        for b in s.blocks:
            yield from b.lines


def _plain(line: str) -> bool:
    """A body line the vocabulary cannot mistake for a heading, title or closing."""
    voc = vocabulary()
    key = normalise_heading(line)
    return not (voc.kind_of(line) or voc.title.fullmatch(key) or voc.ignore.fullmatch(key) or voc.closing.match(key))


# --- rendering ---------------------------------------------------------------------------


@dataclass
class Printed:
    text: str
    role: str  # heading | first | cont | para
    gap: bool
    page: int


def printed_lines(doc: Doc) -> list[Printed]:
    """The document as printed lines with page numbers and paragraph gaps."""
    out: list[Printed] = []
    page = 1

    def block_lines(b: Block, role_first: str, role_cont: str) -> None:
        nonlocal page
        lines = list(b.lines)
        if b.marker == "bullet":
            if b.detached:
                out.append(Printed(b.glyph, role_first, True, page))
                role_first = "cont-detached"
            else:
                lines[0] = f"{b.glyph} {lines[0]}"
        elif b.marker == "numbered":
            lines[0] = f"{b.number}. {lines[0]}"
        for i, ln in enumerate(lines):
            if b.page_break_at == i:
                page += 1
            role = role_first if i == 0 else role_cont
            out.append(Printed(ln, role, i == 0 and role != "cont-detached", page))
        if b.break_after:
            page += 1

    for b in doc.preamble:
        block_lines(b, "para", "para")
    for s in doc.sections:
        out.append(Printed(s.heading, "heading", True, page))
        for b in s.blocks:
            if b.marker == "paragraph":
                block_lines(b, "para", "para")
            else:
                block_lines(b, "first", "cont")
    return out


def as_text(doc: Doc, footers: bool) -> str:
    """Plain text: blank lines for gaps, form feeds for page breaks, optional footers; the
    first line names Ofsted, as every Ofsted document does (a letterhead line that clean
    drops), so that the document is not refused as not_ofsted."""
    lines = printed_lines(doc)
    total = lines[-1].page
    parts: list[str] = ["Ofsted"]
    page = 1
    for p in lines:
        while p.page > page:
            if footers:
                parts += ["", f"Page {page} of {total}"]
            parts.append("\f")
            page += 1
        if p.gap and parts and parts[-1] != "\f":
            parts.append("")
        parts.append(p.text)
    text = "\n".join(parts)
    return text.replace("\n\f\n", "\f")


def as_lines(doc: Doc) -> tuple[Line, ...]:
    """PDF-like records: bold headings, markers at x=72 with a hanging indent at 90,
    paragraphs at 72, 14 pt pitch plus 8 pt for a gap, a new page at the top."""
    out = []
    y, page = 80.0, 1
    for p in printed_lines(doc):
        if p.page != page:
            page, y = p.page, 80.0
        elif out:
            y += 14 + (8 if p.gap else 0)
        x0 = 90.0 if p.role in ("cont", "cont-detached") else 72.0
        x1 = min(520.0, x0 + 6 * len(p.text))
        bold = p.role == "heading"
        hyphen = p.text.endswith("-")  # a backend drops the line-end hyphen and flags the line
        text = p.text[:-1] if hyphen else p.text
        out.append(Line(page, text, (x0, y - 9, x1, y + 2), 11.0, bold, gap=p.gap or y == 80.0, hyphen=hyphen))
    return tuple(out)


# --- the properties ------------------------------------------------------------------------


def check_spans(text: str, sections) -> None:
    """Every finding's spans: in bounds, ordered, non-overlapping (across the whole
    letter), and their pieces, joined by the text between them (a space or nothing),
    give the finding's text."""
    all_spans = []
    for s in sections:
        for f in s.findings:
            assert f.spans, f.id
            for sp in f.spans:
                assert 0 <= sp.start < sp.end <= len(text), (f.id, sp)
            pieces = [text[sp.start : sp.end] for sp in f.spans]
            seps = [text[a.end : b.start] for a, b in zip(f.spans, f.spans[1:])]
            assert all(sep in ("", " ") for sep in seps), (f.id, seps)
            joined = pieces[0] + "".join(sep + pc for sep, pc in zip(seps, pieces[1:]))
            assert joined == f.text
            assert text[f.spans[0].start : f.spans[-1].end] == f.text
            if all(sep == " " for sep in seps):
                assert " ".join(pieces) == f.text
            all_spans.extend((sp.start, sp.end) for sp in f.spans)
    all_spans.sort()
    for (_, e1), (s2, _) in zip(all_spans, all_spans[1:]):
        assert e1 <= s2


def check_round_trip(doc: Doc, text: str, sections, headings_too: bool = True) -> None:
    fold = lambda s: " ".join(s.split())  # noqa: E731
    assert [s.kind for s in sections] == [s.kind for s in doc.sections]
    if headings_too:
        assert [s.heading for s in sections] == [fold(s.heading) for s in doc.sections]
    for got, want in zip(sections, doc.sections):
        exp = want.expected
        assert [fold(f.text) for f in got.findings] == [fold(b.text) for b in exp], got.heading
        assert [f.marker for f in got.findings] == [b.marker for b in exp]
        assert all(f.id == f"{got.id}.f{i}" for i, f in enumerate(got.findings, 1))
    check_spans(text, sections)


# LETTERPARSE_FUZZ_EXAMPLES=5000 pytest tests/test_fuzz.py for a deeper search
FUZZ = settings(max_examples=int(os.environ.get("LETTERPARSE_FUZZ_EXAMPLES", "60")), deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


@FUZZ
@given(doc=documents(), footers=st.booleans())
def test_text_letters_round_trip_through_parse(doc, footers, tmp_path_factory):
    from letterparse import parse

    path = tmp_path_factory.mktemp("fuzz") / "letter.txt"
    path.write_text(as_text(doc, footers), encoding="utf-8")
    letter = parse(path, themes=False)
    check_round_trip(doc, letter.text, letter.sections)
    assert "Page " not in " ".join(f.text for f in letter.findings)  # footers never leak into findings
    assert letter.source.pages == printed_lines(doc)[-1].page


@FUZZ
@given(doc=documents())
def test_pdf_like_lines_round_trip_through_segment(doc):
    text, sections = segment(as_lines(doc))
    check_round_trip(doc, text, sections)
    for s, want in zip(sections, doc.sections):
        for f, b in zip(s.findings, want.expected):
            pages = [sp.page for sp in f.spans]
            assert pages == sorted(set(pages))  # one span per page, in page order
            assert len(pages) == 1 + (b.page_break_at is not None)


def test_a_known_grammar_example():
    """One hand-written instance of the grammar, so a failure of the generator itself shows."""
    doc = Doc(
        [],
        [
            SectionSpec("Main findings", "main_findings", [
                Block("paragraph", ["Most staff support children", "and families well."], "Most staff support children and families well."),
            ]),
            SectionSpec("What needs to improve?", "improvements", [
                Block("bullet", ["Some plans for", "children are weak."], "Some plans for children are weak.", glyph="\u25fc", page_break_at=1),
                Block("numbered", ["Managers need training."], "Managers need training.", number=1),
            ]),
        ],
    )
    text, sections = segment(as_lines(doc))
    check_round_trip(doc, text, sections)
    assert [f.spans[0].page for f in sections[1].findings] == [1, 2]
    assert "Page 1 of 2" in as_text(doc, footers=True)


def test_detached_bullet_after_numbered_item_is_its_own_finding():
    """Found by the fuzzer: the glyph's x, not its text line's, says whether a bullet
    is a sub-bullet of the numbered item before it."""
    item = Block("numbered", ["Managers need training."], "Managers need training.", number=1)
    bullet = Block("bullet", ["Some plans are weak."], "Some plans are weak.", glyph="\u25fc", detached=True)
    doc = Doc([], [SectionSpec("Next steps", "next_steps", [item, bullet])])
    text, sections = segment(as_lines(doc))
    assert [f.text for f in sections[0].findings] == ["Managers need training.", "Some plans are weak."]


# --- mutated PDFs ------------------------------------------------------------------------

MUTANTS = int(os.environ.get("LETTERPARSE_FUZZ_MUTANTS", "40"))
TIMEOUT = 30.0  # seconds per parse; a hang is a failure


def _sources(samples: Path) -> list[Path]:
    out = sorted(samples.glob("*.pdf"))
    if (CORPUS / "manifest.csv").exists():
        # small real documents of three families (4, 3 and 12 pages)
        for rel in ("focused-visit/2018-03-01_80511_newham.pdf", "jtai/", "ilacs-2021/"):
            p = CORPUS / rel
            if p.is_file():
                out.append(p)
            elif p.is_dir():
                out.append(sorted(p.glob("*.pdf"), key=lambda q: q.stat().st_size)[0])
    return out


def mutate(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    b = bytearray(data)
    how = rng.choice(["flip", "truncate", "duplicate", "delete", "zero", "xref", "mixed"])
    if how in ("flip", "mixed"):
        lo = 0 if rng.random() < 0.2 else 16  # mostly keep the %PDF- header so the backend is reached
        for _ in range(rng.randint(1, 64)):
            i = rng.randrange(lo, len(b))
            b[i] ^= 1 << rng.randrange(8)
    if how in ("truncate", "mixed"):
        b = b[: rng.randint(16, len(b) - 1)]
    if how in ("duplicate", "mixed"):
        a = rng.randrange(len(b))
        chunk = b[a : a + rng.randint(1, 4096)]
        at = rng.randrange(len(b))
        b[at:at] = chunk * rng.randint(1, 3)
    if how == "delete":
        a = rng.randrange(len(b))
        del b[a : a + rng.randint(1, 8192)]
    if how == "zero":
        a = rng.randrange(len(b))
        b[a : a + rng.randint(1, 2048)] = bytes(min(len(b) - a, 2048))[: len(b[a : a + 2048])]
    if how == "xref":
        # damage the cross-reference table and trailer, where parsers jump by offset
        tail = max(0, len(b) - 2048)
        for m in re.finditer(rb"\d", bytes(b[tail:])):
            if rng.random() < 0.3:
                b[tail + m.start()] = ord(str(rng.randrange(10)))
    return how, bytes(b)


def _parse_outcome(path: str, backend: str) -> tuple[str, str]:
    """Runs in a child process: ("letter", n sections) for a letter that passes
    check_letter, ("typed", class name) for a typed error that passes check_typed, or
    ("other", traceback) for anything else (a bare exception, a failed check)."""
    import traceback

    from letterparse import LetterparseError, parse

    try:
        try:
            letter = parse(path, backend=backend, themes=False)
        except LetterparseError as exc:
            check_typed(exc, path)
            return ("typed", type(exc).__name__)
        check_letter(letter)
        return ("letter", str(len(letter.sections)))
    except BaseException:  # noqa: BLE001 - exactly what this test hunts for; reported, not swallowed
        return ("other", traceback.format_exc())


def check_typed(exc: Exception, path: str) -> None:
    """A typed error of ours that names the file and says what is wrong with it."""
    typed = {c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, errors.LetterparseError)}
    assert type(exc) in typed - {errors.LetterparseError}, type(exc)
    assert exc.code != "error" and exc.message.strip(), (exc.code, exc.message)
    assert exc.path == path and str(exc) == f"{path}: {exc.message}"


def check_letter(letter) -> None:
    """A letter from a (damaged) PDF: spans that slice back to their findings, JSON that
    the schema accepts and that round-trips byte for byte."""
    from letterparse.io import dumps, loads, validate

    check_spans(letter.text, letter.sections)
    validate(letter.to_dict())
    a = dumps(letter)
    assert dumps(loads(a)) == a


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory, samples) -> dict[int, tuple[str, str, str, str]]:
    """Mutant number -> (file name, backend, outcome, detail), all parsed in child
    processes, each allowed TIMEOUT seconds."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures import TimeoutError as FutureTimeout

    sources = _sources(samples)
    rng = random.Random(20261127)
    d = tmp_path_factory.mktemp("mutants")
    files = []
    for i in range(MUTANTS):
        src = sources[i % len(sources)]
        how, data = mutate(src.read_bytes(), rng)
        p = d / f"{i:02d}_{how}_{src.stem[:30]}.pdf"
        p.write_bytes(data)
        files.append((p, "plumber" if i % 4 == 3 else "pdfium"))  # pdfplumber is ~40x slower
    ctx = mp.get_context("forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn")
    out: dict[int, tuple[str, str, str, str]] = {}
    pool = ProcessPoolExecutor(max_workers=2, mp_context=ctx)
    hung = False
    try:
        futures = [pool.submit(_parse_outcome, str(p), backend) for p, backend in files]
        deadline = time.monotonic() + TIMEOUT
        for i, fut in enumerate(futures):
            p, backend = files[i]
            try:
                # each result gets TIMEOUT seconds from the moment the one before it arrived
                res = fut.result(timeout=max(0.0, deadline - time.monotonic()))
            except FutureTimeout:
                res = ("hang", f"no answer in {TIMEOUT:g} s")
                hung = True
            deadline = time.monotonic() + TIMEOUT
            out[i] = (p.name, backend, *res)
            if hung:
                break
    finally:
        if hung:
            for proc in list(getattr(pool, "_processes", {}).values()):
                proc.kill()
        pool.shutdown(wait=True, cancel_futures=True)
    return out


@pytest.mark.parametrize("i", range(MUTANTS))
def test_mutated_pdf_ends_in_a_letter_or_a_typed_error(outcomes, i):
    if i not in outcomes:
        pytest.fail("not parsed: an earlier mutant hung the worker")
    name, backend, outcome, detail = outcomes[i]
    assert outcome in ("letter", "typed"), f"{name} ({backend}): {outcome}\n{detail}"


def _unloadable_second_page() -> bytes:
    """A two-page PDF whose second page object is not a dictionary: the document
    opens and counts two pages, loading page 2 fails.  Page 1 is a complete letter."""
    import io

    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    pages = [[("Helvetica", 760, "Ofsted"), ("Helvetica-Bold", 720, "Strengths"),
              ("Helvetica", 700, "- Leaders know their services well.")],
             [("Helvetica-Bold", 720, "Areas for improvement")]]
    for lines in pages:
        for font, y, text in lines:
            c.setFont(font, 11)
            c.drawString(72, y, text)
        c.showPage()
    c.save()
    data = buf.getvalue()
    page2 = re.search(rb"/Kids \[ \d+ 0 R (\d+) 0 R \]", data).group(1)
    head = page2 + b" 0 obj\n<<"
    i = data.index(head)  # same length replaced: the xref offsets stay right
    return data[:i] + page2 + b" 0 obj\n[[" + data[i + len(head) :]


def test_pdf_with_an_unloadable_page_is_corrupt_for_pdfium(tmp_path):
    """Found by the fuzzer: a page object that cannot be loaded (pdfium raised a bare
    PdfiumError) is a typed CorruptPdf that names the page."""
    from letterparse import parse

    p = tmp_path / "unloadable.pdf"
    p.write_bytes(_unloadable_second_page())
    with pytest.raises(errors.CorruptPdf) as info:
        parse(p, backend="pdfium", themes=False)
    check_typed(info.value, str(p))
    assert "page 2" in info.value.message


def test_pdf_with_an_unloadable_page_is_its_readable_pages_for_pdfplumber(tmp_path):
    """Found by the fuzzer (pdfplumber's close() raised again over the error): pdfminer
    skips a page object that is not a dictionary, so the letter is page 1's."""
    from letterparse import parse

    p = tmp_path / "unloadable.pdf"
    p.write_bytes(_unloadable_second_page())
    letter = parse(p, backend="plumber", themes=False)
    check_letter(letter)
    assert letter.source.pages == 1
    assert [(s.kind, [f.text for f in s.findings]) for s in letter.sections] == [
        ("strengths", ["Leaders know their services well."])]


def test_mutations_reach_both_outcomes(outcomes):
    """The mutants are neither all harmless nor all rejected at the door."""
    kinds = [o[2] for o in outcomes.values()]
    assert "letter" in kinds and "typed" in kinds
    details = {o[3] for o in outcomes.values() if o[2] == "typed"}
    assert details & {"CorruptPdf", "NoTextLayer"}  # some got past sniffing into a backend


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from([" ", "\t", "\n", "\r", "\xa0", "\u2003", "\x0b", "\x1c", "\x85", "a", "B", ".", "-"]), max_size=60))
def test_fast_white_space_squashing_equals_the_plain_regex(s):
    """describe's white-space helpers skip single spaces; the result is still that of ``\\s+`` / ``[ \\t]+``."""
    from letterparse.describe import _BLANKS, _one_space

    assert _one_space(s) == re.sub(r"\s+", " ", s)
    assert _BLANKS.sub(" ", s) == re.sub(r"[ \t]+", " ", s)


_CLOSING_ALPHABET = [" ", "\t", "\n", "\xa0", ":", "?", ".", ";", ",", "–", "-", "’", "‘", "İ", "Y", "y", "T", "x", "1", "2"]


@given(
    st.text(alphabet=st.sampled_from(_CLOSING_ALPHABET), max_size=12),
    st.sampled_from(["yours sincerely", "Yours faithfully,", "If you have any questions", "We will return", "Leaders know", "", "good"]),
    st.text(alphabet=st.sampled_from(_CLOSING_ALPHABET), max_size=8),
)
def test_closing_prefilter_never_hides_a_closing_paragraph(lead, body, tail):
    """segment skips normalising a paragraph whose first kept letter begins no closing
    pattern; whenever it skips, the full check would have said "not closing" too."""
    from letterparse.segment import _may_close

    voc = vocabulary()
    text = lead + body + tail
    full = bool(voc.closing.match(normalise_heading(text[:200]) or " "))
    assert _may_close(text, voc) or not full


def test_closing_prefilter_skips_ordinary_paragraphs():
    from letterparse.segment import _may_close

    voc = vocabulary()
    assert not _may_close("Leaders know their services well.", voc)
    assert not _may_close(" – 12 children were seen.", voc)
    assert _may_close(" - Yours sincerely", voc) and _may_close("If you have any questions", voc)
