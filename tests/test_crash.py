"""Crash safety: a batch killed with SIGKILL half-way and run again with --resume
ends with the same store as a clean run; outputs are replaced atomically.

The killed run is a real ``letterparse batch`` process (its own session, so its
workers and forkserver are cleaned up after it); the kill comes once the store
holds some letters.  After the resume every input is in ``letters`` or
``errors``, no sha256 appears twice, and every letter has exactly the sections,
findings and JSON of a clean run's.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

import letterparse
from letterparse.batch import run_batch
from letterparse.cli import app
from storefixtures import crash_second_commit, write_store
from conftest import CORPUS

N_CORPUS = 30
KILL_TIMEOUT = 120.0  # seconds to wait for the store to fill up before giving up


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, samples) -> Path:
    """30 corpus letters (or, without the corpus, 30 distinct copies of the samples)
    and two bad files."""
    d = tmp_path_factory.mktemp("crash_in")
    corpus = sorted((CORPUS / "focused-visit").glob("*.pdf"))[:N_CORPUS] if CORPUS.exists() else []
    if len(corpus) == N_CORPUS:
        for p in corpus:
            shutil.copy(p, d / p.name)
    else:
        pdfs = sorted(samples.glob("*.pdf"))
        for i in range(N_CORPUS):
            src = pdfs[i % len(pdfs)]
            # bytes after %%EOF: the same letter under another sha256
            (d / f"{i:02d}_{src.name}").write_bytes(src.read_bytes() + f"\n% copy {i}\n".encode())
    (d / "empty.pdf").write_bytes(b"")
    (d / "error_page.pdf").write_text("<!DOCTYPE html><html><body>404</body></html>")
    return d


@pytest.fixture(scope="module")
def clean(inputs, tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("clean") / "clean.duckdb"
    r = run_batch([inputs], out, workers=2, themes=False, progress=False)
    assert (r.parsed, r.failed) == (N_CORPUS, 2)
    return letterparse.load(out)


def _per_letter(tables) -> dict[str, tuple[int, int, str]]:
    secs = tables["sections"].groupby("sha256").size()
    finds = tables["findings"].groupby("sha256").size()
    return {
        sha: (int(secs.get(sha, 0)), int(finds.get(sha, 0)), js)
        for sha, js in zip(tables["letters"].sha256, tables["letters"].json)
    }


def assert_complete_and_clean(store: Path, clean) -> None:
    t = letterparse.load(store)
    assert not t["letters"].sha256.duplicated().any()
    assert not t["errors"].path.duplicated().any()
    assert sorted(Path(p).name for p in t["errors"].path) == ["empty.pdf", "error_page.pdf"]
    # every letter whole: the sections, findings and JSON of the clean run
    assert _per_letter(t) == _per_letter(clean)
    for table in ("sections", "findings"):
        assert set(t[table].sha256) <= set(t["letters"].sha256)
        assert len(t[table]) == len(clean[table])
        keys = ["sha256", "finding_id"] if table == "findings" else ["sha256", "section_id"]
        assert not t[table].duplicated(keys).any()


STALL_AFTER = 8  # parses that finish before the slowed workers stop for good


@pytest.fixture(scope="module")
def slow_env(tmp_path_factory) -> dict[str, str]:
    """An environment whose workers take at least 0.15 s per file and, after
    STALL_AFTER files, stop for an hour (a sitecustomize wraps
    ``letterparse.pipeline.parse``; the files are counted with one token file each,
    made with O_EXCL, across workers).  So a batch can never finish before the
    kill, however fast or slow the machine: the store holds at most STALL_AFTER
    letters and then stops changing, which is when the tests kill it."""
    site = tmp_path_factory.mktemp("slow_site")
    (site / "sitecustomize.py").write_text(
        "import os, time\n"
        "if os.environ.get('LETTERPARSE_TEST_SLOW'):\n"
        "    import letterparse.pipeline as p\n"
        "    real = p.parse\n"
        "    def _token():\n"
        "        d = os.environ['LETTERPARSE_TEST_SLOW']\n"
        "        for i in range(10_000):\n"
        "            try:\n"
        "                os.close(os.open(os.path.join(d, str(i)), os.O_CREAT | os.O_EXCL))\n"
        "                return i\n"
        "            except FileExistsError:\n"
        "                pass\n"
        "    def parse(*a, **k):\n"
        f"        if _token() >= {STALL_AFTER}:\n"
        "            time.sleep(3600)\n"
        "        time.sleep(0.15)\n"
        "        return real(*a, **k)\n"
        "    p.parse = parse\n"
    )
    return {**os.environ, "PYTHONPATH": str(site)}


@pytest.fixture
def slow(slow_env, tmp_path) -> dict[str, str]:
    """slow_env with its own (empty) count of parses: one per test."""
    tokens = tmp_path / "parse_tokens"
    tokens.mkdir()
    return {**slow_env, "LETTERPARSE_TEST_SLOW": str(tokens)}


def _start(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True, env=env,
    )


def _kill_when(proc: subprocess.Popen, ready) -> None:
    """SIGKILL the batch process once ``ready()`` is true, then its whole session
    (the pool's workers and forkserver, which would otherwise linger)."""
    deadline = time.monotonic() + KILL_TIMEOUT
    try:
        while not ready():
            if proc.poll() is not None:
                pytest.fail(f"the batch ended (exit {proc.returncode}) before it could be killed: "
                            f"{proc.stderr.read().decode()[-500:]}")
            if time.monotonic() > deadline:
                pytest.fail("the store never filled up")
            time.sleep(0.005)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # the session this test started
        except ProcessLookupError:
            pass
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _batch_cli(inputs: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "letterparse", "batch", str(inputs), "--out", str(out), "--workers", "2", "--no-themes"]


def _resume(inputs: Path, out: Path) -> tuple[int, int, int]:
    res = CliRunner().invoke(app, ["batch", str(inputs), "--out", str(out), "--workers", "2", "--no-themes", "--resume"])
    assert res.exit_code == 1, res.output  # the two bad files
    line = next(ln for ln in res.output.splitlines() if " files: " in ln)
    # "32 files: 20 parsed, 12 skipped, 2 errors (...)"
    m = re.search(r"(\d+) parsed, (\d+) skipped, (\d+) errors", line)
    assert m, line
    return int(m[1]), int(m[2]), int(m[3])


def test_killed_duckdb_batch_resumes_to_a_complete_store(inputs, clean, slow, tmp_path):
    out = tmp_path / "s.duckdb"
    wal = Path(str(out) + ".wal")
    # DuckDB commits each transaction (the files that finished together) to its
    # write-ahead log, which starts with the tables' definitions.  Kill once the log
    # has grown past them and then stopped growing (the slowed workers have stalled):
    # a commit has finished (killed in the middle of the first one, the store would rightly be
    # empty, which tests nothing).
    seen = {"size": -1, "since": 0.0, "first": None}

    def committed() -> bool:
        size = wal.stat().st_size if wal.exists() else 0
        now = time.monotonic()
        if size and seen["first"] is None:
            seen["first"] = size  # the definitions alone: the store is opened before any file is parsed
        if size != seen["size"]:
            seen.update(size=size, since=now)
            return False
        return seen["first"] is not None and size > max(seen["first"], 4096) and now - seen["since"] >= 0.3

    proc = _start(_batch_cli(inputs, out), slow)
    _kill_when(proc, committed)

    killed = letterparse.load(out)  # replays the log of committed transactions
    n = len(killed["letters"])
    assert 0 < n <= STALL_AFTER, f"{n} letters when killed: not half-way"
    # what was committed is whole already
    part = _per_letter(killed)
    assert all(part[sha] == v for sha, v in _per_letter(clean).items() if sha in part)
    assert set(killed["findings"].sha256) <= set(killed["letters"].sha256)

    parsed, skipped, errors = _resume(inputs, out)
    assert (parsed, skipped, errors) == (N_CORPUS - n, n, 2)
    assert_complete_and_clean(out, clean)


def _complete_lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


def test_killed_jsonl_batch_resumes_and_repairs_a_torn_line(inputs, clean, slow, tmp_path):
    out = tmp_path / "s.jsonl"
    proc = _start(_batch_cli(inputs, out), slow)
    _kill_when(proc, lambda: _complete_lines(out) >= 3)

    lines = out.read_bytes().splitlines(keepends=True)
    assert all(ln.endswith(b"\n") for ln in lines)
    n_letters = sum(json.loads(ln)["type"] == "letter" for ln in lines)
    assert 0 < n_letters < N_CORPUS
    # The crash also tore the record being appended: half a line, cut inside a
    # multi-byte character (Ofsted's text is full of ’ and –).
    record = lines[-1]
    multibyte = [i for i, b in enumerate(record) if b >= 0xC0]  # first bytes of multi-byte characters
    cut = multibyte[len(multibyte) // 2] + 1 if multibyte else len(record) // 2
    with open(out, "ab") as fh:
        fh.write(record[:cut])
    # a reader skips the torn line...
    torn = letterparse.load(out)
    assert len(torn["letters"]) == n_letters

    parsed, skipped, errors = _resume(inputs, out)  # ...and a writer cuts it off
    assert (skipped, errors) == (n_letters, 2) and parsed == N_CORPUS - n_letters
    data = out.read_bytes()
    assert data.endswith(b"\n")
    for ln in data.splitlines():
        json.loads(ln)  # every line whole
    assert_complete_and_clean(out, clean)


def test_killed_parquet_batch_keeps_its_last_flush_and_resumes(inputs, clean, slow, tmp_path):
    """The Parquet store buffers rows and writes all four files together; flushed
    after every file here, a kill loses nothing that was flushed."""
    out = tmp_path / "s_parquet"
    code = (
        "import sys; from letterparse.batch import run_batch; "
        "run_batch([sys.argv[1]], sys.argv[2], workers=2, themes=False, progress=False, flush_every=0)"
    )
    proc = _start([sys.executable, "-c", code, str(inputs), str(out)], slow)

    import pyarrow.parquet as pq

    def some_letters() -> bool:
        try:
            return pq.read_metadata(out / "letters.parquet").num_rows >= 3
        except Exception:  # noqa: BLE001 - not written yet, or being replaced
            return False

    _kill_when(proc, some_letters)
    from letterparse.store import recover

    recover(out)  # what the next open does: finish or drop an interrupted flush
    killed = letterparse.load(out)
    n = len(killed["letters"])
    assert 0 < n < N_CORPUS
    part = _per_letter(killed)
    assert all(part[sha] == v for sha, v in _per_letter(clean).items() if sha in part)
    assert sorted(p.name for p in out.iterdir()) == ["errors.parquet", "findings.parquet", "letters.parquet", "sections.parquet", "sentences.parquet"]

    parsed, skipped, errors = _resume(inputs, out)
    assert skipped == n and parsed == N_CORPUS - n and errors == 2
    assert_complete_and_clean(out, clean)


# --- atomic replacement of output files ------------------------------------------------


def _spy_replace(monkeypatch) -> list[tuple[str, str]]:
    calls: list[tuple[str, str]] = []
    real = os.replace

    def spy(src, dst, *a, **k):
        calls.append((str(src), str(dst)))
        return real(src, dst, *a, **k)

    monkeypatch.setattr(os, "replace", spy)
    return calls


def _fail_fsync_after(monkeypatch, n: int) -> None:
    """The n+1-th fsync of a file raises, as a full disk or a crash would stop the write."""
    real = os.fsync
    seen = [0]

    def fsync(fd):
        import stat

        if stat.S_ISREG(os.fstat(fd).st_mode):
            seen[0] += 1
            if seen[0] > n:
                raise OSError(28, "No space left on device")
        return real(fd)

    monkeypatch.setattr(os, "fsync", fsync)


def test_compare_outputs_are_renamed_into_place(tmp_path, monkeypatch):
    """CSV, Markdown and PNG from compare: each written to a temporary file
    in the destination folder, then renamed over the destination."""
    from letterparse.compare import write_comparison
    from letterparse.store import open_store
    from storefixtures import sample_letters

    store = tmp_path / "s.duckdb"
    with open_store(store) as s:
        for l in sample_letters():
            s.put_letter(l, "1", "none")
    outs = {"csv": tmp_path / "o" / "t.csv", "md": tmp_path / "o" / "t.md", "png": tmp_path / "o" / "h.png",
            "trends": tmp_path / "o" / "t.png"}
    calls = _spy_replace(monkeypatch)
    write_comparison(store, outs["csv"], ["authority", "year"], heatmap=outs["png"], trends=outs["trends"])
    write_comparison(store, outs["md"], ["authority"])
    assert {dst for _, dst in calls} == {str(p) for p in outs.values()}
    for src, dst in calls:
        assert Path(src).parent == Path(dst).parent and Path(src).name.startswith(f".{Path(dst).name}.")
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == sorted(p.name for p in outs.values())


def test_an_interrupted_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    from letterparse.compare import write_table
    from letterparse.fetch import _write_report, FetchRecord
    import pandas as pd

    csv_out = tmp_path / "t.csv"
    csv_out.write_text("old table\n")
    report = tmp_path / "fetch-report.csv"
    report.write_text("old report\n")
    _fail_fsync_after(monkeypatch, 0)
    with pytest.raises(OSError):
        write_table(pd.DataFrame({"authority": ["Leeds"], "findings": [3]}), csv_out)
    with pytest.raises(OSError):
        _write_report(report, [FetchRecord("http://x/1", str(tmp_path / "1.pdf"), "downloaded")])
    assert csv_out.read_text() == "old table\n" and report.read_text() == "old report\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fetch-report.csv", "t.csv"]


def test_parquet_flush_is_all_or_nothing_when_writing_fails(tmp_path, monkeypatch):
    """A failure while the four new files are written leaves the old four, and the
    next open leaves no temporaries behind."""
    from storefixtures import sample_letters

    out = tmp_path / "p_parquet"
    letters = sample_letters()
    write_store(out, letters[:1])
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    _fail_fsync_after(monkeypatch, 2)  # the third table's temporary file fails
    from letterparse.errors import StoreError

    with pytest.raises(StoreError, match="cannot write the store .* --resume"):  # one typed line, not an OSError
        write_store(out, letters[1:])
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in out.iterdir() if not p.name.startswith(".")} == before
    assert len(letterparse.load(out)["letters"]) == 1
    write_store(out, [])  # opening for writing cleans up
    assert sorted(p.name for p in out.iterdir()) == sorted(before)


