"""spaCy text processing for the theme classifier: a blank English pipeline
(rule-based tokenizer, lookup lemmatizer) saved under ``models/nlp``.

``letterparse train`` builds it with the lookup tables of
``spacy-lookups-data`` (a build-time dependency only); afterwards the saved
pipeline loads without them.  Only this module, ``themes.py`` and
``train.py`` import spaCy.
"""

from __future__ import annotations

import re
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
    """The saved pipeline (or a fresh one), for :func:`lemmatise`.

    Its vocabulary computes only the lexical attributes ``lemmatise`` reads (LOWER,
    IS_ALPHA, LIKE_NUM) when it meets a new word: the other twenty (norm, shape,
    stop word, URL...) took half the time spaCy spends on a new chunk.  The
    tokenizer itself reads none of them; a test compares the lemmas with an
    untouched pipeline's.  So other attributes of new words read as empty here."""
    import spacy
    from spacy.attrs import IS_ALPHA, LIKE_NUM, LOWER

    path = Path(model_dir) / NLP_DIR
    nlp = spacy.load(path) if path.exists() else build_nlp()
    getters = nlp.vocab.lex_attr_getters
    nlp.vocab.lex_attr_getters = {k: f for k, f in getters.items() if k in (LOWER, IS_ALPHA, LIKE_NUM)}
    return nlp


@cache
def _lemma_table(model_dir: str) -> dict[str, str]:
    nlp = load_nlp(model_dir)
    table = nlp.get_pipe("lemmatizer").lookups.get_table("lemma_lookup")
    return table


@cache
def _specials(model_dir: str) -> frozenset[str]:
    """The strings the tokenizer splits by its special-case table ("cannot", "Dr.")."""
    return frozenset(load_nlp(model_dir).tokenizer.rules)


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
    split = [t.split() for t in texts]
    chunks = chunk_lemmas(set().union(*split), model_dir)
    return [" ".join(filter(None, map(chunks.__getitem__, words))) for words in split]


def chunk_lemmas(chunks: set[str], model_dir: str) -> dict[str, str]:
    """A mapping that holds the lemmas (as :func:`lemmatise` joins them) of every
    whitespace-free chunk given: the process's cache, after the chunks it lacked
    went through spaCy as one batch."""
    cache = _CHUNKS
    new = {c for c in chunks if c not in cache}
    if new:
        if len(cache) + len(new) > _CHUNKS_MAX:
            cache.clear()
            new = set(chunks)
        cache.update(_lemmatise_chunks(sorted(new), model_dir))
    return cache


def _lemmatise_chunks(chunks: list[str], model_dir: str) -> dict[str, str]:
    """Lemmas of each chunk.  The chunks go through the tokenizer as one text,
    joined by single spaces (one ``Doc``, not one per chunk); a token followed
    by a space ends its chunk.  Should the tokens ever not fall into exactly the
    chunks given, each chunk is tokenised on its own instead."""
    from spacy.attrs import IS_ALPHA, LIKE_NUM, LOWER, SPACY

    nlp = load_nlp(model_dir)
    table = _lemma_table(model_dir)
    out: dict[str, str] = {}
    # A chunk of ASCII letters only, or digits only, that is not one of the
    # tokenizer's special cases is one token: no English prefix, suffix, infix or
    # URL pattern matches inside it.  Its lemma comes straight from the table,
    # without the ~40 µs spaCy spends on a chunk (most of it creating the new
    # word's lexeme).  Tests compare the result with spaCy's on special cases and on the
    # findings of every 20th corpus PDF.
    specials = _specials(model_dir)
    rest = []
    for c in chunks:
        if c.isascii() and (c.isalpha() or c.isdigit()) and c not in specials:
            low = c.lower()
            out[c] = table.get(low, low).lower()
        else:
            rest.append(c)
    chunks = rest
    strings = nlp.vocab.strings
    memo: dict[int, str] = {}

    def lemma(i: int) -> str:
        w = memo.get(i)
        if w is None:
            s = strings[i]
            w = memo[i] = table.get(s, s).lower()
        return w

    if not chunks:
        return out
    arr = nlp.tokenizer(" ".join(chunks)).to_array([LOWER, IS_ALPHA, LIKE_NUM, SPACY]).tolist()
    groups: list[str] = []
    words: list[str] = []
    for low, alpha, num, space in arr:
        if alpha or num:
            words.append(lemma(low))
        if space:
            groups.append(" ".join(words))
            words = []
    groups.append(" ".join(words))
    if len(groups) == len(chunks):
        out.update(zip(chunks, groups))
        return out
    for chunk, doc in zip(chunks, nlp.tokenizer.pipe(chunks, batch_size=1000)):
        a = doc.to_array([LOWER, IS_ALPHA, LIKE_NUM])
        out[chunk] = " ".join(lemma(int(r[0])) for r in a if r[1] or r[2])
    return out


# --- sentences ---------------------------------------------------------------------

# A sentence ends at ".", "!" or "?" (optionally followed by a closing quote or
# bracket) before white space and a capital letter, digit, opening quote or bracket;
# not after a common abbreviation or a lone initial.
_SENT_END = re.compile(r"[.!?][\"'’”)\]]*(?=\s+[\"'‘“(\[]?[A-Z0-9])")
_ABBREV = frozenset(
    "e.g i.e etc mr mrs ms dr prof st no nos vs cf approx para paras ref al fig inc ltd co dept govt".split()
)


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` character offsets of the sentences of ``text``, white space
    trimmed, covering every non-blank character once.  Rule-based (as spaCy's
    ``sentencizer``, plus abbreviations and initials): inspection prose is edited
    English in which a full stop before a capital letter ends a sentence."""
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _SENT_END.finditer(text):
        if text[m.start()] == ".":
            word = re.search(r"([A-Za-z.]+)$", text[start : m.start()])
            w = word.group(1).lower().rstrip(".") if word else ""
            if w in _ABBREV or (len(w) == 1 and w.isalpha()):
                continue
        spans.append((start, m.end()))
        start = m.end()
    spans.append((start, len(text)))
    out = []
    for a, b in spans:
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        if a < b:
            out.append((a, b))
    return out
