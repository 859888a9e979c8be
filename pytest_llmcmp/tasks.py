"""Question kinds: what a case asks of its numbers, and everything that depends on it (domain: no pytest).

A :class:`Task` owns its ``ask`` values, how the truth is computed, which choices are valid, how the expected value
is described, and how the built-in reader maps an answer to a choice. ``larger``/``smaller`` are the first kind
(:class:`Compare`, the extreme of the numbers); ``order`` is the second (:class:`Order`, the numbers sorted from
smallest to largest). Every caller goes through :func:`task_for`; adding a kind is a class here, its wording in
``templates.py`` and its reader (see ``docs/architecture.md``).

A choice is a string in every kind, so results stay schema 1: for ``order`` it is the ordering written with the
numbers as given, smallest first: ``"4.04 < 4.14 < 4.4"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

from . import truth

if TYPE_CHECKING:
    from .answers import Extraction
    from .results import SampleResult, Verdict

#: How an ordering is written in ``expected`` and ``choice``: the numbers as given, smallest first.
ORDER_SEPARATOR: Final = " < "


class Task:
    """A question kind. Subclasses set :attr:`asks` and implement the methods."""

    name: str = ""
    asks: tuple[str, ...] = ()
    #: What a choice of this kind is, for messages: "expect 'x' is not ...".
    choice_form: str = ""

    def expected(self, numbers: Sequence[str], ask: str) -> str:
        """The exact answer (raises :class:`~pytest_llmcmp.truth.NumberError`, one sentence, on a bad case)."""
        raise NotImplementedError

    def is_choice(self, choice: str, numbers: Sequence[str], ask: str) -> bool:
        """Whether ``choice`` is one of the answers this question can have (a plugin's reading is checked)."""
        raise NotImplementedError

    def read(
        self,
        answer: str,
        numbers: Sequence[str],
        ask: str,
        finish_reason: str | None = None,
        question: str | None = None,
    ) -> Extraction:
        """The built-in reading of an answer; ``finish_reason`` is the response's (``"length"``: cut off),
        ``question`` the question the model was asked (a bare "Yes." may reply to it)."""
        raise NotImplementedError

    def describe_expected(self, expected: str, numbers: Sequence[str], ask: str) -> str:
        """The ``expected:`` line of a failing item."""
        raise NotImplementedError

    def verdict(self, choice: str | None, expected: str) -> Verdict:
        """``unparsed`` without a choice, else exactly ``correct`` or ``wrong`` (no partial credit)."""
        from .results import judge

        return judge(choice, expected)

    def judge(
        self,
        answer: str,
        extraction: Extraction,
        numbers: Sequence[str],
        ask: str,
        expected: str,
        finish_reason: str | None = None,
        usage: dict[str, int] | None = None,
        latency: float | None = None,
    ) -> SampleResult:
        """One answer's result from what was read of it (``extraction``: the built-in reader's, a plugin's, or a
        structured answer's): a choice that is not one of this question's answers is no clear choice, and an answer
        cut off by max_tokens (``finish_reason`` ``"length"``) without a choice is unparsed for reason
        :data:`~pytest_llmcmp.results.TRUNCATED` (the remedy is max_tokens, not the prompt). The YAML cases and the
        ``llm`` fixture are judged by this one rule."""
        from .results import TRUNCATED, SampleResult

        choice = extraction.choice
        if choice is not None and not self.is_choice(choice, numbers, ask):
            choice = None  # a plugged-in extractor returned something that is not an option: no clear choice
        reason = extraction.reason
        if choice is None and finish_reason == "length":
            reason = TRUNCATED
        return SampleResult(
            answer=answer,
            choice=choice,
            verdict=self.verdict(choice, expected),
            contradiction=extraction.contradiction,
            finish_reason=finish_reason,
            reason=reason,
            evidence=extraction.evidence if choice is not None else "",
            usage=usage,
            latency=latency,
        )


class Compare(Task):
    """Which of the numbers is the larger (the smaller); ``equal`` when the extreme is shared."""

    name = "compare"
    asks = truth.ASKS
    choice_form = "one of its numbers (as written) or 'equal'"

    def expected(self, numbers: Sequence[str], ask: str) -> str:
        return truth.expected_answer(numbers, ask)

    def is_choice(self, choice: str, numbers: Sequence[str], ask: str) -> bool:
        return choice == "equal" or choice in numbers

    def read(
        self,
        answer: str,
        numbers: Sequence[str],
        ask: str,
        finish_reason: str | None = None,
        question: str | None = None,
    ) -> Extraction:
        from .answers import extract_choice

        return extract_choice(answer, numbers, ask, finish_reason, question=question)

    def describe_expected(self, expected: str, numbers: Sequence[str], ask: str) -> str:
        return f"{expected} ({ask} of {', '.join(numbers)})"


class Order(Task):
    """The numbers sorted from smallest to largest; pass is the exact order (partial credit is not counted)."""

    name = "order"
    asks = ("order",)
    choice_form = "its numbers (as written) joined by ' < '"

    def expected(self, numbers: Sequence[str], ask: str) -> str:
        return ordering_text(numbers, truth.expected_order(numbers))

    def is_choice(self, choice: str, numbers: Sequence[str], ask: str) -> bool:
        parts = choice.split(ORDER_SEPARATOR)
        return sorted(parts) == sorted(numbers)

    def read(
        self,
        answer: str,
        numbers: Sequence[str],
        ask: str,
        finish_reason: str | None = None,
        question: str | None = None,
    ) -> Extraction:
        from .answers import LENGTH, Extraction
        from .orderings import read_order

        reading = read_order(answer, numbers, "ascending")
        if reading.order is None:
            return Extraction(None, reason="truncated" if finish_reason == LENGTH else reading.reason)
        return Extraction(ordering_text(numbers, reading.order), reason=reading.reason, evidence=reading.evidence or "")

    def describe_expected(self, expected: str, numbers: Sequence[str], ask: str) -> str:
        return f"{expected} (sorted from smallest to largest)"


def ordering_text(numbers: Sequence[str], order: Sequence[int]) -> str:
    """An ordering (indices into ``numbers``, smallest first) as written in results: ``"4.04 < 4.14 < 4.4"``."""
    return ORDER_SEPARATOR.join(numbers[index] for index in order)


TASKS: tuple[Task, ...] = (Compare(), Order())
_BY_ASK: dict[str, Task] = {ask: task for task in TASKS for ask in task.asks}
#: Every ``ask`` a case may have, in the order messages list them.
ASKS: tuple[str, ...] = tuple(_BY_ASK)


def task_for(ask: str) -> Task:
    """The kind of question ``ask`` is (``KeyError`` for an unknown ask: the loader checks asks first)."""
    return _BY_ASK[ask]
