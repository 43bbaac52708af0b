"""Per-theme Cohen's kappa between the main labels (part*.csv) and the second coder (double_b.csv)."""

import csv
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from letterparse.train import THEMES  # noqa: E402

LABELS = Path(__file__).resolve().parents[1] / "corpora" / "labels"


def kappa(x: list[bool], y: list[bool]) -> float:
    n = len(x)
    po = sum(i == j for i, j in zip(x, y)) / n
    p1, p2 = sum(x) / n, sum(y) / n
    pe = p1 * p2 + (1 - p1) * (1 - p2)
    return (po - pe) / (1 - pe) if pe < 1 else 1.0


def main() -> None:
    a = {}
    for p in sorted(LABELS.glob("part*.csv")):
        for r in csv.DictReader(p.open(encoding="utf-8")):
            a[(r["sha256"], r["finding_id"])] = r
    b = {(r["sha256"], r["finding_id"]): r for r in csv.DictReader((LABELS / "double_b.csv").open(encoding="utf-8"))}
    keys = sorted(k for k in b if k in a)
    print(f"{len(keys)} findings labelled twice\n\n| theme | kappa | coder A | coder B |\n|---|---|---|---|")
    ks = []
    for t in THEMES:
        x = [t in a[k]["themes"].split(";") for k in keys]
        y = [t in b[k]["themes"].split(";") for k in keys]
        ks.append(kappa(x, y))
        print(f"| {t} | {ks[-1]:.2f} | {sum(x)} | {sum(y)} |")
    pol = sum(a[k]["polarity"] == b[k]["polarity"] for k in keys) / len(keys)
    print(f"\nmean kappa {statistics.mean(ks):.2f}; polarity agreement {pol:.2f}")


if __name__ == "__main__":
    main()
