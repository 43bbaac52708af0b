"""Compare authorities over time: tidy theme tables, a heatmap, trend plots, one HTML page.

The only module that imports matplotlib (Agg backend, inside functions).

The tidy table has one row per group, theme and polarity::

    authority, ons_code, region, year, theme, polarity, findings, share

``findings`` counts the group's findings of that polarity with that theme (a
finding with several themes counts once for each); ``share`` divides it by the
number of the group's findings of that polarity (each finding once).  A
finding with no themes (no theme model yet) has theme ``unclassified``.
Columns not in the grouping are empty (``ons_code`` and ``region`` follow
``authority`` when it is grouped).
"""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Mapping

from .errors import StoreError
from .io import write_atomic

if TYPE_CHECKING:  # pragma: no cover
    import pandas

UNCLASSIFIED = "unclassified"
UNKNOWN = "(unknown)"
GROUPINGS = ("authority", "region", "year")
COLUMNS = ["authority", "ons_code", "region", "year", "theme", "polarity", "findings", "share"]


def _frames(store: str | Path | Mapping[str, pandas.DataFrame]) -> Mapping[str, pandas.DataFrame]:
    if isinstance(store, Mapping):
        return store
    from .store import load

    return load(store)


def theme_table(
    store: str | Path | Mapping[str, pandas.DataFrame],
    by: Iterable[str] = ("authority", "year"),
    *,
    region: str | None = None,
    family: str | None = None,
    theme: str | None = None,
    polarity: str | None = None,
) -> pandas.DataFrame:
    """The tidy table for a store (a path or the frames of :func:`letterparse.load`)."""
    import pandas as pd

    by = list(dict.fromkeys(by))
    bad = [b for b in by if b not in GROUPINGS]
    if bad:
        raise ValueError(f"cannot group by {', '.join(bad)}; use {', '.join(GROUPINGS)}")
    frames = _frames(store)
    letters = frames["letters"][["sha256", "family", "authority", "ons_code", "region", "year"]].copy()
    letters["authority"] = letters["authority"].fillna(UNKNOWN)
    letters["region"] = letters["region"].fillna(UNKNOWN)
    if region is not None:
        letters = letters[letters["region"].str.lower() == region.lower()]
    if family is not None:
        letters = letters[letters["family"] == family]
    f = frames["findings"][["sha256", "finding_id", "polarity", "themes"]].merge(letters, on="sha256")
    f["finding"] = f["sha256"] + "/" + f["finding_id"]
    if polarity is not None:
        f = f[f["polarity"] == polarity]
    keys = by + ["polarity"]
    if f.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in COLUMNS})
    f = f.assign(theme=f["themes"].map(lambda ts: list(ts) if len(ts) else [UNCLASSIFIED])).explode("theme")
    f["year"] = f["year"].astype("Int64")
    denom = f.drop_duplicates("finding").groupby(keys, dropna=False).size().rename("total")
    counts = f.groupby(keys + ["theme"], dropna=False).size().rename("findings").reset_index()
    t = counts.merge(denom.reset_index(), on=keys, how="left")
    t["share"] = t["findings"] / t["total"]
    if theme is not None:
        t = t[t["theme"] == theme]
    if "authority" in by:
        # One ons_code/region per authority (the first seen), so they never split a group.
        info = letters.sort_values("sha256").drop_duplicates("authority").set_index("authority")
        t["ons_code"] = t["authority"].map(info["ons_code"])
        if "region" not in by:
            t["region"] = t["authority"].map(info["region"])
    for c in COLUMNS:
        if c not in t.columns:
            t[c] = None
    t = t[COLUMNS].sort_values(["authority", "region", "year", "polarity", "theme"], na_position="first")
    t["findings"] = t["findings"].astype(int)
    return t.reset_index(drop=True)


# --- tables -------------------------------------------------------------------------


def _cell(v: object) -> str:
    import pandas as pd

    if v is None or (not isinstance(v, (list, tuple)) and pd.isna(v)):
        return ""
    if isinstance(v, float):
        return f"{v:.4f}"
    return str(v).replace("|", "\\|")


