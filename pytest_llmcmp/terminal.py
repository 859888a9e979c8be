"""Untrusted text, shown and never obeyed: in the terminal, and in the Markdown and HTML reports.

An answer or a model id comes from a cassette, which a pull request controls: ANSI escapes recolour or clear a CI log,
OSC 52 writes the reader's clipboard, a carriage return or cursor move overwrites what was printed, a right-to-left
override reverses what a reviewer reads, Unicode tag characters carry text nobody sees. :func:`printable` shows every
such character as an escape (``\\x1b``, ``\\u202e``) instead; :func:`shown` also removes the API key. Every line the
plugin prints goes through them, and so does every text the Markdown and HTML reports show (one definition of what is
unsafe to show, for all three).
"""

from __future__ import annotations

import re

from .redaction import scrub

# C0 controls but tab and newline, DEL, C1 controls; bidirectional overrides, embeddings, isolates and marks; the
# Unicode line and paragraph separators; the tag characters (invisible ASCII look-alikes that hide text in plain sight).
_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\U000e0000-\U000e007f]"
)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def printable(text: str) -> str:
    """``text`` with every control, bidi or separator character shown as an escape; newlines and tabs kept."""
    return _UNSAFE.sub(_escape, text)


def shown(text: str) -> str:
    """``text`` as it may reach the terminal: without the API key, control characters escaped."""
    return printable(scrub(text))
