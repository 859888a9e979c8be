"""The asking process (``engine/remote.py``): live requests sent by a helper process, in real pytest sessions against
the fake server. The cassettes are the bytes the pytest process would have written itself; the helper never
outlives the session (its end, ``kill -9``, Ctrl-C); a session that cannot start it asks itself, saying so once; a
helper that dies mid-run is one line, and only whole cassettes stay."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.fakeserver import FakeServer
from tests.hostile import pytest_child
from tests.processes import alive, wait_gone
from tests.test_reliability import assert_cassettes_sound, numbered_cases, wait_for_cassettes, write_cases

#: A conftest that tells the test what the pytest process holds: its pid and its helper's, when the first item runs
#: (``probe.json``), and whether it imported openai itself (``probe-end.json``, at its end).
PROBE = """
import json, os, sys
from pathlib import Path


def _helpers():
    found = []
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for child in children:
            try:
                command = Path(f"/proc/{child}/cmdline").read_bytes()
            except OSError:
                continue
            if b"pytest_llmcmp.engine.remote" in command:
                found.append(int(child))
    return found


def pytest_runtest_setup(item):
    out = Path(str(item.config.rootpath)) / "probe.json"
    if not out.exists():
        out.write_text(json.dumps({"pid": os.getpid(), "helpers": _helpers()}))


def pytest_unconfigure(config):
    out = Path(str(config.rootpath)) / "probe-end.json"
    out.write_text(json.dumps({"openai": "openai" in sys.modules}))
