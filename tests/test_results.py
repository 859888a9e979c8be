"""The results model: pass rules, flaky cases, summaries and the results JSON file (schema 1)."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_llmcmp.results import (
    VERDICTS,
    CaseResult,
    PassRule,
    PromptInfo,
    ResultsFileError,
    RunResults,
    SampleResult,
    Verdict,
    parse_accuracy,
)

NUMBERS = ["13.8", "13.11"]


def make_sample(verdict: Verdict, expected: str = "13.8", other: str = "13.11") -> SampleResult:
    """A sample whose choice agrees with its verdict, as answers.judge would have produced it."""
    choice = {"correct": expected, "wrong": other, "unparsed": None, "error": None}[verdict]
    answer = None if verdict == "error" else f"我认为答案是 {choice or '不确定'}"
    return SampleResult(
        answer=answer,
        choice=choice,
        verdict=verdict,
        error="HTTP 500: upstream failed" if verdict == "error" else None,
    )


def make_case(
    case_id: str,
    prompt: str = "langgpt",
    verdicts: Sequence[Verdict] = ("correct",),
    tags: Sequence[str] = (),
    rule: str = "all",
) -> CaseResult:
    samples = [make_sample(verdict) for verdict in verdicts]
    return CaseResult(
        id=case_id,
        nodeid=f"cases/basic.yaml::{case_id}[{prompt}]",
        file="cases/basic.yaml",
        prompt=prompt,
        numbers=list(NUMBERS),
        ask="larger",
        question="13.8和13.11哪个大？",
        tags=list(tags),
        expected="13.8",
        samples=samples,
        outcome=PassRule.parse(rule).decide([sample.verdict for sample in samples]),
    )


def make_run(cases: list[CaseResult], prompts: Sequence[str] = ("langgpt", "none")) -> RunResults:
    return RunResults(
        model="internlm2-chat-1_8b",
        endpoint="http://0.0.0.0:23333/v1",
        prompts={
            name: PromptInfo(path=None, sha256=None)
            if name == "none"
            else PromptInfo(path=f"prompts/{name}.md", sha256="ab" * 32)
            for name in prompts
        },
        settings={"temperature": 0, "samples": 1, "pass_rule": "all"},
        cases=cases,
    )


# ---- pass rules --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "verdicts", "outcome"),
    [
        ("all", ["correct"], "pass"),
        ("all", ["wrong"], "fail"),
        ("all", ["correct", "correct", "correct"], "pass"),
        ("all", ["correct", "correct", "unparsed"], "fail"),
        ("all", ["correct", "error"], "fail"),
        ("majority", ["correct", "correct", "wrong"], "pass"),
        ("majority", ["correct", "wrong", "wrong"], "fail"),
        # Exactly half is not a majority.
        ("majority", ["correct", "correct", "wrong", "unparsed"], "fail"),
        ("majority", ["correct", "correct", "correct", "unparsed"], "pass"),
        ("majority", ["correct"], "pass"),
        ("any", ["wrong", "unparsed", "correct"], "pass"),
        ("any", ["wrong", "unparsed", "error"], "fail"),
        ("4/5", ["correct", "correct", "correct", "correct", "wrong"], "pass"),
        ("4/5", ["correct", "correct", "correct", "wrong", "wrong"], "fail"),
        ("1/3", ["error", "unparsed", "correct"], "pass"),
        ("3/3", ["correct", "correct", "correct"], "pass"),
        ("3/3", ["correct", "correct", "wrong"], "fail"),
        (" Majority ", ["correct", "correct", "wrong"], "pass"),
        ("2 / 3", ["correct", "wrong", "correct"], "pass"),
    ],
)
def test_pass_rule_decides(rule: str, verdicts: list[Verdict], outcome: str) -> None:
    assert PassRule.parse(rule).decide(verdicts) == outcome


@pytest.mark.parametrize("rule", ["all", "majority", "any", "1/1"])
def test_a_case_without_samples_fails(rule: str) -> None:
    assert PassRule.parse(rule).decide([]) == "fail"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "is not one of"),
        ("most", "is not one of"),
        ("4 of 5", "is not one of"),
        ("1.5/3", "is not one of"),
        ("-1/5", "is not one of"),
        ("4/5/6", "is not one of"),
        ("0/5", "needs k between 1 and N"),
        ("6/5", "needs k between 1 and N"),
        ("0/0", "needs N of at least 1"),
    ],
)
def test_bad_pass_rules_are_refused_in_one_sentence(text: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment) as caught:
        PassRule.parse(text)
    message = str(caught.value)
    assert repr(text) in message
    assert "\n" not in message


@pytest.mark.parametrize("text", ["all", "majority", "any", "4/5", "1/1"])
def test_pass_rule_prints_as_parsed(text: str) -> None:
    assert str(PassRule.parse(text)) == text
    assert PassRule.parse(str(PassRule.parse(text))) == PassRule.parse(text)


def test_k_of_n_needs_exactly_n_samples() -> None:
    rule = PassRule.parse("4/5")
    rule.check_samples(5)
    with pytest.raises(ValueError, match="needs --llm-samples 5, not 3"):
        rule.check_samples(3)
    with pytest.raises(ValueError, match="judges 5 samples, got 4"):
        rule.decide(["correct"] * 4)
    with pytest.raises(ValueError, match="at least 1"):
        PassRule.parse("all").check_samples(0)
    PassRule.parse("majority").check_samples(7)


verdict_lists = st.lists(st.sampled_from(VERDICTS), min_size=1, max_size=9)


@given(verdict_lists)
def test_pass_rules_agree_with_their_definitions(verdicts: list[Verdict]) -> None:
    correct = verdicts.count("correct")
    assert (PassRule.parse("all").decide(verdicts) == "pass") == (correct == len(verdicts))
    assert (PassRule.parse("any").decide(verdicts) == "pass") == (correct >= 1)
    assert (PassRule.parse("majority").decide(verdicts) == "pass") == (2 * correct > len(verdicts))
    for k in range(1, len(verdicts) + 1):
        assert (PassRule.parse(f"{k}/{len(verdicts)}").decide(verdicts) == "pass") == (correct >= k)


# ---- flaky -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("verdicts", "flaky"),
    [
        (["correct"], False),
        (["wrong"], False),
        (["correct", "correct", "correct"], False),
        (["wrong", "unparsed", "error"], False),
        (["correct", "wrong", "correct"], True),
        (["correct", "error"], True),
        (["unparsed", "correct"], True),
        ([], False),
    ],
)
def test_flaky_means_some_samples_correct_and_some_not(verdicts: list[Verdict], flaky: bool) -> None:
    assert make_case("c", verdicts=verdicts, rule="any").flaky is flaky


# ---- summary -----------------------------------------------------------------------------------


def summary_run() -> RunResults:
    return make_run(
        [
            make_case("a", "langgpt", ["correct", "correct", "wrong"], tags=["trap", "小数"], rule="majority"),
            make_case("b", "langgpt", ["correct", "correct", "correct"], tags=["trap"], rule="majority"),
            make_case("c", "langgpt", ["wrong", "unparsed", "correct"], tags=["integer", "integer"], rule="majority"),
            make_case("a", "none", ["wrong", "wrong", "error"], tags=["trap", "小数"], rule="majority"),
            make_case("b", "none", ["correct", "wrong", "correct"], tags=["trap"], rule="majority"),
        ],
        prompts=("langgpt", "none", "unused"),
    )


def test_summary_counts_cases_overall_and_per_prompt() -> None:
    summary = summary_run().summary()
    # Outcomes by majority: langgpt a pass, b pass, c fail; none a fail, b pass.
    assert (summary["total"], summary["passed"], summary["failed"]) == (5, 3, 2)
    assert summary["accuracy"] == pytest.approx(3 / 5)
    assert summary["prompts"]["langgpt"] == {
        "total": 3,
        "passed": 2,
        "failed": 1,
        "accuracy": pytest.approx(2 / 3),
        "flaky": 2,
    }
    assert summary["prompts"]["none"] == {"total": 2, "passed": 1, "failed": 1, "accuracy": 0.5, "flaky": 1}
    # A declared prompt without cases has no accuracy rather than 0%.
    assert summary["prompts"]["unused"] == {
        "total": 0,
        "passed": 0,
        "failed": 0,
        "accuracy": None,
        "flaky": 0,
    }
    assert list(summary["prompts"]) == ["langgpt", "none", "unused"]


def test_summary_per_tag_and_prompt() -> None:
    tags = summary_run().summary()["tags"]
    assert list(tags) == sorted(["trap", "小数", "integer"])
    assert tags["trap"] == {
        "langgpt": {"total": 2, "passed": 2, "accuracy": 1.0},
        "none": {"total": 2, "passed": 1, "accuracy": 0.5},
    }
    assert tags["小数"] == {
        "langgpt": {"total": 1, "passed": 1, "accuracy": 1.0},
        "none": {"total": 1, "passed": 0, "accuracy": 0.0},
    }
    # A tag repeated on one case counts that case once; prompts without the tag are absent.
    assert tags["integer"] == {"langgpt": {"total": 1, "passed": 0, "accuracy": 0.0}}


def test_summary_counts_sample_verdicts_per_prompt() -> None:
    verdicts = summary_run().summary()["verdicts"]
    assert verdicts["langgpt"] == {"correct": 6, "wrong": 2, "unparsed": 1, "error": 0}
    assert verdicts["none"] == {"correct": 2, "wrong": 3, "unparsed": 0, "error": 1}
    assert verdicts["unused"] == dict.fromkeys(VERDICTS, 0)


def test_summary_of_an_empty_run() -> None:
    summary = make_run([], prompts=()).summary()
    assert summary == {
        "total": 0,
        "passed": 0,
        "failed": 0,
        "accuracy": None,
        "prompts": {},
        "tags": {},
        "verdicts": {},
        "truncated": {},
    }


def test_prompts_only_named_by_cases_are_summarised_too() -> None:
    run = make_run([make_case("a", "langgpt"), make_case("a", "extra")], prompts=("langgpt",))
    assert run.prompt_names() == ["langgpt", "extra"]
    assert run.summary()["prompts"]["extra"]["passed"] == 1


# ---- JSON --------------------------------------------------------------------------------------


def test_json_has_the_contract_fields() -> None:
    data = summary_run().to_json()
    assert data["schema"] == 1
    assert data["model"] == "internlm2-chat-1_8b"
    assert data["endpoint"] == "http://0.0.0.0:23333/v1"
    assert data["prompts"]["none"] == {"path": None, "sha256": None}
    assert data["prompts"]["langgpt"] == {"path": "prompts/langgpt.md", "sha256": "ab" * 32}
    assert data["settings"] == {"temperature": 0, "samples": 1, "pass_rule": "all"}
    case = data["cases"][0]
    for key in (
        "id",
        "nodeid",
        "file",
        "prompt",
        "numbers",
        "ask",
        "question",
        "tags",
        "expected",
        "outcome",
    ):
        assert key in case
    assert set(case["samples"][0]) == {
        "answer", "choice", "verdict", "contradiction", "error", "finish_reason", "reason", "evidence",
        "usage", "latency",
    }  # fmt: skip
    assert data["summary"] == summary_run().summary()


def test_json_cases_are_sorted_whatever_the_finishing_order() -> None:
    cases = summary_run().cases
    shuffled = make_run([cases[4], cases[2], cases[0], cases[3], cases[1]])
    keys = [(case["id"], case["prompt"]) for case in shuffled.to_json()["cases"]]
    assert keys == [("a", "langgpt"), ("a", "none"), ("b", "langgpt"), ("b", "none"), ("c", "langgpt")]


def test_json_round_trip() -> None:
    run = summary_run()
    run.cases[0].samples[0].contradiction = True
    loaded = RunResults.from_json(json.loads(json.dumps(run.to_json())))
    assert loaded.to_json() == run.to_json()
    assert loaded.cases == run.sorted_cases()
    assert loaded.prompts == run.prompts


texts = st.text(max_size=40)


@given(
    answer=st.none() | texts,
    choice=st.none() | texts,
    verdict=st.sampled_from(VERDICTS),
    tags=st.lists(texts, max_size=3),
    question=texts,
)
def test_any_case_survives_the_round_trip(
    answer: str | None, choice: str | None, verdict: Verdict, tags: list[str], question: str
) -> None:
    case = make_case("x")
    case.samples = [SampleResult(answer=answer, choice=choice, verdict=verdict)]
    case.tags, case.question = tags, question
    assert CaseResult.from_json(json.loads(json.dumps(case.to_json(), ensure_ascii=False))) == case


def test_minimal_contract_case_loads() -> None:
    """A hand-written baseline with only the contract's required fields is readable."""
    case = CaseResult.from_json(
        {
            "id": "t1",
            "prompt": "none",
            "numbers": ["9.9", "9.11"],
            "ask": "larger",
            "expected": "9.9",
            "outcome": "fail",
            "samples": [{"answer": "9.11", "choice": "9.11", "verdict": "wrong"}],
        }
    )
    assert case.tags == []
    assert case.question == ""
    assert case.nodeid == ""
    assert case.samples[0] == SampleResult(answer="9.11", choice="9.11", verdict="wrong")


