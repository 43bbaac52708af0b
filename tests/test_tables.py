"""tables: one writer for every command's table (CSV, Markdown, JSON; file or stdout)."""

from __future__ import annotations

import json
from datetime import date

import pandas as pd
import pytest

from letterparse.tables import check_out, render, write_table


def sample() -> pd.DataFrame:
    return pd.DataFrame({
        "authority": ["Newham", "Leeds | West"],
        "published": [date(2019, 5, 3), None],
        "event": pd.to_datetime(["2021-02-01", None]),
        "themes": [["workforce", "assessment"], []],
        "n": pd.array([4, None], dtype="Int64"),
        "share": [2 / 3, float("nan")],
        "small_n": [True, False],
    })


@pytest.mark.parametrize(
    ("out", "fmt", "expected"),
    [
        ("t.csv", None, "csv"),
        ("T.CSV", None, "csv"),
        ("t.md", None, "md"),
        ("t.markdown", None, "md"),
        ("t.json", None, "json"),
        ("-", None, "csv"),
        ("-", "md", "md"),
        ("-", "JSON", "json"),
        ("t.txt", "csv", "csv"),  # an explicit format wins over the suffix
    ],
)
def test_check_out(out, fmt, expected):
    assert check_out(out, fmt) == expected


@pytest.mark.parametrize(
    ("out", "fmt", "message"),
    [
        ("t.xlsx", None, "t.xlsx: give a .csv, .md or .json output file (or - for stdout)"),
        ("table", None, "table: give a .csv"),
        ("t.csv", "parquet", "unknown format 'parquet'; use one of: csv, md, json"),
    ],
)
def test_check_out_refuses(out, fmt, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        check_out(out, fmt)


def test_csv_joins_lists_and_writes_iso_dates(tmp_path):
    out = tmp_path / "t.csv"
    write_table(sample(), out)
    assert out.read_text().splitlines() == [
        "authority,published,event,themes,n,share,small_n",
        "Newham,2019-05-03,2021-02-01,workforce;assessment,4,0.666667,True",
        "Leeds | West,,,,,,False",
    ]
    assert [p.name for p in tmp_path.iterdir()] == ["t.csv"]  # no temporary left behind


def test_markdown_escapes_pipes_and_rounds(tmp_path):
    out = tmp_path / "t.md"
    write_table(sample(), out)
    assert out.read_text().splitlines() == [
        "| authority | published | event | themes | n | share | small_n |",
        "|---|---|---|---|---|---|---|",
        "| Newham | 2019-05-03 | 2021-02-01 | workforce;assessment | 4 | 0.6667 | True |",
        "| Leeds \\| West |  |  |  |  |  | False |",
    ]


def test_json_records_keep_lists_and_nulls(tmp_path):
    out = tmp_path / "t.json"
    write_table(sample(), out)
    assert json.loads(out.read_text()) == [
        {"authority": "Newham", "published": "2019-05-03", "event": "2021-02-01", "themes": ["workforce", "assessment"],
         "n": 4, "share": pytest.approx(2 / 3), "small_n": True},
        {"authority": "Leeds | West", "published": None, "event": None, "themes": [], "n": None, "share": None,
         "small_n": False},
    ]


def test_stdout(capsys):
    write_table(sample(), "-")
    assert capsys.readouterr().out.splitlines()[1] == "Newham,2019-05-03,2021-02-01,workforce;assessment,4,0.666667,True"
    write_table(sample(), "-", "json")
    assert json.loads(capsys.readouterr().out)[0]["themes"] == ["workforce", "assessment"]


def test_empty_table_keeps_its_header():
    empty = pd.DataFrame({"a": pd.Series(dtype="object"), "b": pd.Series(dtype="int64")})
    assert render(empty, "csv") == "a,b\n"
    assert render(empty, "md") == "| a | b |\n|---|---|\n"
    assert render(empty, "json") == "[]\n"
