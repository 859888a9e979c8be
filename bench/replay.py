"""Offline replay of N recorded cases against pytest's floor: N trivial parametrized tests.

    python bench/replay.py [--n 2000] [--repeat 3] [--literal] [--keep DIR]

Builds N cases (``generate:`` entries, or with ``--literal`` the same cases written out), records them once
with the plugin itself against a zero-latency fake server (so the cassettes are exactly what users commit),
stops the server, then times full replay sessions (``pytest -p no:cacheprovider -q``) and sessions of N
trivial tests (``-p no:llmcmp``: pytest alone), best of ``--repeat`` each, at N/2 and N to show the growth
per case. A large replay reads its cassettes in a helper process on a second CPU, whose CPU time counts in the
replay's; at N both sides are timed once more pinned to one CPU, where everything runs in the one process, and
(``--off``) replay with ``--llm-read-ahead off``. ``--keep DIR`` keeps the recorded suite there and takes the
cassettes of a later run from it (recording 20,000 cases takes minutes on a busy machine), so that two checkouts
are timed on the same recordings. Ratios are of medians (the table also shows best-of figures).
Targets: replay's wall time within 1.3x of the floor's at N=16,000 on a loaded machine (1.15x idle); peak RSS
within 1.5x of the floor's at N=20,000.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
from pathlib import Path

from _common import (
    Best,
    Run,
    checked,
    fake_server_class,
    load_note,
    make_floor,
    make_suite,
    passed,
    run_pytest,
    spread,
    table,
    temp_dir,
)

MODEL = "bench-model"


def cap(n: int) -> tuple[str, ...]:
    """The option raising the per-file cap on generated cases (10,000) when the suite's one file holds more."""
    return ("--llm-max-generated", str(n)) if n > 10_000 else ()


def med(values: list[float]) -> float:
    return float(statistics.median(values))


def record(suite: Path, n: int, concurrency: int) -> float:
    """Record every case of ``suite`` live once; returns the seconds it took."""
    with fake_server_class()(models=(MODEL,)) as server:
        run = run_pytest(
            suite,
            *cap(n),
            "--llm-endpoint",
            server.url,
            "--llm-record-mode",
            "all",
            "--llm-concurrency",
            str(concurrency),
        )
    checked(run, "recording", lambda r: passed(r) == n)
    return run.seconds


def copy_subset(source: Path, target: Path) -> int:
    """Give ``target`` (whose cases are a prefix of ``source``'s) the cassettes of its own cases only."""
    from pytest_llmcmp.cases import GenerateBudget, load_case_file

    budget = GenerateBudget(per_file=1_000_000, per_suite=1_000_000)  # the suite's size is this script's to choose
    ids = {case.id for case in load_case_file(target / "cases" / "bench.yaml", budget)}
    copied = 0
    for path in (source / "cassettes").rglob("*.yaml"):
        if path.stem in ids:
            destination = target / path.relative_to(source)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, destination)
            copied += 1
    return copied


