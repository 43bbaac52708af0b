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
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

from .errors import ModelError
from .model import Finding, Letter, ThemeScore

LIST_POLARITY = {"strengths": "strength", "satisfactory": "satisfactory", "improvements": "weakness", "priority_actions": "priority"}


def model_dir() -> str:
    """``$LETTERPARSE_MODELS``, else ``models/`` of the source checkout."""
    env = os.environ.get("LETTERPARSE_MODELS")
    if env:
        return env
    return str(Path(__file__).resolve().parents[2] / "models")


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


MODEL_FORMAT = "letterparse-linear-2"


class _Features:
    """TF-IDF features rebuilt from plain arrays, computed without scikit-learn's
    per-call overhead (one letter's findings at a time is the common case).

    Word n-grams follow ``TfidfVectorizer``'s default analyzer (token pattern
    ``\\b\\w\\w+\\b``, then n-grams joined by spaces).  ``char_wb`` n-grams never
    cross a word boundary, so each distinct word's n-gram ids are computed once
    per process and reused.  Sublinear tf, idf and l2 normalisation are applied as
    scikit-learn does; a test checks the output equals ``TfidfVectorizer.transform``.
    """

    _TOKEN = re.compile(r"(?u)\b\w\w+\b")

    def __init__(self, specs: list[dict[str, Any]], idfs: list[Any]):
        self.specs = specs
        self.idfs = idfs
        self.vocab = [{t: i for i, t in enumerate(spec["terms"])} for spec in specs]
        self.names = [f"{spec['name']}:{t}" for spec in specs for t in spec["terms"]]
        self._memo: list[dict[str, list[int]]] = [{} for _ in specs]

    def _ids(self, k: int, text: str) -> list[int]:
        spec, vocab = self.specs[k], self.vocab[k]
        lo, hi = spec["ngram_range"]
        if spec["lowercase"]:
            text = text.lower()
        out: list[int] = []
        if spec["analyzer"] == "word":
            toks = self._TOKEN.findall(text)
            for n in range(lo, hi + 1):
                grams = toks if n == 1 else [" ".join(toks[i : i + n]) for i in range(len(toks) - n + 1)]
                out.extend(j for j in map(vocab.get, grams) if j is not None)
            return out
        memo = self._memo[k]
        for word in text.split():
            ids = memo.get(word)
            if ids is None:
                w = f" {word} "
                grams = []
                for n in range(lo, hi + 1):
                    for i in range(len(w) - n + 1):
                        grams.append(w[i : i + n])
                        if i + n == len(w):
                            break
                ids = memo[word] = [j for j in map(vocab.get, grams) if j is not None]
            out.extend(ids)
        return out

    def transform(self, texts: list[str]):
        import numpy as np
        import scipy.sparse as sp

        parts = []
        for k, spec in enumerate(self.specs):
            indptr, indices = [0], []
            for text in texts:
                ids = self._ids(k, text)
                indices.extend(ids)
                indptr.append(len(indices))
            X = sp.csr_matrix(
                (np.ones(len(indices)), np.asarray(indices, dtype=np.int64), np.asarray(indptr, dtype=np.int64)),
                shape=(len(texts), len(self.vocab[k])),
            )
            X.sum_duplicates()
            if spec["sublinear_tf"]:
                np.log(X.data, X.data)
                X.data += 1
            X = (X @ sp.diags(self.idfs[k])).tocsr()
            if spec["norm"] == "l2":  # as sklearn.preprocessing.normalize, without importing scikit-learn
                norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())
                norms[norms == 0] = 1.0
                X = (sp.diags(1.0 / norms) @ X).tocsr()
            parts.append(X)
        return sp.hstack(parts).tocsr()


@dataclass(frozen=True)
class _Head:
    coef: Any
    intercept: Any
    classes: tuple[str, ...] = ()


