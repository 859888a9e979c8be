"""A bare reply ("Yes.", "否。", "Smaller.") to the case's question is judged by what it replies to: real pytest
sessions (pytester) against the fake endpoint on loopback, which answers every question "Yes."."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.fakeserver import FakeServer

CASES = """\
cases:
  - id: yes-right
    numbers: ["3/8", "0.4"]
    ask: smaller
    template: "Is {a} {ask} than {b}? Answer yes or no."
  - id: yes-wrong
    numbers: ["0.5", "0.45"]
    ask: smaller
    template: "Is {a} {ask} than {b}? Answer yes or no."
  - id: which
    numbers: ["9.9", "9.11"]
    template: "Which is {ask}, {a} or {b}?"
"""


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_inprocess("-p", "no:cacheprovider", *args)


def samples(path: Path) -> dict[str, dict[str, Any]]:
    results = json.loads(path.read_text(encoding="utf-8"))
    return {case["id"]: {**case["samples"][0], "question": case["question"]} for case in results["cases"]}


def test_a_yes_replies_to_the_question_asked_live_and_on_replay(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", **{"cases/replies": CASES})
    with FakeServer(answer=lambda request: "Yes.") as server:
        live = run(pytester, "--llm-endpoint", server.url, "--llm-results", "live.json")
    live.assert_outcomes(passed=1, failed=2)
    by_case = samples(pytester.path / "live.json")
    assert by_case["yes-right"]["question"] == "Is 3/8 smaller than 0.4? Answer yes or no."
    assert {name: (s["choice"], s["verdict"], s["evidence"]) for name, s in by_case.items()} == {
        "yes-right": ("3/8", "correct", "Yes"),
        "yes-wrong": ("0.5", "wrong", "Yes"),
        "which": (None, "unparsed", ""),
    }
    replay = run(pytester, "--llm-results", "replay.json")  # offline: the recorded answers, judged the same way
    replay.assert_outcomes(passed=1, failed=2)
    assert samples(pytester.path / "replay.json") == {k: {**v, "latency": None} for k, v in by_case.items()}
