"""The session's engine: which model, what to replay, what to ask live, and the results of every case.

One :class:`Runner` lives in ``config.stash`` for the whole session. At the start of the test loop it plans every
collected (case, prompt): the request it stands for, its cassette, and which samples are replayed and which must be
asked live. Live requests are all submitted at once to the :class:`~pytest_llmcmp.client.Asker` (grouped by prompt,
so a single-slot server reuses the prompt's evaluated prefix), and each item then only waits for its own answers:
pytest reports in its usual order while the endpoint works on many requests at a time. A case's cassette is written
as soon as all its samples are in, from the asker's thread: an interrupted run keeps everything finished before.

Replay reads the recorded answer from the case's cassette and needs no HTTP client: ``openai`` is not imported.
"""

from __future__ import annotations

import concurrent.futures
import os
import shlex
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .answers import Extraction, judge
from .cassettes import (
    Cassette,
    CassetteError,
    Exchange,
    cassette_name,
    cassette_path,
    check_inside,
    key_digest,
    model_dirs,
    model_id_problem,
    recorded_answer,
    request_difference,
    request_key,
)
from .config import LOCAL, Settings
from .prompts import NO_PROMPT, Prompt
from .readahead import Job, Outcome, ReadAhead, enough_recordings, worth_it
from .redaction import public_url, scrub
from .results import TRUNCATED, CaseResult, PassRule, PromptInfo, RunResults, SampleResult
from .terminal import shown

if TYPE_CHECKING:
    from .client import Answer, Asker
    from .items import CaseItem
    from .local import LocalServer


#: Seconds between two progress lines while waiting for live answers.
PROGRESS_EVERY = 2.0


@dataclass
class Reply:
    """One sample's answer text, or why there is none."""

    content: str | None = None
    error: str | None = None
    extraction: Extraction | None = None  # what the content chose, when the read-ahead helper already extracted it
    finish_reason: str | None = None  # why the model stopped, as the response says ("length": cut off)


@dataclass
class Plan:
    """What one (case, prompt) item needs: its request, its cassette, and a reply per sample."""

    item: CaseItem
    body: dict[str, Any]
    path: Path
    replies: list[Reply | None]
    cassette: Cassette | None = None
    futures: dict[int, concurrent.futures.Future[Answer]] = field(default_factory=dict)
    saved: concurrent.futures.Future[str | None] | None = None  # once asked: why its recording was not saved, if so
    problem: str | None = None  # why the item cannot be run at all (unreadable cassette, nothing recorded)
    missing: str | None = None  # one line: why it has no recording to replay (then it is skipped, never judged)
    ahead: int | None = None  # its job in the read-ahead helper, until its outcome is taken


