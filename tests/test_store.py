"""The store: same four tables in DuckDB, JSONL and Parquet; all-in-or-out per file."""

from __future__ import annotations

import json
import os

import duckdb

import pytest

import letterparse
from letterparse.errors import StoreError
from letterparse.io import dumps
from letterparse.model import Letter
from letterparse.store import COLUMNS, VIEW_COLUMNS, letter_rows, open_store, store_kind
from storefixtures import sample_letters, with_theme

FORMATS = ["s.duckdb", "s.jsonl", "s_parquet"]


@pytest.mark.parametrize(("name", "kind"), [("a.duckdb", "duckdb"), ("a.db", "duckdb"), ("a.jsonl", "jsonl"), ("folder", "parquet"), ("a.parquet", "parquet")])
def test_store_kind(name, kind, tmp_path):
    assert store_kind(tmp_path / name) == kind


@pytest.mark.parametrize("name", ["results.csv", "results.json", "results.xlsx", "notes.txt"])
def test_an_output_that_is_not_a_store_is_refused_before_any_work(tmp_path, name):
    with pytest.raises(StoreError, match="is not a store: give FILE.duckdb, FILE.jsonl, or a folder"):
        open_store(tmp_path / name)
    assert not (tmp_path / name).exists()


def test_a_folder_named_like_a_file_store_and_a_file_named_like_a_folder_store(tmp_path):
    (tmp_path / "x.duckdb").mkdir()
    with pytest.raises(StoreError, match="is a folder; a duckdb store is a file"):
        open_store(tmp_path / "x.duckdb")
    (tmp_path / "plain").write_text("mine")
    with pytest.raises(StoreError, match="is a file; a Parquet store is a folder"):
        open_store(tmp_path / "plain")
    assert (tmp_path / "plain").read_text() == "mine"


def _sqlite(path):
    import sqlite3

    con = sqlite3.connect(path)
    con.execute("CREATE TABLE t (a)")
    con.commit()
    con.close()


@pytest.mark.parametrize(("name", "make", "why"), [
    ("x.duckdb", _sqlite, "not a DuckDB database"),
    ("y.duckdb", lambda p: duckdb.connect(str(p)).execute("CREATE TABLE sales (id INT)").close(), "with the tables sales"),
    ("z.duckdb", lambda p: duckdb.connect(str(p)).execute("CREATE TABLE letters (id INT)").close(), "another tool's"),
    ("notes.jsonl", lambda p: p.write_text('{"name": "my own notes"}\nsecond line without newline'), "not a letterparse record"),
    ("mine", lambda p: (p.mkdir(), (p / "thesis.docx").write_text("x")), "a folder with other files"),
])
def test_someone_elses_file_is_never_written_or_misread(tmp_path, name, make, why):
    """--out naming a file or folder that is not a letterparse store: refused before
    anything is written, and load() says what it is instead of a database error."""
    path = tmp_path / name
    make(path)
    before = {p: p.read_bytes() for p in [path, *path.rglob("*")] if p.is_file()}
    with pytest.raises(StoreError, match="not a letterparse store") as info:
        open_store(path)
    assert why in str(info.value)
    with pytest.raises(StoreError, match="not a letterparse store"):
        letterparse.load(path)
    assert {p: p.read_bytes() for p in [path, *path.rglob("*")] if p.is_file()} == before


def test_letter_rows_fields():
    l = sample_letters()[0]
    r = letter_rows(l, "1", "none")
    assert r.letter["year"] == 2019
    assert r.letter["region"] == "London"
    assert json.loads(r.letter["grades"]) == {"overall": "good"}
    assert r.letter["json"] == dumps(l, indent=None)
    assert [f["finding_id"] for f in r.findings] == ["s1.f1", "s1.f2", "s1.f3", "s1.f4", "s1.f5"]
    assert r.findings[1]["themes"] == ["workforce", "leadership"]
    assert json.loads(r.findings[1]["theme_scores"]) == {"leadership": 0.9, "workforce": 0.9}
    assert (r.findings[0]["start"], r.findings[0]["end"], r.findings[0]["kind"]) == (10, 15, "improvements")
    # year falls back to the letter date
    assert letter_rows(sample_letters()[2], "1", "none").letter["year"] == 2019


