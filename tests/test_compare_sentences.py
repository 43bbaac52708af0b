"""compare --unit sentence: sentences, not findings, are counted and are the denominators."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from letterparse.cli import app
from letterparse.compare import STATS, UNITS, stats, theme_table, write_comparison
from letterparse.errors import StoreError
from letterparse.stats import wilson
from letterparse.store import open_store
from sentencefixtures import sentence_letters
from storefixtures import Doc, frames, write_store

W, S, N = "weakness", "strength", "neutral"


@pytest.fixture(params=["s.duckdb", "s.jsonl", "s_parquet"])
def store(request, tmp_path):
    return write_store(tmp_path / request.param, sentence_letters())


def rows(t, count, **match):
    for k, v in match.items():
        t = t[t[k] == v]
    return sorted((r.theme, r.n, r.letters, r[count]) for _, r in t.iterrows())


def test_sentence_counts_differ_from_finding_counts(store):
    findings = theme_table(store)
    sentences = theme_table(store, unit="sentence")
    assert list(findings.columns) == ["authority", "ons_code", "region", "year", *STATS]
    assert list(sentences.columns) == ["authority", "ons_code", "region", "year", *stats("sentence")]
    assert "sentences" in sentences.columns and "findings" not in sentences.columns
    newham = {"authority": "Newham", "year": 2019}
    # 4 weakness findings (s1.f3 has no sentences, s1.f4 is half neutral) ...
    assert rows(findings, "findings", polarity=W, **newham) == [
        ("leadership", 4, 1, 2), ("unclassified", 4, 1, 1), ("workforce", 4, 1, 2)]
    # ... but 5 weakness sentences, each with its own themes
    assert rows(sentences, "sentences", polarity=W, **newham) == [
        ("leadership", 5, 1, 1), ("unclassified", 5, 1, 1), ("workforce", 5, 1, 3)]
    # the mixed finding s1.f1 (a weakness) adds a strength sentence about leadership
    assert rows(findings, "findings", polarity=S, **newham) == [("workforce", 1, 1, 1)]
    assert rows(sentences, "sentences", polarity=S, **newham) == [("leadership", 2, 1, 1), ("workforce", 2, 1, 1)]
    assert rows(sentences, "sentences", polarity=N, **newham) == [("unclassified", 1, 1, 1)]
    # Newham 2021 has only bullets: no sentence rows at all
    assert not ((sentences.authority == "Newham") & (sentences.year == 2021)).any()
    assert ((findings.authority == "Newham") & (findings.year == 2021)).any()
    # judgement sentences only: Leeds' context sentence is not counted
    assert rows(sentences, "sentences", authority="Leeds", polarity=W) == [("leadership", 2, 1, 2), ("workforce", 2, 1, 1)]
    # share, interval and small_n come from the sentence counts
    r = sentences[(sentences.authority == "Newham") & (sentences.year == 2019) & (sentences.polarity == W)
                  & (sentences.theme == "workforce")].iloc[0]
    assert r.share == pytest.approx(3 / 5) and (r.ci_low, r.ci_high) == pytest.approx(wilson(3, 5))
    assert bool(r.small_n) and not bool(theme_table(store, unit="sentence", min_n=5).query("n == 5").small_n.any())


def test_sentence_unit_with_every_finding_grouping_and_authority(store):
    every = theme_table(store, unit="SENTENCE", all_findings=True, polarity=W)
    assert rows(every, "sentences", authority="Leeds") == [("leadership", 3, 1, 2), ("workforce", 3, 1, 2)]
    by_year = theme_table(store, by=["year"], unit="sentence", polarity=W, theme="workforce")
    assert rows(by_year, "sentences", year=2019) == [("workforce", 7, 2, 4)]
    mine = theme_table(store, authority="Newham", unit="sentence", polarity=S)
    assert list(mine.columns) == ["group", "year", *stats("sentence")]
    assert rows(mine, "sentences", group="authority", year=2019) == [("leadership", 2, 1, 1), ("workforce", 2, 1, 1)]


def test_frames_without_the_sentence_view_are_a_clear_error():
    tiny = frames([Doc("n19", "Newham", 2019, ((W, ("workforce",)),))])
    with pytest.raises(StoreError, match="store lacks judgement_sentences: re-run letterparse batch with this version"):
        theme_table(tiny, unit="sentence")
    with pytest.raises(StoreError, match="store lacks sentences: re-run"):
        theme_table(tiny, unit="sentence", all_findings=True)


@pytest.mark.parametrize("bad", ["words", "sentences", "", "paragraph"])
def test_an_unknown_unit_lists_the_valid_ones(bad):
    with pytest.raises(ValueError, match=rf"^unknown unit {bad!r}; use one of: finding, sentence$"):
        theme_table({}, unit=bad)
    assert UNITS == ("finding", "sentence")


def test_cli_unknown_unit_is_one_line_and_exit_1(tmp_path):
    store = tmp_path / "s.duckdb"
    with open_store(store) as s:
        for l in sentence_letters():
            s.put_letter(l, "1", "none")
    out = tmp_path / "t.csv"
    res = CliRunner().invoke(app, ["compare", str(store), "--unit", "words", "--out", str(out)])
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert res.stderr.strip() == "Error: unknown unit 'words'; use one of: finding, sentence"
    assert not out.exists()


def test_cli_unit_sentence_names_its_count_in_every_format(tmp_path):
    store = tmp_path / "s.duckdb"
    with open_store(store) as s:
        for l in sentence_letters():
            s.put_letter(l, "1", "none")
    runner = CliRunner()
    res = runner.invoke(app, ["compare", str(store), "--unit", "sentence", "--by", "year", "--polarity", "weakness",
                              "--format", "json", "--out", "-"])
    assert res.exit_code == 0, res.output
    table = json.loads(res.stdout)
    assert {(r["theme"], r["n"], r["sentences"]) for r in table} == {
        ("leadership", 7, 3), ("unclassified", 7, 1), ("workforce", 7, 4)}
    assert all("findings" not in r for r in table)
    csv = runner.invoke(app, ["compare", str(store), "--unit", "sentence", "--by", "year", "--out", "-"])
    assert csv.stdout.splitlines()[0] == "year,theme,polarity,n,letters,sentences,share,ci_low,ci_high,small_n"
    md = tmp_path / "t.md"
    assert runner.invoke(app, ["compare", str(store), "--unit", "sentence", "--out", str(md)]).exit_code == 0
    assert "| sentences |" in md.read_text("utf-8")
    # the default is unchanged: findings
    default = runner.invoke(app, ["compare", str(store), "--by", "year", "--out", "-"])
    assert default.stdout.splitlines()[0] == "year,theme,polarity,n,letters,findings,share,ci_low,ci_high,small_n"


def test_plots_in_sentence_units(tmp_path):
    store = tmp_path / "s.duckdb"
    with open_store(store) as s:
        for l in sentence_letters():
            s.put_letter(l, "1", "none")
    heat, trends = tmp_path / "h.png", tmp_path / "t.png"
    t = write_comparison(store, tmp_path / "t.csv", unit="sentence", heatmap=heat, trends=trends)
    assert "sentences" in t.columns
    assert heat.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and trends.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
