"""The session's runners: one :class:`~pytest_llmcmp.engine.runner.Runner` per target (endpoint, model; see
:mod:`pytest_llmcmp.engine.targets`), what node ids call each, and what the session asks of all of them together
(results, items without a recording, the command that records them, live counts, the baseline's parts).

With one target this is one runner and nothing changes; the runners of one endpoint share its recorder, so that
``--llm-concurrency`` bounds what that server gets at once.
"""

from __future__ import annotations

import shlex
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar

import pytest

from .engine.host import Host, Unit
from .engine.recorder import Recorder
from .engine.runner import Runner
from .prompts import Prompt
from .redaction import public_url
from .results import CaseResult, RunResults
from .settings import Settings
from .terminal import shown

#: An item without a recording, as the session keeps it: (case id, prompt name, why, model).
Missing = tuple[str, str, str, str | None]
U = TypeVar("U", bound=Unit)


class Runners:
    """Every runner of a session, in the targets' order; the first stands for the run where one is enough."""

    def __init__(self, host: Host, settings: Settings, prompts: list[Prompt], project: Path) -> None:
        from .cassettes import model_dirs
        from .engine.targets import targets

        root = Path(settings.cassette_dir)
        root = root if root.is_absolute() else project / root
        self.settings = settings  # the run's, before each target's own
        self.all: list[Runner] = []
        shared: dict[tuple[str, str], Recorder] = {}
        for target in targets(settings, lambda: model_dirs(root) if root.is_dir() else []):
            key = (target.endpoint_name, target.endpoint or "")
            recorder = shared.get(key) if target.endpoint is not None else None
            runner = Runner(host, target, prompts, project, recorder=recorder)
            shared.setdefault(key, runner.recorder)
            self.all.append(runner)
        self.primary = self.all[0]
        self._labelled: dict[str | None, Runner] | None = None
        from .engine.remote import Asking

        # One asking process for the session, whatever the number of endpoints (each has an asker in it).
        urls = [runner.endpoint_url for runner in self.all if runner.settings.live]
        self.asking = Asking(settings.ask_process == "auto" and settings.live, host.write_line, urls)
        for runner in self.all:
            runner.recorder.asking = self.asking
            if runner.backend is not None:
                runner.backend.asking = self.asking

    def ask_early(self) -> None:
        """At the start of a live session that will list the models or record everything: start the asking process
        now, so that its ``openai`` import runs while pytest collects. Other live sessions start it at their first
        live plan (a run whose recordings are all there never starts it)."""
        if any(r.settings.live and (r.settings.record_mode == "all" or r.model is None) for r in self.all):
            self.asking.start()

    def ask_here(self) -> None:
        """This process does not ask through a helper (an xdist worker or controller: xdist uses the cores)."""
        self.asking.enabled = False

    def __iter__(self) -> Iterator[Runner]:
        return iter(self.all)

    def __len__(self) -> int:
        return len(self.all)

    @property
    def models(self) -> list[str]:
        """The models known so far, in the targets' order, once each."""
        return list(dict.fromkeys(runner.model for runner in self.all if runner.model is not None))

    def labelled(self) -> dict[str | None, Runner]:
        """The runners by the label node ids carry: ``{None: runner}`` for one target; for several, each model's
        :func:`~pytest_llmcmp.engine.targets.label` (resolving the models: a named endpoint without ``--llm-model``
        is asked which one it serves). Raises :class:`~pytest_llmcmp.engine.EngineError` or
        :class:`pytest.UsageError`."""
        if self._labelled is not None:
            return self._labelled
        if len(self.all) == 1:
            self._labelled = {None: self.primary}
            return self._labelled
        from .engine.targets import label

        for runner in self.all:
            runner.resolve_model()
        labelled: dict[str | None, Runner] = {}
        for runner in self.all:
            assert runner.model is not None
            other = labelled.setdefault(label(runner.model), runner)
            if other is not runner:
                raise pytest.UsageError(
                    shown(
                        f"{_model_sources(other, runner)}: two targets of this run are the model {runner.model!r} "
                        f"({describe(other)} and "
                        f"{describe(runner)}); cassettes and results are kept by model: compare different models"
                    )
                )
        for name, runner in labelled.items():
            runner.node_label = name
        self._labelled = labelled
        return labelled

    def give_baseline(self, baseline: RunResults | None) -> None:
        """Each runner's part of the baseline, for the items' own decisions: the baseline's results of its model
        (:func:`~pytest_llmcmp.baseline.model_part`); a runner whose model the baseline holds no results of gets none,
        and its failures fail as without a baseline. Given again once the models are known."""
        if baseline is None:
            return
        from .baseline import model_part

        for runner in self.all:
            part = model_part(baseline, runner.model)
            runner.baseline = {case.key: case for case in part.cases} if part is not None else None

    def results(self) -> list[CaseResult]:
        """The results of every runner of this process."""
        return [case for runner in self.all for case in runner.results.values()]

    def not_recorded(self) -> dict[str, Missing]:
        """This process's items without a recording, by node id."""
        return {
            nodeid: (case_id, prompt, why, runner.model)
            for runner in self.all
            for nodeid, (case_id, prompt, why) in runner.not_recorded.items()
        }

    def record_command(self, missing: dict[str, Missing]) -> str:
        """The command that records what is missing: one per target that misses recordings, joined by ``&&``."""
        by_model = {runner.model: runner for runner in self.all}
        groups: dict[int, tuple[Runner, list[tuple[str, str]]]] = {}
        for nodeid, (_, prompt, _, model) in missing.items():
            runner = by_model.get(model, self.primary)
            groups.setdefault(id(runner), (runner, []))[1].append((nodeid, prompt))
        return " && ".join(runner.record_command_for(items) for runner, items in groups.values())

    def partial_models(self, selected: Iterable[str | None], missing: Iterable[str | None]) -> str | None:
        """One line when a replay without ``--llm-model`` replays several models (every one the cassette directory
        holds) and some of them lack recordings: which, of how many of their cases, and the two ways out.
        ``selected`` and ``missing`` give the model of each selected item and of each item without a recording."""
        s = self.settings
        if len(self.all) < 2 or s.endpoint is not None or s.endpoints or s.models:
            return None
        lacking = Counter(missing)
        if not lacking:
            return None
        total = Counter(selected)
        models = self.models
        partial = [model for model in models if lacking[model]]
        complete = [model for model in models if not lacking[model] and total[model]]
        which = "; ".join(
            f"{model!r} has no recording of {lacking[model]} of its {total[model] or lacking[model]} cases"
            for model in partial
        )
        line = (
            f"a replay without --llm-model replays every model {self.primary.show_path(self.primary.cassette_root)} "
            f"holds ({', '.join(models)}): {which}; record them with the command above"
        )
        if complete:
            which = "ones" if len(complete) > 1 else "one"
            line += f", or replay only the {which} recorded in full: {_narrowed(complete)}"
        return line

    def recorded_models(self) -> str | None:
        """After a run that recorded: one line when the cassette directory holds several models that do not hold the
        same cases under this run's prompts, so that a replay without ``--llm-model`` (every model) would fail."""
        from .cassettes import model_dirs, recorded_cases

        runner = self.primary
        root = runner.cassette_root
        models = model_dirs(root)
        if len(models) < 2:
            return None
        prompts = [(prompt.name, prompt.sha256) for prompt in runner.prompts]
        held = {model: recorded_cases(root, model, prompts) for model in models}
        every: set[tuple[str, str]] = set().union(*held.values())
        short = {model: len(every - cases) for model, cases in held.items() if every - cases}
        if not short:
            return None
        complete = [model for model in models if model not in short]
        lacks = ", ".join(f"{model!r} lacks {count}" for model, count in short.items())
        line = (
            f"{runner.show_path(root)} now holds {len(models)} models ({', '.join(models)}): a replay without "
            "--llm-model replays every one and fails on any case one of them has no recording of; of the "
            f"{len(every)} cases recorded under this run's prompts, {lacks}: record them (a run of the whole suite "
            "with --llm-endpoint and that model's --llm-model asks only what is missing)"
        )
        if complete:
            line += f", or give the replay {_narrowed(complete)}"
        return line

    def live_counts(self) -> tuple[int, int, int]:
        """Requests (asked, answered, failed) of every endpoint (the runners of one endpoint share a recorder)."""
        recorders = {id(runner.recorder): runner.recorder for runner in self.all}.values()
        return (
            sum(r.asked for r in recorders),
            sum(r.answered for r in recorders),
            sum(r.failed_requests for r in recorders),
        )

    def prefetch(self, items: Sequence[U], runner_of: Callable[[U], Runner]) -> None:
        """Plan the items of every runner (``runner_of`` says whose each is) and submit the live requests. A replay
        of several targets reads ahead through one helper for the session, its jobs in pytest's order across the
        targets (the order the items run in): one helper per target would compete for the same second core."""
        from .readahead import worth_it

        mine: dict[int, list[U]] = {}
        for item in items:
            mine.setdefault(id(runner_of(item)), []).append(item)
        several = [runner for runner in self.all if mine.get(id(runner))]
        if len(several) > 1 and all(runner.replays_ahead() for runner in several):
            if self.primary.has_ahead() or worth_it(len(items)):
                ahead = self.primary.start_ahead()
                if ahead is not None:
                    jobs = [runner_of(item).ahead_job(item, index) for index, item in enumerate(items)]
                    for runner in several:
                        runner.share_ahead(ahead)
                    ahead.send(jobs)
            return
        # Grouped by endpoint, then model, then prompt: each server's prefix cache is reused.
        for runner in self.all:
            runner.prefetch(mine.get(id(runner), []))

    def stop(self) -> None:
        for runner in self.all:
            runner.stop()
        self.asking.close()


def _narrowed(models: Sequence[str]) -> str:
    """The options that narrow a replay to these models: ``--llm-model A --llm-model B (ini llm_model)``."""
    return " ".join(f"--llm-model {shlex.quote(model)}" for model in models) + " (ini llm_model)"


def _model_sources(*runners: Runner) -> str:
    """The options that gave these targets their model, as the user spelled them: ``--llm-model`` (or its ini key or
    variable) for a model named, ``--llm-endpoint`` for one its endpoint serves (asked, not named)."""
    sources = [r.settings.origin("model") if r.settings.model else r.settings.origin("endpoint") for r in runners]
    return " and ".join(dict.fromkeys(sources))


def describe(runner: Runner) -> str:
    """A target as the header and messages name it: ``'x' at small (http://…)``."""
    s = runner.settings
    model = f"{runner.model!r}" if runner.model is not None else "(auto)"
    if s.endpoint is None:
        return model
    place = public_url(s.endpoint)
    return f"{model} at {s.endpoint_name} ({place})" if s.endpoint_name else f"{model} at {place}"
