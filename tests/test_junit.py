"""CI surfaces (issue 17, part 3): each item's verdict, choice, expected answer, model, prompt and sample verdicts as
JUnit XML properties, and failing items that only the session's gate judges written as failures, not as skipped."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from tests.fakeserver import FakeServer, correct_answer

CASES = """\
template: en
cases:
  - {id: trap, numbers: ["13.8", "13.11"]}
  - {id: control, numbers: ["9.91", "9.9"]}
  - {id: known, numbers: ["7.5", "7.25"]}
"""


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_inprocess("-p", "no:cacheprovider", *args)


def by_prompt(request: dict[str, Any]) -> str:
    """Under old.md: wrong on 'known'. Under new.md: wrong on 'known' too, and on 'trap' (a regression)."""
    new = request["messages"][0]["content"].startswith("Think")
    question = request["messages"][-1]["content"]
    if "7.5" in question or (new and "13.8" in question):
        options = re.findall(r"\d+\.\d+", question)
        return f"The larger is {options[1]}."
    return correct_answer(request)


def junit_cases(path: Any) -> dict[str, ET.Element]:
    root = ET.parse(path).getroot()
    return {f"{case.get('classname')}.{case.get('name')}": case for case in root.iter("testcase")}


def properties(case: ET.Element) -> dict[str, str]:
    return {p.get("name", ""): p.get("value", "") for p in case.iter("property")}


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makefile(".yaml", **{"cases/numbers": CASES})
    (pytester.path / "old.md").write_text("Answer quickly.\n", encoding="utf-8")
    (pytester.path / "new.md").write_text("Think.\n", encoding="utf-8")
    with FakeServer(answer=by_prompt) as fake:
        run(pytester, "--llm-endpoint", fake.url, "--llm-prompt", "old.md", "--llm-prompt", "new.md")
    return pytester


def test_every_item_carries_its_judgement_as_properties(project: pytest.Pytester) -> None:
    result = run(project, "--llm-prompt", "old.md", "--llm-prompt", "new.md", "--junitxml", "junit.xml")
    result.assert_outcomes(passed=3, failed=3)
    cases = junit_cases(project.path / "junit.xml")
    trap = properties(cases["cases.numbers.yaml.trap.new"])
    assert trap == {
        "verdict": "wrong",
        "choice": "13.11",
        "expected": "13.8",
        "model": "fake-model",
        "prompt": "new",
        "sample_verdicts": "wrong",
        "outcome": "fail",
    }
    assert properties(cases["cases.numbers.yaml.control.old"])["verdict"] == "correct"


def test_a_regression_found_by_the_baseline_prompt_is_a_failure_in_junit(project: pytest.Pytester) -> None:
    args = ["--llm-prompt", "old.md", "--llm-prompt", "new.md", "--llm-baseline-prompt", "old", "-rx"]
    result = run(project, *args, "--junitxml", "junit.xml")
    # For pytest the session's gate decides (here: a drop of 33 points, more than --llm-max-drop 0): the items are
    # xfail, the session fails.
    result.assert_outcomes(passed=3, xfailed=3)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    root = ET.parse(project.path / "junit.xml").getroot()
    suite = root if root.tag == "testsuite" else root.find("testsuite")
    assert suite is not None
    assert (suite.get("failures"), suite.get("skipped"), suite.get("tests")) == ("1", "2", "6")
    cases = junit_cases(project.path / "junit.xml")
    regression = cases["cases.numbers.yaml.trap.new"]
    failure = regression.find("failure")
    assert failure is not None
    assert failure.get("message") == (
        "a regression: regression (passed in prompt old); --llm-gate significant: the gate decides the session"
    )
    assert regression.find("skipped") is None
    assert properties(regression)["gated"] == "regression"
    for known in ("cases.numbers.yaml.known.new", "cases.numbers.yaml.known.old"):  # failed under old.md too
        skipped = cases[known].find("skipped")
        assert skipped is not None
        assert skipped.get("type") == "pytest.xfail"
        assert "gated" not in properties(cases[known])


def test_a_failure_gated_by_accuracy_is_a_failure_in_junit(project: pytest.Pytester) -> None:
    result = run(project, "--llm-prompt", "old.md", "--llm-min-accuracy", "0.5", "--junitxml", "junit.xml")
    result.assert_outcomes(passed=2, xfailed=1)
    cases = junit_cases(project.path / "junit.xml")
    failure = cases["cases.numbers.yaml.known.old"].find("failure")
    assert failure is not None
    assert failure.get("message") == "a failure gated by accuracy: gated by accuracy, not by single cases"


def test_junit_is_the_same_under_xdist(project: pytest.Pytester) -> None:
    args = ["--llm-prompt", "old.md", "--llm-min-accuracy", "0.5"]
    run(project, *args, "--junitxml", "plain.xml")
    result = project.runpytest_subprocess("-p", "no:cacheprovider", *args, "-n", "2", "--junitxml", "xdist.xml")
    result.assert_outcomes(passed=2, xfailed=1)
    plain, xdist = junit_cases(project.path / "plain.xml"), junit_cases(project.path / "xdist.xml")
    assert sorted(plain) == sorted(xdist)
    for name, case in plain.items():
        assert properties(case) == properties(xdist[name])
        assert [child.tag for child in case if child.tag != "properties"] == [
            child.tag for child in xdist[name] if child.tag != "properties"
        ]
        assert [child.text for child in case.iter("failure")] == [child.text for child in xdist[name].iter("failure")]
    gated = plain["cases.numbers.yaml.known.old"].findtext("failure") or ""
    assert "question: Which is larger, 7.5 or 7.25?" in gated


def test_the_llm_fixture_records_its_comparisons_as_properties(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_props="""
        def test_it(llm):
            llm.compare(["13.8", "13.11"])
        """
    )
    with FakeServer() as fake:
        run(pytester, "--llm-endpoint", fake.url, "--junitxml", "junit.xml").assert_outcomes(passed=1)
    case = junit_cases(pytester.path / "junit.xml")["test_props.test_it"]
    assert properties(case) == {
        "verdict": "correct",
        "choice": "13.8",
        "expected": "13.8",
        "model": "fake-model",
        "prompt": "none",
    }


def test_a_gated_failure_in_junit_carries_the_case_text(project: pytest.Pytester) -> None:
    args = ["--llm-prompt", "old.md", "--llm-prompt", "new.md", "--llm-baseline-prompt", "old"]
    run(project, *args, "--junitxml", "junit.xml").assert_outcomes(passed=3, xfailed=3)
    regression = junit_cases(project.path / "junit.xml")["cases.numbers.yaml.trap.new"].find("failure")
    assert regression is not None
    text = regression.text or ""
    # What decides the run, then the case as a failing case shows it: question, prompt, expected, choice, answer.
    assert text.startswith(f"{regression.get('message')}\n\n")
    for line in (
        "question: Which is larger, 13.8 or 13.11?",
        "expected: 13.8 (larger of 13.8, 13.11)",
        "wrong: chose 13.11",
        "  answer: The larger is 13.11.",
    ):
        assert line in text.splitlines()
    assert "prompt:   new" in text

    # Gated by accuracy: the same text; a plain failing case's <failure> shows it too (the same words).
    run(project, "--llm-prompt", "new.md", "--llm-min-accuracy", "0.3", "--junitxml", "gated.xml")
    run(project, "--llm-prompt", "new.md", "--junitxml", "plain.xml")
    gated = junit_cases(project.path / "gated.xml")["cases.numbers.yaml.trap.new"].find("failure")
    plain = junit_cases(project.path / "plain.xml")["cases.numbers.yaml.trap.new"].find("failure")
    assert gated is not None
    assert plain is not None
    assert gated.get("message", "").startswith("a failure gated by accuracy: ")
    assert (gated.text or "").split("\n\n", 1)[1] == plain.text
