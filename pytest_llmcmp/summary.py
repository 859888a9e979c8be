"""The session's terminal summary (the ``llmcmp`` section after pytest's own): the results and the gate
(:func:`~pytest_llmcmp.reports.terminal.terminal_summary`), then what the session did besides judging: recordings
missing, requests asked live, unused cassettes and pruning, cassettes received from xdist workers, files written.

Every line goes through :class:`Escaped`: no API key, no control characters, whatever a cassette or an endpoint put
in it."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from .terminal import shown
from .words import plural

if TYPE_CHECKING:
    from pathlib import Path

    from .engine.runner import Runner
    from .session import LlmSession


class Escaped:
    """The terminal reporter, for the summary: every line without the API key and with controls escaped."""

    def __init__(self, reporter: Any) -> None:
        self._reporter = reporter

    def write_sep(self, sep: str, title: str) -> None:
        self._reporter.write_sep(sep, title)

    def write_line(self, line: str, **markup: bool) -> None:
        self._reporter.write_line(shown(line), **markup)


def write_summary(terminalreporter: Any, session: LlmSession) -> None:
    """The ``llmcmp`` section of the terminal summary: for a session that has final results, or one that ran only
    tests of the llm fixture (then only its housekeeping)."""
    tr = Escaped(terminalreporter)
    if session.final is None:
        if session.unused or session.pruned or (session.settings.prune and session.fixture_items):
            tr.write_sep("=", "llmcmp")
            _housekeeping(tr, session)  # a run of the llm fixture's tests only
            _written(tr, session)
        return
    from .reports.terminal import terminal_summary

    tr.write_sep("=", "llmcmp")
    conclusion = session.conclusion
    for line in terminal_summary(session.final, conclusion.comparison, conclusion.gates, session.status):
        failed = line.startswith(("gate failed", "gate not decided", "interrupted"))
        tr.write_line(line, red=failed, bold=failed, yellow=line == conclusion.baseline_note)
    _recordings(tr, session)
    _housekeeping(tr, session)
    _written(tr, session)


def _written(tr: Escaped, session: LlmSession) -> None:
    """The files written, and those that could not be."""
    for written in session.written:
        tr.write_line(f"wrote {written}")
    for problem in session.write_problems:
        tr.write_line(problem, red=True, bold=True)


def _recordings(tr: Escaped, session: LlmSession) -> None:
    """Cases without a recording (and where they are recorded), and what was asked live."""
    runner = session.runner
    if session.status is not None and session.status.not_recorded:
        tr.write_line(session.status.recording_line(), yellow=True, bold=True)
        hint = runner.recorded_elsewhere([(case, prompt) for case, prompt, *_ in session.not_recorded_items()])
        if hint is not None:
            tr.write_line(hint, yellow=True, bold=True)
        if session.status.partial_models is not None:
            tr.write_line(session.status.partial_models, yellow=True, bold=True)
    asked, answered, failed = session.runners.live_counts()
    if asked:
        took = time.monotonic() - session.started
        stopped = f" of {asked} queued (the run stopped early)" if answered < asked else ""
        tr.write_line(
            f"asked {plural(answered, 'request')} live{stopped}, {failed} failed, "
            f"in {took:.1f}s; "
            f"cassettes in {runner.show_path(runner.cassette_root)}"
        )
        recorded = session.runners.recorded_models()
        if recorded is not None:
            tr.write_line(recorded, yellow=True)


def _housekeeping(tr: Escaped, session: LlmSession) -> None:
    """Unused cassettes (pruned or not), cassettes written for workers elsewhere, leftovers of killed writes."""
    runner = session.runner
    prune = session.settings.prune
    if session.unused:
        names = ", ".join(runner.show_path(p) for p in session.unused[:5])
        more = f" and {len(session.unused) - 5} more" if len(session.unused) > 5 else ""
        what = "case or test" if any(_is_test_cassette(runner, p) for p in session.unused) else "case"
        if session.pruned:
            tr.write_line(f"pruned {plural(session.pruned, 'unused cassette')}: {names}{more}")
        else:
            tr.write_line(
                f"{plural(len(session.unused), 'cassette')} {'is' if len(session.unused) == 1 else 'are'} not used by "
                f"any collected {what}: {names}{more} (delete them with --llm-prune)",
                yellow=True,
            )
    elif prune:
        why = session.prune_blocked or "no cassette is unused"
        tr.write_line(f"--llm-prune: deleted no cassette: {why}", yellow=session.prune_blocked is not None)
    if session.received:
        tr.write_line(f"wrote {plural(session.received, 'cassette')} recorded by xdist workers elsewhere")
    for problem in session.store_problems:
        tr.write_line(problem, red=True)
    if session.leftovers:
        names = ", ".join(runner.show_path(p) for p in session.leftovers[:3])
        more = f" and {len(session.leftovers) - 3} more" if len(session.leftovers) > 3 else ""
        what = f"{plural(len(session.leftovers), 'temporary file')} of cassette writes killed halfway: {names}{more}"
        if prune:
            tr.write_line(f"removed {what}")
        else:
            tr.write_line(f"{what} (delete them with --llm-prune)", yellow=True)


def _is_test_cassette(runner: Runner, path: Path) -> bool:
    """A cassette of the llm fixture's tests (``<model>/tests/...``), not of a case."""
    from .tapes import tests_dir

    return runner.model is not None and tests_dir(runner.cassette_root, runner.model) in path.parents
