"""Render invented test letters, written in a tiny markup, to born-digital PDFs.

The PDFs imitate the *layout* of Ofsted's children's-services letters and
reports (A4, sans-serif body, bold headings, hanging-indent bullets and
numbered paragraphs, running headers/footers, page numbers, letterhead on
page 1) so that the parser can be tested on documents we are free to ship.
Text flows naturally: a long bullet that reaches the bottom of a page is split
across the page break, with the footer / page number of the first page and the
running header of the next page between its two halves.

Only reportlab is needed.  Body text uses the Bitstream Vera fonts bundled
with reportlab, so output is the same wherever reportlab is installed.

Markup
======

Optional front matter: ``key: value`` lines at the very top, ended by a line
``---``.  Keys (all optional)::

    bullet: •                 bullet glyph: • ◼ ▪ \\uf0b7 (escapes \\uXXXX allowed)
    bullet_mode: auto         auto | shape  (shape: draw a filled square/circle and
                              emit the glyph as invisible text)
    header: text              running header, pages 2+ (``\\n`` = new line)
    header_first: false       also print the header on page 1
    header_bold: false
    footer: text              footer (``\\n`` = new line)
    footer_first: true        print the footer on page 1 too
    footer_bold: false
    page_numbers: none        none | page-of ("Page 2 of 5") | plain ("2")
    page_number_position: footer   footer | header
    page_number_first: true   print the page number on page 1 too
    letterhead: false         true = Ofsted Piccadilly Gate address block on
                              page 1; any other text = custom block (``\\n``
                              separates lines, `` || `` separates columns)
    logo: true                draw a text-free decorative logo top right
    mark: OFFICIAL            protective marking, top and bottom of every page
    furniture: before         draw header/footer before (default) or after the
                              body text in each page's content stream
    font_size: 10.5
    title: / author: / subject:   PDF metadata

Body:

* ``= Title``       large title line
* ``# Heading``     bold heading
* ``## Heading``    bold heading, body size
* ``- item``        bullet item; ``  - item`` (indented 2+ spaces) = sub-bullet (–)
* ``1. item``       numbered paragraph / item (the number is kept as its label)
* ``| a | b |``     table row (a row like ``|---|---|`` ends the header rows)
* ``<<pagebreak>>`` or a form feed ``\\f``: page break
* blank line        ends the current paragraph / item
* any other line    paragraph text; consecutive lines are joined with a space,
                    and lines after an item continue that item.  A line
                    ending in ``\\`` forces a line break (address blocks).
* ``\\text``       a leading backslash makes the line literal paragraph text
* ``**bold**``      inline bold
"""

from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import reportlab
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import (
    BaseDocTemplate,
    CondPageBreak,
    Frame,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)
from reportlab import rl_config

__all__ = [
    "Block",
    "Options",
    "parse_markup",
    "render_letter",
    "markup_from_plain",
    "OFSTED_LETTERHEAD",
]

OFSTED_LETTERHEAD = (
    "Ofsted\nPiccadilly Gate\nStore Street\nManchester\nM1 2WD"
    " || "
    "T 0300 123 1231\nTextphone 0161 618 8524\nenquiries@ofsted.gov.uk\nwww.gov.uk/ofsted"
)

PAGE_W, PAGE_H = A4
MARGIN_L = 68.0
MARGIN_R = 62.0
MARGIN_T = 72.0
MARGIN_B = 72.0

SUB_BULLET = "\u2013"  # en dash, as used for second-level items

# Glyphs drawn as a square when no available font has them.
_SQUARE_GLYPHS = set("\u25a0\u25aa\u25fc\u25fe\uf0a7\uf06e")

# ---------------------------------------------------------------------------
# fonts

_FONT_DIR = Path(reportlab.__file__).resolve().parent / "fonts"
_DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
BODY = "LP-Vera"
BOLD = "LP-VeraBd"
ITALIC = "LP-VeraIt"
BOLD_ITALIC = "LP-VeraBI"
ALIAS = "LP-VeraAlias"
DEJAVU = "LP-DejaVuSans"

