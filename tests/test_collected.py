"""What a session provably collected (collected.py): the only ground on which --llm-prune deletes."""

from __future__ import annotations

from pathlib import Path

from pytest_llmcmp.collected import Collected, project_case_files


def suite(tmp_path: Path) -> list[Path]:
    files = [tmp_path / "cases" / "a.yaml", tmp_path / "cases" / "b" / "c.yaml", tmp_path / "other.yaml"]
    for path in files:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text('cases:\n  - {numbers: ["1", "2"]}\n', encoding="utf-8")
    for skipped in (
        ".hidden/cases/x.yaml",
        "node_modules/cases/y.yaml",
        "cassettes/m/none/z.yaml",
        "env/cases/v.yaml",
        "examples/own/cases/w.yaml",
    ):
        (tmp_path / skipped).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / skipped).write_text("cases: []\n", encoding="utf-8")
    (tmp_path / "env" / "pyvenv.cfg").write_text("", encoding="utf-8")
    (tmp_path / "examples" / "own" / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")  # another project
    (tmp_path / "notes.yaml").write_text("title: not a case file\n", encoding="utf-8")
    return files


def test_case_files_of_the_project_by_the_collectors_rule(tmp_path: Path) -> None:
    files = suite(tmp_path)
    found = list(project_case_files(tmp_path, tmp_path, [tmp_path / "cassettes"], ["node_modules"]))
    assert sorted(found) == sorted(files)


def test_whole_only_when_every_file_is_collected_and_fully_selected(tmp_path: Path) -> None:
    files = suite(tmp_path)
    collected = Collected(tmp_path)
    assert collected.incomplete(files) == "collection did not finish"
    collected.finished = True
    assert collected.incomplete(files) == "cases/a.yaml was not collected in this run"
    for path in files:
        collected.file_collected(path, 2)
        collected.item_selected(path)
    assert collected.incomplete(files) == "1 of 2 items of cases/a.yaml were deselected"
    for path in files:
        collected.item_selected(path)
    assert collected.incomplete(files) is None
    collected.errors.append("collecting cases/b/c.yaml failed")
    assert collected.incomplete(files) == "collecting cases/b/c.yaml failed"


def test_workers_are_trusted_only_for_what_they_all_collected(tmp_path: Path) -> None:
    files = suite(tmp_path)
    whole = {"expected": {"cases/a.yaml": 1, "cases/b/c.yaml": 1, "other.yaml": 1}, "finished": True, "errors": []}
    merged = Collected(tmp_path)
    merged.merge_worker({**whole, "selected": whole["expected"]}, first=True)
    assert merged.incomplete(files) is None
    merged.merge_worker({**whole, "selected": {"cases/a.yaml": 1, "other.yaml": 1}}, first=False)
    assert merged.incomplete(files) == "1 of 1 items of cases/b/c.yaml were deselected"
    merged.merge_worker({**whole, "expected": {"cases/a.yaml": 1}, "selected": {}}, first=False)
    assert merged.incomplete(files) == "xdist workers collected different case files"


def test_yaml_of_other_tools_is_not_a_case_file_of_the_project_unless_under_llm_cases(tmp_path: Path) -> None:
    files = suite(tmp_path)
    login = tmp_path / "tests" / "cases" / "login.yaml"
    login.parent.mkdir(parents=True)
    login.write_text("cases:\n  - {name: login, user: alice}\n", encoding="utf-8")
    found = list(project_case_files(tmp_path, tmp_path, [tmp_path / "cassettes"], ["node_modules"]))
    assert sorted(found) == sorted(files)
    configured = project_case_files(tmp_path, tmp_path, [], ["node_modules"], case_dirs=[tmp_path / "tests"])
    assert sorted(configured) == sorted([*files, login, tmp_path / "cassettes" / "m" / "none" / "z.yaml"])
