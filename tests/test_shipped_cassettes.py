"""The shipped recordings (``cassettes/``) hold nothing volatile, and replay with plain vcrpy as the README shows."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from pytest_llmcmp.cassettes import DROPPED_RESPONSE_FIELDS, STABLE_RESPONSE_FIELDS
from pytest_llmcmp.engine.backends import LOCAL_RECORDED_URL

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = sorted((ROOT / "cassettes").rglob("*.yaml"))
#: A loopback address with a port, as the local server's random one was recorded before (127.0.0.1:37455).
LOOPBACK = re.compile(r"(127\.\d+\.\d+\.\d+|localhost|\[::1\]):\d+")


def interactions(path: Path) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = yaml.safe_load(path.read_text(encoding="utf-8"))["interactions"]
    return found


def test_the_shipped_suite_has_recordings() -> None:
    assert len(SHIPPED) >= 591


def test_no_shipped_cassette_holds_a_port_a_volatile_id_or_time() -> None:
    problems = []
    for path in SHIPPED:
        text = path.read_text(encoding="utf-8")
        where = path.relative_to(ROOT)
        if LOOPBACK.search(text):
            problems.append(f"{where}: a loopback address with a port")
        for number, interaction in enumerate(interactions(path), 1):
            if interaction["request"]["uri"] != f"{LOCAL_RECORDED_URL}/chat/completions":
                problems.append(f"{where}: interaction {number}: uri {interaction['request']['uri']}")
            response = json.loads(interaction["response"]["body"]["string"])
            for name, value in STABLE_RESPONSE_FIELDS.items():
                if response.get(name) != value:
                    problems.append(f"{where}: interaction {number}: {name} {response.get(name)!r}")
            problems += [f"{where}: interaction {number}: {n}" for n in DROPPED_RESPONSE_FIELDS if n in response]
    assert problems == [], f"{len(problems)} problems, the first: {problems[:5]}"


def readme_snippet() -> str:
    """The README's plain-vcrpy example: the Python block of 'Record and replay' that calls vcr.use_cassette."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Record and replay", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    found = [block for block in blocks if "vcr.use_cassette(" in block]
    assert len(found) == 1, "README's Record and replay has no (or several) plain-vcrpy examples"
    return found[0]


def test_the_readme_snippet_replays_a_shipped_cassette_with_plain_vcrpy() -> None:
    pytest.importorskip("vcr")
    snippet = readme_snippet()
    path = re.search(r'path = "([^"]+)"', snippet)
    assert path is not None
    recorded = json.loads(interactions(ROOT / path[1])[0]["response"]["body"]["string"])
    result = subprocess.run(
        [sys.executable, "-c", snippet], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == recorded["choices"][0]["message"]["content"] + "\n"