@pytest.mark.parametrize("name", FORMATS)
def test_round_trip_and_replace(name, tmp_path):
    path = tmp_path / name
    letters = sample_letters()
    with open_store(path) as s:
        for l in letters:
            s.put_letter(l, "1", "none")
        s.put_error("/x/bad.pdf", "d" * 64, "not_a_pdf", "not a PDF", "1")
        # the same bad file fails again: still one row
        s.put_error("/x/bad.pdf", "d" * 64, "not_a_pdf", "not a PDF", "1")
        # a file that failed before now parses: its error row goes
        s.put_error("/x/a.pdf", "a" * 64, "timeout", "slow", "1")
        s.put_letter(with_theme(letters[0], "health"), "1", "none")
    t = letterparse.load(path)
    assert set(t) == {"letters", "sections", "findings", "sentences", "errors", "inspections", "judgement_findings",
                      "judgement_sentences"}
    for name_, df in t.items():
        assert list(df.columns) == list({**COLUMNS, **VIEW_COLUMNS}[name_])
    assert len(t["letters"]) == 3
    assert len(t["sections"]) == 3
    assert len(t["findings"]) == 5 + 2 + 1
    assert t["errors"][["sha256", "error"]].values.tolist() == [["d" * 64, "not_a_pdf"]]
    newham = t["findings"][t["findings"].sha256 == "a" * 64]
    assert [list(x) for x in newham["themes"]] == [["health"]] * 5
    row = t["letters"].set_index("sha256").loc["c" * 64]
    assert (row["authority"], int(row["year"]), row["family"], row["region"]) == ("Leeds", 2019, "focused_visit", "Yorkshire and the Humber")
    # the json column is the full letter
    assert Letter.from_dict(json.loads(row["json"])) == letters[2]
    with open_store(path) as s:
        assert s.completed("1", "none") == {"a" * 64, "b" * 64, "c" * 64}
        assert s.completed("2", "none") == set()
        # a parsed file that now fails leaves letters (all in or all out)
        s.put_error("/x/b.pdf", "b" * 64, "internal", "boom", "1")
    t = letterparse.load(path)
    assert sorted(t["letters"].sha256) == ["a" * 64, "c" * 64]
    assert len(t["findings"]) == 6
    assert sorted(t["errors"].sha256) == ["b" * 64, "d" * 64]


def test_jsonl_truncated_last_line_is_ignored_and_rewritten(tmp_path):
    path = tmp_path / "s.jsonl"
    letters = sample_letters()
    with open_store(path) as s:
        s.put_letter(letters[0], "1", "none")
        s.put_letter(letters[1], "1", "none")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 40])  # a crash in the middle of the second line
    assert len(letterparse.load(path)["letters"]) == 1
    with open_store(path) as s:
        assert s.completed("1", "none") == {"a" * 64}
        s.put_letter(letters[1], "1", "none")
    lines = path.read_text("utf-8").splitlines()
    assert len(lines) == 2 and all(json.loads(x)["type"] == "letter" for x in lines)
    assert len(letterparse.load(path)["letters"]) == 2


def test_parquet_is_written_atomically_on_close(tmp_path):
    path = tmp_path / "pq"
    s = open_store(path)
    s.put_letter(sample_letters()[0], "1", "none")
    assert not (path / "letters.parquet").exists()
    s.close()
    assert sorted(p.name for p in path.iterdir()) == [
        "errors.parquet", "findings.parquet", "letters.parquet", "sections.parquet", "sentences.parquet"]


