"""What a document is: family, framework, authority, dates, inspectors and grades.

Everything is read from the document's own text (never its file name).  Input
is the cleaned body lines; the functions work on a flat text of the first pages
so that phrases broken over lines still match.  Title phrases, the published-date
line and the judgement tables are data: ``data/describe.toml``.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources
from typing import Iterable

from .model import Authority, Inspection, Line
from .vocab import FAMILIES, FRAMEWORKS, GRADE_KEYS, GRADE_WORDS

__all__ = ["FAMILIES", "FRAMEWORKS", "GRADE_KEYS", "GRADE_WORDS", "Description", "describe"]

_MONTH_NAMES = "January February March April May June July August September October November December".split()
_MONTHS = {m.lower(): i for i, m in enumerate(_MONTH_NAMES, start=1)}
_MONTHS.update({k[:3]: v for k, v in list(_MONTHS.items())})
_MONTHS["sept"] = 9
_MONTH = r"(?:January|February|March|April|May|June|July|August|September|October|November|December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)"
_DATE_TOKEN = re.compile(rf"(\d{{1,2}})(?:st|nd|rd|th)?(?:\s+({_MONTH})\.?)?(?:,?\s+(\d{{4}}))?", re.I)
_FULL_DATE = re.compile(rf"^\s*(\d{{1,2}})(?:st|nd|rd|th)?\s+({_MONTH})\s+(\d{{4}})\s*$", re.I)
_SEP = r"(?:,(?:\s*and)?|and|to|–|-|—|until)"  # between the dates of a range
_RANGE = rf"\d{{1,2}}(?:st|nd|rd|th)?(?:\s+{_MONTH})?(?:\s+\d{{4}})?(?:\s*{_SEP}\s*\d{{1,2}}(?:st|nd|rd|th)?(?:\s+{_MONTH})?(?:\s+\d{{4}})?)*\s+{_MONTH}\s+\d{{4}}"

# Every printed grade wording (vocab.GRADE_WORDS), longest first so that "requires
# improvement to be good" wins over "requires improvement".
_GRADE = "(" + "|".join(sorted(GRADE_WORDS, key=len, reverse=True)) + ")"


@cache
def _rules() -> dict:
    """``data/describe.toml``: family and framework title rules, the published-date
    line, the judgement tables."""
    return tomllib.loads(resources.files("letterparse").joinpath("data/describe.toml").read_text("utf-8"))


def names_ofsted(lines: Iterable[Line]) -> bool:
    """Does any line (as extracted, furniture and all) name Ofsted?"""
    pat = re.compile(_rules()["ofsted"], re.I)
    return any(pat.search(ln.text) for ln in lines)


def is_ofsted_document(raw_lines: Iterable[Line], desc: Description) -> bool:
    """An Ofsted inspection document names Ofsted or has a recognised title."""
    return desc.family != "other" or desc.framework != "other" or names_ofsted(raw_lines)


@dataclass(frozen=True, slots=True)
class Description:
    family: str
    authority: Authority
    letter_date: date | None
    inspection: Inspection
    grades: tuple[tuple[str, str], ...]
    warnings: tuple[str, ...]
    framework: str = "other"  # vocab.FRAMEWORKS
    published: date | None = None  # the date the document carries: its letter date or "Published:"
    grades_raw: tuple[tuple[str, str], ...] = ()  # same keys as grades, wording as printed


_LETTERS = ("ucra_letter", "focused_visit", "jtai_letter", "monitoring_visit")


def describe(lines: tuple[Line, ...]) -> Description:
    head = [ln for ln in lines if ln.page <= 3]
    flat = _flat(head[:160])
    family = detect_family(flat)
    warnings: list[str] = []
    authority = detect_authority(head[:40], flat)
    if authority.name is None:
        warnings.append("authority not recognised")
    letter_date = detect_letter_date(head[:12]) if family in _LETTERS else None
    published = letter_date or detect_published(head[:60])
    start, end = detect_inspection_dates(flat)
    if start is None and published is not None:
        start, end = detect_inspection_dates(flat, default_year=published.year, before=published)
    if start is None:
        warnings.append("inspection dates not found")
    whole = _flat(list(lines))  # once: the inspector and LSCB patterns read the whole document
    inspectors = detect_inspectors(lines, family, whole)
    framework = detect_framework(flat)
    raw = detect_grades_raw(_flat([ln for ln in lines if ln.page <= 2]), framework, whole)
    grades = tuple((k, GRADE_WORDS[w]) for k, w in raw)
    return Description(
        family, authority, letter_date, Inspection(start, end, inspectors), grades, tuple(warnings),
        framework=framework, published=published, grades_raw=raw,
    )


def _flat(lines: list[Line]) -> str:
    text = "\n".join(ln.text for ln in lines)
    if "  " in text or "\t" in text:  # most documents have neither: no regex pass over them
        text = _BLANKS.sub(" ", text)
    return text.replace("’", "'")


# Runs of spaces and tabs become one space.  Only runs of two or more, and a single
# tab, are matched: the same result as ``[ \t]+``, without a match (and a
# replacement) for every single space.
_BLANKS = re.compile(r"[ \t]{2,}|\t")


def _one_space(text: str) -> str:
    """Every run of white space (``\\s``, as str.isspace sees it) as one space, at the
    ends too: ``re.sub(r"\\s+", " ", text)``, by ``str.split`` (a regex pass over every
    position cost a third of describe's time)."""
    words = text.split()
    if not words:
        return " " if text else ""
    out = " ".join(words)
    if text[0].isspace():
        out = " " + out
    if text[-1].isspace():
        out += " "
    return out


# --- family ----------------------------------------------------------------------

def detect_family(flat: str) -> str:
    """One of vocab.FAMILIES, from the title phrases in ``data/describe.toml``."""
    return _first_rule(flat, "family")


def detect_framework(flat: str) -> str:
    """One of vocab.FRAMEWORKS, from the title phrases in ``data/describe.toml``."""
    return _first_rule(flat, "framework")


def _first_rule(flat: str, table: str) -> str:
    low = _one_space(flat.lower())[:3000]
    best = ("other", len(low) + 1)
    for name, pat in _rules()[table]:
        m = re.search(pat, low)
        if m and m.start() < best[1]:
            best = (name, m.start())
    return best[0]


# --- authority -------------------------------------------------------------------

# Where titles name the authority, in the order tried.  The fragment captured
# is handed to the gazetteer, which picks the leftmost name in it.
_AUTHORITY_TITLES = (
    r"(?:focused|monitoring) visit (?:to|of) (?:the )?(.{3,90}?)(?:'s)? children's services",
    r"arrangements within (.{3,90}?) children's services",
    r"^(?:\d+ )?inspection of (?:the )?(.{3,90}?) (?:local authority )?(?:children's services|children and families trust)",
    r"joint targeted area inspection (?:of the multi-agency response to .{0,160}? in|of|in) (?:the )?(.{3,80})",
    r"^(?:\d+ )?(.{3,90}?) (?:re-)?inspection of (?:services for children|children's social care|looked after)",
    r"^(?:\d+ )?(.{3,90}?) (?:review of the effectiveness|local area partnership|area send)",
)


def detect_authority(lines: list[Line], flat: str) -> Authority:
    from .gazetteer import load_gazetteer

    gaz = load_gazetteer()
    one = _one_space(flat)
    for pat in _AUTHORITY_TITLES:
        m = re.search(pat, one[:4000], re.I | re.M)
        if m:
            hit = gaz.find(m.group(1))
            if hit:
                return _authority(*hit)
    hit = gaz.find(one[:2500])
    return _authority(*hit) if hit else Authority()


def _authority(rec, written: str) -> Authority:
    return Authority(rec.name, written, rec.ons_code or None, rec.la_code or None)


# --- dates -----------------------------------------------------------------------


_NUMERIC_DATE = re.compile(r"\b(\d{1,2})/(\d{1,2})/(\d{4}|\d{2})\b")
_DAY_OF_MONTH = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)? of ({_MONTH})\b", re.I)
_YEARLESS = rf"\d{{1,2}}(?:st|nd|rd|th)?(?:\s+{_MONTH})?(?:\s*{_SEP}\s*\d{{1,2}}(?:st|nd|rd|th)?(?:\s+{_MONTH})?)*\s+{_MONTH}\b(?!\.?,?\s*\d{{4}})"
_MAX_FIELDWORK_DAYS = 120


