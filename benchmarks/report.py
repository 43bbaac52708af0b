"""Time `letterparse report` on a store of the whole shared corpus.

    .venv/bin/python benchmarks/report.py STORE            # a store written by `letterparse batch`
    .venv/bin/python benchmarks/report.py                  # first writes one from ../shared/corpus

Runs the CLI (``letterparse report STORE --out DIR --corpus-root CORPUS``) in a fresh
process ``--runs`` times (default 3), each into a new folder, and prints a markdown table:
the median wall clock (interpreter start, imports, loading the store and writing every
page), each run's time, the pages written, the site's size, the largest page and the
peak memory of the report process.  The goal (issue #11) is under a minute on 2 cores,
with every page at most 1 MB.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOAL_S = 60.0
GOAL_PAGE = 1_000_000


def build_store(corpus: Path, out: Path) -> Path:
    """A DuckDB store of every PDF in the corpus manifest (not timed)."""
    import csv

    rows = list(csv.DictReader((corpus / "manifest.csv").open(encoding="utf-8")))
    files = [str(corpus / r["path"]) for r in rows]
    print(f"writing a store of {len(files)} PDFs to {out} ...", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "letterparse", "batch", *files, "--out", str(out), "--workers", "2"],
                   check=False, cwd=ROOT)
    return out


def run_once(store: Path, corpus: Path, out: Path) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "letterparse", "report", str(store), "--out", str(out), "--corpus-root", str(corpus)],
                   check=True, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def site_sizes(site: Path) -> dict[str, int]:
    return {str(p.relative_to(site)): p.stat().st_size for p in site.rglob("*.html")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("store", nargs="?", type=Path, help="a store (default: write one from --corpus first)")
    ap.add_argument("--corpus", type=Path, default=ROOT / ".." / "shared" / "corpus")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    corpus = args.corpus.resolve()
    with tempfile.TemporaryDirectory(prefix="letterparse-report-bench-") as tmp:
        store = args.store.resolve() if args.store else build_store(corpus, Path(tmp) / "corpus.duckdb")
        times = [run_once(store, corpus, Path(tmp) / f"site-{i}") for i in range(args.runs)]
        sizes = site_sizes(Path(tmp) / "site-0")
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    largest = max(sizes, key=sizes.get)
    median = statistics.median(times)
    print(f"`letterparse report` on {store.name}; {os.cpu_count()} CPUs; Python {sys.version.split()[0]}; "
          f"median of {args.runs} runs, each a fresh process (wall clock).\n")
    print("| what | value | goal | |")
    print("|---|---|---|---|")
    print(f"| wall s, median (runs) | {median:.1f} ({', '.join(f'{t:.1f}' for t in times)}) | < {GOAL_S:.0f} | "
          f"{'met' if median < GOAL_S else 'missed'} |")
    print(f"| pages written | {len(sizes)} | | |")
    print(f"| largest page | {largest}, {sizes[largest] / 1e6:.2f} MB | ≤ 1 MB | "
          f"{'met' if sizes[largest] <= GOAL_PAGE else 'missed'} |")
    print(f"| site size (HTML) | {sum(sizes.values()) / 1e6:.1f} MB | | |")
    print(f"| median page | {statistics.median(sizes.values()) / 1e3:.0f} kB | | |")
    what = "peak RSS of a report process" + ("" if args.store else " (or of the batch that wrote the store)")
    print(f"| {what} | {peak_mb:.0f} MB | | |")


if __name__ == "__main__":
    main()