def test_duckdb_types(tmp_path):
    import duckdb

    path = tmp_path / "s.duckdb"
    with open_store(path) as s:
        s.put_letter(sample_letters()[0], "1", "none")
    con = duckdb.connect(str(path), read_only=True)
    types = dict(con.execute("SELECT column_name, data_type FROM information_schema.columns WHERE table_name='findings'").fetchall())
    assert types["themes"] == "VARCHAR[]" and types["page"] == "INTEGER"
    assert con.execute("SELECT count(*) FROM findings WHERE list_contains(themes, 'workforce')").fetchone()[0] == 3
    con.close()


def test_load_missing_store_is_a_typed_error(tmp_path):
    with pytest.raises(StoreError):
        letterparse.load(tmp_path / "nope.duckdb")


def test_docs_list_every_column():
    from pathlib import Path

    doc = (Path(__file__).parents[1] / "docs" / "store.md").read_text("utf-8")
    for table, cols in {**COLUMNS, **VIEW_COLUMNS}.items():
        assert f"`{table}`" in doc
        for c in cols:
            assert f"`{c}`" in doc, (table, c)


@pytest.mark.parametrize("journal", [
    {"letters.parquet": "/etc/passwd"},                       # absolute source
    {"letters.parquet": "../outside.tmp"},                    # a parent
    {"../../victim.txt": ".letters.parquet.abc.tmp"},         # target outside the store
    {"/tmp/victim.txt": ".letters.parquet.abc.tmp"},          # absolute target
    {"notes.txt": ".notes.txt.abc.tmp"},                      # not one of the four files
    {"letters.parquet": ".findings.parquet.abc.tmp"},         # another table's temporary
    ["letters.parquet"],                                      # not a mapping
])
def test_a_crafted_commit_journal_is_refused_and_writes_nothing(tmp_path, journal):
    """A Parquet store received from someone else is data: its journal may only rename our
    own temporaries onto the four table files inside the store."""
    import letterparse.store as st

    store = tmp_path / "received"
    with open_store(store) as s:
        s.put_letter(sample_letters()[0], "1", "none")
    victim = tmp_path / "victim.txt"
    victim.write_text("mine")
    (store / ".letters.parquet.abc.tmp").write_bytes(b"PAR1 crafted")
    (store / "_commit.json").write_text(json.dumps(journal))
    before = sorted(p.name for p in tmp_path.rglob("*"))
    with pytest.raises(StoreError, match="journal"):
        letterparse.load(store)
    with pytest.raises(StoreError, match="journal"):
        open_store(store)
    assert victim.read_text() == "mine"
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


def test_a_genuine_journal_is_still_rolled_forward(tmp_path):
    from letterparse.store import commit_files

    store = tmp_path / "s"
    commit_files(store, {"letters.parquet": b"x", "errors.parquet": b"y"})
    assert (store / "letters.parquet").read_bytes() == b"x" and not (store / "_commit.json").exists()


def _error_codes() -> set[str]:
    """The codes a file's row in `errors` can carry: every typed error of
    letterparse.errors but those that stop a whole run (never stored per file)."""
    from letterparse.errors import LetterparseError

    codes, todo = set(), [LetterparseError]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls is not LetterparseError and cls.__module__ == "letterparse.errors":
            codes.add(cls.code)
    return (codes - {"store_error", "worker_error", "interrupted"}) | {"internal"}


def test_docs_list_every_value_of_every_enumerated_column():
    """docs/store.md names every value a closed column can take, read from the code."""
    from pathlib import Path

    from letterparse import vocab

    doc = (Path(__file__).parents[1] / "docs" / "store.md").read_text("utf-8")
    enums = {
        "family": vocab.FAMILIES, "framework": vocab.FRAMEWORKS, "kind": vocab.KINDS, "role": vocab.ROLES,
        "polarity": vocab.POLARITIES, "overall": vocab.GRADES, "direction": vocab.DIRECTIONS,
        "marker": ("bullet", "numbered", "paragraph"), "backend": ("pdfium", "plumber", "text"),
        "error": tuple(sorted(_error_codes())),
    }
    for column, values in enums.items():
        rows = [line for line in doc.splitlines() if line.startswith(f"| `{column}` |")]
        assert rows, column
        for v in values:
            assert any(f"`{v}`" in r for r in rows), (column, v)


