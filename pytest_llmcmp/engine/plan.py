"""What one (case, prompt) needs: its request, its cassette, and a reply per sample (recorded, asked, or missing)."""

from __future__ import annotations

import concurrent.futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..answers import Extraction
    from ..cassettes import Cassette
    from ..client import Answer
    from ..results import Cost
    from .host import Unit


@dataclass
class Reply:
    """One sample's answer text, or why there is none."""

    content: str | None = None
    error: str | None = None
    extraction: Extraction | None = None  # what the content chose, when the read-ahead helper already extracted it
    finish_reason: str | None = None  # why the model stopped, as the response says ("length": cut off)
    cost: Cost | None = None  # its token counts and latency (live, or as recorded)


@dataclass
class Plan:
    """What one (case, prompt) item needs: its request, its cassette, and a reply per sample."""

    item: Unit
    body: dict[str, Any]
    path: Path
    replies: list[Reply | None]
    cassette: Cassette | None = None
    futures: dict[int, concurrent.futures.Future[Answer]] = field(default_factory=dict)
    saved: concurrent.futures.Future[str | None] | None = None  # once asked: why its recording was not saved, if so
    problem: str | None = None  # why the item cannot be run at all (unreadable cassette, nothing recorded)
    missing: str | None = None  # one line: why it has no recording to replay (then it is skipped, never judged)
    ahead: int | None = None  # its job in the read-ahead helper, until its outcome is taken
    sent: dict[str, Any] | None = None  # what a live request sends, when not ``body`` (the server's own model id)

    @property
    def pending(self) -> list[int]:
        """The samples (1-based) that still need a live answer."""
        return [s for s in range(1, len(self.replies) + 1) if self.replies[s - 1] is None]
