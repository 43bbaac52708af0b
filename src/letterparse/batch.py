"""Parse many files into a store: a local process pool or a Dask cluster.

Workers only parse; a thread of the parent process is the only writer to the
store, so writing overlaps parsing.  Files that finish together are written in
one transaction, each file all in or all out.  One bad file never stops the
run: a typed error, a timeout or any unexpected exception becomes a row in the
``errors`` table.
"""

from __future__ import annotations

import errno
import hashlib
import os
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from ._forkserver import preload
from .errors import BrokenLink, InputNotFound, Interrupted, LetterparseError, LinkOutside, NotAFile, Unreadable

SUFFIXES = (".pdf", ".txt")
CRASH_RETRIES = 2  # a file in flight when this many worker processes died is recorded as "internal"
FLUSH_SECONDS = 60.0  # a store that buffers (Parquet) is written out at least this often


@dataclass(frozen=True, slots=True)
class BatchResult:
    total: int  # distinct files (by sha256) found in the inputs, and entries not read that looked like input
    parsed: int  # written to ``letters`` in this run
    skipped: int  # already in the store (``resume``)
    failed: int  # written to ``errors`` in this run (the entries not read that looked like input among them)
    pages: int
    seconds: float
    errors: tuple[tuple[str, str, str], ...] = ()  # (path as stored, error code, message)
    duplicates: int = 0  # files skipped because another input had the same sha256
    ignored: int = 0  # files in the folders given that are not .pdf or .txt (not read)
    unread: tuple[tuple[str, str], ...] = ()  # (path as stored, code): links, FIFOs... not read (see Skipped)

    @property
    def ok(self) -> bool:
        return self.failed == 0

    def summary(self) -> str:
        rate = self.pages / self.seconds if self.seconds else 0.0
        ignored = f"; {self.ignored} other files in the folders not read (only .pdf and .txt are)" if self.ignored else ""
        return (
            f"{self.total} files: {self.parsed} parsed, {self.skipped} skipped, {self.failed} errors"
            f" ({self.pages} pages in {self.seconds:.1f} s, {rate:.1f} pages/s){ignored}{self._unread()}"
        )

    def _unread(self) -> str:
        """``; 3 entries not read: 1 broken_link, 2 link_outside (...)``, or nothing."""
        if not self.unread:
            return ""
        codes = sorted({c for _, c in self.unread})
        counts = ", ".join(f"{sum(c == code for _, c in self.unread)} {code}" for code in codes)
        hint = "; --follow-links follows links out of the folders" if "link_outside" in codes else ""
        return f"; {len(self.unread)} entries not read: {counts} (those named .pdf or .txt are in errors{hint})"


@dataclass(slots=True)
class _Task:
    path: str
    sha256: str | None  # None: an entry not read (a link, a FIFO...), recorded in errors
    crashes: int = 0
    started: float = field(default=0.0)  # sent (dask: the time limit counts from here)
    slot: int = -1  # while in flight in a local pool: its place in the shared start-time array


def _sha256_file(path: str) -> str:
    """The file's sha256; a :class:`NotAFile` if it is not a regular file when opened (a
    FIFO put in its place since it was listed: opened without blocking, never read)."""
    import stat

    h = hashlib.sha256()
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    with open(fd, "rb") as fh:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotAFile(_shown(path), _kind(mode))
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def resume_command() -> str:
    """The command line that was run, with ``--resume`` (what finishes an interrupted run)."""
    import shlex

    args = [a for a in sys.argv[1:] if a != "--resume"]
    return shlex.join(["letterparse", *args, "--resume"])


@dataclass(frozen=True, slots=True)
class Skipped:
    """An entry among the inputs that is not read: a link leaving its folder, a broken
    link, a FIFO, socket or device, an unreadable file or folder."""

    path: str  # as the operating system gives it (bytes that are not UTF-8 as lone surrogates)
    error: LetterparseError  # LinkOutside, BrokenLink, NotAFile or Unreadable (its path shown escaped)
    recorded: bool  # it looked like input (named .pdf or .txt, or given by name): a row in errors


@dataclass(frozen=True, slots=True)
class Inputs:
    files: tuple[tuple[str, str], ...]  # (path, sha256), sorted by path, one per sha256
    duplicates: int  # files dropped because an earlier path had the same sha256
    ignored: int  # other files in the folders (not .pdf or .txt): not read
    skipped: tuple[Skipped, ...]  # entries not read, sorted by path


def _shown(path: str) -> str:
    from .store import path_text

    return path_text(path)


def _kind(mode: int) -> str:
    import stat

    for test, name in ((stat.S_ISFIFO, "FIFO"), (stat.S_ISSOCK, "socket"), (stat.S_ISCHR, "character device"),
                       (stat.S_ISBLK, "block device"), (stat.S_ISDIR, "folder")):
        if test(mode):
            return name
    return "special file"


def _inside(real: str, root: str) -> bool:
    return real == root or real.startswith(root.rstrip(os.sep) + os.sep)


def _looks_like_input(path: str) -> bool:
    return os.path.splitext(path)[1].lower() in SUFFIXES


