"""pdfplumber backend: words with fonts, grouped into lines by their top.

About 40x slower than PDFium; kept because its character model is independent
of PDFium's and it reports font names (for bold headings) reliably.
"""

from __future__ import annotations

import io
import re

from ..errors import CorruptPdf, EncryptedPdf, NoTextLayer
from ..model import Line, Page
from . import check_page_count
from .guard import check_pdf

_HYPHEN_END = re.compile(r"(?<=[A-Za-z])[-\u00ad]$")
# pdfminer sets a kerned apostrophe apart as a word of its own: "children ’ s"
_LOOSE_APOSTROPHE = re.compile(r"(?<=\w) ?([’']) ?(?=(?:s|t|re|ll|ve|d|m)\b)")


def _classify(path: str, exc: Exception) -> Exception:
    inner = exc.args[0] if exc.args else exc
    name = type(inner).__name__
    if "Password" in name or "Encrypt" in name:
        return EncryptedPdf(path)
    return CorruptPdf(path, f"{name}: {inner}".strip(": ")[:200])


def read_pdf(path: str, data: bytes, *, max_pages: int) -> tuple[Page, ...]:
    import pdfplumber
    from pdfplumber.utils.exceptions import PdfminerException

    try:
        pdf = pdfplumber.open(io.BytesIO(data))
    except PdfminerException as exc:
        raise _classify(path, exc) from exc
    except Exception as exc:  # pdfminer raises a zoo of types on malformed input
        raise CorruptPdf(path, f"{type(exc).__name__}: {exc}"[:200]) from exc
    try:
        try:
            n = len(pdf.pages)
        except PdfminerException as exc:
            raise _classify(path, exc) from exc
        except Exception as exc:  # a page object pdfplumber cannot read (no MediaBox, wrong type)
            raise CorruptPdf(path, f"{type(exc).__name__}: {exc}"[:200]) from exc
        check_page_count(path, n, max_pages)
        check_pdf(path, data, max_pages)  # before pdfminer interprets a form-XObject bomb
        pages = []
        any_text = False
        for page in pdf.pages:
            try:
                words = page.extract_words(extra_attrs=["fontname", "size"], keep_blank_chars=False, use_text_flow=True)
            except PdfminerException as exc:
                raise _classify(path, exc) from exc
            except Exception as exc:
                raise CorruptPdf(path, f"{type(exc).__name__}: {exc}"[:200]) from exc
            lines = _group(words, page.page_number)
            any_text = any_text or bool(lines)
            pages.append(Page(page.page_number, round(float(page.width), 2), round(float(page.height), 2), tuple(lines)))
            page.close()
        if not any_text:
            raise NoTextLayer(path, n)
        return tuple(pages)
    finally:
        try:
            pdf.close()
        except Exception:  # noqa: BLE001 - closing a damaged file must not replace the typed error
            pass


def _group(words: list[dict], number: int) -> list[Line]:
    rows: list[list[dict]] = []
    for w in words:
        if rows and abs(w["top"] - rows[-1][-1]["top"]) <= 2.5 and w["x0"] >= rows[-1][-1]["x0"] - 1:
            rows[-1].append(w)
        else:
            rows.append([w])
    out = []
    for row in rows:
        text = _LOOSE_APOSTROPHE.sub(r"\1", " ".join(w["text"] for w in row).strip())
        if not text:
            continue
        hyphen = bool(_HYPHEN_END.search(text))
        if hyphen:
            text = text[:-1]
        first = next((w for w in row if any(c.isalnum() for c in w["text"])), row[0])
        bbox = (
            round(float(row[0]["x0"]), 2),
            round(float(min(w["top"] for w in row)), 2),
            round(float(row[-1]["x1"]), 2),
            round(float(max(w["bottom"] for w in row)), 2),
        )
        bold = "bold" in first["fontname"].lower() or "black" in first["fontname"].lower()
        out.append(Line(number, text, bbox, round(float(first["size"]), 2), bold, hyphen=hyphen))
    return out
