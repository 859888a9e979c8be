"""The plugin object registered for a session: it drives the :class:`~pytest_llmcmp.runner.Runner` from pytest's
hooks, merges xdist workers' results on the controller, and writes results, reports and gates once, at the end.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import threading
import time
from collections import Counter
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from . import gating, outputs
from .cases import GenerateBudget
from .collected import Collected, project_case_files
from .config import Settings, input_path, project_dir
from .engine import EngineError, StopRun
from .engine.runner import Runner
from .gates import RunStatus
from .items import BUDGET_KEY, COLLECTED_KEY, RUNNER_KEY, RUNNERS_KEY, SETTINGS_KEY, CaseItem
from .prompts import Prompt
from .redaction import public_url
from .results import CaseResult, ResultsFileError, RunResults
from .runners import Missing, Runners, describe
from .terminal import shown


class LlmSession:
    """Hooks of one pytest session (controller, worker or plain run)."""

    def __init__(self, config: pytest.Config, settings: Settings, prompts: list[Prompt]) -> None:
        self.config = config
        self.settings = settings
        #: One runner per target (endpoint, model); the first stands for the run where one is enough (paths, the
        #: header). Several: node ids gain the model (see :meth:`labelled`).
        self.runners = Runners(PytestHost(config), settings, prompts, project_dir(config))
        self.runner = self.runners.primary
        self.late = False  # registered during collection (no option given): the header comes after collection
        self.workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
        self.is_worker = self.workerinput is not None
        self.worker_results: dict[str, CaseResult] = {}  # by node id, as the runner keeps its own
        self.worker_used: set[Path] = set()
        self.collected_cases = 0
        self.conclusion = gating.Conclusion()  # the comparison, the thresholds' gates, the decision (at the end)
        self.unused: list[Path] = []
        self.received = 0  # cassettes recorded by workers elsewhere and written here
        self.store_problems: list[str] = []
        self.leftovers: list[Path] = []  # temporary files of cassette writes that were killed halfway
        self.pruned = 0
        self.collected = Collected(self.runner.project_dir)
        config.stash[COLLECTED_KEY] = self.collected
        config.stash[BUDGET_KEY] = GenerateBudget(settings.max_generated, settings.max_generated_suite)
        self.workers_merged = 0
        self.prune_blocked: str | None = None  # why nothing may be pruned in this run
        self.written: list[str] = []
        self.write_problems: list[str] = []
        self.test_cassettes: set[Path] = set()  # the cassettes the llm fixture used in this process
        self.fixture_items: list[pytest.Item] = []  # the collected tests that use the llm fixture
        self.test_modules: set[str] = set()  # the collected test modules (dotted, as their cassette directories)
        self.final: RunResults | None = None
        self.status: RunStatus | None = None
        # The selected (case, prompt) items, as plain values: (node id, case id, prompt name, critical). On an xdist
        # controller, which collects nothing, they come from the workers.
        self.selected: dict[str, tuple[str, str, bool, str | None]] = {}
        self.full_run = True
        self.worker_not_recorded: dict[str, Missing] = {}
        self._old_sigterm: Any = None
        self._old_sigint: Any = None
        self.forgotten = False  # the outputs of an earlier run were removed
        self.keyboard: str | None = None  # "Ctrl-C" or "SIGTERM", when the session was interrupted so
        self.started = time.monotonic()
        names = [p.name for p in prompts]
        self.thresholds = gating.thresholds_of(settings, names)
        self.scoped_thresholds = gating.scoped_thresholds_of(settings, names)
        outputs.check_targets(settings, config.invocation_params.dir)
        self.baseline = self._load_baseline()
        self.baseline_prompt = gating.baseline_prompt_of(settings, names)
        for runner in self.runners:
            runner.reference = self.baseline_prompt
        if self.workerinput is not None and self.workerinput.get("llmcmp_targets"):
            # The controller resolved the models (and checked the endpoints) once for every worker.
            for runner, (model, url) in zip(self.runners, self.workerinput["llmcmp_targets"], strict=False):
                runner.use_endpoint(model, url)
        self.runners.give_baseline(self.baseline)

    def labelled(self) -> dict[str | None, Runner]:
        """The runners by the label their items carry (see :meth:`Runners.labelled`), kept in ``config.stash``."""
        labelled = self.config.stash.get(RUNNERS_KEY, None)
        if labelled is None:
            with usage_errors():
                labelled = self.runners.labelled()
            if len(self.runners) > 1:
                self.runners.give_baseline(self.baseline)  # by model, now that the models are known
            self.config.stash[RUNNERS_KEY] = labelled
        return labelled

    def runner_of(self, item: CaseItem) -> Runner:
        """The runner of an item's target."""
        return self.labelled()[item.target]

    @property
    def distributed(self) -> bool:
        """Whether this process is an xdist controller handing the items to workers (``-n N``, or ``-d --tx ...``).

        Asked of xdist itself, whose distributed session plugin exists exactly then; it registers after this plugin
        is configured, so this is a property, not a value fixed at configure time."""
        return not self.is_worker and self.config.pluginmanager.has_plugin("dsession")

    def _load_baseline(self) -> RunResults | None:
        if self.settings.baseline is None:
            return None
        path = input_path(self.config, self.settings.baseline)
        try:
            return RunResults.load(path)
        except ResultsFileError as exc:
            raise pytest.UsageError(f"--llm-baseline: {exc}") from None

    def close(self) -> None:
        self.stop()  # every runner and the asking process, also when the session ended on a usage error
        if self._old_sigterm is not None:
            with contextlib.suppress(ValueError, OSError):
                signal.signal(signal.SIGTERM, self._old_sigterm)
            self._old_sigterm = None
        if self._old_sigint is not None:
            with contextlib.suppress(ValueError, OSError):
                signal.signal(signal.SIGINT, self._old_sigint)
            self._old_sigint = None

    # --- header, collection -------------------------------------------------------------------------------------

    def start_late(self) -> None:
        """Registered during collection (the first case file, no option given): what ``pytest_sessionstart`` did."""
        self.late = True
        if not (self.is_worker or self.config.option.collectonly):
            self._sigterm_interrupts()
        self._start_helpers()

    def _start_helpers(self) -> None:
        """At the session's start: the helper processes that start up while pytest collects (the read-ahead of a
        large replay, the asking process of a live run). xdist workers and controllers start none."""
        if self.is_worker or self.distributed or self.config.option.collectonly:
            self.runners.ask_here()
            return
        self.runner.read_ahead_early()
        self.runners.ask_early()

    def pytest_report_collectionfinish(self, config: pytest.Config) -> list[str]:
        """The header, after collection, when the session started with the first case file."""
        if not self.late or config.get_verbosity() < 0 or config.getoption("no_header", False):
            return []  # as pytest's header: not under -q or --no-header
        return self.pytest_report_header(config)

    def pytest_report_header(self, config: pytest.Config) -> list[str]:
        s = self.settings
        mode = f"record mode {s.record_mode}" if s.live else "replay (offline, record mode none)"
        cassettes = self.runner.show_path(self.runner.cassette_root)
        where = f"endpoint {public_url(s.endpoint)}" if s.endpoint else f"cassettes {cassettes}"
        prompts = ", ".join(p.name + (f" ({p.sha256[:12]})" if p.sha256 else "") for p in self.runner.prompts)
        params = f"temperature {s.temperature:g}"
        params += f", max_tokens {s.max_tokens}" if s.max_tokens is not None else ", max_tokens none (not sent)"
        if s.seed is not None:
            params += f", seed {s.seed}"
        if s.answer_format != "text":
            params += f", answers {s.answer_format} (response_format)"
        if len(self.runners) > 1:
            where = ", ".join(describe(runner) for runner in self.runners)
            lines = [f"llmcmp: {mode}, {len(self.runners)} models: {where}"]
        else:
            lines = [f"llmcmp: {mode}, {where}, model {s.model or '(auto)'}"]
        lines += [
            f"llmcmp: prompts {prompts}; {params}; samples {s.samples} (pass rule {s.pass_rule})",
        ]
        if s.live and len(self.runners) > 1:
            per = "per endpoint" if len({(r.settings.endpoint_name, r.endpoint_url) for r in self.runners}) > 1 else ""
            lines.append(
                f"llmcmp: concurrency {self.runner.settings.concurrency}{' ' + per if per else ''}, timeout "
                f"{s.timeout:g}s, retries {s.retries}, backoff {s.backoff:g}s"
            )
        elif s.live:
            lines.append(
                f"llmcmp: concurrency {s.concurrency}, timeout {s.timeout:g}s, retries {s.retries}, "
                f"backoff {s.backoff:g}s"
            )
        return [shown(line) for line in lines]

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        self._check_tags(items)
        self._check_ids(items)

    def _check_tags(self, items: list[pytest.Item]) -> None:
        """Every tag a threshold or --llm-must-pass names must be carried by a collected case (before -k)."""
        cases = [item.case for item in items if isinstance(item, CaseItem)]
        gating.check_tags(
            self.settings, self.thresholds, [tag for case in cases for tag in case.tags] if cases else None
        )

    @pytest.hookimpl(trylast=True, specname="pytest_collection_modifyitems")
    def _reference_first(self, items: list[pytest.Item]) -> None:
        """After deselection: each case's item under the --llm-baseline-prompt prompt runs before its other prompts'
        items, so that they can be compared with it when they run (xdist workers all sort alike)."""
        if self.baseline_prompt is None:
            return
        reference = self.baseline_prompt
        order = {id(item): index for index, item in enumerate(items)}
        first: dict[str, int] = {}
        for item in items:
            if isinstance(item, CaseItem):
                first.setdefault(item.case.id, order[id(item)])

        def key(item: pytest.Item) -> tuple[int, int, int]:
            if not isinstance(item, CaseItem):
                return (order[id(item)], 0, 0)
            return (first[item.case.id], 0 if item.prompt.name == reference else 1, order[id(item)])

        items.sort(key=key)

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.collected_cases = sum(isinstance(item, CaseItem) for item in session.items)
        self.selected = {
            item.nodeid: (item.case.id, item.prompt.name, self.runner.is_critical(item), self.runner_of(item).model)
            for item in session.items
            if isinstance(item, CaseItem)
        }
        for path, count in Counter(item.path for item in session.items if isinstance(item, CaseItem)).items():
            self.collected.item_selected(path, count)  # once per case file, not once per item
        self.collected.finished = True
        self.full_run = self._full_run()
        from .fixture import module_and_test

        for item in session.items:
            if isinstance(item, pytest.Function):
                self.test_modules.add(module_and_test(item)[0])
                if "llm" in item.fixturenames:
                    self.fixture_items.append(item)
        if self.selected:
            self._forget_old_outputs()

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """After pytest's junitxml wrote the item: a gated failure is a ``<failure>`` there, not ``skipped``."""
        # Cheap tests first: this runs for every phase of every item, and a JUnit XML is written only with
        # --junitxml (never by an xdist worker: its controller writes it).
        if report.when == "call" and report.skipped and self._junit_xml() and not self.is_worker:
            from .junit import gated_as_failure

            gated_as_failure(self.config, report)

    def pytest_runtest_logfinish(self, nodeid: str, location: tuple[str, int | None, str]) -> None:
        # The asking process's lines (its death mid-run, seen by a thread) are written between items: inside one,
        # pytest would capture them as the item's output.
        self.runners.asking.tell()

    def _junit_xml(self) -> bool:
        """Whether pytest writes a JUnit XML in this process (``--junitxml``; its plugin may be disabled)."""
        return bool(getattr(self.config.option, "xmlpath", None))

    @pytest.hookimpl(tryfirst=True)  # before the terminal reporter formats it
    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        self.keyboard = _keyboard_reason(excinfo.value)
        _drop_lineless_frames(excinfo)

    def _check_ids(self, items: list[pytest.Item]) -> None:
        seen: dict[str, CaseItem] = {}
        for item in items:
            if not isinstance(item, CaseItem):
                continue
            other = seen.setdefault(item.case.id, item)
            if other.case.path != item.case.path:
                show = self.runner.show_path
                raise pytest.UsageError(
                    f"{show(Path(item.case.path))}:{item.case.line}: case id '{item.case.id}' is already used at "
                    f"{show(Path(other.case.path))}:{other.case.line}; case ids must be unique in a suite"
                )

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.collected.errors.append(f"collecting {report.nodeid or 'the session'} failed")

    # --- xdist ------------------------------------------------------------------------------------------------

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        if not (self.is_worker or self.config.option.collectonly):
            self._sigterm_interrupts()
        self._start_helpers()
        if self.distributed:
            # Resolve once here, so workers neither start a server each nor fail one by one.
            with usage_errors():
                for runner in self.runners:
                    runner.prepare()
                self._check_models()
        if len(self.runners) > 1:
            self.labelled()  # the models name the node ids: known before collection, a bad one a usage error

    def _forget_old_outputs(self) -> None:
        """An earlier run's results and reports must never pass for this run's: once cases are collected they are
        removed, and written at the end (a run killed with -9 leaves none rather than a stale one). A session that
        collects no case (a project's own unit tests) leaves them alone."""
        if self.forgotten or self.is_worker or self.config.option.collectonly:
            return
        self.forgotten = True
        outputs.forget(self.settings, self.config.invocation_params.dir)

    def _sigterm_interrupts(self) -> None:
        """SIGTERM (a CI job cancelled, a container stopped) ends the session as Ctrl-C does, so that the
        results and reports are still written, marked incomplete. Only when nobody else handles SIGTERM; Ctrl-C
        keeps Python's meaning, and is remembered too (:meth:`_on_signal`)."""
        if threading.current_thread() is not threading.main_thread():
            return
        with contextlib.suppress(ValueError, OSError, AttributeError):
            if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
                self._old_sigterm = signal.signal(signal.SIGTERM, self._on_signal)
            if signal.getsignal(signal.SIGINT) is signal.default_int_handler:  # not ignored (nohup), not a user's
                self._old_sigint = signal.signal(signal.SIGINT, self._on_signal)

    def _on_signal(self, signum: int, frame: Any) -> None:
        """Raise KeyboardInterrupt, as Python's own SIGINT handler does, and remember it for the runner's waits.

        Python raises it at the next bytecode of the main thread; when that is a finalizer (a ``__del__`` or a
        weakref callback the garbage collector runs here, e.g. for objects of the asking thread), it is printed as
        "Exception ignored in" and dropped, and an item waiting on a stalled endpoint would wait out the timeout
        (found under load: 2 of 33 runs of the Ctrl-C test hung). The runner raises it again within half a second."""
        args = (_SIGTERM,) if signum == signal.SIGTERM else ()
        for runner in self.runners:
            runner.recorder.interrupted = args
        raise KeyboardInterrupt(*args)

    # --- running ----------------------------------------------------------------------------------------------

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtestloop(self, session: pytest.Session) -> Generator[None, None, None]:
        items = [item for item in session.items if isinstance(item, CaseItem)]
        if items and not self.distributed:
            with usage_errors():
                for runner in self.runners:
                    runner.resolve_model()
                self._check_models()
                self.runners.give_baseline(self.baseline)
                if not self.is_worker and not session.config.option.collectonly:
                    self.runners.prefetch(items, self.runner_of)
        try:
            yield
        finally:
            self.stop()

    def stop(self) -> None:
        self.runners.stop()

    def _check_models(self) -> None:
        """A ``MODEL:`` threshold must name a model of the run (else it would check nothing)."""
        gating.check_threshold_models(self.settings, self.scoped_thresholds, self.runners.models)

    # --- the end ----------------------------------------------------------------------------------------------

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        self.stop()
        if self.config.option.collectonly or exitstatus == pytest.ExitCode.USAGE_ERROR:
            return
        used = self._used(session)
        if self.is_worker:
            from .distributed import send_results

            send_results(self, used)
            return
        cases = list(self.worker_results.values()) if self.distributed else self.runners.results()
        if not cases and not self.collected_cases:
            if self.fixture_items and self.runner.model is not None and not self.distributed:
                self._unused(session, exitstatus, used)  # only tests of the llm fixture: their cassettes
            return  # not an llmcmp run (e.g. a project's own unit tests)
        results = self.runner.run_results(cases)
        if len(self.runners) > 1:  # the top-level model and endpoint are one run's; each case names its model
            results.model = None
            results.endpoint = None if len({r.endpoint_url for r in self.runners}) > 1 else results.endpoint
        self.final = results
        not_recorded = self.worker_not_recorded if self.distributed else self.runners.not_recorded()
        interrupted = _interruption(session, exitstatus, self.keyboard)
        ran = len(cases) + len(not_recorded)  # (items a user's plugin skipped are selected but never ran)
        command = self.runners.record_command(not_recorded) if not_recorded else None
        ending = gating.Ending(
            baseline=self.baseline,
            baseline_prompt=self.baseline_prompt,
            prompts=[p.name for p in self.runner.prompts],
            selected=list(self.selected.values()),
            full_run=self.full_run,
            not_recorded=list(not_recorded.values()),
            record_command=command,
            interrupted=interrupted,
        )
        self.conclusion = gating.conclude(results, self.settings, self.thresholds, ending, self.scoped_thresholds)
        failed = self.conclusion.failed or bool(
            not_recorded
        )  # a run must carry its recordings; skipping is not passing
        if failed and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        ok = session.exitstatus == pytest.ExitCode.OK and exitstatus == pytest.ExitCode.OK
        self.status = RunStatus(
            ok=ok,
            interrupted=interrupted,
            ran=ran,
            selected=len(self.selected) or self.collected_cases,
            not_recorded=len(not_recorded),
            record_command=command,
            decision=self.conclusion.decision,
            partial_models=self.runners.partial_models(
                [item[3] for item in self.selected.values()], [item[3] for item in not_recorded.values()]
            ),
            baseline_note=self.conclusion.baseline_note,
        )
        results.extra = gating.results_extra(results, self.status, self.conclusion, self.not_recorded_items())
        self._unused(session, exitstatus, used | self.worker_used)
        self.written, self.write_problems = outputs.write(
            self.settings,
            self.config.invocation_params.dir,
            self.config.rootpath,
            results,
            self.conclusion.comparison,
            self.conclusion.gates,
            self.status,
        )
        if self.write_problems and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def not_recorded_items(self) -> list[tuple[str, str, str, str | None]]:
        """The items without a recording, as (case id, prompt name, why, model): the workers' on an xdist
        controller."""
        return list((self.worker_not_recorded if self.distributed else self.runners.not_recorded()).values())

    def _full_run(self) -> bool:
        """Whether the arguments ask for the whole suite (the gate's guess; pruning relies on :meth:`_incomplete`)."""
        option = self.config.option
        if getattr(option, "keyword", "") or getattr(option, "markexpr", "") or getattr(option, "deselect", None):
            return False
        if getattr(option, "lf", False) or getattr(option, "exitfirst", False):
            return False
        base = self.config.invocation_params.dir
        return all((base / arg).is_dir() for arg in self.config.args)

    def _used(self, session: pytest.Session) -> set[Path]:
        used = set()
        for item in session.items:
            if isinstance(item, CaseItem):
                runner = self.runner_of(item)
                if runner.model is not None:
                    used.add(runner.planned_path(item))
        if self.runner.model is not None:
            from .fixture import test_cassette_of

            used |= {test_cassette_of(item, self.runner) for item in self.fixture_items} | self.test_cassettes
        return used

    def _incomplete(self, session: pytest.Session, exitstatus: int) -> str | None:
        """Why this run did not provably see the whole suite (see :mod:`pytest_llmcmp.collected`), or ``None``."""
        if self.collected.errors:  # pytest reports a collection error as an interruption too
            return self.collected.errors[0]
        if exitstatus == pytest.ExitCode.INTERRUPTED:
            return "the run was interrupted"
        if session.shouldfail or session.shouldstop:
            return "the run stopped early"
        if self.distributed and self.workers_merged == 0:
            return "no xdist worker reported its collection"
        runner = self.runner
        files = project_case_files(
            runner.project_dir,
            Path(str(self.config.rootpath)),
            skip=[runner.cassette_root],
            norecursedirs=self.config.getini("norecursedirs"),
        )
        return self.collected.incomplete(files)

    def _unused(self, session: pytest.Session, exitstatus: int, used: set[Path]) -> None:
        root = self.runner.cassette_root
        models = self.runners.models
        if not models:
            if self.settings.prune:
                self.prune_blocked = self._incomplete(session, exitstatus) or "no model was recorded or asked"
            return
        from .housekeeping import prune, unused

        found = {}
        for model in models:  # each model's directory: what no collected case of it uses
            found_here = unused(root, model, used, {p.name for p in self.runner.prompts})
            if found_here is not None:
                found[model] = found_here
        tests = self._unused_tests(used)  # the llm fixture's, under the first model
        if not found and not tests:
            return
        self.leftovers = [path for leftovers, _ in found.values() for path in leftovers]
        candidates = sorted([path for _, paths in found.values() for path in paths] + tests)
        if candidates or self.settings.prune:
            self.prune_blocked = self._incomplete(session, exitstatus)
        if self.prune_blocked is None:
            self.unused = candidates
        if self.settings.prune:
            for model, (leftovers, paths) in found.items():
                prune(root, model, leftovers + (paths if self.prune_blocked is None else []))
            if tests and self.prune_blocked is None and self.runner.model is not None:
                prune(root, self.runner.model, tests)
            self.pruned = len(self.unused)

    def _unused_tests(self, used: set[Path]) -> list[Path]:
        """The cassettes of the llm fixture's tests that no collected test uses, in the modules this run collected
        whole (none when the run selected tests: -k, -m, a node id)."""
        if self.runner.model is None or not self.full_run or self.is_worker:
            return []
        from .housekeeping import unused_test_cassettes

        return unused_test_cassettes(self.runner.cassette_root, self.runner.model, self.test_modules, used)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        from .summary import write_summary

        write_summary(terminalreporter, self)


