"""Shared fixtures: a fake OpenAI-compatible server on loopback and a small case suite in a pytester dir."""

from __future__ import annotations

from collections.abc import Iterator

# Imported here, once: pytester's in-process runs restore sys.modules afterwards, so anything first imported inside
# an inner session (openai alone costs a second or more) would be imported again by every run.
import hypothesis  # noqa: F401
import openai  # noqa: F401
import pytest

import pytest_llmcmp.client
from tests.fakeserver import FakeServer

# The HTTP stack under openai loads its transport lazily; load it now too, or exceptions raised by a re-imported copy
# would not be the classes the kept openai catches.
pytest_llmcmp.client.http_module().Client().close()

SUITE = """\
template: en
cases:
  - id: trap
    numbers: ["13.8", "13.11"]
    tags: [trap]
  - id: control
    numbers: ["9.91", "9.9"]
    tags: [control]
  - id: smaller
    numbers: ["-0.5", "-0.25"]
    ask: smaller
    tags: [negative]
"""


@pytest.fixture
def server() -> Iterator[FakeServer]:
    """A fake endpoint that answers every comparison correctly."""
    with FakeServer(models=("fake-model",)) as fake:
        yield fake


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    """A pytester directory with ``cases/basic.yaml`` (3 cases) and a prompt file."""
    pytester.makefile(".yaml", **{"cases/basic": SUITE})
    (pytester.path / "prompts").mkdir()
    (pytester.path / "prompts" / "careful.md").write_text("Compare numbers carefully.\n", encoding="utf-8")
    return pytester
