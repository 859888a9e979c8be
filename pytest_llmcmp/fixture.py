"""The ``llm`` fixture and marker: users' own Python tests against the run's endpoint, recorded by vcrpy.

A test that asks for ``llm`` gets an OpenAI client pointed at the run's endpoint (``--llm-endpoint``), and every HTTP
exchange of the test, also those of clients the test's code builds itself, is recorded into
``cassettes/<model>/tests/<module>/<test>.yaml`` and replayed offline, with the network blocked, when no endpoint is
given: exactly the record modes of the YAML cases (see :mod:`pytest_llmcmp.tapes` for what vcrpy is told).

``@pytest.mark.llm(prompt="prompts/langgpt.md", template="en")`` sets the test's default system prompt (a file, as
``--llm-prompt``) and question template for :meth:`LLM.ask`, :meth:`LLM.compare` and :meth:`LLM.assert_correct`.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .engine.runner import Runner
    from .prompts import Prompt
    from .results import Verdict

#: The name the fixture's plugin is registered by.
NAME = "llmcmp-fixture"
MARKER = "llm(prompt=None, template='en'): options of the llm fixture: the default system prompt file of llm.ask and "
MARKER += "llm.compare, and the question template of llm.compare"


class LlmAssertionError(AssertionError):
    """Raised by :meth:`LLM.assert_correct`; pytest shows its text (question, expected, answer, choice) instead of a
    traceback, as for a failing case."""


@dataclass(frozen=True)
class Judgement:
    """What :meth:`LLM.compare` found: the question asked, the exact truth, the answer, the choice read from it."""

    question: str
    numbers: tuple[str, ...]
    ask: str
    expected: str
    answer: str
    choice: str | None
    verdict: Verdict
    prompt: str
    reason: str = ""
    evidence: str = ""
    finish_reason: str | None = None

    @property
    def correct(self) -> bool:
        return self.verdict == "correct"

    def __bool__(self) -> bool:
        return self.correct


@dataclass
class _Unit:
    nodeid: str
    case: Any
    prompt: Prompt


class LLM:
    """The ``llm`` fixture's value: a client for the run's endpoint and helpers that reuse the judge."""

    def __init__(self, item: pytest.Item, runner: Runner, base_url: str, api_key: str, marker: dict[str, Any]):
        self._item = item
        self._runner = runner
        self.base_url = base_url
        """The endpoint's base URL for clients the test builds itself (a placeholder when replaying)."""
        self.api_key = api_key
        """The key to give those clients (never the real one when replaying)."""
        self.model: str = runner.served or ""
        """The model id to send."""
        self._marker = marker
        self._client: Any = None
        self._prompts: dict[str, Prompt] = {}
        self._samples: dict[str, int] = {}

    @property
    def client(self) -> Any:
        """An ``openai.OpenAI`` client for the endpoint (no retries of its own: a recording is one exchange)."""
        if self._client is None:
            import openai

            from .wire import loopback

            s = self._runner.settings
            # A server on this machine: no proxy from the environment may stand in between (as for the cases).
            http = openai.DefaultHttpxClient(trust_env=False) if loopback(self.base_url) else None
            self._client = openai.OpenAI(
                base_url=self.base_url, api_key=self.api_key, max_retries=0, timeout=s.timeout, http_client=http
            )
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _prompt(self, prompt: str | os.PathLike[str] | None) -> Prompt:
        from .prompts import NO_PROMPT, Prompt, PromptError, load_prompt

        spec = prompt if prompt is not None else self._marker.get("prompt")
        if spec is None:
            return Prompt(NO_PROMPT, None, None)
        key = os.fspath(spec)
        if key not in self._prompts:
            config = self._item.config
            # Relative to the test's file first (the marker is written there), then as --llm-prompt is.
            bases = [Path(self._item.path).parent, Path(config.invocation_params.dir), Path(str(config.rootpath))]
            problem = None
            try:
                self._prompts[key] = load_prompt(key, bases, f"{self._item.nodeid}: llm prompt")
            except PromptError as exc:
                problem = str(exc)
            if problem is not None:
                pytest.fail(problem, pytrace=False)
        return self._prompts[key]

    def ask(self, question: str, prompt: str | os.PathLike[str] | None = None) -> str:
        """The model's answer to ``question`` under the system prompt file ``prompt`` (default: the marker's; none
        without one), with the run's temperature, max_tokens and seed. Asking the same again is the next sample."""
        return self._ask(question, self._prompt(prompt))[0]

    def _ask(self, question: str, prompt: Prompt) -> tuple[str, str | None]:
        __tracebackhide__ = True
        import json

        import openai

        from . import wire
        from .client import http_module
        from .redaction import api_key, clip

        s = self._runner.settings
        body = wire.request_body(
            self.model, wire.chat_messages(prompt.text, question), s.temperature, s.max_tokens, s.seed
        )
        key = json.dumps(body, sort_keys=True)
        sample = self._samples[key] = self._samples.get(key, 0) + 1
        try:
            response = self.client.post(
                "/chat/completions",
                cast_to=http_module().Response,
                body=body,
                options={"headers": {wire.SAMPLE_HEADER: str(sample)}},
            )
        except openai.APIStatusError as exc:
            pytest.fail(clip(f"llm.ask: the endpoint answered HTTP {exc.status_code}: {exc}", api_key(), 300), False)
        payload = json.loads(response.content)
        try:
            content = wire.content_of(payload)
        except ValueError as exc:
            pytest.fail(f"llm.ask: {exc}", pytrace=False)
        return content, wire.finish_reason_of(payload)

    def compare(
        self,
        numbers: Sequence[str],
        ask: str = "larger",
        prompt: str | os.PathLike[str] | None = None,
        template: str | None = None,
    ) -> Judgement:
        """Ask which of ``numbers`` (as written) is the ``ask`` (larger, smaller, order) in the words of
        ``template`` (default: the marker's, else ``en``), and judge the answer against the exact truth, as a case."""
        __tracebackhide__ = True
        from .cases import Case
        from .junit import judgement_properties
        from .results import CaseResult, PassRule
        from .tasks import task_for
        from .templates import TemplateError, render_question
        from .truth import NumberError

        numbers = tuple(str(n) for n in numbers)
        task = task_for(ask) if ask in _asks() else None
        if task is None:
            pytest.fail(f"llm.compare: ask {ask!r} is not one of {', '.join(_asks())}", pytrace=False)
        template = template or self._marker.get("template") or "en"
        try:
            expected = task.expected(numbers, ask)
            question = render_question(template, numbers, ask)
        except (NumberError, TemplateError) as exc:
            pytest.fail(f"llm.compare: {exc}", pytrace=False)
        used = self._prompt(prompt)
        answer, finish_reason = self._ask(question, used)
        item = self._item
        case = Case(item.name, numbers, ask, expected, question, (), str(item.path), 0, template)
        extraction = item.config.hook.pytest_llmcmp_extract_choice(
            answer=answer, case=case, prompt=used, finish_reason=finish_reason
        )
        sample = task.judge(answer, extraction, numbers, ask, expected, finish_reason)  # as a case's answer
        outcome = PassRule.parse("all").decide([sample.verdict])  # one answer: it decides, as a case's one sample
        result = CaseResult(
            case.id, item.nodeid, "", used.name, list(numbers), ask, question, [], expected, [sample], outcome,
        )  # fmt: skip
        item.user_properties += judgement_properties(result, self._runner.shown_model())  # the JUnit XML's, as a case's
        return Judgement(
            question=question,
            numbers=numbers,
            ask=ask,
            expected=expected,
            answer=answer,
            choice=sample.choice,
            verdict=sample.verdict,
            prompt=used.name,
            reason=sample.reason,
            evidence=sample.evidence,
            finish_reason=finish_reason,
        )

    def assert_correct(
        self,
        judged: Judgement | Sequence[str],
        ask: str = "larger",
        prompt: str | os.PathLike[str] | None = None,
        template: str | None = None,
    ) -> Judgement:
        """Fail the test, with a case's failure text, unless the model answers correctly: ``judged`` is what
        :meth:`compare` returned, or the numbers to compare (then ``ask``, ``prompt`` and ``template`` as there)."""
        __tracebackhide__ = True
        if not isinstance(judged, Judgement):
            judged = self.compare(judged, ask, prompt, template)
        if not judged.correct:
            raise LlmAssertionError(failure_text(self._item.nodeid, judged, self._prompt_for(judged.prompt)))
        return judged

    def _prompt_for(self, name: str) -> Prompt:
        from .prompts import NO_PROMPT, Prompt

        for prompt in self._prompts.values():
            if prompt.name == name:
                return prompt
        return Prompt(NO_PROMPT, None, None)


