"""The engine: for each (case, prompt, sample) plan replay or live, ask or read the cassette, judge, collect results.

No pytest here (``tests/test_layers.py`` checks): the face (``session.py``, ``items.py``) hands the engine a
:class:`~pytest_llmcmp.engine.host.Host` for what it needs from pytest, and turns :class:`EngineError` into
``pytest.UsageError``.
"""

from __future__ import annotations


class EngineError(Exception):
    """The run cannot go on: one line saying what and where (an option name, a path). The face shows it as a usage
    error."""


class StopRun(EngineError):
    """Nothing more of the run can be answered (the endpoint refused what every request carries): the face stops
    the session with this one line instead of failing each case with it."""
