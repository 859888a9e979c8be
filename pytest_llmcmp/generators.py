"""Deterministic generators of comparison cases, by category.

A ``generate:`` entry in a case file names a category, a seed and a count; :func:`generate`
turns them into raw cases (numbers as written, ask, id, tags). The same seed gives the same cases
on every machine and every Python version: the only source of randomness is
``random.Random(seed).random()``, whose sequence Python guarantees stable for an int seed, and every
integer and choice is derived from it here, with integer arithmetic for the digits.

The generator decides the *shape* of the numbers (e.g. "the shorter decimal is the larger"); the
expected answer is never taken from it: the case loader computes it with
:func:`pytest_llmcmp.truth.expected_answer`.

Within one ``generate`` call, the ask alternates case by case (when ``ask`` is ``both``) and the
operand order alternates every second case, so any four consecutive cases cover both polarities
with the first number the larger and with the second the larger. (Ordering pairs by value is the
only use of :mod:`truth` here.)
"""

from __future__ import annotations

import difflib
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from types import MappingProxyType
from typing import TypeVar

from pytest_llmcmp.truth import NumberError, parse_number

__all__ = ["CATEGORIES", "MAX_COUNT", "GeneratorError", "RawCase", "generate"]

MAX_COUNT = 1000
MAX_SEED = 2**64 - 1

_T = TypeVar("_T")


class GeneratorError(ValueError):
    """A ``generate`` request that cannot be served; the message is one sentence."""


@dataclass(frozen=True)
class RawCase:
    """A generated case before the loader adds truth, question, file defaults and location."""

    id: str
    numbers: tuple[str, ...]
    ask: str  # "larger", "smaller" or "order"
    tags: tuple[str, ...]


class _Draw:
    """Integers and choices derived only from ``Random.random()``, the version-stable part of random."""

    def __init__(self, seed: int) -> None:
        #: A float in [0, 1) (the generator's bound method itself: drawing is most of generating).
        self.unit: Callable[[], float] = random.Random(seed).random

    def between(self, low: int, high: int) -> int:
        """An int in [low, high], both ends included."""
        span = high - low + 1
        drawn = int(self.unit() * span)
        return low + (drawn if drawn < span else span - 1)

    def chance(self, probability: float) -> bool:
        return self.unit() < probability

    def pick(self, options: Sequence[_T]) -> _T:
        return options[self.between(0, len(options) - 1)]

    def digits(self, length: int, *, first_min: int = 0, last_nonzero: bool = False) -> str:
        """``length`` random decimal digits as text."""
        out = []
        for position in range(length):
            low = first_min if position == 0 else 0
            if last_nonzero and position == length - 1:
                low = max(low, 1)
            out.append(str(self.between(low, 9)))
        return "".join(out)

    def shuffled(self, items: Sequence[_T]) -> list[_T]:
        out = list(items)
        for i in range(len(out) - 1, 0, -1):
            j = self.between(0, i)
            out[i], out[j] = out[j], out[i]
        return out


def _integer_part(draw: _Draw) -> int:
    # Mostly small integer parts, like the classic 9.9 / 13.8 traps, sometimes longer ones.
    return draw.between(0, 20) if draw.chance(0.6) else draw.between(21, 999)


def _nonzero_last(value: int, high: int) -> int:
    """``value`` nudged off a trailing zero, so that its digits are the shortest way to write it."""
    if value % 10 == 0:
        return value + 1 if value + 1 <= high else value - 1
    return value


def _trap_fractions(draw: _Draw) -> tuple[str, str]:
    """Fraction digits (short, long): the short one is larger in value, the long one larger as an integer."""
    short_len = 1 if draw.chance(0.7) else 2
    long_len = short_len + (1 if draw.chance(0.7) else 2)
    short_high = 10**short_len - 1
    short = _nonzero_last(draw.between(10 ** (short_len - 1) + 1, short_high), short_high)
    long_high = short * 10 ** (long_len - short_len) - 1
    long = _nonzero_last(draw.between(10 ** (long_len - 1), long_high), long_high)
    return f"{short:0{short_len}d}", f"{long:0{long_len}d}"


def _control_fractions(draw: _Draw) -> tuple[str, str]:
    """Fraction digits (short, long) where the long one is larger in value, mostly by extending the short."""
    short_len = 1 if draw.chance(0.7) else 2
    long_len = short_len + (1 if draw.chance(0.7) else 2)
    short_high = 10**short_len - 1
    short = _nonzero_last(draw.between(1, short_high), short_high)
    scale = 10 ** (long_len - short_len)
    if short < short_high and draw.chance(0.3):
        long_high = 10**long_len - 1
        long = _nonzero_last(draw.between((short + 1) * scale, long_high), long_high)
    else:
        long = short * scale + _nonzero_last(draw.between(1, scale - 1), scale - 1)
    return f"{short:0{short_len}d}", f"{long:0{long_len}d}"


