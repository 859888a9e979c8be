"""Seconds per answer of the local llama.cpp server (``--llm-endpoint local``) by its thread count.

One server per thread count, all started before the first request and idle but for the one request in flight;
requests go one at a time, interleaved (round r asks every server the same request, in an order that rotates each
round), so that outside load hits every thread count alike. The requests are the recorded ones of the shipped
cassettes (system prompt, question, temperature 0, max_tokens 128), a fixed sample of them; with ``--json`` each
comparison also carries --llm-endpoint local's ``response_format`` (``json_object`` with a schema whose enum is the
question's first two numbers and "equal"). Prints the
median and total seconds per answer for each thread count, and the load average before and after.

    python bench/local_threads.py [--threads 1,2] [--requests 24] [--json] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pytest_llmcmp import wire  # noqa: E402
from pytest_llmcmp.cassettes import Cassette  # noqa: E402
from pytest_llmcmp.engine.backends import LocalBackend  # noqa: E402
from pytest_llmcmp.local import LocalServer  # noqa: E402


def recorded_requests(count: int, seed: int, structured: bool) -> list[dict[str, object]]:
    """``count`` request bodies of the shipped cassettes, drawn with ``seed`` evenly from the three prompts."""
    bodies: list[dict[str, object]] = []
    folders = sorted((ROOT / "cassettes" / "SmolLM2-135M-Instruct.Q4_1").iterdir())
    rng = random.Random(seed)
    for index in range(count):  # grouped by prompt, as --llm-endpoint local sends them (its prefix cache)
        files = sorted(folders[index * len(folders) // count].glob("*.yaml"))
        body = dict(Cassette.load(rng.choice(files)).request_bodies()[0])
        if structured and len(body["messages"]) and "order" not in json.dumps(body["messages"][-1]).lower():
            numbers = _numbers(body)
            if numbers:
                body["response_format"] = LocalBackend.response_format(wire.answer_format([*numbers, "equal"]))
        bodies.append(body)
    return bodies


def _numbers(body: dict[str, object]) -> list[str]:
    import re

    question = str(body["messages"][-1]["content"])  # type: ignore[index]
    return re.findall(r"-?\d[\d.,]*", question)[:2]


def ask(url: str, body: dict[str, object]) -> float:
    request = urllib.request.Request(
        f"{url}/chat/completions", json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    started = time.monotonic()
    with opener.open(request, timeout=600) as response:
        json.load(response)
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", default="1,2", help="thread counts, comma-separated (default 1,2)")
    parser.add_argument("--requests", type=int, default=24, help="requests per thread count (default 24)")
    parser.add_argument("--json", action="store_true", help="ask with --llm-endpoint local's response_format")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    counts = [int(t) for t in args.threads.split(",")]
    bodies = recorded_requests(args.requests, args.seed, args.json)
    print(f"cpu_count {os.cpu_count()}, load average before {os.getloadavg()}")
    servers = {t: LocalServer(threads=t) for t in counts}
    for server in servers.values():
        server.start()
    try:
        seconds: dict[int, list[float]] = {t: [] for t in counts}
        for round_index, body in enumerate(bodies):
            body = {**body, "model": servers[counts[0]].model}
            order = counts[round_index % len(counts) :] + counts[: round_index % len(counts)]
            for t in order:
                seconds[t].append(ask(servers[t].url, body))
        for t in counts:
            s = seconds[t]
            print(
                f"threads {t}: {len(s)} answers, median {statistics.median(s):.2f} s, "
                f"p90 {sorted(s)[int(0.9 * (len(s) - 1))]:.2f} s, max {max(s):.2f} s, "
                f"total {sum(s):.1f} s ({len(s) / sum(s):.2f} answers/s)"
            )
    finally:
        for server in servers.values():
            server.stop()
    print(f"load average after {os.getloadavg()}")


if __name__ == "__main__":
    main()
