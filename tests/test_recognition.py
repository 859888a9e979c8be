"""Which YAML files are case files (recognition.py): other projects' YAML is never collected, real case files are,
typos included."""

from __future__ import annotations

import codecs
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_llmcmp.cases import looks_like_case_file
from pytest_llmcmp.recognition import top_level_keys

ECOSYSTEM = Path(__file__).parent / "data" / "ecosystem"
SUITE = Path(__file__).parent.parent / "cases"


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_inprocess("-p", "no:cacheprovider", *args)


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("path", sorted(ECOSYSTEM.iterdir()), ids=lambda p: p.name)
def test_yaml_of_other_tools_is_never_a_case_file(path: Path) -> None:
    assert not looks_like_case_file(path)
    assert not looks_like_case_file(path, named=False)


@pytest.mark.parametrize("path", sorted(SUITE.glob("*.yaml")), ids=lambda p: p.name)
def test_the_shipped_case_files_are_case_files(path: Path) -> None:
    assert looks_like_case_file(path)


CASE_FILES = {
    "plain": "cases:\n  - numbers: ['13.8', '13.11']\n",
    "file defaults first": "# suite\ntemplate: en\ntags: [x]\nask: smaller\ncases:\n  - {numbers: ['1', '2']}\n",
    "flow style": "{cases: [{numbers: ['1', '2']}]}\n",
    "quoted keys": '"cases":\n  - "numbers": ["1", "2"]\n',
    "after a document marker": "%YAML 1.1\n---\ncases:\n  - numbers: ['1', '2']\n",
    "generator only": "generate:\n  - {category: decimal-trap, seed: 1, count: 3}\n",
    "empty lists": "generate: []\n",
    "import only": "import: {file: failures.csv, numbers: [a, b]}\n",
    "import list": "import:\n  - file: failures.jsonl\n    numbers: pair\n",
    # Typos a user makes: still collected, so that the loader says what is wrong, where.
    "top-level near miss case:": "template: en\ncase:\n  - numbers: ['13.8', '13.11']\n",
    "top-level near miss generat:": "generat:\n  - {category: decimal-trap, seed: 1, count: 3}\n",
    "every entry misspelt numbrs": "cases:\n  - numbrs: ['1.5', '1.25']\n",
    "unquoted numbers": "cases:\n  - numbers: [13.8, 13.11]\n",
    "expected for expect": "cases:\n  - {numbers: ['1', '2'], expected: '2'}\n",
    "one good entry among odd ones": "cases:\n  - {numbers: ['1', '2'], answer: '2'}\n  - {numbers: ['3', '4']}\n",
    "a YAML syntax error": "cases:\n  - numbers: ['13.8', '13.11'\n  - numbers: ['1', '2']\n",
    "an alias": "cases:\n  - &a {numbers: ['1', '2']}\n  - *a\n",
    "tab-indented": "cases:\n\t- numbers: ['1', '2']\n",
}


@pytest.mark.parametrize("text", CASE_FILES.values(), ids=CASE_FILES.keys())
def test_case_files_and_their_typos_are_case_files(tmp_path: Path, text: str) -> None:
    assert looks_like_case_file(write(tmp_path, "mine.yaml", text))


def test_utf16_case_file_is_a_case_file(tmp_path: Path) -> None:
    path = tmp_path / "utf16.yaml"
    path.write_bytes(codecs.BOM_UTF16_LE + "cases:\n  - numbers: ['13.8', '13.11']\n".encode("utf-16-le"))
    assert looks_like_case_file(path)


