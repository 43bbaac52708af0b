"""fetch against a local http.server on 127.0.0.1 only (never the internet)."""

from __future__ import annotations

import csv
import hashlib
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from typer.testing import CliRunner

from letterparse.fetch import bad_url, check_length, check_pdf, check_type, fetch, file_name, read_manifest
from render import render_letter

HTML_WITH_PDF = b"<!DOCTYPE html><html><body><p>Download %PDF-1.7 (40 KB)</p></body></html>\n%%EOF\n"
SHORT_ONCE = True  # /file/short is cut short on its first request only

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

        def send(self, code, body, ctype, length=None, headers=()):
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body) if length is None else length))
            for k, v in headers:
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def trickle(self):  # a byte every 0.5 s, for at most 10 s (the test's deadline is 2 s)
            self.send_response(200)
            self.send_header("Content-Type", "application/pdf")
            self.send_header("Content-Length", str(len(pdf_bytes)))
            self.end_headers()
            for i in range(20):
                try:
                    self.wfile.write(pdf_bytes[i : i + 1])
                    self.wfile.flush()
                except OSError:
                    return
                time.sleep(0.5)

        def do_GET(self):
            hits[self.path] = hits.get(self.path, 0) + 1
            if self.path in ("/file/1", "/file/wronghash", "/file/2", "/dir.pdf"):
                self.send(200, pdf_bytes, "application/pdf")
            elif self.path == "/file/short":  # declares the whole length, sends the first 5,000 bytes
                cut = hits[self.path] == 1 or not SHORT_ONCE
                self.send(200, pdf_bytes[:5000] if cut else pdf_bytes, "application/pdf", length=len(pdf_bytes))
            elif self.path == "/file/htmlpdf":
                self.send(200, HTML_WITH_PDF, "text/html; charset=utf-8")
            elif self.path == "/file/htmlpdf-octet":  # a lying type: the content gives it away
                self.send(200, HTML_WITH_PDF, "application/octet-stream")
            elif self.path == "/file/notype":
                self.send(200, pdf_bytes, "text/plain")
            elif self.path == "/file/trickle":
                self.trickle()
            elif self.path == "/file/to-ftp":
                self.send(302, b"", "text/plain", headers=[("Location", "ftp://127.0.0.1:9/x.pdf")])
            elif self.path == "/file/to-file":
                self.send(302, b"", "text/plain", headers=[("Location", "file:///etc/passwd")])
            elif self.path == "/file/moved":
                self.send(301, b"", "text/plain", headers=[("Location", "/file/2")])
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
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
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


# --- the checks a download must pass, as tables ---------------------------------------

PDF_HEAD, PDF_TAIL = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", b"startxref\n1234\n%%EOF\n"


@pytest.mark.parametrize("head,tail,expected", [
    (PDF_HEAD, PDF_TAIL, None),
    (b"\xef\xbb\xbf  " + PDF_HEAD, PDF_TAIL, None),  # a little junk before the header, as readers allow
    (PDF_HEAD, b"stream\nx\x9c\x03\x00endstream", "truncated"),  # cut short: no %%EOF
    (b"<!DOCTYPE html><html>see %PDF-1.4", b"</html>\n%%EOF", "html"),
    (b"  <html><body>Sorry</body></html>", b"</html>", "html"),
    (b"Sorry, no such file", b"Sorry, no such file", "not_a_pdf"),
    (b"", b"", "not_a_pdf"),
])
def test_check_pdf(head, tail, expected):
    problem = check_pdf(head, tail)
    assert (problem[0] if problem else None) == expected


@pytest.mark.parametrize("ctype,expected", [
    ("application/pdf", None),
    ("Application/PDF; charset=binary", None),
    ("application/octet-stream", None),
    ("text/html; charset=utf-8", "html"),
    ("application/xhtml+xml", "html"),
    ("text/plain", "bad_type"),
    (None, "bad_type"),
])
def test_check_type(ctype, expected):
    problem = check_type(ctype)
    assert (problem[0] if problem else None) == expected


