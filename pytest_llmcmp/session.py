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
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

import pytest

from .atomic import write_atomically
from .baseline import Comparison, Gate, accuracy_gates, compare, compare_prompts
from .cases import GenerateBudget
from .collected import Collected, project_case_files
from .config import Settings, input_path, parse_thresholds, project_dir
from .engine import EngineError
from .engine.runner import Runner
from .gates import Decision, GatePolicy, RunStatus, combine, decide
from .items import BUDGET_KEY, COLLECTED_KEY, RUNNER_KEY, SETTINGS_KEY, CaseItem
from .prompts import Prompt
from .redaction import public_url, scrub
from .results import CaseResult, ResultsFileError, RunResults
from .terminal import shown
from .words import plural


class LlmSession:
    """Hooks of one pytest session (controller, worker or plain run)."""

    def __init__(self, config: pytest.Config, settings: Settings, prompts: list[Prompt]) -> None:
        self.config = config
        self.settings = settings
        self.runner = Runner(PytestHost(config), settings, prompts, project_dir(config))
        self.late = False  # registered during collection (no option given): the header comes after collection
        self.workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
        self.is_worker = self.workerinput is not None
        self.worker_results: dict[str, CaseResult] = {}  # by node id, as the runner keeps its own
        self.worker_used: set[Path] = set()
        self.collected_cases = 0
        self.comparison: Comparison | None = None
        self.gates: list[Gate] = []
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
        self.decision: Decision | None = None
        # The selected (case, prompt) items, as plain values: (node id, case id, prompt name, critical). On an xdist
        # controller, which collects nothing, they come from the workers.
        self.selected: dict[str, tuple[str, str, bool]] = {}
        self.full_run = True
        self.worker_not_recorded: dict[str, tuple[str, str, str]] = {}
        self._old_sigterm: Any = None
        self._old_sigint: Any = None
        self.forgotten = False  # the outputs of an earlier run were removed
        self.keyboard: str | None = None  # "Ctrl-C" or "SIGTERM", when the session was interrupted so
        self.started = time.monotonic()
        self.thresholds = parse_thresholds(settings.min_accuracy, settings.origin("min_accuracy"))
        self._check_threshold_prompts(prompts)
        self._check_outputs()
        self.baseline = self._load_baseline()
        if self.baseline is not None:
            self.runner.baseline = {case.key: case for case in self.baseline.cases}
        self.baseline_prompt = self._baseline_prompt(prompts)
        self.runner.reference = self.baseline_prompt
        if self.workerinput is not None and self.workerinput.get("llmcmp_model"):
            # The controller resolved the model (and checked the endpoint) once for every worker.
            self.runner.use_endpoint(self.workerinput["llmcmp_model"], self.workerinput.get("llmcmp_url"))

    @property
    def distributed(self) -> bool:
        """Whether this process is an xdist controller handing the items to workers (``-n N``, or ``-d --tx ...``).

        Asked of xdist itself, whose distributed session plugin exists exactly then; it registers after this plugin
        is configured, so this is a property, not a value fixed at configure time."""
        return not self.is_worker and self.config.pluginmanager.has_plugin("dsession")

    def _check_outputs(self) -> None:
        """Before anything runs: an output path that names a directory, a device, a FIFO or a symlink is refused."""
        from .safefiles import NotRegularFile, check_write_target

        base = self.config.invocation_params.dir
        for kind in OUTPUTS:
            option, target = f"--llm-{kind}", getattr(self.settings, kind)
            if target is None:
                continue
            try:
                check_write_target(Path(target) if Path(target).is_absolute() else base / target)
            except NotRegularFile as exc:
                raise pytest.UsageError(f"{option}: {target} {exc.strerror}") from None

    def _load_baseline(self) -> RunResults | None:
        if self.settings.baseline is None:
            return None
        path = input_path(self.config, self.settings.baseline)
        try:
            return RunResults.load(path)
        except ResultsFileError as exc:
            raise pytest.UsageError(f"--llm-baseline: {exc}") from None

    def _baseline_prompt(self, prompts: list[Prompt]) -> str | None:
        spec = self.settings.baseline_prompt
        if spec is None:
            return None
        name = Path(spec).stem if spec.endswith((".md", ".txt")) or "/" in spec else spec
        names = [p.name for p in prompts]
        if name not in names:
            raise pytest.UsageError(
                f"--llm-baseline-prompt: '{name}' is not one of this run's prompts ({', '.join(names)}); "
                "add it with --llm-prompt"
            )
        if len(names) < 2:
            raise pytest.UsageError("--llm-baseline-prompt needs at least one other --llm-prompt to compare with")
        return name

    def _check_threshold_prompts(self, prompts: list[Prompt]) -> None:
        """A threshold naming a prompt this run does not have would check nothing: a usage error, not a green run."""
        names = [p.name for p in prompts]
        unknown = [name for name in self.thresholds[1] if name not in names]
        if unknown:
            raise pytest.UsageError(
                f"{self.settings.origin('min_accuracy')}: no prompt named {', '.join(map(repr, unknown))} in this "
                f"run (its prompts: {', '.join(names)}); per-tag minimums are written 'tag:NAME=X'"
            )

    def close(self) -> None:
        self.runner.stop()
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
        if not (self.is_worker or self.distributed or self.config.option.collectonly):
            self.runner.read_ahead_early()

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
        if s.max_tokens is not None:
            params += f", max_tokens {s.max_tokens}"
        if s.seed is not None:
            params += f", seed {s.seed}"
        lines = [
            f"llmcmp: {mode}, {where}, model {s.model or '(auto)'}",
            f"llmcmp: prompts {prompts}; {params}; samples {s.samples} (pass rule {s.pass_rule})",
        ]
        if s.live:
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
        wanted = [(tag, self.settings.origin("min_accuracy")) for tag in self.thresholds[2]]
        wanted += [(tag, self.settings.origin("must_pass")) for tag in self.settings.must_pass]
        if not wanted or not any(isinstance(item, CaseItem) for item in items):
            return
        known = sorted({tag for item in items if isinstance(item, CaseItem) for tag in item.case.tags})
        for tag, origin in wanted:
            if tag not in known:
                import difflib

                close = difflib.get_close_matches(tag, known, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise pytest.UsageError(
                    f"{origin}: no collected case is tagged {tag!r}{hint} "
                    f"(its tags: {', '.join(known[:40])}{' …' if len(known) > 40 else ''})"
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
            item.nodeid: (item.case.id, item.prompt.name, self.runner.is_critical(item))
            for item in session.items
            if isinstance(item, CaseItem)
        }
        for item in session.items:
            if isinstance(item, CaseItem):
                self.collected.item_selected(item.path)
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
        if report.user_properties and not self.is_worker:
            from .junit import gated_as_failure

            gated_as_failure(self.config, report)

    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        self.keyboard = _keyboard_reason(excinfo.value)

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
        if not (self.is_worker or self.distributed or self.config.option.collectonly):
            self.runner.read_ahead_early()
        if self.distributed:
            # Resolve once here, so workers neither start a server each nor fail one by one.
            with usage_errors():
                self.runner.prepare()

    def _outputs(self) -> list[tuple[str, Path]]:
        base = self.config.invocation_params.dir
        targets = [(kind, getattr(self.settings, kind)) for kind in OUTPUTS]
        return [(kind, Path(t) if Path(t).is_absolute() else base / t) for kind, t in targets if t is not None]

    def _forget_old_outputs(self) -> None:
        """An earlier run's results and reports must never pass for this run's: once cases are collected they are
        removed, and written at the end (a run killed with -9 leaves none rather than a stale one). A session that
        collects no case (a project's own unit tests) leaves them alone."""
        if self.forgotten or self.is_worker or self.config.option.collectonly:
            return
        self.forgotten = True
        for _, path in self._outputs():
            with contextlib.suppress(OSError):
                if path.is_file() and not path.is_symlink():  # anything else is the output writer's to refuse
                    path.unlink()

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
        self.runner.recorder.interrupted = args
        raise KeyboardInterrupt(*args)

    # --- running ----------------------------------------------------------------------------------------------

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtestloop(self, session: pytest.Session) -> Generator[None, None, None]:
        items = [item for item in session.items if isinstance(item, CaseItem)]
        if items and not self.distributed:
            with usage_errors():
                self.runner.resolve_model()
                if not self.is_worker and not session.config.option.collectonly:
                    self.runner.prefetch(items)
        try:
            yield
        finally:
            self.runner.stop()

    # --- the end ----------------------------------------------------------------------------------------------

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        self.runner.stop()
        if self.config.option.collectonly or exitstatus == pytest.ExitCode.USAGE_ERROR:
            return
        used = self._used(session)
        if self.is_worker:
            from .distributed import send_results

            send_results(self, used)
            return
        cases = list((self.worker_results if self.distributed else self.runner.results).values())
        if not cases and not self.collected_cases:
            if self.fixture_items and self.runner.model is not None and not self.distributed:
                self._unused(session, exitstatus, used)  # only tests of the llm fixture: their cassettes
            return  # not an llmcmp run (e.g. a project's own unit tests)
        results = self.runner.run_results(cases)
        self.final = results
        not_recorded = self.worker_not_recorded if self.distributed else self.runner.not_recorded
        missing = {(case_id, prompt) for case_id, prompt, _ in not_recorded.values()}
        if self.baseline_prompt is not None:  # the more specific question wins over an ini file's baseline
            others = [p.name for p in self.runner.prompts if p.name != self.baseline_prompt]
            self.comparison = compare_prompts(results, self.baseline_prompt, others, not_recorded=missing)
        elif self.baseline is not None:
            selected = None if self.full_run else {(case_id, prompt) for case_id, prompt, _ in self.selected.values()}
            self.comparison = compare(
                self.baseline,
                results,
                label=f"baseline {self.settings.baseline}",
                selected=selected,
                not_recorded=missing,
            )
        interrupted = _interruption(session, exitstatus, self.keyboard)
        ran = len(cases) + len(not_recorded)  # (items a user's plugin skipped are selected but never ran)
        command = None
        if not_recorded:
            command = self.runner.record_command_for(
                [(nodeid, prompt) for nodeid, (_, prompt, _) in not_recorded.items()]
            )
        s = self.settings
        if self.comparison is not None:
            critical = {case_id for case_id, _, is_critical in self.selected.values() if is_critical}
            self.decision = decide(
                self.comparison,
                GatePolicy(s.gate, s.alpha, s.max_drop, s.max_regressions),
                critical=critical,
                rule=s.pass_rule,
                not_recorded=len(not_recorded),
                record_command=command,
                interrupted=interrupted,
            )
        self.gates = self._gates(results)
        self.decision = combine(self.decision, self.gates)  # one decision: the comparison and the thresholds
        failed = any(not gate.ok for gate in self.gates) or (self.decision is not None and not self.decision.ok)
        failed = failed or bool(not_recorded)  # a run must carry its recordings; skipping is not passing
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
            decision=self.decision,
        )
        results.extra = self._extra(results)
        self._unused(session, exitstatus, used | self.worker_used)
        self._write(results)
        if self.write_problems and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def _gates(self, results: RunResults) -> list[Gate]:
        gates: list[Gate] = []
        overall, per_prompt, per_tag = self.thresholds
        if overall is not None or per_prompt or per_tag:
            gates += accuracy_gates(
                results,
                overall if overall is not None else 0.0,
                per_prompt,
                per_tag,
                source=self.settings.origin("min_accuracy"),
            )
        return gates

    def _extra(self, results: RunResults) -> dict[str, Any]:
        """What this run adds to the results JSON (schema 1, additive): completeness, statistics, the decision."""
        assert self.status is not None
        extra: dict[str, Any] = self.status.to_json()
        if results.cases:
            from .stats import run_intervals

            extra["statistics"] = run_intervals(results)
        if self.comparison is not None:
            extra["comparison"] = {
                "label": self.comparison.label,
                "regressions": len(self.comparison.regressions),
                "improvements": len(self.comparison.improvements),
                "new": len(self.comparison.new),
                "removed": len(self.comparison.removed),
                "not_run": self.comparison.not_run,
            }
        if self.decision is not None:
            extra["gate"] = self.decision.to_json()
        extra["not_recorded"] = sorted(
            [{"id": case_id, "prompt": prompt, "reason": why} for case_id, prompt, why in self._not_recorded()],
            key=lambda entry: (entry["id"], entry["prompt"]),
        )
        return extra

    def _not_recorded(self) -> list[tuple[str, str, str]]:
        return list((self.worker_not_recorded if self.distributed else self.runner.not_recorded).values())

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
        if self.runner.model is None:
            return set()
        from .fixture import test_cassette_of

        used = {self.runner.planned_path(item) for item in session.items if isinstance(item, CaseItem)}
        return used | {test_cassette_of(item, self.runner) for item in self.fixture_items} | self.test_cassettes

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
        model = self.runner.model
        if model is None:
            if self.settings.prune:
                self.prune_blocked = self._incomplete(session, exitstatus) or "no model was recorded or asked"
            return
        from .housekeeping import prune, unused

        found = unused(root, model, used, {p.name for p in self.runner.prompts})
        tests = self._unused_tests(used)
        if found is None and not tests:
            return
        self.leftovers, candidates = found if found is not None else ([], [])
        candidates = sorted(candidates + tests)
        if candidates or self.settings.prune:
            self.prune_blocked = self._incomplete(session, exitstatus)
        if self.prune_blocked is None:
            self.unused = candidates
        if self.settings.prune:
            prune(root, model, self.leftovers + self.unused)
            self.pruned = len(self.unused)

    def _unused_tests(self, used: set[Path]) -> list[Path]:
        """The cassettes of the llm fixture's tests that no collected test uses, in the modules this run collected
        whole (none when the run selected tests: -k, -m, a node id)."""
        if self.runner.model is None or not self.full_run or self.is_worker:
            return []
        from .housekeeping import unused_test_cassettes

        return unused_test_cassettes(self.runner.cassette_root, self.runner.model, self.test_modules, used)

    def _write(self, results: RunResults) -> None:
        from .safefiles import shown_output

        for kind, path in self._outputs():
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                _atomic_text(path, OUTPUTS[kind](results, self.comparison, self.gates, self.status))
            except OSError as exc:  # a full disk, a directory, /proc: one line, not a traceback
                target = getattr(self.settings, kind)
                self.write_problems.append(f"--llm-{kind}: cannot write {target}: {exc.strerror or exc}")
                continue
            self.written.append(shown_output(getattr(self.settings, kind), path, self.config.rootpath))

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.final is None:
            if self.unused or self.pruned or (self.settings.prune and self.fixture_items):
                tr = _Escaped(terminalreporter)
                tr.write_sep("=", "llmcmp")
                self._housekeeping_lines(tr)  # a run of the llm fixture's tests only
            return
        from .reports.terminal import terminal_summary

        tr = _Escaped(terminalreporter)
        tr.write_sep("=", "llmcmp")
        for line in terminal_summary(self.final, self.comparison, self.gates, self.status):
            failed = line.startswith(("gate failed", "gate not decided", "interrupted"))
            tr.write_line(line, red=failed, bold=failed)
        if self.status is not None and self.status.not_recorded:
            tr.write_line(self.status.recording_line(), yellow=True, bold=True)
            hint = self.runner.recorded_elsewhere([(case, prompt) for case, prompt, _ in self._not_recorded()])
            if hint is not None:
                tr.write_line(hint, yellow=True, bold=True)
        runner = self.runner
        if runner.asked:
            took = time.monotonic() - self.started
            stopped = f" of {runner.asked} queued (the run stopped early)" if runner.answered < runner.asked else ""
            tr.write_line(
                f"asked {plural(runner.answered, 'request')} live{stopped}, {runner.failed_requests} failed, "
                f"in {took:.1f}s; "
                f"cassettes in {runner.show_path(runner.cassette_root)}"
            )
        self._housekeeping_lines(tr)

    def _housekeeping_lines(self, tr: _Escaped) -> None:
        """Unused cassettes, pruning, cassettes of workers elsewhere, leftovers, the files written."""
        runner = self.runner
        if self.unused:
            shown = ", ".join(runner.show_path(p) for p in self.unused[:5])
            more = f" and {len(self.unused) - 5} more" if len(self.unused) > 5 else ""
            what = "case or test" if any(_is_test_cassette(runner, p) for p in self.unused) else "case"
            if self.pruned:
                tr.write_line(f"pruned {plural(self.pruned, 'unused cassette')}: {shown}{more}")
            else:
                tr.write_line(
                    f"{plural(len(self.unused), 'cassette')} {'is' if len(self.unused) == 1 else 'are'} not used by "
                    f"any collected {what}: {shown}{more} (delete them with --llm-prune)",
                    yellow=True,
                )
        elif self.settings.prune:
            why = self.prune_blocked or "no cassette is unused"
            tr.write_line(f"--llm-prune: deleted no cassette: {why}", yellow=self.prune_blocked is not None)
        if self.received:
            tr.write_line(f"wrote {plural(self.received, 'cassette')} recorded by xdist workers elsewhere")
        for problem in self.store_problems:
            tr.write_line(problem, red=True)
        if self.leftovers:
            shown = ", ".join(runner.show_path(p) for p in self.leftovers[:3])
            more = f" and {len(self.leftovers) - 3} more" if len(self.leftovers) > 3 else ""
            what = f"{plural(len(self.leftovers), 'temporary file')} of cassette writes killed halfway: {shown}{more}"
            if self.settings.prune:
                tr.write_line(f"removed {what}")
            else:
                tr.write_line(f"{what} (delete them with --llm-prune)", yellow=True)
        for written in self.written:
            tr.write_line(f"wrote {written}")
        for problem in self.write_problems:
            tr.write_line(problem, red=True, bold=True)


def _is_test_cassette(runner: Runner, path: Path) -> bool:
    """A cassette of the llm fixture's tests (``<model>/tests/...``), not of a case."""
    from .tapes import tests_dir

    return runner.model is not None and tests_dir(runner.cassette_root, runner.model) in path.parents


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

    def extract(self, answer: str, case: Any, prompt: Prompt) -> Any:
        return self.config.hook.pytest_llmcmp_extract_choice(answer=answer, case=case, prompt=prompt)

    def write_line(self, line: str) -> None:
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
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
    except EngineError as exc:
        raise pytest.UsageError(str(exc)) from None


class _Escaped:
    """The terminal reporter, for the summary: every line without the API key and with controls escaped."""

    def __init__(self, reporter: Any) -> None:
        self._reporter = reporter

    def write_sep(self, sep: str, title: str) -> None:
        self._reporter.write_sep(sep, title)

    def write_line(self, line: str, **markup: bool) -> None:
        self._reporter.write_line(shown(line), **markup)


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


def _atomic_text(path: Path, text: str) -> None:
    """Write a report: never with the API key in it, whatever a plugin or an endpoint put in its parts."""
    write_atomically(path, scrub(text).encode("utf-8"))
