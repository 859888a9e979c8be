"""How often the order reader agrees with hand-labelled answers, per file.

    python bench/order_agreement.py [PATH ...] [--show] [--json]

Each PATH is a YAML list of rows: ``id``, ``numbers``, ``ask: order``, ``direction`` (ascending|descending),
``question``, ``answer``, ``label`` (the ordering the answer states as its final answer, as the option strings
smallest first, or ``unclear``), optional ``doubtful`` and ``note``. Without PATH: ``tests/data/orders.yaml``,
``tests/data/orders_sealed.yaml`` and ``tests/data/orders/blind-tune.yaml``. For every file it prints agreement,
agreement without doubtful rows, and **false passes**: the reader returns the true order (the options sorted by
value) where the label is ``unclear`` or another order. ``--show`` lists the disagreements of files whose name does
not contain "sealed" (a sealed file is reported in totals only). The exit code is 0 unless a file cannot be read;
the figures are the result.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pytest_llmcmp.orderings import read_order  # noqa: E402
from pytest_llmcmp.truth import try_parse  # noqa: E402

DEFAULT = (
    ROOT / "tests" / "data" / "orders.yaml",
    ROOT / "tests" / "data" / "orders_sealed.yaml",
    ROOT / "tests" / "data" / "orders" / "blind-tune.yaml",
)
UNCLEAR = "unclear"


@dataclass
class Tally:
    total: int = 0
    agree: int = 0
    certain: int = 0
    certain_agree: int = 0
    false_pass: int = 0
    seconds: float = 0.0
    misses: list[tuple[dict[str, Any], str]] = field(default_factory=list)

    def line(self, name: str) -> str:
        def share(part: int, whole: int) -> str:
            return f"{part}/{whole} ({100 * part / whole:.1f}%)" if whole else "0/0"

        per_answer = 1000 * self.seconds / self.total if self.total else 0.0
        return (
            f"{name}: agreement {share(self.agree, self.total)}, without doubtful "
            f"{share(self.certain_agree, self.certain)}, false passes {self.false_pass}, "
            f"{per_answer:.3f} ms CPU per answer"
        )


def true_order(numbers: list[str]) -> tuple[int, ...] | None:
    quantities = [try_parse(str(number)) for number in numbers]
    if any(quantity is None for quantity in quantities):
        return None
    values = [(quantity.value, index) for index, quantity in enumerate(quantities) if quantity is not None]
    if len({value for value, _ in values}) < len(values):
        return None  # ties: several orders are right; none is counted as a false pass
    return tuple(index for _, index in sorted(values))


def labelled_order(row: dict[str, Any]) -> tuple[int, ...] | None:
    label = row["label"]
    if label == UNCLEAR:
        return None
    numbers = [str(number) for number in row["numbers"]]
    return tuple(numbers.index(str(text)) for text in label)


def measure(path: Path) -> Tally:
    rows = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    if isinstance(rows, dict):
        rows = rows.get("entries", [])
    tally = Tally()
    for row in rows:
        numbers = [str(number) for number in row["numbers"]]
        want = labelled_order(row)
        started = time.process_time()
        reading = read_order(str(row["answer"]), numbers, row["direction"])
        tally.seconds += time.process_time() - started
        got = reading.order
        tally.total += 1
        agrees = got == want
        tally.agree += agrees
        if not row.get("doubtful"):
            tally.certain += 1
            tally.certain_agree += agrees
        truth = true_order(numbers)
        if got is not None and got == truth and want != truth:
            tally.false_pass += 1
        if not agrees:
            shown = "unclear" if got is None else "[" + ", ".join(numbers[index] for index in got) + "]"
            tally.misses.append((row, f"{shown} ({reading.reason}; evidence {reading.evidence!r})"))
    return tally


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path)
    parser.add_argument("--show", action="store_true", help="list the disagreements (not of sealed files)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    paths = args.paths or list(DEFAULT)
    read_order("4.04 < 4.4", ["4.4", "4.04"], "ascending")  # the lexer's regex is compiled on first use
    figures = {}
    for path in paths:
        try:
            tally = measure(path)
        except yaml.MarkedYAMLError as error:
            line = f":{error.problem_mark.line + 1}" if error.problem_mark is not None else ""
            print(f"{path}{line}: cannot read: {error.problem or error}", file=sys.stderr)
            return 2
        except (OSError, yaml.YAMLError, KeyError, ValueError, TypeError) as error:
            shown = f"missing field {error}" if isinstance(error, KeyError) else str(error).splitlines()[0]
            print(f"{path}: cannot read: {shown}", file=sys.stderr)
            return 2
        figures[str(path)] = {
            "total": tally.total,
            "agree": tally.agree,
            "certain": tally.certain,
            "certain_agree": tally.certain_agree,
            "false_passes": tally.false_pass,
        }
        if args.json:
            continue
        print(tally.line(str(path)))
        if args.show and "sealed" not in path.name:
            for row, got in tally.misses:
                label = row["label"] if row["label"] == UNCLEAR else "[" + ", ".join(row["label"]) + "]"
                print(f"  {row['id']}: label {label}, read {got}")
    if args.json:
        print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
