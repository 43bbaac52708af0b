"""Cost of the page-content guard (issue #14) over the corpus, in one warm process.

    .venv/bin/python benchmarks/guard.py [../shared/corpus] [--pipeline]

Prints the guard's total time over every PDF (files read into memory first), how many
it scanned in full, the largest per-page form count and parsed content bytes seen (the
limits' margin), and with ``--pipeline`` the time of ``letterparse.parse`` (no themes)
over the same files, guard included, and the guard's share of it.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from letterparse.extract import guard


def main(root: Path, pipeline: bool) -> None:
    paths = sorted(root.rglob("*.pdf"))
    datas = [p.read_bytes() for p in paths]
    guard.check_pdf(str(paths[0]), datas[0])  # warm: imports, regexes
    t0 = time.perf_counter()
    for p, d in zip(paths, datas):
        guard.check_pdf(str(p), d)
    spent = time.perf_counter() - t0
    full = [(p, d) for p, d in zip(paths, datas) if guard._has_forms(d) or guard._suspect_flate(d)]
    calls = max(((ld.form_calls, p.name) for p, d in full for ld in guard.scan(str(p), d)), default=(0, ""))
    size = max(((ld.content_bytes, p.name) for p, d in full for ld in guard.scan(str(p), d)), default=(0, ""))
    print(f"guard: {spent:.2f} s over {len(paths)} PDFs ({1000 * spent / len(paths):.2f} ms each), {len(full)} scanned in full")
    print(f"max form XObjects drawn on a page: {calls[0]} ({calls[1]}); limit {guard.MAX_FORM_CALLS}")
    print(f"max content bytes parsed on a page: {size[0]} ({size[1]}); limit {guard.MAX_PAGE_BYTES}")
    if pipeline:
        from letterparse.pipeline import parse

        parse(paths[0], themes=False)
        t0 = time.perf_counter()
        for p in paths:
            try:
                parse(p, themes=False)
            except Exception:  # noqa: BLE001 - a refused file still counts its time
                pass
        total = time.perf_counter() - t0
        print(f"pipeline (parse, no themes): {total:.1f} s; guard share {100 * spent / total:.1f}%")


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    main(Path(args[0] if args else "../shared/corpus"), "--pipeline" in sys.argv)
