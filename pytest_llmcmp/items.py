"""The pytest face of case files: a collector per file, a collector per case, an item per (case, prompt), or per
(case, model, prompt) when a run compares several models: ``file::case::prompt`` for one model,
``file::case::MODEL::prompt`` for several (``MODEL`` as :func:`~pytest_llmcmp.engine.targets.label` spells it)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .cases import Case, CaseFileError, GenerateBudget, load_case_file

if TYPE_CHECKING:
    from _pytest._code.code import ExceptionInfo, TerminalRepr

    from .collected import CaseFileRule, Collected
    from .engine.runner import Runner
    from .prompts import Prompt
    from .results import CaseResult
    from .settings import Settings


#: A case's file (a case file, or the CSV/JSONL it was imported from) as a Path, made once per file, not per node.
_PATHS: dict[str, Path] = {}


def _path(name: str) -> Path:
    path = _PATHS.get(name)
    if path is None:
        path = _PATHS[name] = Path(name)
    return path


class CaseFile(pytest.File):
    """A YAML case file; each case becomes a :class:`CaseNode`."""

    def collect(self) -> Iterator[CaseNode]:
        from .session import ensure_session

        session = ensure_session(self.config, late=True)  # the run uses the plugin: its session starts here if not
        labels = list(session.labelled())  # before; several models: resolved now, the node ids name them
        try:
            cases = load_case_file(self.path, self.config.stash.get(BUDGET_KEY, None))
        except CaseFileError as exc:
            try:  # the path as the user would type it, like every other message
                where = os.path.relpath(exc.path, self.config.invocation_params.dir)
            except ValueError:
                where = exc.path
            raise self.CollectError(f"{where}:{exc.line}: {exc.message}") from None
        collected = self.config.stash.get(COLLECTED_KEY, None)
        if collected is not None:
            collected.file_collected(self.path, len(cases) * len(labels) * len(self.config.stash[RUNNER_KEY].prompts))
        for case in cases:
            yield CaseNode.from_parent(self, name=case.id, case=case, labels=labels)


class CaseNode(pytest.Collector):
    """One case; it holds one :class:`CaseItem` per prompt, so node ids read ``file::case-id::prompt`` (with
    several models, one :class:`ModelNode` per model: ``file::case-id::MODEL::prompt``)."""

    def __init__(self, *, case: Case, labels: list[str | None] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case
        self.labels = labels or [None]
        self.extra_keyword_matches.update(case.tags)

    def collect(self) -> Iterator[CaseItem | ModelNode]:
        runner: Runner = self.config.stash[RUNNER_KEY]
        for label in self.labels:
            if label is None:
                for prompt in runner.prompts:
                    yield CaseItem.from_parent(self, name=prompt.name, case=self.case, prompt=prompt)
            else:
                yield ModelNode.from_parent(self, name=label, case=self.case)

    def reportinfo(self) -> tuple[Path, int, str]:
        return _path(self.case.path), self.case.line - 1, self.case.id  # an imported case: its CSV/JSONL row


class ModelNode(pytest.Collector):
    """One case under one model of several: one :class:`CaseItem` per prompt."""

    def __init__(self, *, case: Case, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case
        self.extra_keyword_matches.update(case.tags)

    def collect(self) -> Iterator[CaseItem]:
        runner: Runner = self.config.stash[RUNNER_KEY]
        for prompt in runner.prompts:
            yield CaseItem.from_parent(self, name=prompt.name, case=self.case, prompt=prompt, target=self.name)

    def reportinfo(self) -> tuple[Path, int, str]:
        return _path(self.case.path), self.case.line - 1, f"{self.case.id} [{self.name}]"


class CaseFailed(Exception):
    """Raised by :meth:`CaseItem.runtest` when the case's outcome is ``fail``."""

    def __init__(self, result: CaseResult, detail: str) -> None:
        super().__init__(detail)
        self.result = result
        self.detail = detail


