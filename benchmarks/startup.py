"""Start-up of the commands that parse: wall clock of whole CLI runs, in one run.

    .venv/bin/python benchmarks/startup.py                       # 11 rounds
    .venv/bin/python benchmarks/startup.py --baseline ../old     # also an older checkout

Each round runs, in a fresh process each and in this order:

* ``python -c pass`` (the interpreter's own start, the floor);
* ``letterparse extract FILE`` with themes, and with ``--no-themes``, for one file
  of each family below;
* ``letterparse batch FILE --workers 1`` with themes into a new store (a batch's
  fixed start-up: one small file);
* with ``--baseline DIR`` the same ``extract`` and ``batch`` runs from that checkout
  (``DIR/src`` on ``PYTHONPATH``, its own ``models/``), so the before/after ratio
  comes from the same minutes of this machine, whose speed drifts by 10-40%.

Every command is ``python -m letterparse ...`` (the console script's code path).
Reports medians over rounds (and, for ``extract``, over the files too) and the
ratio of medians; writes ``benchmarks/startup.md``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
# one ordinary document per family (2-14 pages): the files `extract` is timed on
FILES = {
    "focused visit": "focused-visit",
    "ILACS 2021": "ilacs-2021",
    "JTAI": "jtai",
    "UCRA 2009": "jar-2009",
}


def pick_files(corpus: Path) -> dict[str, Path]:
    """The median-sized PDF of each family folder (a fixed, typical choice)."""
    out = {}
    for label, folder in FILES.items():
        pdfs = sorted((corpus / folder).glob("*.pdf"), key=lambda p: (p.stat().st_size, p.name))
        if pdfs:
            out[label] = pdfs[len(pdfs) // 2]
    return out


def timed(cmd: list[str], env: dict[str, str] | None = None) -> float:
    t0 = time.perf_counter()
    res = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, text=True)
    seconds = time.perf_counter() - t0
    if res.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({res.returncode}): {res.stderr[-500:]}")
    return seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=11)
    ap.add_argument("--corpus", type=Path, default=CORPUS)
    ap.add_argument("--baseline", type=Path, help="another checkout of letterparse to time in the same rounds")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "startup.md")
    args = ap.parse_args()
    files = pick_files(args.corpus)
    if not files:
        raise SystemExit(f"no PDFs under {args.corpus}")
    py = sys.executable
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    envs = {"this": env}
    if args.baseline:
        envs["baseline"] = {**os.environ, "PYTHONPATH": str(args.baseline.resolve() / "src")}
    one = next(iter(files.values()))
    times: dict[str, list[float]] = {}

    def note(key: str, seconds: float) -> None:
        times.setdefault(key, []).append(seconds)

    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            note("python -c pass", timed([py, "-c", "pass"]))
            for name, e in envs.items():
                for label, pdf in files.items():
                    note(f"{name}: extract", timed([py, "-m", "letterparse", "extract", str(pdf)], e))
                    note(f"{name}: extract {label}", times[f"{name}: extract"][-1])
                    if name == "this":
                        note("this: extract --no-themes", timed([py, "-m", "letterparse", "extract", "--no-themes", str(pdf)], e))
                store = Path(tmp) / f"{name}-{r}.duckdb"
                note(f"{name}: batch", timed([py, "-m", "letterparse", "batch", str(one), "--out", str(store), "--workers", "1"], e))
            print(f"round {r + 1}/{args.rounds}", file=sys.stderr)
    med = {k: statistics.median(v) for k, v in times.items()}
    lines = [
        f"# Start-up ({time.strftime('%Y-%m-%d %H:%M')}, {args.rounds} rounds, `python benchmarks/startup.py"
        + (" --baseline …`)" if args.baseline else "`)"),
        "",
        "Wall clock of whole `python -m letterparse` runs; medians over rounds (`extract`: over rounds and files).",
        "Files: " + ", ".join(f"{label} `{p.name}` ({_pages(p)} pages)" for label, p in files.items()) + f"; `batch` on `{one.name}`.",
        "",
        "| measure | median s | runs |",
        "|---|---|---|",
    ]
    for k in sorted(med, key=lambda k: (k.split(":")[0], k)):
        lines.append(f"| {k} | {med[k]:.2f} | {len(times[k])} |")
    if args.baseline:
        lines += ["", "| ratio (this ÷ baseline, medians of one run) | |", "|---|---|"]
        for what in ("extract", "batch"):
            lines.append(f"| {what} | {med[f'this: {what}'] / med[f'baseline: {what}']:.2f}× |")
    text = "\n".join(lines) + "\n"
    args.out.write_text(text, "utf-8")
    print(text)


def _pages(pdf: Path) -> int:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(pdf))
    try:
        return len(doc)
    finally:
        doc.close()


if __name__ == "__main__":
    main()
