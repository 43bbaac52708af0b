"""Execute notebooks/compare_authorities.ipynb on a small store built from corpus PDFs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from letterparse.batch import run_batch

ROOT = Path(__file__).parents[1]
CORPUS = (ROOT / "../shared/corpus").resolve()
NOTEBOOK = ROOT / "notebooks" / "compare_authorities.ipynb"
# Newham with two of its statistical neighbours, over several years, all in London.
PICK = [
    "focused-visit/2018-03-01_80511_newham.pdf",
    "focused-visit/2018-04-03_80486_barking-and-dagenham.pdf",
    "focused-visit/2018-06-08_80491_camden.pdf",
    "focused-visit/2018-05-11_80505_islington.pdf",
    "area-send/2024-11-28_80511_newham.pdf",
    "area-send/2024-11-20_80508_lewisham.pdf",
]


def test_notebook_runs(tmp_path):
    if not all((CORPUS / p).exists() for p in PICK):
        pytest.skip("../shared/corpus is not here")
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    store = tmp_path / "nb.duckdb"
    r = run_batch([CORPUS / p for p in PICK], store, workers=2, themes=False, progress=False)
    assert r.parsed == 6
    nb = nbformat.read(NOTEBOOK, as_version=4)
    old = os.environ.get("LETTERPARSE_STORE")
    os.environ["LETTERPARSE_STORE"] = str(store)
    try:
        nbclient.NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    finally:
        if old is None:
            os.environ.pop("LETTERPARSE_STORE", None)
        else:
            os.environ["LETTERPARSE_STORE"] = old
    text = "\n".join(  # printed lines and table reprs
        o.get("text", "") + str(o.get("data", {}).get("text/plain", ""))
        for c in nb.cells if c.cell_type == "code" for o in c.outputs
    )
    assert "6 letters" in text
    assert "region: London" in text
    assert "unclassified" in text
    assert "statistical neighbours in the store:" in text and "statistical neighbours in the store: none" not in text
    assert sum(1 for c in nb.cells if c.cell_type == "code" for o in c.outputs if "image/png" in o.get("data", {})) == 2
    assert not any(o.get("output_type") == "error" for c in nb.cells if c.cell_type == "code" for o in c.outputs)
