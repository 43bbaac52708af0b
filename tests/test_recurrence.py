"""Judgement findings are the inspectors' own words, not text Ofsted prints in every
report: across the shared corpus, no judgement finding's opening (its first eight
words, ``finding_key``) recurs in five or more documents unless
``data/recurring_reviewed.toml`` lists it, with a reason, after a review of the
findings themselves."""

from __future__ import annotations

import csv
import re
import tomllib
from collections import defaultdict
from importlib import resources

import pytest

from letterparse import parse
from letterparse.keys import finding_key

pytestmark = pytest.mark.corpus

THRESHOLD = 5  # documents


def _reviewed() -> list[dict]:
    text = resources.files("letterparse").joinpath("data/recurring_reviewed.toml").read_text("utf-8")
    return tomllib.loads(text)["reviewed"]


@pytest.fixture(scope="module")
def documents_by_key(corpus) -> dict[str, set[str]]:
    """finding_key of every judgement finding -> the sha256s of the documents it is in."""
    out: dict[str, set[str]] = defaultdict(set)
    for row in csv.DictReader((corpus / "manifest.csv").open(encoding="utf-8")):
        letter = parse(corpus / row["path"], themes=False)
        for section in letter.sections:
            if section.role == "judgement":
                for f in section.findings:
                    out[finding_key(f.text)].add(letter.source.sha256)
    return out


def test_reviewed_entries_are_well_formed():
    entries = _reviewed()
    keys = [e["key"] for e in entries]
    assert len(keys) == len(set(keys)), "a key is listed twice"
    for e in entries:
        assert set(e) == {"key", "docs", "reason"}, e
        assert re.fullmatch(r"[0-9a-f]{12}", e["key"]), e
        assert isinstance(e["docs"], int) and e["docs"] >= THRESHOLD, e
        assert len(e["reason"].split()) >= 4, e


def test_no_unreviewed_judgement_opening_recurs(documents_by_key):
    reviewed = {e["key"] for e in _reviewed()}
    recurring = {k: len(v) for k, v in documents_by_key.items() if len(v) >= THRESHOLD}
    unreviewed = {k: n for k, n in recurring.items() if k not in reviewed}
    assert not unreviewed, (
        "judgement findings whose opening recurs in 5+ documents: read them; make them context or "
        f"furniture, or list them in data/recurring_reviewed.toml with a reason: {unreviewed}"
    )


def test_reviewed_entries_are_not_stale(documents_by_key):
    stale, grown = [], []
    for e in _reviewed():
        n = len(documents_by_key.get(e["key"], ()))
        if n < THRESHOLD:
            stale.append((e["key"], n))
        elif n > e["docs"]:
            grown.append((e["key"], e["docs"], n))  # new documents share it: review them too
    assert not stale, f"listed openings that no longer recur in {THRESHOLD}+ documents: {stale}"
    assert not grown, f"listed openings now in more documents than were reviewed: {grown}"
