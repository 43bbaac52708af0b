"""Small inline-SVG charts for the report (no plotting library: fast and small).

Every function returns markup as a string; every text it writes is escaped.  Charts
carry no legend of their own: the report writes legends as HTML (:func:`legend`), where
the browser lays the labels out, so they never overlap.  Labels inside a chart sit on a
fixed grid (one row per label, or year ticks spaced by :func:`year_ticks`).

Conventions: a point, bar or mark whose group has fewer findings or documents than the
report's ``min_n`` is *thin*: drawn grey (``class="thin"``).  A year without data is
left out (a gap), never drawn as 0.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import date

GREY = "#b0b0b0"
INK = "#333333"
FONT = 11  # px, ticks and labels
CHAR = 6.6  # px per character at FONT, a generous estimate for sans-serif


def esc(value: object) -> str:
    """``value`` as escaped text (quotes too, so it is safe in attributes)."""
    return html.escape("" if value is None else str(value), quote=True)


def pct(x: float | None, digits: int = 0) -> str:
    return "–" if x is None else f"{100 * x:.{digits}f}%"


def share_text(k: int, n: int, lo: float | None, hi: float | None) -> str:
    """``12 of 40 = 30% (95% CI 17–46%)``."""
    if not n:
        return "n = 0"
    return f"{k} of {n} = {pct(k / n)} (95% CI {pct(lo)}–{pct(hi)})"


def svg(width: int, height: int, body: str, cls: str = "chart", label: str = "") -> str:
    """An inline ``<svg>`` (HTML needs no namespace attribute) that scales down with the page."""
    return (
        f'<svg class="{esc(cls)}" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="{esc(label)}">{body}</svg>'
    )


def _title(text: str) -> str:
    return f"<title>{esc(text)}</title>"


def _text(x: float, y: float, text: str, anchor: str = "middle", cls: str = "") -> str:
    c = f' class="{cls}"' if cls else ""
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{c}>{esc(text)}</text>'


def legend(items: list[tuple[str, str, str]], cls: str = "legend", hollow: tuple[str, ...] = ()) -> str:
    """An HTML legend: ``(key, label, colour)`` items, each with ``data-key`` and its colour."""
    li = []
    for key, label, colour in items:
        style = f"border-color:{colour}" if key in hollow else f"background:{colour};border-color:{colour}"
        li.append(f'<li data-key="{esc(key)}"><span class="swatch" style="{style}"></span>{esc(label)}</li>')
    return f'<ul class="{esc(cls)}">{"".join(li)}</ul>'


# --- axes -------------------------------------------------------------------------------


def year_ticks(first: int, last: int, px_per_year: float, min_px: float = 34) -> list[int]:
    """The years to label: every 1, 2, 5 or 10 years, so that labels are ``min_px`` apart."""
    step = next((s for s in (1, 2, 5, 10, 20) if s * px_per_year >= min_px), 50)
    return [y for y in range(first, last + 1) if y % step == 0]


@dataclass(frozen=True, slots=True)
class Frame:
    """A plot area inside an SVG: years across (bands), a value 0..top up."""

    width: int
    height: int
    first: int
    last: int
    top: float = 1.0
    left: int = 38
    right: int = 8
    upper: int = 10
    lower: int = 22

    @property
    def band(self) -> float:
        return (self.width - self.left - self.right) / (self.last - self.first + 1)

    def x(self, year: float) -> float:
        return self.left + (year - self.first + 0.5) * self.band

    def y(self, value: float) -> float:
        return self.height - self.lower - (value / self.top) * (self.height - self.lower - self.upper)

    def axes(self, percent: bool = True) -> str:
        out = []
        steps = 4
        for i in range(steps + 1):
            v = self.top * i / steps
            y = self.y(v)
            out.append(f'<line class="grid" x1="{self.left}" x2="{self.width - self.right}" y1="{y:.1f}" y2="{y:.1f}"/>')
            out.append(_text(self.left - 4, y + 4, pct(v) if percent else f"{v:g}", "end", "tick"))
        base = self.height - self.lower
        for yr in year_ticks(self.first, self.last, self.band):
            out.append(_text(self.x(yr), base + 14, str(yr), "middle", "tick"))
        return "".join(out)


# --- line panels (small multiples) ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Point:
    year: int
    share: float
    lo: float
    hi: float
    title: str
    thin: bool


@dataclass(frozen=True, slots=True)
class Series:
    key: str
    colour: str
    points: tuple[Point, ...]


def line_panel(title: str, first: int, last: int, series: list[Series], top: float = 1.0,
               width: int = 340, height: int = 200) -> str:
    """Shares over years, one line per series; a line joins consecutive years only (a
    missing year is a gap); each point has its interval as a whisker and its tooltip."""
    f = Frame(width, height, first, last, top, upper=24)
    body = [f.axes(), _text(4, 12, title, "start", "panel-title")]
    for i, s in enumerate(series):
        dx = (i - (len(series) - 1) / 2) * min(2.5, f.band / (2 * max(1, len(series))))
        pts = sorted(s.points, key=lambda p: p.year)
        for a, b in zip(pts, pts[1:]):
            if b.year == a.year + 1:
                cls = "seg thin" if a.thin or b.thin else "seg"
                body.append(f'<line class="{cls}" stroke="{s.colour}" x1="{f.x(a.year) + dx:.1f}" y1="{f.y(a.share):.1f}" '
                            f'x2="{f.x(b.year) + dx:.1f}" y2="{f.y(b.share):.1f}"/>')
        for p in pts:
            colour = GREY if p.thin else s.colour
            x = f.x(p.year) + dx
            body.append(
                f'<g class="pt{" thin" if p.thin else ""}" data-key="{esc(s.key)}">'
                f'<line class="ci" stroke="{colour}" x1="{x:.1f}" x2="{x:.1f}" y1="{f.y(p.lo):.1f}" y2="{f.y(p.hi):.1f}"/>'
                f'<circle cx="{x:.1f}" cy="{f.y(p.share):.1f}" r="3" fill="{colour}">{_title(p.title)}</circle></g>'
            )
    return svg(width, height, "".join(body), "chart panel", title)


# --- stacked bars per year --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Segment:
    key: str
    colour: str
    value: float
    title: str


@dataclass(frozen=True, slots=True)
class Bar:
    year: int
    segments: tuple[Segment, ...]
    label: str  # written above the bar (e.g. its n)
    title: str
    thin: bool = False


def stacked_bars(label: str, first: int, last: int, bars: list[Bar], top: float, percent: bool,
                 width: int = 720, height: int = 230) -> str:
    """One stacked bar per year that has data (no bar for a year without: a gap)."""
    f = Frame(width, height, first, last, top, upper=18)
    bw = max(2.0, f.band * 0.7)
    body = [f.axes(percent)]
    for b in bars:
        x0, acc = f.x(b.year) - bw / 2, 0.0
        parts = []
        for s in b.segments:
            if s.value <= 0:
                continue
            y1, y0 = f.y(acc + s.value), f.y(acc)
            parts.append(f'<rect x="{x0:.1f}" y="{y1:.1f}" width="{bw:.1f}" height="{y0 - y1:.1f}" fill="{s.colour}" '
                         f'data-key="{esc(s.key)}">{_title(s.title)}</rect>')
            acc += s.value
        if b.label and len(b.label) * CHAR * 0.9 <= f.band:
            parts.append(_text(f.x(b.year), f.y(acc) - 4, b.label, "middle", "tick"))
        body.append(f'<g class="bar{" thin" if b.thin else ""}">{_title(b.title)}{"".join(parts)}</g>')
    return svg(width, height, "".join(body), "chart bars", label)


# --- horizontal bars and dot rows (one labelled row each) ----------------------------------


@dataclass(frozen=True, slots=True)
class HBar:
    key: str
    label: str
    colour: str
    share: float
    lo: float
    hi: float
    note: str  # written right of the bar, e.g. "139 of 150"
    title: str
    thin: bool = False


def hbars(label: str, rows: list[HBar], width: int = 720, row: int = 20) -> str:
    """Shares as horizontal bars with their intervals, one row per item."""
    left = int(max((len(r.label) for r in rows), default=4) * CHAR) + 10
    right = int(max((len(r.note) for r in rows), default=4) * CHAR) + 16
    plot = width - left - right
    height = row * len(rows) + 24
    body = []
    for i in range(5):
        x = left + plot * i / 4
        body.append(f'<line class="grid" x1="{x:.1f}" x2="{x:.1f}" y1="4" y2="{height - 18}"/>')
        body.append(_text(x, height - 4, pct(i / 4), "middle", "tick"))
    for i, r in enumerate(rows):
        y = 6 + i * row
        colour = GREY if r.thin else r.colour
        body.append(
            f'<g class="hbar{" thin" if r.thin else ""}" data-key="{esc(r.key)}">{_title(r.title)}'
            + _text(left - 6, y + row * 0.6, r.label, "end")
            + f'<rect x="{left}" y="{y + 2}" width="{plot * r.share:.1f}" height="{row - 6}" fill="{colour}"/>'
            + f'<line class="ci" x1="{left + plot * r.lo:.1f}" x2="{left + plot * r.hi:.1f}" y1="{y + row / 2 - 1:.1f}" y2="{y + row / 2 - 1:.1f}"/>'
            + _text(width - right + 6, y + row * 0.6, r.note, "start", "tick")
            + "</g>"
        )
    return svg(width, height, "".join(body), "chart hbars", label)


@dataclass(frozen=True, slots=True)
class Dot:
    group: str
    colour: str
    share: float
    lo: float
    hi: float
    title: str
    thin: bool = False


def dot_rows(label: str, rows: list[tuple[str, list[Dot]]], width: int = 720, line: int = 12) -> str:
    """For each labelled row (a theme), one dot with its interval per group, stacked."""
    groups = max((len(d) for _, d in rows), default=1)
    block = line * groups + 10
    left = int(max((len(r) for r, _ in rows), default=4) * CHAR) + 10
    top = min(1.0, max((d.hi for _, ds in rows for d in ds), default=0.1) * 1.1) or 0.1
    top = min(1.0, -(-top * 10 // 1) / 10)  # up to the next 10%
    plot = width - left - 16
    height = block * len(rows) + 24
    body = []
    for i in range(5):
        x = left + plot * i / 4
        body.append(f'<line class="grid" x1="{x:.1f}" x2="{x:.1f}" y1="2" y2="{height - 18}"/>')
        body.append(_text(x, height - 4, pct(top * i / 4), "middle", "tick"))
    for i, (name, dots) in enumerate(rows):
        y0 = 4 + i * block
        body.append(f'<line class="sep" x1="0" x2="{width}" y1="{y0 + block - 3:.1f}" y2="{y0 + block - 3:.1f}"/>')
        body.append(_text(left - 6, y0 + block / 2, name, "end"))
        for j, d in enumerate(dots):
            y = y0 + 6 + j * line
            colour = GREY if d.thin else d.colour
            x = left + plot * d.share / top
            body.append(
                f'<g class="dot{" thin" if d.thin else ""}" data-key="{esc(d.group)}">'
                f'<line class="ci" stroke="{colour}" x1="{left + plot * d.lo / top:.1f}" x2="{left + plot * d.hi / top:.1f}" '
                f'y1="{y:.1f}" y2="{y:.1f}"/><circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{colour}">{_title(d.title)}</circle></g>'
            )
    return svg(width, height, "".join(body), "chart dots", label)


# --- timeline strip ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Mark:
    day: date
    fill: str | None  # None: an ungraded visit, drawn hollow
    title: str
    href: str


def timeline(label: str, marks: list[Mark], first: int, last: int, width: int = 900, r: float = 7) -> str:
    """One mark per document on a time axis (``first`` .. ``last`` years); marks that
    would touch move down to the next free lane."""
    left, right = 12, 12
    span = (date(last + 1, 1, 1) - date(first, 1, 1)).days
    px_day = (width - left - right) / span

    def x(d: date) -> float:
        return left + (d - date(first, 1, 1)).days * px_day

    lanes: list[float] = []
    placed = []
    for m in sorted(marks, key=lambda m: m.day):
        mx = x(m.day)
        lane = next((i for i, end in enumerate(lanes) if end < mx - 2 * r - 2), None)
        if lane is None:
            lanes.append(mx)
            lane = len(lanes) - 1
        lanes[lane] = mx
        placed.append((m, mx, lane))
    base = 14 + len(lanes) * (2 * r + 4)
    height = base + 22
    body = [f'<line class="axis" x1="{left}" x2="{width - right}" y1="{base}" y2="{base}"/>']
    px_year = 365.25 * px_day
    for yr in year_ticks(first, last, px_year):
        xx = x(date(yr, 1, 1))
        body.append(f'<line class="grid" x1="{xx:.1f}" x2="{xx:.1f}" y1="4" y2="{base + 4}"/>')
        body.append(_text(xx + 2, base + 16, str(yr), "start", "tick"))
    for m, mx, lane in placed:
        y = 10 + r + lane * (2 * r + 4)
        cls = "mark" if m.fill else "mark ungraded"
        fill = m.fill or "#ffffff"
        body.append(f'<a href="{esc(m.href)}"><circle class="{cls}" cx="{mx:.1f}" cy="{y:.1f}" r="{r}" fill="{fill}">'
                    f'{_title(m.title)}</circle></a>')
    return svg(width, height, "".join(body), "timeline", label)
