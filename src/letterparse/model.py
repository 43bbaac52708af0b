"""Frozen records that every pipeline stage passes on.

A stage takes the records of the stage before it and returns new ones; nothing
is mutated.  ``Letter.to_dict()`` gives the JSON output contract (see
``schema/letter.schema.json``) and ``Letter.from_dict`` reads it back.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

SCHEMA_VERSION = 1

BBox = tuple[float, float, float, float]  # x0, top, x1, bottom (points, origin top-left)


# --- extraction records -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Line:
    """One printed line of a page, as a backend read it."""

    page: int  # 1-based
    text: str
    bbox: BBox | None = None
    size: float | None = None  # font size of the first character
    bold: bool = False
    gap: bool = False  # a paragraph gap (extra vertical space or a blank line) precedes it
    hyphen: bool = False  # the line ended with a line-end hyphen, removed from ``text``


@dataclass(frozen=True, slots=True)
class Page:
    number: int
    width: float | None
    height: float | None
    lines: tuple[Line, ...]


@dataclass(frozen=True, slots=True)
class RawDocument:
    path: str
    sha256: str
    backend: str
    pages: tuple[Page, ...]


# --- output records -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Span:
    """Where a piece of a finding came from: ``Letter.text[start:end]`` on ``page``."""

    page: int
    start: int
    end: int
    bbox: BBox | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "page": self.page,
            "start": self.start,
            "end": self.end,
            "bbox": None if self.bbox is None else [round(v, 2) for v in self.bbox],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Span:
        bbox = d.get("bbox")
        return cls(d["page"], d["start"], d["end"], None if bbox is None else tuple(bbox))


@dataclass(frozen=True, slots=True)
class ThemeScore:
    theme: str
    score: float

    def to_dict(self) -> dict[str, Any]:
        return {"theme": self.theme, "score": round(self.score, 4)}


@dataclass(frozen=True, slots=True)
class Sentence:
    """One sentence of a prose finding: offsets into ``Finding.text``, with its own
    polarity and themes (a paragraph can praise and criticise)."""

    start: int
    end: int
    polarity: str = "neutral"
    themes: tuple[ThemeScore, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "polarity": self.polarity, "themes": [t.to_dict() for t in self.themes]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Sentence:
        return cls(d["start"], d["end"], d["polarity"], tuple(ThemeScore(t["theme"], t["score"]) for t in d["themes"]))


POSITIVE, NEGATIVE = frozenset({"strength", "satisfactory"}), frozenset({"weakness", "priority"})


@dataclass(frozen=True, slots=True)
class Finding:
    id: str  # deterministic: "s3.f2"
    text: str
    spans: tuple[Span, ...]
    polarity: str = "neutral"
    themes: tuple[ThemeScore, ...] = ()
    marker: str = "paragraph"  # bullet | numbered | paragraph
    sentences: tuple[Sentence, ...] = ()  # prose findings, when themes are classified

    @property
    def mixed(self) -> bool:
        """Its sentences both praise and criticise (its ``polarity`` is the paragraph's point)."""
        pols = {s.polarity for s in self.sentences}
        return bool(pols & POSITIVE) and bool(pols & NEGATIVE)

    @property
    def page(self) -> int:
        return self.spans[0].page

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "text": self.text,
            "page": self.page,
            "marker": self.marker,
            "spans": [s.to_dict() for s in self.spans],
            "polarity": self.polarity,
            "themes": [t.to_dict() for t in self.themes],
            "sentences": [x.to_dict() for x in self.sentences],
            "mixed": self.mixed,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Finding:
        return cls(
            id=d["id"],
            text=d["text"],
            spans=tuple(Span.from_dict(s) for s in d["spans"]),
            polarity=d["polarity"],
            themes=tuple(ThemeScore(t["theme"], t["score"]) for t in d["themes"]),
            marker=d.get("marker", "paragraph"),
            sentences=tuple(Sentence.from_dict(x) for x in d.get("sentences", ())),
        )


@dataclass(frozen=True, slots=True)
class Section:
    id: str  # "s3"
    heading: str  # as printed (line breaks folded)
    kind: str  # strengths | satisfactory | improvements | priority_actions | headline | main_findings | next_steps | other
    page: int
    findings: tuple[Finding, ...] = ()
    parent: str | None = None
    start: int = 0  # offsets of the heading in Letter.text
    end: int = 0
    role: str = "judgement"  # judgement | context (vocab.ROLES)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "parent": self.parent,
            "heading": self.heading,
            "kind": self.kind,
            "role": self.role,
            "page": self.page,
            "start": self.start,
            "end": self.end,
            "findings": [f.to_dict() for f in self.findings],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Section:
        return cls(
            id=d["id"],
            heading=d["heading"],
            kind=d["kind"],
            page=d["page"],
            findings=tuple(Finding.from_dict(f) for f in d["findings"]),
            parent=d.get("parent"),
            start=d.get("start", 0),
            end=d.get("end", 0),
            role=d.get("role", "judgement"),
        )


@dataclass(frozen=True, slots=True)
class Authority:
    name: str | None = None
    as_written: str | None = None
    ons_code: str | None = None
    la_code: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "as_written": self.as_written,
            "ons_code": self.ons_code,
            "la_code": self.la_code,
        }


@dataclass(frozen=True, slots=True)
class Inspection:
    start: date | None = None
    end: date | None = None
    inspectors: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": _iso(self.start),
            "end": _iso(self.end),
            "inspectors": list(self.inspectors),
        }


