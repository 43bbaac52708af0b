"""describe: dates, framework and grades as printed, on invented text in the shapes the corpus prints."""

from __future__ import annotations

from datetime import date

import pytest

from letterparse import describe as d
from letterparse import vocab
from letterparse.model import Line


def lines(text: str, page: int = 1) -> tuple[Line, ...]:
    return tuple(Line(page, t) for t in text.strip("\n").split("\n"))


# --- single dates ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text_in", "expected"),
    [
        ("6 May 2029", date(2029, 5, 6)),
        ("  6th May 2029 ", date(2029, 5, 6)),
        ("23 Sept 2029", date(2029, 9, 23)),
        ("10/08/2029", date(2029, 8, 10)),  # day first
        ("1/6/2029", date(2029, 6, 1)),
        ("1/06/29", date(2029, 6, 1)),
        ("31 February 2029", None),
        ("10/13/2029", None),  # no thirteenth month
        ("6 November 20295", None),  # a mistyped year is not read
        ("Inspection date: 6 May 2029", None),  # the whole text must be the date
        ("May 2029", None),
    ],
)
def test_parse_date(text_in, expected):
    assert d.parse_date(text_in) == expected


@pytest.mark.parametrize(
    ("text_in", "expected"),
    [
        ("Report published: 10 August 2029", date(2029, 8, 10)),
        ("Report published: 4 August 2029", date(2029, 8, 4)),
        ("Report published: 10/08/2029", date(2029, 8, 10)),
        ("Published: 3 July 2029", date(2029, 7, 3)),
        ("published 3 July 2029", date(2029, 7, 3)),
        ("Age group: All\nPublished: 13 July 2029\nReference no: 999", date(2029, 7, 13)),
        ("published in June 2029. The judgements for the local authority were:", None),
        ("This letter will be published on the Ofsted website.", None),
        ("Inspection dates: 3 to 7 June 2029", None),
    ],
)
def test_detect_published(text_in, expected):
    assert d.detect_published(list(lines(text_in))) == expected


# --- inspection dates --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text_in", "expected"),
    [
        # ILACS report headers
        ("Inspection dates: 12 to 16 March 2029", (date(2029, 3, 12), date(2029, 3, 16))),
        ("Inspection dates: 2 to 6 March 2029", (date(2029, 3, 2), date(2029, 3, 6))),
        ("Inspection dates: 27 February to 3 March 2029", (date(2029, 2, 27), date(2029, 3, 3))),
        ("Inspection dates: 8 January 2029 to 19 January 2029", (date(2029, 1, 8), date(2029, 1, 19))),
        ("Inspection dates: 8 Jan 2029 to 19 Jan 2029", (date(2029, 1, 8), date(2029, 1, 19))),
        ("Inspection dates: 8 – 19 January 2029", (date(2029, 1, 8), date(2029, 1, 19))),
        ("Inspection dates: 8–19 January 2029", (date(2029, 1, 8), date(2029, 1, 19))),
        ("Inspection dates: 24-28 June 2029", (date(2029, 6, 24), date(2029, 6, 28))),
        # inspections in two parts: first day to last day
        ("Inspection dates: 4 to 8 June 2029 and 16 to 18 July 2029", (date(2029, 6, 4), date(2029, 7, 18))),
        ("Inspection dates: 2 to 6 December 2028 and 13 to 14 February 2029", (date(2028, 12, 2), date(2029, 2, 14))),
        ("Inspection dates: 30 September to 4 October 2028 and 13 to 16 January 2029", (date(2028, 9, 30), date(2029, 1, 16))),
        ("Inspection dates: 8 July 2029 to 12 July 2029 and 5 August 2029 to\n6 August 2029", (date(2029, 7, 8), date(2029, 8, 6))),
        # SIF report headers
        ("Inspection date: 14 January – 5 February 2029", (date(2029, 1, 14), date(2029, 2, 5))),
        ("Inspection date: 14 January 2029- 5 February 2029", (date(2029, 1, 14), date(2029, 2, 5))),
        ("Inspection date: 14 January 2029 - 5 February 2029", (date(2029, 1, 14), date(2029, 2, 5))),
        ("Inspection date: 12 May–3 June 2029", (date(2029, 5, 12), date(2029, 6, 3))),
        ("Inspection date: 1/06/2029 – 25/06/2029", (date(2029, 6, 1), date(2029, 6, 25))),
        ("Inspection dates: 12/01/2029 to 04/02/2029", (date(2029, 1, 12), date(2029, 2, 4))),
        ("Inspection date: 30 November 2028 – 21 December 2028", (date(2028, 11, 30), date(2028, 12, 21))),
        # letters: the fieldwork in a sentence
        ("This letter summarises the findings of a focused visit to Anytown\nchildren's services on 3 and 4 May 2029.",
         (date(2029, 5, 3), date(2029, 5, 4))),
        ("the findings of a focused visit to Anytown children's services\non the 3 and 4 of May 2029. The inspectors were",
         (date(2029, 5, 3), date(2029, 5, 4))),
        ("a focused visit to Anytown children's services on\n27 and 28 September, and 1 October 2029. The visit was",
         (date(2029, 9, 27), date(2029, 10, 1))),
        ("Between 5 March 2029 and 9 March 2029, Ofsted, the Care Quality Commission", (date(2029, 3, 5), date(2029, 3, 9))),
        ("The inspection took place from 11 to 15 June 2029.", (date(2029, 6, 11), date(2029, 6, 15))),
        # a start year mistyped as the year before: the end's year is taken
        ("a focused visit to Anytown children's services on 24 October 2028 to 25 October 2029.",
         (date(2029, 10, 24), date(2029, 10, 25))),
        # not fieldwork
        ("The previous inspection was in 2025.", (None, None)),
        ("the findings of a focused visit to Anytown children's services on 13 and 14 July.", (None, None)),
        ("between 2 January 2028 and 2 January 2029 the service grew", (None, None)),
    ],
)
def test_detect_inspection_dates(text_in, expected):
    assert d.detect_inspection_dates(text_in) == expected


