#!/usr/bin/env python
"""Write a small store of INVENTED inspection letters, for the report's screenshots and browser tests.

Eight real authorities (names and ONS codes from the gazetteer): Northamptonshire and its
two successors (North and West Northamptonshire, from April 2021), and Newham with four of
its statistical neighbours (Brent, Barking and Dagenham, Enfield, Leicester).  Each has 3-5
documents between 2014 and 2025: SIF and ILACS reports with grades, focused visits,
monitoring visits and JTAI letters.  Every sentence below was written for this script; none
comes from an Ofsted publication.  The output is deterministic (same letters, same order).

    python scripts/demo_store.py OUT.duckdb     # or OUT.jsonl, or a Parquet folder
"""

from __future__ import annotations

import argparse
import hashlib
import random
import shutil
import sys
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from letterparse import PARSER_VERSION
from letterparse.model import Authority, Finding, Inspection, Letter, Section, Source, Span, ThemeScore
from letterparse.store import open_store

MODEL_VERSION = "demo"

# --- invented finding text, by theme and polarity ------------------------------------------

WEAK: dict[str, tuple[str, ...]] = {
    "leadership_governance": (
        "Senior leaders have been slow to act on known weaknesses, and improvement plans lack measurable targets.",
        "Elected members do not receive the information they need to challenge the pace of change.",
        "Leaders' self-assessment is overly positive and does not reflect the experiences of many children.",
    ),
    "management_oversight": (
        "Managers' oversight of casework is not always evident, and supervision records rarely set clear actions.",
        "Team managers do not consistently challenge drift when plans for children stall.",
        "Supervision is infrequent in some teams, and the reasons for key decisions are not recorded.",
    ),
    "quality_assurance": (
        "Audits focus on compliance rather than on the difference practice makes for children.",
        "Learning from audits is not shared widely enough to change practice across teams.",
        "Performance information is not always accurate, which limits leaders' understanding of practice.",
    ),
    "assessment": (
        "Assessments are too often descriptive and do not analyse the impact of risk on children.",
        "Some assessments are not updated when circumstances change, so plans rest on out-of-date information.",
        "The histories of families are not routinely considered when social workers assess current risk.",
    ),
    "planning_review": (
        "Plans for children are not specific enough, and parents are not clear about what needs to change.",
        "Contingency arrangements are missing from many plans, so drift is not addressed quickly.",
        "Reviews of child in need plans are not held often enough to track progress.",
    ),
    "child_voice": (
        "The views of younger children are not routinely sought or recorded.",
        "Direct work with children is limited, and their wishes do not clearly shape their plans.",
    ),
    "identity_equality": (
        "Children's cultural and religious identity is not consistently explored in assessments.",
        "Plans do not always address the needs arising from children's disabilities or their first language.",
    ),
    "multi_agency": (
        "Partner agencies do not always attend strategy meetings, so information is shared too late.",
        "Health partners are not consistently involved in child protection conferences.",
        "Escalation between agencies is rarely used when concerns are not resolved.",
    ),
    "front_door": (
        "Thresholds are not applied consistently at the front door, and some contacts wait too long for a decision.",
        "Parental consent is not always sought or, where it is overridden, the reasons are not recorded.",
        "Some referrals are closed without enough enquiry into the risks to children.",
    ),
    "workforce": (
        "High turnover of social workers means that many children have had several workers in a year.",
        "Caseloads in the assessment teams are too high for social workers to complete purposeful work.",
        "A reliance on agency staff has limited the stability of relationships with children and families.",
    ),
    "recording": (
        "Case records are not always up to date, and some contain copied text from earlier documents.",
        "Some case records contain copied templates with placeholder text such as <insert child's name>, "
        "which makes the record hard to follow.",
        "Chronologies are missing or incomplete for a number of children in care.",
    ),
    "timeliness": (
        "Too many children wait longer than expected for an initial child protection conference.",
        "Statutory visits to children in care are not always completed within timescales.",
        "Return home interviews are not offered promptly after children go missing.",
    ),
    "vulnerable_groups": (
        "The response to children at risk of exploitation is not consistently effective.",
        "Sixteen- and seventeen-year-olds who present as homeless do not always receive an assessment.",
        "Oversight of children living in unregistered children's homes is not sufficiently rigorous.",
    ),
    "care_permanence": (
        "Permanence is not secured quickly enough for some children, and later life letters are not written.",
        "Too few children live with brothers and sisters when this would be in their interests.",
        "The sufficiency of local foster homes is limited, so some children live far from their families.",
    ),
    "health_education": (
        "Personal education plans vary in quality and do not always set targets for children's progress.",
        "Initial health assessments for children entering care are often late.",
        "Care leavers do not all have access to their health histories.",
    ),
}

