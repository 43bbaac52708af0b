"""The store's views (inspections, judgement_findings) and the timeline, transitions and
recurring tables, on invented letters: a reorganised authority (Northamptonshire ->
North and West Northamptonshire), ungraded visits between graded reports, a context
section whose findings must not count."""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd
import pytest
from typer.testing import CliRunner

import letterparse
from letterparse.cli import app
from letterparse.errors import StoreError
from letterparse.model import Authority, Finding, Inspection, Letter, Section, Source, Span, ThemeScore
from letterparse.stats import wilson
from letterparse.store import VIEW_COLUMNS, open_store
from letterparse.timeline import recurring, recurring_england, resolve_authority, timeline, transitions
from storefixtures import write_store

W, S, P = "weakness", "strength", "priority"


def doc(tag: str, name: str, ons: str, end: date, framework: str, overall: str | None,
        judged: list[tuple[str, tuple[str, ...]]], context: list[tuple[str, tuple[str, ...]]] = ()) -> Letter:
    sha = (tag * 64)[:64]

    def fs(sid, items):
        return tuple(
            Finding(f"{sid}.f{i}", f"invented finding {sid}.{i}", (Span(2, 10 * i, 10 * i + 5),), pol,
                    tuple(ThemeScore(t, 0.9) for t in th))
            for i, (pol, th) in enumerate(items, start=1)
        )

    family = {"sif": "sif_report", "ilacs": "ilacs_report", "focused_visit": "focused_visit"}[framework]
    grades = (("overall_effectiveness", overall),) if overall else ()
    raw = (("overall_effectiveness", overall.replace("_", " ") + (" to be good" if overall == "requires_improvement" else "")),) if overall else ()
    return Letter(
        source=Source(f"/x/{tag}.pdf", sha, 3, "pdfium"), text="x" * 300, family=family, framework=framework,
        authority=Authority(name, name, ons, None), published=end, inspection=Inspection(None, end, ()),
        grades=grades, grades_raw=raw,
        sections=(
            Section("s1", "Areas for improvement", "improvements", 1, fs("s1", judged)),
            Section("s2", "Information about this area", "other", 1, fs("s2", list(context)), role="context"),
        ),
    )


NN, WN, NH = "North Northamptonshire", "West Northamptonshire", "Newham"


def letters() -> list[Letter]:
    return [
        doc("1", "Northamptonshire", "E10000021", date(2016, 3, 1), "sif", "inadequate",
            [(W, ("workforce",)), (P, ("workforce", "leadership_governance")), (S, ("child_voice",))],
            context=[(W, ("workforce",))] * 4),
        doc("2", "Northamptonshire", "E10000021", date(2019, 6, 1), "focused_visit", None, [(W, ("workforce",))]),
        doc("3", NN, "E06000061", date(2022, 10, 1), "ilacs", "requires_improvement",
            [(W, ("workforce",)), (W, ("leadership_governance",))]),
        doc("4", WN, "E06000062", date(2022, 10, 8), "ilacs", "good", [(W, ("leadership_governance",))]),
        doc("5", NH, "E09000025", date(2018, 1, 10), "ilacs", "good", [(W, ("timeliness",))]),
        doc("6", NH, "E09000025", date(2022, 9, 30), "ilacs", "good", [(S, ("timeliness",))],
            context=[(W, ("timeliness",))]),
    ]


@pytest.fixture(params=["s.duckdb", "s.jsonl", "s_parquet"])
def store(request, tmp_path):
    return write_store(tmp_path / request.param, letters(), "2")


def sha(tag: str) -> str:
    return tag * 64


def test_inspections_view_follows_predecessors_and_grades(store):
    ins = letterparse.load(store)["inspections"]
    assert list(ins.columns) == list(VIEW_COLUMNS["inspections"])
    row = ins.set_index("sha256").loc
    nn = row[sha("3")]
    # previous graded: Northamptonshire's SIF report; previous event: its focused visit
    assert (nn["previous_sha256"], nn["previous_overall"], nn["direction"]) == (sha("1"), "inadequate", "improved")
    assert nn["previous_event_sha256"] == sha("2")
    assert nn["days_since_previous"] == (date(2022, 10, 1) - date(2016, 3, 1)).days
    assert nn["overall_raw"] == "requires improvement to be good"
    assert row[sha("4")]["previous_sha256"] == sha("1")  # West Northamptonshire too
    assert row[sha("6")]["direction"] == "same"
    # ungraded visit: a previous graded document, but no direction
    fv = row[sha("2")]
    assert fv["previous_sha256"] == sha("1") and fv["direction"] is None or fv["direction"] != fv["direction"]
    # the first document of an authority has no predecessor
    assert ins.set_index("sha256")["previous_sha256"].isna()[[sha("1"), sha("5")]].all()


def test_judgement_findings_leave_out_context_sections(store):
    jf = letterparse.load(store)["judgement_findings"]
    assert list(jf.columns) == list(VIEW_COLUMNS["judgement_findings"])
    assert set(jf["role"]) == {"judgement"}
    assert len(jf) == 3 + 1 + 2 + 1 + 1 + 1  # the 5 context findings are not there
    assert jf.loc[jf["sha256"] == sha("3"), "framework"].unique().tolist() == ["ilacs"]


def test_duckdb_store_answers_sql_with_the_same_views(tmp_path):
    path = tmp_path / "s.duckdb"
    with open_store(path) as s:
        for l in letters():
            s.put_letter(l, "2", "none")
    con = duckdb.connect(str(path), read_only=True)
    try:
        rows = con.execute(
            "SELECT previous_overall, overall, count(*) FROM inspections "
            "WHERE overall IS NOT NULL AND previous_overall IS NOT NULL GROUP BY ALL ORDER BY ALL"
        ).fetchall()
        n = con.execute("SELECT count(*) FROM judgement_findings").fetchone()[0]
    finally:
        con.close()
    assert rows == [("good", "good", 1), ("inadequate", "good", 1), ("inadequate", "requires_improvement", 1)]
    assert n == 9


