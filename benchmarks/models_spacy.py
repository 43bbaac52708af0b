"""Compare spaCy ``textcat_multilabel`` with today's theme model, on the same folds and metrics.

    .venv/bin/python benchmarks/models_spacy.py --corpus /work/shared/corpus
    .venv/bin/python benchmarks/models_spacy.py --corpus /work/shared/corpus --models today,bow --no-write

Models (all see the same examples, folds and metric code):

* ``today``: what ``letterparse.train`` ships: TF-IDF (word 1-2 / char 3-5 grams over
  spaCy lookup lemmas) + one-vs-rest logistic regression; polarity by multinomial
  logistic regression on prose findings.
* ``bow`` (b1): ``spacy.blank("en")`` + ``textcat_multilabel`` with ``spacy.TextCatBOW.v3``
  (unigrams + bigrams); polarity by a ``textcat`` (exclusive classes) with the same
  architecture, trained on prose findings.
* ``ensemble`` (b2): ``textcat_multilabel`` with ``spacy.TextCatEnsemble.v2`` (the same
  bag-of-words + a CNN over a ``Tok2Vec.v2`` whose embedding includes static floret
  vectors trained on the text of every finding in the corpus).  No polarity (a second
  ensemble would roughly double its training time; see ``--help``).

Evaluation: ``GroupKFold(5)`` grouped by authority (the same splits as
``letterparse.train.cross_validate``), micro/macro F1 over themes by ``train._prf``.
Per-theme thresholds are chosen by ``train._best_thresholds``:

* nested: on out-of-fold scores of an inner grouped 4-fold CV of the training part
  (as ``cross_validate`` does); for ``today`` and ``bow``;
* own: on the training part's own (in-sample) scores: one fit per fold; for every model;
* 0.5: a fixed threshold.

Held-out: each model is fitted on every training label (timed: "train s") and scores
``corpora/labels/heldout`` with thresholds chosen on its outer out-of-fold scores
(as ``letterparse train`` chooses the shipped thresholds).  "predict s": 10,000
findings of the corpus store on one core (process pinned to CPU 0, BLAS 1 thread),
tokenising/lemmatising included, models loaded before the clock.

Caches (never in the repository): resolved examples, the corpus store and the floret
vectors go under ``--cache`` (default /tmp/textcat_cache).  Prints a Markdown table and
writes it, with the settings, to ``benchmarks/models_spacy.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import json
import os
import pickle
import platform
import random
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from letterparse import train as T  # noqa: E402
from letterparse.vocab import POLARITIES, THEMES  # noqa: E402

SEED = 20261127
FAMILIES = ("focused_visit", "ilacs_report", "sif_report", "jtai_letter", "other")
PREDICT_N = 10_000


# --- data ---------------------------------------------------------------------------------


def load_examples(corpus: Path, labels: Path, cache: Path) -> dict:
    rows = T.read_labels(labels)
    hrows = T.read_labels(labels / "heldout", "*.csv")
    key = hashlib.sha256((T.labels_hash(rows) + T.labels_hash(hrows) + str(corpus.resolve())).encode()).hexdigest()[:16]
    path = cache / f"examples-{key}.pkl"
    if path.exists():
        return pickle.loads(path.read_bytes())
    log("resolving labelled findings (parses the labelled PDFs)...")
    ex, miss = T.resolve_examples(rows, corpus)
    hex_, hmiss = T.resolve_examples(hrows, corpus)
    data = {"hash": T.labels_hash(rows), "heldout_hash": T.labels_hash(hrows), "examples": ex, "missing": len(miss),
            "heldout": hex_, "heldout_missing": len(hmiss)}
    path.write_bytes(pickle.dumps(data))
    return data


def corpus_texts(corpus: Path, cache: Path) -> list[str]:
    """The text of every finding of the corpus, from a store built with ``letterparse batch --no-themes``."""
    import duckdb

    store = cache / "corpus.duckdb"
    if not store.exists():
        log("parsing the corpus into a store (letterparse batch --no-themes)...")
        exe = Path(sys.executable).with_name("letterparse")
        subprocess.run([str(exe), "batch", str(corpus), "--out", str(store), "--no-themes"], check=False)
    con = duckdb.connect(str(store), read_only=True)
    try:
        return [r[0] for r in con.sql("select text from findings order by sha256, finding_id").fetchall() if r[0]]
    finally:
        con.close()


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


@contextlib.contextmanager
def one_core():
    """Pin the process to one CPU and BLAS/OpenMP pools to one thread."""
    from threadpoolctl import threadpool_limits

    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(before)})
    try:
        with threadpool_limits(1):
            yield
    finally:
        os.sched_setaffinity(0, before)


# --- models ---------------------------------------------------------------------------------


class Today:
    """letterparse.train's model, built from its own factories."""

    name = "today (TF-IDF + LR)"
    polarity = True

    def __init__(self) -> None:
        self.model_dir = str(ROOT / "models")

    def _lemmas(self, texts: list[str], cold: bool = False) -> np.ndarray:
        from letterparse import nlp

        if cold:
            nlp._CHUNKS.clear()
        return np.array(nlp.lemmatise(texts, self.model_dir), dtype=object)

    def prepare(self, examples: list) -> None:
        self.X = self._lemmas([e.text for e in examples])  # once, as cross_validate takes lemmas

    def fit_idx(self, idx, y, pol_idx=None, pol=None):
        feats = T._features().fit(self.X[idx])
        Xtr = feats.transform(self.X[idx])
        m = {"feats": feats, "themes": T.theme_classifier().fit(Xtr, y)}
        if pol_idx is not None:
            m["polarity"] = T.polarity_classifier().fit(feats.transform(self.X[pol_idx]), pol)
        return m

    def scores_idx(self, m, idx):
        return m["themes"].predict_proba(m["feats"].transform(self.X[idx]))

    def polarity_idx(self, m, idx):
        return list(m["polarity"].predict(m["feats"].transform(self.X[idx])))

    def fit_texts(self, texts, y, pol_texts, pol):
        X = self._lemmas(texts, cold=True)
        feats = T._features().fit(X)
        m = {"feats": feats, "themes": T.theme_classifier().fit(feats.transform(X), y)}
        m["polarity"] = T.polarity_classifier().fit(feats.transform(self._lemmas(pol_texts)), pol)
        return m

    def predict_texts(self, m, texts, cold=False):
        Xf = m["feats"].transform(self._lemmas(texts, cold=cold))
        return m["themes"].predict_proba(Xf), list(m["polarity"].predict(Xf))


