"""Safety: files are written only where the user said, downloaded names cannot
escape their folder, models load without running code, and huge or endless
inputs are refused or stopped."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import textwrap
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import letterparse
from letterparse import errors
from letterparse.cli import app
from letterparse.fetch import MAX_NAME, fetch, file_name
from conftest import ROOT


@pytest.fixture(scope="session")
def good(samples) -> Path:
    """An invented sample letter that parses."""
    return samples / "2019_leeds_focused_visit.pdf"  # 3 pages


def tree(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``folder``: relative path -> (size, mtime in ns)."""
    return {
        str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in folder.rglob("*")
        if p.is_file() or p.is_symlink()
    }


# --- fetch: names stay inside the folder -------------------------------------------------

HOSTILE = [
    "http://h/../../escape.pdf",
    "http://h/file/..",
    "http://h/file/.",
    "http://h/..%2F..%2Fescape.pdf",
    "http://h/%2e%2e%2f%2e%2e%2fescape",
    "http://h/a\\..\\..\\escape.pdf",
    "http://h/file/.hidden",
    "http://h/file/",
    "http://h/file/" + "x" * 400,
    "http://h/file/name\x00.pdf",
    "http://h/file/C:\\Windows\\escape.pdf",
    "/etc/passwd",
    "../../escape.pdf",
    "file:///etc/passwd",
    "http://h/file/~/.ssh/id_rsa",
]


def assert_plain_name(name: str, folder: Path) -> None:
    assert name and "/" not in name and "\\" not in name and "\x00" not in name
    assert not name.startswith(".") and name not in (".", "..")
    assert len(name) <= MAX_NAME and name.lower().endswith(".pdf")
    assert (folder / name).resolve().parent == folder.resolve()


@pytest.mark.parametrize("url", HOSTILE)
def test_file_name_cannot_escape_the_folder(url, tmp_path):
    assert_plain_name(file_name(url), tmp_path)


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=0, max_size=300))
def test_file_name_is_plain_for_any_url(tmp_path_factory, tail):
    folder = tmp_path_factory.getbasetemp()
    for url in (tail, "https://h/" + tail, "https://h/file/" + tail + "?q=../x"):
        assert_plain_name(file_name(url), folder)


@pytest.fixture
def pdf_server(good):
    """A local server (127.0.0.1 only) answering every path with the same PDF."""
    body = good.read_bytes()
    paths: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):
            paths.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/pdf")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", paths
    httpd.shutdown()
    httpd.server_close()


def test_fetch_writes_only_inside_its_folder(good, pdf_server, tmp_path):
    base, paths = pdf_server
    work = tmp_path / "work"
    out = work / "pdfs"
    out.mkdir(parents=True)
    secret = tmp_path / "secret.pdf"
    secret.write_bytes(b"%PDF-1.4 secret")  # outside the folder
    (out / "trap.pdf").symlink_to(secret)  # a name a download will take
    urls = [
        f"{base}/a/../../escape.pdf", f"{base}/file/..%2F..%2Fescape.pdf", f"{base}/file/..",
        f"{base}/file/trap.pdf", f"{base}/x/1", f"{base}/y/1",  # same last part: two files
        f"file://{secret}", f"{base}/file/" + "y" * 300,
    ]
    manifest = work / "m.csv"
    with open(manifest, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["url"])
        w.writerows([u] for u in urls)
    outside = {k: v for k, v in tree(tmp_path).items() if not k.startswith("work/pdfs/")}

    r = fetch(manifest, out, rate=0, retries=0, backoff=0)

    status = {rec.url: (rec.status, rec.error) for rec in r.records}
    assert status[f"file://{secret}"] == ("failed", "bad_url")  # never read from disk
    assert sum(s == ("downloaded", "") for s in status.values()) == len(urls) - 1
    assert {k: v for k, v in tree(tmp_path).items() if not k.startswith("work/pdfs/")} == outside
    assert secret.read_bytes() == b"%PDF-1.4 secret"  # the symlink was replaced, not followed
    assert not (out / "trap.pdf").is_symlink() and (out / "trap.pdf").read_bytes() == good.read_bytes()
    names = [p.name for p in out.iterdir()]
    assert len(names) == len(urls) - 1 + 1  # the downloads and fetch-report.csv
    for rec in r.records:
        assert Path(rec.path).parent == out
        if rec.status == "downloaded":
            assert_plain_name(Path(rec.path).name, out)
    assert len({rec.path for rec in r.records}) == len(urls)  # /x/1 and /y/1 did not overwrite each other


# --- compare and batch write only where told ---------------------------------------------


