"""Compare authorities over time: theme tables with denominators and intervals, and plots.

The only module that imports matplotlib (Agg backend, inside functions).

The table has one row per group, theme and polarity::

    [group,] <the --by columns>, theme, polarity, n, letters, findings, share, ci_low, ci_high, small_n

* It counts **judgement** findings (the store's ``judgement_findings``: the
  inspectors' evaluation, not area statistics, method or the summary for
  children); ``all_findings=True`` counts every finding instead.
* ``unit="sentence"`` counts sentences instead (``judgement_sentences``, or
  every row of ``sentences``), each with its own polarity and themes: ``n`` is
  then a number of sentences and the count column is named ``sentences``
  instead of ``findings`` (the column name says which unit was counted).
  Findings with no sentences (list bullets, and every finding of a letter
  parsed without themes) are not counted in sentence units.
* ``n`` is the number of the group's findings of that polarity (each finding
  once), ``letters`` the number of documents they come from, ``findings`` the
  number of them with that theme (a finding with several themes counts once
  for each), ``share`` = findings / n, and ``ci_low``, ``ci_high`` a 95% Wilson
  score interval for the share.  ``small_n`` is ``n < min_n``.  A finding with
  no themes (no theme model) has theme ``unclassified``.
* The ``--by`` columns come in the order of :data:`GROUPINGS`; ``authority``
  brings ``ons_code`` and ``region`` with it.  ``grade`` is the inspection's
  harmonised overall grade (empty for ungraded documents).
* With ``authority`` given, rows are for that authority (``group`` =
  ``authority``) and, for each of ``vs``, for its statistical neighbours
  (the gazetteer's list), the other authorities of its region, or every other
  authority (``neighbours``, ``region``, ``england``), each pooled, with the
  same filters and only the families and years of the authority's own findings.  Every
  group then lists every theme seen in any group for the same keys and
  polarity, zeros included, so the rows line up.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Mapping

from .errors import StoreError
from .io import write_atomic
from .stats import wilson
from .tables import check_out, to_markdown, write_table  # noqa: F401  (write_table, to_markdown: re-exported)
from .vocab import THEMES
from .vocab import FAMILIES, FRAMEWORKS, GRADES, POLARITIES

if TYPE_CHECKING:  # pragma: no cover
    import pandas

    from .gazetteer import AuthorityRecord

UNCLASSIFIED = "unclassified"
UNKNOWN = "(unknown)"
GROUPINGS = ("authority", "region", "family", "framework", "year", "grade")
VS = ("neighbours", "region", "england")
GROUPS = ("authority", *VS)
ALL_THEMES = (*THEMES, UNCLASSIFIED)
STATS = ["theme", "polarity", "n", "letters", "findings", "share", "ci_low", "ci_high", "small_n"]
COLUMNS = ["authority", "ons_code", "region", "year", *STATS]  # the default grouping's columns
UNITS = ("finding", "sentence")  # what a table counts; its count column is the plural
_VIEW = {"finding": "judgement_findings", "sentence": "judgement_sentences"}
_TABLE = {"finding": "findings", "sentence": "sentences"}


def stats(unit: str = "finding") -> list[str]:
    """The statistics columns of a table counting ``unit`` (:data:`STATS` for findings)."""
    return [f"{unit}s" if c == "findings" else c for c in STATS]

_SOURCE = {"grade": "overall"}  # --by key -> store column, where they differ
_LACKS = "re-run letterparse batch with this version"

# --- options --------------------------------------------------------------------------


def _choose(what: str, values: Iterable[str], valid: Iterable[str]) -> tuple[str, ...]:
    """``values`` lower-cased, each checked against ``valid``; ``ValueError`` lists the valid ones."""
    valid = tuple(valid)
    out = []
    for v in values:
        key = v.strip().lower()
        if key not in valid:
            raise ValueError(f"unknown {what} {v!r}; use one of: {', '.join(valid)}")
        out.append(key)
    return tuple(dict.fromkeys(out))


def _many(value: str | Iterable[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def resolve_authority(name_or_code: str) -> AuthorityRecord:
    """The gazetteer record for a name (any case, usual affixes) or an ONS or DfE code."""
    from .gazetteer import load_gazetteer

    rec = load_gazetteer().lookup(name_or_code)
    if rec is None:
        raise ValueError(f"unknown authority {name_or_code!r}; give its name or its ONS code (e.g. E09000025)")
    return rec


def _grouping_error(by) -> None:
    bad = [b for b in _many(by) if b.strip().lower() not in GROUPINGS]
    if bad:
        raise ValueError(f"cannot group by {', '.join(bad)}; use one of: {', '.join(GROUPINGS)}")


class _Query:
    """The validated options of :func:`theme_table`."""

    def __init__(self, by, *, family, framework, region, theme, polarity, authority, vs, min_n, all_findings,
                 unit="finding"):
        self.unit = _choose("unit", _many(unit), UNITS)[0] if unit is not None else "finding"
        self.count = f"{self.unit}s"  # the count column, named after the unit
        self.authority = resolve_authority(authority) if authority is not None else None
        default = ("year",) if self.authority is not None else ("authority", "year")
        if by is not None:
            _grouping_error(by)
        wanted = default if by is None else tuple(b.strip().lower() for b in _many(by))
        self.by = tuple(g for g in GROUPINGS if g in wanted)
        self.families = _choose("family", _many(family), FAMILIES)
        self.frameworks = _choose("framework", _many(framework), FRAMEWORKS)
        self.theme = _choose("theme", _many(theme), ALL_THEMES)[0] if theme is not None else None
        self.polarity = _choose("polarity", _many(polarity), POLARITIES)[0] if polarity is not None else None
        self.vs = _choose("comparison", _many(vs), VS)
        self.region = region
        self.min_n = int(min_n)
        self.all_findings = all_findings
        if self.vs and self.authority is None:
            raise ValueError("--vs needs --authority (the authority to compare)")
        if self.authority is not None:
            clash = [g for g in ("authority", "region") if g in self.by]
            if clash:
                raise ValueError(f"with --authority, rows are pooled per group: cannot also group by {', '.join(clash)}")
            if region is not None:
                raise ValueError("give --region or --authority, not both")

    def own_columns(self) -> list[str]:
        """Columns of the counted unit itself (the rest come from its letter)."""
        return ["sha256", "finding_id", *(["n"] if self.unit == "sentence" else []), "polarity", "themes"]

    def columns(self) -> list[str]:
        """Store columns the query reads."""
        cols = [*self.own_columns(), "authority", "ons_code", "region", "year"]
        for key, used in (("family", self.families or self.authority), ("framework", self.frameworks)):
            if used or key in self.by:
                cols.append(key)
        if "grade" in self.by:
            cols.append("overall")
        return cols

    def key_columns(self) -> list[str]:
        """The grouping's columns in the table (authority brings ons_code and region)."""
        out: list[str] = []
        for g in self.by:
            if g == "authority":
                out += ["authority", "ons_code", "region"]
            elif g not in out:
                out.append(g)
        return out


