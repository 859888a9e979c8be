"""The ``order`` question kind end to end, as a user drives it: YAML -> question -> live ask against the fake
server -> cassette -> replay offline -> verdict; and the loader's one-line errors for it."""

from __future__ import annotations

import json
import re
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from pytest_llmcmp.cases import CaseFileError, load_case_file
from pytest_llmcmp.generators import GeneratorError, generate
from pytest_llmcmp.tasks import ASKS, task_for
from pytest_llmcmp.templates import render_question
from pytest_llmcmp.truth import NumberError, expected_order
from tests.fakeserver import FakeServer

ORDER_CASES = """\
cases:
  - id: tenths
    numbers: ["4.4", "4.04", "4.14"]
    ask: order
  - id: english
    numbers: ["9.9", "9.11", "10"]
    ask: order
    template: en
"""

_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def sorting_answer(request: dict[str, Any]) -> str:
    """A model that sorts the numbers of the question correctly, in the question's language."""
    question = request["messages"][-1]["content"]
    numbers = _NUMBER.findall(question.split("：")[-1].split(":")[-1])
    ordered = sorted(numbers, key=Fraction)
    if "排列" in question:
        return f"从小到大：{' < '.join(ordered)}"
    return f"From smallest to largest: {' < '.join(ordered)}"


def reversed_answer(request: dict[str, Any]) -> str:
    """A model that sorts the wrong way round (largest first, written with '<')."""
    question = request["messages"][-1]["content"]
    numbers = _NUMBER.findall(question.split("：")[-1].split(":")[-1])
    return " < ".join(sorted(numbers, key=Fraction, reverse=True))


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_inprocess("-p", "no:cacheprovider", *args)


