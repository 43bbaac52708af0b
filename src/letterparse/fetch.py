"""Download the documents a CSV manifest lists, politely and checked.

The manifest needs an ``inspection_link`` or ``url`` column; an optional
``sha256`` column is checked.  Each document is saved as ``DIR/<name>.pdf``
(``name`` = the last part of the URL's path, made safe by ``file_name``: it can
never leave DIR; two URLs with the same last part get distinct names).

A download is kept only when every check passes (``check_download``): its length
is the one the server declared (Content-Length, when given); its Content-Type is
a PDF one (``PDF_TYPES``); its content is a PDF (``%PDF-`` in the first 1 KB, not
after HTML, and ``%%EOF`` in the last 1 KB, so a body cut short is refused); its
sha256 is the manifest's, when given.  Bytes go to a temporary file in DIR that is
renamed into place only then, so nothing half-written is ever left under the
final name, and a file already there counts as present only if it passes the same
content checks (and the sha256).  Each attempt has a whole-download deadline,
enforced across reads (a server sending a byte a second is cut off), on top of the
per-read timeout.  Only http(s) URLs are fetched, on every redirect too.  Server
errors (5xx, 429), connection errors and bodies cut short are retried with
exponential backoff; 4xx answers, refusals and deadline overruns are not.  Every
problem with one row (bad URL, refused redirect, timeout, refused type, a folder
where the file should go...) is one ``failed`` row in the report, never an abort;
only an output folder that cannot be written stops the run (``OutputNotWritable``).
Uses urllib only.
"""

from __future__ import annotations

import csv
import hashlib
import http.client
import os
import re
import socket
import ssl
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from .errors import InputNotFound, LetterparseError
from .io import fsync_dir, write_atomic

USER_AGENT = "letterparse-fetch/0.1 (+https://github.com/; research use)"


class ManifestError(LetterparseError):
    code = "bad_manifest"


class OutputNotWritable(LetterparseError):
    code = "output_not_writable"

    def __init__(self, path: str, reason: str):
        super().__init__(path, f"cannot write the output folder ({reason})")
        self.reason = reason


@dataclass(frozen=True, slots=True)
class FetchRecord:
    url: str
    path: str  # where the file is (or would be)
    status: str  # downloaded | skipped | failed
    error: str = ""  # one of ERRORS
    message: str = ""


ERRORS = (
    "bad_url", "bad_sha256", "bad_redirect", "is_directory", "http_<code>", "connection", "timeout",
    "incomplete", "too_large", "html", "bad_type", "not_a_pdf", "truncated", "sha256_mismatch", "write_error",
)


@dataclass(frozen=True, slots=True)
class FetchResult:
    records: tuple[FetchRecord, ...]
    seconds: float

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.records)

    @property
    def ok(self) -> bool:
        return self.count("failed") == 0

    def summary(self) -> str:
        return (
            f"{len(self.records)} documents: {self.count('downloaded')} downloaded, "
            f"{self.count('skipped')} already present, {self.count('failed')} failed ({self.seconds:.1f} s)"
        )


def read_manifest(path: str | Path) -> list[tuple[str, str | None]]:
    """``(url, sha256 or None)`` per row, in order, each URL once."""
    p = Path(path)
    if not p.is_file():
        raise InputNotFound(str(p))
    try:
        with open(p, newline="", encoding="utf-8-sig") as fh:
            return _manifest_rows(p, csv.DictReader(fh))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ManifestError(str(p), f"not a readable UTF-8 CSV file ({exc})") from None


def _manifest_rows(p: Path, reader: csv.DictReader) -> list[tuple[str, str | None]]:
    cols = reader.fieldnames or []
    col = "inspection_link" if "inspection_link" in cols else "url" if "url" in cols else None
    if col is None:
        raise ManifestError(str(p), "needs an inspection_link or url column")
    out, seen = [], set()
    for row in reader:
        url = (row.get(col) or "").strip()
        if not url or url in seen:
            continue
        seen.add(url)
        sha = (row.get("sha256") or "").strip().lower() or None
        out.append((url, sha))
    return out


MAX_DOWNLOAD = 200 * 1024 * 1024  # bytes; a larger answer is refused, never written in full
MAX_NAME = 120  # characters of a file name (file systems allow 255 bytes)
SCHEMES = ("http", "https")
PDF_TYPES = ("application/pdf", "application/x-pdf", "application/octet-stream", "binary/octet-stream")
WINDOW = 1024  # bytes: %PDF- must be in the first WINDOW, %%EOF in the last (as PDF readers allow)
CHUNK = 64 * 1024
DEFAULT_DEADLINE = 120.0  # seconds for one whole download


