#!/usr/bin/env python
"""Render the invented sample letters in corpora/samples/ to PDF.

Every markup file (``*.md`` other than README.md, or ``*.lp.txt``) in
corpora/samples/ is rendered with tests/render.py to a PDF of the same stem
next to it.  Rendering is deterministic, so ``--check`` can verify that the
committed PDFs are up to date (exit status 1 if any differ or are missing).

    python scripts/render_samples.py            # (re)write the PDFs
    python scripts/render_samples.py --check    # verify only
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "corpora" / "samples"


def load_render():
    """Import tests/render.py without needing tests/ to be a package."""
    name = "letterparse_test_render"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "tests" / "render.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def markup_files(folder: Path = SAMPLES) -> list[Path]:
    files = [p for p in folder.glob("*.md") if p.name.lower() != "readme.md"]
    files += list(folder.glob("*.lp.txt"))
    return sorted(files)


def pdf_for(markup: Path) -> Path:
    name = markup.name
    stem = name[: -len(".lp.txt")] if name.endswith(".lp.txt") else markup.stem
    return markup.with_name(stem + ".pdf")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="only verify that the PDFs are up to date")
    ap.add_argument("folder", nargs="?", type=Path, default=SAMPLES)
    args = ap.parse_args(argv)
    render = load_render()
    stale = 0
    with tempfile.TemporaryDirectory() as tmp:
        for src in markup_files(args.folder):
            dest = pdf_for(src)
            out = Path(tmp) / dest.name if args.check else dest
            render.render_letter(src.read_text(encoding="utf-8"), out)
            pages = len(render.page_texts(out))
            if args.check:
                same = dest.exists() and dest.read_bytes() == out.read_bytes()
                stale += not same
                print(f"{'ok   ' if same else 'STALE'} {dest.relative_to(ROOT) if dest.is_relative_to(ROOT) else dest}")
            else:
                print(f"wrote {dest.relative_to(ROOT) if dest.is_relative_to(ROOT) else dest} ({pages} pages)")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
