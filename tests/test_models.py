"""Several models in one run (issue 16): two fake servers that differ (one right, one wrong on the trap case), driven
the way a user would: record, replay offline, the models x prompts matrix, a baseline per model, a gate that fails
for the model that regressed only, ``MODEL:`` thresholds, one endpoint serving two models, keys per endpoint, and
xdist with several models."""

from __future__ import annotations

import itertools
import json
import shlex
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.fakeserver import FakeServer, correct_answer

SMALL, BIG = "small-model", "big-model"


def wrong_on_trap(request: dict[str, Any]) -> str:
    """Right everywhere but on 13.8 vs 13.11, where it believes 13.11 is larger (the tutorial's mistake)."""
    question = request["messages"][-1]["content"]
    if "13.8" in question and "13.11" in question:
        return "The larger is 13.11."
    return correct_answer(request)


def _careful(request: dict[str, Any]) -> bool:
    return any("carefully" in str(m.get("content")) for m in request["messages"] if m.get("role") == "system")


def helped(request: dict[str, Any]) -> str:
    """Wrong on the trap without the careful prompt, right with it."""
    return correct_answer(request) if _careful(request) else wrong_on_trap(request)


def hurt(request: dict[str, Any]) -> str:
    """Right on the trap without the careful prompt, wrong with it."""
    return wrong_on_trap(request) if _careful(request) else correct_answer(request)


@pytest.fixture
def small() -> Iterator[FakeServer]:
    with FakeServer(models=(SMALL,), answer=wrong_on_trap) as fake:
        yield fake


@pytest.fixture
def big() -> Iterator[FakeServer]:
    with FakeServer(models=(BIG,)) as fake:
        yield fake


def endpoints(small: FakeServer, big: FakeServer) -> list[str]:
    return [f"--llm-endpoint=small={small.url}", f"--llm-endpoint=big={big.url}"]


def results_of(pytester: pytest.Pytester, name: str = "r.json") -> dict[str, Any]:
    data: dict[str, Any] = json.loads((pytester.path / name).read_text(encoding="utf-8"))
    return data


def outcomes(data: dict[str, Any]) -> dict[tuple[str, str, str], str]:
    return {(case["id"], case["model"], case["prompt"]): case["outcome"] for case in data["cases"]}


def test_two_endpoints_record_then_replay_offline_with_a_matrix(
    suite: pytest.Pytester, small: FakeServer, big: FakeServer
) -> None:
    recorded = suite.runpytest("-p", "no:cacheprovider", *endpoints(small, big), "--llm-results=r.json", "-v")
    recorded.assert_outcomes(passed=5, failed=1)
    # Node ids gain the model (several models in the run): file::case::MODEL::prompt.
    recorded.stdout.fnmatch_lines(
        [
            "*cases/basic.yaml::trap::small-model::none FAILED*",
            "*cases/basic.yaml::trap::big-model::none PASSED*",
        ]
    )
    assert len(small.chat_requests) == 3
    assert len(big.chat_requests) == 3
    assert {r.json["model"] for r in small.chat_requests} == {SMALL}
    data = results_of(suite)
    assert data["model"] is None
    assert data["models"] == [BIG, SMALL]
    assert outcomes(data)[("trap", SMALL, "none")] == "fail"
    assert outcomes(data)[("trap", BIG, "none")] == "pass"
    assert data["summary"]["models"][SMALL]["passed"] == 2
    assert data["summary"]["models"][BIG]["passed"] == 3
    assert (suite.path / "cassettes" / SMALL).is_dir()
    assert (suite.path / "cassettes" / BIG).is_dir()

    # Offline: every recorded model is replayed, with the same verdicts and no request.
    small.clear()
    big.clear()
    replayed = suite.runpytest("-p", "no:cacheprovider", "--llm-results=r2.json")
    replayed.assert_outcomes(passed=5, failed=1)
    assert small.chat_requests == []
    assert big.chat_requests == []
    assert outcomes(results_of(suite, "r2.json")) == outcomes(data)
    replayed.stdout.fnmatch_lines(
        [
            "*accuracy by model (95% CI)*none*",
            "*big-model*100.0% (3/3, 43.9–100.0%)*",
            "*small-model*66.7% (2/3, 20.8–93.9%)*",
        ]
    )

    # --llm-model narrows the replay to one model: node ids are the one-model ones again.
    one = suite.runpytest("-p", "no:cacheprovider", "--llm-model", BIG, "-v")
    one.assert_outcomes(passed=3)
    one.stdout.fnmatch_lines(["*cases/basic.yaml::trap::none PASSED*"])
    assert "accuracy by model" not in one.stdout.str()