class GatedFailure(pytest.xfail.Exception):  # type: ignore[misc,name-defined]
    """A failing case that the session's gate judges (``xfail`` for pytest): the CI report shows it as the failure
    it is, with the case's text (question, expected, choice, answer), as a failing case's."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(reason)
        self.detail = detail


class CaseItem(pytest.Item):
    """Asking one case under one prompt (live, or replayed from its cassette) and judging the answers."""

    def __init__(self, *, case: Case, prompt: Prompt, target: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case
        self.prompt = prompt
        self.target = target  # the model's label when the run has several (see ModelNode), else None
        self.extra_keyword_matches.update(case.tags)

    def runtest(self) -> None:
        runner: Runner = self.config.stash[RUNNERS_KEY][self.target]
        try:
            self._run(runner)
        finally:
            runner.release(self)  # what the item needed (request, cassette, answers) is not kept past its report

    def _run(self, runner: Runner) -> None:
        from .engine import StopRun
        from .session import usage_errors

        try:
            with usage_errors():
                result, detail = runner.run(self)
        except StopRun as exc:  # one line for the whole run, not the same error under every case
            pytest.exit(str(exc), returncode=pytest.ExitCode.USAGE_ERROR)
        missing = runner.not_recorded.get(self.nodeid)
        if missing is None and _properties_written(self.config):
            from .junit import case_properties

            self.user_properties += case_properties(result, runner.shown_model())
        if missing is not None:
            # Not recorded yet (a prompt edit, a new case): nothing to judge. The session's closing line counts
            # them and gives the one command that records them all.
            raise pytest.skip.Exception(missing[2], _use_item_location=True)  # shown at the case, not here
        if result.outcome == "pass":
            return
        known = runner.known_failure(self, result)
        gated = runner.gated.get(self.nodeid)
        if known is not None and gated is not None:
            from .junit import GATE_PROPERTY

            self.user_properties.append((GATE_PROPERTY, gated))  # CI's test report shows it as a failure
            raise GatedFailure(known, detail)
        if known is not None:
            # Gates decide this run (--llm-baseline / --llm-min-accuracy): a failure that is not a regression is
            # reported, not fatal.
            pytest.xfail(known)
        raise CaseFailed(result, detail)

    def repr_failure(self, excinfo: ExceptionInfo[BaseException], style: Any = None) -> str | TerminalRepr:
        from .terminal import shown

        # What a failure shows comes partly from a cassette or an endpoint: no key, no control characters.
        if isinstance(excinfo.value, CaseFailed | GatedFailure):
            return shown(excinfo.value.detail)
        if isinstance(excinfo.value, pytest.xfail.Exception):
            return shown(str(excinfo.value))  # a known failure; formatting a traceback for it costs a quarter second
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int, str]:
        where = self.prompt.name if self.target is None else f"{self.target}, {self.prompt.name}"
        return _path(self.case.path), self.case.line - 1, f"{self.case.id} [{where}]"


def _properties_written(config: pytest.Config) -> bool:
    """Whether the items' judgements are written anywhere as ``user_properties``: a JUnit XML (``--junitxml``, by
    this process or, for an xdist worker, its controller) or a report log (pytest-reportlog's ``--report-log``).
    Otherwise they are not worked out for every item."""
    written = config.stash.get(PROPERTIES_KEY, None)
    if written is None:
        option = config.option
        written = config.stash[PROPERTIES_KEY] = bool(
            getattr(option, "xmlpath", None) or getattr(option, "report_log", None)
        )
    return written


# Defined here (not in the engine) so that collection does not import the runner's dependencies.
RUNNER_KEY: pytest.StashKey[Runner] = pytest.StashKey()
#: The runner of each target, by the label its items carry (``None``: the one target of a one-model run).
RUNNERS_KEY: pytest.StashKey[dict[str | None, Runner]] = pytest.StashKey()
#: The run's settings, resolved once at configure time and frozen.
SETTINGS_KEY: pytest.StashKey[Settings] = pytest.StashKey()
#: The cassette directory (never collected).
CASSETTES_KEY: pytest.StashKey[Path] = pytest.StashKey()
RULE_KEY: pytest.StashKey[CaseFileRule] = pytest.StashKey()
COLLECTED_KEY: pytest.StashKey[Collected] = pytest.StashKey()
BUDGET_KEY: pytest.StashKey[GenerateBudget] = pytest.StashKey()
PROPERTIES_KEY: pytest.StashKey[bool] = pytest.StashKey()
