"""Page-content guard: refuse a form-XObject bomb before PDFium or pdfminer loads a page.

PDFium parses a page's whole content, and every form XObject it draws, recursively,
inside ``FPDF_LoadPage``; a few KB of forms that each draw the next ten times expand
without end there.  So we look at the PDF objects first, with pdfminer's lazy object
parser (no page is interpreted): for each page, the form XObjects its content draws, a
form drawing another form N times multiplying (Type3 glyphs, which may draw forms too,
count once per font), and the content bytes parsed, every stream decoded with a bound.
A page over a limit is a :class:`~letterparse.errors.TooLarge` error for the file.

Only PDFs with ``/Form`` in their bytes are scanned, plus those with a large Flate
stream that inflates far more than text does (:func:`_suspect_flate`).  Not covered:
a Flate stream built to look ordinary at its start in a PDF without forms; the memory
cap (``--max-memory``) stays the backstop for what the guard does not see.
"""

from __future__ import annotations

import io
import re
import zlib
from dataclasses import dataclass

from ..errors import CorruptPdf, TooLarge

MAX_FORM_CALLS = 100_000  # form XObject invocations one page leads to (corpus max: see tests)
MAX_STREAM_BYTES = 16 << 20  # decoded bytes of one content stream
MAX_PAGE_BYTES = 64 << 20  # content bytes one page parses, each form counted at each invocation
MAX_FORM_DEPTH = 64  # forms inside forms (PDFium itself stops at 40 levels)

# `/Name Do`: the name (PDF delimiters end it), then the operator as a whole word.
_DO = re.compile(rb"/([^\s/\[\]()<>{}%]*)\s*Do(?![^\s/\[\]()<>{}%])")
_HEX = re.compile(rb"#([0-9A-Fa-f]{2})")
_TYPE3 = re.compile(rb"/(?:T|#54)(?:y|#79)(?:p|#70)(?:e|#65)(?:3|#33)(?![^\s/\[\]()<>{}%])")
_FORM = re.compile(rb"/(?:F|#46)(?:o|#6[fF])(?:r|#72)(?:m|#6[dD])(?![^\s/\[\]()<>{}%])")


@dataclass(frozen=True, slots=True)
class PageLoad:
    """What one page asks of the parser: form invocations and decoded content bytes."""

    page: int
    form_calls: int
    content_bytes: int


def check_pdf(path: str, data: bytes, max_pages: int | None = None) -> None:
    """Raise :class:`TooLarge` if a page of ``data`` expands past the limits.

    A PDF without ``/Form`` in its bytes has no form XObject to expand; only its pages'
    own content streams could still be a bomb (a 1 MB stream inflating to 1 GB), and
    those are checked when a large Flate stream is compressed much more than text ever
    is (see :func:`_suspect_flate`).  Pages past ``max_pages`` are left to the backend,
    which refuses the file for its page count."""
    if not _has_forms(data) and not _suspect_flate(data):
        return
    for load in scan(path, data):
        if max_pages is not None and load.page >= max_pages:
            return


def _has_forms(data: bytes) -> bool:
    """A form XObject's stream dictionary is never compressed (streams are top-level
    objects), so its ``/Form`` is in the bytes, possibly spelt with ``#xx`` escapes."""
    if b"/Form" in data:
        return True
    return (b"/F#" in data or b"/#46" in data) and _FORM.search(data) is not None


def _has_type3(data: bytes) -> bool:
    """``/Type3`` in the bytes, however spelt (it could name a Type3 font)."""
    if b"/Type3" in data:
        return True
    escaped = (b"/#54", b"/T#", b"/Ty#", b"/Typ#", b"/Type#")
    return any(e in data for e in escaped) and _TYPE3.search(data) is not None


def scan(path: str, data: bytes):
    """Yield a :class:`PageLoad` per page, raising :class:`TooLarge` at the first page
    over a limit.  A file whose objects pdfminer cannot read is :class:`CorruptPdf`:
    PDFium might repair it and load a bomb the guard never saw."""
    from pdfminer.pdfdocument import PDFDocument, PDFXRef
    from pdfminer.pdfpage import PDFPage
    from pdfminer.pdfparser import PDFParser

    number = 0
    try:
        doc = PDFDocument(PDFParser(io.BytesIO(data)))
        # Objects in object streams are compressed: a Type3 font among them is not in the bytes.
        hidden = not all(type(x) is PDFXRef for x in doc.xrefs)
        counter = _Counter(path, type3=hidden or _has_type3(data))
        for number, page in enumerate(PDFPage.create_pages(doc), 1):
            yield counter.page(number, page)
    except TooLarge:
        raise
    except Exception as exc:  # noqa: BLE001 - pdfminer raises a zoo of types on damaged input
        where = f"page {number + 1}" if number else "its objects"
        detail = f"{type(exc).__name__}: {exc}"[:120]
        raise CorruptPdf(path, f"the page-content guard cannot read {where}: {detail}") from exc
    if not number:
        raise CorruptPdf(path, "the page-content guard found no page")


