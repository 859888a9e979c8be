"""The session's end, decided: the comparison (``--llm-baseline``, ``--llm-baseline-prompt``), the accuracy thresholds
(``--llm-min-accuracy``) and the one decision they make together, and what that adds to the results JSON.

The face's wiring of the domain's :mod:`~pytest_llmcmp.baseline` and :mod:`~pytest_llmcmp.gates`: the session hands
in plain values (the results, what was selected and what had no recording) and gets one :class:`Conclusion`; the
thresholds' usage errors are said here, before anything runs.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from .baseline import (
    Change,
    Comparison,
    Gate,
    accuracy_gates,
    baseline_models,
    compare,
    compare_prompts,
    model_part,
    not_compared_line,
)
from .config import parse_scoped_thresholds, parse_thresholds
from .gates import Decision, GatePolicy, RunStatus, combine, decide
from .results import CaseResult, RunResults
from .settings import Settings

#: ``--llm-min-accuracy`` parsed: the overall minimum, per prompt, per tag.
Thresholds = tuple[float | None, dict[str, float], dict[str, float]]
#: ``MODEL:`` scoped ``--llm-min-accuracy`` values, by model (``small:0.8``, ``small:langgpt=0.9``,
#: ``small:tag:trap=0.5``).
Scoped = dict[str, Thresholds]
#: An item as the session keeps it: (case id, prompt name, critical or why, model).
_Item = tuple[str, str, Any, str | None]


def scoped_thresholds_of(settings: Settings, prompts: Sequence[str]) -> Scoped:
    """The ``MODEL:`` scoped thresholds; a prompt they name must be one of the run's."""
    scoped = parse_scoped_thresholds(settings.min_accuracy, settings.origin("min_accuracy"))
    for model, (_, per_prompt, _) in scoped.items():
        unknown = [name for name in per_prompt if name not in prompts]
        if unknown:
            raise pytest.UsageError(
                f"{settings.origin('min_accuracy')}: no prompt named {', '.join(map(repr, unknown))} in this "
                f"run (its prompts: {', '.join(prompts)}), in the minimum for model {model!r}"
            )
    return scoped


def check_threshold_models(settings: Settings, scoped: Scoped, models: Sequence[str]) -> None:
    """A ``MODEL:`` threshold must name a model of the run: it would check nothing otherwise."""
    unknown = [model for model in scoped if model not in models]
    if unknown and models:
        raise pytest.UsageError(
            f"{settings.origin('min_accuracy')}: no model {', '.join(map(repr, unknown))} in this run (its models: "
            f"{', '.join(models)}); a minimum for one model is written 'MODEL:X'"
        )


def _for_model(thresholds: Thresholds, scoped: Scoped, model: str) -> Thresholds:
    """The thresholds one model must meet: the run's, with its ``MODEL:`` values over them."""
    overall, per_prompt, per_tag = thresholds
    if model not in scoped:
        return thresholds
    own_overall, own_prompt, own_tag = scoped[model]
    return (
        own_overall if own_overall is not None else overall,
        {**per_prompt, **own_prompt},
        {**per_tag, **own_tag},
    )


def model_prompt(prompt: str, model: str) -> str:
    """How a comparison of several models names one model's prompt: ``langgpt @ internlm2-chat-1_8b``."""
    return f"{prompt} @ {model}"


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
    #: With several models: each model's own state ("passed", "failed", "undecided"), by model.
    models: dict[str, str] = field(default_factory=dict)
    #: With ``--llm-baseline``: the models it holds, those of this run it was compared with and those it was not
    #: (it holds no results of them), and the one line saying so (``None`` when every model was compared).
    baseline: dict[str, Any] | None = None

    @property
    def baseline_note(self) -> str | None:
        """The line saying which models of the run the baseline holds no results of, or ``None``."""
        return self.baseline.get("line") if self.baseline is not None else None

    @property
    def failed(self) -> bool:
        """Whether a gate fails the run (a threshold under its minimum, or the decision)."""
        return any(not gate.ok for gate in self.gates) or (self.decision is not None and not self.decision.ok)


@dataclass(frozen=True)
class Ending:
    """What the session hands in to be decided, in plain values.

    ``selected``: the selected items as (case id, prompt name, critical, model); ``not_recorded``: the items
    without a recording as (case id, prompt name, why, model); ``full_run``: whether the arguments asked for the
    whole suite (else only the selected keys of the baseline are compared); ``interrupted``: why the run stopped
    early, if it did."""

    baseline: RunResults | None
    baseline_prompt: str | None
    prompts: Sequence[str]
    selected: Sequence[_Item]
    full_run: bool
    not_recorded: Sequence[_Item]
    record_command: str | None
    interrupted: str | None


