"""The engine on its own, without pytest sessions: a host standing in for pytest, real cassettes in a temporary
directory, the fake endpoint on loopback."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from pytest_llmcmp.answers import Extraction
from pytest_llmcmp.cases import Case, load_case_file
from pytest_llmcmp.engine import EngineError
from pytest_llmcmp.engine.backends import LOCAL, Backend, LocalBackend, backend_for, default_concurrency
from pytest_llmcmp.engine.messages import record_command, show_path, trim
from pytest_llmcmp.engine.runner import Runner
from pytest_llmcmp.prompts import Prompt
from pytest_llmcmp.settings import DEFAULT_MAX_TOKENS, Settings
from pytest_llmcmp.tasks import task_for
from tests.fakeserver import FakeServer

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

    def extract(self, answer: str, case: Case, prompt: Prompt) -> Extraction:
        if case.id in self.extractions:
            return self.extractions[case.id]
        return task_for(case.ask).read(answer, case.numbers, case.ask)

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
