"""Exact truth for numeric comparisons: parsing numbers as people write them, and the correct answer.

Numbers are parsed into exact :class:`~fractions.Fraction` values, never floats, so ``"13.8"`` and
``"13.11"`` compare as written and ``"1.10"`` equals ``"1.1"``. The parser is a hand-written scanner
(no regular expressions), linear in the length of its input, and it refuses inputs whose exact value
would be expensive to build (huge exponents, thousands of digits) before building anything.

Accepted notations (after stripping surrounding whitespace; full-width forms such as ``"１３．８"``
and ``"１，２３４"`` are folded to ASCII first):

- decimals with an optional sign (``+``, ``-``, ``−``): ``"007.5"``, ``".5"``, ``"5."``, ``"-0.50"``;
- thousands grouping with one separator kept throughout, ``,`` ``_`` or a space (also no-break and
  thin spaces), groups of exactly three digits: ``"1,234,567.5"``, ``"1 234"``; ``"1,23,4"`` and
  ``"1,5"`` are rejected rather than guessed at;
- scientific notation: ``"1.2e-3"``, ``"1.2E+3"``, ``"5.7×10^2"`` (also ``x``, ``*``, ``·``, ``**``,
  ``10^(-2)``, ``10^{-2}`` and superscripts ``"5.7×10⁻²"``), exponents within ±1000;
- fractions ``"3/8"``, ``"-3/8"`` and mixed numbers ``"1 3/8"`` (the fraction part proper);
- a trailing ``%`` or ``‰``, which becomes :attr:`Quantity.unit` (the value stays the number written
  before it: ``"13.8%"`` has value 13.8 and unit ``"%"``);
- Chinese numerals: ``"十三点八"``, ``"一万零一"``, ``"负零点五"``, ``"两千三百"``, ``"二〇二四"``,
  financial forms (``"壹佰贰拾"``), 万/亿 (``"三亿五千万"``), colloquial abbreviations
  (``"一万五"`` = 15000), fractions ``"三分之一"`` and ``"三又八分之三"``, ``"百分之十三点八"``
  (unit ``%``), ``"千分之五"`` (unit ``‰``), and digits with Chinese multipliers: ``"1.5万"``,
  ``"3亿5000万"``.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from types import MappingProxyType
from typing import Final

__all__ = [
    "ASKS",
    "FULL_WIDTH",
    "MAX_DIGITS",
    "MAX_EXPONENT",
    "UNITS",
    "NumberError",
    "Quantity",
    "expected_answer",
    "parse_number",
    "same_value",
    "try_parse",
]

ASKS: tuple[str, ...] = ("larger", "smaller")
UNITS: tuple[str, ...] = ("", "%", "‰")
# Both limits keep the exact value cheap to build and stay far below Python's 4300-digit int() limit.
MAX_DIGITS = 1000
MAX_EXPONENT = 1000

_SHOWN_CHARS = 40


class NumberError(ValueError):
    """A text that is not an accepted number, or a comparison that cannot be judged.

    The message is one sentence without a location; callers prefix ``file:line``.
    """


@dataclass(frozen=True)
class Quantity:
    """A parsed number: the text as written, its exact value and its unit (``""``, ``"%"`` or ``"‰"``)."""

    text: str
    value: Fraction
    unit: str


class _Reject(Exception):
    """Internal: the scanner gave up; ``reason`` (possibly empty) explains why in a few words."""

    def __init__(self, reason: str = "") -> None:
        super().__init__(reason)
        self.reason = reason


def _width_folding() -> dict[int, str]:
    table = {code: chr(code - 0xFEE0) for code in range(0xFF01, 0xFF5F)}  # full-width ASCII block
    for minus in "\u2212\ufe63\u2012\u2013":  # minus sign, small hyphen-minus, figure dash, en dash
        table[ord(minus)] = "-"
    table[ord("\u3000")] = " "  # ideographic space
    return table


#: The one full-width folding table (for :meth:`str.translate`): the full-width ASCII block to ASCII, the
#: ideographic space to a space, minus-like dashes to ``-``. Every entry maps one character to one, so a folded
#: text keeps its length (the judge relies on it: a position in the folded text is one in the answer).
FULL_WIDTH: Final[Mapping[int, str]] = MappingProxyType(_width_folding())


def _fold_table() -> dict[int, str]:
    table = dict(FULL_WIDTH)
    table[ord("\ufe62")] = "+"
    table[ord("\ufe6a")] = "%"  # small percent sign
    table[ord("\u066a")] = "%"  # arabic percent sign
    table[ord("\u2044")] = "/"  # fraction slash
    table[ord("\u2215")] = "/"  # division slash
    return table


_FOLD = _fold_table()
_GROUP_SEPARATORS = frozenset(",_ \u00a0\u2007\u2009\u202f")
_TIMES = frozenset("×xX*·⋅∙")
_SUPERSCRIPTS = {
    "⁰": "0",
    "¹": "1",
    "²": "2",
    "³": "3",
    "⁴": "4",
    "⁵": "5",
    "⁶": "6",
    "⁷": "7",
    "⁸": "8",
    "⁹": "9",
    "⁻": "-",
    "⁺": "+",
}
_BRACKETS = {"(": ")", "{": "}"}

_CJK_DIGITS = {
    "零": 0,
    "〇": 0,
    "○": 0,
    "一": 1,
    "壹": 1,
    "二": 2,
    "贰": 2,
    "貳": 2,
    "两": 2,
    "兩": 2,
    "三": 3,
    "叁": 3,
    "參": 3,
    "四": 4,
    "肆": 4,
    "五": 5,
    "伍": 5,
    "六": 6,
    "陆": 6,
    "陸": 6,
    "七": 7,
    "柒": 7,
    "八": 8,
    "捌": 8,
    "九": 9,
    "玖": 9,
}
_CJK_SMALL_UNITS = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
_CJK_BIG_UNITS = {"万": 10**4, "萬": 10**4, "亿": 10**8, "億": 10**8}
_CJK_UNITS = {**_CJK_SMALL_UNITS, **_CJK_BIG_UNITS}
_CJK_POINTS = ("点", "點")
_CJK_NUMERAL_CHARS = frozenset(_CJK_DIGITS) | frozenset(_CJK_UNITS) | frozenset(_CJK_POINTS)
_SIGNS = {"+": False, "-": True, "正": False, "负": True, "負": True}
_PREFIX_UNITS = {"百分之": "%", "千分之": "‰"}


def parse_number(text: str) -> Quantity:
    """Parse ``text`` into an exact :class:`Quantity`; see the module docstring for accepted notations.

    Raises :class:`NumberError` (one sentence, no location) for anything else, including NaN,
    infinities, ``"1/0"``, exponents beyond ±1000 and more than 1000 digits.
    """
    if not isinstance(text, str):
        raise NumberError(
            f"not a number: expected text, got {type(text).__name__} {_shorten(repr(text))}"
            ' (write numbers as quoted strings, e.g. "13.10")'
        )
    return _parse_cached(text)


@functools.lru_cache(maxsize=1 << 15)
def _parse_cached(text: str) -> Quantity:
    # A suite names each number several times (validation, truth, answer extraction): parse it once. Quantity is
    # immutable, so sharing it is safe; a NumberError is raised again each time (lru_cache keeps no exceptions).
    try:
        value, unit = _parse(text)
    except _Reject as rejected:
        reason = f" ({rejected.reason})" if rejected.reason else ""
        raise NumberError(f"not a number: {_show(text)}{reason}") from None
    return Quantity(text=text, value=value, unit=unit)


def try_parse(text: str) -> Quantity | None:
    """Like :func:`parse_number`, but return ``None`` instead of raising."""
    try:
        return parse_number(text)
    except NumberError:
        return None


def same_value(a: str, b: str) -> bool:
    """Whether ``a`` and ``b`` are the same number in the same unit (``"13.80"`` and ``"13.8"``).

    Texts that are not numbers are never the same value as anything.
    """
    first, second = try_parse(a), try_parse(b)
    return first is not None and second is not None and _same(first, second)


def expected_answer(numbers: Sequence[str], ask: str) -> str:
    """The correct answer to "which of ``numbers`` is the ``ask`` one": an element of ``numbers``, as
    written, or ``"equal"`` when the extreme value is attained by more than one of them.

    Raises :class:`NumberError` for an unknown ``ask``, fewer than 2 numbers, a text that is not a
    number, or numbers in different units.
    """
    if ask not in ASKS:
        raise NumberError(f"unknown ask {ask!r}; valid asks: {', '.join(ASKS)}")
    quantities = _comparable(numbers)
    pick = max if ask == "larger" else min
    extreme = pick(quantity.value for quantity in quantities)
    winners = [index for index, quantity in enumerate(quantities) if quantity.value == extreme]
    if len(winners) > 1:
        return "equal"
    return numbers[winners[0]]


def expected_order(numbers: Sequence[str]) -> tuple[int, ...]:
    """The exact ordering of ``numbers`` from smallest to largest, as indices into ``numbers``.

    Raises :class:`NumberError` for fewer than 2 numbers, a text that is not a number, numbers in different units,
    or two numbers of the same value (an ordering of equal values is not one answer).
    """
    quantities = _comparable(numbers)
    order = tuple(sorted(range(len(quantities)), key=lambda index: quantities[index].value))
    for before, after in itertools.pairwise(order):
        if quantities[before].value == quantities[after].value:
            raise NumberError(
                f"{_show(numbers[before])} and {_show(numbers[after])} are equal; "
                "an order case needs numbers of pairwise different values"
            )
    return order


def _comparable(numbers: Sequence[str]) -> list[Quantity]:
    """The numbers parsed, at least 2 of them, all in one unit (else :class:`NumberError`)."""
    if isinstance(numbers, str):
        raise NumberError(f"numbers must be a list of texts, not the single text {_show(numbers)}")
    quantities = [parse_number(text) for text in numbers]
    if len(quantities) < 2:
        raise NumberError("needs at least 2 numbers")
    first = quantities[0]
    for other in quantities[1:]:
        if other.unit != first.unit:
            raise NumberError(f"mixed units: {_show(first.text)} and {_show(other.text)}")
    return quantities


def _same(first: Quantity, second: Quantity) -> bool:
    return first.unit == second.unit and first.value == second.value


def _show(text: str) -> str:
    if len(text) > _SHOWN_CHARS:
        return repr(text[:_SHOWN_CHARS]) + f"… ({len(text)} characters)"
    return repr(text)


def _shorten(shown: str) -> str:
    return shown if len(shown) <= _SHOWN_CHARS else shown[:_SHOWN_CHARS] + "…"


# What almost every case file and generator writes: "13.8", "-0.25", "9" (ASCII digits, no leading zeros, no
# spaces, signs other than "-", separators or units). Read directly, it costs a tenth of the general path below,
# which gives the same value (tests/test_truth.py checks that on every text of this form).
_PLAIN_DECIMAL = re.compile(r"(-?)([1-9][0-9]{0,99}|0)(?:\.([0-9]{1,100}))?")


def _parse(text: str) -> tuple[Fraction, str]:
    plain = _PLAIN_DECIMAL.fullmatch(text)
    if plain is None:
        return _parse_general(text)
    sign, whole, fraction = plain.groups(default="")
    value = Fraction(int(whole + fraction), 10 ** len(fraction))
    return (-value if sign else value), ""


def _parse_general(text: str) -> tuple[Fraction, str]:
    body = text.strip().translate(_FOLD).strip()
    if not body:
        raise _Reject("empty")
    negative, body = _take_sign(body)
    unit = ""
    for prefix, prefix_unit in _PREFIX_UNITS.items():
        if body.startswith(prefix):
            unit, body = prefix_unit, body[len(prefix) :]
            if negative is None:  # "百分之负五" puts the sign after the unit words
                negative, body = _take_sign(body)
            break
    if body.endswith(("%", "‰")):
        if unit:
            raise _Reject("two units")
        unit, body = body[-1], body[:-1].rstrip()
    if not body:
        raise _Reject()
    value = _parse_body(body)
    return (-value if negative else value), unit


def _take_sign(body: str) -> tuple[bool | None, str]:
    """Split off one leading sign: ``(True, rest)`` for minus, ``(False, rest)`` for plus, else ``None``."""
    if body and body[0] in _SIGNS:
        return _SIGNS[body[0]], body[1:]
    return None, body


def _parse_body(body: str) -> Fraction:
    if "分之" in body:
        return _parse_cjk_fraction(body)
    if "/" in body:
        return _parse_slash_fraction(body)
    return _parse_scalar(body)


def _parse_cjk_fraction(body: str) -> Fraction:
    denominator_text, _, numerator_text = body.partition("分之")
    whole: Fraction | None = None
    if "又" in denominator_text:  # "三又八分之三": a mixed number
        whole_text, _, denominator_text = denominator_text.partition("又")
        whole = _parse_scalar(whole_text)
    denominator = _parse_scalar(denominator_text)
    numerator = _parse_scalar(numerator_text)
    if denominator == 0:
        raise _Reject("division by zero")
    fraction = numerator / denominator
    if whole is None:
        return fraction
    if whole.denominator != 1 or not 0 <= fraction < 1:
        raise _Reject("a mixed number needs a whole number and a proper fraction")
    return whole + fraction


def _parse_slash_fraction(body: str) -> Fraction:
    left, _, right = body.partition("/")
    left_parts = left.split()
    if len(left_parts) not in (1, 2) or left != left.lstrip():
        raise _Reject()
    numerator = _plain_integer(left_parts[-1])
    denominator = _plain_integer(right.strip())
    if denominator == 0:
        raise _Reject("division by zero")
    fraction = Fraction(numerator, denominator)
    if len(left_parts) == 1:
        return fraction
    if numerator >= denominator:
        raise _Reject("a mixed number needs a proper fraction")
    return _plain_integer(left_parts[0]) + fraction


def _plain_integer(text: str) -> int:
    if not text or not all("0" <= char <= "9" for char in text):
        raise _Reject()
    significant = text.lstrip("0")
    _check_digit_count(len(significant))
    return int(significant or "0")


def _check_digit_count(count: int) -> None:
    if count > MAX_DIGITS:
        raise _Reject(f"more than {MAX_DIGITS} digits")


def _parse_scalar(text: str) -> Fraction:
    if any(char in _CJK_NUMERAL_CHARS for char in text):
        return _parse_cjk(text)
    return _parse_arabic(text)


def _is_digit(text: str, index: int) -> bool:
    return index < len(text) and "0" <= text[index] <= "9"


def _scan_digits(text: str, index: int) -> int:
    while _is_digit(text, index):
        index += 1
    return index


def _scan_decimal(text: str, start: int) -> tuple[Fraction, int]:
    """Scan ``[digits with grouping]['.' digits]`` from ``start``; return its value and where it ends."""
    end = _scan_digits(text, start)
    groups = [text[start:end]]
    at_separator = end < len(text) and text[end] in _GROUP_SEPARATORS and _is_digit(text, end + 1)
    if end > start and at_separator:
        separator = text[end]
        if end - start > 3:
            raise _Reject("bad digit grouping")
        while end < len(text) and text[end] == separator and _is_digit(text, end + 1):
            group_end = _scan_digits(text, end + 1)
            if group_end - end - 1 != 3:
                raise _Reject("bad digit grouping")
            groups.append(text[end + 1 : group_end])
            end = group_end
        if end < len(text) and text[end] in _GROUP_SEPARATORS and _is_digit(text, end + 1):
            raise _Reject("mixed digit separators")
    # Leading zeros add nothing to the value, so they do not count against MAX_DIGITS.
    integer_digits = "".join(groups).lstrip("0")
    fraction_digits = ""
    if end < len(text) and text[end] == ".":
        fraction_end = _scan_digits(text, end + 1)
        fraction_digits = text[end + 1 : fraction_end]
        end = fraction_end
    if end == start or text[start:end] == ".":
        raise _Reject()
    _check_digit_count(len(integer_digits) + len(fraction_digits))
    digits = integer_digits + fraction_digits
    return Fraction(int(digits or "0"), 10 ** len(fraction_digits)), end


def _parse_arabic(text: str) -> Fraction:
    value, end = _scan_decimal(text, 0)
    if end == len(text):
        return value
    exponent = _parse_exponent(text, end)
    return value * Fraction(10) ** exponent


def _parse_exponent(text: str, start: int) -> int:
    """Parse the rest of ``text`` from ``start`` as an exponent part: ``e-3`` or ``×10^-3`` and kin."""
    if text[start] in "eE":
        return _exponent_value(text[start + 1 :])
    index = _skip_spaces(text, start)
    if index >= len(text) or text[index] not in _TIMES:
        raise _Reject()
    index = _skip_spaces(text, index + 1)
    if not text.startswith("10", index):
        raise _Reject()
    rest = text[index + 2 :]
    for power in ("^", "**"):
        if rest.lstrip(" ").startswith(power):
            rest = rest.lstrip(" ")[len(power) :].lstrip(" ")
            if rest[:1] in _BRACKETS:
                if not rest.endswith(_BRACKETS[rest[0]]):
                    raise _Reject()
                rest = rest[1:-1]
            return _exponent_value(rest)
    if rest and all(char in _SUPERSCRIPTS for char in rest):
        return _exponent_value("".join(_SUPERSCRIPTS[char] for char in rest))
    raise _Reject()


def _skip_spaces(text: str, index: int) -> int:
    while index < len(text) and text[index] == " ":
        index += 1
    return index


def _exponent_value(text: str) -> int:
    negative = text[:1] == "-"
    digits = text[1:] if text[:1] in "+-" else text
    if not digits or not all("0" <= char <= "9" for char in digits):
        raise _Reject()
    significant = digits.lstrip("0")
    # Checked on the text, before int(): "1e999999" must never reach 10**999999.
    if len(significant) > len(str(MAX_EXPONENT)) or int(significant or "0") > MAX_EXPONENT:
        raise _Reject(f"exponent beyond ±{MAX_EXPONENT}")
    exponent = int(significant or "0")
    return -exponent if negative else exponent


def _parse_cjk(text: str) -> Fraction:
    for point in _CJK_POINTS:
        if point in text:
            integer_text, _, rest = text.partition(point)
            integer = _parse_cjk_integer(integer_text)
            if integer.denominator != 1:
                raise _Reject()
            digits_end = 0
            while digits_end < len(rest) and rest[digits_end] in _CJK_DIGITS:
                digits_end += 1
            if digits_end:
                digits = "".join(str(_CJK_DIGITS[char]) for char in rest[:digits_end])
            else:  # "1点5"
                digits_end = _scan_digits(rest, 0)
                digits = rest[:digits_end]
            if not digits:
                raise _Reject()
            _check_digit_count(len(digits))
            multiplier = _cjk_multiplier(rest[digits_end:])
            return (integer + Fraction(int(digits), 10 ** len(digits))) * multiplier
    return _parse_cjk_integer(text)


def _cjk_multiplier(suffix: str) -> int:
    """The product of trailing units such as 万 or 千万; each must be larger than the one before."""
    multiplier = 1
    previous = 1
    for char in suffix:
        unit = _CJK_UNITS.get(char)
        if unit is None or unit <= previous:
            raise _Reject()
        multiplier *= unit
        previous = unit
    return multiplier


def _parse_cjk_integer(text: str) -> Fraction:
    if not text:
        raise _Reject()
    if not any(char in _CJK_UNITS for char in text):
        if all(char in _CJK_DIGITS for char in text):  # digit by digit: "二〇二四"
            digits = "".join(str(_CJK_DIGITS[char]) for char in text).lstrip("0")
            _check_digit_count(len(digits))
            return Fraction(int(digits or "0"))
        value, end = _scan_decimal(text, 0)
        if end != len(text):
            raise _Reject()
        return value
    return _CjkIntegerReader(text).read()


class _CjkIntegerReader:
    """Reads a Chinese integer with units (十 百 千 万 亿), optionally with Arabic digits before units.

    The value is kept in three parts: ``above_yi`` (already multiplied by 亿), ``wan_part`` (the 万
    part below it) and ``section`` (below 万); ``pending`` is a number still waiting for its unit.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.above_yi = Fraction(0)
        self.wan_part = Fraction(0)
        self.section = Fraction(0)
        self.pending: Fraction | None = None
        self.pending_is_arabic = False
        self.last_unit: int | None = None
        self.last_small_unit = 10**4  # small units must decrease within a section
        self.zero_since_unit = False
        self.seen_wan = False
        self.seen_yi = False

    def read(self) -> Fraction:
        text = self.text
        index = 0
        while index < len(text):
            char = text[index]
            if char in _CJK_DIGITS and _CJK_DIGITS[char] == 0:
                if self.pending is not None or self.last_unit is None:
                    raise _Reject()
                self.zero_since_unit = True
                index += 1
            elif char in _CJK_DIGITS:
                self._set_pending(Fraction(_CJK_DIGITS[char]), arabic=False)
                index += 1
            elif char in _CJK_SMALL_UNITS:
                self._small_unit(_CJK_SMALL_UNITS[char], at_start=index == 0)
                index += 1
            elif char in _CJK_BIG_UNITS:
                self._big_unit(_CJK_BIG_UNITS[char], at_start=index == 0)
                index += 1
            elif _is_digit(text, index) or char == ".":
                value, index = _scan_decimal(text, index)
                self._set_pending(value, arabic=True)
            else:
                raise _Reject()
        return self.above_yi + self.wan_part + self.section + self._trailing()

    def _set_pending(self, value: Fraction, *, arabic: bool) -> None:
        if self.pending is not None:
            raise _Reject()
        self.pending = value
        self.pending_is_arabic = arabic

    def _take_pending(self, *, implicit_one: bool) -> Fraction:
        if self.pending is None:
            if not implicit_one:
                raise _Reject()
            return Fraction(1)
        value, self.pending = self.pending, None
        return value

    def _small_unit(self, unit: int, *, at_start: bool) -> None:
        if unit >= self.last_small_unit:
            raise _Reject()
        # 十 stands alone ("十三", "一百零十"); other units only at the very start ("百分之").
        count = self._take_pending(implicit_one=unit == 10 or at_start)
        self.section += count * unit
        self.last_small_unit = unit
        self._after_unit(unit)

    def _big_unit(self, unit: int, *, at_start: bool) -> None:
        if unit == 10**4:
            if self.seen_wan:
                raise _Reject()
            count = self.section
        else:
            if self.seen_yi:
                raise _Reject()
            count = self.wan_part + self.section
        if self.pending is not None:
            count += self.pending
            self.pending = None
        elif count == 0:
            if not at_start:
                raise _Reject()
            count = Fraction(1)  # "万" and "亿" alone, or "万亿"
        if unit == 10**4:
            self.wan_part += count * unit
            self.seen_wan = True
        else:
            self.above_yi = count * unit
            self.wan_part = Fraction(0)
            self.seen_wan = False
            self.seen_yi = True
        self.section = Fraction(0)
        self.last_small_unit = 10**4
        self._after_unit(unit)

    def _after_unit(self, unit: int) -> None:
        self.last_unit = unit
        self.zero_since_unit = False
        self.pending_is_arabic = False

    def _trailing(self) -> Fraction:
        if self.zero_since_unit and self.pending is None:
            raise _Reject()  # a dangling 零: "一百零"
        if self.pending is None:
            return Fraction(0)
        if self.pending_is_arabic:
            # "3万5" could mean 30005 or 35000; refuse rather than guess.
            raise _Reject("ambiguous digits after a Chinese unit")
        if self.zero_since_unit or self.last_unit is None:
            return self.pending
        # Colloquial abbreviation: "一万五" is 15000, "两千三" is 2300, "十一" is 11.
        return self.pending * (self.last_unit // 10)
