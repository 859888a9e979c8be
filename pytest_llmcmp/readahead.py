"""Cassettes read ahead of the items, in a helper process on another CPU core.

A replay is mostly reading: every item's cassette is a YAML file to parse and check (about 0.2 ms with libyaml),
next to pytest's own work per item (about 0.7 ms) and judging the answer. When a replay-only session has many
items and the machine has a second core, the reading moves to a helper process: the main process sends it every
item's cassette and request keys in pytest's order, the helper reads them in that order and sends back only what
each item needs: its samples' answer texts and, when no plugin replaces the built-in extractor, what each answer
chose. The main process keeps everything else that involves hooks or pytest (building requests, judging,
reporting) and meanwhile runs the items already answered.

The helper is a plain ``python -c`` child, not :mod:`multiprocessing`, whose ``spawn`` re-imports the main script
of whatever started pytest. The protocol is pickle over the child's stdin and stdout: one list of jobs in (read
whole before any answer goes out, so neither side can block the other on a full pipe), then batches of outcomes
in job order. If the helper cannot start, dies or sends something else, the caller reads the remaining cassettes
itself: the helper only ever makes a replay faster, never different.

Whether the helper pays is measured as the replay goes, not assumed from the number of cores (on a busy machine the
second core is somebody else's): past its first batch, an item whose outcome has not come waits at most as long as
the main process takes to read a cassette itself (the mean of the reads it did), and then reads it itself. When it
had to read an eighth of a window of :data:`WINDOW` items itself (each of them read twice), the helper is falling
behind and is stopped.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Final

from .cassettes import Cassette, CassetteError, key_digest, recorded_answer
from .wire import Reply

if TYPE_CHECKING:
    from .answers import Extraction

#: Fewest cassettes worth a helper: it takes about 0.1 s to start, and saves the main process 0.2-0.5 ms per cassette.
MIN_JOBS: Final = 300
#: Outcomes the helper must have sent before the main process reads a late one itself: its first batch (until then
#: the helper is starting up, and waiting for it is the plan).
FIRST_BATCH: Final = 8
#: Items over which the reads the main process did itself are counted; an eighth of them and the helper is stopped
#: (each such cassette was read twice, once by each process).
WINDOW: Final = 64
#: What a cassette read in the main process is taken to cost before it has done one (seconds; 0.2-0.5 ms measured).
FIRST_GUESS: Final = 0.0004

#: One item: its cassette, the :func:`~pytest_llmcmp.cassettes.key_digest` of each sample's request keys (the keys a
#: recording of it may have, in order of preference), and the case's ``(numbers, ask, question)`` when the built-in
#: extractor decides (no plugin implements the hook), else ``None``.
Job = tuple[str, Sequence[Sequence[bytes]], tuple[Sequence[str], str, str] | None]
#: What the helper found for one job: ``(exists, [Reply or None per sample], [Extraction or None per sample])``
#: (``None``: nothing recorded for that sample; not extracted); a string when the cassette is unreadable (the
#: :class:`~pytest_llmcmp.cassettes.CassetteError` message); ``None`` when the caller should read it itself (the
#: helper failed, or met something unforeseen, which the main process then reports).
Found = tuple[bool, list["Reply | None"], list["Extraction | None"]] | str | None

#: :func:`reading`'s memory, by (answer, finish reason, numbers, ask, question); emptied when it holds
#: :data:`MAX_READINGS`.
_READINGS: dict[tuple[str, str | None, tuple[str, ...], str, str], Extraction] = {}
MAX_READINGS: Final = 4096

# The child puts the directory holding this package first on its path: the plugin may have been found through a
# path the child would not know (a conftest's sys.path change, PYTHONPATH set inside the session).
_BOOT = "import sys; sys.path.insert(0, sys.argv[1]); from pytest_llmcmp.readahead import serve; serve()"


def usable_cpus() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


def count_files(root: Path, suffix: str, limit: int) -> int:
    """How many ``*suffix`` files ``root`` holds (at any depth), counting no further than ``limit``."""
    found = 0
    for _folder, _dirs, files in os.walk(root):
        found += sum(name.endswith(suffix) for name in files)
        if found >= limit:
            break
    return found


def enough_recordings(root: Path) -> bool:
    """Whether the cassettes under ``root`` make a replay worth reading ahead (the count stops at ``MIN_JOBS``)."""
    return worth_it(count_files(root, ".yaml", MIN_JOBS))


def python_executable() -> str | None:
    """The interpreter to start the helper with, or None when ``sys.executable`` is not a Python (pytest embedded in
    another program names that program there, which must not be started again)."""
    name = (sys.executable or "").replace("\\", "/").rsplit("/", 1)[-1].lower()  # a Windows path too
    return sys.executable if name.startswith(("python", "pypy")) else None


def worth_it(jobs: int) -> bool:
    """Whether reading ``jobs`` cassettes ahead pays for the helper process."""
    return jobs >= MIN_JOBS and usable_cpus() >= 2 and python_executable() is not None


class ReadAhead:
    """A helper process reading cassettes in job order; :meth:`outcome` gives each job's result."""

    def __init__(self) -> None:
        """Start the helper (it imports while the caller prepares the jobs); raises OSError if it cannot."""
        python = python_executable()
        if python is None:
            raise OSError("no Python interpreter to start the helper with")
        package_parent = str(Path(__file__).resolve().parent.parent)
        self._process: subprocess.Popen[bytes] | None = subprocess.Popen(
            [python, "-c", _BOOT, package_parent],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self._outcomes: list[Found] = []
        self._jobs: list[Job | None] = []
        self._arrived = threading.Condition()
        self._receiver: threading.Thread | None = None
        self._ended = False  # the helper sent its last batch, died, or talked nonsense
        self._taken: set[int] = set()  # jobs the main process read itself before the helper's outcome came
        self._own_reads = 0
        self._own_seconds = 0.0
        self._window: list[bool] = []  # per item of the current window: whether the main process read it itself
        #: How the helper did: outcomes taken from it, cassettes the main process read itself, and why it was
        #: stopped early (None: it was not).
        self.served = 0
        self.read_here = 0
        self.stopped: str | None = None

    def send(self, jobs: list[Job]) -> None:
        """Hand over every job at once (call once); the helper's outcomes are then received as they come."""
        process = self._process
        if process is None:
            return
        assert process.stdin is not None
        self._jobs = list(jobs)
        try:
            pickle.dump(jobs, process.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            process.stdin.close()
        except OSError:  # the helper is gone
            self.close()
            return
        self._receiver = threading.Thread(target=self._receive, args=(process,), name="llmcmp-read-ahead", daemon=True)
        self._receiver.start()

    def _receive(self, process: subprocess.Popen[bytes]) -> None:
        """The receiving thread: batches of outcomes, in job order, until the helper ends."""
        assert process.stdout is not None
        try:
            while True:
                batch = pickle.load(process.stdout)
                if not isinstance(batch, list):
                    break
                with self._arrived:
                    start = len(self._outcomes)
                    self._outcomes.extend(batch)
                    for index in range(start, len(self._outcomes)):
                        if index in self._taken:  # read in the main process already: do not keep it
                            self._outcomes[index] = None
                    self._arrived.notify_all()
        except Exception:  # EOF, a broken pipe, or bytes that are no pickle: the helper is gone
            pass
        finally:
            with self._arrived:
                self._ended = True
                self._arrived.notify_all()

    def outcome(self, index: int) -> Found:
        """Job ``index``'s outcome: the helper's, or (when it is late past its first batch) read here; ``None`` if
        the helper failed (the caller then reads the cassette itself)."""
        with self._arrived:
            if self._receiver is None and self._process is not None and not self._jobs:
                return None  # never sent anything
            started = self._receiver is not None and len(self._outcomes) >= FIRST_BATCH
            budget = self._own_seconds / self._own_reads if self._own_reads else FIRST_GUESS
            deadline = time.monotonic() + budget
            while len(self._outcomes) <= index and not self._ended and self._process is not None:
                if not started:
                    self._arrived.wait()  # starting up: wait for the first batch, however long
                    started = len(self._outcomes) >= FIRST_BATCH
                    deadline = time.monotonic() + budget
                    continue
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._arrived.wait(left)
            if index < len(self._outcomes):
                found = self._outcomes[index]
                self._outcomes[index] = None  # taken once; do not keep every answer of the run twice
                late = False
            elif self._ended or self._process is None or index >= len(self._jobs) or self._jobs[index] is None:
                return None
            else:
                self._taken.add(index)
                late = True
            job = self._jobs[index] if index < len(self._jobs) else None
            if index < len(self._jobs):
                self._jobs[index] = None
        if late:
            assert job is not None
            found = self._read_here(job)
        else:
            self.served += found is not None
        self._judge(late)
        return found

    def _read_here(self, job: Job) -> Found:
        """A late job, read in this process (the same reading the helper does), timed."""
        began = time.perf_counter()
        found = read(*job)
        self._own_seconds += time.perf_counter() - began
        self._own_reads += 1
        self.read_here += 1
        return found

    def _judge(self, late: bool) -> None:
        """Stop the helper when the main process read an eighth of a window's items itself: it falls behind."""
        self._window.append(late)
        if len(self._window) < WINDOW:
            return
        late_ones = sum(self._window)
        self._window = []
        if 8 * late_ones >= WINDOW and self._process is not None:
            self.stopped = f"{late_ones} of {WINDOW} cassettes read here before the helper sent them"
            self.close()

    def close(self) -> None:
        """Stop the helper (at once: whatever it has not sent is read by the caller instead)."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.kill()
        process.wait()
        receiver = self._receiver
        if receiver is not None and receiver is not threading.current_thread():
            receiver.join(timeout=5.0)
        for pipe in (process.stdin, process.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()
        with self._arrived:
            self._ended = True
            self._outcomes = []
            self._jobs = []
            self._arrived.notify_all()


# --- the helper's side ----------------------------------------------------------------------------------------


def read(path: str, digests: Sequence[Sequence[bytes]], question: tuple[Sequence[str], str, str] | None) -> Found:
    """One job: what the cassette at ``path`` holds for each sample (the first of its digests recorded; the same
    checks as a replay in-process), and, given the case's ``(numbers, ask, question)``, what each recorded answer
    chose."""
    try:
        cassette = Cassette.load(Path(path))
    except CassetteError as exc:
        return exc.message
    except Exception:  # anything unforeseen: the main process reads it again and reports it as it would
        return None
    exists = len(cassette) > 0 or os.path.isfile(path)
    keys = {key_digest(key): key for key in cassette}
    found: list[Reply | None] = []
    for alternatives in digests:
        key = next((keys[digest] for digest in alternatives if digest in keys), None)
        found.append(None if key is None else recorded_answer(cassette.find_key(key), cassette.latency_key(key)))
    return exists, found, [_extract(recorded, question) for recorded in found]


def _extract(recorded: Reply | None, question: tuple[Sequence[str], str, str] | None) -> Extraction | None:
    if question is None or recorded is None or recorded.content is None:
        return None
    try:
        numbers, ask, asked = question
        return reading(recorded.content, recorded.finish_reason, numbers, ask, asked)
    except Exception:  # the main process asks the hook again, which reports it as usual
        return None


def reading(answer: str, finish_reason: str | None, numbers: Sequence[str], ask: str, question: str) -> Extraction:
    """The built-in reader's extraction of ``answer`` (what the built-in hook returns), remembered: a case's samples
    at temperature 0, or a case asked under several prompts, often repeat an answer word for word, and the reader is
    a pure function of these (an :class:`~pytest_llmcmp.answers.Extraction` is frozen). An error is not kept."""
    key = (answer, finish_reason, tuple(numbers), ask, question)
    found = _READINGS.get(key)
    if found is None:
        from .tasks import task_for

        found = task_for(ask).read(answer, numbers, ask, finish_reason, question)
        if len(_READINGS) >= MAX_READINGS:
            _READINGS.clear()
        _READINGS[key] = found
    return found


def serve(stdin: IO[bytes] | None = None, stdout: IO[bytes] | None = None) -> None:
    """The helper's loop: read all jobs, then answer them in order, 8 in the first batch, then 16 in each."""
    source = stdin if stdin is not None else sys.stdin.buffer
    sink = stdout if stdout is not None else sys.stdout.buffer
    try:
        _warm_up()  # while the main process is still collecting
        jobs: list[Job] = pickle.load(source)
        batch: list[Found] = []
        size = 8  # a small first batch: the first item is waiting for it
        for path, digests, question in jobs:
            batch.append(read(path, digests, question))
            if len(batch) >= size:
                _send(sink, batch)
                batch, size = [], 16
        _send(sink, batch)
    except (BrokenPipeError, EOFError, KeyboardInterrupt):
        pass  # the session stopped (or was interrupted): nobody is listening any more


def _warm_up() -> None:
    """Import and compile what reading and judging need (the extractor builds its patterns on first use)."""
    from .answers import extract_choice

    extract_choice("1 or 2", ("1", "2"), "larger")


def _send(sink: IO[bytes], batch: list[Any]) -> None:
    if batch:
        pickle.dump(batch, sink, protocol=pickle.HIGHEST_PROTOCOL)
        sink.flush()
