"""Points of a new user's first live run (issue 18) that the options and the docs answer: driven as that user would."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.fakeserver import FakeServer

README = Path(__file__).parent.parent / "README.md"


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_inprocess("-p", "no:cacheprovider", *args)


def test_help_names_the_variables_the_key_and_the_default_prompt(pytester: pytest.Pytester) -> None:
    result = run(pytester, "--help")
    text = " ".join(result.stdout.str().split())  # argparse wraps the lines
    assert "LLMCMP_API_KEY, else OPENAI_API_KEY" in text
    assert "the environment variable LLMCMP_NAME" in text
    assert "LLMCMP_PROMPT=a.md,b.md" in text
    assert "('none' = no system prompt; the default)" in text


@pytest.mark.parametrize("value", ["prompts/careful.md,none", "prompts/careful.md, none", "prompts/careful.md none"])
def test_a_repeatable_variable_takes_commas_or_spaces(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("LLMCMP_PROMPT", value)
    result = run(suite, "--collect-only", "-q")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["cases/basic.yaml::trap::careful", "cases/basic.yaml::trap::none"])


def test_llmcmp_cases_variable_lists_directories(suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    (suite.path / "more").mkdir()
    (suite.path / "more" / "odd.yaml").write_text("cases:\n  - {numbers: ['1', '2'], answer: '2'}\n", "utf-8")
    assert run(suite, "--collect-only", "-q").ret == 0  # not clearly a case file: left alone
    monkeypatch.setenv("LLMCMP_CASES", "cases,more")
    result = run(suite, "--collect-only")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["more/odd.yaml:2: unknown key 'answer' in case #1; expected one of: *"])


def test_the_readme_prompt_paths_exist() -> None:
    text = README.read_text(encoding="utf-8")
    root = README.parent
    for path in sorted(set(re.findall(r"--llm-prompt[ =]([\w./-]+\.md)", text))):
        assert (root / path).is_file(), path


def test_the_shipped_suite_still_collects_under_llm_cases(pytester: pytest.Pytester) -> None:
    """The repository's own configuration (llm_cases = ["cases"]) over a copy of its suite."""
    root = README.parent
    for path in (root / "cases").glob("*.yaml"):
        (pytester.path / "cases").mkdir(exist_ok=True)
        (pytester.path / "cases" / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    pytester.makeini("[pytest]\nllm_cases = cases\n")
    result = run(pytester, "--collect-only", "-q")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["227 tests collected*"])


def test_no_server_needed_to_collect_an_unrelated_project_with_the_plugin(pytester: pytest.Pytester) -> None:
    """An unrelated project: nothing of the plugin's is written, no summary section."""
    pytester.makepyfile(test_app="def test_app():\n    pass\n")
    (pytester.path / "tests" / "cases").mkdir(parents=True)
    (pytester.path / "tests" / "cases" / "login.yaml").write_text("cases:\n  - {name: login}\n", "utf-8")
    with FakeServer(models=("fake-model",)) as fake:
        result = run(pytester, f"--llm-endpoint={fake.url}")
    result.assert_outcomes(passed=1)
    assert fake.chat_requests == []
    assert not (pytester.path / "cassettes").exists()