def bow_config(exclusive: bool) -> dict:
    return {"@architectures": "spacy.TextCatBOW.v3", "exclusive_classes": exclusive, "ngram_size": 2,
            "no_output_layer": False, "length": 262144}


def ensemble_config(exclusive: bool, width: int) -> dict:
    return {
        "@architectures": "spacy.TextCatEnsemble.v2", "nO": None,
        "linear_model": bow_config(exclusive),
        "tok2vec": {
            "@architectures": "spacy.Tok2Vec.v2",
            "embed": {"@architectures": "spacy.MultiHashEmbed.v2", "width": width, "rows": [2000, 2000, 1000, 1000],
                      "attrs": ["NORM", "PREFIX", "SUFFIX", "SHAPE"], "include_static_vectors": True},
            "encode": {"@architectures": "spacy.MaxoutWindowEncoder.v2", "width": width, "window_size": 1,
                       "maxout_pieces": 3, "depth": 2},
        },
    }


class SpacyTextcat:
    """A blank English pipeline with ``textcat_multilabel`` ("themes") and optionally
    ``textcat`` ("polarity", exclusive classes, trained on prose findings only)."""

    def __init__(self, name, arch, epochs, batch, polarity, vectors=None):
        self.name, self.arch, self.epochs, self.batch, self.polarity, self.vectors = name, arch, epochs, batch, polarity, vectors

    def _blank(self):
        import spacy

        if self.vectors is not None:
            nlp = spacy.load(self.vectors)  # blank("en") + the floret vectors, nothing else
        else:
            nlp = spacy.blank("en")
        return nlp

    def prepare(self, examples):
        self.texts = [e.text for e in examples]

    def _train(self, texts, y, pol_texts=None, pol=None):
        import spacy
        from spacy.training import Example
        from spacy.util import minibatch

        spacy.util.fix_random_seed(0)
        nlp = self._blank()
        nlp.add_pipe("textcat_multilabel", name="themes", config={"model": self.arch(False)})
        egs = [Example.from_dict(nlp.make_doc(t), {"cats": {th: float(v) for th, v in zip(THEMES, row)}}) for t, row in zip(texts, y)]
        opt = nlp.initialize(lambda: egs[:200])
        pegs = []
        if pol_texts is not None:
            # added after nlp.initialize: an exclusive textcat would reject the multi-label examples there
            pcat = nlp.add_pipe("textcat", name="polarity", config={"model": self.arch(True)})
            pegs = [Example.from_dict(nlp.make_doc(t), {"cats": {p: float(p == lab) for p in POLARITIES}}) for t, lab in zip(pol_texts, pol)]
            pcat.initialize(lambda: pegs[:200], nlp=nlp, labels=list(POLARITIES))
        rng = random.Random(SEED)
        for _ in range(self.epochs):
            rng.shuffle(egs)
            losses: dict = {}
            for b in minibatch(egs, self.batch):
                nlp.update(b, sgd=opt, drop=0.1, losses=losses, exclude=["polarity"])
            if pegs:
                rng.shuffle(pegs)
                for b in minibatch(pegs, self.batch):
                    nlp.update(b, sgd=opt, drop=0.1, losses=losses, exclude=["themes"])
        return nlp

    def _predict(self, nlp, texts, polarity=True):
        disable = [] if polarity and "polarity" in nlp.pipe_names else ["polarity"]
        scores, pols = np.zeros((len(texts), len(THEMES))), []
        with nlp.select_pipes(disable=[d for d in disable if d in nlp.pipe_names]):
            for i, doc in enumerate(nlp.pipe(texts, batch_size=256)):
                scores[i] = [doc.cats[t] for t in THEMES]
                if "polarity" not in disable:
                    pols.append(max(POLARITIES, key=lambda p: doc.cats[p]))
        return scores, pols

    def fit_idx(self, idx, y, pol_idx=None, pol=None):
        pt = [self.texts[i] for i in pol_idx] if (pol_idx is not None and self.polarity) else None
        return self._train([self.texts[i] for i in idx], y, pt, pol if pt else None)

    def scores_idx(self, m, idx):
        return self._predict(m, [self.texts[i] for i in idx], polarity=False)[0]

    def polarity_idx(self, m, idx):
        return self._predict(m, [self.texts[i] for i in idx])[1]

    def fit_texts(self, texts, y, pol_texts, pol):
        return self._train(texts, y, pol_texts if self.polarity else None, pol if self.polarity else None)

    def predict_texts(self, m, texts, cold=False):
        return self._predict(m, texts)


