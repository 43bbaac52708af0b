"""Hand-built Letters for the store and compare tests (themes set by hand)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

from letterparse.model import Authority, Finding, Inspection, Letter, Section, Source, Span, ThemeScore

CORPUS = (Path(__file__).parents[1] / "../shared/corpus").resolve()


def finding(sid: str, n: int, polarity: str, themes: tuple[str, ...] = ()) -> Finding:
    return Finding(
        id=f"{sid}.f{n}",
        text=f"finding {sid}.{n}",
        spans=(Span(1, 10 * n, 10 * n + 5),),
        polarity=polarity,
        themes=tuple(ThemeScore(t, 0.9) for t in themes),
    )


def letter(sha: str, name: str, ons: str, end: date | None, findings: list[tuple[str, tuple[str, ...]]],
           letter_date: date | None = None, family: str = "ilacs") -> Letter:
    fs = tuple(finding("s1", i + 1, pol, th) for i, (pol, th) in enumerate(findings))
    return Letter(
        source=Source(f"/x/{sha}.pdf", sha, 3, "pdfium"),
        text="x" * 200,
        family=family,
        authority=Authority(name, name, ons, None),
        letter_date=letter_date,
        inspection=Inspection(None, end, ("A Inspector",)),
        grades=(("overall", "good"),),
        sections=(Section("s1", "Areas for improvement", "improvements", 1, fs),),
    )


def sample_letters() -> list[Letter]:
    """Newham 2019: 4 weakness findings (workforce; workforce+leadership; leadership; none),
    1 strength (workforce).  Newham 2021: 2 weakness (workforce).  Leeds 2019 (year from
    the letter date): 1 weakness (leadership)."""
    W, S = "weakness", "strength"
    return [
        letter("a" * 64, "Newham", "E09000025", date(2019, 5, 3), [
            (W, ("workforce",)), (W, ("workforce", "leadership")), (W, ("leadership",)), (W, ()), (S, ("workforce",)),
        ]),
        letter("b" * 64, "Newham", "E09000025", date(2021, 2, 1), [(W, ("workforce",)), (W, ("workforce",))]),
        letter("c" * 64, "Leeds", "E08000035", None, [(W, ("leadership",))], letter_date=date(2019, 7, 1), family="focused_visit"),
    ]


def with_theme(l: Letter, theme: str) -> Letter:
    return l.with_findings({f.id: replace(f, themes=(ThemeScore(theme, 0.9),)) for f in l.findings})
