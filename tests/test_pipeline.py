"""End to end: files in, Letter records out, on the seed letter and the invented samples."""

from __future__ import annotations

import json
from datetime import date

import pytest

from letterparse import parse
from letterparse.io import dumps, loads, validate


def _shape(letter):
    return [(s.kind, len(s.findings)) for s in letter.sections]


def _check_spans(letter):
    for s in letter.sections:
        for f in s.findings:
            pieces = [letter.text[sp.start : sp.end] for sp in f.spans]
            assert letter.text[f.spans[0].start : f.spans[-1].end] == f.text
            assert " ".join(pieces).split() == f.text.split() or "".join(pieces).replace(" ", "") == f.text.replace(" ", "")
            assert [sp.page for sp in f.spans] == sorted(sp.page for sp in f.spans)


@pytest.mark.parametrize("which", ["text", "pdf"])
def test_seed_letter_gives_four_list_sections(which, seed_path, seed_pdf):
    letter = parse(seed_path if which == "text" else seed_pdf, themes=False)
    assert _shape(letter) == [("strengths", 2), ("satisfactory", 8), ("improvements", 8), ("priority_actions", 1)]
    assert [s.heading for s in letter.sections] == [
        "Strengths", "Satisfactory practice", "Areas for development", "Area for priority action",
    ]
    assert letter.family == "ucra_letter"
    assert letter.authority.name == "Herefordshire"
    assert letter.authority.ons_code == "E06000019"
    assert letter.letter_date == date(2010, 7, 28)
    assert (letter.inspection.start, letter.inspection.end) == (date(2010, 6, 29), date(2010, 6, 30))
    assert letter.inspection.inspectors == ("Martin Davis",)
    assert [f.polarity for f in letter.sections[3].findings] == ["priority"]
    # the bullet broken by the page break is one finding, without furniture inside it
    chron = letter.sections[2].findings[3]
    assert chron.text.startswith("Not all cases have chronologies")
    assert chron.text.endswith("reading a file.")
    _check_spans(letter)


SAMPLE_EXPECTED = {
    "2010_cornwall_contact_referral_assessment": (
        "ucra_letter", "Cornwall", date(2010, 5, 21), date(2010, 4, 14), date(2010, 4, 15), ("Gillian Rosewarne",), {},
        [("strengths", 3), ("satisfactory", 5), ("improvements", 6), ("priority_actions", 1)],
    ),
    "2019_leeds_focused_visit": (
        "focused_visit", "Leeds", date(2019, 3, 29), date(2019, 3, 5), date(2019, 3, 6), ("Rachel Whitcombe", "Daniel Okafor"), {},
        [("headline", 3), ("improvements", 4), ("main_findings", 9)],
    ),
    "2022_wirral_jtai": (
        "jtai_letter", "Wirral", date(2022, 5, 13), date(2022, 3, 7), date(2022, 3, 11), (), {},
        [("headline", 1), ("improvements", 5), ("strengths", 5), ("main_findings", 7), ("other", 1), ("next_steps", 1)],
    ),
    "2023_somerset_ilacs": (
        "ilacs_report", "Somerset", None, date(2023, 2, 6), date(2023, 2, 10), ("Joanna Haverfield",),
        {"overall_effectiveness": "requires_improvement", "impact_of_leaders": "requires_improvement",
         "help_and_protection": "requires_improvement", "children_in_care": "good", "care_leavers": "inadequate"},
        [("improvements", 5), ("main_findings", 7), ("main_findings", 5), ("main_findings", 4), ("main_findings", 5)],
    ),
    "2021_tameside_monitoring_visit": (
        "monitoring_visit", "Tameside", date(2021, 6, 10), date(2021, 5, 12), date(2021, 5, 13),
        ("Louise Hennessy", "Marcus Adeyemi"), {}, None,
    ),
    "2016_wokingham_sif": (
        "sif_report", "Wokingham", None, date(2016, 9, 27), date(2016, 10, 20),
        ("Nadia Crosthwaite", "Peter Linthwaite", "Aisha Rahman", "Colin Thwaites", "Margaret Oduya"),
        {"overall_effectiveness": "good", "impact_of_leaders": "good", "help_and_protection": "good",
         "children_in_care": "good", "care_leavers": "requires_improvement", "adoption_performance": "outstanding",
         "lscb": "requires_improvement"},
        None,
    ),
}


