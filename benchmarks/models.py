"""Compare theme models under the same grouped, nested cross-validation as
``letterparse train``, and on the held-out labels (run by hand; results in
``benchmarks/models.md``).

    python benchmarks/models.py --corpus ../shared/corpus [--embeddings DIR]

Models:
  (a) TF-IDF (word 1-2-grams, char_wb 3-5-grams over lemmas) + one-vs-rest logistic
      regression: what ships;
  (c) static sentence embeddings (a model2vec model distilled from all-MiniLM-L6-v2 by
      ``scripts/distill_embeddings.py``) + logistic regression;
  (a+c) both feature sets side by side;
  (a+d) TF-IDF plus context features: section kind, document family and the words of
      the section heading.
spaCy's textcat_multilabel is compared in ``benchmarks/models_spacy.py``.

Every model gets the same treatment: 5 folds grouped by authority, per-theme isotonic
calibration and thresholds from an inner grouped CV on the training folds only.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus")
    ap.add_argument("--labels", type=Path, default=ROOT / "corpora" / "labels")
    ap.add_argument("--embeddings", type=Path, default=Path("/tmp/m2v256"), help="a model2vec folder (scripts/distill_embeddings.py)")
    ap.add_argument("--only", action="append", help="run only these models (a, c, a+c, a+d)")
    ap.add_argument("--json", type=Path, help="also write the results here")
    a = ap.parse_args()

    import numpy as np
    import scipy.sparse as sp
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.model_selection import GroupKFold

    from letterparse import train as T
    from letterparse.nlp import lemmatise
    from letterparse.themes import model_dir

    rows = T.read_labels(a.labels)
    held_rows = T.read_labels(a.labels / "heldout", "*.csv")
    parsed = T._parsed_findings({r["sha256"] for r in rows + held_rows}, a.corpus)
    ex, _ = T.resolve_examples(rows, a.corpus, parsed=parsed)
    held, _ = T.resolve_examples(held_rows, a.corpus, parsed=parsed)
    headings = {}
    for sha, (letter, _found) in parsed.items():
        for s in letter.sections:
            for f in s.findings:
                headings[(sha, f.id)] = s.heading
    mdir = model_dir()
    allx = ex + held
    lem = np.array(lemmatise([e.text for e in allx], mdir), dtype=object)
    ctx = np.array([
        f"kind_{e.kind} fam_{e.family} " + " ".join("h_" + w for w in lemmatise([headings.get((e.sha256, e.finding_id), "")], mdir)[0].split())
        for e in allx
    ], dtype=object)
    emb = None
    if a.embeddings.exists():
        from model2vec import StaticModel

        m = StaticModel.from_pretrained(str(a.embeddings))
        emb = m.encode([e.text for e in allx]).astype(np.float64)
        emb /= np.linalg.norm(emb, axis=1, keepdims=True) + 1e-9
    n = len(ex)
    y_all = T._y(allx)

    def builder(name):
        def fit(idx):
            parts = []
            if "a" in name:
                feats = T._features().fit(lem[idx])
                parts.append(("a", feats))
            if "d" in name:
                parts.append(("d", TfidfVectorizer(token_pattern=r"\S+", min_df=2).fit(ctx[idx])))

            def transform(j):
                mats = [f.transform(lem[j]) if k == "a" else 0.5 * f.transform(ctx[j]) for k, f in parts]
                if "c" in name:
                    mats.append(sp.csr_matrix(emb[j] * (1.0 if name == "c" else 1.0)))
                return sp.hstack(mats).tocsr()

            return transform
        return fit

    def scores(name, tr, te):
        transform = builder(name)(tr)
        clf = T.theme_classifier().fit(transform(tr), y_all[tr])
        return clf.predict_proba(transform(te))

    groups = np.array([e.authority for e in allx])
    results = {}
    names = a.only or ["a", "c", "a+c", "a+d"]
    for name in names:
        if "c" in name and emb is None:
            continue
        t0 = time.monotonic()
        idx = np.arange(n)
        y = y_all[:n]
        nested = np.zeros(y.shape, dtype=bool)
        for tr, te in GroupKFold(5).split(idx, y, groups[:n]):
            raw = scores(name, tr, te)
            inner = np.zeros((len(tr), y.shape[1]))
            for itr, ite in GroupKFold(4).split(tr, y[tr], groups[tr]):
                inner[ite] = scores(name, tr[itr], tr[ite])
            cal = T._calibrators(y[tr], inner)
            nested[te] = T.calibrate(cal, raw) >= np.array(T._best_thresholds(y[tr], T.calibrate(cal, inner)))
        cv = T._prf(y, nested)
        fams = T._family_f1(ex, y, nested)
        # held out: train on every training label, calibrate on its out-of-fold scores
        tr, te = np.arange(n), np.arange(n, len(allx))
        oof = np.zeros(y.shape)
        for itr, ite in GroupKFold(5).split(tr, y, groups[:n]):
            oof[ite] = scores(name, itr, ite)
        cal = T._calibrators(y, oof)
        th = np.array(T._best_thresholds(y, T.calibrate(cal, oof)))
        hp = T.calibrate(cal, scores(name, tr, te)) >= th
        h = T._prf(y_all[n:], hp)
        results[name] = {
            "cv_micro": cv["micro_f1"], "cv_macro": cv["macro_f1"],
            "families": {f: round(v["micro_f1"], 3) for f, v in fams.items()},
            "heldout_micro": h["micro_f1"], "heldout_macro": h["macro_f1"], "seconds": round(time.monotonic() - t0),
        }
        print(name, json.dumps(results[name]), flush=True)
    print(f"\n{n} training findings, {len(allx) - n} held-out findings; labels {T.labels_hash(rows)[:12]}\n")
    print("| model | CV micro-F1 | CV macro-F1 | held-out micro-F1 | held-out macro-F1 | per family (CV micro-F1) | seconds |")
    print("|---|---|---|---|---|---|---|")
    for name, r in results.items():
        fam = ", ".join(f"{f} {v:.3f}" for f, v in r["families"].items())
        print(f"| {name} | {r['cv_micro']:.3f} | {r['cv_macro']:.3f} | {r['heldout_micro']:.3f} | {r['heldout_macro']:.3f} | {fam} | {r['seconds']} |")
    if a.json:
        a.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
