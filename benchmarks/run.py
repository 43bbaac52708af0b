"""Benchmark letterparse against raw text extraction, in one run.

    .venv/bin/python benchmarks/run.py               # every PDF of ../shared/corpus
    .venv/bin/python benchmarks/run.py --sample 80   # a fixed stratified sample (quicker)
    .venv/bin/python benchmarks/run.py --profile     # also profile one worker
    .venv/bin/python benchmarks/run.py --sample 170 --quick --baseline ../old
        # only the 1-worker goal's measurements, for this checkout and an older one

Measures, each in a fresh process, once per round for ``--runs`` rounds (the
median run is reported, and ratios are the median of the ratios within a round):

* raw pypdfium2 text (``get_text_range`` on every page);
* raw pdfplumber text (``extract_text`` on every page) on a smaller subsample
  (``--plumber-sample``, default 10 PDFs), with the time it would take on the
  whole sample projected from its rate;
* ``letterparse batch`` (the CLI, wall clock including interpreter start-up,
  imports, pool start and store writes) with each backend, with and without
  themes, on 1 and 2 workers (the plumber backend on the plumber subsample);
* peak resident memory: of a raw process (its own ``ru_maxrss``) and of the
  batch's main process and its worker processes (psutil samples the process tree
  every 100 ms and keeps each process's maximum);
* the import time of ``letterparse`` (``python -c "import letterparse"``, wall
  clock, median of 5, and the ``-X importtime`` figure for the package alone).

With ``--baseline DIR`` each round also runs the in-process parse and the
1-worker batch from that checkout (``DIR/src`` on ``PYTHONPATH``, its own
``models/``), so a before/after ratio comes from the same minutes of this machine,
whose speed drifts by 10-40%.  ``--quick`` runs only what the 1-worker goal needs:
raw pypdfium2, the in-process parse, the fixed start-up and the 1-worker batch.

Prints a markdown table and writes it to ``benchmarks/results.md``.  When the
throughput goal is missed (or with ``--profile``) it also profiles the pipeline
in one process, as one worker runs it, and adds the stage times and hot spots.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = Path("../shared/corpus")  # relative to the repository root
SEED = 20261127

GOALS = {
    "ratio_raw": 0.4,  # pipeline (pdfium, themes, 1 worker) / raw pypdfium2, pages/s
    "speedup": 1.8,  # 2 workers / 1 worker
    "worker_mb": 400.0,  # peak RSS per worker
    "import_s": 0.5,  # python -c "import letterparse"
}


# --- the sample ---------------------------------------------------------------------


def read_manifest(corpus: Path) -> list[dict[str, str]]:
    with open(corpus / "manifest.csv", newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if (corpus / r["path"]).is_file()]
    return sorted(rows, key=lambda r: r["path"])


def stratified(rows: list[dict[str, str]], n: int, seed: int = SEED) -> list[dict[str, str]]:
    """``n`` rows spread over the families in proportion to their size (at least one
    of each), picked with a fixed seed: the same sample on every machine."""
    if n >= len(rows):
        return list(rows)
    fams: dict[str, list[dict[str, str]]] = defaultdict(list)
    for r in rows:
        fams[r["family"]].append(r)
    quota = {f: 1 for f in fams}
    rest = n - len(fams)
    exact = {f: rest * len(v) / len(rows) for f, v in fams.items()}
    for f in fams:
        quota[f] += int(exact[f])
    left = n - sum(quota.values())
    for f in sorted(fams, key=lambda f: exact[f] - int(exact[f]), reverse=True)[:left]:
        quota[f] += 1
    rng = random.Random(seed)
    out = []
    for f in sorted(fams):
        out.extend(rng.sample(fams[f], min(quota[f], len(fams[f]))))
    if len(out) > n:  # fewer picks than families
        out = rng.sample(out, n)
    return sorted(out, key=lambda r: r["path"])


# --- measured children ----------------------------------------------------------------


def _raw_child(backend: str, files: list[str]) -> None:
    """Run inside a fresh interpreter: extract every page's text, print JSON."""
    if backend.startswith("parse-"):
        from letterparse.pipeline import parse

        _as_a_batch_worker()
        parse(files[0], backend=backend[6:], themes=True)  # load the models: not timed
        t0 = time.perf_counter()
        pages = chars = 0
        for f in files:
            letter = parse(f, backend=backend[6:], themes=True)
            pages += letter.source.pages
            chars += len(letter.text)
    elif backend == "pdfium":
        import pypdfium2 as pdfium

        t0 = time.perf_counter()
        pages = chars = 0
        for f in files:
            doc = pdfium.PdfDocument(f)
            try:
                for i in range(len(doc)):
                    page = doc[i]
                    tp = page.get_textpage()
                    chars += len(tp.get_text_range())
                    tp.close()
                    page.close()
                    pages += 1
            finally:
                doc.close()
    else:
        import pdfplumber

        t0 = time.perf_counter()
        pages = chars = 0
        for f in files:
            with pdfplumber.open(f) as pdf:
                for page in pdf.pages:
                    chars += len(page.extract_text() or "")
                    page.close()
                    pages += 1
    seconds = time.perf_counter() - t0
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(json.dumps({"seconds": seconds, "pages": pages, "docs": len(files), "chars": chars, "rss_mb": rss_kb / 1024}))


