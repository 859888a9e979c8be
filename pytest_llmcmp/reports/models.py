"""Several models side by side: the models x prompts accuracy matrix (with 95% intervals) and, per tag, where a
prompt helps one model and hurts another. Shown by the terminal summary, the Markdown and the HTML report only when
the results hold more than one model; what every format shows is computed here once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pytest_llmcmp.results import CaseResult, RunResults, format_percent
from pytest_llmcmp.stats import accuracy_interval, format_interval

from .text import _first_left, _table


@dataclass(frozen=True)
class Cell:
    """One model's accuracy under one prompt."""

    passed: int
    total: int
    interval: Sequence[float] | None

    @property
    def accuracy(self) -> float | None:
        return self.passed / self.total if self.total else None

    def text(self) -> str:
        """``"66.7% (2/3, 20.8–93.9%)"``, or ``"–"`` when the model ran no case under the prompt."""
        if not self.total:
            return "–"
        return f"{format_percent(self.accuracy)} ({self.passed}/{self.total}, {format_interval(self.interval)})"


@dataclass(frozen=True)
class Crossing:
    """On one tag, a prompt that helps one model and hurts another, compared with the reference prompt."""

    tag: str
    prompt: str
    reference: str
    helps: list[tuple[str, float]]  # (model, points gained)
    hurts: list[tuple[str, float]]  # (model, points lost, negative)

    def line(self) -> str:
        def shown(changes: list[tuple[str, float]]) -> str:
            return ", ".join(f"{model} ({points:+.1f} points)" for model, points in changes)

        return (
            f"tag {self.tag}: prompt {self.prompt} helps {shown(self.helps)} and hurts {shown(self.hurts)} "
            f"(vs prompt {self.reference})"
        )


def _cell(cases: Sequence[CaseResult]) -> Cell:
    interval = accuracy_interval(cases)
    return Cell(sum(case.passed for case in cases), len(cases), interval.to_json() if interval else None)


def matrix(results: RunResults) -> tuple[list[str], list[str], dict[tuple[str, str], Cell]]:
    """The models, the prompts and each (model, prompt)'s :class:`Cell`."""
    models = results.model_names()
    prompts = results.prompt_names()
    by: dict[tuple[str, str], list[CaseResult]] = {}
    for case in results.cases:
        if case.model is not None:
            by.setdefault((case.model, case.prompt), []).append(case)
    cells = {(model, prompt): _cell(by.get((model, prompt), [])) for model in models for prompt in prompts}
    return models, prompts, cells


def crossings(results: RunResults, reference: str | None = None) -> list[Crossing]:
    """Per tag, each prompt whose accuracy, against ``reference`` (default: the run's first prompt), rises for
    some model and falls for another: the edit is no general improvement there."""
    models, prompts, _ = matrix(results)
    if len(prompts) < 2 or len(models) < 2:
        return []
    reference = reference if reference in prompts else prompts[0]
    by: dict[tuple[str, str, str], list[CaseResult]] = {}
    for case in results.cases:
        if case.model is None:
            continue
        for tag in dict.fromkeys(case.tags):
            by.setdefault((tag, case.model, case.prompt), []).append(case)
    found: list[Crossing] = []
    for tag in results.tag_names():
        for prompt in prompts:
            if prompt == reference:
                continue
            helps: list[tuple[str, float]] = []
            hurts: list[tuple[str, float]] = []
            for model in models:
                before, after = by.get((tag, model, reference)), by.get((tag, model, prompt))
                if not before or not after:
                    continue
                change = 100 * (_share(after) - _share(before))
                if change > 1e-9:
                    helps.append((model, change))
                elif change < -1e-9:
                    hurts.append((model, change))
            if helps and hurts:
                found.append(Crossing(tag, prompt, reference, helps, hurts))
    return found


def _share(cases: Sequence[CaseResult]) -> float:
    return sum(case.passed for case in cases) / len(cases)


def terminal_lines(results: RunResults, reference: str | None = None) -> list[str]:
    """The matrix as aligned text, then one line per crossing; nothing for a one-model run."""
    models, prompts, cells = matrix(results)
    if len(models) < 2:
        return []
    rows = [["accuracy by model (95% CI)", *prompts]]
    rows += [[model, *(cells[(model, prompt)].text() for prompt in prompts)] for model in models]
    lines = _table(rows, _first_left(len(prompts) + 1))
    lines += [crossing.line() for crossing in crossings(results, reference)]
    return lines


def markdown_lines(results: RunResults, reference: str | None = None) -> list[str]:
    """The matrix as a Markdown table under its own heading, and the crossings as a list."""
    from .markdown import escape_markdown

    models, prompts, cells = matrix(results)
    if len(models) < 2:
        return []
    lines = ["### Models × prompts", ""]
    lines.append("| model | " + " | ".join(escape_markdown(p) for p in prompts) + " |")
    lines.append("|---|" + "---:|" * len(prompts))
    for model in models:
        cells_text = " | ".join(cells[(model, prompt)].text() for prompt in prompts)
        lines.append(f"| {escape_markdown(model)} | {cells_text} |")
    found = crossings(results, reference)
    if found:
        lines += ["", "Where a prompt helps one model and hurts another:", ""]
        lines += [f"- {escape_markdown(crossing.line())}" for crossing in found]
    return [*lines, ""]


def html_section(results: RunResults, reference: str | None = None) -> str:
    """The matrix as an HTML table (and the crossings as a list), or ``""`` for a one-model run."""
    from .html import escape

    models, prompts, cells = matrix(results)
    if len(models) < 2:
        return ""
    head = "".join(f"<th>{escape(prompt)}</th>" for prompt in prompts)
    body = "".join(
        f"<tr><th scope='row'>{escape(model)}</th>"
        + "".join(f"<td class='num'>{escape(cells[(model, prompt)].text())}</td>" for prompt in prompts)
        + "</tr>"
        for model in models
    )
    parts = [
        "<section id='models'><h2>Models × prompts</h2>",
        f"<table class='models'><thead><tr><th>model</th>{head}</tr></thead><tbody>{body}</tbody></table>",
    ]
    found = crossings(results, reference)
    if found:
        items = "".join(f"<li>{escape(crossing.line())}</li>" for crossing in found)
        parts.append(f"<p>Where a prompt helps one model and hurts another:</p><ul>{items}</ul>")
    parts.append("</section>")
    return "".join(parts)
