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
    """TF-IDF features rebuilt from plain arrays: word n-grams through scikit-learn,
    character n-grams (``char_wb``) composed from words.

    ``char_wb`` n-grams never cross a word boundary, so a text's n-gram counts are
    the sum over its words of each word's counts: a (texts x words) count matrix
    times a (words x n-grams) matrix built once per distinct word.  The result equals
    ``TfidfVectorizer(analyzer="char_wb").transform`` (tested) at a fraction of the cost.
    """

    def __init__(self, specs: list[dict[str, Any]], idfs: list[Any]):
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.parts = []
        for spec, idf in zip(specs, idfs):
            vec = TfidfVectorizer(
                analyzer=spec["analyzer"], ngram_range=tuple(spec["ngram_range"]), sublinear_tf=spec["sublinear_tf"],
                lowercase=spec["lowercase"], norm=spec["norm"],
                vocabulary={t: i for i, t in enumerate(spec["terms"])},
            )
            vec.idf_ = idf
            self.parts.append(vec)
        self.names = [f"{spec['name']}:{t}" for spec in specs for t in spec["terms"]]

    def transform(self, texts: list[str]):
        import scipy.sparse as sp

        return sp.hstack([self._char(v, texts) if v.analyzer == "char_wb" else v.transform(texts) for v in self.parts]).tocsr()

    @staticmethod
    def _char(vec, texts: list[str]):
        import numpy as np
        import scipy.sparse as sp
        from sklearn.feature_extraction.text import CountVectorizer
        from sklearn.preprocessing import normalize

        counts = CountVectorizer(analyzer=str.split)
        try:
            C = counts.fit_transform(texts)
        except ValueError:  # no words at all
            return sp.csr_matrix((len(texts), len(vec.vocabulary_)))
        analyse = vec.build_analyzer()
        vocab = vec.vocabulary_
        rows, cols = [], []
        for i, word in enumerate(counts.get_feature_names_out()):
            for gram in analyse(word):
                j = vocab.get(gram)
                if j is not None:
                    rows.append(i)
                    cols.append(j)
        M = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(C.shape[1], len(vocab)))
        X = (C @ M).tocsr()
        if vec.sublinear_tf:
            np.log(X.data, X.data)
            X.data += 1
        X = X @ sp.diags(vec.idf_)
        return normalize(X, norm=vec.norm) if vec.norm else X


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
        features = _Features(spec["features"], [arrays[f"features.{v['name']}.idf"] for v in spec["features"]])
        themes = _Head(arrays["themes.coef"], arrays["themes.intercept"])
        polarity = _Head(arrays["polarity.coef"], arrays["polarity.intercept"], tuple(spec["polarity_classes"]))
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
    proba = 1.0 / (1.0 + np.exp(-(X @ m.themes.coef.T + m.themes.intercept)))
    pol = np.array(m.polarity.classes)[np.asarray(X @ m.polarity.coef.T + m.polarity.intercept).argmax(axis=1)]
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
    proba = 1.0 / (1.0 + np.exp(-np.asarray(x @ m.themes.coef.T + m.themes.intercept)[0]))
    out: dict[str, Any] = {"scores": {t: round(float(proba[j]), 4) for j, t in enumerate(m.names)}, "terms": {}}
    row = x.tocsr()
    idx = row.indices
    for j, t in enumerate(m.names):
        if proba[j] < m.thresholds[j]:
            continue
        coef = m.themes.coef[j]
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
