"""Batch runs on real corpus PDFs plus bad files: errors rows, resume, timeouts, dask."""

from __future__ import annotations

import os
import os
import shutil
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

import letterparse
from letterparse.batch import collect_inputs, parse_task, run_batch

CORPUS = (Path(__file__).parents[1] / "../shared/corpus").resolve()
PICK = [
    "focused-visit/2018-03-01_80511_newham.pdf",
    "focused-visit/2018-03-01_80532_northumberland.pdf",
    "area-send/2023-09-15_80536_oxfordshire.pdf",
]


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    if not all((CORPUS / p).exists() for p in PICK):
        pytest.skip("../shared/corpus is not here")
    d = tmp_path / "in"
    (d / "sub").mkdir(parents=True)
    for i, p in enumerate(PICK):
        shutil.copy(CORPUS / p, (d / "sub" if i == 0 else d) / Path(p).name)
    shutil.copy(CORPUS / PICK[1], d / "sub" / "duplicate.pdf")  # same bytes: parsed once
    (d / "error_page.pdf").write_text("<!DOCTYPE html><html><body>404 Not Found</body></html>")
    (d / "empty.pdf").write_bytes(b"")
    (d / "garbage.pdf").write_bytes(bytes(range(256)) * 20)
    (d / "notes.csv").write_text("ignored,by,suffix\n")
    return d


SPIN = ".spins.pdf"  # with the hook on, parsing a file whose path ends so never finishes
LIMIT = 1.0  # seconds per file in the timeout tests: the spinning file reaches it; a good one parses in ~0.1 s


def _stop_forkserver() -> None:
    """Stop this process's forkserver (with the helper multiprocessing's own tests use):
    a batch's workers are forked from it and see the environment it started with, so
    the next batch must start a fresh one to see a change in LETTERPARSE_TEST_SPIN."""
    from multiprocessing import forkserver

    forkserver._forkserver._stop()


@pytest.fixture
def spinning(monkeypatch):
    """Turns on the test-only hook in letterparse.extract: in a batch's workers, reading
    a file whose path ends in SPIN sleeps until the worker is killed.  Gives a function
    that turns it off again (it is off again after the test)."""

    def turn(on: bool) -> None:
        if on:
            monkeypatch.setenv("LETTERPARSE_TEST_SPIN", SPIN)
        else:
            monkeypatch.delenv("LETTERPARSE_TEST_SPIN", raising=False)
        _stop_forkserver()

    turn(True)
    yield lambda: turn(False)
    if "LETTERPARSE_TEST_SPIN" in os.environ:
        turn(False)


def _spinning_file(folder: Path, size: int = 1 << 20) -> Path:
    """A file that, with the hook on, never finishes parsing; larger than the other
    inputs, so a batch (largest first) starts it first."""
    path = folder / f"never_finishes{SPIN}"
    path.write_bytes(b"%PDF-1.7\n" + b"%" * size)
    return path


def counts(store) -> dict[str, int]:
    return {k: len(v) for k, v in letterparse.load(store).items()}


def test_collect_inputs_dedups_and_sorts(inputs):
    files, dups, ignored = collect_inputs([inputs])
    names = [Path(p).name for p, _ in files]
    assert dups == 1 and ignored == 1  # notes.csv: counted, not read
    assert len(files) == 6 and "notes.csv" not in names
    assert [p for p, _ in files] == sorted(p for p, _ in files)