# --- the store ------------------------------------------------------------------------


def _frames(store: str | Path | Mapping[str, pandas.DataFrame]) -> Mapping[str, pandas.DataFrame]:
    if isinstance(store, Mapping):
        return store
    from .store import load, require_current

    frames = load(store)
    require_current(frames, str(store))
    return frames


def _name(store: object) -> str:
    return "frames" if isinstance(store, Mapping) else str(store)


def _need(df: pandas.DataFrame, cols: Iterable[str], table: str, source: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise StoreError(source, f"store lacks {', '.join(missing)} in {table}: {_LACKS}")


def _units(frames: Mapping[str, pandas.DataFrame], q: _Query, source: str) -> pandas.DataFrame:
    """One row per counted unit (finding or sentence) with the columns the query needs,
    and ``item``, its id (``sha256/finding_id``, and ``/n`` for a sentence)."""
    import pandas as pd

    cols, own = q.columns(), q.own_columns()
    if q.all_findings:
        table = _TABLE[q.unit]
        for t in ("letters", table):
            if t not in frames:
                raise StoreError(source, f"store lacks {t}: {_LACKS}")
        doc = [c for c in cols if c == "sha256" or c not in own]
        _need(frames[table], own, table, source)
        _need(frames["letters"], doc, "letters", source)
        f = frames[table][own].merge(frames["letters"][doc], on="sha256")
    else:
        view = _VIEW[q.unit]
        if view not in frames:
            raise StoreError(source, f"store lacks {view}: {_LACKS}")
        _need(frames[view], cols, view, source)
        f = frames[view][cols].copy()
    f["year"] = pd.to_numeric(f["year"], errors="coerce").astype("Int64")
    f["themes"] = f["themes"].map(_theme_list)
    if q.families:
        f = f[f["family"].isin(q.families)]
    if q.frameworks:
        f = f[f["framework"].isin(q.frameworks)]
    if q.region is not None:
        f = f[f["region"].fillna("").str.lower() == q.region.strip().lower()]
    if q.polarity is not None:
        f = f[f["polarity"] == q.polarity]
    f = f.rename(columns={col: key for key, col in _SOURCE.items()})
    item = f["sha256"] + "/" + f["finding_id"]
    if q.unit == "sentence":
        item = item + "/" + f["n"].astype(str)
        f = f.drop(columns=["n"])
    return f.assign(item=item).reset_index(drop=True)


def _theme_list(ts: object) -> list[str]:
    if isinstance(ts, str):
        return [ts]
    return list(ts) if hasattr(ts, "__iter__") else []


# --- the table ------------------------------------------------------------------------


def _counts(f: pandas.DataFrame, keys: list[str], count: str) -> tuple[pandas.DataFrame, pandas.DataFrame]:
    """Denominators (keys + polarity -> n, letters) and counts (keys + polarity + theme ->
    ``count``, the number of units with the theme)."""
    k = keys + ["polarity"]
    denom = f.groupby(k, dropna=False).agg(n=("item", "nunique"), letters=("sha256", "nunique")).reset_index()
    t = f.assign(theme=f["themes"].map(lambda ts: list(dict.fromkeys(ts)) or [UNCLASSIFIED])).explode("theme")
    counts = t.groupby(k + ["theme"], dropna=False)["item"].nunique().rename(count).reset_index()
    return denom, counts


def _canonical(f: pandas.DataFrame) -> list[str | None]:
    """Each row's authority as the gazetteer names it (by ONS code, else by name)."""
    from .gazetteer import load_gazetteer

    g = load_gazetteer()
    memo: dict[tuple, str | None] = {}
    out = []
    for a, o in zip(f["authority"], f["ons_code"]):
        key = (a, o)
        if key not in memo:
            rec = (g.by_ons(o) if isinstance(o, str) and o else None) or (g.resolve(a) if isinstance(a, str) and a else None)
            memo[key] = rec.name if rec else (a if isinstance(a, str) else None)
        out.append(memo[key])
    return out


def _groups(f: pandas.DataFrame, q: _Query) -> dict[str, pandas.DataFrame]:
    """The authority's units (findings or sentences) and those of each comparison group
    (same families and years)."""
    from .gazetteer import load_gazetteer

    import pandas as pd

    rec = q.authority
    canon = pd.Series(_canonical(f), index=f.index, dtype="object")
    mine = f[canon == rec.name]
    if mine.empty:
        raise ValueError(f"{rec.name}: no {'' if q.all_findings else 'judgement '}{q.unit}s in this store with these filters")
    # like with like: the comparison groups' documents of the families and years the
    # authority's own documents are of
    years, families = set(mine["year"].dropna()), set(mine["family"].dropna())
    others = f[canon.notna() & (canon != rec.name) & f["year"].isin(years) & f["family"].isin(families)]
    groups = {"authority": mine}
    for vs in q.vs:
        if vs == "neighbours":
            names = {n.name for n in load_gazetteer().neighbours(rec)}
            groups[vs] = others[canon[others.index].isin(names)]
        elif vs == "region":
            groups[vs] = others[others["region"] == rec.region]
        else:
            groups[vs] = others
    return groups


def _zero_filled(denom: pandas.DataFrame, counts: pandas.DataFrame, keys: list[str], count: str) -> pandas.DataFrame:
    """Every (group, keys, polarity) with every theme seen for those keys and polarity."""
    k = keys + ["polarity"]
    themes = counts[k + ["theme"]].drop_duplicates()
    full = denom.merge(themes, on=k, how="inner")
    full = full.merge(counts, on=["group"] + k + ["theme"], how="left")
    full[count] = full[count].fillna(0)
    return full


def _empty(columns: list[str]) -> pandas.DataFrame:
    import pandas as pd

    return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})


