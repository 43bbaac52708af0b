"""letterparse: Ofsted children's-services inspection letters and reports as structured data.

>>> from letterparse import parse
>>> letter = parse("letter.pdf")                      # doctest: +SKIP
>>> [(s.kind, len(s.findings)) for s in letter.sections]  # doctest: +SKIP

Heavy libraries (PDF backends, spaCy, scikit-learn, DuckDB, pandas, matplotlib)
are imported only by the functions that need them.
"""

from __future__ import annotations

from .errors import LetterparseError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (~15 ms before the forkserver starts)

__version__ = "0.1.0"
PARSER_VERSION = "3"

# The stage modules (``letterparse.extract``, ``letterparse.segment``, ...) are modules,
# so only names that are not also module names are offered as functions here.
__all__ = [
    "Finding", "Letter", "LetterparseError", "Section", "Span",
    "classify", "load", "parse", "__version__",
]

if TYPE_CHECKING:  # pragma: no cover
    from typing import Any

    from .model import Finding, Letter, Section, Span
    from .pipeline import parse

_RECORDS = ("Finding", "Letter", "Section", "Span")  # imported when first asked for (start-up)


def __getattr__(name: str) -> Any:
    if name in _RECORDS:
        from . import model

        return getattr(model, name)
    if name == "parse":
        from .pipeline import parse

        return parse
    if name == "classify":
        from .themes import classify

        return classify
    if name == "load":
        from .store import load

        return load
    raise AttributeError(f"module 'letterparse' has no attribute {name!r}")
