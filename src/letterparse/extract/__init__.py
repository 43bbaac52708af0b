"""Read a file into pages of lines with provenance.

Only this package imports PDF libraries.  Every backend returns the same
:class:`~letterparse.model.RawDocument`; the rest of the pipeline never knows
which one ran.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

from ..errors import CorruptPdf, EmptyFile, InputNotFound, IsADirectory, NotAPdf, TooLarge, UnsupportedFileType
from ..model import Line, Page, RawDocument

BACKENDS = ("pdfium", "plumber")
DEFAULT_BACKEND = "pdfium"
DEFAULT_MAX_PAGES = 500
DEFAULT_MAX_BYTES = 100 * 1024 * 1024

# Bullet glyphs seen in Ofsted documents: ◼ ▪ • ● ◦ – and the Word/Wingdings
# private-use glyphs U+F0B7, U+F06E, U+F02D, U+F0A7, U+F0D8.
BULLETS = "\u25fc\u25aa\u2022\u25cf\u25e6\u25a0\u2023\u2043\uf0b7\uf06e\uf02d\uf0a7\uf0d8\uf076\uf0fc\u00b7"


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_checked(path: str | Path, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """Read a file, raising a typed error for a missing, empty or oversized one."""
    p = Path(path)
    if not p.exists():
        raise InputNotFound(str(p))
    if p.is_dir():
        raise IsADirectory(str(p))
    size = p.stat().st_size
    if size == 0:
        raise EmptyFile(str(p))
    if size > max_bytes:
        raise TooLarge(str(p), "file size (bytes)", size, max_bytes)
    return p.read_bytes()


def sniff(data: bytes) -> str:
    """What the bytes look like: 'pdf', 'html', 'text' or 'binary'."""
    head = data[:1024]
    if b"%PDF-" in head:
        return "pdf"
    low = head.lstrip().lower()
    if low.startswith((b"<!doctype html", b"<html", b"<?xml", b"<head", b"<body")) or b"<html" in low:
        return "html"
    try:
        data[:65536].decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the window's end is still text.
        if exc.start < min(len(data), 65536) - 4:
            return "binary"
    return "text" if b"\x00" not in head else "binary"


def extract(
    path: str | Path,
    backend: str = DEFAULT_BACKEND,
    *,
    max_pages: int = DEFAULT_MAX_PAGES,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> RawDocument:
    """Read ``path`` (a PDF or a UTF-8 text file) into a :class:`RawDocument`."""
    p = Path(path)
    data = read_checked(p, max_bytes)
    _spin_for_tests(str(p))
    suffix = p.suffix.lower()
    kind = sniff(data)
    digest = sha256_of(data)
    if suffix in (".txt", ".text"):
        from .text import read_text

        pages = read_text(str(p), data, max_pages=max_pages)
        return RawDocument(str(p), digest, "text", pages)
    if suffix != ".pdf":
        if kind == "pdf":  # a PDF under another name is still a PDF
            suffix = ".pdf"
        else:
            raise UnsupportedFileType(str(p), suffix or "(none)")
    if kind != "pdf":
        raise NotAPdf(str(p), {"html": "an HTML page", "text": "plain text"}.get(kind, "binary data"))
    if backend == "pdfium":
        from .pdfium import read_pdf
    elif backend == "plumber":
        from .plumber import read_pdf
    else:
        raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    pages = read_pdf(str(p), data, max_pages=max_pages)
    return RawDocument(str(p), digest, backend, tuple(mark_gaps(pg) for pg in pages))


def _spin_for_tests(path: str) -> None:
    """TEST-ONLY hook, never set in use: with ``LETTERPARSE_TEST_SPIN=<suffix>`` in the
    environment, reading a file whose path ends with ``<suffix>`` sleeps until the process
    is killed, so the tests of a batch's per-file time limit get a file that never
    finishes (tests/test_batch.py).  Read at each call, in the process that parses: a
    batch's workers see the environment of the forkserver they were forked from."""
    suffix = os.environ.get("LETTERPARSE_TEST_SPIN")
    while suffix and path.endswith(suffix):
        time.sleep(0.05)


def check_page_count(path: str, n: int, max_pages: int) -> None:
    """Shared by the backends: an empty or oversized document is refused before any page is read."""
    if n == 0:
        raise CorruptPdf(path, "no pages")
    if n > max_pages:
        raise TooLarge(path, "page count", n, max_pages)


def mark_gaps(page: Page) -> Page:
    """Set ``Line.gap`` where the vertical space before a line is clearly larger than
    the page's usual line pitch, i.e. where a new paragraph or block starts."""
    lines = page.lines
    if not lines or lines[0].bbox is None:
        return page
    pitches = []
    for a, b in zip(lines, lines[1:]):
        d = b.bbox[1] - a.bbox[1]
        if 0 < d < 40:
            pitches.append(d)
    if not pitches:
        return page
    pitches.sort()  # their median, as statistics.median computes it (without its checks, on every page)
    half = len(pitches) // 2
    pitch = pitches[half] if len(pitches) % 2 else (pitches[half - 1] + pitches[half]) / 2
    gaps = [True]
    for a, b in zip(lines, lines[1:]):
        d = b.bbox[1] - a.bbox[1]
        size = b.size or a.size or 11.0
        # Ofsted's paragraph spacing is small (often 3-6 pt on a 15 pt pitch)
        gaps.append(d > pitch + max(2.0, 0.18 * size) or d < -5)  # negative: a new column/block
    # Line(...) directly: dataclasses.replace is several times slower, on every gap line
    out = tuple(
        ln if g == ln.gap else Line(ln.page, ln.text, ln.bbox, ln.size, ln.bold, g, ln.hyphen)
        for ln, g in zip(lines, gaps)
    )
    return Page(page.number, page.width, page.height, out)