def test_timeline_of_a_reorganised_authority(store):
    t = timeline(store, authority="north northamptonshire")
    assert list(t["sha256"]) == [sha("1"), sha("2"), sha("3")]
    first = t.iloc[0]
    assert (first["strengths"], first["weaknesses"], first["priorities"]) == (1, 1, 1)
    assert first["top_weakness_themes"] == "workforce (2); leadership_governance (1)"
    assert timeline(store, authority="E06000061")["sha256"].tolist() == list(t["sha256"])
    with pytest.raises(ValueError, match="unknown authority"):
        timeline(store, authority="Atlantis")


def test_transitions_count_every_grade_pair(store):
    t = transitions(store)
    all_ = t[t["scope"] == "all"].set_index(["previous_overall", "overall"])
    assert len(all_) == 16
    assert all_.loc[("inadequate", "requires_improvement"), "inspections"] == 1
    assert all_.loc[("inadequate", "good"), "n"] == 2
    assert all_.loc[("inadequate", "good"), "share"] == 0.5
    assert all_.loc[("outstanding", "good"), "n"] == 0 and pd.isna(all_.loc[("outstanding", "good"), "share"])
    assert set(t["scope"]) == {"all", "sif -> ilacs", "ilacs -> ilacs"}


def test_recurring_runs_and_evidence(store):
    r = recurring(store)
    nn = r[(r["authority"] == NN) & (r["theme"] == "workforce")].iloc[0]
    assert (nn["events"], nn["of_events"], nn["ongoing"]) == (3, 3, True)
    assert nn["sha256s"] == [sha("1"), sha("2"), sha("3")]
    assert nn["evidence"][0] == f"{sha('1')[:16]}#s1.f1 p.2"
    assert len(nn["evidence"]) == 4  # two in the SIF report, one in the visit, one in the ILACS report
    wn = r[(r["authority"] == WN) & (r["theme"] == "workforce")].iloc[0]
    assert (wn["events"], wn["ongoing"]) == (2, False)
    assert "Northamptonshire" not in set(r["authority"])  # reported within its successors
    # Newham's 2022 timeliness weakness is in a context section: no recurrence
    assert r[r["authority"] == NH].empty
    e = recurring_england(store).set_index("theme")
    assert (e.loc["workforce", "authorities"], e.loc["workforce", "n"]) == (2, 3)
    assert e.loc["workforce", "ci_low"] == pytest.approx(wilson(2, 3)[0])


def test_resolve_authority():
    assert resolve_authority("newham") == NH
    assert resolve_authority("e09000025") == NH


def test_commands_write_tables_and_fail_clearly(store, tmp_path):
    runner = CliRunner()
    for cmd, extra in (("timeline", ["--authority", "Newham"]), ("transitions", []), ("recurring", []), ("recurring", ["--england"])):
        out = tmp_path / f"{cmd}.csv"
        res = runner.invoke(app, [cmd, str(store), "--out", str(out), *extra])
        assert res.exit_code == 0, res.output
        assert out.read_text().splitlines()[0].count(",") >= 4
        res = runner.invoke(app, [cmd, str(store), "--out", "-", *extra])
        assert res.exit_code == 0 and res.stdout.count("\n") >= 2
    # a store that lacks what the commands need
    bare = tmp_path / "empty.duckdb"
    with open_store(bare):
        pass
    for cmd in ("timeline", "transitions", "recurring"):
        res = runner.invoke(app, [cmd, str(bare), "--out", str(tmp_path / "x.csv")])
        assert res.exit_code == 1 and res.stderr.startswith("Error: ") and "no letters" in res.stderr
        assert "Traceback" not in res.output
    res = runner.invoke(app, ["timeline", str(store), "--authority", "Atlantis", "--out", "-"])
    assert res.exit_code == 1 and "unknown authority" in res.stderr
    res = runner.invoke(app, ["transitions", str(store), "--out", str(tmp_path / "t.xlsx")])
    assert res.exit_code == 1 and ".xlsx" in res.stderr


def test_frames_without_views_are_a_clear_error():
    import pandas as pd

    with pytest.raises(StoreError, match="lacks judgement_findings"):
        timeline({"inspections": pd.DataFrame({"sha256": ["a"]})})


def test_a_store_from_an_earlier_version_is_refused_with_the_way_out(tmp_path):
    """Rows written before frameworks and roles existed would drop out of every comparison
    silently; the commands say so and how to re-parse them."""
    path = tmp_path / "old.duckdb"
    with open_store(path) as s:
        for l in letters():
            s.put_letter(l, "2", "none")
    con = duckdb.connect(str(path))
    con.execute("UPDATE letters SET framework = NULL, parser_version = '1' WHERE sha256 LIKE '1%' OR sha256 LIKE '2%'")
    con.execute("UPDATE findings SET role = NULL WHERE sha256 LIKE '1%' OR sha256 LIKE '2%'")
    con.close()
    runner = CliRunner()
    for cmd in (["timeline"], ["transitions"], ["recurring"], ["compare"]):
        res = runner.invoke(app, [*cmd, str(path), "--out", "-"])
        assert res.exit_code == 1, (cmd, res.output)
        assert "2 of 6 letters were written by an earlier letterparse (parser version 1)" in res.stderr
        assert "--resume" in res.stderr and "Traceback" not in res.output
