"""Recordings made under a model file's path (before model ids became the file's stem): the run says where they are
and the command that moves them; the command moves them so that they replay. Real pytest sessions (pytester), the
fake endpoint on loopback, the command in a subprocess."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.fakeserver import FakeServer

SERVED = "/models/tiny-llm.Q4_1.gguf"  # what llama.cpp's server started by hand reports
OLD_DIR = quote(SERVED, safe="")  # %2Fmodels%2Ftiny-llm.Q4_1.gguf


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_inprocess("-p", "no:cacheprovider", *args)


def migrate(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest_llmcmp.migrate", *args],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def old_layout(root: Path) -> list[Path]:
    """Turn ``root/tiny-llm.Q4_1/`` into what an earlier version recorded: the directory and every ``model`` field
    named after the file's path. Edited as text, not through the code under test."""
    stem = root / "tiny-llm.Q4_1"
    moved = []
    for path in sorted(stem.rglob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        assert '"model": "tiny-llm.Q4_1"' in text
        target = root / OLD_DIR / path.relative_to(stem)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text.replace('"model": "tiny-llm.Q4_1"', f'"model": "{SERVED}"'), encoding="utf-8")
        path.unlink()
        moved.append(target)
    for folder in sorted((p for p in stem.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
        folder.rmdir()
    stem.rmdir()
    return moved


def test_recordings_under_a_model_files_path_are_named_and_moved_by_one_command(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FakeServer(models=(SERVED,)) as fake:
        run(suite, "--llm-endpoint", fake.url).assert_outcomes(passed=3)
    root = suite.path / "cassettes"
    assert [p.name for p in root.iterdir()] == ["tiny-llm.Q4_1"]
    old = old_layout(root)
    assert len(old) == 3

    # A replay says, in one line, where they are and how to move them; it does not take the path for another model.
    replay = run(suite, "-rs")
    replay.assert_outcomes(skipped=3)
    replay.stdout.fnmatch_lines(
        [
            f"llmcmp: cassettes/{OLD_DIR} holds 3 cassettes of model 'tiny-llm.Q4_1' recorded under its file's path "
            "(before model ids became the file's stem): they are not replayed; move them with: "
            "python -m pytest_llmcmp.migrate cassettes"
        ]
    )
    replay.stdout.no_fnmatch_line("*several models*")
    assert "Traceback" not in replay.stdout.str()

    # One more case recorded since, under the stem: the move merges, keeping it.
    with FakeServer(models=(SERVED,), answer=lambda request: "13.8 is larger. (recorded later)") as fake:
        live = run(suite, "--llm-endpoint", fake.url, "-k", "trap")
        live.assert_outcomes(passed=1)
        live.stdout.fnmatch_lines(["llmcmp: cassettes/* holds 3 cassettes of model 'tiny-llm.Q4_1' *"])
    later = root / "tiny-llm.Q4_1" / "none" / "trap.yaml"
    assert "(recorded later)" in later.read_text(encoding="utf-8")

    moved = migrate(suite.path, "cassettes")
    assert moved.returncode == 0, moved.stderr
    assert moved.stdout.splitlines() == [
        f"moved 3 cassettes of model 'tiny-llm.Q4_1' from cassettes/{OLD_DIR} to cassettes/tiny-llm.Q4_1"
    ]
    assert not (root / OLD_DIR).exists()
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*.yaml")) == [
        "tiny-llm.Q4_1/none/control.yaml",
        "tiny-llm.Q4_1/none/smaller.yaml",
        "tiny-llm.Q4_1/none/trap.yaml",
    ]
    for path in root.rglob("*.yaml"):
        assert SERVED not in path.read_text(encoding="utf-8")
    assert "(recorded later)" in later.read_text(encoding="utf-8")  # the newer recording of the same request stays

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("replay touched the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    after = run(suite)
    after.assert_outcomes(passed=3)
    after.stdout.no_fnmatch_line("*recorded under its file's path*")

    again = migrate(suite.path)
    assert again.returncode == 0
    assert again.stdout.strip() == "cassettes: no model directory is named after a model file's path; nothing to move"


def test_an_unreadable_cassette_is_left_where_it_is_with_one_line(tmp_path: Path) -> None:
    folder = tmp_path / "cassettes" / OLD_DIR / "none"
    folder.mkdir(parents=True)
    (folder / "bad.yaml").write_text("interactions: [\n", encoding="utf-8")
    result = migrate(tmp_path)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"moved 0 cassettes of model 'tiny-llm.Q4_1' from cassettes/{OLD_DIR} to cassettes/tiny-llm.Q4_1 "
        "(1 left: see below)"
    ]
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"not moved: cassettes/{OLD_DIR}/none/bad.yaml: invalid YAML")
    assert (folder / "bad.yaml").is_file()


def test_a_missing_directory_or_a_bad_argument_is_one_line(tmp_path: Path) -> None:
    missing = migrate(tmp_path)
    assert missing.returncode == 2
    assert (
        missing.stderr.strip()
        == "cassettes: no such directory (give the cassette directory: python -m pytest_llmcmp.migrate DIR)"
    )
    usage = migrate(tmp_path, "--all")
    assert usage.returncode == 2
    assert usage.stderr.startswith("usage: python -m pytest_llmcmp.migrate [CASSETTE_DIR]")


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_a_directory_symlinked_out_of_the_cassettes_is_never_emptied(suite: pytest.Pytester) -> None:
    with FakeServer(models=(SERVED,)) as fake:
        run(suite, "--llm-endpoint", fake.url, "-k", "trap").assert_outcomes(passed=1)
    old_layout(suite.path / "cassettes")
    outside = suite.path / "outside"
    outside.mkdir()
    (outside / "keep.yaml").write_text("interactions: []\nversion: 1\n", encoding="utf-8")
    os.symlink(outside, suite.path / "cassettes" / OLD_DIR / "linked")
    result = migrate(suite.path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("moved 1 cassette of model 'tiny-llm.Q4_1'")
    assert (outside / "keep.yaml").is_file()  # not entered, not moved, not deleted
    assert (suite.path / "cassettes" / OLD_DIR / "linked").is_symlink()
