"""A loopback endpoint that misbehaves below HTTP's level of politeness, and a pytest child that can be Ctrl-C'd.

``HostileServer(models_body=..., chat=...)`` answers ``GET /v1/models`` with ``models_body`` (bytes, sent at once or
dripped a byte at a time) and ``POST /v1/chat/completions`` in one of the ``chat`` modes: ``"huge"`` (a 3 MB answer),
``"endless"`` (a chunked body that never ends), ``"bomb"`` (gzip of 64 MB of spaces, about 64 KB on the wire). It
serves every connection on a thread of its own, one request per connection; ``stop()`` returns at once.

``pytest_child(args, cwd)`` starts ``python -m pytest`` in a child process whose SIGINT does what a terminal's Ctrl-C
does, even when this process was started with SIGINT ignored (``nohup … &``, as some CI runners start jobs): Python
keeps an inherited ignored SIGINT ignored, so the child sets its own disposition first.
"""

from __future__ import annotations

import gzip
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

HUGE_ANSWER_BYTES = 3 * 1024 * 1024

_CHILD = (
    "import signal, sys\n"
    "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
    "signal.signal(signal.SIGTERM, signal.SIG_DFL)\n"
    "import pytest\n"
    "sys.argv[0] = 'pytest'\n"
    "sys.exit(pytest.console_main())\n"
)


def pytest_child(args: list[str], cwd: Path, **popen: Any) -> subprocess.Popen[bytes]:
    """``pytest -p no:cacheprovider -q ARGS`` in ``cwd``, with SIGINT and SIGTERM set to their usual meaning."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LLMCMP_", "PYTEST_"))}
    popen.setdefault("stdout", subprocess.DEVNULL)
    popen.setdefault("stderr", subprocess.DEVNULL)
    return subprocess.Popen(
        [sys.executable, "-c", _CHILD, "-p", "no:cacheprovider", "-q", *args], cwd=cwd, env=env, **popen
    )


def models_json(*ids: Any) -> bytes:
    return json.dumps({"object": "list", "data": [{"id": i, "object": "model"} for i in ids]}).encode()


class HostileServer:
    """See the module docstring."""

    def __init__(self, *, models_body: bytes | None = None, drip: float = 0.0, chat: str = "huge") -> None:
        self.models_body = models_body if models_body is not None else models_json("fake-model")
        self.drip = drip
        self.chat = chat
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(64)
        self.port = self._socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self._stopped = threading.Event()
        self._bomb = gzip.compress(b" " * (64 * 1024 * 1024), compresslevel=9) if chat == "bomb" else b""
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> HostileServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stopped.set()
        self._socket.close()

    def _serve(self) -> None:
        while not self._stopped.is_set():
            try:
                connection, _ = self._socket.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(connection,), daemon=True).start()

    def _handle(self, connection: socket.socket) -> None:
        with connection:
            try:
                request = self._read_request(connection)
                if request.startswith(b"GET"):
                    self._send(connection, "application/json", self.models_body, drip=self.drip)
                else:
                    self._chat(connection)
            except OSError:
                pass

    @staticmethod
    def _read_request(connection: socket.socket) -> bytes:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = connection.recv(65536)
            if not chunk:
                return data
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        while len(body) < length:
            chunk = connection.recv(65536)
            if not chunk:
                break
            body += chunk
        return head

    def _send(self, connection: socket.socket, kind: str, body: bytes, drip: float = 0.0, extra: str = "") -> None:
        head = (
            f"HTTP/1.1 200 OK\r\nContent-Type: {kind}\r\nContent-Length: {len(body)}\r\n{extra}"
            "Connection: close\r\n\r\n"
        )
        if not drip:
            connection.sendall(head.encode() + body)
            return
        for byte in head.encode() + body:
            if self._stopped.wait(drip):
                return
            connection.sendall(bytes([byte]))

    def _chat(self, connection: socket.socket) -> None:
        if self.chat == "huge":
            answer = "13.8 is larger. " + "x" * HUGE_ANSWER_BYTES
            body = json.dumps({"choices": [{"index": 0, "message": {"role": "assistant", "content": answer}}]})
            self._send(connection, "application/json", body.encode())
        elif self.chat == "bomb":
            self._send(connection, "application/json", self._bomb, extra="Content-Encoding: gzip\r\n")
        elif self.chat == "endless":
            connection.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            )
            chunk = b" " * 65536
            frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
            deadline = time.monotonic() + 120
            while not self._stopped.is_set() and time.monotonic() < deadline:
                connection.sendall(frame)
        else:
            raise ValueError(self.chat)