def _in_words(match: re.Match) -> str:
    day, month, year = match.groups()
    if not 1 <= int(month) <= 12:
        return match.group(0)
    return f"{int(day)} {_MONTH_NAMES[int(month) - 1]} {'20' + year if len(year) == 2 else year}"


def _date_text(text: str) -> str:
    """Dates as words, so that one grammar reads them all: '1/06/2015' -> '1 June 2015'
    (day first, as England prints them), '16 of May' -> '16 May'; single spaces."""
    return _DAY_OF_MONTH.sub(r"\1 \2", _NUMERIC_DATE.sub(_in_words, _one_space(text)))


def parse_date(text: str) -> date | None:
    """'6 May 2019', '6th May 2019', '10/08/2015' (the whole text) -> date."""
    m = _FULL_DATE.match(_date_text(text))
    if not m:
        return None
    return _mk(m.group(1), m.group(2), m.group(3))


def _mk(day: str, month: str, year: str) -> date | None:
    try:
        return date(int(year), _MONTHS[month.lower().rstrip(".")[:4] if month.lower().startswith("sept") else month.lower()[:3] if len(month) > 4 else month.lower()], int(day))
    except (KeyError, ValueError):
        return None


def parse_date_range(text: str) -> tuple[date | None, date | None]:
    """'29 and 30 June 2010', '6 to 10 February 2023', '27 September to 8 October 2021',
    '14 January 2014 – 5 February 2014', '23 April–18 May 2018', '1/06/2015 – 25/06/2015'
    -> (start, end)."""
    toks = _DATE_TOKEN.findall(_date_text(text))
    if not toks:
        return None, None
    # fill missing month/year from the right
    month, year = None, None
    filled = []
    for d, m, y in reversed(toks):
        month = m or month
        year = y or year
        filled.append((d, month, year))
    filled.reverse()
    first = next((t for t in filled if t[1] and t[2]), None)
    last = filled[-1]
    if first is None or not (last[1] and last[2]):
        return None, None
    return _mk(*first), _mk(*last)


