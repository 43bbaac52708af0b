"""The theme and polarity models in models/."""

from __future__ import annotations

import functools
import json
import shutil
from pathlib import Path

import pytest

from letterparse.themes import annotate, classify, explain, load_models, model_dir
from letterparse.errors import ModelError
from letterparse.train import THEMES
from letterparse import parse

# Written for these tests, in the codebook's style (not corpus text).
CASES = [
    ("Social workers told us their caseloads are manageable and that managers support them well.", {"workforce"}),
    ("Chronologies are missing or out of date in many children's case records.", {"recording"}),
    ("Return home interviews for children who go missing are not always offered promptly.", {"vulnerable_groups"}),
    ("Too many children in care have had several changes of foster placement.", {"care_permanence"}),
]


@pytest.mark.parametrize("text,expected", CASES)
def test_obvious_findings_get_their_theme(text, expected):
    [pred] = classify([text])
    assert expected <= {t.theme for t in pred.themes}
    assert [t.score for t in pred.themes] == sorted((t.score for t in pred.themes), reverse=True)
    assert set(pred.scores) == set(THEMES)


# (text, section kind, polarity): a list section's kind decides, whatever the words say;
# prose gets the polarity model's reading of its words (texts written for these tests).
POLARITY_CASES = [
    (CASES[0][0], "improvements", "weakness"),
    (CASES[1][0], "strengths", "strength"),
    (CASES[1][0], "priority_actions", "priority"),
    (CASES[0][0], "satisfactory", "satisfactory"),
    (CASES[1][0], "main_findings", "weakness"),
    (CASES[0][0], "main_findings", "strength"),
    ("Leaders have a strong and accurate understanding of the quality of practice.", "headline", "strength"),
    ("Management oversight of casework is weak and does not ensure that plans progress.", "headline", "weakness"),
    ("Inspectors looked at the records of 40 children.", "main_findings", "neutral"),
]


@pytest.mark.parametrize("text,kind,expected", POLARITY_CASES)
def test_list_sections_keep_their_polarity_and_prose_gets_a_model_polarity(text, kind, expected):
    [pred] = classify([text], kinds=[kind])
    assert pred.polarity == expected


def test_annotate_fills_every_finding(samples):
    letter = annotate(parse(samples / "2019_leeds_focused_visit.pdf", themes=False))
    assert all(f.themes for f in letter.findings[:5])
    assert {f.polarity for f in letter.sections[1].findings} == {"weakness"}


def test_explain_names_terms():
    out = explain(CASES[1][0])
    assert "recording" in out["terms"] and out["terms"]["recording"]
    assert set(out["scores"]) == set(THEMES)


