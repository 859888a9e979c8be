"""What one (case, prompt) needs: its request, its cassette, and a :class:`~pytest_llmcmp.wire.Reply` per sample
(recorded, asked, or why there is none)."""

from __future__ import annotations

import concurrent.futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..answers import Extraction
    from ..cassettes import Cassette
    from ..client import Answer
    from ..wire import Reply
    from .host import Unit


@dataclass
class Plan:
    """What one (case, prompt) item needs: its request, its cassette, and a reply per sample."""

    item: Unit
    body: dict[str, Any]
    path: Path
    replies: list[Reply | None]  # per sample: recorded, asked, or why there is none; None until known
    cassette: Cassette | None = None
    futures: dict[int, concurrent.futures.Future[Answer]] = field(default_factory=dict)
    saved: concurrent.futures.Future[str | None] | None = None  # once asked: why its recording was not saved, if so
    problem: str | None = None  # why the item cannot be run at all (unreadable cassette, nothing recorded)
    missing: str | None = None  # one line: why it has no recording to replay (then it is skipped, never judged)
    ahead: int | None = None  # its job in the read-ahead helper, until its outcome is taken
    sent: dict[str, Any] | None = None  # what a live request sends, when not ``body`` (the server's own model id)
    # Per sample, what the read-ahead helper's built-in reader found the recorded answer chose (None: read it here).
    extractions: list[Extraction | None] = field(default_factory=list)
    #: The request as recorded before ``max_tokens`` had a default (the default left out), when the user left
    #: ``--llm-max-tokens`` at it: such a recording replays, and re-recording replaces it.
    legacy: dict[str, Any] | None = None
    #: The request with ``response_format`` in another server's dialect (``--llm-answer-format json``): a recording
    #: of it replays too.
    dialects: list[dict[str, Any]] = field(default_factory=list)

    @property
    def bodies(self) -> list[dict[str, Any]]:
        """The request bodies a recording of this item may hold, in order of preference."""
        return [self.body, *([] if self.legacy is None else [self.legacy]), *self.dialects]

    @property
    def pending(self) -> list[int]:
        """The samples (1-based) that still need a live answer."""
        return [s for s in range(1, len(self.replies) + 1) if self.replies[s - 1] is None]
