"""The command line: every command documented, JSON on stdout, messages on stderr."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from letterparse.cli import app
from letterparse.io import validate
from conftest import ROOT

COMMANDS = sorted(c.name or c.callback.__name__ for c in app.registered_commands)


def test_commands_are_the_documented_ones():
    assert set(COMMANDS) >= {"extract", "batch", "compare", "evaluate", "train", "fetch", "timeline", "transitions", "recurring"}


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_has_help_with_an_example_and_is_in_the_readme(name):
    result = CliRunner().invoke(app, [name, "--help"])
    assert result.exit_code == 0
    assert "Example" in result.stdout
    assert f"letterparse {name}" in (ROOT / "README.md").read_text("utf-8")


def test_extract_prints_one_valid_json_object(samples):
    result = CliRunner().invoke(app, ["extract", str(samples / "2022_wirral_jtai.pdf")])
    assert result.exit_code == 0, result.stderr
    d = json.loads(result.stdout)
    validate(d)
    assert d["family"] == "jtai_letter" and d["authority"]["name"] == "Wirral"
    # judgement sections' findings have themes; the standard "next steps" paragraph (a
    # context section) is boilerplate, which the labelling guide gives no theme
    assert all(f["themes"] for s in d["sections"] if s["role"] == "judgement" for f in s["findings"][:1])


def test_extract_several_files_gives_json_lines(samples):
    files = [str(samples / "2019_leeds_focused_visit.pdf"), str(samples / "2023_somerset_ilacs.pdf")]
    result = CliRunner().invoke(app, ["extract", "--no-themes", *files])
    assert result.exit_code == 0
    lines = result.stdout.strip().splitlines()
    assert [json.loads(x)["authority"]["name"] for x in lines] == ["Leeds", "Somerset"]


def test_extract_explain_adds_terms(samples):
    result = CliRunner().invoke(app, ["extract", "--explain", str(samples / "2019_leeds_focused_visit.pdf")])
    assert result.exit_code == 0
    f = json.loads(result.stdout)["sections"][1]["findings"][0]
    assert set(f["explain"]) == {"scores", "terms"}
    assert any(f["explain"]["terms"].values())


def test_version_names_the_package_and_parser_versions():
    from letterparse import PARSER_VERSION, __version__

    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"letterparse {__version__} (parser {PARSER_VERSION})"


def test_python_dash_m_works():
    out = subprocess.run([sys.executable, "-m", "letterparse", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "extract" in out.stdout


@pytest.mark.parametrize("themes", [[], ["--no-themes"]])
def test_console_script_extract_equals_the_library_parse(samples, themes):
    """``python -m letterparse extract`` (the console script's path: its forkserver
    started before the CLI is imported, no lemma caches filled first) prints
    the letter the library parses in this process."""
    from letterparse import parse
    from letterparse.io import dumps

    pdf = samples / "2023_somerset_ilacs.pdf"
    out = subprocess.run([sys.executable, "-m", "letterparse", "extract", *themes, str(pdf)],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout == dumps(parse(pdf, themes=not themes).to_dict(), indent=2) + "\n"


def test_console_script_extract_ends_with_the_right_status_and_cleans_up(samples, tmp_path):
    """``extract`` ends without the interpreter's teardown (``__main__``): the exit
    status is still 0, 1 or 2 as the CLI decides, stdout is whole, and
    multiprocessing's clean-up (its temporary folder) has run."""
    import os

    env = {**os.environ, "TMPDIR": str(tmp_path)}

    def run(*args):
        return subprocess.run([sys.executable, "-m", "letterparse", "extract", *args], capture_output=True,
                              text=True, timeout=300, env=env)

    ok = run(str(samples / "2019_leeds_focused_visit.pdf"), str(samples / "2023_somerset_ilacs.pdf"))
    assert ok.returncode == 0 and len([json.loads(x) for x in ok.stdout.splitlines()]) == 2
    missing = run(str(samples / "2023_somerset_ilacs.pdf"), str(tmp_path / "gone.pdf"))
    assert missing.returncode == 1 and "no such file" in missing.stderr and json.loads(missing.stdout)
    assert run("--bogus").returncode == 2
    assert not list(tmp_path.glob("pymp-*"))


