"""Live recording through the plugin against a fixed-latency loopback server, next to what the network allows.

    python bench/live.py [--m 400] [--latency 0.1] [--concurrency 16] [--capacity 8] [--sequential-m 40]

Two servers (``tests/fakeserver.py`` in this process): one answering every request after ``--latency``
seconds with no limit on parallel requests, and one that also processes at most ``--capacity`` at once. For
each, best of ``--repeat``:

- plugin: ``pytest --llm-endpoint URL --llm-record-mode all --llm-concurrency C`` on M fresh cases (a fresh
  cassette directory every run);
- raw: a bare asyncio load generator (the HTTP library the installed ``openai`` is built on, ``AsyncClient``,
  C workers) sending the very request bodies the plugin sent, in its own subprocess;
- ideal: M x latency / min(C, capacity);
- sequential (unlimited server only): the plugin with ``--llm-concurrency 1`` on ``--sequential-m`` cases,
  extrapolated to M by its per-request time (or on all M with ``--sequential-m 0``).

The network phase of a run is measured on the server's clock: from the first request's arrival to the last
answer's end. The plugin's remaining wall time (interpreter, imports of openai and its HTTP library,
collection, reporting) is its overhead, printed separately, with a replay session of the same cases for
reference.
Targets: plugin network phase within 1.3x of the raw generator's; >= 8x faster than sequential at C=16.

Then, against a zero-latency server (``--zero-m`` cases, 0 to skip), where the client's own CPU sets the pace: the
plugin, the raw generator and a replay of the same cases, interleaved, medians of ``--repeat``. Printed: requests/s
over the network phase, the requests in flight (the server's most at once, and the mean: busy time over the phase),
CPU per request of the whole session (the plugin's, pytest included) and net of a replay of the same cases (what
asking adds), each against the raw generator's. Target: the plugin's CPU per request <= 2x the raw generator's.
Last, the fixed cost: a live session of ``--startup-m`` cases against a replay of them (median wall and CPU).
Target: within 0.5 s.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from _common import (
    PYTHON,
    Best,
    Run,
    bench_env,
    checked,
    fake_server_class,
    load_note,
    make_suite,
    run_process,
    run_pytest,
    spread,
    table,
    temp_dir,
)

from pytest_llmcmp.cassettes import SAMPLE_HEADER

MODEL = "bench-model"


# --- the raw load generator (runs in its own process: python bench/live.py --raw ...) ---


async def _raw_load(http_name: str, url: str, requests: list[tuple[dict[str, Any], str]], concurrency: int) -> None:
    http = importlib.import_module(http_name)
    queue: asyncio.Queue[tuple[dict[str, Any], str]] = asyncio.Queue()
    for request in requests:
        queue.put_nowait(request)
    failures = 0

    async def worker(client: Any) -> None:
        nonlocal failures
        while not queue.empty():
            body, sample = queue.get_nowait()
            response = await client.post(
                f"{url}/chat/completions",
                json=body,
                headers={SAMPLE_HEADER: sample, "Authorization": "Bearer no-key"},
            )
            content = response.json()["choices"][0]["message"]["content"]
            if response.status_code != 200 or not isinstance(content, str):
                failures += 1

    limits = http.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with http.AsyncClient(limits=limits, timeout=120.0) as client:
        started, cpu = time.perf_counter(), time.thread_time()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        took, cpu = time.perf_counter() - started, time.thread_time() - cpu
    print(json.dumps({"seconds": took, "cpu": cpu, "failures": failures}))


def raw_main(argv: list[str]) -> None:
    """``--raw HTTP_MODULE URL BODIES_JSON CONCURRENCY``: send every body once, print the time as JSON."""
    http_name, url, bodies, concurrency = argv
    requests = [(r["body"], r["sample"]) for r in json.loads(Path(bodies).read_text(encoding="utf-8"))]
    asyncio.run(_raw_load(http_name, url, requests, int(concurrency)))


# --- the measuring side ---


def thread_clock_env(out: Path, baseline: Path | None = None) -> dict[str, str]:
    """The environment of a plugin run whose processes write their CPU time per thread into the directory ``out``
    (``bench/_threadclock.py``); with ``baseline``, a run of that checkout's plugin (first on ``PYTHONPATH``)."""
    here = str(Path(__file__).resolve().parent)
    path = os.environ.get("PYTHONPATH") if baseline is None else str(baseline)
    return bench_env(LLMCMP_BENCH_THREADS=str(out), PYTHONPATH=here if not path else f"{path}{os.pathsep}{here}")


