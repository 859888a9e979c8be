"""The engine on its own, without pytest sessions: a host standing in for pytest, real cassettes in a temporary
directory, the fake endpoint on loopback."""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from pytest_llmcmp.answers import Extraction
from pytest_llmcmp.cases import Case, load_case_file
from pytest_llmcmp.cassettes import Cassette, CassetteError
from pytest_llmcmp.engine import EngineError, backends
from pytest_llmcmp.engine import runner as runner_module
from pytest_llmcmp.engine.backends import LOCAL, Backend, LocalBackend, backend_for, default_concurrency
from pytest_llmcmp.engine.messages import record_command, show_path, trim
from pytest_llmcmp.engine.runner import Runner
from pytest_llmcmp.prompts import Prompt
from pytest_llmcmp.results import TRUNCATED, CaseResult
from pytest_llmcmp.settings import DEFAULT_MAX_TOKENS, Settings
from pytest_llmcmp.tasks import task_for
from tests.fakeserver import FakeServer, Fault

CASES = """\
cases:
  - id: trap
    numbers: ["13.8", "13.11"]
  - id: sorted
    numbers: ["4.4", "4.04", "4.14"]
    ask: order
"""


@dataclass
class FakeHost:
    """The engine's view of pytest: hooks, terminal, where the user runs."""

    invocation_dir: Path
    builtin_extractor_only: bool = True
    lines: list[str] = field(default_factory=list)
    extractions: dict[str, Extraction] = field(default_factory=dict)  # by case id: a plugin's reading

    def build_messages(self, case: Case, prompt: Prompt, messages: list[dict[str, Any]]) -> None:
        pass

    def extract(self, answer: str, case: Case, prompt: Prompt, finish_reason: str | None = None) -> Extraction:
        if case.id in self.extractions:
            return self.extractions[case.id]
        return task_for(case.ask).read(answer, case.numbers, case.ask, finish_reason)

    def write_line(self, line: str) -> None:
        self.lines.append(line)

    def progress_enabled(self) -> bool:
        return False


@dataclass(frozen=True)
class Unit:
    nodeid: str
    case: Case
    prompt: Prompt


def make_settings(**changes: Any) -> Settings:
    base = Settings(
        endpoint=None,
        model=None,
        prompts=(),
        record_mode="none",
        samples=1,
        pass_rule="all",
        results=None,
        report=None,
        html=None,
        baseline=None,
        baseline_prompt=None,
        min_accuracy=(),
        concurrency=4,
        temperature=0.0,
        max_tokens=DEFAULT_MAX_TOKENS,
        seed=None,
        timeout=10.0,
        retries=0,
        backoff=0.0,
        cassette_dir="cassettes",
        prune=False,
        read_ahead="off",
        local_model=None,
        progress=False,
    )
    return dataclasses.replace(base, **changes)


def units(tmp_path: Path) -> list[Unit]:
    path = tmp_path / "cases.yaml"
    path.write_text(CASES, encoding="utf-8")
    prompt = Prompt(name="none", path=None, text=None)
    return [Unit(f"cases.yaml::{case.id}::none", case, prompt) for case in load_case_file(path)]


def runner(tmp_path: Path, host: FakeHost | None = None, **changes: Any) -> Runner:
    settings = make_settings(**changes)
    return Runner(host or FakeHost(tmp_path), settings, [Prompt("none", None, None)], tmp_path)


def sorted_or_larger(request: dict[str, Any]) -> str:
    question = request["messages"][-1]["content"]
    return "从小到大：4.04 < 4.14 < 4.4" if "排列" in question else "13.8更大。"