def file_name(url: str) -> str:
    """``https://files.ofsted.gov.uk/v1/file/50276411`` -> ``50276411.pdf``.

    Always one plain name inside the output folder: the last part of the URL's path
    with every character but letters, digits, ``.``, ``_`` and ``-`` replaced (so no
    ``/``, ``\\`` or NUL), no leading dot (no ``..``, no hidden files), at most
    MAX_NAME characters (a long name is cut and given a hash of the URL), ending ``.pdf``."""
    last = url.split("#")[0].split("?")[0].rstrip("/").rsplit("/", 1)[-1]
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", last).lstrip(".") or "document"
    if stem.lower().endswith(".pdf"):
        stem, ext = stem[:-4], stem[-4:]
    else:
        ext = ".pdf"
    if len(stem) + len(ext) > MAX_NAME:
        stem = stem[: MAX_NAME - len(ext) - 13] + "-" + _sha256(url.encode("utf-8"))[:12]
    return (stem or "document") + ext


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- checks: pure functions of what was received --------------------------------------


class _Failed(Exception):
    """One row's failure: ``code`` goes in the report; ``retry`` if trying again may help."""

    def __init__(self, code: str, message: str, retry: bool = False):
        super().__init__(message)
        self.code, self.retry = code, retry


def bad_url(url: str) -> str | None:
    """Why ``url`` cannot be fetched (None if it can): http(s) with a host only."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        return f"not a valid URL ({exc})"
    if parts.scheme.lower() not in SCHEMES:
        return f"only http:// and https:// URLs are fetched, not {parts.scheme or 'a relative path'}"
    if not parts.hostname:
        return "the URL names no host"
    return None


def check_type(content_type: str | None) -> tuple[str, str] | None:
    """``(error, message)`` if the declared Content-Type is not a PDF one."""
    main = (content_type or "").split(";")[0].strip().lower()
    if main in PDF_TYPES:
        return None
    code = "html" if "html" in main else "bad_type"
    return code, f"refused: the server says the answer is {main or 'of no type'}, not a PDF"


def check_pdf(head: bytes, tail: bytes) -> tuple[str, str] | None:
    """``(error, message)`` unless ``head`` (first WINDOW bytes) opens a PDF and
    ``tail`` (last WINDOW bytes) closes one."""
    at = head.find(b"%PDF-")
    before = head[: max(at, 0)].lstrip().lower()
    if before.startswith(b"<") or b"<html" in before or (at < 0 and head.lstrip().lower().startswith(b"<")):
        return "html", "refused: the content is an HTML page, not a PDF"
    if at < 0:
        return "not_a_pdf", "refused: no %PDF- header in the first 1 KB"
    if b"%%EOF" not in tail:
        return "truncated", "refused: no %%EOF in the last 1 KB (cut short?)"
    return None


def check_length(declared: int | None, received: int) -> tuple[str, str] | None:
    if declared is not None and declared != received:
        return "incomplete", f"received {received} bytes of the {declared} the server declared"
    return None


def check_sha256(got: str, want: str | None) -> tuple[str, str] | None:
    if want and got != want:
        return "sha256_mismatch", f"sha256 {got} != {want}"
    return None


def _head_tail(path: Path) -> tuple[bytes, bytes, str]:
    """First and last WINDOW bytes and the sha256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        head = fh.read(WINDOW)
        h.update(head)
        for block in iter(lambda: fh.read(CHUNK), b""):
            h.update(block)
        size = fh.tell()
        fh.seek(max(0, size - WINDOW))
        tail = fh.read()
    return head, tail, h.hexdigest()


def _present(path: Path, sha: str | None) -> bool:
    """A file already there is kept only if it passes the content checks and the sha256."""
    if path.is_symlink() or not path.is_file():  # a link may point out of the folder: fetch again, replacing it
        return False
    try:
        head, tail, got = _head_tail(path)
    except OSError:
        return False
    return check_pdf(head, tail) is None and check_sha256(got, sha) is None


# --- one download, bounded in time -----------------------------------------------------