STRONG: dict[str, tuple[str, ...]] = {
    "leadership_governance": (
        "The senior leadership team is stable and has a clear and realistic understanding of the service.",
        "Political and corporate support for children's services is strong, with investment agreed for more social workers.",
    ),
    "management_oversight": (
        "Managers provide regular and reflective supervision that helps social workers to progress plans.",
        "Oversight by independent reviewing officers is effective in preventing drift.",
    ),
    "quality_assurance": (
        "A well-established audit programme gives leaders an accurate picture of practice.",
        "Leaders use performance information well to target improvement activity.",
    ),
    "assessment": (
        "Assessments are thorough, consider family history and are informed by the views of children.",
        "Social workers analyse risk well and identify what needs to change for children.",
    ),
    "planning_review": (
        "Plans are specific, written in clear language and reviewed regularly with families.",
        "Child protection plans are progressed well, and children's circumstances improve as a result.",
    ),
    "child_voice": (
        "Social workers know their children well and use creative direct work to understand their wishes.",
        "Children's views are carefully recorded and influence decisions about their care.",
    ),
    "identity_equality": (
        "Children's identity needs are carefully considered in matching and in life story work.",
        "Interpreters are used routinely, so families can take part fully in meetings.",
    ),
    "multi_agency": (
        "Strategy meetings are timely and well attended by police and health colleagues.",
        "Partnership working is strong, with a shared approach to reducing risk for children.",
    ),
    "front_door": (
        "Contacts and referrals are dealt with promptly and thresholds are applied appropriately.",
        "Children at immediate risk of harm are identified and protected without delay.",
    ),
    "workforce": (
        "The workforce is stable, and social workers say that they enjoy working in the authority.",
        "Caseloads are manageable, and newly qualified social workers receive a protected first year.",
    ),
    "recording": (
        "Case records are written to the child and help children understand their histories.",
        "Records are up to date and clearly show the rationale for decisions.",
    ),
    "timeliness": (
        "Initial child protection conferences are held within timescales for almost all children.",
        "Statutory visits are timely, and children are seen alone when appropriate.",
    ),
    "vulnerable_groups": (
        "A specialist team responds well to children at risk of exploitation, with good links to partners.",
        "Disabled children receive a well-coordinated service from workers who know them well.",
    ),
    "care_permanence": (
        "Permanence planning starts early, and family members are considered as carers at the earliest opportunity.",
        "Most children live in stable homes that meet their needs.",
    ),
    "health_education": (
        "The virtual school has a positive impact on the attendance and progress of children in care.",
        "Care leavers are helped to take up education, employment and training.",
    ),
}

# A second theme for some findings (a finding about supervision is also about oversight, ...).
ALSO: dict[str, str] = {
    "workforce": "management_oversight",
    "timeliness": "planning_review",
    "front_door": "multi_agency",
    "recording": "quality_assurance",
    "care_permanence": "planning_review",
}

CONTEXT_TEXT = (
    "The inspection team looked at a range of evidence, including case records and performance information.",
    "Inspectors spoke to children, families, social workers, managers, leaders and partner agencies.",
    "The local authority has been subject to a number of changes in senior leadership since the last inspection.",
)

GRADE_WORDING = {
    "outstanding": "Outstanding",
    "good": "Good",
    "requires_improvement": "Requires improvement to be good",
    "inadequate": "Inadequate",
}

# The grade keys each framework reports, in the letter's order.
GRADE_KEYS = {
    "sif": ("overall_effectiveness", "help_and_protection", "children_in_care", "adoption_performance",
            "care_leavers", "impact_of_leaders", "lscb"),
    "ilacs": ("overall_effectiveness", "impact_of_leaders", "help_and_protection", "children_in_care", "care_leavers"),
}

FAMILY = {
    "sif": "sif_report",
    "ilacs": "ilacs_report",
    "focused_visit": "focused_visit",
    "monitoring_visit": "monitoring_visit",
    "jtai": "jtai_letter",
}

