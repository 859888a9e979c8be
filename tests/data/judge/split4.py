"""How corpus4 was split into tune/ and sealed/ halves (session 6, the coordinator's script, kept as it ran).

styles/*.yaml (written and labelled blind, source styles-4) and real/labels-a.yaml (real SmolLM2 answers of
real/answers.yaml labelled blind by a first labeller; real/labels-b.yaml is a second labeller's, kept for
second/). Per (family or system prompt, kind) group, rows sorted by id and shuffled with one seeded generator;
about half of each group sealed. Ordering labels written as 'a < b < c' (or 'c > b > a') become lists of the
options, smallest first."""

from __future__ import annotations

import random
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).parent


def _as_list(row: dict[str, Any]) -> None:
    label = row.get("label")
    if row["ask"] == "order" and isinstance(label, str) and label != "unclear":
        if " > " in label:
            row["label"] = [part.strip() for part in label.split(" > ")][::-1]
        else:
            row["label"] = [part.strip() for part in label.split(" < ")]
    if row["ask"] == "order" and isinstance(row["label"], list):
        assert sorted(row["label"]) == sorted(str(n) for n in row["numbers"]), (row["id"], label)


def _load(paths: list[Path]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for path in paths:
        for row in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
            _as_list(row)
            rows.append(row)
    return rows


def main() -> None:
    sets = {"styles4": _load(sorted((HERE / "styles").glob("*.yaml")))}
    if (HERE / "real" / "labels-a.yaml").exists():
        sets["live4"] = _load([HERE / "real" / "labels-a.yaml"])
    rng = random.Random(20261206)
    for name, found in sets.items():
        ids = [row["id"] for row in found]
        assert len(set(ids)) == len(ids), [i for i in ids if ids.count(i) > 1]
        groups: dict[tuple[str, bool], list[dict[str, Any]]] = defaultdict(list)
        for row in found:
            key = row.get("family") if name == "styles4" else str(row.get("system"))
            groups[(str(key), row["ask"] == "order")].append(row)
        out: dict[tuple[str, bool], list[dict[str, Any]]] = defaultdict(list)
        for _, group in sorted(groups.items()):
            group = sorted(group, key=lambda row: row["id"])
            rng.shuffle(group)
            sealed = len(group) // 2 + (len(group) % 2 and rng.random() < 0.5)
            for index, row in enumerate(group):
                out[("sealed" if index < sealed else "tune", group[0]["ask"] == "order")].append(row)
        for (split, order), chosen in sorted(out.items()):
            (HERE / split).mkdir(exist_ok=True)
            chosen.sort(key=lambda row: row["id"])
            target = HERE / split / (f"{name}-order.yaml" if order else f"{name}.yaml")
            target.write_text(yaml.safe_dump(chosen, allow_unicode=True, sort_keys=False, width=120), encoding="utf-8")
            print(split, target.name, len(chosen), file=sys.stderr)


if __name__ == "__main__":
    main()
