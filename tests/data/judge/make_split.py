"""Build the judge corpus from the labellers' files and split it, once, into tune/ and sealed/.

    python tests/data/judge/make_split.py SOURCE_DIR

SOURCE_DIR holds what the labellers wrote (see README.md here): ``styles-*.yaml`` (answers written and labelled
in the styles of model families) and ``smollm2-unlabelled-*.yaml`` + ``smollm2-labels-*.yaml`` (real answers of
the shipped recordings, labelled blind). Every entry is checked (numbers parse, the label is an option as written,
``equal`` or ``unclear``, ids unique). A fixed seed draws SEALED_SHARE of each source, per family, into sealed/.
"""

from __future__ import annotations

import random
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent.parent))

from pytest_llmcmp.truth import NumberError, expected_answer  # noqa: E402

SEED = 20261201
SEALED_SHARE = 0.35
KEYS = ("id", "source", "family", "lang", "category", "numbers", "ask", "question", "finish_reason", "answer")
LABEL_KEYS = ("label", "doubtful", "note", "patterns")


def _check(entry: dict[str, Any], where: str) -> bool:
    """Whether the entry can be a case (its numbers compare); a malformed entry stops the build."""
    numbers = entry["numbers"]
    if not (isinstance(numbers, list) and all(isinstance(n, str) for n in numbers)):
        raise SystemExit(f"{where}: numbers must be strings")
    try:
        expected_answer(numbers, entry["ask"])
    except NumberError as exc:  # no case file can hold it (e.g. mixed units): nothing to judge
        print(f"left out {where}: {exc}")
        return False
    if entry["label"] not in [*numbers, "equal", "unclear"]:
        raise SystemExit(f"{where}: label {entry['label']!r} is not an option, equal or unclear")
    if not isinstance(entry["answer"], str):
        raise SystemExit(f"{where}: answer is not text")
    return True


def _ordered(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: entry[k] for k in (*KEYS, *LABEL_KEYS) if entry.get(k) not in (None, [], "")}


def styles(source: Path) -> list[dict[str, Any]]:
    entries = []
    for path in sorted(source.glob("styles-*.yaml")):
        for entry in yaml.safe_load(path.read_text(encoding="utf-8")):
            entry = {**entry, "source": path.stem, "label": str(entry["label"])}
            if _check(entry, f"{path.name}:{entry['id']}"):
                entries.append(_ordered(entry))
    return entries


def smollm2(source: Path) -> list[dict[str, Any]]:
    entries = []
    for part in sorted(source.glob("smollm2-unlabelled-*.yaml")):
        suffix = part.stem.rsplit("-", 1)[1]
        labels = {e["id"]: e for e in yaml.safe_load((source / f"smollm2-labels-{suffix}.yaml").read_text("utf-8"))}
        for entry in yaml.safe_load(part.read_text(encoding="utf-8")):
            label = labels.get(entry["id"])
            if label is None:
                raise SystemExit(f"{part.name}: {entry['id']} has no label")
            prompt = entry["id"].rsplit("::", 1)[1]
            patterns = [f"prompt-{prompt}"] + (["truncated"] if entry["finish_reason"] == "length" else [])
            entry = {
                **entry,
                "source": "smollm2",
                "family": "smollm2-135m",
                "label": str(label["label"]),
                "doubtful": bool(label.get("doubtful", False)),
                "note": label.get("note"),
                "patterns": patterns,
            }
            if _check(entry, f"{part.name}:{entry['id']}"):
                entries.append(_ordered(entry))
    return entries


class _Dumper(yaml.SafeDumper):
    pass


def _text(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    if "\n" in data:  # the emitter falls back to a quoted style where a block scalar cannot hold the text
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


_Dumper.add_representer(str, _text)


def write(path: Path, entries: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.dump(entries, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=1000)
    assert yaml.safe_load(text) == entries, f"{path}: the YAML does not read back the same"
    path.write_text(text, encoding="utf-8")


def split(name: str, entries: list[dict[str, Any]]) -> None:
    ids = [e["id"] for e in entries]
    if len(set(ids)) != len(ids):
        raise SystemExit(f"{name}: duplicate ids")
    by_family: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for entry in entries:
        by_family[entry.get("family", "")].append(entry)
    rng = random.Random(f"{SEED}-{name}")
    sealed_ids: set[str] = set()
    for family in sorted(by_family):
        members = sorted(e["id"] for e in by_family[family])
        sealed_ids.update(rng.sample(members, round(SEALED_SHARE * len(members))))
    write(HERE / "tune" / f"{name}.yaml", [e for e in entries if e["id"] not in sealed_ids])
    write(HERE / "sealed" / f"{name}.yaml", [e for e in entries if e["id"] in sealed_ids])
    print(f"{name}: {len(entries)} entries, {len(sealed_ids)} sealed")


def main() -> None:
    source = Path(sys.argv[1])
    split("styles", styles(source))
    split("smollm2", smollm2(source))


if __name__ == "__main__":
    main()
