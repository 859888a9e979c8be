"""A loopback OpenAI-compatible chat server with fault injection, for tests and benchmarks.

Standard library only. It stands in for the model in the plugin's tests (pytester sessions point
``--llm-endpoint`` at :attr:`FakeServer.url`) and in ``bench/live.py``.

Public API
==========

``FakeServer(*, models=("fake-model",), api_key=None, answer=correct_answer, faults=None,
model_faults=None, latency=0.0, capacity=None, out_of_order=False, jitter=0.05, seed=0,
gzip=False, host="127.0.0.1", port=0)``

- ``with FakeServer(...) as server:`` starts it in a background thread (``start()``/``stop()`` do the
  same by hand; ``stop()`` is idempotent and returns within about a second even with stalled
  requests in flight, whose connections are then dropped without an answer).
- ``server.url`` is the base URL ending in ``/v1`` (e.g. ``http://127.0.0.1:41234/v1``);
  ``server.port``, ``server.host``.
- Endpoints: ``GET /v1/models``, ``GET /v1/models/{id}``, ``POST /v1/chat/completions`` (plain JSON,
  or SSE when the request has ``"stream": true``; ``n`` and ``stream_options.include_usage`` are
  honoured). HTTP/1.1 keep-alive; any number of concurrent connections (a thread each).
- ``api_key``: when set, a request without ``Authorization: Bearer <api_key>`` gets 401 with an
  OpenAI-style error body (``code: "invalid_api_key"``). An unknown ``model`` gets 404 with
  ``code: "model_not_found"``; a missing one or an unparsable request body gets 400.
- ``answer(request_json) -> str``: the assistant content. The default, :func:`correct_answer`,
  answers the comparison question in the last user message correctly ("13.8更大。",
  "The larger is 13.8."). If ``answer`` raises, the client gets 500 and the exception is kept in
  ``server.errors``.
- ``faults`` (chat completions) and ``model_faults`` (``/v1/models``) choose a :class:`Fault` per
  request, or ``None`` for a normal answer. Accepted forms:

  * a :class:`Fault`: every request gets it;
  * a mapping ``{index: Fault}``: a schedule by request index;
  * a callable ``(index, request_json) -> Fault | None``;
  * :class:`FaultRate` ``(rate, fault, seed=0)``: each request (by body and attempt) draws the fault
    with probability ``rate``, reproducibly for a given seed;
  * :class:`FailFirst` ``(attempts, fault=Fault.http(503))``: the first ``attempts`` tries of the
    same request fail, later ones are answered (the "retry then succeed" pattern).

  ``index`` is the 0-based arrival position among requests to the same endpoint. Requests are
  "the same" when their canonical JSON body and their ``X-Llmcmp-Sample`` header are equal;
  :attr:`RequestRecord.attempt` counts them. Auth and model checks come before faults.
  Fault choosers are called one at a time (under a lock), so they need not be thread-safe.
- :class:`Fault` constructors: ``Fault.http(status, message=None, retry_after=None)`` (500/502/503
  ...), ``Fault.rate_limit(retry_after=None)`` (429, ``Retry-After`` header when given, in seconds),
  ``Fault.reset(fraction=0.5)`` (headers and part of the body, then a TCP RST),
  ``Fault.stall(seconds)`` (wait, then answer normally), ``Fault.malformed_json()``,
  ``Fault.truncated(wrong_length=False)`` (half the body; Content-Length either matches what is
  sent or claims the full body and the connection closes), ``Fault.empty_choices()``
  (``choices: []``), ``Fault.null_content()`` (``content: null``),
  ``Fault.slow(delay=0.05, chunk_size=16)`` (the body, or each SSE event, sent in pieces with a
  pause between them).
- Load shaping (chat completions only): ``latency`` seconds before each answer; ``capacity``
  requests processed at once, the rest queue; ``out_of_order=True`` adds a seeded random
  ``0..jitter`` seconds per request so answers complete out of arrival order.
- ``max_tokens`` in a request cuts a longer answer to about that many tokens (4 characters each, the same
  rough count as ``usage``) with ``finish_reason: "length"``, as a real server does.
- ``response_format`` (``--llm-answer-format json``): ``"honour"`` (default) answers a request carrying a
  ``json_schema`` with one enum field as a constrained server does, ``{"answer": "13.8"}`` (see
  :func:`constrained`); ``"ignore"`` answers in free text as a server without support may; ``"reject"`` refuses
  such a request with 400 naming ``response_format``, as OpenAI, vLLM and llama.cpp's server do when unsupported;
  ``"json-object"`` speaks llama-cpp-python's dialect (0.3.x): ``{"type": "json_object", "schema": ...}`` is
  honoured, any other type gets its HTTP 500 validation error ("Input should be 'text' or 'json_object'").
- ``server.set_cookie = "name=value; Path=/"``: every JSON response carries that ``Set-Cookie`` header (``None``,
  the default: none), as a load balancer's sticky session does.
- ``gzip=True``: non-streaming responses are gzip-compressed (``Content-Encoding: gzip``) unless the
  request's ``Accept-Encoding`` excludes gzip.
- Introspection (thread-safe snapshots): ``server.requests`` (list of :class:`RequestRecord`:
  ``seq, index, method, path, headers`` (lower-case names), ``body, json, time`` (monotonic),
  ``attempt, fault, status, finished``), ``server.chat_requests``, ``server.hits`` (``{path: count}``),
  ``server.connections`` (TCP connections accepted), ``server.in_flight``, ``server.max_in_flight``,
  ``server.errors``; ``server.clear()`` forgets requests, hits and attempt counts.
- ``server.answer`` may be reassigned and ``server.set_faults(faults, model_faults=None)`` called
  while the server runs; both take effect from the next request.

Command line (manual runs, or a server in another process for benchmarks):
``python tests/fakeserver.py --port 23333 --api-key internlm2 [--model M ...] [--latency S]
[--capacity N] [--out-of-order] [--gzip] [--response-format honour|ignore|reject]`` prints
``fake OpenAI-compatible server at <url>`` on its first line and serves until interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip as gzip_module
import hashlib
import http
import json
import random
import re
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal, Protocol, runtime_checkable

__all__ = [
    "Answerer",
    "FailFirst",
    "FakeServer",
    "Fault",
    "FaultKind",
    "FaultPolicy",
    "FaultRate",
    "RequestRecord",
    "correct_answer",
]

JSONObject = dict[str, Any]
Answerer = Callable[[JSONObject], str]

FaultKind = Literal["http", "reset", "stall", "malformed_json", "truncated", "empty_choices", "null_content", "slow"]

CHAT_PATH = "/v1/chat/completions"
MODELS_PATH = "/v1/models"
SAMPLE_HEADER = "x-llmcmp-sample"

# How long stop() waits for handler threads to notice the shutdown before giving up on them.
_STOP_JOIN_BUDGET = 1.0
_POLL = 0.01


@dataclass(frozen=True)
class Fault:
    """One injected misbehaviour for one request; build it with the class methods."""

    kind: FaultKind
    status: int = 200
    message: str = ""
    retry_after: float | None = None
    seconds: float = 0.0
    chunk_size: int = 16
    fraction: float = 0.5
    wrong_length: bool = False

    @classmethod
    def http(cls, status: int, message: str | None = None, retry_after: float | None = None) -> Fault:
        """An error status (4xx/5xx) with an OpenAI-style error body; ``Retry-After`` if given."""
        if not 400 <= status <= 599:
            raise ValueError(f"an HTTP error fault needs a 4xx or 5xx status, not {status}")
        text = message if message is not None else f"fake server error {status}"
        return cls("http", status=status, message=text, retry_after=retry_after)

    @classmethod
    def rate_limit(cls, retry_after: float | None = None) -> Fault:
        """429 Too Many Requests, with a ``Retry-After`` header (seconds) when ``retry_after`` is given."""
        return cls.http(429, "Rate limit reached for requests", retry_after=retry_after)

    @classmethod
    def reset(cls, fraction: float = 0.5) -> Fault:
        """Send the headers and ``fraction`` of the body, then reset the connection (RST)."""
        return cls("reset", fraction=fraction)

    @classmethod
    def stall(cls, seconds: float) -> Fault:
        """Wait ``seconds`` (or until the server stops) before answering normally."""
        return cls("stall", seconds=seconds)

    @classmethod
    def malformed_json(cls) -> Fault:
        """Status 200 with a body that is not valid JSON (for streams: one broken SSE event)."""
        return cls("malformed_json")

    @classmethod
    def truncated(cls, wrong_length: bool = False) -> Fault:
        """Half of a valid body. With ``wrong_length`` the headers promise the whole body and the
        connection closes early; otherwise the message is complete but its JSON is cut."""
        return cls("truncated", fraction=0.5, wrong_length=wrong_length)

    @classmethod
    def empty_choices(cls) -> Fault:
        """A well-formed completion whose ``choices`` list is empty."""
        return cls("empty_choices")

    @classmethod
    def null_content(cls) -> Fault:
        """A well-formed completion whose message ``content`` is null."""
        return cls("null_content")

    @classmethod
    def slow(cls, delay: float = 0.05, chunk_size: int = 16) -> Fault:
        """Send the body in ``chunk_size``-byte pieces (SSE: event by event), ``delay`` seconds apart."""
        return cls("slow", seconds=delay, chunk_size=max(1, chunk_size))


@dataclass
class RequestRecord:
    """One request as the server received it (``status``/``finished`` are set once it is answered)."""

    seq: int
    index: int
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    json: JSONObject | None
    time: float
    attempt: int = 0
    fault: Fault | None = None
    status: int | None = None
    finished: float | None = None


@runtime_checkable
class FaultPolicy(Protocol):
    """Anything with ``choose(record) -> Fault | None`` can be passed as ``faults``."""

    def choose(self, record: RequestRecord) -> Fault | None:
        """Return the fault for this request, or None to answer it normally."""
        ...


@dataclass(frozen=True)
class FaultRate:
    """Fault a share ``rate`` of requests, picking among ``fault`` (one or several) at random.

    The draw depends only on the seed, the request's identity and its attempt number, so the same
    run is reproducible whatever order concurrent requests arrive in, and a retry draws afresh.
    """

    rate: float
    fault: Fault | tuple[Fault, ...]
    seed: int = 0

    def choose(self, record: RequestRecord) -> Fault | None:
        """Return a fault for about ``rate`` of requests."""
        rng = random.Random(f"{self.seed}:{_request_key(record)}:{record.attempt}")
        if rng.random() >= self.rate:
            return None
        candidates = self.fault if isinstance(self.fault, tuple) else (self.fault,)
        return rng.choice(candidates)


_SERVICE_UNAVAILABLE = Fault.http(503)


@dataclass(frozen=True)
class FailFirst:
    """Fail the first ``attempts`` tries of each distinct request with ``fault``, then answer."""

    attempts: int
    fault: Fault = _SERVICE_UNAVAILABLE

    def choose(self, record: RequestRecord) -> Fault | None:
        """Return ``fault`` while the request has been tried fewer than ``attempts`` times."""
        return self.fault if record.attempt < self.attempts else None


FaultsArg = Fault | Mapping[int, Fault] | FaultPolicy | Callable[[int, JSONObject], "Fault | None"] | None
_Chooser = Callable[[RequestRecord], "Fault | None"]


def _as_chooser(faults: FaultsArg) -> _Chooser | None:
    if faults is None:
        return None
    if isinstance(faults, Fault):
        every: Fault = faults
        return lambda _record: every
    if isinstance(faults, Mapping):
        schedule: Mapping[int, Fault] = faults
        return lambda record: schedule.get(record.index)
    if isinstance(faults, FaultPolicy):
        return faults.choose
    if callable(faults):
        by_index: Callable[[int, JSONObject], Fault | None] = faults
        return lambda record: by_index(record.index, record.json or {})
    raise TypeError(f"faults must be a Fault, a mapping, a policy or a callable, not {type(faults).__name__}")


def _request_key(record: RequestRecord) -> str:
    if record.json is not None:
        canonical = json.dumps(record.json, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        digest = hashlib.sha256(canonical.encode()).hexdigest()
    else:
        digest = hashlib.sha256(record.body).hexdigest()
    return f"{record.method} {record.path} {digest} {record.headers.get(SAMPLE_HEADER, '')}"


# --- the default answerer --------------------------------------------------------------------

_NUMBER = re.compile(
    r"[-+−]?(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)(?:[eE][-+]?\d+)?[%‰]?",
)
_ASKS_SMALLER = re.compile(r"smaller|smallest|less|lower|lowest|minimum|更小|较小|最小|哪个小|哪一个小|谁小", re.I)
_CJK = re.compile(r"[\u4e00-\u9fff]")


def _number_value(text: str) -> Fraction:
    plain = text.replace(",", "").replace("−", "-")
    scale = Fraction(1)
    if plain.endswith("%"):
        plain, scale = plain[:-1], Fraction(1, 100)
    elif plain.endswith("‰"):
        plain, scale = plain[:-1], Fraction(1, 1000)
    return Fraction(plain) * scale


def _last_user_text(request_json: JSONObject) -> str:
    messages = request_json.get("messages")
    if not isinstance(messages, list):
        return ""
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):  # content parts: [{"type": "text", "text": ...}]
                return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def correct_answer(request_json: JSONObject) -> str:
    """Answer the comparison question in the last user message correctly, in its language.

    It takes every number in the question as an option (plain decimals, thousands separators,
    exponents, ``%`` and ``‰``) and names the larger or smaller one: "13.8更大。" or
    "The larger is 13.8."; "两者相等。" / "They are equal." when the extremes tie.
    """
    question = _last_user_text(request_json)
    chinese = bool(_CJK.search(question))
    smaller = bool(_ASKS_SMALLER.search(question))
    options = _NUMBER.findall(question)
    if not options:
        return "我无法判断。" if chinese else "I cannot tell."
    values = [_number_value(text) for text in options]
    best = min(values) if smaller else max(values)
    if len(options) > 1 and values.count(best) > 1:
        return "两者相等。" if chinese else "They are equal."
    chosen = options[values.index(best)]
    if chinese:
        return f"{chosen}更小。" if smaller else f"{chosen}更大。"
    return f"The smaller is {chosen}." if smaller else f"The larger is {chosen}."


def constrained(content: str, response_format: Any) -> str:
    """The answer as a server constraining it to ``response_format`` gives it: for a JSON schema with one string field
    and an ``enum`` (``--llm-answer-format json``), ``{"field": value}`` with the value the text names (the longest
    enum value found in it as a whole number, or ``"equal"`` when the text says so; else the first value, as a
    constrained model must pick one); anything else unchanged."""
    if not isinstance(response_format, dict) or response_format.get("type") not in ("json_schema", "json_object"):
        return content
    if response_format["type"] == "json_object":  # llama-cpp-python's dialect: the schema beside the type
        schema = response_format.get("schema") or {}
    else:
        schema = (response_format.get("json_schema") or {}).get("schema") or {}
    properties = schema.get("properties") or {}
    if len(properties) != 1:
        return content
    ((field, spec),) = properties.items()
    values = [str(v) for v in (spec or {}).get("enum") or []]
    if not values:
        return content
    found = [
        v for v in values if re.search(r"(?<![\d.])" + re.escape(v) + r"(?![\d])", content, re.I if v == "equal" else 0)
    ]
    if not found and re.search(r"equal|相等", content) and "equal" in values:
        found = ["equal"]
    chosen = max(found, key=len) if found else values[0]
    return json.dumps({field: chosen}, ensure_ascii=False)


# --- helpers for the wire format -------------------------------------------------------------


def _error_body(message: str, error_type: str, code: str | None, param: str | None = None) -> JSONObject:
    return {"error": {"message": message, "type": error_type, "param": param, "code": code}}


def _rough_tokens(text: str) -> int:
    return max(1, len(text) // 4) if text else 0


def _sse(data: str) -> bytes:
    return f"data: {data}\n\n".encode()


def _format_seconds(seconds: float) -> str:
    return str(int(seconds)) if float(seconds).is_integer() else repr(float(seconds))


class _Aborted(Exception):
    """The server is stopping: drop this connection without an answer."""


class _HTTPServer(ThreadingHTTPServer):
    # Daemon handler threads are never joined by server_close(); stop() wakes them itself.
    daemon_threads = True
    request_queue_size = 1024
    fake: FakeServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that time out or hang up mid-answer are normal here; anything else is a bug to report.
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError, _Aborted)) or self.fake.stopping:
            return
        if isinstance(error, Exception):
            self.fake._note_error(error)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "fakeserver/1"
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        self.server.fake._track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.fake._untrack(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request log lines."""

    def do_GET(self) -> None:
        """Serve the model list."""
        self._serve("GET")

    def do_POST(self) -> None:
        """Serve chat completions."""
        self._serve("POST")

    def _serve(self, method: str) -> None:
        fake = self.server.fake
        try:
            body = self._read_body()
            fake._serve(self, method, body)
        except _Aborted:
            self._drop()

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _drop(self, reset: bool = False) -> None:
        self.close_connection = True
        try:
            if reset:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.connection.close()
                # rfile holds a reference to the socket; closing it makes the close (and the RST) happen now.
                self.rfile.close()
            else:
                self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def write_raw(self, data: bytes) -> None:
        self.wfile.write(data)


