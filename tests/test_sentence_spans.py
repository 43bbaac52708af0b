"""The rule-based sentence splitter behind per-sentence polarity (texts written for this test)."""

from __future__ import annotations

import pytest

from letterparse.nlp import sentence_spans


def _split(text):
    return [text[a:b] for a, b in sentence_spans(text)]


@pytest.mark.parametrize("text,expected", [
    ("Leaders know their services well. Plans are weak.", ["Leaders know their services well.", "Plans are weak."]),
    # abbreviations, initials and section numbers do not end a sentence
    ("Plans, e.g. for care leavers, are reviewed. See para. 4 below.", ["Plans, e.g. for care leavers, are reviewed.", "See para. 4 below."]),
    ("The LADO, Mr. J. Smith, acts quickly. Referrals rise.", ["The LADO, Mr. J. Smith, acts quickly.", "Referrals rise."]),
    # a closing quote or bracket stays with its sentence; ? and ! end sentences
    ("Children said ‘we feel safe.’ Is drift tackled? Yes (mostly.) Good!", ["Children said ‘we feel safe.’", "Is drift tackled?", "Yes (mostly.)", "Good!"]),
    # no capital after the stop: one sentence (decimals, lower-case continuations)
    ("Caseloads average 18.5 per worker. and fall.", ["Caseloads average 18.5 per worker. and fall."]),
    ("One sentence without a stop", ["One sentence without a stop"]),
    ("  Spaces around.   Both sides.  ", ["Spaces around.", "Both sides."]),
    ("", []),
])
def test_sentences(text, expected):
    assert _split(text) == expected


def test_spans_cover_every_non_blank_character_once():
    text = "Leaders invest. However, audits (in 2021) found gaps! Social workers’ caseloads are high. 12 children wait."
    spans = sentence_spans(text)
    covered = [i for a, b in spans for i in range(a, b)]
    assert covered == sorted(set(covered))
    assert {i for i, c in enumerate(text) if not c.isspace()} <= set(covered)
    assert len(spans) == 4
