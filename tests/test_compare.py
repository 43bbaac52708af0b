"""compare: shares with n and Wilson intervals, groupings, --vs groups, errors, outputs."""

from __future__ import annotations

import json
import math
import re

import pandas as pd
import pytest
from typer.testing import CliRunner

from letterparse.cli import app
from letterparse.compare import ALL_THEMES, STATS, write_comparison, theme_table
from letterparse.stats import wilson
from letterparse.errors import StoreError
from letterparse.store import open_store
from storefixtures import Doc, frames, sample_letters

W, S = "weakness", "strength"
Z = 1.959963984540054


@pytest.fixture
def store(tmp_path):
    path = tmp_path / "s.duckdb"
    with open_store(path) as s:
        for l in sample_letters():
            s.put_letter(l, "1", "none")
    return path


# Newham (E09000025, London) with Brent and Barking and Dagenham (two of its statistical
# neighbours), Hackney (London, not a neighbour), Leeds (elsewhere) and an unknown authority.
TINY = [
    Doc("n19", "Newham", 2019, (
        (W, ("workforce",)), (W, ("workforce", "leadership_governance")), (W, ("leadership_governance",)),
        (W, ()), (S, ("workforce",)), (W, ("workforce",), "context"),
    ), overall="requires_improvement"),
    Doc("n21", "Newham", 2021, ((W, ("workforce",)), (W, ("workforce",))), overall="good"),
    Doc("b19", "Brent", 2019, ((W, ("workforce",)), (W, ("assessment",))), family="focused_visit", framework="focused_visit"),
    Doc("d21", "Barking and Dagenham", 2021, ((W, ("assessment",)),), overall="good"),
    Doc("h19", "Hackney", 2019, ((W, ("leadership_governance",)),) * 3, overall="inadequate"),
    Doc("l19", "Leeds", 2019, ((W, ("workforce",)),), overall="good"),
    Doc("l16", "Leeds", 2016, ((W, ("assessment",)),), family="sif_report", framework="sif", overall="good"),
    Doc("u19", None, 2019, ((W, ("workforce",)),)),
]


@pytest.fixture
def tiny():
    return frames(TINY)


def rows(t: pd.DataFrame, cols=("theme", "n", "findings"), **match) -> list[tuple]:
    for k, v in match.items():
        t = t[t[k] == v]
    return sorted(tuple(r[c] for c in cols) for _, r in t.iterrows())


# --- Wilson interval --------------------------------------------------------------------


def _wilson_by_quadratic(k: int, n: int) -> tuple[float, float]:
    """Independently: the p with (k/n - p)^2 = z^2 p (1 - p) / n, the two roots of a quadratic."""
    ph = k / n
    a, b, c = 1 + Z * Z / n, -(2 * ph + Z * Z / n), ph * ph
    d = math.sqrt(b * b - 4 * a * c)
    return (-b - d) / (2 * a), (-b + d) / (2 * a)


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [
        (81, 263, 0.2553, 0.3662),  # Newcombe (1998), Statistics in Medicine 17, 857-872, example (a)
        (0, 10, 0.0, 0.2775),  # 0/n: low is exactly 0, high z^2 / (n + z^2)
        (10, 10, 0.7225, 1.0),  # n/n: high is exactly 1
        (1, 1, 0.2065, 1.0),
        (5, 10, 0.2366, 0.7634),
    ],
)
def test_wilson_against_textbook_values(k, n, low, high):
    lo, hi = wilson(k, n)
    assert (round(lo, 4), round(hi, 4)) == (low, high)
    q_lo, q_hi = _wilson_by_quadratic(k, n)
    assert lo == pytest.approx(q_lo, abs=1e-12) and hi == pytest.approx(q_hi, abs=1e-12)


def test_wilson_ends_and_empty():
    for n in range(1, 60):  # exactly 0 and 1 at the ends, no rounding noise
        assert wilson(0, n)[0] == 0.0 and wilson(n, n)[1] == 1.0
        assert wilson(0, n)[1] == pytest.approx(Z * Z / (n + Z * Z)) and wilson(n, n)[0] == pytest.approx(n / (n + Z * Z))
    assert wilson(0, 0) == (None, None)