class _Scan:
    """Walks the folders given, never opening anything but folders and regular files.  A
    link is followed only when its target (resolved to the end) is inside the folder given,
    or with ``follow_links``; a link to a folder inside is not followed (the walk reaches
    that folder anyway), one outside (``follow_links``) is, once."""

    def __init__(self, follow_links: bool):
        self.follow = follow_links
        self.files: set[str] = set()
        self.ignored: set[str] = set()
        self.skipped: dict[str, Skipped] = {}

    def skip(self, path: str, error: LetterparseError, recorded: bool) -> None:
        self.skipped.setdefault(path, Skipped(path, error, recorded))

    def given(self, item: str | Path) -> None:
        """A path given by name: read as given (a link is followed wherever it goes)."""
        import stat

        path = str(Path(item))
        try:
            mode = os.stat(path).st_mode
        except OSError:
            raise InputNotFound(_shown(path)) from None
        if stat.S_ISDIR(mode):
            self.walk(path)
        elif stat.S_ISREG(mode):
            self.files.add(path)
        else:
            self.skip(path, NotAFile(_shown(path), _kind(mode)), recorded=True)

    def walk(self, root: str) -> None:
        real_root = os.path.realpath(root)
        seen = {real_root}  # folders walked: a loop of followed links ends
        todo = [root]
        while todo:
            folder = todo.pop()
            try:
                with os.scandir(folder) as it:
                    entries = sorted(it, key=lambda e: e.name)
            except OSError as exc:
                self.skip(folder, Unreadable(_shown(folder), exc.strerror or str(exc)), recorded=True)
                continue
            for entry in entries:
                sub = self.entry(entry, real_root)
                if sub is not None and os.path.realpath(sub) not in seen:
                    seen.add(os.path.realpath(sub))
                    todo.append(sub)

    def entry(self, entry: os.DirEntry, real_root: str) -> str | None:
        """Sort one folder entry; a folder to walk is returned."""
        import stat

        path = entry.path
        try:
            if entry.is_symlink():
                try:
                    mode = os.stat(path).st_mode
                except OSError as exc:  # missing target, or a loop of links
                    broken = BrokenLink(_shown(path), _shown(_readlink(path)), loop=exc.errno == errno.ELOOP)
                    self.skip(path, broken, _looks_like_input(path))
                    return None
                real = os.path.realpath(path)
                if not _inside(real, real_root):
                    if not self.follow:
                        self.skip(path, LinkOutside(_shown(path), _shown(real)), _looks_like_input(path))
                        return None
                elif stat.S_ISDIR(mode):
                    return None  # a folder inside: the walk reaches it by its own name
            else:
                mode = entry.stat(follow_symlinks=False).st_mode
        except OSError as exc:  # gone since listed, or refused
            self.skip(path, Unreadable(_shown(path), exc.strerror or str(exc)), _looks_like_input(path))
            return None
        if stat.S_ISDIR(mode):
            return path
        if not stat.S_ISREG(mode):
            self.skip(path, NotAFile(_shown(path), _kind(mode)), _looks_like_input(path))
        elif _looks_like_input(path):
            self.files.add(path)
        else:
            self.ignored.add(path)
        return None

    def hashed(self) -> Inputs:
        seen: set[str] = set()
        out: list[tuple[str, str]] = []
        for p in sorted(self.files):
            try:
                sha = _sha256_file(p)
            except NotAFile as exc:
                self.skip(p, exc, recorded=True)
                continue
            except OSError as exc:
                self.skip(p, Unreadable(_shown(p), exc.strerror or str(exc)), recorded=True)
                continue
            if sha not in seen:
                seen.add(sha)
                out.append((p, sha))
        dropped = len(self.files) - len(out) - sum(p in self.files for p in self.skipped)
        skipped = tuple(self.skipped[p] for p in sorted(self.skipped))
        return Inputs(tuple(out), dropped, len(self.ignored - self.files), skipped)


def _readlink(path: str) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return "?"


def scan_inputs(inputs: Iterable[str | Path], follow_links: bool = False) -> Inputs:
    """The ``*.pdf``/``*.txt`` files given or under a folder given, hashed, sorted by path
    and deduplicated by sha256 (the first path wins); other files in the folders are
    counted, not read.  In a folder, links whose target leaves it (unless
    ``follow_links``), broken links, FIFOs, sockets and devices are not read (nor opened)
    but listed in ``skipped``, as are files and folders that cannot be read.  A file given
    by name is read as given, whatever its suffix; a path that does not exist is an
    :class:`InputNotFound`."""
    scan = _Scan(follow_links)
    for item in inputs:
        scan.given(item)
    return scan.hashed()


def collect_inputs(inputs: Iterable[str | Path], follow_links: bool = False) -> tuple[list[tuple[str, str]], int, int]:
    """``(files, duplicates, ignored)`` of :func:`scan_inputs` (without the entries not read)."""
    found = scan_inputs(inputs, follow_links)
    return list(found.files), found.duplicates, found.ignored


def model_version(themes: bool) -> str:
    """The theme model's version, or "none" (no model, or ``themes=False``)."""
    if not themes:
        return "none"
    try:
        from . import themes as classify

        if not classify.model_available():
            return "none"
        return str(classify.model_version())
    except (ImportError, AttributeError):
        return "none"


def _largest_first(tasks: list[_Task]) -> list[_Task]:
    """Biggest files first (by bytes, which track pages): the last files to finish are
    then small ones, so no worker sits idle while another parses a long report at
    the end of a run (longest-processing-time-first scheduling)."""

    def size(task: _Task) -> int:
        try:
            return os.path.getsize(task.path)
        except OSError:  # gone since it was hashed: its parse reports that
            return 0

    return sorted(tasks, key=size, reverse=True)


def _noop() -> None:
    return None


