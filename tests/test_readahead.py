"""Replay through the read-ahead helper process: the same verdicts and messages as reading in-process, whatever the
helper does (works, dies, talks nonsense), and never a helper left behind.

The helper only starts for large replays on a machine with two cores; these tests lower that threshold so that a
three-case suite uses it, and compare every run with one that reads in-process.
"""

from __future__ import annotations

import io
import pickle
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_llmcmp import answers, readahead
from pytest_llmcmp.cassettes import Cassette, key_digest, request_key
from pytest_llmcmp.results import Cost
from pytest_llmcmp.wire import Reply
from tests.fakeserver import FakeServer
from tests.processes import wait_gone
from tests.test_plugin import results_of, run, wrong_on_trap
from tests.test_reliability import numbered_cases, question, start_pytest, write_cases


class Spy:
    """What the helper did in the sessions of one test."""

    def __init__(self) -> None:
        self.pids: list[int] = []
        self.served = 0  # outcomes the main process took from the helper
        self.extracted_in_main = 0


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> Iterator[Spy]:
    seen = Spy()
    start, outcome, extract = readahead.ReadAhead.__init__, readahead.ReadAhead.outcome, answers.extract_choice

    def spied_init(self: readahead.ReadAhead) -> None:
        start(self)
        assert self._process is not None
        seen.pids.append(self._process.pid)

    def spied_outcome(self: readahead.ReadAhead, index: int) -> readahead.Found:
        found = outcome(self, index)
        seen.served += found is not None
        return found

    def spied_extract(*args: Any, **kwargs: Any) -> answers.Extraction:
        seen.extracted_in_main += 1
        return extract(*args, **kwargs)

    monkeypatch.setattr(readahead.ReadAhead, "__init__", spied_init)
    monkeypatch.setattr(readahead.ReadAhead, "outcome", spied_outcome)
    monkeypatch.setattr(answers, "extract_choice", spied_extract)
    yield seen
    for pid in seen.pids:
        assert wait_gone(pid, 5.0), f"the read-ahead helper {pid} outlived its session"


def helper(monkeypatch: pytest.MonkeyPatch, on: bool) -> None:
    """Use the helper for any replay (``on``), or never."""
    monkeypatch.setattr(readahead, "MIN_JOBS", 1 if on else 10**9)
    monkeypatch.setattr(readahead, "usable_cpus", lambda: 2)