# --- floret vectors ---------------------------------------------------------------------------


def floret_vectors(texts: list[str], cache: Path, dim: int, epochs: int) -> tuple[Path, dict]:
    """Train floret vectors on the lower-cased tokens of ``texts``; return a saved blank
    English pipeline holding them (vectors keyed by LOWER) and how they were made."""
    import spacy
    from spacy.training.initialize import convert_vectors

    key = hashlib.sha256(("\n".join(texts) + f"|{dim}|{epochs}").encode()).hexdigest()[:16]
    out = cache / f"floret-{key}"
    info_path = out / "floret_info.json"
    if info_path.exists():
        return out / "nlp", json.loads(info_path.read_text())
    try:
        import floret
    except ImportError:
        raise SystemExit("error: the floret package is needed for the ensemble model: .venv/bin/pip install floret")
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    tok = spacy.blank("en").tokenizer
    src = out / "tokens.txt"
    with src.open("w", encoding="utf-8") as fh:
        for doc in tok.pipe(texts, batch_size=1000):
            fh.write(" ".join(t.lower_ for t in doc if not t.is_space) + "\n")
    t1 = time.perf_counter()
    model = floret.train_unsupervised(str(src), model="skipgram", mode="floret", hashCount=2, bucket=50000, minn=3,
                                      maxn=5, dim=dim, epoch=epochs, minCount=2, thread=2, verbose=0)
    vec = out / "vectors.floret"
    model.save_floret_vectors(str(vec))
    t2 = time.perf_counter()
    nlp = spacy.blank("en")
    convert_vectors(nlp, vec, truncate=0, prune=-1, mode="floret", attr="LOWER")
    nlp.to_disk(out / "nlp")
    src.unlink()
    info = {"findings": len(texts), "tokens_s": round(t1 - t0, 1), "train_s": round(t2 - t1, 1), "dim": dim,
            "epochs": epochs, "words": len(model.words), "bucket": 50000, "minn": 3, "maxn": 5, "hash_count": 2,
            "floret": getattr(floret, "__version__", "0.10.5")}
    info_path.write_text(json.dumps(info))
    return out / "nlp", info


