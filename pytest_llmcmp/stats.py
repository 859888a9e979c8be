"""The statistics behind every accuracy and every comparison: intervals, paired tests, net change.

Pure domain code. The Wilson interval is its closed form with the normal quantile from the standard
library (:class:`statistics.NormalDist`); the exact binomial test sums exact binomial coefficients
(:func:`math.comb`, integers, no rounding); the bootstraps draw with numpy, imported inside the functions
that need them. scipy gives the same numbers (the tests check published values), but importing
``scipy.stats`` took 0.6-1.6 s at the end of every run and its install 216 MB, for two formulas.

- An accuracy is a share of cases passed. With one sample per case its 95% interval is Wilson's score
  interval. With several samples per case the cases are still the unit, but a case's outcome is itself
  uncertain (a case with 3 of 5 correct samples could have gone either way), so the interval is a
  seeded two-stage bootstrap: resample the cases, then each case's samples, and apply the pass rule (the
  percentile interval of that, re-centred on the observed accuracy).
- A comparison pairs the same cases on both sides. With one sample the exact McNemar test is the
  binomial test on the discordant pairs (improved vs regressed); with several samples the same exact
  test is the sign test on the per-case pass rates (share of correct samples). The two-sided p-value
  is reported; the one-sided one ("the new side is worse") drives the ``significant`` gate. The net
  change carries a seeded paired bootstrap interval over cases (two-stage with samples).

Everything is deterministic: the same results give the same numbers, on every machine.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from statistics import NormalDist
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .results import CaseResult, RunResults

__all__ = [
    "CONFIDENCE",
    "RESAMPLES",
    "Interval",
    "PairedTest",
    "accuracy_interval",
    "exact_binomial_p",
    "format_interval",
    "format_p",
    "interval_method",
    "paired_test",
    "pass_probability",
    "run_intervals",
    "wilson",
]

#: The confidence level of every interval the reports show.
CONFIDENCE = 0.95
#: Bootstrap resamples, and the seed that makes them the same on every run.
RESAMPLES = 2000
SEED = 20240613


@dataclass(frozen=True)
class Interval:
    """A confidence interval of a share (0-1) or of a change in points; ``method`` names how it was made."""

    low: float
    high: float
    method: str

    def to_json(self) -> list[float]:
        return [round(self.low, 6), round(self.high, 6)]


@lru_cache(maxsize=4096)
def wilson(passed: int, total: int, confidence: float = CONFIDENCE) -> Interval | None:
    """Wilson's score interval of ``passed / total`` (``None`` with no cases): the closed form (Wilson 1927;
    Newcombe 1998, method 3), without continuity correction."""
    if total <= 0:
        return None
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    share = passed / total
    scale = 1 + z * z / total
    centre = (share + z * z / (2 * total)) / scale
    half = z * math.sqrt(share * (1 - share) / total + z * z / (4 * total * total)) / scale
    low = 0.0 if passed == 0 else max(0.0, centre - half)  # exactly 0 and 1 at the ends, not rounding noise
    high = 1.0 if passed == total else min(1.0, centre + half)
    return Interval(low, high, "Wilson")


def exact_binomial_p(successes: int, trials: int, alternative: str = "two-sided") -> float:
    """The exact binomial test of ``successes`` out of ``trials`` against one half (1.0 with no trials).

    ``alternative`` is ``"two-sided"``, ``"greater"`` (more successes than half) or ``"less"``. Under one half
    the distribution is symmetric, so the two-sided p-value is twice the smaller tail (at most 1), which is
    what the "as likely or less likely" definition gives too.
    """
    if trials <= 0:
        return 1.0
    if alternative not in ("two-sided", "greater", "less"):
        raise ValueError(f"alternative {alternative!r} is not two-sided, greater or less")
    whole = 1 << trials

    def at_most(k: int) -> int:  # the number of outcomes with at most k successes (exact integers)
        return sum(math.comb(trials, i) for i in range(k + 1))

    less = at_most(successes)
    greater = whole - at_most(successes - 1) if successes > 0 else whole
    if alternative == "less":
        return less / whole
    if alternative == "greater":
        return greater / whole
    return min(1.0, 2 * min(less, greater) / whole)


def pass_probability(correct: int, samples: int, needed: int) -> float:
    """How likely a case passes again when its ``samples`` are drawn anew from its observed correct rate.

    ``needed`` correct samples out of ``samples`` make it pass (the pass rule). Binomial tail, exact.
    """
    if samples <= 0:
        return 0.0
    rate = correct / samples
    return sum(math.comb(samples, k) * rate**k * (1 - rate) ** (samples - k) for k in range(needed, samples + 1))


def _needed(rule: str, samples: int) -> int:
    from .results import PassRule

    try:
        return PassRule.parse(rule).needed(samples)
    except ValueError:
        return samples


def _correct(case: CaseResult) -> int:
    return sum(sample.verdict == "correct" for sample in case.samples)


def _multi(cases: Sequence[CaseResult]) -> bool:
    return any(len(case.samples) > 1 for case in cases)


def interval_method(samples: int) -> str:
    """How the reports' accuracy intervals are made, in words, for a run of ``samples`` per case."""
    if samples <= 1:
        return "95% CI: Wilson score interval over cases"
    return f"95% CI: bootstrap over cases and their samples ({RESAMPLES} resamples, seeded)"


