"""pytest-llmcmp: regression tests for how a chat model compares numbers.

Four layers, imports flowing one way only (face -> engine -> I/O -> domain; ``tests/test_layers.py`` checks):

- domain (no pytest, no network): :mod:`truth`, :mod:`tasks` (question kinds), :mod:`templates`, :mod:`cases`,
  :mod:`generators`, :mod:`answers` and :mod:`orderings` (reading answers), :mod:`results`, :mod:`baseline`,
  :mod:`gates`, :mod:`stats`, :mod:`settings`, ...;
- I/O: :mod:`wire` (the OpenAI wire format), :mod:`client`, :mod:`cassettes`, :mod:`readahead`, :mod:`local`;
- engine (no pytest): :mod:`engine.runner` and its collaborators (backends, recorder, messages);
- face: :mod:`plugin`, :mod:`items`, :mod:`session`, :mod:`config`, :mod:`reports`. See ``docs/architecture.md``.
"""

__version__ = "0.1.0"
