"""The files a run writes (``--llm-results``, ``--llm-report``, ``--llm-html``): one writer each behind
:data:`OUTPUTS`, their targets refused before anything runs when they cannot be files, an earlier run's removed once
cases are collected, and each written atomically, scrubbed of the API key, at the end."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .atomic import write_atomically
from .baseline import Gate
from .gates import RunStatus
from .redaction import scrub
from .results import RunResults
from .settings import Settings


def _results_json(results: RunResults, comparison: Any, gates: list[Gate], status: RunStatus | None) -> str:
    return results.to_text()


def _markdown(results: RunResults, comparison: Any, gates: list[Gate], status: RunStatus | None) -> str:
    from .reports.markdown import markdown_report

    return markdown_report(results, comparison, gates, status=status)


def _html(results: RunResults, comparison: Any, gates: list[Gate], status: RunStatus | None) -> str:
    from .reports.html import html_report

    return html_report(results, comparison, status)


#: The files a run writes, by the option naming each (``--llm-results`` ...): one writer each, the text of the run.
OUTPUTS: dict[str, Callable[[RunResults, Any, list[Gate], RunStatus | None], str]] = {
    "results": _results_json,
    "report": _markdown,
    "html": _html,
}


def targets(settings: Settings, base: Path) -> list[tuple[str, Path]]:
    """The outputs this run writes, ``(kind, path)``: a relative path is relative to ``base`` (where pytest runs)."""
    given = [(kind, getattr(settings, kind)) for kind in OUTPUTS]
    return [(kind, Path(t) if Path(t).is_absolute() else base / t) for kind, t in given if t is not None]


def check_targets(settings: Settings, base: Path) -> None:
    """Before anything runs: an output path that names a directory, a device, a FIFO or a symlink is refused."""
    from .safefiles import NotRegularFile, check_write_target

    for kind, path in targets(settings, base):
        try:
            check_write_target(path)
        except NotRegularFile as exc:
            raise pytest.UsageError(f"--llm-{kind}: {getattr(settings, kind)} {exc.strerror}") from None


def forget(settings: Settings, base: Path) -> None:
    """Remove an earlier run's outputs, so that they never pass for this run's (see the session)."""
    for _, path in targets(settings, base):
        with contextlib.suppress(OSError):
            if path.is_file() and not path.is_symlink():  # anything else is the output writer's to refuse
                path.unlink()


def write(
    settings: Settings,
    base: Path,
    rootpath: Path,
    results: RunResults,
    comparison: Any,
    gates: list[Gate],
    status: RunStatus | None,
) -> tuple[list[str], list[str]]:
    """Write every output; returns what was written (as shown) and the problems (one line each, naming the
    option)."""
    from .safefiles import shown_output

    written: list[str] = []
    problems: list[str] = []
    for kind, path in targets(settings, base):
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_text(path, OUTPUTS[kind](results, comparison, gates, status))
        except OSError as exc:  # a full disk, a directory, /proc: one line, not a traceback
            problems.append(f"--llm-{kind}: cannot write {getattr(settings, kind)}: {exc.strerror or exc}")
            continue
        written.append(shown_output(getattr(settings, kind), path, rootpath))
    return written, problems


def atomic_text(path: Path, text: str) -> None:
    """Write a report: never with the API key in it, whatever a plugin or an endpoint put in its parts."""
    write_atomically(path, scrub(text).encode("utf-8"))