def conclude(
    results: RunResults, settings: Settings, thresholds: Thresholds, ending: Ending, scoped: Scoped | None = None
) -> Conclusion:
    """Compare, gate and decide the run. With several models, each model is compared with its own part of the
    baseline and gated on its own (:func:`_conclude_models`)."""
    scoped = scoped or {}
    models = results.model_names()
    if len(models) > 1:
        return _conclude_models(results, settings, thresholds, scoped, models, ending)
    if models:  # one model: its MODEL: thresholds apply
        thresholds = _for_model(thresholds, scoped, models[0])
    missing = {(item[0], item[1]) for item in ending.not_recorded}
    comparison: Comparison | None = None
    baseline, baseline_prompt = ending.baseline, ending.baseline_prompt
    note: dict[str, Any] | None = None
    if baseline_prompt is not None:  # the more specific question wins over an ini file's baseline
        others = [name for name in ending.prompts if name != baseline_prompt]
        comparison = compare_prompts(results, baseline_prompt, others, not_recorded=missing)
    elif baseline is not None:
        # Another model's answers are no "before" of this one's: only the baseline's part of this model is compared.
        model = models[0] if models else next((item[3] for item in ending.selected if item[3]), None)
        part = model_part(baseline, model)
        if part is not None:
            keys = None if ending.full_run else {(item[0], item[1]) for item in ending.selected}
            comparison = compare(
                part, results, label=f"baseline {settings.baseline}", selected=keys, not_recorded=missing
            )
        absent = [] if part is not None else [model]
        note = _baseline_models(baseline, settings, [model] if model is not None else [], absent)
    decision = _decide(comparison, settings, ending)
    gates = accuracy_thresholds(results, settings, thresholds)
    # One decision: the comparison and the thresholds together.
    return Conclusion(comparison, gates, combine(decision, gates), baseline=note)


def _baseline_models(
    baseline: RunResults, settings: Settings, models: Sequence[str | None], missing: Sequence[str | None]
) -> dict[str, Any]:
    """What the results JSON says of the baseline's models (``baseline``: additive), with the line for the models of
    the run it holds no results of."""
    held = baseline_models(baseline)
    absent = [model or "(unknown)" for model in missing]
    info: dict[str, Any] = {
        "path": settings.baseline,
        "models": held,
        "compared": [model for model in models if model not in missing],
        "not_compared": absent,
    }
    if absent:
        info["line"] = not_compared_line(f"baseline {settings.baseline}", held, absent)
    return info


def _decide(comparison: Comparison | None, settings: Settings, ending: Ending) -> Decision | None:
    """The comparison's decision under the run's gate policy (``None`` without a comparison)."""
    if comparison is None:
        return None
    return decide(
        comparison,
        GatePolicy(settings.gate, settings.alpha, settings.max_drop, settings.max_regressions),
        critical={item[0] for item in ending.selected if item[2]},
        rule=settings.pass_rule,
        not_recorded=len(ending.not_recorded),
        record_command=ending.record_command,
        interrupted=ending.interrupted,
    )


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
    not_recorded: Sequence[_Item],
) -> dict[str, Any]:
    """What this run adds to the results JSON (schema 1, additive): completeness, statistics, the decision."""
    extra: dict[str, Any] = status.to_json()
    multi = len(results.model_names()) > 1
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
    if conclusion.baseline is not None:
        extra["baseline"] = dict(conclusion.baseline)
    if conclusion.decision is not None:
        extra["gate"] = conclusion.decision.to_json()
        if conclusion.models:
            extra["gate"]["models"] = dict(conclusion.models)
    extra["not_recorded"] = sorted(
        [
            {"id": item[0], "prompt": item[1], "reason": item[2], **({"model": item[3]} if multi else {})}
            for item in not_recorded
        ],
        key=lambda entry: (entry["id"], entry["prompt"], entry.get("model") or ""),
    )
    return extra


def _relabel(cases: Iterable[CaseResult], model_of: Mapping[int, str]) -> list[CaseResult]:
    return [dataclasses.replace(case, prompt=model_prompt(case.prompt, model_of[id(case)])) for case in cases]