# ---- writing and loading files -----------------------------------------------------------------


def test_write_is_readable_utf8_json(tmp_path: Path) -> None:
    run = summary_run()
    target = tmp_path / "out" / "results.json"
    run.write(target)
    raw = target.read_bytes()
    assert "13.8和13.11哪个大？".encode() in raw  # ensure_ascii=False: the text stays readable in diffs
    assert raw.startswith(b'{\n "schema": 1,')  # indent=1
    assert json.loads(raw.decode("utf-8")) == run.to_json()
    assert RunResults.load(target).to_json() == run.to_json()
    assert os.listdir(target.parent) == ["results.json"]


def test_write_replaces_an_existing_file(tmp_path: Path) -> None:
    target = tmp_path / "results.json"
    target.write_text("old", encoding="utf-8")
    make_run([make_case("only")]).write(target)
    assert [case.id for case in RunResults.load(target).cases] == ["only"]


def test_a_failed_write_leaves_the_old_file_and_no_debris(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "results.json"
    summary_run().write(target)
    before = target.read_bytes()

    def broken_replace(source: str, destination: Path) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="No space left"):
        make_run([make_case("new")]).write(target)
    assert target.read_bytes() == before
    assert os.listdir(tmp_path) == ["results.json"]


def test_a_lone_surrogate_in_an_answer_is_written_escaped(tmp_path: Path) -> None:
    case = make_case("cut")
    case.samples[0].answer = "13.8 \ud83d"
    target = tmp_path / "results.json"
    make_run([case]).write(target)
    assert RunResults.load(target).cases[0].samples[0].answer == "13.8 \ud83d"