@pytest.mark.parametrize(
    ("text_in", "letter_date", "expected"),
    [
        # year-less ranges take the letter's year ...
        ("a focused visit to Anytown children's services on 13 and 14 July. The inspectors",
         date(2029, 8, 23), (date(2029, 7, 13), date(2029, 7, 14))),
        ("Between 16 May and 20 May, Ofsted, the Care Quality Commission", date(2029, 7, 1), (date(2029, 5, 16), date(2029, 5, 20))),
        ("from 30 April to 4 May, inspectors", date(2029, 6, 1), (date(2029, 4, 30), date(2029, 5, 4))),
        # ... or the year before, when the letter is written early in the next year
        ("a focused visit to Anytown children's services on 11 and 12 December. The",
         date(2030, 1, 20), (date(2029, 12, 11), date(2029, 12, 12))),
        ("There is no date here.", date(2029, 8, 23), (None, None)),
    ],
)
def test_detect_inspection_dates_without_year(text_in, letter_date, expected):
    assert d.detect_inspection_dates(text_in, default_year=letter_date.year, before=letter_date) == expected


# --- framework -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text_in", "expected"),
    [
        ("Dear Ms Smith\nFocused visit to Anytown children's services\nThis letter summarises", "focused_visit"),
        ("Dear Mr Jones\nMonitoring visit to Anytown children's services\nThis letter summarises the\n"
         "findings of the monitoring visit; the next focused visit to Anytown", "monitoring_visit"),
        ("Dear local partnership\nJoint targeted area inspection of the multi-agency response to\nabuse in Anytown",
         "jtai"),
        ("Anytown Council\nInspection of children's social care services\nInspection dates: 2 to 6 March 2029",
         "ilacs"),
        ("Anytown Council\nInspection of local authority children's services\nInspection dates: 2 to 6 March 2029",
         "ilacs"),
        ("Anytown Council\nInspection of services for children in need of help and\nprotection, children looked after "
         "and care leavers\nand\nReview of the effectiveness of the local safeguarding children\nboard1", "sif"),
        ("Anytown Council\nReview of the effectiveness of the local safeguarding children\nboard", "sif"),
        ("Inspection of looked after children\nservices\nAnytown Council\nInspection dates: 4 – 8 June 2029", "lac"),
        ("Inspection of safeguarding and looked after children services\nAnytown Council", "lac"),
        ("Inspection of progress made in the provision\nof safeguarding services in the London\nBorough of Anytown",
         "jar"),
        ("Local area partnership report\nArea SEND inspection of Anytown Local Area\nPartnership", "area_send"),
        ("Unannounced inspection of contact, referral and assessment arrangements within\nAnytown children's services",
         "ucra"),
        ("Annual report of the Anytown Safeguarding Partnership", "other"),
    ],
)
def test_detect_framework(text_in, expected):
    assert d.detect_framework(text_in) == expected


def test_rules_name_only_known_families_and_frameworks():
    rules = d._rules()
    assert {name for name, _ in rules["family"]} <= set(vocab.FAMILIES)
    assert {name for name, _ in rules["framework"]} == set(vocab.FRAMEWORKS) - {"other"}
    assert {key for table in rules["grades"].values() for key, _ in table} <= set(vocab.GRADE_KEYS)
    assert set(rules["grades"]) <= set(vocab.FRAMEWORKS)  # grade tables are keyed by framework
    for framework, keys in rules["grades_whole_text"].items():
        assert set(keys) <= {key for key, _ in rules["grades"][framework]}


