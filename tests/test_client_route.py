"""The learned request template (``client._Template``) against ``AsyncOpenAI.post``: the same bytes, the same headers
(the key's ``Authorization`` included), the same answers and the same error texts, whichever route sends a request.

Each test runs the same jobs twice against one fake server, once with every request through the SDK
(``Asker(..., learn=False)``) and once with the template learned from the first requests, and compares what the
server received and what each job came back with. Run it under openai 1.37.1 (httpx < 0.28) as well as the newest.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_llmcmp.client import Answer, Asker, Endpoint
from tests.fakeserver import FakeServer, Fault, RequestRecord

KEY = "sk-route-test-0123456789abcdef"
MODEL = "route-model"
WARM = 3  # requests answered normally first: the template is learned from them


@pytest.fixture
def server() -> Iterator[FakeServer]:
    with FakeServer(models=(MODEL,)) as fake:
        yield fake


def body(index: int, model: str = MODEL) -> dict[str, Any]:
    question = f"Which is larger, 9.{index} or 9.9? 哪个更大"  # non-ASCII: the two JSON writers differ on it
    return {"model": model, "messages": [{"role": "user", "content": question}], "temperature": 0.0, "seed": index}


def run(
    server: FakeServer,
    learn: bool,
    jobs: list[tuple[dict[str, Any], int]],
    *,
    fault: Fault | None = None,
    key: str | None = KEY,
    timeout: float = 30.0,
    retries: int = 0,
    before: Callable[[], None] = lambda: None,
    after: Callable[[], None] = lambda: None,
) -> tuple[list[Answer], list[RequestRecord], bool]:
    """Warm up (``WARM`` good requests), then set ``fault`` for every later request and ask ``jobs`` one at a time;
    the answers, the requests the server saw after the warm-up, and whether the template was in use."""
    server.clear()
    server.set_faults(None)
    asker = Asker(Endpoint(server.url, key, timeout=timeout, retries=retries, backoff=0.01, concurrency=1), learn=learn)
    try:
        warm = [asker.submit(body(100 + i), 1).result(timeout=30) for i in range(WARM)]
        assert all(a.error is None for a in warm), [a.error for a in warm]
        server.set_faults(fault)
        before()
        answers = [asker.submit(b, sample).result(timeout=60) for b, sample in jobs]
        learned = asker._template is not None and asker._template.learned is not None
    finally:
        asker.close()
        after()
    return answers, server.chat_requests[WARM:], learned


def both(server: FakeServer, jobs: list[tuple[dict[str, Any], int]], **options: Any) -> tuple[Any, Any]:
    """The SDK route's and the template route's results (answers, requests), checked to have taken each route."""
    sdk_answers, sdk_requests, sdk_learned = run(server, False, jobs, **options)
    fast_answers, fast_requests, fast_learned = run(server, True, jobs, **options)
    assert not sdk_learned
    assert fast_learned, "the template was never learned: the comparison would be of the SDK with itself"
    return (sdk_answers, sdk_requests), (fast_answers, fast_requests)


def wire(requests: list[RequestRecord]) -> list[tuple[list[tuple[str, str]], bytes]]:
    """Each request's headers in order (the server's lower-case names) and its body bytes."""
    return [(list(r.headers.items()), r.body) for r in requests]


def outcome(answers: list[Answer]) -> list[tuple[Any, ...]]:
    return [(a.content, a.error, a.attempts, a.finish_reason, a.exchange and a.exchange.uri) for a in answers]


def test_same_request_bytes_and_headers_and_answers(server: FakeServer) -> None:
    jobs = [(body(i), 1 + i % 3) for i in range(6)]
    (sdk_answers, sdk_requests), (fast_answers, fast_requests) = both(server, jobs)
    assert len(sdk_requests) == len(fast_requests) == len(jobs)
    assert wire(fast_requests) == wire(sdk_requests)
    headers = dict(fast_requests[0].headers)
    assert headers["authorization"] == f"Bearer {KEY}"
    assert [r.headers["x-llmcmp-sample"] for r in fast_requests] == [str(s) for _, s in jobs]
    assert outcome(fast_answers) == outcome(sdk_answers)
    assert all(a.content and a.error is None for a in fast_answers)
    assert [a.exchange.request_body for a in fast_answers if a.exchange] == [b for b, _ in jobs]


def test_cookies_a_server_sets_are_sent_back_the_same(server: FakeServer) -> None:
    # The template builds its requests without the client's merging, except when the client holds cookies.
    jobs = [(body(i), 1) for i in range(4)]
    on = lambda: setattr(server, "set_cookie", "sticky=route-a; Path=/")  # noqa: E731
    off = lambda: setattr(server, "set_cookie", None)  # noqa: E731
    (sdk_answers, sdk_requests), (fast_answers, fast_requests) = both(server, jobs, before=on, after=off)
    assert wire(fast_requests) == wire(sdk_requests)
    assert [r.headers.get("cookie") for r in fast_requests] == [None] + ["sticky=route-a"] * 3
    assert outcome(fast_answers) == outcome(sdk_answers)


def test_no_key_sends_the_same_placeholder(server: FakeServer) -> None:
    (_, sdk_requests), (_, fast_requests) = both(server, [(body(1), 1)], key=None)
    assert wire(fast_requests) == wire(sdk_requests)
    assert dict(fast_requests[0].headers)["authorization"] == "Bearer no-key"


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (Fault.http(500, "the model crashed"), "HTTP 500: the model crashed"),
        (Fault.http(400, "max_tokens is too large"), "HTTP 400: max_tokens is too large"),
        (Fault.http(503), "HTTP 503: fake server error 503 (after 2 attempts)"),
        (Fault.rate_limit(retry_after=0), "HTTP 429"),
        (Fault.malformed_json(), "the response is not valid JSON"),
        (Fault.truncated(wrong_length=True), "broke off before the answer was complete"),
        (Fault.reset(), "broke off before the answer was complete"),
        (Fault.empty_choices(), ""),
        (Fault.stall(3.0), "the request timed out after 1s (--llm-timeout)"),
    ],
    ids=["500", "400", "503-retried", "429", "malformed", "truncated", "reset", "empty-choices", "timeout"],
)
def test_same_error_texts(server: FakeServer, fault: Fault, expected: str) -> None:
    jobs = [(body(i), 1) for i in range(2)]
    retries = 1 if fault.kind in ("http", "rate_limit") else 0
    timeout = 1.0 if fault.kind == "stall" else 30.0
    (sdk_answers, _), (fast_answers, _) = both(server, jobs, fault=fault, retries=retries, timeout=timeout)
    assert outcome(fast_answers) == outcome(sdk_answers)
    assert all(a.error is not None and expected in a.error for a in fast_answers), [a.error for a in fast_answers]


def test_same_text_for_a_rejected_key_and_an_unknown_model(server: FakeServer) -> None:
    with FakeServer(models=(MODEL,), api_key=KEY) as guarded:
        # After the warm-up the server starts rejecting the key: it expects another one.
        def swap() -> None:
            guarded.api_key = "sk-another-key"

        jobs = [(body(1), 1), (body(2, model="no-such-model"), 1)]
        restore = lambda: setattr(guarded, "api_key", KEY)  # noqa: E731
        (sdk_answers, _), (fast_answers, _) = both(guarded, jobs, before=swap, after=restore)
        assert outcome(fast_answers) == outcome(sdk_answers)
        assert str(fast_answers[0].error).startswith("HTTP 401")
        assert KEY not in str(outcome(fast_answers))
    with FakeServer(models=(MODEL,)) as plain:
        jobs = [(body(3, model="no-such-model"), 1)]
        (sdk_answers, _), (fast_answers, _) = both(plain, jobs)
        assert outcome(fast_answers) == outcome(sdk_answers)
        assert str(fast_answers[0].error).startswith("HTTP 404")


def test_a_key_echoed_in_an_error_is_redacted_the_same(server: FakeServer) -> None:
    fault = Fault.http(500, f"upstream refused key {KEY} for this deployment")
    (sdk_answers, _), (fast_answers, _) = both(server, [(body(1), 1)], fault=fault)
    assert outcome(fast_answers) == outcome(sdk_answers)
    error = str(fast_answers[0].error)
    assert "upstream refused key" in error
    assert KEY not in error


def test_same_text_when_the_server_is_gone(server: FakeServer) -> None:
    with socket.socket() as probe:  # a port nothing listens on, once the server below is stopped
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    results = []
    for learn in (False, True):
        gone = FakeServer(models=(MODEL,), port=port).start()
        asker = Asker(Endpoint(gone.url, KEY, timeout=5.0, retries=0, concurrency=1), learn=learn)
        try:
            for i in range(WARM):
                assert asker.submit(body(i), 1).result(timeout=30).error is None
            gone.stop()
            answer = asker.submit(body(9), 1).result(timeout=30)
            assert (asker._template is not None and asker._template.learned is not None) == learn
        finally:
            asker.close()
            gone.stop()
        results.append(outcome([answer]))
    assert results[0] == results[1]
    where = f"127.0.0.1:{port}"
    # It answered WARM requests before it went: a server that stopped, not one that was never started.
    stopped = f"connection refused after {WARM} answers) — did it crash? see its log"
    assert results[1][0][1] == f"the server at http://{where}/v1 stopped answering ({stopped}"


def _described(context: Any) -> tuple[Any, ...]:
    """What decides which servers a TLS context trusts and how it talks to them."""
    ciphers = sorted(c["name"] for c in context.get_ciphers())
    return (
        context.verify_mode,
        context.check_hostname,
        context.options,
        context.minimum_version,
        ciphers,
        sorted(str(c) for c in context.get_ca_certs()),
        context.cert_store_stats(),
    )


@pytest.mark.parametrize("trust_env", [True, False])
def test_the_shared_tls_context_is_the_one_the_client_makes(
    trust_env: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Discovery and the asker share one TLS context (made once: reading the CA bundle is 40-75 ms); it must be the
    # context the HTTP client would have made for itself, SSL_CERT_FILE honoured only where the environment is.
    import ssl

    from pytest_llmcmp import client as client_module

    system = ssl.create_default_context().get_ca_certs(binary_form=True)
    assert system, "no CA certificate on this system to build SSL_CERT_FILE from"
    bundle = tmp_path / "one-ca.pem"
    bundle.write_text(ssl.DER_cert_to_PEM_cert(system[0]), encoding="ascii")
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    client_module._tls.cache_clear()
    try:
        own = client_module.http_module().AsyncClient(trust_env=trust_env)._transport._pool._ssl_context
        shared = client_module._tls(trust_env)
        assert _described(shared) == _described(own)
        assert (len(shared.get_ca_certs()) == 1) == trust_env  # the file was read where the environment is trusted
    finally:
        client_module._tls.cache_clear()
