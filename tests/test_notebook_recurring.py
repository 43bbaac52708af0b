"""Execute notebooks/recurring_weaknesses.ipynb on the whole shared corpus (the session's
`corpus_store`) and check what it prints: the tables with their n, one plot, no errors; and
that the committed notebook carries no outputs and no numbers typed into its prose."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.corpus

NOTEBOOK = Path(__file__).parents[1] / "notebooks" / "recurring_weaknesses.ipynb"
# numbers the prose may carry: section numbers, the framework years, the interval level
PROSE_NUMBERS = {"1", "2", "3", "4", "2014", "18", "2018", "95"}


@pytest.fixture(scope="module")
def executed(corpus_store, tmp_path_factory):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LETTERPARSE_STORE", str(corpus_store))
        workdir = tmp_path_factory.mktemp("nb-recurring")
        nbclient.NotebookClient(
            nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(workdir)}}
        ).execute()
    return nb


def _outputs(nb):
    return [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]


@pytest.fixture(scope="module")
def printed(executed) -> str:
    """Printed lines and the plain-text reprs of the tables."""
    return "\n".join(o.get("text", "") + str(o.get("data", {}).get("text/plain", "")) for o in _outputs(executed))


def _number(text: str, pattern: str) -> int:
    m = re.search(pattern, text)
    assert m, f"no line matching {pattern!r}"
    return int(m.group(1))


def test_runs_without_errors_and_draws_one_plot(executed):
    outputs = _outputs(executed)
    assert [o.get("ename") for o in outputs if o.get("output_type") == "error"] == []
    assert sum("image/png" in o.get("data", {}) for o in outputs) == 1


def test_counts_authorities_with_a_graded_transition(printed):
    authorities = _number(printed, r"authorities with a graded transition: (\d+)")
    transitions = _number(printed, r"graded transitions \(documents\): (\d+)")
    declined = _number(printed, r"n \(declined\): (\d+) authorities")
    other = _number(printed, r"n \(improved or same\): (\d+) authorities")
    assert authorities >= 30
    assert transitions >= authorities  # every such authority has at least one transition
    assert declined >= 5 and other >= 5  # both groups are there to compare
    assert declined + other <= authorities


@pytest.mark.parametrize("header", [
    r"previous_overall\b.*",  # the transition table
    r"direction\s+improved\s+same\s+declined\s+n\b",  # transitions by framework pair, with n
    r"authorities\s+n\s+median_judgement_events",  # authorities by latest direction, with n
    r"authorities_declined\s+n_declined\s+share_declined\s+ci_low_declined\s+ci_high_declined",
])
def test_prints_the_tables_with_their_n(printed, header):
    assert re.search(header, printed)


def test_transition_table_rows_sum_to_their_n(executed):
    reprs = [str(o.get("data", {}).get("text/plain", "")) for o in _outputs(executed)]
    table = next(r for r in reprs if r.lstrip().startswith("overall") and "previous_overall" in r)
    rows = [line.split() for line in table.splitlines() if line.split()[0] in {"outstanding", "good", "requires_improvement", "inadequate"}]
    assert len(rows) == 4
    for row in rows:
        *counts, n = (int(x) for x in row[1:])
        assert sum(counts) == n, row


def test_results_are_written_as_sentences(printed):
    assert "Recurring at any time:" in printed
    assert "Still recurring at the latest judgement event:" in printed
    assert re.search(r"- \w+: \d+ of \d+ declined \(\d+%, 95% CI \d+%-\d+%\) vs \d+ of \d+ improved or same", printed)


def test_committed_notebook_has_no_outputs_and_no_numbers_in_its_prose():
    nbformat = pytest.importorskip("nbformat")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code)
    prose = " ".join(c.source for c in nb.cells if c.cell_type == "markdown")
    prose = re.sub(r"```.*?```", "", prose, flags=re.S)  # commands may hold numbers
    assert set(re.findall(r"\d+", prose)) <= PROSE_NUMBERS
