"""describe on every shared corpus PDF (extract + clean + describe, cheaper than a full parse):
every document has a year, the framework matches its folder, the printed dates are read.

The tables below name corpus documents by path and say why they are exceptions; they hold
no text from the documents.
"""

from __future__ import annotations

import csv
from datetime import date

import pytest

from letterparse import vocab
from letterparse.clean import clean
from letterparse.describe import Description, describe
from letterparse.extract import extract

pytestmark = pytest.mark.corpus

FRAMEWORK_OF_FOLDER = {
    "area-send": "area_send",
    "focused-visit": "focused_visit",
    "ilacs-2018": "ilacs",
    "ilacs-2021": "ilacs",
    "jar-2009": "jar",
    "jtai": "jtai",
    "lac-2013": "lac",
    "sif": "sif",  # LSCB reviews published with SIF inspections too
}

# Folder members that are really another kind: path -> (framework, reason).  Checked by
# hand: every focused-visit letter is titled "Focused visit to ..." (none is a monitoring
# visit), every sif/ report is a SIF inspection with its LSCB review, so none so far.
FRAMEWORK_EXCEPTIONS: dict[str, tuple[str, str]] = {}

# Folders whose documents print no publication or letter date (checked by hand: the
# first page has only the inspection dates, the closing page only "© Crown copyright YYYY").
UNDATED_FOLDERS = {
    "ilacs-2018": "ILACS reports print inspection dates only",
    "ilacs-2021": "ILACS reports print inspection dates only",
    "area-send": "area SEND reports print inspection dates only",
}

# Documents elsewhere that print no readable date of their own: path -> reason.
UNDATED = {
    "sif/2014-03-21_80432_bolton.pdf": "the first SIF reports (March 2014) have no 'Report published' line",
    "sif/2014-03-21_80467_east-sussex.pdf": "the first SIF reports (March 2014) have no 'Report published' line",
    "sif/2014-03-21_80561_staffordshire.pdf": "the first SIF reports (March 2014) have no 'Report published' line",
    "focused-visit/2024-10-31_2637539_north-northamptonshire.pdf": "the letter is undated (no date line, no address block)",
    "focused-visit/2025-08-29_80445_cambridgeshire.pdf": "the letter is undated (address block, no date line)",
    "focused-visit/2025-11-06_80528_north-somerset.pdf": "the letter's date has a five-digit year (a typing slip)",
}

# Printed dates more than a week from Ofsted's listing date (manifest.csv): path -> reason.
PUBLISHED_AWAY_FROM_LISTING = {
    "focused-visit/2020-01-21_80464_dudley.pdf": "the letter, listed in January 2020, is dated January of the year before",
}

MAX_DAYS_FROM_LISTING = 7
MAX_DAYS_FIELDWORK_TO_LISTING = 200


@pytest.fixture(scope="module")
def described(corpus) -> dict[str, tuple[dict[str, str], Description]]:
    rows = list(csv.DictReader((corpus / "manifest.csv").open(encoding="utf-8")))
    return {row["path"]: (row, describe(clean(extract(corpus / row["path"])))) for row in rows}


def test_the_exception_tables_name_corpus_documents(described):
    for table in (FRAMEWORK_EXCEPTIONS, UNDATED, PUBLISHED_AWAY_FROM_LISTING):
        assert set(table) <= set(described)
    assert set(UNDATED_FOLDERS) <= set(FRAMEWORK_OF_FOLDER)


def test_every_document_has_a_year(described):
    yearless = [path for path, (_, d) in described.items() if (d.inspection.end or d.published) is None]
    assert yearless == []


def test_framework_matches_the_folder(described):
    wrong = {}
    for path, (_, d) in described.items():
        expected = FRAMEWORK_EXCEPTIONS.get(path, (FRAMEWORK_OF_FOLDER[path.split("/")[0]], ""))[0]
        if d.framework != expected:
            wrong[path] = d.framework
    assert wrong == {}
    assert {d.framework for _, d in described.values()} <= set(vocab.FRAMEWORKS)


def test_published_is_read_wherever_the_document_prints_it(described):
    expected_undated = {
        path for path in described if path.split("/")[0] in UNDATED_FOLDERS or path in UNDATED
    }
    undated = {path for path, (_, d) in described.items() if d.published is None}
    assert undated == expected_undated
    assert len(described) - len(undated) >= 410  # measured: 410 of 677 documents print a date


def test_published_agrees_with_the_listing(described):
    far = {}
    for path, (row, d) in described.items():
        listed = date.fromisoformat(row["published"])
        if d.published is not None and abs((d.published - listed).days) > MAX_DAYS_FROM_LISTING:
            far[path] = d.published.isoformat()
    assert set(far) == set(PUBLISHED_AWAY_FROM_LISTING)


def test_fieldwork_ends_before_the_listing(described):
    odd = {}
    for path, (row, d) in described.items():
        listed = date.fromisoformat(row["published"])
        end = d.inspection.end
        if end is not None and not 0 <= (listed - end).days <= MAX_DAYS_FIELDWORK_TO_LISTING:
            odd[path] = (d.inspection.start, end)
        if d.inspection.start is not None and d.inspection.start > end:
            odd[path] = (d.inspection.start, end)
    assert odd == {}


def test_letters_keep_their_letter_date_as_published(described):
    for _, d in described.values():
        if d.letter_date is not None:
            assert d.published == d.letter_date


# LAC overall grades, checked by hand against each report's body heading and its
# last-page table: (as printed, harmonised).  overall_effectiveness is the overall
# effectiveness of the looked after children services (data/describe.toml).  Ofsted's
# history (lookups/ofsted_csc_ilacs_history.csv) lists all four as data_unreadable.
LAC_OVERALL = {
    "lac-2013/2013-08-02_80549_sandwell.pdf": ("inadequate", "inadequate"),
    "lac-2013/2013-08-16_80418_norfolk.pdf": ("inadequate", "inadequate"),
    "lac-2013/2013-08-23_80476_kent.pdf": ("adequate", "requires_improvement"),
    "lac-2013/2013-08-23_80522_medway.pdf": ("inadequate", "inadequate"),
}


def test_every_lac_report_has_its_overall_grade(described):
    lac = {path for path, (_, d) in described.items() if d.framework == "lac"}
    assert lac == set(LAC_OVERALL)
    got = {
        path: (dict(d.grades_raw).get("overall_effectiveness"), dict(d.grades).get("overall_effectiveness"))
        for path, (_, d) in described.items() if path in lac
    }
    assert got == LAC_OVERALL


def test_jar_reports_have_no_grades(described):
    # the 2009 JAR progress inspection judges progress in prose, not on the 4-point scale
    jar = [d for _, d in described.values() if d.framework == "jar"]
    assert jar and all(d.grades == () for d in jar)