class _Counter:
    """Form expansion per page, each form's own expansion kept across the document's pages."""

    def __init__(self, path: str, type3: bool = True):
        self.path, self.type3 = path, type3
        self.forms: dict[tuple, tuple[int, int]] = {}  # (form or font, resources) -> (calls, bytes) below
        self.page_number = 0

    def page(self, number: int, page) -> PageLoad:
        from pdfminer.pdftypes import resolve1

        self.page_number = number
        resources = resolve1(page.resources) or {}
        calls, size = 0, 0
        for stream in page.contents or ():
            c, s = self.content(resolve1(stream), resources, ())
            calls, size = calls + c, size + s
            self.check(calls, size)
        return PageLoad(number, calls, size)

    def check(self, calls: int, size: int) -> None:
        """Refuse the page; the counts are exact or, when stopped early, lower bounds."""
        if calls > MAX_FORM_CALLS:
            raise TooLarge(self.path, f"page {self.page_number}: form XObjects drawn, at least", calls, MAX_FORM_CALLS)
        if size > MAX_PAGE_BYTES:
            what = f"page {self.page_number}: content bytes parsed (forms expanded), at least"
            raise TooLarge(self.path, what, size, MAX_PAGE_BYTES)

    def content(self, stream, resources, stack: tuple) -> tuple[int, int]:
        """(form invocations, content bytes parsed) that drawing ``stream`` leads to:
        PDFium parses a form's content again at every invocation."""
        from pdfminer.pdftypes import PDFStream, resolve1

        if not isinstance(stream, PDFStream):
            return 0, 0
        if len(stack) > MAX_FORM_DEPTH:
            raise TooLarge(self.path, f"page {self.page_number}: form XObject nesting depth", len(stack), MAX_FORM_DEPTH)
        body = _decode(self.path, stream, self.page_number)
        calls, size = 0, len(body)
        names = _names(body)
        fonts = self.type3 and b"Tf" in body
        del body
        if not isinstance(resources, dict):
            return calls, size
        if names:
            xobjects = resolve1(resources.get("XObject"))
            for name, times in names.items():
                form = resolve1(xobjects.get(name)) if isinstance(xobjects, dict) else None
                if isinstance(form, PDFStream) and _name(form.attrs.get("Subtype")) == "Form":
                    below = self.drawn(xobjects.get(name), form, form.attrs, (form,), resources, stack)
                    calls, size = calls + times * (1 + below[0]), size + times * below[1]
                    self.check(calls, size)
        if fonts:  # a Type3 glyph is a content stream too, parsed once per font
            for ref in (resolve1(resources.get("Font")) or {}).values():
                font = resolve1(ref)
                if isinstance(font, dict) and _name(font.get("Subtype")) == "Type3":
                    procs = resolve1(font.get("CharProcs"))
                    procs = tuple(resolve1(v) for v in procs.values()) if isinstance(procs, dict) else ()
                    below = self.drawn(ref, font, font, procs, resources, stack)
                    calls, size = calls + below[0], size + below[1]
                    self.check(calls, size)
        return calls, size

    def drawn(self, ref, obj, attrs: dict, streams: tuple, resources, stack: tuple) -> tuple[int, int]:
        """(calls, bytes) below a form, or a Type3 font's glyphs, under their own
        ``/Resources`` or, without, the caller's; each counted once per document."""
        from pdfminer.pdftypes import resolve1

        own = resolve1(attrs.get("Resources"))
        inner = own if isinstance(own, dict) else resources
        key = (getattr(ref, "objid", None) or id(obj), id(inner))
        if key in stack:  # a form that draws itself: PDFium stops the recursion there
            return 0, 0
        below = self.forms.get(key)
        if below is None:
            below = (0, 0)
            for stream in streams:
                c, s = self.content(stream, inner, (*stack, key))
                below = (below[0] + c, below[1] + s)
            self.forms[key] = below
        return below


