"""Tests of the loopback fake OpenAI server: endpoints, answers, every fault, load shaping, shutdown."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from http.client import HTTPConnection
from pathlib import Path
from typing import Any

import openai
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fakeserver import FailFirst, FakeServer, Fault, FaultRate, RequestRecord, correct_answer

try:
    # The openai SDK in the dev venv ships its HTTP client under this name.
    import httpx2 as httpx
except ImportError:
    import httpx  # type: ignore[no-redef,import-not-found,unused-ignore]

MODEL = "fake-model"
QUESTION = "13.8和13.11哪个大？"
ANSWER = "13.8更大。"


def chat_body(question: str = QUESTION, **extra: Any) -> dict[str, Any]:
    return {"model": MODEL, "messages": [{"role": "user", "content": question}], **extra}


def ask(client: openai.OpenAI, question: str = QUESTION, **extra: Any) -> Any:
    return client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": question}], **extra)


@pytest.fixture
def server() -> Iterator[FakeServer]:
    with FakeServer() as running:
        yield running


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    # One shared client: building an httpx client costs ~0.2 s (it loads the CA bundle).
    limits = httpx.Limits(max_connections=300, max_keepalive_connections=300)
    with httpx.Client(limits=limits, timeout=10) as client:
        yield client


def sdk(
    server: FakeServer, http: httpx.Client, *, timeout: float = 5.0, max_retries: int = 0, key: str = "k"
) -> openai.OpenAI:
    """An SDK client on the shared HTTP client (so it must not be closed)."""
    return openai.OpenAI(base_url=server.url, api_key=key, max_retries=max_retries, timeout=timeout, http_client=http)


def post_chat(http: httpx.Client, server: FakeServer, question: str = QUESTION) -> httpx.Response:
    return http.post(server.url + "/chat/completions", json=chat_body(question))


# --- endpoints and answers -------------------------------------------------------------------


def test_url_is_a_loopback_v1_base_on_a_free_port(server: FakeServer) -> None:
    assert server.url == f"http://127.0.0.1:{server.port}/v1"
    assert server.port > 0


def test_models_are_listed_and_retrievable(http: httpx.Client) -> None:
    with FakeServer(models=("alpha", "beta")) as server:
        client = sdk(server, http)
        assert [m.id for m in client.models.list().data] == ["alpha", "beta"]
        assert client.models.retrieve("beta").owned_by == "fake"
        with pytest.raises(openai.NotFoundError):
            client.models.retrieve("gamma")


def test_models_list_body_has_the_openai_shape(server: FakeServer, http: httpx.Client) -> None:
    assert http.get(server.url + "/models").json() == {
        "object": "list",
        "data": [{"id": MODEL, "object": "model", "created": 0, "owned_by": "fake"}],
    }


def test_chat_completion_has_the_standard_fields(server: FakeServer, http: httpx.Client) -> None:
    completion = ask(sdk(server, http))
    assert completion.object == "chat.completion"
    assert completion.model == MODEL
    assert completion.id
    assert completion.created > 0
    assert completion.choices[0].message.role == "assistant"
    assert completion.choices[0].message.content == ANSWER
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None
    assert completion.usage.total_tokens == completion.usage.prompt_tokens + completion.usage.completion_tokens


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("13.8和13.11哪个大？", "13.8更大。"),
        ("13.8和13.11哪个小？", "13.11更小。"),
        ("Which is larger, 13.8 or 13.11?", "The larger is 13.8."),
        ("Which is smaller, 13.8 or 13.11?", "The smaller is 13.11."),
        ("Which is larger, -0.5 or -0.45?", "The larger is -0.45."),
        ("Which is larger, 1,234.5 or 999.99?", "The larger is 1,234.5."),
        ("Which is larger, 13.8% or 13.11%?", "The larger is 13.8%."),
        ("Which is larger, 1.2e-3 or 0.0011?", "The larger is 1.2e-3."),
        ("0.5和0.50哪个大？", "两者相等。"),
        ("Which is the largest: 3.9, 3.11 or 3.45?", "The larger is 3.9."),
    ],
)
def test_default_answerer_answers_correctly(question: str, expected: str) -> None:
    assert correct_answer(chat_body(question)) == expected


@settings(max_examples=60, deadline=None)
@given(
    st.decimals(min_value=-1000, max_value=1000, places=3, allow_nan=False),
    st.decimals(min_value=-1000, max_value=1000, places=3, allow_nan=False),
    st.booleans(),
)
def test_default_answerer_names_the_true_extreme(a: Decimal, b: Decimal, smaller: bool) -> None:
    first, second = format(a, "f"), format(b, "f")
    word = "smaller" if smaller else "larger"
    answer = correct_answer(chat_body(f"Which is {word}, {first} or {second}?"))
    if a == b:
        assert answer == "They are equal."
    else:
        chosen = (min if smaller else max)((a, first), (b, second))[1]
        assert answer == f"The {word} is {chosen}."


def test_default_answerer_reads_the_last_user_message_only() -> None:
    request = {
        "model": MODEL,
        "messages": [
            {"role": "system", "content": "Compare 1 and 2 carefully."},
            {"role": "user", "content": "Which is larger, 5.5 or 5.25?"},
            {"role": "assistant", "content": "The larger is 5.25."},
            {"role": "user", "content": [{"type": "text", "text": "Which is smaller, 7.1 or 7.09?"}]},
        ],
    }
    assert correct_answer(request) == "The smaller is 7.09."


def test_custom_answer_callable_gets_the_request_json(http: httpx.Client) -> None:
    seen: list[dict[str, Any]] = []

    def answer(request: dict[str, Any]) -> str:
        seen.append(request)
        return f"echo {request['temperature']}"

    with FakeServer(answer=answer) as server:
        completion = ask(sdk(server, http), temperature=0.25)
    assert completion.choices[0].message.content == "echo 0.25"
    assert seen[0]["messages"] == [{"role": "user", "content": QUESTION}]


def test_n_gives_that_many_choices(server: FakeServer, http: httpx.Client) -> None:
    completion = ask(sdk(server, http), n=3)
    assert [c.index for c in completion.choices] == [0, 1, 2]
    assert {c.message.content for c in completion.choices} == {ANSWER}


def test_streaming_reassembles_to_the_answer_and_reports_usage(server: FakeServer, http: httpx.Client) -> None:
    chunks = list(ask(sdk(server, http), stream=True, stream_options={"include_usage": True}))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == ANSWER
    assert chunks[-1].usage is not None
    assert any(c.choices and c.choices[0].finish_reason == "stop" for c in chunks)


def test_answer_callable_error_is_a_500_and_is_kept(http: httpx.Client) -> None:
    def broken(request: dict[str, Any]) -> str:
        raise RuntimeError("answerer bug")

    with FakeServer(answer=broken) as server:
        with pytest.raises(openai.InternalServerError):
            ask(sdk(server, http))
        assert [str(e) for e in server.errors] == ["answerer bug"]


# --- request validation ----------------------------------------------------------------------


def test_api_key_is_enforced(http: httpx.Client) -> None:
    with FakeServer(api_key="internlm2") as server:
        with pytest.raises(openai.AuthenticationError) as caught:
            ask(sdk(server, http, key="wrong"))
        assert caught.value.code == "invalid_api_key"
        assert http.get(server.url + "/models").status_code == 401
        client = sdk(server, http, key="internlm2")
        assert ask(client).choices[0].message.content == ANSWER
        assert [m.id for m in client.models.list().data] == [MODEL]


def test_unknown_model_is_a_404_model_not_found(server: FakeServer, http: httpx.Client) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        sdk(server, http).chat.completions.create(model="nope", messages=[{"role": "user", "content": QUESTION}])
    assert caught.value.code == "model_not_found"
    assert "The model `nope` does not exist" in caught.value.message


@pytest.mark.parametrize(
    ("path", "content", "status"),
    [
        ("/chat/completions", b"{not json", 400),
        ("/chat/completions", json.dumps({"messages": []}).encode(), 400),
        ("/embeddings", b"{}", 404),
    ],
)
def test_bad_requests_get_openai_style_errors(
    server: FakeServer, http: httpx.Client, path: str, content: bytes, status: int
) -> None:
    response = http.post(server.url + path, content=content, headers={"Content-Type": "application/json"})
    assert response.status_code == status
    assert set(response.json()["error"]) == {"message", "type", "param", "code"}


# --- faults ----------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_internal_server_errors(http: httpx.Client, status: int) -> None:
    with FakeServer(faults=Fault.http(status)) as server:
        with pytest.raises(openai.InternalServerError) as caught:
            ask(sdk(server, http))
        assert caught.value.status_code == status
        assert server.chat_requests[0].status == status


@pytest.mark.parametrize(("retry_after", "header"), [(None, None), (2.0, "2"), (0.5, "0.5")])
def test_rate_limit_with_and_without_retry_after(
    http: httpx.Client, retry_after: float | None, header: str | None
) -> None:
    with (
        FakeServer(faults=Fault.rate_limit(retry_after)) as server,
        pytest.raises(openai.RateLimitError) as caught,
    ):
        ask(sdk(server, http))
    assert caught.value.response.headers.get("retry-after") == header
    assert caught.value.code == "rate_limit_exceeded"


@pytest.mark.parametrize("stream", [False, True])
def test_connection_reset_mid_response(http: httpx.Client, stream: bool) -> None:
    # openai 1.37 (the seed's pin) lets a broken stream's transport error through unwrapped; openai 3 wraps it.
    broken = (openai.APIConnectionError, httpx.TransportError) if stream else openai.APIConnectionError
    with FakeServer(faults=Fault.reset()) as server, pytest.raises(broken) as caught:
        list(ask(sdk(server, http), stream=True)) if stream else ask(sdk(server, http))
    assert not isinstance(caught.value, (openai.APITimeoutError, httpx.TimeoutException))


def test_reset_sends_headers_and_part_of_the_body(http: httpx.Client) -> None:
    with (
        FakeServer(faults=Fault.reset(fraction=0.5)) as server,
        http.stream("POST", server.url + "/chat/completions", json=chat_body()) as response,
    ):
        assert response.status_code == 200
        declared = int(response.headers["content-length"])
        received = bytearray()

        def read_all() -> None:
            for piece in response.iter_raw():
                received.extend(piece)

        with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
            read_all()
        assert 0 < len(received) < declared


def test_stall_past_the_client_timeout_is_a_timeout(http: httpx.Client) -> None:
    with FakeServer(faults=Fault.stall(30)) as server:
        with pytest.raises(openai.APITimeoutError):
            ask(sdk(server, http, timeout=0.2))
        started = time.monotonic()
    # Far less than the 30 s stall it cuts short, with room for a loaded machine.
    assert time.monotonic() - started < 10.0


def test_short_stall_then_answers(http: httpx.Client) -> None:
    with FakeServer(faults=Fault.stall(0.2)) as server:
        started = time.monotonic()
        assert ask(sdk(server, http)).choices[0].message.content == ANSWER
        assert time.monotonic() - started >= 0.2


def test_a_stall_does_not_block_other_requests(http: httpx.Client) -> None:
    with FakeServer(faults={0: Fault.stall(30)}) as server, ThreadPoolExecutor(1) as pool:
        client = sdk(server, http, timeout=0.8)
        stalled = pool.submit(ask, client)
        while not server.chat_requests:
            time.sleep(0.01)
        started = time.monotonic()
        assert ask(client).choices[0].message.content == ANSWER
        assert time.monotonic() - started < 10.0  # far less than the 30 s stall, with room for a loaded machine
        with pytest.raises(openai.APITimeoutError):
            stalled.result()


@pytest.mark.parametrize(
    "fault", [Fault.malformed_json(), Fault.truncated()], ids=["malformed", "truncated-correct-length"]
)
def test_unparsable_bodies_reach_the_client_as_json_errors(http: httpx.Client, fault: Fault) -> None:
    with FakeServer(faults=fault) as server:
        response = post_chat(http, server)
        assert response.status_code == 200
        assert int(response.headers["content-length"]) == len(response.content)
        with pytest.raises(json.JSONDecodeError):
            response.json()
        with pytest.raises(json.JSONDecodeError):
            ask(sdk(server, http))


def test_truncated_with_wrong_length_is_a_connection_error(http: httpx.Client) -> None:
    with FakeServer(faults=Fault.truncated(wrong_length=True)) as server:
        with pytest.raises(httpx.RemoteProtocolError):
            post_chat(http, server)
        with pytest.raises(openai.APIConnectionError):
            ask(sdk(server, http))


def test_malformed_stream_event_breaks_the_stream(http: httpx.Client) -> None:
    with FakeServer(faults=Fault.malformed_json()) as server, pytest.raises(json.JSONDecodeError):
        list(ask(sdk(server, http), stream=True))


def test_truncated_stream_ends_without_the_full_answer(http: httpx.Client) -> None:
    with FakeServer(faults=Fault.truncated()) as server:
        chunks = list(ask(sdk(server, http), stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) != ANSWER


def test_empty_choices_and_null_content(http: httpx.Client) -> None:
    with FakeServer(faults={0: Fault.empty_choices(), 1: Fault.null_content()}) as server:
        client = sdk(server, http)
        assert ask(client).choices == []
        assert ask(client).choices[0].message.content is None
        assert ask(client).choices[0].message.content == ANSWER


def test_slow_body_arrives_in_spaced_pieces_and_intact(http: httpx.Client) -> None:
    delay, size = 0.03, 40
    with FakeServer(faults=Fault.slow(delay=delay, chunk_size=size)) as server:
        started = time.monotonic()
        with http.stream("POST", server.url + "/chat/completions", json=chat_body()) as response:
            pieces = list(response.iter_raw())
        elapsed = time.monotonic() - started
    body = b"".join(pieces)
    assert json.loads(body)["choices"][0]["message"]["content"] == ANSWER
    assert len(pieces) > 1
    assert elapsed >= ((len(body) - 1) // size) * delay


def test_slow_stream_spaces_the_events(http: httpx.Client) -> None:
    delay = 0.05
    with FakeServer(faults=Fault.slow(delay=delay)) as server:
        arrivals = [time.monotonic() for _ in ask(sdk(server, http), stream=True)]
    assert len(arrivals) >= 3
    assert arrivals[-1] - arrivals[0] >= (len(arrivals) - 1) * delay * 0.8


def test_fail_first_then_succeed_with_sdk_retries(http: httpx.Client) -> None:
    with FakeServer(faults=FailFirst(2, Fault.rate_limit(retry_after=0.01))) as server:
        assert ask(sdk(server, http, max_retries=2)).choices[0].message.content == ANSWER
        assert [(r.attempt, r.status) for r in server.chat_requests] == [(0, 429), (1, 429), (2, 200)]
        # Another sample of the same case, or another case, has attempts of its own.
        with pytest.raises(openai.RateLimitError):
            ask(sdk(server, http), extra_headers={"X-Llmcmp-Sample": "1"})
        with pytest.raises(openai.RateLimitError):
            ask(sdk(server, http), question="Which is larger, 1.5 or 1.45?")


def test_fail_first_counts_identical_bodies_as_retries(http: httpx.Client) -> None:
    with FakeServer(faults=FailFirst(3)) as server:
        statuses = [post_chat(http, server).status_code for _ in range(5)]
    assert statuses == [503, 503, 503, 200, 200]


def test_schedule_by_index(http: httpx.Client) -> None:
    with FakeServer(faults={1: Fault.http(503)}) as server:
        statuses = [post_chat(http, server).status_code for _ in range(3)]
    assert statuses == [200, 503, 200]


def test_faults_callable_gets_index_and_body(http: httpx.Client) -> None:
    calls: list[tuple[int, str]] = []

    def by_body(index: int, request: dict[str, Any]) -> Fault | None:
        calls.append((index, request["messages"][0]["content"]))
        return Fault.http(500) if "9.9" in request["messages"][0]["content"] else None

    with FakeServer(faults=by_body) as server:
        failing = post_chat(http, server, "Which is larger, 9.9 or 9.11?")
        passing = post_chat(http, server)
    assert (failing.status_code, passing.status_code) == (500, 200)
    assert calls == [(0, "Which is larger, 9.9 or 9.11?"), (1, QUESTION)]


def statuses_under_rate(http: httpx.Client, seed: int, count: int) -> list[int]:
    policy = FaultRate(0.3, (Fault.http(500), Fault.rate_limit()), seed=seed)
    with FakeServer(faults=policy) as server:
        return [post_chat(http, server, f"{i}.8和{i}.11哪个大？").status_code for i in range(count)]


def test_fault_rate_is_seeded_and_roughly_honoured(http: httpx.Client) -> None:
    first, again, other = (statuses_under_rate(http, seed, 40) for seed in (7, 7, 8))
    assert first == again
    assert first != other
    assert set(first) == {200, 429, 500}
    assert 0.1 <= sum(s != 200 for s in first) / len(first) <= 0.5


def test_model_faults_apply_to_the_model_list_only(http: httpx.Client) -> None:
    with FakeServer(model_faults=Fault.http(503)) as server:
        client = sdk(server, http)
        with pytest.raises(openai.InternalServerError):
            client.models.list()
        assert ask(client).choices[0].message.content == ANSWER


# --- gzip, keep-alive, records ---------------------------------------------------------------


def test_gzip_is_on_the_wire_and_decoded_by_clients(http: httpx.Client) -> None:
    with FakeServer(gzip=True) as server:
        with http.stream("POST", server.url + "/chat/completions", json=chat_body()) as response:
            raw = b"".join(response.iter_raw())
        assert response.headers["content-encoding"] == "gzip"
        assert json.loads(gzip.decompress(raw))["choices"][0]["message"]["content"] == ANSWER
        assert post_chat(http, server).json()["choices"][0]["message"]["content"] == ANSWER
        assert ask(sdk(server, http)).choices[0].message.content == ANSWER
        plain = http.get(server.url + "/models", headers={"Accept-Encoding": "identity"})
        assert "content-encoding" not in plain.headers


def test_keep_alive_reuses_one_connection(server: FakeServer, http: httpx.Client) -> None:
    for _ in range(5):
        assert post_chat(http, server).status_code == 200
    assert server.connections == 1
    assert server.hits == {"/v1/chat/completions": 5}


def test_requests_are_recorded(server: FakeServer, http: httpx.Client) -> None:
    client = sdk(server, http, key="secret")
    client.models.list()
    ask(client, extra_headers={"X-Llmcmp-Sample": "2"})
    models, chat = server.requests
    assert (models.method, models.path, models.index, models.seq) == ("GET", "/v1/models", 0, 0)
    assert (chat.method, chat.path, chat.index, chat.seq) == ("POST", "/v1/chat/completions", 0, 1)
    assert chat.headers["authorization"] == "Bearer secret"
    assert chat.headers["x-llmcmp-sample"] == "2"
    assert chat.json is not None
    assert chat.json["messages"] == [{"role": "user", "content": QUESTION}]
    assert chat.status == 200
    assert chat.finished is not None
    assert models.time <= chat.time <= chat.finished
    server.clear()
    assert server.requests == []
    assert server.hits == {}


# --- load shaping and shutdown ---------------------------------------------------------------


def test_latency_delays_each_answer(http: httpx.Client) -> None:
    with FakeServer(latency=0.2) as server:
        started = time.monotonic()
        ask(sdk(server, http))
        assert time.monotonic() - started >= 0.2


def run_in_parallel(http: httpx.Client, server: FakeServer, count: int) -> tuple[list[str], list[int]]:
    """Post ``count`` different questions at once; return the answers and the order they came back in."""
    finished: list[int] = []

    def one(i: int) -> str:
        response = post_chat(http, server, f"Which is larger, {i}.8 or {i}.11?")
        finished.append(i)
        content: str = response.json()["choices"][0]["message"]["content"]
        return content

    with ThreadPoolExecutor(count) as pool:
        answers = list(pool.map(one, range(count)))
    return answers, finished


def test_200_concurrent_requests_complete_out_of_order(http: httpx.Client) -> None:
    count = 200
    with FakeServer(out_of_order=True, jitter=0.05, seed=3) as server:
        answers, finished = run_in_parallel(http, server, count)
        records: list[RequestRecord] = server.chat_requests
    assert answers == [f"The larger is {i}.8." for i in range(count)]
    assert len(records) == count
    assert finished != sorted(finished)
    assert server.max_in_flight > 1


def test_out_of_order_jitter_reorders_spaced_requests(http: httpx.Client) -> None:
    # Requests 30 ms apart would finish in arrival order if each took only its few milliseconds.
    count, jitter = 8, 0.4
    with FakeServer(out_of_order=True, jitter=jitter, seed=5) as server, ThreadPoolExecutor(count) as pool:
        futures = []
        for i in range(count):
            futures.append(pool.submit(post_chat, http, server, f"Which is larger, {i}.8 or {i}.11?"))
            time.sleep(0.03)
        assert all(f.result().status_code == 200 for f in futures)
        records = server.chat_requests
    service = [(r.finished or 0.0) - r.time for r in records]
    assert max(service) - min(service) >= jitter / 4
    assert max(service) <= jitter + 5.0  # the jitter adds at most its bound; the rest is a loaded machine's
    by_completion = sorted(records, key=lambda r: r.finished or 0.0)
    assert [r.seq for r in by_completion] != [r.seq for r in records]


def test_capacity_limits_parallelism(http: httpx.Client) -> None:
    latency, capacity, count = 0.1, 3, 12
    with FakeServer(latency=latency, capacity=capacity) as server:
        started = time.monotonic()
        run_in_parallel(http, server, count)
        elapsed = time.monotonic() - started
        assert server.max_in_flight == capacity
    assert elapsed >= (count / capacity) * latency
    with FakeServer(latency=latency) as unlimited:
        run_in_parallel(http, unlimited, count)
        assert unlimited.max_in_flight > capacity


def test_shutdown_with_a_stalled_request_is_prompt(http: httpx.Client) -> None:
    server = FakeServer(faults={1: Fault.stall(60), 2: Fault.stall(60)}, capacity=1).start()
    idle = HTTPConnection("127.0.0.1", server.port, timeout=5)  # a kept-alive connection, idle at stop
    idle.request("POST", "/v1/chat/completions", body=json.dumps(chat_body()))
    assert idle.getresponse().read()
    outcomes: list[BaseException | int] = []

    def call() -> None:
        try:
            outcomes.append(post_chat(http, server).status_code)
        except httpx.HTTPError as error:
            outcomes.append(error)

    callers = [threading.Thread(target=call) for _ in range(2)]  # one stalled, one queued behind it
    for caller in callers:
        caller.start()
    while len(server.requests) < 2:
        time.sleep(0.01)
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 10.0  # far less than the stall, with room for a loaded machine
    for caller in callers:
        caller.join(5)
    assert len(outcomes) == 2
    assert all(isinstance(o, httpx.HTTPError) for o in outcomes)
    assert idle.sock is not None
    assert idle.sock.recv(1) == b""  # the server closed the idle connection
    idle.close()
    server.stop()  # a second stop is harmless


def test_url_needs_a_started_server() -> None:
    with pytest.raises(RuntimeError):
        _ = FakeServer().url


def test_set_faults_and_answer_take_effect_while_running(server: FakeServer, http: httpx.Client) -> None:
    server.set_faults(Fault.http(502))
    assert post_chat(http, server).status_code == 502
    server.set_faults(None)
    server.answer = lambda request: "changed"
    assert post_chat(http, server).json()["choices"][0]["message"]["content"] == "changed"


def test_command_line_serves_until_stopped(http: httpx.Client) -> None:
    script = Path(__file__).with_name("fakeserver.py")
    command = [sys.executable, str(script), "--model", "m1", "--api-key", "key"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None
            url = process.stdout.readline().split(" at ")[-1].strip()
            response = http.get(url + "/models", headers={"Authorization": "Bearer key"})
            assert [m["id"] for m in response.json()["data"]] == ["m1"]
        finally:
            process.terminate()
            process.wait(5)
