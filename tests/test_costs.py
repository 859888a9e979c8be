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


def cost_row(answers: int, timed: int, prompt: str = "p") -> Any:
    from pytest_llmcmp.costs import CostRow

    return CostRow(prompt, "m", answers, 0, None, None, timed, 1.0 if timed else None, 1.0 if timed else None, 0)


@pytest.mark.parametrize("recording", [False, True])
def test_latency_notes_say_what_the_figures_are_over(recording: bool) -> None:
    from pytest_llmcmp.costs import latency_notes

    results = RunResults("m", None, {}, {"record_latency": recording}, [])
    rows = [cost_row(10, 6, "a"), cost_row(4, 4, "b"), cost_row(3, 0, "c")]
    notes = latency_notes(results, rows)
    assert notes[0] == "latency of a (m): p50 and p95 over 6 of 10 answers"
    missing = (
        "latency not recorded for 7 of 17 answers (recorded without --llm-record-latency; re-record with "
        "--llm-record-mode all --llm-record-latency)"
    )
    assert notes[1:] == ([missing] if recording else [])  # "c" (none timed) shows "–": said only when asked for
    assert latency_notes(results, [cost_row(4, 4)]) == []


def test_latency_is_from_sending_the_answered_request_not_from_waiting(pytester: pytest.Pytester) -> None:
    from tests.fakeserver import FailFirst, Fault

    pytester.makefile(".yaml", **{"cases/one": "template: en\ncases:\n  - {id: trap, numbers: ['13.8', '13.11']}\n"})
    # The first attempt is told to wait two seconds (429, Retry-After: 2): the answer's latency is the second
    # attempt's, from sending it to its whole answer, not the pause nor the refused attempt (that would be >= 2.2 s).
    with FakeServer(latency=0.2, faults=FailFirst(1, Fault.rate_limit(retry_after=2))) as fake:
        run(pytester, "--llm-endpoint", fake.url, "--llm-record-latency", "--llm-results", "r.json").assert_outcomes(
            passed=1
        )
        requests = fake.chat_requests
    assert [r.status for r in requests] == [429, 200]
    assert requests[1].time - requests[0].time >= 2.0
    latency = json.loads((pytester.path / "r.json").read_text())["cases"][0]["samples"][0]["latency"]
    assert 0.2 <= latency < 1.5  # room for a loaded machine


def test_latency_does_not_count_the_wait_behind_the_concurrency_limit(pytester: pytest.Pytester) -> None:
    cases = "".join(f"  - {{id: c{i}, numbers: ['{i}.5', '{i}.25']}}\n" for i in range(6))
    pytester.makefile(".yaml", **{"cases/queue": "template: en\ncases:\n" + cases})
    with FakeServer(latency=0.25) as fake:
        args = ("--llm-endpoint", fake.url, "--llm-concurrency", "1", "--llm-record-latency", "--llm-results", "r.json")
        run(pytester, *args).assert_outcomes(passed=6)
    latencies = [c["samples"][0]["latency"] for c in json.loads((pytester.path / "r.json").read_text())["cases"]]
    # One at a time: the sixth waited 1.25 s behind the others (its latency would be >= 1.5 s counted from the
    # submission); each answer's latency is its own 0.25 s, with room for a loaded machine.
    assert len(latencies) == 6
    assert all(0.25 <= latency < 1.1 for latency in latencies), latencies


def test_answers_recorded_without_latency_are_counted_and_said(suite: pytest.Pytester) -> None:
    with FakeServer(latency=0.05) as fake:
        run(suite, "--llm-endpoint", fake.url).assert_outcomes(passed=2)  # recorded without latency
        cases = suite.path.joinpath("cases", "cost.yaml")
        cases.write_text(cases.read_text(encoding="utf-8").rstrip() + '\n  - {id: new, numbers: ["1.5", "1.25"]}\n')
        reports = ("--llm-report", "r.md", "--llm-html", "r.html")
        live = run(suite, "--llm-endpoint", fake.url, "--llm-record-latency", *reports)
    live.assert_outcomes(passed=3)
    over = "llmcmp: latency of none (fake-model): p50 and p95 over 1 of 3 answers"
    missing = (
        "llmcmp: latency not recorded for 2 of 3 answers (recorded without --llm-record-latency; re-record with "
        "--llm-record-mode all --llm-record-latency)"
    )
    live.stdout.fnmatch_lines(["cost per answer *", "none *fake-model*3*", over, missing])
    assert live.stdout.str().count("latency not recorded") == 1
    markdown = (suite.path / "r.md").read_text(encoding="utf-8")
    assert "p50 and p95 over 1 of 3 answers." in markdown
    assert "latency not recorded for 2 of 3 answers" in markdown
    assert "p50 and p95 over 1 of 3 answers." in (suite.path / "r.html").read_text(encoding="utf-8")

    # Replayed without the option: what the figures are over is still said, the advice is not.
    replay = run(suite)
    replay.stdout.fnmatch_lines([over])
    assert "latency not recorded" not in replay.stdout.str()

    # Re-recorded as the line says: every answer has its latency, and nothing more is said.
    with FakeServer(latency=0.05) as fake:
        again = run(suite, "--llm-endpoint", fake.url, "--llm-record-mode", "all", "--llm-record-latency")
    again.assert_outcomes(passed=3)
    assert "latency of none" not in again.stdout.str()
    assert "latency not recorded" not in again.stdout.str()
    for path in Path(suite.path, "cassettes").rglob("*.yaml"):
        assert "latency: " in path.read_text(encoding="utf-8")


def test_the_http_library_reports_when_the_request_was_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    """The latency starts when the request begins to be sent (httpcore's trace extension), with the HTTP library
    openai is built on (httpx or httpx2): if it stopped calling the trace, latency would silently count the wait for
    a connection again."""
    from pytest_llmcmp import client

    seen: list[str] = []
    original = client._on_trace

    async def spy(name: str, info: Any) -> None:
        seen.append(name)
        await original(name, info)

    monkeypatch.setattr(client, "_on_trace", spy)
    with FakeServer(latency=0.2) as fake:
        asker = client.Asker(client.Endpoint(fake.url, None, concurrency=1, retries=0))
        try:
            body = {"model": "fake-model", "messages": [{"role": "user", "content": "Which is larger, 1.5 or 1.25?"}]}
            answers = [asker.submit(body, sample).result(timeout=30) for sample in (1, 2, 3)]  # SDK, then template
        finally:
            asker.close()
    assert all(answer.error is None for answer in answers)
    assert seen.count("http11.send_request_headers.started") == 3
    assert all(answer.seconds >= 0.2 for answer in answers), [a.seconds for a in answers]  # the server's time