NOT_CASE_FILES = {
    "other top-level keys": "version: 2\ncases:\n  - numbers: ['1', '2']\n",
    "entries that are not comparisons": "cases:\n  - {name: login, user: alice}\n",
    "a near miss with other keys": "case:\n  - {number: '555-0100', valid: true}\n",
    "cases as a mapping": "cases:\n  login: {numbers: ['1', '2']}\n",
    "nested cases": "test:\n  cases:\n    - numbers: ['1', '2']\n",
    "a list at the top": "- cases: [{numbers: ['1', '2']}]\n",
    "empty list under a near miss": "case: []\n",
    "empty file": "",
    "a syntax error without case words": "cases:\n  - [unclosed\n",
    "too many top-level keys": "".join(f"tag{i}: x\n" for i in range(20)) + "cases: []\n",
}


@pytest.mark.parametrize("text", NOT_CASE_FILES.values(), ids=NOT_CASE_FILES.keys())
def test_other_yaml_is_not_a_case_file(tmp_path: Path, text: str) -> None:
    assert not looks_like_case_file(write(tmp_path, "other.yaml", text))


def test_under_a_configured_directory_every_yaml_file_is_a_case_file(tmp_path: Path) -> None:
    other = write(tmp_path, "workflow.yaml", "name: ci\njobs: {}\n")
    assert not looks_like_case_file(other)
    assert looks_like_case_file(other, under_cases_dir=True)
    assert not looks_like_case_file(write(tmp_path, "notes.txt", "cases: []\n"), under_cases_dir=True)


def test_a_file_named_on_the_command_line_needs_only_the_top_level(tmp_path: Path) -> None:
    odd = write(tmp_path, "odd.yaml", "cases:\n  - {numbers: ['1', '2'], answer: '2'}\n")
    assert not looks_like_case_file(odd)
    assert looks_like_case_file(odd, named=True)
    assert not looks_like_case_file(ECOSYSTEM / "test_login.tavern.yaml", named=True)


def test_top_level_keys() -> None:
    text = "# c\nname: x\n'quoted': 1\n\"dq\" : 2\nurl: http://x:80\n  nested: 3\n- item\n{flow: 1}\nkey:value\n"
    assert top_level_keys(text) == ["name", "quoted", "dq", "url", "flow"]


def test_a_fifo_is_never_read(tmp_path: Path) -> None:
    import os

    fifo = tmp_path / "cases.yaml"
    os.mkfifo(fifo)
    started = time.monotonic()
    assert not looks_like_case_file(fifo)
    assert not looks_like_case_file(fifo, under_cases_dir=True)
    assert time.monotonic() - started < 5


def test_recognition_reads_only_the_head_of_a_large_file(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_text("openapi: 3.0.3\npaths:\n" + "  /x:\n    get: {description: ok}\n" * 400_000, encoding="utf-8")
    assert big.stat().st_size > 10_000_000
    started = time.process_time()  # CPU time: a loaded machine slows the clock, not the work
    for _ in range(20):
        assert not looks_like_case_file(big)
    assert time.process_time() - started < 1.0


# --- in real pytest sessions --------------------------------------------------------------------------------------


def unrelated_project(pytester: pytest.Pytester) -> None:
    """Another project with the plugin installed: YAML of every kind, a ``tests/cases/`` folder of its own."""
    for path in ECOSYSTEM.iterdir():
        folder = "tests/cases" if "cases" in path.name else "deploy"
        write(pytester.path, f"{folder}/{path.name}", path.read_text(encoding="utf-8"))
    write(pytester.path, "cases/login.yaml", (ECOSYSTEM / "login-cases.yaml").read_text(encoding="utf-8"))
    write(pytester.path, "tests/test_app.py", "def test_app():\n    assert 1 + 1 == 2\n")


def test_an_unrelated_project_runs_unaffected(pytester: pytest.Pytester) -> None:
    unrelated_project(pytester)
    result = run(pytester, "-v")
    assert result.ret == 0
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["tests/test_app.py::test_app PASSED*"])
    result.stdout.no_fnmatch_line("*ERROR*")
    result.stdout.no_fnmatch_line("*.yaml*")
    result.stdout.no_fnmatch_line("*.yml*")


