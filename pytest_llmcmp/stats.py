"""The statistics behind every accuracy and every comparison: intervals, paired tests, net change.

Pure domain code, closed forms only: the Wilson interval with the normal quantile from the standard library
(:class:`statistics.NormalDist`), Newcombe's paired interval built on it, and the exact binomial test summing
exact binomial coefficients (:func:`math.comb`, integers, no rounding). scipy gives the same numbers (the tests
check published values), but importing ``scipy.stats`` took 0.6-1.6 s at the end of every run and its install
216 MB, for a few formulas.

- An accuracy is a share of cases passed, and the case is the unit: with ``--llm-samples N`` a case's samples
  decide whether it passed (the pass rule), and its 95% interval is still Wilson's score interval over cases
  (see :func:`accuracy_interval` for why no second stage is added for the samples).
- A comparison pairs the same cases on both sides. With one sample the exact McNemar test is the
  binomial test on the discordant pairs (improved vs regressed); with several samples the same exact
  test is the sign test on the per-case pass rates (share of correct samples). The two-sided p-value
  is reported; the one-sided one ("the new side is worse") drives the ``significant`` gate. The net
  change carries Newcombe's paired score interval over the cases (:func:`paired_difference`).

Score intervals, not bootstraps: a percentile bootstrap has nothing to draw from when every case agrees (all
failed, or no case changed) or when there is one case, and said "0.0–0.0%" and "+0.0 to +0.0" there, a
certainty the data do not give. Everything is deterministic: the same results give the same numbers.
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
    "Interval",
    "PairedTest",
    "accuracy_interval",
    "exact_binomial_p",
    "format_interval",
    "format_p",
    "interval_method",
    "paired_difference",
    "paired_test",
    "run_intervals",
    "wilson",
]

#: The confidence level of every interval the reports show.
CONFIDENCE = 0.95


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


def _correct(case: CaseResult) -> int:
    return sum(sample.verdict == "correct" for sample in case.samples)


def _multi(cases: Sequence[CaseResult]) -> bool:
    return any(len(case.samples) > 1 for case in cases)


def interval_method(samples: int) -> str:
    """How the reports' accuracy intervals are made, in words, for a run of ``samples`` per case."""
    if samples <= 1:
        return "95% CI: Wilson score interval over cases"
    return f"95% CI: Wilson score interval over cases, each passed or failed by its {samples} samples"


def accuracy_interval(cases: Sequence[CaseResult]) -> Interval | None:
    """The 95% interval of the share of ``cases`` that passed (``None`` with no cases).

    The case is the unit, with one sample or several: each case passed or failed (its samples decided it by the
    pass rule), and cases drawn independently give independent pass/fail outcomes, each with the population's
    pass probability; a case's own sampling noise is part of that probability (the law of total variance), not
    an extra term. Resampling cases with their samples intact (Davison & Hinkley 1997, section 3.8, strategy 1)
    would therefore bootstrap a binomial share, for which Wilson's score interval is the better-behaved interval
    (Brown, Cai & DasGupta 2001): it never collapses to a point, at 1 case or when every case's samples agree,
    as a percentile bootstrap does (its resamples are then all alike: "0.0–0.0%").
    """
    if not cases:
        return None
    return wilson(sum(case.passed for case in cases), len(cases))


def run_intervals(results: RunResults) -> dict[str, object]:
    """Every accuracy's 95% interval, shaped like the summary: overall, per prompt, per tag and prompt.

    What the results JSON holds under ``statistics`` and the reports show beside each accuracy.
    """
    samples = max((len(case.samples) for case in results.cases), default=1)
    by_prompt: dict[str, list[CaseResult]] = {name: [] for name in results.prompt_names()}
    by_tag: dict[str, dict[str, list[CaseResult]]] = {}
    for case in results.cases:
        by_prompt.setdefault(case.prompt, []).append(case)
        for tag in dict.fromkeys(case.tags):
            by_tag.setdefault(tag, {}).setdefault(case.prompt, []).append(case)

    def json_of(cases: Sequence[CaseResult]) -> list[float] | None:
        interval = accuracy_interval(cases)
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


def paired_test(pairs: Sequence[tuple[CaseResult, CaseResult]]) -> PairedTest:
    """Compare the same cases before and after (each pair: the case's two results, decided by the pass rule)."""
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
    both = sum(before.passed and after.passed for before, after in pairs)
    net_interval = None
    if n:
        share = paired_difference(both, improved, regressed, n - both - improved - regressed)
        net_interval = Interval(share.low * 100, share.high * 100, share.method)
    return PairedTest(
        paired=n,
        improved=improved,
        regressed=regressed,
        up=up,
        down=down,
        p_two_sided=exact_binomial_p(down, up + down),
        p_worse=exact_binomial_p(down, up + down, "greater"),
        net_points=net_points,
        net_interval=net_interval,
        test=test,
    )


@lru_cache(maxsize=4096)
def paired_difference(
    both: int, improved: int, regressed: int, neither: int, confidence: float = CONFIDENCE
) -> Interval:
    """The interval of the change in the share passed, after minus before, on paired cases: ``both`` passed on
    both sides, ``improved`` only after, ``regressed`` only before, ``neither`` on neither side.

    Newcombe's hybrid score interval for paired proportions (Newcombe 1998, "Improved confidence intervals for
    the difference between binomial proportions based on paired data", Statistics in Medicine 17:2635-2650,
    method 10; the "square-and-add" interval Fagerland, Lydersen & Laake 2014 recommend): each side's Wilson
    interval, combined with the correlation of the two sides. It is the paired counterpart of the accuracy's
    Wilson interval: the case is the unit, and it keeps a width when no case changed or there are few cases,
    where a bootstrap of the differences has only zeros to draw ("+0.0 to +0.0").
    """
    n = both + improved + regressed + neither
    if n <= 0:
        raise ValueError("no paired cases")
    after, before = both + improved, both + regressed
    after_ci, before_ci = wilson(after, n, confidence), wilson(before, n, confidence)
    assert after_ci is not None
    assert before_ci is not None
    p1, p2 = after / n, before / n
    margins = after * (n - after) * before * (n - before)
    phi = 0.0
    if margins:
        # The correlation of the two sides, moved towards 0 by n/2 when positive (Newcombe's method 10).
        a = both * neither - improved * regressed
        phi = (a - n / 2) / math.sqrt(margins) if a > n / 2 else min(a, 0) / math.sqrt(margins)
    d1_low, d1_high = p1 - after_ci.low, after_ci.high - p1
    d2_low, d2_high = p2 - before_ci.low, before_ci.high - p2
    low = (p1 - p2) - math.sqrt(max(0.0, d1_low**2 - 2 * phi * d1_low * d2_high + d2_high**2))
    high = (p1 - p2) + math.sqrt(max(0.0, d2_low**2 - 2 * phi * d2_low * d1_high + d1_high**2))
    return Interval(max(-1.0, low), min(1.0, high), "Newcombe's paired score interval")


def format_p(p: float) -> str:
    """A p-value as reports show it: ``0.017``, ``0.0004``, ``< 0.0001``, ``1``."""
    if p >= 0.9995:
        return "1"
    if p >= 0.001:
        return f"{p:.3f}"
    if p >= 0.0001:
        return f"{p:.4f}"
    return "< 0.0001"