@cache
def load_models(directory: str | None = None) -> Models:
    import numpy as np

    from .train import CODEBOOK_VERSION, THEMES

    d = Path(directory or model_dir())
    card_path = d / "model_card.json"
    if not card_path.exists():
        raise ModelError(str(d), "no trained model here; run `letterparse train`")
    card = json.loads(card_path.read_text("utf-8"))
    if card.get("codebook_version") != CODEBOOK_VERSION or tuple(card.get("themes", ())) != THEMES:
        raise ModelError(str(d), f"model built for codebook {card.get('codebook_version')}, code expects {CODEBOOK_VERSION}; retrain")
    if card.get("format") != MODEL_FORMAT:
        raise ModelError(str(d), f"model format {card.get('format')!r}, this code reads {MODEL_FORMAT!r}; retrain")
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
    except ModelError:
        raise
    except Exception as exc:  # a damaged or foreign file, or a pickled object array
        raise ModelError(str(d), f"cannot load model: {type(exc).__name__}: {exc}") from exc
    thresholds = tuple(float(card["thresholds"][t]) for t in THEMES)
    return Models(features, themes, polarity, THEMES, thresholds, str(d))


def export_linear(features, themes, polarity, out: Path) -> None:
    """Write a fitted FeatureUnion of TfidfVectorizers and the two linear heads as
    a JSON vocabulary plus an .npz of arrays (no pickle anywhere)."""
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
    spec = {"features": specs, "polarity_classes": [str(c) for c in polarity.classes_]}
    (out / "vocabulary.json").write_text(json.dumps(spec, ensure_ascii=False), "utf-8")
    np.savez_compressed(out / "weights.npz", **arrays)


@dataclass(frozen=True)
class Prediction:
    themes: tuple[ThemeScore, ...]  # assigned, highest first
    scores: dict[str, float]  # every theme
    polarity: str | None  # for prose paragraphs; None when not asked


def classify(texts: list[str], *, kinds: list[str] | None = None, directory: str | None = None) -> list[Prediction]:
    """Themes (and polarity) for finding texts.  ``kinds`` are their section kinds:
    list sections keep their kind's polarity, the others get the polarity model's."""
    import numpy as np

    from .nlp import lemmatise

    if not texts:
        return []
    m = load_models(directory)
    X = m.features.transform(lemmatise(list(texts), m.directory))
    proba = 1.0 / (1.0 + np.exp(-(X @ m.themes.coef + m.themes.intercept)))
    pol = np.array(m.polarity.classes)[np.asarray(X @ m.polarity.coef + m.polarity.intercept).argmax(axis=1)]
    out = []
    for i in range(len(texts)):
        scores = {t: float(proba[i, j]) for j, t in enumerate(m.names)}
        assigned = sorted(
            (ThemeScore(t, scores[t]) for j, t in enumerate(m.names) if proba[i, j] >= m.thresholds[j]),
            key=lambda ts: (-ts.score, ts.theme),
        )
        kind = kinds[i] if kinds else None
        polarity = LIST_POLARITY.get(kind) if kind in LIST_POLARITY else str(pol[i])
        out.append(Prediction(tuple(assigned), scores, polarity))
    return out


def annotate(letter: Letter, directory: str | None = None) -> Letter:
    """The letter with every finding's themes and polarity filled in."""
    pairs = [(s.kind, f) for s in letter.sections for f in s.findings]
    if not pairs:
        return letter
    preds = classify([f.text for _, f in pairs], kinds=[k for k, _ in pairs], directory=directory)
    new: dict[str, Finding] = {}
    for (kind, f), p in zip(pairs, preds):
        new[f.id] = replace(f, themes=p.themes, polarity=p.polarity or f.polarity)
    return letter.with_findings(new)


def explain(text: str, directory: str | None = None, top: int = 6) -> dict[str, Any]:
    """The terms that pushed each theme's score up most, and every theme's score."""
    import numpy as np

    from .nlp import lemmatise

    m = load_models(directory)
    x = m.features.transform(lemmatise([text], m.directory))
    names = m.features.names
    proba = 1.0 / (1.0 + np.exp(-np.asarray(x @ m.themes.coef + m.themes.intercept)[0]))
    out: dict[str, Any] = {"scores": {t: round(float(proba[j]), 4) for j, t in enumerate(m.names)}, "terms": {}}
    row = x.tocsr()
    idx = row.indices
    for j, t in enumerate(m.names):
        if proba[j] < m.thresholds[j]:
            continue
        coef = m.themes.coef[:, j]
        contrib = row.data * coef[idx]
        order = np.argsort(-contrib)[:top]
        out["terms"][t] = [str(names[idx[k]]) for k in order if contrib[k] > 0]
    return out


def explain_letter(letter: Letter) -> dict[str, Any]:
    d = letter.to_dict()
    for s in d["sections"]:
        for f in s["findings"]:
            f["explain"] = explain(f["text"])
    return d
