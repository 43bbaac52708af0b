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


def lemmatise(texts: list[str], model_dir: str) -> list[str]:
    """Lower-cased lookup lemmas of the word and number tokens of each text, joined by spaces.

    spaCy's rule-based tokenizer splits the text; the lemma comes from the lookup
    table the lemmatizer was initialised with (the same table its ``lookup`` mode
    uses), looked up once per distinct lower-cased word.  Token attributes are
    read as arrays (``Doc.to_array``), which avoids building a Python object per token.
    """
    from spacy.attrs import IS_ALPHA, LIKE_NUM, LOWER

    nlp = load_nlp(model_dir)
    table = _lemma_table(model_dir)
    strings = nlp.vocab.strings
    memo: dict[int, str] = {}
    out = []
    for doc in nlp.tokenizer.pipe(texts, batch_size=1000):
        if not len(doc):
            out.append("")
            continue
        arr = doc.to_array([LOWER, IS_ALPHA, LIKE_NUM])
        ids = arr[(arr[:, 1] | arr[:, 2]).astype(bool), 0].tolist()
        words = []
        for i in ids:
            lemma = memo.get(i)
            if lemma is None:
                w = strings[i]
                lemma = memo[i] = table.get(w, w).lower()
            words.append(lemma)
        out.append(" ".join(words))
    return out