#: The plugin's asking thread (``client.Asker``): its event loop sends every live request.
ASKER = "llmcmp-asker"


def http_module_name() -> str:
    """The HTTP library the installed openai uses (``httpx2`` for openai 3.x, ``httpx`` before)."""
    from pytest_llmcmp.client import http_module

    name: str = http_module().__name__
    return name


def network_span(server: Any) -> float:
    """First chat request's arrival to the last one's answer, on the server's clock."""
    records = server.chat_requests
    if not records or any(r.finished is None for r in records):
        raise RuntimeError("the server saw no chat request, or one was never answered")
    return float(max(r.finished for r in records) - min(r.time for r in records))


class Scenario:
    """One fake server configuration and the runs measured against it."""

    def __init__(self, tmp: Path, args: argparse.Namespace, capacity: int | None, name: str | None = None) -> None:
        self.name = name
        self.tmp = tmp
        self.args = args
        self.capacity = capacity
        self.server: Any = fake_server_class()(models=(MODEL,), latency=args.latency, capacity=capacity)
        self.runs = 0
        self.flights: list[tuple[int, float]] = []  # (most, mean) requests in flight of each plugin run
        self.threads: dict[str, float] = {}  # CPU seconds by thread name of the last plugin run
        self.pytest_cpu = 0.0  # CPU seconds of the last plugin run's pytest processes alone (no helper process)
        self.raw_cpu = 0.0  # the raw generator's own loop CPU seconds (its sending phase) of its last run

    def label(self) -> str:
        if self.name is not None:
            return self.name
        return "unlimited" if self.capacity is None else f"capacity {self.capacity}"

    def ideal(self, m: int, concurrency: int) -> float:
        width = concurrency if self.capacity is None else min(concurrency, self.capacity)
        return float(m * self.args.latency / width)

    def fresh_suite(self, m: int) -> Path:
        self.runs += 1
        suite = self.tmp / f"{self.label().replace(' ', '-')}-{self.runs}"
        shutil.rmtree(suite, ignore_errors=True)
        return make_suite(suite, m)

    def plugin(self, m: int, concurrency: int, *extra: str, baseline: Path | None = None) -> tuple[Run, float, Path]:
        """A recording session of ``m`` fresh cases (by the ``baseline`` checkout's plugin when given): its run, its
        network span, its suite directory."""
        suite = self.fresh_suite(m)
        self.server.clear()
        clock = self.tmp / "threads"
        shutil.rmtree(clock, ignore_errors=True)
        clock.mkdir()
        run = run_pytest(
            suite,
            "-p",
            "_threadclock",
            "--llm-endpoint",
            self.server.url,
            "--llm-record-mode",
            "all",
            "--llm-concurrency",
            str(concurrency),
            *extra,
            env=thread_clock_env(clock, baseline),
        )
        checked(run, f"recording {m} cases ({self.label()}{', baseline' if baseline else ''})")
        self.threads = {}
        for each in clock.glob("*.json"):  # one per pytest process (xdist: the controller and each worker)
            for name, seconds in json.loads(each.read_text(encoding="utf-8")).items():
                self.threads[name] = self.threads.get(name, 0.0) + seconds
        self.pytest_cpu = sum(self.threads.values())
        if len(self.server.chat_requests) != m:
            sys.exit(f"expected {m} chat requests, the server saw {len(self.server.chat_requests)}")
        self.flights.append(in_flight(self.server))
        return run, network_span(self.server), suite

    def asking_cpu(self, run: Run) -> float:
        """The CPU seconds the last plugin run spent asking: its asking thread's, or, asked by the helper process,
        every process's but the pytest processes'."""
        return self.threads.get(ASKER) or run.cpu - self.pytest_cpu

    def requests_seen(self) -> list[dict[str, Any]]:
        return [
            {"body": r.json, "sample": r.headers.get(SAMPLE_HEADER.lower(), "1")} for r in self.server.chat_requests
        ]

    def raw(self, bodies: Path, http_name: str, concurrency: int) -> tuple[Run, float, float]:
        """The bare load generator: its process run, the network span, and its own in-process timing."""
        self.server.clear()
        argv = [PYTHON, __file__, "--raw", http_name, self.server.url, str(bodies), str(concurrency)]
        run = checked(run_process(argv, self.tmp), "raw load generator")
        report = json.loads(run.output.strip().splitlines()[-1])
        if report["failures"]:
            sys.exit(f"raw load generator: {report['failures']} requests failed")
        self.raw_cpu = float(report["cpu"])
        return run, network_span(self.server), float(report["seconds"])