def to_markdown(table: pandas.DataFrame) -> str:
    lines = ["| " + " | ".join(table.columns) + " |", "|" + "|".join("---" for _ in table.columns) + "|"]
    for row in table.itertuples(index=False):
        lines.append("| " + " | ".join(_cell(v) for v in row) + " |")
    return "\n".join(lines) + "\n"


def write_table(table: pandas.DataFrame, path: str | Path) -> None:
    """CSV (``.csv``) or a markdown table (``.md``), written atomically."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix == ".csv":
        write_atomic(p, table.to_csv(index=False, float_format="%.6g"))
    elif suffix in (".md", ".markdown"):
        write_atomic(p, to_markdown(table))
    else:
        raise ValueError(f"{p}: give a .csv or .md output file")


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
    (all years together) with that theme."""
    plt = _plt()
    t = theme_table(frames, by=("authority",), polarity=polarity, **filters)
    plt.close("all")
    if t.empty:
        fig, ax = plt.subplots(figsize=(6, 2))
        ax.axis("off")
        ax.text(0.5, 0.5, f"no {polarity} findings", ha="center", va="center")
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
    ax.set_title(f"Share of {polarity} findings by theme")
    fig.colorbar(im, ax=ax, label=f"share of {polarity} findings", shrink=min(1.0, 12 / max(rows, 1)) if rows > 12 else 1.0)
    return _png(fig)


def trends_png(frames: Mapping[str, pandas.DataFrame], **filters) -> bytes:
    """Theme shares over the years, one panel per polarity, one line per theme."""
    plt = _plt()
    t = theme_table(frames, by=("year",), **filters)
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
        ax.set_title(f"{pol} findings")
        ax.set_xlabel("year (inspection ended)")
        ax.set_ylabel("share of findings")
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


def html_page(table: pandas.DataFrame, images: Mapping[str, bytes], title: str = "letterparse: compare") -> str:
    """One self-contained page: the images embedded as base64 data URIs, then the table."""
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title>",
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;font-size:13px}"
        "td,th{border:1px solid #ccc;padding:2px 6px}img{max-width:100%}</style>",
        "</head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    for caption, png in images.items():
        data = base64.b64encode(png).decode("ascii")
        parts.append(f"<h2>{html.escape(caption)}</h2>")
        parts.append(f'<img alt="{html.escape(caption)}" src="data:image/png;base64,{data}">')
    parts.append("<h2>Table</h2>")
    parts.append(table.to_html(index=False, na_rep="", float_format=lambda v: f"{v:.4f}", border=0))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def compare(
    store: str | Path,
    out: str | Path,
    by: Iterable[str] = ("authority", "year"),
    *,
    region: str | None = None,
    family: str | None = None,
    theme: str | None = None,
    polarity: str | None = None,
    heatmap: str | Path | None = None,
    trends: str | Path | None = None,
    html_out: str | Path | None = None,
) -> pandas.DataFrame:
    """Write the tidy table to ``out`` (.csv/.md) and any plots/page asked for; return the table.

    The heatmap shows ``polarity`` (weakness when not given); trends show every
    polarity unless one is chosen.
    """
    frames = _frames(store)
    if not len(frames["letters"]):
        raise StoreError(str(store), "the store has no letters")
    table = theme_table(frames, by, region=region, family=family, theme=theme, polarity=polarity)
    filters = {"region": region, "family": family, "theme": theme}
    write_table(table, out)
    images: dict[str, bytes] = {}
    if heatmap is not None or html_out is not None:
        images["Heatmap: authorities x themes"] = heatmap_png(frames, polarity=polarity or "weakness", **filters)
        if heatmap is not None:
            write_atomic(heatmap, images["Heatmap: authorities x themes"])
    if trends is not None or html_out is not None:
        images["Trends: theme shares by year"] = trends_png(frames, polarity=polarity, **filters)
        if trends is not None:
            write_atomic(trends, images["Trends: theme shares by year"])
    if html_out is not None:
        write_atomic(html_out, html_page(table, images))
    return table