@pytest.mark.parametrize("store", ["b.duckdb", "b.jsonl", "b_parquet"])
def test_batch_errors_then_resume(inputs, tmp_path, store):
    out = tmp_path / store
    r = run_batch([inputs], out, workers=2, themes=False, progress=False)
    assert (r.total, r.parsed, r.failed, r.skipped, r.duplicates, r.ignored) == (6, 3, 3, 0, 1, 1)
    assert r.summary().endswith("; 1 other files in the folders not read (only .pdf and .txt are)")
    assert not r.ok and r.pages > 3
    t = letterparse.load(out)
    assert sorted(t["errors"]["error"]) == ["empty_file", "not_a_pdf", "not_a_pdf"]
    assert dict(zip(t["errors"].path.map(lambda p: Path(p).name), t["errors"].error)) == {
        "empty.pdf": "empty_file", "error_page.pdf": "not_a_pdf", "garbage.pdf": "not_a_pdf"}
    assert sorted(t["letters"].authority) == ["Newham", "Northumberland", "Oxfordshire"]
    assert set(t["letters"].parser_version) == {letterparse.PARSER_VERSION}
    assert set(t["letters"].model_version) == {"none"}
    assert len(t["findings"]) > 20 and set(t["findings"].sha256) <= set(t["letters"].sha256)
    before = counts(out)

    r2 = run_batch([inputs], out, workers=2, themes=False, progress=False, resume=True)
    assert (r2.parsed, r2.skipped, r2.failed) == (0, 3, 3)  # errors are retried, parsed files skipped
    assert counts(out) == before

    # the broken download is fixed: the same path now holds a real PDF
    shutil.copy(CORPUS / "focused-visit/2018-03-09_80554_solihull.pdf", inputs / "error_page.pdf")
    r3 = run_batch([inputs], out, workers=2, themes=False, progress=False, resume=True)
    assert (r3.parsed, r3.skipped, r3.failed) == (1, 3, 2)
    after = counts(out)
    assert (after["letters"], after["errors"]) == (4, 2)
    assert "Solihull" in set(letterparse.load(out)["letters"].authority)


def test_slow_file_times_out_and_the_batch_goes_on(inputs, tmp_path, spinning):
    spin = _spinning_file(tmp_path)
    out = tmp_path / "t.duckdb"
    newham = inputs / "sub" / Path(PICK[0]).name
    t0 = time.monotonic()
    r = run_batch([spin, newham, inputs / "empty.pdf"], out, workers=2, themes=False, progress=False, timeout=LIMIT)
    assert LIMIT <= time.monotonic() - t0 < LIMIT + 20  # stopped at the limit, not left to spin
    assert (r.parsed, r.failed) == (1, 2)
    t = letterparse.load(out)
    assert dict(zip(t["errors"].path.map(lambda p: Path(p).name), t["errors"].error)) == {
        spin.name: "timeout", "empty.pdf": "empty_file"}
    assert list(t["letters"].authority) == ["Newham"]


def test_timed_out_file_moves_to_letters_on_resume(inputs, tmp_path, spinning):
    out = tmp_path / "t.jsonl"
    newham = tmp_path / f"newham{SPIN}"
    shutil.copy(inputs / "sub" / Path(PICK[0]).name, newham)
    r = run_batch([newham], out, workers=1, themes=False, progress=False, timeout=0.2)
    assert r.failed == 1 and list(letterparse.load(out)["errors"].error) == ["timeout"]
    spinning()  # off: the same file now parses
    r = run_batch([newham], out, workers=1, themes=False, progress=False, resume=True)
    assert (r.parsed, r.failed) == (1, 0)
    t = letterparse.load(out)
    assert list(t["letters"].authority) == ["Newham"] and len(t["errors"]) == 0


def test_unexpected_exception_becomes_internal(monkeypatch, tmp_path):
    import letterparse.pipeline

    def boom(*a, **k):
        raise ZeroDivisionError("bug in a stage")

    monkeypatch.setattr(letterparse.pipeline, "parse", boom)
    assert parse_task(str(tmp_path / "x.pdf"), "pdfium", False) == ("error", "internal", "ZeroDivisionError: bug in a stage")


def test_rows_built_by_the_parent_or_the_workers_are_the_same(inputs, tmp_path, monkeypatch):
    """With a core to spare the parent builds the store rows from the workers' letters;
    otherwise the workers build them.  The stores are identical either way."""
    import letterparse.batch as batch

    stores = {}
    for cores in (4, 1):  # 1 worker of 4 cores: the parent builds rows; of 1 core: the worker does
        monkeypatch.setattr(batch.os, "cpu_count", lambda cores=cores: cores)
        out = tmp_path / f"cores{cores}.duckdb"
        r = run_batch([inputs], out, workers=1, themes=True, progress=False)
        assert (r.parsed, r.failed) == (3, 3)
        stores[cores] = letterparse.load(out)
    a, b = stores[4], stores[1]
    key = ["sha256"]
    for table, by in (("letters", key), ("sections", key + ["section_id"]), ("findings", key + ["finding_id"])):
        x, y = a[table].sort_values(by).reset_index(drop=True), b[table].sort_values(by).reset_index(drop=True)
        assert x.astype(str).equals(y.astype(str)), table
    assert len(a["findings"]) > 20 and a["findings"]["themes"].map(len).sum() > 0