def theme_table(
    store: str | Path | Mapping[str, pandas.DataFrame],
    by: Iterable[str] | None = None,
    *,
    family: str | Iterable[str] | None = None,
    framework: str | Iterable[str] | None = None,
    region: str | None = None,
    theme: str | None = None,
    polarity: str | None = None,
    authority: str | None = None,
    vs: Iterable[str] = (),
    min_n: int = 10,
    all_findings: bool = False,
    unit: str = "finding",
) -> pandas.DataFrame:
    """The theme table for a store (a path, or the frames of :func:`letterparse.load`).

    ``by`` defaults to authority and year (year alone with ``authority``).
    Options are checked before the store is read; unknown values raise
    ``ValueError`` listing the valid ones (matched ignoring case).  ``theme``
    keeps the denominators: it only drops other themes' rows.

    ``unit`` is what is counted: ``"finding"`` (the default; count column
    ``findings``) or ``"sentence"`` (each sentence of a prose finding with its own
    polarity and themes; count column ``sentences``, and ``n`` a number of
    sentences).  Findings with no sentences (list bullets, or letters parsed
    without themes) are not counted in sentence units.

    >>> theme_table("letters.duckdb", by=["framework", "year"], polarity="weakness")  # doctest: +SKIP
    >>> theme_table("letters.duckdb", authority="Newham", vs=["neighbours", "england"])  # doctest: +SKIP
    >>> theme_table("letters.duckdb", by=["year"], polarity="weakness", unit="sentence")  # doctest: +SKIP
    """
    q = _Query(by, family=family, framework=framework, region=region, theme=theme, polarity=polarity,
               authority=authority, vs=vs, min_n=min_n, all_findings=all_findings, unit=unit)
    return _table(_frames(store), q, _name(store))