def _peak_mb(p) -> float:
    """The process's peak resident memory so far: the kernel's high-water mark
    (``VmHWM``) on Linux, so sparse samples still see the true peak; elsewhere its
    current RSS."""
    try:
        with open(f"/proc/{p.pid}/status", "rb") as fh:
            for line in fh:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return p.memory_info().rss / 2**20


class TreeSampler:
    """Peak RSS of every process in a process tree, read every ``interval`` s.
    Sparse on purpose: the sampler's own CPU would otherwise compete with the
    workers it measures (at 0.1 s it used ~5% of a core)."""

    def __init__(self, pid: int, interval: float = 0.5):
        self.pid, self.interval = pid, interval
        self.peak: dict[int, float] = {}
        self.parent: dict[int, int] = {}
        self.cmd: dict[int, str] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> TreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        import psutil

        try:
            root = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            return
        while not self._stop.is_set():
            try:
                procs = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                return
            for p in procs:
                try:
                    rss = _peak_mb(p)
                    if p.pid not in self.cmd:
                        self.cmd[p.pid] = " ".join(p.cmdline())
                        self.parent[p.pid] = p.ppid()
                except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                    continue
                self.peak[p.pid] = max(self.peak.get(p.pid, 0.0), rss)
            self._stop.wait(self.interval)

    def main_mb(self) -> float:
        return self.peak.get(self.pid, 0.0)

    def worker_mb(self) -> float:
        """The largest peak among the pool's workers: descendants that have no children
        of their own (so not the forkserver) and are not multiprocessing's resource tracker."""
        parents = set(self.parent.values())
        workers = [
            mb for pid, mb in self.peak.items()
            if pid != self.pid and pid not in parents and "resource_tracker" not in self.cmd.get(pid, "")
        ]
        return max(workers, default=0.0)


