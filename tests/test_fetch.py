"""fetch against a local http.server on 127.0.0.1 only (never the internet)."""

from __future__ import annotations

import csv
import hashlib
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from typer.testing import CliRunner

from letterparse.fetch import fetch, file_name, read_manifest
from render import render_letter

LETTER = "Inspection dates: 1 to 5 May 2023\n\nAreas for improvement\n\n- Supervision is not regular enough.\n"


@pytest.fixture(scope="module")
def pdf_bytes(tmp_path_factory) -> bytes:
    return render_letter(LETTER, tmp_path_factory.mktemp("pdf") / "l.pdf").read_bytes()


@pytest.fixture
def server(pdf_bytes):
    hits: dict[str, int] = {}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def send(self, code, body, ctype):
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            hits[self.path] = hits.get(self.path, 0) + 1
            if self.path in ("/file/1", "/file/wronghash"):
                self.send(200, pdf_bytes, "application/pdf")
            elif self.path == "/file/flaky":
                if hits[self.path] == 1:
                    self.send(500, b"oops", "text/plain")
                else:
                    self.send(200, pdf_bytes, "application/octet-stream")
            elif self.path == "/file/errorpage":
                self.send(200, b"<!DOCTYPE html><html><body>Sorry, we could not find that</body></html>", "text/html")
            else:
                self.send(404, b"not found", "text/plain")

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", hits
    httpd.shutdown()
    httpd.server_close()


def manifest(tmp_path, base, pdf_bytes, column="inspection_link"):
    good = hashlib.sha256(pdf_bytes).hexdigest()
    rows = [
        (f"{base}/file/1", good),
        (f"{base}/file/flaky", ""),
        (f"{base}/file/errorpage", ""),
        (f"{base}/file/missing", ""),
        (f"{base}/file/wronghash", "0" * 64),
        (f"{base}/file/1", good),  # listed twice: fetched once
    ]
    p = tmp_path / "manifest.csv"
    with open(p, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["urn", column, "sha256"])
        for i, (u, s) in enumerate(rows):
            w.writerow([i, u, s])
    return p


def test_file_name():
    assert file_name("https://files.ofsted.gov.uk/v1/file/50276411") == "50276411.pdf"
    assert file_name("http://x/a b/report.PDF?x=1") == "report.PDF"


def test_fetch(server, tmp_path, pdf_bytes):
    base, hits = server
    m = manifest(tmp_path, base, pdf_bytes)
    assert len(read_manifest(m)) == 5
    out = tmp_path / "out"
    t0 = time.monotonic()
    r = fetch(m, out, rate=0.05, retries=2, backoff=0.01)
    assert time.monotonic() - t0 >= 0.05 * 5  # six requests, rate-limited
    status = {rec.url.rsplit("/", 1)[1]: (rec.status, rec.error) for rec in r.records}
    assert status == {
        "1": ("downloaded", ""),
        "flaky": ("downloaded", ""),
        "errorpage": ("failed", "html"),
        "missing": ("failed", "http_404"),
        "wronghash": ("failed", "sha256_mismatch"),
    }
    assert hits["/file/flaky"] == 2 and hits["/file/missing"] == 1  # 5xx retried, 404 not
    assert (out / "1.pdf").read_bytes() == pdf_bytes and (out / "flaky.pdf").read_bytes() == pdf_bytes
    assert sorted(p.name for p in out.iterdir()) == ["1.pdf", "fetch-report.csv", "flaky.pdf"]
    assert not r.ok and r.summary().startswith("5 documents: 2 downloaded, 0 already present, 3 failed")
    report = list(csv.DictReader(open(out / "fetch-report.csv")))
    assert [x["status"] for x in report].count("failed") == 3

    # resume: files present with the right hash are not requested again
    before = dict(hits)
    r2 = fetch(m, out, rate=0, retries=0, backoff=0)
    assert r2.count("skipped") == 2 and hits["/file/1"] == before["/file/1"] and hits["/file/flaky"] == before["/file/flaky"]
    # a corrupted local copy is fetched again
    (out / "1.pdf").write_bytes(b"%PDF-1.4 truncated")
    r3 = fetch(m, out, rate=0, retries=0, backoff=0)
    assert [x.status for x in r3.records if x.url.endswith("/1")] == ["downloaded"]
    assert (out / "1.pdf").read_bytes() == pdf_bytes


def test_retries_exhausted_and_url_column(server, tmp_path, pdf_bytes):
    base, hits = server
    p = tmp_path / "m.csv"
    p.write_text(f"url\n{base}/file/flaky\nhttp://127.0.0.1:9/closed\n")
    r = fetch(p, tmp_path / "o", rate=0, retries=0, backoff=0)
    assert [(x.status, x.error) for x in r.records] == [("failed", "http_500"), ("failed", "connection")]
    r = fetch(p, tmp_path / "o", rate=0, retries=1, backoff=0)
    assert r.records[0].status == "downloaded"


def test_cli_fetch(server, tmp_path, pdf_bytes):
    from letterparse.cli import app

    base, _ = server
    m = manifest(tmp_path, base, pdf_bytes, column="url")
    res = CliRunner().invoke(app, ["fetch", str(m), "--out", str(tmp_path / "o"), "--rate", "0", "--retries", "1"])
    assert res.exit_code == 1 and "2 downloaded" in res.output
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    res = CliRunner().invoke(app, ["fetch", str(bad), "--out", str(tmp_path / "o")])
    assert res.exit_code == 1 and "Error: " in res.output and "inspection_link or url" in res.output
