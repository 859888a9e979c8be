"""``--llm-answer-format json``: structured answers through ``response_format`` (issue 17, part 4). Real pytest
sessions (pytester) against the fake endpoint on loopback, which honours, ignores or rejects ``response_format``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.fakeserver import FakeServer, constrained, correct_answer


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_inprocess("-p", "no:cacheprovider", *args)


def recorded_bodies(root: Path) -> list[dict[str, Any]]:
    bodies = []
    for path in sorted(root.rglob("*.yaml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        bodies += [json.loads(i["request"]["body"]) for i in document["interactions"]]
    return bodies


def samples(path: Path) -> dict[str, dict[str, Any]]:
    """Each case's first sample in a results JSON, by case id."""
    results = json.loads(path.read_text(encoding="utf-8"))
    return {case["id"]: case["samples"][0] for case in results["cases"]}


def schema(options: list[str]) -> dict[str, Any]:
    """The response_format the brief specifies, written out here rather than built by the code under test."""
    return {
        "type": "json_schema",
        "json_schema": {
            "name": "answer",
            "strict": True,
            "schema": {
                "type": "object",
                "properties": {"answer": {"type": "string", "enum": options}},
                "required": ["answer"],
                "additionalProperties": False,
            },
        },
    }


def test_json_records_the_schema_judges_the_field_and_replays_offline(
    suite: pytest.Pytester, server: FakeServer
) -> None:
    live = run(suite, "--llm-endpoint", server.url, "--llm-answer-format", "json", "--llm-results", "live.json")
    live.assert_outcomes(passed=3)
    live.stdout.fnmatch_lines(["llmcmp: prompts none; temperature 0, max_tokens 512, answers json (response_format)*"])
    sent = {
        tuple(r.json["response_format"]["json_schema"]["schema"]["properties"]["answer"]["enum"])
        for r in server.chat_requests
    }
    assert sent == {("13.8", "13.11", "equal"), ("9.91", "9.9", "equal"), ("-0.5", "-0.25", "equal")}
    for request in server.chat_requests:
        options = request.json["response_format"]["json_schema"]["schema"]["properties"]["answer"]["enum"]
        assert request.json["response_format"] == schema(options)
    bodies = recorded_bodies(suite.path / "cassettes")
    assert len(bodies) == 3
    assert all(b["response_format"]["type"] == "json_schema" for b in bodies)
    by_case = samples(suite.path / "live.json")
    assert by_case["trap"]["answer"] == '{"answer": "13.8"}'
    assert {(s["choice"], s["reason"]) for s in by_case.values()} == {
        ("13.8", "json"),
        ("9.91", "json"),
        ("-0.5", "json"),
    }
    # Offline: the same requests are found and judged the same way.
    replay = run(suite, "--llm-answer-format", "json", "--llm-results", "replay.json")
    replay.assert_outcomes(passed=3)
    assert samples(suite.path / "replay.json") == {k: {**v, "latency": None} for k, v in by_case.items()}


def test_a_recording_with_the_schema_is_missed_without_it_and_the_miss_says_so(
    suite: pytest.Pytester, server: FakeServer
) -> None:
    run(suite, "--llm-endpoint", server.url, "--llm-answer-format", "json", "-k", "trap").assert_outcomes(passed=1)
    text = run(suite, "-k", "trap", "-rs")
    text.assert_outcomes(skipped=1)
    text.stdout.fnmatch_lines(["*recorded with response_format json_schema, asked with response_format unset*"])
    # And the other way round: recorded as text, replayed asking for json; the record command names the option.
    run(suite, "--llm-endpoint", server.url, "-k", "control").assert_outcomes(passed=1)
    structured = run(suite, "-k", "control", "-rs", "--llm-answer-format", "json")
    structured.assert_outcomes(skipped=1)
    structured.stdout.fnmatch_lines(
        [
            "*record them with: pytest --llm-endpoint URL --llm-model fake-model --llm-answer-format json *",
            "*recorded with response_format unset, asked with response_format json_schema*",
        ]
    )


def wrong_answer(request: dict[str, Any]) -> str:
    """Names the other option than the correct one (the fake server constrains it to the schema)."""
    right = json.loads(constrained(correct_answer(request), request["response_format"]))["answer"]
    options = request["response_format"]["json_schema"]["schema"]["properties"]["answer"]["enum"][:-1]
    return next(f"The answer is {o}." for o in options if o != right)


