"""Cassettes of users' own tests (the ``llm`` fixture), recorded and replayed by vcrpy itself (I/O layer, no pytest).

vcrpy patches the HTTP libraries (httpx and httpx2 under openai, requests, urllib3, ...) for the duration of one
test, so every exchange of the test is recorded: the fixture's client, and any ``openai.OpenAI(...)`` or httpx client
the user's code builds. What this module adds to vcrpy:

- **the matcher** ``llmcmp``: the method, the URI, and the request body in canonical form (JSON key order,
  whitespace and integral floats do not count, as for the YAML cases) plus the sample index header; identical requests
  without the header are played in recorded order (vcrpy's own rule);
- **scrubbing**, in ``before_record_request``/``before_record_response``: only the ``Content-Type`` and sample headers
  are kept (no ``Authorization``, no cookies), the API key is removed from URIs and bodies, the endpoint's base URL is
  recorded as :data:`ENDPOINT_BASE` (so the recording replays whatever server made it), and a chat completion's
  volatile fields are stored fixed (:func:`~pytest_llmcmp.cassettes.stable_response`);
- **the persister**: reads with a size cap and the safe YAML loader of the case cassettes (no tags, no aliases),
  writes atomically, refuses a file that would hold the key or lie outside the cassette directory, and leaves a file
  that already holds the same bytes alone;
- **misses**: :class:`TrackedCassette` remembers every request it refused, so that the face can say which, why, and
  the command that records it, instead of the client's "Connection error".

Files live at ``<cassettes>/<model>/tests/<module>/<test>.yaml`` (:func:`test_cassette_path`); the JSON bodies are
pretty-printed in literal blocks, as in the case cassettes, so that a pull request's diff shows the answers.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final

from .atomic import write_if_changed
from .cassettes import (
    MAX_CASSETTE_BYTES,
    CassetteError,
    _canonical_json,
    _CassetteDumper,
    _load_yaml,
    _path_component,
    _pretty_json,
    check_inside,
    model_dir,
    request_difference,
    stable_response,
)
from .redaction import contains_secret, public_url, redact
from .safefiles import FileTooLarge, NotRegularFile, read_regular
from .wire import SAMPLE_HEADER

#: The directory, under a model's, of the users' tests' cassettes (a prompt directory always has a hash suffix, or
#: is ``none``: no clash).
TESTS_DIR: Final = "tests"
#: What the endpoint's base URL is recorded as (and what the fixture's client talks to when it replays).
ENDPOINT_BASE: Final = "http://endpoint.llmcmp"
#: The request headers a test cassette keeps; every other one (Authorization, cookies, user agents) is dropped.
KEPT_REQUEST_HEADERS: Final = ("content-type", SAMPLE_HEADER.lower())
KEPT_RESPONSE_HEADERS: Final = ("content-type",)


def test_cassette_path(root: Path, model: str, module: str, test: str) -> Path:
    """``root/<model>/tests/<module>/<test>.yaml``: ``module`` is the test file's path in dotted form
    (``tests.test_app``), ``test`` its name within the file (``TestApp.test_it[param]``), both made safe as file
    names (``/``, ``\\``, ``:`` ... percent-encoded)."""
    return (
        model_dir(root, model) / TESTS_DIR / _path_component(module, "module") / f"{_path_component(test, 'test')}.yaml"
    )


def tests_dir(root: Path, model: str) -> Path:
    """The directory holding every test cassette of a model."""
    return model_dir(root, model) / TESTS_DIR


# --- the matcher ---------------------------------------------------------------------------------------------------


def _body_text(body: Any) -> str:
    if body is None:
        return ""
    if isinstance(body, bytes):
        return body.decode("utf-8", "surrogateescape")
    return str(body)


def canonical_body(body: Any) -> str:
    """A request body as the matcher compares it: canonical JSON when it is JSON, else the text itself."""
    text = _body_text(body)
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return _canonical_json(value) if isinstance(value, Mapping) else json.dumps(value, sort_keys=True)


def _header(request: Any, name: str) -> str | None:
    for key, value in dict(request.headers).items():
        if key.lower() == name.lower():
            return value[0] if isinstance(value, list) and value else str(value)
    return None


def match(recorded: Any, asked: Any) -> None:
    """vcrpy's custom matcher: the canonical body and the sample index (raises AssertionError when they differ)."""
    if canonical_body(recorded.body) != canonical_body(asked.body):
        raise AssertionError("the request bodies differ")
    if _header(recorded, SAMPLE_HEADER) != _header(asked, SAMPLE_HEADER):
        raise AssertionError(f"the {SAMPLE_HEADER} headers differ")