def test_wilson_agrees_with_scipy():
    stats = pytest.importorskip("scipy.stats")
    for k, n in [(81, 263), (3, 17), (0, 4), (12, 12)]:
        ci = stats.binomtest(k, n).proportion_ci(method="wilson")
        assert wilson(k, n) == pytest.approx((ci.low, ci.high), abs=1e-12)


# --- the table on a store ---------------------------------------------------------------


def test_share_by_authority_and_year(store):
    t = theme_table(store)
    assert list(t.columns) == ["authority", "ons_code", "region", "year", *STATS]
    assert rows(t, ("theme", "n", "letters", "findings", "share"), authority="Newham", year=2019, polarity=W) == [
        ("leadership", 4, 1, 2, 0.5), ("unclassified", 4, 1, 1, 0.25), ("workforce", 4, 1, 2, 0.5)]
    assert rows(t, authority="Newham", year=2019, polarity=S) == [("workforce", 1, 1)]
    assert rows(t, authority="Newham", year=2021, polarity=W) == [("workforce", 2, 2)]
    leeds = t[t.authority == "Leeds"].iloc[0]
    assert (leeds.ons_code, leeds.region, leeds.year, leeds.theme, leeds.share) == (
        "E08000035", "Yorkshire and the Humber", 2019, "leadership", 1.0)
    assert len(t) == 6 and t.small_n.all()
    row = t[(t.authority == "Newham") & (t.year == 2019) & (t.theme == "leadership")].iloc[0]
    assert (row.ci_low, row.ci_high) == pytest.approx(wilson(2, 4))


def test_grouping_and_filters(store):
    by_auth = theme_table(store, by=["authority"])
    assert "year" not in by_auth.columns
    assert rows(by_auth, ("theme", "n", "letters", "findings"), authority="Newham", polarity=W) == [
        ("leadership", 6, 2, 2), ("unclassified", 6, 2, 1), ("workforce", 6, 2, 4)]
    by_year = theme_table(store, by=["YEAR"])
    assert list(by_year.columns) == ["year", *STATS]
    assert rows(by_year, year=2019, polarity=W) == [("leadership", 5, 3), ("unclassified", 5, 1), ("workforce", 5, 2)]
    by_region = theme_table(store, by=["region"], polarity=W)
    assert rows(by_region, region="Yorkshire and the Humber") == [("leadership", 1, 1)]
    assert set(theme_table(store, region="london").authority) == {"Newham"}
    assert set(theme_table(store, family="focused_visit").authority) == {"Leeds"}
    # a theme filter keeps the denominator: workforce is still 2 of Newham's 4 weakness findings in 2019
    wf = theme_table(store, theme="workforce", polarity="Weakness")
    assert rows(wf, ("theme", "n", "findings", "share"), authority="Newham", year=2019) == [("workforce", 4, 2, 0.5)]
    assert set(wf.polarity) == {W}


def test_empty_result_has_the_columns(store):
    t = theme_table(store, region="Atlantis")
    assert list(t.columns) == ["authority", "ons_code", "region", "year", *STATS] and len(t) == 0


# --- judgement findings, more groupings ----------------------------------------------


def test_judgement_findings_by_default_all_findings_on_request(tiny):
    mine = theme_table(tiny, by=["authority", "year"], polarity=W)
    assert rows(mine, authority="Newham", year=2019) == [
        ("leadership_governance", 4, 2), ("unclassified", 4, 1), ("workforce", 4, 2)]
    every = theme_table(tiny, by=["authority", "year"], polarity=W, all_findings=True)
    assert rows(every, authority="Newham", year=2019) == [  # the context finding counts too
        ("leadership_governance", 5, 2), ("unclassified", 5, 1), ("workforce", 5, 3)]
    assert rows(mine, ("theme", "n"), authority="(unknown)") == [("workforce", 1)]