def measure(scenario: Scenario, http_name: str, rows: list[list[object]], summary: list[str]) -> None:
    """Every run of one scenario; appends its table rows and its ratio lines."""
    args = scenario.args
    m, c = args.m, args.concurrency
    plugin_runs: list[tuple[Run, float, Path]] = []
    raw_runs: list[tuple[Run, float, float]] = []
    sequential: tuple[Run, float, int] | None = None
    bodies = scenario.tmp / "bodies.json"
    with scenario.server:
        scenario.plugin(min(m, 2 * c), c)  # warm-up, untimed: bytecode and the OS file cache
        for attempt in range(max(1, args.repeat)):
            plugin_runs.append(scenario.plugin(m, c))
            if attempt == 0:
                bodies.write_text(json.dumps(scenario.requests_seen()), encoding="utf-8")
            raw_runs.append(scenario.raw(bodies, http_name, c))
        if scenario.capacity is None:
            seq_m = args.sequential_m or m
            run, span, _ = scenario.plugin(seq_m, 1)
            sequential = (run, span, seq_m)
    # The same cases replayed with the server stopped: what pytest and the plugin cost without asking.
    replays = [checked(run_pytest(plugin_runs[0][2]), "replay") for _ in range(max(1, args.repeat))]
    replay = Best(tuple(replays))
    plugin = Best(tuple(r for r, _, _ in plugin_runs))
    plugin_span = min(s for _, s, _ in plugin_runs)
    flights = scenario.flights
    raw = Best(tuple(r for r, _, _ in raw_runs))
    raw_span = min(s for _, s, _ in raw_runs)
    raw_inner = min(t for _, _, t in raw_runs)
    ideal = scenario.ideal(m, c)
    overhead = min(r.seconds - s for r, s, _ in plugin_runs)
    label = scenario.label()
    rows += [
        [label, "ideal (M x latency / width)", "", f"{ideal:.2f}", "", ""],
        [
            label,
            "raw generator",
            f"{raw.seconds:.2f}",
            f"{raw_span:.2f}",
            f"{raw.cpu:.2f}",
            spread(raw.walls),
        ],
        [
            label,
            f"plugin, concurrency {c}",
            f"{plugin.seconds:.2f}",
            f"{plugin_span:.2f}",
            f"{plugin.cpu:.2f}",
            spread(plugin.walls),
        ],
        [
            label,
            "replay of the same cases",
            f"{replay.seconds:.2f}",
            "-",
            f"{replay.cpu:.2f}",
            spread(replay.walls),
        ],
    ]
    ratio = plugin_span / raw_span
    summary.append(
        f"[{label}] RATIO plugin/raw network phase: {ratio:.2f}x (target <= 1.3x: "
        f"{'met' if ratio <= 1.3 else 'MISSED'}); plugin/ideal {plugin_span / ideal:.2f}x; "
        f"raw/ideal {raw_span / ideal:.2f}x; raw generator's own timing {raw_inner:.2f}s"
    )
    summary.append(
        f"[{label}] plugin requests in flight (of {c}): most {max(f[0] for f in flights[1:])}, mean "
        f"{median([f[1] for f in flights[1 : 1 + len(plugin_runs)]]):.1f}"
    )
    summary.append(
        f"[{label}] RATIO plugin/raw wall: {plugin.seconds / raw.seconds:.2f}x; plugin overhead outside the "
        f"network phase {overhead:.2f}s (replay session of the same cases: {replay.seconds:.2f}s)"
    )
    if sequential is None:
        return
    seq_run, seq_span, seq_m = sequential
    per_request = seq_span / seq_m
    seq_span_m = per_request * m
    seq_wall_m = seq_run.seconds - seq_span + seq_span_m
    how = "all M" if seq_m == m else f"{seq_m} cases, extrapolated to {m}"
    rows.append(
        [
            label,
            f"plugin, concurrency 1 ({how})",
            f"{seq_wall_m:.2f}",
            f"{seq_span_m:.2f}",
            f"{seq_run.cpu:.2f}",
            "",
        ]
    )
    speedup = seq_span_m / plugin_span
    summary.append(
        f"[{label}] RATIO sequential/concurrent network phase: {speedup:.1f}x (target >= 8x: "
        f"{'met' if speedup >= 8 else 'MISSED'}); wall {seq_wall_m / plugin.seconds:.1f}x; "
        f"sequential {1000 * per_request:.0f} ms per request"
    )