def test_record_then_replay_without_the_endpoint(tmp_path: Path) -> None:
    items = units(tmp_path)
    with FakeServer(answer=sorted_or_larger) as fake:
        live = runner(tmp_path, endpoint=fake.url, record_mode="new_episodes")
        live.resolve_model()
        live.prefetch(items)
        outcomes = [live.run(item)[0].outcome for item in items]
        live.stop()
        asked = len(fake.requests)
    assert outcomes == ["pass", "pass"]
    assert live.asked == live.answered == 2
    assert live.failed_requests == 0
    assert sorted(p.name for p in live.saved) == ["sorted.yaml", "trap.yaml"]
    assert asked == 3  # /v1/models once, then one chat completion per case

    replay = runner(tmp_path)
    replay.resolve_model()
    assert replay.model == "fake-model"  # the model recorded under cassettes/
    replay.prefetch(items)
    results = [replay.run(item)[0] for item in items]
    replay.stop()
    assert [r.outcome for r in results] == ["pass", "pass"]
    assert results[1].samples[0].choice == "4.04 < 4.14 < 4.4"
    assert replay.asked == 0
    assert replay.not_recorded == {}


def test_nothing_recorded_is_skipped_with_the_record_command(tmp_path: Path) -> None:
    (tmp_path / "cassettes" / "m" / "none").mkdir(parents=True)
    (tmp_path / "cassettes" / "m" / "none" / "other.yaml").write_text("interactions: []\nversion: 1\n")
    engine = runner(tmp_path)
    engine.resolve_model()
    item = units(tmp_path)[0]
    result, detail = engine.run(item)
    assert result.outcome == "fail"
    case_id, prompt, why = engine.not_recorded[item.nodeid]
    assert (case_id, prompt) == ("trap", "none")
    assert why.startswith("no recording of case 'trap' under prompt 'none' for model 'm'")
    assert "record it with: pytest --llm-endpoint URL --llm-model m cases.yaml::trap::none" in detail
    assert engine.results == {}  # never judged


def test_a_model_the_endpoint_does_not_serve_is_an_engine_error(tmp_path: Path) -> None:
    with FakeServer(models=("a",)) as fake:
        engine = runner(tmp_path, endpoint=fake.url, model="b", record_mode="new_episodes")
        with pytest.raises(EngineError, match=r"^--llm-model: .* does not serve 'b' \(it serves: a\)$"):
            engine.prepare()


def test_several_recorded_models_need_a_choice(tmp_path: Path) -> None:
    for model in ("a", "b"):
        folder = tmp_path / "cassettes" / model / "none"
        folder.mkdir(parents=True)
        (folder / "x.yaml").write_text("interactions: []\nversion: 1\n")
    with pytest.raises(EngineError, match=r"holds recordings of several models \(a, b\); choose one with --llm-model"):
        runner(tmp_path).resolve_model()


def test_a_reading_that_is_no_answer_of_the_kind_is_no_choice(tmp_path: Path) -> None:
    host = FakeHost(tmp_path, extractions={"trap": Extraction("7"), "sorted": Extraction("4.04 < 4.4")})
    items = units(tmp_path)
    with FakeServer(answer=sorted_or_larger) as fake:
        engine = runner(tmp_path, host, endpoint=fake.url, record_mode="new_episodes")
        engine.resolve_model()
        samples = [engine.run(item)[0].samples[0] for item in items]  # not prefetched: asked when run
        engine.stop()
    assert [(s.choice, s.verdict) for s in samples] == [(None, "unparsed"), (None, "unparsed")]


def test_failure_text_names_the_expected_answer_of_each_kind(tmp_path: Path) -> None:
    items = units(tmp_path)
    with FakeServer(answer=lambda request: "13.11更大。" if "哪个" in str(request) else "4.4 < 4.14 < 4.04") as fake:
        engine = runner(tmp_path, endpoint=fake.url, record_mode="new_episodes")
        engine.resolve_model()
        details = [engine.run(item)[1] for item in items]
        engine.stop()
    assert "expected: 13.8 (larger of 13.8, 13.11)" in details[0]
    assert "wrong: chose 13.11" in details[0]
    assert "expected: 4.04 < 4.14 < 4.4 (sorted from smallest to largest)" in details[1]
    assert "wrong: chose 4.4 < 4.14 < 4.04" in details[1]


def test_local_is_one_backend_class() -> None:
    assert isinstance(backend_for(make_settings(endpoint=LOCAL)), LocalBackend)
    url = backend_for(make_settings(endpoint="http://127.0.0.1:1/v1"))
    assert type(url) is Backend
    assert url.url == "http://127.0.0.1:1/v1"
    assert backend_for(make_settings()) is None
    assert (default_concurrency(LOCAL), default_concurrency("http://x/v1"), default_concurrency(None)) == (1, 8, 8)


