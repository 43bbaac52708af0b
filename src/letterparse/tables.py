"""Write any table (a pandas DataFrame) as CSV, Markdown or JSON, to a file or stdout.

Shared by the commands that print tables (``compare``, ``timeline``, ...)::

    check_out(out, fmt)         # before any work: ValueError for an unsupported output
    write_table(table, out, fmt)

The format is ``fmt`` (``csv``, ``md`` or ``json``) when given, else the file's
suffix (``.csv``; ``.md`` or ``.markdown``; ``.json``); ``out`` ``-`` is stdout,
CSV unless ``fmt`` says otherwise.  Files are written atomically.

- CSV and Markdown: a list cell is its items joined by ``;``, a date its ISO
  form, a missing value empty; floats keep 6 significant digits in CSV and 4
  decimals in Markdown.
- JSON: a list of records (one object per row, columns in order), lists as
  lists, dates as ISO strings, missing values as ``null``.
"""

from __future__ import annotations

import json
import math
import sys
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .io import write_atomic

if TYPE_CHECKING:  # pragma: no cover
    import pandas

FORMATS = ("csv", "md", "json")
STDOUT = "-"
_SUFFIXES = {".csv": "csv", ".md": "md", ".markdown": "md", ".json": "json"}


def check_out(out: str | Path, fmt: str | None = None) -> str:
    """The format ``out`` will be written in; ``ValueError`` if it is not one we write."""
    if fmt is not None:
        f = fmt.lower().lstrip(".")
        f = "md" if f == "markdown" else f
        if f not in FORMATS:
            raise ValueError(f"unknown format {fmt!r}; use one of: {', '.join(FORMATS)}")
        return f
    if str(out) == STDOUT:
        return "csv"
    suffix = Path(out).suffix.lower()
    if suffix not in _SUFFIXES:
        raise ValueError(f"{out}: give a .csv, .md or .json output file (or - for stdout)")
    return _SUFFIXES[suffix]


def write_table(table: pandas.DataFrame, out: str | Path, fmt: str | None = None) -> None:
    """Write ``table`` to ``out`` (a path, or ``-`` for stdout) in the format of :func:`check_out`."""
    text = render(table, check_out(out, fmt))
    if str(out) == STDOUT:
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        write_atomic(out, text)


def render(table: pandas.DataFrame, fmt: str) -> str:
    """The text of ``table`` in ``fmt`` (``csv``, ``md`` or ``json``)."""
    if fmt == "csv":
        return _flat(table).to_csv(index=False, float_format="%.6g", lineterminator="\n")
    if fmt == "md":
        return to_markdown(table)
    if fmt == "json":
        return json.dumps(records(table), ensure_ascii=False, indent=2) + "\n"
    raise ValueError(f"unknown format {fmt!r}; use one of: {', '.join(FORMATS)}")


def records(table: pandas.DataFrame) -> list[dict[str, Any]]:
    """The rows as JSON-ready dicts (plain Python values)."""
    cols = list(table.columns)
    return [{c: _json_value(v) for c, v in zip(cols, row)} for row in table.itertuples(index=False, name=None)]


def to_markdown(table: pandas.DataFrame) -> str:
    """A GitHub-style Markdown table."""
    lines = ["| " + " | ".join(map(str, table.columns)) + " |", "|" + "|".join("---" for _ in table.columns) + "|"]
    for row in table.itertuples(index=False, name=None):
        lines.append("| " + " | ".join(_md_cell(v) for v in row) + " |")
    return "\n".join(lines) + "\n"


# --- cells ----------------------------------------------------------------------------


def _is_list(v: object) -> bool:
    return isinstance(v, (list, tuple)) or type(v).__name__ == "ndarray"


def _missing(v: object) -> bool:
    if v is None or _is_list(v):
        return v is None
    try:
        import pandas as pd

        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _iso(v: date | datetime) -> str:
    if isinstance(v, datetime) and (v.hour, v.minute, v.second, v.microsecond) == (0, 0, 0, 0):
        return v.date().isoformat()
    return v.isoformat()


def _text(v: object) -> str:
    """A cell as plain text: lists joined by ``;``, dates ISO, missing values empty."""
    if _missing(v):
        return ""
    if _is_list(v):
        return ";".join(_text(x) for x in v)
    if isinstance(v, (date, datetime)):
        return _iso(v)
    return str(v)


def _flat(table: pandas.DataFrame) -> pandas.DataFrame:
    """A copy with list and date cells as text (numbers untouched)."""
    out = table.copy()
    for c in out.columns:
        col = out[c]
        if col.dtype == object or str(col.dtype).startswith("datetime"):
            if any(_is_list(v) or isinstance(v, (date, datetime)) for v in col):
                out[c] = col.map(_text)
    return out


def _md_cell(v: object) -> str:
    if not _missing(v) and isinstance(v, float):
        return f"{v:.4f}"
    return _text(v).replace("|", "\\|").replace("\n", " ")


def _json_value(v: object) -> Any:
    if _is_list(v):
        return [_json_value(x) for x in v]
    if _missing(v):
        return None
    if isinstance(v, (date, datetime)):
        return _iso(v)
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):  # numpy scalars
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, (str, int, float, bool)):
        return v
    return str(v)
