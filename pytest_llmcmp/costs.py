"""What the answers cost, per prompt and model: tokens per answer, latency (median, 95th percentile), answers cut
off by max_tokens (domain: plain values from :class:`~pytest_llmcmp.results.RunResults`, no I/O).

So that a user sees a prompt edit made the answers longer or slower, next to what it did to the accuracy. Every
report (terminal, Markdown, HTML) shows the rows of :func:`cost_rows`; the results JSON carries each sample's
``usage``, ``latency`` and ``finish_reason`` as they are.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from .results import RunResults


@dataclass(frozen=True)
class CostRow:
    """The cost of one (prompt, model)'s answers."""

    prompt: str
    model: str
    answers: int  # samples with an answer
    counted: int  # of which the server gave token counts
    completion_tokens: float | None  # mean per counted answer
    prompt_tokens: float | None
    timed: int  # answers with a latency (live, or recorded)
    latency_median: float | None
    latency_p95: float | None
    truncated: int  # finish_reason "length": cut off by max_tokens

    def figures(self) -> list[str]:
        """The row's numbers as the reports show them, in the order of :data:`FIGURES`."""
        return [
            str(self.answers),
            tokens_text(self.completion_tokens),
            tokens_text(self.prompt_tokens),
            seconds_text(self.latency_median),
            seconds_text(self.latency_p95),
            str(self.truncated),
        ]


#: The reports' column names after prompt and model.
FIGURES = ("answers", "tokens out", "tokens in", "latency p50", "latency p95", "truncated")


def percentile(values: Sequence[float], share: float) -> float | None:
    """The nearest-rank percentile: the ceil(share * n)-th smallest value (p95 of 20 values is the 19th, of 10
    values the largest); ``None`` for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float | None:
    """The middle value (the mean of the two middle ones for an even count); ``None`` for no values."""
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def cost_rows(results: RunResults) -> list[CostRow]:
    """One row per (prompt, model) in the order the prompts first appear; a case's own ``model`` (a run of several
    models) wins over the run's."""
    groups: dict[tuple[str, str], list[tuple[dict[str, int] | None, float | None, str | None]]] = {}
    for case in results.cases:
        model = getattr(case, "model", None) or results.model or "?"
        samples = groups.setdefault((case.prompt, model), [])
        samples += [(s.usage, s.latency, s.finish_reason) for s in case.samples if s.answer is not None]
    rows = []
    for (prompt, model), samples in groups.items():
        usages = [usage for usage, _, _ in samples if usage is not None]
        latencies = [latency for _, latency, _ in samples if latency is not None]
        rows.append(
            CostRow(
                prompt=prompt,
                model=model,
                answers=len(samples),
                counted=len(usages),
                completion_tokens=_mean([u.get("completion_tokens", 0) for u in usages]),
                prompt_tokens=_mean([u.get("prompt_tokens", 0) for u in usages]),
                timed=len(latencies),
                latency_median=median(latencies),
                latency_p95=percentile(latencies, 0.95),
                truncated=sum(reason == "length" for _, _, reason in samples),
            )
        )
    return rows


def latency_notes(results: RunResults, rows: Sequence[CostRow]) -> list[str]:
    """What the latency figures of ``rows`` (:func:`cost_rows` of ``results``) are over, when not over every answer:
    a row's p50 and p95 over the answers that have a latency (``p50 and p95 over 6 of 10 answers``), and, once, when
    the run was asked to record latencies (``--llm-record-latency``) and some answers have none (replayed from
    cassettes recorded without it), how many and how to get them."""
    recording = bool(results.settings.get("record_latency"))
    notes = [
        f"latency of {row.prompt} ({row.model}): p50 and p95 over {row.timed} of {row.answers} answers"
        for row in rows
        if 0 < row.timed < row.answers
    ]
    answers = sum(row.answers for row in rows)
    missing = answers - sum(row.timed for row in rows)
    if recording and missing:
        notes.append(
            f"latency not recorded for {missing} of {answers} answers (recorded without --llm-record-latency; "
            "re-record with --llm-record-mode all --llm-record-latency)"
        )
    return notes


def any_cost(rows: Sequence[CostRow]) -> bool:
    """Whether there is anything to show: token counts, latencies or cut-off answers."""
    return any(row.counted or row.timed or row.truncated for row in rows)


def _mean(values: Sequence[int]) -> float | None:
    return sum(values) / len(values) if values else None


def tokens_text(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def seconds_text(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}s"
