"""What the text reports share: display widths of CJK text, plain tables, counts with their nouns, the run's
header line and the note on truncated answers."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Any, Literal

from pytest_llmcmp.gates import PromptDecision
from pytest_llmcmp.results import CaseResult, RunResults, SampleResult
from pytest_llmcmp.stats import format_p, run_intervals
from pytest_llmcmp.words import plural as plural

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


def truncated_note(results: RunResults, summary: dict[str, Any] | None = None) -> str | None:
    """One sentence when answers were cut off by max_tokens before a verdict, with the remedy; else ``None``
    (``summary``: ``results.summary()``, when the caller has it)."""
    count = sum((summary if summary is not None else results.summary())["truncated"].values())
    if not count:
        return None
    max_tokens = results.settings.get("max_tokens")
    now = f" (now {max_tokens})" if max_tokens is not None else ""
    return (
        f"{plural(count, 'answer')} {'was' if count == 1 else 'were'} cut off by max_tokens before giving a verdict "
        f"(finish_reason length; judged unparsed, reason truncated): raise --llm-max-tokens{now} and record again"
    )


def _header_line(results: RunResults) -> str:
    settings = results.settings
    models = results.model_names()
    parts = []  # no model when no case ran to name one: nothing rather than "model ?"
    if results.model is None and len(models) > 1:
        parts.append("models " + ", ".join(models))
    elif results.model or models:
        parts.append(f"model {results.model or models[0]}")
    if results.endpoint:
        parts.append(f"at {results.endpoint}" if parts else f"endpoint {results.endpoint}")
    detail = []
    if "samples" in settings:
        detail.append(plural(int(settings["samples"]), "sample") + " per case")
    if "pass_rule" in settings:
        detail.append(f"pass rule {settings['pass_rule']}")
    if "temperature" in settings:
        detail.append(f"temperature {settings['temperature']}")
    return "llmcmp: " + "; ".join(part for part in (" ".join(parts), ", ".join(detail)) if part)


def _intervals(results: RunResults) -> dict[str, Any]:
    """The 95% intervals of every accuracy (empty when no case ran: nothing to import numpy for)."""
    return run_intervals(results) if results.cases else {"prompts": {}, "tags": {}, "method": ""}


def paired_line(decided: PromptDecision) -> str:
    """One prompt's paired comparison in one line: counts, net change and its interval, the test and p-values."""
    t = decided.test
    interval = ""
    if t.net_interval is not None:
        interval = f", 95% CI {t.net_interval.low:+.1f} to {t.net_interval.high:+.1f} ({t.net_interval.method})"
    counted = "" if t.test == "exact McNemar test" else f" ({plural(t.up, 'case')} up, {t.down} down)"
    return (
        f"    {plural(t.paired, 'paired case')}: {t.improved} improved, {t.regressed} regressed, "
        f"net {t.net_points:+.1f} points{interval}; {t.test}{counted} p = {format_p(t.p_two_sided)} two-sided, "
        f"{format_p(t.p_worse)} for worse"
    )