def test_by_family_framework_grade(tiny):
    t = theme_table(tiny, by=["grade", "family", "framework"], polarity=W)
    assert list(t.columns) == ["family", "framework", "grade", *STATS]
    graded = t[t.grade.notna()]
    assert rows(graded, ("grade", "theme", "n", "letters"), family="ilacs_report", theme="workforce") == [
        ("good", "workforce", 4, 3), ("requires_improvement", "workforce", 4, 1)]
    assert rows(graded, ("grade", "theme", "n", "letters"), family="ilacs_report", theme="leadership_governance") == [
        ("inadequate", "leadership_governance", 3, 1), ("requires_improvement", "leadership_governance", 4, 1)]
    ungraded = t[t.grade.isna()]  # Brent's focused visit and the unknown authority's report
    assert sorted(zip(ungraded.family, ungraded.n)) == [("focused_visit", 2), ("focused_visit", 2), ("ilacs_report", 1)]
    # grades sort best first, ungraded first of all
    ilacs = t[t.family == "ilacs_report"]
    assert ilacs.grade.iloc[0] is None or pd.isna(ilacs.grade.iloc[0])
    assert list(dict.fromkeys(ilacs.grade.dropna())) == ["good", "requires_improvement", "inadequate"]
    two = theme_table(tiny, by=["family"], family=["ILACS_report", "sif_report"], framework=["sif"])
    assert set(two.family) == {"sif_report"} and rows(two, ("theme", "n")) == [("assessment", 1)]


def test_small_n_follows_min_n(tiny):
    t = theme_table(tiny, by=["framework"], polarity=W, min_n=12)
    assert dict(zip(t.framework, t.n)) == {"focused_visit": 2, "ilacs": 12, "sif": 1}
    assert dict(zip(t.framework, t.small_n)) == {"focused_visit": True, "ilacs": False, "sif": True}
    assert not theme_table(tiny, by=["framework"], polarity=W, min_n=0).small_n.any()


def test_store_without_judgement_findings_is_a_clear_error(tiny):
    old = {k: v for k, v in tiny.items() if k != "judgement_findings"}
    with pytest.raises(StoreError, match="store lacks judgement_findings: re-run letterparse batch with this version"):
        theme_table(old)
    assert len(theme_table(old, all_findings=True))  # every finding still works from letters + findings
    no_grade = dict(tiny, judgement_findings=tiny["judgement_findings"].drop(columns=["overall"]))
    with pytest.raises(StoreError, match="store lacks overall in judgement_findings"):
        theme_table(no_grade, by=["grade"])


# --- --authority and --vs -------------------------------------------------------------


def test_vs_groups_on_a_tiny_store(tiny):
    t = theme_table(tiny, authority="newham", vs=["neighbours", "region", "england"], polarity=W)
    assert list(t.columns) == ["group", "year", *STATS]
    assert list(dict.fromkeys(t.group)) == ["authority", "neighbours", "region", "england"]
    cols = ("theme", "n", "letters", "findings")
    # the authority: judgement findings only (the context finding is not counted)
    assert rows(t, cols, group="authority", year=2019) == [
        ("leadership_governance", 4, 1, 2), ("unclassified", 4, 1, 1), ("workforce", 4, 1, 2)]
    # assessment listed with 0 because its neighbour has it in 2021
    assert rows(t, cols, group="authority", year=2021) == [("assessment", 2, 1, 0), ("workforce", 2, 1, 2)]
    # like with like: Brent's 2019 document is a focused visit, a family Newham has none of,
    # so the neighbours (Brent, Barking and Dagenham; not Hackney) are only B&D in 2021
    assert rows(t, cols, group="neighbours", year=2019) == []
    assert rows(t, cols, group="neighbours", year=2021) == [("assessment", 1, 1, 1), ("workforce", 1, 1, 0)]
    # region: the other London authorities' reports (Hackney in 2019)
    assert rows(t, cols, group="region", year=2019) == [
        ("leadership_governance", 3, 1, 3), ("unclassified", 3, 1, 0), ("workforce", 3, 1, 0)]
    # England: every other known authority's reports in the authority's years (not Leeds 2016,
    # not the unknown one, not Brent's focused visit)
    assert rows(t, cols, group="england", year=2019) == [
        ("leadership_governance", 4, 2, 3), ("unclassified", 4, 2, 0), ("workforce", 4, 2, 1)]
    assert set(t.year) == {2019, 2021}
    zero = t[(t.group == "authority") & (t.theme == "assessment") & (t.year == 2021)].iloc[0]
    assert (zero.share, zero.ci_low, zero.ci_high) == (0.0, 0.0, pytest.approx(Z * Z / (2 + Z * Z)))