def test_a_letter_the_parent_cannot_turn_into_rows_is_an_internal_error(inputs, tmp_path, monkeypatch):
    import letterparse.batch as batch
    import letterparse.store as store

    real = store.letter_rows

    def fussy(letter, *versions):
        if "newham" in letter.source.path:
            raise ValueError("cannot serialise")
        return real(letter, *versions)

    monkeypatch.setattr(batch.os, "cpu_count", lambda: 4)
    monkeypatch.setattr(store, "letter_rows", fussy)
    out = tmp_path / "p.duckdb"
    r = run_batch([inputs], out, workers=1, themes=False, progress=False)
    assert (r.parsed, r.failed) == (2, 4)
    t = letterparse.load(out)
    newham = [(e, m) for p, e, m in zip(t["errors"].path, t["errors"].error, t["errors"].message) if "newham" in p]
    assert newham == [("internal", "ValueError: cannot serialise")]
    assert sorted(t["letters"].authority) == ["Northumberland", "Oxfordshire"]


def test_cli_batch_exit_code_and_summary(inputs, tmp_path):
    from letterparse.cli import app

    out = tmp_path / "c.duckdb"
    res = CliRunner().invoke(app, ["batch", str(inputs), "--out", str(out), "--workers", "2", "--no-themes"])
    assert res.exit_code == 1
    assert "6 files: 3 parsed, 0 skipped, 3 errors" in res.output
    ok = CliRunner().invoke(app, ["batch", str(inputs / "sub"), "--out", str(out), "--no-themes", "--resume"])
    assert ok.exit_code == 0, ok.output
    assert "2 files: 0 parsed, 2 skipped, 0 errors" in ok.output
    bad = CliRunner().invoke(app, ["batch", str(tmp_path / "missing"), "--out", str(out)])
    assert bad.exit_code == 1 and "Error: " in bad.output and "no such file" in bad.output
    assert "Traceback" not in bad.output