@pytest.fixture
def elsewhere(tmp_path, monkeypatch) -> Path:
    """An empty working directory, so a file written relative to it would show."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    return cwd


@pytest.mark.parametrize("store,expected", [
    ("s.duckdb", ["s.duckdb"]),
    ("s.jsonl", ["s.jsonl"]),
    ("s_parquet", ["s_parquet/errors.parquet", "s_parquet/findings.parquet", "s_parquet/letters.parquet",
                   "s_parquet/sections.parquet", "s_parquet/sentences.parquet"]),
])
def test_batch_writes_only_its_store(good, tmp_path, elsewhere, store, expected):
    inputs = tmp_path / "in"
    inputs.mkdir()
    shutil.copy(good, inputs / good.name)
    (inputs / "empty.pdf").write_bytes(b"")
    before = tree(tmp_path)
    out_dir = tmp_path / "out"
    res = CliRunner().invoke(app, ["batch", str(inputs), "--out", str(out_dir / store), "--workers", "1", "--no-themes"])
    assert res.exit_code == 1, res.output  # empty.pdf
    after = tree(tmp_path)
    new = sorted(set(after) - set(before))
    assert new == [f"out/{e}" for e in expected]
    assert {k: after[k] for k in before} == before  # inputs untouched
    assert not list(elsewhere.iterdir())


def test_compare_writes_only_its_outputs(tmp_path, elsewhere):
    from letterparse.store import open_store
    from storefixtures import sample_letters

    store = tmp_path / "s.duckdb"
    with open_store(store) as s:
        for l in sample_letters():
            s.put_letter(l, "1", "none")
    before = tree(tmp_path)
    o = tmp_path / "report"
    res = CliRunner().invoke(app, [
        "compare", str(store), "--out", str(o / "t.csv"), "--heatmap", str(o / "h.png"),
        "--trends", str(o / "t.png")])
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(app, ["report", str(store), "--out", str(o / "site")])
    assert res.exit_code == 0, res.output
    after = tree(tmp_path)
    added = sorted(set(after) - set(before))
    assert added[:3] == ["report/h.png", "report/site/.letterparse-report", "report/site/assets/report.css"]
    assert all(a.startswith("report/site/") for a in added if a not in ("report/h.png", "report/t.csv", "report/t.png"))
    assert "report/site/index.html" in added and "report/t.csv" in added
    assert {k: after[k] for k in before} == before  # the store is only read
    assert not list(elsewhere.iterdir())


# --- models load without running code ------------------------------------------------------


class _Payload:
    """Unpickling this creates a file: proof that code from the model ran."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _consistent_copy(tmp_path: Path) -> Path:
    """models/ copied, with a card that matches the installed code's format, codebook
    and themes, so the only thing wrong with it is what the test puts in."""
    from letterparse import themes as classify, train

    src = Path(classify.model_dir())
    if not (src / "weights.npz").exists():
        pytest.skip("no trained model in models/")
    copy = tmp_path / "models"
    shutil.copytree(src, copy)
    card = json.loads((copy / "model_card.json").read_text("utf-8"))
    card.update(format=classify.MODEL_FORMAT, codebook_version=train.CODEBOOK_VERSION, themes=list(train.THEMES))
    (copy / "model_card.json").write_text(json.dumps(card), "utf-8")
    return copy


def test_pickled_weights_are_refused_not_loaded(tmp_path):
    import numpy as np

    from letterparse.themes import load_models

    copy = _consistent_copy(tmp_path)
    marker = tmp_path / "code_ran"
    with np.load(copy / "weights.npz", allow_pickle=False) as w:
        arrays = {k: w[k] for k in w.files}
    evil = np.empty(1, dtype=object)
    evil[0] = _Payload(str(marker))
    for key in arrays:  # every array the loader may read is now a pickled object array
        arrays[key] = evil
    np.savez(copy / "weights.npz", allow_pickle=True, **arrays)

    with pytest.raises(errors.ModelError) as info:
        load_models(str(copy))
    assert "pickle" in str(info.value).lower() or "object arrays" in str(info.value).lower()
    assert not marker.exists()
    from letterparse.themes import classify

    with pytest.raises(errors.ModelError):  # and through the function that scores texts
        classify(["Supervision is not regular enough."], directory=str(copy))
    assert not marker.exists()


# --- huge and endless inputs ----------------------------------------------------------------


