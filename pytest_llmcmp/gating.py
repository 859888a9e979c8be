"""The session's end, decided: the comparison (``--llm-baseline``, ``--llm-baseline-prompt``), the accuracy thresholds
(``--llm-min-accuracy``) and the one decision they make together, and what that adds to the results JSON.

The face's wiring of the domain's :mod:`~pytest_llmcmp.baseline` and :mod:`~pytest_llmcmp.gates`: the session hands
in plain values (the results, what was selected and what had no recording) and gets one :class:`Conclusion`; the
thresholds' usage errors are said here, before anything runs.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from .baseline import Comparison, Gate, accuracy_gates, compare, compare_prompts
from .config import parse_thresholds
from .gates import Decision, GatePolicy, RunStatus, combine, decide
from .results import RunResults
from .settings import Settings

#: ``--llm-min-accuracy`` parsed: the overall minimum, per prompt, per tag.
Thresholds = tuple[float | None, dict[str, float], dict[str, float]]


def thresholds_of(settings: Settings, prompts: Sequence[str]) -> Thresholds:
    """``--llm-min-accuracy``, parsed and checked against the run's prompts: a threshold naming a prompt this run
    does not have would check nothing, so it is a usage error, not a green run."""
    thresholds = parse_thresholds(settings.min_accuracy, settings.origin("min_accuracy"))
    unknown = [name for name in thresholds[1] if name not in prompts]
    if unknown:
        raise pytest.UsageError(
            f"{settings.origin('min_accuracy')}: no prompt named {', '.join(map(repr, unknown))} in this "
            f"run (its prompts: {', '.join(prompts)}); per-tag minimums are written 'tag:NAME=X'"
        )
    return thresholds


def check_tags(settings: Settings, thresholds: Thresholds, tags: Iterable[str] | None) -> None:
    """Every tag a threshold or ``--llm-must-pass`` names must be carried by a collected case (``tags``: those of
    every collected case, before ``-k``; ``None`` when no case was collected)."""
    wanted = [(tag, settings.origin("min_accuracy")) for tag in thresholds[2]]
    wanted += [(tag, settings.origin("must_pass")) for tag in settings.must_pass]
    if not wanted or tags is None:
        return
    known = sorted(set(tags))
    for tag, origin in wanted:
        if tag not in known:
            close = difflib.get_close_matches(tag, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise pytest.UsageError(
                f"{origin}: no collected case is tagged {tag!r}{hint} "
                f"(its tags: {', '.join(known[:40])}{' …' if len(known) > 40 else ''})"
            )


def baseline_prompt_of(settings: Settings, prompts: Sequence[str]) -> str | None:
    """The prompt of ``--llm-baseline-prompt`` (a name, or a prompt file's path), checked against the run's."""
    spec = settings.baseline_prompt
    if spec is None:
        return None
    from pathlib import Path

    name = Path(spec).stem if spec.endswith((".md", ".txt")) or "/" in spec else spec
    if name not in prompts:
        raise pytest.UsageError(
            f"--llm-baseline-prompt: '{name}' is not one of this run's prompts ({', '.join(prompts)}); "
            "add it with --llm-prompt"
        )
    if len(prompts) < 2:
        raise pytest.UsageError("--llm-baseline-prompt needs at least one other --llm-prompt to compare with")
    return name


@dataclass
class Conclusion:
    """What the session's end decided: the comparison (if any), the thresholds' gates, the one decision."""

    comparison: Comparison | None = None
    gates: list[Gate] = field(default_factory=list)
    decision: Decision | None = None

    @property
    def failed(self) -> bool:
        """Whether a gate fails the run (a threshold under its minimum, or the decision)."""
        return any(not gate.ok for gate in self.gates) or (self.decision is not None and not self.decision.ok)


def conclude(
    results: RunResults,
    settings: Settings,
    thresholds: Thresholds,
    *,
    baseline: RunResults | None,
    baseline_prompt: str | None,
    prompts: Sequence[str],
    selected: Sequence[tuple[str, str, bool]],
    full_run: bool,
    not_recorded: Sequence[tuple[str, str, str]],
    record_command: str | None,
    interrupted: str | None,
) -> Conclusion:
    """Compare, gate and decide the run.

    ``selected``: the selected items as (case id, prompt name, critical); ``not_recorded``: the items without a
    recording as (case id, prompt name, why); ``full_run``: whether the arguments asked for the whole suite (else
    only the selected keys of the baseline are compared)."""
    missing = {(case_id, prompt) for case_id, prompt, _ in not_recorded}
    comparison: Comparison | None = None
    if baseline_prompt is not None:  # the more specific question wins over an ini file's baseline
        others = [name for name in prompts if name != baseline_prompt]
        comparison = compare_prompts(results, baseline_prompt, others, not_recorded=missing)
    elif baseline is not None:
        keys = None if full_run else {(case_id, prompt) for case_id, prompt, _ in selected}
        comparison = compare(
            baseline, results, label=f"baseline {settings.baseline}", selected=keys, not_recorded=missing
        )
    decision = None
    if comparison is not None:
        decision = decide(
            comparison,
            GatePolicy(settings.gate, settings.alpha, settings.max_drop, settings.max_regressions),
            critical={case_id for case_id, _, is_critical in selected if is_critical},
            rule=settings.pass_rule,
            not_recorded=len(not_recorded),
            record_command=record_command,
            interrupted=interrupted,
        )
    gates = accuracy_thresholds(results, settings, thresholds)
    return Conclusion(comparison, gates, combine(decision, gates))  # one decision: comparison and thresholds


def accuracy_thresholds(results: RunResults, settings: Settings, thresholds: Thresholds) -> list[Gate]:
    """The gates of ``--llm-min-accuracy`` on this run's results (none when it is not given)."""
    overall, per_prompt, per_tag = thresholds
    if overall is None and not per_prompt and not per_tag:
        return []
    return accuracy_gates(
        results,
        overall if overall is not None else 0.0,
        per_prompt,
        per_tag,
        source=settings.origin("min_accuracy"),
    )


def results_extra(
    results: RunResults,
    status: RunStatus,
    conclusion: Conclusion,
    not_recorded: Sequence[tuple[str, str, str]],
) -> dict[str, Any]:
    """What this run adds to the results JSON (schema 1, additive): completeness, statistics, the decision."""
    extra: dict[str, Any] = status.to_json()
    if results.cases:
        from .stats import run_intervals

        extra["statistics"] = run_intervals(results)
    comparison = conclusion.comparison
    if comparison is not None:
        extra["comparison"] = {
            "label": comparison.label,
            "regressions": len(comparison.regressions),
            "improvements": len(comparison.improvements),
            "new": len(comparison.new),
            "removed": len(comparison.removed),
            "not_run": comparison.not_run,
        }
    if conclusion.decision is not None:
        extra["gate"] = conclusion.decision.to_json()
    extra["not_recorded"] = sorted(
        [{"id": case_id, "prompt": prompt, "reason": why} for case_id, prompt, why in not_recorded],
        key=lambda entry: (entry["id"], entry["prompt"]),
    )
    return extra
