"""pytest-llmcmp: regression tests for how a chat model compares numbers.

The package is layered, imports flowing one way only (face -> I/O -> domain):

- domain: :mod:`truth` (exact numbers), :mod:`templates`, :mod:`cases` and :mod:`generators`
  (case files), :mod:`answers` (the judge: the model's choice, ``explain``) and :mod:`lexicon` (its
  vocabulary), :mod:`results` (results JSON,
  summaries, baseline comparison);
- I/O: :mod:`client` (the endpoint), :mod:`cassettes` (VCR cassettes), :mod:`local` (llama.cpp);
- face: :mod:`plugin` (options and wiring), :mod:`items` (collector and items),
  :mod:`hookspecs`, :mod:`report` and :mod:`html` (report writers).
"""

__version__ = "0.1.0"
