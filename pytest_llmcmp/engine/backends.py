"""Where live answers come from: a :class:`Backend` is an OpenAI-compatible URL; the local llama.cpp server is the
one backend that starts and stops itself. ``--llm-endpoint local`` is recognised here only (:func:`backend_for`).

Heavy modules (``client``: openai, httpx; ``local``: the server) are imported inside the methods, when asked live.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from ..redaction import api_key, public_url
from ..terminal import shown
from ..words import plural
from . import EngineError

if TYPE_CHECKING:
    from ..local import LocalServer
    from ..settings import Settings
    from .remote import Asking

#: The value of ``--llm-endpoint`` that starts llama.cpp's server with the bundled SmolLM2.
LOCAL: Final = "local"

#: The base URL recorded for the local server instead of its random loopback port (``.llmcmp`` is no real domain):
#: a cassette recorded with ``--llm-endpoint local`` is the same file on every machine and every run.
LOCAL_RECORDED_URL: Final = "http://local.llmcmp/v1"


def default_concurrency(endpoint: str | None) -> int:
    """Requests in flight when ``--llm-concurrency`` is not given (a single-slot local server takes one at a time)."""
    return _NAMED.get(endpoint or "", Backend).default_concurrency


class Backend:
    """An OpenAI-compatible endpoint at :attr:`url`. Subclasses that run the server themselves override
    :meth:`start`, :meth:`stop` and :meth:`explain`."""

    #: Requests in flight when ``--llm-concurrency`` is not given.
    default_concurrency = 8
    #: The base URL cassettes record in place of :attr:`url` (``None``: :attr:`url` itself, as the user gave it).
    recorded_url: str | None = None

    def __init__(self, settings: Settings, url: str | None = None, checked: bool = False) -> None:
        # A backend named by a word (``_NAMED``) is built from the settings alone, and knows its URL itself.
        self.settings = settings
        self.url = url
        self.checked = checked  # whether the endpoint was reached and serves the model
        #: The session's asking process, which lists the models too when it runs (:mod:`.remote`).
        self.asking: Asking | None = None

    @staticmethod
    def response_format(standard: dict[str, Any]) -> dict[str, Any]:
        """The ``response_format`` this backend's server takes for ``standard``, OpenAI's ``json_schema`` form
        (:func:`~pytest_llmcmp.wire.answer_format`): that form itself, unless the server speaks another dialect.
        It is sent, hence part of the cassette key."""
        return standard

    @staticmethod
    def refusal_hint(error: str) -> str | None:
        """What to do when a server refused ``response_format`` with ``error``, if this backend knows that server's
        words (``None``: it does not)."""
        return None

    def endpoint(self) -> Any:
        """The client's :class:`~pytest_llmcmp.client.Endpoint` for this backend (the key read from the
        environment)."""
        from ..client import Endpoint

        assert self.url is not None
        s = self.settings
        key = api_key(s.endpoint_name)  # a named endpoint's own key (LLMCMP_API_KEY_<NAME>) first
        return Endpoint(self.url, key, s.timeout, s.retries, s.backoff, s.concurrency, s.endpoint_name)

    def models(self) -> list[str]:
        from ..client import EndpointError, list_models

        endpoint = self.endpoint()
        try:
            listed = self.asking.list_models(endpoint) if self.asking is not None else None
            return listed if listed is not None else list_models(endpoint)
        except EndpointError as exc:
            raise EngineError(shown(f"--llm-endpoint: {exc}")) from None

    def discover_model(self) -> str:
        """The model to ask when ``--llm-model`` is not given: the first one the endpoint lists."""
        model = self.models()[0]
        self.checked = True
        return model

    def start(self, say: Callable[[str], None]) -> str | None:
        """Make the backend ready to answer; returns the model it serves when it decides that (else ``None``)."""
        return None

    def check(self, model: str | None) -> None:
        """Before the first live request: is the endpoint reachable, is the key accepted, is the model served?"""
        if self.checked:
            return
        models = self.models()
        if model not in models:
            raise EngineError(  # the ids come from the endpoint: no key, no control characters
                shown(
                    f"--llm-model: {public_url(self.url or '')} does not serve {model!r} "
                    f"(it serves: {', '.join(models)})"
                )
            )
        self.checked = True

    def explain(self, error: str, first: bool) -> str:
        """A request's error, said better when the backend knows more (a local server that crashed)."""
        return error

    def stop(self) -> None:
        """Release what :meth:`start` took."""