# --- the invented inspection histories -----------------------------------------------------

AUTHORITIES = {  # name -> ONS code (as in the gazetteer)
    "Northamptonshire": "E10000021",
    "North Northamptonshire": "E06000061",
    "West Northamptonshire": "E06000062",
    "Newham": "E09000025",
    "Brent": "E09000005",
    "Barking and Dagenham": "E09000002",
    "Enfield": "E09000010",
    "Leicester": "E06000016",
}

# Weakness themes that recur across an authority's documents.
RECURRING = {
    "Northamptonshire": ("workforce", "management_oversight", "leadership_governance"),
    "North Northamptonshire": ("workforce", "management_oversight"),
    "West Northamptonshire": ("workforce", "recording"),
    "Newham": ("planning_review", "timeliness"),
    "Brent": ("care_permanence", "health_education"),
    "Barking and Dagenham": ("front_door", "multi_agency"),
    "Enfield": ("recording", "identity_equality"),
    "Leicester": ("quality_assurance", "assessment"),
}


@dataclass(frozen=True)
class Event:
    authority: str
    end: date
    framework: str
    grades: tuple[str, ...] = ()  # harmonised grades, in GRADE_KEYS[framework] order (overall first)


R, G, I, O = "requires_improvement", "good", "inadequate", "outstanding"

EVENTS = (
    Event("Northamptonshire", date(2016, 3, 11), "sif", (I, I, R, R, R, I, R)),
    Event("Northamptonshire", date(2016, 11, 3), "monitoring_visit"),
    Event("Northamptonshire", date(2018, 2, 23), "jtai"),
    Event("Northamptonshire", date(2019, 6, 14), "ilacs", (I, I, I, R, R)),
    Event("Northamptonshire", date(2020, 2, 6), "monitoring_visit"),
    Event("North Northamptonshire", date(2021, 11, 18), "focused_visit"),
    Event("North Northamptonshire", date(2022, 10, 14), "ilacs", (R, R, R, R, I)),
    Event("North Northamptonshire", date(2024, 3, 8), "jtai"),
    Event("North Northamptonshire", date(2025, 2, 13), "focused_visit"),
    Event("West Northamptonshire", date(2021, 10, 21), "focused_visit"),
    Event("West Northamptonshire", date(2022, 10, 7), "ilacs", (R, R, G, R, R)),
    Event("West Northamptonshire", date(2024, 5, 16), "focused_visit"),
    Event("West Northamptonshire", date(2025, 6, 20), "ilacs", (G, G, G, G, R)),
    Event("Newham", date(2016, 5, 20), "sif", (R, R, R, G, R, R, R)),
    Event("Newham", date(2019, 2, 7), "focused_visit"),
    Event("Newham", date(2019, 11, 29), "ilacs", (R, R, R, G, R)),
    Event("Newham", date(2022, 9, 30), "ilacs", (G, G, G, G, G)),
    Event("Newham", date(2024, 10, 10), "focused_visit"),
    Event("Brent", date(2015, 2, 27), "sif", (R, R, R, R, G, R, R)),
    Event("Brent", date(2018, 6, 22), "ilacs", (G, G, G, R, G)),
    Event("Brent", date(2021, 5, 13), "focused_visit"),
    Event("Brent", date(2023, 3, 17), "ilacs", (G, G, G, G, R)),
    Event("Barking and Dagenham", date(2014, 11, 21), "sif", (R, R, R, R, R, R, R)),
    Event("Barking and Dagenham", date(2017, 9, 28), "jtai"),
    Event("Barking and Dagenham", date(2019, 3, 15), "ilacs", (R, R, R, G, R)),
    Event("Barking and Dagenham", date(2021, 12, 9), "focused_visit"),
    Event("Barking and Dagenham", date(2024, 1, 26), "ilacs", (G, G, G, G, G)),
    Event("Enfield", date(2017, 3, 10), "sif", (G, G, G, O, G, G, G)),
    Event("Enfield", date(2019, 7, 11), "focused_visit"),
    Event("Enfield", date(2021, 12, 3), "ilacs", (O, O, G, O, G)),
    Event("Enfield", date(2022, 11, 24), "jtai"),
    Event("Leicester", date(2015, 3, 20), "sif", (I, I, I, R, I, I, R)),
    Event("Leicester", date(2016, 1, 28), "monitoring_visit"),
    Event("Leicester", date(2018, 10, 19), "ilacs", (R, R, R, R, G)),
    Event("Leicester", date(2023, 2, 10), "ilacs", (G, G, G, G, G)),
    Event("Leicester", date(2025, 3, 6), "focused_visit"),
)