SESSION = "llmcmp-session"


def ensure_session(config: pytest.Config, late: bool = False) -> LlmSession:
    """The session plugin, registered the first time the run uses the plugin: at configure time when one of its
    settings is given, else when the first case file is collected (``late``). A run of ordinary unit tests never
    registers it: no llmcmp header, no llmcmp hooks."""
    session: LlmSession | None = config.pluginmanager.get_plugin(SESSION)
    if session is not None:
        return session
    from .prompts import PromptError, load_prompts

    settings = config.stash[SETTINGS_KEY]
    try:
        bases = [Path(config.invocation_params.dir), Path(str(config.rootpath))]
        prompts = load_prompts(list(settings.prompts), bases, settings.origin("prompt"))
    except PromptError as exc:
        raise pytest.UsageError(str(exc)) from None
    session = LlmSession(config, settings, prompts)
    config.stash[RUNNER_KEY] = session.runner
    config.pluginmanager.register(session, SESSION)
    if late:
        session.start_late()
    return session


class PytestHost:
    """What the engine needs from pytest (:class:`~pytest_llmcmp.engine.host.Host`): the plugin's hooks, the
    terminal reporter, where pytest runs."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.invocation_dir = Path(config.invocation_params.dir)

    @property
    def builtin_extractor_only(self) -> bool:
        """Whether no plugin or conftest implements ``pytest_llmcmp_extract_choice`` beside the built-in one."""
        from . import builtin

        impls = self.config.hook.pytest_llmcmp_extract_choice.get_hookimpls()
        return len(impls) == 1 and impls[0].function is builtin.pytest_llmcmp_extract_choice

    def build_messages(self, case: Any, prompt: Prompt, messages: list[dict[str, Any]]) -> None:
        self.config.hook.pytest_llmcmp_build_messages(case=case, prompt=prompt, messages=messages)

    def extract(self, answer: str, case: Any, prompt: Prompt, finish_reason: str | None = None) -> Any:
        return self.config.hook.pytest_llmcmp_extract_choice(
            answer=answer, case=case, prompt=prompt, finish_reason=finish_reason
        )

    def write_line(self, line: str) -> None:
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            # Between items of a -q run the line of progress dots is open (write_line would go on it).
            if getattr(getattr(reporter, "_tw", None), "width_of_current_line", 0):
                reporter.write("\n")
            reporter.write_line(line)

    def progress_enabled(self) -> bool:
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is None or self.config.get_verbosity() < 0:
            return False
        if self.config.stash[SETTINGS_KEY].progress:
            return True
        return bool(reporter.isatty) and not os.environ.get("CI")


@contextlib.contextmanager
def usage_errors() -> Generator[None, None, None]:
    """The engine's errors, shown as pytest shows a usage error: one line, no traceback."""
    try:
        yield
    except StopRun:
        raise  # the item stops the session itself (items.py)
    except EngineError as exc:
        raise pytest.UsageError(str(exc)) from None


