"""Parse many files into a store: a local process pool or a Dask cluster.

Workers only parse; a thread of the parent process is the only writer to the
store, so writing overlaps parsing.  Files that finish together are written in
one transaction, each file all in or all out.  One bad file never stops the
run: a typed error, a timeout or any unexpected exception becomes a row in the
``errors`` table.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from .errors import InputNotFound, Interrupted, LetterparseError

SUFFIXES = (".pdf", ".txt")
CRASH_RETRIES = 2  # a file in flight when this many worker processes died is recorded as "internal"
FLUSH_SECONDS = 60.0  # a store that buffers (Parquet) is written out at least this often


@dataclass(frozen=True, slots=True)
class BatchResult:
    total: int  # distinct files (by sha256) found in the inputs
    parsed: int  # written to ``letters`` in this run
    skipped: int  # already in the store (``resume``)
    failed: int  # written to ``errors`` in this run
    pages: int
    seconds: float
    errors: tuple[tuple[str, str, str], ...] = ()  # (path, error code, message)
    duplicates: int = 0  # files skipped because another input had the same sha256
    ignored: int = 0  # files in the folders given that are not .pdf or .txt (not read)

    @property
    def ok(self) -> bool:
        return self.failed == 0

    def summary(self) -> str:
        rate = self.pages / self.seconds if self.seconds else 0.0
        ignored = f"; {self.ignored} other files in the folders not read (only .pdf and .txt are)" if self.ignored else ""
        return (
            f"{self.total} files: {self.parsed} parsed, {self.skipped} skipped, {self.failed} errors"
            f" ({self.pages} pages in {self.seconds:.1f} s, {rate:.1f} pages/s){ignored}"
        )


@dataclass(slots=True)
class _Task:
    path: str
    sha256: str
    crashes: int = 0
    started: float = field(default=0.0)  # sent (dask: the time limit counts from here)
    slot: int = -1  # while in flight in a local pool: its place in the shared start-time array


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def resume_command() -> str:
    """The command line that was run, with ``--resume`` (what finishes an interrupted run)."""
    import shlex

    args = [a for a in sys.argv[1:] if a != "--resume"]
    return shlex.join(["letterparse", *args, "--resume"])


def collect_inputs(inputs: Iterable[str | Path]) -> tuple[list[tuple[str, str]], int, int]:
    """``(path, sha256)`` for every ``*.pdf``/``*.txt`` file given or under a folder given,
    sorted by path and deduplicated by sha256 (the first path wins), and the number of
    duplicates dropped, and the number of other files found in the folders (not read).  A
    file given by name is kept whatever its suffix."""
    paths: set[Path] = set()
    ignored: set[Path] = set()
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            for f in p.rglob("*"):
                if f.is_file():
                    (paths if f.suffix.lower() in SUFFIXES else ignored).add(f)
        elif p.is_file():
            paths.add(p)
        else:
            raise InputNotFound(str(p))
    seen: set[str] = set()
    out: list[tuple[str, str]] = []
    for p in sorted(paths, key=str):
        sha = _sha256_file(p)
        if sha not in seen:
            seen.add(sha)
            out.append((str(p), sha))
    return out, len(paths) - len(out), len(ignored - paths)


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


def _preload_module(themes: bool) -> str:
    """What a worker loads before its first file: the pipeline, and with themes the
    model and its caches (:mod:`letterparse._warm`)."""
    return "letterparse._warm" if themes else "letterparse.pipeline"


def _init_worker(started: Any, themes: bool) -> None:
    """Pool initializer: keep the shared start-time array, and load what every file
    needs now, not inside the first file's time limit.  Forked from a forkserver
    that preloaded the same module, this costs nothing."""
    import importlib
    import signal

    # Ctrl-C reaches the whole process group; it is the parent's to handle (it stops the
    # workers and says what was saved), not a traceback from every worker.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    global _STARTED
    _STARTED = started

    importlib.import_module(_preload_module(themes))  # a broken model is left to each file's parse to report


def parse_task(
    path: str, backend: str, themes: bool, max_pages: int | None = None, max_bytes: int | None = None,
    versions: tuple[str, str] = ("", "none"), rows: bool = True, slot: int = -1,
) -> tuple[str, Any, Any]:
    """Run in a worker: ``("ok", store rows, pages)`` or ``("error", code, message)``.

    With ``rows`` the worker builds the store rows (:func:`letterparse.store.letter_rows`,
    with the parser and model ``versions``), so the parent process only writes them;
    without, it returns the :class:`Letter` and the parent builds them (a batch does
    that when it leaves a core idle for the parent).  ``slot`` is where the task notes
    its start time for the parent's per-file time limit.  Never raises: an unexpected
    exception is reported as code ``internal``."""
    if slot >= 0 and _STARTED is not None:
        _STARTED[slot] = time.monotonic()
    try:
        from .pipeline import parse
        from .store import letter_rows

        limits = {k: v for k, v in (("max_pages", max_pages), ("max_bytes", max_bytes)) if v is not None}
        letter = parse(path, backend=backend, themes=themes, **limits)
        return ("ok", letter_rows(letter, *versions) if rows else letter, letter.source.pages)
    except LetterparseError as exc:
        return ("error", exc.code, exc.message)
    except Exception as exc:  # noqa: BLE001 - any bug in one file must not stop the batch
        return ("error", "internal", f"{type(exc).__name__}: {exc}")


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
    wait for it.

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
    t0 = time.monotonic()
    mversion = model_version(themes)
    workers = max(1, workers or os.cpu_count() or 1)
    # Fewer local workers than cores: this process has a core to itself, so it turns
    # letters into rows (JSON and all) and the workers only parse.  Otherwise the
    # workers do it, and this process only writes.
    rows_in_workers = engine == "dask" or workers >= (os.cpu_count() or 1)
    task_args = (backend, themes, max_pages, max_bytes, (PARSER_VERSION, mversion), rows_in_workers)
    # The workers start (and load the model) while this process hashes the inputs.
    pool = _LocalPool(workers, themes) if engine == "local" else None
    try:
        files, duplicates, ignored = collect_inputs(inputs)
    except BaseException:
        if pool is not None:
            pool.close(kill=True)
        raise
    writer, todo = None, []
    try:
        with open_store(out, wait=wait) as store:
            done = store.completed(PARSER_VERSION, mversion) if resume else set()
            todo = _largest_first([_Task(p, s) for p, s in files if s not in done])
            writer = _Writer(store, PARSER_VERSION, mversion, _Progress(len(todo), progress), flush_every)
            try:
                if todo:
                    if pool is not None:
                        _run_local(todo, writer.put, pool, task_args, timeout)
                    else:
                        _run_dask(todo, writer.put, workers, task_args, timeout, scheduler)
            finally:
                writer.close()  # writes what is queued; re-raises a store error
    except KeyboardInterrupt:
        if pool is not None:
            pool.close(kill=True)
            pool = None
        saved = (writer.parsed + writer.failed) if writer is not None else 0
        raise Interrupted(str(out), saved, max(0, len(todo) - saved), resume_command()) from None
    finally:
        if pool is not None:
            pool.close()
    parsed, failed, pages, errors = writer.parsed, writer.failed, writer.pages, writer.errors
    return BatchResult(
        total=len(files),
        parsed=parsed,
        skipped=len(files) - len(todo),
        failed=failed,
        pages=pages,
        seconds=time.monotonic() - t0,
        errors=tuple(errors),
        duplicates=duplicates,
        ignored=ignored,
    )


Record = Callable[[_Task, tuple[str, Any, Any]], None]

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

    def put(self, task: _Task, outcome: tuple[str, Any, Any]) -> None:
        """Called by the scheduling loop for every finished file."""
        if self.error is not None:
            raise self.error  # stop scheduling: the store cannot be written
        self.queue.put((task, outcome))

    def _run(self) -> None:
        import queue

        done = False
        while not done:
            batch = [self.queue.get()]
            until = time.monotonic() + LINGER
            while len(batch) < GROUP and batch[-1] is not None:
                try:
                    batch.append(self.queue.get(timeout=max(0.0, until - time.monotonic())))
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

    def _write(self, batch: list[tuple[_Task, tuple[str, Any, Any]]]) -> None:
        from .model import Letter
        from .store import letter_rows

        rows, errs = [], []
        for i, (task, outcome) in enumerate(batch):
            if outcome[0] == "ok" and isinstance(outcome[1], Letter):
                try:  # a worker that left the rows to this process
                    batch[i] = (task, ("ok", letter_rows(outcome[1], self.pv, self.mv), outcome[2]))
                except Exception as exc:  # noqa: BLE001 - one letter's bug must not stop the batch
                    batch[i] = (task, ("error", "internal", f"{type(exc).__name__}: {exc}"))
        for task, outcome in batch:
            if outcome[0] == "ok":
                rows.append(outcome[1])
            else:
                errs.append((task.path, task.sha256, outcome[1], outcome[2]))
        self.store.put_rows(rows, errs, self.pv, self.mv)
        for task, outcome in batch:
            if outcome[0] == "ok":
                self.parsed += 1
                self.pages += outcome[2]
                self.bar.advance(outcome[2])
            else:
                self.failed += 1
                self.errors.append((task.path, outcome[1], outcome[2]))
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


def _timeout_outcome(timeout: float) -> tuple[str, str, str]:
    return ("error", "timeout", f"parsing took longer than {timeout:g} s and was stopped")


def _crash_outcome() -> tuple[str, str, str]:
    return ("error", "internal", "the worker process died while parsing this file")


class _LocalPool:
    """A process pool whose workers note when each task starts (in a shared array),
    so the parent can keep a second file queued for every worker (no worker waits
    for the parent between files) and still time each file from its own start.
    A task in flight holds one of the array's ``2 * workers`` slots."""

    def __init__(self, workers: int, themes: bool):
        import multiprocessing as mp

        method = "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"
        self.ctx = mp.get_context(method)
        if method == "forkserver":
            # The forkserver loads the pipeline (and the theme model) once; each worker
            # is forked from it ready.  This only takes effect when this process starts
            # its forkserver: a later batch reuses it, and the workers' initializer
            # loads whatever it lacks.
            self.ctx.set_forkserver_preload([_preload_module(themes)])
        self.workers, self.themes = workers, themes
        self.limit = 2 * workers
        self.started = self.ctx.RawArray("d", self.limit)
        self.free = list(range(self.limit))
        self.failures = 0  # restarts in a row with no file started
        self.pool = self._start()

    def _start(self):
        from concurrent.futures import ProcessPoolExecutor

        import threading

        pool = ProcessPoolExecutor(
            max_workers=self.workers, mp_context=self.ctx, initializer=_init_worker, initargs=(self.started, self.themes)
        )

        def start() -> None:
            # each submit starts one more worker process, now; on a thread, because
            # starting the first waits for the forkserver to load the model, and this
            # process has inputs to hash and a store to open meanwhile
            try:
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
        self.started[task.slot] = 0.0
        return self.pool.submit(parse_task, task.path, *task_args, slot=task.slot)

    def release(self, task: _Task) -> None:
        self.free.append(task.slot)

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


def _run_local(todo: list[_Task], record: Record, pool: _LocalPool, task_args: tuple, timeout: float) -> None:
    """At most two files in flight per worker: one parsing, one queued behind it.
    A file's time limit counts from when its worker started it.  On a timeout the
    whole pool is killed and recreated; the other files in flight are sent again
    (a crash counts only against the files that had started)."""
    from concurrent.futures import FIRST_COMPLETED, wait
    from concurrent.futures.process import BrokenProcessPool

    queue = deque(todo)
    running: dict[Any, _Task] = {}
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
                    outcome = ("error", "internal", f"{type(exc).__name__}: {exc}")
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
