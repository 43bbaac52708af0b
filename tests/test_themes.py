"""The theme and polarity models in models/."""

from __future__ import annotations

import json
import shutil

import pytest

from letterparse.themes import annotate, classify, explain, load_models, model_dir
from letterparse.errors import ModelError
from letterparse.train import THEMES
from letterparse import parse
from conftest import SAMPLES

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


def test_list_sections_keep_their_polarity_and_prose_gets_a_model_polarity():
    preds = classify([CASES[0][0], CASES[1][0]], kinds=["improvements", "main_findings"])
    assert preds[0].polarity == "weakness"
    assert preds[1].polarity in ("strength", "satisfactory", "weakness", "priority", "neutral")


def test_annotate_fills_every_finding():
    letter = annotate(parse(SAMPLES / "2019_leeds_focused_visit.pdf", themes=False))
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
    (d / "model_card.json").write_text(json.dumps(card | {"codebook_version": "1"}))
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


def test_fast_features_equal_scikit_learn():
    import scipy.sparse as sp
    from sklearn.feature_extraction.text import TfidfVectorizer

    from letterparse.nlp import lemmatise

    m = load_models()
    texts = [t for t, _ in CASES] + ["", "A 16-year-old's plan, reviewed on 3 March 2021 by the IRO.", "x y z"]
    lem = lemmatise(texts, m.directory)
    refs = []
    for spec, idf in zip(m.features.specs, m.features.idfs):
        vec = TfidfVectorizer(
            analyzer=spec["analyzer"], ngram_range=tuple(spec["ngram_range"]), sublinear_tf=spec["sublinear_tf"],
            lowercase=spec["lowercase"], norm=spec["norm"], vocabulary={t: i for i, t in enumerate(spec["terms"])},
        )
        vec.idf_ = idf
        refs.append(vec.transform(lem))
    ref = sp.hstack(refs).tocsr()
    mine = m.features.transform(lem)
    assert ref.shape == mine.shape
    assert abs(ref - mine).max() < 1e-12
    assert mine[: len(CASES)].nnz > 0


def test_library_classify_stays_callable_after_parsing():
    """`letterparse.classify(texts)` is a function even once the pipeline has imported its modules."""
    import letterparse

    letterparse.parse(SAMPLES / "2019_leeds_focused_visit.pdf")
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
    assert card["training_data"]["findings"] == 200
    m = load_models(str(out))
    assert len(m.thresholds) == len(THEMES)