# --- evaluation ------------------------------------------------------------------------------


def family_micro(y, pred, fams) -> dict[str, float]:
    fams = np.array(fams)
    return {f: T._prf(y[fams == f], pred[fams == f])["micro_f1"] for f in FAMILIES if (fams == f).any()}


def cv(model, examples, folds, nested: bool) -> dict:
    y = T._y(examples)
    groups = np.array([e.authority for e in examples])
    prose = np.array([T._prose(e) for e in examples])
    pols = np.array([e.polarity for e in examples], dtype=object)
    oof = np.zeros(y.shape)
    pred_nested = np.zeros(y.shape, dtype=bool)
    pred_own = np.zeros(y.shape, dtype=bool)
    pol_ok = []
    t0 = time.perf_counter()
    for k, (tr, te) in enumerate(folds):
        ptr = tr[prose[tr]] if model.polarity else None
        m = model.fit_idx(tr, y[tr], ptr, list(pols[ptr]) if ptr is not None else None)
        oof[te] = model.scores_idx(m, te)
        own = model.scores_idx(m, tr)
        pred_own[te] = oof[te] >= np.array(T._best_thresholds(y[tr], own))
        if model.polarity:
            pte = te[prose[te]]
            pol_ok += [a == b for a, b in zip(model.polarity_idx(m, pte), pols[pte])]
        if nested:
            from sklearn.model_selection import GroupKFold

            inner = np.zeros((len(tr), y.shape[1]))
            for itr, ite in GroupKFold(n_splits=4).split(tr, y[tr], groups[tr]):
                inner[ite] = model.scores_idx(model.fit_idx(tr[itr], y[tr][itr]), tr[ite])
            pred_nested[te] = oof[te] >= np.array(T._best_thresholds(y[tr], inner))
        log(f"  {model.name}: fold {k + 1}/{len(folds)} done ({time.perf_counter() - t0:.0f} s)")
    fams = [e.family for e in examples]
    r = {"cv_s": time.perf_counter() - t0, "oof": oof,
         "own": T._prf(y, pred_own), "own_family": family_micro(y, pred_own, fams),
         "at_0.5": T._prf(y, oof >= 0.5), "polarity_prose": float(np.mean(pol_ok)) if pol_ok else None}
    if nested:
        r["nested"] = T._prf(y, pred_nested)
        r["nested_family"] = family_micro(y, pred_nested, fams)
    return r