def _table(frames: Mapping[str, pandas.DataFrame], q: _Query, source: str) -> pandas.DataFrame:
    import pandas as pd

    keys = list(q.by)
    group = ["group"] if q.authority is not None else []
    columns = group + q.key_columns() + stats(q.unit)
    f = _units(frames, q, source)
    if q.authority is None:
        f["authority"] = f["authority"].fillna(UNKNOWN)
        f["region"] = f["region"].fillna(UNKNOWN)
        if f.empty:
            return _empty(columns)
        denom, counts = _counts(f, keys, q.count)
        t = counts.merge(denom, on=keys + ["polarity"], how="left")
    else:
        parts = [(name, _counts(g, keys, q.count)) for name, g in _groups(f, q).items() if not g.empty]
        denom = pd.concat([d.assign(group=name) for name, (d, _) in parts], ignore_index=True)
        counts = pd.concat([c.assign(group=name) for name, (_, c) in parts], ignore_index=True)
        t = _zero_filled(denom, counts, keys, q.count)
    if q.theme is not None:
        t = t[t["theme"] == q.theme]
    if t.empty:
        return _empty(columns)
    for c in ("n", "letters", q.count):
        t[c] = t[c].astype(int)
    t["share"] = t[q.count] / t["n"]
    ci = [wilson(k, n) for k, n in zip(t[q.count], t["n"])]
    t["ci_low"], t["ci_high"] = [lo for lo, _ in ci], [hi for _, hi in ci]
    t["small_n"] = t["n"] < q.min_n
    if "authority" in keys:
        # One ons_code and region per authority (the first seen), so they never split a group.
        info = f.sort_values(["sha256", "finding_id"]).drop_duplicates("authority").set_index("authority")
        t["ons_code"] = t["authority"].map(info["ons_code"])
        if "region" not in keys:
            t["region"] = t["authority"].map(info["region"])
    return _sorted(t[columns], group + [c for c in q.key_columns() if c not in ("ons_code",)])


