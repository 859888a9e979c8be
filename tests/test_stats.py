"""The statistics against published values and against the binomial formula computed here, independently."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_llmcmp.baseline import compare
from pytest_llmcmp.gates import GatePolicy, decide
from pytest_llmcmp.results import CaseResult, RunResults, SampleResult
from pytest_llmcmp.stats import (
    accuracy_interval,
    exact_binomial_p,
    format_p,
    paired_test,
    pass_probability,
    wilson,
)


def case(case_id: str, verdicts: list[str], prompt: str = "p", rule_pass: bool | None = None) -> CaseResult:
    samples = [SampleResult(answer="x", choice=None, verdict=v) for v in verdicts]  # type: ignore[arg-type]
    passed = all(v == "correct" for v in verdicts) if rule_pass is None else rule_pass
    return CaseResult(
        id=case_id,
        nodeid=f"cases/x.yaml::{case_id}::{prompt}",
        file="cases/x.yaml",
        prompt=prompt,
        numbers=["1.5", "1.25"],
        ask="larger",
        question="?",
        tags=[],
        expected="1.5",
        samples=samples,
        outcome="pass" if passed else "fail",
    )


# --- Wilson ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("passed", "total", "low", "high"),
    [
        # Newcombe (1998), "Two-sided confidence intervals for the single proportion: comparison of seven methods",
        # Statistics in Medicine 17:857-872, Table I, method 3 (Wilson score interval without continuity correction).
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0000, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_matches_newcombe_1998(passed: int, total: int, low: float, high: float) -> None:
    interval = wilson(passed, total)
    assert interval is not None
    assert (round(interval.low, 4), round(interval.high, 4)) == (low, high)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 400).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wilson_is_the_score_formula(counts: tuple[int, int]) -> None:
    passed, total = counts
    z = 1.959963984540054  # the 97.5% point of the normal distribution
    p = passed / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z / (1 + z * z / total) * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total))
    interval = wilson(passed, total)
    assert interval is not None
    assert interval.low == pytest.approx(max(0.0, centre - half), abs=1e-9)
    assert interval.high == pytest.approx(min(1.0, centre + half), abs=1e-9)


def test_no_cases_no_interval() -> None:
    assert wilson(0, 0) is None
    assert accuracy_interval([]) is None


# --- exact McNemar ----------------------------------------------------------------------------------------------------


def binomial_tail(k: int, n: int) -> Fraction:
    """P(X <= k) for X ~ Binomial(n, 1/2), exactly."""
    return Fraction(sum(math.comb(n, i) for i in range(k + 1)), 2**n)


@pytest.mark.parametrize(
    ("improved", "regressed", "two_sided"),
    [
        # The demo of stepwise vs langgpt under the first judge: 17 improved and 5 regressed of 197 paired cases.
        (17, 5, 0.0169),
        # A symmetric table: no evidence either way.
        (4, 4, 1.0),
        # A small table worked by hand: 1 vs 7 discordant pairs, p = 2 * (1 + 8) / 2**8 = 18/256 = 0.0703.
        (1, 7, 0.0703),
    ],
)
def test_mcnemar_exact_p(improved: int, regressed: int, two_sided: float) -> None:
    before = [case(f"i{n}", ["wrong"]) for n in range(improved)]
    before += [case(f"r{n}", ["correct"]) for n in range(regressed)]
    after = [case(f"i{n}", ["correct"]) for n in range(improved)]
    after += [case(f"r{n}", ["wrong"]) for n in range(regressed)]
    concordant = [(case("same", ["correct"]), case("same", ["correct"]))] * 10
    test = paired_test([*zip(before, after, strict=True), *concordant])
    n, k = improved + regressed, min(improved, regressed)
    exact = min(Fraction(1), 2 * binomial_tail(k, n))
    assert test.p_two_sided == pytest.approx(float(exact), rel=1e-9)
    assert round(test.p_two_sided, 4) == two_sided
    # One-sided, "worse": at least this many regressions out of the discordant pairs.
    assert test.p_worse == pytest.approx(float(1 - binomial_tail(regressed - 1, n)), rel=1e-9)
    assert (test.improved, test.regressed, test.net, test.paired) == (improved, regressed, improved - regressed, n + 10)
    assert test.test == "exact McNemar test"


def test_no_discordant_pairs_give_p_one() -> None:
    test = paired_test([(case("a", ["correct"]), case("a", ["correct"]))])
    assert (test.p_two_sided, test.p_worse, format_p(test.p_two_sided)) == (1.0, 1.0, "1")
    assert exact_binomial_p(0, 0) == 1.0


@pytest.mark.parametrize(
    ("p", "text"), [(0.0169, "0.017"), (0.0004, "0.0004"), (0.00001, "< 0.0001"), (0.9999, "1"), (0.5, "0.500")]
)
def test_p_values_as_reports_show_them(p: float, text: str) -> None:
    assert format_p(p) == text


# --- several samples per case ---------------------------------------------------------------------------------------


def test_pass_probability_is_the_binomial_tail() -> None:
    # 3 of 5 correct, majority (3 needed): P(X >= 3), X ~ Binomial(5, 0.6) = 0.68256.
    assert pass_probability(3, 5, 3) == pytest.approx(0.68256)
    assert pass_probability(5, 5, 5) == 1.0
    assert pass_probability(0, 5, 1) == 0.0


def test_with_samples_the_test_is_a_sign_test_on_pass_rates() -> None:
    pairs = [
        (case("a", ["correct", "wrong", "wrong"]), case("a", ["correct", "correct", "wrong"])),  # up
        (case("b", ["correct", "correct", "wrong"]), case("b", ["correct", "correct", "correct"])),  # up
        (case("c", ["correct", "correct", "correct"]), case("c", ["correct", "wrong", "correct"])),  # down
        (case("d", ["wrong", "wrong", "wrong"]), case("d", ["wrong", "wrong", "wrong"])),  # same
    ]
    test = paired_test(pairs, "majority")
    assert test.test == "exact sign test on per-case pass rates"
    assert (test.up, test.down) == (2, 1)
    assert test.p_two_sided == pytest.approx(1.0)
    assert test.net_interval is not None
    assert test.net_interval.method == "paired bootstrap over cases and their samples"


def test_bootstraps_are_seeded_and_cover_the_estimate() -> None:
    cases = [
        case(f"c{i}", ["correct", "correct", "wrong"] if i % 3 else ["wrong"] * 3, rule_pass=bool(i % 3))
        for i in range(60)
    ]
    first, again = accuracy_interval(cases, "majority"), accuracy_interval(list(cases), "majority")
    assert first == again  # deterministic: the same numbers on every run and machine
    assert first is not None
    assert first.method == "bootstrap over cases"
    share = sum(c.passed for c in cases) / len(cases)
    assert first.low < share < first.high
    # Wider than Wilson on the same outcomes: each case's own uncertainty is counted too.
    plain = wilson(sum(c.passed for c in cases), len(cases))
    assert plain is not None
    assert first.high - first.low > plain.high - plain.low


def test_net_interval_of_one_sample_contains_the_net_change() -> None:
    pairs = [(case(f"i{n}", ["wrong"]), case(f"i{n}", ["correct"])) for n in range(17)]
    pairs += [(case(f"r{n}", ["correct"]), case(f"r{n}", ["wrong"])) for n in range(5)]
    pairs += [(case(f"s{n}", ["wrong"]), case(f"s{n}", ["wrong"])) for n in range(175)]
    test = paired_test(pairs)
    assert test.net_points == pytest.approx(12 / 197 * 100)
    assert test.net_interval is not None
    assert test.net_interval.low < test.net_points < test.net_interval.high
    assert test.net_interval.low > 0  # the improvement is clear: the interval excludes zero, as p = 0.017 says


# --- the decision -----------------------------------------------------------------------------------------------------


def runs(before: list[bool], after: list[bool]) -> tuple[RunResults, RunResults]:
    def results(outcomes: list[bool]) -> RunResults:
        cases = [case(f"c{i}", ["correct" if ok else "wrong"]) for i, ok in enumerate(outcomes)]
        return RunResults(model="m", endpoint=None, prompts={}, settings={}, cases=cases)

    return results(before), results(after)


def test_decide_in_each_mode() -> None:
    before, after = runs([True] * 2 + [False] * 12 + [True] * 26, [False] * 2 + [True] * 12 + [True] * 26)
    comparison = compare(before, after)
    assert decide(comparison, GatePolicy("significant")).state == "passed"
    assert decide(comparison, GatePolicy("strict")).state == "failed"
    assert decide(comparison, GatePolicy("strict", max_regressions=2)).state == "passed"
    assert decide(comparison, GatePolicy("report")).line.startswith("gate report only: p +10 net")
    critical = decide(comparison, GatePolicy("report"), critical={"c0"})
    assert critical.state == "failed"
    assert "1 critical regression (c0 [p]): a critical case must never regress" in critical.line
    command = "pytest --llm-endpoint URL"
    undecided = decide(comparison, GatePolicy("significant"), not_recorded=3, record_command=command)
    assert undecided.state == "undecided"
    assert undecided.line.endswith("record them with: pytest --llm-endpoint URL")