@dataclass(frozen=True, slots=True)
class Source:
    path: str
    sha256: str
    pages: int
    backend: str

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "sha256": self.sha256, "pages": self.pages, "backend": self.backend}


@dataclass(frozen=True, slots=True)
class Letter:
    source: Source
    text: str
    family: str = "other"
    framework: str = "other"  # vocab.FRAMEWORKS
    authority: Authority = field(default_factory=Authority)
    letter_date: date | None = None
    published: date | None = None  # the date the document carries (letter date or "Published:")
    inspection: Inspection = field(default_factory=Inspection)
    grades: tuple[tuple[str, str], ...] = ()  # (key, grade), in a fixed key order
    grades_raw: tuple[tuple[str, str], ...] = ()  # (key, wording as printed), same keys as grades
    sections: tuple[Section, ...] = ()
    warnings: tuple[str, ...] = ()
    schema_version: int = SCHEMA_VERSION

    @property
    def findings(self) -> tuple[Finding, ...]:
        return tuple(f for s in self.sections for f in s.findings)

    def with_findings(self, replaced: dict[str, Finding]) -> Letter:
        """A copy with the findings whose ids are in ``replaced`` swapped in."""
        sections = tuple(
            replace(s, findings=tuple(replaced.get(f.id, f) for f in s.findings)) for s in self.sections
        )
        return replace(self, sections=sections)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            "source": self.source.to_dict(),
            "family": self.family,
            "framework": self.framework,
            "authority": self.authority.to_dict(),
            "letter_date": _iso(self.letter_date),
            "published": _iso(self.published),
            "inspection": self.inspection.to_dict(),
            "grades": dict(self.grades),
            "grades_raw": dict(self.grades_raw),
            "sections": [s.to_dict() for s in self.sections],
            "warnings": list(self.warnings),
            "text": self.text,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Letter:
        a, i = d["authority"], d["inspection"]
        return cls(
            source=Source(**d["source"]),
            text=d["text"],
            family=d["family"],
            framework=d.get("framework", "other"),
            authority=Authority(**a),
            letter_date=_date(d["letter_date"]),
            published=_date(d.get("published")),
            inspection=Inspection(_date(i["start"]), _date(i["end"]), tuple(i["inspectors"])),
            grades=tuple(d["grades"].items()),
            grades_raw=tuple(d.get("grades_raw", {}).items()),
            sections=tuple(Section.from_dict(s) for s in d["sections"]),
            warnings=tuple(d["warnings"]),
            schema_version=d["schema_version"],
        )


def _iso(d: date | None) -> str | None:
    return None if d is None else d.isoformat()


def _date(s: str | None) -> date | None:
    return None if s is None else date.fromisoformat(s)


def _by_fields(record: Any) -> tuple[type, tuple[Any, ...]]:
    """Pickle a record as its class and its fields' values, its constructor's arguments.

    A batch's worker pickles every letter it parses for the parent process.  The
    default of a frozen dataclass with slots looks its fields up again for every
    object (``dataclasses.fields``) and sets each one back with ``object.__setattr__``:
    on the 170-PDF benchmark sample, pickling took 0.66 s and unpickling 0.88 s that
    way, 0.34 s and 0.65 s this way."""
    return type(record), tuple([getattr(record, name) for name in record.__match_args__])


for _record in (Line, Page, RawDocument, Span, ThemeScore, Sentence, Finding, Section, Authority, Inspection, Source, Letter):
    _record.__reduce__ = _by_fields  # type: ignore[method-assign]
del _record


# A section pickles its findings, their spans, sentences and theme scores as plain
# tuples, rebuilt by _section: one record per finding, sentence, span and score (60k
# theme scores on the 170-PDF sample) each cost the pickler a __reduce__ call and a
# REDUCE opcode.  The fields are listed here in constructor order; a test checks them
# against the classes, so a new field cannot be dropped silently.
PACKED_FIELDS = {
    Finding: ("id", "text", "spans", "polarity", "themes", "marker", "sentences"),
    Span: ("page", "start", "end", "bbox"),
    Sentence: ("start", "end", "polarity", "themes"),
    ThemeScore: ("theme", "score"),
    Section: ("id", "heading", "kind", "page", "findings", "parent", "start", "end", "role"),
}


def _pack_section(s: Section) -> tuple[Any, tuple[Any, ...]]:
    findings = tuple([
        (f.id, f.text, tuple([(p.page, p.start, p.end, p.bbox) for p in f.spans]), f.polarity,
         tuple([(t.theme, t.score) for t in f.themes]), f.marker,
         tuple([(x.start, x.end, x.polarity, tuple([(t.theme, t.score) for t in x.themes])) for x in f.sentences]))
        for f in s.findings
    ])
    return _section, (s.id, s.heading, s.kind, s.page, findings, s.parent, s.start, s.end, s.role)


def _section(sid: str, heading: str, kind: str, page: int, findings: tuple[Any, ...], parent: str | None,
             start: int, end: int, role: str) -> Section:
    """A :class:`Section` from what :func:`_pack_section` pickled."""
    return Section(sid, heading, kind, page, tuple([
        Finding(fid, text, tuple([Span(*p) for p in spans]), polarity, tuple([ThemeScore(*t) for t in themes]), marker,
                tuple([Sentence(a, b, sp, tuple([ThemeScore(*t) for t in st])) for a, b, sp, st in sentences]))
        for fid, text, spans, polarity, themes, marker, sentences in findings
    ]), parent, start, end, role)


Section.__reduce__ = _pack_section  # type: ignore[method-assign]
