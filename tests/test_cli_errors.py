"""Every command, fed what users get wrong, ends in one `Error: ...` line and exit 1:
no store, someone else's database, a damaged store, a store from a newer or an older
letterparse, an output that cannot be written.  Never a traceback."""

from __future__ import annotations

import sqlite3

import duckdb
import pytest
from typer.testing import CliRunner

from letterparse.cli import app
from letterparse.store import open_store
from test_timeline import letters

READERS = [["compare"], ["timeline"], ["transitions"], ["recurring"], ["recurring", "--england"]]


def _good(path):
    with open_store(path) as s:
        for l in letters():
            s.put_letter(l, "2", "none")
    return path


def _foreign(path):
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE t (a)")
    con.commit()
    con.close()
    return path


def _damaged(path):
    _good(path)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write("{not json}\n")
    return path


def _versioned(version, framework="ilacs"):
    def make(path):
        _good(path)
        con = duckdb.connect(str(path))
        con.execute(f"UPDATE letters SET parser_version = '{version}'")
        if framework is None:
            con.execute("UPDATE letters SET framework = NULL")
        con.close()
        return path
    return make


STORES = {
    "missing": ("none.duckdb", lambda p: p, "no such store"),
    "foreign": ("x.duckdb", _foreign, "not a letterparse store"),
    "damaged": ("d.jsonl", _damaged, "line 7 is not JSON"),
    "newer": ("n.duckdb", _versioned("99"), "written by a newer letterparse (parser version 99"),
    "older": ("o.duckdb", _versioned("1", framework=None), "written by an earlier letterparse (parser version 1)"),
}


def _one_error_line(res, expect: str) -> None:
    assert res.exit_code == 1, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and expect in lines[0], res.stderr
    assert "Traceback" not in res.output


@pytest.mark.parametrize("store", list(STORES))
@pytest.mark.parametrize("cmd", READERS + [["report"]], ids=lambda c: "-".join(c))
def test_every_reader_refuses_a_bad_store_in_one_line(tmp_path, cmd, store):
    name, make, expect = STORES[store]
    path = make(tmp_path / name)
    out = ["--out", str(tmp_path / "site")] if cmd == ["report"] else ["--out", "-"]
    _one_error_line(CliRunner().invoke(app, [*cmd, str(path), *out]), expect)


@pytest.mark.parametrize("cmd", READERS + [["report"]], ids=lambda c: "-".join(c))
def test_every_reader_says_when_it_cannot_write_its_output(tmp_path, cmd):
    store = _good(tmp_path / "s.duckdb")
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    out = blocker / ("site" if cmd == ["report"] else "t.csv")  # a folder that is a file
    _one_error_line(CliRunner().invoke(app, [*cmd, str(store), "--out", str(out)]), "")
    assert blocker.read_text() == "x"


@pytest.mark.parametrize(("args", "expect"), [
    (["extract", "nowhere.pdf"], "no such file"),
    (["batch", "nowhere", "--out", "s.duckdb"], "no such file"),
    (["batch", ".", "--out", "results.xlsx"], "is not a store"),
    (["compare", "s.duckdb", "--by", "colour"], "cannot group by colour"),
    (["compare", "s.duckdb", "--family", "ILACS"], "unknown family 'ILACS'"),
    (["timeline", "s.duckdb", "--authority", "Atlantis"], "unknown authority"),
    (["timeline", "s.duckdb", "--out", "t.pdf"], ".csv, .md or .json"),
    (["evaluate", "--split", "bogus"], "unknown split"),
])
def test_wrong_arguments_are_one_line(tmp_path, monkeypatch, args, expect):
    monkeypatch.chdir(tmp_path)
    _good(tmp_path / "s.duckdb")
    _one_error_line(CliRunner().invoke(app, args), expect)
