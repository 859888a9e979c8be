"""The plugin driven as users drive it: real pytest sessions (pytester) against a fake endpoint on loopback."""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any, ClassVar

import pytest

from tests.fakeserver import FakeServer, Fault


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_inprocess("-p", "no:cacheprovider", *args)


def wrong_on_trap(request: dict[str, Any]) -> str:
    """Answers like InternLM2-1.8b: 13.11 is larger than 13.8; everything else right."""
    question = request["messages"][-1]["content"]
    if "13.8" in question:
        return "13.11 is larger than 13.8, because 11 is more than 8."
    if "9.91" in question:
        return "The larger number is 9.91."
    return "The smaller one is -0.5."


def results_of(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


# --- collection ---------------------------------------------------------------------------------------------------


def test_node_ids_are_file_case_prompt(suite: pytest.Pytester) -> None:
    result = run(suite, "--collect-only", "-q", "--llm-prompt", "prompts/careful.md", "--llm-prompt", "none")
    result.stdout.fnmatch_lines(
        [
            "cases/basic.yaml::trap::careful",
            "cases/basic.yaml::trap::none",
            "cases/basic.yaml::control::careful",
            "cases/basic.yaml::control::none",
            "cases/basic.yaml::smaller::careful",
            "cases/basic.yaml::smaller::none",
        ]
    )
    assert result.ret == 0


def test_other_yaml_files_and_cassettes_are_left_alone(suite: pytest.Pytester) -> None:
    suite.makefile(".yaml", **{"ci/workflow": "jobs: {build: {runs-on: ubuntu}}\n"})
    suite.makefile(".yaml", **{"cassettes/m/none/x": "interactions: []\nversion: 1\n"})
    suite.makefile(".yaml", **{"elsewhere/more": "cases:\n  - numbers: ['1.5', '1.25']\n"})
    result = run(suite, "--collect-only", "-q")
    result.stdout.fnmatch_lines(["cases/basic.yaml::trap::none", "elsewhere/more.yaml::*::none"])
    result.stdout.no_fnmatch_line("*workflow*")
    result.stdout.no_fnmatch_line("*cassettes*")


def test_bad_case_file_is_one_line_collection_error(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", **{"cases/typo": "cases:\n  - numbrs: ['1.5', '1.25']\n"})
    result = run(pytester, "--collect-only")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["cases/typo.yaml:2: unknown key 'numbrs' in case #1; did you mean 'numbers'?"])
    result.stdout.no_fnmatch_line("*Traceback*")
    result.stdout.no_fnmatch_line("*pytest_llmcmp/*")


def test_case_file_messages_list_the_allowed_values_once(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", **{"cases/one": "cases:\n  - {id: trap, numbers: ['13.8', '13.11'], ask: biggest}\n"})
    pytester.makefile(".yaml", **{"cases/two": "cases:\n  - {id: lone, numbers: ['13.8']}\n"})
    result = run(pytester, "--collect-only")
    result.stdout.fnmatch_lines(
        [
            "cases/one.yaml:2: case 'trap': ask 'biggest' is not one of larger, smaller, order",
            "cases/two.yaml:2: case 'lone' has 1 number; a case needs 2 to 20",
        ]
    )
    result.stdout.no_fnmatch_line("*expected one of*")


def test_duplicate_ids_across_files(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", **{"cases/a": "cases:\n  - {id: same, numbers: ['1', '2']}\n"})
    pytester.makefile(".yaml", **{"cases/b": "cases:\n  - {id: same, numbers: ['3', '2']}\n"})
    result = run(pytester, "--collect-only")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*case id 'same' is already used at cases/a.yaml:2*"])


# --- record, then replay offline ------------------------------------------------------------------------------------


def test_record_then_replay_offline(suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeServer(models=("fake-model",), answer=wrong_on_trap) as fake:
        live = run(suite, "--llm-endpoint", fake.url, "--llm-results", "live.json", "-v")
        asked = len(fake.chat_requests)
    live.assert_outcomes(passed=2, failed=1)
    assert asked == 3
    cassettes = sorted(p.relative_to(suite.path).as_posix() for p in suite.path.glob("cassettes/**/*.yaml"))
    assert cassettes == [
        "cassettes/fake-model/none/control.yaml",
        "cassettes/fake-model/none/smaller.yaml",
        "cassettes/fake-model/none/trap.yaml",
    ]
    # The server is gone; any socket use would now fail loudly.
    import socket

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("replay touched the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    replay = run(suite, "--llm-results", "replay.json", "-v")
    replay.assert_outcomes(passed=2, failed=1)
    replay.stdout.fnmatch_lines(["*replay (offline, record mode none)*"])
    before, after = results_of(suite.path / "live.json"), results_of(suite.path / "replay.json")
    assert [(c["id"], c["outcome"], c["samples"]) for c in before["cases"]] == [
        (c["id"], c["outcome"], c["samples"]) for c in after["cases"]
    ]
    assert after["model"] == "fake-model"
    trap = next(c for c in after["cases"] if c["id"] == "trap")
    assert trap["expected"] == "13.8"
    assert trap["samples"][0]["choice"] == "13.11"
    assert trap["samples"][0]["verdict"] == "wrong"


def test_results_json_contract(suite: pytest.Pytester, server: FakeServer) -> None:
    result = run(suite, "--llm-endpoint", server.url, "--llm-prompt", "prompts/careful.md", "--llm-results", "r.json")
    result.assert_outcomes(passed=3)
    data = results_of(suite.path / "r.json")
    assert data["schema"] == 1
    assert data["model"] == "fake-model"
    assert data["endpoint"] == server.url
    prompt = data["prompts"]["careful"]
    assert prompt["path"] == "prompts/careful.md"
    import hashlib

    assert prompt["sha256"] == hashlib.sha256(b"Compare numbers carefully.\n").hexdigest()
    case = next(c for c in data["cases"] if c["id"] == "smaller")
    assert case["prompt"] == "careful"
    assert case["numbers"] == ["-0.5", "-0.25"]
    assert case["ask"] == "smaller"
    assert case["expected"] == "-0.5"
    assert case["outcome"] == "pass"
    assert case["samples"][0]["verdict"] == "correct"
    assert case["samples"][0]["choice"] == "-0.5"
    assert isinstance(case["samples"][0]["answer"], str)
    assert data["summary"]["total"] == 3
    assert data["summary"]["passed"] == 3
    # The system message is the prompt file, the user message the question.
    messages = server.chat_requests[0].json["messages"]
    assert messages[0] == {"role": "system", "content": "Compare numbers carefully.\n"}
    assert messages[1]["role"] == "user"


def test_replay_without_recordings_fails_and_sends_nothing(suite: pytest.Pytester, server: FakeServer) -> None:
    run(suite, "--llm-endpoint", server.url).assert_outcomes(passed=3)
    (suite.path / "prompts" / "careful.md").write_text("Compare numbers very carefully.\n", encoding="utf-8")
    run(suite, "--llm-endpoint", server.url, "--llm-prompt", "prompts/careful.md").assert_outcomes(passed=3)
    server.clear()
    # The prompt is edited again: its recordings no longer apply.
    (suite.path / "prompts" / "careful.md").write_text("Think step by step.\n", encoding="utf-8")
    result = run(suite, "--llm-prompt", "prompts/careful.md", "-rs")
    # Not recorded yet is not a failure of the model: skipped with one line each, and the run fails all the same.
    result.assert_outcomes(skipped=3)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "3 cases have no recording (skipped, not judged); record them with: pytest --llm-endpoint URL "
            "--llm-model fake-model --llm-prompt prompts/careful.md cases/basic.yaml::trap::careful "
            "cases/basic.yaml::control::careful cases/basic.yaml::smaller::careful",
            "SKIPPED [[]1[]] cases/basic.yaml:*: no recording of case 'trap' under prompt 'careful' (sha256 *) "
            "for model 'fake-model': the prompt file changed since it was recorded (recorded: careful-*",
        ]
    )
    assert server.chat_requests == []


def test_a_miss_names_the_settings_that_differ_from_the_recording(suite: pytest.Pytester, server: FakeServer) -> None:
    run(suite, "--llm-endpoint", server.url, "--llm-max-tokens", "48", "-k", "trap").assert_outcomes(passed=1)
    result = run(suite, "-k", "trap", "-rs", "--llm-max-tokens", "none")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(
        [
            "SKIPPED [[]1[]] cases/basic.yaml:*: no recording of case 'trap' under prompt 'none' for model "
            "'fake-model': its cassette has no recording of this exact request "
            "(recorded with max_tokens 48, asked with max_tokens unset)."
        ]
    )
    default = run(suite, "-k", "trap", "-rs")  # the default is sent: 512
    default.assert_outcomes(skipped=1)
    default.stdout.fnmatch_lines(["*exact request (recorded with max_tokens 48, asked with max_tokens 512)."])
    both = run(suite, "-k", "trap", "-rs", "--llm-temperature", "0.5", "--llm-seed", "7", "--llm-max-tokens", "48")
    both.stdout.fnmatch_lines(["*(recorded with temperature 0 and seed unset, asked with temperature 0.5 and seed 7)."])
    # The same request, more samples than were recorded.
    samples = run(suite, "-k", "trap", "-rs", "--llm-max-tokens", "48", "--llm-samples", "2")
    samples.stdout.fnmatch_lines(["*exact request (recorded with 1 sample, asked for 2 (--llm-samples))."])
    # The question changed (another template): the user message is named, as recorded and as asked.
    (suite.path / "cases" / "basic.yaml").write_text(
        (suite.path / "cases" / "basic.yaml").read_text(encoding="utf-8").replace("template: en", "template: en-short"),
        encoding="utf-8",
    )
    question = run(suite, "-k", "trap", "-rs", "--llm-max-tokens", "48")
    question.stdout.fnmatch_lines(['*(recorded with user message "Which is larger*", asked with user message "*).'])


def test_model_change_never_replays_another_models_answers(suite: pytest.Pytester) -> None:
    with FakeServer(models=("model-a", "model-b")) as fake:
        run(suite, "--llm-endpoint", fake.url).assert_outcomes(passed=3)
        assert {r.json["model"] for r in fake.chat_requests} == {"model-a"}
    result = run(suite, "--llm-model", "model-b", "-rs")
    result.assert_outcomes(skipped=3)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*no recording of case * for model 'model-b'*"])


def test_recording_again_only_asks_what_is_missing(suite: pytest.Pytester, server: FakeServer) -> None:
    run(suite, "--llm-endpoint", server.url, "-k", "trap").assert_outcomes(passed=1)
    assert len(server.chat_requests) == 1
    server.clear()
    run(suite, "--llm-endpoint", server.url).assert_outcomes(passed=3)
    assert len(server.chat_requests) == 2
    server.clear()
    run(suite, "--llm-endpoint", server.url, "--llm-record-mode", "all").assert_outcomes(passed=3)
    assert len(server.chat_requests) == 3


def test_failed_item_shows_question_prompt_expected_answer(suite: pytest.Pytester) -> None:
    with FakeServer(answer=wrong_on_trap) as fake:
        result = run(suite, "--llm-endpoint", fake.url, "--llm-prompt", "prompts/careful.md")
    result.stdout.fnmatch_lines(
        [
            "*_ trap [[]careful[]] _*",
            "question: Which is larger, 13.8 or 13.11?",
            "prompt:   careful (prompts/careful.md)",
            "expected: 13.8 (larger of 13.8, 13.11)",
            "wrong: chose 13.11",
            "  answer: 13.11 is larger than 13.8, because 11 is more than 8.",
        ]
    )
    result.stdout.no_fnmatch_line("*Traceback*")
    result.stdout.no_fnmatch_line("*runner.py*")


def test_report_header_and_summary_table(suite: pytest.Pytester, server: FakeServer) -> None:
    result = run(
        suite,
        "--llm-endpoint",
        server.url,
        "--llm-temperature",
        "0.7",
        "--llm-seed",
        "42",
        "--llm-max-tokens",
        "64",
    )
    result.stdout.fnmatch_lines(
        [
            f"llmcmp: record mode new_episodes, endpoint {server.url}, model (auto)",
            "llmcmp: prompts none; temperature 0.7, max_tokens 64, seed 42; samples 1 (pass rule all)",
        ]
    )
    body = server.chat_requests[0].json
    assert (body["temperature"], body["seed"], body["max_tokens"]) == (0.7, 42, 64)
    result.stdout.fnmatch_lines(["*= llmcmp =*", "*none*3/3*100.0%*"])


# --- hooks ----------------------------------------------------------------------------------------------------------


def test_one_live_request_is_counted_in_the_singular(suite: pytest.Pytester, server: FakeServer) -> None:
    result = run(suite, "--llm-endpoint", server.url, "-k", "trap")
    result.stdout.fnmatch_lines(["asked 1 request live, 0 failed, in *s; cassettes in cassettes"])


def test_html_facts_leave_out_settings_not_sent(suite: pytest.Pytester, server: FakeServer) -> None:
    run(suite, "--llm-endpoint", server.url, "--llm-html", "r.html").assert_outcomes(passed=3)
    html = (suite.path / "r.html").read_text(encoding="utf-8")
    facts = html.split('<p class="facts">', 1)[1].split("</p>", 1)[0]
    assert "temperature 0" in facts
    assert "None" not in facts  # neither "seed None" nor "max_tokens None"


def test_build_messages_hook_adds_few_shot(suite: pytest.Pytester, server: FakeServer) -> None:
    suite.makeconftest(
        """
        def pytest_llmcmp_build_messages(case, prompt, messages):
            messages[-1:-1] = [
                {"role": "user", "content": "Which is larger, 2.5 or 2.25?"},
                {"role": "assistant", "content": "2.5"},
            ]
        """
    )
    run(suite, "--llm-endpoint", server.url).assert_outcomes(passed=3)
    assert [m["content"] for m in server.chat_requests[0].json["messages"]][:2] == [
        "Which is larger, 2.5 or 2.25?",
        "2.5",
    ]
    # Replay sends the same messages, so it finds the recordings.
    run(suite).assert_outcomes(passed=3)


def cut_on_a_number(request: dict[str, Any]) -> str:
    """On the trap, a list whose cut-off (at 4 x 40 characters) leaves "13.8" alone on the last line."""
    question = request["messages"][-1]["content"]
    if "13.8" in question:
        steps = "1. Both integer parts are 13.\n2. Now compare the digits after the point, one at a time.\n"
        filler = "3. " + "x" * (160 - len(steps) - len("3. ") - len("\n13.8") - 1) + "\n"
        return steps + filler + "\n13.8 has 1 digit after the point and 13.11 has 2, so 13.11 is larger."
    if "9.91" in question:
        return "The larger number is 9.91."
    return "The smaller one is -0.5."


def test_extract_choice_knows_the_answer_was_cut_off(suite: pytest.Pytester) -> None:
    """finish_reason reaches the built-in reader and the hook: a cut-off answer's last line is unfinished."""
    cut = cut_on_a_number({"messages": [{"content": "13.8"}]})[:160]
    assert cut.endswith("\n13.8")  # what the fake server sends back: a last line that is an option
    with FakeServer(answer=cut_on_a_number) as fake:
        live = run(suite, "--llm-endpoint", fake.url, "--llm-max-tokens", "40", "--llm-results", "r.json")
    live.assert_outcomes(passed=2, failed=1)
    trap = {c["id"]: c["samples"][0] for c in results_of(suite.path / "r.json")["cases"]}["trap"]
    assert (trap["answer"], trap["finish_reason"]) == (cut, "length")
    assert (trap["verdict"], trap["reason"], trap["choice"]) == ("unparsed", "truncated", None)
    # A hook that takes finish_reason gets it (one that does not, as in the test below, still works).
    suite.makeconftest(
        """
        from pytest_llmcmp.answers import Extraction

        def pytest_llmcmp_extract_choice(answer, case, finish_reason):
            if case.id == "trap":
                return Extraction(choice=None, reason=f"seen {finish_reason}")
            return None
        """
    )
    replay = run(suite, "--llm-max-tokens", "40", "--llm-results", "replay.json")
    replay.assert_outcomes(passed=2, failed=1)
    trap = {c["id"]: c["samples"][0] for c in results_of(suite.path / "replay.json")["cases"]}["trap"]
    assert trap["finish_reason"] == "length"
    assert trap["reason"] == "truncated"  # cut off without a choice: the remedy is max_tokens, whatever the hook says
    suite.makeconftest(
        """
        from pytest_llmcmp.answers import Extraction

        def pytest_llmcmp_extract_choice(answer, case, finish_reason):
            if case.id == "trap":
                return Extraction(choice="13.8" if finish_reason == "length" else None, reason="by hand")
            return None
        """
    )
    run(suite, "--llm-max-tokens", "40").assert_outcomes(passed=3)


def test_extract_choice_hook_wins_over_builtin(suite: pytest.Pytester) -> None:
    """A prompt that asks for "A" or "B" needs its own parser; the built-in one cannot read letters."""

    with FakeServer(answer=lambda request: "A") as fake:
        builtin = run(suite, "--llm-endpoint", fake.url, "--llm-results", "builtin.json")
    builtin.assert_outcomes(failed=3)
    assert {c["samples"][0]["verdict"] for c in results_of(suite.path / "builtin.json")["cases"]} == {"unparsed"}
    suite.makeconftest(
        """
        from pytest_llmcmp.answers import Extraction

        def pytest_llmcmp_extract_choice(answer, case):
            if answer.strip() in ("A", "B"):
                return Extraction(choice=case.numbers["AB".index(answer.strip())], reason="letter")
            return None
        """
    )
    result = run(suite, "--llm-results", "r.json")  # replayed: the hook judges the recorded answers anew
    result.assert_outcomes(passed=3)
    cases = {c["id"]: c for c in results_of(suite.path / "r.json")["cases"]}
    assert cases["trap"]["samples"][0]["choice"] == "13.8"
    assert cases["smaller"]["samples"][0]["choice"] == "-0.5"
    assert cases["control"]["samples"][0]["choice"] == "9.91"


# --- configuration and endpoint faults: one line each, at the start -----------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--llm-prompt", "prompts/missing.md"], "ERROR: --llm-prompt prompts/missing.md: no such file"),
        (["--llm-samples", "zero"], "ERROR: --llm-samples: expected an integer, got 'zero'"),
        (
            ["--llm-record-mode", "always"],
            "ERROR: --llm-record-mode: expected one of none, once, new_episodes, all*",
        ),
        (
            ["--llm-record-mode", "all"],
            "ERROR: --llm-record-mode all records from an endpoint: add --llm-endpoint URL",
        ),
        (["--llm-endpoint", "0.0.0.0:23333"], "ERROR: --llm-endpoint: expected an http(s) URL or 'local'*"),
        (["--llm-pass-rule", "6/5", "--llm-samples", "5"], "ERROR: --llm-pass-rule: *"),
        (["--llm-samples", "3", "--llm-pass-rule", "2/5"], "ERROR: --llm-pass-rule: *needs --llm-samples 5*"),
        (["--llm-read-ahead", "always"], "ERROR: --llm-read-ahead: expected auto or off, got 'always'"),
    ],
)
def test_bad_options_are_one_line_usage_errors(suite: pytest.Pytester, args: list[str], message: str) -> None:
    result = run(suite, *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
    assert "Traceback" not in result.stderr.str()


def test_empty_prompt_file(suite: pytest.Pytester) -> None:
    (suite.path / "prompts" / "empty.md").write_text("  \n", encoding="utf-8")
    result = run(suite, "--llm-prompt", "prompts/empty.md")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --llm-prompt prompts/empty.md: the file is empty"])


def run_against_a_keyed_server(suite: pytest.Pytester) -> tuple[str, pytest.RunResult]:
    """A session against a server whose key is ``internlm2``: it stops at discovery, a usage error, asking nothing."""
    with FakeServer(api_key="internlm2") as fake:
        url = fake.url
        result = run(suite, "--llm-endpoint", url)
        assert fake.chat_requests == []
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    return url, result


def test_wrong_api_key(suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMCMP_API_KEY", "wrong-key")
    url, result = run_against_a_keyed_server(suite)
    result.stderr.fnmatch_lines([f"ERROR: --llm-endpoint: {url} rejected the key from LLMCMP_API_KEY (HTTP 401)*"])
    result.stdout.no_fnmatch_line("*= llmcmp =*")
    assert "wrong-key" not in result.stdout.str() + result.stderr.str()
    assert "set LLMCMP_API_KEY or OPENAI_API_KEY" not in result.stderr.str()  # it is set: the advice is elsewhere


@pytest.mark.parametrize(
    ("variables", "said"),
    [
        ({"OPENAI_API_KEY": "sk-wrong-openai-0123456789"}, "rejected the key from OPENAI_API_KEY (HTTP 401)*"),
        (
            {"LLMCMP_API_KEY": "wrong-llmcmp-key-0123", "OPENAI_API_KEY": "internlm2"},
            "rejected the key from LLMCMP_API_KEY (HTTP 401)*",
        ),
        ({}, "requires an API key (HTTP 401): no key was sent; set LLMCMP_API_KEY or OPENAI_API_KEY"),
    ],
)
def test_a_rejected_key_names_its_variable_and_a_missing_key_says_so(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], said: str
) -> None:
    for name in ("LLMCMP_API_KEY", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    url, result = run_against_a_keyed_server(suite)
    result.stderr.fnmatch_lines([f"ERROR: --llm-endpoint: {url} {said}"])
    shown = result.stdout.str() + result.stderr.str()
    for value in variables.values():
        assert value not in shown


def test_key_from_environment_is_sent_never_written(suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LLMCMP_API_KEY", raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "internlm2")
    with FakeServer(api_key="internlm2") as fake:
        result = run(suite, "--llm-endpoint", fake.url, "--llm-results", "r.json", "--llm-report", "r.md")
    result.assert_outcomes(passed=3)
    for path in suite.path.rglob("*"):
        if path.is_file():
            assert b"internlm2" not in path.read_bytes(), path


def test_unreachable_endpoint(suite: pytest.Pytester) -> None:
    import socket

    with socket.socket() as bound:  # bound, never listening: connections to it are refused, and nobody can take it
        bound.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{bound.getsockname()[1]}/v1"
        result = run(suite, "--llm-endpoint", url, "--llm-timeout", "5")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    where = url.removeprefix("http://").removesuffix("/v1")
    result.stderr.fnmatch_lines(
        [f"ERROR: --llm-endpoint: cannot connect to {url}: connection refused (is the server running on {where}?)"]
    )
    assert "ConnectError" not in result.stderr.str()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux drops a SYN to a full accept queue")
def test_a_server_that_never_accepts_is_named_as_a_connect_timeout(suite: pytest.Pytester) -> None:
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen(0)  # never accepted: once the queue is full, connecting hangs (no refusal, no answer)
        fillers = [socket.socket() for _ in range(3)]
        try:
            for filler in fillers:
                filler.setblocking(False)
                filler.connect_ex(listening.getsockname())
            url = f"http://127.0.0.1:{listening.getsockname()[1]}/v1"
            result = run(suite, "--llm-endpoint", url, "--llm-timeout", "6")
        finally:
            for filler in fillers:
                filler.close()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [f"ERROR: --llm-endpoint: cannot connect to {url}: connecting timed out (--llm-timeout)"]
    )


def test_unknown_host_is_named_as_a_dns_failure(suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(proxy, raising=False)
    url = "http://llmcmp-no-such-host.invalid/v1"  # .invalid never resolves (RFC 2606)
    result = run(suite, "--llm-endpoint", url, "--llm-timeout", "10")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [f"ERROR: --llm-endpoint: cannot connect to {url}: host not found (DNS): llmcmp-no-such-host.invalid"]
    )


def test_a_server_gone_after_discovery_names_the_refusal_per_case(suite: pytest.Pytester) -> None:
    fake = FakeServer().start()
    url, where = fake.url, f"127.0.0.1:{fake.port}"

    class StopServer:
        def pytest_llmcmp_build_messages(self) -> None:
            # Called while the requests are built: after the model was discovered, before anything is asked.
            fake.stop()  # every request now finds the port closed

    try:
        result = suite.runpytest_inprocess(
            "-p", "no:cacheprovider", "--llm-endpoint", url, "--llm-retries", "0", plugins=[StopServer()]
        )
    finally:
        fake.stop()
    assert fake.chat_requests == []  # nothing was asked before the server went
    result.assert_outcomes(failed=3)
    result.stdout.fnmatch_lines(
        [f"*error: cannot connect to {url}: connection refused (is the server running on {where}?)*"]
    )
    assert "ConnectError" not in result.stdout.str()


class _Page:
    """A loopback HTTP server answering every GET with one body and content type (a web page, say)."""

    def __init__(self, body: bytes, content_type: str) -> None:
        import http.server
        import threading

        page = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                page.paths.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.paths: list[str] = []
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __exit__(self, *exc_info: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def test_a_web_page_where_the_api_was_expected(suite: pytest.Pytester) -> None:
    with _Page(b"<!doctype html><html><body>Welcome</body></html>", "text/html; charset=utf-8") as url:
        result = run(suite, "--llm-endpoint", url)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [f"ERROR: --llm-endpoint: {url}/models answered text/html, not JSON (is this the API's base URL?)"]
    )
    assert "_set_private_attributes" not in result.stderr.str()
    assert "Traceback" not in result.stderr.str()


def test_json_labelled_as_text_is_read_as_json(suite: pytest.Pytester) -> None:
    with _Page(b'{"object": "list", "data": []}', "text/plain") as url:
        result = run(suite, "--llm-endpoint", url)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: --llm-endpoint: {url}/models lists no model; pass --llm-model"])


def test_unknown_model(suite: pytest.Pytester, server: FakeServer) -> None:
    result = run(suite, "--llm-endpoint", server.url, "--llm-model", "gpt-17")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: --llm-model: {server.url} does not serve 'gpt-17' (it serves: fake-model)"])


def test_endpoint_without_v1_suggests_it(suite: pytest.Pytester, server: FakeServer) -> None:
    base = server.url.removesuffix("/v1")
    result = run(suite, "--llm-endpoint", base)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: --llm-endpoint: {base}/models answered HTTP 404*; did you mean {base}/v1?"])
    assert server.chat_requests == []


@pytest.mark.parametrize(
    ("path", "suggested", "said"),
    [
        ("/v2", "/v1", ""),
        ("/api/", "/v1", ""),
        ("/v1/chat/completions", "/v1", "--llm-endpoint is the API's base URL, without /chat/completions: "),
        ("/v1/completions/", "/v1", "--llm-endpoint is the API's base URL, without /completions: "),
        ("/v1/models", "/v1", "--llm-endpoint is the API's base URL, without /models: "),
        ("/chat/completions", "/v1", "--llm-endpoint is the API's base URL, without /chat/completions: "),
    ],
)
def test_endpoint_with_another_path_suggests_the_base_url(
    suite: pytest.Pytester, server: FakeServer, path: str, suggested: str, said: str
) -> None:
    root = server.url.removesuffix("/v1")
    result = run(suite, "--llm-endpoint", root + path)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: --llm-endpoint: *answered HTTP 404*; {said}did you mean {root}{suggested}?"])
    assert f"{path.rstrip('/')}/v1?" not in result.stderr.str()
    assert server.chat_requests == []


def test_failed_request_is_an_error_and_the_session_goes_on(suite: pytest.Pytester) -> None:
    def faults(index: int, request: dict[str, Any]) -> Fault | None:
        return Fault.http(500) if "13.8" in request["messages"][-1]["content"] else None

    with FakeServer(faults=faults) as fake:
        result = run(
            suite,
            "--llm-endpoint",
            fake.url,
            "--llm-retries",
            "2",
            "--llm-backoff",
            "0.01",
            "--llm-results",
            "r.json",
        )
        assert sum("13.8" in r.json["messages"][-1]["content"] for r in fake.chat_requests) == 3
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["error: HTTP 500*(after 3 attempts)"])
    trap = next(c for c in results_of(suite.path / "r.json")["cases"] if c["id"] == "trap")
    assert trap["samples"][0]["verdict"] == "error"
    assert not (suite.path / "cassettes" / "fake-model" / "none" / "trap.yaml").exists()
    assert (suite.path / "cassettes" / "fake-model" / "none" / "control.yaml").exists()


# --- samples, pass rules, gates ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "samples", "outcome"),
    [
        ("all", 3, "failed"),
        ("majority", 3, "passed"),
        ("any", 3, "passed"),
        ("2/3", 3, "passed"),
        ("3/3", 3, "failed"),
    ],
)
def test_pass_rules(suite: pytest.Pytester, rule: str, samples: int, outcome: str) -> None:
    calls: dict[str, int] = {}

    def two_of_three(request: dict[str, Any]) -> str:
        key = json.dumps(request["messages"])
        calls[key] = calls.get(key, 0) + 1
        return "13.8 is larger." if calls[key] != 2 else "13.11 is larger."

    with FakeServer(answer=two_of_three) as fake:
        result = run(
            suite,
            "--llm-endpoint",
            fake.url,
            "-k",
            "trap",
            "--llm-samples",
            str(samples),
            "--llm-pass-rule",
            rule,
            "--llm-results",
            "r.json",
        )
        sent = sorted(r.headers["x-llmcmp-sample"] for r in fake.chat_requests)
    assert sent == ["1", "2", "3"]
    result.assert_outcomes(**{outcome: 1})
    case = results_of(suite.path / "r.json")["cases"][0]
    assert sorted(s["verdict"] for s in case["samples"]) == ["correct", "correct", "wrong"]
    # Replay gives every sample its own recorded answer, not one answer three times.
    replay = run(suite, "-k", "trap", "--llm-samples", str(samples), "--llm-pass-rule", rule, "--llm-results", "p.json")
    replay.assert_outcomes(**{outcome: 1})
    assert results_of(suite.path / "p.json")["cases"][0]["samples"] == case["samples"]


def test_min_accuracy_gate(suite: pytest.Pytester) -> None:
    with FakeServer(answer=wrong_on_trap) as fake:
        run(suite, "--llm-endpoint", fake.url).assert_outcomes(passed=2, failed=1)
    ok = run(suite, "--llm-min-accuracy", "60%")
    ok.assert_outcomes(passed=2, xfailed=1)
    assert ok.ret == 0
    low = run(suite, "--llm-min-accuracy", "0.8")
    low.assert_outcomes(passed=2, xfailed=1)
    assert low.ret == pytest.ExitCode.TESTS_FAILED
    low.stdout.fnmatch_lines(["*gate failed: accuracy of prompt 'none' is 66.7%*under --llm-min-accuracy 80%*"])


def test_baseline_regressions_fail_known_failures_do_not(suite: pytest.Pytester, server: FakeServer) -> None:
    run(suite, "--llm-endpoint", server.url, "--llm-results", "main.json").assert_outcomes(passed=3)
    baseline = results_of(suite.path / "main.json")
    # Pretend 'control' already failed on main.
    for case in baseline["cases"]:
        if case["id"] == "control":
            case["outcome"] = "fail"
    (suite.path / "main.json").write_text(json.dumps(baseline), encoding="utf-8")

    def worse(request: dict[str, Any]) -> str:
        question = request["messages"][-1]["content"]
        return "9.9 is larger." if "9.91" in question else ("13.11 is larger." if "13.8" in question else "-0.5")

    with FakeServer(answer=worse) as fake:
        result = run(
            suite,
            "--llm-endpoint",
            fake.url,
            "--llm-record-mode",
            "all",
            "--llm-baseline",
            "main.json",
            "--llm-report",
            "pr.md",
            "--llm-gate",
            "strict",
        )
    result.assert_outcomes(passed=1, failed=1, xfailed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    report = (suite.path / "pr.md").read_text(encoding="utf-8")
    assert "trap" in report
    assert "13.11" in report


def test_reruns_replace_a_result_never_add_one(suite: pytest.Pytester) -> None:
    """pytest-rerunfailures runs a failed item again: the results count it once, with its last outcome."""
    pytest.importorskip("pytest_rerunfailures")
    with FakeServer(answer=wrong_on_trap) as fake:
        live = run(suite, "--llm-endpoint", fake.url, "--reruns", "2", "--llm-results", "live.json")
        asked = len(fake.chat_requests)
    live.assert_outcomes(passed=2, failed=1)
    assert live.parseoutcomes()["rerun"] == 2
    assert asked == 3  # a rerun judges the same answer again; --llm-samples is how to ask more than once
    replay = run(suite, "--reruns", "2", "--llm-results", "replay.json")
    replay.assert_outcomes(passed=2, failed=1)
    assert replay.parseoutcomes()["rerun"] == 2
    for name in ("live.json", "replay.json"):
        data = results_of(suite.path / name)
        assert sorted(c["id"] for c in data["cases"]) == ["control", "smaller", "trap"], name
        assert (data["summary"]["total"], data["summary"]["passed"]) == (3, 2), name


# --- xdist ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "workers",
    [["-n", "0"], ["-n", "2"], ["-d", "--tx", "popen", "--tx", "popen"]],
    ids=["n0", "n2", "tx-popen"],
)
def test_xdist_record_and_replay(suite: pytest.Pytester, workers: list[str]) -> None:
    pytest.importorskip("xdist")
    with FakeServer(answer=wrong_on_trap) as fake:
        live = suite.runpytest_subprocess(
            "-p", "no:cacheprovider", *workers, "--llm-endpoint", fake.url, "--llm-results", "live.json"
        )
        assert len(fake.chat_requests) == 3
    live.assert_outcomes(passed=2, failed=1)
    # The workers' live requests are counted on the controller, as in a run without xdist.
    live.stdout.fnmatch_lines(["asked 3 requests live, 0 failed, in *s; cassettes in cassettes"])
    replay = suite.runpytest_subprocess(
        "-p", "no:cacheprovider", *workers, "--llm-results", "replay.json", "--llm-report", "r.md"
    )
    replay.assert_outcomes(passed=2, failed=1)
    data = results_of(suite.path / "replay.json")
    assert sorted(c["id"] for c in data["cases"]) == ["control", "smaller", "trap"]
    assert data["summary"]["passed"] == 2
    replay.stdout.fnmatch_lines(["*= llmcmp =*"])
    replay.stdout.no_fnmatch_line("asked *")


def test_xdist_workers_elsewhere_replay_and_never_prune_what_they_used(suite: pytest.Pytester) -> None:
    """Workers in another directory (``--tx popen//chdir=...`` with rsync, as on another host) read their own copy of
    the cassettes; what they used must still count as used on the controller, or --llm-prune would delete it all."""
    pytest.importorskip("xdist")
    with FakeServer(answer=wrong_on_trap) as fake:
        run(suite, "--llm-endpoint", fake.url).assert_outcomes(passed=2, failed=1)
    recorded = sorted(suite.path.glob("cassettes/**/*.yaml"))
    assert len(recorded) == 3
    elsewhere = suite.path.parent / f"{suite.path.name}-elsewhere"
    elsewhere.mkdir()
    where = f"popen//chdir={elsewhere}"
    replay = suite.runpytest_subprocess(
        *("-p", "no:cacheprovider", "-W", "ignore::DeprecationWarning"),  # xdist deprecates --rsyncdir
        *("-d", "--tx", where, "--tx", where, "--rsyncdir", str(suite.path / "cases")),
        *("--rsyncdir", str(suite.path / "cassettes"), "--rsyncdir", str(suite.path / "prompts")),
        *(str(suite.path / "cases"), "--llm-prune", "--llm-results", "replay.json"),
    )
    replay.assert_outcomes(passed=2, failed=1)
    assert sorted(suite.path.glob("cassettes/**/*.yaml")) == recorded
    assert len(list(elsewhere.rglob("*.yaml"))) >= 3  # the workers really read a copy
    replay.stdout.no_fnmatch_line("*pruned*")
    assert sorted(c["id"] for c in results_of(suite.path / "replay.json")["cases"]) == ["control", "smaller", "trap"]


def test_xdist_workers_elsewhere_send_back_what_they_record(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Recordings made by workers in another directory (as on another host) land in the controller's cassettes."""
    pytest.importorskip("xdist")
    (suite.path / "cassettes").mkdir()
    elsewhere = suite.path.parent / f"{suite.path.name}-elsewhere"
    elsewhere.mkdir()
    where = f"popen//chdir={elsewhere}"
    with FakeServer(answer=wrong_on_trap) as fake:
        live = suite.runpytest_subprocess(
            *("-p", "no:cacheprovider", "-W", "ignore::DeprecationWarning"),
            *("-d", "--tx", where, "--tx", where, "--rsyncdir", str(suite.path / "cases")),
            *("--rsyncdir", str(suite.path / "cassettes"), "--rsyncdir", str(suite.path / "prompts")),
            *(str(suite.path / "cases"), "--llm-endpoint", fake.url),
        )
        assert len(fake.chat_requests) == 3
    live.assert_outcomes(passed=2, failed=1)
    live.stdout.fnmatch_lines(["wrote 3 cassettes recorded by xdist workers elsewhere"])
    names = sorted(p.relative_to(suite.path).as_posix() for p in suite.path.glob("cassettes/**/*.yaml"))
    assert names == [f"cassettes/fake-model/none/{case}.yaml" for case in ("control", "smaller", "trap")]

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("replay touched the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    run(suite).assert_outcomes(passed=2, failed=1)  # replayed here, from what the workers sent


@pytest.mark.parametrize("elsewhere", [False, True], ids=["n2", "tx-chdir-2"])
def test_xdist_rerecording_unchanged_answers_leaves_every_cassette_untouched(
    suite: pytest.Pytester, elsewhere: bool
) -> None:
    """``--llm-record-mode all`` under xdist with the same answers changes no file, modification time included: not
    the workers' writes (``-n 2``), nor the controller's of what workers elsewhere send back; a changed answer is
    written, and only it."""
    pytest.importorskip("xdist")
    (suite.path / "cassettes").mkdir()
    if elsewhere:
        remote = suite.path.parent / f"{suite.path.name}-elsewhere"
        remote.mkdir()
        where = f"popen//chdir={remote}"
        workers = [
            *("-W", "ignore::DeprecationWarning", "-d", "--tx", where, "--tx", where),
            *("--rsyncdir", str(suite.path / "cases"), "--rsyncdir", str(suite.path / "cassettes")),
            *("--rsyncdir", str(suite.path / "prompts"), str(suite.path / "cases")),
        ]
    else:
        workers = ["-n", "2"]
    answers = {"trap": "13.11 is larger than 13.8, because 11 is more than 8."}

    def answer(request: dict[str, Any]) -> str:
        return answers["trap"] if "13.8" in request["messages"][-1]["content"] else wrong_on_trap(request)

    def record(fake: FakeServer) -> pytest.RunResult:
        result = suite.runpytest_subprocess(
            "-p", "no:cacheprovider", *workers, "--llm-endpoint", fake.url, "--llm-record-mode", "all"
        )
        result.assert_outcomes(passed=2, failed=1)
        return result

    with FakeServer(answer=answer) as fake:
        first = record(fake)
        if elsewhere:
            first.stdout.fnmatch_lines(["wrote 3 cassettes recorded by xdist workers elsewhere"])
        paths = sorted(suite.path.glob("cassettes/**/*.yaml"))
        assert len(paths) == 3
        for path in paths:
            os.utime(path, (1_000_000_000, 1_000_000_000))  # long ago: any write would show
        before = {path: path.read_bytes() for path in paths}
        again = record(fake)
        assert len(fake.chat_requests) == 6  # asked again, answered the same
        assert {path: path.read_bytes() for path in paths} == before
        assert [path.stat().st_mtime for path in paths] == [1_000_000_000] * 3
        again.stdout.no_fnmatch_line("wrote * recorded by xdist workers elsewhere")

        answers["trap"] = "13.8 is larger than 13.11."  # one answer changes: its cassette, and only it, is written
        changed = suite.runpytest_subprocess(
            "-p", "no:cacheprovider", *workers, "--llm-endpoint", fake.url, "--llm-record-mode", "all"
        )
        changed.assert_outcomes(passed=3)
    if elsewhere:
        changed.stdout.fnmatch_lines(["wrote 1 cassette recorded by xdist workers elsewhere"])
    touched = [path.name for path in paths if path.stat().st_mtime != 1_000_000_000]
    assert touched == ["trap.yaml"]
    trap = suite.path / "cassettes" / "fake-model" / "none" / "trap.yaml"
    assert b"13.8 is larger than 13.11." in trap.read_bytes()


def test_recordings_sent_back_by_a_worker_stay_inside_the_cassette_directory(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLMCMP_API_KEY", "sk-remote-0123456789")
    config = suite.parseconfigure()
    from pytest_llmcmp.distributed import XdistBridge

    bridge = XdistBridge(config)
    session = bridge.session  # started when a worker reports case files; here, by asking for it
    root = session.runner.cassette_root
    bridge._store(  # the controller's side of xdist: what a worker elsewhere sends back
        {
            "m/p/ok.yaml": "interactions: []\nversion: 1\n",
            "../../escaped.yaml": "x",
            "/etc/absolute.yaml": "x",
            "m/p/not-a-cassette.py": "x",
            "m/p/leak.yaml": "headers: {Authorization: Bearer sk-remote-0123456789}\n",
        }
    )
    assert (root / "m" / "p" / "ok.yaml").read_text() == "interactions: []\nversion: 1\n"
    assert session.received == 1
    assert not (suite.path.parent / "escaped.yaml").exists()
    assert not (root / "m" / "p" / "leak.yaml").exists()
    assert len(session.store_problems) == 4
    assert all("sk-remote" not in problem for problem in session.store_problems)


# --- progress -------------------------------------------------------------------------------------------------------


def test_progress_lines_during_a_long_live_run_and_silence_under_q(suite: pytest.Pytester) -> None:
    lines = "\n".join(f"  - {{id: c{i}, numbers: ['{i}.5', '{i}.25']}}" for i in range(14))
    suite.makefile(".yaml", **{"cases/more": f"template: en\ncases:\n{lines}\n"})
    with FakeServer(latency=0.3) as fake:
        shown = run(suite, "--llm-endpoint", fake.url, "--llm-concurrency", "1", "--llm-progress")
        shown.assert_outcomes(passed=17)
        shown.stdout.re_match_lines([r"\[llmcmp\] \d+/17 answered, \d+\.\d/s, 0 errors"])
        quiet = run(
            suite,
            "--llm-endpoint",
            fake.url,
            "--llm-record-mode",
            "all",
            "--llm-concurrency",
            "1",
            "--llm-progress",
            "-q",
        )
        quiet.assert_outcomes(passed=17)
        assert "[llmcmp]" not in quiet.stdout.str()
        plain = run(suite, "--llm-endpoint", fake.url, "--llm-record-mode", "all", "--llm-concurrency", "1")
        assert "[llmcmp]" not in plain.stdout.str()  # not a terminal (a CI log): quiet by default


# --- unused cassettes -----------------------------------------------------------------------------------------------


def test_unused_cassettes_are_reported_and_pruned(suite: pytest.Pytester, server: FakeServer) -> None:
    run(suite, "--llm-endpoint", server.url, "--llm-prompt", "prompts/careful.md").assert_outcomes(passed=3)
    old = sorted(suite.path.glob("cassettes/fake-model/careful-*/*.yaml"))
    assert len(old) == 3
    # The prompt is edited and re-recorded, and one case is removed from the suite.
    (suite.path / "prompts" / "careful.md").write_text("Compare the numbers digit by digit.\n", encoding="utf-8")
    run(suite, "--llm-endpoint", server.url, "--llm-prompt", "prompts/careful.md").assert_outcomes(passed=3)
    text = (suite.path / "cases" / "basic.yaml").read_text(encoding="utf-8")
    (suite.path / "cases" / "basic.yaml").write_text(text.split("  - id: smaller")[0], encoding="utf-8")

    partial = run(suite, "--llm-prompt", "prompts/careful.md", "-k", "trap")
    assert "not used" not in partial.stdout.str()  # a partial run cannot tell what is unused

    # A recording killed between writing and renaming left its temporary file; another process is writing one now.
    folder = old[0].parent
    killed, writing = folder / ".trap.yaml.k1ll3d.tmp", folder / ".control.yaml.wr1t1ng.tmp"
    for leftover in (killed, writing):
        leftover.write_text("interactions:\n- request:", encoding="utf-8")
    os.utime(killed, (time.time() - 3600, time.time() - 3600))

    full = run(suite, "--llm-prompt", "prompts/careful.md")
    full.assert_outcomes(passed=2)
    full.stdout.fnmatch_lines(
        [
            "4 cassettes are not used by any collected case: *(delete them with --llm-prune)",
            "1 temporary file of cassette writes killed halfway: cassettes/fake-model/careful-*/"
            ".trap.yaml.k1ll3d.tmp (delete them with --llm-prune)",
        ]
    )
    assert all(path.exists() for path in old)

    pruned = run(suite, "--llm-prompt", "prompts/careful.md", "--llm-prune")
    pruned.stdout.fnmatch_lines(["pruned 4 unused cassettes: *", "removed 1 temporary file of cassette writes *"])
    assert not killed.exists()
    assert writing.exists()  # too young to be a leftover: it may still become a cassette
    left = sorted(p.relative_to(suite.path / "cassettes").as_posix() for p in suite.path.glob("cassettes/**/*.yaml"))
    assert len(left) == 2
    assert all(name.endswith(("trap.yaml", "control.yaml")) for name in left)
    run(suite, "--llm-prompt", "prompts/careful.md").assert_outcomes(passed=2)


def test_baseline_prompt_compares_two_prompts_of_one_run(suite: pytest.Pytester) -> None:
    (suite.path / "prompts" / "old.md").write_text("Answer quickly.\n", encoding="utf-8")

    def by_prompt(request: dict[str, Any]) -> str:
        careful = request["messages"][0]["content"].startswith("Compare")
        question = request["messages"][-1]["content"]
        if "13.8" in question:
            return "13.8 is larger." if careful else "13.11 is larger."
        if "9.91" in question:
            return "9.9 is larger." if careful else "9.91 is larger."
        return "-0.5 is smaller."

    with FakeServer(answer=by_prompt) as fake:
        result = run(
            suite,
            "--llm-endpoint",
            fake.url,
            "--llm-prompt",
            "prompts/old.md",
            "--llm-prompt",
            "prompts/careful.md",
            "--llm-baseline-prompt",
            "old",
            "--llm-report",
            "pr.md",
            "--llm-html",
            "pr.html",
            "--llm-gate",
            "strict",
        )
    # Under the strict gate the regressed item fails by itself; old's own failure is the reference's.
    result.assert_outcomes(passed=4, failed=1, xfailed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED  # careful regressed on 'control'
    result.stdout.fnmatch_lines(["*gate failed (strict):*careful*1 regressed and the gate is strict*"])
    report = (suite.path / "pr.md").read_text(encoding="utf-8")
    assert "Regressions" in report
    assert "Improvements" in report
    html = (suite.path / "pr.html").read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") or html.lower().startswith("<!doctype html>")
    assert not any(f'{attr}="http' in html for attr in ("src", "href"))  # self-contained


# --- configuration sources, pytest integration ------------------------------------------------------------------------


def test_ini_keys_and_environment(suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeServer(models=("from-env",)) as env_server, FakeServer(models=("from-ini",)) as ini_server:
        monkeypatch.setenv("LLMCMP_ENDPOINT", env_server.url)
        run(suite).assert_outcomes(passed=3)
        assert len(env_server.chat_requests) == 3
        suite.makeini(f"[pytest]\nllm_endpoint = {ini_server.url}\nllm_prompt = prompts/careful.md\nllm_samples = 2\n")
        run(suite).assert_outcomes(passed=3)  # the ini file wins over the environment
        assert len(ini_server.chat_requests) == 6
        assert ini_server.chat_requests[0].json["messages"][0]["content"] == "Compare numbers carefully.\n"
        result = run(suite, "--llm-samples", "1", "--llm-endpoint", env_server.url, "--collect-only", "-q")
        result.stdout.fnmatch_lines(["cases/basic.yaml::trap::careful"])  # and the command line over both


def test_a_bad_value_is_named_as_it_was_given(suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMCMP_MAX_TOKENS", "abc")
    env = run(suite, "--collect-only")
    assert env.ret == pytest.ExitCode.USAGE_ERROR
    env.stderr.fnmatch_lines(["ERROR: LLMCMP_MAX_TOKENS: expected a positive integer or none, got 'abc'"])
    monkeypatch.delenv("LLMCMP_MAX_TOKENS")
    # LLMCMP_PROMPT holds several prompts separated by whitespace.
    monkeypatch.setenv("LLMCMP_PROMPT", "prompts/careful.md  none")
    both = run(suite, "--collect-only", "-q")
    both.stdout.fnmatch_lines(["cases/basic.yaml::trap::careful", "cases/basic.yaml::trap::none"])
    monkeypatch.setenv("LLMCMP_PROMPT", "prompts/careful.md prompts/missing.md")
    run(suite).stderr.fnmatch_lines(["ERROR: LLMCMP_PROMPT prompts/missing.md: no such file"])
    suite.makeini("[pytest]\nllm_samples = zero\nllm_prompt = prompts/gone.md\n")
    run(suite).stderr.fnmatch_lines(["ERROR: llm_samples: expected an integer, got 'zero'"])
    suite.makeini("[pytest]\nllm_record_mode = always\n")
    run(suite).stderr.fnmatch_lines(["ERROR: llm_record_mode: expected one of none, once, new_episodes, all*"])
    suite.makeini("[pytest]\nllm_prompt = prompts/gone.md\n")
    run(suite).stderr.fnmatch_lines(["ERROR: llm_prompt prompts/gone.md: no such file"])
    # The command line is still named as such.
    run(suite, "--llm-seed", "x").stderr.fnmatch_lines(["ERROR: --llm-seed: expected an integer, got 'x'"])


def test_the_statistics_need_no_numpy(
    suite: pytest.Pytester, server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Score intervals and exact tests are closed forms: a run where importing numpy fails (it was a dependency, for
    # bootstraps) still gives every interval and the gate's decision.
    monkeypatch.setitem(sys.modules, "numpy", None)
    result = run(suite, "--llm-endpoint", server.url, "--llm-results", "base.json")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["(95% CI: Wilson score interval over cases)"])
    result = run(suite, "--llm-baseline", "base.json")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["*95% CI * (Newcombe's paired score interval)*", "gate passed (significant*"])


def test_junitxml_last_failed_and_deselect(suite: pytest.Pytester) -> None:
    with FakeServer(answer=wrong_on_trap) as fake:
        run(suite, "--llm-endpoint", fake.url).assert_outcomes(passed=2, failed=1)
    first = suite.runpytest_inprocess("--junitxml", "junit.xml")
    first.assert_outcomes(passed=2, failed=1)
    xml = (suite.path / "junit.xml").read_text(encoding="utf-8")
    assert '<testcase classname="cases.basic.yaml.trap" name="none"' in xml
    assert '<testcase classname="cases.basic.yaml.control" name="none"' in xml
    assert "<failure" in xml
    assert "wrong: chose 13.11" in xml
    again = suite.runpytest_inprocess("--lf")
    again.assert_outcomes(failed=1)
    result = run(suite, "--deselect", "cases/basic.yaml::trap::none", "-x")
    result.assert_outcomes(passed=2, deselected=1)


def test_lmdeploy_key_that_prefixes_the_model_name(suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """The seed's setup: `--api-keys internlm2` serving `internlm2-chat-1_8b`. The key is part of the model id, which
    every cassette must name; that is not a leak, and the recordings must be written."""
    monkeypatch.setenv("LLMCMP_API_KEY", "internlm2")
    with FakeServer(models=("internlm2-chat-1_8b",), api_key="internlm2") as fake:
        run(suite, "--llm-endpoint", fake.url).assert_outcomes(passed=3)
    cassettes = sorted(suite.path.glob("cassettes/internlm2-chat-1_8b/none/*.yaml"))
    assert len(cassettes) == 3
    for path in cassettes:
        text = path.read_text(encoding="utf-8")
        assert '"model": "internlm2-chat-1_8b"' in text
        assert "Bearer" not in text
    monkeypatch.delenv("LLMCMP_API_KEY")
    run(suite).assert_outcomes(passed=3)


def test_record_mode_once_records_only_cases_without_a_cassette(suite: pytest.Pytester, server: FakeServer) -> None:
    run(suite, "--llm-endpoint", server.url, "--llm-record-mode", "once", "-k", "trap").assert_outcomes(passed=1)
    assert len(server.chat_requests) == 1
    server.clear()
    # A new temperature is a new request: 'once' does not add it to an existing cassette, but records new cases.
    once = run(suite, "--llm-endpoint", server.url, "--llm-record-mode", "once", "--llm-temperature", "0.5")
    once.assert_outcomes(passed=2, failed=1)
    assert len(server.chat_requests) == 2
    once.stdout.fnmatch_lines(
        [
            "*no recording of case 'trap'*its cassette has no recording of this exact request*",
            "record it with: pytest --llm-endpoint http://127.0.0.1:*/v1 --llm-model fake-model --llm-temperature 0.5 "
            "--llm-record-mode new_episodes cases/basic.yaml::trap::none",
        ]
    )
    server.clear()
    episodes = run(suite, "--llm-endpoint", server.url, "--llm-record-mode", "new_episodes", "--llm-temperature", "0.5")
    episodes.assert_outcomes(passed=3)
    assert len(server.chat_requests) == 1
    # Both recordings now live side by side in the case's cassette.
    run(suite, "-k", "trap").assert_outcomes(passed=1)
    run(suite, "-k", "trap", "--llm-temperature", "0.5").assert_outcomes(passed=1)
    # 'all' asks again what this run asks and replaces only those recordings: the other settings' stay.
    server.clear()
    again = run(suite, "--llm-endpoint", server.url, "--llm-record-mode", "all", "-k", "trap")
    again.assert_outcomes(passed=1)
    assert len(server.chat_requests) == 1
    cassette = next(suite.path.glob("cassettes/**/trap.yaml"))
    assert cassette.read_text(encoding="utf-8").count("- request:") == 2
    run(suite, "-k", "trap", "--llm-temperature", "0.5").assert_outcomes(passed=1)


def rambling(request: dict[str, Any]) -> str:
    """Long-winded on the trap (a verdict only at the very end), short and right elsewhere."""
    question = request["messages"][-1]["content"]
    if "13.8" in question:
        return "Let us think about the decimal parts step by step, one digit at a time. " * 8 + "So 13.8 is larger."
    if "9.91" in question:
        return "The larger number is 9.91."
    return "The smaller one is -0.5."


def test_an_answer_cut_off_by_max_tokens_is_unparsed_truncated(suite: pytest.Pytester) -> None:
    with FakeServer(answer=rambling) as fake:
        live = run(suite, "--llm-endpoint", fake.url, "--llm-max-tokens", "40", "--llm-results", "r.json")
    live.assert_outcomes(passed=2, failed=1)
    live.stdout.fnmatch_lines(
        [
            "unparsed: no clear choice (the answer was cut off by max_tokens before a verdict: finish_reason length)",
            "llmcmp: 1 answer was cut off by max_tokens before giving a verdict (finish_reason length; judged unparsed,"
            " reason truncated): raise --llm-max-tokens (now 40) and record again",
        ]
    )
    samples = {c["id"]: c["samples"][0] for c in results_of(suite.path / "r.json")["cases"]}
    assert samples["trap"]["finish_reason"] == "length"
    assert samples["trap"]["reason"] == "truncated"
    assert samples["trap"]["verdict"] == "unparsed"
    assert samples["control"]["finish_reason"] == "stop"
    assert samples["control"]["reason"] != "truncated"
    assert results_of(suite.path / "r.json")["summary"]["truncated"] == {"none": 1}
    # Replayed offline, the recorded finish reason gives the same verdict and the same advice.
    replay = run(suite, "--llm-max-tokens", "40", "--llm-results", "replay.json", "--llm-report", "r.md")
    replay.assert_outcomes(passed=2, failed=1)
    assert results_of(suite.path / "replay.json")["cases"] == results_of(suite.path / "r.json")["cases"]
    report = (suite.path / "r.md").read_text(encoding="utf-8")
    assert "1 answer was cut off by max_tokens" in report
    # With room for the whole answer the verdict is there.
    with FakeServer(answer=rambling) as fake:
        roomy = run(suite, "--llm-endpoint", fake.url, "--llm-record-mode", "all", "--llm-results", "roomy.json")
    roomy.assert_outcomes(passed=3)
    roomy.stdout.no_fnmatch_line("*cut off*")


def test_the_deciding_passage_is_kept_and_shown(suite: pytest.Pytester) -> None:
    with FakeServer(answer=wrong_on_trap) as fake:
        result = run(suite, "--llm-endpoint", fake.url, "--llm-results", "r.json")
    result.assert_outcomes(passed=2, failed=1)
    samples = {c["id"]: c["samples"][0] for c in results_of(suite.path / "r.json")["cases"]}
    for sample in samples.values():
        assert sample["evidence"], sample
        assert sample["evidence"] in sample["answer"]
    assert "13.11" in samples["trap"]["evidence"]
    result.stdout.fnmatch_lines(["  decided by: *13.11*"])


# --- only when used -------------------------------------------------------------------------------------------------


def test_ordinary_unit_tests_get_no_llmcmp_session(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_unit="def test_one():\n    assert 1 + 1 == 2\n")
    result = run(pytester)
    result.assert_outcomes(passed=1)
    result.stdout.no_fnmatch_line("llmcmp*")
    result.stdout.no_fnmatch_line("*= llmcmp =*")
    config = pytester.parseconfigure()
    assert config.pluginmanager.get_plugin("llmcmp-session") is None
    assert config.pluginmanager.get_plugin("llmcmp-xdist") is None


def test_the_session_starts_with_an_option_or_the_first_case_file(suite: pytest.Pytester) -> None:
    with_option = run(suite, "--llm-samples", "1", "--collect-only")
    with_option.stdout.fnmatch_lines(["llmcmp: replay (offline, record mode none)*", "collected 3 items"])
    only_cases = run(suite, "--collect-only")
    only_cases.stdout.fnmatch_lines(["collected 3 items", "llmcmp: replay (offline, record mode none)*"])
    assert "llmcmp-session" in {
        name for name, _ in suite.parseconfigure("--llm-samples", "1").pluginmanager.list_name_plugin()
    }


# --- where outputs go, and how they are named -----------------------------------------------------------------------


def test_outputs_are_named_as_given_and_missing_directories_made_only_inside_the_project(
    suite: pytest.Pytester, server: FakeServer, tmp_path_factory: pytest.TempPathFactory
) -> None:
    run(suite, "--llm-endpoint", server.url).assert_outcomes(passed=3)  # recorded: the runs below replay
    outside = tmp_path_factory.mktemp("outside")  # not under the rootdir, nor the directory pytest runs in
    typo = outside / "nonexist" / "dir" / "r.json"
    refused = run(suite, "--llm-results", str(typo))
    assert refused.ret == pytest.ExitCode.USAGE_ERROR
    assert refused.stderr.lines[0] == (
        f"ERROR: --llm-results {typo}: the directory {outside / 'nonexist'} does not exist (missing directories are "
        "created only inside the rootdir or the current directory): create it, or fix the path"
    )
    assert not (outside / "nonexist").exists()
    suite.makeini(f"[pytest]\nllm_html = {outside / 'no' / 'r.html'}\n")  # the ini key is named as such
    refused = run(suite)
    assert refused.ret == pytest.ExitCode.USAGE_ERROR
    assert refused.stderr.lines[0].startswith(f"ERROR: llm_html {outside / 'no' / 'r.html'}: the directory ")
    assert not (outside / "no").exists()
    (suite.path / "tox.ini").unlink()  # (where pytester.makeini writes)
    # Inside the project: made (as --junitxml does); an existing directory elsewhere: written, shown as given.
    inside_absolute = suite.path / "reports" / "deep" / "r.md"
    written = run(
        suite,
        "--llm-results",
        "out/sub/r.json",
        "--llm-report",
        str(inside_absolute),
        "--llm-html",
        str(outside / "r.html"),
    )
    assert written.ret == pytest.ExitCode.OK
    wrote = [line for line in written.stdout.lines if line.startswith("wrote ")]
    assert wrote == ["wrote out/sub/r.json", "wrote reports/deep/r.md", f"wrote {outside / 'r.html'}"]
    assert results_of(suite.path / "out" / "sub" / "r.json")["summary"]["total"] == 3
    assert inside_absolute.is_file()
    assert (outside / "r.html").is_file()


class LocalServerOnAFakeServer:
    """Stands in for llama.cpp's server behind ``--llm-endpoint local``: a fake endpoint on a new random port."""

    ports: ClassVar[list[int]] = []

    def __init__(self, model_path: Path | None, threads: int | None = None) -> None:
        self.fake = FakeServer(models=("SmolFake",))
        self.model, self.url, self.pid = "", "", os.getpid()
        self.threads = threads or 1

    def start(self) -> None:
        self.fake.start()
        self.model, self.url = "SmolFake", self.fake.url
        self.ports.append(self.fake.port)

    def death(self, wait: float = 0.0) -> str | None:
        return None

    def stop(self) -> None:
        self.fake.stop()


def test_the_local_model_records_a_stable_uri_whatever_its_port(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    import vcr  # type: ignore[import-untyped]
    import yaml

    import pytest_llmcmp.local
    from pytest_llmcmp.engine.backends import LOCAL_RECORDED_URL

    monkeypatch.setattr(pytest_llmcmp.local, "LocalServer", LocalServerOnAFakeServer)
    monkeypatch.setattr(pytest_llmcmp.local, "check_available", lambda bundled=True: None)
    monkeypatch.setattr(pytest_llmcmp.local, "find_bundled_model", lambda: Path("/models/SmolFake.gguf"))
    monkeypatch.setattr(LocalServerOnAFakeServer, "ports", [])
    root = suite.path / "cassettes"
    recordings = []
    for _ in range(2):
        run(suite, "--llm-endpoint", "local").assert_outcomes(passed=3)
        recordings.append({p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*.yaml")})
        for path in root.rglob("*.yaml"):
            path.unlink()
    ports = LocalServerOnAFakeServer.ports
    assert len(ports) == 2
    assert ports[0] != ports[1]
    assert sorted(recordings[0]) == [f"SmolFake/none/{case}.yaml" for case in ("control", "smaller", "trap")]
    assert recordings[0] == recordings[1]
    for text in recordings[1].values():
        assert b"127.0.0.1" not in text
        for port in ports:
            assert f":{port}".encode() not in text
    trap = yaml.safe_load(recordings[1]["SmolFake/none/trap.yaml"].decode("utf-8"))["interactions"][0]
    assert trap["request"]["uri"] == f"{LOCAL_RECORDED_URL}/chat/completions"

    # The plugin replays them (matched on the request body, not the address), and so does plain vcrpy matching on
    # host and port, for a client pointed at the recorded address.
    for name, data in recordings[1].items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    run(suite, "--llm-model", "SmolFake").assert_outcomes(passed=3)
    import openai

    request = json.loads(trap["request"]["body"])
    match_on = ["method", "scheme", "host", "port", "path", "query", "body"]
    with (
        vcr.use_cassette(str(root / "SmolFake/none/trap.yaml"), match_on=match_on, record_mode="none") as replay,
        openai.OpenAI(base_url=LOCAL_RECORDED_URL, api_key="none", max_retries=0) as client,
    ):
        completion = client.chat.completions.create(**request, extra_headers={"X-Llmcmp-Sample": "1"})
        assert replay.all_played
    assert "13.8" in (completion.choices[0].message.content or "")
