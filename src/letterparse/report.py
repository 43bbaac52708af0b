"""A static site researchers open in a browser: England overview and one page per authority.

``report(store, out_dir)`` (``letterparse report STORE --out DIR``) writes::

    DIR/index.html                  England: documents, grades, transitions, recurring
                                    themes, theme prevalence, a table of authorities
    DIR/authority/<ONS_CODE>.html   one page per authority with documents
                                    (``la-<slug>.html`` without an ONS code)
    DIR/assets/report.css, report.js
    DIR/.letterparse-report         marker: only a folder holding it is ever replaced

The site works offline from ``file://``: plain HTML, inline SVG (:mod:`letterparse.svg`),
a small script (``data/report.js``) for sorting and filtering tables; relative links, no
external URL.  What the browser tests rely on: ``<table class="sortable">`` (a click on a
``<th>`` sorts by ``data-value`` or text and sets ``aria-sort``); on the index,
``<input type="search" class="filter" data-table="authorities">`` above ``<table
id="authorities">``, whose first column links to ``authority/<code>.html``;
``<details class="inspection">`` per document with ``<li class="finding"
id="f-<sha16>-<finding id>">`` per judgement finding (escaped text, page, ``<a
class="source" href="file:///...#page=N">`` when the PDF is found); ``<svg
class="timeline">`` with one ``<title>``d mark per document (ungraded ones hollow); a
``<footer>`` naming the versions, the store and the build date.

The site is built in a temporary folder beside ``DIR`` and renamed into place, so a
failure leaves the previous site (or none), never half of one.  Figures come from the
store's views (docs/store.md) through :mod:`letterparse.timeline` and
:func:`letterparse.compare.theme_table`.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Mapping

from . import PARSER_VERSION, __version__, svg
from .compare import UNKNOWN, theme_table
from .errors import LetterparseError
from .gazetteer import load_gazetteer
from .stats import wilson
from .svg import esc, pct, share_text
from .timeline import WEAK, england_shares, frames_of, recurring, transitions
from .vocab import FRAMEWORKS, GRADES

if TYPE_CHECKING:  # pragma: no cover
    import pandas

MARKER = ".letterparse-report"
MIN_N = 10
TOP_THEMES = 6  # lines per small multiple
PROFILE_THEMES = 8  # rows of an authority's theme profile chart
RECENT_YEARS = 3  # an authority's theme profile covers its last 3 years with findings
NEEDS = ("letters", "sections", "inspections", "judgement_findings")

# One colour per theme, on every page and chart (never cycled).
THEME_COLOURS = {
    # the most frequent themes get the most distinct colours; grey is kept for thin groups
    "timeliness": "#1f77b4", "planning_review": "#ff7f0e", "care_permanence": "#2ca02c", "multi_agency": "#d62728",
    "vulnerable_groups": "#9467bd", "management_oversight": "#8c564b", "recording": "#e377c2",
    "leadership_governance": "#17becf", "assessment": "#bcbd22", "workforce": "#393b79", "quality_assurance": "#637939",
    "child_voice": "#843c39", "front_door": "#7b4173", "health_education": "#6baed6", "identity_equality": "#e6ab02",
    "other": "#000000", "unclassified": "#a6761d",
}
OTHER_THEME_COLOUR = "#777777"  # a theme id the codebook does not list (an older or hand-made store)


def theme_colour(theme: str) -> str:
    return THEME_COLOURS.get(theme, OTHER_THEME_COLOUR)


GRADE_COLOURS = {"outstanding": "#1a7837", "good": "#7fbf7b", "requires_improvement": "#f1a340", "inadequate": "#c51b1b"}
FRAMEWORK_COLOURS = {
    "ucra": "#a6cee3", "jar": "#1f78b4", "lac": "#b2df8a", "sif": "#33a02c", "ilacs": "#e31a1c",
    "focused_visit": "#fb9a99", "monitoring_visit": "#ff7f00", "jtai": "#6a3d9a", "area_send": "#cab2d6", "other": "#8c8c8c",
}
GROUP_COLOURS = {"authority": "#111111", "neighbours": "#0067a5", "region": "#f38400", "england": "#008856"}
FRAMEWORK_NAMES = {
    "ucra": "UCRA", "jar": "JAR", "lac": "LAC", "sif": "SIF", "ilacs": "ILACS", "focused_visit": "focused visit",
    "monitoring_visit": "monitoring visit", "jtai": "JTAI", "area_send": "area SEND", "other": "other",
}


class ReportError(LetterparseError):
    code = "report_error"


@dataclass(frozen=True, slots=True)
class ReportResult:
    out_dir: Path
    pages: int
    authorities: int
    largest_page: str
    largest_bytes: int
    total_bytes: int
    seconds: float

    def summary(self) -> str:
        return (f"{self.pages} pages ({self.authorities} authorities) -> {self.out_dir}; "
                f"largest {self.largest_page} {self.largest_bytes / 1e6:.2f} MB, "
                f"site {self.total_bytes / 1e6:.1f} MB, {self.seconds:.1f} s")


# --- small helpers ---------------------------------------------------------------------


def _v(value):
    """``None`` for pandas' missing values (NaN, NA, NaT), else the value."""
    try:
        return None if value is None or value != value else value
    except (TypeError, ValueError):  # pd.NA
        return None


def theme_label(theme: str) -> str:
    return theme.replace("_", " ")


def grade_label(grade: str | None) -> str:
    return "ungraded" if not grade else grade.replace("_", " ")


def grade_rank(grade: str | None) -> int | None:
    return GRADES.index(grade) + 1 if grade in GRADES else None


def fw_label(framework: str | None) -> str:
    return FRAMEWORK_NAMES.get(framework or "other", framework or "other")


def _css_name(theme: str) -> str:
    return "".join(c if c.isalnum() or c == "_" else "-" for c in theme)


def theme_chip(theme: str) -> str:
    """A theme's name with its colour (from ``theme_css``, written into report.css)."""
    return f'<span class="chip t-{_css_name(theme)}">{esc(theme_label(theme))}</span>'