def test_model_card_mismatch_is_a_clear_error(tmp_path):
    d = tmp_path / "m"
    shutil.copytree(model_dir(), d)
    card = json.loads((d / "model_card.json").read_text())
    card["codebook_version"] = "999"
    (d / "model_card.json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match="codebook"):
        load_models(str(d))
    ok = card | {"codebook_version": json.loads((Path(model_dir()) / "model_card.json").read_text())["codebook_version"]}
    # a model card naming another scikit-learn is refused, as the README says
    (d / "model_card.json").write_text(json.dumps(ok | {"versions": {**card["versions"], "scikit-learn": "0.1"}}))
    with pytest.raises(ModelError, match=r"model built with scikit-learn 0\.1, installed 1\."):
        load_models(str(d))
    (d / "model_card.json").write_text(json.dumps(ok))
    (d / "weights.npz").write_bytes(b"not an npz")
    with pytest.raises(ModelError, match="cannot load"):
        load_models(str(d))


def test_model_card_meets_the_targets():
    card = json.loads(open(model_dir() + "/model_card.json", encoding="utf-8").read())
    cv = card["cross_validation"]
    assert card["training_data"]["findings"] >= 1500 and card["training_data"]["documents"] >= 150
    assert cv["themes"]["micro_f1"] >= 0.80 and cv["themes"]["macro_f1"] >= 0.70
    assert cv["themes"]["micro_f1"] > cv["baseline"]["micro_f1"]
    assert cv["polarity_accuracy"] >= 0.9


@pytest.mark.corpus
def test_model_on_held_out_labels_meets_the_targets(corpus):
    """Findings from 64 documents that no training label came from."""
    from conftest import ROOT
    from letterparse.train import evaluate_heldout

    r = evaluate_heldout(corpus, ROOT / "corpora" / "labels" / "heldout")
    assert r["findings"] >= 300
    assert r["themes"]["micro_f1"] >= 0.80
    assert r["themes"]["macro_f1"] >= 0.70
    assert r["polarity_accuracy"] >= 0.90
    assert r["themes"]["micro_f1"] > r["baseline"]["micro_f1"] + 0.05


def _sklearn_tfidf(m, texts):
    """scikit-learn's TfidfVectorizer with the model's vocabularies and idf: the reference
    the fast feature code must equal."""
    import scipy.sparse as sp
    from sklearn.feature_extraction.text import TfidfVectorizer

    refs = []
    for spec, idf in zip(m.features.specs, m.features.idfs):
        vec = TfidfVectorizer(
            analyzer=spec["analyzer"], ngram_range=tuple(spec["ngram_range"]), sublinear_tf=spec["sublinear_tf"],
            lowercase=spec["lowercase"], norm=spec["norm"], vocabulary={t: i for i, t in enumerate(spec["terms"])},
        )
        vec.idf_ = idf
        refs.append(vec.transform(texts))
    return sp.hstack(refs).tocsr()


def test_fast_features_equal_scikit_learn():
    from letterparse.nlp import lemmatise

    m = load_models()
    texts = [t for t, _ in CASES] + ["", "A 16-year-old's plan, reviewed on 3 March 2021 by the IRO.", "x y z"]
    lem = lemmatise(texts, m.directory)
    ref = _sklearn_tfidf(m, lem)
    mine = m.features.transform(lem)
    assert ref.shape == mine.shape
    assert abs(ref - mine).max() < 1e-12
    assert mine[: len(CASES)].nnz > 0


def test_library_classify_stays_callable_after_parsing(samples):
    """`letterparse.classify(texts)` is a function even once the pipeline has imported its modules."""
    import letterparse

    letterparse.parse(samples / "2019_leeds_focused_visit.pdf")
    preds = letterparse.classify([CASES[1][0]])
    assert "recording" in {t.theme for t in preds[0].themes}


@pytest.mark.corpus
@pytest.mark.slow
def test_train_replaces_the_model_folder_whole(corpus, tmp_path):
    """`letterparse train` on a small label set: the new folder replaces the old one
    in one step (no stale file survives, no temporary folder is left) and loads."""
    from conftest import ROOT
    from typer.testing import CliRunner

    from letterparse.cli import app

    labels = tmp_path / "labels"
    labels.mkdir()
    rows = (ROOT / "corpora" / "labels" / "part1.csv").read_text("utf-8").splitlines()[:201]
    (labels / "part1.csv").write_text("\n".join(rows) + "\n", "utf-8")
    out = tmp_path / "models"
    out.mkdir()
    (out / "stale.txt").write_text("from an older model")
    result = CliRunner().invoke(app, ["train", "--corpus", str(corpus), "--labels", str(labels), "--out", str(out)])
    assert result.exit_code == 0, result.stderr
    assert not (out / "stale.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["labels", "models"]
    card = json.loads((out / "model_card.json").read_text("utf-8"))
    # 199: one of these 200 labels is the closing page's newsletter line, no longer a finding
    assert card["training_data"]["findings"] == 199 and card["training_data"]["unresolved_labels"] == 1
    m = load_models(str(out))
    assert len(m.thresholds) == len(THEMES)


@functools.cache
def _untouched_nlp(directory):
    import spacy

    return spacy.load(Path(directory) / "nlp")


def _reference_lemmas(texts, directory):
    """The slow path the chunk cache replaces: spaCy's tokenizer on each whole text,
    in the saved pipeline as spaCy loads it (every lexical attribute computed)."""
    from spacy.attrs import IS_ALPHA, LIKE_NUM, LOWER

    nlp = _untouched_nlp(directory)
    table = nlp.get_pipe("lemmatizer").lookups.get_table("lemma_lookup")
    out = []
    for doc in nlp.tokenizer.pipe(texts):
        arr = doc.to_array([LOWER, IS_ALPHA, LIKE_NUM]) if len(doc) else []
        words = [nlp.vocab.strings[int(r[0])] for r in arr if r[1] or r[2]]
        out.append(" ".join(table.get(w, w).lower() for w in words))
    return out


# Invented text with the tokenizer's hard cases: apostrophes, hyphens, slashes,
# brackets, numbers, abbreviations, other whitespace and odd punctuation.
TRICKY = [
    "Children's plans (CP/CIN) weren't reviewed: 12 of 40 (30%) were late.",
    "Well-being, co-ordinated early-help; e.g. 16-17-year-olds' 'staying put' offer…",
    "Managers—and the IRO\u2019s oversight—didn't\tchallenge drift.\nSee para. 3.2, p.14 & Annex A.",
    "U.S.-style £1,200.50 budgets, 1st/2nd reviews, Mr. Smith's team; ‘quote’ “quote”.",
    # one-word chunks of letters or digits that the tokenizer's special cases split
    "Cannot cannot gonna Gonna dont Dont cant Im ive ABC 2019 007 whats Lemme",
    "",
    "   ",
]


def test_chunk_cache_lemmas_equal_spacy_on_whole_texts(monkeypatch):
    from letterparse import nlp

    m = load_models()
    texts = TRICKY + [t for t, _ in CASES]
    assert nlp.lemmatise(texts, m.directory) == _reference_lemmas(texts, m.directory)
    # a full cache is emptied and refilled, with the same answers
    monkeypatch.setattr(nlp, "_CHUNKS", {})
    monkeypatch.setattr(nlp, "_CHUNKS_MAX", 8)
    assert nlp.lemmatise(texts[::-1], m.directory) == _reference_lemmas(texts[::-1], m.directory)
    unseen = "Quarterly zebra-crossing audits weren't done (2019/20)."
    assert nlp.lemmatise([unseen], m.directory) == _reference_lemmas([unseen], m.directory)
    assert set(nlp._CHUNKS) == set(unseen.split())


@pytest.mark.corpus
def test_chunk_cache_lemmas_equal_spacy_on_corpus_findings(corpus):
    from letterparse import nlp

    m = load_models()
    pdfs = sorted(corpus.rglob("*.pdf"))[::20]
    texts = [f.text for p in pdfs for s in parse(p, themes=False).sections for f in s.findings]
    assert len(texts) > 200
    assert nlp.lemmatise(texts, m.directory) == _reference_lemmas(texts, m.directory)


def test_fast_features_grow_and_batch_like_scikit_learn():
    """Words first seen in later calls (the arrays grow past their first capacity),
    texts in batches of any size, and n-grams never spanning two texts."""
    import random

    import scipy.sparse as sp

    from letterparse.themes import _Features

    m = load_models()
    rng = random.Random(7)
    vocab_words = [t for t in m.features.specs[0]["terms"] if " " not in t]
    made_up = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(1, 12))) for _ in range(3000)]
    texts = [" ".join(rng.choice(vocab_words if rng.random() < 0.7 else made_up) for _ in range(rng.randint(0, 60)))
             for _ in range(400)]
    fresh = _Features(m.features.specs, m.features.idfs)
    parts, i = [], 0
    while i < len(texts):
        k = rng.randint(1, 40)
        parts.append(fresh.transform(texts[i : i + k]))
        i += k
    mine = sp.vstack(parts).tocsr()
    ref = _sklearn_tfidf(m, texts)
    assert len(fresh._words) > 1024  # the word arrays grew
    assert abs(ref - mine).max() < 1e-12
    # a bigram of the vocabulary split over two texts is not counted in either
    a, b = next(t.split(" ") for t in m.features.specs[0]["terms"] if t.count(" ") == 1)
    pair = fresh.transform([f"{a} {b}", f"zzz {a}", f"{b} zzz"])
    col = m.features.specs[0]["terms"].index(f"{a} {b}")
    assert pair[0, col] > 0 and pair[1, col] == 0 and pair[2, col] == 0


def test_raw_text_features_equal_lemmatised_features(monkeypatch):
    """``transform_raw`` (chunk -> word-index cache) gives the rows of
    ``transform(lemmatise(texts))``, on a fresh feature object, when every chunk is
    cached already, and after a full cache was emptied."""
    from letterparse import themes
    from letterparse.nlp import lemmatise
    from letterparse.themes import _Features

    m = load_models()
    texts = TRICKY + [t for t, _ in CASES] + ["", "x y z"]
    ref = _sklearn_tfidf(m, lemmatise(texts, m.directory))
    fresh = _Features(m.features.specs, m.features.idfs)
    assert abs(fresh.transform_raw(texts, m.directory) - ref).max() < 1e-12
    assert abs(fresh.transform_raw(texts[::-1], m.directory) - ref[::-1]).max() < 1e-12
    assert fresh._chunk_words  # the second call found every chunk cached
    monkeypatch.setattr(themes, "CHUNK_CACHE_MAX", 5)
    assert abs(fresh.transform_raw(texts, m.directory) - ref).max() < 1e-12
    assert set(fresh._chunk_words) == set().union(*(t.split() for t in texts))
