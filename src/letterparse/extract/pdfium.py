"""pypdfium2 backend: whole-page text in one call, geometry only at line ends.

``get_text_range`` is the fast path (~300 pages/s).  We ask PDFium for the box
of the first and last character of each line and the weight of the first
character, which costs a few calls per line instead of a few per character.
PDFium marks a line-end hyphen with U+FFFE and drops the line break after it;
we restore the break and flag the line so the segmenter can decide whether the
hyphen belongs to the word.
"""

from __future__ import annotations

import codecs
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
    """The pages of a PDF, each with its lines.  Pages and text pages are PDFium's own
    handles, opened and closed here (pypdfium2's page objects, with their finalizers
    and bookkeeping, cost ~7% of the time PDFium takes to load a page)."""
    import pypdfium2.raw as raw

    doc = _open(path, data)  # reads no page: encrypted and corrupt files are told apart here
    try:
        n = len(doc)
        check_page_count(path, n, max_pages)
        check_pdf(path, data, max_pages)  # before FPDF_LoadPage expands a form-XObject bomb
        pages = []
        any_text = False
        handle = doc.raw
        for i in range(n):
            page = raw.FPDF_LoadPage(handle, i)
            if not page:  # a damaged page object
                raise CorruptPdf(path, f"page {i + 1}: Failed to load page.")
            try:
                width, height = raw.FPDF_GetPageWidthF(page), raw.FPDF_GetPageHeightF(page)
                tp = raw.FPDFText_LoadPage(page)
                if not tp:
                    raise CorruptPdf(path, f"page {i + 1}: Failed to load text page.")
                try:
                    lines = _lines(tp, raw, i + 1, height)
                finally:
                    raw.FPDFText_ClosePage(tp)
            finally:
                raw.FPDF_ClosePage(page)
            any_text = any_text or bool(lines)
            pages.append(Page(i + 1, round(width, 2), round(height, 2), tuple(lines)))
        if not any_text:
            raise NoTextLayer(path, n)
        return tuple(pages)
    finally:
        doc.close()


def _text(tp, raw, count: int) -> str:
    """The text of a text page's first ``count`` characters, as pypdfium2's
    ``PdfTextPage.get_text_range(0, count)`` gives it (tested against it): characters
    PDFium leaves out of the text at either end are skipped first, and the buffer is
    sized by text index, not character index."""
    index_of = raw.FPDFText_GetTextIndexFromCharIndex
    first, last = 0, count - 1
    while first <= last:
        t_first = index_of(tp, first)
        if t_first == -1:
            first += 1
            continue
        t_last = index_of(tp, last)
        if t_last == -1:
            last -= 1
            continue
        break
    else:
        return ""
    size = t_last + 2 - t_first  # with the terminating NUL
    buffer = (ctypes.c_ushort * size)()
    written = raw.FPDFText_GetText(tp, first, last - first + 1, buffer)
    if written > size:
        raise RuntimeError(f"PDFium wrote {written} characters into a buffer of {size}")
    return codecs.decode(memoryview(buffer)[: written - 1], "utf-16-le", "ignore")


# One line: its text (group 1, possibly empty) and what ended it (group 2): CRLF,
# a lone LF/CR, PDFium's U+FFFE line-end hyphen, or the end of the page.
_LINE = re.compile(r"([^\r\n\ufffe]*)(\r\n|[\r\n\ufffe]|\Z)")


def _lines(tp, raw, number: int, height: float) -> list[Line]:
    count = raw.FPDFText_CountChars(tp)
    if count <= 0:
        return []
    text = _text(tp, raw, count)
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
        char_box(tp, a, pl, pr, pb, pt)
        l0 = left.value
        char_box(tp, b - 1, pl, pr, pb, pt)
        r1 = right.value
        k = a if text[a].isalnum() else _first_letter(text, a, b)
        size = font_size(tp, k)
        weight = font_weight(tp, k)
        # Glyph boxes are tight and jitter with ascenders; the baseline of
        # the first letter is exact, so the line's box hangs from it.
        origin(tp, k, pox, poy)
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
    A test checks the lines equal those read through pypdfium2's own declarations.

    They keep Python's lock (``PYFUNCTYPE``): each takes well under a microsecond, less
    than letting go of the lock and taking it back costs."""
    global _CALLS
    if _CALLS is None:

        def unchecked(fn, restype):
            return ctypes.PYFUNCTYPE(restype)(ctypes.cast(fn, ctypes.c_void_p).value)

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