def recorded_suite(keep: Path, n: int, literal: bool) -> Path | None:
    """A suite of at least ``n`` cases recorded by an earlier run with ``--keep`` (its first ``n`` cases are the
    same: suites are made alike), the smallest one; ``None`` when there is none."""
    suffix = "-literal" if literal else ""
    found = []
    for folder in keep.glob(f"suite-*{suffix}") if keep.is_dir() else []:
        size = folder.name.removeprefix("suite-").removesuffix(suffix)
        if size.isdigit() and int(size) >= n and (folder / "cassettes").is_dir():
            found.append((int(size), folder))
    return min(found)[1] if found else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=2000, help="cases in the full suite (default 2000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each session (default 3)")
    parser.add_argument("--literal", action="store_true", help="cases written out, not generate:")
    parser.add_argument("--concurrency", type=int, default=16, help="--llm-concurrency of the recording run")
    parser.add_argument("--off", action="store_true", help="also time replay with --llm-read-ahead off at N")
    parser.add_argument("--no-pinned", action="store_true", help="skip the runs pinned to one CPU")
    parser.add_argument("--single", action="store_true", help="time N only, not N/2 as well")
    parser.add_argument(
        "--keep",
        type=Path,
        help="keep the recorded suite in this directory, and take the cassettes from a suite kept there before (of at"
        " least N cases) instead of recording again",
    )
    args = parser.parse_args()
    sizes = [args.n] if args.single else sorted({max(1, args.n // 2), args.n})
    print(f"replay benchmark: N in {sizes}, best of {args.repeat}; {load_note()}")

    with temp_dir("llmcmp-bench-replay-") as tmp:
        full = make_suite(tmp / f"suite-{args.n}", args.n, literal=args.literal)
        kept = recorded_suite(args.keep, args.n, args.literal) if args.keep is not None else None
        if kept is not None:
            copied = copy_subset(kept, full)
            print(f"cassettes of {copied} cases taken from the recording in {kept}")
        else:
            took = record(full, args.n, args.concurrency)
            print(f"recorded {args.n} cases live (zero-latency fake server) in {took:.2f}s")
            if args.keep is not None:
                keep = args.keep / f"suite-{args.n}{'-literal' if args.literal else ''}"
                shutil.rmtree(keep, ignore_errors=True)
                shutil.copytree(full, keep)
        rows = []
        measured: dict[int, tuple[Best, Best]] = {}
        measured_suites: dict[int, tuple[Path, Path]] = {}
        for size in sizes:
            suite = full
            if size != args.n:
                suite = make_suite(tmp / f"suite-{size}", size, literal=args.literal)
                copy_subset(full, suite)
            floor = make_floor(tmp / f"floor-{size}", size)

            def replay_once(suite: Path = suite, size: int = size) -> Run:
                return checked(run_pytest(suite, *cap(size)), f"replay of {size}", lambda r: passed(r) == size)

            def floor_once(floor: Path = floor, size: int = size) -> Run:
                run = run_pytest(floor, "-p", "no:llmcmp")
                return checked(run, f"floor of {size}", lambda r: passed(r) == size)

            measured_suites[size] = (suite, floor)

            replay_once()  # warm-up, untimed: bytecode, pytest's rewritten test module, the OS file cache
            floor_once()
            # Interleaved, so that a burst of load from elsewhere hits both sides alike.
            replays: list[Run] = []
            floors: list[Run] = []
            for _ in range(max(1, args.repeat)):
                replays.append(replay_once())
                floors.append(floor_once())
            replay, base = Best(tuple(replays)), Best(tuple(floors))
            measured[size] = (replay, base)
            rows.append(
                [
                    size,
                    f"{base.seconds:.2f}",
                    f"{replay.seconds:.2f}",
                    f"{replay.seconds / base.seconds:.2f}x",
                    f"{base.cpu:.2f}",
                    f"{replay.cpu:.2f}",
                    f"{replay.cpu / base.cpu:.2f}x",
                    f"{1000 * replay.cpu / size:.2f}",
                    f"{base.peak_mib:.0f}",
                    f"{replay.peak_mib:.0f}",
                    spread(base.walls),
                    spread(replay.walls),
                    f"{med(replay.walls) / med(base.walls):.2f}x",
                    f"{med([x.cpu for x in replay.runs]) / med([x.cpu for x in base.runs]):.2f}x",
                ]
            )
        print()
        print(
            table(
                [
                    "N",
                    "floor wall s",
                    "replay wall s",
                    "wall ratio",
                    "floor CPU s",
                    "replay CPU s",
                    "CPU ratio",
                    "replay CPU ms/case",
                    "floor MiB",
                    "replay MiB",
                    "floor wall min/med/max",
                    "replay wall min/med/max",
                    "median wall ratio",
                    "median CPU ratio",
                ],
                rows,
            )
        )
        if len(sizes) == 2:
            small, large = sizes
            (replay_s, floor_s), (replay_l, floor_l) = measured[small], measured[large]
            step = large - small
            figures = (
                ("wall", (replay_s.seconds, floor_s.seconds, replay_l.seconds, floor_l.seconds)),
                ("CPU", (replay_s.cpu, floor_s.cpu, replay_l.cpu, floor_l.cpu)),
            )
            for label, (r_small, f_small, r_large, f_large) in figures:
                replay_slope = 1000 * (r_large - r_small) / step
                floor_slope = 1000 * (f_large - f_small) / step
                print(
                    f"growth {label} N={small}->{large}: replay {replay_slope:.2f} ms per extra case, floor "
                    f"{floor_slope:.2f} ms per extra test; fixed cost replay "
                    f"{r_small - small * replay_slope / 1000:.2f}s, "
                    f"floor {f_small - small * floor_slope / 1000:.2f}s"
                )
        replay, base = measured[args.n]
        ratio = med(replay.walls) / med(base.walls)
        target = 1.3 if os.getloadavg()[0] >= 2 else 1.15
        verdict = "met" if ratio <= target else "MISSED"
        print(
            f"RATIO replay/floor median wall at N={args.n}: {ratio:.2f}x (target <= {target}x at this load, 1.3x "
            f"loaded, 1.15x idle): {verdict}; best-of {replay.seconds / base.seconds:.2f}x"
        )
        cpu_ratio = med([x.cpu for x in replay.runs]) / med([x.cpu for x in base.runs])
        print(f"CPU replay/floor at N={args.n}: {cpu_ratio:.2f}x (median; the read-ahead helper's CPU included)")
        rss = replay.peak_mib / base.peak_mib
        print(
            f"RATIO replay/floor peak RSS at N={args.n}: {rss:.2f}x ({replay.peak_mib:.0f} MiB against "
            f"{base.peak_mib:.0f} MiB; target <= 1.5x: {'met' if rss <= 1.5 else 'MISSED'})"
        )
        if args.off:
            suite, floor = measured_suites[args.n]
            offs, floors = [], []
            for _ in range(max(1, args.repeat)):
                offs.append(checked(run_pytest(suite, *cap(args.n), "--llm-read-ahead", "off"), "replay, off"))
                floors.append(checked(run_pytest(floor, "-p", "no:llmcmp"), "floor"))
            off_wall = med([r.seconds for r in offs]) / med([r.seconds for r in floors])
            off_cpu = med([r.cpu for r in offs]) / med([r.cpu for r in floors])
            print(
                f"READ-AHEAD OFF at N={args.n}: replay/floor median wall {off_wall:.2f}x, CPU {off_cpu:.2f}x "
                f"(replay {spread([r.seconds for r in offs])} s, floor {spread([r.seconds for r in floors])} s)"
            )
        if hasattr(os, "sched_setaffinity") and not args.no_pinned:
            suite, floor = measured_suites[args.n]
            pinned_replays, pinned_floors = [], []
            for _ in range(max(1, args.repeat)):
                pinned_replays.append(checked(run_pytest(suite, *cap(args.n), pinned=True), "pinned replay"))
                pinned_floors.append(checked(run_pytest(floor, "-p", "no:llmcmp", pinned=True), "pinned floor"))
            one_replay, one_floor = Best(tuple(pinned_replays)), Best(tuple(pinned_floors))
            print(
                f"ONE CPU (no helper) at N={args.n}: replay {one_replay.seconds:.2f}s, floor {one_floor.seconds:.2f}s "
                f"wall = {one_replay.seconds / one_floor.seconds:.2f}x; CPU {one_replay.cpu / one_floor.cpu:.2f}x"
            )
        print(f"({load_note()} at the end)")


if __name__ == "__main__":
    main()
