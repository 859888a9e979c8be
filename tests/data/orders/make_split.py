"""Built tests/data/orders.yaml (tune) and tests/data/orders_sealed.yaml (sealed) once, from the labellers' files.

The labels were written before any reader ran on the answers. 35% of the rows, drawn at random with a fixed seed,
went to the sealed split, which nobody changing ``pytest_llmcmp/orderings.py`` opens. Kept to show how the split
was made; running it again needs the labellers' files (``raw_part*.yaml``, in the history of the commit that
added them).
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
SEED = 15
SEALED_SHARE = 0.35
QUESTIONS = {
    ("zh", "ascending"): "把下列数从小到大排列：{}",
    ("zh", "descending"): "把下列数从大到小排列：{}",
    ("en", "ascending"): "Sort from smallest to largest: {}",
    ("en", "descending"): "Sort from largest to smallest: {}",
}


def _block(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style="|" if "\n" in text else None)


yaml.SafeDumper.add_representer(str, _block)


def main() -> int:
    rows = []
    for path in sorted(HERE.glob("raw_part*.yaml")):
        for row in yaml.safe_load(path.read_text(encoding="utf-8")):
            lang = row.pop("lang")
            question = QUESTIONS[lang, row["direction"]].format(", ".join(row["numbers"]))
            entry = {"id": row.pop("id"), "family": row.pop("family"), "lang": lang, "numbers": row.pop("numbers")}
            entry |= {"ask": "order", "direction": row.pop("direction"), "question": question}
            entry |= row
            rows.append(entry)
    if not rows:
        print("no raw_part*.yaml here", file=sys.stderr)
        return 1
    order = list(range(len(rows)))
    random.Random(SEED).shuffle(order)
    sealed_ids = set(order[: round(len(rows) * SEALED_SHARE)])
    tune = [row for index, row in enumerate(rows) if index not in sealed_ids]
    sealed = [row for index, row in enumerate(rows) if index in sealed_ids]
    header = "# Blind-labelled order answers ({} split, {} rows); see tests/data/orders/README.md.\n"
    for name, split, part in (("orders.yaml", "tune", tune), ("orders_sealed.yaml", "sealed", sealed)):
        text = yaml.safe_dump(part, allow_unicode=True, sort_keys=False, width=120)
        (HERE.parent / name).write_text(header.format(split, len(part)) + text, encoding="utf-8")
    print(f"{len(tune)} tune, {len(sealed)} sealed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
