"""The whole pipeline for one file: extract -> clean -> segment -> describe (-> classify)."""

from __future__ import annotations

from pathlib import Path

from .clean import clean
from .describe import describe, is_ofsted_document
from .errors import NotOfsted
from .extract import DEFAULT_BACKEND, DEFAULT_MAX_BYTES, DEFAULT_MAX_PAGES, extract
from .model import Letter, Source
from .segment import segment


def parse(
    path: str | Path,
    *,
    backend: str = DEFAULT_BACKEND,
    themes: bool = True,
    max_pages: int = DEFAULT_MAX_PAGES,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Letter:
    """Parse one PDF or text file into a :class:`Letter`.

    ``themes=False`` skips the theme classifier (findings keep ``themes=[]``)."""
    raw = extract(path, backend, max_pages=max_pages, max_bytes=max_bytes)
    body = clean(raw)
    text, sections = segment(body)
    desc = describe(body)
    if not is_ofsted_document((ln for page in raw.pages for ln in page.lines), desc):
        raise NotOfsted(str(path))
    warnings = list(desc.warnings)
    if not sections:
        warnings.append("no judgement sections found")
    letter = Letter(
        source=Source(str(path), raw.sha256, len(raw.pages), raw.backend),
        text=text,
        family=desc.family,
        framework=desc.framework,
        authority=desc.authority,
        letter_date=desc.letter_date,
        published=desc.published,
        inspection=desc.inspection,
        grades=desc.grades,
        grades_raw=desc.grades_raw,
        sections=sections,
        warnings=tuple(warnings),
    )
    if themes:
        from .themes import annotate, model_available

        if model_available():
            letter = annotate(letter)
    return letter
