"""The default ``max_tokens`` (512), ``--llm-max-tokens none``, and recordings made before the default was sent: real
pytest sessions (pytester) against the fake endpoint on loopback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from pytest_llmcmp import readahead
from pytest_llmcmp.cassettes import Cassette, key_digest, request_key
from pytest_llmcmp.settings import DEFAULT_MAX_TOKENS
from tests.fakeserver import FakeServer


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_inprocess("-p", "no:cacheprovider", *args)


def recorded_bodies(root: Path) -> list[dict[str, Any]]:
    """Every request body recorded under ``root``, as the cassette files hold them."""
    bodies = []
    for path in sorted(root.rglob("*.yaml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        bodies += [json.loads(i["request"]["body"]) for i in document["interactions"]]
    return bodies


def test_the_default_is_512_sent_shown_and_stored(suite: pytest.Pytester, server: FakeServer) -> None:
    assert DEFAULT_MAX_TOKENS == 512
    result = run(suite, "--llm-endpoint", server.url, "--llm-results", "r.json")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["llmcmp: prompts none; temperature 0, max_tokens 512; samples 1 (pass rule all)"])
    assert [r.json["max_tokens"] for r in server.chat_requests] == [512] * 3
    assert [b["max_tokens"] for b in recorded_bodies(suite.path / "cassettes")] == [512] * 3
    results = json.loads((suite.path / "r.json").read_text(encoding="utf-8"))
    assert results["settings"]["max_tokens"] == 512
    # Replayed with the default (nothing given): the same requests, found.
    run(suite).assert_outcomes(passed=3)


@pytest.mark.parametrize("how", ["option", "ini", "environment"])
def test_none_sends_no_max_tokens(
    suite: pytest.Pytester, server: FakeServer, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    args: list[str] = ["--llm-endpoint", server.url]
    if how == "option":
        args += ["--llm-max-tokens", "none"]
    elif how == "ini":
        suite.makeini("[pytest]\nllm_max_tokens = none\n")
    else:
        monkeypatch.setenv("LLMCMP_MAX_TOKENS", "None")
    result = run(suite, *args, "--llm-results", "r.json")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["llmcmp: prompts none; temperature 0, max_tokens none (not sent); samples 1 *"])
    assert server.chat_requests
    assert all("max_tokens" not in r.json for r in server.chat_requests)
    assert all("max_tokens" not in b for b in recorded_bodies(suite.path / "cassettes"))
    assert json.loads((suite.path / "r.json").read_text(encoding="utf-8"))["settings"]["max_tokens"] is None


def test_the_record_command_names_max_tokens_only_when_not_the_default(suite: pytest.Pytester) -> None:
    (suite.path / "cassettes" / "m" / "none").mkdir(parents=True)
    (suite.path / "cassettes" / "m" / "none" / "other.yaml").write_text("interactions: []\nversion: 1\n")
    default = run(suite, "-k", "trap")
    default.stdout.fnmatch_lines(["*record them with: pytest --llm-endpoint URL --llm-model m cases/basic.yaml::*"])
    none = run(suite, "-k", "trap", "--llm-max-tokens", "none")
    none.stdout.fnmatch_lines(["*record them with: pytest --llm-endpoint URL --llm-model m --llm-max-tokens none *"])
    other = run(suite, "-k", "trap", "--llm-max-tokens", "64")
    other.stdout.fnmatch_lines(["*record them with: pytest --llm-endpoint URL --llm-model m --llm-max-tokens 64 *"])


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("lots", "ERROR: --llm-max-tokens: expected a positive integer or none, got 'lots'"),
        ("0", "ERROR: --llm-max-tokens: must be at least 1, got '0'"),
        ("1.5", "ERROR: --llm-max-tokens: expected a positive integer or none, got '1.5'"),
    ],
)
def test_a_bad_value_is_one_line(suite: pytest.Pytester, value: str, message: str) -> None:
    result = run(suite, "--llm-max-tokens", value)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
    assert "Traceback" not in result.stderr.str() + result.stdout.str()


def test_a_recording_made_without_max_tokens_replays_for_a_user_who_left_the_default(
    suite: pytest.Pytester, server: FakeServer
) -> None:
    # Recorded as earlier versions did: no max_tokens in the request.
    run(suite, "--llm-endpoint", server.url, "--llm-max-tokens", "none").assert_outcomes(passed=3)
    assert all("max_tokens" not in b for b in recorded_bodies(suite.path / "cassettes"))
    before = {p: p.read_bytes() for p in (suite.path / "cassettes").rglob("*.yaml")}
    asked = len(server.chat_requests)

    # A user who set nothing replays them (offline, and with an endpoint nothing is asked again).
    run(suite).assert_outcomes(passed=3)
    run(suite, "--llm-endpoint", server.url).assert_outcomes(passed=3)
    assert len(server.chat_requests) == asked
    assert {p: p.read_bytes() for p in (suite.path / "cassettes").rglob("*.yaml")} == before

    # Whoever asks for 512 by name asks for what was not recorded; the miss says which field differs.
    explicit = run(suite, "--llm-max-tokens", "512", "-rs", "-k", "trap")
    explicit.assert_outcomes(skipped=1)
    explicit.stdout.fnmatch_lines(
        ["*no recording of this exact request (recorded with max_tokens unset, asked with max_tokens 512)."]
    )

    # Re-recording with the default replaces the old recording: one interaction per cassette, with max_tokens 512.
    run(suite, "--llm-endpoint", server.url, "--llm-record-mode", "all").assert_outcomes(passed=3)
    assert len(server.chat_requests) == asked + 3
    assert [b.get("max_tokens") for b in recorded_bodies(suite.path / "cassettes")] == [512] * 3


def test_a_miss_of_an_old_recording_names_what_differs_besides_max_tokens(
    suite: pytest.Pytester, server: FakeServer
) -> None:
    run(suite, "--llm-endpoint", server.url, "--llm-max-tokens", "none", "-k", "trap").assert_outcomes(passed=1)
    result = run(suite, "--llm-temperature", "0.5", "-rs", "-k", "trap")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(
        ["*exact request (recorded with temperature 0, asked with temperature 0.5)."]  # max_tokens is not the matter
    )


def test_the_read_ahead_helper_takes_the_first_recorded_of_a_samples_keys(tmp_path: Path) -> None:
    from tests.test_cassettes import exchange

    old = exchange("13.8")
    path = tmp_path / "c.yaml"
    cassette = Cassette(path)
    cassette.add(old)
    cassette.save([])
    body = old.request_body
    newer = {**body, "max_tokens": 999_999}
    first = [(key_digest(request_key(newer, 1)), key_digest(request_key(body, 1)))]  # the newer form, then the old
    outcome = readahead.read(str(path), first, None)
    assert isinstance(outcome, tuple)
    assert [(r.content, r.error, r.finish_reason) for r in outcome[1] if r is not None] == [("13.8", None, "stop")]
    assert None not in outcome[1]
    neither = [(key_digest(request_key(newer, 1)), key_digest(request_key(newer, 2)))]
    outcome = readahead.read(str(path), neither, None)
    assert isinstance(outcome, tuple)
    assert outcome[1] == [None]
