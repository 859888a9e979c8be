"""What the benchmark scripts share: generated suites, timed pytest subprocesses, the fake server, tables.

Every measured pytest session runs in its own subprocess (``-p no:cacheprovider -q``), so each run pays
interpreter start, plugin discovery and imports exactly as a user's run does. Peak memory is that one
child's ``ru_maxrss`` (from :func:`os.wait4`, the per-child form of ``getrusage(RUSAGE_CHILDREN)``, which
would report the maximum over every child waited for so far).
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
TESTS = REPO / "tests"
PYTHON = sys.executable

# Categories whose numbers the fake server's answerer reads as plain digits, so a recording run passes
# (it cannot read Chinese numerals, fractions or leading-zero tricks the way the truth does, and a failing
# case costs more to report, which would blur the figures). Mixed so that question lengths vary.
BENCH_CATEGORIES = (
    "decimal-trap",
    "trap-control",
    "shared-prefix",
    "integer-part",
    "long-integers",
    "negatives",
    "multi",
)
# Cases per generate entry: below generators.MAX_COUNT, and small enough that several categories are mixed.
CHUNK = 250


def fake_server_class() -> Any:
    """``tests/fakeserver.FakeServer`` (the tests directory is not a package)."""
    if str(TESTS) not in sys.path:
        sys.path.insert(0, str(TESTS))
    import importlib

    return importlib.import_module("fakeserver").FakeServer


def case_file_text(n: int, *, literal: bool = False, template: str = "en") -> str:
    """A case file of ``n`` cases: ``generate:`` entries, or (``literal``) the same cases written out."""
    entries = []
    left, index = n, 0
    while left > 0:
        count = min(CHUNK, left)
        category = BENCH_CATEGORIES[index % len(BENCH_CATEGORIES)]
        entries.append((category, 1000 + index, count))
        left -= count
        index += 1
    lines = [f"template: {template}", "tags: [bench]"]
    if not literal:
        lines.append("generate:")
        lines += [f"  - {{category: {c}, seed: {s}, count: {k}}}" for c, s, k in entries]
        return "\n".join(lines) + "\n"
    from pytest_llmcmp.generators import generate

    lines.append("cases:")
    for category, seed, count in entries:
        for raw in generate(category, seed, count):
            numbers = ", ".join(f'"{number}"' for number in raw.numbers)
            lines.append(f"  - {{id: {raw.id}, numbers: [{numbers}], ask: {raw.ask}, tags: [{category}]}}")
    return "\n".join(lines) + "\n"


def make_suite(root: Path, n: int, *, literal: bool = False) -> Path:
    """A project directory with ``pytest.ini`` and ``cases/bench.yaml`` holding ``n`` cases."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    (root / "cases").mkdir(exist_ok=True)
    (root / "cases" / "bench.yaml").write_text(case_file_text(n, literal=literal), encoding="utf-8")
    return root


def make_floor(root: Path, n: int) -> Path:
    """A project directory with ``n`` trivial parametrized tests: what pytest itself costs per test."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    (root / "test_floor.py").write_text(
        f'import pytest\n\n\n@pytest.mark.parametrize("i", range({n}))\ndef test(i):\n    pass\n',
        encoding="utf-8",
    )
    return root


@contextmanager
def temp_dir(prefix: str) -> Iterator[Path]:
    """A scratch directory, removed afterwards (unless ``LLMCMP_BENCH_KEEP`` is set, to look at it)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        if not os.environ.get("LLMCMP_BENCH_KEEP"):
            import shutil

            shutil.rmtree(path, ignore_errors=True)
        else:
            print(f"(kept {path})")


@dataclass(frozen=True)
class Run:
    """One finished subprocess: wall and CPU (user + system) seconds, peak resident memory (MiB), exit code,
    output. On a loaded machine the wall time mostly measures waiting for a core, the CPU time much less."""

    seconds: float
    cpu: float
    peak_mib: float
    returncode: int
    output: str


