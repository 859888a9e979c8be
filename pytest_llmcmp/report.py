"""Text reports of a run: the lines of pytest's terminal summary and a Markdown summary for a PR comment.

Plain string builders (no pytest): the plugin decides where the text goes.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from typing import Any, Literal

from pytest_llmcmp.baseline import Change, Comparison, Gate
from pytest_llmcmp.gates import Decision, PromptDecision, RunStatus
from pytest_llmcmp.results import VERDICTS, CaseResult, RunResults, SampleResult, format_percent
from pytest_llmcmp.stats import format_interval, format_p, run_intervals

__all__ = [
    "MARKDOWN_LIMIT",
    "display_width",
    "escape_markdown",
    "markdown_report",
    "pad",
    "paired_line",
    "terminal_summary",
    "truncate",
]

#: GitHub refuses comments longer than 65536 characters; stay under it with room for a caller's footer.
MARKDOWN_LIMIT = 60_000

# Tag tables wider than this are cut: a tag name is a label, not prose.
_TAG_WIDTH = 28
_PROMPT_WIDTH = 20
_TERMINAL_CHANGES = 10


def display_width(text: str) -> int:
    """Columns ``text`` takes in a terminal: East Asian wide and full-width characters take two."""
    width = 0
    for char in text:
        if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf"):
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


def truncate(text: str, width: int) -> str:
    """Cut ``text`` to at most ``width`` columns, marking the cut with ``…``."""
    if display_width(text) <= width:
        return text
    kept: list[str] = []
    used = 0
    for char in text:
        char_width = display_width(char)
        if used + char_width > width - 1:
            break
        kept.append(char)
        used += char_width
    return "".join(kept) + "…"


def pad(text: str, width: int, align: Literal["left", "right"] = "left") -> str:
    """Pad ``text`` with spaces to ``width`` columns (counting wide characters as two)."""
    gap = " " * max(0, width - display_width(text))
    return text + gap if align == "left" else gap + text


def _table(rows: Sequence[Sequence[str]], aligns: Sequence[Literal["left", "right"]]) -> list[str]:
    widths = [max(display_width(row[column]) for row in rows) for column in range(len(aligns))]
    return [
        "  ".join(pad(cell, width, align) for cell, width, align in zip(row, widths, aligns, strict=True)).rstrip()
        for row in rows
    ]


def _first_left(columns: int) -> list[Literal["left", "right"]]:
    """Alignments of a table whose first column is a label and the rest numbers."""
    aligns: list[Literal["left", "right"]] = ["left"]
    return aligns + ["right"] * (columns - 1)


def _points(before: float | None, after: float | None) -> str:
    if before is None or after is None:
        return ""
    return f"{(after - before) * 100:+.1f}"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _choices(case: CaseResult | None) -> str:
    """The choices of a case's samples, e.g. ``13.8`` or ``13.8, 13.11, (none)``."""
    if case is None:
        return "–"
    if not case.samples:
        return "(no sample)"
    return ", ".join(_choice(sample) for sample in case.samples)


def _choice(sample: SampleResult) -> str:
    if sample.verdict == "error":
        return "(error)"
    if sample.truncated:
        return "(none: cut off)"
    return sample.choice if sample.choice is not None else "(none)"


def truncated_note(results: RunResults) -> str | None:
    """One sentence when answers were cut off by max_tokens before a verdict, with the remedy; else ``None``."""
    count = sum(results.summary()["truncated"].values())
    if not count:
        return None
    max_tokens = results.settings.get("max_tokens")
    now = f" (now {max_tokens})" if max_tokens is not None else ""
    return (
        f"{_plural(count, 'answer')} {'was' if count == 1 else 'were'} cut off by max_tokens before giving a verdict "
        f"(finish_reason length; judged unparsed, reason truncated): raise --llm-max-tokens{now} and record again"
    )


def _header_line(results: RunResults) -> str:
    settings = results.settings
    parts = [f"model {results.model or '?'}"]
    if results.endpoint:
        parts.append(f"at {results.endpoint}")
    detail = []
    if "samples" in settings:
        detail.append(_plural(int(settings["samples"]), "sample") + " per case")
    if "pass_rule" in settings:
        detail.append(f"pass rule {settings['pass_rule']}")
    if "temperature" in settings:
        detail.append(f"temperature {settings['temperature']}")
    line = "llmcmp: " + " ".join(parts)
    return line + ("; " + ", ".join(detail) if detail else "")