def _asks() -> tuple[str, ...]:
    from .tasks import ASKS

    return tuple(ASKS)


def failure_text(nodeid: str, judged: Judgement, prompt: Prompt) -> str:
    """A wrong answer said as a failing case says it: question, prompt, expected, verdict and choice, answer."""
    from .cases import Case
    from .engine.messages import describe_failure
    from .results import CaseResult, PassRule, SampleResult

    case = Case(nodeid, judged.numbers, judged.ask, judged.expected, judged.question, (), "", 0, "en")
    sample = SampleResult(
        answer=judged.answer,
        choice=judged.choice,
        verdict=judged.verdict,
        finish_reason=judged.finish_reason,
        reason=judged.reason,
        evidence=judged.evidence,
    )
    result = CaseResult(
        nodeid, nodeid, "", prompt.name, list(judged.numbers), judged.ask, judged.question, [], judged.expected,
        [sample], "fail",
    )  # fmt: skip
    return describe_failure(_Unit(nodeid, case, prompt), result, PassRule.parse("all"))


# --- the fixture ----------------------------------------------------------------------------------------------------


class _Tape:
    """One test's vcrpy cassette and what the face needs to say about it."""

    def __init__(self, item: pytest.Item, runner: Runner, path: Path, exists: bool) -> None:
        self.item = item
        self.runner = runner
        self.path = path
        self.exists = exists
        self.cassette: Any = None

    def miss_text(self) -> str | None:
        from .tapes import miss_reason

        misses = list(getattr(self.cassette, "misses", []))
        if not misses:
            return None
        first = misses[0]
        why = miss_reason(self.cassette, first, self.exists)
        runner = self.runner
        mode = "new_episodes" if runner.settings.record_mode == "once" else None
        command = runner.record_command_for([(self.item.nodeid, "none")], mode)
        distinct = len({(r.method, r.uri, r.body) for r in misses})
        more = f" (and {distinct - 1} more)" if distinct > 1 else ""
        return (
            f"no recording of {first.method} {first.uri}{more} in test '{self.item.nodeid}' for model "
            f"'{runner.model}': {why}.\nexpected cassette: {runner.show_path(self.path)}\nrecord it with: {command}"
        )