def test_one_endpoint_serving_two_models(suite: pytest.Pytester) -> None:
    def by_model(request: dict[str, Any]) -> str:
        return wrong_on_trap(request) if request["model"] == "a" else correct_answer(request)

    with FakeServer(models=("a", "b"), answer=by_model, latency=0.05) as server:
        result = suite.runpytest(
            "-p",
            "no:cacheprovider",
            f"--llm-endpoint={server.url}",
            "--llm-model=a",
            "--llm-model=b",
            "--llm-prompt=none",
            "--llm-prompt=prompts/careful.md",
            "--llm-concurrency=1",
            "--llm-report=r.md",
            "--llm-html=r.html",
            "-v",
        )
        assert server.max_in_flight == 1  # one endpoint, one --llm-concurrency: its models share it
        asked = [(r.json["model"], _careful(r.json)) for r in server.chat_requests]
    result.assert_outcomes(passed=10, failed=2)
    result.stdout.fnmatch_lines(["*basic.yaml::trap::a::none FAILED*", "*basic.yaml::trap::b::none PASSED*"])
    # Grouped by model, then prompt: the server's prefix cache serves each group (3 switches for 4 groups).
    assert len(asked) == 12
    assert sum(one != two for one, two in itertools.pairwise(asked)) == 3
    markdown = (suite.path / "r.md").read_text(encoding="utf-8")
    assert "### Models × prompts" in markdown
    assert "| a | 66.7% (2/3, 20.8–93.9%) | 66.7% (2/3, 20.8–93.9%) |" in markdown
    assert "| b | 100.0% (3/3, 43.9–100.0%) | 100.0% (3/3, 43.9–100.0%) |" in markdown
    assert "models a, b" in markdown
    html = (suite.path / "r.html").read_text(encoding="utf-8")
    assert "Models × prompts" in html
    assert "66.7% (2/3, 20.8–93.9%)" in html


def test_a_prompt_that_helps_one_model_and_hurts_the_other(suite: pytest.Pytester) -> None:
    """Per tag: the careful prompt fixes the trap for one model and breaks it for the other."""

    with FakeServer(models=("m1",), answer=helped) as one, FakeServer(models=("m2",), answer=hurt) as two:
        result = suite.runpytest(
            "-p",
            "no:cacheprovider",
            f"--llm-endpoint=one={one.url}",
            f"--llm-endpoint=two={two.url}",
            "--llm-prompt=none",
            "--llm-prompt=prompts/careful.md",
            "--llm-report=r.md",
        )
    result.assert_outcomes(passed=10, failed=2)
    line = "tag trap: prompt careful helps m1 (+100.0 points) and hurts m2 (-100.0 points) (vs prompt none)"
    assert line in result.stdout.str()
    assert "control:" not in result.stdout.str()  # no crossing where both agree
    assert line in (suite.path / "r.md").read_text(encoding="utf-8")


def test_baseline_prompt_compares_each_models_prompts_with_its_own_reference(suite: pytest.Pytester) -> None:
    """--llm-baseline-prompt with two models: each model's prompts against its own reference answers."""

    with FakeServer(models=("m1",), answer=helped) as one, FakeServer(models=("m2",), answer=hurt) as two:
        result = suite.runpytest(
            "-p",
            "no:cacheprovider",
            f"--llm-endpoint=one={one.url}",
            f"--llm-endpoint=two={two.url}",
            "--llm-prompt=none",
            "--llm-prompt=prompts/careful.md",
            "--llm-baseline-prompt=none",
            "--llm-gate=strict",
            "--llm-results=r.json",
        )
    # m1's trap under the reference prompt is the baseline (xfail); m2's trap regressed under careful (strict: fails).
    result.assert_outcomes(passed=10, failed=1, xfailed=1)
    data = results_of(suite)
    assert data["gate"]["models"] == {"m1": "passed", "m2": "failed"}
    assert data["gate"]["state"] == "failed"
    out = result.stdout.str()
    assert "careful @ m1 +1 net (1 improved, 0 regressed)" in out
    assert "careful @ m2 -1 net (0 improved, 1 regressed)" in out