_fonts_ready = False


def _register_fonts() -> None:
    global _fonts_ready
    if _fonts_ready:
        return
    for name, file in ((BODY, "Vera.ttf"), (BOLD, "VeraBd.ttf"), (ITALIC, "VeraIt.ttf"),
                       (BOLD_ITALIC, "VeraBI.ttf"), (ALIAS, "Vera.ttf")):
        pdfmetrics.registerFont(TTFont(name, str(_FONT_DIR / file)))
    pdfmetrics.registerFontFamily(BODY, normal=BODY, bold=BOLD, italic=ITALIC, boldItalic=BOLD_ITALIC)
    if _DEJAVU.exists():
        pdfmetrics.registerFont(TTFont(DEJAVU, str(_DEJAVU)))
    _fonts_ready = True


def _has_glyph(font_name: str, ch: str) -> bool:
    try:
        font = pdfmetrics.getFont(font_name)
    except KeyError:
        return False
    return ord(ch) in font.face.charToGlyph


def _alias_glyph(ch: str) -> None:
    """Map ``ch`` onto Vera's bullet glyph in the ALIAS font.

    The subset's ToUnicode CMap then carries ``ch`` itself, so text extraction
    returns the requested code point (e.g. U+F0B7, as Word's Symbol bullet does)
    although Vera has no glyph of its own for it."""
    face = pdfmetrics.getFont(ALIAS).face
    cp = ord(ch)
    if cp not in face.charToGlyph:
        face.charToGlyph[cp] = face.charToGlyph[0x2022]
        face.charWidths[cp] = face.charWidths[0x2022]


def _bullet_font(ch: str, mode: str) -> tuple[str, str | None]:
    """Return (font name, shape) for drawing bullet ``ch``.

    shape is None when the glyph is drawn visibly by the font, otherwise
    "square"/"circle": the glyph is emitted as invisible text (so text
    extraction still sees it) and the shape is drawn in its place."""
    _register_fonts()
    if mode != "shape":
        if _has_glyph(BODY, ch):
            return BODY, None
        if _has_glyph(DEJAVU, ch):
            return DEJAVU, None
        if ch not in _SQUARE_GLYPHS:
            _alias_glyph(ch)  # round bullet: Vera's own bullet glyph, visibly
            return ALIAS, None
    if not _has_glyph(BODY, ch):
        _alias_glyph(ch)
        font = ALIAS
    else:
        font = BODY
    return font, ("square" if ch in _SQUARE_GLYPHS else "circle")


# ---------------------------------------------------------------------------
# markup parsing


@dataclass
class Options:
    bullet: str = "\u2022"
    bullet_mode: str = "auto"
    header: str = ""
    header_first: bool = False
    header_bold: bool = False
    footer: str = ""
    footer_first: bool = True
    footer_bold: bool = False
    page_numbers: str = "none"
    page_number_position: str = "footer"
    page_number_first: bool = True
    letterhead: str = ""
    logo: bool = True
    mark: str = ""
    furniture: str = "before"
    font_size: float = 10.5
    title: str = ""
    author: str = ""
    subject: str = ""
    extra: dict = field(default_factory=dict)


@dataclass
class Block:
    kind: str  # title | heading | subheading | para | bullet | numbered | table | pagebreak
    text: str = ""  # "\n" marks a forced line break; may contain **bold**
    label: str = ""  # "1." for numbered items
    level: int = 0  # bullets: 0 top level, 1 sub-bullet
    rows: list = field(default_factory=list)  # table: list of lists of cell text
    header_rows: int = 0

    @property
    def plain(self) -> str:
        """Text without inline markup, forced breaks as spaces."""
        return re.sub(r"\s+", " ", self.text.replace("**", "")).strip()


_BOOL_KEYS = {"header_first", "header_bold", "footer_first", "footer_bold", "page_number_first", "logo"}
_FM_LINE = re.compile(r"^([A-Za-z_][A-Za-z0-9_-]*)\s*:\s?(.*)$")


