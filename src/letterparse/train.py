"""Build and evaluate the theme and polarity models from the labels in ``corpora/labels``.

Labels refer to findings by document sha256, finding id and ``finding_key``;
the texts are re-extracted from the PDFs found by sha256 under a corpus folder.
Models: word (1-2) and character (3-5) n-gram TF-IDF over spaCy lemmas,
one-vs-rest logistic regression for themes with per-theme thresholds chosen on
out-of-fold scores, and a multinomial logistic regression for the polarity of
prose paragraphs.  Folds are grouped by authority.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .vocab import CODEBOOK_VERSION, LIST_KINDS, POLARITIES, POLARITY_OF_KIND, THEMES  # noqa: F401 - re-exported

# A keyword baseline from the codebook's "typical cues" column.
CUES = {
    "leadership_governance": r"senior leader|elected member|councillor|\bdcs\b|director of children|improvement plan|invest|self[- ]evaluation|self[- ]assessment|corporate|scrutiny|strateg",
    "management_oversight": r"supervision|management oversight|managers? oversight|oversight|decision[- ]making|case direction|sign[- ]off|managers",
    "quality_assurance": r"audit|performance data|quality assurance|performance information|management information|learning lessons|serious case review|practice review",
    "assessment": r"assessment|analysis|\brisk\b|protective factor|history",
    "planning_review": r"\bplans?\b|planning|outcomes|contingency|review|conference|\biros?\b|independent reviewing|pathway plan",
    "child_voice": r"\bseen\b|views|voice|wishes and feelings|direct work|participation|life[- ]story|lived experience",
    "identity_equality": r"identity|ethnicity|cultur|diversity|disabled|disabilit|religio|equalit",
    "multi_agency": r"partner|police|health|information sharing|strategy (meeting|discussion)|\bmash\b|safeguarding partnership|\blscb\b|multi[- ]agency",
    "front_door": r"contact|referral|threshold|early help|\bcaf\b|front door|step[- ](up|down)",
    "workforce": r"caseload|recruit|retention|staffing|agency staff|morale|training|newly qualified|workforce|turnover",
    "recording": r"record|chronolog|case file|case summar|system",
    "timeliness": r"delay|timely|timeliness|drift|prompt|waiting|quickly|swift",
    "vulnerable_groups": r"exploitation|missing|domestic abuse|neglect|\blado\b|private fostering|homeless|allegation|trafficking|gang",
    "care_permanence": r"placement|permanence|adoption|foster|care leaver|accommodation|sufficiency|stability",
    "health_education": r"health assessment|camhs|mental health|virtual school|personal education plan|\bpeps?\b|education|employment|training",
}


@dataclass(frozen=True)
class Example:
    sha256: str
    finding_id: str
    text: str
    kind: str
    family: str
    authority: str
    themes: tuple[str, ...]
    polarity: str


def read_labels(folder: Path, pattern: str = "part*.csv") -> list[dict[str, str]]:
    rows = []
    for p in sorted(folder.glob(pattern)):
        with p.open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                row["file"] = p.name
                rows.append(row)
    return rows


def _parsed_findings(shas, corpus: Path, backend: str = "pdfium"):
    """sha256 -> (letter, {(finding id, key): (finding, section kind)}) for each document
    found under ``corpus`` (parsed once, without themes)."""
    from .evaluate import index_corpus
    from .keys import finding_key
    from .pipeline import parse

    index = index_corpus(corpus)
    out = {}
    for sha in sorted(set(shas)):
        path = index.get(sha)
        if path is None:
            continue
        letter = parse(path, backend=backend, themes=False)
        out[sha] = (letter, {(f.id, finding_key(f.text)): (f, s.kind) for s in letter.sections for f in s.findings})
    return out


def _find(found, row):
    """The finding a label row names: by id and key, else by key alone."""
    hit = found.get((row["finding_id"], row["key"]))
    if hit is None:
        hit = next((v for (fid, key), v in found.items() if key == row["key"]), None)
    return hit


def resolve_examples(rows: list[dict[str, str]], corpus: Path, backend: str = "pdfium", parsed=None) -> tuple[list[Example], list[str]]:
    """Re-extract the labelled findings' texts; a label whose finding cannot be found
    by id+key (or key alone) is reported, not guessed."""
    parsed = parsed if parsed is not None else _parsed_findings({r["sha256"] for r in rows}, corpus, backend)
    out: list[Example] = []
    missing: list[str] = []
    for r in rows:
        doc = parsed.get(r["sha256"])
        if doc is None:
            missing.append(f"{r['sha256']}:{r['finding_id']} (document not found)")
            continue
        letter, found = doc
        hit = _find(found, r)
        if hit is None:
            missing.append(f"{r['sha256']}:{r['finding_id']}")
            continue
        f, kind = hit
        themes = tuple(t for t in r["themes"].split(";") if t)
        out.append(Example(r["sha256"], f.id, f.text, kind, letter.family, letter.authority.name or "unknown", themes, r["polarity"]))
    return out, missing


@dataclass(frozen=True)
class SentenceExample:
    sha256: str
    finding_id: str
    text: str
    family: str
    authority: str
    themes: tuple[str, ...]
    polarity: str


def resolve_sentences(rows: list[dict[str, str]], corpus: Path, backend: str = "pdfium", parsed=None) -> tuple[list[SentenceExample], list[str]]:
    """Sentence labels (``sentences/*.csv``: offsets into the finding's text) with their texts."""
    parsed = parsed if parsed is not None else _parsed_findings({r["sha256"] for r in rows}, corpus, backend)
    out, missing = [], []
    for r in rows:
        doc = parsed.get(r["sha256"])
        hit = _find(doc[1], r) if doc else None
        a, b = int(r["start"]), int(r["end"])
        if hit is None or not (0 <= a < b <= len(hit[0].text)):
            missing.append(f"{r['sha256']}:{r['finding_id']}:{a}")
            continue
        letter = doc[0]
        out.append(SentenceExample(r["sha256"], hit[0].id, hit[0].text[a:b], letter.family, letter.authority.name or "unknown",
                                   tuple(t for t in r["themes"].split(";") if t), r["polarity"]))
    return out, missing


def labels_hash(rows: list[dict[str, str]]) -> str:
    h = hashlib.sha256()
    for r in sorted(rows, key=lambda r: (r["sha256"], r["finding_id"])):
        h.update(f"{r['sha256']},{r['finding_id']},{r['key']},{r['themes']},{r['polarity']}\n".encode())
    return h.hexdigest()


# --- models -------------------------------------------------------------------------


def _features():
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion

    return FeatureUnion([
        ("word", TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, max_features=10000)),
        ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), min_df=3, sublinear_tf=True, max_features=9000)),
    ])


def theme_classifier():
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier

    # one binary model per theme, two at a time (the themes are independent fits)
    return OneVsRestClassifier(LogisticRegression(C=8.0, class_weight="balanced", max_iter=2000, solver="liblinear"), n_jobs=2)


def polarity_classifier():
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=8.0, class_weight="balanced", max_iter=3000)


def _y(examples: list[Example]):
    import numpy as np

    y = np.zeros((len(examples), len(THEMES)), dtype=int)
    for i, e in enumerate(examples):
        for t in e.themes:
            if t in THEMES:
                y[i, THEMES.index(t)] = 1
    return y


def _best_thresholds(y, scores) -> list[float]:
    import numpy as np

    out = []
    for j in range(y.shape[1]):
        best, best_t = -1.0, 0.5
        for t in np.arange(0.15, 0.86, 0.025):
            pred = scores[:, j] >= t
            tp = int((pred & (y[:, j] == 1)).sum())
            fp = int((pred & (y[:, j] == 0)).sum())
            fn = int((~pred & (y[:, j] == 1)).sum())
            f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
            if f1 > best:
                best, best_t = f1, float(t)
        out.append(round(best_t, 3))
    return out


def _prf(y, pred) -> dict[str, Any]:
    import numpy as np

    per = {}
    for j, t in enumerate(THEMES):
        tp = int((pred[:, j] & (y[:, j] == 1)).sum())
        fp = int((pred[:, j] & (y[:, j] == 0)).sum())
        fn = int((~pred[:, j] & (y[:, j] == 1)).sum())
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        per[t] = {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0, "support": int(y[:, j].sum())}
    tp = int((pred & (y == 1)).sum())
    fp = int((pred & (y == 0)).sum())
    fn = int((~pred & (y == 1)).sum())
    micro = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    macro = float(np.mean([v["f1"] for v in per.values() if v["support"]]))
    return {"micro_f1": micro, "macro_f1": macro, "per_theme": per}


def _prose(e: Example) -> bool:
    return e.kind not in LIST_KINDS


def _calibrators(y, scores) -> list[tuple[Any, Any]]:
    """Per theme, an isotonic map from raw to calibrated score, fitted on out-of-fold
    scores, as its knots (applied with ``numpy.interp``, as scikit-learn does)."""
    import numpy as np
    from sklearn.isotonic import IsotonicRegression

    out = []
    for j in range(y.shape[1]):
        iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(scores[:, j], y[:, j])
        out.append((np.asarray(iso.X_thresholds_, dtype=np.float64), np.asarray(iso.y_thresholds_, dtype=np.float64)))
    return out


def calibrate(cal: list[tuple[Any, Any]], scores):
    import numpy as np

    return np.column_stack([np.interp(scores[:, j], x, v) for j, (x, v) in enumerate(cal)])


def _fit_themes(lem_tr, y_tr):
    feats = _features().fit(lem_tr)
    return feats, theme_classifier().fit(feats.transform(lem_tr), y_tr)


def _raw_oof(lem, y, groups, folds: int):
    """Out-of-fold raw theme scores (grouped folds)."""
    import numpy as np
    from sklearn.model_selection import GroupKFold

    scores = np.zeros(y.shape)
    for tr, te in GroupKFold(n_splits=folds).split(lem, y, groups):
        feats, clf = _fit_themes(lem[tr], y[tr])
        scores[te] = clf.predict_proba(feats.transform(lem[te]))
    return scores


def reliability(y, scores, bins: int = 10) -> dict[str, Any]:
    """Reliability table (all themes pooled) and Brier scores, per theme and mean."""
    import numpy as np

    edges = np.linspace(0, 1, bins + 1)
    flat_s, flat_y = scores.ravel(), y.ravel()
    which = np.clip(np.digitize(flat_s, edges[1:-1]), 0, bins - 1)
    table = []
    for b in range(bins):
        m = which == b
        if m.any():
            table.append({"bin": f"{edges[b]:.1f}-{edges[b + 1]:.1f}", "n": int(m.sum()),
                          "mean_score": float(flat_s[m].mean()), "observed": float(flat_y[m].mean())})
    brier = {t: float(np.mean((scores[:, j] - y[:, j]) ** 2)) for j, t in enumerate(THEMES)}
    return {"table": table, "brier": brier, "brier_mean": float(np.mean(list(brier.values())))}


def _family_f1(examples, y, pred) -> dict[str, dict[str, Any]]:
    import numpy as np

    out = {}
    fam = np.array([e.family for e in examples])
    for f in sorted(set(fam)):
        m = fam == f
        r = _prf(y[m], pred[m])
        out[str(f)] = {"findings": int(m.sum()), "micro_f1": r["micro_f1"], "macro_f1": r["macro_f1"]}
    return out


def cross_validate(examples: list[Example], lemmas: list[str], folds: int = 5, seed: int = 0,
                   sentences: list[SentenceExample] | None = None, sentence_lemmas: list[str] | None = None) -> dict[str, Any]:
    """Grouped (by authority) cross-validation of themes, the keyword baseline, paragraph
    polarity and (given sentence labels) sentence polarity.

    Each outer fold's calibration and thresholds come from an inner grouped CV on its
    training part only (nested: the reported figures never saw the test fold)."""
    import numpy as np
    from sklearn.model_selection import GroupKFold

    y = _y(examples)
    groups = np.array([e.authority for e in examples])
    X = np.array(lemmas, dtype=object)
    raw = np.zeros(y.shape)
    cal_scores = np.zeros(y.shape)
    nested = np.zeros(y.shape, dtype=bool)
    pol_pred = np.empty(len(examples), dtype=object)
    gkf = GroupKFold(n_splits=folds)
    for tr, te in gkf.split(X, y, groups):
        feats, clf = _fit_themes(X[tr], y[tr])
        Xtr, Xte = feats.transform(X[tr]), feats.transform(X[te])
        raw[te] = clf.predict_proba(Xte)
        inner = _raw_oof(X[tr], y[tr], groups[tr], min(3, folds - 1))
        cal = _calibrators(y[tr], inner)
        cal_scores[te] = calibrate(cal, raw[te])
        nested[te] = cal_scores[te] >= np.array(_best_thresholds(y[tr], calibrate(cal, inner)))
        ptr = [i for i in tr if _prose(examples[i])]
        pm = polarity_classifier().fit(feats.transform(X[ptr]), [examples[i].polarity for i in ptr])
        pte = pm.predict(Xte)
        for k, i in enumerate(te):
            e = examples[i]
            pol_pred[i] = POLARITY_OF_KIND[e.kind] if not _prose(e) else pte[k]
    # The shipped calibration and thresholds come from all out-of-fold scores.
    cal = _calibrators(y, raw)
    thresholds = _best_thresholds(y, calibrate(cal, raw))
    texts = [e.text for e in examples]
    base = _prf(y, np.array([[bool(re.search(CUES[t], tx.lower())) if t in CUES else False for t in THEMES] for tx in texts]))
    pol_true = np.array([e.polarity for e in examples], dtype=object)
    prose = np.array([_prose(e) for e in examples])
    report = {
        "folds": folds, "findings": len(examples), "documents": len({e.sha256 for e in examples}),
        "authorities": len(set(groups)),
        "themes": _prf(y, nested), "themes_at_0.5": _prf(y, raw >= 0.5), "baseline": base,
        "families": _family_f1(examples, y, nested),
        "thresholds": dict(zip(THEMES, thresholds)),
        "calibration": {"raw": reliability(y, raw), "calibrated": reliability(y, cal_scores)},
        "polarity_accuracy": float(np.mean(pol_true == pol_pred)),
        "polarity_accuracy_prose": float(np.mean(pol_true[prose] == pol_pred[prose])) if prose.any() else 1.0,
        "_calibrators": cal,
    }
    if sentences:
        report["sentences"] = sentence_cv(examples, X, sentences, np.array(sentence_lemmas, dtype=object), folds)
    return report


def learning_curve(examples: list[Example], lemmas: list[str], fractions=(0.25, 0.5, 0.75, 1.0), folds: int = 5, seed: int = 0) -> list[dict[str, Any]]:
    """Grouped CV with a fraction of each training fold's authorities (at the 0.5 cut of
    the uncalibrated scores, so no inner CV: cheaper, and close to the nested figure)."""
    import numpy as np
    from sklearn.model_selection import GroupKFold

    y = _y(examples)
    groups = np.array([e.authority for e in examples])
    X = np.array(lemmas, dtype=object)
    rng = np.random.default_rng(seed)
    out = []
    for frac in fractions:
        pred = np.zeros(y.shape, dtype=bool)
        used = 0
        for tr, te in GroupKFold(n_splits=folds).split(X, y, groups):
            auths = np.unique(groups[tr])
            keep = set(rng.choice(auths, size=max(1, int(round(frac * len(auths)))), replace=False))
            sub = np.array([i for i in tr if groups[i] in keep])
            used += len(sub)
            feats, clf = _fit_themes(X[sub], y[sub])
            pred[te] = clf.predict_proba(feats.transform(X[te])) >= 0.5
        r = _prf(y, pred)
        out.append({"fraction": frac, "training_findings": used // folds, "micro_f1": r["micro_f1"], "macro_f1": r["macro_f1"]})
    return out


# --- sentences ----------------------------------------------------------------------


def _sentence_training(examples: list[Example], X, idx) -> tuple[list[int], list[str]]:
    """Findings that are one statement, usable as sentence examples: list bullets (their
    section's polarity) and one-sentence prose paragraphs (their label)."""
    from .nlp import sentence_spans

    rows, labels = [], []
    for i in idx:
        e = examples[i]
        if not _prose(e):
            rows.append(i)
            labels.append(POLARITY_OF_KIND[e.kind])
        elif len(sentence_spans(e.text)) == 1:
            rows.append(i)
            labels.append(e.polarity)
    return rows, labels


def sentence_classifier():
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=4.0, max_iter=3000)


def _fit_sentence_polarity(feats, examples, X, idx, sents, SX, sidx):
    """The sentence polarity model: fitted on labelled sentences.  List bullets and
    one-sentence paragraphs (:func:`_sentence_training`) read differently from a
    sentence inside a paragraph (mixing them in cost 3 points in grouped CV), so
    they are used only when there are no sentence labels at all."""
    if len(sidx):
        return sentence_classifier().fit(feats.transform(SX[sidx]), [sents[i].polarity for i in sidx])
    rows, labels = _sentence_training(examples, X, idx)
    return sentence_classifier().fit(feats.transform(X[rows]), labels)


def sentence_cv(examples: list[Example], X, sents: list[SentenceExample], SX, folds: int = 5) -> dict[str, Any]:
    """Sentence polarity (and themes) by grouped CV over the sentence labels' authorities;
    the one-statement findings of the other authorities train with them."""
    import numpy as np
    from sklearn.model_selection import GroupKFold

    sg = np.array([s.authority for s in sents])
    eg = np.array([e.authority for e in examples])
    pred = np.empty(len(sents), dtype=object)
    th_pred = np.zeros((len(sents), len(THEMES)), dtype=bool)
    y = _y(examples)
    for tr, te in GroupKFold(n_splits=min(folds, len(set(sg)))).split(SX, groups=sg):
        test_auth = set(sg[te])
        etr = np.array([i for i in range(len(examples)) if eg[i] not in test_auth])
        feats, clf = _fit_themes(X[etr], y[etr])
        model = _fit_sentence_polarity(feats, examples, X, etr, sents, SX, tr)
        pred[te] = model.predict(feats.transform(SX[te]))
        th_pred[te] = clf.predict_proba(feats.transform(SX[te])) >= 0.5
    truth = np.array([s.polarity for s in sents], dtype=object)
    sy = np.array([[t in s.themes for t in THEMES] for s in sents], dtype=int)
    fam = np.array([s.family for s in sents])
    return {
        "sentences": len(sents), "findings": len({(s.sha256, s.finding_id) for s in sents}),
        "families": sorted(set(fam)),
        "polarity_accuracy": float(np.mean(truth == pred)),
        "polarity_by_family": {f: float(np.mean(truth[fam == f] == pred[fam == f])) for f in sorted(set(fam))},
        "themes_at_0.5": {k: v for k, v in _prf(sy, th_pred).items() if k != "per_theme"},
    }


# --- agreement ----------------------------------------------------------------------


def kappa(x, y) -> float:
    n = len(x)
    po = sum(a == b for a, b in zip(x, y)) / n
    p1, p2 = sum(x) / n, sum(y) / n
    pe = p1 * p2 + (1 - p1) * (1 - p2)
    return (po - pe) / (1 - pe) if pe < 1 else 1.0


def agreement(labels: Path) -> dict[str, Any]:
    """Two independent readings: ``part*.csv`` against ``double_b.csv`` (matched by
    sha256 and key): Cohen's kappa per theme, micro-F1 between readers, polarity agreement."""
    a = {(r["sha256"], r["key"]): r for r in read_labels(labels)}
    b = {(r["sha256"], r["key"]): r for r in read_labels(labels, "double_b.csv")}
    keys = sorted(k for k in b if k in a)
    if not keys:
        return {"findings": 0}
    sets = [(set(filter(None, a[k]["themes"].split(";"))), set(filter(None, b[k]["themes"].split(";")))) for k in keys]
    per = {}
    for t in THEMES:
        x, yy = [t in s for s, _ in sets], [t in s for _, s in sets]
        per[t] = {"kappa": kappa(x, yy) if any(x) or any(yy) else None, "reader_a": sum(x), "reader_b": sum(yy)}
    tp = sum(len(p & q) for p, q in sets)
    fp = sum(len(q - p) for p, q in sets)
    fn = sum(len(p - q) for p, q in sets)
    ks = [v["kappa"] for v in per.values() if v["kappa"] is not None]
    return {"findings": len(keys), "per_theme": per, "mean_kappa": sum(ks) / len(ks),
            "micro_f1": 2 * tp / (2 * tp + fp + fn) if tp else 0.0,
            "polarity_agreement": sum(a[k]["polarity"] == b[k]["polarity"] for k in keys) / len(keys)}


# --- training -----------------------------------------------------------------------


def train(corpus: Path, labels: Path, out: Path, *, backend: str = "pdfium") -> dict[str, Any]:
    """Fit the models on every label, cross-validate, and write ``out`` (models/).

    Everything is written to a temporary folder beside ``out`` that replaces it only
    when complete, so a crash never leaves a mixture of old and new model files."""
    import os
    import shutil

    final = Path(out)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f".{final.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        card = _train_into(corpus, labels, tmp, backend)
        old = final.parent / f".{final.name}.old-{os.getpid()}"
        if final.exists():
            final.rename(old)
        tmp.rename(final)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    from .nlp import load_nlp, load_rules

    load_nlp.cache_clear()
    load_rules.cache_clear()
    return card


def _train_into(corpus: Path, labels: Path, out: Path, backend: str) -> dict[str, Any]:
    import time

    import numpy as np
    import sklearn
    import spacy

    from .nlp import NLP_DIR, build_nlp, export_rules, lemmatise

    t0 = time.monotonic()
    rows = read_labels(labels)
    srows = read_labels(labels / "sentences", "part*.csv") if (labels / "sentences").is_dir() else []
    parsed = _parsed_findings({r["sha256"] for r in rows + srows}, corpus, backend)
    examples, missing = resolve_examples(rows, corpus, backend, parsed)
    sents, smissing = resolve_sentences(srows, corpus, backend, parsed)
    out.mkdir(parents=True, exist_ok=True)
    nlp = build_nlp()
    nlp.to_disk(out / NLP_DIR)
    export_rules(nlp, out / NLP_DIR)
    from .nlp import load_nlp, load_rules

    load_nlp.cache_clear()
    load_rules.cache_clear()
    lemmas = lemmatise([e.text for e in examples], str(out))
    slemmas = lemmatise([s.text for s in sents], str(out))
    report = cross_validate(examples, lemmas, sentences=sents, sentence_lemmas=slemmas)
    curve = learning_curve(examples, lemmas)
    X = np.array(lemmas, dtype=object)
    SX = np.array(slemmas, dtype=object)
    features, themes = _fit_themes(X, _y(examples))
    Xf = features.transform(X)
    prose = [i for i, e in enumerate(examples) if _prose(e)]
    polarity = polarity_classifier().fit(Xf[prose], [examples[i].polarity for i in prose])
    sentence_polarity = _fit_sentence_polarity(features, examples, X, range(len(examples)), sents, SX, np.arange(len(sents)))
    from .themes import MODEL_FORMAT, export_linear

    export_linear(features, themes, polarity, out, sentence_polarity=sentence_polarity, calibration=report.pop("_calibrators"))
    fam = Counter(e.family for e in examples)
    card = {
        "format": MODEL_FORMAT,
        "name": "letterparse-themes",
        "codebook_version": CODEBOOK_VERSION,
        "themes": list(THEMES),
        "thresholds": report["thresholds"],
        "training_data": {"labels_sha256": labels_hash(rows + srows), "findings": len(examples), "unresolved_labels": len(missing),
                          "documents": report["documents"], "authorities": report["authorities"],
                          "families": dict(sorted(fam.items())), "sentences": len(sents), "unresolved_sentences": len(smissing),
                          "positives": {t: int(v) for t, v in zip(THEMES, _y(examples).sum(axis=0))}},
        "versions": {"scikit-learn": sklearn.__version__, "spacy": spacy.__version__, "numpy": np.__version__},
        "cross_validation": _round({k: report[k] for k in ("folds", "polarity_accuracy", "polarity_accuracy_prose", "themes",
                                                           "themes_at_0.5", "baseline", "families", "calibration")}
                                   | ({"sentences": report["sentences"]} if "sentences" in report else {})),
        "learning_curve": _round(curve),
        "agreement": _round(agreement(labels)),
        "training_seconds": round(time.monotonic() - t0),
    }
    write_card(card, out, corpus, labels / "heldout")
    return card


def write_card(card: dict[str, Any], out: Path, corpus: Path, heldout: Path) -> dict[str, Any]:
    """Score the model in ``out`` on the held-out labels (when there are any) and write
    ``model_card.json`` and ``MODEL_CARD.md``."""
    held = None
    if heldout.is_dir() and any(heldout.glob("*.csv")):
        (out / "model_card.json").write_text(json.dumps(card), "utf-8")  # the model must load to be scored
        held = evaluate_heldout(corpus, heldout, directory=str(out))
        card = card | {"heldout": _round({k: v for k, v in held.items() if k != "themes"}
                                         | {"themes": {k: v for k, v in held["themes"].items() if k != "per_theme"}})}
    (out / "model_card.json").write_text(json.dumps(card, indent=2, sort_keys=True) + "\n", "utf-8")
    (out / "MODEL_CARD.md").write_text(model_card_markdown(card, held), "utf-8")
    return card


def _round(d: Any) -> Any:
    if isinstance(d, float):
        return round(d, 4)
    if isinstance(d, dict):
        return {k: _round(v) for k, v in d.items()}
    if isinstance(d, list):
        return [_round(v) for v in d]
    return d


def theme_table(card: dict[str, Any]) -> str:
    cv = card["cross_validation"]
    ag = (card.get("agreement") or {}).get("per_theme", {})
    lines = ["| theme | positives | precision | recall | F1 | baseline F1 | Brier (calibrated) | kappa between readers |",
             "|---|---|---|---|---|---|---|---|"]
    for t in THEMES:
        m = cv["themes"]["per_theme"][t]
        b = cv["baseline"]["per_theme"].get(t, {"f1": 0.0})
        k = (ag.get(t) or {}).get("kappa")
        brier = cv.get("calibration", {}).get("calibrated", {}).get("brier", {}).get(t)
        lines.append(f"| {t} | {m['support']} | {m['precision']:.2f} | {m['recall']:.2f} | {m['f1']:.2f} | {b['f1']:.2f} | "
                     f"{'' if brier is None else f'{brier:.3f}'} | {'' if k is None else f'{k:.2f}'} |")
    lines.append(f"| **micro** | | | | **{cv['themes']['micro_f1']:.3f}** | {cv['baseline']['micro_f1']:.3f} | | |")
    lines.append(f"| **macro** | | | | **{cv['themes']['macro_f1']:.3f}** | {cv['baseline']['macro_f1']:.3f} | | |")
    return "\n".join(lines)


def _family_table(fams: dict[str, Any], held: dict[str, Any] | None = None) -> str:
    lines = ["| family | findings | micro-F1 | macro-F1 |" + (" held-out findings | held-out micro-F1 |" if held else ""),
             "|---|---|---|---|" + ("---|---|" if held else "")]
    for f, v in fams.items():
        h = (held or {}).get(f)
        extra = (f" {h['findings']} | {h['micro_f1']:.3f} |" if h else " | |") if held else ""
        lines.append(f"| {f} | {v['findings']} | {v['micro_f1']:.3f} | {v['macro_f1']:.3f} |{extra}")
    return "\n".join(lines)


def model_card_markdown(card: dict[str, Any], heldout: dict[str, Any] | None = None) -> str:
    cv = card["cross_validation"]
    td = card["training_data"]
    cal = cv.get("calibration", {})
    rel = "\n".join(
        f"| {r['bin']} | {r['n']} | {r['mean_score']:.3f} | {r['observed']:.3f} |" for r in cal.get("calibrated", {}).get("table", [])
    )
    curve = "\n".join(f"| {int(c['fraction'] * 100)}% | {c['training_findings']} | {c['micro_f1']:.3f} | {c['macro_f1']:.3f} |"
                      for c in card.get("learning_curve", []))
    sent = cv.get("sentences")
    ag = card.get("agreement") or {}
    sent_md = (
        f"Sentence polarity: {sent['polarity_accuracy']:.3f} on {sent['sentences']} labelled sentences of {sent['findings']} prose "
        f"findings ({', '.join(sent['families'])}); by family "
        + ", ".join(f"{f} {v:.3f}" for f, v in sent["polarity_by_family"].items())
        + f". Sentence themes (0.5 cut): micro-F1 {sent['themes_at_0.5']['micro_f1']:.3f}."
    ) if sent else "No sentence labels."
    ag_md = (
        f"{ag['findings']} findings labelled twice, independently: micro-F1 between the readers {ag['micro_f1']:.3f}, "
        f"mean kappa {ag['mean_kappa']:.2f}, polarity agreement {ag['polarity_agreement']:.3f} (per-theme kappa in the table)."
    ) if ag.get("findings") else "No double labels."
    held_md = ""
    if heldout and heldout.get("findings"):
        held_md = (
            f"\n## Held-out labels\n\n{heldout['findings']} findings from {heldout['documents']} documents that gave no training label: "
            f"micro-F1 {heldout['themes']['micro_f1']:.3f}, macro-F1 {heldout['themes']['macro_f1']:.3f} "
            f"(keyword baseline {heldout['baseline']['micro_f1']:.3f}); polarity accuracy {heldout['polarity_accuracy']:.3f} "
            f"(prose {heldout['polarity_accuracy_prose']:.3f})"
            + (f"; sentence polarity {heldout['sentence_polarity_accuracy']:.3f} on {heldout['sentences']} sentences" if heldout.get("sentences") else "")
            + ".\n"
        )
    return f"""# Model card: letterparse theme and polarity models

- Codebook version: {card['codebook_version']} (`../shared/CODEBOOK.md`); labelling decisions in `corpora/labels/GUIDE.md`.
- Training data: {td['findings']} labelled findings from {td['documents']} documents ({td['authorities']} authorities);
  by family: {', '.join(f'{k} {v}' for k, v in td.get('families', {}).items())};
  {td.get('sentences', 0)} labelled sentences; labels sha256 `{td['labels_sha256']}`;
  {td['unresolved_labels']} labels could not be matched to a finding.
- Libraries: {', '.join(f'{k} {v}' for k, v in card['versions'].items())}. Training took {card.get('training_seconds', '?')} s.
- Models: TF-IDF (word 1-2-grams and character 3-5-grams over spaCy lookup lemmas);
  one-vs-rest logistic regression per theme, calibrated per theme (isotonic, on out-of-fold scores),
  with thresholds chosen on the calibrated out-of-fold scores;
  multinomial logistic regression for the polarity of prose paragraphs (list sections keep their kind's polarity),
  and one for the polarity of each sentence of a prose paragraph.
- Evaluation: {cv['folds']}-fold cross-validation grouped by authority. Calibration and thresholds used for each
  test fold come from an inner grouped CV on its training part only (nested, not optimistic).
  Theme micro-F1 {cv['themes']['micro_f1']:.3f}, macro-F1 {cv['themes']['macro_f1']:.3f}
  (uncalibrated at a 0.5 cut: {cv['themes_at_0.5']['micro_f1']:.3f} / {cv['themes_at_0.5']['macro_f1']:.3f});
  keyword baseline {cv['baseline']['micro_f1']:.3f} / {cv['baseline']['macro_f1']:.3f}.
  Polarity accuracy {cv['polarity_accuracy']:.3f} overall, {cv['polarity_accuracy_prose']:.3f} on prose paragraphs.
- {sent_md}
- Agreement: {ag_md}

{theme_table(card)}

## By family

{_family_table(cv.get('families', {}), (heldout or {}).get('families'))}

## Calibration

Brier score (mean over themes, nested out-of-fold): {cal.get('raw', {}).get('brier_mean', float('nan')):.4f} uncalibrated,
{cal.get('calibrated', {}).get('brier_mean', float('nan')):.4f} calibrated. Reliability of the calibrated scores (all themes pooled):

| score bin | pairs | mean score | observed share |
|---|---|---|---|
{rel}

## Learning curve

Grouped CV with a share of each training fold's authorities (uncalibrated scores at a 0.5 cut):

| labels | training findings per fold | micro-F1 | macro-F1 |
|---|---|---|---|
{curve}
{held_md}"""


def evaluate_heldout(corpus: Path, labels: Path, directory: str | None = None) -> dict[str, Any]:
    """Score the shipped model on labels never used in training (``corpora/labels/heldout``),
    and its sentence polarity on ``sentences/heldout.csv`` beside them when present."""
    import numpy as np

    from .themes import classify, classify_sentences

    rows = read_labels(labels, "*.csv")
    srows = read_labels(labels.parent / "sentences", "heldout.csv") if (labels.parent / "sentences").is_dir() else []
    parsed = _parsed_findings({r["sha256"] for r in rows + srows}, corpus)
    examples, missing = resolve_examples(rows, corpus, parsed=parsed)
    if not examples:
        return {"findings": 0, "unresolved": len(missing)}
    preds = classify([e.text for e in examples], kinds=[e.kind for e in examples], directory=directory)
    y = _y(examples)
    pred = np.array([[t in {x.theme for x in p.themes} for t in THEMES] for p in preds])
    texts = [e.text.lower() for e in examples]
    base = np.array([[bool(re.search(CUES[t], tx)) if t in CUES else False for t in THEMES] for tx in texts])
    prose = [i for i, e in enumerate(examples) if _prose(e)]
    out = {
        "findings": len(examples), "documents": len({e.sha256 for e in examples}), "unresolved": len(missing),
        "themes": _prf(y, pred), "baseline": _prf(y, base), "families": _family_f1(examples, y, pred),
        "polarity_accuracy": float(np.mean([p.polarity == e.polarity for p, e in zip(preds, examples)])),
        "polarity_accuracy_prose": float(np.mean([preds[i].polarity == examples[i].polarity for i in prose])) if prose else 1.0,
    }
    sents, _ = resolve_sentences(srows, corpus, parsed=parsed)
    if sents:
        sp = classify_sentences([s.text for s in sents], directory=directory)
        out["sentences"] = len(sents)
        out["sentence_polarity_accuracy"] = float(np.mean([p.polarity == s.polarity for p, s in zip(sp, sents)]))
    return out


def evaluate_themes_cli(corpus: Path, heldout: Path = Path("corpora/labels/heldout")) -> None:
    import typer

    from .themes import model_dir

    card = json.loads((Path(model_dir()) / "model_card.json").read_text("utf-8"))
    r = evaluate_heldout(corpus, heldout) if heldout.is_dir() and corpus.is_dir() else None
    typer.echo(model_card_markdown(card, r))
