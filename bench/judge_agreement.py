"""How often the answer judge agrees with blind human labels, per labelled set.

The sets live in ``tests/data/judge/`` (see its README): ``tune/`` and ``retired/`` (sealed sets measured so often
that they were retired to tuning) may be read while changing the judge, ``sealed/`` must not be. By default this
prints, for every set, agreement, false passes (the judge says "correct" where the label is another option or
unclear), false fails and correct answers left unparsed; for the tune/ and retired/ sets also per pattern and
every disagreement (``--show``). For the sealed sets it prints totals only, so
running it while tuning leaks no single answer.

    python bench/judge_agreement.py [--show] [--table] [--without-doubtful] [--sealed-patterns] [--second DIR]

``--table`` adds the original hand-labelled table (``tests/data/answers.yaml``). ``--json`` prints the figures
as JSON (for notes). The exit code is 0; the figures are the result.

A set may have a second labeller's file, ``DIR/<split>/<set>.yaml`` (``--second``, by default
``tests/data/judge/second``): rows of ``id``, ``label``, ``doubtful``, ``note``, labelled blind like the first.
For such a set the script adds the judge's agreement with each labeller on the rows both labelled, how often the
labellers agree (raw, and Cohen's kappa over the label's place: 1st option, 2nd, ..., equal, unclear; computed
by scikit-learn, ``pip install scikit-learn``), and the judge's agreement and false passes on the consensus rows
(the two labels agree).

The judge's time is the mean over every answer after one warm-up call (which compiles the lexer, once per
process), in process CPU time: on a shared machine wall time mostly measures waiting for a core.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pytest_llmcmp.answers import extract_choice  # noqa: E402
from pytest_llmcmp.truth import NumberError, expected_answer  # noqa: E402

DATA = ROOT / "tests" / "data" / "judge"
UNCLEAR = "unclear"


@dataclass
class Tally:
    """The figures of one labelled set (or one pattern within it)."""

    total: int = 0
    agree: int = 0
    false_pass: int = 0
    false_fail: int = 0
    correct_labels: int = 0
    correct_unparsed: int = 0
    misses: list[tuple[dict[str, Any], str | None]] = field(default_factory=list)

    def add(self, entry: dict[str, Any], got: str | None) -> None:
        want = None if entry["label"] == UNCLEAR else entry["label"]
        try:
            truth: str | None = expected_answer(entry["numbers"], entry["ask"])
        except NumberError:  # the old table has a few entries no case file can hold (mixed units)
            truth = None
        self.total += 1
        if got == want:
            self.agree += 1
        else:
            self.misses.append((entry, got))
        if truth is not None and got == truth and want != truth:
            self.false_pass += 1
        if truth is not None and want == truth:
            self.correct_labels += 1
            if got != truth:
                self.false_fail += 1
            if got is None:
                self.correct_unparsed += 1

    def line(self, name: str) -> str:
        rate = self.agree / self.total if self.total else 0.0
        unparsed = self.correct_unparsed / self.correct_labels if self.correct_labels else 0.0
        return (
            f"{name:<28} {self.total:>5}  agree {rate:6.1%}  false passes {self.false_pass:>3}"
            f"  false fails {self.false_fail:>3}  correct-but-unparsed {unparsed:5.1%}"
        )

    def figures(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "agree": self.agree,
            "agreement": round(self.agree / self.total, 4) if self.total else None,
            "false_passes": self.false_pass,
            "false_fails": self.false_fail,
            "correct_unparsed": self.correct_unparsed,
            "correct_labels": self.correct_labels,
        }


def load_set(path: Path) -> list[dict[str, Any]]:
    """One labelled set: a YAML list of entries with at least numbers, ask, answer and label."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when PyYAML has it: 10x faster
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)  # a safe loader either way
    return list(data)


def table_entries() -> list[dict[str, Any]]:
    """The original table, in the corpus' terms (its null choice is the label ``unclear``)."""
    table = yaml.safe_load((ROOT / "tests" / "data" / "answers.yaml").read_text(encoding="utf-8"))["entries"]
    return [
        {**e, "label": UNCLEAR if e["choice"] is None else e["choice"], "patterns": e.get("tags", [])} for e in table
    ]


def measure(entries: list[dict[str, Any]], without_doubtful: bool) -> tuple[Tally, dict[str, Tally], float]:
    total = Tally()
    patterns: dict[str, Tally] = defaultdict(Tally)
    seconds = 0.0
    extract_choice("13.8 or 13.11", ["13.8", "13.11"], "larger")  # warm-up: the lexer is compiled on first use
    for entry in entries:
        if without_doubtful and entry.get("doubtful"):
            continue
        started = time.process_time()
        got = extract_choice(
            entry["answer"], entry["numbers"], entry["ask"], entry.get("finish_reason"), question=entry.get("question")
        ).choice
        seconds += time.process_time() - started
        total.add(entry, got)
        for pattern in entry.get("patterns") or ["(none)"]:
            patterns[pattern].add(entry, got)
    return total, patterns, seconds