def test_baseline_per_model_and_a_gate_that_fails_the_regressed_model_only(
    suite: pytest.Pytester, small: FakeServer, big: FakeServer
) -> None:
    small.answer = correct_answer  # main branch: both right
    base = suite.runpytest("-p", "no:cacheprovider", *endpoints(small, big), "--llm-results=base.json")
    base.assert_outcomes(passed=6)
    small.answer = wrong_on_trap  # the pull request: the small model now falls for the trap
    result = suite.runpytest(
        "-p",
        "no:cacheprovider",
        *endpoints(small, big),
        "--llm-record-mode=all",
        "--llm-baseline=base.json",
        "--llm-gate=strict",
        "--llm-results=r.json",
    )
    assert result.ret == 1
    data = results_of(suite)
    assert data["gate"]["models"] == {BIG: "passed", SMALL: "failed"}
    assert data["comparison"]["regressions"] == 1
    out = result.stdout.str()
    assert "none @ small-model -1 net (0 improved, 1 regressed)" in out
    assert "none @ big-model +0 net" in out

    # The same baseline for the big model alone: it is compared with its own part only, and passes.
    alone = suite.runpytest(
        "-p", "no:cacheprovider", *endpoints(small, big)[1:], "--llm-baseline=base.json", "--llm-gate=strict"
    )
    alone.assert_outcomes(passed=3)


def embedded_data(page: str) -> dict[str, Any]:
    """The data the HTML report embeds for its script (``<script type="application/json" id="llmcmp-data">``)."""
    start = page.index('id="llmcmp-data">') + len('id="llmcmp-data">')
    data: dict[str, Any] = json.loads(page[start : page.index("</script>", start)])
    return data


def test_the_html_case_table_tells_the_models_apart(suite: pytest.Pytester, small: FakeServer, big: FakeServer) -> None:
    small.answer = correct_answer
    suite.runpytest("-p", "no:cacheprovider", *endpoints(small, big), "--llm-results=base.json").assert_outcomes(
        passed=6
    )
    small.answer = wrong_on_trap
    suite.runpytest(
        "-p",
        "no:cacheprovider",
        *endpoints(small, big),
        "--llm-record-mode=all",
        "--llm-baseline=base.json",
        "--llm-html=r.html",
    )
    page = (suite.path / "r.html").read_text(encoding="utf-8")
    # Several models: a model column and a model filter, and each embedded case says which model answered.
    assert "<th>case</th><th>model</th><th>prompt</th>" in page
    assert '<select id="filter-model">' in page
    data = embedded_data(page)
    assert data["models"] == [BIG, SMALL]
    changes = {(case["id"], case["model"]): case["change"] for case in data["cases"]}
    assert len(changes) == 6
    # The baseline is compared model by model: only the small model's trap case regressed.
    assert changes[("trap", SMALL)] == "regression"
    assert [key for key, change in changes.items() if change is not None] == [("trap", SMALL)]

    # One model (the replay narrowed to it): the table is what it always was.
    suite.runpytest("-p", "no:cacheprovider", "--llm-model", BIG, "--llm-html=one.html").assert_outcomes(passed=3)
    one = (suite.path / "one.html").read_text(encoding="utf-8")
    assert "<th>case</th><th>prompt</th>" in one
    assert '<select id="filter-model">' not in one
    assert embedded_data(one)["models"] == []


def test_min_accuracy_scoped_to_a_model(suite: pytest.Pytester, small: FakeServer, big: FakeServer) -> None:
    suite.runpytest("-p", "no:cacheprovider", *endpoints(small, big)).assert_outcomes(passed=5, failed=1)
    ok = suite.runpytest("-p", "no:cacheprovider", f"--llm-min-accuracy={BIG}:0.9", "--llm-results=r.json")
    assert "gate passed: model 'big-model': accuracy of prompt 'none' is 100.0% (3/3)" in ok.stdout.str()
    assert results_of(suite)["gate"]["models"] == {BIG: "passed", SMALL: "passed"}
    failed = suite.runpytest("-p", "no:cacheprovider", f"--llm-min-accuracy={SMALL}:0.9", "--llm-results=r.json")
    assert failed.ret == 1
    failed.stdout.fnmatch_lines(["*gate failed: model 'small-model': accuracy of prompt 'none' is 66.7% (2/3)*"])
    assert results_of(suite)["gate"]["models"] == {BIG: "passed", SMALL: "failed"}
    unknown = suite.runpytest("-p", "no:cacheprovider", "--llm-min-accuracy=tiny:0.9")
    assert unknown.ret == pytest.ExitCode.USAGE_ERROR
    unknown.stderr.fnmatch_lines(["*--llm-min-accuracy: no model 'tiny' in this run (its models: *"])