@pytest.mark.parametrize("name", sorted(SAMPLE_EXPECTED))
def test_invented_samples(samples, name):
    family, authority, letter_date, start, end, inspectors, grades, shape = SAMPLE_EXPECTED[name]
    letter = parse(samples / f"{name}.pdf", themes=False)
    assert letter.family == family
    assert letter.authority.name == authority
    assert letter.letter_date == letter_date
    assert (letter.inspection.start, letter.inspection.end) == (start, end)
    assert letter.inspection.inspectors == inspectors
    assert dict(letter.grades) == grades
    if shape is not None:
        assert _shape(letter) == shape
    assert any(len(f.spans) > 1 for f in letter.findings), "each sample splits a finding over a page break"
    _check_spans(letter)
    validate(letter.to_dict())


@pytest.mark.parametrize("name", sorted(SAMPLE_EXPECTED))
def test_json_is_deterministic_and_round_trips(samples, name):
    path = samples / f"{name}.pdf"
    a = dumps(parse(path, themes=False))
    b = dumps(parse(path, themes=False))
    assert a == b
    assert dumps(loads(a)) == a
    d = json.loads(a)
    assert d["schema_version"] == 1
    assert d["source"]["sha256"] and d["source"]["backend"] == "pdfium"


def test_backends_agree_on_structure(samples):
    path = samples / "2019_leeds_focused_visit.pdf"
    a = parse(path, backend="pdfium", themes=False)
    b = parse(path, backend="plumber", themes=False)
    assert _shape(a) == _shape(b)
    assert [f.text for f in a.findings] == [f.text for f in b.findings]
    assert b.source.backend == "plumber"


def test_mark_gaps_sets_only_the_gap_flag():
    """Paragraph gaps come from the line pitch; every other field of a line is kept
    (mark_gaps builds new lines field by field, so a new field must be carried too)."""
    import dataclasses

    from letterparse.extract import mark_gaps
    from letterparse.model import Line, Page

    tops = [100, 115, 130, 160, 175, 190]  # a 15 pt pitch, one 30 pt paragraph gap
    lines = tuple(
        Line(1, f"line {i}", (72.0, y, 300.0, y + 11), 11.0, bold=i == 3, gap=i == 1, hyphen=i == 4)
        for i, y in enumerate(tops)
    )
    out = mark_gaps(Page(1, 595.0, 842.0, lines))
    assert [ln.gap for ln in out.lines] == [True, False, False, True, False, False]
    names = [f.name for f in dataclasses.fields(Line)]
    for a, b in zip(lines, out.lines):
        assert {n: getattr(a, n) for n in names if n != "gap"} == {n: getattr(b, n) for n in names if n != "gap"}
    assert (out.number, out.width, out.height) == (1, 595.0, 842.0)


@pytest.mark.parametrize(
    ("tops", "gaps"),
    [
        # pitches 10, 10, 14, 15: their median is 12 (the two middle ones averaged), so
        # a 15 pt step is a gap (> 12 + 2) and a 14 pt step is not
        ([0, 10, 20, 34, 49], [True, False, False, False, True]),
        # pitches 10, 10, 14: the median is the middle one, 10
        ([0, 10, 20, 34], [True, False, False, True]),
        # a step back up the page starts a new block; steps of 40 pt or more are not pitches
        ([0, 10, 20, 5, 15, 60], [True, False, False, True, False, True]),
    ],
)
def test_mark_gaps_measures_the_pitch_as_the_median_line_step(tops, gaps):
    from letterparse.extract import mark_gaps
    from letterparse.model import Line, Page

    lines = tuple(Line(1, f"line {i}", (72.0, float(y), 300.0, y + 9.0), 11.0) for i, y in enumerate(tops))
    assert [ln.gap for ln in mark_gaps(Page(1, 595.0, 842.0, lines)).lines] == gaps


