"""The Markdown summary of a run, for a pull-request comment.

Plain string builders (no pytest): the plugin decides where the text goes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from pytest_llmcmp.baseline import Change, Comparison, Gate
from pytest_llmcmp.gates import RunStatus
from pytest_llmcmp.results import VERDICTS, CaseResult, RunResults, format_percent
from pytest_llmcmp.stats import format_interval
from pytest_llmcmp.terminal import printable

from .text import _choices, _intervals, _points, paired_line, plural, truncated_note

__all__ = ["MARKDOWN_LIMIT", "escape_markdown", "markdown_report"]

#: GitHub refuses comments longer than 65536 characters; stay under it with room for a caller's footer.
MARKDOWN_LIMIT = 60_000

# What Markdown (and GitHub's math) would interpret inside a table cell or list item: markup characters, HTML (tags,
# comments, entities), and what GitHub turns into a link or a notification on its own: a URL scheme ("https:", "mailto:"
# and "xmpp:" are autolinked), "www.", an e-mail address or an @mention. A backslash breaks the first two; "@" gets a
# zero-width space after it (as Renovate does for release notes), since GitHub mentions the text a backslash leaves.
_MARKDOWN_ACTIVE = re.compile(r"[\\`*_\[\]~$|#&<>]|(?<=[A-Za-z]):(?=\S)|(?<=[Ww]{3})\.|@(?=\w)")
_MARKDOWN_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "@": "@&#8203;"}


def escape_markdown(text: str, limit: int | None = None) -> str:
    """Make ``text`` show verbatim in one Markdown table cell: no markup, no links, no pipes, no line breaks.

    Control, bidi and invisible characters are shown as escapes (:func:`~pytest_llmcmp.terminal.printable`, as in the
    terminal). ``limit`` cuts the text (as shown, before Markdown escaping) to that many characters, marking the cut
    with ``…``.
    """
    text = printable(text.replace("\r\n", "\n").replace("\r", "\n"))
    if limit is not None and len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    escaped = _MARKDOWN_ACTIVE.sub(lambda m: _MARKDOWN_ESCAPES.get(m.group(), "\\" + m.group()), text)
    return escaped.replace("\n", "<br>")


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _delta_cell(before: float | None, after: float | None) -> str:
    if before is None and after is None:
        return "–"
    delta = _points(before, after)
    text = f"{format_percent(before)} → {format_percent(after)}"
    return f"{text} ({delta})" if delta else text


def _choice_cell(case: CaseResult | None) -> str:
    if case is None:
        return "–"
    mark = "✅" if case.passed else "❌"
    return f"{mark} {escape_markdown(_choices(case), 120)}"


def _answer_cell(case: CaseResult | None, limit: int) -> str:
    if case is None or not case.samples:
        return "–"
    sample = next((s for s in case.samples if s.verdict != "correct"), case.samples[0])
    text = sample.answer if sample.answer is not None else f"(error: {sample.error or 'no answer'})"
    return escape_markdown(text, limit)


def _section(title: str, count: int, body: list[str], collapse_over: int) -> list[str]:
    """A ``###`` section; long bodies go inside a collapsed ``<details>`` so the comment stays scannable."""
    if count > collapse_over:
        return [
            f"### {title} ({count})",
            "",
            f"<details><summary>Show {count}</summary>",
            "",
            *body,
            "",
            "</details>",
            "",
        ]
    return [f"### {title} ({count})", "", *body, ""]


def _limited(items: Sequence[Any], limit: int, render: Callable[[Any], str], more: Callable[[int], str]) -> list[str]:
    lines = [render(item) for item in items[:limit]]
    if len(items) > limit:
        lines.append(more(len(items) - limit))
    return lines


