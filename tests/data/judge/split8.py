"""How corpus8 was split (session 10, the coordinator's script, kept as it ran).

Nothing of corpus8 is handed to anyone changing the judge in session 10: styles/*.yaml (written and labelled blind,
source styles-8, hard forms), fresh/*.yaml (fresh-8, a typical mix) and real/answers.yaml (real SmolLM2 answers,
source smollm2-live-8) with the first labeller's labels (real/labels-a*.yaml) are each sealed WHOLE; the second
labellers' files (second/styles8.yaml, second/fresh8.yaml, real/labels-b*.yaml) go to second/sealed/. Ordering labels
are converted as in split5.py (lists of the options, smallest first). It ran in the corpus directory /work/corpus8,
beside the coordinator's merge worktree /work/wt/me whose split5.py it imports."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "wt" / "me" / "tests" / "data" / "judge"))
from split5 import _as_list, _load  # the same label conversion as corpus5

HERE = Path(__file__).parent


def _read(path: Path) -> list[dict[str, Any]]:
    return yaml.safe_load(path.read_text(encoding="utf-8")) or []


def _merge_real(pattern: str) -> list[dict[str, Any]]:
    answers = {row["id"]: row for row in _read(HERE / "real" / "answers.yaml")}
    rows = []
    for path in sorted((HERE / "real").glob(pattern)):
        for lab in _read(path):
            row = dict(answers[lab["id"]])
            row.update({k: lab.get(k, "" if k == "note" else None) for k in ("label", "doubtful", "note")})
            row["patterns"] = lab.get("patterns") or []
            _as_list(row)
            rows.append(row)
    ids = [row["id"] for row in rows]
    assert len(set(ids)) == len(ids)
    return rows


def _second(path: Path, name: str) -> list[dict[str, Any]]:
    asked = {row["id"]: row for row in _read(HERE / "second" / f"{name}-input.yaml")}
    rows = []
    for lab in _read(path):
        labels = {k: lab.get(k, "" if k == "note" else None) for k in ("label", "doubtful", "note")}
        row = {**asked[lab["id"]], **labels}
        _as_list(row)
        rows.append({k: row[k] for k in ("id", "label", "doubtful", "note")})
    return rows


def _write(split: str, name: str, rows: list[dict[str, Any]]) -> None:
    for order in (False, True):
        chosen = sorted((r for r in rows if (r.get("ask") == "order") == order), key=lambda r: r["id"])
        if split == "second-sealed":  # second labellers' rows carry no ask: orderings have ids with "o-"
            chosen = sorted((r for r in rows if ("o-" in r["id"]) == order), key=lambda r: r["id"])
        if not chosen:
            continue
        (HERE / "out" / split).mkdir(parents=True, exist_ok=True)
        target = HERE / "out" / split / (f"{name}-order.yaml" if order else f"{name}.yaml")
        target.write_text(yaml.safe_dump(chosen, allow_unicode=True, sort_keys=False, width=120), encoding="utf-8")
        print(split, target.name, len(chosen), file=sys.stderr)


def main() -> None:
    _write("sealed", "styles8", _load(sorted((HERE / "styles").glob("batch-*.yaml"))))
    _write("sealed", "fresh8", _load(sorted((HERE / "fresh").glob("f8-*.yaml"))))
    if list((HERE / "real").glob("labels-a*.yaml")):
        _write("sealed", "live8", _merge_real("labels-a*.yaml"))
    if list((HERE / "real").glob("labels-b*.yaml")):
        _write("second-sealed", "live8", _merge_real("labels-b*.yaml"))
    for name in ("styles8", "fresh8"):
        if (HERE / "second" / f"{name}.yaml").exists():
            _write("second-sealed", name, _second(HERE / "second" / f"{name}.yaml", name))


if __name__ == "__main__":
    main()