def run_raw(backend: str, files: list[str], env: dict[str, str] | None = None) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--_raw", backend, "--_files", _listfile(files)],
        capture_output=True, text=True, check=True, cwd=ROOT, env=env,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_batch(files: list[str], backend: str, themes: bool, workers: int, env: dict[str, str] | None = None) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="lp-bench-") as tmp:
        cmd = [
            sys.executable, "-m", "letterparse", "batch", *files, "--out", str(Path(tmp) / "bench.duckdb"),
            "--workers", str(workers), "--backend", backend, "--themes" if themes else "--no-themes",
        ]
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
        with TreeSampler(proc.pid) as tree:
            _, err = proc.communicate()
        seconds = time.perf_counter() - t0
    # "80 files: 80 parsed, 0 skipped, 0 errors (851 pages in 14.2 s, 60.0 pages/s)"
    summary = next((ln for ln in err.splitlines() if " files: " in ln), "")
    try:
        pages = int(summary.split("(")[1].split(" pages")[0])
        parsed = int(summary.split(": ")[1].split(" parsed")[0])
        inner = float(summary.split(" pages in ")[1].split(" s")[0])
    except (IndexError, ValueError):
        raise SystemExit(f"batch failed ({proc.returncode}): {err[-2000:]}")
    return {
        "seconds": seconds, "inner_seconds": inner, "pages": pages, "docs": parsed,
        "errors": int(summary.split(", ")[2].split(" errors")[0]) if "errors" in summary else 0,
        "main_mb": tree.main_mb(), "worker_mb": tree.worker_mb(), "exit": proc.returncode,
    }


_LISTS: list[str] = []


def _listfile(files: list[str]) -> str:
    fd, name = tempfile.mkstemp(prefix="lp-bench-", suffix=".txt")
    with os.fdopen(fd, "w") as fh:
        fh.write("\n".join(files))
    if not _LISTS:
        import atexit

        atexit.register(lambda: [os.unlink(n) for n in _LISTS if os.path.exists(n)])
    _LISTS.append(name)
    return name


def run_split(files: list[str], procs: int) -> dict[str, float]:
    """``letterparse.parse`` over ``files`` split across ``procs`` independent processes
    (no pool, no parent, no store): the wall clock, start-up and model loads included."""
    t0 = time.perf_counter()
    children = [
        subprocess.Popen([sys.executable, __file__, "--_raw", "parse-pdfium", "--_files", _listfile(files[i::procs])],
                         stdout=subprocess.PIPE, text=True, cwd=ROOT)
        for i in range(procs)
    ]
    outs = [json.loads(c.communicate()[0].strip().splitlines()[-1]) for c in children]
    return {"seconds": time.perf_counter() - t0, "pages": sum(o["pages"] for o in outs), "docs": len(files),
            "rss_mb": max(o["rss_mb"] for o in outs)}


def median_of(runs: list[dict[str, float]]) -> dict[str, float]:
    """The run with the median time, with the largest memory seen in any run."""
    ordered = sorted(runs, key=lambda r: r["seconds"])
    m = dict(ordered[len(ordered) // 2])
    for k in ("rss_mb", "main_mb", "worker_mb"):
        if k in m:
            m[k] = max(r[k] for r in runs)
    m["all_seconds"] = [round(r["seconds"], 2) for r in runs]
    return m


def import_time(module: str = "letterparse", n: int = 5) -> tuple[float, float, float]:
    """(median wall s of ``python -c "import m"``, median wall s of ``python -c pass``,
    median cumulative s that ``-X importtime`` reports for ``m`` alone)."""
    walls, bare, own = [], [], []
    for _ in range(n):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", f"import {module}"], check=True, cwd=ROOT)
        walls.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True, cwd=ROOT)
        bare.append(time.perf_counter() - t0)
        err = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", f"import {module}"], capture_output=True, text=True, cwd=ROOT
        ).stderr
        for line in err.splitlines():
            parts = [p.strip() for p in line.split("|")]
            if len(parts) == 3 and parts[2] == module:
                own.append(int(parts[1]) / 1e6)
    return statistics.median(walls), statistics.median(bare), statistics.median(own) if own else float("nan")


# --- profile ------------------------------------------------------------------------