# --- the server ------------------------------------------------------------------------------


class FakeServer:
    """A loopback OpenAI-compatible chat server running in a background thread (see module docs)."""

    def __init__(
        self,
        *,
        models: Sequence[str] = ("fake-model",),
        api_key: str | None = None,
        answer: Answerer = correct_answer,
        faults: FaultsArg = None,
        model_faults: FaultsArg = None,
        latency: float = 0.0,
        capacity: int | None = None,
        out_of_order: bool = False,
        jitter: float = 0.05,
        seed: int = 0,
        gzip: bool = False,
        host: str = "127.0.0.1",
        port: int = 0,
        response_format: Literal["honour", "ignore", "reject", "json-object"] = "honour",
    ) -> None:
        if not models:
            raise ValueError("FakeServer needs at least one model id")
        if capacity is not None and capacity < 1:
            raise ValueError(f"capacity must be at least 1, not {capacity}")
        self.models = tuple(models)
        self.api_key = api_key
        self.answer = answer
        self.latency = latency
        self.capacity = capacity
        self.out_of_order = out_of_order
        self.jitter = jitter
        self.seed = seed
        self.gzip = gzip
        #: A ``Set-Cookie`` value sent with every JSON response when set (a load balancer's sticky cookie).
        self.set_cookie: str | None = None
        self.response_format = response_format
        self.host = host
        self._requested_port = port
        self._chat_chooser = _as_chooser(faults)
        self._models_chooser = _as_chooser(model_faults)

        self._lock = threading.Lock()
        self._chooser_lock = threading.Lock()
        self._stop = threading.Event()
        self._slots = threading.BoundedSemaphore(capacity) if capacity is not None else None
        self._requests: list[RequestRecord] = []
        self._hits: dict[str, int] = {}
        self._endpoint_counts: dict[str, int] = {}
        self._attempts: dict[str, int] = {}
        self._errors: list[BaseException] = []
        self._sockets: set[socket.socket] = set()
        self._handler_threads: set[threading.Thread] = set()
        self._connections = 0
        self._in_flight = 0
        self._max_in_flight = 0
        self._seq = 0
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    def set_faults(self, faults: FaultsArg, model_faults: FaultsArg = None) -> None:
        """Replace the fault choosers (takes effect from the next request)."""
        chat, models = _as_chooser(faults), _as_chooser(model_faults)
        with self._chooser_lock:
            self._chat_chooser, self._models_chooser = chat, models

    # lifecycle

    def start(self) -> FakeServer:
        """Bind a port and serve in a daemon thread; returns self."""
        if self._httpd is not None:
            raise RuntimeError("FakeServer is already started")
        self._stop.clear()
        httpd = _HTTPServer((self.host, self._requested_port), _Handler)
        httpd.fake = self
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": _POLL}, name="fakeserver", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving promptly: stalled and queued requests are dropped, idle connections closed."""
        httpd = self._httpd
        if httpd is None:
            return
        self._stop.set()
        httpd.shutdown()
        httpd.server_close()
        with self._lock:
            sockets = list(self._sockets)
            threads = list(self._handler_threads)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join()
        deadline = time.monotonic() + _STOP_JOIN_BUDGET
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._httpd = None
        self._thread = None

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def stopping(self) -> bool:
        """True once stop() has begun."""
        return self._stop.is_set()

    @property
    def port(self) -> int:
        """The bound TCP port."""
        if self._httpd is None:
            raise RuntimeError("FakeServer is not started")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """The base URL, ending in ``/v1``."""
        return f"http://{self.host}:{self.port}/v1"

    # introspection

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request received so far, in arrival order."""
        with self._lock:
            return list(self._requests)

    @property
    def chat_requests(self) -> list[RequestRecord]:
        """The chat-completion requests received so far, in arrival order."""
        return [r for r in self.requests if r.path == CHAT_PATH]

    @property
    def hits(self) -> dict[str, int]:
        """Request counts by path."""
        with self._lock:
            return dict(self._hits)

    @property
    def connections(self) -> int:
        """TCP connections accepted so far."""
        with self._lock:
            return self._connections

    @property
    def in_flight(self) -> int:
        """Chat completions being processed now (past the capacity gate)."""
        with self._lock:
            return self._in_flight

    @property
    def max_in_flight(self) -> int:
        """The most chat completions processed at once so far."""
        with self._lock:
            return self._max_in_flight

    @property
    def errors(self) -> list[BaseException]:
        """Exceptions raised by the answer callable, fault choosers or the server itself."""
        with self._lock:
            return list(self._errors)

    def clear(self) -> None:
        """Forget requests, hits, attempt counts and the in-flight maximum."""
        with self._lock:
            self._requests.clear()
            self._hits.clear()
            self._endpoint_counts.clear()
            self._attempts.clear()
            self._max_in_flight = self._in_flight

    # internals used by the handler

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.add(sock)
            self._handler_threads.add(threading.current_thread())
            self._connections += 1

    def _untrack(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.discard(sock)
            self._handler_threads.discard(threading.current_thread())

    def _note_error(self, error: BaseException) -> None:
        with self._lock:
            self._errors.append(error)

    def _wait(self, seconds: float) -> None:
        if seconds > 0 and self._stop.wait(seconds):
            raise _Aborted

    def _record(self, handler: _Handler, method: str, path: str, body: bytes) -> RequestRecord:
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
        headers = {name.lower(): value for name, value in handler.headers.items()}
        endpoint = MODELS_PATH if path.startswith(MODELS_PATH) else path
        with self._lock:
            record = RequestRecord(
                seq=self._seq,
                index=self._endpoint_counts.get(endpoint, 0),
                method=method,
                path=path,
                headers=headers,
                body=body,
                json=parsed if isinstance(parsed, dict) else None,
                time=time.monotonic(),
            )
            self._seq += 1
            self._endpoint_counts[endpoint] = record.index + 1
            self._hits[path] = self._hits.get(path, 0) + 1
            key = _request_key(record)
            record.attempt = self._attempts.get(key, 0)
            self._attempts[key] = record.attempt + 1
            self._requests.append(record)
        return record

    def _choose(self, chooser: _Chooser | None, record: RequestRecord) -> Fault | None:
        if chooser is None:
            return None
        with self._chooser_lock:
            fault = chooser(record)
        record.fault = fault
        return fault

    def _serve(self, handler: _Handler, method: str, body: bytes) -> None:
        path = handler.path.split("?", 1)[0].rstrip("/")
        record = self._record(handler, method, path, body)
        reply = _Reply(self, handler, record)
        if self.api_key is not None and record.headers.get("authorization") != f"Bearer {self.api_key}":
            message = "Incorrect API key provided. You can find your API key in the fake server's settings."
            reply.json(401, _error_body(message, "invalid_request_error", "invalid_api_key"))
        elif path == MODELS_PATH or path.startswith(MODELS_PATH + "/"):
            self._serve_models(reply, method, path)
        elif path == CHAT_PATH:
            self._serve_chat(reply, method)
        else:
            reply.json(404, _error_body(f"Unknown request URL: {method} {path}", "invalid_request_error", None))

    def _serve_models(self, reply: _Reply, method: str, path: str) -> None:
        if method != "GET":
            reply.json(405, _error_body(f"Method {method} not allowed", "invalid_request_error", None))
            return
        fault = self._choose(self._models_chooser, reply.record)
        if fault is not None and fault.kind == "stall":
            self._wait(fault.seconds)
        if fault is not None and fault.kind == "http":
            reply.error_fault(fault)
            return
        if path == MODELS_PATH:
            document: JSONObject = {"object": "list", "data": [self._model_object(m) for m in self.models]}
        else:
            model = path[len(MODELS_PATH) + 1 :]
            if model not in self.models:
                reply.json(404, self._unknown_model(model))
                return
            document = self._model_object(model)
        reply.send_document(document, fault)

    @staticmethod
    def _model_object(model: str) -> JSONObject:
        return {"id": model, "object": "model", "created": 0, "owned_by": "fake"}

    @staticmethod
    def _unknown_model(model: str) -> JSONObject:
        message = f"The model `{model}` does not exist or you do not have access to it."
        return _error_body(message, "invalid_request_error", "model_not_found", "model")

    def _serve_chat(self, reply: _Reply, method: str) -> None:
        request = reply.record.json
        if method != "POST":
            reply.json(405, _error_body(f"Method {method} not allowed", "invalid_request_error", None))
            return
        if request is None:
            reply.json(400, _error_body("The request body is not a JSON object.", "invalid_request_error", None))
            return
        model = request.get("model")
        if not isinstance(model, str) or not model:
            reply.json(400, _error_body("You must provide a model parameter.", "invalid_request_error", None))
            return
        if model not in self.models:
            reply.json(404, self._unknown_model(model))
            return
        if self.response_format == "reject" and "response_format" in request:
            message = "Invalid parameter: 'response_format' of type 'json_schema' is not supported by this server."
            reply.json(400, _error_body(message, "invalid_request_error", None, "response_format"))
            return
        asked_format = request.get("response_format")
        if self.response_format == "json-object" and isinstance(asked_format, dict):
            kind = asked_format.get("type")
            if kind not in ("text", "json_object"):
                # llama-cpp-python's pydantic validation error, as its server words it (measured, 0.3.36)
                # (FastAPI's RequestValidationError: "1 validation error:", each error's repr on its own line, then
                # where the server raised it)
                detail = {
                    "type": "literal_error",
                    "loc": ("body", "response_format", "type"),
                    "msg": "Input should be 'text' or 'json_object'",
                    "input": kind,
                    "ctx": {"expected": "'text' or 'json_object'"},
                }
                where = '  File "/srv/llama_cpp/server/app.py", line 376, in create_chat_completion'
                message = f"1 validation error:\n  {detail!r}\n\n{where}\n    POST /v1/chat/completions"
                reply.json(500, {"error": {"message": message, "type": "internal_server_error"}})
                return
        fault = self._choose(self._chat_chooser, reply.record)
        self._acquire_slot()
        try:
            self._wait(self.latency + self._jitter_for(reply.record))
            if fault is not None and fault.kind == "stall":
                self._wait(fault.seconds)
            if fault is not None and fault.kind == "http":
                reply.error_fault(fault)
                return
            try:
                n = int(request.get("n") or 1)
                contents = [self.answer(request) for _ in range(max(1, n))]
                if self.response_format in ("honour", "json-object"):
                    contents = [constrained(content, request.get("response_format")) for content in contents]
            except Exception as error:
                self._note_error(error)
                message = f"the fake server's answer callable raised {error!r}"
                reply.json(500, _error_body(message, "server_error", None))
                return
            if request.get("stream"):
                reply.send_stream(self._chunks(reply.record, model, contents, fault, request), fault)
            else:
                reply.send_document(self._completion(reply.record, model, contents, fault, request), fault)
        finally:
            self._release_slot()

    def _jitter_for(self, record: RequestRecord) -> float:
        if not self.out_of_order:
            return 0.0
        return random.Random(f"{self.seed}:{record.seq}").uniform(0.0, self.jitter)

    def _acquire_slot(self) -> None:
        if self._slots is not None:
            while not self._slots.acquire(timeout=_POLL):
                if self._stop.is_set():
                    raise _Aborted
        with self._lock:
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)

    def _release_slot(self) -> None:
        with self._lock:
            self._in_flight -= 1
        if self._slots is not None:
            self._slots.release()

    def _usage(self, request: JSONObject, contents: Sequence[str]) -> JSONObject:
        prompt = sum(
            _rough_tokens(str(m.get("content") or "")) for m in request.get("messages") or [] if isinstance(m, dict)
        )
        completion = sum(_rough_tokens(c) for c in contents)
        return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}

    def _completion(
        self,
        record: RequestRecord,
        model: str,
        contents: Sequence[str],
        fault: Fault | None,
        request: JSONObject,
    ) -> JSONObject:
        null = fault is not None and fault.kind == "null_content"
        limit = request.get("max_tokens")
        choices: list[JSONObject] = []
        for i, content in enumerate(contents):
            finish = "stop"
            if isinstance(limit, int) and _rough_tokens(content) > limit:
                content, finish = content[: 4 * limit], "length"  # as a real server cuts at max_tokens
            choices.append(
                {
                    "index": i,
                    "message": {"role": "assistant", "content": None if null else content, "refusal": None},
                    "logprobs": None,
                    "finish_reason": finish,
                }
            )
        if fault is not None and fault.kind == "empty_choices":
            choices = []
        return {
            "id": f"chatcmpl-fake{record.seq}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "system_fingerprint": "fp_fake",
            "choices": choices,
            "usage": self._usage(request, contents),
        }

    def _chunks(
        self,
        record: RequestRecord,
        model: str,
        contents: Sequence[str],
        fault: Fault | None,
        request: JSONObject,
    ) -> list[bytes]:
        base = {
            "id": f"chatcmpl-fake{record.seq}",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
            "system_fingerprint": "fp_fake",
        }
        empty = fault is not None and fault.kind == "empty_choices"
        null = fault is not None and fault.kind == "null_content"

        def event(choices: list[JSONObject], **extra: Any) -> bytes:
            return _sse(json.dumps({**base, "choices": [] if empty else choices, **extra}, ensure_ascii=False))

        events: list[bytes] = []
        for i, content in enumerate(contents):
            events.append(event([{"index": i, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]))
            pieces = [None] if null else [content[at : at + 4] for at in range(0, len(content), 4)]
            for piece in pieces:
                events.append(event([{"index": i, "delta": {"content": piece}, "finish_reason": None}]))
            events.append(event([{"index": i, "delta": {}, "finish_reason": "stop"}]))
        options = request.get("stream_options")
        if isinstance(options, dict) and options.get("include_usage"):
            events.append(_sse(json.dumps({**base, "choices": [], "usage": self._usage(request, contents)})))
        if fault is not None and fault.kind == "malformed_json":
            events.insert(1, _sse('{"id": "chatcmpl-broken", "choices": [{"delta": {"content": "13.'))
        events.append(_sse("[DONE]"))
        return events


class _Reply:
    """Writes one response on the handler's connection, applying a body-level fault if any."""

    def __init__(self, fake: FakeServer, handler: _Handler, record: RequestRecord) -> None:
        self.fake = fake
        self.handler = handler
        self.record = record

    def _head(self, status: int, headers: Mapping[str, str]) -> bytes:
        try:
            phrase = http.HTTPStatus(status).phrase
        except ValueError:
            phrase = ""
        lines = [f"HTTP/1.1 {status} {phrase}", f"x-request-id: req_fake{self.record.seq}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        if self.handler.close_connection:
            lines.append("Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def json(self, status: int, document: JSONObject, headers: Mapping[str, str] | None = None) -> None:
        """A complete JSON response (errors, and answers without a fault)."""
        self.send_document(document, None, status=status, headers=headers)

    def error_fault(self, fault: Fault) -> None:
        """An injected error status, in the shape OpenAI uses for it."""
        if fault.status == 429:
            body = _error_body(fault.message, "requests", "rate_limit_exceeded")
        elif fault.status >= 500:
            body = _error_body(fault.message, "server_error", None)
        else:
            body = _error_body(fault.message, "invalid_request_error", None)
        headers = {} if fault.retry_after is None else {"Retry-After": _format_seconds(fault.retry_after)}
        self.json(fault.status, body, headers)

    def _accepts_gzip(self) -> bool:
        accepted = self.record.headers.get("accept-encoding")
        return accepted is None or "gzip" in accepted.lower()

    def send_document(
        self,
        document: JSONObject,
        fault: Fault | None,
        *,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Send ``document`` as a Content-Length JSON body, faulted as ``fault`` says."""
        body = json.dumps(document, ensure_ascii=False).encode()
        if fault is not None and fault.kind == "malformed_json":
            body = body[: len(body) // 2] + b"<html>Bad Gateway</html>"
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        if self.fake.set_cookie is not None:
            all_headers["Set-Cookie"] = self.fake.set_cookie
        if self.fake.gzip and self._accepts_gzip():
            body = gzip_module.compress(body, mtime=0)
            all_headers["Content-Encoding"] = "gzip"
        kind = fault.kind if fault is not None else None
        sent = body
        if kind in ("reset", "truncated") and fault is not None:
            sent = body[: int(len(body) * fault.fraction)]
        declared = len(body) if kind == "reset" or (fault is not None and fault.wrong_length) else len(sent)
        all_headers["Content-Length"] = str(declared)
        if kind == "slow" and fault is not None:
            pieces = [sent[at : at + fault.chunk_size] for at in range(0, len(sent), fault.chunk_size)]
        else:
            pieces = [sent]
        self._write(status, all_headers, pieces, fault, chunked=False)

    def send_stream(self, events: list[bytes], fault: Fault | None) -> None:
        """Send SSE events with chunked transfer encoding, faulted as ``fault`` says."""
        headers = {"Content-Type": "text/event-stream; charset=utf-8", "Transfer-Encoding": "chunked"}
        pieces = events
        if fault is not None and fault.kind in ("reset", "truncated"):
            cut = int(len(b"".join(events)) * fault.fraction)
            pieces, kept = [], 0
            for event in events:
                if kept >= cut:
                    break
                pieces.append(event[: cut - kept])
                kept += len(pieces[-1])
        self._write(200, headers, pieces, fault, chunked=True)

    def _write(
        self,
        status: int,
        headers: Mapping[str, str],
        pieces: list[bytes],
        fault: Fault | None,
        *,
        chunked: bool,
    ) -> None:
        handler = self.handler
        kind = fault.kind if fault is not None else None
        ends_early = kind == "reset" or (kind == "truncated" and fault is not None and fault.wrong_length)
        if ends_early:
            handler.close_connection = True
        head = self._head(status, headers)
        self.record.status = status
        for number, piece in enumerate(pieces):
            framed = f"{len(piece):x}\r\n".encode() + piece + b"\r\n" if chunked and piece else piece
            if number == 0:
                framed = head + framed
            elif kind == "slow" and fault is not None:
                self.fake._wait(fault.seconds)
            if number == len(pieces) - 1:
                # Before the last write, so that a client holding the answer also sees it recorded.
                self.record.finished = time.monotonic()
            handler.write_raw(framed)
        if not pieces:
            self.record.finished = time.monotonic()
            handler.write_raw(head)
        if kind == "reset":
            handler._drop(reset=True)
        elif ends_early:
            handler._drop()
        elif chunked:
            handler.write_raw(b"0\r\n\r\n")


def main(argv: Sequence[str] | None = None) -> None:
    """Run a fake server in the foreground until interrupted."""
    parser = argparse.ArgumentParser(description="A loopback OpenAI-compatible chat server for tests.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--model", action="append", help="model id to serve (repeatable)")
    parser.add_argument("--api-key")
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--capacity", type=int)
    parser.add_argument("--out-of-order", action="store_true")
    parser.add_argument("--gzip", action="store_true")
    parser.add_argument("--response-format", choices=("honour", "ignore", "reject", "json-object"), default="honour")
    args = parser.parse_args(argv)
    server = FakeServer(
        models=args.model or ("fake-model",),
        api_key=args.api_key,
        latency=args.latency,
        capacity=args.capacity,
        out_of_order=args.out_of_order,
        gzip=args.gzip,
        host=args.host,
        port=args.port,
        response_format=args.response_format,
    )
    with server:
        print(f"fake OpenAI-compatible server at {server.url}", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
