"""The HTML report: one self-contained file to browse every case of a run.

Everything is inline (CSS, JavaScript, the data as JSON, the chart as SVG) and a Content Security
Policy forbids any network access, so the file can be attached to a CI run and opened anywhere.
The browsing logic lives in ``report.js`` and the styles in ``report.css`` beside this module;
both are read and inlined when the report is built.
"""

from __future__ import annotations

import html
import json
import re
from functools import cache
from importlib import resources
from typing import Any

from pytest_llmcmp.baseline import Comparison
from pytest_llmcmp.gates import RunStatus
from pytest_llmcmp.reports.text import paired_line, truncated_note
from pytest_llmcmp.results import VERDICTS, RunResults, format_percent
from pytest_llmcmp.stats import format_interval, run_intervals
from pytest_llmcmp.terminal import printable
from pytest_llmcmp.words import plural

__all__ = ["PROMPT_COLORS", "accuracy_chart", "embed_json", "html_report", "lang_attribute", "status_mark"]

#: Colours of the prompts, in order, in the chart and next to prompt names (colour-blind safe: Okabe-Ito).
PROMPT_COLORS = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442", "#000000")

# Nothing may be fetched: the report must open the same offline, from a CI artifact, years later.
_CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"

# Characters that could end the <script> element or break JavaScript parsing when inside JSON text.
_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


# The scripts whose glyphs browsers choose by language (Han is shared by Chinese and Japanese: kana or hangul decide).
_SCRIPT_LANGS = (
    (re.compile("[\u3040-\u30ff\u31f0-\u31ff]"), "ja"),
    (re.compile("[\u1100-\u11ff\u3130-\u318f\uac00-\ud7af]"), "ko"),
    (re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]"), "zh"),
)


def lang_attribute(text: str) -> str:
    """`` lang="zh"`` (or ``ja``, ``ko``) for an element holding ``text`` written in that script, else nothing.

    The page's own words are English (``<html lang="en">``); what users and models wrote carries its own language,
    so that browsers draw it with the right glyph forms and fonts (report.js does the same for the cases)."""
    return next((f' lang="{lang}"' for pattern, lang in _SCRIPT_LANGS if pattern.search(text)), "")


def escape(text: str) -> str:
    """``text`` for HTML text or a quoted attribute: markup escaped, control and bidi characters shown as escapes."""
    return html.escape(printable(text))