# Sections per framework: (heading, kind, role, what its findings are).
# "weak" / "strong" / "priority" / "mixed" or "mixed:<topic>" (see TOPICS) / "context".
SECTIONS = {
    "sif": (
        ("Summary for children and young people", "other", "context", "context"),
        ("Areas for improvement", "improvements", "judgement", "weak"),
        ("The experiences and progress of children who need help and protection", "main_findings", "judgement",
         "mixed:help"),
        ("The experiences and progress of children looked after and achieving permanence", "main_findings",
         "judgement", "mixed:care"),
        ("Leadership, management and governance", "main_findings", "judgement", "mixed:leaders"),
        ("Information about this inspection", "other", "context", "context"),
    ),
    "ilacs": (
        ("What needs to improve?", "improvements", "judgement", "weak"),
        ("The experiences and progress of children who need help and protection", "main_findings", "judgement",
         "mixed:help"),
        ("The experiences and progress of children in care and care leavers", "main_findings", "judgement",
         "mixed:care"),
        ("The impact of leaders on social work practice with children and families", "main_findings", "judgement",
         "mixed:leaders"),
        ("Information about this inspection", "other", "context", "context"),
    ),
    "focused_visit": (
        ("Areas for improvement", "improvements", "judgement", "weak"),
        ("Findings", "main_findings", "judgement", "mixed"),
        ("This visit", "other", "context", "context"),
    ),
    "monitoring_visit": (
        ("Findings and evaluation of progress", "main_findings", "judgement", "mixed"),
        ("Information about this visit", "other", "context", "context"),
    ),
    "jtai": (
        ("Strengths", "strengths", "judgement", "strong"),
        ("Areas for improvement", "improvements", "judgement", "weak"),
        ("Information about this inspection", "other", "context", "context"),
    ),
}
# The themes a "mixed:<topic>" section draws on (plain "mixed": any theme).
TOPICS = {
    "help": ("front_door", "multi_agency", "assessment", "planning_review", "timeliness", "vulnerable_groups",
             "child_voice", "management_oversight", "recording"),
    "care": ("care_permanence", "health_education", "child_voice", "identity_equality", "planning_review",
             "timeliness", "recording", "vulnerable_groups", "workforce"),
    "leaders": ("leadership_governance", "quality_assurance", "workforce", "management_oversight", "recording",
                "multi_agency"),
}
PRIORITY_SECTION = ("Areas for priority action", "priority_actions", "judgement", "priority")

TITLE = {
    "sif": "Inspection of services for children in need of help and protection, children looked after and care leavers",
    "ilacs": "Inspection of local authority children's services",
    "focused_visit": "Focused visit to local authority children's services",
    "monitoring_visit": "Monitoring visit to local authority children's services",
    "jtai": "Joint targeted area inspection",
}


# --- building the letters --------------------------------------------------------------------


def slug(text: str) -> str:
    return "-".join("".join(c if c.isalnum() else " " for c in text.lower()).split())


def strength_of(event: Event) -> float:
    """Share of mixed findings that are strengths: higher for better grades."""
    score = {O: 0.85, G: 0.7, R: 0.45, I: 0.25}
    return score[event.grades[0]] if event.grades else 0.5


def pick(rng: random.Random, event: Event, role: str, used: set[str]) -> list[tuple[str, str, tuple[str, ...]]]:
    """(polarity, text, themes) for the findings of one section; ``used`` texts are not repeated."""
    recurring = RECURRING[event.authority]
    themes = [t for t in WEAK if t not in recurring]
    if role == "context":
        return [("neutral", t, ()) for t in rng.sample(CONTEXT_TEXT, 2)]
    if role in ("weak", "priority"):
        n = 2 if role == "priority" else rng.randint(3, 5)
        chosen = list(recurring[:2]) + rng.sample(themes, n - 2) if n > 2 else list(recurring[:n])
        pol = "priority" if role == "priority" else "weakness"
        return [(pol, _text(rng, WEAK[t], used), _themes(t, rng)) for t in chosen]
    if role == "strong":
        return [("strength", _text(rng, STRONG[t], used), _themes(t, rng)) for t in rng.sample(themes, 3)]
    topic = TOPICS.get(role.partition(":")[2], tuple(WEAK))
    pool = [t for t in recurring if t in topic] + [t for t in themes if t in topic]
    out = []
    for t in rng.sample(pool, rng.randint(3, 5)):
        strong = t not in recurring and rng.random() < strength_of(event)
        bank = STRONG if strong else WEAK
        out.append(("strength" if strong else "weakness", _text(rng, bank[t], used), _themes(t, rng)))
    return out


