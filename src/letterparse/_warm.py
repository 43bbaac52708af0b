"""Loaded once by a batch's forkserver, before it forks the workers (multiprocessing's
forkserver preload): spaCy, the theme model and the caches it fills as it reads
are then in every worker from the start, shared copy-on-write, instead of being
built again in each worker.  Anything that fails here is left to the workers,
which report it per file."""

from __future__ import annotations

try:
    from . import pipeline  # noqa: F401 - the stages and the PDF backend
    from . import themes

    if themes.model_available():
        themes.warm_up(prefill=True)
except Exception:  # noqa: BLE001 - a broken model is reported by every file's parse
    pass