def test_another_backend_named_by_a_word_is_one_class_in_the_table(monkeypatch: pytest.MonkeyPatch) -> None:
    # The recipe of docs/architecture.md: a Backend subclass built from the settings alone, and its word.
    class Elsewhere(Backend):
        default_concurrency = 3

        def __init__(self, settings: Settings) -> None:
            super().__init__(settings, "http://127.0.0.1:9/v1")

    monkeypatch.setitem(backends._NAMED, "elsewhere", Elsewhere)
    backend = backend_for(make_settings(endpoint="elsewhere"))
    assert type(backend) is Elsewhere
    assert backend.url == "http://127.0.0.1:9/v1"
    assert default_concurrency("elsewhere") == 3
    assert type(backend_for(make_settings(endpoint=LOCAL))) is LocalBackend


def test_an_xdist_worker_uses_the_controllers_server(tmp_path: Path) -> None:
    engine = runner(tmp_path, endpoint=LOCAL)
    engine.use_endpoint("SmolLM2", "http://127.0.0.1:5/v1")
    assert engine.model == "SmolLM2"
    assert engine.endpoint_url == "http://127.0.0.1:5/v1"
    assert type(engine.backend) is Backend
    assert engine.backend.checked


def test_record_command_names_settings_and_files(tmp_path: Path) -> None:
    settings = make_settings(endpoint="http://user:secret@host/v1", temperature=0.5, samples=3)
    prompts = [Prompt("none", None, None)]
    few = record_command(settings, prompts, "m", [("a.yaml::x::none", "none")])
    assert few == (
        "pytest --llm-endpoint http://host/v1 --llm-model m --llm-temperature 0.5 --llm-samples 3 a.yaml::x::none"
    )
    many = record_command(settings, prompts, None, [(f"{f}.yaml::c{i}::none", "none") for i, f in enumerate("baab")])
    assert many.endswith("--llm-samples 3 a.yaml b.yaml")


def test_paths_and_answers_as_shown(tmp_path: Path) -> None:
    assert show_path(tmp_path / "cassettes" / "m", tmp_path) == "cassettes/m"
    assert trim("word " * 200, limit=40).count("…") == 1
    assert len(trim("word " * 200, limit=40)) <= 40


# --- the recorder: the writer threads --------------------------------------------------------------------------------


def test_a_cassette_is_written_on_a_writer_thread_once_all_its_samples_are_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    saves: list[tuple[str, str, int]] = []  # (thread, file, interactions held)
    save = Cassette.save

    def spied_save(self: Cassette, secrets: Any) -> bool:
        saves.append((threading.current_thread().name, self.path.name, len(self)))
        return save(self, secrets)

    monkeypatch.setattr(Cassette, "save", spied_save)
    items = units(tmp_path)
    with FakeServer(answer=sorted_or_larger) as fake:
        live = runner(tmp_path, endpoint=fake.url, record_mode="new_episodes", samples=3)
        live.resolve_model()
        live.prefetch(items)
        results = [live.run(item)[0] for item in items]
        written = {path.name for path in live.saved}  # each item waits for its own cassette
        live.stop()
    assert [r.outcome for r in results] == ["pass", "pass"]
    assert written == {"trap.yaml", "sorted.yaml"}
    # One save per case, with all 3 samples, on the writer threads (several: their fsyncs overlap), off the caller.
    assert sorted((name, held) for _, name, held in saves) == [("sorted.yaml", 3), ("trap.yaml", 3)]
    assert all(thread.startswith("llmcmp-cassettes") for thread, _, _ in saves), saves
    assert threading.current_thread().name not in {thread for thread, _, _ in saves}