class Runner:
    """Plans, asks or replays, judges and collects the results of one session (one xdist worker)."""

    def __init__(self, config: pytest.Config, settings: Settings, prompts: list[Prompt]) -> None:
        self.config = config
        self.settings = settings
        self.prompts = prompts
        # The project: the ini file's directory, else where pytest runs. Not pytest's rootdir, which an existing
        # path given as an option value (--llm-results /abs/r.json) moves out of the project.
        inipath = config.inipath
        self.project_dir = Path(inipath).parent if inipath is not None else Path(config.invocation_params.dir)
        root = Path(settings.cassette_dir)
        self.cassette_root = root if root.is_absolute() else self.project_dir / root
        self.rule = PassRule.parse(settings.pass_rule)
        self.model: str | None = settings.model
        self.endpoint_url: str | None = None if settings.endpoint == LOCAL else settings.endpoint
        self.results: dict[str, CaseResult] = {}  # by node id: a rerun (pytest-rerunfailures) replaces, never adds
        # Items skipped for want of a recording, by node id: (case id, prompt name, one-line reason).
        self.not_recorded: dict[str, tuple[str, str, str]] = {}
        self.reference: str | None = None  # the prompt of --llm-baseline-prompt, set by the session
        self._by_case: dict[tuple[str, str], str] = {}  # (case id, prompt name) -> node id of its result
        self.baseline: dict[tuple[str, str], CaseResult] | None = None  # set by the session when given
        self.local: LocalServer | None = None
        self._local_checked = False  # whether an error was already checked against the local server's death
        self._asker: Asker | None = None
        self._asker_lock = threading.Lock()
        self._writer: concurrent.futures.ThreadPoolExecutor | None = None
        self._ahead: ReadAhead | None = None
        self.saved: list[Path] = []  # the cassettes this session wrote
        self.endpoint_checked = False
        self._plans: dict[str, Plan] = {}
        self._folders: dict[str, Path] = {}
        self._lock = threading.Lock()
        self.asked = 0
        self.answered = 0
        self.failed_requests = 0
        self._live_started: float | None = None
        self._last_progress = 0.0
        # The arguments of a KeyboardInterrupt the session's signal handler raised; a wait raises it again, in case
        # it was raised inside a finalizer and dropped (see LlmSession._on_signal).
        self.interrupted: tuple[str, ...] | None = None

    # --- the model and the endpoint ------------------------------------------------------------------------

    def resolve_model(self) -> None:
        """Decide the model id; raises :class:`pytest.UsageError` with one line when it cannot (or when the id
        cannot name a cassette directory: empty, not a string, too long)."""
        if self.model is None:
            self._resolve_model()
        if self.model is not None:
            problem = model_id_problem(self.model)
            if problem is not None:
                source = "--llm-model" if self.settings.model else "--llm-endpoint"
                raise pytest.UsageError(shown(f"{source}: {problem}"))

    def _resolve_model(self) -> None:
        if self.settings.endpoint == LOCAL:
            from .local import LocalModelError, check_available, find_bundled_model

            try:
                check_available(bundled=not self.settings.local_model)
                path = Path(self.settings.local_model) if self.settings.local_model else find_bundled_model()
            except LocalModelError as exc:
                raise pytest.UsageError(_local_error(exc)) from None
            self.model = path.stem  # LocalServer serves the file under its stem, wherever it is installed
        elif self.settings.endpoint is not None:
            self.model = self._models()[0]
            self.endpoint_checked = True
        else:
            models = model_dirs(self.cassette_root) if self.cassette_root.is_dir() else []
            if len(models) > 1:
                raise pytest.UsageError(
                    f"{self.show_path(self.cassette_root)} holds recordings of several models "
                    f"({', '.join(sorted(models))}); choose one with --llm-model"
                )
            self.model = models[0] if models else None

    def _models(self) -> list[str]:
        from .client import EndpointError, list_models

        try:
            return list_models(self._endpoint())
        except EndpointError as exc:
            raise pytest.UsageError(shown(f"--llm-endpoint: {exc}")) from None

    def _endpoint(self) -> Any:
        from .client import Endpoint, api_key

        assert self.endpoint_url is not None
        s = self.settings
        return Endpoint(self.endpoint_url, api_key(), s.timeout, s.retries, s.backoff, s.concurrency)

    def start_local(self) -> None:
        """Start the llama.cpp server for ``--llm-endpoint local`` (once)."""
        if self.settings.endpoint != LOCAL or self.local is not None or self.endpoint_url:
            return  # not local, already started, or an xdist worker given the controller's server
        from .local import LocalModelError, LocalServer

        model_path = Path(self.settings.local_model) if self.settings.local_model else None
        started = time.monotonic()
        try:
            server = LocalServer(model_path)
            server.start()
        except LocalModelError as exc:
            raise pytest.UsageError(_local_error(exc)) from None
        self.local = server
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(
                f"llmcmp: started llama.cpp serving {server.model} at {server.url} (pid {server.pid}) "
                f"in {time.monotonic() - started:.1f}s"
            )
        self.endpoint_url = server.url
        if self.settings.model is None:
            self.model = server.model

    def stop(self) -> None:
        """Stop asking, and stop the local server if this process started it."""
        if self._asker is not None:
            self._asker.close()
            self._asker = None
        if self._ahead is not None:
            self._ahead.close()
            self._ahead = None
        if self._writer is not None:
            self._writer.shutdown(wait=True)  # every answer that came in is on disk before the session ends
            self._writer = None
        if self.local is not None:
            self.local.stop()
            self.local = None

    def check_endpoint(self) -> None:
        """Before the first live request: is the endpoint reachable, is the key accepted, is the model served?"""
        if self.endpoint_checked or self.settings.endpoint in (None, LOCAL):
            return
        models = self._models()
        if self.model not in models:
            raise pytest.UsageError(  # the ids come from the endpoint: no key, no control characters
                shown(
                    f"--llm-model: {public_url(self.endpoint_url or '')} does not serve {self.model!r} "
                    f"(it serves: {', '.join(models)})"
                )
            )
        self.endpoint_checked = True

    def _ensure_asker(self) -> Asker:
        with self._asker_lock:
            if self._asker is None:
                self.start_local()
                self.check_endpoint()
                from .client import Asker

                self._asker = Asker(self._endpoint(), on_answer=self._count)
                self._live_started = time.monotonic()
            return self._asker

    def _count(self, answer: Answer) -> None:
        with self._lock:
            self.answered += 1
            if answer.error is not None:
                self.failed_requests += 1

    # --- planning --------------------------------------------------------------------------------------------

    def request_body(self, item: CaseItem) -> dict[str, Any]:
        """The chat-completion request for an item: identical in record and in replay mode."""
        messages: list[dict[str, Any]] = []
        if item.prompt.text is not None:
            messages.append({"role": "system", "content": item.prompt.text})
        messages.append({"role": "user", "content": item.case.question})
        self.config.hook.pytest_llmcmp_build_messages(case=item.case, prompt=item.prompt, messages=messages)
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "temperature": self.settings.temperature,
        }
        if self.settings.max_tokens is not None:
            body["max_tokens"] = self.settings.max_tokens
        if self.settings.seed is not None:
            body["seed"] = self.settings.seed
        return body

    def planned_path(self, item: CaseItem) -> Path:
        """The item's cassette, from its plan when it has one."""
        plan = self._plans.get(item.nodeid)
        return plan.path if plan is not None and plan.body else self.cassette_for(item)

    def cassette_for(self, item: CaseItem) -> Path:
        assert self.model is not None
        folder = self._folders.get(item.prompt.name)
        if folder is None:  # one directory per (model, prompt): build it once, not once per case
            prompt = item.prompt
            folder = cassette_path(self.cassette_root, self.model, prompt.name, prompt.sha256, "x").parent
            self._folders[item.prompt.name] = folder
        return folder / cassette_name(item.case.id)

    def plan(self, item: CaseItem) -> Plan:
        """Decide, per sample, replay or live; nothing is sent here."""
        plan = self._plans.get(item.nodeid)
        if plan is not None and plan.ahead is None:
            return plan
        if plan is None:
            plan = self._new_plan(item)
            if plan.problem is not None or self.settings.record_mode == "all":
                return plan  # nothing to read
        self._read(plan)
        return plan

    def _new_plan(self, item: CaseItem) -> Plan:
        samples = self.settings.samples
        if self.model is None:
            plan = Plan(item, {}, Path(), [None] * samples)
            plan.problem = self._nothing_recorded()
            if self.settings.record_mode == "none":
                plan.missing = f"no recordings in {self.show_path(self.cassette_root)}"
        else:
            plan = Plan(item, self.request_body(item), self.cassette_for(item), [None] * samples)
        self._plans[item.nodeid] = plan
        return plan

    def _read(self, plan: Plan) -> None:
        """Fill in the samples the item's cassette holds, from the read-ahead helper or from the file."""
        mode = self.settings.record_mode
        outcome: Outcome = None
        if plan.ahead is not None:
            outcome = self._ahead.outcome(plan.ahead) if self._ahead is not None else None
            plan.ahead = None
        if outcome is None:
            try:
                cassette = Cassette.load(plan.path)  # a missing file gives an empty cassette
            except CassetteError as exc:
                outcome = exc.message
            else:
                if mode != "none":
                    plan.cassette = cassette  # new recordings are added to it
                found = [recorded_answer(cassette.find(plan.body, s)) for s in range(1, len(plan.replies) + 1)]
                outcome = (len(cassette) > 0 or plan.path.is_file(), found, [None] * len(found))
        if isinstance(outcome, str):
            unreadable = CassetteError(self.show_path(plan.path), outcome)
            plan.problem = f"{unreadable}\nre-record it with: {self._record_command(plan.item, 'all')}"
            return
        exists, found, extractions = outcome
        for index, (recorded, extraction) in enumerate(zip(found, extractions, strict=True)):
            if recorded is not None:
                content, why, finish_reason = recorded
                unusable = None if why is None else f"{self.show_path(plan.path)}: {why}"
                plan.replies[index] = Reply(content, unusable, extraction, finish_reason)
            elif mode == "none" or (mode == "once" and exists):
                plan.replies[index] = Reply(error="no recording")
                if plan.problem is None:  # once per item, whatever number of samples is missing
                    plan.problem = self._missing(plan.item, plan.path, exists, plan.body)
                if mode == "none":
                    plan.missing = plan.problem.split("\n", 1)[0]

    def read_ahead_early(self) -> None:
        """At the start of a replay-only session with enough recordings to read ahead, start the helper at once: it
        starts up while pytest collects, rather than while the first item waits. The recordings on disk stand for
        the items to come; counting them stops at the threshold."""
        if self._replay_only() and enough_recordings(self.cassette_root):
            self._ahead = self._start_ahead()

    def _replay_only(self) -> bool:
        """Whether this session may read ahead: replay only (record mode none), and not switched off."""
        return self.settings.record_mode == "none" and self.settings.read_ahead == "auto"

    @staticmethod
    def _start_ahead() -> ReadAhead | None:
        try:
            return ReadAhead()
        except OSError:
            return None  # each item reads its own cassette when it runs

    def prefetch(self, items: list[CaseItem]) -> None:
        """Plan every item and submit all live requests at once, grouped by prompt."""
        if self.settings.record_mode == "none" and self.model is not None and items:
            if self._ahead is not None or (self._replay_only() and worth_it(len(items))):
                self._read_ahead(items)
            return  # replay only: nothing to ask
        plans = [self.plan(item) for item in items]
        order = {prompt.name: index for index, prompt in enumerate(self.prompts)}
        live = [p for p in plans if p.problem is None and any(r is None for r in p.replies)]
        live.sort(key=lambda p: order.get(p.item.prompt.name, len(order)))  # stable: pytest order within a prompt
        for plan in live:
            self._submit(plan)

    def _read_ahead(self, items: list[CaseItem]) -> None:
        """Have a helper process read the items' cassettes, in pytest's order, while the items run."""
        ahead = self._ahead or self._start_ahead()  # first: it starts up while the requests are built
        if ahead is None:
            return
        jobs: list[Job] = []
        samples = range(1, self.settings.samples + 1)
        extract = self._builtin_extractor_only()
        for item in items:
            plan = self._new_plan(item)
            plan.ahead = len(jobs)
            digests = [key_digest(request_key(plan.body, sample)) for sample in samples]
            jobs.append((str(plan.path), digests, (item.case.numbers, item.case.ask) if extract else None))
        ahead.send(jobs)
        self._ahead = ahead

    def _builtin_extractor_only(self) -> bool:
        """Whether answers are judged by the built-in extractor alone (no plugin or conftest implements the hook)."""
        from . import plugin

        impls = self.config.hook.pytest_llmcmp_extract_choice.get_hookimpls()
        return len(impls) == 1 and impls[0].function is plugin.pytest_llmcmp_extract_choice

    def _submit(self, plan: Plan) -> None:
        asker = self._ensure_asker()
        pending = [s for s in range(1, len(plan.replies) + 1) if plan.replies[s - 1] is None]
        with self._lock:
            self.asked += len(pending)
        plan.saved = concurrent.futures.Future()
        for sample in pending:
            plan.futures[sample] = asker.submit(plan.body, sample)
        remaining = [len(pending)]

        def on_done(_: concurrent.futures.Future[Answer]) -> None:
            with self._lock:
                remaining[0] -= 1
                last = remaining[0] == 0
            if last:
                self._write_later(plan)

        for future in plan.futures.values():
            future.add_done_callback(on_done)

    def _write_later(self, plan: Plan) -> None:
        # Cassettes are written on a thread of their own: on the asker's event loop, a write (and its fsync) would
        # hold up every request in flight.
        with self._lock:
            if self._writer is None:
                self._writer = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="llmcmp-cassettes")
            writer = self._writer
        try:
            writer.submit(self._save, plan)
        except RuntimeError:  # the session is shutting down: write it here rather than lose it
            self._save(plan)

    def _save(self, plan: Plan) -> None:
        """Write the case's cassette once all its samples are in (on the writer thread)."""
        assert plan.saved is not None
        try:
            self._write(plan)
            plan.saved.set_result(None)
        except (CassetteError, OSError) as exc:
            plan.saved.set_result(f"the recording was not saved: {exc}")
        except BaseException as exc:  # never leave the item waiting forever
            plan.saved.set_result(f"the recording was not saved: {type(exc).__name__}: {exc}")

    def _write(self, plan: Plan) -> None:
        exchanges: list[Exchange] = []
        for sample in sorted(plan.futures):
            future = plan.futures[sample]
            if future.cancelled():
                continue
            answer = future.result()
            if answer.exchange is not None:
                exchanges.append(answer.exchange)
        if not exchanges:
            return
        if plan.cassette is not None:
            cassette = plan.cassette
        elif self.settings.record_mode == "all":
            # Re-recording replaces what this run asked (same request and sample); the cassette's other recordings
            # (other samples, other settings) stay. An unreadable file is replaced whole: that is the remedy for it.
            try:
                cassette = Cassette.load(plan.path)
            except CassetteError:
                cassette = Cassette(plan.path)
        else:
            cassette = Cassette.load(plan.path)
        check_inside(self.cassette_root, plan.path)
        for exchange in exchanges:
            cassette.add(exchange)
        from .client import api_key

        key = api_key()
        cassette.save(secrets=[key] if key else [])
        with self._lock:
            self.saved.append(plan.path)

    # --- running an item ----------------------------------------------------------------------------------------

    def run(self, item: CaseItem) -> tuple[CaseResult, str]:
        """Replay or ask an item's samples, judge them and keep the result; returns it and the failure text."""
        plan = self.plan(item)
        if plan.problem is None and any(r is None for r in plan.replies) and not plan.futures:
            self._submit(plan)  # not prefetched (xdist worker): ask now
        save_problem = None
        if plan.futures:
            for sample, future in plan.futures.items():
                answer = self._wait(future, None)
                if answer is None:
                    plan.replies[sample - 1] = Reply(error="never answered: the session stopped asking")
                else:
                    error = answer.error
                    if error is not None and self.local is not None:
                        # "the connection broke off" says nothing of a crashed server: say that it crashed, and why.
                        # The first error waits a second for the watchdog to see a death; later ones only look.
                        error = self.local.death(wait=0.0 if self._local_checked else 1.0) or error
                        self._local_checked = True
                    plan.replies[sample - 1] = Reply(answer.content, error, finish_reason=answer.finish_reason)
            assert plan.saved is not None
            save_problem = self._wait(plan.saved, "the recording was not saved: the session stopped")
        if plan.missing is not None:
            # Not yet recorded: no answer to judge, nothing to compare with a baseline.
            self.not_recorded[item.nodeid] = (item.case.id, item.prompt.name, plan.missing)
            self.results.pop(item.nodeid, None)
        samples = [self._judge(item, reply) for reply in plan.replies]
        result = CaseResult(
            id=item.case.id,
            nodeid=item.nodeid,
            file=item.case.path,
            prompt=item.prompt.name,
            numbers=list(item.case.numbers),
            ask=item.case.ask,
            question=item.case.question,
            tags=list(item.case.tags),
            expected=item.case.expected,
            samples=samples,
            outcome=self.rule.decide([s.verdict for s in samples]),
        )
        if save_problem is not None:
            result.outcome = "fail"
        if plan.missing is None:
            self.results[item.nodeid] = result
            self._by_case[(result.id, result.prompt)] = item.nodeid
        if plan.futures:
            self.show_progress()
        if result.outcome == "pass":
            return result, ""
        if plan.problem is not None:
            return result, plan.problem
        detail = self.describe_failure(item, result)
        if save_problem is not None:
            detail += f"\n{save_problem}"
        return result, detail

    def is_critical(self, item: CaseItem) -> bool:
        """A case that must never regress: ``critical: true``, or a tag of ``--llm-must-pass``."""
        return item.case.critical or any(tag in self.settings.must_pass for tag in item.case.tags)

    def known_failure(self, item: CaseItem, result: CaseResult) -> str | None:
        """Why a failing case does not fail its item when gates decide the run, or ``None`` when it must fail.

        Under a comparison, a case that failed on the other side too (or is new) is known; a regression fails its
        item under ``--llm-gate strict`` and for a critical case, and is otherwise reported while the session's
        gate decides."""
        from .gates import GatePolicy, regressed_item_fails

        s = self.settings
        if not (s.baseline or s.baseline_prompt or s.min_accuracy) or self._plans[item.nodeid].problem:
            return None  # no gates, or nothing to judge (e.g. an unreadable cassette): a plain failure
        reference = self.reference
        if reference is not None and item.prompt.name == reference:
            return "the reference prompt of --llm-baseline-prompt; its failures are the baseline"
        if reference is not None or self.baseline is not None:
            if reference is not None:
                reference_item = self._by_case.get((result.id, reference))
                before = self.results.get(reference_item) if reference_item is not None else None
                where = f"prompt {reference}"
            else:
                assert self.baseline is not None
                before = self.baseline.get((result.id, result.prompt))
                where = "the baseline"
            if before is None:
                if reference is not None:
                    return f"not compared yet with prompt {reference}; the gate decides the session"
                return "new case; failing (gated by accuracy)" if s.min_accuracy else "new case, not in the baseline"
            if before.outcome != "pass":
                return f"failed in {where} too"
            policy = GatePolicy(s.gate, s.alpha, s.max_drop, s.max_regressions)
            if regressed_item_fails(policy, self.is_critical(item)):
                return None  # a regression that fails by itself
            return f"regression (passed in {where}); --llm-gate {s.gate}: the gate decides the session"
        return "gated by accuracy, not by single cases"

    def _wait(self, future: concurrent.futures.Future[Any], gone: Any) -> Any:
        """The future's result; ``gone`` if nothing can answer it any more (the asker stopped)."""
        while True:
            try:
                return future.result(timeout=0.5)
            except concurrent.futures.TimeoutError:
                if self.interrupted is not None:
                    raise KeyboardInterrupt(*self.interrupted) from None
                self.show_progress()
                if (self._asker is None or not self._asker.alive) and not future.done():
                    return gone  # nothing will ever answer (the session is stopping): give up, do not hang

    def _judge(self, item: CaseItem, reply: Reply | None) -> SampleResult:
        if reply is None or reply.content is None:
            error = reply.error if reply is not None else "not asked"
            return SampleResult(answer=None, choice=None, verdict="error", error=error)
        extraction: Extraction | None = reply.extraction
        if extraction is None:
            extraction = self.config.hook.pytest_llmcmp_extract_choice(
                answer=reply.content, case=item.case, prompt=item.prompt
            )
        choice = extraction.choice
        if choice is not None and choice != "equal" and choice not in item.case.numbers:
            choice = None  # a plugged-in extractor returned something that is not an option: no clear choice
        reason = extraction.reason
        if choice is None and reply.finish_reason == "length":
            reason = TRUNCATED  # cut off before a verdict: the remedy is max_tokens, not the prompt
        return SampleResult(
            answer=reply.content,
            choice=choice,
            verdict=judge(choice, item.case.expected),
            contradiction=extraction.contradiction,
            finish_reason=reply.finish_reason,
            reason=reason,
            evidence=extraction.evidence if choice is not None else "",
        )

    # --- messages -----------------------------------------------------------------------------------------------

    def describe_failure(self, item: CaseItem, result: CaseResult) -> str:
        """What a failing item shows instead of a traceback."""
        prompt = item.prompt
        source = f" ({prompt.path})" if prompt.path else ""
        correct = sum(s.verdict == "correct" for s in result.samples)
        lines = [
            f"question: {item.case.question}",
            f"prompt:   {prompt.name}{source}",
            f"expected: {item.case.expected} ({item.case.ask} of {', '.join(item.case.numbers)})",
        ]
        if len(result.samples) > 1:
            lines.append(f"samples:  {correct}/{len(result.samples)} correct, pass rule '{self.rule}'")
        for index, sample in enumerate(result.samples, 1):
            label = f"sample {index}: " if len(result.samples) > 1 else ""
            if sample.verdict == "error":
                lines.append(f"{label}error: {sample.error}")
                continue
            chose = "no clear choice" if sample.choice is None else f"chose {sample.choice}"
            flag = " (its reasoning says otherwise)" if sample.contradiction else ""
            if sample.truncated:
                flag = " (the answer was cut off by max_tokens before a verdict: finish_reason length)"
            lines.append(f"{label}{sample.verdict}: {chose}{flag}")
            lines.append(f"  answer: {trim(sample.answer or '')}")
            if sample.evidence:
                lines.append(f"  decided by: {trim(sample.evidence)}")
        return "\n".join(lines)

    def _missing(self, item: CaseItem, path: Path, exists: bool, body: dict[str, Any] | None = None) -> str:
        prompt = item.prompt
        if exists:
            why = "its cassette has no recording of this exact request (the question or the settings changed)"
            difference = self._recorded_difference(path, body) if body is not None else None
            if difference is not None:
                why = f"its cassette has no recording of this exact request ({shown(difference)})"
        else:
            siblings = []
            if prompt.sha256 is not None and path.parent.parent.is_dir():
                siblings = sorted(
                    d.name
                    for d in path.parent.parent.iterdir()
                    if d.name.startswith(prompt.name + "-") and d != path.parent and (d / path.name).is_file()
                )
            if siblings:
                why = f"the prompt file changed since it was recorded (recorded: {', '.join(siblings)})"
            else:
                why = "the case was never recorded with this prompt and model"
        sha = f" (sha256 {prompt.sha256[:12]})" if prompt.sha256 else ""
        return (
            f"no recording of case '{item.case.id}' under prompt '{prompt.name}'{sha} for model "
            f"'{scrub(self.model or '')}': "
            f"{why}.\nexpected cassette: {self.show_path(path)}\nrecord it with: "
            f"{self._record_command(item, 'new_episodes' if self.settings.record_mode == 'once' else None)}"
        )

    def _recorded_difference(self, path: Path, body: dict[str, Any]) -> str | None:
        """How the request differs from what the item's cassette recorded, or ``None`` when it cannot say."""
        try:
            cassette = Cassette.load(path)  # a miss only: read once more, the read-ahead helper kept no bodies
        except CassetteError:
            return None
        difference = request_difference(body, cassette.request_bodies())
        if difference is None and len(cassette) > 0:  # the same request: a sample is what is missing
            recorded = [s for s in range(1, self.settings.samples + 1) if cassette.find(body, s) is not None]
            if recorded:
                n, asked = len(recorded), self.settings.samples
                return f"recorded with {n} sample{'s' if n != 1 else ''}, asked for {asked} (--llm-samples)"
        return difference

    def _nothing_recorded(self) -> str:
        return (
            f"no recordings in {self.show_path(self.cassette_root)}: nothing can be replayed offline.\n"
            "record them with: pytest --llm-endpoint URL (or --llm-endpoint local), then commit the cassettes"
        )

    def _record_command(self, item: CaseItem, mode: str | None) -> str:
        """The command that records this item with this run's settings (``mode``: a record mode it needs)."""
        return self.record_command([item], mode)

    def record_command(self, items: list[CaseItem], mode: str | None = None) -> str:
        """The one command that records ``items`` with this run's settings."""
        return self.record_command_for([(item.nodeid, item.prompt.name) for item in items], mode)

    def record_command_for(self, items: list[tuple[str, str]], mode: str | None = None) -> str:
        """The one command that records the items ``(node id, prompt name)`` with this run's settings: their
        prompts, and their node ids (a few) or their files (many); only what is missing is asked."""
        s = self.settings
        parts = ["pytest", "--llm-endpoint", public_url(s.endpoint) if s.endpoint else "URL"]
        if self.model is not None:
            parts += ["--llm-model", scrub(self.model)]
        known = {prompt.name: prompt for prompt in self.prompts}
        names = list(dict.fromkeys(name for _, name in items))
        if any(name != NO_PROMPT for name in names) or len(self.prompts) > 1:
            for name in names:
                prompt = known.get(name)
                parts += ["--llm-prompt", (prompt.path if prompt is not None else None) or NO_PROMPT]
        # What shapes the request must be what is recorded: name every setting that differs from the default.
        if s.temperature:
            parts += ["--llm-temperature", f"{s.temperature:g}"]
        if s.max_tokens is not None:
            parts += ["--llm-max-tokens", str(s.max_tokens)]
        if s.seed is not None:
            parts += ["--llm-seed", str(s.seed)]
        if s.samples != 1:
            parts += ["--llm-samples", str(s.samples)]
        if mode is not None:
            parts += ["--llm-record-mode", mode]
        if len(items) <= 3:
            parts += [nodeid for nodeid, _ in items]
        else:
            parts += sorted(dict.fromkeys(nodeid.split("::", 1)[0] for nodeid, _ in items))
        return shlex.join(parts)

    def show_path(self, path: Path) -> str:
        """A path as the user would type it: relative to where pytest runs (without the key, should the model id
        in it hold the key)."""
        try:
            return scrub(os.path.relpath(path, self.config.invocation_params.dir))
        except ValueError:
            return scrub(str(path))

    def show_progress(self, force: bool = False) -> None:
        """One progress line while waiting on live answers (terminal only, never under -q or in CI)."""
        if not self.progress_enabled() or self.asked == 0:
            return
        now = time.monotonic()
        if not force and now - max(self._last_progress, self._live_started or 0.0) < PROGRESS_EVERY:
            return
        self._last_progress = now
        elapsed = now - (self._live_started or now)
        rate = self.answered / elapsed if elapsed > 0 else 0.0
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(
                f"[llmcmp] {self.answered}/{self.asked} answered, {rate:.1f}/s, {self.failed_requests} errors"
            )

    def progress_enabled(self) -> bool:
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is None or self.config.get_verbosity() < 0:
            return False
        if self.settings.progress:
            return True
        return bool(reporter.isatty) and not os.environ.get("CI")

    # --- the end ------------------------------------------------------------------------------------------------

    def run_results(self, cases: list[CaseResult]) -> RunResults:
        prompts = {p.name: PromptInfo(path=p.path, sha256=p.sha256) for p in self.prompts}
        endpoint = self.settings.endpoint
        return RunResults(
            model=None if self.model is None else scrub(self.model),
            endpoint=None if endpoint is None else scrub(public_url(endpoint)),
            prompts=prompts,
            settings={
                "temperature": self.settings.temperature,
                "max_tokens": self.settings.max_tokens,
                "seed": self.settings.seed,
                "samples": self.settings.samples,
                "pass_rule": self.settings.pass_rule,
                "record_mode": self.settings.record_mode,
            },
            cases=cases,
        )


def _local_error(exc: Exception) -> str:
    message = str(exc)
    return message if message.startswith("--llm-endpoint local") else f"--llm-endpoint local: {message}"


def trim(text: str, limit: int = 400) -> str:
    """An answer on one line, shortened in the middle: the start restates, the end decides."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    head = limit * 2 // 5
    return f"{flat[:head]} … {flat[-(limit - head - 3) :]}"
