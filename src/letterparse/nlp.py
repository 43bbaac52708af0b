"""spaCy text processing for the theme classifier: a blank English pipeline
(rule-based tokenizer, lookup lemmatizer) saved under ``models/nlp``.

``letterparse train`` builds it with the lookup tables of
``spacy-lookups-data`` (a build-time dependency only); afterwards the saved
pipeline loads without them.  Only this module, ``themes.py`` and
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


@cache
def _lemma_table(model_dir: str) -> dict[str, str]:
    nlp = load_nlp(model_dir)
    table = nlp.get_pipe("lemmatizer").lookups.get_table("lemma_lookup")
    return table


_CHUNKS: dict[str, str] = {}  # whitespace-delimited chunk -> its lemmas joined by spaces
_CHUNKS_MAX = 500_000  # distinct chunks kept per process (a few tens of MB at most)


def lemmatise(texts: list[str], model_dir: str) -> list[str]:
    """Lower-cased lookup lemmas of the word and number tokens of each text, joined by spaces.

    spaCy's rule-based tokenizer splits the text; the lemma comes from the lookup
    table the lemmatizer was initialised with (the same table its ``lookup`` mode
    uses).  The tokenizer splits each whitespace-delimited chunk on its own
    (prefixes, suffixes, infixes and special cases never cross whitespace), so a
    chunk's lemmas are computed once per process and reused; only the chunks not
    seen before go through spaCy, as one batch.  Token attributes are read as
    arrays (``Doc.to_array``), which avoids building a Python object per token.
    """
    chunks = _CHUNKS
    split = [t.split() for t in texts]
    new = {c for words in split for c in words if c not in chunks}
    if new:
        if len(chunks) + len(new) > _CHUNKS_MAX:
            chunks.clear()
            new = {c for words in split for c in words}
        chunks.update(_lemmatise_chunks(sorted(new), model_dir))
    return [" ".join(filter(None, map(chunks.__getitem__, words))) for words in split]


def _lemmatise_chunks(chunks: list[str], model_dir: str) -> dict[str, str]:
    from spacy.attrs import IS_ALPHA, LIKE_NUM, LOWER

    nlp = load_nlp(model_dir)
    table = _lemma_table(model_dir)
    strings = nlp.vocab.strings
    memo: dict[int, str] = {}
    out: dict[str, str] = {}
    for chunk, doc in zip(chunks, nlp.tokenizer.pipe(chunks, batch_size=1000)):
        arr = doc.to_array([LOWER, IS_ALPHA, LIKE_NUM])
        ids = arr[(arr[:, 1] | arr[:, 2]).astype(bool), 0].tolist()
        words = []
        for i in ids:
            lemma = memo.get(i)
            if lemma is None:
                w = strings[i]
                lemma = memo[i] = table.get(w, w).lower()
            words.append(lemma)
        out[chunk] = " ".join(words)
    return out