MATCH_ON: Final = ("method", "uri", "llmcmp")


# --- scrubbing -----------------------------------------------------------------------------------------------------


def _pretty(text: str) -> str:
    """A JSON object pretty-printed (readable diffs), anything else unchanged."""
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return _pretty_json(value) if isinstance(value, dict) else text


def request_filter(
    live_base: str | None, secret: str | None, alias: tuple[str, str] | None = None
) -> Callable[[Any], Any]:
    """``before_record_request``: the endpoint's base URL recorded as :data:`ENDPOINT_BASE`, the key out of the
    URI and the body, only the whitelisted headers kept, a JSON body pretty-printed; ``alias`` is (the id the server
    reports, the model's name here) for a server that reports a model file's path: the body records the name. vcrpy
    applies it to a copy of each request both when recording and when looking one up, so matching compares filtered
    requests."""
    base = public_url(live_base).rstrip("/") if live_base else None

    def scrub(request: Any) -> Any:
        uri = public_url(request.uri)
        if base is not None and (uri == base or uri.startswith(base + "/")):
            uri = ENDPOINT_BASE + uri[len(base) :]
        request.uri = redact(uri, secret)
        for name in list(request.headers):
            if name.lower() not in KEPT_REQUEST_HEADERS:
                del request.headers[name]
        if request.body:
            text = _body_text(request.body)
            if alias is not None:
                text = _aliased(text, *alias)
            request.body = _pretty(redact(text, secret)).encode("utf-8")
        return request

    return scrub


def _aliased(text: str, served: str, name: str) -> str:
    try:
        value = json.loads(text)
    except ValueError:
        return text
    if isinstance(value, dict) and value.get("model") == served:
        return json.dumps({**value, "model": name}, ensure_ascii=False)
    return text


def response_filter(secret: str | None) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """``before_record_response`` (after vcrpy decoded gzip/deflate): only the ``Content-Type`` header, a chat
    completion's volatile fields fixed, the key removed, a JSON body pretty-printed."""

    def scrub(response: dict[str, Any]) -> dict[str, Any]:
        headers = response.get("headers") or {}
        response["headers"] = {k: v for k, v in headers.items() if k.lower() in KEPT_RESPONSE_HEADERS}
        body = response.get("body") or {}
        text = _body_text(body.get("string"))
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        if isinstance(value, dict):
            if value.get("object") == "chat.completion":
                value = stable_response(value)
            text = _pretty_json(value)
        response["body"] = {"string": redact(text, secret).encode("utf-8")}
        return response

    return scrub


# --- reading and writing --------------------------------------------------------------------------------------------


class Serializer:
    """vcrpy's serializer interface, with the case cassettes' YAML: literal blocks, sorted keys, no aliases, and the
    safe, alias-refusing loader. One per test: the persister tells it the file it reads, for the errors."""

    def __init__(self) -> None:
        self.path = Path("cassette")

    @staticmethod
    def serialize(data: dict[str, Any]) -> str:
        text: str = _yaml_dump(data)
        return text

    def deserialize(self, text: str) -> Any:
        document = _load_yaml(self.path, text)
        if not isinstance(document, dict) or not isinstance(document.get("interactions"), list):
            raise CassetteError(self.path, "is not a vcrpy cassette (version: 1, interactions: [...])")
        return document