def test_vs_pooled_over_years_with_an_ons_code(tiny):
    t = theme_table(tiny, by=[], authority="E09000025", vs=["england"], polarity=W)
    assert list(t.columns) == ["group", *STATS]
    assert rows(t, ("group", "theme", "n", "findings"), theme="workforce") == [
        ("authority", "workforce", 6, 4), ("england", "workforce", 5, 1)]
    only_auth = theme_table(tiny, authority="Newham", polarity=W)
    assert set(only_auth.group) == {"authority"} and "assessment" not in set(only_auth.theme)


def test_vs_keeps_family_filters(tiny):
    t = theme_table(tiny, authority="Newham", vs=["neighbours"], family=["ilacs_report"], polarity=W)
    assert rows(t, ("year", "theme", "n"), group="neighbours") == [(2021, "assessment", 1), (2021, "workforce", 1)]


def test_packaged_gazetteer_keeps_both_neighbour_lists():
    from letterparse.gazetteer import load_gazetteer

    g = load_gazetteer()
    newham = g.by_name("Newham")
    assert [n.name for n in g.neighbours(newham)][:2] == ["Brent", "Barking and Dagenham"]
    assert len(newham.stat_neighbours_previous) == 10 and newham.stat_neighbours_previous != newham.stat_neighbours
    assert all(g.by_la_code(c) for r in g.records for c in r.stat_neighbours_previous)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"vs": ["england"]}, "--vs needs --authority"),
        ({"authority": "Atlantis"}, "unknown authority 'Atlantis'"),
        ({"authority": "Newham", "by": ["authority"]}, "cannot also group by authority"),
        ({"authority": "Newham", "region": "London"}, "give --region or --authority, not both"),
        ({"authority": "Cornwall"}, "Cornwall: no judgement findings in this store"),
        ({"authority": "Newham", "vs": ["county"]}, "unknown comparison 'county'; use one of: neighbours, region, england"),
        ({"by": ["colour"]}, "cannot group by colour; use one of: authority, region, family, framework, year, grade"),
        ({"family": ["ilacs"]}, "unknown family 'ilacs'; use one of: ucra_letter, focused_visit, jtai_letter"),
        ({"framework": ["ILACS", "sift"]}, "unknown framework 'sift'; use one of: ucra, jar, lac, sif, ilacs"),
        ({"polarity": "bad"}, "unknown polarity 'bad'; use one of: strength, satisfactory, weakness, priority, neutral"),
        ({"theme": "money"}, "unknown theme 'money'; use one of: leadership_governance,"),
    ],
)
def test_bad_options_are_errors_that_list_the_valid_ones(tiny, kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        theme_table(tiny, **kwargs)


def test_theme_error_lists_every_theme_and_unclassified(tiny):
    with pytest.raises(ValueError) as exc:
        theme_table(tiny, theme="money")
    assert str(exc.value).endswith(", ".join(ALL_THEMES)) and ALL_THEMES[-1] == "unclassified"
    assert set(theme_table(tiny, theme="UNCLASSIFIED").theme) == {"unclassified"}


# --- outputs ------------------------------------------------------------------------------


def test_outputs(store, tmp_path):
    csv, md, js = tmp_path / "c.csv", tmp_path / "c.md", tmp_path / "c.json"
    heat, trend = tmp_path / "h.png", tmp_path / "t.png"
    t = write_comparison(store, csv, heatmap=heat, trends=trend)
    back = pd.read_csv(csv)
    assert list(back.columns) == list(t.columns) and len(back) == len(t) == 6
    assert back[(back.authority == "Newham") & (back.year == 2019) & (back.theme == "unclassified")].share.tolist() == [0.25]
    write_comparison(store, md, by=["authority"])
    lines = md.read_text().splitlines()
    assert lines[0] == "| authority | ons_code | region | " + " | ".join(STATS) + " |"
    assert "| Newham | E09000025 | London | workforce | weakness | 6 | 2 | 4 | 0.6667 | 0.3000 | 0.9032 | True |" in lines
    write_comparison(store, js, by=["year"], polarity="weakness")
    recs = json.loads(js.read_text())
    assert recs[0] == {"year": 2019, "theme": "leadership", "polarity": "weakness", "n": 5, "letters": 2, "findings": 3,
                       "share": 0.6, "ci_low": pytest.approx(0.2307, abs=1e-4), "ci_high": pytest.approx(0.8824, abs=1e-4),
                       "small_n": True}
    for png in (heat, trend):
        data = png.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000


def test_bad_output_suffix_fails_before_reading_the_store(tmp_path):
    with pytest.raises(ValueError, match="give a .csv, .md or .json output file"):
        write_comparison(tmp_path / "no-such-store.duckdb", tmp_path / "c.xlsx")


def test_frames_work_in_place_of_a_store(tiny, tmp_path):
    t = write_comparison(tiny, tmp_path / "c.csv", authority="Newham", vs=["region"], heatmap=tmp_path / "h.png")
    assert set(t.group) == {"authority", "region"} and (tmp_path / "h.png").stat().st_size > 0


# --- the command ----------------------------------------------------------------------------


def test_cli_compare(store, tmp_path):
    out = tmp_path / "c.csv"
    res = CliRunner().invoke(app, ["compare", str(store), "--by", "authority", "--by", "year", "--polarity", "weakness",
                                   "--out", str(out), "--heatmap", str(tmp_path / "h.png")])
    assert res.exit_code == 0, res.output
    assert set(pd.read_csv(out).polarity) == {"weakness"}
    assert (tmp_path / "h.png").stat().st_size > 0


def test_cli_compare_to_stdout(store):
    res = CliRunner().invoke(app, ["compare", str(store), "--by", "year", "--out", "-", "--min-n", "3"])
    assert res.exit_code == 0, res.output
    assert res.stdout.splitlines()[0] == "year," + ",".join(STATS)
    assert "2019,leadership,weakness,5,2,3,0.6,0.230724,0.882379,False" in res.stdout.splitlines()
    res = CliRunner().invoke(app, ["compare", str(store), "--by", "year", "--out", "-", "--format", "json", "--theme", "workforce"])
    assert res.exit_code == 0 and {r["theme"] for r in json.loads(res.stdout)} == {"workforce"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--by", "colour"], "cannot group by colour; use one of: authority, region,"),
        (["--family", "ilacs"], "unknown family 'ilacs'; use one of: ucra_letter,"),
        (["--framework", "sift"], "unknown framework 'sift'; use one of: ucra,"),
        (["--theme", "money"], "unknown theme 'money'; use one of: leadership_governance,"),
        (["--polarity", "bad"], "unknown polarity 'bad'; use one of: strength,"),
        (["--authority", "Newham", "--vs", "county"], "unknown comparison 'county'; use one of: neighbours, region, england"),
        (["--vs", "england"], "--vs needs --authority"),
        (["--authority", "Atlantis"], "unknown authority 'Atlantis'"),
        (["--format", "xlsx"], "unknown format 'xlsx'; use one of: csv, md, json"),
    ],
)
def test_cli_compare_errors(store, tmp_path, args, message):
    res = CliRunner().invoke(app, ["compare", str(store), "--out", str(tmp_path / "c.csv"), *args])
    assert res.exit_code == 1, res.output
    assert f"Error: {message}" in res.stderr and "Traceback" not in res.output
    assert not (tmp_path / "c.csv").exists()


def test_cli_compare_store_errors(tmp_path):
    res = CliRunner().invoke(app, ["compare", str(tmp_path / "none.duckdb"), "--out", str(tmp_path / "c.csv")])
    assert res.exit_code == 1 and "Error: " in res.stderr and "no such store" in res.stderr and "Traceback" not in res.output
    res = CliRunner().invoke(app, ["compare", str(tmp_path / "none.duckdb"), "--out", str(tmp_path / "c.xlsx")])
    assert res.exit_code == 1 and "give a .csv, .md or .json output file" in res.stderr


def test_cli_compare_html_is_gone_for_the_report(store, tmp_path):
    res = CliRunner().invoke(app, ["compare", str(store), "--html", str(tmp_path / "r.html")])
    assert res.exit_code == 2 and "No such option: --html" in res.output
    assert not (tmp_path / "r.html").exists()
    assert "letterparse report" in CliRunner().invoke(app, ["compare", "--help"]).output
