"""Themes and polarity for findings, from the models in ``models/``.

The models are plain data: TF-IDF vocabularies in ``vocabulary.json`` and
weights in ``weights.npz`` (read with ``allow_pickle=False``, so loading runs
no code from the file), a spaCy pipeline for lemmas, and
``model_card.json`` with the codebook version, per-theme thresholds and the
library versions they were built with.  A model that does not match the
installed code or codebook raises :class:`ModelError` instead of answering.
"""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass, replace
from functools import cache, cached_property
from itertools import chain
from pathlib import Path
from typing import Any

from .clean import not_prose
from .errors import ModelError
from .model import Finding, Letter, Sentence, ThemeScore

LIST_POLARITY = {"strengths": "strength", "satisfactory": "satisfactory", "improvements": "weakness", "priority_actions": "priority"}


def model_dir() -> str:
    """``$LETTERPARSE_MODELS``, else ``models/`` of the source checkout."""
    env = os.environ.get("LETTERPARSE_MODELS")
    if env:
        return env
    return _checkout_models()


@cache
def _checkout_models() -> str:
    return str(Path(__file__).resolve().parents[2] / "models")


def _resolved(directory: str) -> str:
    """``directory`` as an absolute path with links resolved: an absolute one once per
    process (every letter's classification asks; resolving costs a system call per
    part), a relative one each time (the working directory may change)."""
    return _resolved_absolute(directory) if os.path.isabs(directory) else str(Path(directory).resolve())


@cache
def _resolved_absolute(directory: str) -> str:
    return str(Path(directory).resolve())


def model_available() -> bool:
    return (Path(model_dir()) / "model_card.json").exists()


def model_version() -> str:
    if not model_available():
        return "none"
    card = json.loads((Path(model_dir()) / "model_card.json").read_text("utf-8"))
    return card["training_data"]["labels_sha256"][:12]


@dataclass(frozen=True)
class Models:
    features: Any
    themes: Any
    polarity: Any
    names: tuple[str, ...]
    thresholds: tuple[float, ...]
    directory: str
    sentence_polarity: Any = None
    calibration: tuple[tuple[Any, Any], ...] = ()  # per theme: isotonic knots (raw score, calibrated score)

    def calibrated(self, raw: Any) -> Any:
        """Raw theme probabilities mapped through each theme's calibration."""
        import numpy as np

        if not self.calibration:
            return raw
        out = np.empty_like(raw)
        for j, (x, v) in enumerate(self.calibration):
            out[:, j] = np.interp(raw[:, j], x, v)
        return out

    @cached_property
    def stacked_coef(self) -> Any:
        """The theme and polarity weights side by side (one product scores both)."""
        import numpy as np

        return np.ascontiguousarray(np.hstack([self.themes.coef, self.polarity.coef, self.sentence_polarity.coef]))

    @cached_property
    def stacked_intercept(self) -> Any:
        import numpy as np

        return np.concatenate([self.themes.intercept, self.polarity.intercept, self.sentence_polarity.intercept])


MODEL_FORMAT = "letterparse-linear-3"
CHUNK_CACHE_MAX = 500_000  # distinct text chunks whose word indices a process keeps