class _Deadline:
    """Shuts every socket of one download when its time is up, so no read outlives it,
    however slowly the server trickles (a socket timeout bounds one read only)."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.at = time.monotonic() + seconds
        self.expired = False
        self._socks: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> _Deadline:
        self._timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self._timer.cancel()

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._socks.append(sock)
            if self.expired:
                _shut(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._socks:
                _shut(sock)

    def check(self) -> None:
        if self.expired or time.monotonic() >= self.at:
            self.expired = True
            raise _Failed("timeout", f"the download took longer than {self.seconds:g} s and was stopped")


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed


class _Watched:
    """Mixin for http.client connections: hands each new socket to the deadline."""

    def __init__(self, *args, watch, **kwargs):
        super().__init__(*args, **kwargs)
        self._watch = watch

    def connect(self):
        super().connect()
        self._watch(self.sock)


class _HTTPConnection(_Watched, http.client.HTTPConnection):
    pass


class _HTTPSConnection(_Watched, http.client.HTTPSConnection):
    pass


class _HTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, deadline: _Deadline):
        super().__init__()
        self.deadline = deadline

    def http_open(self, req):
        return self.do_open(_HTTPConnection, req, watch=self.deadline.watch)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, deadline: _Deadline):
        self.context = ssl.create_default_context()
        super().__init__(context=self.context)
        self.deadline = deadline

    def https_open(self, req):
        return self.do_open(_HTTPSConnection, req, context=self.context, watch=self.deadline.watch)


class _RedirectHandler(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        why = bad_url(newurl)
        if why:
            raise _Failed("bad_redirect", f"refused a redirect to {newurl[:200]}: {why}")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _opener(deadline: _Deadline) -> urllib.request.OpenerDirector:
    """http(s) only: no ftp, file or data handler at all, and redirects checked."""
    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.ProxyHandler(), urllib.request.UnknownHandler(), _HTTPHandler(deadline),
        _HTTPSHandler(deadline), urllib.request.HTTPDefaultErrorHandler(), _RedirectHandler(),
        urllib.request.HTTPErrorProcessor(),
    ):
        opener.add_handler(handler)
    return opener


def _download(url: str, fh, sha: str | None, timeout: float, deadline: float) -> None:
    """Write the answer to ``url`` into ``fh``; raise ``_Failed`` unless every check passes."""
    req = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept": "application/pdf"})
    with _Deadline(deadline) as clock:
        try:
            with _opener(clock).open(req, timeout=min(timeout, deadline)) as resp:
                _refuse(check_type(resp.headers.get("Content-Type")))
                declared = _declared_length(resp.headers.get("Content-Length"))
                if declared is not None and declared > MAX_DOWNLOAD:
                    raise _Failed("too_large", f"refused: {declared} bytes declared, more than {MAX_DOWNLOAD}")
                h, size = hashlib.sha256(), 0
                while block := resp.read1(CHUNK):
                    clock.check()
                    size += len(block)
                    if size > MAX_DOWNLOAD:
                        raise _Failed("too_large", f"refused: more than {MAX_DOWNLOAD} bytes")
                    h.update(block)
                    _write(fh, block)
                clock.check()
        except _Failed:
            raise
        except urllib.error.HTTPError as exc:
            if 300 <= exc.code < 400:  # urllib refused it: a file:// target, a loop, no Location
                raise _Failed("bad_redirect", f"refused a redirect: {exc.reason}") from exc
            raise _Failed(f"http_{exc.code}", f"HTTP {exc.code} {exc.reason}", retry=exc.code >= 500 or exc.code == 429) from exc
        except (OSError, http.client.HTTPException) as exc:  # URLError, timeouts, resets, IncompleteRead
            clock.check()  # a socket shut by the deadline is a timeout, not a connection error
            code = "incomplete" if isinstance(exc, http.client.IncompleteRead) else "connection"
            raise _Failed(code, str(getattr(exc, "reason", exc)) or type(exc).__name__, retry=True) from exc
        except ValueError as exc:  # http.client.InvalidURL, a non-ASCII path
            raise _Failed("bad_url", f"not a valid URL ({exc})") from exc
    fh.flush()
    _refuse(check_length(declared, size), retry=True)
    fh.seek(0)
    head = fh.read(WINDOW)
    fh.seek(max(0, size - WINDOW))
    _refuse(check_pdf(head, fh.read()))
    _refuse(check_sha256(h.hexdigest(), sha))


def _write(fh, block: bytes) -> None:
    try:
        fh.write(block)
    except OSError as exc:  # disk full: a local problem, not the server's, and not worth a retry
        raise _Failed("write_error", f"cannot write the download: {exc.strerror or exc}") from exc


def _declared_length(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _refuse(problem: tuple[str, str] | None, retry: bool = False) -> None:
    if problem:
        raise _Failed(*problem, retry=retry)


def _save(url: str, target: Path, sha: str | None, timeout: float, deadline: float) -> None:
    """Download into a temporary file beside ``target``; rename it into place only if
    every check passed, and remove it otherwise (also on Ctrl-C)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(fd, "w+b") as fh:
            _download(url, fh, sha, timeout, deadline)
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it owner-only; downloads are for sharing
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    fsync_dir(target.parent)