@pytest.fixture(scope="module")
def huge_pdf(tmp_path_factory) -> Path:
    """2,000 blank pages: small on disk, a lot of work for a backend."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument.new()
    for _ in range(2000):
        doc.new_page(595, 842)
    p = tmp_path_factory.mktemp("huge") / "huge.pdf"
    doc.save(str(p))
    doc.close()
    return p


@pytest.mark.parametrize("backend", ["pdfium", "plumber"])
def test_extract_refuses_a_huge_pdf_quickly(huge_pdf, backend):
    t0 = time.monotonic()
    res = CliRunner().invoke(app, ["extract", str(huge_pdf), "--backend", backend])
    assert res.exit_code == 1 and res.stdout == ""
    assert "page count 2000 exceeds the limit of 500" in res.stderr
    assert time.monotonic() - t0 < 20  # refused before the pages are read


@pytest.mark.parametrize("option,value,words", [
    ("--max-pages", "2", "page count 3 exceeds the limit of 2"),
    ("--max-bytes", "1000", "exceeds the limit of 1000"),
])
def test_extract_limits_are_options(good, option, value, words):
    res = CliRunner().invoke(app, ["extract", str(good), option, value, "--no-themes"])
    assert res.exit_code == 1 and res.stderr.startswith("Error: ") and words in res.stderr
    ok = CliRunner().invoke(app, ["extract", str(good), option, str(10**9), "--no-themes"])
    assert ok.exit_code == 0 and json.loads(ok.stdout)["source"]["pages"] == 3
    bad = CliRunner().invoke(app, ["extract", str(good), option, "0"])
    assert bad.exit_code == 2  # a usage error, not a crash


def test_batch_limits_are_options(samples, good, tmp_path, huge_pdf):
    inputs = tmp_path / "in"
    inputs.mkdir()
    shutil.copy(good, inputs / "three_pages.pdf")
    shutil.copy(huge_pdf, inputs / "huge.pdf")
    shutil.copy(samples / "2016_wokingham_sif.pdf", inputs / "five_pages.pdf")
    out = tmp_path / "s.duckdb"
    res = CliRunner().invoke(app, [
        "batch", str(inputs), "--out", str(out), "--workers", "1", "--no-themes", "--max-pages", "4"])
    assert res.exit_code == 1 and "3 files: 1 parsed" in res.output
    t = letterparse.load(out)
    assert list(t["letters"].pages) == [3]
    errs = dict(zip(t["errors"].path.map(lambda p: Path(p).name), t["errors"].message))
    assert set(errs) == {"huge.pdf", "five_pages.pdf"}
    assert "page count 2000 exceeds the limit of 4" in errs["huge.pdf"]
    assert set(t["errors"].error) == {"too_large"}

    small = good.stat().st_size + 1
    res = CliRunner().invoke(app, [
        "batch", str(inputs), "--out", str(out), "--workers", "1", "--no-themes", "--max-bytes", str(small)])
    t = letterparse.load(out)
    too_big = {Path(p).name for p, e in zip(t["errors"].path, t["errors"].error) if e == "too_large"}
    assert "five_pages.pdf" in too_big and "file size (bytes)" in " ".join(t["errors"].message)


def test_batch_timeout_stops_a_backend_that_never_returns(samples, good, tmp_path):
    """A PDF on which the backend loops forever (simulated: a sitecustomize makes
    pypdfium2's reader spin on files named *loops*) is recorded as a timeout; the
    worker is replaced and the other files are parsed."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(textwrap.dedent("""
        import os
        if os.environ.get("LETTERPARSE_TEST_LOOP"):
            import letterparse.extract.pdfium as backend

            real = backend.read_pdf

            def read_pdf(path, data, **kw):
                while "loops" in path:
                    pass
                return real(path, data, **kw)

            backend.read_pdf = read_pdf
    """))
    inputs = tmp_path / "in"
    inputs.mkdir()
    shutil.copy(good, inputs / "a_good.pdf")
    shutil.copy(samples / "2022_wirral_jtai.pdf", inputs / "b_loops.pdf")
    shutil.copy(samples / "2016_wokingham_sif.pdf", inputs / "c_good.pdf")
    out = tmp_path / "s.duckdb"
    env = {**os.environ, "PYTHONPATH": str(site), "LETTERPARSE_TEST_LOOP": "1"}
    t0 = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "letterparse", "batch", str(inputs), "--out", str(out),
         "--workers", "1", "--no-themes", "--timeout", "3"],
        env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )
    assert proc.returncode == 1, proc.stderr
    assert "3 files: 2 parsed, 0 skipped, 1 errors" in proc.stderr
    assert time.monotonic() - t0 < 60
    t = letterparse.load(out)
    assert dict(zip(t["errors"].path.map(lambda p: Path(p).name), t["errors"].error)) == {"b_loops.pdf": "timeout"}
    assert sorted(Path(p).name for p in t["letters"].path) == ["a_good.pdf", "c_good.pdf"]