def heldout(model, examples, held, oof, predict_texts) -> dict:
    y = T._y(examples)
    prose = [e for e in examples if T._prose(e)]
    t0 = time.perf_counter()
    m = model.fit_texts([e.text for e in examples], y, [e.text for e in prose], [e.polarity for e in prose])
    train_s = time.perf_counter() - t0
    thresholds = np.array(T._best_thresholds(y, oof))
    scores, pols = model.predict_texts(m, [e.text for e in held])
    yh = T._y(held)
    pred = scores >= thresholds
    hp = [i for i, e in enumerate(held) if T._prose(e)]
    model.predict_texts(m, predict_texts[:50])  # warm up (lazy initialisation), not timed
    with one_core():
        t0 = time.perf_counter()
        model.predict_texts(m, predict_texts, cold=True)
        predict_s = time.perf_counter() - t0
    return {"train_s": train_s, "predict_s": predict_s, "themes": T._prf(yh, pred),
            "family": family_micro(yh, pred, [e.family for e in held]),
            "polarity_prose": float(np.mean([pols[i] == held[i].polarity for i in hp])) if (pols and hp) else None}


# --- report -----------------------------------------------------------------------------------


def f3(x) -> str:
    return "–" if x is None else f"{x:.3f}"


def tables(results: list[dict]) -> str:
    out = ["| model | thresholds (CV) | CV micro-F1 | CV macro-F1 | CV micro-F1, own-score thr. | CV macro-F1, own-score thr. "
           "| CV micro-F1 @0.5 | CV polarity acc. (prose) | held-out micro-F1 | held-out macro-F1 "
           "| held-out polarity acc. (prose) | train s (all labels, 2 cores) | predict s (10,000 findings, 1 core) | CV wall s |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        c, h = r["cv"], r["heldout"]
        main = c.get("nested") or c["own"]
        out.append(f"| {r['name']} | {'nested' if 'nested' in c else 'own-score'} | {f3(main['micro_f1'])} | {f3(main['macro_f1'])} "
                   f"| {f3(c['own']['micro_f1'])} | {f3(c['own']['macro_f1'])} | {f3(c['at_0.5']['micro_f1'])} "
                   f"| {f3(c['polarity_prose'])} | {f3(h['themes']['micro_f1'])} | {f3(h['themes']['macro_f1'])} "
                   f"| {f3(h['polarity_prose'])} | {h['train_s']:.1f} | {h['predict_s']:.1f} | {c['cv_s']:.0f} |")
    out += ["", "Micro-F1 per family (family of the example; CV with the model's CV thresholds as above, and held-out):", ""]
    out.append("| model | " + " | ".join(f"CV {f}" for f in FAMILIES) + " | " + " | ".join(f"held-out {f}" for f in FAMILIES) + " |")
    out.append("|---|" + "---|" * (2 * len(FAMILIES)))
    for r in results:
        c, h = r["cv"], r["heldout"]
        fam = c.get("nested_family") or c["own_family"]
        out.append(f"| {r['name']} | " + " | ".join(f3(fam.get(f)) for f in FAMILIES) + " | "
                   + " | ".join(f3(h["family"].get(f)) for f in FAMILIES) + " |")
    out += ["", "Per-theme F1 (CV, the model's CV thresholds as above):", ""]
    out.append("| theme | support | " + " | ".join(r["name"] for r in results) + " |")
    out.append("|---|---|" + "---|" * len(results))
    for t in THEMES:
        sup = results[0]["cv"]["own"]["per_theme"][t]["support"]
        out.append(f"| {t} | {sup} | " + " | ".join(f3((r['cv'].get('nested') or r['cv']['own'])['per_theme'][t]['f1']) for r in results) + " |")
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus")
    ap.add_argument("--labels", type=Path, default=ROOT / "corpora" / "labels")
    ap.add_argument("--cache", type=Path, default=Path("/tmp/textcat_cache"))
    ap.add_argument("--models", default="today,bow,ensemble", help="comma-separated: today, bow, ensemble")
    ap.add_argument("--bow-epochs", type=int, default=4)
    ap.add_argument("--ensemble-epochs", type=int, default=4)
    ap.add_argument("--batch", type=int, default=32, help="minibatch size (examples) for both spaCy models")
    ap.add_argument("--width", type=int, default=64, help="ensemble tok2vec width")
    ap.add_argument("--vector-dim", type=int, default=100)
    ap.add_argument("--vector-epochs", type=int, default=10)
    ap.add_argument("--ensemble-nested", action="store_true",
                    help="also nested thresholds for the ensemble (4 more fits per fold: ~4x its CV time)")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "models_spacy.md")
    ap.add_argument("--no-write", action="store_true", help="print only")
    a = ap.parse_args(argv)
    if not a.corpus.is_dir():
        print(f"error: corpus folder not found: {a.corpus}", file=sys.stderr)
        return 2
    a.cache.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    a.load_start = os.getloadavg()[1]
    data = load_examples(a.corpus, a.labels, a.cache)
    examples, held = data["examples"], data["heldout"]
    texts = corpus_texts(a.corpus, a.cache)
    sample = random.Random(SEED).sample(texts, min(PREDICT_N, len(texts)))
    from sklearn.model_selection import GroupKFold

    folds = list(GroupKFold(n_splits=5).split(np.zeros(len(examples)), T._y(examples), [e.authority for e in examples]))
    wanted = [m.strip() for m in a.models.split(",") if m.strip()]
    vec_info = None
    results = []
    for name in wanted:
        if name == "today":
            model, nested = Today(), True
        elif name == "bow":
            model, nested = SpacyTextcat("spaCy bow (b1)", bow_config, a.bow_epochs, a.batch, True), True
        elif name == "ensemble":
            vec_path, vec_info = floret_vectors(texts, a.cache, a.vector_dim, a.vector_epochs)
            model = SpacyTextcat("spaCy ensemble + floret (b2)", lambda ex: ensemble_config(ex, a.width), a.ensemble_epochs,
                                 a.batch, False, vectors=vec_path)
            nested = a.ensemble_nested
        else:
            print(f"error: unknown model {name!r} (today, bow, ensemble)", file=sys.stderr)
            return 2
        log(f"{model.name}...")
        model.prepare(examples)
        c = cv(model, examples, folds, nested)
        h = heldout(model, examples, held, c.pop("oof"), sample)
        results.append({"name": model.name, "cv": c, "heldout": h})
    table = tables(results)
    print(table)
    total = time.perf_counter() - started
    if not a.no_write:
        write_md(a, data, texts, results, table, vec_info, total)
    log(f"total {total / 60:.1f} min")
    return 0


