"""The `sentences` table, `findings.mixed` and the `judgement_sentences` view in every store
format; resume, recovery and the refusal of a store written before sentences existed."""

from __future__ import annotations

import json

import duckdb
import pytest
from typer.testing import CliRunner

import letterparse
from letterparse.cli import app
from letterparse.errors import StoreError
from letterparse.store import COLUMNS, VIEW_COLUMNS, letter_rows, open_store, require_current
from storefixtures import crash_second_commit, write_store
from sentencefixtures import CONTEXT, LEEDS_19, NEWHAM_19, sentence_letters, strip_sentences

FORMATS = ["s.duckdb", "s.jsonl", "s_parquet"]
A, B, C = "a" * 64, "b" * 64, "c" * 64


def _expected_sentences() -> list[tuple]:
    """(sha256, finding_id, n, polarity, themes, text) in letter order, from the fixtures."""
    out = []
    for sha, table in ((A, NEWHAM_19), (C, {**LEEDS_19, "s2.f1": CONTEXT})):
        for fid in sorted(table, key=lambda k: (k.split(".")[0], int(k.split(".f")[1]))):
            out += [(sha, fid, n, pol, list(th), text) for n, (text, pol, th) in enumerate(table[fid])]
    return out


def _sentence_rows(t) -> list[tuple]:
    """The sentences table with each sentence's text cut from its finding's text."""
    texts = {(r.sha256, r.finding_id): r.text for r in t["findings"].itertuples()}
    return [(r.sha256, r.finding_id, int(r.n), r.polarity, list(r.themes), texts[(r.sha256, r.finding_id)][r.start:r.end])
            for r in t["sentences"].itertuples()]


def test_letter_rows_give_sentences_in_order_and_mixed():
    a = sentence_letters()[0]
    r = letter_rows(a, "1", "none")
    assert [(x["finding_id"], x["n"]) for x in r.sentences] == [
        ("s1.f1", 0), ("s1.f1", 1), ("s1.f2", 0), ("s1.f2", 1), ("s1.f2", 2), ("s1.f4", 0), ("s1.f4", 1), ("s1.f5", 0)]
    assert set(r.sentences[0]) == set(COLUMNS["sentences"])
    first = r.sentences[0]
    assert (first["start"], first["end"], first["polarity"], first["themes"]) == (
        0, len(NEWHAM_19["s1.f1"][0][0]), "weakness", ["workforce"])
    assert {f["finding_id"]: f["mixed"] for f in r.findings} == {
        "s1.f1": True, "s1.f2": False, "s1.f3": False, "s1.f4": False, "s1.f5": False}
    assert letter_rows(strip_sentences(a), "1", "none").sentences == []


@pytest.mark.parametrize("name", FORMATS)
def test_sentences_round_trip_through_every_format(tmp_path, name):
    path = tmp_path / name
    write_store(path, sentence_letters())
    t = letterparse.load(path)
    assert list(t["sentences"].columns) == list(COLUMNS["sentences"])
    assert _sentence_rows(t) == _expected_sentences()
    assert str(t["findings"]["mixed"].dtype) == "boolean"
    mixed = t["findings"][t["findings"]["mixed"]]
    assert list(zip(mixed.sha256, mixed.finding_id)) == [(A, "s1.f1")]
    assert not t["findings"]["mixed"].isna().any()
    # the json column keeps the sentences: the letter reads back whole
    row = t["letters"].set_index("sha256").loc[A]
    assert letterparse.Letter.from_dict(json.loads(row["json"])) == sentence_letters()[0]
    require_current(t, str(path))  # a store of this version is current


@pytest.mark.parametrize("name", FORMATS)
def test_replacing_a_letter_replaces_its_sentences(tmp_path, name):
    """All in or all out: a letter written again without sentences leaves none behind,
    and one that now fails loses them too."""
    path = tmp_path / name
    letters = sentence_letters()
    write_store(path, letters)
    with open_store(path) as s:
        s.put_letter(strip_sentences(letters[0]), "1", "none")
        s.put_error("/x/c.pdf", C, "internal", "boom", "1")
    t = letterparse.load(path)
    assert len(t["sentences"]) == 0 and len(t["judgement_sentences"]) == 0
    assert not t["findings"]["mixed"].any()


@pytest.mark.parametrize("name", FORMATS)
def test_judgement_sentences_view(tmp_path, name):
    path = tmp_path / name
    write_store(path, sentence_letters())
    v = letterparse.load(path)["judgement_sentences"]
    assert list(v.columns) == list(VIEW_COLUMNS["judgement_sentences"])
    # the context section's sentence is left out; the text is the finding's text cut at the offsets
    want = [x for x in _expected_sentences() if x[1] != "s2.f1"]
    got = [(r.sha256, r.finding_id, int(r.n), r.polarity, list(r.themes), r.text) for r in v.itertuples()]
    assert got == want
    first = v.iloc[0]
    assert (first.kind, first.role, first.section_id, first.finding_polarity, bool(first.mixed)) == (
        "improvements", "judgement", "s1", "weakness", True)
    assert (first.authority, first.ons_code, first.region, int(first.year), first.family) == (
        "Newham", "E09000025", "London", 2019, "ilacs")
    leeds = v[v.sha256 == C]
    assert set(leeds.authority) == {"Leeds"} and list(leeds.n) == [0, 1]
    # the combining accent and the emoji: code points, the same as Python's slicing
    assert "Agency staff cover the cafe\u0301 rota." in set(v.text) and "Caseloads are too high – some reach thirty\U0001F641." in set(v.text)