def test_a_recording_that_cannot_be_saved_fails_its_item_and_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing_save(self: Cassette, secrets: Any) -> bool:
        raise CassetteError(self.path, "cannot write: No space left on device")

    monkeypatch.setattr(Cassette, "save", failing_save)
    item = units(tmp_path)[0]
    with FakeServer(answer=sorted_or_larger) as fake:
        live = runner(tmp_path, endpoint=fake.url, record_mode="new_episodes")
        live.resolve_model()
        result, detail = live.run(item)
        live.stop()
    assert result.samples[0].verdict == "correct"  # the answer was right: the item fails for the recording alone
    assert result.outcome == "fail"
    assert detail.endswith(
        "the recording was not saved: "
        + str(CassetteError(live.planned_path(item), "cannot write: No space left on device"))
    )
    assert "correct: chose 13.8" in detail
    assert live.saved == []


# --- failure texts ---------------------------------------------------------------------------------------------------


def test_an_endpoint_error_is_the_samples_error_and_is_never_recorded(tmp_path: Path) -> None:
    item = units(tmp_path)[0]
    with FakeServer(faults=Fault.http(500, "the model crashed")) as fake:
        live = runner(tmp_path, endpoint=fake.url, record_mode="new_episodes")
        live.resolve_model()
        result, detail = live.run(item)
        live.stop()
    sample = result.samples[0]
    assert (sample.verdict, sample.answer, sample.choice) == ("error", None, None)
    assert str(sample.error).startswith("HTTP 500")
    assert "the model crashed" in sample.error
    assert f"error: {sample.error}" in detail.splitlines()
    assert (live.asked, live.answered, live.failed_requests) == (1, 1, 1)
    assert live.saved == []
    assert not live.planned_path(item).exists()


def test_an_answer_cut_off_by_max_tokens_is_truncated_live_and_in_replay(tmp_path: Path) -> None:
    item = units(tmp_path)[0]
    rambling = "Let me think about the digits one at a time before I decide. " * 4 + "13.8更大。"
    with FakeServer(answer=lambda request: rambling) as fake:
        live = runner(tmp_path, endpoint=fake.url, record_mode="new_episodes", max_tokens=8)
        live.resolve_model()
        live_result, detail = live.run(item)
        live.stop()
    replayed = runner(tmp_path, max_tokens=8)
    replayed.resolve_model()
    replay_result, replay_detail = replayed.run(item)
    for result in (live_result, replay_result):
        sample = result.samples[0]
        assert (sample.verdict, sample.reason, sample.finish_reason) == ("unparsed", TRUNCATED, "length")
        assert sample.truncated
    assert "(the answer was cut off by max_tokens before a verdict: finish_reason length)" in detail
    assert replay_detail == detail


def test_fewer_samples_recorded_than_asked_is_not_recorded_and_says_how_many(tmp_path: Path) -> None:
    item = units(tmp_path)[0]
    with FakeServer(answer=sorted_or_larger) as fake:
        live = runner(tmp_path, endpoint=fake.url, record_mode="new_episodes")
        live.resolve_model()
        live.run(item)
        live.stop()
    replay = runner(tmp_path, samples=2)
    replay.resolve_model()
    _, detail = replay.run(item)
    assert item.nodeid in replay.not_recorded
    assert replay.results == {}
    assert "recorded with 1 sample, asked for 2 (--llm-samples)" in detail
    assert "record it with: pytest --llm-endpoint URL --llm-model fake-model --llm-samples 2" in detail


def test_an_unreadable_cassette_fails_with_the_command_that_records_it_again(tmp_path: Path) -> None:
    item = units(tmp_path)[0]
    path = tmp_path / "cassettes" / "m" / "none" / "trap.yaml"
    path.parent.mkdir(parents=True)
    path.write_text("version: 1\ninteractions: [\n", encoding="utf-8")
    engine = runner(tmp_path)
    engine.resolve_model()
    result, detail = engine.run(item)
    first, command = detail.split("\n")
    assert first.startswith("cassettes/m/none/trap.yaml: invalid YAML at line 3")
    assert (
        command
        == "re-record it with: pytest --llm-endpoint URL --llm-model m --llm-record-mode all cases.yaml::trap::none"
    )
    assert (result.outcome, result.samples[0].verdict) == ("fail", "error")
    assert item.nodeid not in engine.not_recorded  # a broken recording is a failure, not a missing one