def _decode(path: str, stream, number: int) -> bytes:
    """The stream's bytes decoded, never more than :data:`MAX_STREAM_BYTES` of them."""
    filters = stream.get_filters()
    data = stream.rawdata if stream.rawdata is not None else stream.data
    if stream.decipher:
        data = stream.decipher(stream.objid, stream.genno, data, stream.attrs)
    for f, _ in filters:
        decode = _DECODERS.get(_name(f))
        if decode is None:  # an image filter, say: not content PDFium parses
            return _pdfminer_data(stream)
        try:
            data = decode(data)
        except Exception:  # noqa: BLE001 - damaged: PDFium reads what it can, and so does the count
            return b""
        if len(data) > MAX_STREAM_BYTES:
            raise TooLarge(path, f"page {number}: decoded content stream (bytes), at least", len(data), MAX_STREAM_BYTES)
    if any(params for _, params in filters):  # a predictor: let pdfminer undo it, the size known
        return _pdfminer_data(stream)
    return data


def _inflate(data: bytes) -> bytes:
    try:
        return zlib.decompressobj().decompress(data, MAX_STREAM_BYTES + 1)
    except zlib.error:
        return b""


def _unlzw(data: bytes) -> bytes:
    from pdfminer.lzw import LZWDecoder

    out = bytearray()
    for chunk in LZWDecoder(io.BytesIO(data)).run():
        out += chunk
        if len(out) > MAX_STREAM_BYTES:
            break
    return bytes(out)


def _unhex(data: bytes) -> bytes:
    from pdfminer.ascii85 import asciihexdecode

    return asciihexdecode(data)


def _un85(data: bytes) -> bytes:
    from pdfminer.ascii85 import ascii85decode

    return ascii85decode(data)


def _unrun(data: bytes) -> bytes:  # at most 64x its input
    from pdfminer.runlength import rldecode

    return rldecode(data)


_DECODERS = {
    "FlateDecode": _inflate, "Fl": _inflate, "LZWDecode": _unlzw, "LZW": _unlzw,
    "ASCIIHexDecode": _unhex, "AHx": _unhex, "ASCII85Decode": _un85, "A85": _un85,
    "RunLengthDecode": _unrun, "RL": _unrun,
}


def _pdfminer_data(stream) -> bytes:
    try:
        return stream.get_data() or b""
    except Exception:  # noqa: BLE001 - an undecodable stream draws nothing
        return b""


def _names(body: bytes) -> dict[str, int]:
    """How many times each XObject name is drawn (``/Name Do``) in a content stream."""
    counts: dict[str, int] = {}
    if b"Do" not in body:
        return counts
    for m in _DO.finditer(body):
        raw = m.group(1)
        if b"#" in raw:
            raw = _HEX.sub(lambda h: bytes([int(h.group(1), 16)]), raw)
        try:
            name = raw.decode("utf-8")
        except UnicodeDecodeError:
            name = raw.decode("latin-1")
        counts[name] = counts.get(name, 0) + 1
    return counts


def _name(obj) -> str:
    return getattr(obj, "name", obj) if obj is not None else ""


# --- the cheap pre-check for PDFs without forms ---------------------------------------

_FLATE_STREAM = re.compile(rb"/FlateDecode[^>]*>>\s*stream\r?\n")
_PROBE = 1 << 10  # compressed bytes fed to zlib per stream
_SUSPECT_RATIO = 100  # text content compresses ~3-10x; a bomb of zeros ~1000x
_SMALL = MAX_STREAM_BYTES // 1032  # deflate expands at most ~1032x: a shorter stream is harmless


def _suspect_flate(data: bytes) -> bool:
    """True if a Flate stream long enough to inflate past :data:`MAX_STREAM_BYTES`
    inflates more than :data:`_SUSPECT_RATIO` times from its first :data:`_PROBE`
    bytes: then the full scan runs and decodes the pages' content with the bound."""
    for m in _FLATE_STREAM.finditer(data):
        start = m.end()
        if data.find(b"endstream", start, start + _SMALL) >= 0:
            continue
        try:
            out = zlib.decompressobj().decompress(data[start : start + _PROBE], _PROBE * _SUSPECT_RATIO + 1)
        except zlib.error:
            continue
        if len(out) > _PROBE * _SUSPECT_RATIO:
            return True
    return False
