"""Print the README's comparison tables (markdown) from a store of the shared corpus.

    letterparse batch ../shared/corpus/*/ --out corpus.duckdb --workers 2
    python scripts/readme_tables.py corpus.duckdb > /tmp/tables.md

Every table is the output of a command (named above it), with columns left out for
width; nothing but counts, codes, grades and theme ids (no corpus text).
"""

from __future__ import annotations

import sys

import letterparse
from letterparse.compare import theme_table
from letterparse.tables import render
from letterparse.timeline import recurring, recurring_england, timeline, transitions
from letterparse.vocab import GRADES


def _md(df) -> str:
    return render(df, "md")


def main(store: str) -> None:
    frames = letterparse.load(store)
    ins = frames["inspections"]
    print(f"<!-- {len(ins)} documents, {len(frames['judgement_findings'])} judgement findings, parser {frames['letters']['parser_version'].iloc[0]} -->\n")

    print("`letterparse transitions corpus.duckdb` (scope `all`; a cell is inspections / n, n = graded documents whose previous graded document had that grade):\n")
    t = transitions(frames)
    t = t[t["scope"] == "all"]
    cell = {(r.previous_overall, r.overall): f"{r.inspections}/{r.n}" for r in t.itertuples()}
    rows = [{"previous \\ current": p, **{c: cell[(p, c)] for c in GRADES}} for p in GRADES]
    import pandas as pd

    print(_md(pd.DataFrame(rows)))

    print("`letterparse timeline corpus.duckdb --authority \"North Northamptonshire\"` (columns abridged):\n")
    tl = timeline(frames, authority="North Northamptonshire")
    tl = tl.assign(sha256=tl["sha256"].str[:12], previous_sha256=tl["previous_sha256"].str[:12])
    print(_md(tl[["sha256", "framework", "event_date", "overall", "previous_sha256", "direction", "days_since_previous",
                  "strengths", "weaknesses", "priorities", "top_weakness_themes"]]))

    print("`letterparse recurring corpus.duckdb --england` (first 8 rows):\n")
    print(_md(recurring_england(frames).head(8)))

    r = recurring(frames)
    print(f"`letterparse recurring corpus.duckdb` ({len(r)} runs; the longest 5, evidence abridged to its count):\n")
    top = r.sort_values(["events", "authority", "theme"], ascending=[False, True, True]).head(5)
    top = top.assign(evidence=top["evidence"].map(len)).drop(columns=["sha256s"])
    print(_md(top))

    print("`letterparse compare corpus.duckdb --authority Newham --vs neighbours --vs region --vs england "
          "--polarity weakness --theme workforce --by framework`:\n")
    c = theme_table(frames, by=["framework"], authority="Newham", vs=["neighbours", "region", "england"],
                    polarity="weakness", theme="workforce")
    print(_md(c))


if __name__ == "__main__":
    main(sys.argv[1])