def _sorted(t: pandas.DataFrame, keys: list[str]) -> pandas.DataFrame:
    order = {"group": {g: i for i, g in enumerate(GROUPS)}, "grade": {g: i for i, g in enumerate(GRADES)}}

    def key(col):
        if col.name in order:
            return col.map(order[col.name])
        return col

    t = t.sort_values([*keys, "polarity", "theme"], key=key, na_position="first", kind="stable")
    return t.reset_index(drop=True)


# --- plots --------------------------------------------------------------------------


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _png(fig) -> bytes:
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return buf.getvalue()


def heatmap_png(frames: Mapping[str, pandas.DataFrame], polarity: str = "weakness", **filters) -> bytes:
    """Authorities x themes: each cell the share of the authority's ``polarity`` findings
    (or sentences, with ``unit="sentence"``; all years together) with that theme."""
    plt = _plt()
    t = theme_table(frames, by=("authority",), polarity=polarity, **filters)
    units = f"{filters.get('unit') or 'finding'}s"
    plt.close("all")
    if t.empty:
        fig, ax = plt.subplots(figsize=(6, 2))
        ax.axis("off")
        ax.text(0.5, 0.5, f"no {polarity} {units}", ha="center", va="center")
        return _png(fig)
    m = t.pivot_table(index="authority", columns="theme", values="share", aggfunc="sum", fill_value=0.0)
    m = m.sort_index()
    rows, cols = m.shape
    fig, ax = plt.subplots(figsize=(max(5.0, 1.0 + 0.7 * cols + 2.5), max(3.0, 1.2 + 0.22 * rows)))
    im = ax.imshow(m.to_numpy(), aspect="auto", cmap="viridis", vmin=0.0, vmax=max(1e-9, float(m.to_numpy().max())))
    ax.set_xticks(range(cols), [str(c) for c in m.columns], rotation=45, ha="right")
    if rows > 30:  # a tall map: theme names on top as well
        ax.tick_params(top=True, labeltop=True)
        plt.setp(ax.get_xticklabels(), rotation=45)
    ax.set_yticks(range(rows), [str(i) for i in m.index], fontsize=8 if rows > 40 else 9)
    ax.set_xlabel("theme")
    ax.set_ylabel("authority")
    ax.set_title(f"Share of {polarity} {units} by theme")
    fig.colorbar(im, ax=ax, label=f"share of {polarity} {units}", shrink=min(1.0, 12 / max(rows, 1)) if rows > 12 else 1.0)
    return _png(fig)


