"""pypdfium2 backend: whole-page text in one call, geometry only at line ends.

``get_text_range`` is the fast path (~300 pages/s).  We ask PDFium for the box
of the first and last character of each line and the weight of the first
character, which costs a few calls per line instead of a few per character.
PDFium marks a line-end hyphen with U+FFFE and drops the line break after it;
we restore the break and flag the line so the segmenter can decide whether the
hyphen belongs to the word.
"""

from __future__ import annotations

import ctypes
import re

from ..errors import CorruptPdf, EncryptedPdf, NoTextLayer
from ..model import Line, Page
from . import check_page_count
from .guard import check_pdf

_SPACES = " \t\u00a0\r\n"


def _open(path: str, data: bytes):
    import pypdfium2 as pdfium

    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        msg = str(exc).lower()
        if "password" in msg or "security" in msg:
            raise EncryptedPdf(path) from exc
        raise CorruptPdf(path, str(exc).split("\n")[0]) from exc


def read_pdf(path: str, data: bytes, *, max_pages: int) -> tuple[Page, ...]:
    import pypdfium2 as pdfium
    import pypdfium2.raw as raw

    doc = _open(path, data)  # reads no page: encrypted and corrupt files are told apart here
    try:
        n = len(doc)
        check_page_count(path, n, max_pages)
        check_pdf(path, data, max_pages)  # before FPDF_LoadPage expands a form-XObject bomb
        pages = []
        any_text = False
        for i in range(n):
            try:
                page = doc[i]
            except pdfium.PdfiumError as exc:  # a damaged page object
                raise CorruptPdf(path, f"page {i + 1}: {exc}") from exc
            try:
                width, height = page.get_size()
                try:
                    tp = page.get_textpage()
                except pdfium.PdfiumError as exc:
                    raise CorruptPdf(path, f"page {i + 1}: {exc}") from exc
                try:
                    lines = _lines(tp, raw, i + 1, height)
                finally:
                    tp.close()
            finally:
                page.close()
            any_text = any_text or bool(lines)
            pages.append(Page(i + 1, round(width, 2), round(height, 2), tuple(lines)))
        if not any_text:
            raise NoTextLayer(path, n)
        return tuple(pages)
    finally:
        doc.close()


# One line: its text (group 1, possibly empty) and what ended it (group 2): CRLF,
# a lone LF/CR, PDFium's U+FFFE line-end hyphen, or the end of the page.
_LINE = re.compile(r"([^\r\n\ufffe]*)(\r\n|[\r\n\ufffe]|\Z)")


def _lines(tp, raw, number: int, height: float) -> list[Line]:
    count = tp.count_chars()
    if count <= 0:
        return []
    text = tp.get_text_range(0, count)
    handle = tp.raw
    left, right, bottom, top = (ctypes.c_double() for _ in range(4))
    pl, pr, pb, pt = (ctypes.byref(v) for v in (left, right, bottom, top))
    ox, oy = ctypes.c_double(), ctypes.c_double()
    pox, poy = ctypes.byref(ox), ctypes.byref(oy)
    char_box, font_size, font_weight, origin = _calls(raw)
    out: list[Line] = []
    n = len(text)
    for m in _LINE.finditer(text):
        a, b = m.span(1)
        if a == b:
            if b >= n:
                break
            continue
        seg = m.group(1)
        stripped = seg.strip(_SPACES)
        if not stripped:
            continue
        a += len(seg) - len(seg.lstrip(_SPACES))
        b -= len(seg) - len(seg.rstrip(_SPACES))
        char_box(handle, a, pl, pr, pb, pt)
        l0 = left.value
        char_box(handle, b - 1, pl, pr, pb, pt)
        r1 = right.value
        k = a if text[a].isalnum() else _first_letter(text, a, b)
        size = font_size(handle, k)
        weight = font_weight(handle, k)
        # Glyph boxes are tight and jitter with ascenders; the baseline of
        # the first letter is exact, so the line's box hangs from it.
        origin(handle, k, pox, poy)
        base = height - oy.value
        bbox = (round(l0, 2), round(base - 0.8 * size, 2), round(max(r1, l0), 2), round(base + 0.2 * size, 2))
        out.append(Line(number, stripped.replace("\x02", "-"), bbox, round(size, 2), weight >= 600, hyphen=m.group(2) == "\ufffe"))
    return out


_CALLS: tuple | None = None


def _calls(raw) -> tuple:
    """FPDFText_GetCharBox, _GetFontSize, _GetFontWeight and _GetCharOrigin, called
    without ctypes' argument checks.

    pypdfium2 declares ``argtypes`` on its functions, and converting each argument
    through them costs ~3 µs a call; a line takes five calls.  The same C functions,
    called through a prototype that declares only the return type, pass the arguments
    by ctypes' default rules instead (a Python int as a C int, ``byref`` as a pointer,
    the text page's pointer as itself), which is what the C signatures expect, at ~1 µs.
    A test checks the lines equal those read through pypdfium2's own declarations."""
    global _CALLS
    if _CALLS is None:

        def unchecked(fn, restype):
            return ctypes.CFUNCTYPE(restype)(ctypes.cast(fn, ctypes.c_void_p).value)

        _CALLS = (
            unchecked(raw.FPDFText_GetCharBox, ctypes.c_int),
            unchecked(raw.FPDFText_GetFontSize, ctypes.c_double),
            unchecked(raw.FPDFText_GetFontWeight, ctypes.c_int),
            unchecked(raw.FPDFText_GetCharOrigin, ctypes.c_int),
        )
    return _CALLS


def _first_letter(text: str, a: int, b: int) -> int:
    """Index of the first alphanumeric character (the weight of a bullet glyph says nothing)."""
    for i in range(a, min(b, a + 6)):
        if text[i].isalnum():
            return i
    return a
