"""How corpus5 was split (session 7, the coordinator's script, kept as it ran).

styles/*.yaml (written and labelled blind, source styles-5): per (family, kind) group, rows sorted by id and shuffled
with one seeded generator; about half of each group sealed, the rest tune. fresh/*.yaml (fresh-5, a typical mix) and
real/labels-a.yaml (real SmolLM2 answers of real/answers.yaml, first labeller) are sealed whole; real/labels-b.yaml
(second labeller) goes to second/sealed/. Ordering labels written as 'a < b < c' (or 'c > b > a') become lists of the
options, smallest first; ordering rows get `direction: ascending` (every question asked ascending)."""

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
    if row["ask"] == "order":
        row.setdefault("direction", "ascending")
        if isinstance(label, str) and label != "unclear":
            if " > " in label:
                row["label"] = [part.strip() for part in label.split(" > ")][::-1]
            else:
                row["label"] = [part.strip() for part in label.split(" < ")]
        if isinstance(row["label"], list):
            assert sorted(row["label"]) == sorted(str(n) for n in row["numbers"]), (row["id"], label)


def _load(paths: list[Path]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for path in paths:
        for row in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
            _as_list(row)
            rows.append(row)
    ids = [row["id"] for row in rows]
    assert len(set(ids)) == len(ids), [i for i in ids if ids.count(i) > 1]
    return rows


def _merge_real(labels: Path) -> list[dict[str, Any]]:
    answers = {row["id"]: row for row in yaml.safe_load((HERE / "real" / "answers.yaml").read_text(encoding="utf-8"))}
    rows = []
    for lab in yaml.safe_load(labels.read_text(encoding="utf-8")):
        row = dict(answers[lab["id"]])
        row.update({k: lab.get(k, "" if k == "note" else None) for k in ("label", "doubtful", "note")})
        row["patterns"] = lab.get("patterns") or []
        _as_list(row)
        rows.append(row)
    return rows


def _write(split: str, name: str, rows: list[dict[str, Any]]) -> None:
    for order in (False, True):
        chosen = sorted((r for r in rows if (r["ask"] == "order") == order), key=lambda r: r["id"])
        if not chosen:
            continue
        (HERE / "out" / split).mkdir(parents=True, exist_ok=True)
        target = HERE / "out" / split / (f"{name}-order.yaml" if order else f"{name}.yaml")
        target.write_text(yaml.safe_dump(chosen, allow_unicode=True, sort_keys=False, width=120), encoding="utf-8")
        print(split, target.name, len(chosen), file=sys.stderr)


def main() -> None:
    rng = random.Random(20261207)
    styles = _load(sorted((HERE / "styles").glob("*.yaml")))
    groups: dict[tuple[str, bool], list[dict[str, Any]]] = defaultdict(list)
    for row in styles:
        groups[(str(row.get("family")), row["ask"] == "order")].append(row)
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for _, group in sorted(groups.items()):
        group = sorted(group, key=lambda row: row["id"])
        rng.shuffle(group)
        sealed = len(group) // 2 + (len(group) % 2 and rng.random() < 0.5)
        for index, row in enumerate(group):
            out["sealed" if index < sealed else "tune"].append(row)
    for split, rows in out.items():
        _write(split, "styles5", rows)
    if (HERE / "fresh").exists():
        _write("sealed", "fresh5", _load(sorted((HERE / "fresh").glob("f5-*.yaml"))))
    if (HERE / "real" / "labels-a.yaml").exists():
        _write("sealed", "live5", _merge_real(HERE / "real" / "labels-a.yaml"))
    if (HERE / "real" / "labels-b.yaml").exists():
        _write("second-sealed", "live5", _merge_real(HERE / "real" / "labels-b.yaml"))


if __name__ == "__main__":
    main()