TAPE_KEY: pytest.StashKey[_Tape] = pytest.StashKey()


def module_and_test(item: pytest.Item) -> tuple[str, str]:
    """The test file as a dotted module path relative to the rootdir, and the test's name within it."""
    try:
        relative = Path(item.path).resolve().relative_to(Path(str(item.config.rootpath)).resolve())
    except ValueError:
        relative = Path(Path(item.path).name)
    module = ".".join(relative.with_suffix("").parts)
    test = item.nodeid.split("::", 1)[1].replace("::", ".") if "::" in item.nodeid else item.name
    return module, test


def test_cassette_of(item: pytest.Item, runner: Runner) -> Path:
    from .tapes import test_cassette_path

    assert runner.model is not None
    module, test = module_and_test(item)
    return test_cassette_path(runner.cassette_root, runner.model, module, test)


@pytest.fixture
def llm(request: pytest.FixtureRequest) -> Iterator[LLM]:
    """An OpenAI client for the run's endpoint (``llm.client``, ``llm.base_url``, ``llm.api_key``, ``llm.model``)
    and helpers that reuse the judge (``llm.ask``, ``llm.compare``, ``llm.assert_correct``); every HTTP exchange of
    the test is recorded in, or replayed from, ``cassettes/<model>/tests/<module>/<test>.yaml``."""
    from .cassettes import CassetteError
    from .client import NO_KEY
    from .engine import messages
    from .redaction import api_key
    from .session import ensure_session, usage_errors
    from .tapes import ENDPOINT_BASE

    item = request.node
    assert isinstance(item, pytest.Item)
    session = ensure_session(request.config)
    runner = _runner_for(item, list(session.runners))
    with usage_errors():
        runner.prepare()
    if runner.model is None:
        command = runner.record_command_for([(item.nodeid, "none")])
        nothing = messages.nothing_recorded(runner.show_path(runner.cassette_root)).split("\n", 1)[0]
        pytest.fail(f"{nothing}\nrecord it with: {command}", pytrace=False)
    marker = request.node.get_closest_marker("llm")
    options = dict(marker.kwargs) if marker is not None else {}
    unknown = sorted(set(options) - {"prompt", "template"})
    if unknown:
        pytest.fail(f"@pytest.mark.llm: unknown option {', '.join(unknown)} (it takes prompt=, template=)", False)
    live = runner.settings.live and runner.backend is not None
    key = api_key()
    base_url = (runner.backend.url or "") if live and runner.backend is not None else ENDPOINT_BASE
    path = test_cassette_of(item, runner)
    tape = _Tape(item, runner, path, path.is_file())
    vcr = _vcr(runner, base_url if live else None, key)
    value = LLM(item, runner, base_url, (key or NO_KEY) if live else NO_KEY, options)
    session.test_cassettes.add(path)
    item.stash[TAPE_KEY] = tape
    problem = None
    context = vcr.use_cassette(str(path))
    try:
        tape.cassette = context.__enter__()
    except CassetteError as exc:
        problem = str(exc).replace(str(path), runner.show_path(path))
    if problem is not None:  # outside the handler: one line, no chained traceback
        pytest.fail(problem, pytrace=False)
    try:
        yield value
    finally:
        value.close()
        try:
            context.__exit__(None, None, None)
        except CassetteError as exc:
            problem = str(exc).replace(str(path), runner.show_path(path))
    if problem is not None:
        pytest.fail(problem, pytrace=False)