def write_json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def valid_data() -> dict[str, Any]:
    return make_run([make_case("a")]).to_json()


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("{not json", "not valid JSON"),
        ("", "not valid JSON"),
        ('{"schema": 1, "cases": [], "x": NaN}', "not valid JSON"),
        ("[1, 2]", "not a JSON object"),
        (json.dumps({**valid_data(), "schema": 2}), "schema 2 is not supported"),
        (json.dumps({key: value for key, value in valid_data().items() if key != "schema"}), "schema None"),
        (json.dumps({**valid_data(), "cases": {"a": 1}}), "'cases' has the wrong type"),
        (json.dumps({**valid_data(), "prompts": []}), "'prompts' has the wrong type"),
    ],
)
def test_load_refuses_bad_files_in_one_line(tmp_path: Path, content: str, fragment: str) -> None:
    target = tmp_path / "baseline.json"
    target.write_text(content, encoding="utf-8")
    with pytest.raises(ResultsFileError, match=fragment) as caught:
        RunResults.load(target)
    assert str(caught.value).startswith(f"{target}: ")
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (lambda case: case.pop("expected"), "case 'a' has no 'expected'"),
        (lambda case: case.update(outcome="passed"), "outcome 'passed' is neither"),
        (lambda case: case["samples"][0].update(verdict="right"), "verdict 'right' is not one of"),
        (lambda case: case.update(numbers=[13.8, 13.11]), "'numbers' must be a list of strings"),
        (lambda case: case["samples"].append("13.8"), "sample is not an object"),
    ],
)
def test_load_names_the_bad_case(tmp_path: Path, change: Any, fragment: str) -> None:
    data = valid_data()
    change(data["cases"][0])
    target = write_json(tmp_path / "results.json", data)
    with pytest.raises(ResultsFileError, match=fragment):
        RunResults.load(target)