def _intervals(results: RunResults) -> dict[str, Any]:
    """The 95% intervals of every accuracy (empty when no case ran: nothing to import numpy for)."""
    return run_intervals(results) if results.cases else {"prompts": {}, "tags": {}, "method": ""}


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
        rows = [["prompt", "passed", "accuracy", "95% CI", *VERDICTS, "flaky"]]
        for name in names:
            counts = summary["prompts"][name]
            verdicts = summary["verdicts"][name]
            rows.append(
                [
                    truncate(name, _PROMPT_WIDTH),
                    f"{counts['passed']}/{counts['total']}",
                    format_percent(counts["accuracy"]),
                    format_interval(intervals["prompts"].get(name)),
                    *(str(verdicts[verdict]) for verdict in VERDICTS),
                    str(counts["flaky"]),
                ]
            )
        lines += _table(rows, _first_left(len(rows[0])))
        lines.append(f"({intervals['method']})")
        lines += _terminal_tags(summary["tags"], names, intervals["tags"])
        note = truncated_note(results)
        if note is not None:
            lines.append(f"llmcmp: {note}")
    decision = status.decision if status is not None else None
    if comparison is not None:
        lines += _terminal_comparison(comparison, decision)
    if decision is not None:
        lines.append(decision.line)
    for gate in gates:
        # The decision (gates.combine) names the failed thresholds; each is listed too, unless that is the line.
        if not gate.ok and (decision is None or decision.line != f"gate failed: {gate.message}"):
            lines.append(f"gate failed: {gate.message}")
    return lines


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


def paired_line(decided: PromptDecision) -> str:
    """One prompt's paired comparison in one line: counts, net change and its interval, the test and p-values."""
    t = decided.test
    interval = ""
    if t.net_interval is not None:
        interval = f", 95% CI {t.net_interval.low:+.1f} to {t.net_interval.high:+.1f} ({t.net_interval.method})"
    counted = "" if t.test == "exact McNemar test" else f" ({t.up} cases up, {t.down} down)"
    return (
        f"    {t.paired} paired cases: {t.improved} improved, {t.regressed} regressed, net {t.net_points:+.1f} "
        f"points{interval}; {t.test}{counted} p = {format_p(t.p_two_sided)} two-sided, "
        f"{format_p(t.p_worse)} for worse"
    )


def _terminal_comparison(comparison: Comparison, decision: Decision | None = None) -> list[str]:
    counts = ", ".join(
        [
            _plural(len(comparison.regressions), "regression"),
            _plural(len(comparison.improvements), "improvement"),
            f"{len(comparison.new)} new",
            f"{len(comparison.removed)} removed",
        ]
    )
    if comparison.not_run:
        counts += f"; {_plural(comparison.not_run, 'baseline case')} not run (not selected), not compared"
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


# Characters that Markdown (and GitHub's math) would interpret inside a table cell or list item.
_MARKDOWN_SPECIAL = {char: "\\" + char for char in "\\`*_[]~$|#"}
_MARKDOWN_SPECIAL.update({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def escape_markdown(text: str, limit: int | None = None) -> str:
    """Make ``text`` show verbatim in one Markdown table cell: no markup, no pipes, no line breaks.

    ``limit`` cuts the text (before escaping) to that many characters, marking the cut with ``…``.
    """
    if limit is not None and len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    escaped = "".join(_MARKDOWN_SPECIAL.get(char, char) for char in text)
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
        facts.append(f"{_plural(regressions, 'regression')} vs {escape_markdown(comparison.label)}")
    facts.append(f"model {escape_markdown(results.model or '?')}")
    lines += [" · ".join(facts), ""]
    decision = run.decision if run is not None else None
    if decision is not None:
        mark = "✅" if decision.ok else "❌"
        lines += [f"{mark} **{escape_markdown(decision.line)}**", ""]
    if run is not None and run.not_recorded:
        lines += [f"⚠️ {escape_markdown(run.recording_line())}", ""]
    if comparison is not None and comparison.not_run:
        lines += [
            f"{_plural(comparison.not_run, 'case')} of {escape_markdown(comparison.label)} not run in this "
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
            cells.append(_delta_cell(*comparison.accuracy.get(name, (None, counts["accuracy"]))))
        cells += [str(summary["verdicts"][name][verdict]) for verdict in VERDICTS]
        cells.append(str(counts["flaky"]))
        lines.append(_row(cells))
    note = truncated_note(results)
    if note is not None:
        lines += ["", f"✂️ {note}."]  # our own words: nothing to escape
    if comparison is not None:
        for name, (before, _) in comparison.accuracy.items():
            if name not in summary["prompts"]:
                lines.append(f"\nPrompt {escape_markdown(name)} is only in the baseline ({format_percent(before)}).")
    lines.append("")
    if intervals["method"]:
        lines += [f"<sub>{escape_markdown(intervals['method'])}</sub>", ""]
    if decision is not None and decision.prompts:
        lines += ["**Paired comparison**", ""]
        lines += [f"- {escape_markdown(paired_line(decided).strip())}" for decided in decision.prompts]
        lines.append("")

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
