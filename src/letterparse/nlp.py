"""spaCy text processing for the theme classifier: a blank English pipeline
(rule-based tokenizer, lookup lemmatizer) saved under ``models/nlp``.

``letterparse train`` builds it with the lookup tables of
``spacy-lookups-data`` (a build-time dependency only); afterwards the saved
pipeline loads without them.  Only this module, ``themes.py`` and
``train.py`` import spaCy.

Importing and loading spaCy takes about 1.2 s, more than parsing a letter, so
the pipeline's tokenizer rules and lemma table are also saved as plain data
(``models/nlp/rules.json.gz``): :class:`Rules` splits and lemmatises a chunk of
text by spaCy's own algorithm over them, and the chunks it cannot vouch for go
to spaCy itself.  A process whose text holds none of those never imports spaCy.
"""

from __future__ import annotations

import re
from functools import cache, cached_property
from pathlib import Path
from typing import Any

NLP_DIR = "nlp"
RULES_FILE = "rules.json.gz"
RULES_FORMAT = 2


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


# --- spaCy's rules as plain data -----------------------------------------------------


def _compiled(name: str, method: str) -> Any:
    """A :class:`Rules` attribute: the bound ``method`` of the saved pattern ``name``,
    compiled when first read."""
    return cached_property(lambda self: getattr(re.compile(self.patterns[name]), method))


class Rules:
    """The saved pipeline's tokenizer rules and lemma table, applied without spaCy.

    :meth:`tokens` follows spaCy's ``Tokenizer`` (``_split_affixes`` and
    ``_attach_tokens`` in ``tokenizer.pyx``): special cases, prefixes and
    suffixes peeled alternately, the URL pattern, then infixes.  spaCy ends with a
    matcher pass that rewrites runs of tokens spelling a special case with affixes
    in it ("e.g.", ":)"); where a chunk's tokens hold such a run and differ from
    the rule, :meth:`tokens` returns None and the chunk goes to spaCy.  Tests
    compare the lemmas with spaCy's on every distinct chunk of the corpus findings
    and on the special cases dressed in punctuation."""

    def __init__(self, data: dict[str, Any]):
        self.patterns = {k: data[k] for k in ("prefix", "suffix", "infix", "url")}
        self.specials: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in data["specials"].items()}
        self.matched = frozenset(data["matched"])  # special cases spaCy's final matcher looks for
        # the lemma table as two newline-joined columns: a third of the time of a JSON object
        self.lemma_table: dict[str, str] = dict(zip(data["lemma_keys"].split("\n"), data["lemma_values"].split("\n")))
        self.numbers = frozenset(data["num_words"]) | frozenset(data["ordinal_words"])

    # Each pattern compiles when first used (together ~0.1 s, the infix and URL
    # patterns most of it): a text may need only some of them.
    prefix = _compiled("prefix", "search")
    suffix = _compiled("suffix", "search")
    infix = _compiled("infix", "finditer")
    url = _compiled("url", "match")

    def compile(self) -> None:
        """Compile every pattern now."""
        for name in self.patterns:
            getattr(self, name)

    def tokens(self, chunk: str) -> list[str] | None:
        """The tokens spaCy makes of a whitespace-free chunk, or None where only spaCy can tell."""
        specials = self.specials
        if chunk in specials:
            return list(specials[chunk])
        prefixes: list[str] = []
        suffixes: list[str] = []
        s, last = chunk, -1
        while s and len(s) != last:  # _split_affixes (English has no token_match)
            if s in specials:
                break
            last = len(s)
            m = self.prefix(s)
            pre = m.end() - m.start() if m else 0
            if pre and s[pre:] in specials:
                prefixes.append(s[:pre])
                s = s[pre:]
                break
            m = self.suffix(s[pre:])
            suf = m.end() - m.start() if m else 0
            if suf and s[:-suf] in specials:
                suffixes.append(s[-suf:])
                s = s[:-suf]
                break
            if pre and suf and pre + suf <= len(s):
                prefixes.append(s[:pre])
                suffixes.append(s[-suf:])
                s = s[pre:-suf]
            elif pre:
                prefixes.append(s[:pre])
                s = s[pre:]
            elif suf:
                suffixes.append(s[-suf:])
                s = s[:-suf]
        out = prefixes
        if s:  # _attach_tokens
            if s in specials:
                out.extend(specials[s])
            elif s.isalpha():  # no URL (it has a dot) and no infix (each holds a non-letter)
                out.append(s)
            elif self.url(s):
                out.append(s)
            else:
                start = 0
                for m in self.infix(s):
                    if m.start() == 0:
                        continue
                    if m.start() != start:
                        out.append(s[start : m.start()])
                    if m.start() != m.end():
                        out.append(s[m.start() : m.end()])
                    start = m.end()
                if s[start:]:
                    out.append(s[start:])
        out.extend(reversed(suffixes))
        if self._rematched(out):
            return None
        return out

    def _rematched(self, tokens: list[str]) -> bool:
        """Whether spaCy's final pass could rewrite some run of these tokens."""
        matched, specials = self.matched, self.specials
        for i in range(len(tokens)):
            text = ""
            for j in range(i, len(tokens)):
                text += tokens[j]
                if text in matched and tuple(tokens[i : j + 1]) != specials[text]:
                    return True
        return False

    def lemmas(self, chunk: str) -> str | None:
        """The chunk's lemmas as :func:`lemmatise` joins them, or None where only spaCy can tell."""
        if chunk.isascii() and (chunk.isalpha() or chunk.isdigit()) and chunk not in self.specials:
            tokens = [chunk]  # one token: no English affix or infix rule matches inside it
        else:
            found = self.tokens(chunk)
            if found is None:
                return None
            tokens = found
        table = self.lemma_table
        words = []
        for t in tokens:
            if t.isalpha() or self.like_num(t):
                low = t.lower()
                words.append(table.get(low, low).lower())
        return " ".join(words)

    def like_num(self, text: str) -> bool:
        """spaCy's English ``LIKE_NUM`` (``spacy/lang/en/lex_attrs.py``), its word lists from the saved rules."""
        if text.startswith(("+", "-", "±", "~")):
            text = text[1:]
        text = text.replace(",", "").replace(".", "")
        if text.isdigit():
            return True
        if text.count("/") == 1:
            num, denom = text.split("/")
            if num.isdigit() and denom.isdigit():
                return True
        low = text.lower()
        return low in self.numbers or (low.endswith(("st", "nd", "rd", "th")) and low[:-2].isdigit())


