"""Process checks shared by the tests that start servers: is a pid still alive, wait until it is gone."""

from __future__ import annotations

import os
import time
from pathlib import Path


def alive(pid: int) -> bool:
    """Whether ``pid`` runs; a zombie (a reparented child nobody reaps, e.g. in a container) counts as dead."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    if stat.exists():
        with_state = stat.read_text().rsplit(")", 1)[-1].split()
        return bool(with_state) and with_state[0] != "Z"
    return True


def wait_gone(pid: int, seconds: float) -> bool:
    """Wait up to ``seconds`` for ``pid`` to end; True when it did."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.05)
    return not alive(pid)
