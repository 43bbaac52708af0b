"""Memory bombs and leftovers (issue #14, items 2 and 7).

The bombs are built here, byte by byte: a PDF of nested form XObjects that each draw
the next ten times (a few KB that PDFium expands without end), and a 1 MB PDF whose
content stream inflates to 1 GB of zeros.  Every run that parses one is a separate
process under a 512 MB cap and a timeout, so a regression fails the test instead of
taking the machine down.  Since the page-content guard (extract/guard.py), both bombs
are refused before any page is loaded; its own tests are at the end.
"""

from __future__ import annotations

import os
import shutil
import signal
import struct
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path
from types import SimpleNamespace

import pytest

import letterparse
from letterparse.batch import Failed, _LocalPool, _Task, parse_task
from letterparse.cli import _size

CAP = "512M"
CAP_BYTES = 512 << 20
RUN_TIMEOUT = 120  # seconds: a guard against a hang, far above the few seconds a run takes
MEMORY_MESSAGE = "parsing needed more memory than the limit of 512 MB (--max-memory) and was stopped"
# Since the page-content guard (below), the bombs are refused before the cap is needed.
GUARD_MESSAGE = {
    "a_forms.pdf": "page 1: form XObjects drawn, at least 111110 exceeds the limit of 100000",
    "b_inflate.pdf": "page 1: decoded content stream (bytes), at least 16777217 exceeds the limit of 16777216",
}


# --- the bombs --------------------------------------------------------------------


def _pdf(objects: list[bytes]) -> bytes:
    """A one-page PDF of ``objects`` (object 1 the catalog), with a correct xref table."""
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _stream(data: bytes, entries: bytes = b"") -> bytes:
    return b"<< /Length %d %s >>\nstream\n%s\nendstream" % (len(data), entries, data)


def _page(content: bytes, resources: bytes = b"") -> list[bytes]:
    """Objects 1-5: catalog, pages, the page, a font, the page's content stream."""
    return [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 5 0 R "
        b"/Resources << /Font << /F1 4 0 R >> %s >> >>" % resources,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        content,
    ]


def form_bomb(depth: int = 12, fanout: int = 10) -> bytes:
    """Form X0 draws X1 ``fanout`` times, X1 draws X2 ``fanout`` times ... and the last
    shows one word: ``fanout ** depth`` words from ~4 KB."""
    forms = []
    for k in range(depth + 1):
        entries = b"/Type /XObject /Subtype /Form /BBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >>"
        if k < depth:
            body = b"q /X%d Do Q " % (k + 1) * fanout
            entries += b" /XObject << /X%d %d 0 R >>" % (k + 1, 7 + k)
        else:
            body = b"BT /F1 12 Tf 72 720 Td (Ofsted) Tj ET"
        forms.append(_stream(body, entries + b" >>"))
    return _pdf(_page(_stream(b"q /X0 Do Q"), b"/XObject << /X0 6 0 R >>") + forms)


def _zeros_deflated(size: int) -> bytes:
    """A zlib stream of ``size`` zero bytes (a multiple of 1 MB), built in well under a
    second: after a full flush, deflate's output for the same megabyte is the same bytes."""
    mb = bytes(1 << 20)
    z = zlib.compressobj(9)
    first = z.compress(mb) + z.flush(zlib.Z_FULL_FLUSH)
    again = z.compress(mb) + z.flush(zlib.Z_FULL_FLUSH)
    adler = 1
    for _ in range(size >> 20):
        adler = zlib.adler32(mb, adler)
    return first + again * ((size >> 20) - 1) + b"\x03\x00" + struct.pack(">I", adler)  # empty last block


def flate_bomb(size: int = 1 << 30) -> bytes:
    """One page whose content stream inflates to ``size`` zero bytes (~1 MB for 1 GB)."""
    return _pdf(_page(_stream(_zeros_deflated(size), b"/Filter /FlateDecode")))


def test_the_zeros_stream_is_what_it_claims():
    data = _zeros_deflated(8 << 20)
    assert zlib.decompress(data) == bytes(8 << 20)


# --- watching the processes of a run ----------------------------------------------


def _children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry))
    return out