def results_of(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


# --- the domain, without pytest --------------------------------------------------------------------------


def test_order_truth_is_exact_ordering() -> None:
    assert expected_order(["4.4", "4.04", "4.14"]) == (1, 2, 0)
    assert expected_order(["1/3", "0.333", "0.34"]) == (1, 0, 2)  # 0.333 < 1/3 < 0.34, exactly
    assert task_for("order").expected(["9.9", "9.11", "10"], "order") == "9.11 < 9.9 < 10"
    with pytest.raises(NumberError, match=re.escape("'3.5' and '3.50' are equal")):
        expected_order(["3.5", "2", "3.50"])


def test_order_is_a_question_kind_with_its_wording() -> None:
    assert "order" in ASKS
    assert render_question("zh", ["4.4", "4.04", "4.14"], "order") == "把下列数从小到大排列：4.4、4.04、4.14"
    assert render_question("en", ["4.4", "4.04", "4.14"], "order") == "Sort from smallest to largest: 4.4, 4.04, 4.14"
    task = task_for("order")
    assert task.is_choice("4.04 < 4.14 < 4.4", ["4.4", "4.04", "4.14"], "order")
    assert not task.is_choice("4.04 < 4.4", ["4.4", "4.04", "4.14"], "order")  # partial: not an ordering of all
    assert task.verdict("4.14 < 4.04 < 4.4", "4.04 < 4.14 < 4.4") == "wrong"  # partial credit is not counted


def test_generated_order_cases_sort_distinct_values() -> None:
    cases = generate("multi", 7, 20, "order")
    assert {case.ask for case in cases} == {"order"}
    for case in cases:
        order = expected_order(case.numbers)
        values = [Fraction(case.numbers[i]) for i in order]
        assert values == sorted(values)
        assert len(set(values)) == len(values)
    with pytest.raises(GeneratorError, match=r"category 'equal' cannot make order cases: .* are equal"):
        generate("equal", 1, 5, "order")


def test_equal_values_are_a_one_line_loader_error(tmp_path: Path) -> None:
    path = tmp_path / "order.yaml"
    path.write_text(
        'cases:\n  - numbers: ["1.5", "2"]\n    ask: order\n  - numbers: ["3.5", "3.50", "2"]\n    ask: order\n',
        encoding="utf-8",
    )
    with pytest.raises(CaseFileError) as info:
        load_case_file(path)
    assert str(info.value) == (
        f"{path}:4: case 'order-3.5-vs-3.50-vs-2': '3.5' and '3.50' are equal; "
        "an order case needs numbers of pairwise different values"
    )


def test_expect_of_an_order_case_is_checked(tmp_path: Path) -> None:
    path = tmp_path / "order.yaml"
    path.write_text(
        'cases:\n  - numbers: ["4.4", "4.04"]\n    ask: order\n    expect: "4.4 < 4.04"\n', encoding="utf-8"
    )
    with pytest.raises(CaseFileError, match=re.escape("expect says 4.4 < 4.04 but the exact answer is 4.04 < 4.4")):
        load_case_file(path)


# --- end to end -------------------------------------------------------------------------------------------


def test_order_live_then_replayed_offline(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", **{"cases/order": ORDER_CASES})
    with FakeServer(answer=sorting_answer) as fake:
        live = run(pytester, "--llm-endpoint", fake.url, "--llm-results", "live.json")
        questions = [request.json["messages"][-1]["content"] for request in fake.requests if request.json]
    live.assert_outcomes(passed=2)
    assert "把下列数从小到大排列：4.4、4.04、4.14" in questions
    assert "Sort from smallest to largest: 9.9, 9.11, 10" in questions
    cassette = pytester.path / "cassettes" / "fake-model" / "none" / "tenths.yaml"
    assert "从小到大：4.04 < 4.14 < 4.4" in cassette.read_text(encoding="utf-8")

    replay = run(pytester, "--llm-results", "replay.json")  # the server is gone: offline
    replay.assert_outcomes(passed=2)
    data = results_of(pytester.path / "replay.json")
    by_id = {case["id"]: case for case in data["cases"]}
    assert by_id["tenths"]["ask"] == "order"
    assert by_id["tenths"]["expected"] == "4.04 < 4.14 < 4.4"
    assert by_id["tenths"]["samples"][0]["choice"] == "4.04 < 4.14 < 4.4"
    assert by_id["tenths"]["samples"][0]["verdict"] == "correct"
    assert by_id["english"]["expected"] == "9.11 < 9.9 < 10"
    assert data["summary"]["passed"] == 2
    assert results_of(pytester.path / "live.json")["cases"] == data["cases"]


def test_wrong_order_fails_with_the_expected_ordering(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", **{"cases/order": ORDER_CASES})
    with FakeServer(answer=reversed_answer) as fake:
        result = run(pytester, "--llm-endpoint", fake.url, "--llm-results", "r.json")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["*expected: 4.04 < 4.14 < 4.4 (sorted from smallest to largest)*"])
    by_id = {case["id"]: case["samples"][0] for case in results_of(pytester.path / "r.json")["cases"]}
    assert {sample["verdict"] for sample in by_id.values()} == {"wrong"}
    assert by_id["tenths"]["choice"] == "4.4 < 4.14 < 4.04"
    assert by_id["english"]["choice"] == "10 < 9.9 < 9.11"


def test_a_plugin_reads_orderings_through_the_same_hook(pytester: pytest.Pytester) -> None:
    """The hook's contract holds for the new kind: a conftest's reading is used, and checked to be an ordering."""
    pytester.makefile(".yaml", **{"cases/order": ORDER_CASES})
    pytester.makeconftest(
        """
        from pytest_llmcmp.answers import Extraction

        def pytest_llmcmp_extract_choice(answer, case, prompt):
            if case.id == "english":
                return Extraction("9.11 < 10")  # not an ordering of all the numbers: no clear choice
            return Extraction(answer.split("：")[-1])
        """
    )
    with FakeServer(answer=sorting_answer) as fake:
        result = run(pytester, "--llm-endpoint", fake.url, "--llm-results", "r.json")
    result.assert_outcomes(passed=1, failed=1)
    by_id = {case["id"]: case for case in results_of(pytester.path / "r.json")["cases"]}
    assert by_id["tenths"]["samples"][0]["verdict"] == "correct"
    assert by_id["english"]["samples"][0] == {**by_id["english"]["samples"][0], "verdict": "unparsed", "choice": None}
