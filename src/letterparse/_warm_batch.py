"""Loaded by a batch's forkserver after :mod:`letterparse._warm`: what pays off over
many files.  scipy's sparse product scores a letter in a sixth of numpy's time
(:meth:`letterparse.themes.RowBlocks.dot`), and the lemma and feature caches filled with
the model's own words are shared copy-on-write by every worker forked afterwards.
A one-file ``extract`` skips both: they cost more than they save on one letter."""

from __future__ import annotations

try:
    import scipy.sparse  # noqa: F401

    from . import themes

    if themes.model_available():
        themes.prefill()
except Exception:  # noqa: BLE001 - a broken model is reported by every file's parse
    pass
