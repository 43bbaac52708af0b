"""Loaded by a batch's forkserver after :mod:`letterparse._warm`: what pays off over
many files.  The lemma and feature caches filled with the model's own words are shared
copy-on-write by every worker forked afterwards.  A one-file ``extract`` skips this: it
costs more than it saves on one letter.  (scipy.sparse is not imported: the product
uses its compiled kernel alone, see :func:`letterparse.themes.RowBlocks.dot`.)"""

from __future__ import annotations

try:
    from . import themes

    if themes.model_available():
        themes.prefill()
except Exception:  # noqa: BLE001 - a broken model is reported by every file's parse
    pass