@pytest.mark.corpus
def test_pdfium_unchecked_calls_read_the_same_lines(samples, monkeypatch, corpus):
    """The pdfium backend calls four PDFium text functions through prototypes without
    ctypes' argument checks (for speed); pypdfium2's own declared functions must give
    the same lines, on our samples and on every 200th corpus PDF."""
    import pypdfium2.raw as raw

    from letterparse.extract import pdfium
    from letterparse.extract import read_checked

    paths = sorted(samples.glob("*.pdf")) + sorted(corpus.rglob("*.pdf"))[::200]
    fast = [pdfium.read_pdf(str(p), read_checked(p), max_pages=500) for p in paths]
    declared = (raw.FPDFText_GetCharBox, raw.FPDFText_GetFontSize, raw.FPDFText_GetFontWeight, raw.FPDFText_GetCharOrigin)
    monkeypatch.setattr(pdfium, "_calls", lambda _raw: declared)
    slow = [pdfium.read_pdf(str(p), read_checked(p), max_pages=500) for p in paths]
    assert fast == slow
    assert sum(len(pg.lines) for pages in fast for pg in pages) > 1000
    assert any(ln.bold for pages in fast for pg in pages for ln in pg.lines)


@pytest.mark.corpus
def test_pdfium_page_text_is_pypdfium2s_get_text_range(samples, corpus):
    """read_pdf opens pages on PDFium's raw handles; its text of a page must be what
    pypdfium2's PdfTextPage.get_text_range gives, on our samples and every 40th corpus PDF."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as raw

    from letterparse.extract import pdfium as backend

    paths = sorted(samples.glob("*.pdf")) + sorted(corpus.rglob("*.pdf"))[::40]
    pages = 0
    for p in paths:
        doc = pdfium.PdfDocument(str(p))
        try:
            for i in range(len(doc)):
                page = doc[i]
                tp = page.get_textpage()
                count = tp.count_chars()
                want = tp.get_text_range(0, count) if count > 0 else ""
                got = backend._text(tp.raw, raw, count) if count > 0 else ""
                assert got == want, (p.name, i + 1)
                pages += bool(want)
                tp.close()
                page.close()
        finally:
            doc.close()
    assert pages > 150


def test_every_record_pickles_as_its_fields(samples):
    # A batch's workers send letters to the parent by pickle: every record class
    # pickles through model._by_fields, except a section, which packs its findings
    # (spans, sentences, theme scores) as plain tuples in model.PACKED_FIELDS's order;
    # whole letters (themes, sentences, dates, authority, extraction records) come back equal.
    import dataclasses
    import pickle

    from letterparse import model
    from letterparse.extract import extract

    records = [c for c in vars(model).values() if isinstance(c, type) and dataclasses.is_dataclass(c) and c.__module__ == model.__name__]
    assert len(records) == 12
    for cls in records:
        assert cls.__reduce__ is (model._pack_section if cls is model.Section else model._by_fields), cls.__name__
        assert cls.__match_args__ == tuple(f.name for f in dataclasses.fields(cls)), cls.__name__
    for cls, names in model.PACKED_FIELDS.items():  # a field added to a packed record must be packed too
        assert names == cls.__match_args__, cls.__name__
    letters = [parse(pdf, themes=True) for pdf in sorted(samples.glob("*.pdf"))]
    letter = letters[[p.name for p in sorted(samples.glob("*.pdf"))].index("2019_leeds_focused_visit.pdf")]
    assert any(f.sentences and f.themes for f in letter.findings) and letter.authority.name and letter.inspection.start
    for x in letters:
        back = pickle.loads(pickle.dumps(x, protocol=pickle.HIGHEST_PROTOCOL))
        assert back == x and back.to_dict() == x.to_dict()
        assert [type(f) for s in back.sections for f in s.findings] == [model.Finding] * len(x.findings)
    raw = extract(samples / "2019_leeds_focused_visit.pdf", "pdfium")
    assert pickle.loads(pickle.dumps(raw)) == raw
