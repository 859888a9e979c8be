"""CPU time of each thread of a measured pytest session, for the benchmarks (``-p _threadclock``, with this
directory on ``PYTHONPATH`` and ``LLMCMP_BENCH_THREADS`` naming a directory: each process writes ``PID.json``
there, xdist's workers too).

Every thread started after this module is imported (pytest imports ``-p`` plugins before any of the plugin's
threads exist) adds its ``time.thread_time()`` at its end to the total of its name (numbered suffixes of pool
threads dropped); the main thread's is taken at exit. The file is written at interpreter exit: ``{name: seconds}``.
Nothing here changes what the session does; the cost is one function call per thread.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import threading
import time

_OUT = os.environ.get("LLMCMP_BENCH_THREADS")
_totals: dict[str, float] = {}
_lock = threading.Lock()
_run = threading.Thread.run


def _name(thread: threading.Thread) -> str:
    return re.sub(r"(_\d+|-\d+)$", "", thread.name)


def _timed_run(self: threading.Thread) -> None:
    try:
        _run(self)
    finally:
        spent = time.thread_time()
        with _lock:
            _totals[_name(self)] = _totals.get(_name(self), 0.0) + spent


def _write() -> None:
    spent = time.thread_time()
    with _lock:
        totals = {**_totals, "MainThread": _totals.get("MainThread", 0.0) + spent}
    if _OUT:
        with open(os.path.join(_OUT, f"{os.getpid()}.json"), "w", encoding="utf-8") as out:
            json.dump(totals, out)


if _OUT:
    threading.Thread.run = _timed_run  # type: ignore[method-assign]
    atexit.register(_write)