# --- the run ----------------------------------------------------------------------------


def _writable_folder(out: Path) -> None:
    """Create ``out`` and prove a file can be made in it, or raise ``OutputNotWritable``
    (``os.access`` is no proof: it says yes to root on a read-only mount)."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except FileExistsError:
        raise OutputNotWritable(str(out), "it is a file, not a folder") from None
    except OSError as exc:
        raise OutputNotWritable(str(out), exc.strerror or str(exc)) from None


def fetch(
    manifest: str | Path,
    out: str | Path,
    *,
    rate: float = 1.0,
    retries: int = 3,
    backoff: float = 2.0,
    timeout: float = 60.0,
    deadline: float = DEFAULT_DEADLINE,
) -> FetchResult:
    """Download every document in ``manifest`` into ``out``; see the module docstring.

    ``rate`` is the least time in seconds between two requests; retry ``n`` waits
    ``backoff * 2**(n-1)`` seconds (and at least ``rate``).  ``timeout`` bounds one
    read, ``deadline`` one whole download attempt.  A ``fetch-report.csv`` listing
    every document's url, path, status, error and message is written to ``out``.
    """
    t0 = time.monotonic()
    items = read_manifest(manifest)
    outdir = Path(out)
    _writable_folder(outdir)
    last_request = [float("-inf")]

    def polite_save(url: str, target: Path, sha: str | None) -> None:
        wait = last_request[0] + rate - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        last_request[0] = time.monotonic()
        _save(url, target, sha, timeout, deadline)

    records: list[FetchRecord] = []
    used: dict[str, str] = {}  # file name -> the URL it belongs to in this manifest
    for url, sha in items:
        name = file_name(url)
        if used.get(name.lower(), url) != url:  # another URL with the same last part
            name = name[:-4] + "-" + _sha256(url.encode("utf-8"))[:12] + name[-4:]
        used[name.lower()] = url
        target = outdir / name
        records.append(_one(url, target, sha, retries, backoff, polite_save))
    try:
        _write_report(outdir / "fetch-report.csv", records)
    except OSError as exc:
        raise OutputNotWritable(str(outdir), exc.strerror or str(exc)) from None
    return FetchResult(tuple(records), time.monotonic() - t0)


def _one(url: str, target: Path, sha: str | None, retries: int, backoff: float, save) -> FetchRecord:
    """One manifest row: every problem becomes a ``failed`` record, never an exception."""

    def failed(code: str, message: str) -> FetchRecord:
        return FetchRecord(url, str(target), "failed", code, message)

    if why := bad_url(url):
        return failed("bad_url", why)
    if sha is not None and not re.fullmatch(r"[0-9a-f]{64}", sha):
        return failed("bad_sha256", f"the manifest's sha256 {sha[:80]!r} is not 64 hex digits")
    if target.is_dir() and not target.is_symlink():
        return failed("is_directory", "a folder is in the way of the file")
    if _present(target, sha):
        return FetchRecord(url, str(target), "skipped")
    record = None
    for attempt in range(retries + 1):
        if attempt:
            time.sleep(backoff * 2 ** (attempt - 1))
        try:
            save(url, target, sha)
            return FetchRecord(url, str(target), "downloaded")
        except _Failed as exc:
            record = failed(exc.code, str(exc))
            if not exc.retry:
                break
        except OSError as exc:  # the temporary file or the rename (disk full, a folder raced in...)
            return failed("write_error", f"cannot write {exc.filename or target}: {exc.strerror or exc}")
    assert record is not None
    return record


def _write_report(path: Path, records: list[FetchRecord]) -> None:
    import io

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["url", "path", "status", "error", "message"])
    for r in records:
        w.writerow([r.url, r.path, r.status, r.error, r.message])
    write_atomic(path, buf.getvalue())