def theme_css() -> str:
    """The chip colour of every theme, appended to report.css: one palette for every page."""
    rules = [f".t-{_css_name(t)}::before {{ background: {c}; }}" for t, c in THEME_COLOURS.items()]
    return "\n/* theme colours (THEME_COLOURS in letterparse/report.py) */\n" + "\n".join(rules) + "\n"


def page_name(name: str, ons_code: str | None) -> str:
    """``E09000025.html``, or ``la-<slug>.html`` for an authority without an ONS code."""
    code = (ons_code or "").strip().upper()
    if code and code.isalnum():
        return f"{code}.html"
    slug = "".join(c if c.isalnum() else "-" for c in name.lower())
    return f"la-{'-'.join(p for p in slug.split('-') if p)}.html"


def table(ident: str, head: list[str], rows: list[str]) -> str:
    """A sortable table: ``head`` cells (text), ``rows`` of ready ``<tr>`` markup."""
    ths = "".join(f'<th scope="col" tabindex="0">{esc(h)}</th>' for h in head)
    attr = f' id="{esc(ident)}"' if ident else ""
    return (f'<div class="scroll"><table class="sortable"{attr}><thead><tr>{ths}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>')


def td(text: str, value: object = None, cls: str = "", raw: bool = False) -> str:
    """A cell: ``text`` escaped (or ``raw`` markup), ``value`` as its sort key."""
    attrs = f' data-value="{esc(value)}"' if value is not None else ""
    attrs += f' class="{cls}"' if cls else ""
    return f"<td{attrs}>{text if raw else esc(text)}</td>"


def share_cell(k: int, n: int, lo, hi, min_n: int) -> str:
    """A table cell: share with its interval and n, greyed when n < min_n."""
    if not n:
        return td("–")
    cls = ' class="thin"' if n < min_n else ""
    text = f"{pct(k / n)} ({pct(lo)}–{pct(hi)})"
    return (f'<td data-value="{k / n:.6f}" title="{esc(share_text(k, n, lo, hi))}"{cls}>'
            f"{esc(text)} <small>n={n}</small></td>")


def section(ident: str, title: str, body: str, note: str = "") -> str:
    p = f'<p class="note">{note}</p>' if note else ""
    return f'<section id="{esc(ident)}"><h2>{esc(title)}</h2>{p}{body}</section>'


