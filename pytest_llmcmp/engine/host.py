"""What the engine needs from its host (pytest, or a test): the hooks, the terminal, where the user runs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ..answers import Extraction
    from ..cases import Case
    from ..prompts import Prompt


class Unit(Protocol):
    """One (case, prompt) to run: a pytest item in a session, any object with these attributes in a test."""

    @property
    def nodeid(self) -> str: ...
    @property
    def case(self) -> Case: ...
    @property
    def prompt(self) -> Prompt: ...


class Host(Protocol):
    """The engine's only view of its surroundings."""

    #: Where the user runs (paths in messages are relative to it).
    invocation_dir: Path

    @property
    def builtin_extractor_only(self) -> bool:
        """Whether answers are judged by the built-in extractor alone (then the read-ahead helper may judge them)."""
        ...

    def build_messages(self, case: Case, prompt: Prompt, messages: list[dict[str, Any]]) -> None:
        """Let plugins change the chat messages in place (``pytest_llmcmp_build_messages``)."""

    def extract(self, answer: str, case: Case, prompt: Prompt, finish_reason: str | None = None) -> Extraction:
        """What the answer chose (``pytest_llmcmp_extract_choice``: a plugin's reading, else the built-in one);
        ``finish_reason`` is the response's ("length": cut off by max_tokens)."""
        ...

    def write_line(self, line: str) -> None:
        """One line on the terminal (already safe to show)."""

    def progress_enabled(self) -> bool:
        """Whether progress lines are wanted (a terminal, not -q, not CI, or forced)."""
        ...
