"""The statistics against published values and against the binomial formula computed here, independently."""

from __future__ import annotations

import math
import random
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
    paired_difference,
    paired_test,
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


def test_with_samples_the_test_is_a_sign_test_on_pass_rates() -> None:
    pairs = [
        (case("a", ["correct", "wrong", "wrong"]), case("a", ["correct", "correct", "wrong"])),  # up
        (case("b", ["correct", "correct", "wrong"]), case("b", ["correct", "correct", "correct"])),  # up
        (case("c", ["correct", "correct", "correct"]), case("c", ["correct", "wrong", "correct"])),  # down
        (case("d", ["wrong", "wrong", "wrong"]), case("d", ["wrong", "wrong", "wrong"])),  # same
    ]
    test = paired_test(pairs)
    assert test.test == "exact sign test on per-case pass rates"
    assert (test.up, test.down) == (2, 1)
    assert test.p_two_sided == pytest.approx(1.0)
    assert test.net_interval is not None
    assert test.net_interval.method == "Newcombe's paired score interval"


@pytest.mark.parametrize("count", [1, 2, 5, 30])
@pytest.mark.parametrize(
    "verdicts",
    [["correct"] * 3, ["wrong"] * 3, ["correct", "wrong", "correct"]],
    ids=["all-right", "all-wrong", "mixed"],
)
def test_with_samples_the_interval_never_collapses_to_a_point(count: int, verdicts: list[str]) -> None:
    # Every case's samples agree (or every case is alike): the two-stage bootstrap drew the same share every time and
    # said "0.0–0.0%" (or "100.0–100.0%") for 1, 2, 5 or any number of cases.
    cases = [case(f"c{i}", verdicts) for i in range(count)]
    interval = accuracy_interval(cases)
    passed = sum(c.passed for c in cases)
    assert interval == wilson(passed, count)  # the case is the unit: its samples decided it
    assert interval is not None
    assert interval.high - interval.low > 0.05
    assert interval.low <= passed / count <= interval.high
    none_changed = paired_test([(c, c) for c in cases])
    assert none_changed.net_interval is not None
    assert none_changed.net_interval.low < 0 < none_changed.net_interval.high


def test_a_bigger_suite_gives_a_narrower_interval_when_nothing_changed() -> None:
    widths = []
    for count in (1, 2, 5, 20, 200):
        cases = [case(f"c{i}", ["wrong"] * 3) for i in range(count)]
        net = paired_test([(c, c) for c in cases]).net_interval
        assert net is not None
        assert net.low == pytest.approx(-net.high)  # symmetric: no change either way
        widths.append(net.high - net.low)
    assert widths == sorted(widths, reverse=True)
    # n = 1: Wilson's upper bound for 0 of 1 is 79.3%, and Newcombe's interval is plus or minus that.
    assert widths[0] == pytest.approx(2 * 79.345, abs=0.01)


@pytest.mark.parametrize(
    ("both", "improved", "regressed", "neither", "low", "high"),
    [
        # Fagerland, Lydersen & Laake (2014), "Recommended tests and confidence intervals for paired binomial
        # proportions", Statistics in Medicine 33:2850-2875, and their book (2017) chapter 8, the Cavo et al. (2012)
        # table: 59, 6, 16, 80; Newcombe square-and-add: -0.0621 (95% CI -0.1186 to -0.0046).
        (59, 6, 16, 80, -0.1186, -0.0046),
        # The same table seen from the other side: the interval is mirrored.
        (59, 16, 6, 80, 0.0046, 0.1186),
    ],
)
def test_paired_difference_matches_published_values(
    both: int, improved: int, regressed: int, neither: int, low: float, high: float
) -> None:
    interval = paired_difference(both, improved, regressed, neither)
    assert (round(interval.low, 4), round(interval.high, 4)) == (low, high)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.integers(0, 60), min_size=4, max_size=4).filter(lambda cells: sum(cells) > 0))
def test_paired_difference_holds_the_estimate_and_stays_within_bounds(cells: list[int]) -> None:
    both, improved, regressed, neither = cells
    n = sum(cells)
    interval = paired_difference(both, improved, regressed, neither)
    estimate = (improved - regressed) / n
    assert -1.0 <= interval.low <= estimate <= interval.high <= 1.0
    assert interval.high - interval.low > 0  # never a point
    mirrored = paired_difference(both, regressed, improved, neither)
    assert mirrored.low == pytest.approx(-interval.high)
    assert mirrored.high == pytest.approx(-interval.low)


def coverage(count: int, rates: list[float], samples: int, needed: int, trials: int, seed: int) -> tuple[float, float]:
    """How often the accuracy's interval holds the true pass probability of a case drawn from ``rates``.

    Each trial draws ``count`` cases (each with a correct rate from ``rates``), asks each ``samples`` times, and
    decides it by ``needed`` correct samples. Returns (coverage, true pass probability)."""
    rng = random.Random(seed)
    truth = sum(
        sum(math.comb(samples, k) * r**k * (1 - r) ** (samples - k) for k in range(needed, samples + 1)) for r in rates
    ) / len(rates)
    held = 0
    for trial in range(trials):
        cases = []
        for i in range(count):
            rate = rng.choice(rates)
            verdicts = ["correct" if rng.random() < rate else "wrong" for _ in range(samples)]
            passed = sum(v == "correct" for v in verdicts) >= needed
            cases.append(case(f"t{trial}c{i}", verdicts, rule_pass=passed))
        interval = accuracy_interval(cases)
        assert interval is not None
        held += interval.low <= truth <= interval.high
    return held / trials, truth


@pytest.mark.parametrize("count", [5, 20, 60])
def test_with_samples_the_interval_covers_the_true_accuracy(count: int) -> None:
    # Cases of mixed difficulty (some always right, some flaky, some always wrong), 3 samples each, majority rule:
    # the interval over cases holds the true share of passing cases about 95% of the time (Wilson's coverage
    # oscillates around its nominal level with n; Brown, Cai & DasGupta 2001, figure 5).
    held, truth = coverage(count, [1.0, 0.9, 0.6, 0.3, 0.0], samples=3, needed=2, trials=400, seed=count)
    assert 0.2 < truth < 0.8
    assert held >= 0.90, f"coverage {held:.3f} with {count} cases"


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
