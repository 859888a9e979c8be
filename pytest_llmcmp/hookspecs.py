"""Hooks of pytest-llmcmp. Implement them in a ``conftest.py`` or a plugin.

Specs only grow by new keyword arguments; an implementation may take any subset of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .answers import Extraction
    from .cases import Case
    from .prompts import Prompt


@pytest.hookspec
def pytest_llmcmp_build_messages(case: Case, prompt: Prompt, messages: list[dict[str, Any]]) -> None:
    """Change the chat messages sent for one case, in place (e.g. add few-shot examples).

    Called once per (case, prompt) in record and in replay mode alike, so that replay sends what was recorded.

    :param case: the case being asked (``case.question`` is the user message).
    :param prompt: the system prompt (``prompt.name``, ``prompt.text``; ``prompt.text`` is ``None`` for ``none``).
    :param messages: the OpenAI chat messages: the system message (when there is a prompt), then the question.
    """


@pytest.hookspec(firstresult=True)
def pytest_llmcmp_extract_choice(
    answer: str, case: Case, prompt: Prompt, finish_reason: str | None
) -> Extraction | None:
    """Decide which option an answer chose. The first non-``None`` result wins.

    The built-in extractor is registered ``trylast``; return ``None`` to let it decide.

    :param answer: the model's reply, as received.
    :param case: the case (``case.numbers`` are the options as written, ``case.ask`` is ``larger``, ``smaller`` or
        ``order``).
    :param prompt: the prompt the answer was given under.
    :param finish_reason: why the model stopped, as the response says (``"stop"``; ``"length"``: cut off by
        ``max_tokens``), ``None`` when the response or cassette does not say. An implementation may leave it out of
        its parameters.
    :return: an :class:`pytest_llmcmp.answers.Extraction` whose ``choice`` is one of ``case.numbers`` or
        ``"equal"`` (``order``: the numbers as written, smallest first, joined by ``" < "``), or ``None`` when the
        answer makes no clear choice. A choice that is none of these counts as no clear choice.
    """