def markdown_report(
    results: RunResults,
    comparison: Comparison | None,
    gates: list[Gate],
    max_chars: int = MARKDOWN_LIMIT,
    status: RunStatus | None = None,
) -> str:
    """A Markdown summary fit for a GitHub pull-request comment.

    Headline accuracy per prompt (with the change against the baseline), gates, a tag-by-prompt
    table, regressions and improvements with question, expected and extracted answers, new and
    removed cases, and flaky cases. Long lists are collapsed and cut (``… and N more``) so the text
    stays under ``max_chars`` characters.
    """
    rows, answer_limit = 200, 200
    while True:
        text = _markdown(results, comparison, gates, rows, answer_limit, status)
        if len(text) <= max_chars or rows == 0:
            break
        rows //= 2
        answer_limit = max(40, answer_limit // 2)
    if len(text) > max_chars:
        # Only a pathological run gets here (thousands of prompts or tags): cut at a line boundary.
        cut = text.rfind("\n", 0, max_chars - 40)
        text = text[: max(cut, 0)] + "\n\n… (report truncated)\n"
    return text


def _markdown(
    results: RunResults,
    comparison: Comparison | None,
    gates: list[Gate],
    rows: int,
    answer_limit: int,
    run: RunStatus | None = None,
) -> str:
    summary = results.summary()
    names = list(summary["prompts"])
    failed_gates = [gate for gate in gates if not gate.ok]
    regressions = len(comparison.regressions) if comparison is not None else 0
    # The headline says what the exit status says: known failures under a gate do not make it red.
    ok = run.ok if run is not None else not (failed_gates or summary["failed"])
    status = "✅" if ok else "❌"
    lines = ["## pytest-llmcmp results", ""]
    if run is not None and run.interrupted is not None:
        lines += [f"⚠️ **{escape_markdown(run.headline())}**", ""]
        status = "⚠️"
    overall = format_percent(summary["accuracy"])
    facts = [f"{status} {summary['passed']}/{summary['total']} cases passed ({overall})"]
    if comparison is not None:
        facts.append(f"{plural(regressions, 'regression')} vs {escape_markdown(comparison.label)}")
    model = _model_fact(results)
    facts += [model] if model is not None else []
    lines += [" · ".join(facts), ""]
    decision = run.decision if run is not None else None
    if decision is not None:
        mark = "✅" if decision.ok else "❌"
        lines += [f"{mark} **{escape_markdown(decision.line)}**", ""]
    if run is not None and run.not_recorded:
        lines += [f"⚠️ {escape_markdown(run.recording_line())}", ""]
        if run.partial_models is not None:
            lines += [f"⚠️ {escape_markdown(run.partial_models)}", ""]
    if run is not None and run.baseline_note is not None:
        lines += [f"⚠️ {escape_markdown(run.baseline_note)}", ""]
    if comparison is not None and comparison.not_run:
        lines += [
            f"{plural(comparison.not_run, 'case')} of {escape_markdown(comparison.label)} not run in this "
            "subset of the suite: not compared.",
            "",
        ]
    intervals = _intervals(results)

    with_baseline = comparison is not None
    header = ["prompt", "accuracy", "95% CI", "passed"]
    header += ["vs " + escape_markdown(comparison.label)] if comparison is not None else []
    header += [*VERDICTS, "flaky"]
    lines += [_row(header), _row([":--", *["--:"] * (len(header) - 1)])]
    for name in names:
        counts = summary["prompts"][name]
        cells = [escape_markdown(name), f"**{format_percent(counts['accuracy'])}**"]
        cells.append(format_interval(intervals["prompts"].get(name)))
        cells.append(f"{counts['passed']}/{counts['total']}")
        if with_baseline:
            assert comparison is not None
            cells.append(_delta_cell(*comparison.prompt_change(name, counts["accuracy"])))
        cells += [str(summary["verdicts"][name][verdict]) for verdict in VERDICTS]
        cells.append(str(counts["flaky"]))
        lines.append(_row(cells))
    models = results.model_names()
    if len(models) > 1:  # our own words and numbers: nothing to escape
        lines += ["", f"All {len(models)} models together; each model's accuracy per prompt is in the table below."]
    note = truncated_note(results)
    if note is not None:
        lines += ["", f"✂️ {note}."]  # our own words: nothing to escape
    if comparison is not None:
        for name, (before, after) in comparison.accuracy.items():
            if name not in summary["prompts"] and after is None:
                lines.append(f"\nPrompt {escape_markdown(name)} is only in the baseline ({format_percent(before)}).")
    lines.append("")
    if intervals["method"]:
        lines += [f"<sub>{escape_markdown(intervals['method'])}</sub>", ""]
    lines += _models_section(results)
    if decision is not None and decision.prompts:
        lines += ["**Paired comparison**", ""]
        lines += [
            f"- {escape_markdown(decided.prompt)}: {escape_markdown(paired_line(decided).strip())}"
            for decided in decision.prompts
        ]
        lines.append("")

    lines += cost_section(results)
    if gates:
        body = [f"- {'✅' if gate.ok else '❌'} {escape_markdown(gate.message)}" for gate in gates]
        lines += _section("Gates", len(gates), body, collapse_over=20)

    if summary["tags"]:
        tag_rows = [
            _row(["tag", *(escape_markdown(name) for name in names)]),
            _row([":--", *["--:"] * len(names)]),
        ]
        tag_items = list(summary["tags"].items())
        tag_rows += _limited(
            tag_items,
            rows,
            lambda item: _row(
                [
                    escape_markdown(item[0], 60),
                    *(
                        f"{format_percent(item[1][name]['accuracy'])} ({item[1][name]['passed']}/"
                        f"{item[1][name]['total']}; "
                        f"{format_interval(intervals['tags'].get(item[0], {}).get(name))})"
                        if name in item[1]
                        else "–"
                        for name in names
                    ),
                ]
            ),
            lambda more: f"\n… and {more} more tags",
        )
        lines += _section("Accuracy by tag", len(tag_items), tag_rows, collapse_over=15)

    if comparison is not None:
        lines += _change_section("Regressions", comparison.regressions, rows, answer_limit)
        lines += _change_section("Improvements", comparison.improvements, rows, answer_limit)
        for title, changes in (("New cases", comparison.new), ("Removed cases", comparison.removed)):
            if changes:
                body = _limited(
                    changes,
                    rows,
                    lambda change: (
                        f"- {escape_markdown(change.id)} [{escape_markdown(change.prompt)}]: "
                        f"{escape_markdown(change.case.question or ' vs '.join(change.case.numbers), 120)} "
                        f"({'pass' if change.case.passed else 'fail'})"
                    ),
                    lambda more: f"- … and {more} more",
                )
                lines += _section(title, len(changes), body, collapse_over=10)

    flaky = [case for case in results.sorted_cases() if case.flaky]
    if flaky:
        body = [_row(["case", "prompt", "question", "expected", "choices"]), _row([":--"] * 5)]
        body += _limited(
            flaky,
            rows,
            lambda case: _row(
                [
                    escape_markdown(case.id, 80),
                    escape_markdown(case.prompt, 40),
                    escape_markdown(case.question, 160),
                    escape_markdown(case.expected, 60),
                    _choice_cell(case),
                ]
            ),
            lambda more: f"\n… and {more} more",
        )
        lines += _section("Flaky cases", len(flaky), body, collapse_over=10)
    return "\n".join(lines).rstrip("\n") + "\n"


def _model_fact(results: RunResults) -> str | None:
    """``model X``, or ``models X, Y`` for a run of several; ``None`` when no case ran to name one."""
    models = results.model_names()
    if results.model is None and len(models) > 1:
        return "models " + ", ".join(escape_markdown(model) for model in models)
    model = results.model or (models[0] if models else None)
    return None if model is None else f"model {escape_markdown(model)}"


def _models_section(results: RunResults) -> list[str]:
    """Several models: the models x prompts matrix and where a prompt helps one model and hurts another."""
    from .models import markdown_lines

    return markdown_lines(results)


def cost_section(results: RunResults) -> list[str]:
    """ "What the answers cost": tokens per answer, latency median and p95, cut-off answers, per prompt and model."""
    from ..costs import FIGURES, any_cost, cost_rows, latency_notes

    rows = cost_rows(results)
    if not any_cost(rows):
        return []
    body = [_row(["prompt", "model", *FIGURES]), _row([":--", ":--", *["--:"] * len(FIGURES)])]
    body += [_row([escape_markdown(r.prompt, 60), escape_markdown(r.model, 60), *r.figures()]) for r in rows]
    body += [line for note in latency_notes(results, rows) for line in ("", escape_markdown(note) + ".")]
    return _section("What the answers cost", len(rows), body, collapse_over=10)


def _change_section(title: str, changes: list[Change], rows: int, answer_limit: int) -> list[str]:
    if not changes:
        return []
    body = [
        _row(["case", "prompt", "question", "expected", "before", "now", "answer now"]),
        _row([":--"] * 7),
    ]
    body += _limited(
        changes,
        rows,
        lambda change: _row(
            [
                escape_markdown(change.id, 80),
                escape_markdown(change.prompt, 40),
                escape_markdown(change.case.question or " vs ".join(change.case.numbers), 160),
                escape_markdown(change.case.expected, 60),
                _choice_cell(change.before),
                _choice_cell(change.after),
                _answer_cell(change.after, answer_limit),
            ]
        ),
        lambda more: f"\n… and {more} more",
    )
    return _section(title, len(changes), body, collapse_over=10)