def test_a_duckdb_store_answers_the_view_in_sql(tmp_path):
    path = tmp_path / "s.duckdb"
    write_store(path, sentence_letters())
    con = duckdb.connect(str(path), read_only=True)
    try:
        rows = con.execute(
            "SELECT finding_id, n, text FROM judgement_sentences WHERE mixed AND polarity = 'strength'").fetchall()
        types = dict(con.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'sentences'").fetchall())
        mixed_type = con.execute(
            "SELECT data_type FROM information_schema.columns WHERE table_name = 'findings' AND column_name = 'mixed'").fetchone()
    finally:
        con.close()
    assert rows == [("s1.f1", 1, "Leaders’ grip on practice is strong.")]
    assert types == {"sha256": "VARCHAR", "finding_id": "VARCHAR", "n": "INTEGER", "start": "INTEGER",
                     "end": "INTEGER", "polarity": "VARCHAR", "themes": "VARCHAR[]"}
    assert mixed_type == ("BOOLEAN",)


@pytest.mark.parametrize("name", FORMATS)
def test_resume_and_reopening_keep_sentences(tmp_path, name):
    """Sentences change nothing for --resume: letters written with them are completed, and a
    writer that reopens the store (the Parquet one reads every table back) keeps them."""
    path = tmp_path / name
    letters = sentence_letters()
    write_store(path, letters[:1])
    with open_store(path) as s:
        assert s.completed("1", "none") == {A}
        for l in letters[1:]:
            s.put_letter(l, "1", "none")
    with open_store(path) as s:
        assert s.completed("1", "none") == {A, B, C}
    assert _sentence_rows(letterparse.load(path)) == _expected_sentences()


def test_an_interrupted_parquet_commit_rolls_the_sentences_forward(tmp_path, monkeypatch):
    """The journal covers sentences.parquet like the other files: a crash after two renames
    (sentences.parquet, last in the journal, not yet renamed) is finished by the reader."""
    out = tmp_path / "p_parquet"
    letters = sentence_letters()
    crash_second_commit(monkeypatch, out, letters)
    journal = json.loads((out / "_commit.json").read_text())
    assert "sentences.parquet" in journal
    assert _sentence_rows(letterparse.load(out)) == _expected_sentences()
    write_store(out, [])
    assert sorted(p.name for p in out.iterdir()) == [
        "errors.parquet", "findings.parquet", "letters.parquet", "sections.parquet", "sentences.parquet"]


# --- a store written before sentences existed ------------------------------------------------


def _old_duckdb(path):
    write_store(path, sentence_letters())
    con = duckdb.connect(str(path))
    for view in ("inspections", "judgement_findings", "judgement_sentences"):
        con.execute(f"DROP VIEW {view}")
    con.execute("DROP TABLE sentences")
    con.execute("ALTER TABLE findings DROP COLUMN mixed")
    con.close()


def _old_parquet(path):
    import pyarrow.parquet as pq

    write_store(path, sentence_letters())
    (path / "sentences.parquet").unlink()
    f = pq.read_table(path / "findings.parquet")
    pq.write_table(f.drop_columns(["mixed"]), path / "findings.parquet")


def _old_jsonl(path):
    write_store(path, sentence_letters())
    lines = []
    for line in path.read_text("utf-8").splitlines():
        rec = json.loads(line)
        for s in rec["letter"]["sections"]:
            for f in s["findings"]:
                del f["sentences"], f["mixed"]
        lines.append(json.dumps(rec, ensure_ascii=False, sort_keys=True))
    path.write_text("\n".join(lines) + "\n", "utf-8")


OLD = {"s.duckdb": _old_duckdb, "s_parquet": _old_parquet, "s.jsonl": _old_jsonl}


@pytest.mark.parametrize("name", FORMATS)
def test_a_store_from_before_sentences_is_refused_then_resumed(tmp_path, name):
    """Its letters would silently count as having no sentences: the readers refuse it in
    one line naming --resume, and --resume does parse those letters again."""
    path = tmp_path / name
    OLD[name](path)
    t = letterparse.load(path)  # load() still reads it: new columns null, no sentences
    assert len(t["sentences"]) == 0 and t["findings"]["mixed"].isna().all() and len(t["judgement_sentences"]) == 0
    with pytest.raises(StoreError) as info:
        require_current(t, str(path))
    msg = str(info.value)
    assert "\n" not in msg
    assert "3 of 3 letters were written by an earlier letterparse (parser version 1) and have no sentences" in msg
    assert f"--out {path} --resume" in msg
    res = CliRunner().invoke(app, ["compare", str(path), "--unit", "sentence", "--out", "-"])
    assert res.exit_code == 1 and "Traceback" not in res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "have no sentences" in lines[0]
    # --resume: none of them counts as done, whatever its versions
    with open_store(path) as s:
        assert s.completed("1", "none") == set()
        for l in sentence_letters():
            s.put_letter(l, "1", "none")
    with open_store(path) as s:
        assert s.completed("1", "none") == {A, B, C}
    t = letterparse.load(path)
    require_current(t, str(path))
    assert _sentence_rows(t) == _expected_sentences()


def test_an_old_store_with_no_frameworks_says_both(tmp_path):
    path = tmp_path / "s.duckdb"
    _old_duckdb(path)
    con = duckdb.connect(str(path))
    con.execute(f"UPDATE letters SET framework = NULL WHERE sha256 = '{A}'")
    con.close()
    with pytest.raises(StoreError, match=r"3 of 3 letters .* have no frameworks or section roles and no sentences; "):
        require_current(letterparse.load(path), str(path))