def accuracy_interval(cases: Sequence[CaseResult], rule: str = "all") -> Interval | None:
    """The 95% interval of the share of ``cases`` that passed (``None`` with no cases)."""
    if not cases:
        return None
    passed = sum(case.passed for case in cases)
    if not _multi(cases):
        return wilson(passed, len(cases))
    rows = tuple((_correct(case), len(case.samples), _needed(rule, len(case.samples))) for case in cases)
    return _bootstrap_accuracy(rows)


@lru_cache(maxsize=1024)
def _bootstrap_accuracy(rows: tuple[tuple[int, int, int], ...]) -> Interval:
    import numpy as np

    rng = np.random.default_rng(SEED)
    probability = np.array([pass_probability(*row) for row in rows])
    n = len(rows)
    picked = rng.integers(0, n, size=(RESAMPLES, n))
    passes = rng.random((RESAMPLES, n)) < probability[picked]
    shares = passes.mean(axis=1)
    # Redrawing a case's samples moves a borderline case (3 of 5 under majority) towards failing more often than
    # passing: the resampled shares are centred on the expected share of a rerun, not on what was observed. The
    # interval keeps their spread, re-centred on the observed share (a bias-corrected percentile interval).
    observed = float(np.mean([correct >= needed for correct, _, needed in rows]))
    shift = observed - float(shares.mean())
    low, high = np.quantile(shares, [(1 - CONFIDENCE) / 2, (1 + CONFIDENCE) / 2]) + shift
    return Interval(max(0.0, float(low)), min(1.0, float(high)), "bootstrap over cases")


def run_intervals(results: RunResults) -> dict[str, object]:
    """Every accuracy's 95% interval, shaped like the summary: overall, per prompt, per tag and prompt.

    What the results JSON holds under ``statistics`` and the reports show beside each accuracy.
    """
    rule = str(results.settings.get("pass_rule", "all"))
    samples = max((len(case.samples) for case in results.cases), default=1)
    by_prompt: dict[str, list[CaseResult]] = {name: [] for name in results.prompt_names()}
    by_tag: dict[str, dict[str, list[CaseResult]]] = {}
    for case in results.cases:
        by_prompt.setdefault(case.prompt, []).append(case)
        for tag in dict.fromkeys(case.tags):
            by_tag.setdefault(tag, {}).setdefault(case.prompt, []).append(case)

    def json_of(cases: Sequence[CaseResult]) -> list[float] | None:
        interval = accuracy_interval(cases, rule)
        return interval.to_json() if interval is not None else None

    return {
        "confidence": CONFIDENCE,
        "method": interval_method(samples),
        "accuracy": json_of(results.cases),
        "prompts": {name: json_of(cases) for name, cases in by_prompt.items()},
        "tags": {
            tag: {name: json_of(by_tag[tag][name]) for name in by_prompt if name in by_tag[tag]}
            for tag in sorted(by_tag)
        },
    }


def format_interval(interval: Sequence[float] | None, percent: bool = True) -> str:
    """``[0.067, 0.152]`` -> ``"6.7–15.2%"``; ``None`` -> ``"–"``."""
    if interval is None:
        return "–"
    low, high = interval
    return f"{low * 100:.1f}–{high * 100:.1f}{'%' if percent else ''}"