# --- the read-ahead helper: the same results, the hook asked only when a plugin reads answers ------------------------


@pytest.mark.parametrize("builtin_only", [True, False], ids=["built-in-reader", "plugin-reader"])
def test_replay_through_the_read_ahead_helper_is_the_same_as_in_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, builtin_only: bool
) -> None:
    items = units(tmp_path)
    with FakeServer(answer=sorted_or_larger) as fake:
        live = runner(tmp_path, endpoint=fake.url, record_mode="new_episodes", samples=2)
        live.resolve_model()
        live.prefetch(items)
        for item in items:
            live.run(item)
        live.stop()

    def replay(read_ahead: str) -> tuple[list[dict[str, Any]], list[str], bool]:
        asked: list[str] = []
        host = FakeHost(tmp_path, builtin_extractor_only=builtin_only)
        extract = host.extract
        host.extract = lambda answer, case, prompt, finish_reason=None: (  # type: ignore[method-assign]
            asked.append(case.id) or extract(answer, case, prompt, finish_reason)
        )
        engine = runner(tmp_path, host, samples=2, read_ahead=read_ahead)
        engine.resolve_model()
        engine.prefetch(items)
        helped = engine._ahead is not None
        results = [engine.run(item)[0].to_json() for item in items]
        engine.stop()
        return results, asked, helped

    monkeypatch.setattr(runner_module, "worth_it", lambda jobs: True)  # 2 items stand for 300
    ahead, asked_ahead, helped = replay("auto")
    alone, asked_alone, _ = replay("off")
    assert helped
    assert ahead == alone
    assert [sample["choice"] for case in ahead for sample in case["samples"]] == ["13.8"] * 2 + [
        "4.04 < 4.14 < 4.4"
    ] * 2
    assert asked_alone == ["trap", "trap", "sorted", "sorted"]
    assert asked_ahead == ([] if builtin_only else asked_alone)  # the helper read what the built-in reader would


# --- gates: which failures do not fail their item ---------------------------------------------------------------------


def result_of(item: Unit, outcome: str) -> CaseResult:
    case = item.case
    return CaseResult(
        id=case.id, nodeid=item.nodeid, file="cases.yaml", prompt=item.prompt.name, numbers=list(case.numbers),
        ask=case.ask, question=case.question, tags=[], expected=case.expected, samples=[],
        outcome=outcome,  # type: ignore[arg-type]
    )  # fmt: skip


def test_known_failures_follow_the_gate_policy(tmp_path: Path) -> None:
    item = units(tmp_path)[0]
    with FakeServer(answer=lambda request: "13.11更大。") as fake:  # recorded wrong: a failure to judge
        live = runner(tmp_path, endpoint=fake.url, record_mode="new_episodes")
        live.resolve_model()
        live.run(item)
        live.stop()

    def known(before: str | None, critical: bool = False, **settings: Any) -> str | None:
        engine = runner(tmp_path, **settings)
        engine.resolve_model()
        engine.plan(item)
        engine.baseline = {} if before is None else {("trap", "none"): result_of(item, before)}
        if critical:
            engine.settings = dataclasses.replace(engine.settings, must_pass=("trap-tag",))
            unit = Unit(item.nodeid, dataclasses.replace(item.case, tags=("trap-tag",)), item.prompt)
            return engine.known_failure(unit, result_of(unit, "fail"))
        return engine.known_failure(item, result_of(item, "fail"))

    gated = {"baseline": "base.json"}
    assert (
        known("pass", **gated)
        == "regression (passed in the baseline); --llm-gate significant: the gate decides the session"
    )
    assert known("pass", gate="strict", **gated) is None  # a regression fails its item under strict
    assert known("pass", critical=True, **gated) is None  # and for a critical case under any gate
    assert known("fail", **gated) == "failed in the baseline too"
    assert known(None, **gated) == "new case, not in the baseline"
    assert known(None, min_accuracy=("80%",), **gated) == "new case; failing (gated by accuracy)"
    assert known("pass") is None  # no gate: every failure fails its item
