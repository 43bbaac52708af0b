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
    themes: Any
    polarity: Any
    names: tuple[str, ...]
    thresholds: tuple[float, ...]
    directory: str


def _vectorizer(spec: dict[str, Any], terms: list[str], idf):
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer(
        analyzer=spec["analyzer"], ngram_range=tuple(spec["ngram_range"]), sublinear_tf=spec["sublinear_tf"],
        lowercase=spec["lowercase"], norm=spec["norm"], vocabulary={t: i for i, t in enumerate(terms)},
    )
    vec.idf_ = idf
    return vec


class _Linear:
    """TF-IDF features + linear scores, rebuilt from plain arrays (no pickle, no code)."""

    def __init__(self, vectorizers, coef, intercept, classes=None):
        self.vectorizers, self.coef, self.intercept, self.classes = vectorizers, coef, intercept, classes

    def features(self, texts):
        import scipy.sparse as sp

        return sp.hstack([v.transform(texts) for v in self.vectorizers]).tocsr()

    def decision(self, texts):
        return self.features(texts) @ self.coef.T + self.intercept


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
    except Exception as exc:  # a damaged or foreign file
        raise ModelError(str(d), f"cannot load model: {type(exc).__name__}: {exc}") from exc
    models = {}
    for name in ("themes", "polarity"):
        vecs = [
            _vectorizer(v, v["terms"], arrays[f"{name}.{v['name']}.idf"]) for v in spec[name]["vectorizers"]
        ]
        models[name] = _Linear(vecs, arrays[f"{name}.coef"], arrays[f"{name}.intercept"], spec[name].get("classes"))
    thresholds = tuple(float(card["thresholds"][t]) for t in THEMES)
    return Models(models["themes"], models["polarity"], THEMES, thresholds, str(d))


MODEL_FORMAT = "letterparse-linear-1"


def export_linear(themes_pipeline, polarity_pipeline, out: Path) -> None:
    """Write fitted scikit-learn pipelines as JSON vocabularies + an .npz of weights."""
    import numpy as np

    spec: dict[str, Any] = {}
    arrays: dict[str, Any] = {}
    for name, pipe in (("themes", themes_pipeline), ("polarity", polarity_pipeline)):
        vecs = []
        for vname, vec in pipe.named_steps["features"].transformer_list:
            terms = [t for t, _ in sorted(vec.vocabulary_.items(), key=lambda kv: kv[1])]
            vecs.append({"name": vname, "analyzer": vec.analyzer, "ngram_range": list(vec.ngram_range),
                         "sublinear_tf": vec.sublinear_tf, "lowercase": vec.lowercase, "norm": vec.norm, "terms": terms})
            arrays[f"{name}.{vname}.idf"] = vec.idf_
        clf = pipe.named_steps["clf"]
        if hasattr(clf, "estimators_"):  # one-vs-rest
            coef = np.vstack([e.coef_.ravel() for e in clf.estimators_])
            intercept = np.array([float(e.intercept_[0]) for e in clf.estimators_])
            spec[name] = {"vectorizers": vecs}
        else:
            coef, intercept = clf.coef_, clf.intercept_
            spec[name] = {"vectorizers": vecs, "classes": [str(c) for c in clf.classes_]}
        arrays[f"{name}.coef"] = coef.astype(np.float32)
        arrays[f"{name}.intercept"] = intercept.astype(np.float32)
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
    lem = lemmatise(list(texts), m.directory)
    proba = 1.0 / (1.0 + np.exp(-m.themes.decision(lem)))
    pol = np.array(m.polarity.classes)[np.asarray(m.polarity.decision(lem)).argmax(axis=1)]
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
    lem = lemmatise([text], m.directory)
    x = m.themes.features(lem)
    names = np.concatenate([[f"{v.analyzer}:{t}" for t in v.get_feature_names_out()] for v in m.themes.vectorizers])
    proba = 1.0 / (1.0 + np.exp(-np.asarray(m.themes.decision(lem))[0]))
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
