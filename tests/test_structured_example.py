"""The shipped example of structured answers, ``examples/structured/`` (its ``pytest.ini`` sets
``llm_answer_format = json``): recorded against the fake server on loopback, then replayed offline with the server
gone, as a user of the example would run it."""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path

import pytest
import yaml

from tests.fakeserver import FakeServer

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "structured"


def test_the_structured_example_records_json_answers_then_replays_them_offline(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(EXAMPLE, pytester.path, dirs_exist_ok=True)
    with FakeServer() as fake:
        live = pytester.runpytest_inprocess(
            "-p", "no:cacheprovider", "--llm-endpoint", fake.url, "--llm-results", "live.json"
        )
        sent = [r.json for r in fake.chat_requests]
    live.assert_outcomes(passed=3)
    live.stdout.fnmatch_lines(["llmcmp: prompts none; *answers json (response_format)*"])
    enums = sorted(tuple(b["response_format"]["json_schema"]["schema"]["properties"]["answer"]["enum"]) for b in sent)
    assert enums == [("-0.5", "-0.25", "equal"), ("13.8", "13.11", "equal"), ("2.50", "2.5", "equal")]
    cassettes = sorted((pytester.path / "cassettes" / "fake-model" / "none").glob("*.yaml"))
    assert [p.name for p in cassettes] == ["negatives.yaml", "same-value.yaml", "seed-trap.yaml"]
    for path in cassettes:
        body = json.loads(yaml.safe_load(path.read_text(encoding="utf-8"))["interactions"][0]["request"]["body"])
        assert body["response_format"]["type"] == "json_schema"
    live_cases = json.loads((pytester.path / "live.json").read_text(encoding="utf-8"))["cases"]
    assert {c["id"]: c["samples"][0]["answer"] for c in live_cases} == {
        "seed-trap": '{"answer": "13.8"}',
        "negatives": '{"answer": "-0.5"}',
        "same-value": '{"answer": "equal"}',
    }
    assert all(c["samples"][0]["reason"] == "json" for c in live_cases)

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("replay touched the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    replay = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--llm-results", "replay.json")
    replay.assert_outcomes(passed=3)
    replay.stdout.fnmatch_lines(["llmcmp: replay (offline, record mode none)*"])
    replayed = json.loads((pytester.path / "replay.json").read_text(encoding="utf-8"))["cases"]
    assert [(c["id"], c["samples"][0]["choice"], c["samples"][0]["reason"]) for c in replayed] == [
        (c["id"], c["samples"][0]["choice"], c["samples"][0]["reason"]) for c in live_cases
    ]
    # The same cassettes asked for free text: not the recorded requests, so nothing is replayed.
    text = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-o", "llm_answer_format=text")
    text.assert_outcomes(skipped=3)
