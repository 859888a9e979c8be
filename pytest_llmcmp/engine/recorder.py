"""Recording: the asker (live requests, all submitted at once) and the writer threads (a case's cassette written as
soon as all its samples are in). Small interface: :meth:`Recorder.submit`, :meth:`Recorder.wait`,
:meth:`Recorder.stop`, and the counters the progress line and the summary show."""

from __future__ import annotations

import concurrent.futures
import dataclasses
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..cassettes import Cassette, CassetteError, Exchange, check_inside, stable_response
from ..redaction import api_keys
from .plan import Plan

if TYPE_CHECKING:
    from ..client import Answer, Asker
    from .backends import Backend
    from .remote import Asking, RemoteAsker


#: Threads writing cassettes. Each item waits for its cassette to be on disk, and a write is mostly its fsync (10-12
#: ms of wall time here, against about 1 ms of CPU), which one thread did one at a time. Several fsyncs at once cost
#: no more (measured: 300 saves, 3.3-6.8 ms each on one thread, 0.9-3.4 ms with 2 to 8).
WRITERS = 4


class Recorder:
    """Asks a backend for the samples of plans and writes their cassettes, off the pytest thread."""

    def __init__(
        self,
        cassette_root: Path,
        record_mode: str,
        ready: Callable[[], Backend],
        on_progress: Callable[[], None] = lambda: None,
        record_latency: bool = False,
    ) -> None:
        self.cassette_root = cassette_root
        self.record_latency = record_latency  # --llm-record-latency: each answer's seconds go into its cassette
        self.record_mode = record_mode
        self._ready = ready  # the backend, started and checked (called once, before the first request)
        #: Other runners sharing this endpoint (their models): started and checked too, before the first request.
        self.ready_too: list[Callable[[], Backend]] = []
        self._on_progress = on_progress
        self._asker: Asker | RemoteAsker | None = None
        #: The session's asking process (:mod:`.remote`), when it may ask; else this process asks.
        self.asking: Asking | None = None
        self._recorded_url: tuple[str, str] | None = None  # (the backend's URL, the URL recorded instead)
        self._asker_lock = threading.Lock()
        self._writer: concurrent.futures.ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._writing: dict[Path, threading.Lock] = {}  # one lock per cassette: its writes stay in order
        self._inside: set[Path] = set()  # the directories already found inside the cassette root (_check_inside)
        # The arguments of a KeyboardInterrupt the session's signal handler raised: a wait raises it again, in case
        # it was raised inside a finalizer and dropped (see LlmSession._on_signal).
        self.interrupted: tuple[str, ...] | None = None
        self.saved: list[Path] = []  # the cassettes this session wrote
        self.asked = 0
        self.answered = 0
        self.failed_requests = 0
        self.live_started: float | None = None

    @property
    def alive(self) -> bool:
        return self._asker is not None and self._asker.alive

    def warm(self) -> None:
        """A live request is coming: start the asking process now, if there is one to start (it imports openai
        while the rest of the run is planned)."""
        if self.asking is not None and self._asker is None:
            self.asking.start()

    def _ensure_asker(self) -> Asker | RemoteAsker:
        with self._asker_lock:
            if self._asker is None:
                backend = self._ready()
                for also in self.ready_too:
                    also()
                if backend.recorded_url is not None and backend.url:
                    self._recorded_url = (backend.url.rstrip("/"), backend.recorded_url.rstrip("/"))
                endpoint = backend.endpoint()
                asker: Asker | RemoteAsker | None = None
                if self.asking is not None:
                    asker = self.asking.asker(endpoint, self._count)
                if asker is None:
                    from ..client import Asker

                    asker = Asker(endpoint, on_answer=self._count)
                self._asker = asker
                self.live_started = time.monotonic()
                return asker
            return self._asker

    def _count(self, answer: Answer) -> None:
        with self._lock:
            self.answered += 1
            if answer.error is not None:
                self.failed_requests += 1

    def submit(self, plan: Plan) -> None:
        """Ask every sample the plan still needs; its cassette is written when the last one is in."""
        self.submit_all([plan])

    def submit_all(self, plans: list[Plan]) -> None:
        """Ask every sample the plans still need, in their order (one hand-over to the asker for all); each plan's
        cassette is written when its last sample is in."""
        if not plans:
            return
        asker = self._ensure_asker()
        wanted = [(plan, plan.pending) for plan in plans]
        futures = iter(asker.submit_all([(plan.sent or plan.body, s) for plan, pending in wanted for s in pending]))
        with self._lock:
            self.asked += sum(len(pending) for _, pending in wanted)
        for plan, pending in wanted:
            plan.saved = concurrent.futures.Future()
            for sample in pending:
                plan.futures[sample] = next(futures)
            self._when_done(plan, len(pending))

    def _when_done(self, plan: Plan, pending: int) -> None:
        """Write the plan's cassette once its ``pending`` futures are done."""
        remaining = [pending]

        def on_done(_: concurrent.futures.Future[Answer]) -> None:
            with self._lock:
                remaining[0] -= 1
                last = remaining[0] == 0
            if last:
                self._write_later(plan)

        for future in plan.futures.values():
            future.add_done_callback(on_done)

    def wait(self, future: concurrent.futures.Future[Any], gone: Any) -> Any:
        """The future's result; ``gone`` if nothing can answer it any more (the asker stopped)."""
        while True:
            try:
                result = future.result(timeout=0.5)
            except concurrent.futures.TimeoutError:
                if self.interrupted is not None:
                    raise KeyboardInterrupt(*self.interrupted) from None
                self._on_progress()
                if not self.alive and not future.done():
                    return gone  # nothing will ever answer (the session is stopping): give up, do not hang
            else:
                return result

    def stop(self) -> None:
        """Cancel what is in flight; every answer that came in is on disk when this returns."""
        if self._asker is not None:
            self._asker.close()
            self._asker = None
        if self._writer is not None:
            self._writer.shutdown(wait=True)
            self._writer = None

    def _write_later(self, plan: Plan) -> None:
        # Cassettes are written on a thread of their own: on the asker's event loop, a write (and its fsync) would
        # hold up every request in flight.
        with self._lock:
            if self._writer is None:
                self._writer = concurrent.futures.ThreadPoolExecutor(WRITERS, thread_name_prefix="llmcmp-cassettes")
            writer = self._writer
        try:
            writer.submit(self._save, plan)
        except RuntimeError:  # the session is shutting down: write it here rather than lose it
            self._save(plan)

    def _save(self, plan: Plan) -> None:
        """Write the case's cassette once all its samples are in (on a writer thread)."""
        assert plan.saved is not None
        with self._lock:
            writing = self._writing.setdefault(plan.path, threading.Lock())
        try:
            with writing:  # a cassette is read, added to and written by one thread at a time
                self._write(plan)
            plan.saved.set_result(None)
        except (CassetteError, OSError) as exc:
            plan.saved.set_result(f"the recording was not saved: {exc}")
        except BaseException as exc:  # never leave the item waiting forever
            plan.saved.set_result(f"the recording was not saved: {type(exc).__name__}: {exc}")

    def _write(self, plan: Plan) -> None:
        exchanges: list[Exchange] = []
        for sample in sorted(plan.futures):
            future = plan.futures[sample]
            if future.cancelled():
                continue
            answer = future.result()
            if answer.exchange is not None:
                exchange = answer.exchange
                if plan.sent is not None:
                    # Recorded under the model's name here, not the server's path to its file: the cassette is the
                    # same on every machine, and the response's echo of that path goes the same way.
                    response = exchange.response_body
                    if response.get("model") == plan.sent.get("model"):
                        response = {**response, "model": plan.body.get("model")}
                    exchange = dataclasses.replace(exchange, request_body=plan.body, response_body=response)
                if self.record_latency:
                    exchange = dataclasses.replace(exchange, latency=answer.seconds)
                exchanges.append(self._stable(exchange))
        if not exchanges:
            return
        if plan.cassette is not None:
            cassette = plan.cassette
        elif self.record_mode == "all":
            # Re-recording replaces what this run asked (same request and sample); the cassette's other recordings
            # (other samples, other settings) stay. An unreadable file is replaced whole: that is the remedy for it.
            try:
                cassette = Cassette.load(plan.path)
            except CassetteError:
                cassette = Cassette(plan.path)
        else:
            cassette = Cassette.load(plan.path)
        self._check_inside(plan.path)
        for exchange in exchanges:
            if plan.legacy is not None:  # re-recorded with the default max_tokens: the older recording goes
                cassette.discard(plan.legacy, exchange.sample)
            cassette.add(exchange, owned=True)  # the plan's request and the answer's response: neither changes
        cassette.save(secrets=api_keys())  # the shared key and every named endpoint's
        with self._lock:
            self.saved.append(plan.path)

    def _check_inside(self, path: Path) -> None:
        """:func:`~pytest_llmcmp.cassettes.check_inside`, once per directory: the directories of a run's cassettes
        are few (one per model and prompt), its cassettes many, and resolving both paths took 15 ``lstat`` calls
        per cassette. A cassette that is itself a symlink is resolved again."""
        folder = path.parent
        if folder in self._inside and not os.path.islink(path):
            return
        check_inside(self.cassette_root, path)
        with self._lock:
            self._inside.add(folder)

    def _stable(self, exchange: Exchange) -> Exchange:
        """The exchange as it is recorded: nothing that changes from one request to the next (the response's id,
        creation time and fingerprint; the local server's random port), so that the same answer is the same file."""
        uri = exchange.uri
        if self._recorded_url is not None:
            actual, recorded = self._recorded_url
            if uri == actual or uri.startswith(actual + "/"):
                uri = recorded + uri[len(actual) :]
        return dataclasses.replace(exchange, uri=uri, response_body=stable_response(exchange.response_body))
