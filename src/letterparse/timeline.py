"""Authorities over time: timelines, grade transitions and recurring weaknesses.

Everything here reads the store's views (see docs/store.md): ``inspections`` (one row
per document, with the authority's previous graded document) and ``judgement_findings``
(findings of judgement sections only).  An authority's history includes the documents of
the authorities it took over from (``Gazetteer.lineage``).

* :func:`timeline` - the ``inspections`` rows plus, per document, counts of strength,
  weakness and priority judgement findings and its most frequent weakness themes.
* :func:`transitions` - previous -> current harmonised overall grade, with counts and
  Wilson intervals, overall and per framework pair (``sif -> ilacs``).
* :func:`recurring` - per authority and theme, runs of consecutive judgement events in
  which the theme has a weakness or priority finding, with the evidence (finding ids and
  pages); :func:`recurring_england` - the share of authorities with each theme recurring.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Mapping

from .errors import StoreError
from .stats import wilson
from .vocab import GRADES

if TYPE_CHECKING:  # pragma: no cover
    import pandas

Frames = Mapping[str, "pandas.DataFrame"]
WEAK = ("weakness", "priority")  # the polarities that count as a weakness


def frames_of(store: str | Path | Frames, needs: tuple[str, ...] = ("inspections", "judgement_findings")) -> Frames:
    """The store's frames (a path is loaded); a :class:`StoreError` naming what is missing
    when the store lacks a table or view the caller needs."""
    if isinstance(store, Mapping):
        frames, where = store, "frames"
    else:
        from .store import load, require_current

        frames, where = load(store), str(store)
        require_current(frames, where)
    missing = [n for n in needs if n not in frames]
    if missing:
        raise StoreError(where, f"the store lacks {', '.join(missing)}; write it again with `letterparse batch` of this version")
    if "inspections" in needs and not len(frames["inspections"]):
        raise StoreError(where, "the store has no letters")
    return frames


def resolve_authority(name_or_code: str) -> str:
    """The gazetteer's canonical name for an authority name or code (as ``compare
    --authority`` reads it); ``ValueError`` for an unknown one."""
    from .compare import resolve_authority as record

    return record(name_or_code).name


def _ancestors(name: str) -> frozenset[str]:
    from .gazetteer import load_gazetteer

    return load_gazetteer().ancestors(name)


def _heads(authorities: set[str]) -> dict[str, set[str]]:
    """Each authority whose history is reported -> the names whose documents it includes.
    An authority that was succeeded is reported within its successors' histories."""
    from .gazetteer import load_gazetteer

    g = load_gazetteer()
    out: dict[str, set[str]] = {}
    for a in authorities:
        rec = g.by_name(a)
        if rec is not None and rec.successors:
            for succ in rec.successors:
                out.setdefault(succ, set())
            continue
        out.setdefault(a, set())
    for head in out:
        out[head] = set(g.ancestors(head))
    return out


def _weak_themes(jf: pandas.DataFrame) -> pandas.DataFrame:
    """(sha256, finding_id, page, theme) for every weakness or priority judgement finding
    and each of its themes."""
    w = jf[jf["polarity"].isin(WEAK)][["sha256", "finding_id", "page", "themes"]]
    w = w.assign(theme=w["themes"].map(list)).explode("theme")
    return w[w["theme"].notna()].drop(columns="themes")


# --- timeline -------------------------------------------------------------------


def timeline(store: str | Path | Frames, authority: str | None = None, top: int = 3) -> pandas.DataFrame:
    """One row per document (an authority's, with its predecessors', when ``authority``
    is given), in date order, with judgement-finding counts and top weakness themes."""
    import pandas as pd

    frames = frames_of(store)
    ins = frames["inspections"].copy()
    jf = frames["judgement_findings"]
    if authority is not None:
        name = resolve_authority(authority)
        ins = ins[ins["authority"].isin(_ancestors(name))]
        if ins.empty:
            raise ValueError(f"the store has no documents about {name}")
    counts = jf.groupby(["sha256", "polarity"]).size().unstack(fill_value=0)
    for pol, col in (("strength", "strengths"), ("weakness", "weaknesses"), ("priority", "priorities")):
        ins[col] = ins["sha256"].map(counts[pol] if pol in counts.columns else pd.Series(dtype=int)).fillna(0).astype(int)
    ins["judgement_findings"] = ins["sha256"].map(jf.groupby("sha256").size()).fillna(0).astype(int)
    weak = _weak_themes(jf)
    tops = (
        weak.groupby(["sha256", "theme"]).size().rename("n").reset_index()
        .sort_values(["sha256", "n", "theme"], ascending=[True, False, True])
        .groupby("sha256").head(top)
    )
    label = tops.assign(t=tops["theme"] + " (" + tops["n"].astype(str) + ")").groupby("sha256")["t"].agg("; ".join)
    ins["top_weakness_themes"] = ins["sha256"].map(label).fillna("")
    keys = ["event_date", "sha256"] if authority is not None else ["authority", "event_date", "sha256"]
    return ins.sort_values(keys, na_position="last").reset_index(drop=True)


# --- transitions ----------------------------------------------------------------