def _conclude_models(
    results: RunResults,
    settings: Settings,
    thresholds: Thresholds,
    scoped: Scoped,
    models: Sequence[str],
    ending: Ending,
) -> Conclusion:
    """Several models: each is compared with the baseline's cases of the same model (a one-model baseline counts as
    its model's) or its prompts with its own reference prompt, and gated by its own thresholds. The comparison
    names each (prompt, model) ``prompt @ model`` (:func:`model_prompt`), so the paired test, the reports and the
    decision are per model and prompt; the run fails when any model fails, and :attr:`Conclusion.models` says
    which."""
    prompts, baseline, baseline_prompt = ending.prompts, ending.baseline, ending.baseline_prompt
    note: dict[str, Any] | None = None
    own = {id(case): case.model or "" for case in results.cases}
    infos = {
        model_prompt(prompt, model): results.prompts[prompt]
        for model in models
        for prompt in prompts
        if prompt in results.prompts
    }
    current = RunResults(None, results.endpoint, infos, results.settings, _relabel(results.cases, own))
    missing = {(item[0], model_prompt(item[1], item[3] or "")) for item in ending.not_recorded}
    comparison: Comparison | None = None
    if baseline_prompt is not None:
        parts = []
        for model in models:
            others = [model_prompt(name, model) for name in prompts if name != baseline_prompt]
            part = RunResults(None, None, {}, {}, [c for c in current.cases if c.model == model])
            part.prompts = {name: info for name, info in current.prompts.items() if name.endswith(f" @ {model}")}
            if part.cases:
                parts.append(compare_prompts(part, model_prompt(baseline_prompt, model), others, not_recorded=missing))
        comparison = _merged(parts, f"prompt {baseline_prompt}") if parts else None
    elif baseline is not None:
        # By model: each model of the run with the baseline's results of that model (a case of the baseline that
        # names none is its top-level model's); a model the baseline holds no results of is not compared at all.
        of_model = {model: model_part(baseline, model) for model in models}
        before = [
            dataclasses.replace(case, prompt=model_prompt(case.prompt, model), model=model)
            for model, part in of_model.items()
            if part is not None
            for case in part.cases
        ]
        absent = [model for model, part in of_model.items() if part is None]
        note = _baseline_models(baseline, settings, models, absent)
        if len(absent) < len(models):
            if absent:
                current = RunResults(
                    None,
                    current.endpoint,
                    {
                        model_prompt(prompt, model): info
                        for model in models
                        if model not in absent
                        for prompt, info in results.prompts.items()
                        if prompt in prompts
                    },
                    current.settings,
                    [case for case in current.cases if case.model not in absent],
                )
            selected = ending.selected
            keys = None if ending.full_run else {(item[0], model_prompt(item[1], item[3] or "")) for item in selected}
            comparison = compare(
                RunResults(None, None, {}, baseline.settings, before),
                current,
                label=f"baseline {settings.baseline}",
                selected=keys,
                not_recorded=missing,
            )
    decision = _decide(comparison, settings, ending)
    gates: list[Gate] = []
    by_model: dict[str, list[Gate]] = {}
    for model in models:
        own_gates = accuracy_thresholds(results.for_model(model), settings, _for_model(thresholds, scoped, model))
        own_gates = [
            Gate(name=f"{model}: {gate.name}", ok=gate.ok, message=f"model {model!r}: {gate.message}")
            for gate in own_gates
        ]
        by_model[model] = own_gates
        gates += own_gates
    combined = combine(decision, gates)
    states: dict[str, str] = {}
    for model in models:
        state = "passed"
        if any(not gate.ok for gate in by_model[model]):
            state = "failed"
        if decision is not None:
            mine = [p for p in decision.prompts if p.prompt.endswith(f" @ {model}")]
            critical = [c for c in decision.critical if c.prompt.endswith(f" @ {model}")]
            if decision.state == "undecided":
                state = "undecided"
            elif (decision.mode != "report" and any(p.failure for p in mine)) or critical:
                state = "failed"
        states[model] = state
    return Conclusion(comparison, gates, combined, states, note)


def _merged(parts: Sequence[Comparison], label: str) -> Comparison:
    """Several models' comparisons of their prompts (each named ``prompt @ model``) as one."""
    regressions: list[Change] = []
    improvements: list[Change] = []
    new: list[Change] = []
    removed: list[Change] = []
    pairs: list[tuple[CaseResult, CaseResult]] = []
    accuracy: dict[str, tuple[float | None, float | None]] = {}
    unchanged = not_run = 0
    for part in parts:
        regressions += part.regressions
        improvements += part.improvements
        new += part.new
        removed += part.removed
        pairs += part.pairs
        accuracy.update(part.accuracy)
        unchanged += part.unchanged
        not_run += part.not_run
    return Comparison(regressions, improvements, new, removed, accuracy, label, unchanged, pairs, not_run)
