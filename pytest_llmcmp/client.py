"""Talking to an OpenAI-compatible endpoint: model discovery, bounded concurrency, retries, shared backoff.

Requests run on one background event loop (``AsyncOpenAI``), at most ``concurrency`` in flight, in the order
they were submitted, so requests that share a system prompt reach the server back to back (llama.cpp reuses
the evaluated prefix). The SDK's own retries are off: this module retries transient failures itself so that a
429 slows the whole run down (one shared pause) instead of each request on its own.

``openai`` and its HTTP library (``httpx``, or ``httpx2`` for openai 3) are imported only here, and only when
something is asked live.

The SDK builds every request it is asked for anew (options copied, headers merged, the body checked), which costs
more CPU than sending it. So the first chat requests go through ``AsyncOpenAI`` and the HTTP client's request hook
watches what it built; once two of them agree on the URL and the headers (apart from the sample header) and the body
is the request body as one of :data:`_BODY_DUMPS` writes it, later requests are sent by the SDK's own HTTP client with
exactly those headers and bytes, and their failures become the SDK's exceptions the way the SDK makes them (a status
error by the SDK's own ``_make_status_error_from_response``). Anything that does not match keeps the SDK route for
the whole run.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import email.utils
import functools
import json
import re
import sys
import threading
import time
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .redaction import KEY_VARIABLES as KEY_VARIABLES
from .redaction import REDACTED as REDACTED
from .redaction import api_key as api_key
from .redaction import clip, key_variable, named_key_variable, public_url
from .redaction import one_line as one_line
from .redaction import redact as redact
from .wire import SAMPLE_HEADER as SAMPLE_HEADER
from .wire import Exchange, Reply, content_of, finish_reason_of, refused_answer_format
from .wire import loopback as _loopback
from .words import plural

#: Header carrying the sample index, so that every sample is its own recorded interaction.
#: The longest pause a ``Retry-After`` header, or the doubling backoff, may impose.
MAX_RETRY_AFTER = 120.0
#: Sent when no key is configured: local servers ignore it, and the SDK refuses an empty key.
NO_KEY = "no-key"
#: The largest response body read (decoded): an answer is a few kilobytes; anything bigger is an ``error``, never
#: recorded (well under the 20 MB a cassette may have).
MAX_RESPONSE_BYTES = 1024 * 1024
#: How long closing waits for the asking thread to wind down (closing connections) after cancelling its requests.
CLOSE_SECONDS = 5.0


class EndpointError(Exception):
    """The endpoint cannot be used at all (unreachable, key rejected, unknown model); one line."""


@dataclass(frozen=True)
class Endpoint:
    """Where and how to ask."""

    base_url: str
    api_key: str | None
    timeout: float = 120.0
    retries: int = 2
    backoff: float = 1.0
    concurrency: int = 8
    #: The endpoint's name (``--llm-endpoint NAME=URL``; ``""`` when unnamed): its key variable comes first.
    name: str = ""


@dataclass(frozen=True)
class Answer(Reply):
    """What came of one live request: the reply (the answer text, or a one-line error), the exchange to record on
    success, how many attempts and how long it took."""

    exchange: Exchange | None = None
    attempts: int = 1
    #: The answer's latency: from the moment the request that was answered began to be sent (on a connection the
    #: pool gave it) to the last byte of the answer; no wait for a free connection or a connect, no rate-limit pause,
    #: no earlier attempt. Both ends are noted on this side of the socket, so it is never less than the server's
    #: time. A request that failed: the seconds of all its attempts.
    seconds: float = 0.0


@functools.cache
def http_module() -> Any:
    """The HTTP library the installed ``openai`` is built on: ``httpx`` (openai 1.x) or ``httpx2`` (3.x)."""
    import importlib

    import openai

    for klass in openai.DefaultAsyncHttpxClient.__mro__[1:]:
        if klass.__name__ == "AsyncClient":
            return importlib.import_module(klass.__module__.split(".")[0])
    raise ImportError("cannot tell which HTTP library openai uses")


@functools.cache
def _tls(trust_env: bool) -> Any:
    """The TLS context the HTTP client would make for itself (its library's own ``create_ssl_context`` with the
    client's defaults), made once a session and shared: making one reads the CA bundle, 40-75 ms of CPU, and the
    model discovery and the asker each made their own (and one more per proxy from the environment)."""
    return http_module().create_ssl_context(trust_env=trust_env)


#: Exceptions of the HTTP library that mean no connection was made (anything else broke off an answer).
_CONNECT_FAILURES = ("ConnectError", "ConnectTimeout", "UnsupportedProtocol", "InvalidURL")


#: What users paste after the base URL: the path of one API call, not the API's root.
_CALL_PATHS = ("/chat/completions", "/completions", "/models")


def _base_url_hint(url: str) -> str:
    """``"; did you mean …?"`` for an endpoint whose ``/models`` is not found: the URL without a pasted API call
    (``…/v1/chat/completions``), or the server's ``/v1`` (OpenAI-compatible servers serve under it); nothing for
    a URL that already ends in ``/v1``."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    root = f"{parts.scheme}://{parts.netloc}"
    path = parts.path.rstrip("/")
    for call in _CALL_PATHS:
        if path.endswith(call):
            base = path.removesuffix(call) or "/v1"
            return f"; --llm-endpoint is the API's base URL, without {call}: did you mean {root}{base}?"
    if path.endswith("/v1"):
        return ""
    return f"; did you mean {root}/v1?"


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and what caused it, outermost first (the SDK wraps the HTTP library's, which wraps the
    socket's); at most 20 deep, cycles cut."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(seen) < 20 and all(current is not e for e in seen):
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


#: The part of ``--llm-timeout`` that connecting may take: less than the whole, so that a server that never
#: accepts the connection is named as such rather than as one that did not answer.
_CONNECT_SHARE = 0.8


#: The SDK's longest pause before its first retry (0.5 s in openai 3.x, 1 s in 1.37.1, less their jitter).
_SDK_RETRY_PAUSE = 1.0


def _timeouts(httpx: Any, seconds: float, attempts: int = 1) -> Any:
    """The HTTP client's timeouts for ``--llm-timeout``: each read, write and pool wait, and connecting a bit less,
    so that the SDK's ``attempts`` to connect, with its pause between them, end within the one bound."""
    pauses = _SDK_RETRY_PAUSE * (attempts - 1)
    return httpx.Timeout(seconds, connect=max(seconds * _CONNECT_SHARE - pauses, seconds / 2) / attempts)


def _too_large(exc: BaseException) -> ResponseTooLarge | None:
    """The cap of :func:`_read_capped`, if that is what stopped the response (openai 1.x hands it on as a
    connection error, 3.x as itself)."""
    return next((e for e in _chain(exc) if isinstance(e, ResponseTooLarge)), None)


def _causes(exc: BaseException, name: str) -> bool:
    return any(any(k.__name__ == name for k in type(e).__mro__) for e in _chain(exc))


def _connect_failure(exc: BaseException, base_url: str) -> str:
    """Why no connection was made, in words: refused, host not found, timed out, or the system's own words."""
    import errno
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(base_url)
    host = parts.hostname or ""
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        port = None
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    chain = _chain(exc)
    for error in chain:
        if isinstance(error, socket.gaierror):
            return f"host not found (DNS): {host}"
        if isinstance(error, ConnectionRefusedError) or getattr(error, "errno", None) == errno.ECONNREFUSED:
            return f"connection refused (is the server running on {where}?)"
        if isinstance(error, TimeoutError) or type(error).__name__ == "ConnectTimeout":
            return "connecting timed out"
    for error in chain:  # no socket error in the chain (an HTTP library that keeps only its text)
        text = str(error).lower()
        if "connection refused" in text:
            return f"connection refused (is the server running on {where}?)"
        if "name or service not known" in text or "nodename nor servname" in text or "getaddrinfo" in text:
            return f"host not found (DNS): {host}"
    for error in chain:
        if isinstance(error, OSError) and error.strerror:
            return str(error.strerror)
    names = [type(e).__name__ for e in chain[1:]]
    if "UnsupportedProtocol" in names or "InvalidURL" in names:
        return "not a URL the HTTP client can use"
    return names[0] if names else "no connection"


def _describe(exc: BaseException, base_url: str, secret: str | None) -> str:
    import openai

    base_url = public_url(base_url)
    if isinstance(exc, openai.APITimeoutError):
        if _causes(exc, "ConnectTimeout"):
            return f"cannot connect to {base_url}: connecting timed out (--llm-timeout)"
        return "the request timed out"
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__ or exc.__context__
        if cause is None or type(cause).__name__ in _CONNECT_FAILURES:
            return f"cannot connect to {base_url}: {_connect_failure(exc, base_url)}"
        # Connected, but the connection was reset or closed before the whole answer arrived.
        return f"the connection to {base_url} broke off before the answer was complete ({type(cause).__name__})"
    if isinstance(exc, openai.APIStatusError):
        message = ""
        try:
            err = exc.response.json().get("error")
            message = err.get("message", "") if isinstance(err, dict) else str(err or "")
        except (ValueError, AttributeError):
            message = exc.response.text[:4096]
        message = _excerpt(redact(_validation_errors(str(message)), secret), 200)
        return f"HTTP {exc.status_code}" + (f": {message}" if message else "")
    return f"{type(exc).__name__}: {exc}"


# FastAPI's words for a request its pydantic model refused (llama-cpp-python 0.3.36's server sends them in a 500):
# "1 validation error:", each error's repr on its own line ({'type': ..., 'loc': (...), 'msg': ..., 'input': ...,
# 'ctx': ...}), then, after a blank line, where in the server it was raised ("File ...app.py, line 376 ...").
_VALIDATION = re.compile(r"\s*\d+ validation errors?:\s*\n(.*?)(?:\n\s*\n|$)", re.DOTALL)


def _validation_errors(message: str) -> str:
    """A server's validation errors as ``response_format.type: Input should be 'text' or 'json_object' (got
    'json_schema')``; any other message as it is."""
    import ast

    match = _VALIDATION.match(message)
    if match is None:
        return message
    shown = []
    for text in match.group(1).strip().split("\n"):
        try:
            error = ast.literal_eval(text.strip())
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return message
        if not isinstance(error, dict) or "msg" not in error:
            return message
        loc = [str(part) for part in error.get("loc") or () if part != "body"]
        got = f" (got {error['input']!r})" if isinstance(error.get("input"), (str, int, float)) else ""
        shown.append((".".join(loc) + ": " if loc else "") + f"{error['msg']}{got}")
    return "; ".join(shown)


def _excerpt(text: str, limit: int) -> str:
    """``text`` as one line of at most ``limit`` characters, cut at a word with ``…`` (never mid-word)."""
    text = one_line(text)
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    return (cut.rsplit(" ", 1)[0] if " " in cut else cut).rstrip(" ,;:") + "…"


class ResponseTooLarge(Exception):
    """A response body over :data:`MAX_RESPONSE_BYTES`: it is neither judged nor recorded."""


async def _read_capped(response: Any) -> None:
    """An HTTP client's response hook: read the decoded body, stopping at :data:`MAX_RESPONSE_BYTES`.

    It runs before the client reads the body itself, so an endless chunked stream or a compression bomb (1.5 MB
    inflating to 1.5 GB) stops at the cap instead of filling the memory; what it read is the response's content."""
    chunks: list[bytes] = []
    total = 0
    async for chunk in response.aiter_bytes():
        total += len(chunk)
        if total > MAX_RESPONSE_BYTES:
            await response.aclose()
            raise ResponseTooLarge(
                f"the response is larger than {MAX_RESPONSE_BYTES // 1024 // 1024} MB, the limit of one answer; "
                "not recorded"
            )
        chunks.append(chunk)
    response._content = b"".join(chunks)  # what the client's own read would have set


def _run_async(coroutine: Any) -> Any:
    """Run a coroutine to its end from synchronous code, on an event loop and a (daemon) thread of its own: the
    caller's thread may have a loop of its own, and a Ctrl-C in the caller must not wait for it."""
    future: concurrent.futures.Future[Any] = concurrent.futures.Future()

    def run() -> None:
        try:
            future.set_result(asyncio.run(coroutine))
        except BaseException as exc:  # handed to the caller, whatever it is
            future.set_exception(exc)

    threading.Thread(target=run, name="llmcmp-models", daemon=True).start()
    return future.result()


def list_models(endpoint: Endpoint) -> list[str]:
    """The model ids the endpoint serves (``GET /models``), raising :class:`EndpointError` with one line.

    ``--llm-timeout`` bounds the whole request, not each read: a server sending a byte a second cannot hang the
    session."""
    try:
        return _run_async(_bounded_models(endpoint))  # type: ignore[no-any-return]
    except EndpointError as exc:
        raise EndpointError(one_line(redact(str(exc), endpoint.api_key))) from None


async def _bounded_models(endpoint: Endpoint) -> list[str]:
    http_module()  # imports openai and its HTTP library (a second or two) before the clock for the endpoint starts
    timeout = min(endpoint.timeout, 30.0)
    try:
        return await asyncio.wait_for(_list_models(endpoint), timeout)
    except asyncio.TimeoutError:
        url = public_url(endpoint.base_url)
        raise EndpointError(f"{url}/models did not answer within {timeout:g}s (--llm-timeout)") from None


async def _list_models(endpoint: Endpoint) -> list[str]:
    import openai

    httpx = http_module()
    url = public_url(endpoint.base_url)
    timeout = _timeouts(httpx, min(endpoint.timeout, 30.0), attempts=2)  # max_retries=1 below
    trust_env = not _loopback(endpoint.base_url)
    async with httpx.AsyncClient(
        timeout=timeout,
        verify=_tls(trust_env),
        trust_env=trust_env,
        event_hooks={"response": [_read_capped]},
    ) as http:
        client = openai.AsyncOpenAI(
            base_url=endpoint.base_url,
            api_key=endpoint.api_key or NO_KEY,
            max_retries=1,
            timeout=timeout,
            http_client=http,
        )
        try:
            raw = await client.models.with_raw_response.list()
            data = _model_entries(raw, url)
        except openai.AuthenticationError:
            raise EndpointError(f"{url} {_rejected(endpoint.api_key, endpoint.name)}") from None
        except openai.APIStatusError as exc:
            hint = _base_url_hint(url) if exc.status_code == 404 else ""
            raise EndpointError(f"{url}/models answered {_describe(exc, url, endpoint.api_key)}{hint}") from None
        except openai.APIConnectionError as exc:
            too_large = _too_large(exc)
            if too_large is not None:
                raise EndpointError(f"{url}/models: {too_large}") from None
            raise EndpointError(_describe(exc, url, endpoint.api_key)) from None
        except ResponseTooLarge as exc:
            raise EndpointError(f"{url}/models: {exc}") from None
        except ValueError as exc:
            raise EndpointError(f"{url}/models: not an OpenAI-compatible answer ({one_line(str(exc))[:200]})") from None
        except (TypeError, AttributeError):  # the SDK's own reading failed on what it was given
            raise EndpointError(
                f"{url}/models: not an OpenAI-compatible answer (expected a JSON object with a list of models "
                "under 'data')"
            ) from None
    if not data:
        raise EndpointError(f"{url}/models lists no model; pass --llm-model")
    models = []
    for entry in data:
        model = getattr(entry, "id", None)
        if model is None:
            raise EndpointError(f"{url}/models lists a model whose id is null or missing; pass --llm-model")
        if not isinstance(model, str) or not model.strip():
            raise EndpointError(
                f"{url}/models lists a model whose id is not a non-empty string ({str(model)[:40]!r}); pass --llm-model"
            )
        models.append(model)
    return models


def _model_entries(raw: Any, url: str) -> list[Any]:
    """The entries of a ``/models`` answer (each with an ``id`` attribute, or without one). The content type is
    looked at first: a web page where the API was expected is the most common wrong base URL, and the SDK would
    hand its text on as if it were the list."""
    media = (raw.headers.get("content-type") or "").split(";")[0].strip().lower()
    if media == "application/json" or media.endswith("+json"):
        return list(raw.parse().data)
    try:
        payload = json.loads(raw.content)
    except ValueError:
        shown = clip(media, None, 60) if media else "without a Content-Type"
        raise EndpointError(f"{url}/models answered {shown}, not JSON (is this the API's base URL?)") from None
    # JSON under another label (text/plain): read as the SDK reads JSON.
    entries = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(entries, list):
        raise TypeError("no list of models")
    return [types.SimpleNamespace(**entry) if isinstance(entry, dict) else entry for entry in entries]


def _rejected(key: str | None, name: str = "") -> str:
    """What a 401 means for the key that was sent: which variable it came from (never the key), or none sent. A
    named endpoint's own variable (``LLMCMP_API_KEY_<NAME>``) is named first, as it is read first."""
    variables = " or ".join(((named_key_variable(name),) if name else ()) + KEY_VARIABLES)
    if not key:
        return f"requires an API key (HTTP 401): no key was sent; set {variables}"
    variable = key_variable(key, name)
    if variable is None:
        return "rejected the API key (HTTP 401)"
    return f"rejected the key from {variable} (HTTP 401); check its value"


def _retry_after(headers: Any) -> float | None:
    value = headers.get("retry-after") if headers is not None else None
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - time.time()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


@dataclass
class _Job:
    body: dict[str, Any]
    sample: int
    future: concurrent.futures.Future[Answer] = field(default_factory=concurrent.futures.Future)


def _dumps_compact(body: Any) -> bytes:
    """JSON as httpx >= 0.28 and openai 3.x write a request body."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def _dumps_spaced(body: Any) -> bytes:
    """JSON as httpx < 0.28 writes ``json=`` (openai 1.x)."""
    return json.dumps(body).encode("utf-8")


#: How the SDKs this plugin supports serialize a request body; the one that matches what the SDK sent is used.
_BODY_DUMPS = (_dumps_compact, _dumps_spaced)
#: Headers the HTTP library sets from the body, not copied from a learned request.
_FROM_BODY = frozenset({"content-length", "transfer-encoding"})

#: The job a worker is sending through the SDK, for the request hook that learns what the SDK built for it.
_SENDING: contextvars.ContextVar[_Job | None] = contextvars.ContextVar("llmcmp_sending", default=None)


@dataclass(frozen=True)
class _Learned:
    """One chat request as the SDK built it: where, which headers (in order, the sample header's value left out),
    how the body was serialized."""

    url: str
    headers: tuple[tuple[str, str], ...]
    dumps: Callable[[Any], bytes]


class _Template:
    """The SDK's chat request, learned from its first requests (see the module's docstring); :meth:`build` makes a
    request for another body and sample the way the SDK would, once learned."""

    #: SDK requests that must agree before the template is used.
    AGREEING = 2

    def __init__(self, client: Any, http: Any, httpx: Any) -> None:
        self.http = http
        self.httpx = httpx
        self.status_error = getattr(client, "_make_status_error_from_response", None)
        self.seen: list[_Learned] = []
        self.learned: _Learned | None = None
        self.broken = self.status_error is None  # this SDK does not make its status errors the way it is used here
        self._sample_at = -1
        self._url: Any = None  # the learned URL, headers (the sample's value left empty) and timeouts, parsed once
        self._headers: Any = None
        self._timeout: dict[str, Any] = {}

    async def watch(self, request: Any) -> None:
        """The HTTP client's request hook: compare what the SDK built with the job being sent."""
        job = _SENDING.get()
        if job is None or self.broken or self.learned is not None or request.method != "POST":
            return
        try:
            content = request.content
        except Exception:  # a streaming body (not what the SDK sends for a chat completion): keep the SDK route
            self.broken = True
            return
        dumps = next((d for d in _BODY_DUMPS if d(job.body) == content), None)
        pairs = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw]
        sample = [i for i, (k, _) in enumerate(pairs) if k.lower() == SAMPLE_HEADER.lower()]
        if dumps is None or len(sample) != 1 or pairs[sample[0]][1] != str(job.sample):
            self.broken = True
            return
        headers = tuple(
            (k, "" if i == sample[0] else v) for i, (k, v) in enumerate(pairs) if k.lower() not in _FROM_BODY
        )
        seen = _Learned(str(request.url), headers, dumps)
        if self.seen and self.seen[0] != seen:
            self.broken = True  # something differs from one request to the next: only the SDK knows what
            return
        self.seen.append(seen)
        if len(self.seen) >= self.AGREEING:
            self._sample_at = next(i for i, (k, _) in enumerate(seen.headers) if k.lower() == SAMPLE_HEADER.lower())
            self._url = self.httpx.URL(seen.url)
            self._headers = self.httpx.Headers(list(seen.headers))
            self._timeout = self.http.timeout.as_dict()
            self.learned = seen

    def build(self, job: _Job) -> Any:
        """The request the SDK would send for ``job``.

        Built as a request of the HTTP library directly, from the URL and headers parsed once: the client's
        ``build_request`` would merge its default headers and base URL into them again on every request (a sixth of
        the asking thread's CPU), and they are already in what was learned. Cookies a server set are the exception:
        the client adds them to the SDK's requests, so then the client builds the request too."""
        learned = self.learned
        assert learned is not None
        if self.http.cookies:
            headers = list(learned.headers)
            headers[self._sample_at] = (headers[self._sample_at][0], str(job.sample))
            return self.http.build_request("POST", learned.url, headers=headers, content=learned.dumps(job.body))
        request = self.httpx.Request(
            "POST",
            self._url,
            headers=self._headers,  # copied by the request
            content=learned.dumps(job.body),
            extensions={"timeout": self._timeout},
        )
        request.headers[SAMPLE_HEADER] = str(job.sample)  # in place: the header keeps its position
        return request

    async def send(self, job: _Job) -> Any:
        """Send ``job``; fails as ``AsyncOpenAI.post`` fails (openai's timeout, connection and status errors)."""
        import openai

        request = self.build(job)
        try:
            response = await self.http.send(request)
        except self.httpx.TimeoutException as exc:
            raise openai.APITimeoutError(request=request) from exc
        except (ResponseTooLarge, asyncio.CancelledError):
            raise
        except Exception as exc:
            raise openai.APIConnectionError(request=request) from exc
        if response.status_code >= 400:
            raise self.status_error(response)  # type: ignore[misc]
        return response


#: When the request of the current attempt began to be sent (monotonic seconds; set per attempt in the worker's
#: task, a list so that the trace callback, in that task or a copy of its context, can change it).
_SENT_AT: contextvars.ContextVar[list[float]] = contextvars.ContextVar("llmcmp_sent_at")


async def _timed(request: Any) -> None:
    """The HTTP client's request hook: a trace callback (httpcore's ``trace`` extension) that notes when the request
    begins to be sent, on the connection the pool gave it: a wait for a free connection and a connect are not the
    server's latency. (Noted before the first byte is written: a note after the last one could come late, when this
    thread was paused meanwhile, and make the latency less than the server took.)"""
    request.extensions = {**request.extensions, "trace": _on_trace}


async def _on_trace(name: str, info: Any) -> None:
    if name.endswith("send_request_headers.started"):
        sent = _SENT_AT.get(None)
        if sent is not None:
            sent[0] = time.monotonic()


async def _bounded(awaitable: Any, seconds: float) -> Any:
    """``awaitable``'s result, or :class:`asyncio.TimeoutError` after ``seconds`` (no task of its own on 3.11+)."""
    if sys.version_info >= (3, 11):
        async with asyncio.timeout(seconds):
            return await awaitable
    return await asyncio.wait_for(awaitable, seconds)  # pragma: no cover - Python 3.10


class Asker:
    """Asks chat completions on a background event loop; :meth:`submit` returns a future per request."""

    def __init__(
        self, endpoint: Endpoint, on_answer: Callable[[Answer], None] | None = None, *, learn: bool = True
    ) -> None:
        self.endpoint = endpoint
        self._learn = learn  # False: every request through AsyncOpenAI (the equivalence tests compare both routes)
        self._template: _Template | None = None
        self._public_urls: dict[str, str] = {}
        self._submitted: list[_Job] = []  # submitted, not yet on the loop's queue
        self._submitted_lock = threading.Lock()
        self._draining = False  # a move of the submitted jobs to the loop is scheduled
        self._on_answer = on_answer
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._queue: asyncio.Queue[_Job | None] | None = None
        self._resume_at = 0.0  # shared backoff: nobody sends before this (monotonic) time
        self._answers = 0  # answered so far (on the loop's thread): a refusal after some is a server that stopped
        self._startup_error: BaseException | None = None
        self._workers: list[asyncio.Task[None]] = []
        self._thread = threading.Thread(target=self._run, name="llmcmp-asker", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._startup_error is not None:
            raise self._startup_error

    # The loop thread --------------------------------------------------------------------------------------

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._main())
        finally:
            self._loop.close()

    async def _main(self) -> None:
        import openai

        httpx = http_module()

        try:
            limits = httpx.Limits(
                max_connections=self.endpoint.concurrency, max_keepalive_connections=self.endpoint.concurrency
            )
            timeout = _timeouts(httpx, self.endpoint.timeout)
            hooks: dict[str, list[Any]] = {"request": [_timed], "response": [_read_capped]}
            trust_env = not _loopback(self.endpoint.base_url)
            http = httpx.AsyncClient(
                limits=limits,
                timeout=timeout,
                verify=_tls(trust_env),
                trust_env=trust_env,
                event_hooks=hooks,
            )
            client = openai.AsyncOpenAI(
                base_url=self.endpoint.base_url,
                api_key=self.endpoint.api_key or NO_KEY,
                max_retries=0,
                timeout=timeout,
                http_client=http,
            )
            if self._learn:
                self._template = _Template(client, http, httpx)
                hooks["request"].append(self._template.watch)
                http.event_hooks = hooks
            self._queue = asyncio.Queue()
        except Exception as exc:
            self._startup_error = exc
            self._ready.set()
            return
        self._ready.set()
        self._workers = [asyncio.create_task(self._worker(client)) for _ in range(self.endpoint.concurrency)]
        try:
            # A worker cancelled by close() ends with CancelledError: an expected end, not this thread's failure.
            await asyncio.gather(*self._workers, return_exceptions=True)
        finally:
            await http.aclose()

    async def _worker(self, client: Any) -> None:
        assert self._queue is not None
        while True:
            job = await self._queue.get()
            if job is None:
                return
            if job.future.cancelled():
                continue
            try:
                answer = await self._ask(client, job)
            except asyncio.CancelledError:
                job.future.cancel()
                raise
            except Exception as exc:  # a worker never dies: the case gets an error, the others go on
                error = clip(f"{type(exc).__name__}: {exc}", self.endpoint.api_key, 200)
                answer = Answer(error=error)
            if self._on_answer is not None:
                # Bookkeeping only (progress counts): it must not cost the answer.
                with contextlib.suppress(Exception):
                    self._on_answer(answer)
            if not job.future.done():
                job.future.set_result(answer)

    async def _ask(self, client: Any, job: _Job) -> Answer:
        import openai

        httpx = http_module()

        started = time.monotonic()
        error = "no attempt was made"
        attempts = 0
        for attempt in range(self.endpoint.retries + 1):
            attempts = attempt + 1
            delay = self._resume_at - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            retry_after: float | None = None
            sent = [time.monotonic()]  # if the HTTP library tells nothing (no trace): the attempt's start
            _SENT_AT.set(sent)
            try:
                # The SDK's timeout bounds each read, not the whole answer: a body dripping in slowly would
                # never time out. --llm-timeout is the limit for one complete attempt.
                response = await _bounded(self._post(client, httpx, job), self.endpoint.timeout)
                answered = time.monotonic()  # the whole body is in (the response hook read it)
                payload = json.loads(response.content)
                content = content_of(payload)
            except openai.APIStatusError as exc:
                error = _describe(exc, self.endpoint.base_url, self.endpoint.api_key)
                status = exc.status_code
                if status not in (408, 409, 429) and status < 500:
                    break  # the request itself is wrong: asking again cannot help
                if status == 500 and "response_format" in job.body and refused_answer_format(error):
                    break  # a server refusing the request's response_format with a 500 refuses it every time
                retry_after = _retry_after(exc.response.headers)
                if status == 429:
                    # One pause for everybody: a rate limit is about the whole client, not this request.
                    pause = retry_after if retry_after is not None else self._backoff(attempt)
                    self._resume_at = max(self._resume_at, time.monotonic() + pause)
                    continue
            except (openai.APITimeoutError, asyncio.TimeoutError) as exc:
                # The same words whether a single read or the whole attempt ran out of time.
                error = f"the request timed out after {self.endpoint.timeout:g}s (--llm-timeout)"
                if _causes(exc, "ConnectTimeout"):
                    url, seconds = public_url(self.endpoint.base_url), self.endpoint.timeout * _CONNECT_SHARE
                    error = f"cannot connect to {url}: connecting timed out after {seconds:g}s (--llm-timeout)"
            except openai.APIConnectionError as exc:
                too_large = _too_large(exc)
                if too_large is not None:  # openai 1.x wraps what the response hook raised
                    error = str(too_large)
                    break
                error = _describe(exc, self.endpoint.base_url, self.endpoint.api_key)
                if self._answers and "connection refused" in error:
                    error = (
                        f"the server at {public_url(self.endpoint.base_url)} stopped answering (connection refused "
                        f"after {plural(self._answers, 'answer')}) — did it crash? see its log"
                    )
            except ResponseTooLarge as exc:
                error = str(exc)
                break  # the same request gives the same again
            except ValueError as exc:  # invalid JSON, or a completion without an answer
                error = str(exc) if not isinstance(exc, json.JSONDecodeError) else "the response is not valid JSON"
                if not isinstance(exc, json.JSONDecodeError):
                    break  # a well-formed answer without content: the same request gives the same again
            else:
                exchange = Exchange(
                    uri=self._public(str(response.request.url)),
                    request_body=job.body,
                    sample=job.sample,
                    status=response.status_code,
                    response_body=payload,
                    response_headers={"Content-Type": response.headers.get("content-type", "application/json")},
                )
                self._answers += 1
                # The exchange keeps the raw answer: if it holds the key, the cassette writer refuses it.
                content = redact(content, self.endpoint.api_key)
                return Answer(
                    content,
                    None,
                    finish_reason_of(payload),
                    exchange=exchange,
                    attempts=attempts,
                    seconds=answered - sent[0],
                )
            if attempt < self.endpoint.retries:
                await asyncio.sleep(retry_after if retry_after is not None else self._backoff(attempt))
        if attempts > 1:
            error = f"{error} (after {attempts} attempts)"
        error = one_line(redact(error, self.endpoint.api_key))
        return Answer(error=error, attempts=attempts, seconds=time.monotonic() - started)

    def _public(self, url: str) -> str:
        """:func:`public_url` of a request's URL (the same few URLs all run long: worked out once each)."""
        known = self._public_urls.get(url)
        if known is None:
            known = self._public_urls[url] = public_url(url)
        return known

    async def _post(self, client: Any, httpx: Any, job: _Job) -> Any:
        """One attempt at ``job``: through the learned template once there is one, else through the SDK."""
        template = self._template
        if template is not None and template.learned is not None:
            return await template.send(job)
        token = _SENDING.set(job)
        try:
            return await client.post(
                "/chat/completions",
                cast_to=httpx.Response,
                body=job.body,
                options={"headers": {SAMPLE_HEADER: str(job.sample)}},
            )
        finally:
            _SENDING.reset(token)

    def _backoff(self, attempt: int) -> float:
        """The pause before retry ``attempt + 1``: doubling from ``--llm-backoff``, within reason."""
        return float(min(self.endpoint.backoff * 2**attempt, MAX_RETRY_AFTER))

    # The caller's side ------------------------------------------------------------------------------------

    def submit(self, body: dict[str, Any], sample: int) -> concurrent.futures.Future[Answer]:
        """Queue one request; requests start in submission order.

        Jobs submitted in a row reach the loop together: one wake-up of the loop for all that came in meanwhile,
        not one each (thousands are submitted at the start of a run, while the first answers come in)."""
        job = _Job(body, sample)
        assert self._queue is not None
        with self._submitted_lock:
            self._submitted.append(job)
            if self._draining:
                return job.future
            self._draining = True
        self._loop.call_soon_threadsafe(self._drain)
        return job.future

    def submit_all(self, requests: Sequence[tuple[dict[str, Any], int]]) -> list[concurrent.futures.Future[Answer]]:
        """Queue the requests ``(body, sample)``, in this order; one future each."""
        return [self.submit(body, sample) for body, sample in requests]

    def _drain(self) -> None:
        """On the loop: move the submitted jobs to the workers' queue, in order."""
        queue = self._queue
        assert queue is not None
        with self._submitted_lock:
            jobs, self._submitted = self._submitted, []
            self._draining = False
        for job in jobs:
            queue.put_nowait(job)

    @property
    def alive(self) -> bool:
        """Whether the asking thread still runs (it only ends on :meth:`close`)."""
        return self._thread.is_alive()

    def close(self) -> None:
        """Stop the workers: requests not yet started are dropped, those in flight are cancelled (their futures
        too), so that a Ctrl-C with a stalled endpoint ends the session at once. At a session's normal end nothing
        is in flight: every item waited for its answers."""
        if not self._thread.is_alive():
            return
        queue = self._queue
        if queue is not None:

            def stop() -> None:
                with self._submitted_lock:
                    pending, self._submitted = self._submitted, []
                for waiting in pending:
                    waiting.future.cancel()
                while not queue.empty():
                    job = queue.get_nowait()
                    if job is not None:
                        job.future.cancel()
                for worker in self._workers:
                    worker.cancel()

            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                self._loop.call_soon_threadsafe(stop)
        self._thread.join(timeout=CLOSE_SECONDS)
