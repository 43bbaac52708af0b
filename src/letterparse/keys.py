"""Stable references to findings that carry no document text.

Labels and gold refer to a finding by document sha256, finding id and
``finding_key``: a short hash of its first eight words, lower-cased, so that a
label survives a change of finding ids and no sentence is ever stored.
"""

from __future__ import annotations

import hashlib
import re

_WORDS = re.compile(r"[a-z0-9]+")


def finding_key(text: str, words: int = 8) -> str:
    norm = " ".join(_WORDS.findall(text.lower().replace("’", "'"))[:words])
    return hashlib.sha1(norm.encode("utf-8")).hexdigest()[:12]