def _descendants(pid: int) -> list[int]:
    todo, seen = _children(pid), []
    while todo:
        p = todo.pop()
        seen.append(p)
        todo += _children(p)
    return seen


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for a reaper counts as gone: it holds no memory)."""
    try:
        os.kill(pid, 0)
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (ProcessLookupError, FileNotFoundError):
        return False


def _hwm(pid: int) -> int:
    """Peak resident memory (VmHWM) of a live process, in bytes; 0 once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _run_watched(args: list[str], **kw) -> tuple[subprocess.CompletedProcess, int, float]:
    """Run ``letterparse args`` in a process of its own; return it, the highest VmHWM any
    of its descendants (the workers) reached, sampled every 10 ms, and the wall time."""
    if not Path("/proc/self/status").exists():
        pytest.skip("needs /proc")
    proc = subprocess.Popen(
        [sys.executable, "-m", "letterparse", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, start_new_session=True, **kw,
    )
    peak, done = [0], threading.Event()

    def sample() -> None:
        while not done.is_set():
            for pid in _descendants(proc.pid):
                peak[0] = max(peak[0], _hwm(pid))
            time.sleep(0.01)

    watcher = threading.Thread(target=sample, daemon=True)
    t0 = time.monotonic()
    watcher.start()
    try:
        out, err = proc.communicate(timeout=RUN_TIMEOUT)
    finally:
        done.set()
        watcher.join()
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err), peak[0], time.monotonic() - t0


@pytest.fixture(scope="module")
def bombs(tmp_path_factory, samples) -> Path:
    """The two bombs, sorted before a good letter (a batch of one worker parses the
    largest file first: the flate bomb, then the good letter, then the form bomb)."""
    d = tmp_path_factory.mktemp("bombs")
    (d / "a_forms.pdf").write_bytes(form_bomb())
    (d / "b_inflate.pdf").write_bytes(flate_bomb())
    shutil.copy(sorted(samples.glob("*.pdf"))[0], d / "c_good.pdf")
    return d


# --- the cap --------------------------------------------------------------------


def test_bombs_are_too_large_and_the_batch_goes_on(bombs, tmp_path):
    out = tmp_path / "b.jsonl"
    res, peak, seconds = _run_watched(
        ["batch", str(bombs), "--out", str(out), "--workers", "1", "--no-themes", "--max-memory", CAP]
    )
    assert res.returncode == 1, res.stderr
    assert "Traceback" not in res.stderr
    t = letterparse.load(out)
    errors = {Path(p).name: (e, m) for p, e, m in zip(t["errors"].path, t["errors"].error, t["errors"].message)}
    assert errors == {name: ("too_large", message) for name, message in GUARD_MESSAGE.items()}
    assert [Path(p).name for p in t["letters"].path] == ["c_good.pdf"]
    assert 0 < peak < CAP_BYTES  # the workers' resident peak stayed under the cap
    assert seconds < 60  # before the cap: the form bomb ran to 23.7 GB and 95 s


@pytest.mark.parametrize("bomb", ["a_forms.pdf", "b_inflate.pdf"])
def test_extract_refuses_a_bomb_with_one_line(bombs, bomb):
    res, peak, seconds = _run_watched(["extract", str(bombs / bomb), "--no-themes", "--max-memory", CAP])
    assert (res.returncode, res.stdout) == (1, "")
    assert res.stderr.splitlines() == [f"Error: {bombs / bomb}: {GUARD_MESSAGE[bomb]}"]
    assert 0 < peak < CAP_BYTES and seconds < 60


def test_extract_of_a_good_letter_under_the_cap_still_prints_it(bombs):
    res, _, _ = _run_watched(["extract", str(bombs / "c_good.pdf"), "--no-themes", "--max-memory", CAP])
    assert res.returncode == 0, res.stderr
    assert letterparse.io.loads(res.stdout).source.sha256


def test_a_memory_error_in_python_is_too_large(monkeypatch, tmp_path):
    import letterparse.batch as batch
    import letterparse.pipeline

    def hungry(*a, **k):
        raise MemoryError

    monkeypatch.setattr(letterparse.pipeline, "parse", hungry)
    monkeypatch.setattr(batch, "_CAP", CAP_BYTES)
    assert parse_task(str(tmp_path / "x.pdf"), "pdfium", False) == Failed("too_large", MEMORY_MESSAGE)


GB = 1 << 30