"""


def probe(pytester: pytest.Pytester, extra: str = "") -> None:
    pytester.makeconftest(PROBE + extra)


def probed(directory: Path, name: str = "probe.json") -> dict[str, Any]:
    data: dict[str, Any] = json.loads((directory / name).read_text())
    (directory / name).unlink()
    return data


def wait_for_probe(directory: Path, process: subprocess.Popen[bytes]) -> dict[str, Any]:
    deadline = time.monotonic() + 90
    path = directory / "probe.json"
    while time.monotonic() < deadline and process.poll() is None:
        if path.is_file():
            time.sleep(0.05)  # written whole by now
            return probed(directory)
        time.sleep(0.05)
    raise AssertionError(f"the first item never ran (exit code {process.poll()})")


def files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def lines_with(output: str, text: str) -> list[str]:
    return [line for line in output.splitlines() if text in line]


def test_cassettes_are_the_bytes_the_pytest_process_writes(pytester: pytest.Pytester) -> None:
    """Model discovery and every request through the helper: the same files as asked in-process, and the pytest
    process never imports openai; the helper is gone when the session is."""
    write_cases(pytester, numbered_cases(12))
    (pytester.path / "prompts").mkdir()
    (pytester.path / "prompts" / "careful.md").write_text("Compare numbers carefully.\n", encoding="utf-8")
    probe(pytester)
    root = pytester.path / "cassettes"
    recorded: dict[str, dict[str, bytes]] = {}
    with FakeServer() as fake:
        for how in ("auto", "off"):
            shutil.rmtree(root, ignore_errors=True)
            result = pytester.runpytest_subprocess(
                "-p",
                "no:cacheprovider",
                "--llm-endpoint",
                fake.url,
                "--llm-record-mode",
                "all",
                "--llm-samples",
                "2",
                "--llm-prompt",
                "prompts/careful.md",
                "--llm-ask-process",
                how,
            )
            result.assert_outcomes(passed=12)
            assert not lines_with("\n".join(result.outlines), "asking process")
            seen, end = probed(pytester.path), probed(pytester.path, "probe-end.json")
            if how == "auto":
                assert len(seen["helpers"]) == 1, seen
                assert not end["openai"], "the pytest process imported openai: it asked itself"
                assert wait_gone(seen["helpers"][0], 10), "the asking process outlived its session"
            else:
                assert seen["helpers"] == []
                assert end["openai"]
            recorded[how] = files(root)
    assert len(recorded["auto"]) == 12
    assert recorded["auto"] == recorded["off"]


def test_the_option_takes_auto_or_off(pytester: pytest.Pytester) -> None:
    write_cases(pytester, numbered_cases(1))
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--llm-ask-process", "sometimes")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--llm-ask-process: expected auto or off, got 'sometimes'*"])


def test_a_helper_that_cannot_start_leaves_the_asking_to_pytest(pytester: pytest.Pytester) -> None:
    """pytest embedded in a program that is no Python (its ``sys.executable``): one line, and the run records as
    it would have."""
    write_cases(pytester, numbered_cases(6))
    probe(pytester, f"\nsys.executable = {shutil.which('true')!r}\n")
    with FakeServer() as fake:
        result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--llm-endpoint", fake.url)
        assert len(fake.chat_requests) == 6
    result.assert_outcomes(passed=6)
    said = lines_with("\n".join(result.outlines), "asking process")
    assert said == [
        "llmcmp: asking in the pytest process: the asking process could not start: no Python interpreter to start "
        "it with"
    ]
    assert probed(pytester.path, "probe-end.json")["openai"]
    assert len(assert_cassettes_sound(pytester.path / "cassettes")) == 6


def _asking_children() -> list[int]:
    """The asking processes this process started (Linux: read from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[-1].split()
            command = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == os.getpid() and b"engine.remote" in command and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process table from /proc")
def test_a_session_ending_on_a_usage_error_stops_its_helper(pytester: pytest.Pytester) -> None:
    """A live run of two endpoints, one refusing the key, ends in a usage error after the helper started (model
    discovery goes through it): the helper stops with the session, also in a process that goes on (pytest.main
    called in a program, an in-process pytester run)."""
    write_cases(pytester, numbered_cases(2))
    before = set(_asking_children())
    with FakeServer(models=("small",)) as small, FakeServer(models=("big",), api_key="big-key-0123456789") as big:
        result = pytester.runpytest_inprocess(
            "-p", "no:cacheprovider", f"--llm-endpoint=small={small.url}", f"--llm-endpoint=big={big.url}"
        )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    left = [pid for pid in _asking_children() if pid not in before and not wait_gone(pid, 10)]
    assert left == [], "the asking process outlived its session"


@pytest.mark.slow
@pytest.mark.parametrize("how", ["kill-9", "ctrl-c"])
def test_the_helper_ends_with_its_session(pytester: pytest.Pytester, how: str) -> None:
    """``kill -9`` of pytest (the helper sees its input close), and a terminal's Ctrl-C (SIGINT to the whole process
    group: the helper ignores it, pytest stops it): the helper goes too, and only whole cassettes stay."""
    count = 24
    write_cases(pytester, numbered_cases(count))
    probe(pytester)
    root = pytester.path / "cassettes"
    with FakeServer(latency=0.3) as fake:
        process = pytest_child(
            ["--llm-endpoint", fake.url, "--llm-concurrency", "2"], pytester.path, start_new_session=True
        )
        try:
            seen = wait_for_probe(pytester.path, process)
            assert len(seen["helpers"]) == 1, seen
            helper = seen["helpers"][0]
            wait_for_cassettes(root, process, at_least=3)
            started = time.monotonic()
            if how == "kill-9":
                process.kill()
            else:
                os.killpg(process.pid, signal.SIGINT)
            code = process.wait(timeout=60)
            took = time.monotonic() - started
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        assert wait_gone(helper, 15), f"the asking process outlived pytest ({how})"
        if how == "ctrl-c":
            assert code == pytest.ExitCode.INTERRUPTED
            assert took < 30, f"{took:.1f}s to end after Ctrl-C"
        else:
            assert code == -signal.SIGKILL
        recorded = assert_cassettes_sound(root, temp_files_allowed=how == "kill-9")
        assert 3 <= len(recorded) < count, "the run should have been stopped halfway"


@pytest.mark.slow
def test_a_helper_dying_mid_run_is_one_line_and_no_half_recording(pytester: pytest.Pytester) -> None:
    count = 24
    write_cases(pytester, numbered_cases(count))
    probe(pytester)
    root = pytester.path / "cassettes"
    out = pytester.path / "out.txt"
    with FakeServer(latency=0.3) as fake, out.open("wb") as sink:
        process = pytest_child(
            ["-rN", "--llm-endpoint", fake.url, "--llm-concurrency", "2"], pytester.path, stdout=sink, stderr=sink
        )
        try:
            seen = wait_for_probe(pytester.path, process)
            helper = seen["helpers"][0]
            wait_for_cassettes(root, process, at_least=3)
            os.kill(helper, signal.SIGKILL)
            code = process.wait(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        assert not alive(helper)
        output = out.read_text(encoding="utf-8", errors="replace")
        assert code == pytest.ExitCode.TESTS_FAILED, output
        said = lines_with(output, "llmcmp: the asking process")
        assert len(said) == 1, output
        assert re.fullmatch(
            rf"llmcmp: the asking process \(pid {helper}\) died \(killed by signal 9\); \d+ requests? it had not "
            r"answered failed, none of them recorded",
            said[0].strip(),
        ), said
        assert "Traceback" not in output
        recorded = assert_cassettes_sound(root)
        assert 3 <= len(recorded) < count

        # What was lost is recorded by the next run; what was recorded is replayed.
        fake.latency = 0.0
        fake.clear()
        again = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--llm-endpoint", fake.url)
        again.assert_outcomes(passed=count)
        assert len(fake.chat_requests) == count - len(recorded)


def test_the_helper_makes_the_tls_contexts_its_endpoints_use() -> None:
    # While it starts, the asking process reads the CA bundle once per TLS context its clients will use: a loopback
    # server's (no proxy from the environment), another server's, both when the URL is not known yet.
    from pytest_llmcmp.wire import trust_env_of

    assert trust_env_of(["http://127.0.0.1:8080/v1"]) == (False,)
    assert trust_env_of(["https://api.example.com/v1"]) == (True,)
    assert trust_env_of(["http://localhost:1/v1", "https://api.example.com/v1"]) == (True, False)
    assert trust_env_of([None]) == (True, False)  # --llm-endpoint local: its port is chosen when it starts
    assert trust_env_of([]) == (True, False)