@pytest.mark.parametrize("name", FORMATS)
def test_a_store_has_one_writer(tmp_path, name):
    """Two batches writing one store at once both said they had stored everything; the
    second writer is now refused at once, and can wait its turn instead."""
    import subprocess
    import sys
    import threading
    import time

    path = tmp_path / name
    first = open_store(path)
    try:
        with pytest.raises(StoreError, match=rf"another letterparse run \(pid {os.getpid()}\) is writing this store"):
            open_store(path)
        # another process, too (the lock is the kernel's, not this process's)
        code = f"from letterparse.store import open_store; open_store({str(path)!r})"
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert out.returncode != 0 and "is writing this store" in out.stderr
        # --wait: a second writer blocks until the first closes
        got = {}
        t = threading.Thread(target=lambda: got.setdefault("store", open_store(path, wait=True)))
        t.start()
        time.sleep(0.3)
        assert "store" not in got and t.is_alive()
    finally:
        first.close()
    t.join(5)
    assert "store" in got
    got["store"].close()
    # a writer that died without closing leaves no stale lock
    code = f"import os; from letterparse.store import open_store; s = open_store({str(path)!r}); os._exit(0)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
    open_store(path).close()


@pytest.mark.parametrize("name", FORMATS)
def test_a_full_disk_is_one_line_and_the_store_keeps_its_last_commit(tmp_path, name, monkeypatch, samples):
    """Disk full while a batch writes: one Error line (no traceback), the store as its last
    completed write left it, nothing half-written beside it, and --resume finishes."""
    import errno

    from typer.testing import CliRunner

    import letterparse.store as st
    from letterparse.cli import app

    inputs = tmp_path / "in"
    inputs.mkdir()
    pdfs = sorted(samples.glob("*.pdf"))[:3]
    for p in pdfs:
        (inputs / p.name).write_bytes(p.read_bytes())
    out = tmp_path / name
    # a first run that succeeds: one letter committed
    first = CliRunner().invoke(app, ["batch", str(inputs / pdfs[0].name), "--out", str(out), "--workers", "1", "--no-themes"])
    assert first.exit_code == 0, first.output
    before = len(letterparse.load(out)["letters"])

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    if name.endswith(".jsonl"):
        monkeypatch.setattr(st.os, "fsync", full)
    elif name.endswith(".duckdb"):
        arrow = st._arrow

        def full_insert(table, rows):  # DuckDB fails inside the transaction, as on a full disk
            if rows:
                raise duckdb.IOException("Could not write file: No space left on device")
            return arrow(table, rows)

        monkeypatch.setattr(st, "_arrow", full_insert)
    else:
        monkeypatch.setattr(st, "commit_files", full)
    # two workers: the failure meets workers busy sending results (it used to hang the batch)
    res = CliRunner().invoke(app, ["batch", str(inputs), "--out", str(out), "--workers", "2", "--no-themes"])
    monkeypatch.undo()
    assert res.exit_code == 1 and "Traceback" not in res.output
    line = [ln for ln in res.stderr.splitlines() if ln.startswith("Error: ")]
    assert len(line) == 1 and "No space left on device" in line[0] and "--resume" in line[0], (res.stderr, res.stdout)
    assert len(letterparse.load(out)["letters"]) == before
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp") or p.name.endswith(".lock")]
    done = CliRunner().invoke(app, ["batch", str(inputs), "--out", str(out), "--workers", "1", "--no-themes", "--resume"])
    assert done.exit_code == 0, done.output
    assert len(letterparse.load(out)["letters"]) == 3
