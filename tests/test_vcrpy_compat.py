"""Cassettes written by pytest_llmcmp replay with plain vcrpy, and vcrpy's own cassettes load here."""

from __future__ import annotations

import gzip
import importlib
import importlib.util
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import openai
import pytest
import vcr  # type: ignore[import-untyped]
import yaml

from pytest_llmcmp.cassettes import SAMPLE_HEADER, Cassette, Exchange, cassette_path

# openai >= 3 talks through httpx2 (which vcrpy >= 9.4 patches); older stacks through httpx.
httpx: Any = importlib.import_module("httpx2" if importlib.util.find_spec("httpx2") else "httpx")

MATCH_ON = ["method", "scheme", "host", "port", "path", "query", "body"]
# Nothing listens on the discard port: a request vcrpy failed to intercept cannot succeed.
BASE_URL = "http://127.0.0.1:9/v1"
QUESTIONS = ["13.8和13.11哪个大？", "Which is smaller, -0.5 or -0.45?"]
SAMPLES = 3
ASKED = [*QUESTIONS, QUESTIONS[0]]  # the first question twice: two samples of it


def request_body(question: str) -> dict[str, Any]:
    return {
        "model": "Qwen/Qwen2.5-7B-Instruct",
        "messages": [
            {"role": "system", "content": "你是一个严谨的助手。\n最后一行只写答案。"},
            {"role": "user", "content": question},
        ],
        "temperature": 0.7,
        "max_tokens": 256,
    }


def response_body(question: str, sample: int) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{sample}",
        "object": "chat.completion",
        "created": 1700000000 + sample,
        "model": "Qwen/Qwen2.5-7B-Instruct",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": f"回答 {sample}: {question} → 13.8"},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 30, "completion_tokens": 10, "total_tokens": 40},
    }


def content_of(response: dict[str, Any]) -> str:
    content: str = response["choices"][0]["message"]["content"]
    return content


@pytest.fixture
def llmcmp_cassette(tmp_path: Path) -> Path:
    """A cassette with several questions and several samples each, written by our module."""
    cassette = Cassette(cassette_path(tmp_path, "Qwen/Qwen2.5-7B-Instruct", "langgpt", "c0ffee" * 11, "case"))
    for question in QUESTIONS:
        for sample in reversed(range(1, SAMPLES + 1)):  # recorded out of order, as concurrency does
            cassette.add(
                Exchange(
                    uri=f"{BASE_URL}/chat/completions",
                    request_body=request_body(question),
                    sample=sample,
                    status=200,
                    response_body=response_body(question, sample),
                    response_headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
                )
            )
    cassette.save(["sk-never-written"])
    return cassette.path


def test_plain_vcrpy_replays_with_httpx(llmcmp_cassette: Path) -> None:
    with (
        vcr.use_cassette(str(llmcmp_cassette), match_on=MATCH_ON, record_mode="none") as replay,
        httpx.Client(base_url=BASE_URL) as client,
    ):
        # Interleave the questions; identical requests come back in sample order.
        for sample in range(1, SAMPLES + 1):
            for question in QUESTIONS:
                response = client.post(
                    "/chat/completions", json=request_body(question), headers={SAMPLE_HEADER: str(sample)}
                )
                assert response.status_code == 200
                assert response.json() == response_body(question, sample)
        assert replay.all_played


def test_plain_vcrpy_replays_with_the_openai_sdk(llmcmp_cassette: Path) -> None:
    with (
        vcr.use_cassette(str(llmcmp_cassette), match_on=MATCH_ON, record_mode="none") as replay,
        openai.OpenAI(base_url=BASE_URL, api_key="sk-test", max_retries=0) as client,
    ):
        for question in QUESTIONS:
            for sample in range(1, SAMPLES + 1):
                completion = client.chat.completions.create(
                    **request_body(question), extra_headers={SAMPLE_HEADER: str(sample)}
                )
                assert completion.choices[0].message.content == content_of(response_body(question, sample))
                assert completion.id == f"chatcmpl-{sample}"
        assert replay.all_played


def test_plain_vcrpy_refuses_an_unrecorded_request(llmcmp_cassette: Path) -> None:
    unrecorded = {**request_body(QUESTIONS[0]), "temperature": 0.1}
    with (
        vcr.use_cassette(str(llmcmp_cassette), match_on=MATCH_ON, record_mode="none"),
        httpx.Client(base_url=BASE_URL) as client,
        pytest.raises(vcr.errors.CannotOverwriteExistingCassetteException),
    ):
        client.post("/chat/completions", json=unrecorded)