def profile(files: list[str], top: int = 18) -> str:
    """Stage times (no profiler running) and cProfile hot spots of the pipeline
    (pdfium, themes) on ``files`` in this process, as one batch worker runs it."""
    import cProfile
    import io
    import pstats

    from letterparse.clean import clean
    from letterparse.describe import describe
    from letterparse.extract import extract
    from letterparse.pipeline import parse
    from letterparse.segment import segment

    _as_a_batch_worker()
    parse(files[0], themes=True)  # load the models once, as a worker does
    stages: dict[str, float] = defaultdict(float)
    pages = 0
    classify_parts = _classify_parts()
    for f in files:
        t = time.perf_counter()
        raw = extract(f, "pdfium")
        t1 = time.perf_counter()
        body = clean(raw)
        t2 = time.perf_counter()
        text, sections = segment(body)
        t3 = time.perf_counter()
        describe(body)
        t4 = time.perf_counter()
        texts = [fd.text for s in sections for fd in s.findings]
        kinds = [s.kind for s in sections for fd in s.findings]
        parts = classify_parts(texts, kinds) if texts else {}
        stages["extract (pypdfium2 + line geometry)"] += t1 - t
        stages["clean"] += t2 - t1
        stages["segment"] += t3 - t2
        stages["describe"] += t4 - t3
        for k, v in parts.items():
            stages[k] += v
        pages += len(raw.pages)
    classify_total = stages.pop("_classify", 0.0)
    total = sum(v for k, v in stages.items() if not k.startswith("classify: ")) + classify_total
    stages["classify (total)"] = classify_total
    lines = [f"Stage times, pdfium + themes, one process, {len(files)} PDFs / {pages} pages "
             f"({total:.2f} s, {pages / total:.1f} pages/s; no profiler running):", "",
             "| stage | s | share |", "|---|---|---|"]
    for k, v in stages.items():
        lines.append(f"| {k} | {v:.2f} | {100 * v / total:.1f}% |")

    letters = []
    pr = cProfile.Profile()
    pr.enable()
    for f in files:
        letters.append(parse(f, themes=True))
    pr.disable()
    lines += ["", _store_times(letters)]
    buf = io.StringIO()
    st = pstats.Stats(pr, stream=buf)
    tot = st.total_tt
    rows = []
    for (fn, line, name), (cc, nc, tt, ct, _callers) in st.stats.items():
        rows.append((ct, tt, nc, f"{_short(fn)}:{line}({name})"))
    lines += ["", f"cProfile of the same run ({tot:.2f} s under the profiler); top functions by cumulative time "
              "(share = cumulative / total):", "", "| function | calls | own s | cumulative s | share |", "|---|---|---|---|---|"]
    for ct, tt, nc, name in sorted(rows, reverse=True)[:top]:
        lines.append(f"| `{name}` | {nc} | {tt:.2f} | {ct:.2f} | {100 * ct / tot:.1f}% |")
    lines += ["", "Top functions by own time:", "", "| function | calls | own s | share |", "|---|---|---|---|"]
    for ct, tt, nc, name in sorted(rows, key=lambda r: r[1], reverse=True)[:top]:
        lines.append(f"| `{name}` | {nc} | {tt:.2f} | {100 * tt / tot:.1f}% |")
    return "\n".join(lines)


def _store_times(letters) -> str:
    """What the batch's parent process spends writing these letters, per format,
    one file per transaction (the slowest case: results arriving one at a time).
    The workers build the rows; only ``put_rows`` runs in the parent."""
    from letterparse import PARSER_VERSION
    from letterparse.store import letter_rows, open_store

    out = ["Parent process, writing the same letters to a store one file per transaction "
           "(`Store.put_rows` of rows the workers built; the batch does this on a writer thread while the workers parse):", "",
           "| store | s | ms per file |", "|---|---|---|"]
    rows = [letter_rows(l, PARSER_VERSION, "bench") for l in letters]
    for name in ("bench.duckdb", "bench.jsonl", "bench_parquet"):
        with tempfile.TemporaryDirectory(prefix="lp-bench-") as tmp:
            with open_store(Path(tmp) / ("warm-" + name)) as store:  # imports (DuckDB, pyarrow) not timed
                store.put_rows(rows[:1], [], PARSER_VERSION, "bench")
            t = time.perf_counter()
            with open_store(Path(tmp) / name) as store:
                for r in rows:
                    store.put_rows([r], [], PARSER_VERSION, "bench")
            dt = time.perf_counter() - t
        out.append(f"| {name.split('.')[-1].replace('bench_', '')} | {dt:.2f} | {1000 * dt / len(rows):.1f} |")
    return "\n".join(out)