def _runner_for(item: pytest.Item, runners: list[Runner]) -> Runner:
    """The target whose recordings a test replays. A replay without ``--llm-model`` replays every model recorded
    (as the YAML cases do): the test's is the one model that holds its cassette; a live run asks the first target.
    When several models, or none, of a replay of several hold the test's cassette, the test fails with one line
    naming them."""
    __tracebackhide__ = True
    first = runners[0]
    if len(runners) == 1 or first.settings.live:
        return first
    models = [runner for runner in runners if runner.model is not None]
    holding = [runner for runner in models if test_cassette_of(item, runner).is_file()]
    if len(holding) == 1:
        return holding[0]
    from .engine import messages
    from .terminal import shown

    root = first.show_path(first.cassette_root)
    if holding:
        names = ", ".join(runner.model or "" for runner in holding)
        several = f"test '{item.nodeid}' is recorded for several models in {root} ({names})"
        pytest.fail(shown(f"{several}; choose one with --llm-model"), pytrace=False)
    names = ", ".join(runner.model or "" for runner in models)
    command = messages.record_command(first.settings, first.prompts, None, [(item.nodeid, "none")])
    pytest.fail(
        shown(f"test '{item.nodeid}' was never recorded with any model in {root} ({names})\nrecord it with: {command}"),
        pytrace=False,
    )


def _vcr(runner: Runner, live_base: str | None, key: str | None) -> Any:
    """vcrpy, configured for one test: the run's record mode, the matcher, the scrubbing, the safe persister."""
    import vcr  # type: ignore[import-untyped]

    from . import tapes
    from .client import http_module

    if http_module().__name__ == "httpx2" and not hasattr(vcr.patch.CassettePatcherBuilder, "_httpx2"):
        # openai >= 3 talks through httpx2, which vcrpy patches from 9.4 on (Python >= 3.11): without it, nothing
        # would be recorded and nothing blocked.
        pytest.fail(
            f"the llm fixture needs vcrpy >= 9.4 with openai {_version('openai')} (it uses httpx2); installed: "
            f"vcrpy {_version('vcrpy')}; pip install 'vcrpy>=9.4'",
            pytrace=False,
        )
    served, model = runner.served, runner.model
    config = vcr.VCR(
        record_mode=runner.settings.record_mode,
        match_on=tapes.MATCH_ON,
        before_record_request=tapes.request_filter(
            live_base, key, (served, model) if served != model and served and model else None
        ),
        before_record_response=tapes.response_filter(key),
        decode_compressed_response=True,
        serializer="llmcmp",
        record_on_exception=True,
    )
    config.register_matcher("llmcmp", tapes.match)
    config.register_serializer("llmcmp", tapes.Serializer())
    config.register_persister(tapes.persister(runner.cassette_root, [key] if key else []))
    tracked = tapes.tracked_cassette_class()

    def use_cassette(path: str) -> Any:
        return tracked.use(**config.get_merged_config(path=path))

    config.use_cassette = use_cassette
    return config


def _version(distribution: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return "?"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    """A test of the ``llm`` fixture that asked for something not recorded fails with what, why and the command
    (not the client's "Connection error"); a wrong answer of ``llm.assert_correct`` shows the case's text.

    A new-style wrapper that returns at once for any other item and phase: it runs for every phase of every test."""
    report = yield
    if report.when != "call":
        return report
    tape = item.stash.get(TAPE_KEY, None)
    if tape is None:
        return report
    from .terminal import shown

    missed = tape.miss_text()
    if missed is not None:
        report.outcome = "failed"
        report.longrepr = shown(missed)
    elif call.excinfo is not None and isinstance(call.excinfo.value, LlmAssertionError):
        report.longrepr = shown(str(call.excinfo.value))
    return report
