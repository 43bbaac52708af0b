"""Per-theme Cohen's kappa between the main labels (part*.csv) and the second reader (double_b.csv).

The figures are ``letterparse.train.agreement``, which ``letterparse train`` writes into
the model card; this prints them as a table.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from letterparse.train import agreement  # noqa: E402

LABELS = Path(__file__).resolve().parents[1] / "corpora" / "labels"


def main() -> None:
    a = agreement(LABELS)
    print(f"{a['findings']} findings labelled twice\n\n| theme | kappa | reader A | reader B |\n|---|---|---|---|")
    for t, v in a["per_theme"].items():
        k = "" if v["kappa"] is None else f"{v['kappa']:.2f}"
        print(f"| {t} | {k} | {v['reader_a']} | {v['reader_b']} |")
    print(f"\nmean kappa {a['mean_kappa']:.2f}; micro-F1 between readers {a['micro_f1']:.3f}; "
          f"polarity agreement {a['polarity_agreement']:.2f}")


if __name__ == "__main__":
    main()