def transitions(store: str | Path | Frames) -> pandas.DataFrame:
    """Previous -> current harmonised overall grade.  One row per (scope, previous, current)
    grade pair: ``scope`` is ``all`` or a framework pair such as ``sif -> ilacs``; ``n`` is the
    number of graded documents whose previous graded document had ``previous_overall`` in
    that scope; ``share`` = ``inspections`` / ``n`` with a 95% Wilson interval.  Every one of
    the 16 grade pairs is listed for a scope that has any transition (a zero is a count)."""
    import pandas as pd

    ins = frames_of(store, ("inspections",))["inspections"]
    fw = ins.set_index("sha256")["framework"]
    t = ins[ins["overall"].notna() & ins["previous_overall"].notna()].copy()
    t["from_framework"] = t["previous_sha256"].map(fw)
    t["to_framework"] = t["framework"]
    scopes = [("all", t)] + [
        (f"{a} -> {b}", g) for (a, b), g in sorted(t.groupby(["from_framework", "to_framework"]), key=lambda kv: kv[0])
    ]
    rows = []
    for scope, g in scopes:
        n_from = g.groupby("previous_overall").size()
        pairs = g.groupby(["previous_overall", "overall"]).size()
        for prev in GRADES:
            n = int(n_from.get(prev, 0))
            for cur in GRADES:
                k = int(pairs.get((prev, cur), 0))
                lo, hi = wilson(k, n)
                rows.append({
                    "scope": scope, "previous_overall": prev, "overall": cur, "inspections": k, "n": n,
                    "share": k / n if n else None, "ci_low": lo, "ci_high": hi,
                })
    return pd.DataFrame(rows, columns=["scope", "previous_overall", "overall", "inspections", "n", "share", "ci_low", "ci_high"])


# --- recurring weaknesses -------------------------------------------------------


def _events(frames: Frames) -> dict[str, pandas.DataFrame]:
    """Each reported authority -> its judgement events (documents with at least one
    judgement finding), in date order."""
    ins = frames["inspections"]
    jf = frames["judgement_findings"]
    judged = ins[ins["sha256"].isin(set(jf["sha256"])) & ins["authority"].notna() & ins["event_date"].notna()]
    out = {}
    for head, names in sorted(_heads(set(judged["authority"])).items()):
        ev = judged[judged["authority"].isin(names)].sort_values(["event_date", "sha256"])
        if len(ev):
            out[head] = ev
    return out


def recurring(store: str | Path | Frames, min_events: int = 2) -> pandas.DataFrame:
    """Runs of at least ``min_events`` consecutive judgement events of an authority in which
    a theme has a weakness or priority finding.

    Columns: ``authority, ons_code, theme, events`` (the run's length), ``of_events`` (the
    authority's judgement events in all), ``first, last`` (event dates), ``ongoing`` (the run
    reaches the authority's latest event), ``sha256s`` and ``evidence`` (``sha256-prefix#finding_id
    p.PAGE`` for every weakness finding of the theme in the run)."""
    import pandas as pd

    if min_events < 2:
        raise ValueError("a recurrence needs --min-events of 2 or more")
    frames = frames_of(store)
    from .gazetteer import load_gazetteer

    g = load_gazetteer()
    weak = _weak_themes(frames["judgement_findings"])
    by_doc_theme = {k: v for k, v in weak.groupby(["sha256", "theme"])}
    themes_of = weak.groupby("sha256")["theme"].agg(set).to_dict()
    rows = []
    for head, ev in _events(frames).items():
        shas = list(ev["sha256"])
        dates = list(ev["event_date"])
        rec = g.by_name(head)
        for theme in sorted(set().union(*(themes_of.get(s, set()) for s in shas))):
            flags = [theme in themes_of.get(s, ()) for s in shas] + [False]
            start = None
            for i, flag in enumerate(flags):
                if flag and start is None:
                    start = i
                elif not flag and start is not None:
                    if i - start >= min_events:
                        run = shas[start:i]
                        evidence = [
                            f"{s[:16]}#{r.finding_id} p.{r.page}"
                            for s in run for r in by_doc_theme[(s, theme)].itertuples()
                        ]
                        rows.append({
                            "authority": head, "ons_code": rec.ons_code if rec else None, "theme": theme,
                            "events": i - start, "of_events": len(shas), "first": dates[start], "last": dates[i - 1],
                            "ongoing": i == len(shas), "sha256s": run, "evidence": evidence,
                        })
                    start = None
    cols = ["authority", "ons_code", "theme", "events", "of_events", "first", "last", "ongoing", "sha256s", "evidence"]
    return pd.DataFrame(rows, columns=cols)


def recurring_england(store: str | Path | Frames, min_events: int = 2) -> pandas.DataFrame:
    """Per theme: of the authorities with at least ``min_events`` judgement events
    (``n``), how many have the theme recurring (``authorities``), the share and its 95%
    Wilson interval; most frequent first."""
    import pandas as pd

    frames = frames_of(store)
    runs = recurring(frames, min_events)
    n = sum(1 for ev in _events(frames).values() if len(ev) >= min_events)
    return england_shares(runs, n, set(_weak_themes(frames["judgement_findings"])["theme"]))


def england_shares(runs: pandas.DataFrame, n: int, themes: Iterable[str]) -> pandas.DataFrame:
    """Per theme, the authorities among ``n`` with a run of it in ``runs`` (the table of
    :func:`recurring`), the share and its 95% Wilson interval; most frequent first."""
    import pandas as pd

    rows = []
    for theme in sorted(themes):
        k = runs.loc[runs["theme"] == theme, "authority"].nunique()
        lo, hi = wilson(k, n)
        rows.append({"theme": theme, "authorities": k, "n": n, "share": k / n if n else None, "ci_low": lo, "ci_high": hi})
    t = pd.DataFrame(rows, columns=["theme", "authorities", "n", "share", "ci_low", "ci_high"])
    return t.sort_values(["authorities", "theme"], ascending=[False, True]).reset_index(drop=True)