@dataclass(frozen=True)
class PairedTest:
    """The paired comparison of one prompt's cases on two sides (before = baseline, after = now).

    ``improved``/``regressed`` count outcome flips; ``up``/``down`` are what the test counts (the same as
    the flips with one sample; cases whose share of correct samples rose or fell with several).
    ``p_two_sided`` is the exact test of ``up`` vs ``down``; ``p_worse`` its one-sided version for "the
    new side is worse". ``net_points`` is the change of accuracy on the paired cases, in points.
    """

    paired: int
    improved: int
    regressed: int
    up: int
    down: int
    p_two_sided: float
    p_worse: float
    net_points: float
    net_interval: Interval | None
    test: str

    @property
    def net(self) -> int:
        """Improvements minus regressions, in cases."""
        return self.improved - self.regressed

    def to_json(self) -> dict[str, object]:
        return {
            "paired": self.paired,
            "improved": self.improved,
            "regressed": self.regressed,
            "net": self.net,
            "net_points": round(self.net_points, 6),
            "net_interval": self.net_interval.to_json() if self.net_interval is not None else None,
            "up": self.up,
            "down": self.down,
            "test": self.test,
            "p_two_sided": self.p_two_sided,
            "p_worse": self.p_worse,
        }


def paired_test(pairs: Sequence[tuple[CaseResult, CaseResult]], rule: str = "all") -> PairedTest:
    """Compare the same cases before and after (each pair: the case's two results)."""
    improved = sum(after.passed and not before.passed for before, after in pairs)
    regressed = sum(before.passed and not after.passed for before, after in pairs)
    multi = any(_multi(pair) for pair in pairs)
    if multi:

        def rate(case: CaseResult) -> float:
            return _correct(case) / len(case.samples) if case.samples else 0.0

        up = sum(rate(after) > rate(before) for before, after in pairs)
        down = sum(rate(after) < rate(before) for before, after in pairs)
        test = "exact sign test on per-case pass rates"
    else:
        up, down = improved, regressed
        test = "exact McNemar test"
    n = len(pairs)
    net_points = (improved - regressed) / n * 100 if n else 0.0
    return PairedTest(
        paired=n,
        improved=improved,
        regressed=regressed,
        up=up,
        down=down,
        p_two_sided=exact_binomial_p(down, up + down),
        p_worse=exact_binomial_p(down, up + down, "greater"),
        net_points=net_points,
        net_interval=_net_interval(pairs, rule, multi) if n else None,
        test=test,
    )


def _net_interval(pairs: Sequence[tuple[CaseResult, CaseResult]], rule: str, multi: bool) -> Interval:
    if multi:
        rows = tuple(
            (
                (_correct(before), len(before.samples), _needed(rule, len(before.samples))),
                (_correct(after), len(after.samples), _needed(rule, len(after.samples))),
            )
            for before, after in pairs
        )
        return _bootstrap_net_samples(rows)
    return _bootstrap_net(tuple(int(after.passed) - int(before.passed) for before, after in pairs))


@lru_cache(maxsize=256)
def _bootstrap_net(differences: tuple[int, ...]) -> Interval:
    import numpy as np

    rng = np.random.default_rng(SEED)
    values = np.array(differences, dtype=float)
    n = len(values)
    means = values[rng.integers(0, n, size=(RESAMPLES, n))].mean(axis=1) * 100
    low, high = np.quantile(means, [(1 - CONFIDENCE) / 2, (1 + CONFIDENCE) / 2])
    return Interval(float(low), float(high), "paired bootstrap over cases")


@lru_cache(maxsize=256)
def _bootstrap_net_samples(rows: tuple[tuple[tuple[int, int, int], tuple[int, int, int]], ...]) -> Interval:
    import numpy as np

    rng = np.random.default_rng(SEED)
    before = np.array([pass_probability(*row[0]) for row in rows])
    after = np.array([pass_probability(*row[1]) for row in rows])
    n = len(rows)
    picked = rng.integers(0, n, size=(RESAMPLES, n))
    was = rng.random((RESAMPLES, n)) < before[picked]
    now = rng.random((RESAMPLES, n)) < after[picked]
    means = (now.astype(float) - was.astype(float)).mean(axis=1) * 100
    # Re-centred on the observed net change, as in _bootstrap_accuracy.
    observed = float(np.mean([(a[0] >= a[2]) - (b[0] >= b[2]) for b, a in rows])) * 100
    shift = observed - float(means.mean())
    low, high = np.quantile(means, [(1 - CONFIDENCE) / 2, (1 + CONFIDENCE) / 2]) + shift
    return Interval(float(low), float(high), "paired bootstrap over cases and their samples")


def format_p(p: float) -> str:
    """A p-value as reports show it: ``0.017``, ``0.0004``, ``< 0.0001``, ``1``."""
    if p >= 0.9995:
        return "1"
    if p >= 0.001:
        return f"{p:.3f}"
    if p >= 0.0001:
        return f"{p:.4f}"
    return "< 0.0001"