class _Features:
    """TF-IDF features rebuilt from plain arrays, computed without scikit-learn's
    per-call overhead (one letter's findings at a time is the common case).

    Word n-grams follow ``TfidfVectorizer``'s default analyzer (token pattern
    ``\\b\\w\\w+\\b``, then n-grams joined by spaces); ``char_wb`` n-grams never
    cross a word boundary.  Neither kind of token crosses whitespace, so every
    distinct whitespace-delimited word is analysed once per process: its
    vocabulary ids for ``char_wb`` and its word tokens, interned as integers.
    A batch of texts then becomes arrays: word n-grams of order 2 and above are
    looked up by integer key (``searchsorted`` in the sorted keys of the
    vocabulary's n-grams), and counting, sublinear tf, idf and l2 normalisation
    run in numpy, as scikit-learn computes them.  A test checks the output equals
    ``TfidfVectorizer.transform``.
    """

    _TOKEN = re.compile(r"(?u)\b\w\w+\b")

    def __init__(self, specs: list[dict[str, Any]], idfs: list[Any]):
        import numpy as np

        self.specs = specs
        self.idfs = [np.asarray(v, dtype=np.float64) for v in idfs]
        self.sizes = [len(spec["terms"]) for spec in specs]
        self._words: dict[str, int] = {}  # word -> word index
        self._chunks: dict[str, int] = {}  # raw text chunk -> chunk number
        self._chunk_arrays = _empty_arrays()  # chunk number -> word indices of its lemmas (see _append)
        self._arrays = [_empty_arrays() for _ in specs]  # spec -> word index -> vocabulary ids
        self._tokens: dict[str, int] = {}  # word-analyzer token -> token id (interned)
        self._unigram: list[int] = []  # token id -> vocabulary id of the unigram, or -1
        self._unigram_array = np.zeros(0, dtype=np.int64)  # the same as an array, rebuilt when tokens are added
        self._ngrams: list[dict[int, Any]] = []  # spec -> n -> (sorted keys, vocabulary ids)
        self._char_vocab: list[dict[str, int]] = []
        for spec in specs:
            vocab = {t: i for i, t in enumerate(spec["terms"])}
            self._char_vocab.append(vocab if spec["analyzer"] != "word" else {})
            grams: dict[int, Any] = {}
            if spec["analyzer"] == "word":
                lo, hi = spec["ngram_range"]
                if lo == 1:
                    for term, i in vocab.items():
                        if " " not in term:
                            self._intern(term, i)
                by_n: dict[int, list[tuple[int, int]]] = {}
                known, bits = self._tokens, self._BITS
                for term, i in vocab.items():
                    if " " in term:
                        parts = term.split(" ")
                        key = 0
                        for t in parts:  # this loop runs once per n-gram of the vocabulary
                            tid = known.get(t)
                            key = (key << bits) | (self._intern(t) if tid is None else tid)
                        by_n.setdefault(len(parts), []).append((key, i))
                for n, pairs in by_n.items():
                    pairs.sort()
                    grams[n] = (np.array([k for k, _ in pairs], dtype=np.int64), np.array([i for _, i in pairs], dtype=np.int64))
            self._ngrams.append(grams)

    _BITS = 21  # token ids below 2**21, so an n-gram of up to 3 tokens is one int64 key

    def _intern(self, token: str, vocab_id: int = -1) -> int:
        t = self._tokens.get(token)
        if t is None:
            t = self._tokens[token] = len(self._unigram)
            self._unigram.append(vocab_id)
        elif vocab_id >= 0:
            self._unigram[t] = vocab_id
            self._unigram_array = self._unigram_array[:0]  # an entry changed: rebuilt whole when next used
        return t

    def _add_word(self, word: str) -> None:
        self._words[word] = len(self._words)
        for k, spec in enumerate(self.specs):
            w = word.lower() if spec["lowercase"] else word
            if spec["analyzer"] == "word":
                ids = [self._intern(t) for t in self._TOKEN.findall(w)]
            else:
                lo, hi = spec["ngram_range"]
                vocab = self._char_vocab[k]
                w = f" {w} "
                grams = []
                for n in range(lo, hi + 1):
                    for i in range(len(w) - n + 1):
                        grams.append(w[i : i + n])
                        if i + n == len(w):
                            break
                ids = [j for j in map(vocab.get, grams) if j is not None]
            self._arrays[k] = _append(self._arrays[k], ids)

    def transform(self, texts: list[str]) -> RowBlocks:
        """The TF-IDF rows of lemmatised texts (:func:`letterparse.nlp.lemmatise`)."""
        import numpy as np

        per_text = [self._ids(t.split()) for t in texts]
        counts = np.fromiter(map(len, per_text), dtype=np.int64, count=len(per_text))
        widx = np.fromiter(chain.from_iterable(per_text), dtype=np.int64, count=int(counts.sum()))
        return self._rows(widx, counts)

    def transform_raw(self, texts: list[str], model_dir: str) -> RowBlocks:
        """The same rows from texts not yet lemmatised, as ``transform(lemmatise(texts))``.

        Each whitespace-delimited chunk of text gets, once per process, a number and the
        word indices of its lemmas (the lemmas of a text are its chunks' lemmas in order),
        kept in arrays as the words' n-gram ids are; a batch of texts is then one dict
        lookup per chunk and a gather in numpy.  Chunks not seen before get their lemmas
        from :func:`nlp.chunk_lemmas`."""
        import numpy as np

        from .nlp import chunk_lemmas

        cache = self._chunks
        split = [t.split() for t in texts]
        chunks = list(chain.from_iterable(split))
        found = list(map(cache.get, chunks))
        if None in found:
            new = set(chunks).difference(cache)
            if len(cache) + len(new) > CHUNK_CACHE_MAX:
                cache.clear()
                self._chunk_arrays = _empty_arrays()
                new = set(chunks)
            lemmas = chunk_lemmas(new, model_dir)
            for chunk in new:
                cache[chunk] = self._chunk_arrays[2]
                self._chunk_arrays = _append(self._chunk_arrays, self._ids(lemmas[chunk].split()))
            found = list(map(cache.__getitem__, chunks))
        ptr, flat, _ = self._chunk_arrays
        widx, lengths = _gather(ptr, flat, np.fromiter(found, dtype=np.int64, count=len(found)))
        per_text = np.fromiter(map(len, split), dtype=np.int64, count=len(split))
        text_of_chunk = np.repeat(np.arange(len(split), dtype=np.int64), per_text)
        counts = np.bincount(text_of_chunk, weights=lengths, minlength=len(split)).astype(np.int64)
        return self._rows(widx, counts)

    def _ids(self, words: list[str]) -> tuple[int, ...]:
        """The word indices of ``words``, adding the words not seen before."""
        known = self._words
        for w in words:
            if w not in known:
                self._add_word(w)
        return tuple(map(known.__getitem__, words))

    def _rows(self, widx: Any, counts: Any) -> RowBlocks:
        """The rows of texts given as the word indices of their lemmas, in order
        (``widx``: every text's, one after another; ``counts``: how many each has).
        One block of rows per feature spec, side by side."""
        import numpy as np

        if len(self._tokens) >= 1 << self._BITS:
            raise ModelError("features", "too many distinct tokens in one process")
        n = len(counts)
        wdoc = np.repeat(np.arange(n, dtype=np.int64), counts)
        blocks = []
        for k, spec in enumerate(self.specs):
            ptr, flat, _ = self._arrays[k]
            # the ids of every word in order: a gather through the words' pointers
            ids, lengths = _gather(ptr, flat, widx)
            docs = np.repeat(wdoc, lengths)
            if spec["analyzer"] == "word":
                lo, hi = spec["ngram_range"]
                cols, rows = [], []
                if lo == 1:
                    have = len(self._unigram_array)
                    if have != len(self._unigram):  # tokens were added since: append theirs
                        tail = np.asarray(self._unigram[have:], dtype=np.int64)
                        self._unigram_array = np.concatenate([self._unigram_array, tail])
                    uni = self._unigram_array[ids]
                    keep = uni >= 0
                    cols.append(uni[keep])
                    rows.append(docs[keep])
                for order, (keys, vids) in self._ngrams[k].items():
                    if len(ids) < order:
                        continue
                    m = len(ids) - order + 1
                    key = np.zeros(m, dtype=np.int64)
                    same = np.ones(m, dtype=bool)
                    for j in range(order):
                        key = (key << self._BITS) | ids[j : j + m]
                        same &= docs[j : j + m] == docs[:m]
                    pos = np.searchsorted(keys, key)
                    pos[pos == len(keys)] = 0
                    hit = same & (keys[pos] == key) if len(keys) else np.zeros(m, dtype=bool)
                    cols.append(vids[pos[hit]])
                    rows.append(docs[:m][hit])
                cols_k = np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64)
                rows_k = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
            else:
                cols_k, rows_k = ids, docs
            size = self.sizes[k]
            # sorted by (row, column), duplicates counted: the CSR order
            key, tf = _distinct(rows_k * size + cols_k, n * size)
            r, c = np.divmod(key, size)
            v = tf.astype(np.float64)
            if spec["sublinear_tf"]:
                v = np.log(v) + 1.0
            v *= self.idfs[k][c]
            if spec["norm"] == "l2":  # as sklearn.preprocessing.normalize, without importing scikit-learn
                norms = np.sqrt(np.bincount(r, weights=v * v, minlength=n))
                norms[norms == 0] = 1.0
                v /= norms[r]
            indptr = np.zeros(n + 1, dtype=np.int64)
            np.cumsum(np.bincount(r, minlength=n), out=indptr[1:])
            blocks.append(Rows(v, c, indptr, (n, size)))
        return RowBlocks(tuple(blocks))


