"""Small wording helpers every layer's messages share (domain: no pytest, no I/O)."""

from __future__ import annotations


def plural(count: int, noun: str) -> str:
    """``1 case``, ``2 cases``: a count with its noun."""
    return f"{count} {noun}{'' if count == 1 else 's'}"
