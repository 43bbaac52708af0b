"""How fast the theme model classifies findings (the speed goal of #5/#12: 10,000
findings in under 5 s on one core).  Run by hand; results in the README.

    python benchmarks/classify_speed.py STORE.duckdb [--n 10000] [--runs 3]

STORE is a batch store of the corpus (``letterparse batch ../shared/corpus --out
corpus.duckdb --no-themes``); its first N findings (by document and order) are
classified in one process pinned to one core, with BLAS held to one thread.  Each run
is a fresh process, so each starts with empty caches ("cold": every word is new to the
lemma and feature caches); a second call in the same process shows the warm speed.
Reported: the median of the runs, for ``classify`` (paragraph themes and polarity) and
for ``classify(..., sentences=True)`` (plus every sentence of the prose findings, as
``annotate`` does).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

CHILD = r"""
import json, sys, time
import duckdb
from letterparse.themes import classify, load_models
con = duckdb.connect(sys.argv[1], read_only=True)
rows = con.execute("SELECT text, kind FROM findings ORDER BY sha256, ordinal LIMIT ?", [int(sys.argv[2])]).fetchall()
texts, kinds = [r[0] for r in rows], [r[1] for r in rows]
load_models()
out = {}
for name, kw in (("cold", {}), ("warm", {}), ("sentences_warm", {"sentences": True})):
    t = time.perf_counter()
    classify(texts, kinds=kinds, **kw)
    out[name] = time.perf_counter() - t
out["n"] = len(texts)
print(json.dumps(out))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("store")
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    runs = []
    for _ in range(a.runs):
        cmd = ["taskset", "-c", "0", sys.executable, "-c", CHILD, a.store, str(a.n)]
        runs.append(json.loads(subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout))
    n = runs[0]["n"]
    print(f"{n} findings, one core, median of {a.runs} runs:")
    for k in ("cold", "warm", "sentences_warm"):
        med = statistics.median(r[k] for r in runs)
        print(f"  {k:15s} {med:6.2f} s  ({n / med:,.0f} findings/s)")


if __name__ == "__main__":
    main()