@pytest.mark.parametrize(
    ("start", "peak", "cap", "memory"),
    [
        (0.3 * GB, 1.9 * GB, 2 * GB, True),  # grew to the cap: the form bomb
        (0.1 * GB, 1.1 * GB, 2 * GB, True),  # a buffer doubling to 1 GB failed: the flate bomb
        (0.3 * GB, 0.8 * GB, 2 * GB, True),  # a quarter of the room: memory
        (0.3 * GB, 0.35 * GB, 2 * GB, False),  # an ordinary letter's size: a crash, not memory
        (0.3 * GB, 0.3 * GB, 2 * GB, False),
        (0.0, 1.9 * GB, 2 * GB, False),  # never started: nothing known
        (0.3 * GB, 1.9 * GB, None, False),  # no cap: nothing to compare with
    ],
)
def test_a_dead_worker_died_of_memory_when_it_grew_by_a_quarter_of_its_room(start, peak, cap, memory):
    pool = SimpleNamespace(mem=[start, peak], max_memory=cap)
    assert _LocalPool.died_of_memory(pool, _Task("x.pdf", "", slot=0)) is memory


@pytest.mark.parametrize(
    ("text_in", "expected"),
    [("2G", 2 << 30), ("512M", 512 << 20), ("512m", 512 << 20), ("1.5G", 3 << 29), ("2GB", 2 << 30),
     ("2GiB", 2 << 30), ("100000000", 100_000_000), ("64K", 64 << 10), ("0", 0)],
)
def test_max_memory_sizes(text_in, expected):
    assert _size(text_in) == expected


def test_a_cap_below_what_a_worker_needs_is_refused(tmp_path):
    from typer.testing import CliRunner

    from letterparse.cli import app

    res = CliRunner().invoke(app, ["batch", str(tmp_path), "--out", str(tmp_path / "o.jsonl"), "--max-memory", "100M"])
    assert res.exit_code == 1
    assert res.stderr.strip() == f"Error: max_memory must be at least 256 MB, not {100 << 20} bytes"


# --- the parent's death -------------------------------------------------------------


