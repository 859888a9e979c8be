"""A baseline is compared per (prompt, model): a run of one model is never judged against another model's answers.

Driven as users meet it: a baseline recorded for one model (the shipped SmolLM2 results, say) and a run of another
(their own model recorded into their own cassettes, or ``--llm-model X``); a baseline holding several models and a
run of one of them; a run of several models against a baseline of one. Pytester sessions, real results files, the
fake endpoint of tests/fakeserver.py.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from pytest_llmcmp.baseline import model_part
from pytest_llmcmp.results import RunResults
from tests.fakeserver import FakeServer, correct_answer

HINT = (
    "to compare this model, write its baseline with --llm-results PATH (on the main branch) "
    "and pass --llm-baseline PATH"
)


def wrong_on_trap(request: dict[str, Any]) -> str:
    """Right everywhere but on 13.8 vs 13.11, where it believes 13.11 is larger (the tutorial's mistake)."""
    question = request["messages"][-1]["content"]
    if "13.8" in question and "13.11" in question:
        return "The larger is 13.11."
    return correct_answer(request)


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest("-p", "no:cacheprovider", "-rfx", *args)


def load(pytester: pytest.Pytester, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((pytester.path / name).read_text(encoding="utf-8"))
    return data


def test_a_baseline_of_another_model_is_not_compared_and_says_which_model_it_holds(suite: pytest.Pytester) -> None:
    """The baseline holds m1's results; a run of m2, wrong on the trap case, must not pass because m1 got it right
    or failed it too: m2's failure fails its item as without a baseline, no gate is decided on m1's answers, and one
    line says which model the baseline holds and how to make one for m2 (which then works as it says)."""
    with FakeServer(models=("m1",), answer=wrong_on_trap) as m1:
        run(suite, f"--llm-endpoint={m1.url}", "--llm-results=base.json").assert_outcomes(passed=2, failed=1)
    with FakeServer(models=("m2",), answer=wrong_on_trap) as m2:
        result = run(
            suite, f"--llm-endpoint={m2.url}", "--llm-baseline=base.json", "--llm-results=r.json", "--llm-report=r.md"
        )
    # Compared with m1's results, m2's trap failure would be a known failure ("failed in the baseline too").
    result.assert_outcomes(passed=2, failed=1)
    assert result.ret == 1
    line = f"baseline base.json holds model 'm1', not 'm2': not compared; {HINT}"
    assert [text for text in result.outlines if "holds model" in text] == [line]
    assert "known failure" not in result.stdout.str()
    assert not any(text.startswith(("gate ", "baseline base.json:")) for text in result.outlines)
    data = load(suite, "r.json")
    assert "comparison" not in data
    assert "gate" not in data
    assert data["baseline"] == {
        "path": "base.json",
        "models": ["m1"],
        "compared": [],
        "not_compared": ["m2"],
        "line": line,
    }
    assert f"⚠️ {line}" in (suite.path / "r.md").read_text(encoding="utf-8").replace("\\-", "-")

    # What the line says: m2's own baseline, then a run of m2 compared with it.
    run(suite, "--llm-model=m2", "--llm-results=base-m2.json").assert_outcomes(passed=2, failed=1)
    again = run(suite, "--llm-model=m2", "--llm-baseline=base-m2.json", "--llm-results=r2.json")
    again.assert_outcomes(passed=2, xfailed=1)
    again.stdout.fnmatch_lines(["*trap::none - failed in the baseline too*"])
    assert "holds model" not in again.stdout.str()
    assert load(suite, "r2.json")["baseline"] == {
        "path": "base-m2.json",
        "models": ["m2"],
        "compared": ["m2"],
        "not_compared": [],
    }
    assert load(suite, "r2.json")["comparison"]["regressions"] == 0


def test_a_baseline_of_two_models_compares_a_one_model_run_with_that_models_part(suite: pytest.Pytester) -> None:
    """The baseline holds small (wrong on the trap) and big (right). A run of big alone that now falls for the trap is
    a regression of big's: it is not excused by small's failure of the same case id and prompt."""
    with (
        FakeServer(models=("small",), answer=wrong_on_trap) as small,
        FakeServer(models=("big",)) as big,
    ):
        base = run(suite, f"--llm-endpoint=s={small.url}", f"--llm-endpoint=b={big.url}", "--llm-results=base.json")
    base.assert_outcomes(passed=5, failed=1)
    with FakeServer(models=("big",), answer=wrong_on_trap) as big:
        result = run(
            suite,
            f"--llm-endpoint={big.url}",
            "--llm-record-mode=all",
            "--llm-baseline=base.json",
            "--llm-gate=strict",
            "--llm-results=r.json",
        )
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["gate failed (strict): none -1 net (0 improved, 1 regressed)*"])
    data = load(suite, "r.json")
    assert data["comparison"]["regressions"] == 1
    assert data["gate"]["state"] == "failed"
    assert data["baseline"]["models"] == ["big", "small"]
    assert data["baseline"]["compared"] == ["big"]
    # small alone, offline, against the same baseline: its trap failure is its own known failure; nothing regressed.
    alone = run(suite, "--llm-model=small", "--llm-baseline=base.json", "--llm-results=s.json")
    alone.assert_outcomes(passed=2, xfailed=1)
    assert load(suite, "s.json")["comparison"] == {
        "label": "baseline base.json",
        "regressions": 0,
        "improvements": 0,
        "new": 0,
        "removed": 0,
        "not_run": 0,
    }


def test_a_run_of_two_models_against_a_baseline_of_one_compares_only_that_one(suite: pytest.Pytester) -> None:
    """The baseline ran m1; this run adds m2, which falls for the trap. m1 is compared with its own results; m2 is
    not compared (not "3 new cases" whose failures pass as known), its failure fails, and the line names it."""
    with FakeServer(models=("m1",)) as m1:
        run(suite, f"--llm-endpoint={m1.url}", "--llm-results=base.json").assert_outcomes(passed=3)
    with FakeServer(models=("m1",)) as m1, FakeServer(models=("m2",), answer=wrong_on_trap) as m2:
        result = run(
            suite,
            f"--llm-endpoint=one={m1.url}",
            f"--llm-endpoint=two={m2.url}",
            "--llm-baseline=base.json",
            "--llm-results=r.json",
            "--llm-html=r.html",
        )
    result.assert_outcomes(passed=5, failed=1)
    result.stdout.fnmatch_lines(["FAILED *cases/basic.yaml::trap::m2::none*"])
    line = f"baseline base.json holds model 'm1', not 'm2': not compared; {HINT}"
    assert line in result.outlines
    result.stdout.fnmatch_lines(["baseline base.json: 0 regressions, 0 improvements, 0 new, 0 removed"])
    data = load(suite, "r.json")
    assert data["comparison"]["new"] == 0
    assert data["baseline"]["compared"] == ["m1"]
    assert data["baseline"]["not_compared"] == ["m2"]
    assert set(data["gate"]["prompts"]) == {"none @ m1"}
    html = (suite.path / "r.html").read_text(encoding="utf-8")
    assert 'id="baseline-models"' in html
    assert "holds model &#x27;m1&#x27;, not &#x27;m2&#x27;" in html


def test_model_part_takes_a_baseline_naming_no_model_as_any_models() -> None:
    """A hand-written baseline names no model: it is compared with whichever model runs; one naming models gives each
    model only its own cases, and nothing to a model it does not hold."""
    case = {"id": "c", "prompt": "p", "numbers": ["1", "2"], "ask": "larger", "expected": "2", "outcome": "pass"}
    sample = {"samples": [{"answer": "2", "choice": "2", "verdict": "correct"}]}
    anonymous = RunResults.from_json({"schema": 1, "cases": [{**case, **sample}]})
    assert model_part(anonymous, "anything") is anonymous
    two = RunResults.from_json(
        {
            "schema": 1,
            "model": None,
            "cases": [{**case, **sample, "model": "a"}, {**case, **sample, "model": "b", "outcome": "fail"}],
        }
    )
    part_b = model_part(two, "b")
    assert part_b is not None
    assert [(c.model, c.outcome) for c in part_b.cases] == [("b", "fail")]
    assert model_part(two, "c") is None
    assert model_part(two, None) is None  # an unknown model of a run is none of two models
    one = RunResults.from_json({"schema": 1, "model": "a", "cases": [{**case, **sample}]})
    assert model_part(one, "a") is one
    assert model_part(one, "b") is None
