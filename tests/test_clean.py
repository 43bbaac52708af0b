"""clean: the furniture rules of data/furniture.toml, as (text, dropped?) tables.
All text is invented in the style of the reports."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from letterparse.clean import _lower_case_only, drop_colophon, furniture, is_furniture, not_prose
from letterparse.model import Line


@pytest.mark.parametrize(
    ("text", "dropped"),
    [
        # Ofsted's addresses, phones, e-mail and web addresses
        ("Piccadilly Gate", True),
        ("Store Street", True),
        ("Manchester M1 2WD", True),
        ("Aviation House, 125 Kingsway", True),
        ("T: 0300 123 4567", True),
        ("Textphone: 0161 000 0000", True),
        ("E: enquiries@ofsted.gov.uk", True),
        ("W: www.gov.uk/ofsted", True),
        ("https://example.org/some/report", True),
        ("Ofsted", True),
        # page numbers and protective markings
        ("Page 3 of 12", True),
        ("Page 3", True),
        ("- 4 -", True),
        ("7 of 9", True),
        ("OFFICIAL - SENSITIVE", True),
        ("PROTECT - INSPECTION", True),
        ("© Crown copyright 2021", True),
        # body text that merely mentions these things stays
        ("Ofsted inspectors met leaders in the borough.", False),
        ("Manchester has seen a rise in referrals.", False),
        ("Page 3 of the plan sets out the actions.", False),
        ("10.5% of children live in low-income families.", False),
        ("Lead inspector: Jane Example", False),  # describe reads it; segment drops it
    ],
)
def test_furniture_lines(text, dropped):
    assert is_furniture(Line(1, text)) is dropped


def _doc(pages: list[list[str]]) -> list[Line]:
    return [Line(n, t) for n, lines in enumerate(pages, start=1) for t in lines]


BODY = ["Leaders know their services well.", "Plans are reviewed regularly."]


@pytest.mark.parametrize(
    ("last_page", "kept"),
    [
        # each line of the closing page can open the colophon; it and all after it go
        (["The Office for Standards in Education, Children’s Services and Skills (Ofsted)", "regulates and inspects"], 0),
        (["The Office for Standards in Education, Children's Services and Skills (Ofsted) regulates and"], 0),
        (["If you would like a copy of this document in a different format, such as large print", "or Braille"], 0),
        (["If the local authority would like a copy of this document in a different format"], 0),
        (["You may reuse this information (not including logos) free of charge in any format"], 0),
        (["This report is available at https://reports.example/."], 0),
        (["This publication is available at www.example.gov.uk/ofsted."], 0),
        (["Interested in our work? You can subscribe to our monthly newsletter for more"], 0),
        (["Ofsted has published this report on its website."], 0),
        # the colophon starts after the last findings on the same page
        (["Care leavers are well supported.", "You may reuse this information (not including logos)"], 1),
        # no colophon: nothing dropped
        (["Care leavers are well supported.", "Personal advisers know them well."], 2),
    ],
)
def test_colophon_is_dropped_from_the_last_page(last_page, kept):
    lines = _doc([BODY, last_page])
    assert drop_colophon(lines) == lines[: len(BODY) + kept]


def test_colophon_wording_before_the_last_page_is_kept():
    """A report that quotes the closing wording in its body keeps its text."""
    lines = _doc([["This report is available at the council's offices.", *BODY], BODY])
    assert drop_colophon(lines) == lines


# A text of exactly 25 words (the [not_prose] limit) ending in an e-mail address.
_AT_LIMIT = " ".join(["word"] * 24 + ["help@example.org"])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Contact the team at help@example.org for details.", True),
        ("HELP@EXAMPLE.ORG", True),
        ("See www.example.org/plans for the plan.", True),
        ("Read it at HTTPS://example.org", True),
        ("Telephone 0161 000 0000 to speak to the service.", True),
        ("Write to Example House, Manchester M1 2WD.", True),
        ("write to example house, manchester m1 2wd.", True),
        ("© Crown copyright 2024", True),
        ("CROWN COPYRIGHT", True),
        ("Yours sincerely", True),
        ("  yours faithfully", True),
        ("This letter will be published on the website.", True),
        ("cc: the Director of Children's Services", True),
        ("Copy to the lead member", True),
        (_AT_LIMIT, True),
        # over the word limit, or prose that only looks like it
        ("word " + _AT_LIMIT, False),
        ("Leaders know their services well and review plans at board meetings.", False),
        ("Since 2019, 120 children have been helped by the edge-of-care team.", False),
        ("Social workers see children within 10 days of a referral.", False),
        ("Managers accept that the accuracy of records is yours to check.", False),
        ("Access to the portal @ the front door works well.", False),
        ("", False),
    ],
)
def test_not_prose(text, expected):
    assert not_prose(text) is expected


def test_not_prose_patterns_must_be_lower_case():
    # they are matched against the lower-cased text: an upper-case letter could never match
    assert _lower_case_only(r"\b[a-z]{2}\d\S+") == r"\b[a-z]{2}\d\S+"
    with pytest.raises(ValueError, match="lower case"):
        _lower_case_only(r"\b[A-Z]{2}\d")


# The [not_prose] patterns written to start with the character they need (fast), and
# the plain forms they stand for (data/furniture.toml says why).
_PLAIN = {
    r"@(?<=\S@)\S+\.\w+": r"\S@\S+\.\w+",
    r"0(?<!\w0)\d{3}[ -]?\d{3}[ -]?\d{3,4}\b": r"\b0\d{3}[ -]?\d{3}[ -]?\d{3,4}\b",
    r"\d(?:(?<=\b[a-z]\d)|(?<=\b[a-z]{2}\d))[a-z\d]? ?\d[a-z]{2}\b": r"\b[a-z]{1,2}\d[a-z\d]? ?\d[a-z]{2}\b",
}


def _pattern_pairs() -> list[tuple[re.Pattern, re.Pattern]]:
    fast = furniture().not_prose
    assert set(_PLAIN) <= {p.pattern for p in fast}  # the data still has them
    return [(p, re.compile(_PLAIN[p.pattern])) for p in fast if p.pattern in _PLAIN]


def _agree(texts) -> int:
    hits = 0
    for fast, plain in _pattern_pairs():
        for t in texts:
            got, want = fast.search(t) is not None, plain.search(t) is not None
            assert got == want, (plain.pattern, t)
            hits += want
    return hits


@pytest.mark.parametrize("text", [
    "help@example.org", " @example.org", "a@b.c", "@b.c", "x @ y.z", "01610000000", "a0161 000 0000",
    "_0161 000 0000", "é0161 000 0000", "(0161) 000 0000", "tel:0161-000-0000", "m1 2wd", "am1 2wd",
    "abm1 2wd", "m12 2wd", "x9m1 2wd", "_m1 2wd", "m1 2wdx", "m1a 2wd", "sw1a 2aa", "1 2wd", "m 12wd",
])
def test_fast_not_prose_patterns_match_where_their_plain_forms_do(text):
    _agree([text, text.upper().lower(), f"see {text}.", f"{text}{text}"])


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("@.0123 -_éwdma1x\t")), max_size=24))
def test_fast_not_prose_patterns_agree_on_random_text(text):
    _agree([text])


@pytest.mark.corpus
def test_fast_not_prose_patterns_agree_on_the_corpus_findings(corpus):
    from letterparse import parse
    from letterparse.nlp import sentence_spans

    texts = []
    for path in sorted(corpus.rglob("*.pdf"))[::15]:
        for f in parse(path, themes=False).findings:
            texts.append(f.text.lower())
            texts += [f.text[a:b].lower() for a, b in sentence_spans(f.text)]
    assert len(texts) > 5000
    _agree(texts)
