"""The OpenAI chat-completion wire format, in one place for the client and the cassettes (I/O layer, no network):
the request body a case stands for, the header that carries a sample's index, and reading an answer out of a
response into a :class:`Reply`, the one type for one sample's answer (asked live or replayed)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from .results import Cost

#: The request header carrying the sample index (1-based): every sample of a case is its own recorded interaction.
SAMPLE_HEADER: Final = "X-Llmcmp-Sample"


def chat_messages(system: str | None, question: str) -> list[dict[str, Any]]:
    """The chat messages of a case: the system prompt (when there is one), then the question."""
    messages: list[dict[str, Any]] = []
    if system is not None:
        messages.append({"role": "system", "content": system})
    messages.append({"role": "user", "content": question})
    return messages


def request_body(
    model: str | None,
    messages: Sequence[dict[str, Any]],
    temperature: float,
    max_tokens: int | None,
    seed: int | None,
    response_format: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The chat-completion request: identical in record and in replay mode (replay matches on it).
    ``response_format``: what :func:`answer_format` gives under ``--llm-answer-format json``, else not sent."""
    body: dict[str, Any] = {"model": model, "messages": list(messages), "temperature": temperature}
    if max_tokens is not None:
        body["max_tokens"] = max_tokens
    if seed is not None:
        body["seed"] = seed
    if response_format is not None:
        body["response_format"] = response_format
    return body


#: The field of a structured answer (``--llm-answer-format json``): ``{"answer": "13.8"}``.
ANSWER_FIELD: Final = "answer"


def answer_format(choices: Sequence[str]) -> dict[str, Any]:
    """The ``response_format`` of ``--llm-answer-format json``: a strict JSON schema whose one field is one of
    ``choices`` (the case's options as written, then ``"equal"``)."""
    schema = {
        "type": "object",
        "properties": {ANSWER_FIELD: {"type": "string", "enum": list(choices)}},
        "required": [ANSWER_FIELD],
        "additionalProperties": False,
    }
    return {"type": "json_schema", "json_schema": {"name": "answer", "strict": True, "schema": schema}}


def structured_choice(content: str, choices: Sequence[str]) -> str | None:
    """The choice a structured answer gives: its ``"answer"`` when ``content`` is one JSON object whose answer is one
    of ``choices``; ``None`` for anything else (then the text judge reads it)."""
    text = content.strip()
    if not text.startswith("{"):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    choice = value.get(ANSWER_FIELD) if isinstance(value, dict) else None
    return choice if isinstance(choice, str) and choice in choices else None


def refused_answer_format(error: str) -> bool:
    """Whether a request's error is the server refusing ``response_format``, not a problem of one case: HTTP 400 or
    422 naming it or ``json_schema`` (vLLM, llama.cpp's server, OpenAI), or the 500 llama-cpp-python's server gives
    for a type it does not know ("('body', 'response_format', 'type') ... Input should be 'text' or 'json_object'")."""
    lowered = error.lower()
    return lowered.startswith(("http 400", "http 422", "http 500")) and (
        "response_format" in lowered or "json_schema" in lowered
    )


def content_of(payload: Any) -> str:
    """The answer text of a chat completion, or ValueError saying what is missing."""
    if not isinstance(payload, dict):
        raise ValueError("the response is not a JSON object")
    choices = payload.get("choices")
    if not isinstance(choices, list) or not choices:
        raise ValueError("the response has no choices")
    message = choices[0].get("message") if isinstance(choices[0], dict) else None
    content = message.get("content") if isinstance(message, dict) else None
    if content is None:
        raise ValueError("the response's message content is null")
    if not isinstance(content, str):
        raise ValueError("the response's message content is not text")
    return content


def finish_reason_of(payload: Any) -> str | None:
    """Why the model stopped (``"stop"``, ``"length"`` when ``max_tokens`` cut the answer off), if the response
    says so; ``None`` otherwise. Call it on a payload :func:`content_of` accepted."""
    reason = payload["choices"][0].get("finish_reason")
    return reason if isinstance(reason, str) else None


def usage_of(payload: Any) -> dict[str, int] | None:
    """The response's token counts, ``{"prompt_tokens": N, "completion_tokens": M}``, when it gives both as
    integers; ``None`` otherwise (a server that does not count)."""
    usage = payload.get("usage") if isinstance(payload, dict) else None
    if not isinstance(usage, dict):
        return None
    counts = {name: usage.get(name) for name in ("prompt_tokens", "completion_tokens")}
    if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in counts.values()):
        return None
    return {name: int(n) for name, n in counts.items() if n is not None}


@dataclass(frozen=True)
class Reply:
    """One sample's answer, asked live or replayed: its text, or why there is none (one line), and why the model
    stopped when the response says (``"length"``: cut off by ``max_tokens``). The client's
    :class:`~pytest_llmcmp.client.Answer` is a reply that also tells how it was asked; the judged sample is
    :class:`~pytest_llmcmp.results.SampleResult`."""

    content: str | None = None
    error: str | None = None
    finish_reason: str | None = None
    #: Its token counts and latency (live, or as recorded); ``None`` for a failed request.
    cost: Cost | None = None


def reply_of(payload: Any, latency: float | None = None) -> Reply:
    """The reply a chat-completion response holds: its answer text, finish reason and cost (its token counts, the
    ``latency`` given), or why there is none."""
    try:
        return Reply(content_of(payload), None, finish_reason_of(payload), Cost(usage_of(payload), latency))
    except ValueError as exc:
        return Reply(None, str(exc))


@dataclass(frozen=True)
class Exchange:
    """One successful request/response pair, as the client saw it.

    ``response_body`` is the decoded JSON (never compressed bytes). Of ``response_headers`` only
    Content-Type is stored; everything else (cookies, request ids, Content-Encoding, ...) is dropped.
    """

    uri: str
    request_body: dict[str, Any]
    sample: int
    status: int
    response_body: dict[str, Any]
    response_headers: Mapping[str, str] = field(default_factory=dict)
    #: Seconds from sending the request to the whole answer (retries included); recorded beside the interaction.
    latency: float | None = None


def loopback(url: str) -> bool:
    """A server on this machine: no proxy from the environment may stand in between."""
    from urllib.parse import urlsplit

    return (urlsplit(url).hostname or "") in ("127.0.0.1", "localhost", "::1", "0.0.0.0")


def trust_env_of(urls: Sequence[str | None]) -> tuple[bool, ...]:
    """The TLS contexts (by ``trust_env``) the HTTP clients of the endpoints at ``urls`` use: a loopback server's
    trusts no proxy from the environment, any other's does; both for an endpoint whose URL is not known yet (a
    backend that starts itself, ``--llm-endpoint local``)."""
    if not urls or any(url is None or "://" not in url for url in urls):
        return (True, False)
    return tuple(sorted({not loopback(url) for url in urls if url is not None}, reverse=True))