def test_parquet_flush_interrupted_between_renames_is_rolled_forward(tmp_path, monkeypatch):
    """A crash after the journal but between the renames (old letters.parquet,
    new sections.parquet...) is finished on the next open or load, never read mixed."""
    from storefixtures import sample_letters

    out = tmp_path / "p_parquet"
    letters = sample_letters()
    crash_second_commit(monkeypatch, out, letters)
    assert (out / "_commit.json").exists()  # the commit was decided
    t = letterparse.load(out)  # the reader finishes it
    assert len(t["letters"]) == 3 and len(t["findings"]) == sum(len(l.findings) for l in letters)
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == [
        "errors.parquet", "findings.parquet", "letters.parquet", "sections.parquet", "sentences.parquet"]
    write_store(out, [])
    assert not [p for p in out.iterdir() if p.name.startswith((".", "_"))]


def test_jsonl_records_are_appended_whole_and_synced(tmp_path, monkeypatch):
    """The JSONL store is an append log, not a file replaced by rename: each record
    is one write of one whole line, flushed and fsynced before the next file."""
    from letterparse.store import open_store
    from storefixtures import sample_letters

    synced: list[int] = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(os.fstat(fd).st_size), real(fd))[1])
    out = tmp_path / "s.jsonl"
    with open_store(out) as s:
        for l in sample_letters():
            s.put_letter(l, "1", "none")
            assert out.read_bytes().endswith(b"\n")
    sizes = [len(b) for b in out.read_bytes().splitlines(keepends=True)]
    assert synced == [sum(sizes[: i + 1]) for i in range(len(sizes))]  # one fsync per record, at its end