@pytest.mark.parametrize("declared,received,expected", [
    (90134, 5000, "incomplete"), (5000, 90134, "incomplete"), (5000, 5000, None), (None, 5000, None),
])
def test_check_length(declared, received, expected):
    problem = check_length(declared, received)
    assert (problem[0] if problem else None) == expected


@pytest.mark.parametrize("url,ok", [
    ("https://files.ofsted.gov.uk/v1/file/50276411", True),
    ("HTTP://127.0.0.1:8000/a.pdf", True),
    ("ftp://files.example/a.pdf", False),
    ("file:///etc/passwd", False),
    ("http:///no-host.pdf", False),
    ("http://[::1/a.pdf", False),
    ("http://h:port/a.pdf", False),
    ("/etc/passwd", False),
])
def test_bad_url(url, ok):
    assert (bad_url(url) is None) == ok


# --- hostile servers: each is one failed row, nothing else written, nothing hangs -------


def fetch_rows(tmp_path, base, paths, out=None, **kw):
    m = tmp_path / "rows.csv"
    m.write_text("url\n" + "".join(f"{p if '://' in p else base + p}\n" for p in paths))
    out = out or tmp_path / "out"
    opts = dict(rate=0, retries=0, backoff=0, timeout=5, deadline=5) | kw
    r = fetch(m, out, **opts)
    return {rec.url.rsplit("/", 1)[-1]: (rec.status, rec.error) for rec in r.records}, out


def leftovers(out):
    return sorted(p.name for p in out.iterdir() if p.name.startswith("."))


@pytest.mark.parametrize("path,error", [
    ("/file/short", "incomplete"),  # Content-Length larger than the body
    ("/file/htmlpdf", "html"),  # an HTML page containing %PDF- and %%EOF, typed text/html
    ("/file/htmlpdf-octet", "html"),  # the same page typed application/octet-stream
    ("/file/notype", "bad_type"),  # a PDF the server calls text/plain
    ("/file/to-ftp", "bad_redirect"),
    ("/file/to-file", "bad_redirect"),
    ("/file/missing", "http_404"),
])
def test_refused_download_leaves_nothing(server, tmp_path, path, error):
    base, hits = server
    rows, out = fetch_rows(tmp_path, base, [path, "/file/1"])
    assert rows == {path.rsplit("/", 1)[1]: ("failed", error), "1": ("downloaded", "")}
    assert sorted(p.name for p in out.iterdir()) == ["1.pdf", "fetch-report.csv"]  # no .part file, no half file


def test_redirect_within_http_is_followed(server, tmp_path, pdf_bytes):
    base, hits = server
    rows, out = fetch_rows(tmp_path, base, ["/file/moved"])
    assert rows == {"moved": ("downloaded", "")} and (out / "moved.pdf").read_bytes() == pdf_bytes
    assert hits["/file/2"] == 1


def test_deadline_covers_the_whole_download(server, tmp_path):
    base, hits = server
    t0 = time.monotonic()
    rows, out = fetch_rows(tmp_path, base, ["/file/trickle", "/file/1"], timeout=5, deadline=2, retries=2)
    took = time.monotonic() - t0
    assert rows == {"trickle": ("failed", "timeout"), "1": ("downloaded", "")}
    assert 2 <= took < 4.5  # the per-read timeout (5 s) never fires; the deadline does, once (no retry)
    assert hits["/file/trickle"] == 1 and leftovers(out) == []


def test_short_body_is_fetched_again_on_the_next_run(server, tmp_path, pdf_bytes):
    base, hits = server
    rows, out = fetch_rows(tmp_path, base, ["/file/short"])
    assert rows == {"short": ("failed", "incomplete")} and not (out / "short.pdf").exists()
    rows, _ = fetch_rows(tmp_path, base, ["/file/short"])  # the server now sends it whole
    assert rows == {"short": ("downloaded", "")} and (out / "short.pdf").read_bytes() == pdf_bytes
    assert hits["/file/short"] == 2


