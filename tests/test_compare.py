"""compare: share arithmetic on a hand-built store, table files, plots, the HTML page."""

from __future__ import annotations

import base64
import re

import pandas as pd
import pytest
from typer.testing import CliRunner

from letterparse.compare import COLUMNS, compare, theme_table
from letterparse.store import open_store
from storefixtures import sample_letters


@pytest.fixture
def store(tmp_path):
    path = tmp_path / "s.duckdb"
    with open_store(path) as s:
        for l in sample_letters():
            s.put_letter(l, "1", "none")
    return path


def rows(t: pd.DataFrame, **match) -> list[tuple]:
    for k, v in match.items():
        t = t[t[k] == v]
    return sorted((r.theme, r.findings, round(r.share, 4)) for r in t.itertuples())


def test_share_by_authority_and_year(store):
    t = theme_table(store)
    assert list(t.columns) == COLUMNS
    assert rows(t, authority="Newham", year=2019, polarity="weakness") == [
        ("leadership", 2, 0.5), ("unclassified", 1, 0.25), ("workforce", 2, 0.5)]
    assert rows(t, authority="Newham", year=2019, polarity="strength") == [("workforce", 1, 1.0)]
    assert rows(t, authority="Newham", year=2021, polarity="weakness") == [("workforce", 2, 1.0)]
    leeds = t[t.authority == "Leeds"].iloc[0]
    assert (leeds.ons_code, leeds.region, leeds.year, leeds.theme, leeds.share) == (
        "E08000035", "Yorkshire and the Humber", 2019, "leadership", 1.0)
    assert len(t) == 6
    assert set(t[t.authority == "Newham"].region) == {"London"}


def test_grouping_and_filters(store):
    by_auth = theme_table(store, by=["authority"])
    assert rows(by_auth, authority="Newham", polarity="weakness") == [
        ("leadership", 2, round(2 / 6, 4)), ("unclassified", 1, round(1 / 6, 4)), ("workforce", 4, round(4 / 6, 4))]
    assert by_auth["year"].isna().all()
    by_year = theme_table(store, by=["year"])
    assert rows(by_year, year=2019, polarity="weakness") == [
        ("leadership", 3, 0.6), ("unclassified", 1, 0.2), ("workforce", 2, 0.4)]
    assert by_year["authority"].isna().all()
    by_region = theme_table(store, by=["region"], polarity="weakness")
    assert rows(by_region, region="Yorkshire and the Humber") == [("leadership", 1, 1.0)]
    london = theme_table(store, region="london")
    assert set(london.authority) == {"Newham"}
    fv = theme_table(store, family="focused_visit")
    assert set(fv.authority) == {"Leeds"}
    # a theme filter keeps the denominator: workforce is still 2 of Newham's 4 weakness findings in 2019
    wf = theme_table(store, theme="workforce", polarity="weakness")
    assert rows(wf, authority="Newham", year=2019) == [("workforce", 2, 0.5)]
    assert set(wf.polarity) == {"weakness"}
    with pytest.raises(ValueError):
        theme_table(store, by=["inspector"])


def test_empty_result_has_the_columns(store):
    t = theme_table(store, region="Atlantis")
    assert list(t.columns) == COLUMNS and len(t) == 0


def test_outputs(store, tmp_path):
    csv, md = tmp_path / "c.csv", tmp_path / "c.md"
    heat, trend, page = tmp_path / "h.png", tmp_path / "t.png", tmp_path / "r.html"
    t = compare(store, csv, heatmap=heat, trends=trend, html_out=page)
    back = pd.read_csv(csv)
    assert list(back.columns) == COLUMNS and len(back) == len(t) == 6
    assert back[(back.authority == "Newham") & (back.year == 2019) & (back.theme == "unclassified")].share.tolist() == [0.25]
    compare(store, md, by=["authority"])
    lines = md.read_text().splitlines()
    assert lines[0] == "| " + " | ".join(COLUMNS) + " |"
    assert "| Newham | E09000025 | London |  | workforce | weakness | 4 | 0.6667 |" in lines
    for png in (heat, trend):
        data = png.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    html = page.read_text()
    assert "<table" in html and "Newham" in html
    # self-contained: no external references, two embedded PNGs that decode
    assert not re.search(r'(src|href)="(?!data:)', html)
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    assert len(images) == 2 and all(base64.b64decode(i)[:4] == b"\x89PNG" for i in images)


def test_bad_output_suffix(store, tmp_path):
    with pytest.raises(ValueError):
        compare(store, tmp_path / "c.xlsx")


def test_cli_compare(store, tmp_path):
    from letterparse.cli import app

    out = tmp_path / "c.csv"
    res = CliRunner().invoke(app, ["compare", str(store), "--by", "authority", "--by", "year", "--polarity", "weakness",
                                   "--out", str(out), "--heatmap", str(tmp_path / "h.png")])
    assert res.exit_code == 0, res.output
    assert set(pd.read_csv(out).polarity) == {"weakness"}
    assert (tmp_path / "h.png").stat().st_size > 0
    bad = CliRunner().invoke(app, ["compare", str(tmp_path / "none.duckdb"), "--out", str(out)])
    assert bad.exit_code == 1 and "Error: " in bad.output and "Traceback" not in bad.output
    bad = CliRunner().invoke(app, ["compare", str(store), "--by", "colour", "--out", str(out)])
    assert bad.exit_code == 1 and "cannot group by colour" in bad.output
