"""What each answer cost (issue 17, part 2): usage and latency per sample in the results JSON, the latency recorded in
the cassette beside the interaction (replay reports it), and tokens/latency/cut-off answers in every report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from pytest_llmcmp.costs import cost_rows, median, percentile
from pytest_llmcmp.results import CaseResult, PromptInfo, RunResults, SampleResult
from tests.fakeserver import FakeServer, correct_answer

LONG = "Let me compare these two numbers digit by digit, padding the decimals first. "


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_inprocess("-p", "no:cacheprovider", *args)


def test_median_and_nearest_rank_percentile() -> None:
    assert median([]) is None
    assert percentile([], 0.95) is None
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert median([4.0, 1.0, 2.0, 3.0]) == 2.5
    values = [float(n) for n in range(1, 21)]
    assert percentile(values, 0.95) == 19.0  # the 19th of 20
    assert percentile(values[:10], 0.95) == 10.0
    assert percentile([5.0], 0.95) == 5.0


def sample(tokens: int | None, latency: float | None, finish: str = "stop") -> SampleResult:
    usage = None if tokens is None else {"prompt_tokens": 10, "completion_tokens": tokens}
    return SampleResult("answer", "1", "correct", finish_reason=finish, usage=usage, latency=latency)


def case(prompt: str, samples: list[SampleResult]) -> CaseResult:
    return CaseResult("c", "n", "f", prompt, ["1", "2"], "smaller", "q", [], "1", samples, "pass")


def test_cost_rows_per_prompt_count_only_what_is_known() -> None:
    results = RunResults(
        model="m",
        endpoint=None,
        prompts={"a": PromptInfo(None, None), "b": PromptInfo(None, None)},
        settings={},
        cases=[
            case("a", [sample(4, 0.5), sample(8, 1.5, "length")]),
            case("b", [sample(None, None), sample(30, 2.0)]),
            case("a", [SampleResult(None, None, "error", error="timeout")]),  # no answer: no cost
        ],
    )
    a, b = cost_rows(results)
    assert (a.prompt, a.model, a.answers, a.counted, a.completion_tokens, a.prompt_tokens) == ("a", "m", 2, 2, 6, 10)
    assert (a.timed, a.latency_median, a.latency_p95, a.truncated) == (2, 1.0, 1.5, 1)
    assert (b.answers, b.counted, b.completion_tokens, b.timed, b.latency_median, b.truncated) == (2, 1, 30, 1, 2.0, 0)


def test_results_json_round_trips_usage_and_latency() -> None:
    original = sample(7, 0.25)
    assert SampleResult.from_json(json.loads(json.dumps(original.to_json()))) == original
    with pytest.raises(ValueError, match="latency"):
        SampleResult.from_json({**original.to_json(), "latency": -1})


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makefile(
        ".yaml",
        **{
            "cases/cost": """\
template: en
cases:
  - {id: trap, numbers: ["13.8", "13.11"]}
  - {id: long, numbers: ["9.91", "9.9"]}
"""
        },
    )
    return pytester


def rambling(request: dict[str, Any]) -> str:
    answer = correct_answer(request)
    return LONG * 3 + answer if "9.91" in request["messages"][-1]["content"] else answer


def test_cost_is_recorded_replayed_and_reported(suite: pytest.Pytester) -> None:
    with FakeServer(answer=rambling, latency=0.3) as fake:
        live = run(
            suite, "--llm-endpoint", fake.url, "--llm-max-tokens", "20", "--llm-results", "live.json",
            "--llm-record-latency",
        )  # fmt: skip
    live.assert_outcomes(passed=1, failed=1)  # the long answer is cut off by max_tokens before its verdict
    samples = {c["id"]: c["samples"][0] for c in json.loads((suite.path / "live.json").read_text())["cases"]}
    question, answer = "Which is larger, 13.8 or 13.11?", "The larger is 13.8."
    # The fake server's counts: a token per 4 characters.
    assert samples["trap"]["usage"] == {"prompt_tokens": len(question) // 4, "completion_tokens": len(answer) // 4}
    assert samples["trap"]["latency"] >= 0.3
    assert samples["long"]["finish_reason"] == "length"
    live.stdout.fnmatch_lines(
        ["cost per answer  model       answers  tokens out  tokens in  latency p50    p95  truncated", "none *2 * 1"]
    )

    cassette = next(suite.path.joinpath("cassettes").rglob("trap.yaml"))
    recorded = yaml.safe_load(cassette.read_text(encoding="utf-8"))["interactions"][0]["response"]["latency"]
    assert recorded == round(samples["trap"]["latency"], 3)

    # Offline: the recorded latency and counts, in the JSON and in every report.
    replay = run(suite, "--llm-max-tokens", "20", "--llm-results", "replay.json", "--llm-report", "r.md")
    replay.assert_outcomes(passed=1, failed=1)
    again = {c["id"]: c["samples"][0] for c in json.loads((suite.path / "replay.json").read_text())["cases"]}
    assert again["trap"]["latency"] == recorded
    assert again == samples  # the same results offline, latency included
    markdown = (suite.path / "r.md").read_text(encoding="utf-8")
    assert "What the answers cost" in markdown
    assert "| none | fake-model | 2 |" in markdown
    run(suite, "--llm-max-tokens", "20", "--llm-html", "r.html")
    html = (suite.path / "r.html").read_text(encoding="utf-8")
    assert 'id="cost-table"' in html
    assert "fake-model" in html


def test_recording_the_same_answers_again_keeps_the_files(suite: pytest.Pytester) -> None:
    with FakeServer(latency=0.05) as fake:
        run(suite, "--llm-endpoint", fake.url, "--llm-record-latency").assert_outcomes(passed=2)
        files = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in Path(suite.path, "cassettes").rglob("*.yaml")}
        assert all(b"latency: " in data for data, _ in files.values())
        fake.latency = 0.25  # slower this time: the answers are the same, so are the files
        rerun = run(suite, "--llm-endpoint", fake.url, "--llm-record-mode", "all", "--llm-record-latency")
        rerun.assert_outcomes(passed=2)
        assert len(fake.chat_requests) == 4
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in files} == files


def test_without_record_latency_cassettes_hold_no_latency_and_replay_reports_none(suite: pytest.Pytester) -> None:
    with FakeServer() as fake:
        run(suite, "--llm-endpoint", fake.url, "--llm-results", "live.json").assert_outcomes(passed=2)
    for path in Path(suite.path, "cassettes").rglob("*.yaml"):
        assert "latency" not in path.read_text(encoding="utf-8")
    run(suite, "--llm-results", "r.json").assert_outcomes(passed=2)
    # Live and replayed results are the same: the token counts, and no latency on either side.
    live = json.loads((suite.path / "live.json").read_text())["cases"]
    assert json.loads((suite.path / "r.json").read_text())["cases"] == live
    assert [c["samples"][0]["latency"] for c in live] == [None, None]
    assert all(c["samples"][0]["usage"] is not None for c in live)
