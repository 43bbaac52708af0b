"""Batch runs on real corpus PDFs plus bad files: errors rows, resume, timeouts, dask."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

import letterparse
from letterparse.batch import Failed, collect_inputs, parse_task, run_batch

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
    assert parse_task(str(tmp_path / "x.pdf"), "pdfium", False) == Failed("internal", "ZeroDivisionError: bug in a stage")


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
    # More workers than files and cores, three times: with each worker spawned while the
    # pool's manager thread tore the pool down, 2 runs in 3 printed a CPython traceback.
    for run in range(3):
        out = tmp_path / f"d{run}.duckdb"
        res = subprocess.run(
            [sys.executable, "-m", "letterparse", "batch", str(inputs / "sub"), "--out", str(out), "--workers", "6", "--no-themes"],
            env=env, capture_output=True, text=True, timeout=300,
        )
        assert res.returncode == 1
        assert "worker processes died 3 times before parsing a file" in res.stderr
        assert "Traceback" not in res.stderr, res.stderr


def test_the_forkserver_starts_before_anything_heavy_is_imported():
    """``extract`` and ``batch`` start the workers' forkserver first thing: the module
    that starts it imports nothing of ours beyond the package itself, and the console
    script imports the batch machinery and the CLI only after it has started."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "import letterparse._forkserver\n"
        "print(sorted(m for m in sys.modules if m.startswith('letterparse')), 'typing' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    # not even typing (~15 ms): the package's own __init__ does without it
    assert out.stdout.split() == ["['letterparse',", "'letterparse._forkserver',", "'letterparse.errors']", "False"]

    code = (
        "import sys\n"
        "from multiprocessing import forkserver\n"
        "order = []\n"
        "ensure = forkserver.ensure_running\n"
        "def noted():\n"
        "    order.append('forkserver-started')\n"
        "    ensure()\n"
        "forkserver.ensure_running = noted\n"
        "class Note:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.startswith('letterparse.'):\n"
        "            order.append(name)\n"
        "sys.meta_path.insert(0, Note())\n"
        "from letterparse.__main__ import main\n"
        "sys.argv = ['letterparse', 'extract', '--help']\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    sys.stderr.write(' '.join(order) + '\\n')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    order = out.stderr.split()
    started = order.index("forkserver-started")
    assert "letterparse.batch" in order[started:] and "letterparse.cli" in order[started:]
    assert "letterparse.batch" not in order[:started]


@pytest.mark.parametrize("batch", [True, False])
def test_forkserver_preload_leaves_the_model_and_caches_loaded(batch):
    """What a forkserver imports before forking: the model and scipy's product kernel
    are loaded; for a batch the lemma and feature caches hold the model's words too (so
    forked workers start warm), for one file (``extract``) not; never spaCy, and never
    scipy.sparse (the kernel is loaded without it)."""
    import subprocess
    import sys

    from letterparse._forkserver import preload

    code = (
        f"import importlib, sys\nfor name in {preload(True, batch)!r}: importlib.import_module(name)\n"
        "import letterparse.themes as t, letterparse.nlp as n\n"
        "m = t.load_models()\n"
        "print(t._load_models.cache_info().currsize, len(n._CHUNKS), len(m.features._words),\n"
        "      'scipy.sparse' in sys.modules, 'spacy' in sys.modules, t._csr_matvecs.cache_info().currsize == 1 and t._csr_matvecs() is not None)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    loaded, chunks, words, scipy, spacy, kernel = out.stdout.split()
    assert loaded == "1" and spacy == "False" and scipy == "False" and kernel == "True"
    if batch:
        assert int(chunks) > 1000 and int(words) > 1000
    else:
        assert int(chunks) < 100


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


def _pools(monkeypatch) -> list:
    """The local pools a batch in this process makes, as it makes them."""
    import letterparse.batch as b

    made = []

    class Recorded(b._LocalPool):
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            made.append(self)

    monkeypatch.setattr(b, "_LocalPool", Recorded)
    return made


def test_the_first_files_parse_while_the_store_opens(inputs, tmp_path, monkeypatch):
    """Without --resume, the first files go to the workers before the store is opened
    (DuckDB and pyarrow take a second to load): the store's opening here waits until a
    worker has started a file, which never happens if nothing was sent yet.  With
    --resume the store is asked first which files are done."""
    import letterparse.store as st

    pools, seen = _pools(monkeypatch), []
    real = st.open_store

    def slow_open(path, **kw):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any(t > 0 for p in pools for t in p.started):
            time.sleep(0.02)
        seen.append(any(t > 0 for p in pools for t in p.started))
        return real(path, **kw)

    monkeypatch.setattr(st, "open_store", slow_open)
    first = run_batch([inputs / "sub"], tmp_path / "s.duckdb", workers=1, themes=False, progress=False)
    assert seen == [True] and first.parsed == 2 and first.failed == 0
    monkeypatch.setattr(st, "open_store", lambda path, **kw: seen.append(any(t > 0 for p in pools[1:] for t in p.started)) or real(path, **kw))
    again = run_batch([inputs / "sub"], tmp_path / "s.duckdb", workers=1, themes=False, progress=False, resume=True)
    assert seen == [True, False] and again.skipped == 2 and again.parsed == 0


def test_a_store_that_does_not_open_stops_the_files_already_sent(inputs, tmp_path, monkeypatch):
    import letterparse.store as st
    from letterparse.errors import StoreError

    pools = _pools(monkeypatch)

    def locked(path, **kw):
        while not any(t > 0 for p in pools for t in p.started):
            time.sleep(0.02)
        raise StoreError(str(path), "another letterparse run is writing it")

    monkeypatch.setattr(st, "open_store", locked)
    with pytest.raises(StoreError, match="another letterparse run"):
        run_batch([inputs], tmp_path / "s.duckdb", workers=2, themes=False, progress=False)
    procs = list((pools[0].pool._processes or {}).values())
    assert all(not p.is_alive() for p in procs)


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


# --- odd file names and hostile folders (#14, items 3 and 7) --------------------------

GOOD = ("2019_leeds_focused_visit.pdf", "2023_somerset_ilacs.pdf")
ODD = "2022_wirral_jtai.pdf"  # copied under a name that is not UTF-8


def _bytes_name(folder: Path, name: bytes, data: bytes) -> str:
    """Create ``folder/name`` (raw bytes, as another system may have written it); its path
    as the operating system gives it back (undecodable bytes as lone surrogates)."""
    fd = os.open(os.fsencode(folder) + b"/" + name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    return os.fsdecode(os.fsencode(folder) + b"/" + name)


@pytest.mark.parametrize(("name", "stored"), [
    (b"plain.pdf", "plain.pdf"),
    ("caf\u00e9.pdf".encode(), "caf\u00e9.pdf"),  # valid UTF-8 stays as it is
    (b"bad\xff.pdf", "bad\\xff.pdf"),
    (b"latin1-caf\xe9 \x80.pdf", "latin1-caf\\xe9 \\x80.pdf"),
    (b"half\xc3.pdf", "half\\xc3.pdf"),  # a UTF-8 sequence cut short
])
def test_path_text_writes_bytes_that_are_not_utf8_as_escapes_and_back(name, stored):
    from letterparse.store import path_bytes, path_text

    shown = path_text(os.fsdecode(name))
    assert shown == stored
    shown.encode("utf-8")  # a valid string for every store
    assert path_bytes(shown) == name and path_text(shown) == shown


@pytest.fixture
def odd_names(tmp_path: Path, samples: Path) -> tuple[Path, str, str]:
    """Two good sample PDFs, a third named b'bad\\xff.pdf' and garbage named b'junk\\xfe.pdf'."""
    d = tmp_path / "in"
    d.mkdir()
    for n in GOOD:
        shutil.copy(samples / n, d / n)
    good = _bytes_name(d, b"bad\xff.pdf", (samples / ODD).read_bytes())
    junk = _bytes_name(d, b"junk\xfe.pdf", bytes(range(256)) * 8)
    return d, good, junk


@pytest.mark.parametrize("store", ["n.duckdb", "n.jsonl", "n_parquet"])
def test_a_file_name_that_is_not_utf8_is_stored_escaped_and_resume_completes(odd_names, tmp_path, store):
    """Measured before: one such name among good files stored 0 letters in every format,
    and --resume 0 again, for good."""
    import json

    from letterparse.store import path_bytes

    d, good, junk = odd_names
    out = tmp_path / store
    r = run_batch([d], out, workers=2, themes=False, progress=False)
    assert (r.total, r.parsed, r.failed) == (4, 3, 1)
    assert r.errors == ((f"{d}/junk\\xfe.pdf", "not_a_pdf", r.errors[0][2]),)
    t = letterparse.load(out)
    paths = sorted(t["letters"].path)
    assert paths == sorted([f"{d}/{n}" for n in GOOD] + [f"{d}/bad\\xff.pdf"])
    row = t["letters"][t["letters"].path == f"{d}/bad\\xff.pdf"].iloc[0]
    assert row.authority == "Wirral" and json.loads(row.json)["source"]["path"] == row.path
    assert path_bytes(row.path) == os.fsencode(good)  # the name's bytes come back
    assert list(t["errors"].path) == [f"{d}/junk\\xfe.pdf"] and list(t["errors"].error) == ["not_a_pdf"]
    before = counts(out)

    r2 = run_batch([d], out, workers=2, themes=False, progress=False, resume=True)
    assert (r2.parsed, r2.skipped, r2.failed) == (0, 3, 1)
    assert counts(out) == before  # the failed odd name keeps exactly one errors row


def _special_folder(tmp_path: Path, samples: Path) -> tuple[Path, Path]:
    """A folder holding one good PDF and every kind of entry that must not be read, and a
    folder outside it that its links point into."""
    import socket

    d, outside = tmp_path / "in", tmp_path / "outside"
    (d / "sub").mkdir(parents=True)
    outside.mkdir()
    shutil.copy(samples / GOOD[0], d / "good.pdf")
    shutil.copy(samples / GOOD[1], outside / "far.pdf")
    (outside / "secret.txt").write_text("Ofsted\nStrengths\n\n- A private note outside the folder.\n", encoding="utf-8")
    (d / "secret.txt").symlink_to(outside / "secret.txt")  # a link leaving the folder
    (d / "far.pdf").symlink_to(Path("..") / "outside" / "far.pdf")  # relative, leaving it too
    (d / "outdir").symlink_to(outside, target_is_directory=True)  # a folder outside: counted, not recorded
    (d / "sub" / "same.pdf").symlink_to(Path("..") / "good.pdf")  # inside: read (a duplicate)
    (d / "sub" / "up").symlink_to(Path(".."), target_is_directory=True)  # a folder inside: not walked twice
    (d / "broken.pdf").symlink_to(d / "nowhere.pdf")
    (d / "loop.pdf").symlink_to(d / "loop.pdf")
    os.mkfifo(d / "pipe.pdf")
    os.mkfifo(d / "pipe.dat")  # not named like input: counted only
    (d / "sub" / "to_pipe.txt").symlink_to(d / "pipe.pdf")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(d / "sock.pdf"))
    sock.close()
    return d, outside


def _scan(inputs, follow_links: bool = False):
    """scan_inputs on a thread: opening a FIFO would block for ever, so a regression fails
    here in seconds instead of hanging the test run."""
    import threading

    from letterparse.batch import scan_inputs

    box: list = []
    t = threading.Thread(target=lambda: box.append(scan_inputs(inputs, follow_links)), daemon=True)
    t.start()
    t.join(30)
    assert box, "scan_inputs blocked (it opened a FIFO?)"
    return box[0]


def test_folder_links_leaving_it_broken_links_and_fifos_are_not_read_and_are_recorded(tmp_path, samples):
    d, outside = _special_folder(tmp_path, samples)
    found = _scan([d])
    assert [Path(p).relative_to(d).as_posix() for p, _ in found.files] == ["good.pdf"]
    assert found.duplicates == 1  # sub/same.pdf: a link inside the folder is read
    skipped = {Path(s.path).relative_to(d).as_posix(): (s.error.code, s.recorded) for s in found.skipped}
    assert skipped == {
        "secret.txt": ("link_outside", True),
        "far.pdf": ("link_outside", True),
        "outdir": ("link_outside", False),
        "broken.pdf": ("broken_link", True),
        "loop.pdf": ("broken_link", True),
        "pipe.pdf": ("not_a_file", True),
        "pipe.dat": ("not_a_file", False),
        "sub/to_pipe.txt": ("not_a_file", True),
        "sock.pdf": ("not_a_file", True),
    }
    messages = {Path(s.path).name: s.error.message for s in found.skipped}
    assert str(outside / "secret.txt") in messages["secret.txt"] and "--follow-links" in messages["secret.txt"]
    assert "a loop of links" in messages["loop.pdf"] and messages["pipe.pdf"].startswith("a FIFO")

    followed = _scan([d], follow_links=True)
    names = sorted(Path(p).name for p, _ in followed.files)
    assert names == ["far.pdf", "good.pdf", "secret.txt"]  # outdir/far.pdf: the same bytes as far.pdf
    assert {s.error.code for s in followed.skipped} == {"broken_link", "not_a_file"}


def test_batch_records_the_entries_not_read_and_counts_them(tmp_path, samples):
    from letterparse.cli import app

    d, _ = _special_folder(tmp_path, samples)
    out = tmp_path / "s.jsonl"
    res = CliRunner().invoke(app, ["batch", str(d), "--out", str(out), "--workers", "1", "--no-themes"])
    assert res.exit_code == 1, res.output
    assert res.stderr.startswith("8 files: 1 parsed, 0 skipped, 7 errors")
    assert ("; 9 entries not read: 2 broken_link, 3 link_outside, 4 not_a_file (those named .pdf or .txt are in"
            " errors; --follow-links follows links out of the folders)") in res.stderr
    t = letterparse.load(out)
    assert list(t["letters"].path) == [str(d / "good.pdf")]  # nothing from outside the folder
    assert dict(zip(t["errors"].path.map(lambda p: Path(p).relative_to(d).as_posix()), t["errors"].error)) == {
        "secret.txt": "link_outside", "far.pdf": "link_outside", "broken.pdf": "broken_link",
        "loop.pdf": "broken_link", "pipe.pdf": "not_a_file", "sub/to_pipe.txt": "not_a_file",
        "sock.pdf": "not_a_file"}
    assert t["errors"].sha256.isna().all()

    res = CliRunner().invoke(app, ["batch", str(d), "--out", str(out), "--workers", "1", "--no-themes", "--follow-links", "--resume"])
    assert res.exit_code == 1 and res.stderr.startswith("8 files: 2 parsed, 1 skipped, 5 errors"), res.output
    t = letterparse.load(out)
    rel = lambda p: Path(p).relative_to(d).as_posix()  # noqa: E731
    assert sorted(map(rel, t["letters"].path)) == ["far.pdf", "good.pdf", "outdir/secret.txt"]
    # far.pdf's link_outside row went when it was parsed under that path; secret.txt's bytes
    # were stored under outdir/secret.txt (first by path), so like any duplicate it was not
    # written and its earlier row stays
    assert dict(zip(t["errors"].path.map(rel), t["errors"].error)) == {
        "secret.txt": "link_outside", "broken.pdf": "broken_link", "loop.pdf": "broken_link",
        "pipe.pdf": "not_a_file", "sub/to_pipe.txt": "not_a_file", "sock.pdf": "not_a_file"}


def test_a_fifo_given_by_name_is_recorded_not_opened_and_a_link_given_by_name_is_read(tmp_path, samples):
    os.mkfifo(tmp_path / "given.pdf")
    (tmp_path / "far").mkdir()
    shutil.copy(samples / GOOD[0], tmp_path / "far" / "letter.pdf")
    (tmp_path / "link.pdf").symlink_to(tmp_path / "far" / "letter.pdf")
    found = _scan([tmp_path / "given.pdf", tmp_path / "link.pdf"])
    assert [p for p, _ in found.files] == [str(tmp_path / "link.pdf")]
    assert [(s.path, s.error.code, s.recorded) for s in found.skipped] == [(str(tmp_path / "given.pdf"), "not_a_file", True)]


def test_workers_freeze_what_they_loaded_and_collect_garbage_less_often():
    """A worker freezes the pipeline and model it inherited (collections never walk
    them) and collects its first generation every GC_THRESHOLD new objects; the
    library user's process is left as it was."""
    import gc

    from letterparse.batch import GC_THRESHOLD, _LocalPool

    before = gc.get_threshold(), gc.get_freeze_count()
    pool = _LocalPool(1, themes=True)
    try:
        pool.starting.join()
        threshold = pool.pool.submit(gc.get_threshold).result(timeout=120)
        frozen = pool.pool.submit(gc.get_freeze_count).result(timeout=120)
    finally:
        pool.close()
    assert threshold == (GC_THRESHOLD, *before[0][1:])
    assert frozen > 10_000  # the pipeline's modules, the model and its caches
    assert (gc.get_threshold(), gc.get_freeze_count()) == before


def test_a_tuned_collector_runs_a_fraction_of_the_collections_on_the_same_letters(samples):
    """The same letters, parsed with the tuned collector and with Python's default:
    the tuned one collects at least five times less often."""
    import subprocess
    import sys

    code = (
        "import gc, sys\n"
        "from letterparse import parse\n"
        "from letterparse.batch import tune_gc\n"
        "paths = sys.argv[2:]\n"
        "parse(paths[0])\n"
        "if sys.argv[1] == 'tuned': tune_gc()\n"
        "runs = []\n"
        "gc.callbacks.append(lambda phase, info: runs.append(1) if phase == 'stop' else None)\n"
        "for _ in range(15):\n"
        "    for p in paths: parse(p)\n"
        "print(len(runs))\n"
    )
    pdfs = [str(p) for p in sorted(samples.glob("*.pdf"))]
    runs = {}
    for mode in ("default", "tuned"):
        out = subprocess.run([sys.executable, "-c", code, mode, *pdfs], capture_output=True, text=True, timeout=300, check=True)
        runs[mode] = int(out.stdout)
    assert runs["default"] >= 10, runs
    assert runs["tuned"] * 5 <= runs["default"], runs


@pytest.mark.corpus
def test_workers_keep_freed_memory_and_fault_far_fewer_pages(corpus):
    """A batch's workers set glibc's malloc to keep freed memory (numpy's feature
    arrays are made and freed many times per letter); parsing two long reports then
    faults in a fraction of the pages it does with glibc's defaults (~11k against ~1k)."""
    import subprocess
    import sys

    from letterparse.batch import _LocalPool, _malloc_kept

    assert not _malloc_kept()  # this process (a library user's) is left alone
    pool = _LocalPool(1, themes=True)
    try:
        pool.starting.join()
        assert pool.pool.submit(_malloc_kept).result(timeout=120) is True
    finally:
        pool.close()

    code = (
        "import resource, sys\n"
        "from letterparse import parse\n"
        "from letterparse.batch import _keep_freed_memory\n"
        "if sys.argv[1] == 'kept': assert _keep_freed_memory()\n"
        "paths = sys.argv[2:]\n"
        "parse(paths[0])\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt\n"
        "for _ in range(2):\n"
        "    for p in paths: parse(p)\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)\n"
    )
    pdfs = [str(corpus / "sif" / name) for name in ("2015-06-22_80548_salford.pdf", "2016-05-24_80571_thurrock.pdf")]
    faults = {}
    for mode in ("default", "kept"):
        out = subprocess.run([sys.executable, "-c", code, mode, *pdfs], capture_output=True, text=True, timeout=300, check=True)
        faults[mode] = int(out.stdout)
    assert faults["kept"] * 3 < faults["default"], faults