def in_flight(server: Any) -> tuple[int, float]:
    """The most chat requests the server processed at once, and the mean over the network phase (its busy time over
    the phase: meaningful with a latency; at zero latency the server answers faster than any client sends)."""
    records = server.chat_requests
    busy = sum(r.finished - r.time for r in records)
    return int(server.max_in_flight), float(busy / network_span(server))


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def zero_latency(
    tmp: Path, args: argparse.Namespace, http_name: str, rows: list[list[object]], summary: list[str]
) -> None:
    """The plugin, the raw generator and a replay against a zero-latency server: the client's CPU per request. With
    ``--baseline`` the baseline checkout's plugin too, interleaved."""
    m, c = args.zero_m, args.concurrency
    server = fake_server_class()(models=(MODEL,), latency=0.0)
    bodies = tmp / "zero-bodies.json"
    sides = plugin_sides(args)
    # Per side: each run's (run, span, most in flight, mean in flight), CPU by thread, its pytest processes' CPU.
    plugin: dict[str, list[tuple[Run, float, int, float]]] = {name: [] for name, _ in sides}
    threads: dict[str, list[dict[str, float]]] = {name: [] for name, _ in sides}
    own: dict[str, list[float]] = {name: [] for name, _ in sides}
    spread_out: list[tuple[Run, float, int, float]] = []  # the plugin under xdist (-n WORKERS)
    raw: list[tuple[Run, float, int, float]] = []
    replay: list[Run] = []
    raw_loop: list[float] = []  # the raw generator's loop CPU seconds of each run
    scenario = Scenario(tmp, args, None, "zero-latency")
    scenario.server = server
    with server:
        for _, checkout in sides:
            scenario.plugin(min(m, 2 * c), c, baseline=checkout)  # warm-up, untimed
        for attempt in range(max(1, args.repeat)):
            for name, checkout in sides if attempt % 2 == 0 else sides[::-1]:
                run, span, suite = scenario.plugin(m, c, baseline=checkout)
                plugin[name].append((run, span, *in_flight(server)))
                threads[name].append(scenario.threads)
                own[name].append(scenario.pytest_cpu)
                if attempt == 0 and checkout is None:
                    bodies.write_text(json.dumps(scenario.requests_seen()), encoding="utf-8")
            raw_run, raw_span, _ = scenario.raw(bodies, http_name, c)
            raw.append((raw_run, raw_span, *in_flight(server)))
            raw_loop.append(scenario.raw_cpu)
            replay.append(checked(run_pytest(suite), "replay"))
            if args.xdist:
                run, span, _ = scenario.plugin(m, c, "-n", str(args.xdist))
                spread_out.append((run, span, *in_flight(server)))
    named: list[tuple[str, list[tuple[Run, float, int, float]], str | None]] = [("raw generator", raw, None)]
    named += [(f"{name}, concurrency {c}", plugin[name], name) for name, _ in sides]
    if spread_out:
        named.append((f"plugin, -n {args.xdist}, concurrency {c} each", spread_out, None))
    for name, runs, key in named:
        rows.append(
            [
                name,
                f"{median([r.seconds for r, *_ in runs]):.2f}",
                f"{median([s for _, s, *_ in runs]):.2f}",
                f"{median([m / s for _, s, *_ in runs]):.0f}",
                f"{max(k for *_, k, _ in runs)}",
                f"{median([r.cpu for r, *_ in runs]):.2f}",
                f"{1000 * median([r.cpu for r, *_ in runs]) / m:.2f}",
                f"{1000 * median(own[key]) / m:.2f}" if key is not None else "-",
                spread([r.seconds for r, *_ in runs]),
            ]
        )
    rows.append(
        [
            "replay of the same cases",
            f"{median([r.seconds for r in replay]):.2f}",
            "-",
            "-",
            "-",
            f"{median([r.cpu for r in replay]):.2f}",
            f"{1000 * median([r.cpu for r in replay]) / m:.2f}",
            f"{1000 * median([r.cpu for r in replay]) / m:.2f}",
            spread([r.seconds for r in replay]),
        ]
    )
    raw_cpu = median([r.cpu for r, *_ in raw]) / m
    loop = median(raw_loop) / m
    raw_rate = median([m / s for _, s, *_ in raw])
    for name, _ in sides:
        runs = plugin[name]
        plugin_cpu = median([r.cpu for r, *_ in runs]) / m
        net = median([p[0].cpu - r.cpu for p, r in zip(runs, replay, strict=True)]) / m
        ratio = plugin_cpu / raw_cpu
        summary.append(
            f"[zero latency, {name}] RATIO plugin/raw CPU per request: {ratio:.2f}x ({1000 * plugin_cpu:.2f} ms "
            f"against {1000 * raw_cpu:.2f} ms, every process; target <= 2x: {'met' if ratio <= 2 else 'MISSED'}); "
            f"the pytest process alone {1000 * median(own[name]) / m:.2f} ms"
        )
        summary.append(
            f"[zero latency, {name}] RATIO plugin net of replay/raw CPU per request: {net / raw_cpu:.2f}x "
            f"({1000 * net:.2f} ms: what asking adds to a replay of the same cases)"
        )
        asking = [t.get(ASKER, 0.0) for t in threads[name]]
        if any(asking):
            asker = median(asking) / m
            summary.append(
                f"[zero latency, {name}] RATIO asking thread/raw generator's loop CPU per request: "
                f"{asker / loop:.2f}x ({1000 * asker:.2f} ms on {ASKER} against {1000 * loop:.2f} ms; the raw process "
                f"{1000 * raw_cpu:.2f} ms)"
            )
        else:  # asked by the helper process: every process's CPU but the pytest processes'
            helper = median([r.cpu - cpu for (r, *_), cpu in zip(runs, own[name], strict=True)]) / m
            summary.append(
                f"[zero latency, {name}] RATIO asking process/raw generator's process CPU per request: "
                f"{helper / raw_cpu:.2f}x ({1000 * helper:.2f} ms against {1000 * raw_cpu:.2f} ms)"
            )
        names = sorted(
            {n for t in threads[name] for n in t}, key=lambda n: -median([t.get(n, 0.0) for t in threads[name]])
        )
        summary.append(
            f"[zero latency, {name}] pytest process CPU per request by thread: "
            + ", ".join(f"{n} {1000 * median([t.get(n, 0.0) for t in threads[name]]) / m:.2f} ms" for n in names)
        )
        rate = median([m / s for _, s, *_ in runs])
        summary.append(
            f"[zero latency, {name}] requests/s: {rate:.0f}, raw {raw_rate:.0f} ({rate / raw_rate:.2f}x); most in "
            f"flight at the server (of {c}): {max(p[2] for p in runs)}, raw {max(r[2] for r in raw)}"
        )
    if len(sides) > 1:
        after, before = plugin[sides[0][0]], plugin[sides[1][0]]
        summary.append(
            "[zero latency] baseline -> this checkout: requests/s "
            f"{median([m / s for _, s, *_ in before]):.0f} -> {median([m / s for _, s, *_ in after]):.0f}; CPU per "
            f"request, every process {1000 * median([r.cpu for r, *_ in before]) / m:.2f} -> "
            f"{1000 * median([r.cpu for r, *_ in after]) / m:.2f} ms, the pytest process "
            f"{1000 * median(own[sides[1][0]]) / m:.2f} -> {1000 * median(own[sides[0][0]]) / m:.2f} ms"
        )
    if spread_out:
        rate = median([m / s for _, s, *_ in spread_out])
        cpu = median([r.cpu for r, *_ in spread_out]) / m
        first = median([m / s for _, s, *_ in plugin[sides[0][0]]])
        summary.append(
            f"[zero latency] xdist -n {args.xdist}: {rate:.0f} requests/s ({rate / first:.2f}x one process), "
            f"CPU per request {1000 * cpu:.2f} ms ({cpu / raw_cpu:.2f}x raw; workers and controller)"
        )