#: Bytecode (and pytest's rewritten modules) of measured runs go here, outside the checkout.
PYCACHE = Path(tempfile.gettempdir()) / "llmcmp-bench-pycache"


_PASSED = re.compile(r"(\d+) passed")


def passed(run: Run) -> int:
    """How many tests pytest's last summary line counts as passed."""
    found = _PASSED.findall(run.output)
    return int(found[-1]) if found else 0


def bench_env(**extra: str) -> dict[str, str]:
    """The environment of measured runs: no inherited pytest options, no API key, no CI switches.

    Bytecode is cached (in :data:`PYCACHE`) even where ``PYTHONDONTWRITEBYTECODE`` is set: a user's
    installed plugin has its ``.pyc`` files, and recompiling every module on every run would measure
    the compiler, not the plugin.
    """
    dropped = ("PYTEST_ADDOPTS", "LLMCMP_API_KEY", "OPENAI_API_KEY", "PYTHONDONTWRITEBYTECODE", "CI")
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    env.update(extra)
    return env


def one_cpu() -> None:
    """Pin the calling process (and what it starts) to its first allowed CPU."""
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def run_process(argv: Sequence[str], cwd: Path, env: dict[str, str] | None = None, *, pinned: bool = False) -> Run:
    """Run ``argv`` to completion, timing it and reading its own peak RSS (``pinned``: on one CPU)."""
    with tempfile.TemporaryFile() as out:
        started = time.perf_counter()
        proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=env or bench_env(),
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=one_cpu if pinned else None,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode("utf-8", "replace")
    # Linux reports ru_maxrss in KiB, macOS in bytes.
    peak = usage.ru_maxrss / (1024 * 1024) if sys.platform == "darwin" else usage.ru_maxrss / 1024
    return Run(seconds, usage.ru_utime + usage.ru_stime, peak, proc.returncode, text)


def run_pytest(cwd: Path, *args: str, env: dict[str, str] | None = None, pinned: bool = False) -> Run:
    """``python -m pytest -p no:cacheprovider -q ARGS`` in ``cwd`` (``pinned``: on one CPU)."""
    return run_process([PYTHON, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args], cwd, env, pinned=pinned)


def checked(run: Run, what: str, expect: Callable[[Run], bool] = lambda r: r.returncode == 0) -> Run:
    """``run``, or exit with its output when it did not do what a benchmark run must do."""
    if not expect(run):
        tail = "\n".join(run.output.splitlines()[-30:])
        sys.exit(f"{what} failed (exit {run.returncode}):\n{tail}")
    return run


@dataclass(frozen=True)
class Best:
    """Repeated runs of one session: the fastest wall time and the least CPU time (each over every run)."""

    runs: tuple[Run, ...]

    @property
    def seconds(self) -> float:
        return min(run.seconds for run in self.runs)

    @property
    def cpu(self) -> float:
        return min(run.cpu for run in self.runs)

    @property
    def peak_mib(self) -> float:
        return max(run.peak_mib for run in self.runs)

    @property
    def walls(self) -> list[float]:
        return [run.seconds for run in self.runs]

    @property
    def last(self) -> Run:
        return self.runs[-1]


def best_of(repeat: int, measure: Callable[[], Run]) -> Best:
    """Run ``measure`` ``repeat`` times (best-of fights the noise of a shared machine)."""
    return Best(tuple(measure() for _ in range(max(1, repeat))))


def spread(times: Sequence[float]) -> str:
    """``min/median/max`` of a list of timings, for the noise column."""
    return f"{min(times):.2f}/{statistics.median(times):.2f}/{max(times):.2f}"


def load_note() -> str:
    """The machine's load, to print beside figures measured on a shared box."""
    try:
        one, five, _ = os.getloadavg()
    except OSError:
        return "load average unknown"
    return f"{os.cpu_count()} CPUs, load average {one:.1f} (1 min) / {five:.1f} (5 min)"


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain aligned text table (also valid Markdown)."""
    cells = [[str(c) for c in header], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["| " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) + " |" for row in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)