def test_a_wrong_structured_answer_fails_and_free_text_falls_back_to_the_text_judge(suite: pytest.Pytester) -> None:
    with FakeServer(answer=wrong_answer) as server:
        wrong = run(suite, "--llm-endpoint", server.url, "--llm-answer-format", "json", "--llm-results", "w.json")
    wrong.assert_outcomes(failed=3)
    assert {(s["choice"], s["verdict"], s["reason"]) for s in samples(suite.path / "w.json").values()} == {
        ("13.11", "wrong", "json"),
        ("9.9", "wrong", "json"),
        ("-0.25", "wrong", "json"),
    }
    # A server that ignores response_format answers in free text: still judged, by the text judge.
    with FakeServer(response_format="ignore") as server:
        free = run(
            suite,
            "--llm-endpoint",
            server.url,
            "--llm-answer-format",
            "json",
            "--llm-record-mode",
            "all",
            "--llm-results",
            "f.json",
        )
    free.assert_outcomes(passed=3)
    judged = samples(suite.path / "f.json")
    assert judged["trap"]["answer"] == "The larger is 13.8."
    assert all(s["reason"] != "json" and s["verdict"] == "correct" for s in judged.values())


@pytest.mark.parametrize(
    "content",
    ['{"answer": "13.2"}', '{"answer": "13.8", "extra": 1', '["13.8"]', '{"choice": "13.11"}'],
)
def test_json_that_is_not_a_valid_answer_is_read_as_text(suite: pytest.Pytester, content: str) -> None:
    """Not one of the enum values, not an object, another field: the text judge reads it (no "json" reason)."""
    with FakeServer(answer=lambda _: content, response_format="ignore") as server:
        run(suite, "--llm-endpoint", server.url, "--llm-answer-format", "json", "-k", "trap", "--llm-results", "r.json")
    sample = samples(suite.path / "r.json")["trap"]
    assert sample["answer"] == content
    assert sample["reason"] != "json"


def test_a_refusal_is_one_line_for_the_run(suite: pytest.Pytester) -> None:
    with FakeServer(response_format="reject") as server:
        result = run(suite, "--llm-endpoint", server.url, "--llm-answer-format", "json")
        refused = [r for r in server.chat_requests if r.status == 400]
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    line = (
        "*the endpoint refused response_format json_schema: HTTP 400: Invalid parameter: 'response_format' of type "
        "'json_schema' is not supported by this server; run without --llm-answer-format json*"
    )
    result.stdout.fnmatch_lines([line])
    output = result.stdout.str()
    assert output.count("refused response_format") == 1, output
    assert "Traceback" not in output
    assert "question:" not in output  # no case's failure report: the run stopped at the first refusal
    assert refused  # it was the server's answer, not a check made before asking
    assert not list(suite.path.rglob("cassettes/**/*.yaml"))  # nothing recorded


def test_text_is_the_default_and_order_keeps_text(pytester: pytest.Pytester, server: FakeServer) -> None:
    pytester.makefile(
        ".yaml",
        **{
            "cases/mixed": 'cases:\n  - id: pair\n    numbers: ["9.11", "9.9"]\n  - id: sort\n'
            '    numbers: ["4.4", "4.04", "4.14"]\n    ask: order\n'
        },
    )
    run(pytester, "--llm-endpoint", server.url, "-k", "pair")
    assert "response_format" not in server.chat_requests[-1].json  # the default: text
    server.clear()
    pytester.makeini("[pytest]\nllm_answer_format = json\n")
    run(pytester, "--llm-endpoint", server.url, "--llm-record-mode", "all")
    by_question = {"4.04" in r.json["messages"][-1]["content"]: r.json for r in server.chat_requests}
    assert "response_format" not in by_question[True]  # ask: order: a free-text answer
    assert by_question[False]["response_format"] == schema(["9.11", "9.9", "equal"])