def test_cut_file_left_by_an_older_run_is_not_already_present(server, tmp_path, pdf_bytes):
    base, hits = server
    out = tmp_path / "out"
    out.mkdir()
    (out / "1.pdf").write_bytes(pdf_bytes[:5000])  # starts %PDF-, no %%EOF
    rows, _ = fetch_rows(tmp_path, base, ["/file/1"])
    assert rows == {"1": ("downloaded", "")} and (out / "1.pdf").read_bytes() == pdf_bytes
    rows, _ = fetch_rows(tmp_path, base, ["/file/1"])
    assert rows == {"1": ("skipped", "")} and hits["/file/1"] == 1


def test_one_bad_row_never_stops_the_manifest(server, tmp_path):
    base, hits = server
    out = tmp_path / "out"
    (out / "dir.pdf").mkdir(parents=True)
    rows = ["/file/1", "/dir.pdf", "http://[::1/x.pdf", "http://h:port/y.pdf", "ftp://h/z.pdf", "/file/2"]
    got, _ = fetch_rows(tmp_path, base, rows)
    assert got == {
        "1": ("downloaded", ""), "dir.pdf": ("failed", "is_directory"), "x.pdf": ("failed", "bad_url"),
        "y.pdf": ("failed", "bad_url"), "z.pdf": ("failed", "bad_url"), "2": ("downloaded", ""),
    }
    assert "/dir.pdf" not in hits and (out / "dir.pdf").is_dir()
    report = list(csv.DictReader(open(out / "fetch-report.csv")))
    assert [(x["status"], x["error"]) for x in report] == list(got.values())
    assert set(report[0]) == {"url", "path", "status", "error", "message"}


def test_sha256_mismatch_and_malformed_sha256(server, tmp_path, pdf_bytes):
    base, hits = server
    m = tmp_path / "m.csv"
    m.write_text(f"url,sha256\n{base}/file/1,{'0' * 64}\n{base}/file/2,abc\n")
    r = fetch(m, tmp_path / "out", rate=0, retries=0, backoff=0)
    assert [(x.status, x.error) for x in r.records] == [("failed", "sha256_mismatch"), ("failed", "bad_sha256")]
    assert "/file/2" not in hits and sorted(p.name for p in (tmp_path / "out").iterdir()) == ["fetch-report.csv"]


@pytest.mark.parametrize("make_out", ["under_a_file", "a_file", "read_only"])
def test_cli_fetch_unwritable_out_is_one_line(server, tmp_path, pdf_bytes, make_out):
    from letterparse.cli import app

    base, hits = server
    m = manifest(tmp_path, base, pdf_bytes)
    (tmp_path / "f").write_text("not a folder")
    out = {"under_a_file": tmp_path / "f" / "pdfs", "a_file": tmp_path / "f", "read_only": tmp_path / "ro"}[make_out]
    if make_out == "read_only":
        if os.geteuid() == 0:
            pytest.skip("root writes into read-only folders; under_a_file covers this")
        out.mkdir()
        out.chmod(0o555)
    res = CliRunner().invoke(app, ["fetch", str(m), "--out", str(out), "--rate", "0"])
    assert res.exit_code == 1 and isinstance(res.exception, SystemExit)  # no traceback
    assert res.output.startswith("Error: ") and "cannot write the output folder" in res.output
    assert len(res.output.strip().splitlines()) == 1 and hits == {}  # checked before any request


def test_cli_fetch_deadline_option(server, tmp_path):
    from letterparse.cli import app

    base, _ = server
    m = tmp_path / "m.csv"
    m.write_text(f"url\n{base}/file/trickle\n")
    t0 = time.monotonic()
    res = CliRunner().invoke(app, ["fetch", str(m), "--out", str(tmp_path / "o"), "--rate", "0", "--deadline", "1"])
    assert res.exit_code == 1 and "1 failed" in res.output and time.monotonic() - t0 < 3
    assert "timeout" in (tmp_path / "o" / "fetch-report.csv").read_text()