@cache
def load_rules(model_dir: str) -> Rules | None:
    """The saved rules of the model in ``model_dir``, or None (spaCy does all the work)."""
    import gzip
    import json

    path = Path(model_dir) / NLP_DIR / RULES_FILE
    if not path.exists():
        return None
    data = json.loads(gzip.decompress(path.read_bytes()))
    if data.get("format") != RULES_FORMAT:
        return None
    return Rules(data)


def export_rules(nlp, directory: Path) -> None:
    """Write the pipeline's tokenizer rules, lemma table and number words as
    ``RULES_FILE`` in ``directory``, for :class:`Rules`.

    The lemma table of a saved pipeline is keyed by string hashes, so its strings
    come from ``spacy-lookups-data``, checked entry by entry against the table."""
    import gzip
    import json
    from importlib.resources import files

    from spacy.attrs import IS_ALPHA, LIKE_NUM, LOWER, ORTH
    from spacy.lang import lex_attrs as base_attrs
    from spacy.lang.en import lex_attrs

    tok = nlp.tokenizer
    getters = nlp.vocab.lex_attr_getters
    if tok.token_match is not None or getters.get(LIKE_NUM) is not lex_attrs.like_num \
            or getters.get(IS_ALPHA) is not base_attrs.is_alpha or getters.get(LOWER) is not base_attrs.lower:
        raise ValueError("the pipeline's tokenizer or lexical attributes are not the ones Rules follows")
    table = nlp.get_pipe("lemmatizer").lookups.get_table("lemma_lookup")
    source = json.loads(gzip.decompress((files("spacy_lookups_data") / "data" / "en_lemma_lookup.json.gz").read_bytes()))
    if len(source) != len(table) or any(table.get(k) != v or "\n" in k + v for k, v in source.items()):
        raise ValueError("spacy-lookups-data's en_lemma_lookup differs from the pipeline's lemma table")
    specials = {k: [d[ORTH] for d in v] for k, v in tok.rules.items()}
    matched = [k for k in specials if not tok.faster_heuristics or tok.find_prefix(k) or tok.find_suffix(k)
               or tok.find_infix(k) or " " in k]
    data = {
        "format": RULES_FORMAT,
        "prefix": tok.prefix_search.__self__.pattern,
        "suffix": tok.suffix_search.__self__.pattern,
        "infix": tok.infix_finditer.__self__.pattern,
        "url": tok.url_match.__self__.pattern,
        "specials": specials,
        "matched": sorted(matched),
        "lemma_keys": "\n".join(source),
        "lemma_values": "\n".join(source.values()),
        "num_words": lex_attrs._num_words,
        "ordinal_words": lex_attrs._ordinal_words,
    }
    blob = json.dumps(data, ensure_ascii=False, sort_keys=True).encode("utf-8")
    (directory / RULES_FILE).write_bytes(gzip.compress(blob, mtime=0))


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
    """Lemmas of each chunk.  The saved :class:`Rules` answer first; the chunks
    they leave go through spaCy's tokenizer as one text, joined by single spaces
    (one ``Doc``, not one per chunk), in which a token followed by a space ends its
    chunk.  Should the tokens ever not fall into exactly the chunks given, each
    chunk is tokenised on its own instead."""
    out: dict[str, str] = {}
    rules = load_rules(model_dir)
    if rules is not None:
        rest = []
        for c in chunks:
            got = rules.lemmas(c)
            if got is None:
                rest.append(c)
            else:
                out[c] = got
        chunks = rest
    if not chunks:
        return out
    from spacy.attrs import IS_ALPHA, LIKE_NUM, LOWER, SPACY

    nlp = load_nlp(model_dir)
    table = _lemma_table(model_dir)
    strings = nlp.vocab.strings
    memo: dict[int, str] = {}

    def lemma(i: int) -> str:
        w = memo.get(i)
        if w is None:
            s = strings[i]
            w = memo[i] = table.get(s, s).lower()
        return w

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
_WORDISH = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.")
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
            # the run of letters and full stops before this one (a scan back, not a
            # regex search anchored at the end, which would try every position since start)
            i = m.start()
            while i > start and text[i - 1] in _WORDISH:
                i -= 1
            w = text[i : m.start()].lower().rstrip(".")
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