def test_keys_per_named_endpoint(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, make_server: Callable[..., FakeServer]
) -> None:
    small = make_server(models=(SMALL,), api_key="shared-key-0123456789")
    big = make_server(models=(BIG,), api_key="big-own-key-0123456789")
    monkeypatch.setenv("LLMCMP_API_KEY", "shared-key-0123456789")
    monkeypatch.setenv("LLMCMP_API_KEY_BIG", "big-own-key-0123456789")
    result = suite.runpytest("-p", "no:cacheprovider", *endpoints(small, big), "--llm-results=r.json")
    result.assert_outcomes(passed=6)
    written = (suite.path / "r.json").read_text(encoding="utf-8")
    for path in (suite.path / "cassettes").rglob("*.yaml"):
        written += path.read_text(encoding="utf-8")
    assert "big-own-key" not in written
    assert "shared-key" not in written
    assert "big-own-key" not in result.stdout.str()


@pytest.fixture
def make_server() -> Iterator[Callable[..., FakeServer]]:
    started: list[FakeServer] = []

    def make(**kwargs: Any) -> FakeServer:
        server = FakeServer(**kwargs).start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


def test_bad_endpoint_lists_are_one_line(suite: pytest.Pytester) -> None:
    unnamed = suite.runpytest("--llm-endpoint=http://127.0.0.1:9/v1", "--llm-endpoint=http://127.0.0.1:8/v1")
    assert unnamed.ret == pytest.ExitCode.USAGE_ERROR
    unnamed.stderr.fnmatch_lines(["*--llm-endpoint: several endpoints need a name each (NAME=URL*"])
    twice = suite.runpytest("--llm-endpoint=a=http://127.0.0.1:9/v1", "--llm-endpoint=a=http://127.0.0.1:8/v1")
    twice.stderr.fnmatch_lines(["*--llm-endpoint: endpoint name 'a' is given twice*"])
    scope = suite.runpytest("--llm-endpoint=a=http://127.0.0.1:9/v1", "--llm-model=b=m")
    scope.stderr.fnmatch_lines(["*--llm-model 'b=m': no endpoint named 'b' (the endpoints: a)*"])


def test_xdist_with_several_models(suite: pytest.Pytester, small: FakeServer, big: FakeServer) -> None:
    recorded = suite.runpytest_subprocess(
        "-p", "no:cacheprovider", "-n", "2", *endpoints(small, big), "--llm-results=r.json"
    )
    recorded.assert_outcomes(passed=5, failed=1)
    data = results_of(suite)
    assert outcomes(data)[("trap", SMALL, "none")] == "fail"
    assert len(data["cases"]) == 6
    assert len(small.chat_requests) == 3
    assert len(big.chat_requests) == 3
    replayed = suite.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2", "--llm-results=r2.json")
    replayed.assert_outcomes(passed=5, failed=1)
    assert outcomes(results_of(suite, "r2.json")) == outcomes(data)
    replayed.stdout.fnmatch_lines(["*small-model*66.7% (2/3, 20.8–93.9%)*"])


def test_ini_keys_mirror_the_options(suite: pytest.Pytester, small: FakeServer, big: FakeServer) -> None:
    """``llm_endpoint`` and ``llm_model`` take several values, as the repeated options do."""
    suite.makeini(f"[pytest]\nllm_endpoint = small={small.url} big={big.url}\nllm_model = big={BIG}\n")
    result = suite.runpytest("-p", "no:cacheprovider", "--collect-only", "-q")
    result.stdout.fnmatch_lines(
        ["cases/basic.yaml::trap::small-model::none", "cases/basic.yaml::trap::big-model::none", "*6 tests*"]
    )
    assert small.chat_requests == []  # collecting asks which model a server serves, never a question
    assert small.hits.get("/v1/models") == 1


