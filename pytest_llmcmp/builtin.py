"""The built-in answer reader as a pytest plugin: the ``trylast`` implementation of ``pytest_llmcmp_extract_choice``.

Registered by name (:data:`NAME`) when the plugin's hooks are added; a user's implementation runs first and wins
when it returns a result. The reading itself belongs to the case's question kind (``tasks.task_for``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import pytest

from .tasks import task_for

if TYPE_CHECKING:
    from .answers import Extraction
    from .cases import Case
    from .prompts import Prompt

NAME: Final = "llmcmp-builtin-extractor"


@pytest.hookimpl(trylast=True)
def pytest_llmcmp_extract_choice(answer: str, case: Case, prompt: Prompt, finish_reason: str | None) -> Extraction:
    """The built-in extractor: the case's question kind reads the answer (knowing whether it was cut off, and the
    question it replies to)."""
    return task_for(case.ask).read(answer, case.numbers, case.ask, finish_reason, case.question)