@pytest.mark.parametrize("how", ["option", "ini", "environment"])
def test_a_bad_value_is_one_line_naming_the_setting(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    args: list[str] = []
    if how == "option":
        args = ["--llm-answer-format", "yaml"]
        label = "--llm-answer-format"
    elif how == "ini":
        suite.makeini("[pytest]\nllm_answer_format = yaml\n")
        label = "llm_answer_format"
    else:
        monkeypatch.setenv("LLMCMP_ANSWER_FORMAT", "yaml")
        label = "LLMCMP_ANSWER_FORMAT"
    result = run(suite, *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: {label}: expected text or json, got 'yaml'"])


@pytest.mark.parametrize(
    ("error", "refused"),
    [
        # OpenAI, a model without structured outputs
        (
            "HTTP 400: Invalid parameter: 'response_format' of type 'json_schema' is not supported with this model.",
            True,
        ),
        # llama-cpp-python's server (what --llm-endpoint local starts), measured: a 500 after its retries
        (
            "HTTP 500: 1 validation error: {'type': 'literal_error', 'loc': ('body', 'response_format', 'type'), "
            "'msg': \"Input should be 'text' or 'json_object'\", 'input': 'json_schema' (after 3 attempts)",
            True,
        ),
        ("HTTP 422: unsupported json_schema keyword", True),
        ("HTTP 400: This model's maximum context length is 2048 tokens.", False),
        ("HTTP 503: response_format backend overloaded", False),
        ("the request timed out after 120s (--llm-timeout)", False),
    ],
)
def test_which_errors_are_a_refusal_of_response_format(error: str, refused: bool) -> None:
    from pytest_llmcmp.wire import refused_answer_format

    assert refused_answer_format(error) is refused


def local_dialect(options: list[str]) -> dict[str, Any]:
    """llama-cpp-python's form of the same constraint (its server knows only text and json_object), written out."""
    return {
        "type": "json_object",
        "schema": {
            "type": "object",
            "properties": {"answer": {"type": "string", "enum": options}},
            "required": ["answer"],
            "additionalProperties": False,
        },
    }


def test_the_local_backend_sends_llama_cpp_pythons_dialect() -> None:
    from pytest_llmcmp.engine.backends import Backend, LocalBackend
    from pytest_llmcmp.wire import answer_format

    standard = answer_format(["13.8", "13.11", "equal"])
    assert standard == schema(["13.8", "13.11", "equal"])
    assert Backend.response_format(standard) == standard  # a URL: OpenAI's json_schema, as given
    assert LocalBackend.response_format(standard) == local_dialect(["13.8", "13.11", "equal"])


def test_a_recording_in_the_local_dialect_replays_offline_and_is_its_own_key(suite: pytest.Pytester) -> None:
    """A cassette recorded by --llm-endpoint local (json_object) replays with --llm-answer-format json and no
    endpoint; without the option it is not the request asked. The recording is made against the fake server in
    llama-cpp-python's dialect, then its requests are rewritten as the local backend sends them."""
    with FakeServer(response_format="json-object") as server:
        # A URL sends OpenAI's json_schema, which this dialect refuses: that is what the rewrite stands in for.
        run(suite, "--llm-endpoint", server.url, "--llm-results", "text.json").assert_outcomes(passed=3)
    for path in sorted((suite.path / "cassettes").rglob("*.yaml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        for interaction in document["interactions"]:
            body = json.loads(interaction["request"]["body"])
            question = body["messages"][-1]["content"]
            options = {"13.8": ["13.8", "13.11"], "9.91": ["9.91", "9.9"], "-0.5": ["-0.5", "-0.25"]}
            numbers = next(v for k, v in options.items() if k in question)
            body["response_format"] = local_dialect([*numbers, "equal"])
            interaction["request"]["body"] = json.dumps(body)
            response = json.loads(interaction["response"]["body"]["string"])
            answer = response["choices"][0]["message"]["content"]
            response["choices"][0]["message"]["content"] = constrained(answer, body["response_format"])
            interaction["response"]["body"]["string"] = json.dumps(response)
        path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    replay = run(suite, "--llm-answer-format", "json", "--llm-results", "replay.json")
    replay.assert_outcomes(passed=3)
    assert {(s["choice"], s["reason"]) for s in samples(suite.path / "replay.json").values()} == {
        ("13.8", "json"),
        ("9.91", "json"),
        ("-0.5", "json"),
    }
    text = run(suite, "-rs")
    text.assert_outcomes(skipped=3)
    text.stdout.fnmatch_lines(["*recorded with response_format json_object, asked with response_format unset*"])


def test_a_llama_cpp_python_server_given_as_a_url_gets_one_line_naming_local(suite: pytest.Pytester) -> None:
    """A llama-cpp-python server started by hand cannot be told from its URL: the plugin sends OpenAI's json_schema,
    the server's 500 stops the run with one line that says what to use instead."""
    with FakeServer(response_format="json-object") as server:
        result = run(suite, "--llm-endpoint", server.url, "--llm-answer-format", "json", "--llm-retries", "0")
        refused = [r for r in server.chat_requests if r.status == 500]
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stdout.fnmatch_lines(
        [
            "*the endpoint refused response_format json_schema: HTTP 500: *Input should be 'text' or 'json_object'*; "
            "llama-cpp-python's server takes response_format json_object with a schema, which --llm-endpoint local "
            "sends: use --llm-endpoint local, or run without --llm-answer-format json*"
        ]
    )
    output = result.stdout.str()
    assert output.count("refused response_format") == 1, output
    assert "Traceback" not in output
    assert refused
    assert not list(suite.path.rglob("cassettes/**/*.yaml"))


def test_a_500_refusing_response_format_is_asked_once_and_said_in_one_whole_line(suite: pytest.Pytester) -> None:
    """The default retries: a 500 whose body says the request's response_format is invalid is the same on every
    attempt, so it is not retried; the line quotes the server's complaint whole (not cut mid-string), once."""
    with FakeServer(response_format="json-object") as server:
        result = run(suite, "--llm-endpoint", server.url, "--llm-answer-format", "json")
        refused = [r for r in server.chat_requests if r.status == 500]
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    output = result.stdout.str()
    line = next(line for line in output.splitlines() if "refused response_format" in line)
    assert (
        "the endpoint refused response_format json_schema: HTTP 500: response_format.type: Input should be 'text' or "
        "'json_object' (got 'json_schema'); llama-cpp-python's server takes" in line
    ), line
    assert "attempts" not in line
    assert "{'type'" not in output, output
    assert "'expected'" not in output, output
    assert refused
    assert all(record.attempt == 0 for record in refused), [r.attempt for r in refused]  # not retried
