"""Live requests asked by a helper process, so that sending them does not share the pytest process's GIL.

At a fast endpoint the asking (``AsyncOpenAI``'s HTTP client on an event loop) and pytest (collecting, judging,
reporting, writing cassettes) take turns on one interpreter lock: neither runs at full speed, and fewer requests are
in flight than ``--llm-concurrency`` allows. :class:`AskingProcess` moves the asking into a ``python -c`` child (not
:mod:`multiprocessing`: its ``spawn`` would re-import whatever script started pytest) that runs the very
:class:`~pytest_llmcmp.client.Asker` the pytest process would run (retries, the shared 429 pause, the latency clock,
the request template), and the model listing too. It is started when a live session starts, so that its ``openai``
import happens while pytest collects; the pytest process never imports ``openai`` for the cases.

The protocol is pickle frames over the child's stdin (requests: an endpoint to open, a batch of bodies, a model
listing) and stdout (answers, in batches: whatever came in while the last batch was written). An answer comes back
without its request body (the pytest process still has it, and puts its own object back), so the cassettes are the
same bytes either way.

The child never outlives the session: it ignores SIGINT (a terminal's Ctrl-C reaches the whole process group; the
pytest process decides, and closes it), and ends when its stdin closes, which the kernel does when pytest exits,
however it exits (``kill -9`` too). If the child cannot start, the session asks in its own process (one line says
so); if it dies mid-run, the requests it had not answered fail with one line, and nothing half-done is recorded.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import functools
import itertools
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Final

from ..terminal import shown

if TYPE_CHECKING:
    from ..client import Answer, Endpoint

#: How long closing waits for the child to end by itself before it is killed (it cancels what is in flight first).
CLOSE_SECONDS: Final = 5.0
#: How long a first use waits for the child to have imported ``openai`` (on a loaded machine a second or more).
READY_SECONDS: Final = 60.0

# The child puts the directory holding this package first on its path: the plugin may have been found through a
# path the child would not know (a conftest's sys.path change, PYTHONPATH set inside the session).
_BOOT = "import sys; sys.path.insert(0, sys.argv[1]); from pytest_llmcmp.engine.remote import serve; serve()"


class HelperGone(Exception):
    """The asking process cannot be used (it did not start, or died); one line."""


class AskingProcess:
    """The session's asking helper: :meth:`asker` per endpoint, :meth:`list_models`, :meth:`close`.

    ``say`` writes one line on the terminal (the helper's death mid-run)."""

    def __init__(self, say: Callable[[str], None], urls: Sequence[str | None] = ()) -> None:
        """Start the child (it imports ``openai`` while the caller goes on); raises OSError if it cannot. ``urls``:
        the endpoints it will ask, so that it makes only the TLS contexts their clients use while it starts."""
        from ..readahead import python_executable
        from ..wire import trust_env_of

        python = python_executable()
        if python is None:
            raise OSError("no Python interpreter to start it with")
        self._say = say
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - the child's stderr, closed by close()
        package_parent = str(Path(__file__).resolve().parent.parent.parent)
        try:
            self._process = subprocess.Popen(
                [python, "-c", _BOOT, package_parent, "".join("1" if trust else "0" for trust in trust_env_of(urls))],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._stderr,
            )
        except BaseException:
            self._stderr.close()
            raise
        assert self._process.stdin is not None
        assert self._process.stdout is not None
        self._to: IO[bytes] = self._process.stdin
        self._write_lock = threading.Lock()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._pending: dict[int, tuple[concurrent.futures.Future[Any], Any, Callable[[Any], None] | None]] = {}
        self._ready: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._closing = False
        self._over = False  # the child's end was handled
        self.gone: str | None = None  # why it cannot be used any more
        self._receiver = threading.Thread(
            target=self._receive, args=(self._process.stdout,), name="llmcmp-asking-process", daemon=True
        )
        self._receiver.start()

    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def alive(self) -> bool:
        return self.gone is None and not self._closing

    # --- the caller's side ------------------------------------------------------------------------------------

    def wait_ready(self) -> None:
        """Wait until the child has started (imported ``openai``); raises :class:`HelperGone` if it did not."""
        try:
            self._ready.result(timeout=READY_SECONDS)
        except concurrent.futures.TimeoutError:
            self.gone = f"did not start within {READY_SECONDS:g}s"
            self._kill()
        except HelperGone:
            pass
        if self.gone is not None:
            raise HelperGone(self.gone)

    def list_models(self, endpoint: Endpoint) -> list[str]:
        """The endpoint's models (``client.list_models`` in the child): raises ``EndpointError`` as it does, or
        :class:`HelperGone` when the child cannot answer."""
        self.wait_ready()
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        number = self._register(future, None, None)
        self._send(("models", number, endpoint))
        result = _result(future)
        if isinstance(result, BaseException):
            raise result
        return list(result)

    def asker(self, endpoint: Endpoint, on_answer: Callable[[Answer], None] | None = None) -> RemoteAsker:
        """An asker of ``endpoint`` in the child (``client.Asker``'s interface); raises :class:`HelperGone`."""
        self.wait_ready()
        number = next(self._ids)
        self._send(("asker", number, endpoint))
        return RemoteAsker(self, number, on_answer)

    def _register(self, future: concurrent.futures.Future[Any], body: Any, on_answer: Any) -> int:
        number = next(self._ids)
        with self._lock:
            if self.gone is not None:
                raise HelperGone(self.gone)
            self._pending[number] = (future, body, on_answer)
        return number

    def _send(self, message: Any) -> None:
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        try:
            with self._write_lock:
                self._to.write(data)
                self._to.flush()
        except (OSError, ValueError):  # the child is gone (its death is seen by the receiver)
            self._ended()
            raise HelperGone(self.gone or "stopped") from None

    def close(self) -> None:
        """End the child: what is in flight is cancelled (its futures too), and the child is reaped."""
        with self._lock:
            if self._closing:
                return
            self._closing = True
            pending, self._pending = self._pending, {}
        for future, _, _ in pending.values():
            future.cancel()
        with contextlib.suppress(OSError, ValueError), self._write_lock:
            self._to.close()  # the child's end of input: it cancels its requests and exits
        try:
            self._process.wait(timeout=CLOSE_SECONDS)
        except subprocess.TimeoutExpired:
            self._kill()
        with contextlib.suppress(OSError, ValueError):
            self._process.stdout.close()  # type: ignore[union-attr]
        self._stderr.close()

    def _kill(self) -> None:
        with contextlib.suppress(OSError):
            self._process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._process.wait(timeout=CLOSE_SECONDS)

    # --- the receiving thread ---------------------------------------------------------------------------------

    def _receive(self, source: IO[bytes]) -> None:
        try:
            while True:
                message = pickle.load(source)
                kind = message[0]
                if kind == "ready":
                    self._ready.set_result(None)
                elif kind == "failed":
                    self.gone = f"could not start: {message[1]}"
                    break
                elif kind == "answers":
                    self._answered(message[1])
                elif kind == "models":
                    self._answered([(message[1], message[2])])
        except Exception:  # end of input (the child died or was closed), or a frame cut short
            pass
        self._ended()

    def _answered(self, answers: Sequence[tuple[int, Any]]) -> None:
        with self._lock:
            taken = [(self._pending.pop(number, None), answer) for number, answer in answers]
        for entry, answer in taken:
            if entry is None:
                continue  # cancelled meanwhile
            future, body, on_answer = entry
            if body is not None and answer.exchange is not None:
                # Sent back without its body: the pytest process puts its own object back, into the exchange just
                # unpickled, which nothing else holds (cheaper than a copy of it).
                object.__setattr__(answer.exchange, "request_body", body)
            if on_answer is not None:
                with contextlib.suppress(Exception):
                    on_answer(answer)
            if not future.done():
                future.set_result(answer)

    def _ended(self) -> None:
        """The child stopped talking: fail what it had not answered, and say so once (unless it was closed)."""
        with self._lock:
            if self._closing or self._over:
                return
            self._over = True
            if self.gone is None:
                self.gone = f"died ({self._exit()})"
            pending, self._pending = self._pending, {}
        if not self._ready.done():
            self._ready.set_exception(HelperGone(self.gone))
            return  # it never started: the caller asks in its own process
        from ..client import Answer
        from ..words import plural

        error = f"not answered: the asking process {self.gone}"
        asked = 0
        for future, body, on_answer in pending.values():
            if body is None:  # a model listing
                future.set_result(HelperGone(self.gone))
                continue
            asked += 1
            answer = Answer(error=error)
            if on_answer is not None:
                with contextlib.suppress(Exception):
                    on_answer(answer)
            if not future.done():
                future.set_result(answer)
        self._say(
            shown(
                f"llmcmp: the asking process (pid {self.pid}) {self.gone}; {plural(asked, 'request')} it had not "
                "answered failed, none of them recorded"
            )
        )

    def _exit(self) -> str:
        """How the child ended, in words, with the last line it wrote on stderr."""
        try:
            code = self._process.wait(timeout=2.0)
        except subprocess.TimeoutExpired:
            self._kill()
            code = self._process.returncode
        how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        with contextlib.suppress(OSError, ValueError):
            self._stderr.seek(0)
            lines = self._stderr.read()[-2000:].decode("utf-8", "replace").strip().splitlines()
            if lines:
                how += f": {lines[-1][:200]}"
        return how


class Asking:
    """Where a session's live requests and model listings go: its :class:`AskingProcess`, started once (early by
    :meth:`start`, else at the first use), or, when that is switched off or cannot start, the pytest process itself
    (``None`` from :meth:`asker` and :meth:`list_models`: the caller asks itself)."""

    def __init__(self, enabled: bool, say: Callable[[str], None], urls: Sequence[str | None] = ()) -> None:
        self.enabled = enabled
        self._say = say
        self._urls = list(urls)  # the endpoints the process will ask (their URLs as given, None if not known)
        self._process: AskingProcess | None = None
        self._lock = threading.Lock()
        self._notes: list[str] = []  # lines for the terminal, said by the main thread (:meth:`tell`)

    def _note(self, line: str) -> None:
        with self._lock:
            self._notes.append(line)

    def tell(self) -> None:
        """Write the lines that came up meanwhile (the process's death, seen by its receiving thread)."""
        if not self._notes:
            return
        with self._lock:
            notes, self._notes = self._notes, []
        for line in notes:
            self._say(line)

    def start(self) -> None:
        """Start the process now (it imports ``openai`` while the session goes on); nothing if it runs or is off."""
        with self._lock:
            if not self.enabled or self._process is not None:
                return
            try:
                self._process = AskingProcess(self._note, self._urls)
            except OSError as exc:
                self._give_up(f"could not start: {exc.strerror or exc}")

    def _usable(self) -> AskingProcess | None:
        self.start()
        process = self._process
        if process is None:
            return None
        try:
            process.wait_ready()
        except HelperGone as exc:
            with self._lock:
                if self._process is process:
                    self._process = None
                    self._give_up(str(exc))
            process.close()
            return None
        return process

    def _give_up(self, why: str) -> None:
        self.enabled = False
        self._notes.append(shown(f"llmcmp: asking in the pytest process: the asking process {why}"))

    def asker(self, endpoint: Endpoint, on_answer: Callable[[Answer], None] | None = None) -> RemoteAsker | None:
        """An asker of ``endpoint`` in the process, or ``None``: ask in this process."""
        process = self._usable()
        self.tell()
        if process is None:
            return None
        try:
            return process.asker(endpoint, on_answer)
        except HelperGone:
            return None  # it died just now: that was said, and this process asks

    def list_models(self, endpoint: Endpoint) -> list[str] | None:
        """The endpoint's models listed by the process (raising ``EndpointError`` as ``client.list_models`` does),
        or ``None``: list them in this process."""
        process = self._usable()
        self.tell()
        if process is None:
            return None
        try:
            return process.list_models(endpoint)
        except HelperGone:
            return None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def close(self) -> None:
        with self._lock:
            process, self._process = self._process, None
            self.enabled = False
        if process is not None:
            process.close()
        self.tell()


class RemoteAsker:
    """``client.Asker``'s interface for an asker that runs in the :class:`AskingProcess`."""

    def __init__(self, process: AskingProcess, number: int, on_answer: Callable[[Answer], None] | None) -> None:
        self._process = process
        self._number = number
        self._on_answer = on_answer

    def submit(self, body: dict[str, Any], sample: int) -> concurrent.futures.Future[Answer]:
        return self.submit_all([(body, sample)])[0]

    def submit_all(self, requests: Sequence[tuple[dict[str, Any], int]]) -> list[concurrent.futures.Future[Answer]]:
        """Queue the requests (one frame to the child); they start in this order."""
        futures: list[concurrent.futures.Future[Answer]] = []
        jobs = []
        for body, sample in requests:
            future: concurrent.futures.Future[Answer] = concurrent.futures.Future()
            try:
                number = self._process._register(future, body, self._on_answer)
            except HelperGone as exc:
                from ..client import Answer

                future.set_result(Answer(error=f"not asked: the asking process {exc}"))
                futures.append(future)
                continue
            futures.append(future)
            jobs.append((number, body, sample))
        if jobs:
            with contextlib.suppress(HelperGone):  # its death fails the registered futures, once
                self._process._send(("ask", self._number, jobs))
        return futures

    @property
    def alive(self) -> bool:
        return self._process.alive

    def close(self) -> None:
        """Stop asking: at the session's end, so the whole process goes (what is in flight is cancelled)."""
        self._process.close()


def _result(future: concurrent.futures.Future[Any]) -> Any:
    """The future's result, waiting in steps so that a Ctrl-C in the main thread is not held up."""
    while True:
        try:
            return future.result(timeout=0.5)
        except concurrent.futures.TimeoutError:
            continue


# --- the child ------------------------------------------------------------------------------------------------


def serve() -> None:
    """The child's main: answer frames from stdin until it closes, then end."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a terminal's Ctrl-C is the pytest process's to handle
    source, sink = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing else may write into the frames
    out = _Outbox(sink)
    try:
        from .. import client

        client.http_module()  # openai and its HTTP library: the second the pytest process no longer waits for
        for trust in sys.argv[2] if len(sys.argv) > 2 else "10":
            client._tls(trust == "1")  # the CA bundle read (50-120 ms each) before the first request, not during it
    except BaseException as exc:
        out.put_now(("failed", f"{type(exc).__name__}: {exc}"))
        return
    out.put_now(("ready",))
    askers: dict[int, Any] = {}
    try:
        while True:
            try:
                message = pickle.load(source)
            except (EOFError, OSError, pickle.UnpicklingError):
                break
            kind = message[0]
            if kind == "asker":
                askers[message[1]] = client.Asker(message[2])
            elif kind == "ask":
                asker = askers[message[1]]
                for number, body, sample in message[2]:
                    future = asker.submit(body, sample)
                    future.add_done_callback(functools.partial(out.answer, number))
            elif kind == "models":
                threading.Thread(target=_models, args=(out, message[1], message[2]), daemon=True).start()
    finally:
        for asker in askers.values():
            with contextlib.suppress(Exception):
                asker.close()
        os._exit(0)  # no waiting for daemon threads or buffered frames nobody reads


def _models(out: _Outbox, number: int, endpoint: Endpoint) -> None:
    from ..client import list_models

    try:
        result: Any = list_models(endpoint)
    except Exception as exc:  # EndpointError (one line) is handed on as itself
        result = exc
    out.put_now(("models", number, result))


class _Outbox:
    """The child's answers, written in batches by a thread of their own: what came in while the last was written."""

    def __init__(self, sink: IO[bytes]) -> None:
        self._sink = sink
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._waiting: list[tuple[int, Any]] = []
        self._wake = threading.Event()
        threading.Thread(target=self._run, name="llmcmp-answers", daemon=True).start()

    def answer(self, number: int, future: concurrent.futures.Future[Any]) -> None:
        if future.cancelled():
            return
        answer = future.result()
        if answer.exchange is not None:  # the pytest process has the body
            answer = dataclasses.replace(answer, exchange=dataclasses.replace(answer.exchange, request_body={}))
        with self._lock:
            self._waiting.append((number, answer))
        self._wake.set()

    def put_now(self, message: Any) -> None:
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        try:
            with self._write_lock:
                self._sink.write(data)
                self._sink.flush()
        except OSError:  # the pytest process is gone
            os._exit(0)

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            with self._lock:
                batch, self._waiting = self._waiting, []
            if batch:
                self.put_now(("answers", batch))