def _yaml_dump(data: Any) -> str:
    import yaml

    text: str = yaml.dump(
        data, Dumper=_CassetteDumper, sort_keys=True, allow_unicode=True, default_flow_style=False, width=2**30
    )
    return text


def persister(root: Path, secrets: list[str]) -> type:
    """vcrpy's persister interface for the test cassettes under ``root``."""

    class Persister:
        @staticmethod
        def load_cassette(cassette_path: str | Path, serializer: Any) -> Any:
            from vcr.persisters.filesystem import CassetteNotFoundError  # type: ignore[import-untyped]
            from vcr.serialize import deserialize  # type: ignore[import-untyped]

            path = Path(cassette_path)
            try:
                data = read_regular(path, MAX_CASSETTE_BYTES)
            except FileNotFoundError:
                raise CassetteNotFoundError() from None
            except (NotRegularFile, FileTooLarge, OSError) as exc:
                raise CassetteError(path, f"cannot read: {exc.strerror or exc}") from None
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise CassetteError(path, f"is not valid UTF-8 (bad byte at offset {exc.start})") from None
            if not text.strip():
                raise CassetteNotFoundError()
            if isinstance(serializer, Serializer):
                serializer.path = path
            try:
                return deserialize(text, serializer)
            except CassetteError:
                raise
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise CassetteError(path, f"invalid cassette: {type(exc).__name__}: {exc}") from None

        @staticmethod
        def save_cassette(cassette_path: str | Path, cassette_dict: dict[str, Any], serializer: Any) -> None:
            from vcr.serialize import serialize

            path = Path(cassette_path)
            text = serialize(cassette_dict, serializer)
            for secret in secrets:
                if contains_secret(text, secret):
                    raise CassetteError(path, "refusing to write: the cassette would contain a secret (API key)")
            data = text.encode("utf-8")
            if len(data) > MAX_CASSETTE_BYTES:
                raise CassetteError(path, "refusing to write: the cassette would be larger than replay reads")
            path.parent.mkdir(parents=True, exist_ok=True)
            check_inside(root, path)
            write_if_changed(path, data)

    return Persister


# --- misses --------------------------------------------------------------------------------------------------------


def tracked_cassette_class() -> Any:
    """vcrpy's ``Cassette``, remembering every request it refused to send (record mode ``none``, or ``once`` with a
    cassette on disk): ``misses`` holds them (filtered as recorded), in order."""
    from vcr.cassette import Cassette  # type: ignore[import-untyped]

    class TrackedCassette(Cassette):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.misses: list[Any] = []

        def can_play_response_for(self, request: Any) -> bool:
            playable = bool(super().can_play_response_for(request))
            if not playable and self.write_protected:
                filtered = self._before_record_request(request)
                if filtered is not None:
                    self.misses.append(filtered)
            return playable

    return TrackedCassette


def miss_reason(cassette: Any, request: Any, exists: bool) -> str:
    """Why a request has no recording in ``cassette`` (one clause, no location)."""
    if not exists:
        return "the test was never recorded with this model"
    same_uri = [r for r in cassette.requests if r.method == request.method and r.uri == request.uri]
    if not same_uri:
        return f"its cassette has no {request.method} {request.uri} (the test asks something it did not ask before)"
    if any(canonical_body(r.body) == canonical_body(request.body) for r in same_uri):
        return "its cassette has this request fewer times than the test now asks it (every recording was played)"
    try:
        asked = json.loads(_body_text(request.body))
        recorded = [json.loads(_body_text(r.body)) for r in same_uri]
    except ValueError:
        asked = None
    if isinstance(asked, dict) and all(isinstance(r, dict) for r in recorded):
        difference = request_difference(asked, recorded)
        if difference is not None:
            return f"its cassette has no recording of this exact request ({difference})"
    return "its cassette has no recording of this exact request (the question or the settings changed)"