def _decimal_trap(draw: _Draw) -> list[str]:
    whole = _integer_part(draw)
    short, long = _trap_fractions(draw)
    return [f"{whole}.{short}", f"{whole}.{long}"]


def _trap_control(draw: _Draw) -> list[str]:
    whole = _integer_part(draw)
    short, long = _control_fractions(draw)
    return [f"{whole}.{short}", f"{whole}.{long}"]


def _differing_digits(draw: _Draw, length: int, prefix_len: int, *, first_min: int = 0) -> tuple[str, str]:
    """Two digit strings of ``length`` sharing exactly ``prefix_len`` leading digits, last digits non-zero."""
    prefix = draw.digits(prefix_len, first_min=first_min)
    rest = length - prefix_len
    low = 1 if rest == 1 else 0
    if prefix_len == 0:
        low = max(low, first_min)
    first = draw.between(low, 8)
    second = draw.between(first + 1, 9)
    tail_a = draw.digits(rest - 1, last_nonzero=True) if rest > 1 else ""
    tail_b = draw.digits(rest - 1, last_nonzero=True) if rest > 1 else ""
    return prefix + str(first) + tail_a, prefix + str(second) + tail_b


def _shared_prefix(draw: _Draw) -> list[str]:
    whole = _integer_part(draw)
    length = draw.between(2, 5)
    low, high = _differing_digits(draw, length, draw.between(1, length - 1))
    return [f"{whole}.{high}", f"{whole}.{low}"]


def _equal(draw: _Draw) -> list[str]:
    whole = _integer_part(draw)
    zeros = "0" * draw.between(1, 2)
    if draw.chance(0.3):
        return [str(whole), f"{whole}.{zeros}"]
    fraction = draw.digits(draw.between(1, 3), last_nonzero=True)
    return [f"{whole}.{fraction}", f"{whole}.{fraction}{zeros}"]


def _integer_part_decides(draw: _Draw) -> list[str]:
    smaller_whole = _integer_part(draw)
    larger_whole = smaller_whole + (1 if draw.chance(0.6) else draw.between(2, 20))
    # The number with the smaller integer part gets the long, high fraction: it "looks" bigger.
    decoy = draw.digits(draw.between(2, 4), first_min=5, last_nonzero=True)
    if draw.chance(0.3):
        return [str(larger_whole), f"{smaller_whole}.{decoy}"]
    return [f"{larger_whole}.{draw.between(1, 4)}", f"{smaller_whole}.{decoy}"]


def _long_integers(draw: _Draw) -> list[str]:
    length = draw.between(8, 15)
    if draw.chance(0.6):
        low, high = _differing_digits(draw, length, draw.between(1, length - 2), first_min=1)
        return [high, low]
    # One digit longer but led by a small digit, against a shorter number led by a big one.
    first_short = draw.between(5, 9)
    shorter = str(first_short) + draw.digits(length - 2)
    longer = str(draw.between(1, first_short - 1)) + draw.digits(length - 1)
    return [longer, shorter]


def _negatives(draw: _Draw) -> list[str]:
    pair = _decimal_trap(draw) if draw.chance(0.5) else _trap_control(draw)
    return ["-" + number for number in pair]


def _mixed_sign(draw: _Draw, variant: int) -> list[str]:
    if variant == 0:
        zero = draw.pick(["0", "0.0", "0.00"])
        negative = "-0." + draw.digits(draw.between(1, 3), last_nonzero=True)
        return [zero, negative]
    whole = _integer_part(draw)
    short, long = _trap_fractions(draw)
    # A negative of larger magnitude (or longer digits) against a small positive.
    if variant == 1:
        return [f"{draw.between(0, whole)}.{long}", f"-{whole}.{short}"]
    return [f"{whole}.{short}", f"-{whole}.{long}"]


def _plain_decimal(digits: int, exponent: int) -> str:
    """The decimal text of ``digits * 10**exponent`` (digits > 0), without exponent notation."""
    text = str(digits)
    if exponent >= 0:
        return text + "0" * exponent
    point = len(text) + exponent
    if point > 0:
        return f"{text[:point]}.{text[point:]}"
    return "0." + "0" * -point + text