_STARTED: Any = None  # in a pool worker: shared array of the monotonic time each task started
_MEM: Any = None  # in a pool worker: shared array, per slot its size at the start and the most seen since
_SLOT = -1  # in a pool worker: the slot of the file being parsed
_CAP: int | None = None  # in a pool worker: its memory cap (bytes of address space)
_STATM = -1  # in a pool worker: open /proc/self/statm, or -1

DEFAULT_MAX_MEMORY = 2 << 30  # bytes of address space a worker may map (--max-memory)
MIN_MAX_MEMORY = 256 << 20  # below this a worker cannot even load the pipeline
WATCH_SECONDS = 0.02  # how often a worker notes its size and looks for its parent
# A worker that dies (a signal: PDFium aborts when an allocation fails) after growing by
# this share of the room it had under the cap when the file started died of memory: a
# buffer that doubles fails with a third of the room used; a normal letter uses ~2%.
MEMORY_SHARE = 0.25


def _init_worker(started: Any, preload: list[str], mem: Any = None, max_memory: int | None = None, parent: int = 0) -> None:
    """Pool initializer: keep the shared start-time array, cap this process's memory,
    watch for the parent's end, and load what every file needs now, not inside the
    first file's time limit.  Forked from a forkserver that preloaded the same modules,
    this costs nothing."""
    import importlib
    import signal

    # Ctrl-C reaches the whole process group; it is the parent's to handle (it stops the
    # workers and says what was saved), not a traceback from every worker.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    global _STARTED, _MEM, _CAP
    _STARTED, _MEM, _CAP = started, mem, max_memory
    _limit_memory(max_memory)
    _keep_freed_memory()
    if parent:
        _die_with_parent(parent)
        _start_watch(parent)

    for name in preload:  # a broken model is left to each file's parse to report
        importlib.import_module(name)
    tune_gc()


# A worker's first-generation threshold: collections after this many new container
# objects (Python's default is 700).
GC_THRESHOLD = 10_000


def tune_gc() -> None:
    """Set the garbage collector for a worker, after what it loaded before its first file,
    and for the ``extract`` and ``batch`` commands' own process.

    Everything loaded by then (the pipeline and the model, inherited from the forkserver)
    lives until the worker ends, so it is frozen: collections no longer walk it, and
    never write to the pages the worker shares with the forkserver.  A letter makes
    tens of thousands of small records and frees them together and almost no cycles,
    so the first generation is collected every 10,000 new objects instead of every
    700: on the 170-PDF benchmark sample, 5 collections and 0.02 s instead of 341
    collections and 0.2 s (2% of the parse).  A batch's own process, which unpickles
    the letters and builds their rows, runs 29 collections and 0.1 s on the same
    sample instead of 562 and 0.4 s.  Only in worker processes and the console
    script's: a library user's process keeps its collector as it is."""
    import gc

    gc.freeze()
    gc.set_threshold(GC_THRESHOLD, *gc.get_threshold()[1:])


# glibc's mallopt parameters (malloc.h) and the values a worker sets
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3
_MALLOC_SETTINGS = ((_M_MMAP_THRESHOLD, 32 << 20), (_M_TRIM_THRESHOLD, 128 << 20), (_M_TOP_PAD, 16 << 20))


def _keep_freed_memory() -> bool:
    """Have glibc's malloc keep freed memory in this process (True where it was set).

    A letter's features are numpy arrays of 0.1-3 MB, made and freed many times per
    file.  With glibc's defaults, blocks that size are mapped afresh or the heap's top
    is returned to the system after each, and every page is faulted in again: 154k
    page faults and 0.45 s of system time on the 170-PDF benchmark sample, against
    11k and 0.05 s with these settings (blocks under 32 MB from the heap, up to 128 MB
    of free heap kept), and the same peak memory.  Only in worker processes: a
    library user's process keeps its allocator as it is.  Other C libraries: no-op."""
    import ctypes

    try:
        os.confstr("CS_GNU_LIBC_VERSION")  # raises where the C library is not glibc
        mallopt = ctypes.CDLL(None).mallopt
    except (ValueError, OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    global _MALLOC_KEPT
    _MALLOC_KEPT = all(mallopt(param, value) == 1 for param, value in _MALLOC_SETTINGS)
    return _MALLOC_KEPT


_MALLOC_KEPT = False  # in a worker: _keep_freed_memory took effect


def _malloc_kept() -> bool:
    return _MALLOC_KEPT


def _limit_memory(max_memory: int | None) -> None:
    """Cap this process's address space (``RLIMIT_AS``): an allocation past the cap fails
    at once (``MemoryError`` in Python, an abort in PDFium) instead of the machine
    running out of memory.  Not enforced on macOS; no-op on Windows."""
    try:
        import resource
    except ImportError:
        return
    if max_memory is None:
        return
    hard = resource.getrlimit(resource.RLIMIT_AS)[1]
    cap = max_memory if hard == resource.RLIM_INFINITY else min(max_memory, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))


