"""Collection of many cases, and what the plugin adds to ``pytest --help``.

    python bench/collect.py [--n 20000] [--repeat 3] [--help-repeat 5]

1. ``pytest --collect-only -q`` of N generated cases vs N trivial parametrized tests (``-p no:llmcmp``,
   pytest alone), best of ``--repeat``. Target: within 2x.
2. ``pytest --help`` with the plugin vs with ``-p no:llmcmp``, best of ``--help-repeat``. Target: the plugin
   adds < 0.2 s.
3. Heavy imports: ``python -X importtime`` of ``--help`` and of the collection run must show none of openai,
   httpx, httpx2, vcr (they belong to live asking only); the plugin's own import time is printed.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from pathlib import Path

from _common import (
    PYTHON,
    Best,
    Run,
    bench_env,
    checked,
    load_note,
    make_floor,
    make_suite,
    run_process,
    run_pytest,
    spread,
    table,
    temp_dir,
)

HEAVY = ("openai", "httpx", "httpx2", "vcr")
_IMPORT_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)")


def collected(run: Run) -> int:
    """The count in pytest's ``N tests collected`` line (0 when absent)."""
    found = re.findall(r"(\d+) tests? collected", run.output)
    return int(found[-1]) if found else 0


@dataclass(frozen=True)
class Imported:
    """One module in ``-X importtime`` output: its own and its cumulative import seconds."""

    own: float
    cumulative: float


def imports(cwd: Path, *args: str) -> dict[str, Imported]:
    """Every module imported by ``pytest ARGS``, with its import seconds (``-X importtime``)."""
    run = run_process([PYTHON, "-X", "importtime", "-m", "pytest", "-p", "no:cacheprovider", *args], cwd, bench_env())
    modules: dict[str, Imported] = {}
    for line in run.output.splitlines():
        match = _IMPORT_LINE.match(line)
        if match is not None:
            modules[match.group(4)] = Imported(int(match.group(1)) / 1e6, int(match.group(2)) / 1e6)
    return modules


def plugin_cost(modules: dict[str, Imported]) -> float:
    """Seconds spent importing the plugin's own modules (their own time, without pytest or yaml)."""
    return sum(imported.own for name, imported in modules.items() if name.startswith("pytest_llmcmp"))


def heavy_in(modules: dict[str, Imported]) -> list[str]:
    """The heavy top-level packages among ``modules``."""
    return sorted(name for name in modules if name in HEAVY)


def main() -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--n", type=int, default=20000, help="cases to collect (default 20000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each collection (default 3)")
    parser.add_argument("--help-repeat", type=int, default=5, help="runs of each --help (default 5)")
    args = parser.parse_args()
    n = args.n
    print(f"collection benchmark: N={n}, best of {args.repeat} (--help: best of {args.help_repeat}); {load_note()}")
    with temp_dir("llmcmp-bench-collect-") as tmp:
        suite = make_suite(tmp / "suite", n)
        floor = make_floor(tmp / "floor", n)
        empty = tmp / "empty"
        empty.mkdir()

        cap = ("--llm-max-generated", str(n))  # one file of n generated cases: over the default cap of 10,000

        def has_n(run: Run) -> bool:
            return run.returncode == 0 and collected(run) == n

        run_pytest(suite, "--collect-only", *cap)  # warm-up, untimed: bytecode and pytest's rewritten test module
        run_pytest(floor, "--collect-only", "-p", "no:llmcmp")
        cases: list[Run] = []
        trivial: list[Run] = []
        for _ in range(max(1, args.repeat)):  # interleaved: load from elsewhere hits both sides alike
            cases.append(checked(run_pytest(suite, "--collect-only", *cap), "collecting the cases", has_n))
            trivial.append(checked(run_pytest(floor, "--collect-only", "-p", "no:llmcmp"), "collecting tests", has_n))
        with_plugin: list[Run] = []
        without: list[Run] = []
        for _ in range(max(1, args.help_repeat)):
            with_plugin.append(checked(run_pytest(empty, "--help"), "pytest --help"))
            without.append(checked(run_pytest(empty, "--help", "-p", "no:llmcmp"), "pytest --help -p no:llmcmp"))
        collect_best, floor_best = Best(tuple(cases)), Best(tuple(trivial))
        help_best, bare_best = Best(tuple(with_plugin)), Best(tuple(without))
        help_imports = imports(empty, "--help")
        collect_imports = imports(suite, "--collect-only", "-q")

    def row(label: str, best: Best) -> list[object]:
        return [label, f"{best.seconds:.2f}", f"{best.cpu:.2f}", f"{best.peak_mib:.0f}", spread(best.walls)]

    rows = [
        row(f"collect {n} cases", collect_best),
        row(f"collect {n} trivial tests", floor_best),
        row("--help (plugin)", help_best),
        row("--help -p no:llmcmp", bare_best),
    ]
    print()
    print(table(["session", "wall s", "CPU s", "peak MiB", "wall min/med/max"], rows))
    print()
    wall_ratio = collect_best.seconds / floor_best.seconds
    cpu_ratio = collect_best.cpu / floor_best.cpu
    for label, ratio in (("wall", wall_ratio), ("CPU", cpu_ratio)):
        print(f"RATIO collect cases/trivial {label}: {ratio:.2f}x (target <= 2x: {'met' if ratio <= 2 else 'MISSED'})")
    for label, added in (
        ("wall", help_best.seconds - bare_best.seconds),
        ("CPU", help_best.cpu - bare_best.cpu),
    ):
        print(f"--help: the plugin adds {added:+.3f}s {label} (target < 0.2s: {'met' if added < 0.2 else 'MISSED'})")
    for label, modules in (("--help", help_imports), ("--collect-only", collect_imports)):
        heavy = heavy_in(modules)
        shown = ", ".join(f"{name} ({modules[name].cumulative:.2f}s)" for name in heavy) if heavy else "none"
        print(f"{label}: heavy imports ({', '.join(HEAVY)}): {shown} ({'met' if not heavy else 'MISSED'})")
        ours = sorted(name.removeprefix("pytest_llmcmp.") for name in modules if name.startswith("pytest_llmcmp."))
        yaml = modules.get("yaml")
        print(
            f"{label}: plugin modules imported ({plugin_cost(modules) * 1000:.0f} ms own import time"
            f"{f', yaml {yaml.cumulative * 1000:.0f} ms' if yaml else ''}): {', '.join(ours)}"
        )
    print(f"({load_note()} at the end)")


if __name__ == "__main__":
    main()
