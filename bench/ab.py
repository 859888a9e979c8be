"""A/B of replay against another checkout: the same recorded suite, interleaved runs, CPU and wall per side.

    python bench/ab.py --baseline PATH [--n 1000] [--runs 10] [--no-pinned] [--no-floor] [--suite DIR]
                       [--baseline-python PYTHON | --same-venv] [--a-args ARGS] [--b-args ARGS]

``PATH`` is another checkout of this project: a worktree with its own virtual environment, installed editable
there (``PATH/.venv/bin/python``, or ``--baseline-python``), or a plain copy of the source (``git archive COMMIT |
tar -x -C PATH``), run with this interpreter and ``PYTHONPATH=PATH`` (``--same-venv``, the default when PATH has
no ``.venv``). This checkout is run with the interpreter running this script.

1. A suite of N generated cases (``bench/_common.make_suite``) is recorded once, with *this* checkout, against a
   zero-latency fake server with ``--llm-max-tokens none`` (no ``max_tokens`` in the request body, which is what
   checkouts before the default max_tokens send), so both sides replay byte for byte the same cassettes: this
   checkout's replays get ``--b-args`` (default ``--llm-max-tokens none``, the same request body), the
   baseline's ``--a-args`` (default none; give ``--a-args=--llm-max-tokens=none`` to a baseline that has it).
   ``--suite DIR`` keeps the suite in DIR and reuses it when it is already recorded there (to profile one side on
   it afterwards).
2. One untimed warm-up run of each side (bytecode, the OS file cache); each must pass all N cases.
3. ``--runs`` rounds, each a replay by the baseline, a replay by this checkout (the order alternating from one
   round to the next: ABBA...) and, unless ``--no-floor``, pytest's floor (N trivial parametrized tests,
   ``-p no:llmcmp``, run with this checkout's interpreter). Pinned to one CPU by default (``sched_setaffinity``),
   where a replay has no read-ahead helper and CPU time is the work of one process; ``--no-pinned`` lets a replay
   of 300 cases or more use its helper on the second CPU (its CPU time counts).

Printed per side: CPU (user + system of the pytest process and its children, from ``os.wait4``) and wall seconds,
median, interquartile range and min/max; then the ratios this/baseline (of the medians, and the median of the
per-round ratios, which cancels load that drifts between rounds), and replay/floor for each side (what
``bench/replay.py`` calls its ratio, with its floor measured in the same rounds).
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from _common import (
    PYTHON,
    Run,
    bench_env,
    checked,
    fake_server_class,
    load_note,
    make_floor,
    make_suite,
    passed,
    run_process,
    table,
    temp_dir,
)

MODEL = "bench-model"


def pytest_argv(python: str, *args: str) -> list[str]:
    return [python, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args]


def recorded(suite: Path) -> bool:
    return (suite / "cassettes").is_dir() and any((suite / "cassettes").rglob("*.yaml"))


def record(suite: Path, n: int) -> None:
    """Record every case of ``suite`` once with this checkout (no max_tokens sent)."""
    with fake_server_class()(models=(MODEL,)) as server:
        argv = pytest_argv(PYTHON, "--llm-endpoint", server.url, "--llm-record-mode", "all", "--llm-max-tokens")
        run = run_process([*argv, "none", "--llm-concurrency", "16"], suite, bench_env())
    checked(run, "recording", lambda r: passed(r) == n)


def quartiles(values: Sequence[float]) -> tuple[float, float, float]:
    """First quartile, median, third quartile (``statistics.quantiles``, inclusive method)."""
    if len(values) < 2:
        return values[0], values[0], values[0]
    q1, q2, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, q2, q3


def describe(values: Sequence[float]) -> list[str]:
    q1, median, q3 = quartiles(values)
    return [f"{median:.3f}", f"{q3 - q1:.3f}", f"{q1:.3f}-{q3:.3f}", f"{min(values):.3f}-{max(values):.3f}"]


def version(python: str, cwd: Path) -> str:
    """``git describe``-like identity of a checkout: its HEAD commit, and ``+dirty`` when it has changes."""
    try:
        head = subprocess.run(
            ["git", "-C", str(cwd), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(cwd), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return f"{cwd} ({python})"
    return f"{cwd} at {head}{' +changes' if dirty else ''} ({python})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", type=Path, required=True, help="the other checkout")
    parser.add_argument("--baseline-python", help="its interpreter (default PATH/.venv/bin/python)")
    parser.add_argument("--same-venv", action="store_true", help="run PATH with this interpreter, PYTHONPATH=PATH")
    parser.add_argument("--a-args", default="", help="extra pytest arguments of the baseline's replays")
    parser.add_argument("--b-args", default="--llm-max-tokens none", help="extra pytest arguments of this side's")
    parser.add_argument("--n", type=int, default=1000, help="cases in the suite (default 1000)")
    parser.add_argument("--runs", type=int, default=10, help="timed rounds (default 10)")
    parser.add_argument("--no-pinned", action="store_true", help="do not pin the sessions to one CPU")
    parser.add_argument("--no-floor", action="store_true", help="skip pytest's floor")
    parser.add_argument("--suite", type=Path, help="keep (and reuse) the recorded suite in this directory")
    args = parser.parse_args()
    baseline = args.baseline.resolve()
    base_python = args.baseline_python or str(baseline / ".venv" / "bin" / "python")
    same_venv = args.same_venv or (args.baseline_python is None and not Path(base_python).exists())
    if same_venv:
        base_python = PYTHON
    elif not Path(base_python).exists():
        sys.exit(f"--baseline-python: no interpreter at {base_python}")
    if not (baseline / "pytest_llmcmp").is_dir():
        sys.exit(f"--baseline: {baseline} is no checkout of pytest-llmcmp (no pytest_llmcmp/)")
    if args.n > 10_000:
        sys.exit("--n: at most 10000 (one generated file's cap)")
    pinned = not args.no_pinned
    this = Path(__file__).resolve().parent.parent
    print(f"A/B replay benchmark: N={args.n}, {args.runs} rounds, {'pinned to one CPU' if pinned else '2 CPUs'}")
    shown = f"{base_python}, PYTHONPATH={baseline}" if same_venv else base_python
    print(f"  A (baseline): {version(shown, baseline)} {args.a_args}")
    print(f"  B (this):     {version(PYTHON, this)} {args.b_args}")
    print(f"  {load_note()}")

    with temp_dir("llmcmp-bench-ab-") as tmp:
        suite = args.suite.resolve() if args.suite else tmp / "suite"
        if not recorded(suite):
            make_suite(suite, args.n)
            record(suite, args.n)
            print(f"recorded {args.n} cases with B (--llm-max-tokens none)")
        else:
            print(f"reusing the recorded suite in {suite}")
        floor = make_floor(tmp / "floor", args.n)
        env = bench_env()
        # The baseline's own code only: PYTHONPATH is its copy (--same-venv) or unset (its venv's editable install).
        # This side keeps an inherited PYTHONPATH (a copy of this checkout run with PYTHONPATH=COPY).
        base_env = {k: v for k, v in env.items() if k != "PYTHONPATH"}
        if same_venv:
            base_env["PYTHONPATH"] = str(baseline)
        sides = {
            "A": (base_python, shlex.split(args.a_args), base_env),
            "B": (PYTHON, shlex.split(args.b_args), env),
        }

        def replay(label: str) -> Run:
            python, extra, side_env = sides[label]
            run = run_process(pytest_argv(python, *extra), suite, side_env, pinned=pinned)
            return checked(run, f"replay by {label}", lambda r: r.returncode == 0 and passed(r) == args.n)

        def floor_once() -> Run:
            run = run_process(pytest_argv(PYTHON, "-p", "no:llmcmp"), floor, env, pinned=pinned)
            return checked(run, "floor", lambda r: passed(r) == args.n)

        replay("A")  # warm-up, untimed
        replay("B")
        if not args.no_floor:
            floor_once()
        runs: dict[str, list[Run]] = {"A": [], "B": [], "floor": []}
        for index in range(max(1, args.runs)):
            order = ("A", "B") if index % 2 == 0 else ("B", "A")
            for side in order:
                runs[side].append(replay(side))
            if not args.no_floor:
                runs["floor"].append(floor_once())

        rows = []
        for side, label in (("A", "A baseline"), ("B", "B this"), ("floor", "floor")):
            if runs[side]:
                rows.append([label, "CPU", *describe([r.cpu for r in runs[side]])])
                rows.append([label, "wall", *describe([r.seconds for r in runs[side]])])
        print()
        print(table(["session", "time", "median s", "IQR s", "Q1-Q3 s", "min-max s"], rows))
        print()
        for what, key in (("CPU", "cpu"), ("wall", "seconds")):
            a = [getattr(r, key) for r in runs["A"]]
            b = [getattr(r, key) for r in runs["B"]]
            paired = [y / x for x, y in zip(a, b, strict=True)]
            q1, median, q3 = quartiles(paired)
            print(
                f"RATIO B/A {what}: {statistics.median(b) / statistics.median(a):.3f}x of medians "
                f"({1000 * (statistics.median(b) - statistics.median(a)) / args.n:+.3f} ms per case); "
                f"per round median {median:.3f}x, IQR {q1:.3f}-{q3:.3f}"
            )
        if runs["floor"]:
            for what, key in (("CPU", "cpu"), ("wall", "seconds")):
                f = statistics.median([getattr(r, key) for r in runs["floor"]])
                a = statistics.median([getattr(r, key) for r in runs["A"]])
                b = statistics.median([getattr(r, key) for r in runs["B"]])
                print(f"RATIO replay/floor {what}: A {a / f:.3f}x, B {b / f:.3f}x (floor median {f:.3f} s)")
        print(f"({load_note()} at the end)")


if __name__ == "__main__":
    main()