def _short(fn: str) -> str:
    for marker in ("site-packages/", "src/"):
        if marker in fn:
            return fn.split(marker, 1)[1]
    return fn


def _as_a_batch_worker() -> None:
    """Load what a batch's workers load before their first file (the model, the
    caches of its words), set malloc and the garbage collector as they do: the same
    code path as theirs.  (A baseline checkout may predate the malloc and collector
    settings.)"""
    import importlib

    import letterparse.batch as b

    keep = getattr(b, "_keep_freed_memory", None)
    if keep is not None:
        keep()
    try:
        from letterparse._forkserver import preload
    except ImportError:  # a baseline checkout from before letterparse._forkserver
        preload = b._preload
    for name in preload(True, True):
        importlib.import_module(name)
    tune = getattr(b, "tune_gc", None)
    if tune is not None:
        tune()


def _classify_parts():
    """A function timing the classifier on a letter's finding texts: the public
    ``classify`` in total (with the sentences of prose findings, as the pipeline
    classifies them), and the lemmatising (``nlp.lemmatise``: spaCy's saved rules,
    spaCy itself for the chunks they leave) on its own."""
    from letterparse.themes import classify, load_models
    from letterparse.nlp import lemmatise

    directory = load_models().directory

    def parts(texts: list[str], kinds: list[str]) -> dict[str, float]:
        t = time.perf_counter()
        lemmatise(list(texts), directory)
        lem = time.perf_counter() - t
        t = time.perf_counter()
        classify(texts, kinds=kinds, sentences=True)  # as annotate does: the prose findings' sentences too
        total = time.perf_counter() - t
        return {"classify: lemmatise (nlp.lemmatise)": lem,
                "classify: features + scores (the rest of classify)": max(0.0, total - lem), "_classify": total}

    return parts


# --- report -------------------------------------------------------------------------