def test_vocabularies_are_vocab_s():
    assert d.FAMILIES is vocab.FAMILIES
    assert d.GRADE_WORDS is vocab.GRADE_WORDS
    assert d.GRADE_KEYS is vocab.GRADE_KEYS


# --- grades as printed ---------------------------------------------------------------

SIF_TABLE = """
Anytown Council
Inspection of services for children in need of help and
protection, children looked after and care leavers
and
Review of the effectiveness of the local safeguarding children
board1
Inspection date: 1/06/2029 – 25/06/2029
Report published: 10/08/2029
Children's services in Anytown require improvement to be
good
1. Children who need help and protection Requires
improvement
2. Children looked after and achieving permanence Good
2.1 Adoption performance Outstanding
2.2 Experiences and progress of care leavers Requires improvement
3. Leadership, management and governance Inadequate
The effectiveness of the Local Safeguarding Children Board (LSCB) requires
improvement.
"""

ILACS_TABLE = """
Anytown Borough Council
Inspection of local authority children's services
Inspection dates: 2 to 13 March 2029
Lead inspector: Jane Example, His Majesty's Inspector
Judgement Grade
The impact of leaders on social work practice with
children and families Requires improvement to be good
The experiences and progress of children who need help
and protection Good
The experiences and progress of children in care Inadequate
The experiences and progress of care leavers Outstanding
Overall effectiveness Requires improvement to be good
"""


# A LAC report (2013 shape): no grades on its first pages; each judgement is a body
# heading over "Grade N (word)", on the old scale.  Its overall_effectiveness is the
# overall effectiveness of the looked after children services (data/describe.toml).
LAC_REPORT = """
Inspection of looked after children
services
Anytown Council
Inspection dates: 24 – 28 June 2029
Reporting inspector Ann Smith HMI
Age group: All
Published: 2 August 2029
"""
LAC_BODY = """
Contents
Overall effectiveness of services for looked after children and young people 6
Leadership and management 19
Overall effectiveness of services for looked
after children and young people
Grade 3 (Adequate)
1. Services for looked after children in Anytown are adequate.
Capacity to improve
Grade 2 (Good)
Outcomes for looked after children and young
people
Grade 4 (Inadequate)
Leadership and management
Grade 4 (Inadequate)
"""

# The JAR progress inspection (2009) judges progress in prose: no 4-point grade to read.
JAR_REPORT = """
Inspection of progress made in the provision
of safeguarding services in the London
Borough of Anytown
Published: 3 July 2029
Overall judgement on progress since December 2028
1. The council has made limited progress overall. Assessments are adequate in
some teams and inadequate in others.
"""


@pytest.mark.parametrize(
    ("text_in", "family", "expected_raw", "expected"),
    [
        (
            (LAC_REPORT, LAC_BODY), "other",
            {"overall_effectiveness": "adequate", "impact_of_leaders": "inadequate"},
            {"overall_effectiveness": "requires_improvement", "impact_of_leaders": "inadequate"},
        ),
        (JAR_REPORT, "other", {}, {}),  # JAR judges progress in prose: no grades
        (
            SIF_TABLE, "sif_report",
            {"overall_effectiveness": "require improvement to be good", "help_and_protection": "requires improvement",
             "children_in_care": "good", "adoption_performance": "outstanding",
             "care_leavers": "requires improvement", "impact_of_leaders": "inadequate", "lscb": "requires improvement"},
            {"overall_effectiveness": "requires_improvement", "help_and_protection": "requires_improvement",
             "children_in_care": "good", "adoption_performance": "outstanding",
             "care_leavers": "requires_improvement", "impact_of_leaders": "inadequate", "lscb": "requires_improvement"},
        ),
        (
            ILACS_TABLE, "ilacs_report",
            {"impact_of_leaders": "requires improvement to be good", "help_and_protection": "good",
             "children_in_care": "inadequate", "care_leavers": "outstanding",
             "overall_effectiveness": "requires improvement to be good"},
            {"impact_of_leaders": "requires_improvement", "help_and_protection": "good",
             "children_in_care": "inadequate", "care_leavers": "outstanding",
             "overall_effectiveness": "requires_improvement"},
        ),
    ],
)
def test_grades_raw_and_harmonised(text_in, family, expected_raw, expected):
    # a pair is (first page, page 6): the body of a longer report
    desc = d.describe(lines(text_in) if isinstance(text_in, str) else lines(text_in[0]) + lines(text_in[1], page=6))
    assert desc.family == family
    assert dict(desc.grades_raw) == expected_raw
    assert dict(desc.grades) == expected
    assert [k for k, _ in desc.grades_raw] == [k for k, _ in desc.grades]  # same keys, same order


