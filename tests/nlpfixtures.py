"""spaCy itself, as the reference the lemmatising fast paths must equal."""

from __future__ import annotations

import functools
from pathlib import Path


@functools.cache
def untouched_nlp(directory):
    """The saved pipeline as spaCy loads it (every lexical attribute computed)."""
    import spacy

    return spacy.load(Path(directory) / "nlp")


def reference_lemmas(texts, directory):
    """The slow path the chunk cache and the saved rules replace: spaCy's tokenizer
    on each whole text, and the lemma table of the saved pipeline."""
    from spacy.attrs import IS_ALPHA, LIKE_NUM, LOWER

    nlp = untouched_nlp(directory)
    table = nlp.get_pipe("lemmatizer").lookups.get_table("lemma_lookup")
    out = []
    for doc in nlp.tokenizer.pipe(texts):
        arr = doc.to_array([LOWER, IS_ALPHA, LIKE_NUM]) if len(doc) else []
        words = [nlp.vocab.strings[int(r[0])] for r in arr if r[1] or r[2]]
        out.append(" ".join(table.get(w, w).lower() for w in words))
    return out