def _visible(value: Any) -> Any:
    """The report's data as the page shows it: every text (keys too) with :func:`printable`'s escapes."""
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, dict):
        return {_visible(key): _visible(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_visible(item) for item in value]
    return value


@cache
def _asset(name: str) -> str:
    return resources.files("pytest_llmcmp.reports").joinpath(name).read_text(encoding="utf-8")


def embed_json(value: Any) -> str:
    """JSON text that is safe inside ``<script type="application/json">``: no ``</script>``, no ``<!--``."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return "".join(
        # A lone surrogate (an answer cut mid-character) could not be written as UTF-8; an escape can.
        f"\\u{ord(char):04x}" if "\ud800" <= char <= "\udfff" else _JSON_ESCAPES.get(char, char)
        for char in text
    )


def _color(index: int) -> str:
    return PROMPT_COLORS[index % len(PROMPT_COLORS)]


def accuracy_chart(results: RunResults) -> str:
    """An inline SVG bar chart: accuracy of each prompt on all cases and on each tag.

    Each bar is a ``rect.bar`` carrying ``data-tag``, ``data-prompt`` and ``data-accuracy`` and a
    ``<title>`` tooltip with the counts.
    """
    summary = results.summary()
    names = list(summary["prompts"])
    intervals: dict[str, Any] = run_intervals(results) if results.cases else {"prompts": {}, "tags": {}}
    bounds: dict[str, dict[str, Any]] = {"all cases": intervals["prompts"], **intervals["tags"]}
    groups: list[tuple[str, dict[str, dict[str, Any]]]] = [("all cases", summary["prompts"])]
    groups += list(summary["tags"].items())
    label_width, bar_width, bar_height, gap = 190, 460, 14, 10
    legend_height = 26
    width = label_width + bar_width + 70
    group_height = max(1, len(names)) * bar_height + gap
    height = legend_height + len(groups) * group_height + 20
    parts = [
        f'<svg id="chart" xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" aria-label="accuracy per tag and prompt">'
    ]
    x = label_width
    for index, name in enumerate(names):
        parts.append(
            f'<rect class="legend" x="{x}" y="6" width="12" height="12" fill="{_color(index)}"></rect>'
            f'<text x="{x + 16}" y="16" class="legend-label"{lang_attribute(name)}>{escape(name)}</text>'
        )
        x += 24 + 7 * min(len(name), 24)
    for group_index, (tag, by_prompt) in enumerate(groups):
        top = legend_height + group_index * group_height
        middle = top + len(names) * bar_height / 2 + 4
        short = tag if len(tag) <= 26 else tag[:25] + "…"
        parts.append(
            f'<text class="tag-label" x="{label_width - 8}" y="{middle:.1f}" text-anchor="end"{lang_attribute(tag)}>'
            f"<title>{escape(tag)}</title>{escape(short)}</text>"
        )
        for index, name in enumerate(names):
            counts = by_prompt.get(name)
            if counts is None or counts["accuracy"] is None:
                continue
            y = top + index * bar_height
            length = counts["accuracy"] * bar_width
            tip = (
                f"{tag} · {name}: {format_percent(counts['accuracy'])} ({counts['passed']}/{counts['total']}; "
                f"95% CI {format_interval(bounds.get(tag, {}).get(name))})"
            )
            parts.append(
                f'<rect class="bar" x="{label_width}" y="{y}" width="{length:.1f}" height="{bar_height - 2}" '
                f'fill="{_color(index)}" data-tag="{escape(tag)}" data-prompt="{escape(name)}" '
                f'data-accuracy="{counts["accuracy"]:.6f}"><title>{escape(tip)}</title></rect>'
                f'<text class="bar-value" x="{label_width + length + 4:.1f}" y="{y + bar_height - 4}">'
                f"{format_percent(counts['accuracy'])}</text>"
            )
    parts.append(
        f'<line x1="{label_width}" y1="{legend_height - 2}" x2="{label_width}" y2="{height - 14}" class="axis"></line>'
    )
    parts.append("</svg>")
    return "".join(parts)


def _summary_table(results: RunResults, comparison: Comparison | None) -> str:
    summary = results.summary()
    intervals: dict[str, Any] = run_intervals(results)["prompts"] if results.cases else {}  # type: ignore[assignment]
    method = str(run_intervals(results)["method"]) if results.cases else ""
    head = ["prompt", "accuracy", "95% CI", "passed", *VERDICTS, "flaky"]
    if comparison is not None:
        head.insert(4, f"vs {comparison.label}")
    rows = ["<table class='summary'><thead><tr>" + "".join(f"<th>{escape(h)}</th>" for h in head) + "</tr></thead>"]
    rows.append("<tbody>")
    for index, (name, counts) in enumerate(summary["prompts"].items()):
        info = results.prompts.get(name)
        where = f"{info.path or ''} {(info.sha256 or '')[:12]}".strip() if info is not None else ""
        cells = [
            f'<span class="swatch" style="background:{_color(index)}"></span>'
            f"<span{lang_attribute(name)}>{escape(name)}</span>"
            + (f' <small title="{escape(where)}">{escape(where)}</small>' if where else ""),
            format_percent(counts["accuracy"]),
            format_interval(intervals.get(name)),
            f"{counts['passed']}/{counts['total']}",
            *(str(summary["verdicts"][name][verdict]) for verdict in VERDICTS),
            str(counts["flaky"]),
        ]
        if comparison is not None:
            before, after = comparison.prompt_change(name, counts["accuracy"])
            delta = f" ({(after - before) * 100:+.1f})" if before is not None and after is not None else ""
            cells.insert(4, f"{format_percent(before)} → {format_percent(after)}{delta}")
        rows.append("<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>")
    rows.append("</tbody></table>")
    if method:
        rows.append(f'<p class="ci-method">{escape(method)}</p>')
    return "".join(rows)


def _comparison_section(comparison: Comparison | None, status: RunStatus | None = None) -> str:
    if comparison is None:
        return ""
    decision = status.decision if status is not None else None
    paired = "".join(
        f'<li class="paired">{escape(decided.prompt)}: {escape(paired_line(decided).strip())}</li>'
        for decided in (decision.prompts if decision is not None else [])
    )
    not_run = (
        f"<p>{plural(comparison.not_run, 'case')} of the baseline {'was' if comparison.not_run == 1 else 'were'} "
        "not run (not selected): not compared.</p>"
        if comparison.not_run
        else ""
    )
    items = []
    for title, changes in (
        ("regression", comparison.regressions),
        ("improvement", comparison.improvements),
        ("new", comparison.new),
        ("removed", comparison.removed),
    ):
        count = len(changes)
        word = plural(count, title).split(" ", 1)[1] if title in ("regression", "improvement") else title
        items.append(f"<li><b>{count}</b> {word}</li>")
    paired_list = f"<ul class='paired'>{paired}</ul>" if paired else ""
    return (
        f'<section id="baseline"><h2>Compared with {escape(comparison.label)}</h2>'
        f"<ul class='counts'>{''.join(items)}</ul>{not_run}{paired_list}"
        "<p>Filter the cases below by <i>change</i> to list them.</p></section>"
    )


def _data(results: RunResults, comparison: Comparison | None) -> dict[str, Any]:
    changes: dict[tuple[str, str], str] = {}
    if comparison is not None:
        for kind, listed in (
            ("regression", comparison.regressions),
            ("improvement", comparison.improvements),
            ("new", comparison.new),
        ):
            for change in listed:
                changes[(change.id, change.prompt)] = kind
    models = results.model_names()
    several = len(models) > 1
    cases = []
    for case in results.sorted_cases():
        entry = case.to_json()
        entry["flaky"] = case.flaky
        # A comparison of several models names each model's prompt ``prompt @ model`` (gating.model_prompt).
        key = (case.id, f"{case.prompt} @ {case.model}") if several else case.key
        entry["change"] = changes.get(key)
        cases.append(entry)
    names = results.prompt_names()
    return {
        "model": results.model,
        # Several models: the case table gains a model column and filter, the side-by-side view a row per model.
        "models": models if several else [],
        "endpoint": results.endpoint,
        "prompts": names,
        "colors": {name: _color(index) for index, name in enumerate(names)},
        "tags": results.tag_names(),
        "verdicts": list(VERDICTS),
        "hasComparison": comparison is not None,
        "cases": cases,
    }


def cost_section(results: RunResults) -> str:
    """The "What the answers cost" section (empty when no answer has a cost)."""
    from ..costs import FIGURES, any_cost, cost_rows, latency_notes

    rows = cost_rows(results)
    if not any_cost(rows):
        return ""
    head = "".join(f"<th>{name}</th>" for name in ("prompt", "model", *FIGURES))
    cells = [
        [f"<span{lang_attribute(r.prompt)}>{escape(r.prompt)}</span>", escape(r.model), *r.figures()] for r in rows
    ]
    body = "".join(
        "<tr>" + "".join(f"<td{' class=text' if i < 2 else ''}>{cell}</td>" for i, cell in enumerate(row)) + "</tr>"
        for row in cells
    )
    return (
        '<section id="cost"><h2>What the answers cost</h2>'
        f'<table class="summary" id="cost-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
        '<p class="note">Tokens per answer (mean of the answers the server counted), latency of each answer (live, '
        "or as recorded), answers cut off by max_tokens (truncated).</p>"
        + "".join(f'<p class="note latency-note">{escape(note)}.</p>' for note in latency_notes(results, rows))
        + "</section>"
    )


def _truncated_paragraph(results: RunResults) -> str:
    note = truncated_note(results)
    return "" if note is None else f'<p class="note" id="truncated-note">{escape(note)}.</p>'


# The marks are drawn, not typed: an emoji (✅) is a box on a system without an emoji font (headless browsers, many
# Linux desktops). Each carries its word for screen readers; the line after it says the same in text.
_MARKS = {
    "passed": '<path d="M3.5 8.5l3 3 6-7" fill="none" stroke="currentColor" stroke-width="2.2" '
    'stroke-linecap="round" stroke-linejoin="round"/>',
    "failed": '<path d="M4 4l8 8M12 4l-8 8" fill="none" stroke="currentColor" stroke-width="2.2" '
    'stroke-linecap="round"/>',
    "undecided": '<path d="M8 1.8l6.6 12H1.4z" fill="none" stroke="currentColor" stroke-width="1.6" '
    'stroke-linejoin="round"/><path d="M8 6v4M8 11.6v.4" stroke="currentColor" stroke-width="1.8" '
    'stroke-linecap="round"/>',
}
_MARK_WORDS = {"passed": "passed", "failed": "failed", "undecided": "warning"}


def status_mark(state: str) -> str:
    """An inline SVG mark for ``passed``, ``failed`` or ``undecided``, with its word as its accessible name."""
    word = _MARK_WORDS[state]
    return (
        f'<svg class="mark {state}" role="img" aria-label="{word}" viewBox="0 0 16 16" width="16" height="16" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{word}</title>{_MARKS[state]}</svg>'
    )


def _status_section(status: RunStatus | None) -> str:
    """The run's end and the gate's decision, each in one line, as the Markdown report states them.

    The decision includes the accuracy thresholds (``gates.combine``): each failed one is listed under it."""
    if status is None:
        return ""
    lines = []
    if status.interrupted is not None:
        lines.append(
            f'<p class="decision undecided" id="interrupted">{status_mark("undecided")} {escape(status.headline())}</p>'
        )
    decision = status.decision
    if decision is not None:
        state = decision.state
        lines.append(f'<p class="decision {state}" id="decision">{status_mark(state)} {escape(decision.line)}</p>')
        failed = decision.failed_thresholds
        if failed:
            items = "".join(f"<li>{status_mark('failed')} {escape(gate.message)}</li>" for gate in failed)
            lines.append(f'<ul class="decision failed" id="thresholds">{items}</ul>')
    if status.not_recorded:
        lines.append(
            f'<p class="decision undecided" id="not-recorded">{status_mark("undecided")} '
            f"{escape(status.recording_line())}</p>"
        )
        if status.partial_models is not None:
            lines.append(
                f'<p class="decision undecided" id="partial-models">{status_mark("undecided")} '
                f"{escape(status.partial_models)}</p>"
            )
    if status.baseline_note is not None:
        lines.append(
            f'<p class="decision undecided" id="baseline-models">{status_mark("undecided")} '
            f"{escape(status.baseline_note)}</p>"
        )
    return "\n".join(lines)


_SIDE_BY_SIDE = """<section id="side-by-side"><h2>Two prompts side by side</h2>
<form class="filters" autocomplete="off">
<label>left <select id="pair-a"></select></label>
<label>right <select id="pair-b"></select></label>
<label><input id="pair-differ" type="checkbox"> only cases whose outcome differs</label>
<output id="pair-count"></output>
</form>
<table id="pair-table" class="pairs"><thead><tr><th>case</th><th id="pair-head-a">left</th>
<th id="pair-head-b">right</th></tr></thead><tbody></tbody></table>
</section>"""


def _model_fact(results: RunResults) -> str | None:
    models = results.model_names()
    if results.model is None and len(models) > 1:
        return "models " + ", ".join(f"<b>{escape(model)}</b>" for model in models)
    model = results.model or (models[0] if models else None)
    return None if model is None else f"model <b>{escape(model)}</b>"


def _models_section(results: RunResults) -> str:
    """Several models: the models x prompts matrix and where a prompt helps one model and hurts another."""
    from .models import html_section

    return html_section(results)


def html_report(results: RunResults, comparison: Comparison | None = None, status: RunStatus | None = None) -> str:
    """The self-contained HTML report of ``results`` (and of the change against a baseline, if given).

    ``status`` (how the run ended, and the gate's decision) is stated at the top, as in the Markdown report;
    the side-by-side view of two prompts is there only when the run has two prompts or more."""
    summary = results.summary()
    side_by_side = _SIDE_BY_SIDE if len(results.prompt_names()) > 1 else ""
    title = f"pytest-llmcmp: {results.model or 'model'} · {format_percent(summary['accuracy'])}"
    # A setting not sent (max_tokens, seed) is left out: "seed None" reads as a seed.
    settings = ", ".join(f"{key} {value}" for key, value in sorted(results.settings.items()) if value is not None)
    several = len(results.model_names()) > 1
    model_filter = '<label>model <select id="filter-model"></select></label>\n' if several else ""
    model_head = "<th>model</th>" if several else ""
    model = _model_fact(results)
    facts = [model] if model is not None else []
    if results.endpoint:
        facts.append(f"endpoint {escape(results.endpoint)}")
    facts.append(f"{summary['passed']}/{summary['total']} passed ({format_percent(summary['accuracy'])})")
    if settings:
        facts.append(escape(settings))
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{_CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>{escape(title)}</title>
<style>
{_asset("report.css")}
</style>
</head>
<body>
<header><h1>pytest-llmcmp report</h1><p class="facts">{" · ".join(facts)}</p>
{_status_section(status)}</header>
<main>
<section id="overview"><h2>Accuracy</h2>{_summary_table(results, comparison)}{_truncated_paragraph(results)}
<figure>{accuracy_chart(results)}
<figcaption>Accuracy per tag and prompt (share of cases passed).</figcaption></figure>
</section>
{_models_section(results)}
{cost_section(results)}
{_comparison_section(comparison, status)}
<section id="cases"><h2>Cases</h2>
<form class="filters" id="filters" autocomplete="off">
{model_filter}<label>prompt <select id="filter-prompt"></select></label>
<label>tag <select id="filter-tag"></select></label>
<label>sample verdict <select id="filter-verdict"></select></label>
<label>outcome <select id="filter-outcome"></select></label>
<label id="filter-change-label">change <select id="filter-change"></select></label>
<label>search <input id="filter-text" type="search" placeholder="id, question, answer…"></label>
<output id="case-count"></output>
</form>
<table id="case-table" class="cases"><thead><tr><th>case</th>{model_head}<th>prompt</th><th>tags</th><th>question</th>
<th>expected</th><th>answer</th><th>verdict</th><th>outcome</th></tr></thead><tbody></tbody></table>
</section>
{side_by_side}
</main>
<script type="application/json" id="llmcmp-data">{embed_json(_visible(_data(results, comparison)))}</script>
<script>
{_asset("report.js")}
</script>
</body>
</html>
"""