class LocalBackend(Backend):
    """llama.cpp's server with SmolLM2 (or ``--llm-local-model``), started on a free loopback port, stopped at the
    end of the session. It serves exactly its model: nothing to check."""

    default_concurrency = 1
    recorded_url = LOCAL_RECORDED_URL

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings, None, checked=True)
        self.server: LocalServer | None = None

    @staticmethod
    def response_format(standard: dict[str, Any]) -> dict[str, Any]:
        """llama-cpp-python's server knows only ``text`` and ``json_object`` (0.3.x: HTTP 500 for ``json_schema``);
        ``json_object`` with a ``schema`` constrains the answer by a grammar built from that schema."""
        inner = standard.get("json_schema")
        if standard.get("type") != "json_schema" or not isinstance(inner, dict) or "schema" not in inner:
            return standard
        return {"type": "json_object", "schema": inner["schema"]}

    @staticmethod
    def refusal_hint(error: str) -> str | None:
        # llama-cpp-python's pydantic error ("Input should be 'text' or 'json_object'"): a server started by hand
        # cannot be told from its URL, so the dialect is not guessed; --llm-endpoint local knows it.
        if "'json_object'" not in error:
            return None
        return (
            "llama-cpp-python's server takes response_format json_object with a schema, which --llm-endpoint local "
            "sends: use --llm-endpoint local"
        )

    def _model_path(self) -> Path | None:
        return Path(self.settings.local_model) if self.settings.local_model else None

    def discover_model(self) -> str:
        from ..local import LocalModelError, check_available, find_bundled_model

        try:
            check_available(bundled=not self.settings.local_model)
            path = self._model_path() or find_bundled_model()
        except LocalModelError as exc:
            raise EngineError(_local_error(exc)) from None
        return path.stem  # LocalServer serves the file under its stem, wherever it is installed

    def start(self, say: Callable[[str], None]) -> str | None:
        if self.server is not None:
            return None
        from ..local import LocalModelError, LocalServer

        started = time.monotonic()
        try:
            server = LocalServer(self._model_path(), threads=self.settings.local_threads)
            server.start()
        except LocalModelError as exc:
            raise EngineError(_local_error(exc)) from None
        self.server = server
        say(
            f"llmcmp: started llama.cpp serving {server.model} at {server.url} (pid {server.pid}) "
            f"in {time.monotonic() - started:.1f}s, {plural(server.threads, 'thread')} "
            f"({self.settings.origin('local_threads') if self.settings.given('local_threads') else 'default'})"
        )
        self.url = server.url
        return server.model

    def explain(self, error: str, first: bool) -> str:
        if self.server is None:
            return error
        # "the connection broke off" says nothing of a crashed server: say that it crashed, and why. The first error
        # waits a second for the watchdog to see a death; later ones only look.
        return self.server.death(wait=1.0 if first else 0.0) or error

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None


def backend_for(settings: Settings) -> Backend | None:
    """The backend ``--llm-endpoint`` names, or ``None`` for a replay-only run."""
    if settings.endpoint is None:
        return None
    named = _NAMED.get(settings.endpoint)
    return named(settings) if named is not None else Backend(settings, settings.endpoint)


#: The backends ``--llm-endpoint`` names by a word rather than a URL (each built from the settings alone): the only
#: place that knows "local".
_NAMED: dict[str, type[Backend]] = {LOCAL: LocalBackend}
NAMED: Final = tuple(_NAMED)


def response_format_dialects(standard: dict[str, Any]) -> list[dict[str, Any]]:
    """Every ``response_format`` a recording of ``standard`` may hold, besides ``standard`` itself: the dialects of
    the backends named by a word (a replay without ``--llm-endpoint`` does not know which server recorded it)."""
    forms: list[dict[str, Any]] = []
    for backend in _NAMED.values():
        form = backend.response_format(standard)
        if form != standard and form not in forms:
            forms.append(form)
    return forms


def refusal_hint(error: str) -> str | None:
    """What to do about a refusal of ``response_format`` (``error``, one line), when a backend knows the words."""
    for backend in _NAMED.values():
        hint = backend.refusal_hint(error)
        if hint is not None:
            return hint
    return None


def _local_error(exc: Exception) -> str:
    message = str(exc)
    return message if message.startswith("--llm-endpoint local") else f"--llm-endpoint local: {message}"