def test_the_record_command_for_missing_recordings_names_each_endpoint(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, make_server: Callable[..., FakeServer]
) -> None:
    small = make_server(models=(SMALL,))
    big = make_server(models=(BIG,), api_key="big-own-key-0123456789")
    monkeypatch.setenv("LLMCMP_API_KEY_BIG", "big-own-key-0123456789")
    suite.runpytest("-p", "no:cacheprovider", *endpoints(small, big)).assert_outcomes(passed=6)
    gone = [path for path in (suite.path / "cassettes").rglob("*.yaml") if "trap" in path.name]
    assert len(gone) == 2  # the trap case of each model
    for path in gone:
        path.unlink()
    small.clear()
    big.clear()
    replay = suite.runpytest("-p", "no:cacheprovider", *endpoints(small, big), "--llm-record-mode=none")
    assert small.chat_requests == []
    assert big.chat_requests == []
    line = next(line for line in replay.stdout.lines if "record them with: " in line)
    command = line.split("record them with: ", 1)[1]
    # Each endpoint by its name, so that the command reads the same key variable (LLMCMP_API_KEY_BIG) as the run.
    assert f"--llm-endpoint big={big.url}" in command
    assert f"--llm-endpoint small={small.url}" in command
    assert "big-own-key" not in replay.stdout.str()
    # The command, run as printed, records exactly what was missing (the big endpoint accepts only its own key).
    passed = 0
    for step in (shlex.split(part) for part in command.split(" && ")):
        assert step[0] == "pytest"
        passed += suite.runpytest("-p", "no:cacheprovider", *step[1:]).parseoutcomes().get("passed", 0)
    assert passed == 2
    assert len(small.chat_requests) == 1
    assert len(big.chat_requests) == 1
    assert all(path.is_file() for path in gone)


