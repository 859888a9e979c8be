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
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from _common import (
    PYTHON,
    Best,
    Run,
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
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        took = time.perf_counter() - started
    print(json.dumps({"seconds": took, "failures": failures}))


def raw_main(argv: list[str]) -> None:
    """``--raw HTTP_MODULE URL BODIES_JSON CONCURRENCY``: send every body once, print the time as JSON."""
    http_name, url, bodies, concurrency = argv
    requests = [(r["body"], r["sample"]) for r in json.loads(Path(bodies).read_text(encoding="utf-8"))]
    asyncio.run(_raw_load(http_name, url, requests, int(concurrency)))


# --- the measuring side ---


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

    def __init__(self, tmp: Path, args: argparse.Namespace, capacity: int | None) -> None:
        self.tmp = tmp
        self.args = args
        self.capacity = capacity
        self.server: Any = fake_server_class()(models=(MODEL,), latency=args.latency, capacity=capacity)
        self.runs = 0

    def label(self) -> str:
        return "unlimited" if self.capacity is None else f"capacity {self.capacity}"

    def ideal(self, m: int, concurrency: int) -> float:
        width = concurrency if self.capacity is None else min(concurrency, self.capacity)
        return float(m * self.args.latency / width)

    def fresh_suite(self, m: int) -> Path:
        self.runs += 1
        suite = self.tmp / f"{self.label().replace(' ', '-')}-{self.runs}"
        shutil.rmtree(suite, ignore_errors=True)
        return make_suite(suite, m)

    def plugin(self, m: int, concurrency: int) -> tuple[Run, float, Path]:
        """A recording session of ``m`` fresh cases: its run, its network span, its suite directory."""
        suite = self.fresh_suite(m)
        self.server.clear()
        run = run_pytest(
            suite,
            "--llm-endpoint",
            self.server.url,
            "--llm-record-mode",
            "all",
            "--llm-concurrency",
            str(concurrency),
        )
        checked(run, f"recording {m} cases ({self.label()})")
        if len(self.server.chat_requests) != m:
            sys.exit(f"expected {m} chat requests, the server saw {len(self.server.chat_requests)}")
        return run, network_span(self.server), suite

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
    args = parser.parse_args()
    http_name = http_module_name()
    print(
        f"live benchmark: M={args.m}, latency {args.latency:g}s, concurrency {args.concurrency}, "
        f"HTTP library {http_name}, best of {args.repeat}; {load_note()}"
    )
    rows: list[list[object]] = []
    summary: list[str] = []
    with temp_dir("llmcmp-bench-live-") as tmp:
        for capacity in (None, args.capacity):
            measure(Scenario(tmp, args, capacity), http_name, rows, summary)
    print()
    print(table(["server", "client", "wall s", "network phase s", "CPU s", "wall min/med/max"], rows))
    print()
    print("\n".join(summary))
    print(f"({load_note()} at the end)")


if __name__ == "__main__":
    main()