def _die_with_parent(parent: int) -> None:
    """Linux: SIGKILL this worker when the process that forked it ends.  That is the
    forkserver, not the batch (``parent``), which the watch thread looks after; with the
    spawn method the forking parent may be a thread of the batch that ends early, so
    nothing is set then."""
    if sys.platform != "linux" or os.getppid() == parent:
        return
    import ctypes
    import signal

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _parent_waiter(parent: int) -> Callable[[float], bool]:
    """``wait(seconds)``: True once the process ``parent`` has ended.  A pidfd (Linux
    5.3+) names that very process, even a zombie; elsewhere ``os.getppid()`` changing
    or ``kill(parent, 0)`` failing say the same, checked at each call."""
    import select

    try:
        fd = os.pidfd_open(parent)
    except ProcessLookupError:
        return lambda seconds: True
    except (AttributeError, OSError):
        fd = None
    if fd is not None:
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        return lambda seconds: bool(poller.poll(int(seconds * 1000)))
    ppid = os.getppid()

    def wait(seconds: float) -> bool:
        time.sleep(seconds)
        if os.getppid() != ppid:
            return True
        try:
            os.kill(parent, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            pass
        return False

    return wait


def _address_space(fd: int) -> int:
    """This process's mapped address space in bytes (what ``RLIMIT_AS`` limits), from /proc/self/statm."""
    try:
        return int(os.pread(fd, 64, 0).split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _start_watch(parent: int) -> None:
    """A thread that every WATCH_SECONDS notes the most memory the file being parsed has
    taken (for the parent to tell a death by memory), and ends the process once the
    batch process ``parent`` is gone: its workers hold the forkserver and the queues
    open, so without this they would all outlive it (seen: minutes, ~420 MB)."""
    import threading

    global _STATM
    gone = _parent_waiter(parent)
    try:
        _STATM = os.open("/proc/self/statm", os.O_RDONLY)
    except OSError:
        _STATM = -1

    def run() -> None:
        while not gone(WATCH_SECONDS):
            slot, mem = _SLOT, _MEM
            if slot >= 0 and mem is not None and _STATM >= 0:
                mem[2 * slot + 1] = max(mem[2 * slot + 1], _address_space(_STATM))
        os._exit(1)  # nobody is left to read this worker's results

    threading.Thread(target=run, name="letterparse-watch", daemon=True).start()


def check_max_memory(max_memory: int | None) -> None:
    if max_memory is not None and max_memory < MIN_MAX_MEMORY:
        raise ValueError(f"max_memory must be at least {MIN_MAX_MEMORY >> 20} MB, not {max_memory} bytes")


@dataclass(frozen=True, slots=True)
class Parsed:
    """A worker's outcome for a file that parsed: its store ``rows`` when the worker built
    them, else its ``letter`` (the parent builds the rows), and its page count."""

    pages: int
    rows: Any = None  # store.LetterRows
    letter: Any = None  # model.Letter


@dataclass(frozen=True, slots=True)
class Failed:
    """A worker's outcome for a file that did not parse: a typed error code and message."""

    code: str
    message: str


Outcome = Parsed | Failed


def _memory_outcome(cap: int | None) -> Failed:
    size = f"{cap / (1 << 30):g} GB" if cap and cap >= 1 << 30 else f"{(cap or 0) >> 20} MB"
    limit = f" of {size} (--max-memory)" if cap else ""
    return Failed("too_large", f"parsing needed more memory than the limit{limit} and was stopped")


def parse_task(
    path: str, backend: str, themes: bool, max_pages: int | None = None, max_bytes: int | None = None,
    versions: tuple[str, str] = ("", "none"), rows: bool = True, slot: int = -1,
) -> Outcome:
    """Run in a worker: :class:`Parsed` or :class:`Failed`.

    With ``rows`` the worker builds the store rows (:func:`letterparse.store.letter_rows`,
    with the parser and model ``versions``), so the parent process only writes them;
    without, it returns the :class:`Letter` and the parent builds them (a batch does
    that when it leaves a core idle for the parent).  ``slot`` is where the task notes
    its start time for the parent's per-file time limit.  Never raises: an unexpected
    exception is reported as code ``internal``."""
    global _SLOT
    if slot >= 0 and _MEM is not None and _STATM >= 0:
        _MEM[2 * slot] = _MEM[2 * slot + 1] = _address_space(_STATM)
    _SLOT = slot
    if slot >= 0 and _STARTED is not None:
        _STARTED[slot] = time.monotonic()
    try:
        from .pipeline import parse

        limits = {k: v for k, v in (("max_pages", max_pages), ("max_bytes", max_bytes)) if v is not None}
        letter = parse(path, backend=backend, themes=themes, **limits)
        if rows:
            from .store import letter_rows

            return Parsed(letter.source.pages, rows=letter_rows(letter, *versions))
        return Parsed(letter.source.pages, letter=letter)
    except LetterparseError as exc:
        return Failed(exc.code, exc.message)
    except MemoryError:  # an allocation past the cap (_limit_memory)
        return _memory_outcome(_CAP)
    except Exception as exc:  # noqa: BLE001 - any bug in one file must not stop the batch
        return Failed("internal", f"{type(exc).__name__}: {exc}")


def parse_isolated(
    paths: Iterable[str | Path], *, backend: str = "pdfium", themes: bool = True, max_pages: int | None = None,
    max_bytes: int | None = None, max_memory: int | None = DEFAULT_MAX_MEMORY,
) -> list[Outcome]:
    """Parse files one at a time in a worker process under the memory cap, as
    ``letterparse extract`` does: per path, in order, :class:`Parsed` (with the letter)
    or :class:`Failed`.  A PDF that needs more than ``max_memory`` bytes is
    ``too_large`` for that file; the calling process never runs out of memory or aborts."""
    from .extract import BACKENDS

    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; use one of {', '.join(BACKENDS)}")
    check_max_memory(max_memory)
    tasks = [_Task(str(p), "") for p in paths]
    outcomes: dict[int, Outcome] = {}
    pool = _LocalPool(1, themes, max_memory, batch=False)
    _run_local(  # kills the pool itself if it raises
        tasks, lambda task, outcome: outcomes.__setitem__(id(task), outcome), pool,
        (backend, themes, max_pages, max_bytes, ("", "none"), False), float("inf"),
    )
    pool.close()
    return [outcomes[id(t)] for t in tasks]


# --- progress -------------------------------------------------------------------


class _Progress:
    def __init__(self, total: int, enabled: bool):
        self.enabled = enabled and sys.stderr.isatty()
        self.t0 = time.monotonic()
        self.pages = 0
        self.errors = 0
        if self.enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self.bar = Progress(
                TextColumn("parsing"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]:.1f} pages/s"),
                TextColumn("{task.fields[errors]} errors"),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=False,
            )
            self.bar.start()
            self.task = self.bar.add_task("parsing", total=total, rate=0.0, errors=0)

    def advance(self, pages: int = 0, error: bool = False) -> None:
        self.pages += pages
        self.errors += int(error)
        if self.enabled:
            dt = max(time.monotonic() - self.t0, 1e-6)
            self.bar.update(self.task, advance=1, rate=self.pages / dt, errors=self.errors)

    def close(self) -> None:
        if self.enabled:
            self.bar.stop()


# --- the run ----------------------------------------------------------------------


def run_batch(
    inputs: Iterable[str | Path],
    out: str | Path,
    workers: int | None = None,
    backend: str = "pdfium",
    themes: bool = True,
    resume: bool = False,
    engine: str = "local",
    scheduler: str | None = None,
    timeout: float = 120.0,
    progress: bool = True,
    max_pages: int | None = None,
    max_bytes: int | None = None,
    flush_every: float = FLUSH_SECONDS,
    wait: bool = False,
    follow_links: bool = False,
    max_memory: int | None = DEFAULT_MAX_MEMORY,
) -> BatchResult:
    """Parse every file under ``inputs`` into the store ``out`` (see :mod:`letterparse.store`).

    ``resume`` skips files already in ``letters`` with the same parser and model
    version and retries those in ``errors``.  A file taking longer than ``timeout``
    seconds is recorded as ``timeout`` and its worker process replaced.  A PDF with
    more than ``max_pages`` pages or a file larger than ``max_bytes`` bytes is
    recorded as ``too_large`` (defaults: those of :func:`letterparse.parse`).  A store
    that buffers rows (Parquet) is flushed every ``flush_every`` seconds, so a killed
    run loses at most that much work; ``resume`` picks up from there.  A store has one
    writer: another run writing ``out`` makes this one fail at once, or with ``wait``
    wait for it.  In the folders given, links leaving the folder are not followed unless
    ``follow_links``; they, broken links and FIFOs, sockets or devices are counted in
    ``unread`` and, when named .pdf or .txt, recorded in ``errors`` (see :func:`scan_inputs`).
    Each local worker may map at most ``max_memory`` bytes (None: no cap); a file that
    needs more is recorded as ``too_large`` and its worker replaced (see :func:`_memory_outcome`).

    >>> run_batch(["../shared/corpus"], "letters.duckdb", workers=4)  # doctest: +SKIP
    """
    from . import PARSER_VERSION
    from .extract import BACKENDS
    from .store import check_ours, open_store, store_kind

    check_ours(Path(out), store_kind(out))  # a wrong --out fails before any work
    if engine not in ("local", "dask"):
        raise ValueError(f"unknown engine {engine!r}; use local or dask")
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; use one of {', '.join(BACKENDS)}")
    for name, limit in (("max_pages", max_pages), ("max_bytes", max_bytes)):
        if limit is not None and limit < 1:
            raise ValueError(f"{name} must be at least 1, not {limit}")
    check_max_memory(max_memory)
    t0 = time.monotonic()
    mversion = model_version(themes)
    workers = max(1, workers or os.cpu_count() or 1)
    # Fewer local workers than cores: this process has a core to itself, so it turns
    # letters into rows (JSON and all) and the workers only parse.  Otherwise the
    # workers do it, and this process only writes.
    rows_in_workers = engine == "dask" or workers >= (os.cpu_count() or 1)
    task_args = (backend, themes, max_pages, max_bytes, (PARSER_VERSION, mversion), rows_in_workers)
    # The workers start (and load the model) while this process hashes the inputs.
    pool = _LocalPool(workers, themes, max_memory) if engine == "local" else None
    try:
        found = scan_inputs(inputs, follow_links)
        files, duplicates, ignored = found.files, found.duplicates, found.ignored
        recorded = [s for s in found.skipped if s.recorded]  # looked like input: rows in errors
    except BaseException:
        if pool is not None:
            pool.close(kill=True)
        raise
    writer, todo, primer = None, [], None
    try:
        if pool is not None and not resume:
            # The first files go to the workers as soon as they have started, and
            # parse while the store opens (DuckDB, pyarrow and pandas load, ~0.5-0.9 s);
            # with --resume the store first says which files are done.
            todo = _largest_first([_Task(p, s) for p, s in files])
            primer = _Primer(pool, todo[: pool.limit], task_args)
        with open_store(out, wait=wait) as store:
            if primer is None:
                done = store.completed(PARSER_VERSION, mversion) if resume else set()
                todo = _largest_first([_Task(p, s) for p, s in files if s not in done])
            writer = _Writer(store, PARSER_VERSION, mversion, _Progress(len(todo) + len(recorded), progress), flush_every)
            try:
                for skip in recorded:
                    writer.put(_Task(skip.path, None), Failed(skip.error.code, skip.error.message))
                if todo:
                    if pool is not None:
                        primed = primer.result() if primer is not None else []
                        _run_local(todo[len(primed) :], writer.put, pool, task_args, timeout, primed)
                    else:
                        _run_dask(todo, writer.put, workers, task_args, timeout, scheduler)
            finally:
                writer.close()  # writes what is queued; re-raises a store error
    except BaseException as exc:
        # Ctrl-C, or a store that did not open: stop the files in flight at once (after
        # the primer is done, so that nothing is sent to a killed pool).
        if pool is not None and (writer is None or isinstance(exc, KeyboardInterrupt)):
            if primer is not None:
                primer.result()
            pool.close(kill=True)
            pool = None
        if isinstance(exc, KeyboardInterrupt):
            saved = (writer.parsed + writer.failed) if writer is not None else 0
            raise Interrupted(str(out), saved, max(0, len(todo) + len(recorded) - saved), resume_command()) from None
        raise
    finally:
        if pool is not None:
            pool.close()
    parsed, failed, pages, errors = writer.parsed, writer.failed, writer.pages, writer.errors
    return BatchResult(
        total=len(files) + len(recorded),
        parsed=parsed,
        skipped=len(files) - len(todo),
        failed=failed,
        pages=pages,
        seconds=time.monotonic() - t0,
        errors=tuple(errors),
        duplicates=duplicates,
        ignored=ignored,
        unread=tuple((_shown(s.path), s.error.code) for s in found.skipped),
    )


Record = Callable[[_Task, Outcome], None]

GROUP = 128  # most files written in one store transaction
LINGER = 2.0  # seconds the writer waits for more results to write with the first: a DuckDB transaction costs ~10-20 ms of CPU whatever its size, taken from the workers on a busy machine (a crash loses at most this much work; --resume parses it again)


class _Writer:
    """The only writer to the store, on a thread of its own, so the workers go on
    parsing while results are written.  Results that arrive within LINGER seconds
    of each other are written in one transaction (each file still all in or all
    out), in arrival order; a crash loses at most those, and --resume parses them again."""

    def __init__(self, store, parser_version: str, model_version: str, bar: _Progress, flush_every: float):
        import queue
        import threading

        self.store, self.pv, self.mv, self.bar, self.flush_every = store, parser_version, model_version, bar, flush_every
        self.parsed = self.failed = self.pages = 0
        self.errors: list[tuple[str, str, str]] = []
        self.error: BaseException | None = None
        self.last_flush = time.monotonic()
        self.queue: queue.Queue = queue.Queue()
        self.thread = threading.Thread(target=self._run, name="letterparse-store-writer", daemon=True)
        self.thread.start()

    def put(self, task: _Task, outcome: Outcome) -> None:
        """Called by the scheduling loop for every finished file."""
        if self.error is not None:
            raise self.error  # stop scheduling: the store cannot be written
        self.queue.put((task, outcome))

    def _run(self) -> None:
        import queue

        done = False
        while not done:
            # Each result becomes rows as it is taken, while the group lingers, so that
            # after the last file only the last group's write is left.
            batch = [self._rows(self.queue.get())]
            until = time.monotonic() + LINGER
            while len(batch) < GROUP and batch[-1] is not None:
                try:
                    batch.append(self._rows(self.queue.get(timeout=max(0.0, until - time.monotonic()))))
                except queue.Empty:
                    break
            if batch[-1] is None:
                batch.pop()
                done = True
            if batch and self.error is None:
                try:
                    self._write(batch)
                except BaseException as exc:  # noqa: BLE001 - handed to the main thread
                    self.error = exc

    def _rows(self, item: tuple[_Task, Outcome] | None) -> tuple[_Task, Outcome] | None:
        """A worker that left the rows to this process: its letter as rows (or a failure)."""
        if item is None or self.error is not None:
            return item
        task, outcome = item
        if isinstance(outcome, Parsed) and outcome.rows is None:
            from .store import letter_rows

            try:
                return task, Parsed(outcome.pages, rows=letter_rows(outcome.letter, self.pv, self.mv))
            except Exception as exc:  # noqa: BLE001 - one letter's bug must not stop the batch
                return task, Failed("internal", f"{type(exc).__name__}: {exc}")
        return item

    def _write(self, batch: list[tuple[_Task, Outcome]]) -> None:
        rows, errs = [], []
        for task, outcome in batch:
            match outcome:
                case Parsed(rows=r):
                    rows.append(r)
                case Failed(code=code, message=message):
                    errs.append((task.path, task.sha256, code, message))
        self.store.put_rows(rows, errs, self.pv, self.mv)
        for task, outcome in batch:
            match outcome:
                case Parsed(pages=pages):
                    self.parsed += 1
                    self.pages += pages
                    self.bar.advance(pages)
                case Failed(code=code, message=message):
                    self.failed += 1
                    self.errors.append((_shown(task.path), code, _shown(message)))
                    self.bar.advance(error=True)
        if time.monotonic() - self.last_flush >= self.flush_every:
            self.store.flush()
            self.last_flush = time.monotonic()

    def close(self) -> None:
        self.queue.put(None)
        self.thread.join()
        self.bar.close()
        if self.error is not None:
            raise self.error


def _timeout_outcome(timeout: float) -> Failed:
    return Failed("timeout", f"parsing took longer than {timeout:g} s and was stopped")


def _crash_outcome() -> Failed:
    return Failed("internal", "the worker process died while parsing this file")


class _LocalPool:
    """A process pool whose workers note when each task starts (in a shared array),
    so the parent can keep a second file queued for every worker (no worker waits
    for the parent between files) and still time each file from its own start.
    A task in flight holds one of the array's ``2 * workers`` slots; a second array
    holds, per slot, the worker's size when the file started and the most seen since.
    Each worker runs under the memory cap ``max_memory`` (bytes; None: no cap) and
    ends itself when this process is gone."""

    def __init__(self, workers: int, themes: bool, max_memory: int | None = DEFAULT_MAX_MEMORY, batch: bool = True):
        import multiprocessing as mp

        method = "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"
        self.ctx = mp.get_context(method)
        self.workers, self.preload = workers, preload(themes, batch)
        if method == "forkserver":
            # The forkserver loads the pipeline (and the theme model) once; each worker
            # is forked from it ready.  This only takes effect when this process starts
            # its forkserver: a later batch reuses it, and the workers' initializer
            # loads whatever it lacks.
            self.ctx.set_forkserver_preload(self.preload)
        self.limit = 2 * workers
        self.started = self.ctx.RawArray("d", self.limit)
        self.mem = self.ctx.RawArray("d", 2 * self.limit)
        self.max_memory = max_memory
        self.free = list(range(self.limit))
        self.failures = 0  # restarts in a row with no file started
        self.pool = self._start()

    def _start(self):
        from concurrent.futures import ProcessPoolExecutor

        import threading

        pool = ProcessPoolExecutor(
            max_workers=self.workers, mp_context=self.ctx, initializer=_init_worker,
            initargs=(self.started, self.preload, self.mem, self.max_memory, os.getpid()),
        )

        def start() -> None:
            # start every worker process now; on a thread, because starting the first
            # waits for the forkserver to load the model, and this process has inputs
            # to hash and a store to open meanwhile.  All start before the pool's
            # manager thread exists (its first submit starts it): in CPython, a worker
            # that dies at start makes that thread tear the pool down while a later
            # spawn is still sending the queue it closes (the forkserver then dies of
            # an EOFError, or the thread of a changed dict, each with a traceback on
            # the user's terminal).  Where that method is missing, each submit starts
            # one more worker, as before.
            try:
                launch = getattr(pool, "_launch_processes", None)
                if launch is not None:
                    launch()
                for _ in range(self.workers):
                    pool.submit(_noop)
            except Exception:  # noqa: BLE001 - a worker died already (BrokenProcessPool):
                pass  # the scheduling loop's next submit meets the same broken pool and restarts it

        self.starting = threading.Thread(target=start, name="letterparse-pool-start", daemon=True)
        self.starting.start()
        return pool

    def started_at(self, task: _Task) -> float | None:
        t = self.started[task.slot]
        return t if t > 0 else None

    def submit(self, task: _Task, task_args: tuple):
        self.starting.join()
        task.slot = self.free.pop()
        self.started[task.slot] = self.mem[2 * task.slot] = self.mem[2 * task.slot + 1] = 0.0
        return self.pool.submit(parse_task, task.path, *task_args, slot=task.slot)

    def release(self, task: _Task) -> None:
        self.free.append(task.slot)

    def died_of_memory(self, task: _Task) -> bool:
        """Whether the worker that died parsing ``task`` had grown by MEMORY_SHARE of the
        room it had under the cap when the file started (read before the slot is reused).
        A crash at an ordinary size (a PDFium bug, a kill from outside) is not memory."""
        start, peak = self.mem[2 * task.slot], self.mem[2 * task.slot + 1]
        if self.max_memory is None or start <= 0:
            return False
        return peak - start >= MEMORY_SHARE * max(self.max_memory - start, 0)

    def restart(self, left: int) -> None:
        """A fresh pool.  Workers that keep dying before they start a file (an import
        or start-up failure, not a bad file) stop the run with a typed error."""
        from .errors import WorkerError

        self.failures = 0 if any(self.started[i] > 0 for i in range(self.limit)) else self.failures + 1
        self.close(kill=True)
        if self.failures >= START_FAILURES:
            raise WorkerError(f"worker processes died {self.failures} times before parsing a file; {left} files not parsed")
        self.free = list(range(self.limit))
        for i in range(self.limit):
            self.started[i] = 0.0
        self.pool = self._start()

    def close(self, kill: bool = False) -> None:
        self.starting.join()
        if not kill:
            self.pool.shutdown(wait=True, cancel_futures=True)
            return
        procs = list((getattr(self.pool, "_processes", None) or {}).values())
        for proc in procs:
            try:
                proc.kill()
            except Exception:  # noqa: BLE001 - already gone
                pass
        for proc in procs:
            proc.join(5)
        self.pool.shutdown(wait=False, cancel_futures=True)
        _unblock_manager(self.pool)


def _unblock_manager(pool: Any, seconds: float = 10.0) -> None:
    """A worker killed while it was sending a result leaves the executor's manager thread
    waiting for the rest of that message for ever, and with it ``shutdown`` and the
    interpreter's exit (seen: a batch hung after Ctrl-C, and after a timeout).  Feed the
    result pipe until the thread reads a message it cannot unpickle, takes the pool for
    broken, and ends; the pool is being thrown away, so nothing real is lost."""
    thread = getattr(pool, "_executor_manager_thread", None)
    if thread is None:
        return
    thread.join(0.5)
    if not thread.is_alive():
        return
    fd = pool._result_queue._writer.fileno()
    os.set_blocking(fd, False)
    chunk, deadline = bytes(65536), time.monotonic() + seconds
    while thread.is_alive() and time.monotonic() < deadline:
        try:
            os.write(fd, chunk)
        except OSError:  # the pipe is full (the thread is not reading) or closed
            pass
        thread.join(0.05)


POLL = 1.0  # seconds between looks at the start times of queued files
START_FAILURES = 3  # fresh pools in a row whose workers died before starting any file


class _Primer:
    """Sends the first files to a local pool on a thread of its own: sending waits for
    the workers to exist (the forkserver loads the model before it forks them), and
    this process has its store to open meanwhile.  :meth:`result` gives (future, task)
    of the files sent, in order; a pool broken already (a worker died at start) takes
    none more, and :func:`_run_local` restarts it."""

    def __init__(self, pool: _LocalPool, tasks: list[_Task], task_args: tuple):
        import threading

        self.sent: list[tuple[Any, _Task]] = []
        self.thread = threading.Thread(target=self._send, args=(pool, tasks, task_args), name="letterparse-prime", daemon=True)
        self.thread.start()

    def _send(self, pool: _LocalPool, tasks: list[_Task], task_args: tuple) -> None:
        for task in tasks:
            try:
                self.sent.append((pool.submit(task, task_args), task))
            except Exception:  # noqa: BLE001 - BrokenProcessPool, or a pool being shut down: the main thread goes on
                pool.release(task)
                return

    def result(self) -> list[tuple[Any, _Task]]:
        self.thread.join()
        return self.sent


def _run_local(
    todo: list[_Task], record: Record, pool: _LocalPool, task_args: tuple, timeout: float,
    primed: list[tuple[Any, _Task]] = (),
) -> None:
    """At most two files in flight per worker: one parsing, one queued behind it.
    A file's time limit counts from when its worker started it.  On a timeout the
    whole pool is killed and recreated; the other files in flight are sent again
    (a crash counts only against the files that had started).  ``primed``: files
    already sent, as (future, task), before those of ``todo``."""
    from concurrent.futures import FIRST_COMPLETED, wait
    from concurrent.futures.process import BrokenProcessPool

    queue = deque(todo)
    running: dict[Any, _Task] = dict(primed)
    try:
        while queue or running:
            broken = False
            while queue and len(running) < pool.limit:
                task = queue.popleft()
                try:
                    running[pool.submit(task, task_args)] = task
                except BrokenProcessPool:  # a worker died while nothing was being collected
                    pool.release(task)
                    queue.appendleft(task)
                    broken = True
                    break
            if broken and not running:
                pool.restart(len(queue))
                continue
            now = time.monotonic()
            starts = [s for s in map(pool.started_at, running.values()) if s is not None]
            # a queued file is looked at again soon, to see when its clock starts
            wait_for = min([POLL, timeout] if len(starts) < len(running) else [POLL])
            wait_for = min([wait_for] + [s + timeout - now for s in starts])
            finished, _ = wait(list(running), timeout=max(0.0, wait_for), return_when=FIRST_COMPLETED)
            for fut in finished:
                task = running.pop(fut)
                pool.release(task)
                try:
                    outcome = fut.result()
                except BrokenProcessPool:
                    broken = True
                    if pool.started_at(task) is not None and pool.died_of_memory(task):
                        record(task, _memory_outcome(pool.max_memory))  # a bomb: no retry
                        continue
                    if pool.started_at(task) is not None:
                        task.crashes += 1
                    if task.crashes >= CRASH_RETRIES:
                        record(task, _crash_outcome())
                    else:
                        queue.appendleft(task)
                    continue
                record(task, outcome)
            now = time.monotonic()
            late = [f for f, t in running.items() if (s := pool.started_at(t)) is not None and now - s >= timeout]
            if late or broken:
                for fut in late:
                    record(running.pop(fut), _timeout_outcome(timeout))
                # The rest in flight go again on a fresh pool, in their order.
                for task in reversed(list(running.values())):
                    queue.appendleft(task)
                running.clear()
                pool.restart(len(queue))
    except BaseException:
        pool.close(kill=True)
        raise


def _run_dask(
    todo: list[_Task], record: Record, workers: int, task_args: tuple, timeout: float, scheduler: str | None
) -> None:
    """The same loop on a dask.distributed Client; on a timeout the workers are restarted."""
    from dask.distributed import Client, LocalCluster, wait

    cluster = None
    if scheduler is None:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
    else:
        client = Client(scheduler)
    try:
        slots = max(1, sum(client.nthreads().values()))
        queue = deque(todo)
        running: dict[Any, _Task] = {}
        while queue or running:
            while queue and len(running) < slots:
                task = queue.popleft()
                task.started = time.monotonic()
                running[client.submit(parse_task, task.path, *task_args, pure=False)] = task
            deadline = min(t.started for t in running.values()) + timeout
            try:
                res = wait(list(running), timeout=max(0.01, deadline - time.monotonic()), return_when="FIRST_COMPLETED")
                finished = res.done
            except TimeoutError:
                finished = set()
            for fut in finished:
                task = running.pop(fut)
                try:
                    outcome = fut.result()
                except Exception as exc:  # noqa: BLE001 - a worker that died (KilledWorker...)
                    outcome = Failed("internal", f"{type(exc).__name__}: {exc}")
                record(task, outcome)
            now = time.monotonic()
            late = [f for f, t in running.items() if now - t.started >= timeout]
            if late:
                for fut in late:
                    record(running.pop(fut), _timeout_outcome(timeout))
                    fut.cancel()
                for fut, task in running.items():
                    fut.cancel()
                    queue.appendleft(task)
                running.clear()
                client.restart()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