def _text(rng: random.Random, bank: tuple[str, ...], used: set[str]) -> str:
    fresh = [t for t in bank if t not in used] or list(bank)
    text = rng.choice(fresh)
    used.add(text)
    return text


def _themes(theme: str, rng: random.Random) -> tuple[str, ...]:
    second = ALSO.get(theme)
    return (theme, second) if second and rng.random() < 0.5 else (theme,)


def sections_of(event: Event) -> tuple[tuple[str, str, str, str], ...]:
    base = SECTIONS[event.framework]
    if event.grades and event.grades[0] == I:
        return (PRIORITY_SECTION, *base)
    return base


def build_letter(event: Event) -> Letter:
    key = f"demo|{event.authority}|{event.end.isoformat()}|{event.framework}"
    sha = hashlib.sha256(key.encode()).hexdigest()
    rng = random.Random(sha)
    title = f"{TITLE[event.framework]}: {event.authority}"
    parts: list[str] = [title]
    pos = len(title)
    sections = []
    used: set[str] = set()
    per_page = 2  # sections per printed page
    for n, (heading, kind, role, what) in enumerate(sections_of(event), start=1):
        page = 1 + (n - 1) // per_page
        start = pos + 2
        parts.append(heading)
        pos = start + len(heading)
        findings = []
        for i, (pol, text, themes) in enumerate(pick(rng, event, what, used), start=1):
            fstart = pos + 2
            parts.append(text)
            pos = fstart + len(text)
            scores = tuple(ThemeScore(t, round(0.9 - 0.2 * j, 2)) for j, t in enumerate(themes))
            findings.append(Finding(f"s{n}.f{i}", text, (Span(page, fstart, pos),), pol, scores,
                                    "bullet" if kind in ("improvements", "priority_actions", "strengths") else "paragraph"))
        sections.append(Section(f"s{n}", heading, kind, page, tuple(findings), None, start, start + len(heading), role))
    text = "\n\n".join(parts)
    keys = GRADE_KEYS.get(event.framework, ())
    grades = tuple(zip(keys, event.grades))
    days = 4 if event.grades else 1
    letterlike = event.framework in ("focused_visit", "monitoring_visit", "jtai")
    published = event.end + timedelta(days=21)
    return Letter(
        source=Source(f"demo/{slug(event.authority)}_{event.end.isoformat()}_{event.framework}.pdf", sha,
                      max(s.page for s in sections) + 1, "pdfium"),
        text=text,
        family=FAMILY[event.framework],
        framework=event.framework,
        authority=Authority(event.authority, event.authority, AUTHORITIES[event.authority], None),
        letter_date=published if letterlike else None,
        published=published,
        inspection=Inspection(event.end - timedelta(days=days), event.end, ("Inspector A. Example",)),
        grades=grades,
        grades_raw=tuple((k, GRADE_WORDING[g]) for k, g in grades),
        sections=tuple(sections),
    )


def letters() -> list[Letter]:
    """The demo letters, in a fixed order."""
    return [build_letter(e) for e in EVENTS]


def build(path: str | Path) -> int:
    """Write the demo letters to a new store at ``path`` (replacing it); the number written."""
    path = Path(path)
    if path.is_dir():
        shutil.rmtree(path)
    for p in (path, path.with_name(path.name + ".wal")):
        if p.is_file():
            p.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    docs = letters()
    with open_store(path) as store:
        for letter in docs:
            store.put_letter(letter, PARSER_VERSION, MODEL_VERSION)
    return len(docs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", help="store to write (*.duckdb, *.jsonl or a Parquet folder); replaced if it exists")
    args = parser.parse_args(argv)
    n = build(args.out)
    print(f"wrote {n} invented letters ({len(AUTHORITIES)} authorities) to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