def _fieldwork(start: date | None, end: date | None) -> tuple[date, date] | None:
    """(start, end) if it reads as one inspection's fieldwork (under 120 days).  A start
    whose year is a slip for the end's ('24 October 2022 to 25 October 2023') takes the
    end's year, if that puts it before the end."""
    if start is None or end is None:
        return None
    if not 0 <= (end - start).days < _MAX_FIELDWORK_DAYS and end.year - start.year == 1:
        try:
            start = start.replace(year=end.year)
        except ValueError:
            return None
        if start >= end:
            return None
    return (start, end) if 0 <= (end - start).days < _MAX_FIELDWORK_DAYS else None


_INSPECTION_DATE_PATTERNS = (
    rf"inspection dates?:?\s*({_RANGE})",
    rf"(?:conducted|carried out|undertaken|took place|visit|inspection|services)\s+(?:on|from|between)\s+(?:the\s+)?({_RANGE})",
    rf"\bon\s+(?:the\s+)?({_RANGE})",
    rf"(?:from|between)\s+(?:the\s+)?({_RANGE})",
)


def detect_inspection_dates(
    flat: str, default_year: int | None = None, before: date | None = None
) -> tuple[date | None, date | None]:
    """Fieldwork dates.  With ``default_year`` (the letter's), only year-less ranges:
    'between 16 May and 20 May' (2016 JTAI letters), 'on 13 and 14 July'; a range that
    would end after ``before`` (the letter date) is taken from the year before."""
    text = _date_text(flat)
    if default_year is not None:
        m = re.search(rf"\b(?:between|from|on)\s+(?:the\s+)?({_YEARLESS})", text, re.I)
        if m is None:
            return None, None
        for year in (default_year, default_year - 1):
            found = _fieldwork(*parse_date_range(f"{m.group(1)} {year}"))
            if found and (before is None or found[1] <= before):
                return found
        return None, None
    for pat in _INSPECTION_DATE_PATTERNS:
        m = re.search(pat, text, re.I)
        found = _fieldwork(*parse_date_range(m.group(1))) if m else None
        if found:
            return found
    return None, None


def detect_letter_date(lines: list[Line]) -> date | None:
    """A letter's date: the first of its first lines that is a date and nothing else."""
    for ln in lines:
        d = parse_date(ln.text)
        if d:
            return d
    return None


def detect_published(lines: list[Line]) -> date | None:
    """The date of a line that prints it: 'Report published: 10/08/2015', 'Published: 3 July 2009'."""
    (prefix,) = _rules()["published"]
    for ln in lines:
        m = re.match(prefix, ln.text.strip(), re.I)
        d = parse_date(ln.text.strip()[m.end():]) if m else None
        if d:
            return d
    return None


# --- inspectors ------------------------------------------------------------------

_NAME = r"(?:Dr\.?\s+|Mr\.?\s+|Mrs\.?\s+|Ms\.?\s+)?[A-Z][\w'’\-]+(?:[ -][A-Z][\w'’\-]+){0,3}"
_TITLES = re.compile(
    r"\b(?:HMI|Her Majesty'?s Inspectors?|His Majesty'?s Inspectors?|lead inspector|team inspectors?|inspectors?|"
    r"social care regulatory inspector|Ofsted Inspectors?|OI|Senior HMI|SHMI)\b",
    re.I,
)