def test_load_of_a_missing_file(tmp_path: Path) -> None:
    target = tmp_path / "nowhere" / "results.json"
    with pytest.raises(ResultsFileError, match="results file not found") as caught:
        RunResults.load(target)
    assert str(target) in str(caught.value)


def test_load_of_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    target = tmp_path / "results.json"
    target.write_bytes('{"schema": 1, "cases": [], "model": "模型"}'.encode("gb18030"))
    with pytest.raises(ResultsFileError, match="cannot read results file"):
        RunResults.load(target)


# ---- accuracy thresholds -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0.7", 0.7),
        ("70%", 0.7),
        ("70", 0.7),
        (" 72.5 % ", 0.725),
        ("1", 1.0),
        ("0", 0.0),
        ("100%", 1.0),
        (".9", 0.9),
    ],
)
def test_parse_accuracy(text: str, value: float) -> None:
    assert parse_accuracy(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["", "seventy", "-5", "150%", "101", "0.7.1"])
def test_parse_accuracy_refuses_nonsense(text: str) -> None:
    with pytest.raises(ValueError, match="accuracy"):
        parse_accuracy(text)


def test_the_headline_change_is_paired_new_cases_do_not_move_it() -> None:
    from pytest_llmcmp.baseline import compare

    old = [make_case(f"c{i}", verdicts=("correct",) if i == 0 else ("wrong",)) for i in range(7)]
    new_cases = [make_case(f"new{i}", verdicts=("wrong",)) for i in range(4)]
    comparison = compare(make_run(old, prompts=("langgpt",)), make_run(old + new_cases, prompts=("langgpt",)))
    assert comparison.accuracy["langgpt"] == (1 / 7, 1 / 7)  # not 1/7 -> 1/11: nothing regressed
    assert len(comparison.new) == 4
    assert comparison.regressions == []
    # A real regression moves it by the paired amount.
    worse = [make_case("c0", verdicts=("wrong",)), *old[1:]]
    comparison = compare(make_run(old, prompts=("langgpt",)), make_run(worse + new_cases, prompts=("langgpt",)))
    assert comparison.accuracy["langgpt"] == (1 / 7, 0.0)
