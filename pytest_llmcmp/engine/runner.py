"""The session's engine: which model, what to replay, what to ask live, and the results of every case.

One :class:`Runner` lives for the whole session (one xdist worker). At the start of the test loop it plans every
collected (case, prompt): the request it stands for, its cassette, and which samples are replayed and which must be
asked live. Live requests are all submitted at once to the :class:`~pytest_llmcmp.engine.recorder.Recorder`
(grouped by prompt, so a single-slot server reuses the prompt's evaluated prefix), and each item then only waits for
its own answers: pytest reports in its usual order while the endpoint works on many requests at a time. A case's
cassette is written as soon as all its samples are in, from a writer thread: an interrupted run keeps everything
finished before.

Replay reads the recorded answer from the case's cassette and needs no HTTP client: ``openai`` is not imported.
No pytest here: what the engine needs from its host comes through :class:`~pytest_llmcmp.engine.host.Host`, and
what stops the run is an :class:`~pytest_llmcmp.engine.EngineError`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .. import wire
from ..cassettes import (
    Cassette,
    CassetteError,
    cassette_name,
    key_digest,
    model_dir,
    model_dirs,
    model_file_name,
    model_id_problem,
    prompt_dir,
    prompt_dirs,
    recorded_answer,
    recorded_prompts,
    request_difference,
    request_keys,
)
from ..prompts import NO_PROMPT, Prompt, find_prompt_file
from ..readahead import Found, Job, ReadAhead, enough_recordings, worth_it
from ..redaction import public_url, scrub
from ..results import CaseResult, Cost, PassRule, PromptInfo, RunResults, SampleResult
from ..settings import DEFAULT_MAX_TOKENS, Settings
from ..tasks import task_for
from ..terminal import shown
from ..wire import Reply, refused_answer_format
from ..words import plural
from . import EngineError, StopRun, messages
from .backends import Backend, backend_for, refusal_hint, response_format_dialects
from .host import Host, Unit
from .plan import Plan
from .recorder import Recorder

#: The choice of a tie (``answers.EQUAL``, named here without importing the judge).
EQUAL = "equal"

if TYPE_CHECKING:
    from ..answers import Extraction
    from ..client import Answer


def _cost(answer: Answer, latency: bool) -> Cost | None:
    """A live answer's token counts, and its latency when it is recorded too (``--llm-record-latency``: a replay
    then reports the same); ``None`` for a request that failed."""
    if answer.exchange is None:
        return None
    return Cost(wire.usage_of(answer.exchange.response_body), round(answer.seconds, 3) if latency else None)


#: Seconds between two progress lines while waiting for live answers.
PROGRESS_EVERY = 2.0


class Runner:
    """Plans, asks or replays, judges and collects the results of one session (one xdist worker)."""

    def __init__(
        self,
        host: Host,
        settings: Settings,
        prompts: list[Prompt],
        project_dir: Path,
        recorder: Recorder | None = None,
    ) -> None:
        self.host = host
        self.settings = settings
        self.prompts = prompts
        self.project_dir = project_dir
        root = Path(settings.cassette_dir)
        self.cassette_root = root if root.is_absolute() else project_dir / root
        self.rule = PassRule.parse(settings.pass_rule)
        # The model as this session knows it (cassette directories, replay keys, results, reports) and the id the
        # requests send: the same, except for a server that reports a model file's path (known by its stem).
        self.model: str | None = None
        self.served: str | None = None
        self._told = False  # whether the user was told that the model id is a file path
        self._shown_model: tuple[str, str] | None = None  # (model id, the id scrubbed): see shown_model
        # The model's part of node ids (``file::case::LABEL::prompt``) when the run has several targets, else None.
        self.node_label: str | None = None
        self._told_path_named = False  # whether the user was told of recordings under the model file's path
        self._name(settings.model)
        self.backend: Backend | None = backend_for(settings)
        self.results: dict[str, CaseResult] = {}  # by node id: a rerun (pytest-rerunfailures) replaces, never adds
        # Items skipped for want of a recording, by node id: (case id, prompt name, one-line reason).
        self.not_recorded: dict[str, tuple[str, str, str]] = {}
        self.reference: str | None = None  # the prompt of --llm-baseline-prompt, set by the session
        self._by_case: dict[tuple[str, str], str] = {}  # (case id, prompt name) -> node id of its result
        self.baseline: dict[tuple[str, str], CaseResult] | None = None  # set by the session when given
        # Failing items that only the session's gate judges, by node id: "regression" (passed in the baseline or
        # under the reference prompt) or "accuracy" (--llm-min-accuracy): failures, not known ones (CI reports).
        self.gated: dict[str, str] = {}
        self._explained = False  # whether an error was already explained by the backend (a local server's death)
        # Runners of one endpoint (several models) share its recorder: --llm-concurrency is per endpoint.
        if recorder is None:
            recorder = Recorder(
                self.cassette_root, settings.record_mode, self._ready, self.show_progress, settings.record_latency
            )
        else:
            recorder.ready_too.append(self._ready)
        self.recorder = recorder
        self._ahead: ReadAhead | None = None
        self._plans: dict[str, Plan] = {}
        self._folders: dict[str, Path] = {}
        self._case_files: dict[str, str] = {}  # a case's path -> as the results record it (once per file, not item)
        self._last_progress = 0.0
        self._builtin: bool | None = None  # see _builtin_only

    # --- the model and the backend -------------------------------------------------------------------------

    def _name(self, served: str | None) -> None:
        """Take the id the server reports (or --llm-model); a model file's path is known by the file's stem."""
        self.served = self.model = served
        known = model_file_name(served) if isinstance(served, str) else None
        if known is not None:
            self.model = known

    def shown_model(self) -> str | None:
        """The model id as results and reports show it: without the API keys (:func:`~pytest_llmcmp.redaction.scrub`,
        once per id rather than once per item: the keys are read when the session starts asking, and an id that
        holds one was sent with it)."""
        if self.model is None:
            return None
        if self._shown_model is None or self._shown_model[0] != self.model:
            self._shown_model = (self.model, scrub(self.model))
        return self._shown_model[1]

    def _tell(self) -> None:
        """Once per session: say that the model id is a file path, and the name it is known by."""
        if self._told or self.served == self.model or self.model is None:
            return
        self._told = True
        self.host.write_line(
            shown(
                f"llmcmp: model id {self.served!r} is a file path; known here as {self.model!r} (cassettes, "
                "results, reports); give the server --model_alias to choose the name"
            )
        )

    def _tell_path_named(self) -> None:
        """Once per session: recordings of this model under its file's path (made before ids became the file's stem)
        are not replayed; say where they are and the command that moves them."""
        if self._told_path_named:
            return
        self._told_path_named = True
        from ..migrate import path_named_models

        root = self.show_path(self.cassette_root)
        for found in path_named_models(self.cassette_root):
            if found.model == self.model:
                where = self.show_path(found.directory)
                self.host.write_line(messages.path_named(where, found.cassettes, found.model, root))

    def use_endpoint(self, model: str | None, url: str | None) -> None:
        """An xdist worker: the controller resolved the model and checked (or started) the endpoint once for all."""
        if model:
            self._name(model)
            self._told = True  # the controller said it
            if self.backend is not None:
                self.backend = Backend(self.settings, url or self.backend.url, checked=True)

    def resolve_model(self) -> None:
        """Decide the model id; raises :class:`EngineError` with one line when it cannot (or when the id cannot
        name a cassette directory: empty, not a string, too long)."""
        if self.model is None:
            if self.backend is not None:
                self._name(self.backend.discover_model())
            else:
                recorded = model_dirs(self.cassette_root) if self.cassette_root.is_dir() else []
                # A directory named after a model file's path is that model's (recorded before ids became the stem).
                models = sorted({model_file_name(model) or model for model in recorded})
                if len(models) > 1:
                    raise EngineError(
                        f"{self.show_path(self.cassette_root)} holds recordings of several models "
                        f"({', '.join(sorted(models))}); choose one with --llm-model"
                    )
                self._name(models[0] if models else None)
        if self.model is not None:
            self._tell()
            self._tell_path_named()
            problem = model_id_problem(self.model)
            if problem is not None:
                source = "--llm-model" if self.settings.model else "--llm-endpoint"
                raise EngineError(shown(f"{source}: {problem}"))

    def prepare(self) -> None:
        """Once, before the workers of a distributed run start: start the backend, decide the model, check it."""
        self.start_backend()
        self.resolve_model()
        if self.backend is not None and self.settings.live:
            self.backend.check(self.served)

    def start_backend(self) -> None:
        """Start the backend if it runs itself (``--llm-endpoint local``); it may decide the model."""
        if self.backend is None:
            return
        served = self.backend.start(self.host.write_line)
        if served is not None and self.settings.model is None:
            self._name(served)
            self._tell()

    def _ready(self) -> Backend:
        """The backend, started and checked: called by the recorder before its first request."""
        assert self.backend is not None, "live requests need --llm-endpoint"
        self.start_backend()
        self.backend.check(self.served)
        return self.backend

    @property
    def endpoint_url(self) -> str | None:
        return self.backend.url if self.backend is not None else None

    def stop(self) -> None:
        """Stop asking, and stop the backend if this process started it."""
        self.recorder.stop()  # every answer that came in is on disk before the session ends
        if self._ahead is not None:
            self._ahead.close()
            self._ahead = None
        if self.backend is not None:
            self.backend.stop()

    # --- planning --------------------------------------------------------------------------------------------

    def request_body(self, item: Unit) -> dict[str, object]:
        """The chat-completion request for an item: identical in record and in replay mode."""
        chat = wire.chat_messages(item.prompt.text, item.case.question)
        self.host.build_messages(item.case, item.prompt, chat)
        s = self.settings
        response_format = self._answer_format(item.case.numbers, item.case.ask)
        if response_format is not None and self.backend is not None:
            response_format = self.backend.response_format(response_format)  # its server's dialect
        return wire.request_body(self.model, chat, s.temperature, s.max_tokens, s.seed, response_format)

    def dialect_bodies(self, item: Unit, body: dict[str, object]) -> list[dict[str, object]]:
        """The request in the other dialects of ``response_format`` (``--llm-answer-format json``): a recording
        made by another backend (``--llm-endpoint local``'s ``json_object``) replays, as the same question under the
        same constraint. Empty in text mode."""
        standard = self._answer_format(item.case.numbers, item.case.ask)
        if standard is None:
            return []
        forms = [standard, *response_format_dialects(standard)]
        return [{**body, "response_format": form} for form in forms if form != body.get("response_format")]

    def _answer_format(self, numbers: Sequence[str], ask: str) -> dict[str, object] | None:
        """The ``response_format`` of a case under ``--llm-answer-format json``: its options and ``"equal"``
        (a comparison); ``None`` in text mode and for ``ask: order``, whose answer stays text."""
        if self.settings.answer_format != "json" or task_for(ask).name != "compare":
            return None
        return wire.answer_format([*numbers, EQUAL])

    def legacy_body(self, body: dict[str, object]) -> dict[str, object] | None:
        """The request without ``max_tokens`` when the user left ``--llm-max-tokens`` at its default: what a recording
        made before the default was sent holds (it replays as it did, rather than going missing), else ``None``."""
        if self.settings.given("max_tokens") or body.get("max_tokens") != DEFAULT_MAX_TOKENS:
            return None
        return {name: value for name, value in body.items() if name != "max_tokens"}

    def sent_body(self, body: dict[str, object]) -> dict[str, object] | None:
        """What a live request sends when the server's own id is not the model's name here (a file path), else None."""
        return None if self.served == self.model else {**body, "model": self.served}

    def release(self, item: Unit) -> None:
        """Forget an item's plan once it has run: its request bodies, cassette and answers are not kept for the rest
        of the session (its result is). Run again (a rerun plugin), it is planned and read again, as the same."""
        self._plans.pop(item.nodeid, None)

    def planned_path(self, item: Unit) -> Path:
        """The item's cassette, from its plan when it has one (else the same path, worked out again)."""
        plan = self._plans.get(item.nodeid)
        return plan.path if plan is not None and plan.body else self.cassette_for(item)

    def cassette_for(self, item: Unit) -> Path:
        assert self.model is not None
        folder = self._folders.get(item.prompt.name)
        if folder is None:  # one directory per (model, prompt): build it once, not once per case
            folder = prompt_dir(self.cassette_root, self.model, item.prompt.name, item.prompt.sha256)
            self._folders[item.prompt.name] = folder
        return folder / cassette_name(item.case.id)

    def plan(self, item: Unit) -> Plan:
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

    def _new_plan(self, item: Unit) -> Plan:
        samples = self.settings.samples
        if self.model is None:
            plan = Plan(item, {}, Path(), [None] * samples)
            plan.problem = messages.nothing_recorded(self.show_path(self.cassette_root))
            if self.settings.record_mode == "none":
                plan.missing = f"no recordings in {self.show_path(self.cassette_root)}"
        else:
            body = self.request_body(item)
            plan = Plan(
                item,
                body,
                self.cassette_for(item),
                [None] * samples,
                sent=self.sent_body(body),
                legacy=self.legacy_body(body),
                dialects=self.dialect_bodies(item, body),
            )
        self._plans[item.nodeid] = plan
        return plan

    def _read(self, plan: Plan) -> None:
        """Fill in the samples the item's cassette holds, from the read-ahead helper or from the file."""
        mode = self.settings.record_mode
        outcome: Found = None
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
                keys = request_keys(plan.bodies, len(plan.replies))  # per body, per sample
                found = [_recorded(cassette, keys, s) for s in range(len(plan.replies))]
                outcome = (len(cassette) > 0 or plan.path.is_file(), found, [None] * len(found))
        if isinstance(outcome, str):
            unreadable = CassetteError(self.show_path(plan.path), outcome)
            plan.problem = f"{unreadable}\nre-record it with: {self.record_command([plan.item], 'all')}"
            return
        exists, found, plan.extractions = outcome
        for index, recorded in enumerate(found):
            if recorded is not None:
                if recorded.error is not None:  # unusable: say which file
                    recorded = Reply(None, f"{self.show_path(plan.path)}: {recorded.error}")
                plan.replies[index] = recorded
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

    def prefetch(self, items: Sequence[Unit]) -> None:
        """Plan every item and submit all live requests at once, grouped by prompt."""
        if self.settings.record_mode == "none" and self.model is not None and items:
            if self._ahead is not None or (self._replay_only() and worth_it(len(items))):
                self._read_ahead(items)
            return  # replay only: nothing to ask
        plans = [self.plan(item) for item in items]
        order = {prompt.name: index for index, prompt in enumerate(self.prompts)}
        live = [p for p in plans if p.problem is None and p.pending]
        live.sort(key=lambda p: order.get(p.item.prompt.name, len(order)))  # stable: pytest order within a prompt
        self.recorder.submit_all(live)

    def _read_ahead(self, items: Sequence[Unit]) -> None:
        """Have a helper process read the items' cassettes, in pytest's order, while the items run."""
        ahead = self._ahead or self._start_ahead()  # first: it starts up while the requests are built
        if ahead is None:
            return
        ahead.send([self.ahead_job(item, index) for index, item in enumerate(items)])
        self._ahead = ahead

    def replays_ahead(self) -> bool:
        """Whether this runner's items may be read ahead (replay only, the model known, not switched off)."""
        return self._replay_only() and self.model is not None

    def ahead_job(self, item: Unit, index: int) -> Job:
        """Plan ``item`` as job ``index`` of the read-ahead helper, and that job."""
        plan = self._new_plan(item)
        plan.ahead = index
        keys = request_keys(plan.bodies, self.settings.samples)  # per body, per sample
        digests = [tuple(key_digest(of_body[sample]) for of_body in keys) for sample in range(self.settings.samples)]
        return (
            str(plan.path),
            digests,
            (item.case.numbers, item.case.ask, item.case.question) if self._builtin_only() else None,
        )

    def _builtin_only(self) -> bool:
        """Whether only the built-in extractor reads answers (the helper may judge): asked of the host once per
        session, not once per item (it looks at the hook's implementations)."""
        if self._builtin is None:
            self._builtin = self.host.builtin_extractor_only
        return self._builtin

    def has_ahead(self) -> bool:
        """Whether this runner's helper was started (early, at the session's start)."""
        return self._ahead is not None

    def start_ahead(self) -> ReadAhead | None:
        """This runner's helper: the one started early, else a new one (``None`` if it cannot start)."""
        self._ahead = self._ahead or self._start_ahead()
        return self._ahead

    def share_ahead(self, ahead: ReadAhead) -> None:
        """Read ahead through ``ahead``, the session's one helper (several targets: one helper, not one each)."""
        if self._ahead is not None and self._ahead is not ahead:
            self._ahead.close()
        self._ahead = ahead

    # --- running an item ----------------------------------------------------------------------------------------

    def run(self, item: Unit) -> tuple[CaseResult, str]:
        """Replay or ask an item's samples, judge them and keep the result; returns it and the failure text."""
        plan = self.plan(item)
        if plan.problem is None and not plan.futures and plan.pending:
            self.recorder.submit(plan)  # not prefetched (xdist worker): ask now
        save_problem = None
        if plan.futures:
            for sample, future in plan.futures.items():
                answer = self.recorder.wait(future, None)
                if answer is None:
                    plan.replies[sample - 1] = Reply(error="never answered: the session stopped asking")
                else:
                    cost = _cost(answer, self.settings.record_latency)
                    if (
                        answer.error is not None
                        and "response_format" in plan.body
                        and refused_answer_format(answer.error)
                    ):
                        refusal = answer.error.rstrip(".")
                        option = self.settings.origin("answer_format")
                        sent = plan.body["response_format"]
                        kind = sent.get("type") if isinstance(sent, dict) else None
                        hint = refusal_hint(answer.error)
                        raise StopRun(
                            f"the endpoint refused response_format {kind}: {refusal}; "
                            + (f"{hint}, or run without {option} json" if hint else f"run without {option} json")
                        )
                    if answer.error is not None and self.backend is not None:
                        answer = Reply(error=self.backend.explain(answer.error, first=not self._explained))
                        self._explained = True
                    plan.replies[sample - 1] = Reply(answer.content, answer.error, answer.finish_reason, cost)
            assert plan.saved is not None
            save_problem = self.recorder.wait(plan.saved, "the recording was not saved: the session stopped")
        if plan.missing is not None:
            # Not yet recorded: no answer to judge, nothing to compare with a baseline.
            self.not_recorded[item.nodeid] = (item.case.id, item.prompt.name, plan.missing)
            self.results.pop(item.nodeid, None)
        ahead = plan.extractions or [None] * len(plan.replies)
        samples = [self._judge(item, reply, extraction) for reply, extraction in zip(plan.replies, ahead, strict=True)]
        result = CaseResult(
            id=item.case.id,
            nodeid=item.nodeid,
            file=self.case_file(item.case.path),
            prompt=item.prompt.name,
            numbers=list(item.case.numbers),
            ask=item.case.ask,
            question=item.case.question,
            tags=list(item.case.tags),
            expected=item.case.expected,
            samples=samples,
            outcome=self.rule.decide([s.verdict for s in samples]),
            model=self.shown_model(),
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
        detail = messages.describe_failure(item, result, self.rule)
        if save_problem is not None:
            detail += f"\n{save_problem}"
        return result, detail

    def is_critical(self, item: Unit) -> bool:
        """A case that must never regress: ``critical: true``, or a tag of ``--llm-must-pass``."""
        return item.case.critical or any(tag in self.settings.must_pass for tag in item.case.tags)

    def known_failure(self, item: Unit, result: CaseResult) -> str | None:
        """Why a failing case does not fail its item when gates decide the run, or ``None`` when it must fail.

        Under a comparison, a case that failed on the other side too (or is new) is known; a regression fails its
        item under ``--llm-gate strict`` and for a critical case, and is otherwise reported while the session's
        gate decides."""
        from ..gates import GatePolicy, regressed_item_fails

        s = self.settings
        # A baseline of other models only (self.baseline is None) gates nothing of this one's.
        compared = s.baseline_prompt or (s.baseline and self.baseline is not None)
        if not (compared or s.min_accuracy) or self._planned_problem(item):
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
                if s.min_accuracy:
                    self.gated[item.nodeid] = "accuracy"
                    return "new case; failing (gated by accuracy)"
                return "new case, not in the baseline"
            if before.outcome != "pass":
                return f"failed in {where} too"
            policy = GatePolicy(s.gate, s.alpha, s.max_drop, s.max_regressions)
            if regressed_item_fails(policy, self.is_critical(item)):
                return None  # a regression that fails by itself
            self.gated[item.nodeid] = "regression"
            return f"regression (passed in {where}); --llm-gate {s.gate}: the gate decides the session"
        self.gated[item.nodeid] = "accuracy"
        return "gated by accuracy, not by single cases"

    def _planned_problem(self, item: Unit) -> str | None:
        plan = self._plans.get(item.nodeid)
        return None if plan is None else plan.problem

    def _judge(self, item: Unit, reply: Reply | None, extraction: Extraction | None) -> SampleResult:
        """One sample's result; ``extraction`` is what the read-ahead helper's built-in reader found, if it read."""
        if reply is None or reply.content is None:
            error = reply.error if reply is not None else "not asked"
            return SampleResult(answer=None, choice=None, verdict="error", error=error)
        structured = self._structured(item, reply.content)
        if structured is not None:
            extraction = structured
        elif extraction is None:
            extraction = self.host.extract(reply.content, item.case, item.prompt, reply.finish_reason)
        case, cost = item.case, reply.cost
        return task_for(case.ask).judge(
            reply.content,
            extraction,
            case.numbers,
            case.ask,
            case.expected,
            reply.finish_reason,
            usage=cost.usage if cost is not None else None,
            latency=cost.latency if cost is not None else None,
        )

    def _structured(self, item: Unit, content: str) -> Extraction | None:
        """The choice of a structured answer (``--llm-answer-format json``): a JSON object whose ``"answer"`` is one
        of the schema's values decides, reason ``"json"``; ``None`` for anything else (the text judge reads it, so
        a server that ignores ``response_format`` is still judged)."""
        schema = self._answer_format(item.case.numbers, item.case.ask)
        if schema is None:
            return None
        choice = wire.structured_choice(content, [*item.case.numbers, EQUAL])
        if choice is None:
            return None
        from ..answers import Extraction

        return Extraction(choice, reason="json", evidence=content.strip())

    # --- messages -----------------------------------------------------------------------------------------------

    def _missing(self, item: Unit, path: Path, exists: bool, body: dict[str, object] | None = None) -> str:
        prompt = item.prompt
        difference = self._recorded_difference(item, path, body) if exists and body is not None else None
        siblings: list[str] = []
        if not exists and prompt.sha256 is not None and self.model is not None:
            folder = model_dir(self.cassette_root, self.model)
            siblings = [d.name for d in prompt_dirs(folder, prompt.name) if d != path.parent]
            siblings = [name for name in siblings if (folder / name / path.name).is_file()]
        why = messages.never_recorded_why(prompt, path, exists, difference, siblings)
        command = self.record_command([item], "new_episodes" if self.settings.record_mode == "once" else None)
        return messages.missing_text(item, self.model, why, self.show_path(path), command)

    def _recorded_difference(self, item: Unit, path: Path, body: dict[str, object]) -> str | None:
        """How the request differs from what the item's cassette recorded, or ``None`` when it cannot say."""
        try:
            cassette = Cassette.load(path)  # a miss only: read once more, the read-ahead helper kept no bodies
        except CassetteError:
            return None
        bodies = [body] + [b for b in [self.legacy_body(body)] if b is not None] + self.dialect_bodies(item, body)
        difference = request_difference(body, cassette.request_bodies(), also=bodies[1:])
        if difference is None and len(cassette) > 0:  # the same request: a sample is what is missing
            keys = request_keys(bodies, self.settings.samples)
            recorded = [s for s in range(self.settings.samples) if _recorded(cassette, keys, s) is not None]
            if recorded:
                asked = self.settings.samples
                return f"recorded with {plural(len(recorded), 'sample')}, asked for {asked} (--llm-samples)"
        return difference

    def record_command(self, items: Sequence[Unit], mode: str | None = None) -> str:
        """The one command that records ``items`` with this run's settings."""
        return self.record_command_for([(item.nodeid, item.prompt.name) for item in items], mode)

    def record_command_for(self, items: Sequence[tuple[str, str]], mode: str | None = None) -> str:
        """The one command that records the items ``(node id, prompt name)`` with this run's settings."""
        if self.node_label is not None:
            # The command runs this target alone, whose node ids are the one-model ones: file::case::prompt.
            part = f"::{self.node_label}::"
            items = [(nodeid.replace(part, "::", 1) if part in nodeid else nodeid, name) for nodeid, name in items]
        return messages.record_command(self.settings, self.prompts, self.served, items, mode)  # the server's id

    def recorded_elsewhere(self, missing: Sequence[tuple[str, str]]) -> str | None:
        """One line when cases without a recording (``(case id, prompt name)``) are recorded for this model under
        prompts this run did not name (recorded with ``--llm-prompt prompts/mine.md``, replayed without it), or when
        nothing is recorded for this model and other models are (``--llm-model`` mistyped)."""
        if self.model is None or not missing:
            return None
        folder = model_dir(self.cassette_root, self.model)
        others = [model for model in model_dirs(self.cassette_root) if model != self.model]
        if not folder.is_dir() and others:  # a model named with --llm-model that nothing was recorded for (a typo?)
            import difflib

            close = difflib.get_close_matches(self.model, others, n=1)
            return (
                f"{self.show_path(self.cassette_root)} holds no recordings of model {self.model!r}; it holds "
                f"{', '.join(map(repr, others))}{f': did you mean {close[0]!r}?' if close else ''}"
            )
        named = {prompt.name for prompt in self.prompts}
        files = {cassette_name(case_id) for case_id, _ in missing}
        found: list[tuple[str, str]] = []
        for name, sha12 in recorded_prompts(folder):
            if name in named:
                continue
            directory = prompt_dir(self.cassette_root, self.model, name, sha12)
            if not any((directory / file).is_file() for file in files):
                continue
            if sha12 is None:
                found.append((name, NO_PROMPT))
                continue
            where = find_prompt_file(name, sha12, self.project_dir)
            found.append((name, self.show_path(self.project_dir / where) if where is not None else f".../{name}.md"))
        return messages.other_prompts_hint(found)

    def case_file(self, path: str) -> str:
        """A case file as the results record it: relative to the project, posix (the same on every machine and
        checkout); absolute only when outside the project."""
        known = self._case_files.get(path)
        if known is None:
            known = self._case_files[path] = self._case_file(path)
        return known

    def _case_file(self, path: str) -> str:
        if not path:
            return path
        target = Path(path)
        for base, file in ((self.project_dir, target), (self.project_dir.resolve(), target.resolve())):
            try:
                return file.relative_to(base).as_posix()
            except ValueError:
                continue
        return target.as_posix()

    def show_path(self, path: Path) -> str:
        """A path as the user would type it (relative to where pytest runs, scrubbed)."""
        return messages.show_path(path, self.host.invocation_dir)

    # --- progress ---------------------------------------------------------------------------------------------

    @property
    def asked(self) -> int:
        return self.recorder.asked

    @property
    def answered(self) -> int:
        return self.recorder.answered

    @property
    def failed_requests(self) -> int:
        return self.recorder.failed_requests

    @property
    def saved(self) -> list[Path]:
        return self.recorder.saved

    def add_live_counts(self, asked: int, answered: int, failed: int) -> None:
        """Counts of requests asked elsewhere (an xdist controller sums its workers')."""
        self.recorder.asked += asked
        self.recorder.answered += answered
        self.recorder.failed_requests += failed

    def show_progress(self, force: bool = False) -> None:
        """One progress line while waiting on live answers (terminal only, never under -q or in CI)."""
        recorder = self.recorder
        if recorder.asked == 0 or not self.host.progress_enabled():
            return
        now = time.monotonic()
        if not force and now - max(self._last_progress, recorder.live_started or 0.0) < PROGRESS_EVERY:
            return
        self._last_progress = now
        elapsed = now - (recorder.live_started or now)
        rate = recorder.answered / elapsed if elapsed > 0 else 0.0
        self.host.write_line(
            f"[llmcmp] {recorder.answered}/{recorder.asked} answered, {rate:.1f}/s, {recorder.failed_requests} errors"
        )

    # --- the end ------------------------------------------------------------------------------------------------

    def run_results(self, cases: list[CaseResult]) -> RunResults:
        prompts = {p.name: PromptInfo(path=p.path, sha256=p.sha256) for p in self.prompts}
        endpoint = self.settings.endpoint
        return RunResults(
            model=self.shown_model(),
            endpoint=None if endpoint is None else scrub(public_url(endpoint)),
            prompts=prompts,
            settings={
                "temperature": self.settings.temperature,
                "max_tokens": self.settings.max_tokens,
                "seed": self.settings.seed,
                "samples": self.settings.samples,
                "pass_rule": self.settings.pass_rule,
                "record_mode": self.settings.record_mode,
                "record_latency": self.settings.record_latency,
            },
            cases=cases,
        )


def _recorded(cassette: Cassette, keys: Sequence[Sequence[str]], sample: int) -> Reply | None:
    """The first recorded reply of a sample (0-based here) with the latency recorded beside it, among the request
    keys (:func:`~pytest_llmcmp.cassettes.request_keys`, per request body an item's recording may hold)."""
    for of_body in keys:
        key = of_body[sample]
        response = cassette.find_key(key)
        if response is not None:
            return recorded_answer(response, cassette.latency_key(key))
    return None
