"""segment: section roles (judgement or context), furniture and boilerplate
paragraphs, and paragraph numbers as markers.  Lines are built by hand from
invented text: "# " marks a bold heading, a blank line a paragraph gap."""

from __future__ import annotations

import pytest

from letterparse.model import Line
from letterparse.segment import segment


def _lines(markup: str) -> tuple[Line, ...]:
    out: list[Line] = []
    gap = False
    for raw in markup.strip().splitlines():
        if not raw.strip():
            gap = True
            continue
        bold = raw.startswith("# ")
        out.append(Line(1, raw[2:] if bold else raw, bold=bold, gap=gap or bold))
        gap = False
    return tuple(out)


def _sections(markup: str):
    text, sections = segment(_lines(markup))
    for s in sections:
        for f in s.findings:
            assert text[f.spans[0].start : f.spans[-1].end] == f.text
    return sections


# --- roles ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("heading", "role"),
    [
        ("Summary for children and young people", "context"),
        ("Information about this inspection", "context"),
        ("Information about this local authority area", "context"),
        ("The inspection team", "context"),
        ("Previous Ofsted inspections", "context"),
        ("Children living in this area", "context"),
        ("What the inspection judgements mean: the local authority", "context"),
        ("Next steps", "context"),
        ("Areas for improvement", "judgement"),
        ("Strengths", "judgement"),
        ("Priority actions", "judgement"),
        ("Headline findings", "judgement"),
        ("Main findings", "judgement"),
        ("The impact of leaders on social work practice with children and families: good", "judgement"),
        ("Case study: highly effective practice", "judgement"),
    ],
)
def test_role_from_heading(heading, role):
    (section,) = _sections(f"# {heading}\nInspectors found that the service is improving.")
    assert section.role == role


@pytest.mark.parametrize(
    ("before", "role"),
    [
        # an unknown heading takes the role of the known section it follows...
        ("Information about this local authority area", "context"),
        ("Main findings", "judgement"),
        # ...and a sub-heading of a list section its parent's
        ("Areas for improvement", "judgement"),
    ],
)
def test_unknown_heading_inherits_its_role(before, role):
    sections = _sections(f"""
# {before}
Families in the borough are supported well.
# Young carers in the borough
Young carers are identified early and helped.
""")
    assert [s.heading for s in sections] == [before, "Young carers in the borough"]
    assert sections[1].role == role


def test_a_judgement_heading_ends_an_inherited_context():
    sections = _sections("""
# Information about this local authority area
# Families in the borough
Around one in five children live in low-income families.
# Inspection judgements about the local authority
Inspectors found some weak practice.
""")
    assert [s.role for s in sections] == ["context", "context", "judgement"]


# --- furniture and boilerplate paragraphs ------------------------------------------


@pytest.mark.parametrize(
    ("paragraph", "kept"),
    [
        ("Lead inspector: Jane Example", False),
        ("Deputy lead inspector: John Example HMI", False),
        ("Team inspectors: A Person, B Person", False),
        ("Senior data analyst: C Person", False),
        ("Quality assurance manager: D Person", False),
        ("Any complaints about the inspection or the report should be made following the procedures.", False),
        ("Lead inspectors met with the director.", True),
        ("Inspectors: the team met with leaders.", True),
    ],
)
def test_sign_off_lines_are_never_findings(paragraph, kept):
    (section,) = _sections(f"""
# Main findings
Leaders know their services well.

{paragraph}
""")
    assert [f.text for f in section.findings] == ["Leaders know their services well."] + ([paragraph] if kept else [])


def test_grade_definitions_alone_make_a_section_context():
    (section,) = _sections("""
# The LSCB
An outstanding LSCB is highly influential in improving the care of children in the area.

An LSCB that is good coordinates the activity of statutory partners.
""")
    assert section.kind == "main_findings"
    assert section.role == "context"
    assert len(section.findings) == 2  # kept, as context