def _unescape(value: str) -> str:
    value = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), value)
    return value.replace("\\n", "\n")


def _truthy(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on", "y"}


def _split_front_matter(markup: str) -> tuple[dict, str]:
    lines = markup.split("\n")
    i = 0
    while i < len(lines) and not lines[i].strip():
        i += 1
    if i >= len(lines) or not _FM_LINE.match(lines[i].strip()):
        return {}, markup
    fm = {}
    for j in range(i, len(lines)):
        s = lines[j].strip()
        if s == "---":
            return fm, "\n".join(lines[j + 1:])
        if not s:
            continue
        m = _FM_LINE.match(s)
        if not m:
            return {}, markup
        fm[m.group(1).lower().replace("-", "_")] = _unescape(m.group(2).strip())
    return {}, markup  # no closing ---: not front matter


def _options(fm: dict) -> Options:
    opts = Options()
    for key, value in fm.items():
        if key == "letterhead":
            if _truthy(value):
                opts.letterhead = OFSTED_LETTERHEAD
            elif value.strip().lower() in {"", "0", "false", "no", "off", "n"}:
                opts.letterhead = ""
            else:
                opts.letterhead = value
        elif key in _BOOL_KEYS:
            setattr(opts, key, _truthy(value))
        elif key == "font_size":
            opts.font_size = float(value)
        elif key == "bullet":
            opts.bullet = value.strip() or opts.bullet
        elif key in Options.__dataclass_fields__ and key != "extra":
            setattr(opts, key, value.strip().lower() if key in {
                "page_numbers", "page_number_position", "furniture", "bullet_mode"} else value)
        else:
            opts.extra[key] = value
    if opts.page_numbers not in {"none", "page-of", "plain"}:
        raise ValueError(f"page_numbers must be none, page-of or plain, not {opts.page_numbers!r}")
    return opts


_BULLET_RE = re.compile(r"^(\s*)-\s+(.*)$")
_NUM_RE = re.compile(r"^\s*(\d{1,3})\.\s+(.*)$")
_HEAD_RE = re.compile(r"^(#{1,2})\s+(.*)$")
_TITLE_RE = re.compile(r"^=\s+(.*)$")
_SEP_ROW = re.compile(r"^\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?$")


def parse_markup(markup: str) -> tuple[Options, list[Block]]:
    """Parse markup into (Options, list of Block)."""
    markup = markup.replace("\r\n", "\n").replace("\r", "\n")
    fm, body = _split_front_matter(markup)
    opts = _options(fm)
    body = body.replace("\f", "\n<<pagebreak>>\n")

    blocks: list[Block] = []
    cur: Block | None = None
    hard_break = False  # previous line of cur ended with a backslash

    def flush():
        nonlocal cur, hard_break
        if cur is not None:
            cur.text = cur.text.strip()
            blocks.append(cur)
        cur = None
        hard_break = False

    for raw in body.split("\n"):
        line = raw.rstrip()
        s = line.strip()
        if not s:
            flush()
            continue
        if s.startswith("\\"):  # escaped: literal paragraph text
            s = s[1:]
            line = s
            literal = True
        else:
            literal = False
        if not literal and s.lower() == "<<pagebreak>>":
            flush()
            blocks.append(Block("pagebreak"))
            continue
        if not literal and s.startswith("|"):
            if cur is None or cur.kind != "table":
                flush()
                cur = Block("table")
            if _SEP_ROW.match(s):
                cur.header_rows = len(cur.rows)
            else:
                cells = s.strip("|").split("|")
                cur.rows.append([c.strip() for c in cells])
            continue
        if cur is not None and cur.kind == "table":
            flush()
        brk = s.endswith("\\")
        if brk:
            s = s[:-1].rstrip()
        m = None if literal else _TITLE_RE.match(s)
        if m:
            flush()
            blocks.append(Block("title", m.group(1).strip()))
            continue
        m = None if literal else _HEAD_RE.match(s)
        if m:
            flush()
            blocks.append(Block("heading" if len(m.group(1)) == 1 else "subheading", m.group(2).strip()))
            continue
        m = None if literal else _BULLET_RE.match(line)
        if m:
            flush()
            level = 1 if len(m.group(1).expandtabs(4)) >= 2 else 0
            cur = Block("bullet", m.group(2).rstrip("\\").strip(), level=level)
            hard_break = brk
            continue
        m = None if literal else _NUM_RE.match(line)
        if m:
            flush()
            cur = Block("numbered", m.group(2).rstrip("\\").strip(), label=m.group(1) + ".")
            hard_break = brk
            continue
        if cur is None:
            cur = Block("para", s)
        else:
            cur.text += ("\n" if hard_break else " ") + s
        hard_break = brk
    flush()
    return opts, blocks


# ---------------------------------------------------------------------------
# rendering


def _inline(text: str) -> str:
    """Block text -> reportlab paragraph XML."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", text)
    return text.replace("\n", "<br/>")


class _LPParagraph(Paragraph):
    """Paragraph whose bullet may be replaced by a drawn shape.

    The bullet text is still drawn (with a transparent fill) so extraction
    returns the glyph; reportlab's own split() drops the bullet from the
    continuation part of a paragraph split over a page break."""

    _lp_shape: str | None = None

    def draw(self):
        super().draw()
        if self._lp_shape and self.bulletText:
            st = self.style
            fs = st.bulletFontSize
            if rl_config.paraFontSizeHeightOffset:
                base = self.height - st.fontSize
            else:
                base = self.height - pdfmetrics.getAscent(st.fontName, st.fontSize)
            c = self.canv
            c.saveState()
            c.setFillColor(colors.black)
            if self._lp_shape == "square":
                side = 0.42 * fs
                c.rect(st.bulletIndent, base + 0.1 * fs, side, side, stroke=0, fill=1)
            else:
                r = 0.2 * fs
                c.circle(st.bulletIndent + r, base + 0.32 * fs, r, stroke=0, fill=1)
            c.restoreState()

    def split(self, availWidth, availHeight):
        parts = super().split(availWidth, availHeight)
        for p in parts:
            p._lp_shape = self._lp_shape if p.bulletText else None
        return parts


class _Styles:
    def __init__(self, opts: Options):
        fs = opts.font_size
        lead = round(fs * 1.3, 2)
        self.fs = fs
        self.body = ParagraphStyle("body", fontName=BODY, fontSize=fs, leading=lead,
                                   spaceAfter=round(fs * 0.9, 2), alignment=TA_LEFT)
        self.title = ParagraphStyle("title", parent=self.body, fontSize=fs * 1.9,
                                    leading=fs * 2.25, spaceAfter=fs * 0.9)
        self.heading = ParagraphStyle("heading", parent=self.body, fontName=BOLD,
                                      fontSize=fs + 1.5, leading=(fs + 1.5) * 1.3,
                                      spaceBefore=fs * 0.3, spaceAfter=fs * 0.7)
        self.subheading = ParagraphStyle("subheading", parent=self.body, fontName=BOLD,
                                         spaceAfter=fs * 0.6)
        self.cell = ParagraphStyle("cell", parent=self.body, spaceAfter=0)
        self.cell_bold = ParagraphStyle("cellb", parent=self.cell, fontName=BOLD)
        self.num = ParagraphStyle("num", parent=self.body, leftIndent=30, bulletIndent=0,
                                  bulletFontName=BODY, bulletFontSize=fs)
        bfont, self.shape = _bullet_font(opts.bullet, opts.bullet_mode)
        extra = {} if self.shape is None else {"bulletColor": colors.Color(0, 0, 0, alpha=0)}
        self.bullets = [
            ParagraphStyle("bullet0", parent=self.body, leftIndent=36, bulletIndent=16,
                           bulletFontName=bfont, bulletFontSize=fs, **extra),
            ParagraphStyle("bullet1", parent=self.body, leftIndent=56, bulletIndent=40,
                           bulletFontName=BODY, bulletFontSize=fs),
        ]


def _flowables(opts: Options, blocks: list[Block], st: _Styles) -> list:
    out = []
    fs = st.fs
    for i, b in enumerate(blocks):
        nxt = blocks[i + 1] if i + 1 < len(blocks) else None
        last_of_list = nxt is None or nxt.kind != b.kind
        if b.kind == "pagebreak":
            out.append(PageBreak())
        elif b.kind == "title":
            out.append(Paragraph(_inline(b.text), st.title))
        elif b.kind in {"heading", "subheading"}:
            # Like Word's "keep with next": a heading is not left at the foot
            # of a page, but the paragraph after it may still split.
            style = st.heading if b.kind == "heading" else st.subheading
            out.append(CondPageBreak(style.leading * 2 + style.spaceAfter + st.body.leading * 3))
            out.append(Paragraph(_inline(b.text), style))
        elif b.kind == "para":
            out.append(Paragraph(_inline(b.text), st.body))
        elif b.kind == "bullet":
            style = st.bullets[min(b.level, 1)]
            if not last_of_list:
                style = ParagraphStyle(style.name + "-in", parent=style, spaceAfter=fs * 0.35)
            glyph = opts.bullet if b.level == 0 else SUB_BULLET
            p = _LPParagraph(_inline(b.text), style, bulletText=glyph)
            p._lp_shape = st.shape if b.level == 0 else None
            out.append(p)
        elif b.kind == "numbered":
            out.append(Paragraph(_inline(b.text), st.num, bulletText=b.label))
        elif b.kind == "table":
            out.append(_table(b, st))
            out.append(Spacer(1, fs * 1.2))
        else:  # pragma: no cover
            raise ValueError(b.kind)
    return out


def _table(b: Block, st: _Styles) -> Table:
    ncol = max(len(r) for r in b.rows)
    width = PAGE_W - MARGIN_L - MARGIN_R
    if ncol == 1:
        widths = [width]
    else:
        first = width * 0.52
        widths = [first] + [(width - first) / (ncol - 1)] * (ncol - 1)
    data = []
    for r, row in enumerate(b.rows):
        style = st.cell_bold if r < b.header_rows else st.cell
        row = row + [""] * (ncol - len(row))
        data.append([Paragraph(_inline(c), style) for c in row])
    t = Table(data, colWidths=widths, hAlign="LEFT")
    t.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.6, colors.black),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 5),
        ("RIGHTPADDING", (0, 0), (-1, -1), 5),
        ("TOPPADDING", (0, 0), (-1, -1), 5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 7),
    ]))
    return t


def _letterhead_height(opts: Options) -> float:
    if not opts.letterhead:
        return 0.0
    n = max(len(col.split("\n")) for col in opts.letterhead.split("||"))
    return 24 + n * 9.5 + 30


class _Furniture:
    """Draws headers, footers, page numbers, marks, letterhead and logo."""

    def __init__(self, opts: Options, total: int | None):
        self.o = opts
        self.total = total

    def __call__(self, canv, doc):
        o = self.o
        page = canv.getPageNumber()
        first = page == 1
        canv.saveState()
        # page number
        if o.page_numbers != "none" and (o.page_number_first or not first):
            if o.page_numbers == "page-of":
                label = f"Page {page} of {self.total if self.total else 99}"
            else:
                label = str(page)
            size = 9 if o.page_numbers == "page-of" else 12
            canv.setFont(BODY, size)
            y = PAGE_H - 54 if o.page_number_position == "header" else 34
            if o.page_numbers == "page-of":
                canv.drawCentredString(PAGE_W / 2, y, label)
            else:
                canv.drawRightString(PAGE_W - MARGIN_R, y, label)
        # running header
        if o.header and (o.header_first or not first):
            font = BOLD if o.header_bold else BODY
            canv.setFont(font, 8)
            y = PAGE_H - 40
            for line in o.header.split("\n"):
                canv.drawString(MARGIN_L, y, line)
                y -= 10
        # footer
        if o.footer and (o.footer_first or not first):
            font = BOLD if o.footer_bold else BODY
            lines = o.footer.split("\n")
            y = 34 + 10 * (len(lines) - 1)
            canv.setLineWidth(0.5)
            canv.line(MARGIN_L, y + 11, PAGE_W - MARGIN_R, y + 11)
            canv.setFont(font, 7.5)
            for line in lines:
                canv.drawString(MARGIN_L, y, line)
                y -= 10
        # protective marking
        if o.mark:
            canv.setFont(BOLD, 9)
            canv.drawCentredString(PAGE_W / 2, PAGE_H - 22, o.mark)
            canv.drawCentredString(PAGE_W / 2, 16, o.mark)
        # letterhead address block
        if first and o.letterhead:
            x = MARGIN_L
            for col in o.letterhead.split("||"):
                y = PAGE_H - 52
                canv.setFont(BODY, 7.5)
                lines = [ln.strip() for ln in col.strip().split("\n")]
                for line in lines:
                    canv.drawString(x, y, line)
                    y -= 9.5
                x += max(stringWidth(ln, BODY, 7.5) for ln in lines) + 24
        if o.logo:
            _draw_logo(canv)
        canv.restoreState()


def _draw_logo(canv) -> None:
    """A small, text-free emblem at the top right (three stars over a bar)."""
    import math

    cx0 = PAGE_W - MARGIN_R - 48
    cy = PAGE_H - 36
    canv.setFillColor(colors.Color(0.1, 0.15, 0.45))
    for k in range(3):
        cx = cx0 + k * 13
        r_out, r_in = 5.0, 2.0
        pts = []
        for j in range(10):
            r = r_out if j % 2 == 0 else r_in
            a = math.pi / 2 + j * math.pi / 5
            pts.append((cx + r * math.cos(a), cy + 3 * (k % 2) + r * math.sin(a)))
        path = canv.beginPath()
        path.moveTo(*pts[0])
        for p in pts[1:]:
            path.lineTo(*p)
        path.close()
        canv.drawPath(path, stroke=0, fill=1)
    canv.rect(cx0 - 8, cy - 14, 42, 4, stroke=0, fill=1)


def _build(opts: Options, blocks: list[Block], total: int | None) -> tuple[bytes, int]:
    _register_fonts()
    st = _Styles(opts)
    buf = io.BytesIO()
    doc = BaseDocTemplate(
        buf,
        pagesize=A4,
        leftMargin=MARGIN_L,
        rightMargin=MARGIN_R,
        topMargin=MARGIN_T,
        bottomMargin=MARGIN_B,
        invariant=1,
        title=opts.title,
        author=opts.author,
        subject=opts.subject,
        creator="letterparse tests/render.py",
        producer="ReportLab",
    )
    fw = PAGE_W - MARGIN_L - MARGIN_R
    top_first = MARGIN_T + _letterhead_height(opts) - (40 if opts.letterhead else 0)
    first = Frame(MARGIN_L, MARGIN_B, fw, PAGE_H - top_first - MARGIN_B, id="first",
                  leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)
    later = Frame(MARGIN_L, MARGIN_B, fw, PAGE_H - MARGIN_T - MARGIN_B, id="later",
                  leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)
    furn = _Furniture(opts, total)
    kw = {"onPageEnd": furn} if opts.furniture == "after" else {"onPage": furn}
    doc.addPageTemplates([
        PageTemplate(id="First", frames=[first], autoNextPageTemplate="Later", **kw),
        PageTemplate(id="Later", frames=[later], **kw),
    ])
    doc.build(_flowables(opts, blocks, st))
    return buf.getvalue(), doc.page


def render_letter(markup: str, path: Path) -> Path:
    """Render ``markup`` to a PDF at ``path`` (deterministically) and return the path."""
    path = Path(path)
    opts, blocks = parse_markup(markup)
    data, pages = _build(opts, blocks, None)
    if opts.page_numbers == "page-of":
        data, pages2 = _build(opts, blocks, pages)
        assert pages2 == pages
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


# ---------------------------------------------------------------------------
# plain text -> markup

_DATE_LINE = re.compile(r"^\d{1,2}(st|nd|rd|th)? [A-Z][a-z]+ \d{4}$")


def _is_heading(line: str) -> bool:
    s = line.strip()
    if not s or len(s) > 150 or len(s.split()) > 22:
        return False
    if s[-1] in ".,:;!?\"'’)" or not s[0].isupper():
        return False
    if _DATE_LINE.match(s) or "@" in s:
        return False
    if re.match(r"^(Dear|Yours|Copy|cc)\b", s, re.I) or s.endswith("Inspector"):
        return False
    return True


def markup_from_plain(text: str, **options) -> str:
    """Convert a plain-text letter into markup.

    Blocks are separated by blank lines.  A block that is a single short line
    without final punctuation becomes a ``#`` heading; lines starting ``- `` are
    bullets (other lines in their block continue them); other multi-line blocks
    keep their line breaks (address blocks).  Lone page numbers are dropped and
    a block starting in lower case is joined to the previous block when that
    one does not end a sentence (undoing page-break splits of extracted text).
    ``options`` become front matter (default: bullet •, Page N of M numbers)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n\n")
    raw_blocks = [b.strip("\n") for b in re.split(r"\n\s*\n", text)]
    blocks: list[list[str]] = []
    for b in raw_blocks:
        lines = [ln.strip() for ln in b.split("\n") if ln.strip()]
        if not lines:
            continue
        if len(lines) == 1 and lines[0].isdigit():
            continue  # page number
        if blocks and lines[0][0].islower() and blocks[-1][-1][-1] not in ".!?:;":
            blocks[-1][-1] += " " + lines[0]
            blocks[-1].extend(lines[1:])
            continue
        blocks.append(lines)

    fm = {"bullet": "\u2022", "page_numbers": "page-of"}
    fm.update({k: str(v) for k, v in options.items()})
    out = [f"{k}: {v}" for k, v in fm.items()] + ["---", ""]
    for lines in blocks:
        if any(ln.startswith("- ") for ln in lines):
            items: list[str] = []
            for ln in lines:
                if ln.startswith("- "):
                    items.append(ln[2:].strip())
                elif items:
                    items[-1] += " " + ln
                else:
                    out.extend([_protect(ln), ""])
            out.extend("- " + it for it in items)
        elif len(lines) == 1 and _is_heading(lines[0]):
            out.append("# " + lines[0])
        elif len(lines) == 1:
            out.append(_protect(lines[0]))
        else:
            out.extend(_protect(ln) + "\\" for ln in lines[:-1])
            out.append(_protect(lines[-1]))
        out.append("")
    return "\n".join(out)


def _protect(line: str) -> str:
    """Keep a plain paragraph line from being read as markup syntax."""
    if re.match(r"^(#|=\s|\||-\s|<<|\\)", line):
        return "\\" + line
    return line


# ---------------------------------------------------------------------------
# reading rendered PDFs back (needs pypdfium2)


def page_texts(path: Path) -> list[str]:
    """Text of each page of the PDF at ``path``, via pypdfium2."""
    import pypdfium2

    doc = pypdfium2.PdfDocument(str(path))
    try:
        return [doc[i].get_textpage().get_text_range() for i in range(len(doc))]
    finally:
        doc.close()


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def split_items(markup: str, path: Path, words: int = 6) -> list[tuple[Block, int, int]]:
    """Bullets / numbered items of ``markup`` that start on one page of the
    rendered PDF at ``path`` and end on a later one: (block, first page, last page),
    pages numbered from 1."""
    _, blocks = parse_markup(markup)
    pages = [_norm(t) for t in page_texts(path)]
    found = []
    for b in blocks:
        if b.kind not in {"bullet", "numbered"}:
            continue
        w = b.plain.split()
        if len(w) < 2 * words:
            continue
        head, tail = " ".join(w[:words]), " ".join(w[-words:])
        starts = [i for i, p in enumerate(pages) if head in p]
        ends = [i for i, p in enumerate(pages) if tail in p]
        if starts and ends and ends[0] > starts[0]:
            found.append((b, starts[0] + 1, ends[0] + 1))
    return found
