"""Loaded by a worker's forkserver before it forks the workers (multiprocessing's
forkserver preload): the pipeline, the theme model and its compiled tokenizer rules
are then in every worker from the start, shared copy-on-write, instead of being
loaded again in each worker.  Anything that fails here is left to the workers,
which report it per file.  A batch adds :mod:`letterparse._warm_batch`."""

from __future__ import annotations

try:
    import pypdfium2  # noqa: F401 - the default PDF backend's library

    from . import pipeline  # noqa: F401 - the stages
    from . import themes

    if themes.model_available():
        themes.warm_up()
except Exception:  # noqa: BLE001 - a broken model is reported by every file's parse
    pass
