"""JSON in and out: deterministic bytes, schema validation, atomic writes."""

from __future__ import annotations

import json
import os
import tempfile
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from .model import Letter


def dumps(letter: Letter | dict[str, Any], *, indent: int | None = 2) -> str:
    """The same letter always gives the same bytes."""
    d = letter.to_dict() if isinstance(letter, Letter) else letter
    return json.dumps(d, ensure_ascii=False, sort_keys=True, indent=indent)


def loads(text: str) -> Letter:
    return Letter.from_dict(json.loads(text))


@cache
def schema() -> dict[str, Any]:
    return json.loads(resources.files("letterparse").joinpath("schema/letter.schema.json").read_text("utf-8"))


def validate(d: dict[str, Any]) -> None:
    """Raise ``jsonschema.ValidationError`` if ``d`` breaks the published schema."""
    import jsonschema

    jsonschema.validate(d, schema())


def write_atomic(path: str | Path, data: str | bytes) -> None:
    """Write to a temporary file in the same folder, then rename over ``path``:
    a reader sees the old file or the new one, never half of one.  The rename
    replaces ``path`` itself, so a symlink there is replaced, not followed."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    try:
        os.chmod(tmp, 0o644)  # mkstemp makes it owner-only; outputs are for sharing
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, p)
        fsync_dir(p.parent)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def fsync_dir(folder: str | Path) -> None:
    """Make a rename in ``folder`` durable (best effort: not every platform can)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - no directory file descriptors here
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)
