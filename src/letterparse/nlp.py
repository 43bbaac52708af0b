"""spaCy text processing for the theme classifier: a blank English pipeline
(rule-based tokenizer, lookup lemmatizer) saved under ``models/nlp``.

``letterparse train`` builds it with the lookup tables of
``spacy-lookups-data`` (a build-time dependency only); afterwards the saved
pipeline loads without them.  Only this module, ``classify.py`` and
``train.py`` import spaCy.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

NLP_DIR = "nlp"


def build_nlp():
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    nlp.initialize()
    return nlp


@cache
def load_nlp(model_dir: str):
    import spacy

    path = Path(model_dir) / NLP_DIR
    if path.exists():
        return spacy.load(path)
    return build_nlp()


def lemmatise(texts: list[str], model_dir: str) -> list[str]:
    """Lower-cased lemmas of word tokens, digits folded to '0', joined by spaces."""
    nlp = load_nlp(model_dir)
    out = []
    for doc in nlp.pipe(texts, batch_size=256):
        out.append(" ".join((t.lemma_ or t.text).lower() for t in doc if t.is_alpha or t.like_num))
    return out