def nice_top(value: float, step: float) -> float:
    """``value`` rounded up to a multiple of ``step`` (at least one step)."""
    return max(step, -(-value // step) * step)


def count_top(value: int) -> int:
    """The top of a count axis with 4 round steps: 4 x 1, 2, 5, 10, 20, 25, 50, 100, ..."""
    steps = (s * 10 ** k for k in range(12) for s in (1, 2, 2.5, 5) if (s * 10 ** k) % 1 == 0)
    return int(4 * next(step for step in steps if 4 * step >= value))


# --- sources: links to the PDFs ----------------------------------------------------------


class Sources:
    """``file://`` links to a document's PDF (at a page) when the file exists: its path as
    stored (absolute, or relative to ``corpus_root``, the store's folder or the working
    folder), or found under ``corpus_root`` by the longest tail of that path."""

    def __init__(self, corpus_root: Path | None, store_dir: Path | None):
        self.roots = [r for r in (corpus_root, store_dir, Path.cwd()) if r is not None]
        self.root = corpus_root
        self.memo: dict[str, str | None] = {}

    def uri(self, path: str | None) -> str | None:
        if not path:
            return None
        if path not in self.memo:
            self.memo[path] = self._find(Path(path))
        return self.memo[path]

    def _find(self, p: Path) -> str | None:
        candidates = [p] if p.is_absolute() else [r / p for r in self.roots]
        if self.root is not None:
            parts = [x for x in p.parts if x not in ("/", "..", ".")]
            candidates += [self.root.joinpath(*parts[k:]) for k in range(len(parts))]
        for c in candidates:
            if c.is_file():
                return c.resolve().as_uri()
        return None

    def link(self, path: str | None, page: int | None = None, label: str = "source") -> str:
        uri = self.uri(path)
        if uri is None:
            return ""
        anchor = f"#page={int(page)}" if page is not None else ""
        return f'<a class="source" href="{esc(uri + anchor)}">{esc(label)}</a>'


# --- the data every page reads -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Doc:
    """One row of the ``inspections`` view, missing values as None."""

    sha256: str
    path: str | None
    authority: str | None
    family: str | None
    framework: str | None
    inspection_start: date | None
    inspection_end: date | None
    published: date | None
    event_date: date | None
    year: int | None
    overall: str | None
    overall_raw: str | None
    days_since_previous: int | None
    direction: str | None

    @property
    def sha16(self) -> str:
        return self.sha256[:16]

    @property
    def day(self) -> str:
        return self.event_date.isoformat() if self.event_date else "undated"

    @property
    def grade_text(self) -> str:
        return self.overall_raw or grade_label(self.overall)


@dataclass(frozen=True, slots=True)
class Found:
    """One judgement finding."""

    sha256: str
    section_id: str
    finding_id: str
    polarity: str
    themes: tuple[str, ...]
    text: str
    page: int | None


@dataclass(frozen=True)
class Authority:
    name: str
    page: str  # file name under authority/
    ons_code: str | None
    region: str | None
    names: frozenset[str]  # itself and the authorities it took over from
    successors: tuple[str, ...]
    neighbours: tuple[str, ...]  # statistical neighbours' names (closest first)
    docs: tuple[Doc, ...]  # its documents and its predecessors', oldest first


@dataclass(frozen=True)
class Context:
    ins: pandas.DataFrame  # the inspections view
    weak: pandas.DataFrame  # weakness and priority judgement findings, polarity "weakness"
    findings: Mapping[str, tuple[Found, ...]]  # sha256 -> judgement findings in order
    headings: Mapping[str, Mapping[str, tuple[int, str]]]  # sha256 -> section id -> (ordinal, heading)
    grades: Mapping[str, dict]  # sha256 -> harmonised grades
    authorities: Mapping[str, Authority]
    runs: pandas.DataFrame  # timeline.recurring
    england_runs: pandas.DataFrame  # as timeline.recurring_england
    transitions: pandas.DataFrame  # timeline.transitions
    cells: pandas.DataFrame  # theme_table by authority, family and year of weakness findings
    sources: Sources
    footer: str
    min_n: int
    today: date
    first: int  # first and last year with documents
    last: int


def _rows(df: pandas.DataFrame, cls) -> list:
    """``df``'s rows as ``cls`` records (missing values as None, lists as tuples), read
    column by column (much faster than ``itertuples`` over Arrow-backed strings)."""
    cols = [[_plain(v) for v in df[f].astype(object).tolist()] for f in cls.__slots__]
    return [cls(*vals) for vals in zip(*cols)]


def _plain(value):
    if isinstance(value, (list, tuple)) or getattr(value, "ndim", 0) == 1:
        return tuple(value)
    return _v(value)


def _findings(jf: pandas.DataFrame) -> dict[str, tuple[Found, ...]]:
    out: dict[str, list[Found]] = {}
    for f in _rows(jf.sort_values(["sha256", "ordinal"]), Found):
        out.setdefault(f.sha256, []).append(f)
    return {k: tuple(v) for k, v in out.items()}


def _headings(sections: pandas.DataFrame) -> dict[str, dict[str, tuple[int, str]]]:
    out: dict[str, dict[str, tuple[int, str]]] = {}
    for sha, sid, ordinal, heading in zip(*(sections[c].astype(object).tolist() for c in ("sha256", "section_id", "ordinal", "heading"))):
        out.setdefault(sha, {})[sid] = (int(ordinal) if _v(ordinal) is not None else 1 << 30, _v(heading) or sid)
    return out


def _authorities(ins: pandas.DataFrame, docs: list[Doc]) -> dict[str, Authority]:
    """One entry per authority that has documents, with its lineage from the gazetteer."""
    g = load_gazetteer()
    known = ins[ins["authority"].notna()]
    ons_of = known.dropna(subset=["ons_code"]).groupby("authority")["ons_code"].first().to_dict()
    region_of = known.dropna(subset=["region"]).groupby("authority")["region"].first().to_dict()
    out = {}
    for name in sorted(set(known["authority"])):
        rec = g.by_name(name)
        names = g.ancestors(name)
        ons = (rec.ons_code if rec else None) or ons_of.get(name)
        out[name] = Authority(
            name=name, page=page_name(name, ons), ons_code=ons, region=(rec.region if rec else None) or region_of.get(name),
            names=names, successors=rec.successors if rec else (),
            neighbours=tuple(n.name for n in g.neighbours(rec)) if rec else (),
            docs=tuple(d for d in docs if d.authority in names),
        )
    return out


def _grades(letters: pandas.DataFrame) -> dict[str, dict]:
    out = {}
    for sha, text in zip(letters["sha256"], letters["grades"]):
        try:
            out[sha] = json.loads(text) if _v(text) else {}
        except (TypeError, ValueError):
            out[sha] = {}
    return out


def england_runs(runs: pandas.DataFrame, authorities: Mapping[str, Authority],
                 findings: Mapping[str, tuple], min_events: int = 2) -> pandas.DataFrame:
    """What :func:`letterparse.timeline.recurring_england` gives, from runs already found:
    per theme, the authorities with it recurring out of those with ``min_events`` or more
    judgement events (dated documents with judgement findings, predecessors' included)."""
    heads = [a for a in authorities.values() if not a.successors]
    heads += _successors_without_documents(authorities)
    n = sum(1 for a in heads if sum(1 for d in a.docs if d.event_date and d.sha256 in findings) >= min_events)
    return england_shares(runs, n, {t for fs in findings.values() for f in fs if f.polarity in WEAK for t in f.themes})


def _successors_without_documents(authorities: Mapping[str, Authority]) -> list[Authority]:
    """Authorities that took over from one in the store but have no documents of their own:
    their histories (their predecessors' documents) count as theirs."""
    g = load_gazetteer()
    out = {}
    for a in authorities.values():
        for succ in a.successors:
            if succ not in authorities and succ not in out:
                names = g.ancestors(succ)
                docs = tuple(d for o in authorities.values() if o.name in names for d in o.docs if d.authority == o.name)
                out[succ] = Authority(succ, "", None, None, names, (), (), docs)
    return list(out.values())


def _footer(frames, store_name: str, today: date) -> str:
    stored = sorted({str(v) for v in frames["letters"]["parser_version"] if _v(v)}) if "parser_version" in frames["letters"] else []
    return (f"<footer>letterparse {esc(__version__)} · parser {esc(PARSER_VERSION)}"
            f" (store written by parser {esc(', '.join(stored) or 'unknown')}) · store {esc(store_name)}"
            f" · built {today.isoformat()}</footer>")


def context(frames, store_name: str, corpus_root: Path | None, min_n: int, today: date) -> Context:
    ins = frames["inspections"]
    jf = frames["judgement_findings"]
    weak = jf[jf["polarity"].isin(WEAK)].assign(polarity="weakness")
    docs = _rows(ins.sort_values(["event_date", "sha256"], na_position="first"), Doc)
    authorities = _authorities(ins, docs)
    findings = _findings(jf)
    runs = recurring(frames)
    years = [d.year for d in docs if d.year is not None]
    store_dir = None if store_name == "frames" else Path(store_name).resolve().parent
    cells = theme_table({"judgement_findings": weak}, by=("authority", "family", "year"), polarity="weakness", min_n=min_n)
    return Context(
        ins=ins, weak=weak, findings=findings, headings=_headings(frames["sections"]), grades=_grades(frames["letters"]),
        authorities=authorities, runs=runs, england_runs=england_runs(runs, authorities, findings),
        transitions=transitions(frames), cells=cells, sources=Sources(corpus_root, store_dir),
        footer=_footer(frames, store_name, today), min_n=min_n, today=today,
        first=min(years, default=today.year), last=max(years, default=today.year),
    )


# --- pages -----------------------------------------------------------------------------


def html_page(title: str, body: str, ctx: Context, depth: int = 0) -> str:
    up = "../" * depth
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title>"
        f'<link rel="stylesheet" href="{up}assets/report.css"></head><body>'
        f'<nav><a href="{up}index.html">England overview</a></nav><main>{body}</main>'
        f'{ctx.footer}<script src="{up}assets/report.js"></script></body></html>\n'
    )


def pages(ctx: Context) -> Iterator[tuple[str, str]]:
    """``(relative path, html)`` for every page of the site."""
    yield "index.html", html_page("England: children's services inspections", index(ctx), ctx)
    for a in ctx.authorities.values():
        yield f"authority/{a.page}", html_page(f"{a.name}: children's services inspections", authority_page(ctx, a), ctx, 1)


# --- writing the site ---------------------------------------------------------------------


def check_out_dir(out: Path) -> None:
    """Refuse an ``out`` that is a file, or a non-empty folder that is not a letterparse report."""
    if out.exists() and not out.is_dir():
        raise ReportError(str(out), "is a file; give a folder for the site")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise ReportError(str(out), f"is a non-empty folder that is not a letterparse report (no {MARKER}); "
                                    "give a new or empty folder")


def _asset(name: str) -> str:
    from importlib import resources

    return resources.files(__package__).joinpath(f"data/{name}").read_text(encoding="utf-8")


def _swap(tmp: Path, out: Path) -> None:
    """Move the finished site into place, replacing an earlier report."""
    if out.exists():
        check_out_dir(out)
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
        os.replace(out, old / "site")
        os.replace(tmp, out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, out)


def report(store, out_dir: str | Path, corpus_root: str | Path | None = None, *,
           min_n: int = MIN_N, today: date | None = None) -> ReportResult:
    """Write the site for ``store`` (a path, or the frames of :func:`letterparse.load`)
    to ``out_dir``; ``corpus_root`` helps find the PDFs for source links.

    >>> report("letters.duckdb", "site")  # doctest: +SKIP
    """
    start = time.perf_counter()
    out = Path(out_dir)
    check_out_dir(out)
    frames = frames_of(store, NEEDS)
    store_name = "frames" if isinstance(store, Mapping) else str(store)
    today = today or date.today()
    ctx = context(frames, store_name, Path(corpus_root) if corpus_root else None, min_n, today)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.building-", dir=out.parent))
    try:
        sizes = _write(tmp, ctx, store_name)
        os.chmod(tmp, 0o755)
        _swap(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    largest = max(sizes, key=sizes.get)
    return ReportResult(out, len(sizes), len(ctx.authorities), largest, sizes[largest], sum(sizes.values()),
                        time.perf_counter() - start)


def _write(tmp: Path, ctx: Context, store_name: str) -> dict[str, int]:
    """Write every page and asset under ``tmp``; the size of each page."""
    (tmp / "assets").mkdir()
    (tmp / "authority").mkdir()
    (tmp / "assets" / "report.css").write_text(_asset("report.css") + theme_css(), encoding="utf-8")
    (tmp / "assets" / "report.js").write_text(_asset("report.js"), encoding="utf-8")
    sizes = {}
    for rel, text in pages(ctx):
        data = text.encode("utf-8")
        (tmp / rel).write_bytes(data)
        sizes[rel] = len(data)
    marker = {"letterparse": __version__, "store": store_name, "built": ctx.today.isoformat(), "pages": len(sizes)}
    (tmp / MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
    return sizes



# --- England: index.html -------------------------------------------------------------------


def index(ctx: Context) -> str:
    ins = ctx.ins
    toc = [("documents", "Documents"), ("grades", "Grades"), ("transitions", "Grade transitions"),
           ("recurring", "Recurring weaknesses"), ("prevalence", "Weakness themes over time"), ("all-authorities", "Authorities")]
    nav = " · ".join(f'<a href="#{i}">{esc(t)}</a>' for i, t in toc)
    intro = (
        f"<p>{len(ins)} documents about {ins['authority'].nunique()} authorities, {ctx.first}–{ctx.last}. "
        "Findings counted are <em>judgement</em> findings (the inspectors' evaluation; statistics, method and "
        "summaries for children are left out). Shares carry 95% Wilson intervals and their n; groups with n "
        f"below {ctx.min_n} are grey. A year without documents is a gap, never a zero.</p>"
    )
    return "".join([
        "<h1>Children's services inspections in England</h1>", intro, f'<p class="toc">{nav}</p>',
        docs_per_year(ctx), grades_per_year(ctx), transition_matrices(ctx), recurring_themes(ctx),
        prevalence(ctx), authority_table(ctx),
    ])


def docs_per_year(ctx: Context) -> str:
    ins = ctx.ins[ctx.ins["year"].notna()]
    totals = ins.groupby("framework").size().sort_values(ascending=False)
    shown = [f for f in FRAMEWORKS if f in totals.index]
    if len(shown) > 8:  # at most 8 series: the smallest frameworks pooled as "other"
        keep = set(totals.index[:7])
        shown = [f for f in shown if f in keep] + ["other"]
    key = ins["framework"].where(ins["framework"].isin(shown), "other")
    counts = ins.assign(key=key).groupby(["year", "key"]).size()
    bars = []
    for year, per in counts.groupby(level=0):
        per = per.droplevel(0)
        n = int(per.sum())
        segs = tuple(svg.Segment(f, FRAMEWORK_COLOURS[f], int(per.get(f, 0)), f"{year}, {fw_label(f)}: {int(per.get(f, 0))} documents")
                     for f in shown)
        bars.append(svg.Bar(int(year), segs, str(n), f"{year}: {n} documents"))
    top = count_top(max((int(b.label) for b in bars), default=1))
    chart = svg.stacked_bars("Documents per framework and year", ctx.first, ctx.last, bars, top, percent=False)
    items = [(f, f"{fw_label(f)} ({int(key.eq(f).sum())})", FRAMEWORK_COLOURS[f]) for f in shown]
    tab = _count_table(counts, shown)
    note = "The year the inspection ended (else the year of publication). Hover a bar for its counts."
    return section("documents", "Documents per framework and year", svg.legend(items) + chart
                   + f"<details><summary>As a table</summary>{tab}</details>", note)


def _count_table(counts: pandas.Series, shown: list[str]) -> str:
    """Documents per year (rows) and framework (columns); an empty cell where there are none."""
    rows = []
    for year in sorted(set(counts.index.get_level_values(0))):
        per = counts.loc[year]
        cells = "".join(td(str(int(per[f])), int(per[f])) if f in per.index else td("") for f in shown)
        rows.append(f"<tr>{td(str(year), year)}{cells}{td(str(int(per.sum())), int(per.sum()))}</tr>")
    return table("", ["year", *(fw_label(f) for f in shown), "all"], rows)


def grades_per_year(ctx: Context) -> str:
    g = ctx.ins[ctx.ins["overall"].notna() & ctx.ins["year"].notna()]
    bars = []
    for year, docs in g.groupby("year"):
        n = len(docs)
        segs = []
        for grade in GRADES:
            k = int((docs["overall"] == grade).sum())
            lo, hi = wilson(k, n)
            segs.append(svg.Segment(grade, GRADE_COLOURS[grade], k / n, f"{year}, {grade_label(grade)}: {share_text(k, n, lo, hi)}"))
        thin = n < ctx.min_n
        bars.append(svg.Bar(int(year), tuple(segs), f"n={n}", f"{year}: {n} graded documents" + (" (thin)" if thin else ""), thin))
    chart = svg.stacked_bars("Harmonised overall grade per year", ctx.first, ctx.last, bars, 1.0, percent=True)
    items = [(gr, grade_label(gr), GRADE_COLOURS[gr]) for gr in GRADES]
    note = (f"Share of graded documents by harmonised overall grade (“adequate” and “requires improvement (to be good)” "
            f"count as requires improvement); n above each bar; years with fewer than {ctx.min_n} graded documents are faded.")
    return section("grades", "Overall grade per year", svg.legend(items) + chart, note)


def _matrix(t: pandas.DataFrame) -> str:
    head = "".join(f'<th scope="col">{esc(grade_label(g))}</th>' for g in GRADES)
    rows = []
    for prev in GRADES:
        r = t[t["previous_overall"] == prev].set_index("overall")
        n = int(r["n"].iloc[0]) if len(r) else 0
        cells = []
        for cur in GRADES:
            k = int(r.loc[cur, "inspections"]) if cur in r.index else 0
            if not n:
                cells.append("<td>–</td>")
                continue
            lo, hi = r.loc[cur, "ci_low"], r.loc[cur, "ci_high"]
            cells.append(f'<td style="background:rgba(0,103,165,{0.08 + 0.6 * k / n:.2f})" title="{esc(share_text(k, n, lo, hi))}">'
                         f"<b>{k}</b> <small>{pct(k / n)}</small></td>")
        rows.append(f'<tr><th scope="row">{esc(grade_label(prev))}</th>{"".join(cells)}<td>{n}</td></tr>')
    return (f'<table class="matrix"><thead><tr><th scope="col">previous ↓ · this →</th>{head}<th scope="col">n</th></tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


def transition_matrices(ctx: Context) -> str:
    t = ctx.transitions
    main = _matrix(t[t["scope"] == "all"])
    more = "".join(f"<details><summary>{esc(scope)}</summary>{_matrix(g)}</details>"
                   for scope, g in t[t["scope"] != "all"].groupby("scope", sort=True))
    note = ("Each graded document against the authority's previous graded one (predecessors included), "
            "with counts; the share of the row and its 95% interval are in the tooltip. By framework pair:")
    return section("transitions", "Grade transitions", main + f'<p class="note">{note}</p>' + more)


def recurring_themes(ctx: Context) -> str:
    t = ctx.england_runs
    rows = [svg.HBar(r.theme, theme_label(r.theme), theme_colour(r.theme), r.share or 0.0,
                     r.ci_low or 0.0, r.ci_high or 0.0, f"{r.authorities} of {r.n}",
                     f"{theme_label(r.theme)}: {share_text(r.authorities, r.n, r.ci_low, r.ci_high)} authorities",
                     r.n < ctx.min_n)
            for r in t.itertuples() if r.n]
    n = int(t["n"].iloc[0]) if len(t) else 0
    note = (f"Share of the {n} authorities with two or more judgement events in which the theme has a weakness or "
            "priority finding in at least two consecutive events, with 95% intervals.")
    body = svg.hbars("Themes that recur", rows) if rows else "<p>No authority has two judgement events yet.</p>"
    return section("recurring", "Weaknesses that recur", body, note)


def _top_themes(weak: pandas.DataFrame, k: int) -> list[str]:
    themes = weak["themes"].map(list).explode().dropna()
    counts = themes[themes != "unclassified"].value_counts()
    return sorted(counts.index[:k], key=lambda t: (-counts[t], t))


def prevalence(ctx: Context) -> str:
    weak = ctx.weak[ctx.weak["year"].notna()]
    if weak.empty:
        return section("prevalence", "Weakness themes over time", "<p>No weakness findings.</p>")
    t = theme_table({"judgement_findings": weak}, by=["framework", "year"], polarity="weakness", min_n=ctx.min_n)
    themes = _top_themes(weak, TOP_THEMES)
    denom = t.drop_duplicates(["framework", "year"]).set_index(["framework", "year"])["n"]
    found = t.set_index(["framework", "year", "theme"])["findings"]
    panels, hi_max = [], 0.0
    for fw in [f for f in FRAMEWORKS if f in set(t["framework"])]:
        series = []
        for theme in themes:
            pts = []
            for (f, year), n in denom.items():
                if f != fw:
                    continue
                k = int(found.get((fw, year, theme), 0))  # the year has findings: a real count
                lo, hi = wilson(k, int(n))
                hi_max = max(hi_max, hi)
                pts.append(svg.Point(int(year), k / n, lo, hi, f"{theme_label(theme)}, {fw_label(fw)} {year}: "
                                     f"{share_text(k, int(n), lo, hi)} weakness findings", n < ctx.min_n))
            series.append(svg.Series(theme, theme_colour(theme), tuple(pts)))
        years = [int(y) for f, y in denom.index if f == fw]
        first, last = min(years), max(years)
        if last - first < 2:  # a panel spans at least 3 years
            first, last = first - 1, last + 1
        panels.append((fw, int(denom[fw].sum()), first, last, series))
    top = min(1.0, nice_top(hi_max, 0.1))
    charts = "".join(f'<figure>{svg.line_panel(f"{fw_label(fw)} · {n} findings", first, last, series, top)}</figure>'
                     for fw, n, first, last, series in panels)
    items = [(th, theme_label(th), theme_colour(th)) for th in themes]
    note = (f"Share of weakness and priority judgement findings with each theme, per framework and year, for the "
            f"{len(themes)} themes most frequent among all weakness findings (all themes: "
            "<code>letterparse compare STORE --by framework --by year --polarity weakness</code>). Whiskers: 95% "
            f"intervals; grey points: fewer than {ctx.min_n} findings that year; hover a point for its n.")
    return section("prevalence", "Weakness themes over time", svg.legend(items) + f'<div class="multiples">{charts}</div>', note)


def _latest(a: Authority) -> dict:
    """Its latest graded document's grade, date and direction, and its latest document's date."""
    graded = [d for d in a.docs if d.overall]
    last = graded[-1] if graded else None
    dates = [d.event_date for d in a.docs if d.event_date]
    return {"grade": last.overall if last else None, "graded": last.event_date if last else None,
            "direction": last.direction if last else None, "last": max(dates) if dates else None}


def ongoing_themes(ctx: Context, name: str) -> list[str]:
    r = ctx.runs[(ctx.runs["authority"] == name) & ctx.runs["ongoing"]]
    return list(r.sort_values(["events", "theme"], ascending=[False, True])["theme"])


def authority_table(ctx: Context) -> str:
    rows = []
    for a in ctx.authorities.values():
        s = _latest(a)
        days = (ctx.today - s["last"]).days if s["last"] else None
        themes = ongoing_themes(ctx, a.name)
        chips = " ".join(theme_chip(t) for t in themes[:3]) + (f" +{len(themes) - 3}" if len(themes) > 3 else "")
        rows.append(
            "<tr>" + td(f'<a href="authority/{esc(a.page)}">{esc(a.name)}</a>', a.name, raw=True) + td(a.region or "")
            + td(str(len(a.docs)), len(a.docs))
            + td(grade_label(s["grade"]) if s["grade"] else "", grade_rank(s["grade"]), f"grade {s['grade'] or ''}".strip())
            + td(s["graded"].isoformat() if s["graded"] else "", s["graded"].isoformat() if s["graded"] else None, "date")
            + td(s["direction"] or "", {"improved": 1, "same": 2, "declined": 3}.get(s["direction"]))
            + td(s["last"].isoformat() if s["last"] else "", s["last"].isoformat() if s["last"] else None, "date")
            + td(str(days) if days is not None else "", days) + td(chips, len(themes), "themes", raw=True) + "</tr>"
        )
    head = ["Authority", "Region", "Documents", "Latest grade", "Graded", "Direction", "Last document",
            "Days since", "Recurring weaknesses (ongoing)"]
    search = ('<p><label>Find <input type="search" class="filter" data-table="authorities" '
              'placeholder="authority, region, grade, theme"></label> <span class="shown" aria-live="polite"></span></p>')
    note = ("Latest grade: the overall grade of the latest graded document (predecessors included) and its direction "
            f"against the one before; days since the last document, to {ctx.today.isoformat()}. Recurring: themes with "
            "weakness findings in the latest consecutive judgement events (the 3 longest runs). Click a heading to sort.")
    return section("all-authorities", "Authorities", search + table("authorities", head, rows), note)


# --- one authority: authority/<code>.html -----------------------------------------------------

GRADE_KEY_NAMES = {
    "impact_of_leaders": "Leaders", "help_and_protection": "Help and protection", "children_in_care": "Children in care",
    "care_leavers": "Care leavers", "adoption_performance": "Adoption", "lscb": "LSCB",
}
DIRECTION_RANK = {"improved": 1, "same": 2, "declined": 3}
GROUP_NAMES = {"authority": None, "neighbours": "statistical neighbours", "region": None, "england": "rest of England"}
RUNS_SIDE_BY_SIDE = 8  # recurring runs shown with their findings' text; the rest as a table


def authority_page(ctx: Context, a: Authority) -> str:
    toc = [("timeline", "Timeline"), ("grades", "Grades"), ("profile", "Theme profile"),
           ("recurring", "Recurring weaknesses"), ("inspections", "Every finding")]
    nav = " · ".join(f'<a href="#{i}">{esc(t)}</a>' for i, t in toc)
    return "".join([
        authority_header(ctx, a), f'<p class="toc">{nav}</p>', timeline_strip(a), grades_table(ctx, a),
        theme_profile(ctx, a), recurring_weaknesses(ctx, a), inspections(ctx, a),
    ])


def _link(ctx: Context, name: str) -> str:
    """A link to another authority's page (a sibling file), or its name when it has none."""
    other = ctx.authorities.get(name)
    return f'<a href="{esc(other.page)}">{esc(name)}</a>' if other else esc(name)


def authority_header(ctx: Context, a: Authority) -> str:
    years = [d.year for d in a.docs if d.year is not None]
    span = f"{min(years)}–{max(years)}" if years else "undated"
    facts = [f"ONS code {esc(a.ons_code)}" if a.ons_code else "no ONS code", esc(a.region or "region unknown"),
             f"{len(a.docs)} documents, {span}"]
    lines = [f"<h1>{esc(a.name)}</h1>", f'<p class="facts">{" · ".join(facts)}</p>']
    before = sorted({d.authority for d in a.docs} - {a.name})
    if before:
        lines.append(f'<p class="lineage">Includes the documents of {", ".join(_link(ctx, n) for n in before)}, '
                     "which it took over from (named in the tables).</p>")
    if a.successors:
        lines.append(f'<p class="lineage">Replaced by {", ".join(_link(ctx, n) for n in a.successors)}; '
                     "its recurring weaknesses are reported on their pages.</p>")
    near = [n for n in a.neighbours if n in ctx.authorities]
    if near:
        lines.append(f'<p class="neighbours">Statistical neighbours: {", ".join(_link(ctx, n) for n in near)}.</p>')
    return "".join(lines)


def doc_title(d: Doc, a: Authority) -> str:
    who = f" · {d.authority}" if d.authority != a.name else ""
    return f"{d.day} · {fw_label(d.framework)} · {d.grade_text}{who}"


def timeline_strip(a: Authority) -> str:
    marks = [svg.Mark(d.event_date, GRADE_COLOURS.get(d.overall or ""), doc_title(d, a), f"#doc-{d.sha16}")
             for d in a.docs if d.event_date]
    if not marks:
        return section("timeline", "Timeline", "<p>No dated documents.</p>")
    first, last = marks[0].day.year, marks[-1].day.year
    items = [(g, grade_label(g), GRADE_COLOURS[g]) for g in GRADES] + [("ungraded", "ungraded visit or letter", "#333333")]
    chart = svg.timeline(f"{a.name}: documents over time", marks, first, last)
    note = ("One mark per document, coloured by its harmonised overall grade; hollow marks are ungraded visits "
            "and letters. Click a mark for its findings.")
    return section("timeline", "Timeline", svg.legend(items, hollow=("ungraded",)) + chart, note)


SHORT_GRADES = {"requires_improvement": "RI"}  # the sub-judgement columns, so the table fits a laptop


def _grade_cell(wording: str | None, grade: str | None) -> str:
    if not grade:
        return td("", None)
    return td(wording or SHORT_GRADES.get(grade, grade_label(grade)), grade_rank(grade), f"grade {grade}")


def _counts(found: tuple[Found, ...]) -> tuple[int, int]:
    return sum(f.polarity == "strength" for f in found), sum(f.polarity in WEAK for f in found)


def grades_table(ctx: Context, a: Authority) -> str:
    keys = [k for k in GRADE_KEY_NAMES if any(k in ctx.grades.get(d.sha256, {}) for d in a.docs)]
    several = len({d.authority for d in a.docs}) > 1
    rows = []
    for d in a.docs:
        g = ctx.grades.get(d.sha256, {})
        strengths, weaknesses = _counts(ctx.findings.get(d.sha256, ()))
        days = d.days_since_previous if d.overall else None
        cells = [td(f'<a href="#doc-{d.sha16}">{d.day}</a>', d.event_date.isoformat() if d.event_date else None, "date", raw=True),
                 td(fw_label(d.framework)), *([td(d.authority or "")] if several else []),
                 _grade_cell(d.overall_raw, d.overall) if d.overall else td("ungraded", 9, "ungraded"),
                 *(_grade_cell(None, g.get(k)) for k in keys),
                 td(d.direction or "", DIRECTION_RANK.get(d.direction or "")), td("" if days is None else str(days), days),
                 td(str(strengths), strengths), td(str(weaknesses), weaknesses), td(ctx.sources.link(d.path, 1, "PDF"), raw=True)]
        rows.append(f"<tr>{''.join(cells)}</tr>")
    head = ["Date", "Framework", *(["Authority"] if several else []), "Overall", *(GRADE_KEY_NAMES[k] for k in keys),
            "Direction", "Days since", "Strengths", "Weaknesses", "Source"]
    note = ("Overall grade as printed (sorting uses the harmonised grade); RI: requires improvement; direction "
            "and days since against the previous graded document; strengths and weaknesses (priority actions "
            "included) count judgement findings.")
    return section("grades", "Grades", table("grades-table", head, rows), note)


# The theme profile: weakness findings of the authority's last RECENT_YEARS years against
# its neighbours, region and England, pooled from one theme_table by authority, family and
# year (the figures of theme_table(authority=..., vs=...) over those years, which
# tests/test_report.py checks, at a fraction of the time of one call per authority).


def pooled_profile(ctx: Context, a: Authority) -> tuple[pandas.DataFrame, int, int] | None:
    """``group, theme, n, findings, share, ci_low, ci_high`` for its recent years, and those years."""
    import pandas as pd

    c = ctx.cells
    own = c[(c["authority"] == a.name) & c["year"].notna()]
    if own.empty:
        return None
    last = int(own["year"].max())
    first = last - RECENT_YEARS + 1
    own = own[own["year"] >= first]
    others = c[(c["authority"] != a.name) & (c["authority"] != UNKNOWN) & c["year"].isin(set(own["year"]))
               & c["family"].isin(set(own["family"]))]
    groups = {"authority": own, "neighbours": others[others["authority"].isin(a.neighbours)],
              "region": others[others["region"] == a.region], "england": others}
    themes = sorted(set().union(*(set(g["theme"]) for g in groups.values())))
    rows = []
    for name, g in groups.items():
        if g.empty:
            continue
        n = int(g.drop_duplicates(["authority", "family", "year"])["n"].sum())
        k = g.groupby("theme")["findings"].sum()
        for theme in themes:
            found = int(k.get(theme, 0))
            lo, hi = wilson(found, n)
            rows.append({"group": name, "theme": theme, "n": n, "findings": found, "share": found / n, "ci_low": lo, "ci_high": hi})
    return pd.DataFrame(rows), first, last


def theme_profile(ctx: Context, a: Authority) -> str:
    title = "Theme profile against neighbours, region and England"
    pooled = pooled_profile(ctx, a)
    if pooled is None:
        return section("profile", title, "<p>No weakness judgement findings of its own.</p>")
    t, first, last = pooled
    names = {**GROUP_NAMES, "authority": a.name, "region": f"rest of {a.region or 'region'}"}
    by = {g: rows.set_index("theme") for g, rows in t.groupby("group", sort=False)}
    n = {g: int(r["n"].iloc[0]) for g, r in by.items()}
    mine = by["authority"]
    order = sorted(mine.index, key=lambda th: (-mine.loc[th, "share"], th))

    def dot(g, th):
        r = by[g].loc[th]
        tip = f"{names[g]}, {theme_label(th)}: {share_text(int(r['findings']), n[g], r['ci_low'], r['ci_high'])} weakness findings"
        return svg.Dot(g, GROUP_COLOURS[g], r["share"], r["ci_low"], r["ci_high"], tip, n[g] < ctx.min_n)

    def cell(g, th):
        r = by[g].loc[th]
        return share_cell(int(r["findings"]), n[g], r["ci_low"], r["ci_high"], ctx.min_n)

    shown = [th for th in order if th != "unclassified"][:PROFILE_THEMES]
    chart = svg.dot_rows(f"{a.name}: weakness themes", [(theme_label(th), [dot(g, th) for g in by]) for th in shown])
    rows = [f"<tr>{td(theme_chip(th), theme_label(th), raw=True)}{''.join(cell(g, th) for g in by)}</tr>" for th in order]
    tab = table("profile-table", ["Theme", *(f"{names[g]} (n={n[g]})" for g in by)], rows)
    items = [(g, f"{names[g]} (n={n[g]})", GROUP_COLOURS[g]) for g in by]
    years = f"{first}–{last}" if first != last else str(last)
    note = (f"Share of weakness and priority judgement findings with each theme in {years} (its last {RECENT_YEARS} "
            "years with findings), against its statistical neighbours, the rest of its region and the rest of England "
            f"in the same years and document families, with 95% intervals and n. The chart shows its {len(shown)} "
            f"most frequent themes, the table all. Groups with fewer than {ctx.min_n} findings are grey.")
    return section("profile", title, svg.legend(items) + chart + tab, note)


def recurring_weaknesses(ctx: Context, a: Authority) -> str:
    title = "Recurring weaknesses"
    if a.successors:
        return section("recurring", title, "<p>Reported on the pages of the authorities that replaced it.</p>")
    runs = ctx.runs[ctx.runs["authority"] == a.name].sort_values(["ongoing", "events", "theme"], ascending=[False, False, True])
    if runs.empty:
        return section("recurring", title, "<p>No theme has weakness findings in two consecutive judgement events.</p>")
    docs = {d.sha256: d for d in a.docs}
    parts = [_run(ctx, r, docs) for r in runs.head(RUNS_SIDE_BY_SIDE).itertuples()]
    rest = runs.iloc[RUNS_SIDE_BY_SIDE:]
    if len(rest):
        rows = [f"<tr>{td(theme_chip(r.theme), theme_label(r.theme), raw=True)}{td(str(r.events), r.events)}"
                f"{td(str(r.first), str(r.first))}{td(str(r.last), str(r.last))}{td('yes' if r.ongoing else 'no')}</tr>"
                for r in rest.itertuples()]
        parts.append("<h3>More recurring themes</h3>" + table("", ["Theme", "Events", "First", "Last", "Ongoing"], rows))
    note = ("A theme recurs when it has weakness or priority judgement findings in consecutive judgement events "
            f"(any framework, predecessors included). The {min(len(runs), RUNS_SIDE_BY_SIDE)} longest runs (ongoing first) "
            "show those findings side by side, oldest first.")
    return section("recurring", title, "".join(parts), note)


def _run(ctx: Context, r, docs: Mapping[str, Doc]) -> str:
    cols = []
    for sha in r.sha256s:
        d = docs[sha]
        items = [
            f'<li>{esc(f.text)} <span class="meta"><a href="#f-{d.sha16}-{esc(f.finding_id)}">p. {f.page or "?"}</a> '
            f"{ctx.sources.link(d.path, f.page)}</span></li>"
            for f in ctx.findings.get(sha, ()) if f.polarity in WEAK and r.theme in f.themes
        ]
        head = f'<h4><a href="#doc-{d.sha16}">{d.day}</a> · {esc(fw_label(d.framework))} · {esc(d.grade_text)}</h4>'
        cols.append(f'<div class="doc">{head}<ul>{"".join(items)}</ul></div>')
    status = "ongoing" if r.ongoing else "ended"
    return (f'<div class="run"><h3>{theme_chip(r.theme)} <small>{r.events} consecutive of {r.of_events} judgement '
            f'events, {esc(r.first)} to {esc(r.last)}, {status}</small></h3><div class="side">{"".join(cols)}</div></div>')


def inspections(ctx: Context, a: Authority) -> str:
    parts = [_inspection(ctx, a, d) for d in reversed(a.docs)]
    note = "Newest first; open a document for its judgement findings, grouped by section, with page and source links."
    return section("inspections", "Every judgement finding", "".join(parts), note)


def _inspection(ctx: Context, a: Authority, d: Doc) -> str:
    found = ctx.findings.get(d.sha256, ())
    meta = [f"{esc(fw_label(d.framework))} ({esc(d.family)})"]
    meta += [f"{label} {v.isoformat()}" for label, v in
             (("inspected", d.inspection_start), ("to", d.inspection_end), ("published", d.published)) if v]
    body = [f'<p class="meta">{" · ".join(meta)} {ctx.sources.link(d.path, 1, "source PDF")}</p>']
    heads = ctx.headings.get(d.sha256, {})
    groups: dict[str, list[Found]] = {}
    for f in found:
        groups.setdefault(f.section_id, []).append(f)
    for sid in sorted(groups, key=lambda s: (heads.get(s, (1 << 30, s))[0], s)):
        items = "".join(_finding(ctx, d, f) for f in groups[sid])
        body.append(f"<h4>{esc(heads.get(sid, (0, sid))[1])}</h4><ul>{items}</ul>")
    if not found:
        body.append("<p>No judgement findings.</p>")
    summary = f"{esc(doc_title(d, a))} · {len(found)} judgement findings"
    return f'<details class="inspection" id="doc-{d.sha16}"><summary>{summary}</summary>{"".join(body)}</details>'


def _finding(ctx: Context, d: Doc, f: Found) -> str:
    themes = "".join(theme_chip(t) for t in f.themes)
    return (f'<li class="finding {esc(f.polarity)}" id="f-{d.sha16}-{esc(f.finding_id)}">'
            f'<span class="pol">{esc(f.polarity)}</span> {esc(f.text)} '
            f'<span class="meta">p. {f.page or "?"} {themes} {ctx.sources.link(d.path, f.page)}</span></li>')
