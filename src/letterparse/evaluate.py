"""Score the parser against hand-checked gold (``corpora/gold/*.json``).

Gold refers to documents by sha256 and to findings by page and ``finding_key``
(a hash of their first words); it holds no document text.  Scores:

* section F1: (heading, kind) pairs, headings compared after normalisation;
* finding F1: findings of list sections (strengths, satisfactory, improvements,
  priority actions), compared by (section kind, key);
* metadata accuracy: family, authority, letter date, inspection start and end,
  inspectors and grades, one point each.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .keys import finding_key
from .model import Letter
from .vocab import LIST_KINDS

META_FIELDS = ("family", "authority", "letter_date", "inspection_start", "inspection_end", "inspectors", "grades")


def _norm(h: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", h.lower().replace("’", "'")).strip()


def gold_of(letter: Letter, path: str = "") -> dict[str, Any]:
    """A gold record drafted from a parse (to be checked by hand before use)."""
    return {
        "sha256": letter.source.sha256,
        "path": path,
        "family": letter.family,
        "authority": letter.authority.name,
        "ons_code": letter.authority.ons_code,
        "letter_date": letter.letter_date.isoformat() if letter.letter_date else None,
        "inspection": {
            "start": letter.inspection.start.isoformat() if letter.inspection.start else None,
            "end": letter.inspection.end.isoformat() if letter.inspection.end else None,
            "inspectors": list(letter.inspection.inspectors),
        },
        "grades": dict(letter.grades),
        "sections": [
            {
                "heading": s.heading,
                "kind": s.kind,
                "parent": None if s.parent is None else int(s.parent[1:]) - 1,
                "findings": [{"page": f.page, "key": finding_key(f.text)} for f in s.findings]
                if s.kind in LIST_KINDS
                else None,
            }
            for s in letter.sections
        ],
    }


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, gold: Counter, pred: Counter) -> tuple[int, int, int]:
        tp = sum((gold & pred).values())
        fp = sum(pred.values()) - tp
        fn = sum(gold.values()) - tp
        self.tp, self.fp, self.fn = self.tp + tp, self.fp + fp, self.fn + fn
        return tp, fp, fn

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass
class Report:
    sections: Score = field(default_factory=Score)
    findings: Score = field(default_factory=Score)
    meta_right: Counter = field(default_factory=Counter)
    meta_total: Counter = field(default_factory=Counter)
    documents: int = 0
    per_document: list[dict[str, Any]] = field(default_factory=list)

    @property
    def metadata_accuracy(self) -> float:
        total = sum(self.meta_total.values())
        return sum(self.meta_right.values()) / total if total else 1.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "documents": self.documents,
            "section": {"precision": self.sections.precision, "recall": self.sections.recall, "f1": self.sections.f1},
            "finding": {"precision": self.findings.precision, "recall": self.findings.recall, "f1": self.findings.f1},
            "metadata_accuracy": self.metadata_accuracy,
            "metadata_by_field": {k: self.meta_right[k] / self.meta_total[k] for k in META_FIELDS if self.meta_total[k]},
        }


def score_letter(letter: Letter, gold: dict[str, Any], report: Report) -> dict[str, Any]:
    pred_secs = Counter((_norm(s.heading), s.kind) for s in letter.sections)
    gold_secs = Counter((_norm(s["heading"]), s["kind"]) for s in gold["sections"])
    s_tp, s_fp, s_fn = report.sections.add(gold_secs, pred_secs)
    pred_f = Counter(
        (s.kind, finding_key(f.text)) for s in letter.sections if s.kind in LIST_KINDS for f in s.findings
    )
    gold_f = Counter(
        (s["kind"], f["key"]) for s in gold["sections"] if s["kind"] in LIST_KINDS for f in (s["findings"] or [])
    )
    f_tp, f_fp, f_fn = report.findings.add(gold_f, pred_f)
    got = {
        "family": letter.family,
        "authority": letter.authority.ons_code,
        "letter_date": letter.letter_date.isoformat() if letter.letter_date else None,
        "inspection_start": letter.inspection.start.isoformat() if letter.inspection.start else None,
        "inspection_end": letter.inspection.end.isoformat() if letter.inspection.end else None,
        "inspectors": list(letter.inspection.inspectors),
        "grades": dict(letter.grades),
    }
    want = {
        "family": gold["family"],
        "authority": gold["ons_code"],
        "letter_date": gold["letter_date"],
        "inspection_start": gold["inspection"]["start"],
        "inspection_end": gold["inspection"]["end"],
        "inspectors": gold["inspection"]["inspectors"],
        "grades": gold["grades"],
    }
    wrong = []
    for k in META_FIELDS:
        report.meta_total[k] += 1
        if got[k] == want[k]:
            report.meta_right[k] += 1
        else:
            wrong.append({"field": k, "got": got[k], "want": want[k]})
    report.documents += 1
    row = {
        "sha256": gold["sha256"], "path": gold.get("path", ""),
        "sections": {"tp": s_tp, "fp": s_fp, "fn": s_fn,
                     "missing": sorted(map(list, (gold_secs - pred_secs).elements())),
                     "extra": sorted(map(list, (pred_secs - gold_secs).elements()))},
        "findings": {"tp": f_tp, "fp": f_fp, "fn": f_fn},
        "metadata_wrong": wrong,
    }
    report.per_document.append(row)
    return row


def load_gold(folder: str | Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text("utf-8")) for p in sorted(Path(folder).glob("*.json"))]


def index_corpus(root: str | Path) -> dict[str, Path]:
    """sha256 -> path for every PDF/text file under ``root`` (the manifest is used when present)."""
    import csv
    import hashlib

    root = Path(root)
    out: dict[str, Path] = {}
    manifest = root / "manifest.csv"
    if manifest.exists():
        with manifest.open(encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                out[row["sha256"]] = root / row["path"]
        return out
    for p in sorted(root.rglob("*")):
        if p.suffix.lower() in (".pdf", ".txt") and p.is_file():
            out[hashlib.sha256(p.read_bytes()).hexdigest()] = p
    return out


def evaluate(gold_dir: str | Path, corpus: str | Path, *, backend: str = "pdfium", subset: str | None = None) -> Report:
    from .pipeline import parse
    from .vocab import SPLITS

    if subset is not None and subset not in SPLITS:
        raise ValueError(f"unknown split {subset!r}; use one of: {', '.join(SPLITS)}")
    index = index_corpus(corpus)
    report = Report()
    for gold in load_gold(gold_dir):
        if subset and gold.get("split", "dev") != subset:
            continue
        path = index.get(gold["sha256"])
        if path is None:
            continue
        score_letter(parse(path, backend=backend, themes=False), gold, report)
    if not report.per_document:
        raise ValueError(f"none of the gold documents in {gold_dir} was found in {corpus}: nothing to score")
    return report