def trends_png(frames: Mapping[str, pandas.DataFrame], **filters) -> bytes:
    """Theme shares over the years, one panel per polarity, one line per theme."""
    plt = _plt()
    t = theme_table(frames, by=("year",), **filters)
    units = f"{filters.get('unit') or 'finding'}s"
    t = t[t["year"].notna()]
    plt.close("all")
    polarities = sorted(t["polarity"].unique()) or ["(none)"]
    ncols = min(2, len(polarities))
    nrows = -(-len(polarities) // ncols)
    # every panel shares one x range of whole years, and a theme keeps its colour everywhere
    fig, grid = plt.subplots(nrows, ncols, figsize=(5.0 * ncols + 1, 3.6 * nrows), sharey=True, sharex=True, squeeze=False)
    axes = list(grid.flat)
    for ax in axes[len(polarities):]:
        ax.axis("off")
    themes = sorted(t["theme"].unique())
    cmap = plt.get_cmap("tab20")
    colour = {th: cmap(i % 20) for i, th in enumerate(themes)}
    years = t["year"].astype(int)
    lo, hi = (int(years.min()), int(years.max())) if len(years) else (0, 1)
    for ax, pol in zip(axes, polarities):
        sub = t[t["polarity"] == pol]
        for theme, g in sub.groupby("theme"):
            g = g.sort_values("year")
            ax.plot(g["year"].astype(int), g["share"], marker="o", ms=4, color=colour[theme], label=str(theme))
        ax.set_title(f"{pol} {units}")
        ax.set_xlabel("year (inspection ended)")
        ax.set_ylabel(f"share of {units}")
        ax.set_ylim(0, 1.05)
        ax.set_xlim(lo - 0.5, hi + 0.5)
        ax.grid(alpha=0.3)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.tick_params(labelbottom=True)
    handles = [plt.Line2D([], [], color=colour[th], marker="o", ms=4, label=th) for th in themes]
    if handles:
        fig.legend(handles=handles, title="theme", loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.suptitle("Theme shares over time by polarity")
    fig.tight_layout()
    return _png(fig)


def write_comparison(
    store: str | Path | Mapping[str, pandas.DataFrame],
    out: str | Path,
    by: Iterable[str] | None = None,
    *,
    fmt: str | None = None,
    family: str | Iterable[str] | None = None,
    framework: str | Iterable[str] | None = None,
    region: str | None = None,
    theme: str | None = None,
    polarity: str | None = None,
    authority: str | None = None,
    vs: Iterable[str] = (),
    min_n: int = 10,
    all_findings: bool = False,
    unit: str = "finding",
    heatmap: str | Path | None = None,
    trends: str | Path | None = None,
) -> pandas.DataFrame:
    """Write the theme table (see :func:`theme_table`) to ``out`` (``.csv``, ``.md``,
    ``.json`` or ``-`` for stdout, see :mod:`letterparse.tables`) and any plots
    asked for; return the table.  For a browsable site (an England overview and one
    page per authority) use :func:`letterparse.report.report` (``letterparse report``).

    The output and the options are checked before the store is read.  The
    heatmap (authorities x themes) shows ``polarity`` (weakness when not given),
    the trends every polarity unless one is chosen; both use the same findings
    (or sentences: ``unit``) and filters as the table, over all authorities.
    """
    check_out(out, fmt)
    q = _Query(by, family=family, framework=framework, region=region, theme=theme, polarity=polarity,
               authority=authority, vs=vs, min_n=min_n, all_findings=all_findings, unit=unit)
    frames = _frames(store)
    if "letters" in frames and not len(frames["letters"]):
        raise StoreError(_name(store), "the store has no letters")
    table = _table(frames, q, _name(store))
    write_table(table, out, fmt)
    filters = {"family": q.families or None, "framework": q.frameworks or None, "region": region,
               "theme": q.theme, "all_findings": all_findings, "unit": q.unit}
    if heatmap is not None:
        write_atomic(heatmap, heatmap_png(frames, polarity=q.polarity or "weakness", **filters))
    if trends is not None:
        write_atomic(trends, trends_png(frames, polarity=q.polarity, **filters))
    return table