def _names(fragment: str) -> list[str]:
    frag = _one_space(fragment.replace("’", "'"))
    frag = _TITLES.sub(",", frag)
    parts = re.split(r",|\band\b|;|\(|\)", frag)
    out = []
    for p in parts:
        p = p.strip(" .:")
        p = re.sub(r"^(?:Dr\.?|Mr\.?|Mrs\.?|Ms\.?|Miss)\s+", "", p)
        p = re.sub(r"-\s+", "-", p)
        if re.fullmatch(r"[A-Z][\w'\-]+(?: [A-Z][\w'\-]+| (?:de|van|von|da|le|la|du|ul|al)){1,3}", p):
            out.append(p)
    return out


_VISIT_INSPECTORS = (
    r"(?i:inspectors?(?: for this (?:visit|inspection))? (?:were|was)|(?:carried out|conducted|led|undertaken|completed) by)\s+(.+?)\.(?=\s+[A-Z]|\s*$)",
    r"(?:Her|His) Majesty's Inspectors?,? (.+?),? (?:carried out|conducted|undertook|led) the (?:visit|inspection)",
)


def detect_inspectors(lines: tuple[Line, ...], family: str, flat: str | None = None) -> tuple[str, ...]:
    if family == "jtai_letter":
        return ()
    flat = _flat(list(lines)) if flat is None else flat
    one = " ".join(flat.split()) if family in ("focused_visit", "monitoring_visit") else ""
    names: list[str] = []
    if family in ("ilacs_report", "sif_report", "other"):
        m = re.search(r"(?:lead|reporting) inspector(?: on site)?:\s*(.+)", flat, re.I) or re.search(
            r"^(?:lead|reporting) inspector\s+(.+)", flat, re.I | re.M
        )
        if m:
            names += _names(m.group(1).split("\n")[0])[:1]
        if family == "sif_report":
            m = re.search(r"deputy lead inspectors?:\s*(.+)", flat, re.I)
            if m:
                names += _names(m.group(1).split("\n")[0])
            m = re.search(r"team inspectors?:\s*(.+)((?:\n.+){0,3})", flat, re.I)
            if m:
                team = m.group(1).rstrip()
                for extra in m.group(2).split("\n")[1:]:
                    # a wrapped list of names: commas, no label, no sentence
                    if ":" in extra or extra.rstrip().endswith(".") or "," not in extra and len(extra.split()) > 3:
                        break
                    # a name broken over the line ("Peter / Green") is joined with a space
                    team += (" " if not team.endswith(",") else " ") + extra.strip()
                names += _names(team)
    elif family in ("focused_visit", "monitoring_visit"):
        for pat in _VISIT_INSPECTORS:
            for m in re.finditer(pat, one):
                frag = re.sub(r"\b(?:two|three|four|five) of\b|\((?:HMI )?designate\)|\bdesignate\b", ",", m.group(1), flags=re.I)
                names = _names(frag)
                if names:
                    break
            if names:
                break
    elif family == "ucra_letter":
        m = re.search(rf"yours (?:sincerely|faithfully),?\s*\n?\s*({_NAME})\s*(?:\n\s*)?(?:Her|His) Majesty'?s Inspector", flat, re.I)
        if not m:
            m = re.search(rf"({_NAME})\s*(?:\n\s*)?(?:Her|His) Majesty'?s Inspector|({_NAME}) HMI\b", flat)
        if m:
            names += _names(m.group(1) or m.group(2) or "")
    seen: list[str] = []
    for n in names:
        if n not in seen:
            seen.append(n)
    return tuple(seen)


# --- grades ----------------------------------------------------------------------

def detect_grades(flat: str, framework: str, whole: str = "") -> tuple[tuple[str, str], ...]:
    """Harmonised grades (vocab.GRADES) of :func:`detect_grades_raw`."""
    return tuple((k, GRADE_WORDS[w]) for k, w in detect_grades_raw(flat, framework, whole))


def detect_grades_raw(flat: str, framework: str, whole: str = "") -> tuple[tuple[str, str], ...]:
    """Grades as printed (lower case, single spaces), in vocab.GRADE_KEYS order, from the
    judgement table on the first pages; the keys that ``data/describe.toml``
    ``[grades_whole_text]`` names for the framework (the LSCB's in SIF reports, every LAC
    grade) also from the whole text.  Patterns: ``[grades]``, keyed by framework."""
    rules = _rules()
    pats = rules["grades"].get(framework)
    if not pats:
        return ()
    also_whole = set(rules["grades_whole_text"].get(framework, ())) if whole else set()
    text = _one_space(flat.lower())
    full = None  # the whole text, flattened only when a grade is not on the first pages
    found = {}
    for key, pat in pats:
        pat = pat.replace("{grade}", _GRADE)
        m = re.search(pat, text)
        if m is None and key in also_whole:
            full = _one_space(whole.lower()) if full is None else full
            m = re.search(pat, full)
        if m:
            found[key] = _one_space(m.group(1))
    return tuple((k, found[k]) for k in GRADE_KEYS if k in found)
