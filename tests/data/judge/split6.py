"""How corpus6 was split (session 8, the coordinator's script, kept as it ran).

styles/*.yaml (written and labelled blind, source styles-6): per (family, kind) group, rows sorted by id and shuffled
with one seeded generator; about half of each group sealed, the rest tune. fresh/*.yaml (fresh-6, a typical mix) is
sealed whole; real/answers.yaml (real SmolLM2 answers, source smollm2-live-6) with the first labeller's labels
(real/labels-a*.yaml) is sealed whole as live6, the second labeller's (real/labels-b*.yaml) go to second/sealed/.
Ordering labels are converted as in split5.py (lists of the options, smallest first). It ran in the corpus directory
/work/corpus6, beside the checkout /work/main whose split5.py it imports."""

from __future__ import annotations

import random
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "main" / "tests" / "data" / "judge"))
from split5 import _as_list, _load  # the same label conversion as corpus5

HERE = Path(__file__).parent


def _merge_real(pattern: str) -> list[dict[str, Any]]:
    answers = {row["id"]: row for row in yaml.safe_load((HERE / "real" / "answers.yaml").read_text(encoding="utf-8"))}
    rows = []
    for path in sorted((HERE / "real").glob(pattern)):
        for lab in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
            row = dict(answers[lab["id"]])
            row.update({k: lab.get(k, "" if k == "note" else None) for k in ("label", "doubtful", "note")})
            row["patterns"] = lab.get("patterns") or []
            _as_list(row)
            rows.append(row)
    ids = [row["id"] for row in rows]
    assert len(set(ids)) == len(ids)
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
    rng = random.Random(20261208)
    styles = _load(sorted((HERE / "styles").glob("batch-*.yaml")))
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
        _write(split, "styles6", rows)
    if (HERE / "fresh").exists():
        _write("sealed", "fresh6", _load(sorted((HERE / "fresh").glob("f6-*.yaml"))))
    if list((HERE / "real").glob("labels-a*.yaml")):
        _write("sealed", "live6", _merge_real("labels-a*.yaml"))
    if list((HERE / "real").glob("labels-b*.yaml")):
        _write("second-sealed", "live6", _merge_real("labels-b*.yaml"))


if __name__ == "__main__":
    main()