def test_killing_the_parent_leaves_no_process(tmp_path, samples):
    """SIGKILL a batch while its workers parse (one spins for ever, the test hook of
    tests/test_batch.py): its workers, forkserver and resource tracker are all gone
    within 5 s.  Before: all four lived on (the workers hold the forkserver's and the
    task queue's pipes open, so nothing ever saw the parent go)."""
    if not Path("/proc/self/stat").exists():
        pytest.skip("needs /proc")
    src = tmp_path / "in"
    src.mkdir()
    good = sorted(samples.glob("*.pdf"))
    for i in range(6):
        shutil.copy(good[i % len(good)], src / f"{i}_{good[i % len(good)].name}")
        with open(src / f"{i}_{good[i % len(good)].name}", "ab") as fh:
            fh.write(b"\n%% copy %d\n" % i)
    shutil.copy(good[0], src / "x_spin.pdf")
    env = {**os.environ, "LETTERPARSE_TEST_SPIN": "_spin.pdf"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "letterparse", "batch", str(src), "--out", str(tmp_path / "o.jsonl"), "--workers", "2", "--no-themes"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + RUN_TIMEOUT
        kids: list[int] = []
        while time.monotonic() < deadline and len(kids) < 4:  # tracker, forkserver, two workers
            time.sleep(0.2)
            kids = _descendants(proc.pid)
        assert len(kids) >= 4, kids
        time.sleep(1.0)  # the workers are parsing
        proc.kill()
        proc.wait()
        gone_by = time.monotonic() + 5.0
        while time.monotonic() < gone_by and any(map(_alive, kids)):
            time.sleep(0.05)
        left = [k for k in kids if _alive(k)]
        assert left == []
    finally:
        for k in _descendants(proc.pid) + kids:  # only what this test started
            if _alive(k):
                os.kill(k, signal.SIGKILL)


# --- the page-content guard (item 2): a bomb refused before any page is loaded ------------

import base64  # noqa: E402

from letterparse.errors import TooLarge  # noqa: E402
from letterparse.extract import guard  # noqa: E402

SAFETY_NET = 4 << 30  # `ulimit -v` of the runs below, which themselves have no --max-memory


def self_drawing_form(times: int = 2) -> bytes:
    """A page that draws X0, a form that draws itself ``times`` times (PDFium stops there)."""
    form = _stream(b"q /X0 Do Q " * times, b"/Type /XObject /Subtype /Form /BBox [0 0 612 792] "
                   b"/Resources << /XObject << /X0 6 0 R >> >>")
    return _pdf(_page(_stream(b"q /X0 Do Q"), b"/XObject << /X0 6 0 R >>") + [form])


def type3_bomb(depth: int = 12, fanout: int = 10) -> bytes:
    """The form bomb drawn by the glyph of a Type3 font, not by the page's content."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 5 0 R /Resources << /Font << /T3 4 0 R >> >> >>",
        b"<< /Type /Font /Subtype /Type3 /FontBBox [0 0 1000 1000] /FontMatrix [0.001 0 0 0.001 0 0] "
        b"/CharProcs << /a 6 0 R >> /Encoding << /Differences [97 /a] >> /FirstChar 97 /LastChar 97 "
        b"/Widths [1000] /Resources << /XObject << /X0 7 0 R >> >> >>",
        _stream(b"BT /T3 12 Tf 72 720 Td (a) Tj ET"),
        _stream(b"1000 0 0 0 1000 1000 d1 q /X0 Do Q"),
    ]
    for k in range(depth + 1):
        entries = b"/Type /XObject /Subtype /Form /BBox [0 0 612 792] /Resources << "
        if k < depth:
            objects.append(_stream(b"q /X%d Do Q " % (k + 1) * fanout, entries + b"/XObject << /X%d %d 0 R >> >>" % (k + 1, 8 + k)))
        else:
            objects.append(_stream(b"0 0 10 10 re f", entries + b">>"))
    return _pdf(objects)


def flat_calls(n: int, encode=lambda body: (body, b"")) -> bytes:
    """A page that draws one small form ``n`` times, its content encoded by ``encode``."""
    content, entries = encode(b"q /X0 Do Q " * n)
    form = _stream(b"0 0 m", b"/Subtype /Form /BBox [0 0 1 1]")
    return _pdf(_page(_stream(content, entries), b"/XObject << /X0 6 0 R >>") + [form])


def escaped_names(depth: int = 6, fanout: int = 10) -> bytes:
    """The form bomb with its names spelt with #xx escapes: /#46#6Frm is /Form, /X#31 is /X1."""
    return form_bomb(depth, fanout).replace(b"/Subtype /Form", b"/Subtype /#46#6Frm").replace(b"/X1 Do", b"/X#31 Do")


@pytest.mark.parametrize(
    ("build", "what", "value"),
    [
        (form_bomb, "page 1: form XObjects drawn, at least", None),
        (escaped_names, "page 1: form XObjects drawn, at least", None),
        (type3_bomb, "page 1: form XObjects drawn, at least", None),
        (flate_bomb, "page 1: decoded content stream (bytes), at least", guard.MAX_STREAM_BYTES + 1),
        (lambda: flat_calls(200_000), "page 1: form XObjects drawn, at least", 200_000),
        (lambda: flat_calls(200_000, lambda b: (base64.a85encode(zlib.compress(b), adobe=True), b"/Filter [/A85 /Fl]")),
         "page 1: form XObjects drawn, at least", 200_000),
    ],
    ids=["forms", "escaped-names", "type3-glyph", "inflate", "flat-200k-calls", "flat-200k-a85-flate"],
)
def test_the_guard_refuses_a_bomb_in_well_under_a_second(build, what, value):
    data = build()
    t0 = time.perf_counter()
    with pytest.raises(TooLarge) as err:
        guard.check_pdf("bomb.pdf", data)
    assert time.perf_counter() - t0 < 1.0
    e = err.value
    assert (e.code, e.what) == ("too_large", what)
    assert e.value > e.limit and (value is None or e.value == value)
    assert e.limit in (guard.MAX_FORM_CALLS, guard.MAX_STREAM_BYTES)


@pytest.mark.parametrize(
    ("build", "calls"),
    [
        (lambda: form_bomb(3, 10), 1 + 10 + 100 + 1000),
        (lambda: form_bomb(4, 10), 11111),
        (lambda: form_bomb(30, 1), 31),  # deep but small: a legitimate nesting passes
        (lambda: form_bomb(16, 2), 2**17 - 1),  # 131071: just over the limit
        (lambda: self_drawing_form(2), 1 + 2),  # the self-reference is drawn, not expanded
        (lambda: escaped_names(3, 10), 1111),
        (lambda: type3_bomb(2, 10), 1 + 10 + 100),  # the glyph's form, drawn once per font
        (lambda: flat_calls(90_000, lambda b: (b.hex().encode() + b">", b"/Filter /AHx")), 90_000),
    ],
    ids=["1111", "11111", "deep-30", "2^17-1", "self", "escaped", "type3", "hex-90k"],
)
def test_the_guard_counts_every_form_drawn(build, calls):
    data = build()
    if calls > guard.MAX_FORM_CALLS:
        with pytest.raises(TooLarge):
            guard.check_pdf("x.pdf", data)
        return
    loads = list(guard.scan("x.pdf", data))
    assert [(ld.page, ld.form_calls) for ld in loads] == [(1, calls)]
    guard.check_pdf("x.pdf", data)  # passes


@pytest.mark.parametrize(("depth", "fanout"), [(3, 3), (5, 2), (30, 1)])
def test_the_guards_count_is_pdfiums(depth, fanout):
    """The form objects PDFium builds for the page, nested ones included, are the guard's count."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as raw

    data = form_bomb(depth, fanout)
    doc = pdfium.PdfDocument(data)
    page = doc[0]
    built = sum(1 for _ in page.get_objects(filter=[raw.FPDF_PAGEOBJ_FORM], max_depth=64))
    page.close()
    doc.close()
    assert [ld.form_calls for ld in guard.scan("x.pdf", data)] == [built]


def test_a_deep_but_small_nesting_is_extracted(tmp_path):
    path = tmp_path / "deep.pdf"
    path.write_bytes(form_bomb(30, 1))
    raw = letterparse.extract.extract(path)
    assert [ln.text for pg in raw.pages for ln in pg.lines] == ["Ofsted"]


@pytest.mark.parametrize(
    ("data", "expected"),
    [(b"/Subtype /Form", True), (b"/Subtype/Form>>", True), (b"/Subtype /F#6frm", True),
     (b"/Subtype /#46#6F#72#6D", True), (b"/Subtype /#46orm\n", True),
     (b"/Subtype /F#6F#72#6d ", True), (b"/Subtype /Image", False), (b"/F#6frmat", False)],
)
def test_form_xobjects_are_found_however_their_name_is_spelt(data, expected):
    assert guard._has_forms(data) is expected


@pytest.mark.parametrize("backend", ["pdfium", "plumber"])
@pytest.mark.parametrize("build", [form_bomb, type3_bomb])
def test_both_backends_refuse_a_form_bomb_without_a_cap(tmp_path, backend, build):
    """`extract --max-memory 0`: no cap, so only the guard stands between the bomb and the
    machine; `ulimit -v` and the timeout are the safety net should it ever fail."""
    import resource

    path = tmp_path / "bomb.pdf"
    path.write_bytes(build())

    def net() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (SAFETY_NET, SAFETY_NET))

    t0 = time.monotonic()
    res = subprocess.run(
        [sys.executable, "-m", "letterparse", "extract", str(path), "--backend", backend, "--no-themes",
         "--max-memory", "0"], capture_output=True, text=True, timeout=RUN_TIMEOUT, preexec_fn=net,
    )
    assert time.monotonic() - t0 < 20  # start-up and imports; the guard itself is well under 1 s
    assert (res.returncode, res.stdout) == (1, "")
    assert res.stderr.splitlines() == [
        f"Error: {path}: page 1: form XObjects drawn, at least 111110 exceeds the limit of {guard.MAX_FORM_CALLS}"
    ]


@pytest.mark.corpus
def test_every_corpus_pdf_passes_the_guard_with_a_wide_margin(corpus):
    """One pass over every corpus PDF: none refused, and the largest page is at least 100x
    below each limit (the benchmark, benchmarks/guard.py, prints the same numbers)."""
    calls = size = 0
    for path in sorted(corpus.rglob("*.pdf")):
        data = path.read_bytes()
        guard.check_pdf(str(path), data)
        for ld in guard.scan(str(path), data) if guard._has_forms(data) else ():
            calls, size = max(calls, ld.form_calls), max(size, ld.content_bytes)
    assert 100 * calls <= guard.MAX_FORM_CALLS
    assert 100 * size <= guard.MAX_PAGE_BYTES


def test_a_bomb_the_guard_cannot_read_is_refused_not_let_through():
    """PDFium repairs a file without `startxref` and would load the bomb; pdfminer, which
    the guard reads objects with, cannot: the file is refused as corrupt, not passed."""
    from letterparse.errors import CorruptPdf

    with pytest.raises(CorruptPdf) as err:
        guard.check_pdf("x.pdf", form_bomb().replace(b"startxref", b"startxxxx"))
    assert err.value.detail.startswith("the page-content guard cannot read its objects: PDFSyntaxError")
