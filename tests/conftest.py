from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORPUS = (ROOT / ".." / "shared" / "corpus").resolve()
SEED = (ROOT / ".." / "shared" / "seed" / "000_8910a1e35173fc3a.txt").resolve()
SAMPLE_SOURCES = ROOT / "corpora" / "samples"

sys.path.insert(0, str(Path(__file__).parent))  # tests/render.py


def _render_samples(out: Path) -> Path:
    """The invented sample letters (markup we wrote, corpora/samples/*.md) rendered to PDF in ``out``."""
    from render import render_letter

    for src in sorted(SAMPLE_SOURCES.glob("*.md")):
        if src.name.lower() != "readme.md":
            render_letter(src.read_text("utf-8"), out / (src.stem + ".pdf"))
    return out


@pytest.fixture(scope="session")
def samples(tmp_path_factory) -> Path:
    """The folder of rendered sample PDFs (``<stem>.pdf`` per corpora/samples/<stem>.md):
    rendered once per test run, on first use, in pytest's temporary folders (which
    pytest prunes), never at import."""
    return _render_samples(tmp_path_factory.mktemp("samples"))


@pytest.fixture(scope="session")
def corpus() -> Path:
    if not (CORPUS / "manifest.csv").exists():
        pytest.skip("../shared/corpus is not here")
    return CORPUS


@pytest.fixture(scope="session")
def seed_path() -> Path:
    if not SEED.exists():
        pytest.skip("../shared/seed is not here")
    return SEED


@pytest.fixture(scope="session")
def seed_pdf(seed_path: Path, tmp_path_factory) -> Path:
    from render import markup_from_plain, render_letter

    out = tmp_path_factory.mktemp("seed") / "seed.pdf"
    return render_letter(markup_from_plain(seed_path.read_text("utf-8")), out)


@pytest.fixture(scope="session")
def corpus_store(corpus: Path, tmp_path_factory) -> Path:
    """The whole shared corpus (the manifest's PDFs) in one DuckDB store, with themes:
    built once per test run by `letterparse batch` (about a minute on 2 cores)."""
    import csv

    from letterparse.batch import run_batch

    rows = list(csv.DictReader((corpus / "manifest.csv").open(encoding="utf-8")))
    out = tmp_path_factory.mktemp("corpus-store") / "corpus.duckdb"
    result = run_batch([corpus / r["path"] for r in rows], out, workers=2, themes=True, progress=False)
    assert result.ok, result.summary()
    return out