def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("replay touched the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)


def recorded(suite: pytest.Pytester, *args: str, prompts: int = 1) -> None:
    with FakeServer(models=("fake-model",), answer=wrong_on_trap) as fake:
        run(suite, "--llm-endpoint", fake.url, *args).assert_outcomes(passed=2 * prompts, failed=prompts)


def verdicts(path: Path) -> list[tuple[Any, ...]]:
    return [(c["id"], c["prompt"], c["outcome"], c["samples"]) for c in results_of(path)["cases"]]


def test_replay_through_the_helper_is_the_replay_in_process(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, spy: Spy
) -> None:
    args = ("--llm-prompt", "none", "--llm-prompt", "prompts/careful.md", "--llm-samples", "3")
    recorded(suite, *args, prompts=2)
    no_network(monkeypatch)
    helper(monkeypatch, on=False)
    spy.extracted_in_main = 0
    run(suite, *args, "--llm-results", "in-process.json").assert_outcomes(passed=4, failed=2)
    assert spy.pids == []
    assert spy.extracted_in_main == 18  # 6 items x 3 samples
    helper(monkeypatch, on=True)
    spy.extracted_in_main = 0
    result = run(suite, *args, "--llm-results", "helper.json", "-v")
    result.assert_outcomes(passed=4, failed=2)
    assert len(spy.pids) == 1
    assert spy.served == 6
    assert spy.extracted_in_main == 0  # the built-in extractor ran in the helper
    assert verdicts(suite.path / "helper.json") == verdicts(suite.path / "in-process.json")
    result.stdout.fnmatch_lines(["*wrong: chose 13.11*", "*answer: 13.11 is larger than 13.8*"])


@pytest.mark.parametrize(
    "boot",
    [
        "import sys; sys.exit(3)",  # dies at once
        "import sys; sys.stdin.buffer.read(); sys.stdout.write('nonsense' * 1000)",  # answers garbage
        "import pickle, sys; pickle.load(sys.stdin.buffer); pickle.dump([None], sys.stdout.buffer)",  # gives up early
        "import pickle, sys; pickle.load(sys.stdin.buffer); pickle.dump({'no': 'list'}, sys.stdout.buffer)",
    ],
    ids=["dies", "garbage", "gives-up", "not-a-list"],
)
def test_a_failing_helper_changes_nothing(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, spy: Spy, boot: str
) -> None:
    recorded(suite, "--llm-results", "live.json")
    no_network(monkeypatch)
    helper(monkeypatch, on=True)
    monkeypatch.setattr(readahead, "_BOOT", boot)
    run(suite, "--llm-results", "replay.json").assert_outcomes(passed=2, failed=1)
    assert len(spy.pids) == 1
    assert spy.served == 0
    assert verdicts(suite.path / "replay.json") == verdicts(suite.path / "live.json")


#: A helper that takes 30 ms per cassette: slower than any main process, as on a machine whose second core is busy.
SLOW_BOOT = (
    "import sys, time; sys.path.insert(0, sys.argv[1]); import pytest_llmcmp.readahead as r; read = r.read; "
    "r.read = lambda *job: (time.sleep(0.03), read(*job))[1]; r.serve()"
)


def test_a_helper_that_falls_behind_is_stopped_and_changes_nothing(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, spy: Spy
) -> None:
    count = 3 * readahead.WINDOW
    write_cases(pytester, numbered_cases(count))
    with FakeServer(models=("fake-model",)) as fake:
        run(pytester, "--llm-endpoint", fake.url, "--llm-results", "live.json").assert_outcomes(passed=count)
    no_network(monkeypatch)
    helper(monkeypatch, on=True)
    monkeypatch.setattr(readahead, "_BOOT", SLOW_BOOT)
    helpers: list[readahead.ReadAhead] = []
    send = readahead.ReadAhead.send

    def spied_send(self: readahead.ReadAhead, jobs: list[readahead.Job]) -> None:
        helpers.append(self)
        send(self, jobs)

    monkeypatch.setattr(readahead.ReadAhead, "send", spied_send)
    run(pytester, "--llm-results", "replay.json").assert_outcomes(passed=count)
    assert len(helpers) == 1
    ahead = helpers[0]
    assert ahead.stopped is not None, "a helper 30 ms per cassette behind was kept"
    assert ahead.read_here >= readahead.WINDOW // 2
    assert ahead.served + ahead.read_here <= readahead.WINDOW + readahead.FIRST_BATCH  # stopped after one window
    assert verdicts(pytester.path / "replay.json") == verdicts(pytester.path / "live.json")


@pytest.mark.parametrize("executable", ["/nonexistent/python3", "/opt/blender/blender", ""])
def test_a_helper_that_cannot_start_changes_nothing(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, executable: str
) -> None:
    recorded(suite, "--llm-results", "live.json")
    helper(monkeypatch, on=True)
    monkeypatch.setattr(readahead.sys, "executable", executable)  # missing, a program embedding Python, unknown
    monkeypatch.setattr(readahead, "worth_it", lambda jobs: True)
    run(suite, "--llm-results", "replay.json").assert_outcomes(passed=2, failed=1)
    assert verdicts(suite.path / "replay.json") == verdicts(suite.path / "live.json")


def test_the_helper_is_only_ever_a_python(monkeypatch: pytest.MonkeyPatch) -> None:
    for executable, expected in [
        ("/usr/bin/python3.11", True),
        ("/venv/bin/python", True),
        ("C:\\Python311\\python.exe", True),
        ("/usr/bin/pypy3", True),
        ("/opt/blender/blender", False),
        ("/usr/sbin/uwsgi", False),
        ("", False),
    ]:
        monkeypatch.setattr(readahead.sys, "executable", executable)
        assert (readahead.python_executable() is not None) is expected, executable


def test_bad_cassettes_and_missing_recordings_read_the_same_through_the_helper(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, spy: Spy
) -> None:
    recorded(suite)
    folder = suite.path / "cassettes" / "fake-model" / "none"
    text = (folder / "trap.yaml").read_text(encoding="utf-8")
    (folder / "trap.yaml").write_text(text[: len(text) // 2], encoding="utf-8")  # cut short
    marker = suite.path / "pwned"
    (folder / "control.yaml").write_text(
        f"interactions:\n- request: !!python/object/apply:os.system ['touch {marker}']\nversion: 1\n", encoding="utf-8"
    )
    (folder / "smaller.yaml").unlink()
    outputs = []
    for on in (False, True):
        helper(monkeypatch, on=on)
        result = run(suite)
        result.assert_outcomes(failed=2, skipped=1)  # unreadable cassettes fail; a missing one is not recorded yet
        result.stdout.no_fnmatch_line("*Traceback*")
        outputs.append([line for line in result.outlines if "cassettes" in line or "record" in line])
    assert spy.served == 3
    assert not marker.exists()
    assert outputs[0] == outputs[1]
    assert (
        "cassettes/fake-model/none/trap.yaml: missing 'version' (vcrpy writes it last: file truncated?)" in outputs[1]
    )
    assert any(
        line.startswith("cassettes/fake-model/none/control.yaml: unsupported YAML") and "!!python" in line
        for line in outputs[1]
    )
    assert any("re-record it with: pytest --llm-endpoint URL" in line for line in outputs[1])
    assert (
        "1 case has no recording (skipped, not judged); record them with: "
        "pytest --llm-endpoint URL --llm-model fake-model cases/basic.yaml::smaller::none" in outputs[1]
    )


def test_a_plugged_in_extractor_judges_in_the_main_process(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, spy: Spy
) -> None:
    with FakeServer(answer=lambda request: "B") as fake:
        run(suite, "--llm-endpoint", fake.url).assert_outcomes(failed=3)
    suite.makeconftest(
        """
        from pytest_llmcmp.answers import Extraction

        def pytest_llmcmp_extract_choice(answer, case):
            if answer.strip() in ("A", "B"):
                return Extraction(choice=case.numbers["AB".index(answer.strip())], reason="letter")
            return None
        """
    )
    helper(monkeypatch, on=True)
    run(suite, "--llm-results", "r.json").assert_outcomes(failed=3)  # "B" is the wrong one in each case
    assert spy.served == 3
    assert {c["id"]: c["samples"][0]["choice"] for c in results_of(suite.path / "r.json")["cases"]} == {
        "trap": "13.11",
        "control": "9.9",
        "smaller": "-0.25",
    }


def test_no_helper_when_recording_small_single_core_or_off(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, spy: Spy
) -> None:
    monkeypatch.setattr(readahead, "usable_cpus", lambda: 2)
    recorded(suite)
    run(suite).assert_outcomes(passed=2, failed=1)  # 3 cassettes: below MIN_JOBS
    monkeypatch.setattr(readahead, "MIN_JOBS", 1)
    recorded(suite)  # an endpoint: the default record mode records what is missing, in-process
    monkeypatch.setattr(readahead, "usable_cpus", lambda: 1)
    run(suite).assert_outcomes(passed=2, failed=1)  # one core: nothing to gain
    monkeypatch.setattr(readahead, "usable_cpus", lambda: 2)
    run(suite, "--llm-read-ahead", "off").assert_outcomes(passed=2, failed=1)  # switched off
    suite.makeini("[pytest]\nllm_read_ahead = off\n")
    run(suite).assert_outcomes(passed=2, failed=1)
    assert spy.pids == []
    run(suite, "--llm-read-ahead", "auto").assert_outcomes(passed=2, failed=1)  # the command line wins
    assert len(spy.pids) == 1


# --- the helper's side, without a process ------------------------------------------------------------------------


def test_serve_answers_every_job_in_order_in_small_batches(tmp_path: Path) -> None:
    from tests.test_cassettes import exchange

    good = tmp_path / "good.yaml"
    cassette = Cassette(good)
    cassette.add(exchange("13.8"))
    cassette.save([])
    body = exchange("13.8").request_body
    bad = tmp_path / "bad.yaml"
    bad.write_text("interactions: [\n", encoding="utf-8")
    hit = [(key_digest(request_key(body, 1)),)]
    miss = [(key_digest(request_key(body, 2)),)]
    jobs: list[readahead.Job] = []
    for number in range(100):
        path = (good, bad, tmp_path / "missing.yaml")[number % 3]
        jobs.append(
            (str(path), hit if number % 2 else hit + miss, (("13.8", "13.11"), "larger", "13.8和13.11哪个大？"))
        )
    out = io.BytesIO()
    readahead.serve(io.BytesIO(pickle.dumps(jobs)), out)
    out.seek(0)
    batches = []
    while out.tell() < len(out.getvalue()):
        batches.append(pickle.load(out))
    assert [len(b) for b in batches] == [8, 16, 16, 16, 16, 16, 12]
    outcomes = [outcome for batch in batches for outcome in batch]
    assert len(outcomes) == 100
    answer = "13.8"  # what exchange("13.8") answered
    first = outcomes[0]
    assert isinstance(first, tuple)
    exists, found, extractions = first
    assert exists is True
    assert found == [Reply(answer, None, "stop", Cost({"prompt_tokens": 20, "completion_tokens": 5}, None)), None]
    assert extractions[0] == answers.extract_choice(answer, ("13.8", "13.11"), "larger")
    assert extractions[1] is None
    assert isinstance(outcomes[1], str)
    assert "invalid YAML" in outcomes[1]
    assert outcomes[2] == (False, [None, None], [None, None])  # a missing file: nothing recorded, not an error
    assert outcomes[5] == (False, [None], [None])


def test_the_helper_reads_an_answer_it_met_before_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """A repeated answer (the samples of a case at temperature 0, a case under several prompts) is read once; a
    different answer, finish reason or question is read anew, and what comes back is what the reader says."""
    from pytest_llmcmp.tasks import Compare

    calls: list[str] = []
    original = Compare.read

    def counted(self: Compare, answer: str, *args: Any) -> answers.Extraction:
        calls.append(answer)
        return original(self, answer, *args)

    monkeypatch.setattr(Compare, "read", counted)
    monkeypatch.setattr(readahead, "_READINGS", {})
    case = (("13.8", "13.11"), "larger", "Which is larger, 13.8 or 13.11?")
    said = "13.8 is larger."
    first = readahead._extract(Reply(said, None, "stop"), case)
    assert first == answers.extract_choice(said, case[0], "larger", "stop", question=case[2])
    assert first.choice == "13.8"
    assert readahead._extract(Reply(said, None, "stop"), case) is first
    assert calls == [said]
    readahead._extract(Reply(said, None, "length"), case)
    readahead._extract(Reply(said, None, "stop"), (case[0], "larger", "13.8 or 13.11: which is larger?"))
    readahead._extract(Reply("13.11 is larger.", None, "stop"), case)
    assert calls == [said] * 3 + ["13.11 is larger."]
    monkeypatch.setattr(readahead, "MAX_READINGS", 2)
    readahead._extract(Reply("Neither.", None, "stop"), case)  # full: forgotten, then kept
    assert len(readahead._READINGS) == 1


# --- interrupted: the helper never outlives the session -------------------------------------------------------------


def children(pid: int) -> list[int]:
    """The pids whose parent is ``pid`` (Linux /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[-1].split()
        except OSError:
            continue  # gone meanwhile
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


STOP_AFTER_THE_FIRST_ITEM = """
import pathlib, time
from pytest_llmcmp import readahead

readahead.usable_cpus = lambda: 2

def pytest_runtest_teardown(item):
    marker = pathlib.Path("first-item-done")
    if not marker.exists():
        marker.write_text("")
        time.sleep(120)  # the helper has sent its first batch; the rest fills the pipe it writes to
"""


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds the helper through Linux /proc")
@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGINT], ids=["kill-9", "ctrl-c"])
def test_no_helper_survives_a_killed_or_interrupted_replay(pytester: pytest.Pytester, how: signal.Signals) -> None:
    count = 400
    write_cases(pytester, numbered_cases(count))
    long_answer = "Let me compare them digit by digit. " * 60  # ~2 KB each: far more than a pipe holds
    with FakeServer(answer=lambda request: long_answer + "The larger is " + question(request).split()[3]) as fake:
        # Answers longer than the default max_tokens (512, about 2 KB at the fake server): no limit sent.
        run(pytester, "--llm-endpoint", fake.url, "--llm-max-tokens", "none").assert_outcomes(passed=count)
    pytester.makeconftest(STOP_AFTER_THE_FIRST_ITEM)
    process = start_pytest(pytester.path, "--llm-max-tokens", "none")
    try:
        deadline = time.monotonic() + 60
        while not (pytester.path / "first-item-done").exists():
            assert process.poll() is None, "the replay ended before its first item was done"
            assert time.monotonic() < deadline, "the replay never ran its first item"
            time.sleep(0.05)
        helpers = children(process.pid)
        assert len(helpers) == 1, helpers
        process.send_signal(how)  # to pytest alone (a terminal's Ctrl-C would reach the helper too)
        code = process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert code == (pytest.ExitCode.INTERRUPTED if how == signal.SIGINT else -signal.SIGKILL)
    assert wait_gone(helpers[0], 10.0), "the read-ahead helper outlived its session"


def test_a_replay_of_several_models_reads_ahead_through_one_helper(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, spy: Spy
) -> None:
    from tests.test_models import BIG, SMALL, endpoints
    from tests.test_models import wrong_on_trap as small_answer

    with FakeServer(models=(SMALL,), answer=small_answer) as small, FakeServer(models=(BIG,)) as big:
        run(suite, *endpoints(small, big)).assert_outcomes(passed=5, failed=1)
    no_network(monkeypatch)
    helper(monkeypatch, on=False)
    run(suite, "--llm-results", "in-process.json").assert_outcomes(passed=5, failed=1)
    assert spy.pids == []
    helper(monkeypatch, on=True)
    run(suite, "--llm-results", "helper.json").assert_outcomes(passed=5, failed=1)
    # One helper for the session (one per model would compete for the second core), serving both models' items.
    assert len(spy.pids) == 1
    assert spy.served == 6
    assert verdicts(suite.path / "helper.json") == verdicts(suite.path / "in-process.json")
    assert {case["model"] for case in results_of(suite.path / "helper.json")["cases"]} == {SMALL, BIG}