def _distinct(keys: Any, bound: int) -> tuple[Any, Any]:
    """``np.unique(keys, return_counts=True)`` for non-negative integer keys under
    ``bound`` (tested to agree): sorted as 32-bit integers where they fit, which takes
    half the time of 64-bit ones, in a copy sorted in place, and the runs found
    directly (0.07 -> 0.04 s on the keys of 43 letters)."""
    import numpy as np

    keys = keys.astype(np.int32 if bound <= np.iinfo(np.int32).max else np.int64)
    keys.sort()
    if not len(keys):
        return keys.astype(np.int64), np.zeros(0, dtype=np.int64)
    first = np.empty(len(keys), dtype=bool)
    first[0] = True
    np.not_equal(keys[1:], keys[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    return keys[starts].astype(np.int64), np.diff(starts, append=len(keys))  # starts: int64 already


def _empty_arrays() -> tuple[Any, Any, int]:
    """Growable ragged arrays (pointers, flat values, count): item i's values are
    ``flat[pointers[i]:pointers[i + 1]]``."""
    import numpy as np

    return np.zeros(1024, dtype=np.int64), np.zeros(8192, dtype=np.int64), 0


def _append(arrays: tuple[Any, Any, int], values: Any) -> tuple[Any, Any, int]:
    """``arrays`` with one more item (capacity doubles, so an item costs its own values)."""
    import numpy as np

    ptr, flat, count = arrays
    end = int(ptr[count])
    if count + 2 > len(ptr):
        ptr = np.concatenate([ptr, np.zeros(len(ptr), dtype=np.int64)])
    if end + len(values) > len(flat):
        flat = np.concatenate([flat, np.zeros(max(len(flat), len(values)), dtype=np.int64)])
    flat[end : end + len(values)] = values
    ptr[count + 1] = end + len(values)
    return ptr, flat, count + 1


def _gather(ptr: Any, flat: Any, items: Any) -> tuple[Any, Any]:
    """The values of ``items`` of ragged arrays, one item's after another's, and how
    many each item has."""
    import numpy as np

    lengths = ptr[items + 1] - ptr[items]
    starts = np.repeat(ptr[items] - np.concatenate(([0], np.cumsum(lengths)[:-1])), lengths)
    return flat[starts + np.arange(int(lengths.sum()), dtype=np.int64)], lengths


@dataclass(frozen=True)
class Rows:
    """TF-IDF rows as compressed sparse rows (scipy's CSR arrays, without scipy)."""

    BLOCK = 1 << 16  # entries per block of :meth:`dot_numpy`'s product (~13 MB of terms)

    data: Any
    indices: Any
    indptr: Any
    shape: tuple[int, int]

    def tocsr(self):
        import scipy.sparse as sp

        return sp.csr_matrix((self.data, self.indices, self.indptr), shape=self.shape)

    def dot_kernel(self, w: Any, kernel: Any) -> Any:
        """The rows times a dense float64 matrix ``w`` with scipy's compiled kernel
        (:func:`_csr_matvecs`), called as ``csr_matrix @ w`` calls it: the same sums
        in the same order, so the same bits."""
        import numpy as np

        out = np.zeros((self.shape[0], w.shape[1]))
        kernel(self.shape[0], self.shape[1], w.shape[1], self.indptr, self.indices, self.data, w.ravel(), out.ravel())
        return out

    def dot_numpy(self, w: Any) -> Any:
        """The rows times a dense matrix in numpy alone, a block of rows at a time
        (bounded memory)."""
        import numpy as np

        out = np.zeros((self.shape[0], w.shape[1]))
        ptr, start = self.indptr, 0
        while start < self.shape[0]:
            stop = max(int(np.searchsorted(ptr, ptr[start] + self.BLOCK, side="right")) - 1, start + 1)
            stop = min(stop, self.shape[0])
            filled = np.flatnonzero(ptr[start + 1 : stop + 1] > ptr[start:stop]) + start
            if len(filled):
                a, b = ptr[start], ptr[stop]
                terms = w[self.indices[a:b]]
                terms *= self.data[a:b, None]
                out[filled] = np.add.reduceat(terms, ptr[filled] - a, axis=0)
            start = stop
        return out


@dataclass(frozen=True)
class RowBlocks:
    """The rows of several feature specs side by side: each spec's :class:`Rows`,
    whose columns follow the previous spec's.  Scored block by block (a product per
    block, summed) rather than merged into one matrix first, which cost as much as
    the products themselves."""

    SCIPY_FROM = 1 << 20  # entries (~8 letters) from which importing scipy costs less than numpy's product

    blocks: tuple[Rows, ...]

    @property
    def shape(self) -> tuple[int, int]:
        return self.blocks[0].shape[0], sum(b.shape[1] for b in self.blocks)

    @property
    def nnz(self) -> int:
        return sum(len(b.data) for b in self.blocks)

    def tocsr(self):
        import scipy.sparse as sp

        return sp.hstack([b.tocsr() for b in self.blocks]).tocsr()

    def dot(self, w: Any) -> Any:
        """The rows times a dense matrix.  scipy's compiled CSR kernel, loaded on its own
        in a millisecond (:func:`_csr_matvecs`), gives the bits ``csr_matrix @ w`` gives.
        Where it cannot be loaded: scipy's sparse product where scipy.sparse is imported
        or the rows are many; otherwise numpy's gather-and-sum, about six times slower
        per entry but, on one letter, quicker than importing scipy.sparse (0.2-0.3 s).
        All agree to ~1e-13 (tested)."""
        kernel = _csr_matvecs()
        if kernel is not None:
            return self._dot(w, lambda b, part: b.dot_kernel(part, kernel))
        if "scipy.sparse" in sys.modules or self.nnz >= self.SCIPY_FROM:
            return self._dot(w, lambda b, part: b.tocsr() @ part)
        return self.dot_numpy(w)

    def dot_numpy(self, w: Any) -> Any:
        """:meth:`dot` in numpy alone."""
        return self._dot(w, lambda b, part: b.dot_numpy(part))

    def _dot(self, w: Any, product: Any) -> Any:
        """The sum of each block times its rows of ``w``."""
        import numpy as np

        w = np.ascontiguousarray(w, dtype=np.float64)
        out, start = None, 0
        for b in self.blocks:
            z = product(b, w[start : start + b.shape[1]])
            out = z if out is None else out + z
            start += b.shape[1]
        return out


@cache
def _csr_matvecs() -> Any:
    """``scipy.sparse._sparsetools.csr_matvecs``, the kernel ``csr_matrix @ ndarray``
    calls, loaded once per process from its extension module's file without running
    ``scipy/sparse/__init__.py`` (0.2 s, most of it scipy's array-API layer importing
    parts of numpy we never use), or None where that fails.  It is private to scipy,
    so it is checked once on a small product before it is trusted."""
    return _load_csr_matvecs()


def _load_csr_matvecs() -> Any:
    import importlib.machinery
    import importlib.util

    import numpy as np

    name = "scipy.sparse._sparsetools"
    try:
        module = sys.modules.get(name)
        if module is None:
            spec = importlib.util.find_spec("scipy")  # finds the package without importing it
            if spec is None or not spec.submodule_search_locations:
                return None
            folder = os.path.join(next(iter(spec.submodule_search_locations)), "sparse")
            path = next((f for f in (os.path.join(folder, "_sparsetools" + s) for s in importlib.machinery.EXTENSION_SUFFIXES)
                         if os.path.isfile(f)), None)
            if path is None:
                return None
            loader = importlib.machinery.ExtensionFileLoader(name, path)
            module = importlib.util.module_from_spec(importlib.util.spec_from_file_location(name, path, loader=loader))
            loader.exec_module(module)
        kernel = module.csr_matvecs
        # [[1, 0, 2], [0, 0, 0], [0, 3, 0]] times [[1, 10], [2, 20], [3, 30]]
        out = np.zeros((3, 2))
        kernel(3, 3, 2, np.array([0, 2, 2, 3]), np.array([0, 2, 1]), np.array([1.0, 2.0, 3.0]),
               np.array([1.0, 10.0, 2.0, 20.0, 3.0, 30.0]), out.ravel())
        return kernel if out.tolist() == [[7.0, 70.0], [0.0, 0.0], [6.0, 60.0]] else None
    except Exception:  # noqa: BLE001 - another scipy, or none: the public paths remain
        return None


@dataclass(frozen=True)
class _Head:
    coef: Any
    intercept: Any
    classes: tuple[str, ...] = ()


def load_models(directory: str | None = None) -> Models:
    """The models in ``directory`` (default :func:`model_dir`), loaded once per process and folder."""
    return _load_models(_resolved(str(directory or model_dir())))


def _installed(dist: str) -> str | None:
    """The installed version of a distribution.  The first ``sys.path`` folder that
    holds its ``*.dist-info`` folder names it, as ``importlib.metadata`` would find
    it; that module (~35 ms to import) is asked only when the folder is not plain
    to see, so that scikit-learn itself, seconds to import, never is."""
    import glob

    prefix = re.sub(r"[-_.]+", "_", dist)
    for entry in sys.path:
        found = glob.glob(os.path.join(glob.escape(entry or "."), f"{prefix}-*.dist-info"))
        if len(found) == 1:
            return os.path.basename(found[0])[len(prefix) + 1 : -len(".dist-info")]
        if found:
            break
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return None


@cache
def _load_models(directory: str) -> Models:
    import numpy as np

    from .vocab import CODEBOOK_VERSION, THEMES

    d = Path(directory)
    card_path = d / "model_card.json"
    if not card_path.exists():
        raise ModelError(str(d), "no trained model here; run `letterparse train`")
    card = json.loads(card_path.read_text("utf-8"))
    if card.get("codebook_version") != CODEBOOK_VERSION or tuple(card.get("themes", ())) != THEMES:
        raise ModelError(str(d), f"model built for codebook {card.get('codebook_version')}, code expects {CODEBOOK_VERSION}; retrain")
    if card.get("format") != MODEL_FORMAT:
        raise ModelError(str(d), f"model format {card.get('format')!r}, this code reads {MODEL_FORMAT!r}; retrain")
    built, installed = (card.get("versions") or {}).get("scikit-learn"), _installed("scikit-learn")
    if built != installed:
        raise ModelError(
            str(d), f"model built with scikit-learn {built}, installed {installed}: install scikit-learn=={built} "
            "or retrain with `letterparse train`",
        )
    try:
        spec = json.loads((d / "vocabulary.json").read_text("utf-8"))
        with np.load(d / "weights.npz", allow_pickle=False) as w:
            arrays = {k: w[k] for k in w.files}
        if any(v["norm"] not in (None, "l2") for v in spec["features"]):
            raise ModelError(str(d), "feature norm other than l2 is not supported")
        features = _Features(spec["features"], [arrays[f"features.{v['name']}.idf"] for v in spec["features"]])
        # stored as float32 rows; kept as float64 columns so scoring is one sparse product
        themes = _Head(np.ascontiguousarray(arrays["themes.coef"].T, dtype=np.float64), arrays["themes.intercept"])
        polarity = _Head(
            np.ascontiguousarray(arrays["polarity.coef"].T, dtype=np.float64), arrays["polarity.intercept"],
            tuple(spec["polarity_classes"]),
        )
        sentence_polarity = _Head(
            np.ascontiguousarray(arrays["sentence_polarity.coef"].T, dtype=np.float64), arrays["sentence_polarity.intercept"],
            tuple(spec["sentence_polarity_classes"]),
        )
        calibration = tuple(
            (arrays[f"calibration.{t}.x"].astype(np.float64), arrays[f"calibration.{t}.y"].astype(np.float64)) for t in THEMES
        )
    except ModelError:
        raise
    except Exception as exc:  # a damaged or foreign file, or a pickled object array
        raise ModelError(str(d), f"cannot load model: {type(exc).__name__}: {exc}") from exc
    thresholds = tuple(float(card["thresholds"][t]) for t in THEMES)
    return Models(features, themes, polarity, THEMES, thresholds, str(d), sentence_polarity, calibration)


def warm_up(directory: str | None = None) -> None:
    """Load the model and compile the tokenizer's patterns now (a worker's process
    server does this before it forks the first worker)."""
    from .nlp import load_rules

    m = load_models(directory)
    rules = load_rules(m.directory)
    if rules is not None:
        rules.compile()
    classify(["Leaders know their services well."], directory=directory)


def prefill(directory: str | None = None) -> None:
    """Run the model's own single-word terms through the lemma and feature caches, so
    that processes forked afterwards find most words there."""
    m = load_models(directory)
    words = [t for spec in m.features.specs if spec["analyzer"] == "word" for t in spec["terms"] if " " not in t]
    m.features.transform_raw([" ".join(words)], m.directory)


def export_linear(features, themes, polarity, out: Path, *, sentence_polarity, calibration) -> None:
    """Write a fitted FeatureUnion of TfidfVectorizers, the three linear heads (themes,
    paragraph polarity, sentence polarity) and the themes' calibration knots as a JSON
    vocabulary plus an .npz of arrays (no pickle anywhere)."""
    from .vocab import THEMES

    import numpy as np

    specs = []
    arrays: dict[str, Any] = {}
    for vname, vec in features.transformer_list:
        terms = [t for t, _ in sorted(vec.vocabulary_.items(), key=lambda kv: kv[1])]
        specs.append({"name": vname, "analyzer": vec.analyzer, "ngram_range": list(vec.ngram_range),
                      "sublinear_tf": vec.sublinear_tf, "lowercase": vec.lowercase, "norm": vec.norm, "terms": terms})
        arrays[f"features.{vname}.idf"] = vec.idf_
    arrays["themes.coef"] = np.vstack([e.coef_.ravel() for e in themes.estimators_]).astype(np.float32)
    arrays["themes.intercept"] = np.array([float(e.intercept_[0]) for e in themes.estimators_], dtype=np.float32)
    arrays["polarity.coef"] = polarity.coef_.astype(np.float32)
    arrays["polarity.intercept"] = polarity.intercept_.astype(np.float32)
    arrays["sentence_polarity.coef"] = sentence_polarity.coef_.astype(np.float32)
    arrays["sentence_polarity.intercept"] = sentence_polarity.intercept_.astype(np.float32)
    for t, (x, v) in zip(THEMES, calibration):
        arrays[f"calibration.{t}.x"], arrays[f"calibration.{t}.y"] = x, v
    spec = {"features": specs, "polarity_classes": [str(c) for c in polarity.classes_],
            "sentence_polarity_classes": [str(c) for c in sentence_polarity.classes_]}
    (out / "vocabulary.json").write_text(json.dumps(spec, ensure_ascii=False), "utf-8")
    np.savez_compressed(out / "weights.npz", **arrays)


@dataclass(frozen=True)
class Prediction:
    themes: tuple[ThemeScore, ...]  # assigned, highest first
    scores: dict[str, float]  # every theme, calibrated
    polarity: str | None  # the paragraph's (a list section's kind decides)
    sentences: tuple[Sentence, ...] = ()  # prose texts, when asked for


def _scores(m: Models, texts: list[str]):
    """Calibrated theme scores, paragraph polarity and sentence polarity for each text,
    all three heads in one sparse product."""
    import numpy as np

    X = m.features.transform_raw(texts, m.directory)
    z = X.dot(m.stacked_coef) + m.stacked_intercept
    k, p = len(m.names), len(m.polarity.classes)
    proba = m.calibrated(1.0 / (1.0 + np.exp(-z[:, :k])))
    pol = [m.polarity.classes[j] for j in z[:, k : k + p].argmax(axis=1).tolist()]
    spol = [m.sentence_polarity.classes[j] for j in z[:, k + p :].argmax(axis=1).tolist()]
    # A rule before the model's word weights: contact lines and notices are no theme.
    for i, t in enumerate(texts):
        if not_prose(t):
            proba[i] = 0.0
            pol[i] = spol[i] = "neutral"
    return proba, pol, spol


def _assigned(m: Models, proba: Any) -> list[tuple[ThemeScore, ...]]:
    """Each row's themes at or over their thresholds, highest score first.  Most
    sentences have none: the rows with any are found in numpy, not in a loop."""
    import numpy as np

    out: list[tuple[ThemeScore, ...]] = [()] * len(proba)
    rows, cols = np.nonzero(proba >= np.asarray(m.thresholds))
    if not len(rows):
        return out
    names = m.names
    scores = proba[rows, cols].tolist()
    starts = np.flatnonzero(np.diff(rows, prepend=-1)).tolist() + [len(rows)]
    rows, cols = rows.tolist(), cols.tolist()
    for a, b in zip(starts, starts[1:]):
        got = [ThemeScore(names[j], p) for j, p in zip(cols[a:b], scores[a:b])]
        got.sort(key=lambda ts: (-ts.score, ts.theme))
        out[rows[a]] = tuple(got)
    return out


def _texts(texts: Any, what: str = "texts") -> tuple[list[str], bool]:
    """(the texts as a list, whether one string was given)."""
    if isinstance(texts, str):
        return [texts], True
    if isinstance(texts, (bytes, bytearray)) or not hasattr(texts, "__iter__"):
        raise TypeError(f"classify takes a string or a list of strings, not {type(texts).__name__}")
    out = list(texts)
    for i, t in enumerate(out):
        if not isinstance(t, str):
            raise TypeError(f"classify takes a string or a list of strings; item {i} of the {what} is {type(t).__name__}")
    return out, False


def classify(texts: str | list[str], *, kinds: list[str] | None = None, directory: str | None = None,
             sentences: bool = False) -> Prediction | list[Prediction]:
    """Themes and polarity for one finding's text (a ``str``: one :class:`Prediction`)
    or for several (a list of strings: a list of predictions, in order).

    ``kinds`` are the texts' section kinds: list sections keep their kind's polarity,
    the others get the polarity model's.  With ``sentences=True`` each prose text
    (no list kind) is split into sentences, each with its own themes and polarity.

    >>> classify("Chronologies are missing from many case records.").themes  # doctest: +SKIP
    """
    batch, single = _texts(texts)
    if kinds is not None and len(kinds) != len(batch):
        raise ValueError(f"{len(kinds)} kinds for {len(batch)} texts")
    if not batch:
        return []
    m = load_models(directory)
    prose = [i for i in range(len(batch)) if not (kinds and kinds[i] in LIST_POLARITY)] if sentences else []
    if prose:
        from .nlp import sentence_spans
    spans = [sentence_spans(batch[i]) for i in prose]
    # The sentences of texts with more than one are scored with the texts, in one product.
    flat = [batch[i][a:b] for i, sp in zip(prose, spans) if len(sp) > 1 for a, b in sp]
    proba, pol, spol = _scores(m, batch + flat)
    assigned = _assigned(m, proba)
    n = len(batch)
    out = []
    for i, row in enumerate(proba[:n].tolist()):
        kind = kinds[i] if kinds else None
        polarity = LIST_POLARITY[kind] if kind in LIST_POLARITY else pol[i]
        out.append(Prediction(assigned[i], dict(zip(m.names, row)), polarity))
    k = n
    for i, sp in zip(prose, spans):
        p = out[i]
        if len(sp) <= 1:  # one sentence: the paragraph's own themes and polarity
            sents = tuple(Sentence(a, b, p.polarity or "neutral", p.themes) for a, b in sp)
        else:
            sents = tuple(Sentence(a, b, spol[k + j], assigned[k + j]) for j, (a, b) in enumerate(sp))
            k += len(sp)
        out[i] = replace(p, sentences=sents)
    return out[0] if single else out


def classify_sentences(texts: str | list[str], *, directory: str | None = None) -> Prediction | list[Prediction]:
    """Themes and polarity of sentences (the sentence polarity model: one statement
    each, with no section to take a polarity from)."""
    batch, single = _texts(texts)
    if not batch:
        return []
    m = load_models(directory)
    proba, _, spol = _scores(m, batch)
    out = [Prediction(a, dict(zip(m.names, row)), spol[i]) for i, (row, a) in enumerate(zip(proba.tolist(), _assigned(m, proba)))]
    return out[0] if single else out


def annotate(letter: Letter, directory: str | None = None) -> Letter:
    """The letter with every finding's themes and polarity filled in, and the sentences
    of its prose findings."""
    pairs = [(s.kind, f) for s in letter.sections for f in s.findings]
    if not pairs:
        return letter
    preds = classify([f.text for _, f in pairs], kinds=[k for k, _ in pairs], directory=directory, sentences=True)
    new: dict[str, Finding] = {}
    for (kind, f), p in zip(pairs, preds):
        # Finding(...) directly: dataclasses.replace costs three times as much, on every finding
        new[f.id] = Finding(f.id, f.text, f.spans, p.polarity or f.polarity, p.themes, f.marker, p.sentences)
    return letter.with_findings(new)


_WORD = re.compile(r"\S+")
_EDGE = re.compile(r"^[^\w£%]+|[^\w%]+$")
_STOP = frozenset("a an and are as at be by for from has have in is it its of on or that the their they this to was were when which with".split())


def explain(text: str, directory: str | None = None, top: int = 5) -> dict[str, Any]:
    """Every theme's score and, for each theme assigned, the words and phrases of the
    text that drove it, strongest first.

    A word's weight for a theme is how much the theme's raw score (log-odds) falls
    when that word is left out of the text; neighbouring words that both count are
    shown together as one phrase, as they are printed."""
    import numpy as np

    m = load_models(directory)
    words = list(_WORD.finditer(text))
    variants = [text] + [text[: w.start()] + text[w.end() :] for w in words]
    X = m.features.transform_raw(variants, m.directory)
    z = X.dot(m.themes.coef) + m.themes.intercept
    proba = m.calibrated(1.0 / (1.0 + np.exp(-z[:1])))[0]
    out: dict[str, Any] = {"scores": {t: round(float(proba[j]), 4) for j, t in enumerate(m.names)}, "terms": {}}
    for j, t in enumerate(m.names):
        if proba[j] < m.thresholds[j] or not words:
            continue
        drop = z[0, j] - z[1:, j]
        best = [i for i in np.argsort(-drop)[: top * 2].tolist() if drop[i] > 0]
        floor = 0.2 * drop[best[0]] if best else 0.0  # leave out words that barely count
        chosen = sorted(i for i in best if drop[i] >= floor)
        phrases: list[tuple[float, str]] = []
        run: list[int] = []
        for i in chosen + [None]:
            # a phrase is neighbouring words, and never runs on past a sentence's end
            if run and (i is None or i != run[-1] + 1 or words[run[-1]].group().endswith((".", "?", "!", ";", ":"))):
                a, b = words[run[0]].start(), words[run[-1]].end()
                shown = _EDGE.sub("", text[a:b])
                if shown and shown.lower() not in _STOP:
                    phrases.append((float(sum(drop[k] for k in run)), shown))
                run = []
            if i is not None:
                run.append(i)
        phrases.sort(key=lambda x: -x[0])
        out["terms"][t] = [p for _, p in phrases[:top]]
    return out


def explain_letter(letter: Letter) -> dict[str, Any]:
    d = letter.to_dict()
    for s in d["sections"]:
        for f in s["findings"]:
            f["explain"] = explain(f["text"])
    return d