_SIGTERM = "SIGTERM received"


def _keyboard_reason(exc: BaseException) -> str:
    """Why pytest reported a keyboard interrupt: SIGTERM, Ctrl-C, or pytest's own stop after collection errors
    (``Session.Interrupted("1 error during collection")``, a ``KeyboardInterrupt`` nobody typed)."""
    if str(exc) == _SIGTERM:
        return "SIGTERM"
    if isinstance(exc, pytest.Session.Interrupted):
        match = re.fullmatch(r"(\d+) errors? during collection", str(exc))
        if match:
            return f"collection errors ({match.group(1)})"
        return str(exc) or "the session was interrupted"
    return "Ctrl-C"


def _drop_lineless_frames(excinfo: pytest.ExceptionInfo[BaseException]) -> None:
    """Unlink the frames without a line number from the interrupt's traceback (and those it was raised from).

    A Ctrl-C lands on whatever instruction the main thread runs; on Python >= 3.11 some have no line number (found
    under load: in pytest's assertion rewriting of a module imported lazily while an item judged), and pytest's
    terminal reporter, formatting the interrupt, then fails with a TypeError (``tb_lineno - 1``): the session
    ended with exit code 1 and a traceback instead of 2. Those frames have no source to show anyway."""
    seen: set[int] = set()
    exc: BaseException | None = excinfo.value
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        tb = exc.__traceback__
        while tb is not None and tb.tb_next is not None:
            if tb.tb_next.tb_lineno is None:
                tb.tb_next = tb.tb_next.tb_next
            else:
                tb = tb.tb_next
        exc = exc.__cause__ or exc.__context__
    with contextlib.suppress(Exception):  # the first frame too, in the traceback pytest formats
        excinfo.traceback = excinfo.traceback.filter(_has_line)


def _has_line(entry: Any) -> bool:
    return entry._rawentry.tb_lineno is not None  # (entry.lineno is what fails)


def _interruption(session: pytest.Session, exitstatus: int, keyboard: str | None) -> str | None:
    """Why the run stopped before its end (``None`` if it did not): Ctrl-C, SIGTERM, -x, --maxfail."""
    if keyboard is not None:
        return keyboard
    for reason in (session.shouldfail, session.shouldstop):
        if reason:
            return reason if isinstance(reason, str) else "the session was stopped"
    if exitstatus == pytest.ExitCode.INTERRUPTED:
        return "the session was interrupted (errors during collection?)"
    return None