@pytest.mark.parametrize("command", ["extract", "batch", "compare"])
def test_console_script_tunes_the_collector_only_for_the_commands_that_parse(command):
    """``extract`` and ``batch`` run with the workers' collector settings
    (:func:`letterparse.batch.tune_gc`); other commands keep Python's."""
    import gc

    from letterparse.batch import GC_THRESHOLD

    code = (
        "import gc, sys\n"
        "from letterparse.__main__ import main\n"
        "sys.argv = ['letterparse', sys.argv[1], '--help']\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    sys.stderr.write(f'{gc.get_threshold()[0]} {gc.get_freeze_count() > 0}\\n')\n"
    )
    out = subprocess.run([sys.executable, "-c", code, command], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    tuned = command in ("extract", "batch")
    assert out.stderr.split()[-2:] == [str(GC_THRESHOLD if tuned else gc.get_threshold()[0]), str(tuned)]


def test_console_script_batch_ends_with_the_right_status_and_a_whole_store(samples, tmp_path):
    """``batch`` also ends without the interpreter's teardown: its exit status (0, or
    1 when a file failed), its whole summary on stderr, a store that another process
    reads in full, and multiprocessing's temporary folder removed."""
    import os

    import duckdb

    env = {**os.environ, "TMPDIR": str(tmp_path)}
    bad = tmp_path / "inputs" / "broken.pdf"
    bad.parent.mkdir()
    bad.write_bytes(b"%PDF-1.4 not really")

    def run(*args):
        return subprocess.run([sys.executable, "-m", "letterparse", "batch", *args], capture_output=True,
                              text=True, timeout=300, env=env)

    pdfs = [str(samples / "2019_leeds_focused_visit.pdf"), str(samples / "2023_somerset_ilacs.pdf")]
    ok = run(*pdfs, "--out", str(tmp_path / "ok.duckdb"), "--workers", "1")
    assert ok.returncode == 0, ok.stderr
    assert "2 files: 2 parsed, 0 skipped, 0 errors" in ok.stderr
    failed = run(*pdfs, str(bad), "--out", str(tmp_path / "failed.duckdb"), "--workers", "1")
    assert failed.returncode == 1 and "3 files: 2 parsed, 0 skipped, 1 errors" in failed.stderr
    for name, errors in (("ok.duckdb", 0), ("failed.duckdb", 1)):
        with duckdb.connect(str(tmp_path / name), read_only=True) as con:
            assert con.execute("SELECT count(*) FROM letters").fetchone() == (2,)
            assert con.execute("SELECT count(*) FROM findings").fetchone()[0] > 10
            assert con.execute("SELECT count(*) FROM errors").fetchone() == (errors,)
    assert not list(tmp_path.glob("pymp-*"))


def test_import_is_light():
    code = "import sys, letterparse; print(sorted(m for m in ('pypdfium2','pdfplumber','spacy','sklearn','duckdb','pandas','matplotlib') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "[]"


def test_readme_library_example_runs(samples, capsys):
    readme = (ROOT / "README.md").read_text("utf-8")
    code = readme.split("```python\n", 1)[1].split("```", 1)[0]
    exec(code.replace('"letter.pdf"', repr(str(samples / "2019_leeds_focused_visit.pdf"))), {})
    out = capsys.readouterr().out
    assert "improvements What needs to improve in this area of social work practice? 4" in out
    assert "Leeds 2019-03-05" in out


def test_readme_setup_commands_are_exactly_two_and_ci_runs_the_test_one():
    readme = (ROOT / "README.md").read_text("utf-8")
    setup = readme.split("## Set up", 1)[1].split("\n## ", 1)[0]
    blocks = [b.split("```", 1)[0].strip() for b in setup.split("```\n")[1::2]]
    assert len(blocks) == 2
    ci = (ROOT / ".ci" / "run").read_text("utf-8")
    assert 'pip install -q -e ".[test]"' in blocks[1] and 'pip install -q -e ".[test]"' in ci
    assert "pytest -q" in blocks[1] and "pytest -q" in ci


def test_evaluate_refuses_an_unknown_split_and_works_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # outside the checkout: defaults come from the package
    res = CliRunner().invoke(app, ["evaluate", "--split", "bogus"])
    assert res.exit_code == 1
    assert res.stderr.strip() == "Error: unknown split 'bogus'; use one of: dev, heldout, unseen"
    empty = tmp_path / "corpus"
    empty.mkdir()
    res = CliRunner().invoke(app, ["evaluate", "--corpus", str(empty), "--split", "dev"])
    assert res.exit_code == 1 and "nothing to score" in res.stderr and "1.000" not in res.stdout
