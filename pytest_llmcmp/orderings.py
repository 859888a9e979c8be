"""Reading an ordering ("4.04 < 4.14 < 4.4", "从小到大：4.04、4.14、4.4") from a model's answer.

Work in progress: the API below is final; the reader behind it is being written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = ["OrderReading", "read_order"]

Direction = Literal["ascending", "descending"]


@dataclass(frozen=True)
class OrderReading:
    """The ordering an answer states: ``order`` holds indices into ``numbers``, smallest first, or is
    ``None`` when no complete, unambiguous ordering is stated; ``evidence`` is the deciding passage as
    written in the answer (``None`` with no order); ``reason`` is a short word saying how or why not."""

    order: tuple[int, ...] | None
    evidence: str | None
    reason: str


def read_order(answer: str, numbers: Sequence[str], direction: Direction) -> OrderReading:
    """The final ordering of ``numbers`` that ``answer`` states (see :class:`OrderReading`)."""
    return OrderReading(None, None, "no ordering")