@pytest.mark.slow
def test_dask_engine_matches_local(inputs, tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    local, remote = tmp_path / "local.duckdb", tmp_path / "dask.duckdb"
    run_batch([inputs], local, workers=2, themes=False, progress=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        r = run_batch([inputs], remote, themes=False, progress=False, engine="dask", scheduler=cluster.scheduler_address)
    assert (r.parsed, r.failed) == (3, 3)
    a, b = letterparse.load(local), letterparse.load(remote)
    assert a["letters"]["json"].tolist() == b["letters"]["json"].tolist()
    cols = ["sha256", "finding_id", "polarity", "text", "page", "start", "end"]
    assert a["findings"][cols].equals(b["findings"][cols])
    assert a["errors"][["path", "error"]].equals(b["errors"][["path", "error"]])


def test_queued_files_are_timed_from_their_own_start(inputs, tmp_path, spinning):
    """One worker, a file queued behind one that never finishes: that one times out,
    the queued ones (which waited longer than the limit) are parsed, not timed out."""
    spin = _spinning_file(tmp_path)
    out = tmp_path / "q.duckdb"
    firsts = [spin, inputs / "sub" / Path(PICK[0]).name, inputs / Path(PICK[1]).name]
    r = run_batch(firsts, out, workers=1, themes=False, progress=False, timeout=LIMIT)
    t = letterparse.load(out)
    assert dict(zip(t["errors"].path.map(lambda p: Path(p).name), t["errors"].error)) == {spin.name: "timeout"}
    assert sorted(t["letters"].authority) == ["Newham", "Northumberland"]
    assert (r.parsed, r.failed) == (2, 1)


def test_workers_that_die_at_start_stop_the_batch_with_a_clear_error(inputs, tmp_path):
    """Not a bad file but a broken start-up: a typed error and exit 1 after a few
    fresh pools, never a traceback or an endless loop."""
    import os
    import subprocess
    import sys

    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        "import os\n"
        "if os.environ.get('LETTERPARSE_TEST_DEAD_WORKERS'):\n"
        "    import letterparse.batch as b\n"
        "    def _die(*a):\n"
        "        os._exit(3)\n"
        "    b._init_worker = _die\n"
    )
    env = {**os.environ, "PYTHONPATH": str(site), "LETTERPARSE_TEST_DEAD_WORKERS": "1"}
    out = tmp_path / "d.duckdb"
    res = subprocess.run(
        [sys.executable, "-m", "letterparse", "batch", str(inputs / "sub"), "--out", str(out), "--workers", "2", "--no-themes"],
        env=env, capture_output=True, text=True, timeout=300,
    )
    assert res.returncode == 1
    assert "worker processes died 3 times before parsing a file" in res.stderr
    assert "Traceback" not in res.stderr


def test_forkserver_preload_leaves_the_model_and_caches_loaded():
    """What a batch's forkserver imports before forking: the model is loaded and the
    lemma and feature caches hold the model's words (so forked workers start warm)."""
    import subprocess
    import sys

    code = (
        "import letterparse._warm, letterparse.themes as t, letterparse.nlp as n\n"
        "m = t.load_models()\n"
        "print(t._load_models.cache_info().currsize, len(n._CHUNKS), len(m.features._words))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    loaded, chunks, words = map(int, out.stdout.split())
    assert loaded == 1 and chunks > 1000 and words > 1000


def test_pool_start_thread_swallows_a_pool_broken_at_start(monkeypatch):
    """A worker can die before the start thread has submitted to every worker; the
    thread must not print a traceback (the scheduling loop meets the broken pool)."""
    import threading
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    from letterparse.batch import _LocalPool

    def broken(self, fn, *a, **k):
        raise BrokenProcessPool("a worker died at start-up")

    seen = []
    monkeypatch.setattr(ProcessPoolExecutor, "submit", broken)
    monkeypatch.setattr(threading, "excepthook", lambda args: seen.append(args.exc_type))
    pool = _LocalPool(1, themes=False)
    pool.starting.join()
    assert seen == []
    with pytest.raises(BrokenProcessPool):
        pool.submit(letterparse.batch._Task("x.pdf", "0" * 64), ())
    monkeypatch.undo()
    pool.close(kill=True)


def test_a_wrong_out_fails_at_once_with_one_line(tmp_path):
    """`--out results.csv` used to write a DuckDB database under that name."""
    from typer.testing import CliRunner

    from letterparse.cli import app

    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text("Ofsted\nStrengths\n\n- Good.\n", encoding="utf-8")
    res = CliRunner().invoke(app, ["batch", str(tmp_path / "in"), "--out", str(tmp_path / "results.csv"), "--workers", "1"])
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert res.stderr.strip() == f"Error: {tmp_path / 'results.csv'}: '.csv' is not a store: give FILE.duckdb, FILE.jsonl, or a folder (no suffix, or .parquet)"
    assert not (tmp_path / "results.csv").exists()


@pytest.mark.corpus
def test_ctrl_c_says_what_is_saved_and_how_to_finish(tmp_path):
    """SIGINT to the whole process group (what Ctrl-C does): exit 130 and one line naming
    the files saved and the --resume command; that command then finishes the job."""
    import shlex
    import signal
    import subprocess
    import sys
    import time

    if not (CORPUS / "ilacs-2021").is_dir():
        pytest.skip("../shared/corpus is not here")
    out = tmp_path / "s.jsonl"
    exe = str(Path(sys.executable).with_name("letterparse"))
    # 177 reports: the writer groups files for up to 2 s, so the run must outlast that
    cmd = [exe, "batch", str(CORPUS / "ilacs-2021"), "--out", str(out), "--workers", "2", "--no-themes"]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not out.exists() or out.read_bytes().count(b"\n") < 2):
        time.sleep(0.05)
    os.killpg(p.pid, signal.SIGINT)
    _, err = p.communicate(timeout=60)
    lines = err.decode().strip().splitlines()
    assert p.returncode == 130, err
    assert len(lines) == 1 and lines[0].startswith(f"Stopped: {out}: interrupted: "), lines
    saved = int(lines[0].split("interrupted: ")[1].split(" files are saved")[0])
    assert 2 <= saved < 177 and saved == out.read_bytes().count(b"\n")
    finish = shlex.split(lines[0].split("to finish, run: ")[1])
    assert finish[0] == "letterparse" and finish[-1] == "--resume"
    done = subprocess.run([exe, *finish[1:]], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"{saved} skipped" in done.stderr
    assert len(letterparse.load(out)["letters"]) == 177