def _scientific(draw: _Draw, variant: int) -> list[str]:
    e = draw.pick(["e", "e", "E"])
    # Never 0 (nor 0 after the +1 below): "7.1e0" is not how anyone writes 7.1.
    exponent = draw.pick([-6, -5, -4, -3, -2, 1, 2, 3, 4, 5])
    if variant == 0:
        # Scientific against the plain decimal of a nearby value.
        mantissa = draw.between(11, 98)
        other = mantissa + draw.pick([-3, -2, -1, 1, 2, 3])
        return [f"{mantissa // 10}.{mantissa % 10}{e}{exponent}", _plain_decimal(other, exponent - 1)]
    if variant == 1:
        # Same exponent, the decimal trap inside the mantissa.
        whole = draw.between(1, 9)
        short, long = _trap_fractions(draw)
        return [f"{whole}.{short}{e}{exponent}", f"{whole}.{long}{e}{exponent}"]
    # The smaller mantissa carries the larger exponent.
    small = draw.between(1, 4)
    big = draw.between(small + 1, 9)
    return [f"{small}.{draw.between(1, 9)}{e}{exponent + 1}", f"{big}.{draw.between(1, 9)}{e}{exponent}"]


def _fraction_vs_decimal(draw: _Draw) -> list[str]:
    denominator = draw.between(2, 16)
    numerator = draw.between(1, 2 * denominator - 1)
    if numerator % denominator == 0:
        numerator += 1
    value = Fraction(numerator, denominator)
    places = draw.between(1, 3)
    scaled = value * 10**places
    digits = scaled.numerator // scaled.denominator + (1 if draw.chance(0.5) else 0)
    if Fraction(digits, 10**places) == value:
        digits += 1
    return [f"{numerator}/{denominator}", _plain_decimal(digits, -places) if digits else "0"]


def _with_thousands(whole: int) -> str:
    return f"{whole:,}"


def _surface_formats(draw: _Draw, variant: int) -> list[str]:
    short, long = _trap_fractions(draw) if draw.chance(0.5) else _control_fractions(draw)
    if variant == 0:
        whole = draw.between(1000, 99999)
        first, second = _with_thousands(whole), (_with_thousands(whole) if draw.chance(0.5) else str(whole))
        return [f"{first}.{short}", f"{second}.{long}"]
    if variant == 1:
        whole = draw.between(0, 99)
        padded = "0" * draw.between(1, 2) + str(whole)
        return [f"{padded}.{short}", f"{whole}.{long}"]
    whole = _integer_part(draw)
    return [f"{whole}.{short}%", f"{whole}.{long}%"]


_ZH_DIGITS = "零一二三四五六七八九"


def _zh_integer(value: int) -> str:
    """Chinese numerals for 0 <= value < 10000, the way they are read: 十三, 一百零五, 一千零一十."""
    if value < 10:
        return _ZH_DIGITS[value]
    if value < 20:
        return "十" + (_ZH_DIGITS[value % 10] if value % 10 else "")
    parts: list[str] = []
    zero_pending = False
    for unit_value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        digit = value // unit_value % 10
        if digit:
            if zero_pending:
                parts.append("零")
                zero_pending = False
            parts.append(_ZH_DIGITS[digit] + unit)
        elif parts:
            zero_pending = True
    return "".join(parts)


def _zh_decimal(whole: int, fraction: str) -> str:
    return _zh_integer(whole) + "点" + "".join(_ZH_DIGITS[int(d)] for d in fraction)


def _chinese_numerals(draw: _Draw) -> list[str]:
    whole = draw.between(0, 99) if draw.chance(0.8) else draw.between(100, 9999)
    short, long = _trap_fractions(draw) if draw.chance(0.6) else _control_fractions(draw)
    first = _zh_decimal(whole, short)
    second = _zh_decimal(whole, long) if draw.chance(0.5) else f"{whole}.{long}"
    return [first, second]


def _multi(draw: _Draw) -> list[str]:
    size = draw.between(3, 5)
    whole = _integer_part(draw)
    numbers: list[str] = []
    while len(numbers) < size:
        part = whole + (1 if draw.chance(0.2) else 0)
        # Fraction digits end in a non-zero digit, so distinct texts are distinct values.
        candidate = f"{part}.{draw.digits(draw.between(1, 3), last_nonzero=True)}"
        if candidate not in numbers:
            numbers.append(candidate)
    return numbers


def _plain(maker: Callable[[_Draw], list[str]]) -> Callable[[_Draw, int], list[str]]:
    return lambda draw, _variant: maker(draw)