def plugin_sides(args: argparse.Namespace) -> list[tuple[str, Path | None]]:
    """The plugins measured: this checkout's, and the ``--baseline`` checkout's when given."""
    sides: list[tuple[str, Path | None]] = [("plugin", None)]
    if args.baseline is not None:
        sides.append(("baseline plugin", args.baseline))
    return sides


def flights(tmp: Path, args: argparse.Namespace, http_name: str, rows: list[list[object]]) -> None:
    """Whether the asking side keeps the allowed requests in flight: for each latency (0 and ``--latency``) and each
    of ``--flight`` concurrencies, the plugin and the raw generator on ``--flight-m`` cases, interleaved, medians of
    ``--repeat``: requests/s over the network phase, the server's most and mean requests in flight, and the CPU
    per request of the thread that asks (the plugin's asking thread; the raw generator's one loop). With ``--xdist N``
    also the plugin under ``-n N``, each worker allowed C / N (its asking threads' CPU summed). The mean is the
    server's busy time over the phase, so it is left out at zero latency (the server answers as soon as it reads).
    """
    m = args.flight_m
    for latency in sorted({0.0, args.latency}):
        scenario = Scenario(tmp, args, None, f"flight-{latency:g}")
        scenario.server = fake_server_class()(models=(MODEL,), latency=latency)
        bodies = tmp / "flight-bodies.json"
        with scenario.server:
            scenario.plugin(min(m, 32), 16)  # warm-up, untimed
            for c in args.flight:
                sides = plugin_sides(args)
                measured: dict[str, list[tuple[float, int, float, float]]] = {name: [] for name, _ in sides}
                measured["raw generator"] = []
                spread_out = f"plugin -n {args.xdist}, {c // max(args.xdist, 1)} each"
                for attempt in range(max(1, args.repeat)):
                    for name, checkout in sides if attempt % 2 == 0 else sides[::-1]:
                        run, span, _ = scenario.plugin(m, c, baseline=checkout)
                        most, mean = in_flight(scenario.server)
                        measured[name].append((m / span, most, mean, scenario.asking_cpu(run) / m))
                    if args.xdist:  # the same allowed total, shared by the workers
                        _, span, _ = scenario.plugin(m, c // args.xdist, "-n", str(args.xdist))
                        most, mean = in_flight(scenario.server)
                        asking = scenario.threads.get(ASKER, 0.0) / m
                        measured.setdefault(spread_out, []).append((m / span, most, mean, asking))
                    if attempt == 0:
                        bodies.write_text(json.dumps(scenario.requests_seen()), encoding="utf-8")
                    _, span, _ = scenario.raw(bodies, http_name, c)
                    most, mean = in_flight(scenario.server)
                    measured["raw generator"].append((m / span, most, mean, scenario.raw_cpu / m))
                for client, runs in measured.items():
                    rows.append(
                        [
                            f"{1000 * latency:g} ms",
                            c,
                            client,
                            f"{median([r[0] for r in runs]):.0f}",
                            f"{c / latency:.0f}" if latency else "-",
                            max(r[1] for r in runs),
                            f"{median([r[2] for r in runs]):.1f}" if latency else "-",
                            f"{1000 * median([r[3] for r in runs]):.2f}",
                        ]
                    )


def startup(tmp: Path, args: argparse.Namespace, summary: list[str]) -> None:
    """The fixed cost of a live session: a few cases recorded live against the same cases replayed."""
    m = args.startup_m
    scenario = Scenario(tmp, args, None, "start-up")
    scenario.server = fake_server_class()(models=(MODEL,), latency=0.0)
    sides = plugin_sides(args)
    live: dict[str, list[Run]] = {name: [] for name, _ in sides}
    replay: list[Run] = []
    with scenario.server:
        for _, checkout in sides:
            scenario.plugin(m, args.concurrency, baseline=checkout)  # warm-up, untimed
        for attempt in range(max(3, args.repeat)):
            for name, checkout in sides if attempt % 2 == 0 else sides[::-1]:
                run, _, suite = scenario.plugin(m, args.concurrency, baseline=checkout)
                live[name].append(run)
            replay.append(checked(run_pytest(suite), "replay"))
    for name, _ in sides:
        wall = median([r.seconds for r in live[name]]) - median([r.seconds for r in replay])
        cpu = median([r.cpu for r in live[name]]) - median([r.cpu for r in replay])
        summary.append(
            f"[start-up, {m} cases, {name}] RATIO live - replay wall: {wall:+.2f}s (target <= 0.5s: "
            f"{'met' if wall <= 0.5 else 'MISSED'}); CPU {cpu:+.2f}s; live {spread([r.seconds for r in live[name]])}, "
            f"replay {spread([r.seconds for r in replay])} wall s"
        )


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--raw":
        raw_main(sys.argv[2:])
        return
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--m", "--n", dest="m", type=int, default=400, help="cases per run (default 400)")
    parser.add_argument("--latency", type=float, default=0.1, help="server seconds per request (default 0.1)")
    parser.add_argument("--concurrency", type=int, default=16, help="--llm-concurrency (default 16)")
    parser.add_argument("--capacity", type=int, default=8, help="the limited server's capacity (default 8)")
    parser.add_argument(
        "--sequential-m", type=int, default=40, help="cases of the sequential run, 0 for all M (default 40)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measurement (default 3)")
    parser.add_argument(
        "--zero-m", type=int, default=2000, help="cases against the zero-latency server, 0 to skip (default 2000)"
    )
    parser.add_argument("--startup-m", type=int, default=16, help="cases of the start-up comparison, 0 to skip")
    parser.add_argument("--skip-latency", action="store_true", help="only the zero-latency and start-up parts")
    parser.add_argument(
        "--xdist", type=int, default=0, help="also the plugin under xdist -n N (zero latency, in-flight part)"
    )
    parser.add_argument(
        "--flight",
        type=lambda text: [int(c) for c in text.split(",") if c],
        default=[16, 64],
        help="concurrencies of the in-flight part, comma-separated (default 16,64; empty to skip)",
    )
    parser.add_argument("--flight-m", type=int, default=1000, help="cases of each in-flight run (default 1000)")
    parser.add_argument("--only-flight", action="store_true", help="only the in-flight part")
    parser.add_argument(
        "--baseline",
        type=lambda text: Path(text).resolve(),
        help="another checkout (e.g. main's worktree): its plugin is measured too, interleaved (this interpreter, "
        "PYTHONPATH=PATH)",
    )
    args = parser.parse_args()
    http_name = http_module_name()
    if args.baseline is not None and not (args.baseline / "pytest_llmcmp").is_dir():
        sys.exit(f"--baseline: {args.baseline} is no checkout of pytest-llmcmp (no pytest_llmcmp/)")
    print(
        f"live benchmark: M={args.m}, latency {args.latency:g}s, concurrency {args.concurrency}, "
        f"HTTP library {http_name}, best of {args.repeat}; {load_note()}"
    )
    rows: list[list[object]] = []
    summary: list[str] = []
    zero_rows: list[list[object]] = []
    flight_rows: list[list[object]] = []
    with temp_dir("llmcmp-bench-live-") as tmp:
        if args.flight and args.flight_m:
            flights(tmp, args, http_name, flight_rows)
        if not args.only_flight:
            if not args.skip_latency:
                for capacity in (None, args.capacity):
                    measure(Scenario(tmp, args, capacity), http_name, rows, summary)
            if args.zero_m:
                zero_latency(tmp, args, http_name, zero_rows, summary)
            if args.startup_m:
                startup(tmp, args, summary)
    if rows:
        print()
        print(table(["server", "client", "wall s", "network phase s", "CPU s", "wall min/med/max"], rows))
    if zero_rows:
        print()
        print(f"zero-latency server, M={args.zero_m}, medians of {args.repeat}:")
        header = ["client", "wall s", "network phase s", "requests/s", "max in flight", "CPU s"]
        print(table([*header, "CPU ms/request", "pytest process ms/request", "wall min/med/max"], zero_rows))
    if flight_rows:
        print()
        print(f"requests in flight, M={args.flight_m}, medians of {args.repeat} (CPU: the asking thread's only):")
        header = ["latency", "concurrency", "client", "requests/s", "ideal requests/s", "max in flight"]
        print(table([*header, "mean in flight", "asking CPU ms/request"], flight_rows))
    print()
    print("\n".join(summary))
    print(f"({load_note()} at the end)")


if __name__ == "__main__":
    main()
