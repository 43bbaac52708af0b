"""Hand-built Letters for the store and compare tests (themes set by hand)."""

from __future__ import annotations

from dataclasses import dataclass, replace
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


# --- frames by hand (the shape of letterparse.load's output, without a store) -----------


@dataclass(frozen=True)
class Doc:
    """One document for ``frames``: the authority by its gazetteer name, findings as
    ``(polarity, themes)`` or ``(polarity, themes, role)``."""

    sha: str
    authority: str | None
    year: int | None
    findings: tuple = ()
    family: str = "ilacs_report"
    framework: str = "ilacs"
    overall: str | None = None


def frames(docs: list[Doc]) -> dict:
    """``letters``, ``findings`` and ``judgement_findings`` frames for ``docs``; codes
    and region come from the packaged gazetteer."""
    import pandas as pd

    from letterparse.gazetteer import load_gazetteer

    g = load_gazetteer()
    letters, findings = [], []
    for d in docs:
        rec = g.by_name(d.authority) if d.authority else None
        letters.append({
            "sha256": d.sha, "path": f"/x/{d.sha}.pdf", "family": d.family, "framework": d.framework,
            "authority": d.authority, "ons_code": rec.ons_code if rec else None, "la_code": rec.la_code if rec else None,
            "region": rec.region if rec else None, "year": d.year, "overall": d.overall,
        })
        for i, (pol, themes, *role) in enumerate(d.findings, start=1):
            findings.append({
                "sha256": d.sha, "section_id": "s1", "finding_id": f"s1.f{i}", "ordinal": i, "kind": "improvements",
                "role": role[0] if role else "judgement", "marker": "bullet", "polarity": pol, "themes": list(themes),
            })
    lf = pd.DataFrame(letters, columns=["sha256", "path", "family", "framework", "authority", "ons_code", "la_code",
                                        "region", "year", "overall"])
    lf["year"] = lf["year"].astype("Int64")
    ff = pd.DataFrame(findings, columns=["sha256", "section_id", "finding_id", "ordinal", "kind", "role", "marker",
                                         "polarity", "themes"])
    doc_cols = ["sha256", "authority", "ons_code", "la_code", "region", "family", "framework", "year", "overall"]
    jf = ff[ff["role"] == "judgement"].merge(lf[doc_cols], on="sha256")
    return {"letters": lf, "findings": ff, "judgement_findings": jf.reset_index(drop=True)}


def crash_parquet_renames_after(monkeypatch, n: int) -> None:
    """``os.replace`` raises KeyboardInterrupt (a kill) once ``n`` Parquet files of a
    commit have been renamed into place: the commit is decided but half done."""
    import os

    real, done = os.replace, [0]

    def replace_(src, dst, *a, **k):
        if str(dst).endswith(".parquet"):
            if done[0] == n:
                raise KeyboardInterrupt("killed")
            done[0] += 1
        return real(src, dst, *a, **k)

    monkeypatch.setattr(os, "replace", replace_)


def write_store(path, letters, version: str = "1", model: str = "none"):
    """``letters`` written to the store at ``path`` (any format ``open_store`` takes)."""
    from letterparse.store import open_store

    with open_store(path) as s:
        for l in letters:
            s.put_letter(l, version, model)
    return path


def crash_second_commit(monkeypatch, path, letters, renames: int = 2) -> None:
    """The first letter committed to the Parquet store at ``path``, then the rest in a
    commit killed once ``renames`` of its files were renamed into place."""
    import pytest

    write_store(path, letters[:1])
    crash_parquet_renames_after(monkeypatch, renames)
    with pytest.raises(KeyboardInterrupt):
        write_store(path, letters[1:])
    monkeypatch.undo()
