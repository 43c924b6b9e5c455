"""How far two careful labellers agree on the corpus: the ceiling of any classifier's figures.

    .venv/bin/python tools/label_agreement.py

``tests/data/agreement/second_annotator.csv`` holds a second, blind labelling (``id,reason``)
of 300 rows drawn at random from the test half of ``tests/data/corpus`` (seed 20261206): the
annotator saw the channel, code, message and HTTP status, and the reason definitions of
docs/taxonomy.md, not the corpus labels, the rules or txdiag's answers. Its answers are judged
exactly as txdiag's are (``txdiag.accuracy.judge``: the label or an accepted alternative is
right), and txdiag's own answers on the same rows are shown beside them.
"""

from __future__ import annotations

import csv
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from txdiag.accuracy import judge, read_corpus, score  # noqa: E402
from txdiag.classify import Classifier  # noqa: E402
from txdiag.rulebook import load_rulebook  # noqa: E402

SECOND = ROOT / "tests" / "data" / "agreement" / "second_annotator.csv"
CORPUS = sorted((ROOT / "tests" / "data" / "corpus").glob("*.csv"))


def main() -> None:
    with SECOND.open(encoding="utf-8", newline="") as handle:
        second = {row["id"]: row["reason"] for row in csv.DictReader(handle)}
    rows = {row.where.rsplit("/", 1)[-1]: row for row in read_corpus(CORPUS)}
    sample = [rows[key] for key in second if key in rows]
    if len(sample) != len(second):
        missing = sorted(set(second) - set(rows))
        raise SystemExit(f"{len(missing)} ids not in the corpus (edited?): {missing[:5]}")
    annotator = Counter(judge(row, second[row.where.rsplit("/", 1)[-1]]) for row in sample)
    txdiag = Counter(s.outcome for s in score(Classifier(load_rulebook()), sample))
    n = len(sample)
    print(f"{n} test-half rows, labelled twice")
    for name, counts in (("second annotator", annotator), ("txdiag", txdiag)):
        print(f"  {name:17} right {counts['right'] / n:6.1%}   confidently wrong "
              f"{counts['wrong'] / n:5.1%}   unknown {counts['unknown'] / n:5.1%}")


if __name__ == "__main__":
    main()
