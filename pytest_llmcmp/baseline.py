"""Comparing results: a run against its baseline, or two prompts within one run, and the gates on top.

Pure domain code. A case is identified across runs by its id and prompt name (not by the prompt's
hash: editing a prompt and seeing what it broke is the whole point), within one model: a baseline is compared only
with the results of the model it holds (:func:`model_part`); another model's answers are no "before" of this one's.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pytest_llmcmp.results import CaseResult, RunResults, accuracy_of, format_percent
from pytest_llmcmp.words import plural

__all__ = [
    "Change",
    "Comparison",
    "Gate",
    "accuracy_gates",
    "baseline_models",
    "compare",
    "compare_prompts",
    "model_part",
    "not_compared_line",
    "regression_gate",
]

# Accuracies are ratios of small integers; a threshold typed as 0.7 must accept 7/10 exactly.
_TOLERANCE = 1e-9


@dataclass
class Change:
    """A case whose standing differs between two results; ``before`` or ``after`` is ``None`` if absent."""

    id: str
    prompt: str
    before: CaseResult | None
    after: CaseResult | None

    @property
    def case(self) -> CaseResult:
        """The most recent result of the case (``after``, else ``before``)."""
        result = self.after if self.after is not None else self.before
        assert result is not None, "a change has at least one side"
        return result


@dataclass
class Comparison:
    """What changed between a baseline and the current results.

    ``accuracy`` maps a prompt name to ``(baseline accuracy, current accuracy)``; either side is
    ``None`` when that side has no case for the prompt.
    """

    regressions: list[Change]
    improvements: list[Change]
    new: list[Change]
    removed: list[Change]
    accuracy: dict[str, tuple[float | None, float | None]]
    label: str
    unchanged: int = field(default=0)
    #: Every case on both sides, as ``(before, after)``: what the paired statistics are computed on.
    pairs: list[tuple[CaseResult, CaseResult]] = field(default_factory=list)
    #: Cases of the baseline this run did not select (``-k``, a subset of files): not compared, not "removed".
    not_run: int = field(default=0)

    def prompt_change(self, prompt: str, now: float | None) -> tuple[float | None, float | None]:
        """``(before, after)`` accuracy of ``prompt`` for a report's row of that prompt.

        A comparison of several models keys its accuracies ``prompt @ model``; a row of the whole prompt then takes
        the paired accuracy over every model's cases the baseline has (a model new to this run adds new cases, not
        a change). ``(None, now)`` when the baseline has no case of the prompt.
        """
        if prompt in self.accuracy:
            return self.accuracy[prompt]
        pairs = [(old, new) for old, new in self.pairs if new.model and new.prompt == f"{prompt} @ {new.model}"]
        if not pairs:
            return None, now
        return accuracy_of(sum(old.passed for old, _ in pairs), len(pairs)), accuracy_of(
            sum(new.passed for _, new in pairs), len(pairs)
        )

    @property
    def has_changes(self) -> bool:
        """Whether any case changed outcome, appeared or disappeared."""
        return bool(self.regressions or self.improvements or self.new or self.removed)


def _diff(
    before: Mapping[tuple[str, str], CaseResult],
    after: Mapping[tuple[str, str], CaseResult],
    accuracy: dict[str, tuple[float | None, float | None]],
    label: str,
) -> Comparison:
    """Classify every ``(case id, prompt)`` key; the prompt of a change is the one in its key."""
    regressions: list[Change] = []
    improvements: list[Change] = []
    new: list[Change] = []
    removed: list[Change] = []
    pairs: list[tuple[CaseResult, CaseResult]] = []
    unchanged = 0
    for key in sorted(set(before) | set(after)):
        old, current = before.get(key), after.get(key)
        change = Change(id=key[0], prompt=key[1], before=old, after=current)
        if old is None:
            new.append(change)
            continue
        if current is None:
            removed.append(change)
            continue
        pairs.append((old, current))
        if old.passed and not current.passed:
            regressions.append(change)
        elif current.passed and not old.passed:
            improvements.append(change)
        else:
            unchanged += 1
    return Comparison(
        regressions=regressions,
        improvements=improvements,
        new=new,
        removed=removed,
        accuracy=accuracy,
        label=label,
        unchanged=unchanged,
        pairs=pairs,
    )


def baseline_models(baseline: RunResults) -> list[str]:
    """The models a baseline holds results of, sorted: each case's ``model``, else the file's top-level one; ``[]``
    when it names none (a hand-written baseline, which is then any model's)."""
    return sorted({name for case in baseline.cases if (name := case.model or baseline.model) is not None})


def model_part(baseline: RunResults, model: str | None) -> RunResults | None:
    """The part of ``baseline`` that is ``model``'s results, or ``None`` when it holds only other models.

    A baseline that names no model is any model's (all of it). ``model`` is ``None`` when the run's model is not
    known: a baseline of one model is then taken whole, one of several models is nobody's."""
    held = baseline_models(baseline)
    if not held or (model is None and len(held) == 1):
        return baseline
    if model not in held:
        return None
    if held == [model]:
        return baseline
    return baseline.for_model(model)


def not_compared_line(label: str, held: Sequence[str], missing: Sequence[str]) -> str:
    """One line for models of the run that ``label`` (``"baseline base.json"``) holds no results of, and how to
    make a baseline that does."""
    theirs = ", ".join(repr(model) for model in held)
    ours = ", ".join(repr(model) for model in missing)
    which = "this model" if len(missing) == 1 else "these models"
    return (
        f"{label} holds {'model' if len(held) == 1 else 'models'} {theirs}, not {ours}: not compared; to compare "
        f"{which}, write {'its' if len(missing) == 1 else 'their'} baseline with --llm-results PATH (on the main "
        "branch) and pass --llm-baseline PATH"
    )


def _paired_summary(results: RunResults, paired: Collection[tuple[str, str]]) -> dict[str, Any]:
    """Per-prompt counts over the cases in ``paired``; a prompt with no such case counts all of its own."""
    summary: dict[str, Any] = results.summary()["prompts"]
    kept = [case for case in results.cases if case.key in paired]
    if len(kept) == len(results.cases):
        return summary
    narrowed: dict[str, Any] = RunResults(
        results.model, results.endpoint, results.prompts, results.settings, kept
    ).summary()["prompts"]
    return {name: narrowed[name] if narrowed.get(name, {}).get("total") else counts for name, counts in summary.items()}


def compare(
    baseline: RunResults,
    current: RunResults,
    label: str = "baseline",
    selected: Collection[tuple[str, str]] | None = None,
    not_recorded: Collection[tuple[str, str]] = (),
) -> Comparison:
    """Compare ``current`` with ``baseline``, case by case, keyed by ``(case id, prompt)``.

    A regression passed in the baseline and fails now; an improvement is the reverse. ``label`` names
    the baseline in reports, e.g. ``"baseline results-main.json"``. ``selected`` holds the keys this run
    selected when it ran only part of the suite (``-k``, some files): the baseline's other cases are
    counted in ``not_run`` and left out of everything else, accuracies included. Keys in
    ``not_recorded`` (cases that had no recording to replay) are left out on both sides.
    """
    skipped = set(not_recorded)
    kept = [case for case in baseline.cases if case.key not in skipped]
    not_run = 0
    if selected is not None:
        chosen = set(selected)
        not_run = sum(case.key not in chosen for case in kept)
        kept = [case for case in kept if case.key in chosen]
    if len(kept) != len(baseline.cases):
        baseline = RunResults(baseline.model, baseline.endpoint, baseline.prompts, baseline.settings, kept)
    current_kept = [case for case in current.cases if case.key not in skipped]
    if len(current_kept) != len(current.cases):
        current = RunResults(current.model, current.endpoint, current.prompts, current.settings, current_kept)
    before = {case.key: case for case in baseline.cases}
    after = {case.key: case for case in current.cases}
    # The headline change is paired, like the tests: the same cases on both sides. New and removed cases are
    # reported on their own; counting them here would show a drop where nothing regressed.
    paired = before.keys() & after.keys()
    before_summary = _paired_summary(baseline, paired)
    after_summary = _paired_summary(current, paired)
    names = current.prompt_names() + [name for name in baseline.prompt_names() if name not in after_summary]
    accuracy = {
        name: (
            before_summary[name]["accuracy"] if name in before_summary else None,
            after_summary[name]["accuracy"] if name in after_summary else None,
        )
        for name in names
        if selected is None or before_summary.get(name, {}).get("total") or after_summary.get(name, {}).get("total")
    }
    comparison = _diff(before, after, accuracy, label)
    comparison.not_run = not_run
    return comparison


def compare_prompts(
    results: RunResults, old: str, new: str | Sequence[str], not_recorded: Collection[tuple[str, str]] = ()
) -> Comparison:
    """Compare prompts of one run by case id: ``old`` plays the baseline, each prompt in ``new`` the current.

    A change carries the name of the new prompt and, as ``before``, the case's result under ``old``.
    ``accuracy`` maps each new prompt to ``(accuracy of old, accuracy of that prompt)``. A case not recorded
    under either prompt (``not_recorded``) is left out. Raises
    :class:`ValueError` (one sentence) for a prompt the results do not have.
    """
    news = [new] if isinstance(new, str) else list(new)
    known = results.prompt_names()
    for name in [old, *news]:
        if name not in known:
            raise ValueError(f"prompt {name!r} is not in the results (they have {', '.join(known) or 'none'})")
    by_prompt: dict[str, dict[str, CaseResult]] = {name: {} for name in [old, *news]}
    for case in results.cases:
        if case.prompt in by_prompt:
            by_prompt[case.prompt][case.id] = case
    skipped = {case_id for case_id, _ in not_recorded}
    reference = {case_id: case for case_id, case in by_prompt[old].items() if case_id not in skipped}
    before = {(case_id, name): case for name in news for case_id, case in reference.items()}
    after = {
        (case_id, name): case for name in news for case_id, case in by_prompt[name].items() if case_id not in skipped
    }

    def accuracy(cases: Sequence[CaseResult]) -> float | None:
        return accuracy_of(sum(case.passed for case in cases), len(cases))

    accuracies = {
        name: (
            accuracy(list(reference.values())),
            accuracy([case for case_id, case in by_prompt[name].items() if case_id not in skipped]),
        )
        for name in news
    }
    return _diff(before, after, accuracies, f"prompt {old}")


@dataclass
class Gate:
    """One condition the run must meet; ``message`` is one line fit for a terminal or a PR comment."""

    name: str
    ok: bool
    message: str


def _threshold(value: float) -> str:
    """Thresholds as users typed them: ``0.7`` -> ``"70%"``, ``0.725`` -> ``"72.5%"``."""
    return f"{value * 100:.10g}%"


def _accuracy_gate(name: str, subject: str, passed: int, total: int, minimum: float, source: str) -> Gate:
    accuracy = accuracy_of(passed, total)
    assert accuracy is not None
    measured = f"{subject} is {format_percent(accuracy)} ({passed}/{total})"
    if accuracy + _TOLERANCE >= minimum:
        return Gate(name=name, ok=True, message=f"{measured}, meets {source} {_threshold(minimum)}")
    gap = (minimum - accuracy) * 100
    return Gate(name=name, ok=False, message=f"{measured}, {gap:.1f} points under {source} {_threshold(minimum)}")


def accuracy_gates(
    results: RunResults,
    min_accuracy: float,
    per_prompt: dict[str, float] | None = None,
    per_tag: dict[str, float] | None = None,
    source: str = "--llm-min-accuracy",
) -> list[Gate]:
    """One gate per prompt (and per prompt and tag in ``per_tag``): its accuracy must reach the minimum.

    Accuracies are fractions (0.7 for 70%). ``per_prompt`` overrides ``min_accuracy`` for the prompts
    it names. A prompt without cases in this run is not gated (``-k`` may have deselected them); a
    ``per_tag`` tag no case carries gives a passing gate that says it was not checked. ``source`` names
    the setting in messages as the user set it (``--llm-min-accuracy``, or the ini key ``llm_min_accuracy``).
    """
    summary = results.summary()
    gates: list[Gate] = []
    for name, counts in summary["prompts"].items():
        if not counts["total"]:
            continue
        if per_prompt is not None and name in per_prompt:
            minimum, given = per_prompt[name], f"the minimum for prompt '{name}'"
        else:
            minimum, given = min_accuracy, source
        gates.append(
            _accuracy_gate(
                f"accuracy[{name}]",
                f"accuracy of prompt '{name}'",
                counts["passed"],
                counts["total"],
                minimum,
                given,
            )
        )
    for tag, minimum in (per_tag or {}).items():
        by_prompt = summary["tags"].get(tag, {})
        if not by_prompt:
            gates.append(
                Gate(
                    name=f"accuracy[tag={tag}]",
                    ok=True,
                    message=f"no case is tagged '{tag}' in this run; its minimum {_threshold(minimum)} was not checked",
                )
            )
            continue
        for name, counts in by_prompt.items():
            gates.append(
                _accuracy_gate(
                    f"accuracy[{name}, tag={tag}]",
                    f"accuracy of prompt '{name}' on tag '{tag}'",
                    counts["passed"],
                    counts["total"],
                    minimum,
                    f"the minimum for tag '{tag}'",
                )
            )
    return gates


def regression_gate(comparison: Comparison, shown: int = 5) -> Gate:
    """Fails when any case went from pass to fail; the message names the first ``shown`` of them."""
    count = len(comparison.regressions)
    if not count:
        return Gate(name="regressions", ok=True, message=f"no regressions vs {comparison.label}")
    names = [f"{change.id} [{change.prompt}]" for change in comparison.regressions[:shown]]
    more = f" and {count - shown} more" if count > shown else ""
    return Gate(
        name="regressions",
        ok=False,
        message=f"{plural(count, 'regression')} vs {comparison.label} (passed before, fail now): "
        f"{', '.join(names)}{more}",
    )