# --- cassettes recorded by vcrpy itself ------------------------------------------------------


class FakeChatServer(BaseHTTPRequestHandler):
    """Answers chat completions with a counter, gzip-compressed when the client asks for it."""

    calls = 0
    lock = threading.Lock()

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        request = json.loads(self.rfile.read(length))
        with self.lock:
            FakeChatServer.calls += 1
            number = FakeChatServer.calls
        payload = json.dumps(response_body(request["messages"][-1]["content"], number)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Set-Cookie", "session=server-cookie")
        self.send_header("X-Request-Id", f"req-{number}")
        if "gzip" in self.headers.get("Accept-Encoding", "") and self.headers.get("X-Compress"):
            payload = gzip.compress(payload)
            self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def server_url() -> Iterator[str]:
    FakeChatServer.calls = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeChatServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.mark.parametrize("compress", [False, True])
def test_cassette_recorded_by_vcrpy_loads(tmp_path: Path, server_url: str, compress: bool) -> None:
    path = tmp_path / "recorded-by-vcrpy.yaml"
    headers = {"Authorization": "Bearer sk-user-secret", **({"X-Compress": "1"} if compress else {})}
    with (
        vcr.use_cassette(str(path), match_on=MATCH_ON, record_mode="all"),
        httpx.Client(base_url=server_url, headers=headers) as client,
    ):
        # The same question twice (two samples, no sample header: plain vcrpy users don't send it).
        answers = [client.post("/chat/completions", json=request_body(q)).json() for q in ASKED]
    assert FakeChatServer.calls == 3
    recorded_text = path.read_text(encoding="utf-8")
    assert "sk-user-secret" in recorded_text  # vcrpy keeps Authorization
    assert ("!!binary" in recorded_text) == compress  # vcrpy stores the compressed bytes as they came

    cassette = Cassette.load(path)
    assert len(cassette) == 3
    assert cassette.find(request_body(QUESTIONS[0]), 1) == answers[0]
    assert cassette.find(request_body(QUESTIONS[1]), 1) == answers[1]
    assert cassette.find(request_body(QUESTIONS[0]), 2) == answers[2]
    assert cassette.find(request_body(QUESTIONS[1]), 2) is None

    # Re-saving scrubs what vcrpy kept, and plain vcrpy still replays the result.
    cassette.save(["sk-user-secret"])
    text = path.read_text(encoding="utf-8")
    for dropped in ("sk-user-secret", "server-cookie", "req-1", "Content-Encoding", "!!binary"):
        assert dropped not in text
    with (
        vcr.use_cassette(str(path), match_on=MATCH_ON, record_mode="none") as replay,
        httpx.Client(base_url=server_url) as client,
    ):
        replayed = [client.post("/chat/completions", json=request_body(q)).json() for q in ASKED]
        assert replay.all_played
    assert replayed == answers
    assert FakeChatServer.calls == 3  # replayed, not asked again


def test_a_cassette_the_plugin_recorded_replays_with_plain_vcrpy_and_the_openai_sdk(suite: pytest.Pytester) -> None:
    from tests.fakeserver import FakeServer

    with FakeServer(models=("fake-model",)) as fake:
        url = fake.url
        suite.runpytest_inprocess("-p", "no:cacheprovider", "--llm-endpoint", url, "-k", "trap").assert_outcomes(
            passed=1
        )
    path = suite.path / "cassettes" / "fake-model" / "none" / "trap.yaml"
    request = json.loads(yaml.safe_load(path.read_text(encoding="utf-8"))["interactions"][0]["request"]["body"])
    with (  # the server is gone: only vcrpy can answer
        vcr.use_cassette(str(path), match_on=MATCH_ON, record_mode="none") as replay,
        openai.OpenAI(base_url=url, api_key="sk-test", max_retries=0) as client,
    ):
        completion = client.chat.completions.create(**request, extra_headers={SAMPLE_HEADER: "1"})
        assert replay.all_played
    assert "13.8" in (completion.choices[0].message.content or "")
    assert (completion.id, completion.created, completion.system_fingerprint) == ("chatcmpl-llmcmp", 0, None)