def test_an_unrelated_project_named_directories_too(pytester: pytest.Pytester) -> None:
    unrelated_project(pytester)
    result = run(pytester, "tests", "cases", "deploy")
    assert result.ret == 0
    result.assert_outcomes(passed=1)


def test_real_case_files_are_collected_anywhere_beside_other_yaml(pytester: pytest.Pytester) -> None:
    unrelated_project(pytester)
    write(pytester.path, "tests/llm/seed.yaml", "template: en\ncases:\n  - {id: trap, numbers: ['13.8', '13.11']}\n")
    write(pytester.path, "suite.yml", "generate:\n  - {category: decimal-trap, seed: 1, count: 2}\n")
    result = run(pytester, "--collect-only", "-q")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["suite.yml::decimal-trap-1-*::none", "tests/llm/seed.yaml::trap::none"])
    result.stdout.fnmatch_lines(["4 tests collected*"])


def test_a_top_level_typo_in_a_case_file_is_a_located_error(pytester: pytest.Pytester) -> None:
    write(pytester.path, "llm/mine.yaml", "template: en\ncase:\n  - numbers: ['13.8', '13.11']\n")
    write(pytester.path, "llm/gen.yaml", "generat:\n  - {category: decimal-trap, seed: 1, count: 3}\n")
    result = run(pytester, "--collect-only")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(
        [
            "llm/gen.yaml:1: unknown key 'generat' in the top level of a case file; did you mean 'generate'?",
            "llm/mine.yaml:2: unknown key 'case' in the top level of a case file; did you mean 'cases'?",
        ],
        consecutive=False,
    )
    result.stdout.no_fnmatch_line("*Traceback*")


def test_llm_cases_makes_every_yaml_file_there_a_case_file(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nllm_cases = suite\n")
    write(pytester.path, "suite/good.yaml", "cases:\n  - {id: good, numbers: ['1', '2']}\n")
    write(pytester.path, "suite/odd.yaml", "cases:\n  - {numbers: ['1', '2'], answer: '2'}\n")
    write(pytester.path, "elsewhere/odd.yaml", "cases:\n  - {numbers: ['1', '2'], answer: '2'}\n")
    write(pytester.path, "elsewhere/ok.yaml", "cases:\n  - {id: ok, numbers: ['1', '3']}\n")
    result = run(pytester, "--collect-only")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["suite/odd.yaml:2: unknown key 'answer' in case #1; expected one of: *"])
    result.stdout.no_fnmatch_line("*elsewhere/odd.yaml*")
    result.stdout.fnmatch_lines(["*1 error*"])


def test_llm_cases_naming_no_directory_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = run(pytester, "--llm-cases", "nowhere")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --llm-cases nowhere: no such directory (from *)"])


def test_a_file_named_on_the_command_line_is_checked(pytester: pytest.Pytester) -> None:
    write(pytester.path, "odd.yaml", "cases:\n  - {numbers: ['1', '2'], answer: '2'}\n")
    assert run(pytester, "--collect-only").ret == pytest.ExitCode.NO_TESTS_COLLECTED
    result = run(pytester, "--collect-only", "odd.yaml")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["odd.yaml:2: unknown key 'answer' in case #1; expected one of: *"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.one_of(
        st.binary(max_size=300).map(lambda b: b"cases:\n" + b),
        st.text(alphabet="cases:gnrtm -[]{}'\"\n\t#&*!|>%@numbrs", max_size=200).map(str.encode),
    )
)
def test_recognition_never_raises_whatever_the_bytes(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "any.yaml"
    path.write_bytes(data)
    assert looks_like_case_file(path) in (True, False)
    assert looks_like_case_file(path, named=True) in (True, False)


def test_help_works_even_when_llm_cases_names_no_directory(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nllm_cases = gone\n")
    assert run(pytester, "--help").ret == 0
    result = run(pytester)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: llm_cases gone: no such directory (from *)"])
