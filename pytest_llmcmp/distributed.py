"""The pytest-xdist bridge: registered only when xdist is active. The controller hands every worker the model, the
server's URL and where it keeps cassettes (``workerinput``); each worker sends back, at its session's end, its
results, the cassettes it used and (from elsewhere) the ones it wrote (``workeroutput``, as syrupy does); the
controller merges them into its session."""

from __future__ import annotations

import contextlib
import json
import os
import socket
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import pytest

from .atomic import write_if_changed
from .redaction import contains_secret
from .results import CaseResult

if TYPE_CHECKING:
    from .session import LlmSession

NAME = "llmcmp-xdist"
WORKER_KEY = "llmcmp"


class XdistBridge:
    """The controller's side of the xdist protocol, merging into the session's state."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    @property
    def session(self) -> LlmSession:
        """The session plugin; a controller given no option starts it when a worker collected a case file."""
        from .session import ensure_session

        return ensure_session(self.config, late=True)

    def _started(self) -> bool:
        return self.config.pluginmanager.get_plugin("llmcmp-session") is not None

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        if any(nodeid.split("::", 1)[0].endswith((".yaml", ".yml")) for nodeid in ids):
            self.session._forget_old_outputs()  # the controller collects nothing itself: the workers' collection tells

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        if not self._started():
            return  # nothing resolved here: each worker decides from its own settings, as the session would
        # Each target's server id (the worker names it) and URL, in the order the worker's settings give them.
        node.workerinput["llmcmp_targets"] = [[runner.served, runner.endpoint_url] for runner in self.session.runners]
        # Where this controller keeps cassettes: a worker that does not share them sends back what it records.
        node.workerinput["llmcmp_origin"] = [socket.gethostname(), os.path.realpath(self.session.runner.cassette_root)]

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        output = getattr(node, "workeroutput", {}).get(WORKER_KEY)
        if output:
            data = json.loads(output)
            session = self.session
            session.worker_results.update((case["nodeid"], CaseResult.from_json(case)) for case in data["cases"])
            session.worker_used.update(session.runner.cassette_root / p for p in data["used"])
            self._store(data.get("recorded", {}))
            session.collected_cases = max(session.collected_cases, data.get("collected", 0))
            session.collected.merge_worker(data.get("collection", {}), first=session.workers_merged == 0)
            session.workers_merged += 1
            session.worker_not_recorded.update(
                (k, (v[0], v[1], v[2], v[3] if len(v) > 3 else None)) for k, v in data.get("not_recorded", {}).items()
            )
            session.selected.update(
                (k, (v[0], v[1], bool(v[2]), v[3] if len(v) > 3 else None)) for k, v in data.get("selected", {}).items()
            )
            session.full_run = session.full_run and bool(data.get("full_run", True))
            for runner, model in zip(session.runners, data.get("models") or [data.get("model")], strict=False):
                if model and runner.model is None:
                    runner.model = model
            asked, answered, failed = data.get("live", (0, 0, 0))  # the controller asks nothing itself: sum them
            session.runner.add_live_counts(asked, answered, failed)

    def _store(self, recorded: dict[str, str]) -> None:
        """Write, under this controller's cassette directory, the cassettes a worker elsewhere recorded."""
        if not recorded:
            return
        from .cassettes import CassetteError, check_inside
        from .redaction import api_keys

        keys = api_keys()
        for name, text in sorted(recorded.items()):
            relative = PurePosixPath(name)
            path = self.session.runner.cassette_root.joinpath(*relative.parts)
            try:
                if relative.is_absolute() or ".." in relative.parts or not name.endswith(".yaml"):
                    raise CassetteError(name, "a worker sent a cassette outside the cassette directory; not written")
                if any(contains_secret(text, key) for key in keys):
                    raise CassetteError(path, "refusing to write: the cassette would contain a secret (API key)")
                check_inside(self.session.runner.cassette_root, path)
                if write_if_changed(path, text.encode("utf-8")):  # an unchanged recording stays untouched
                    self.session.received += 1
            except (CassetteError, OSError) as exc:
                self.session.store_problems.append(str(exc))


def send_results(session: LlmSession, used: set[Path]) -> None:
    """A worker's end: its results, the cassettes it used and what the controller must write, as ``workeroutput``."""
    payload = {
        "cases": [case.to_json() for case in session.runners.results()],
        # Relative to the cassette directory: a worker elsewhere (--tx ...//chdir, another host) has its own.
        "used": sorted(Path(os.path.relpath(p, session.runner.cassette_root)).as_posix() for p in used),
        "model": session.runner.model,
        "models": [runner.model for runner in session.runners],
        "collected": session.collected_cases,
        "collection": session.collected.to_json(),
        "not_recorded": session.runners.not_recorded(),
        "selected": session.selected,
        "full_run": session.full_run,
        "live": list(session.runners.live_counts()),
    }
    if _elsewhere(session):  # the controller writes them where they belong
        payload["recorded"] = _recorded(session)
    session.config.workeroutput[WORKER_KEY] = json.dumps(payload)  # type: ignore[attr-defined]


def _elsewhere(session: LlmSession) -> bool:
    """Whether this worker's cassette directory is not the controller's (another host, or rsync'd elsewhere)."""
    origin = (session.workerinput or {}).get("llmcmp_origin")
    if not origin:
        return False
    host, root = origin
    return bool(host != socket.gethostname() or root != os.path.realpath(session.runner.cassette_root))


def _recorded(session: LlmSession) -> dict[str, str]:
    """The cassettes this worker wrote, by their path relative to the cassette directory."""
    recorded = {}
    for path in dict.fromkeys(p for runner in session.runners for p in runner.saved):
        with contextlib.suppress(OSError):  # removed meanwhile: nothing to send
            relative = Path(os.path.relpath(path, session.runner.cassette_root)).as_posix()
            recorded[relative] = path.read_text(encoding="utf-8")
    return recorded
