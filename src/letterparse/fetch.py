"""Download the documents a CSV manifest lists, politely and checked.

The manifest needs an ``inspection_link`` or ``url`` column; an optional
``sha256`` column is checked.  Each document is saved as ``DIR/<name>.pdf``
(``name`` = the last part of the URL's path, made safe by ``file_name``: it can
never leave DIR; two URLs with the same last part get distinct names), written
through a temporary file and a rename, so a run can be stopped and started again: a file already there
with the right hash (or, without a hash, that is a PDF) is skipped.  Server
errors (5xx) and connection errors are retried with exponential backoff;
4xx answers are not.  An HTML page or anything else that is not a PDF is
refused and recorded, never saved as ``.pdf``.  Only http(s) URLs are fetched
(never ``file://``).  Uses urllib only.
"""

from __future__ import annotations

import csv
import hashlib
import re
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from .errors import InputNotFound, LetterparseError
from .io import write_atomic

USER_AGENT = "letterparse-fetch/0.1 (+https://github.com/; research use)"


class ManifestError(LetterparseError):
    code = "bad_manifest"


@dataclass(frozen=True, slots=True)
class FetchRecord:
    url: str
    path: str  # where the file is (or would be)
    status: str  # downloaded | skipped | failed
    error: str = ""  # http_404, http_500, connection, not_a_pdf, html, sha256_mismatch, bad_url, too_large
    message: str = ""


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
    with open(p, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
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


MAX_DOWNLOAD = 200 * 1024 * 1024  # bytes; a larger answer is refused, not held in memory
MAX_NAME = 120  # characters of a file name (file systems allow 255 bytes)
SCHEMES = ("http://", "https://")


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


def _present(path: Path, sha: str | None) -> bool:
    if path.is_symlink() or not path.is_file():  # a link may point out of the folder: fetch again, replacing it
        return False
    data = path.read_bytes()
    return _sha256(data) == sha if sha else data[:1024].lstrip().startswith(b"%PDF-")


class _Retryable(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def _get(url: str, timeout: float) -> tuple[bytes, str]:
    req = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept": "application/pdf"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            data = resp.read(MAX_DOWNLOAD + 1)
            return data, resp.headers.get("Content-Type", "")
    except urllib.error.HTTPError as exc:
        if exc.code >= 500 or exc.code == 429:
            raise _Retryable(f"http_{exc.code}", f"HTTP {exc.code} {exc.reason}") from exc
        raise
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as exc:
        raise _Retryable("connection", str(getattr(exc, "reason", exc))) from exc


def fetch(
    manifest: str | Path,
    out: str | Path,
    *,
    rate: float = 1.0,
    retries: int = 3,
    backoff: float = 2.0,
    timeout: float = 60.0,
) -> FetchResult:
    """Download every document in ``manifest`` into ``out``; see the module docstring.

    ``rate`` is the least time in seconds between two requests; retry ``n`` waits
    ``backoff * 2**(n-1)`` seconds (and at least ``rate``).  A ``fetch-report.csv``
    listing every document's status is written to ``out``.
    """
    from .extract import sniff

    t0 = time.monotonic()
    items = read_manifest(manifest)
    outdir = Path(out)
    outdir.mkdir(parents=True, exist_ok=True)
    records: list[FetchRecord] = []
    last_request = [float("-inf")]

    def polite_get(url: str) -> tuple[bytes, str]:
        wait = last_request[0] + rate - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        last_request[0] = time.monotonic()
        return _get(url, timeout)

    used: dict[str, str] = {}  # file name -> the URL it belongs to in this manifest
    for url, sha in items:
        name = file_name(url)
        if used.get(name.lower(), url) != url:  # another URL with the same last part
            name = name[:-4] + "-" + _sha256(url.encode("utf-8"))[:12] + name[-4:]
        used[name.lower()] = url
        target = outdir / name
        if not url.lower().startswith(SCHEMES):
            records.append(FetchRecord(url, str(target), "failed", "bad_url", "only http:// and https:// URLs are fetched"))
            continue
        if _present(target, sha):
            records.append(FetchRecord(url, str(target), "skipped"))
            continue
        record = None
        for attempt in range(retries + 1):
            if attempt:
                time.sleep(backoff * 2 ** (attempt - 1))
            try:
                data, ctype = polite_get(url)
            except _Retryable as exc:
                record = FetchRecord(url, str(target), "failed", exc.code, str(exc))
                continue
            except urllib.error.HTTPError as exc:
                record = FetchRecord(url, str(target), "failed", f"http_{exc.code}", f"HTTP {exc.code} {exc.reason}")
                break
            kind = sniff(data) if data else "empty"
            if len(data) > MAX_DOWNLOAD:
                record = FetchRecord(url, str(target), "failed", "too_large", f"refused: more than {MAX_DOWNLOAD} bytes")
            elif kind != "pdf":
                code = "html" if kind == "html" or "html" in ctype.lower() else "not_a_pdf"
                record = FetchRecord(url, str(target), "failed", code, f"refused: the answer is {kind} ({ctype or 'no type'})")
            elif sha and _sha256(data) != sha:
                record = FetchRecord(url, str(target), "failed", "sha256_mismatch", f"sha256 {_sha256(data)} != {sha}")
            else:
                write_atomic(target, data)
                record = FetchRecord(url, str(target), "downloaded")
            break
        assert record is not None
        records.append(record)
    _write_report(outdir / "fetch-report.csv", records)
    return FetchResult(tuple(records), time.monotonic() - t0)


def _write_report(path: Path, records: list[FetchRecord]) -> None:
    import io

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["url", "path", "status", "error", "message"])
    for r in records:
        w.writerow([r.url, r.path, r.status, r.error, r.message])
    write_atomic(path, buf.getvalue())