def test_grade_definition_inside_a_judgement_section_is_dropped():
    (section,) = _sections("""
# Main findings
Leaders know their services well.

A good local authority leads effective services that help and protect children.

Adoption performance Good

Inadequate
""")
    assert section.role == "judgement"
    assert [f.text for f in section.findings] == ["Leaders know their services well."]


# --- paragraph numbers -------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "text"),
    [
        ("1.Strong leadership is evident.", "Strong leadership is evident."),
        ("1. Strong leadership is evident.", "Strong leadership is evident."),
        ("1 .Strong leadership is evident.", "Strong leadership is evident."),
        ("1 . Strong leadership is evident.", "Strong leadership is evident."),
        ("1.‘Strong’ leadership is evident.", "‘Strong’ leadership is evident."),
    ],
)
def test_paragraph_numbers_are_markers_whatever_the_spacing(first, text):
    (section,) = _sections(f"""
# Main findings
{first}

2.Plans are reviewed
regularly by managers.

3.Care leavers are supported well.
""")
    assert [f.marker for f in section.findings] == ["numbered"] * 3
    assert [f.text for f in section.findings] == [
        text, "Plans are reviewed regularly by managers.", "Care leavers are supported well.",
    ]


@pytest.mark.parametrize(
    ("line", "marker", "text"),
    [
        ("10.5% of children live in low-income families.", "paragraph", "10.5% of children live in low-income families."),
        ("2.3 million pounds has been invested in services.", "paragraph", "2.3 million pounds has been invested in services."),
        ("1.Leaders know their services well.", "numbered", "Leaders know their services well."),
        ("1 .Leaders know their services well.", "numbered", "Leaders know their services well."),
    ],
)
def test_a_number_at_a_line_start_is_a_marker_only_before_words(line, marker, text):
    (section,) = _sections(f"# Main findings\n{line}")
    (finding,) = section.findings
    assert (finding.marker, finding.text) == (marker, text)


# --- the document's words for line-end hyphens ---------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_WORDISH = list("aAbB-- \n.Kké\u212a\u0130") + ["ab", "ba", "a-b"]


def _listed(text: str) -> set[str]:
    from letterparse.segment import _WORD

    return {w.lower() for w in _WORD.findall(text)}


@settings(max_examples=600, deadline=None)
@given(st.lists(st.sampled_from(_WORDISH), max_size=30).map("".join), st.lists(st.sampled_from(list("ab-")), min_size=1, max_size=5).map("".join))
def test_document_words_answer_as_the_listed_words_do(text, word):
    from letterparse.segment import _DocumentWords

    words = _DocumentWords(text)
    for w in {word, *_listed(text), *(x.lower() for x in _listed(text.upper()))}:
        assert (w in words) == (w in _listed(text)), (text, w)


def test_only_two_characters_lower_case_into_ascii_or_change_length():
    # _DocumentWords lower-cases a text with str.lower unless one of these is in it
    import sys

    odd = [c for c in map(chr, range(128, sys.maxunicode + 1)) if (low := c.lower()) != c and (len(low) != 1 or low.isascii())]
    assert odd == ["\u0130", "\u212a"]


@pytest.mark.parametrize(
    ("text", "word", "found"),
    [
        ("the decision-making panel", "decision-making", True),
        ("the decision-making panel", "making", False),  # inside a hyphenated word
        ("a non--making case", "making", True),  # a double hyphen joins nothing
        ("-making", "making", True),
        ("Overmaking", "making", False),
        ("\u212aids and kids", "kids", True),
        ("\u212aids only", "kids", False),  # the Kelvin sign is not a letter k here
        ("\u0130tems", "tems", True),
        ("Well-Being", "well-being", True),
        ("well-being-work", "well-being", False),
    ],
)
def test_document_words_table(text, word, found):
    from letterparse.segment import _DocumentWords

    assert (word in _DocumentWords(text)) is found
    assert (word in _listed(text)) is found