@dataclass
class Labellers:
    """A set measured against two labellers, on the rows both labelled."""

    rows: int = 0
    first: Tally = field(default_factory=Tally)  # the judge against labeller 1
    second: Tally = field(default_factory=Tally)  # the judge against labeller 2
    labels_agree: int = 0
    consensus: Tally = field(default_factory=Tally)  # the judge on the rows where both labels agree
    places: tuple[list[str], list[str]] = field(default_factory=lambda: ([], []))  # each labeller's, by row

    @property
    def kappa(self) -> float | None:
        """Cohen's kappa of the two labellings (scikit-learn's), None without rows."""
        return cohen_kappa(*self.places) if self.rows else None

    def lines(self) -> list[str]:
        agree = self.labels_agree / self.rows if self.rows else 0.0
        kappa = "n/a" if self.kappa is None else f"{self.kappa:.3f}"
        return [
            f"  second labels: {self.rows} rows labelled by both; labellers agree {agree:.1%}, Cohen's kappa {kappa}",
            "  " + self.first.line("judge vs labeller 1"),
            "  " + self.second.line("judge vs labeller 2"),
            "  " + self.consensus.line(f"consensus ({self.consensus.total} rows)"),
        ]

    def figures(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "labellers_agree": self.labels_agree,
            "labeller_agreement": round(self.labels_agree / self.rows, 4) if self.rows else None,
            "cohen_kappa": None if self.kappa is None else round(self.kappa, 4),
            "judge_vs_labeller_1": self.first.figures(),
            "judge_vs_labeller_2": self.second.figures(),
            "consensus": self.consensus.figures(),
        }


def _place(entry: dict[str, Any], label: str) -> str:
    """A label as a category that means the same on every row: the option's place, "equal" or "unclear"."""
    numbers = [str(number) for number in entry["numbers"]]
    return f"option {numbers.index(label) + 1}" if label in numbers else label


def cohen_kappa(first: list[str], second: list[str]) -> float:
    """Cohen's kappa of two labellings (scikit-learn's, imported only when a second labeller's file exists)."""
    try:
        from sklearn.metrics import cohen_kappa_score
    except ImportError:
        raise SystemExit("second labels: Cohen's kappa needs scikit-learn (pip install scikit-learn)") from None
    return float(cohen_kappa_score(first, second))


def compare_labellers(entries: list[dict[str, Any]], second: dict[str, dict[str, Any]]) -> Labellers:
    """The judge against both labellers, on the rows of ``entries`` that ``second`` (by id) labelled too."""
    result = Labellers()
    firsts, seconds = result.places
    for entry in entries:
        other = second.get(entry["id"])
        if other is None:
            continue
        got = extract_choice(
            entry["answer"], entry["numbers"], entry["ask"], entry.get("finish_reason"), question=entry.get("question")
        ).choice
        again = {**entry, "label": str(other["label"]), "doubtful": bool(other.get("doubtful"))}
        result.rows += 1
        result.first.add(entry, got)
        result.second.add(again, got)
        firsts.append(_place(entry, entry["label"]))
        seconds.append(_place(entry, again["label"]))
        if entry["label"] == again["label"]:
            result.labels_agree += 1
            result.consensus.add(entry, got)
    return result


def load_second(directory: Path, name: str) -> dict[str, dict[str, Any]] | None:
    """The second labeller's rows of set ``name`` ("tune/smollm2"), by id; None when there is no such file."""
    path = directory / f"{name}.yaml"
    if not path.is_file():
        return None
    rows = load_set(path)
    for row in rows:
        if not isinstance(row, dict) or "id" not in row or "label" not in row:
            raise SystemExit(f"{path}: every row needs an id and a label (got {row!r})")
    return {str(row["id"]): row for row in rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show", action="store_true", help="print every disagreement of the tune/ and retired/ sets")
    parser.add_argument("--table", action="store_true", help="also measure tests/data/answers.yaml")
    parser.add_argument("--without-doubtful", action="store_true", help="leave out labels marked doubtful")
    parser.add_argument("--sealed-patterns", action="store_true", help="per-pattern figures of the sealed sets too")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument(
        "--second",
        type=Path,
        default=DATA / "second",
        metavar="DIR",
        help="a second labeller's files, DIR/<split>/<set>.yaml (default: tests/data/judge/second)",
    )
    args = parser.parse_args()

    sets: list[tuple[str, list[dict[str, Any]], bool]] = []
    if args.table:
        sets.append(("table", table_entries(), False))
    for split in ("tune", "retired", "sealed"):
        for path in sorted((DATA / split).glob("*.yaml")):
            sets.append((f"{split}/{path.stem}", load_set(path), split == "sealed"))

    report: dict[str, Any] = {}
    overall = Tally()
    timing = [0.0, 0]
    for name, entries, sealed in sets:
        total, patterns, seconds = measure(entries, args.without_doubtful)
        timing[0] += seconds
        timing[1] += total.total
        report[name] = {"all": total.figures()}
        if not args.json:
            print(total.line(name))
        second = load_second(args.second, name) if name != "table" else None
        if second is not None:
            labellers = compare_labellers(entries, second)
            report[name]["second_labels"] = labellers.figures()
            if not args.json:
                print("\n".join(labellers.lines()))
        if name != "table":
            for attribute in ("total", "agree", "false_pass", "false_fail", "correct_labels", "correct_unparsed"):
                setattr(overall, attribute, getattr(overall, attribute) + getattr(total, attribute))
        if sealed and not args.sealed_patterns:
            continue
        report[name]["patterns"] = {p: t.figures() for p, t in sorted(patterns.items())}
        if not args.json:
            for pattern, tally in sorted(patterns.items()):
                print("  " + tally.line(pattern))
            if args.show and not sealed:
                for entry, got in total.misses:
                    print(
                        f"\n--- {entry['id']}  label {entry['label']!r}  judge {got!r}"
                        f"  {entry['numbers']} {entry['ask']}"
                    )
                    print(entry["answer"].rstrip())
    report["corpus (all sets)"] = {"all": overall.figures()}
    ms = 1000 * timing[0] / timing[1] if timing[1] else 0.0
    report["ms_per_answer"] = round(ms, 3)
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        print(overall.line("corpus (all sets)"))
        print(f"judge time: {ms:.3f} ms per answer (CPU, mean over {timing[1]} answers after a warm-up, this process)")
    if not DATA.is_dir():
        print(f"no corpus at {DATA}", file=sys.stderr)


if __name__ == "__main__":
    main()
