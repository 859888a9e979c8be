"""How corpus3 was split into tune/ and sealed/ halves (kept as it ran in session 5, on the labellers' batch files,
which lived outside the repository: ``styles/*.yaml`` and ``real/*.yaml`` beside this script).

Per (family, kind) group, rows sorted by id and shuffled with one seeded generator; about half of each group sealed.
Ordering labels written as ``'a < b < c'`` (or ``'c > b > a'``) became lists of the options, smallest first."""

from __future__ import annotations

import random
from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).parent


def _as_list(row: dict[str, Any]) -> None:
    if row["ask"] == "order" and isinstance(row["label"], str) and row["label"] != "unclear":
        text = row["label"]
        if " > " in text:
            row["label"] = [part.strip() for part in text.split(" > ")][::-1]
        else:
            row["label"] = [part.strip() for part in text.split(" < ")]
        assert all(part in [str(n) for n in row["numbers"]] for part in row["label"]), (row["id"], text)


def main() -> None:
    rows: dict[str, list[dict[str, Any]]] = {"styles3": [], "live3": []}
    for name, sub in (("styles3", "styles"), ("live3", "real")):
        for path in sorted((HERE / sub).glob("*.yaml")):
            for row in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
                _as_list(row)
                rows[name].append(row)
    rng = random.Random(20261202 + 3)
    for name, found in rows.items():
        assert len({row["id"] for row in found}) == len(found)
        groups: dict[tuple[Any, bool], list[dict[str, Any]]] = defaultdict(list)
        for row in found:
            groups[(row.get("family"), row["ask"] == "order")].append(row)
        out: dict[tuple[str, bool], list[dict[str, Any]]] = defaultdict(list)
        for (_, order), group in sorted(groups.items(), key=lambda kv: (str(kv[0][0]), kv[0][1])):
            group = sorted(group, key=lambda row: row["id"])
            rng.shuffle(group)
            sealed = len(group) // 2 + (len(group) % 2 and rng.random() < 0.5)
            for index, row in enumerate(group):
                out[("sealed" if index < sealed else "tune", order)].append(row)
        for (split, order), chosen in out.items():
            (HERE / split).mkdir(exist_ok=True)
            chosen.sort(key=lambda row: row["id"])
            target = HERE / split / (f"{name}-order.yaml" if order else f"{name}.yaml")
            target.write_text(yaml.safe_dump(chosen, allow_unicode=True, sort_keys=False, width=120), encoding="utf-8")
            print(split, target.name, len(chosen))


if __name__ == "__main__":
    main()