def write_md(a, data, texts, results, table, vec_info, total) -> None:
    import sklearn
    import spacy
    import thinc

    ex = data["examples"]
    fams = Counter(e.family for e in ex)
    hfams = Counter(e.family for e in data["heldout"])
    lines = [
        "# spaCy textcat vs today's theme model",
        "",
        f"{dt.datetime.now():%Y-%m-%d %H:%M}; {os.cpu_count()} cores; Python {platform.python_version()}, spaCy {spacy.__version__}, "
        f"thinc {thinc.__version__}, scikit-learn {sklearn.__version__}; "
        f"`python benchmarks/models_spacy.py --corpus /work/shared/corpus --models {a.models}` "
        f"(total {total / 60:.1f} min; cached examples/store/vectors reused when present; 5-minute load average "
        f"{a.load_start:.1f} at the start, {os.getloadavg()[1]:.1f} at the end: other processes share the 2 cores).",
        "",
        f"- Labels: `corpora/labels/part*.csv`, labels hash `{data['hash']}`: {len(ex)} findings "
        f"({data['missing']} labels unresolved), {len({e.authority for e in ex})} authorities; families "
        + ", ".join(f"{f} {fams[f]}" for f in FAMILIES) + ".",
        f"- Held-out: `corpora/labels/heldout/*.csv`, hash `{data['heldout_hash']}`: {len(data['heldout'])} findings "
        f"({data['heldout_missing']} unresolved); " + ", ".join(f"{f} {hfams[f]}" for f in FAMILIES) + ".",
        "- Folds: `GroupKFold(5)` by authority (the splits of `train.cross_validate`); metrics `train._prf`; thresholds "
        "`train._best_thresholds`. \"nested\": chosen on an inner grouped 4-fold CV of each training part "
        "(as `cross_validate`); \"own-score\": chosen on the training part's in-sample scores (one fit per fold). "
        "Held-out thresholds: chosen on each model's outer out-of-fold scores, as `letterparse train` ships them.",
        f"- today: `train._features()` + `train.theme_classifier()` over `nlp.lemmatise` lemmas; polarity "
        "`train.polarity_classifier()` on prose findings (kind not in `LIST_KINDS`).",
        f"- b1: `spacy.blank(\"en\")` + `textcat_multilabel`, `spacy.TextCatBOW.v3` (ngram_size 2, length 262144), "
        f"raw text; {a.bow_epochs} epochs, batch {a.batch}, dropout 0.1, Adam defaults; polarity: `textcat` "
        "(exclusive classes, same architecture) trained on prose findings in the same loop.",
        f"- b2: `textcat_multilabel`, `spacy.TextCatEnsemble.v2` = the b1 bag-of-words + `Tok2Vec.v2` "
        f"(MultiHashEmbed width {a.width}, NORM/PREFIX/SUFFIX/SHAPE + static vectors; MaxoutWindowEncoder depth 2); "
        f"{a.ensemble_epochs} epochs, batch {a.batch}, dropout 0.1. Thresholds in CV: "
        + ("nested." if a.ensemble_nested else "own-score only (nested would need 4 more ensemble fits per fold, "
                                                 "~4x its CV time, beyond the ~25 min budget).")
        + " No polarity: an exclusive `textcat` ensemble is a second CNN (~+75% training time); "
        "b1's polarity row is its bag-of-words equivalent.",
    ]
    if vec_info:
        lines.append(
            f"- Floret vectors (pip `floret` {vec_info['floret']}, installed into the venv for this experiment only, not a "
            f"project dependency): skipgram, mode floret, dim {vec_info['dim']}, {vec_info['epochs']} epochs, minn "
            f"{vec_info['minn']}, maxn {vec_info['maxn']}, bucket {vec_info['bucket']}, hash_count {vec_info['hash_count']}, "
            f"minCount 2, on lower-cased spaCy tokens of all {vec_info['findings']} findings of the corpus store "
            f"(`letterparse batch --no-themes`; unlabelled text, includes the held-out documents' text); "
            f"{vec_info['words']} words; tokenising {vec_info['tokens_s']} s + training {vec_info['train_s']} s "
            "(once, not in \"train s\"). Vectors and models stay under /tmp.")
    lines += [
        f"- Times: \"train s\" = fit on all {len(ex)} training findings (both cores available; liblinear and thinc's "
        "CPU ops use one thread), text preparation included (lemmas or spaCy Docs); \"predict s\" = "
        f"{PREDICT_N} findings sampled from the corpus store, process pinned to one core, tokenising/lemmatising "
        "included (lemma cache cleared), models loaded and warmed before the clock. \"CV wall s\" includes the nested "
        "inner fits where made.",
        "",
        table,
        "",
    ]
    a.out.write_text("\n".join(lines), "utf-8")
    log(f"wrote {a.out}")


if __name__ == "__main__":
    raise SystemExit(main())