@pytest.mark.parametrize(
    ("variables", "said"),
    [
        (
            {},
            "requires an API key (HTTP 401): no key was sent; "
            "set LLMCMP_API_KEY_BIG or LLMCMP_API_KEY or OPENAI_API_KEY",
        ),
        ({"LLMCMP_API_KEY_BIG": "wrong-big-key-0123456789"}, "rejected the key from LLMCMP_API_KEY_BIG (HTTP 401)*"),
        ({"LLMCMP_API_KEY": "wrong-shared-key-0123456789"}, "rejected the key from LLMCMP_API_KEY (HTTP 401)*"),
    ],
)
def test_a_401_from_a_named_endpoint_names_its_own_key_variable_first(
    suite: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    make_server: Callable[..., FakeServer],
    variables: dict[str, str],
    said: str,
) -> None:
    for name in ("LLMCMP_API_KEY", "OPENAI_API_KEY", "LLMCMP_API_KEY_BIG", "LLMCMP_API_KEY_SMALL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    small = make_server(models=(SMALL,))
    big = make_server(models=(BIG,), api_key="big-own-key-0123456789")
    result = suite.runpytest("-p", "no:cacheprovider", *endpoints(small, big))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: --llm-endpoint: {big.url} {said}"])
    assert big.chat_requests == []
    assert small.chat_requests == []
    shown = result.stdout.str() + result.stderr.str()
    for value in variables.values():
        assert value not in shown


def test_the_first_summary_table_is_per_model_and_prompt(
    suite: pytest.Pytester, small: FakeServer, big: FakeServer
) -> None:
    """Several models: the table of accuracy and verdicts has a row per model and prompt (pooled, 5/6 would hide that
    the small model fails the trap); the Markdown report says its headline table is pooled."""
    result = suite.runpytest("-p", "no:cacheprovider", *endpoints(small, big), "--llm-report=r.md")
    result.assert_outcomes(passed=5, failed=1)
    lines = result.stdout.lines
    header = next(index for index, line in enumerate(lines) if line.split()[:3] == ["prompt", "model", "passed"])
    rows = [line.split() for line in lines[header + 1 : header + 3]]
    assert [row[:4] for row in rows] == [["none", BIG, "3/3", "100.0%"], ["none", SMALL, "2/3", "66.7%"]]
    assert not any(line.split()[:2] == ["none", "5/6"] for line in lines)  # no pooled row
    report = (suite.path / "r.md").read_text(encoding="utf-8")
    assert "All 2 models together; each model's accuracy per prompt is in the table below." in report

    one = suite.runpytest("-p", "no:cacheprovider", "--llm-model", BIG)
    one.assert_outcomes(passed=3)
    assert any(line.split()[:3] == ["prompt", "passed", "accuracy"] for line in one.stdout.lines)  # no model column


def test_two_targets_of_one_model_name_the_options_given(suite: pytest.Pytester) -> None:
    with FakeServer(models=("same",)) as one, FakeServer(models=("same",)) as other:
        named = [f"--llm-endpoint=a={one.url}", f"--llm-endpoint=b={other.url}"]
        asked = suite.runpytest(*named)
        assert asked.ret == pytest.ExitCode.USAGE_ERROR
        asked.stderr.fnmatch_lines(["*--llm-endpoint: two targets of this run are the model 'same' (*"])
        assert "--llm-model" not in asked.stderr.str()
        given = suite.runpytest(*named, "--llm-model=a=same", "--llm-model=b=same")
        assert given.ret == pytest.ExitCode.USAGE_ERROR
        given.stderr.fnmatch_lines(["*--llm-model: two targets of this run are the model 'same' (*"])
        mixed = suite.runpytest(*named, "--llm-model=a=same")
        assert mixed.ret == pytest.ExitCode.USAGE_ERROR
        mixed.stderr.fnmatch_lines(["*--llm-model and --llm-endpoint: two targets of this run are the model 'same'*"])


def test_the_markdown_paired_comparison_names_each_prompt_and_model(suite: pytest.Pytester) -> None:
    """Against a baseline with two prompts and two models, each paired line says whose it is, as the HTML does."""
    args = ["-p", "no:cacheprovider", "--llm-prompt=none", "--llm-prompt=prompts/careful.md"]
    with FakeServer(models=("m1",), answer=helped) as one, FakeServer(models=("m2",), answer=hurt) as two:
        named = [f"--llm-endpoint=one={one.url}", f"--llm-endpoint=two={two.url}"]
        suite.runpytest(*args, *named, "--llm-results=base.json")
        suite.runpytest(*args, *named, "--llm-baseline=base.json", "--llm-report=r.md", "--llm-html=r.html")
    report = (suite.path / "r.md").read_text(encoding="utf-8")
    paired = report.split("**Paired comparison**", 1)[1].split("\n\n", 2)[1].splitlines()
    assert sorted(line.split(" paired cases")[0] for line in paired) == [
        "- careful @ m1: 3",
        "- careful @ m2: 3",
        "- none @ m1: 3",
        "- none @ m2: 3",
    ]
    html = (suite.path / "r.html").read_text(encoding="utf-8")
    assert "careful @ m1: 3 paired cases" in html


def test_a_new_model_keeps_the_before_of_the_models_the_baseline_has(suite: pytest.Pytester) -> None:
    """The baseline ran m1 alone; this run adds m2. Each prompt's "vs baseline" cell compares m1's paired cases (the
    ones the baseline has) instead of losing the "before"; m2's cases are new, not a change."""
    args = ["-p", "no:cacheprovider", "--llm-prompt=none", "--llm-prompt=prompts/careful.md"]
    with FakeServer(models=("m1",), answer=helped) as one:
        suite.runpytest(*args, f"--llm-endpoint={one.url}", "--llm-results=base.json")
    base = results_of(suite, "base.json")
    assert {(case["prompt"], case["outcome"]) for case in base["cases"] if case["id"] == "trap"} == {
        ("none", "fail"),
        ("careful", "pass"),
    }
    with FakeServer(models=("m1",)) as one, FakeServer(models=("m2",), answer=hurt) as two:
        suite.runpytest(
            *args,
            f"--llm-endpoint=one={one.url}",
            f"--llm-endpoint=two={two.url}",
            "--llm-record-mode=all",
            "--llm-baseline=base.json",
            "--llm-report=r.md",
            "--llm-html=r.html",
        )
    report = (suite.path / "r.md").read_text(encoding="utf-8")
    table = report.split("| prompt |", 1)[1].split("\n\n", 1)[0].splitlines()[2:]
    rows = {line.split(" | ")[0]: line.split(" | ")[4] for line in table}
    # m1 under none: 2/3 in the baseline, 3/3 now; under careful 3/3 both times (m2's 2/3 is new, not compared).
    assert rows["| none"] == "66.7% → 100.0% (+33.3)"
    assert rows["| careful"] == "100.0% → 100.0% (+0.0)"
    html = (suite.path / "r.html").read_text(encoding="utf-8")
    assert "66.7% → 100.0% (+33.3)" in html
    assert "– →" not in html


def test_a_second_model_recorded_for_part_of_the_suite_is_said_when_recording_and_when_replaying(
    suite: pytest.Pytester,
) -> None:
    """A user records a second model on one case file of the suite. The recording run says at once what a replay
    without --llm-model will find (it replays both and fails on the cases the second lacks); that replay stays red
    (a missing recording is an error in CI) and names the model with partial recordings, of how many cases, the
    command that records them and the --llm-model that replays the complete model alone, each of which works."""
    suite.makefile(".yaml", **{"cases/more": "template: en\ncases:\n  - id: extra\n    numbers: ['2.5', '2.25']\n"})
    with FakeServer(models=(SMALL,)) as small:
        first = suite.runpytest("-p", "no:cacheprovider", f"--llm-endpoint={small.url}")
    first.assert_outcomes(passed=4)
    assert "now holds" not in first.stdout.str()  # one model: nothing to say
    with FakeServer(models=(BIG,)) as big:
        second = suite.runpytest("-p", "no:cacheprovider", f"--llm-endpoint={big.url}", "cases/more.yaml")
    second.assert_outcomes(passed=1)
    second.stdout.fnmatch_lines(
        [
            f"cassettes now holds 2 models ({BIG}, {SMALL}): a replay without --llm-model replays every one and "
            "fails on any case one of them has no recording of; of the 4 cases recorded under this run's prompts, "
            f"'{BIG}' lacks 3: record them (a run of the whole suite with --llm-endpoint and that model's "
            f"--llm-model asks only what is missing), or give the replay --llm-model {SMALL} (ini llm_model)"
        ]
    )
    replay = suite.runpytest("-p", "no:cacheprovider", "--llm-report=r.md", "--llm-html=r.html")
    replay.assert_outcomes(passed=5, skipped=3)
    assert replay.ret == pytest.ExitCode.TESTS_FAILED  # still red: CI must not pass on missing recordings
    replay.stdout.fnmatch_lines(
        [
            f"3 cases have no recording (skipped, not judged); record them with: pytest --llm-endpoint URL "
            f"--llm-model {BIG} cases/basic.yaml::trap::none *",
            f"a replay without --llm-model replays every model cassettes holds ({BIG}, {SMALL}): '{BIG}' has no "
            f"recording of 3 of its 4 cases; record them with the command above, or replay only the one recorded "
            f"in full: --llm-model {SMALL} (ini llm_model)",
        ]
    )
    for report in ("r.md", "r.html"):  # the pull request's comment and report say it too
        text = (suite.path / report).read_text(encoding="utf-8")
        assert "has no recording of 3 of its 4 cases; record them with the command above" in text
    spread = suite.runpytest("-p", "no:cacheprovider", "-n", "2")  # the controller says the same, from its workers
    spread.stdout.fnmatch_lines([f"*'{BIG}' has no recording of 3 of its 4 cases;*--llm-model {SMALL} (ini llm_model)"])
    narrowed = suite.runpytest("-p", "no:cacheprovider", f"--llm-model={SMALL}")
    narrowed.assert_outcomes(passed=4)
    assert narrowed.ret == pytest.ExitCode.OK
    line = next(line for line in replay.stdout.lines if "record them with: " in line)
    command = shlex.split(line.split("record them with: ", 1)[1])
    with FakeServer(models=(BIG,)) as big:
        url = big.url
        command[command.index("URL")] = url
        recorded = suite.runpytest("-p", "no:cacheprovider", *command[1:])
        assert len(big.chat_requests) == 3  # only what was missing
    recorded.assert_outcomes(passed=3)
    assert "now holds" not in recorded.stdout.str()  # both models hold the same cases now
    again = suite.runpytest("-p", "no:cacheprovider")
    again.assert_outcomes(passed=8)
    assert again.ret == pytest.ExitCode.OK
    assert "replays every model" not in again.stdout.str()