def fmt_rate(x: float) -> str:
    return f"{x:.1f}" if x >= 1 else f"{x:.2f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="corpus folder with manifest.csv (relative to the repository root)")
    ap.add_argument("--sample", type=int, default=0, help="a fixed stratified sample of this many PDFs (default: every PDF of the corpus)")
    ap.add_argument("--ceiling", action="store_true", help="also time the parse in 1 and 2 plain processes (no pool, no store)")
    ap.add_argument("--plumber-sample", type=int, default=10, help="PDFs for the pdfplumber measurements (default 10)")
    ap.add_argument("--runs", type=int, default=3, help="runs per measurement; the median is reported (default 3)")
    ap.add_argument("--profile", action="store_true", help="always profile one worker (default: only when a throughput goal is missed)")
    ap.add_argument("--no-profile", action="store_true", help="never profile")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results.md"), help="markdown output (relative to the repository root)")
    ap.add_argument("--baseline", type=Path, help="another checkout of letterparse: its in-process parse and 1-worker batch run in the same rounds")
    ap.add_argument("--quick", action="store_true", help="only raw pypdfium2, the in-process parse, the fixed start-up and the 1-worker batch")
    ap.add_argument("--_raw", help=argparse.SUPPRESS)
    ap.add_argument("--_files", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a._raw:
        _raw_child(a._raw, Path(a._files).read_text().splitlines())
        return 0

    corpus = a.corpus if a.corpus.is_absolute() else ROOT / a.corpus
    if not (corpus / "manifest.csv").exists():
        print(f"no corpus at {corpus}", file=sys.stderr)
        return 2
    rows = read_manifest(corpus)
    sample = stratified(rows, a.sample) if a.sample else rows
    small = stratified(sample, a.plumber_sample, seed=SEED + 1)
    files = [str((corpus / r["path"]).resolve()) for r in sample]
    small_files = [str((corpus / r["path"]).resolve()) for r in small]
    sample_pages = sum(int(r["pages"]) for r in sample)
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    log(f"sample: {len(files)} PDFs, {sample_pages} pages; pdfplumber subsample: {len(small_files)} PDFs")

    # Every measurement once per round, rounds repeated: runs of different kinds
    # that are compared (a batch and the raw extraction) are minutes apart at most,
    # so the machine's drifting speed moves both.  Ratios are taken within a round;
    # the median over rounds is reported.
    plan: list[tuple[str, str, str, object]] = [  # (key, label, which files, run)
        ("raw_pdfium", "raw pypdfium2 `get_text_range`", "sample", lambda: run_raw("pdfium", files)),
        *([] if a.quick else [("raw_plumber", "raw pdfplumber `extract_text`", "subsample", lambda: run_raw("plumber", small_files))]),
        ("in_process", "`letterparse.parse` in one process (pdfium, themes; models loaded before the clock)", "sample",
         lambda: run_raw("parse-pdfium", files)),
        ("startup", "`letterparse batch -b pdfium --themes --workers 1` on 1 PDF (fixed start-up)", "1 PDF",
         lambda: run_batch(files[:1], "pdfium", True, 1)),
    ]
    if a.ceiling:
        plan += [
            ("split1", "ceiling: `letterparse.parse` in 1 plain process (wall, start-up included)", "sample",
             lambda: run_split(files, 1)),
            ("split2", "ceiling: `letterparse.parse` in 2 independent processes, half the sample each", "sample",
             lambda: run_split(files, 2)),
        ]
    if a.baseline:
        benv = {**os.environ, "PYTHONPATH": str(a.baseline.resolve() / "src")}
        plan += [
            ("b_in_process", f"baseline ({a.baseline.name}): `letterparse.parse` in one process", "sample",
             lambda: run_raw("parse-pdfium", files, benv)),
            ("b_batch", f"baseline ({a.baseline.name}): `letterparse batch -b pdfium --themes --workers 1`", "sample",
             lambda: run_batch(files, "pdfium", True, 1, benv)),
        ]
    for backend in ("pdfium", "plumber"):
        for themes in (True, False):
            for workers in (1, 2):
                if a.quick and (backend, themes, workers) != ("pdfium", True, 1):
                    continue
                label = f"`letterparse batch -b {backend} {'--themes' if themes else '--no-themes'} --workers {workers}`"
                which = "sample" if backend == "pdfium" else "subsample"
                these = files if backend == "pdfium" else small_files
                plan.append(((backend, themes, workers), label, which,
                             lambda these=these, b=backend, t=themes, w=workers: run_batch(these, b, t, w)))
    load = os.getloadavg()[0]
    if load > 0.5:
        log(f"warning: load average {load:.1f} before the start; other work skews the timings")
    t_start = time.perf_counter()
    rounds: dict[object, list[dict[str, float]]] = defaultdict(list)
    for i in range(a.runs):
        for key, label, which, fn in plan:
            r = fn()
            rounds[key].append(r)
            log(f"  round {i + 1}: {label}: {r['seconds']:.2f} s, {r['pages']} pages")
    results = [(label, which, median_of(rounds[key])) for key, label, which, _ in plan]
    med = {key: median_of(rounds[key]) for key, *_ in plan}
    raw_pdfium, in_process, startup = med["raw_pdfium"], med["in_process"], med["startup"]
    raw_plumber = med.get("raw_plumber")
    batch = {k: v for k, v in med.items() if isinstance(k, tuple)}
    imp_wall, imp_bare, imp_own = import_time("letterparse")
    cli_wall, _, cli_own = import_time("letterparse.cli")
    bench_seconds = time.perf_counter() - t_start

    def rate(r: dict[str, float], key: str) -> float:
        return r[key] / r["seconds"] if r["seconds"] else 0.0

    # --- the table
    subsample_pages = raw_plumber["pages"] if raw_plumber else 0
    out: list[str] = []
    out.append(f"# letterparse benchmarks\n")
    out.append(
        f"{time.strftime('%Y-%m-%d %H:%M')}; {os.cpu_count()} CPUs; Python {sys.version.split()[0]}; "
        f"`{' '.join(['python', 'benchmarks/run.py', *(sys.argv[1:])])}`.  Sample: {len(files)} PDFs / "
        f"{raw_pdfium['pages']} pages of `{a.corpus}`"
        f"{f' (stratified by family, seed {SEED})' if a.sample else ' (every PDF)'}"
        f"{f'; pdfplumber subsample: {len(small_files)} PDFs / {subsample_pages} pages' if raw_plumber else ''}.  Each measurement ran once per round, {a.runs} rounds; "
        f"rates are the median run, ratios the median of the ratios within a round.  Batch times are "
        f"the wall clock of the whole CLI command (interpreter start, imports, pool start, store writes).  Memory is the "
        f"largest peak RSS seen in any run.  The last column projects the time on the whole sample from the rate.\n"
    )
    out.append("| what | files | pages/s | docs/s | wall s (runs) | peak RSS main MB | peak RSS per worker MB | sample s (projected) |")
    out.append("|---|---|---|---|---|---|---|---|")
    for label, which, r in results:
        pps, dps = rate(r, "pages"), rate(r, "docs")
        main_mb = r.get("rss_mb", r.get("main_mb", 0.0))
        worker = f"{r['worker_mb']:.0f}" if "worker_mb" in r else "–"
        projected = raw_pdfium["pages"] / pps if pps else float("nan")
        runs = ", ".join(f"{s:.1f}" for s in r["all_seconds"])
        nfiles = f"{int(r['docs'])}" + (f" ({int(r['errors'])} errors)" if r.get("errors") else "")
        out.append(f"| {label} | {nfiles} | {fmt_rate(pps)} | {fmt_rate(dps)} | {r['seconds']:.2f} ({runs}) | {main_mb:.0f} | {worker} | {projected:.1f} |")
    out.append("")
    out.append(f"| import | wall s (median of 5) | bare `python -c pass` s | `-X importtime` of the package s |")
    out.append("|---|---|---|---|")
    out.append(f"| `import letterparse` | {imp_wall:.3f} | {imp_bare:.3f} | {imp_own:.3f} |")
    out.append(f"| `import letterparse.cli` (CLI start-up) | {cli_wall:.3f} | {imp_bare:.3f} | {cli_own:.3f} |")
    out.append("")

    def per_round(num, den) -> float:
        """The median over rounds of (pages/s of ``num``) / (pages/s of ``den``), both from the same round."""
        return statistics.median(rate(n, "pages") / rate(d, "pages") for n, d in zip(rounds[num], rounds[den]))

    ratio_raw = per_round(("pdfium", True, 1), "raw_pdfium")
    ratio_in_process = per_round("in_process", "raw_pdfium")
    ratio_plumber = per_round(("plumber", True, 1), "raw_plumber") if raw_plumber else None
    inner_ratio = statistics.median(
        (b["pages"] / b["inner_seconds"]) / rate(r, "pages") for b, r in zip(rounds["pdfium", True, 1], rounds["raw_pdfium"])
    )
    speedups = {k[:2]: per_round((k[0], k[1], 2), k) for k in batch if k[2] == 1 and (k[0], k[1], 2) in batch}
    worker_mb = max(r["worker_mb"] for r in batch.values())
    out.append("| ratio | value | goal | |")
    out.append("|---|---|---|---|")
    ok = lambda c: "met" if c else "**missed**"  # noqa: E731
    out.append(f"| pipeline (pdfium, themes, 1 worker) ÷ raw pypdfium2, pages/s | {ratio_raw:.2f}× | ≥ {GOALS['ratio_raw']}× | {ok(ratio_raw >= GOALS['ratio_raw'])} |")
    out.append(f"| the same without interpreter start (time `run_batch` reports) | {inner_ratio:.2f}× | | |")
    out.append(f"| `letterparse.parse` in one process, warm (no start-up, no store) ÷ raw pypdfium2 | {ratio_in_process:.2f}× | | |")
    out.append(f"| fixed start-up of a batch (1 PDF, themes, 1 worker) | {startup['seconds']:.2f} s | | |")
    if ratio_plumber is not None:
        out.append(f"| pipeline (plumber, themes, 1 worker) ÷ raw pdfplumber | {ratio_plumber:.2f}× | | |")
    if a.baseline:
        def time_ratio(num, den) -> float:
            """The median over rounds of the time of ``num`` ÷ the time of ``den``, both from the same round."""
            return statistics.median(n["seconds"] / d["seconds"] for n, d in zip(rounds[num], rounds[den]))

        name = a.baseline.name
        out.append(f"| baseline ({name}): pipeline (pdfium, themes, 1 worker) ÷ raw pypdfium2, pages/s | "
                   f"{per_round('b_batch', 'raw_pdfium'):.2f}× | | |")
        out.append(f"| baseline ({name}): `letterparse.parse` in one process ÷ raw pypdfium2 | "
                   f"{per_round('b_in_process', 'raw_pdfium'):.2f}× | | |")
        out.append(f"| this ÷ baseline: time of the 1-worker batch | {time_ratio(('pdfium', True, 1), 'b_batch'):.2f}× | | |")
        out.append(f"| this ÷ baseline: time of the in-process parse | {time_ratio('in_process', 'b_in_process'):.2f}× | | |")
    for (backend, themes), s in speedups.items():
        label = f"2 workers ÷ 1 worker, {backend}, {'themes' if themes else 'no themes'}"
        if backend == "pdfium":  # the goal is the default pipeline's, on the whole sample
            out.append(f"| {label} | {s:.2f}× | ≥ {GOALS['speedup']}× | {ok(s >= GOALS['speedup'])} |")
        else:  # a handful of files: the largest alone can hold one worker for much of the run
            biggest = max(int(r["pages"]) for r in small)
            out.append(f"| {label} ({len(small_files)}-file subsample; its largest file is {biggest} of "
                       f"{subsample_pages} pages) | {s:.2f}× | (not a goal) | |")
    if a.ceiling:
        out.append(f"| machine ceiling: 2 independent processes ÷ 1 (no pool, no store; start-up included) | "
                   f"{per_round('split2', 'split1'):.2f}× | | |")
    out.append(f"| peak RSS of any worker | {worker_mb:.0f} MB | < {GOALS['worker_mb']:.0f} MB | {ok(worker_mb < GOALS['worker_mb'])} |")
    out.append(f"| `import letterparse` wall | {imp_wall:.3f} s | < {GOALS['import_s']} s | {ok(imp_wall < GOALS['import_s'])} |")
    out.append("")
    out.append(f"Benchmark run took {bench_seconds:.0f} s; load average before it {load:.2f}, after it "
               f"{os.getloadavg()[0]:.2f} (the machine's own noise: the same run varies by 10-40%).")
    missed = ratio_raw < GOALS["ratio_raw"] or min([s for k, s in speedups.items() if k[0] == "pdfium"], default=GOALS["speedup"]) < GOALS["speedup"]
    text = "\n".join(out)
    if (missed or a.profile) and not a.no_profile:
        log("profiling one worker ...")
        text += "\n\n## Profile (one worker)\n\n" + profile(files)
    print(text)
    dest = a.out if a.out.is_absolute() else ROOT / a.out
    dest.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