@pytest.mark.parametrize(
    ("text_in", "framework", "expected"),
    [
        ("Overall effectiveness of services for looked after children\nGrade 1 (Outstanding)", "lac",
         {"overall_effectiveness": "outstanding"}),
        ("Overall effectiveness of services for looked after children and young people\nGrade 3 (adequate)", "lac",
         {"overall_effectiveness": "adequate"}),
        ("Leadership and management\nGrade 2 (Good)", "lac", {"impact_of_leaders": "good"}),
        # a contents line or the prose carries no grade
        ("Overall effectiveness of services for looked after children and young people 6", "lac", {}),
        ("The overall effectiveness of services for looked after children is adequate.", "lac", {}),
        # capacity to improve fits no grade key
        ("Capacity to improve\nGrade 2 (Good)", "lac", {}),
        # patterns are the framework's: the same line under ILACS or JAR reads nothing
        ("Overall effectiveness of services for looked after children\nGrade 1 (Outstanding)", "ilacs", {}),
        ("Overall effectiveness Good", "jar", {}),
        ("Overall effectiveness Good", "ilacs", {"overall_effectiveness": "good"}),
        # the early SIF reports (2014-15) state the overall judgement in one sentence
        ("The overall judgement is that children's services are inadequate\nThere are widespread failures", "sif",
         {"overall_effectiveness": "inadequate"}),
        ("The overall judgement is that children's services are good", "sif", {"overall_effectiveness": "good"}),
        ("The overall judgement is requires improvement", "sif", {"overall_effectiveness": "requires improvement"}),
        ("The overall judgement is that children's services require improvement", "sif",
         {"overall_effectiveness": "require improvement"}),
        ("Children's services in Exampleshire are good because:", "sif", {"overall_effectiveness": "good"}),
    ],
)
def test_detect_grades_raw_by_framework(text_in, framework, expected):
    assert dict(d.detect_grades_raw(text_in, framework)) == expected


# --- the whole description -------------------------------------------------------------

FOCUSED_VISIT = """
28 November 2029
Ms Jane Example
Director of Children's Services
Dear Ms Example
Focused visit to Anytown children's services
This letter summarises the findings of the focused visit to Anytown children's
services on 24 and 25 October. His Majesty's Inspectors for this visit were Ann Smith
and Bob Brown.
"""

JAR = """
Inspection of progress made in the provision
of safeguarding services in the London
Borough of Anytown
Age group: All
Published: 3 July 2029
Reference no: 999
"""

UNDATED_LETTER = """
Dear Ms Example
Focused visit to Anytown children's services
This letter summarises the findings of the focused visit to Anytown children's
services on 1 and 2 October 2029.
"""


@pytest.mark.parametrize(
    ("text_in", "expected"),
    [
        (FOCUSED_VISIT, ("focused_visit", "focused_visit", date(2029, 11, 28), date(2029, 11, 28),
                         date(2029, 10, 24), date(2029, 10, 25))),
        (SIF_TABLE, ("sif_report", "sif", None, date(2029, 8, 10), date(2029, 6, 1), date(2029, 6, 25))),
        (ILACS_TABLE, ("ilacs_report", "ilacs", None, None, date(2029, 3, 2), date(2029, 3, 13))),
        (LAC_REPORT, ("other", "lac", None, date(2029, 8, 2), date(2029, 6, 24), date(2029, 6, 28))),
        (JAR, ("other", "jar", None, date(2029, 7, 3), None, None)),
        (UNDATED_LETTER, ("focused_visit", "focused_visit", None, None, date(2029, 10, 1), date(2029, 10, 2))),
    ],
)
def test_describe_dates_and_identity(text_in, expected):
    desc = d.describe(lines(text_in))
    got = (desc.family, desc.framework, desc.letter_date, desc.published, desc.inspection.start, desc.inspection.end)
    assert got == expected


_WHITESPACE = "".join(c for c in map(chr, range(0x3100)) if c.isspace())  # all of them: none lies above U+3000


@pytest.mark.parametrize("seed", range(5))
def test_one_space_equals_the_regex_it_replaced(seed):
    # describe's whitespace folding, by str.split, equals re.sub(r"\s+", " ") on any
    # mix of every Unicode white space character, a zero-width space (not white space)
    # and letters, at the ends too
    import random
    import re

    rng = random.Random(seed)
    alphabet = _WHITESPACE + "\u200b" + "ab’"
    texts = ["", " ", "\n", "a", " a ", "\u00a0x\u2028"] + [
        "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12))) for _ in range(3000)
    ]
    for t in texts:
        assert d._one_space(t) == re.sub(r"\s+", " ", t), repr(t)
        lines = [Line(1, part) for part in t.split("\n")]
        assert d._flat(lines) == re.sub(r"[ \t]+", " ", "\n".join(ln.text for ln in lines)).replace("’", "'"), repr(t)
