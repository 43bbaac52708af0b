"""What a document is: family, authority, dates, inspectors and grades.

Everything is read from the document's own text (never its file name).  Input
is the cleaned body lines; the functions work on a flat text of the first pages
so that phrases broken over lines still match.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from .model import Authority, Inspection, Line

FAMILIES = ("ucra_letter", "focused_visit", "jtai_letter", "ilacs_report", "sif_report", "monitoring_visit", "other")
GRADE_KEYS = (
    "overall_effectiveness",
    "impact_of_leaders",
    "help_and_protection",
    "children_in_care",
    "care_leavers",
    "adoption_performance",
    "lscb",
)

_MONTHS = {
    m: i
    for i, m in enumerate(
        "january february march april may june july august september october november december".split(), start=1
    )
}
_MONTHS.update({k[:3]: v for k, v in list(_MONTHS.items())})
_MONTHS["sept"] = 9
_MONTH = r"(?:January|February|March|April|May|June|July|August|September|October|November|December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)"
_DATE_TOKEN = re.compile(rf"(\d{{1,2}})(?:st|nd|rd|th)?(?:\s+({_MONTH})\.?)?(?:,?\s+(\d{{4}}))?", re.I)
_FULL_DATE = re.compile(rf"^\s*(\d{{1,2}})(?:st|nd|rd|th)?\s+({_MONTH})\s+(\d{{4}})\s*$", re.I)
_RANGE = rf"\d{{1,2}}(?:st|nd|rd|th)?(?:\s+{_MONTH})?(?:\s+\d{{4}})?(?:\s*(?:,|and|to|–|-|—|until)\s*\d{{1,2}}(?:st|nd|rd|th)?(?:\s+{_MONTH})?(?:\s+\d{{4}})?)*\s+{_MONTH}\s+\d{{4}}"

GRADE_WORDS = {
    "outstanding": "outstanding",
    "good": "good",
    "requires improvement to be good": "requires_improvement",
    "requires improvement": "requires_improvement",
    "require improvement to be good": "requires_improvement",
    "require improvement": "requires_improvement",
    "adequate": "requires_improvement",
    "inadequate": "inadequate",
}
_GRADE = r"(outstanding|good|requires? improvement(?: to be good)?|inadequate)"


@dataclass(frozen=True, slots=True)
class Description:
    family: str
    authority: Authority
    letter_date: date | None
    inspection: Inspection
    grades: tuple[tuple[str, str], ...]
    warnings: tuple[str, ...]


def describe(lines: tuple[Line, ...]) -> Description:
    head = [ln for ln in lines if ln.page <= 3]
    flat = _flat(head[:160])
    family = detect_family(flat)
    warnings: list[str] = []
    authority = detect_authority(head[:40], flat)
    if authority.name is None:
        warnings.append("authority not recognised")
    letter_date = detect_letter_date(head[:12]) if family in ("ucra_letter", "focused_visit", "jtai_letter", "monitoring_visit") else None
    start, end = detect_inspection_dates(flat)
    if start is None and letter_date is not None:
        start, end = detect_inspection_dates(flat, default_year=letter_date.year)
    if start is None:
        warnings.append("inspection dates not found")
    whole = _flat(list(lines))  # once: the inspector and LSCB patterns read the whole document
    inspectors = detect_inspectors(lines, family, whole)
    grades = detect_grades(_flat([ln for ln in lines if ln.page <= 2]), family, whole)
    return Description(family, authority, letter_date, Inspection(start, end, inspectors), grades, tuple(warnings))


def _flat(lines: list[Line]) -> str:
    return _BLANKS.sub(" ", "\n".join(ln.text for ln in lines)).replace("’", "'")


# Runs of white space become one space.  Only runs of two or more, and single
# characters other than a space, are matched: the same result as ``\s+`` or
# ``[ \t]+``, without a match (and a replacement) for every single space.
_BLANKS = re.compile(r"[ \t]{2,}|\t")
_WHITE = re.compile(r"\s{2,}|[^\S ]")


def _one_space(text: str) -> str:
    return _WHITE.sub(" ", text)


# --- family ----------------------------------------------------------------------

_FAMILY_RULES = (
    ("other", r"area send|local area partnership|special educational needs and disabilit"),
    ("ucra_letter", r"unannounced inspection of contact,? referral and assessment"),
    ("jtai_letter", r"joint targeted area inspection"),
    ("monitoring_visit", r"monitoring visit (to|of)\b"),
    ("focused_visit", r"focused visit (to|of)\b"),
    ("sif_report", r"inspection of services for children in need of help and\s+protection,? children\s+looked after"),
    ("sif_report", r"review of the effectiveness of the local safeguarding children\s+board"),
    ("ilacs_report", r"inspection of (?:[\w ,'&-]{2,80}? )?(?:children's social care services|children's services|children and families trust)"),
)


def detect_family(flat: str) -> str:
    low = _one_space(flat.lower())[:3000]
    best = ("other", len(low) + 1)
    for fam, pat in _FAMILY_RULES:
        m = re.search(pat, low)
        if m and m.start() < best[1]:
            best = (fam, m.start())
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


def parse_date(text: str) -> date | None:
    m = _FULL_DATE.match(text)
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
    '14 January 2014 – 5 February 2014', '23 April–18 May 2018' -> (start, end)."""
    toks = [(d, m, y) for d, m, y in _DATE_TOKEN.findall(text)]
    toks = [t for t in toks if t[1] or t[2] or True]
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


