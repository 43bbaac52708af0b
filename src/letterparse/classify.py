"""Themes and polarity for findings (filled in by the themes issue)."""

from __future__ import annotations

from .model import Letter


def model_available() -> bool:
    return False


def annotate(letter: Letter) -> Letter:
    return letter