@dataclass(frozen=True)
class Category:
    """A generator category: what it tests and how many variants it cycles through."""

    name: str
    description: str
    make: Callable[[_Draw, int], list[str]]
    variants: int = 1


CATEGORIES: Mapping[str, Category] = MappingProxyType(
    {
        category.name: category
        for category in (
            Category(
                "decimal-trap",
                "same integer part; the shorter decimal is the larger (9.9 vs 9.11)",
                _plain(_decimal_trap),
            ),
            Category(
                "trap-control",
                "same integer part; the longer decimal is the larger (9.91 vs 9.9)",
                _plain(_trap_control),
            ),
            Category(
                "shared-prefix",
                "same length, a shared prefix, differing at a later digit",
                _plain(_shared_prefix),
            ),
            Category("equal", "the same value written differently (1.10 vs 1.1)", _plain(_equal)),
            Category(
                "integer-part",
                "the integer part decides against longer, higher fraction digits",
                _plain(_integer_part_decides),
            ),
            Category(
                "long-integers",
                "integers of 7 to 15 digits, close in value or one digit longer",
                _plain(_long_integers),
            ),
            Category("negatives", "both numbers negative", _plain(_negatives)),
            Category("mixed-sign", "a negative number against zero or a positive number", _mixed_sign, 3),
            Category("scientific", "scientific notation (1.2e-3)", _scientific, 3),
            Category(
                "fraction-vs-decimal",
                "a fraction against a nearby decimal (3/8 vs 0.4)",
                _plain(_fraction_vs_decimal),
            ),
            Category("surface-formats", "thousands separators, leading zeros, percentages", _surface_formats, 3),
            Category(
                "chinese-numerals",
                "numbers written in Chinese numerals (十三点八)",
                _plain(_chinese_numerals),
            ),
            Category("multi", "three to five numbers", _plain(_multi)),
        )
    }
)

_ASKS = ("larger", "smaller")


def _check_kind(category: str, numbers: Sequence[str], ask: str) -> None:
    """A kind whose truth needs more than the comparison's (``order``: pairwise different values) may refuse what
    a category makes: one sentence, naming the category."""
    from pytest_llmcmp.tasks import task_for

    try:
        task_for(ask).expected(numbers, ask)
    except NumberError as exc:
        raise GeneratorError(f"category {category!r} cannot make {ask} cases: {exc}") from None


def generate(category: str, seed: int, count: int, ask: str = "both") -> list[RawCase]:
    """``count`` cases of ``category`` from ``seed``, ids ``<category>-<seed>-<n>`` (n from 1).

    ``ask`` is ``larger``, ``smaller``, ``both`` (alternating) or ``order`` (sort the numbers; the category must
    make pairwise different values). Raises GeneratorError on an
    unknown category or ask, or a seed or count out of range.
    """
    chosen = CATEGORIES.get(category)
    if chosen is None:
        suggestion = difflib.get_close_matches(category, list(CATEGORIES), n=1)
        hint = f"; did you mean {suggestion[0]!r}?" if suggestion else f" (known: {', '.join(CATEGORIES)})"
        raise GeneratorError(f"unknown generator category {category!r}{hint}")
    from pytest_llmcmp.tasks import ASKS

    if ask not in (*ASKS, "both"):
        raise GeneratorError(f"generator ask {ask!r} is not one of {', '.join((*ASKS, 'both'))}")
    if isinstance(seed, bool) or not 0 <= seed <= MAX_SEED:
        raise GeneratorError(f"seed {seed} is out of range; use an integer from 0 to {MAX_SEED}")
    if isinstance(count, bool) or not 1 <= count <= MAX_COUNT:
        raise GeneratorError(f"count {count} is out of range; use an integer from 1 to {MAX_COUNT}")
    draw = _Draw(seed)
    ask_offset = draw.between(0, 1)
    order_offset = draw.between(0, 1)
    variant_offset = draw.between(0, chosen.variants - 1)
    cases = []
    for index in range(count):
        numbers = chosen.make(draw, (index + variant_offset) % chosen.variants)
        if len(numbers) > 2:
            numbers = draw.shuffled(numbers)
        else:
            # Larger first, then every second pair flipped: the position of the answer alternates.
            numbers.sort(key=lambda text: parse_number(text).value, reverse=True)
            if (index // 2 + order_offset) % 2:
                numbers.reverse()
        case_ask = ask if ask != "both" else _ASKS[(index + ask_offset) % 2]
        if case_ask not in _ASKS:
            _check_kind(category, numbers, case_ask)
        cases.append(RawCase(f"{category}-{seed}-{index + 1}", tuple(numbers), case_ask, (category,)))
    return cases