_INSPECTION_DATE_PATTERNS = (
    rf"inspection dates?:?\s*({_RANGE})",
    rf"(?:conducted|carried out|undertaken|took place|visit|inspection|services)\s+(?:on|from|between)\s+({_RANGE})",
    rf"\bon\s+({_RANGE})",
    rf"(?:from|between)\s+({_RANGE})",
)


def detect_inspection_dates(flat: str, default_year: int | None = None) -> tuple[date | None, date | None]:
    """Fieldwork dates.  With ``default_year`` (the letter's), also 'between 16 May and
    20 May', as 2016 JTAI letters print them."""
    text = _one_space(flat)
    if default_year is not None:
        m = re.search(rf"(?:between|from)\s+(\d{{1,2}}(?:\s+{_MONTH})?\s+(?:and|to|–|-)\s+\d{{1,2}}\s+{_MONTH})(?!\s+\d{{4}})", text, re.I)
        if m:
            start, end = parse_date_range(f"{m.group(1)} {default_year}")
            if start and end and start <= end:
                return start, end
        return None, None
    for pat in _INSPECTION_DATE_PATTERNS:
        m = re.search(pat, text, re.I)
        if m:
            start, end = parse_date_range(m.group(1))
            if start and end and start <= end and (end - start).days < 120:
                return start, end
    return None, None


def detect_letter_date(lines: list[Line]) -> date | None:
    for ln in lines:
        d = parse_date(ln.text)
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

_GRADE_PATTERNS = {
    "ilacs_report": (
        ("impact_of_leaders", rf"impact of leaders on social work practice with\s+children and families:?\s*(?:is:?\s*)?{_GRADE}"),
        ("help_and_protection", rf"children who need help\s+and\s+protection:?\s*(?:is:?\s*)?{_GRADE}"),
        ("children_in_care", rf"children in care(?:\s+and\s+care\s+leavers)?:?\s*(?:is:?\s*)?{_GRADE}"),
        ("care_leavers", rf"progress of (?:children )?care leavers:?\s*(?:is:?\s*)?{_GRADE}"),
        ("overall_effectiveness", rf"overall effectiveness:?\s*{_GRADE}"),
    ),
    "sif_report": (
        ("help_and_protection", rf"children who need help and\s+protection\s*{_GRADE}"),
        ("children_in_care", rf"children looked after and\s+achieving\s+permanence\s*{_GRADE}"),
        ("adoption_performance", rf"adoption performance\s*{_GRADE}"),
        ("care_leavers", rf"experiences and progress of\s+care leavers\s*{_GRADE}"),
        ("impact_of_leaders", rf"leadership, management and\s+governance\s*{_GRADE}"),
        ("overall_effectiveness", rf"(?:overall judgement is|children's services in [\w ,'-]+? (?:are |is )?)\s*{_GRADE}"),
        ("lscb", rf"(?:safeguarding children board(?: \(lscb\))?|the lscb) (?:is |are )?{_GRADE}"),
    ),
}


def detect_grades(flat: str, family: str, whole: str = "") -> tuple[tuple[str, str], ...]:
    """Grades from the judgement table on the first pages; the LSCB's, which some
    SIF reports give only in the body, from the whole text."""
    pats = _GRADE_PATTERNS.get(family)
    if not pats:
        return ()
    text = _one_space(flat.lower())
    full = None  # the whole text, flattened only when the LSCB grade is not on the first pages
    found = {}
    for key, pat in pats:
        m = re.search(pat, text)
        if m is None and key == "lscb" and whole:
            full = _one_space(whole.lower()) if full is None else full
            m = re.search(pat, full)
        if m:
            found[key] = GRADE_WORDS[m.group(1)]
    return tuple((k, found[k]) for k in GRADE_KEYS if k in found)
