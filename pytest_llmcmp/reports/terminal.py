"""The lines of pytest's terminal summary (plain strings: the session decides where they go)."""

from __future__ import annotations

from typing import Any, Literal

from pytest_llmcmp.baseline import Comparison, Gate
from pytest_llmcmp.gates import Decision, RunStatus
from pytest_llmcmp.results import VERDICTS, RunResults, format_percent
from pytest_llmcmp.stats import format_interval

from .text import (
    _PROMPT_WIDTH,
    _TAG_WIDTH,
    _TERMINAL_CHANGES,
    _choices,
    _first_left,
    _header_line,
    _intervals,
    _points,
    _table,
    paired_line,
    plural,
    truncate,
    truncated_note,
)


def terminal_summary(
    results: RunResults, comparison: Comparison | None, gates: list[Gate], status: RunStatus | None = None
) -> list[str]:
    """Compact lines for pytest's terminal summary.

    Accuracy per prompt with its 95% interval, verdict counts and flaky cases, a tag-by-prompt accuracy
    table (columns aligned for CJK tags), the paired change against the baseline, the gate's decision in
    one line, and every failed gate.
    """
    summary = results.summary()
    lines = [_header_line(results)]
    if status is not None and status.interrupted is not None:
        lines.append(status.headline())
    names = list(summary["prompts"])
    if not results.cases:
        lines.append("no llmcmp case ran")
    else:
        intervals = _intervals(results)
        lines += _prompt_table(results, summary, intervals)
        lines.append(f"({intervals['method']})")
        lines += _terminal_tags(summary["tags"], names, intervals["tags"])
        lines += _terminal_models(results)
        note = truncated_note(results, summary)
        if note is not None:
            lines.append(f"llmcmp: {note}")
        lines += cost_lines(results)
    decision = status.decision if status is not None else None
    if comparison is not None:
        lines += _terminal_comparison(comparison, decision)
    if status is not None and status.baseline_note is not None:
        lines.append(status.baseline_note)
    if decision is not None:
        lines.append(decision.line)
    for gate in gates:
        # The decision (gates.combine) names the failed thresholds; each is listed too, unless that is the line.
        if not gate.ok and (decision is None or decision.line != f"gate failed: {gate.message}"):
            lines.append(f"gate failed: {gate.message}")
    return lines


def _prompt_table(results: RunResults, summary: dict[str, Any], intervals: dict[str, Any]) -> list[str]:
    """Accuracy and verdict counts per prompt; with several models, per model and prompt (a ``model`` column): a
    row pooling the models would hide the one that fails behind the one that passes."""
    models = results.model_names()
    several = len(models) > 1
    header = ["prompt", *(["model"] if several else []), "passed", "accuracy", "95% CI", *VERDICTS, "flaky"]
    rows = [header]
    parts = [(model, results.for_model(model)) for model in models] if several else [(None, results)]
    for model, part in parts:
        part_summary = summary if model is None else part.summary()
        part_intervals = intervals if model is None else _intervals(part)
        for name in part_summary["prompts"]:
            counts = part_summary["prompts"][name]
            verdicts = part_summary["verdicts"][name]
            rows.append(
                [
                    truncate(name, _PROMPT_WIDTH),
                    *([truncate(model, _PROMPT_WIDTH)] if model is not None else []),
                    f"{counts['passed']}/{counts['total']}",
                    format_percent(counts["accuracy"]),
                    format_interval(part_intervals["prompts"].get(name)),
                    *(str(verdicts[verdict]) for verdict in VERDICTS),
                    str(counts["flaky"]),
                ]
            )
    aligns = _first_left(len(header))
    if several:
        aligns[1] = "left"
    return _table(rows, aligns)


def _terminal_models(results: RunResults) -> list[str]:
    """Several models: the models x prompts matrix and where a prompt helps one model and hurts another."""
    from .models import terminal_lines

    return terminal_lines(results)


def cost_lines(results: RunResults) -> list[str]:
    """What the answers cost, per prompt and model: mean tokens per answer (completion, prompt), latency median
    and p95, answers cut off by max_tokens; nothing when no answer has a cost (an old recording, a server that does
    not count)."""
    from pytest_llmcmp.costs import FIGURES, any_cost, cost_rows, latency_notes

    rows = cost_rows(results)
    notes = [f"llmcmp: {note}" for note in latency_notes(results, rows)]
    if not any_cost(rows):
        return notes
    figures = [name.replace("latency p95", "p95") for name in FIGURES]
    table = [["cost per answer", "model", *figures]]
    table += [[truncate(r.prompt, _PROMPT_WIDTH), truncate(r.model, _PROMPT_WIDTH), *r.figures()] for r in rows]
    aligns: list[Literal["left", "right"]] = ["left", "left", "right", "right", "right", "right", "right", "right"]
    return _table(table, aligns) + notes


def _terminal_tags(
    tags: dict[str, dict[str, dict[str, Any]]], names: list[str], intervals: dict[str, dict[str, Any]]
) -> list[str]:
    if not tags:
        return []
    header = ["accuracy by tag (%) (95% CI)", *(truncate(name, _PROMPT_WIDTH) for name in names)]
    rows = [header]
    for tag, by_prompt in tags.items():
        cells = [truncate(tag, _TAG_WIDTH)]
        for name in names:
            counts = by_prompt.get(name)
            interval = intervals.get(tag, {}).get(name)
            if counts is None:
                cells.append("–")
            else:
                cells.append(f"{counts['accuracy'] * 100:.1f} ({format_interval(interval, percent=False)})")
        rows.append(cells)
    return _table(rows, _first_left(len(names) + 1))


def _terminal_comparison(comparison: Comparison, decision: Decision | None = None) -> list[str]:
    counts = ", ".join(
        [
            plural(len(comparison.regressions), "regression"),
            plural(len(comparison.improvements), "improvement"),
            f"{len(comparison.new)} new",
            f"{len(comparison.removed)} removed",
        ]
    )
    if comparison.not_run:
        counts += f"; {plural(comparison.not_run, 'baseline case')} not run (not selected), not compared"
    lines = [f"{comparison.label}: {counts}"]
    tests = {decided.prompt: decided for decided in decision.prompts} if decision is not None else {}
    for name, (before, after) in comparison.accuracy.items():
        if before is None and after is None:
            lines.append(f"  {name}: not compared (none of its cases ran with a recording)")
            continue
        delta = _points(before, after)
        lines.append(
            f"  {name}: {format_percent(before)} -> {format_percent(after)}" + (f" ({delta} points)" if delta else "")
        )
        if name in tests:
            lines.append(paired_line(tests[name]))
    for title, changes in (("regression", comparison.regressions), ("improvement", comparison.improvements)):
        for change in changes[:_TERMINAL_CHANGES]:
            lines.append(
                f"  {title} {change.id} [{change.prompt}]: expected {change.case.expected}, "
                f"chose {_choices(change.after)} (was {_choices(change.before)})"
            )
        if len(changes) > _TERMINAL_CHANGES:
            lines.append(f"  … and {len(changes) - _TERMINAL_CHANGES} more {title}s")
    return lines
