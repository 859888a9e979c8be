"""Tests for the exact-truth engine: notations, rejections, and agreement with Fraction arithmetic."""

from __future__ import annotations

import time
from collections.abc import Callable
from fractions import Fraction
from typing import Protocol, TypeVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_llmcmp.truth import (
    ASKS,
    MAX_DIGITS,
    UNITS,
    NumberError,
    Quantity,
    expected_answer,
    parse_number,
    same_value,
    try_parse,
)

F = Fraction

ACCEPTED: list[tuple[str, Fraction, str]] = [
    # plain decimals, signs, zeros
    ("13.8", F("13.8"), ""),
    ("13.11", F("13.11"), ""),
    ("0", F(0), ""),
    ("-0", F(0), ""),
    ("+5", F(5), ""),
    ("-0.5", F(-1, 2), ""),
    ("−0.5", F(-1, 2), ""),
    ("－0.5", F(-1, 2), ""),
    ("007.5", F(15, 2), ""),
    ("1.10", F(11, 10), ""),
    ("13.800", F("13.8"), ""),
    (".5", F(1, 2), ""),
    ("5.", F(5), ""),
    ("  13.8\n", F("13.8"), ""),
    (
        "123456789012345678901234567890.000000000000000000001",
        F("123456789012345678901234567890.000000000000000000001"),
        "",
    ),
    # full-width forms
    ("１３．８", F("13.8"), ""),
    ("１，２３４．５", F("1234.5"), ""),
    ("１３．８％", F("13.8"), "%"),
    # scientific notation
    ("1.2e-3", F(12, 10000), ""),
    ("1.2E+3", F(1200), ""),
    ("1e0", F(1), ""),
    ("-2.5e2", F(-250), ""),
    ("1e1000", F(10**1000), ""),
    ("1e-1000", F(1, 10**1000), ""),
    ("1e0001000", F(10**1000), ""),
    ("5.7×10^2", F(570), ""),
    ("5.7x10^2", F(570), ""),
    ("5.7X10^2", F(570), ""),
    ("5.7*10^2", F(570), ""),
    ("5.7*10**2", F(570), ""),
    ("5.7×10²", F(570), ""),
    ("5.7×10⁻²", F(57, 1000), ""),
    ("5.7·10^-2", F(57, 1000), ""),
    ("5.7·10^−2", F(57, 1000), ""),
    ("5.7 × 10^(-2)", F(57, 1000), ""),
    ("5.7×10^{-2}", F(57, 1000), ""),
    ("5.7 × 10 ^ 3", F(5700), ""),
    ("1,234×10^3", F(1234000), ""),
    # thousands separators
    ("1,234.5", F("1234.5"), ""),
    ("1,234,567", F(1234567), ""),
    ("-1,234,567.25", F("-1234567.25"), ""),
    ("1 234 567", F(1234567), ""),
    ("1\u202f234\u202f567", F(1234567), ""),
    ("1\u2009234", F(1234), ""),
    ("1_000_000", F(1000000), ""),
    ("1，234", F(1234), ""),
    ("999", F(999), ""),
    # units
    ("13.8%", F("13.8"), "%"),
    ("13.80%", F("13.8"), "%"),
    ("-0.5%", F(-1, 2), "%"),
    ("13.8 %", F("13.8"), "%"),
    ("5‰", F(5), "‰"),
    ("1.5e2%", F(150), "%"),
    # fractions
    ("3/8", F(3, 8), ""),
    ("-3/8", F(-3, 8), ""),
    ("3 / 8", F(3, 8), ""),
    ("6/4", F(3, 2), ""),
    ("0/5", F(0), ""),
    ("1 3/8", F(11, 8), ""),
    ("-1 3/8", F(-11, 8), ""),
    ("3⁄8", F(3, 8), ""),
    ("1/2%", F(1, 2), "%"),
    # Chinese numerals
    ("十三点八", F("13.8"), ""),
    ("十三點八", F("13.8"), ""),
    ("一万零一", F(10001), ""),
    ("负零点五", F(-1, 2), ""),
    ("負零點五", F(-1, 2), ""),
    ("两千三百", F(2300), ""),
    ("三分之一", F(1, 3), ""),
    ("负三分之一", F(-1, 3), ""),
    ("三又八分之三", F(27, 8), ""),
    ("百分之十三点八", F("13.8"), "%"),
    ("负百分之五", F(-5), "%"),
    ("百分之负五", F(-5), "%"),
    ("千分之五", F(5), "‰"),
    ("零", F(0), ""),
    ("〇", F(0), ""),
    ("十", F(10), ""),
    ("十一", F(11), ""),
    ("一十一", F(11), ""),
    ("二十", F(20), ""),
    ("一百零五", F(105), ""),
    ("一千零一十", F(1010), ""),
    ("一千零五十", F(1050), ""),
    ("九千九百九十九", F(9999), ""),
    ("十万", F(100000), ""),
    ("一百万", F(1000000), ""),
    ("一千万零一", F(10000001), ""),
    ("三亿五千万", F(350000000), ""),
    ("一亿零五百万", F(105000000), ""),
    ("一亿零一", F(100000001), ""),
    ("一万亿", F(10**12), ""),
    ("万亿", F(10**12), ""),
    ("二〇二四", F(2024), ""),
    ("一三点八", F("13.8"), ""),
    ("壹佰贰拾叁", F(123), ""),
    ("壹萬贰仟", F(12000), ""),
    ("一万五", F(15000), ""),
    ("两千三", F(2300), ""),
    ("一百一", F(110), ""),
    ("十三点八万", F(138000), ""),
    ("一点五亿", F(150000000), ""),
    ("十三点八%", F("13.8"), "%"),
    # digits with Chinese multipliers
    ("1.5万", F(15000), ""),
    ("-1.5万", F(-15000), ""),
    ("3千万", F(30000000), ""),
    ("1.5万亿", F(1500000000000), ""),
    ("3亿5000万", F(350000000), ""),
    ("12.5百万", F(12500000), ""),
    ("1点5", F(3, 2), ""),
    ("3分之1", F(1, 3), ""),
    ("百分之5", F(5), "%"),
]


@pytest.mark.parametrize(("text", "value", "unit"), ACCEPTED)
def test_accepted_notation(text: str, value: Fraction, unit: str) -> None:
    assert parse_number(text) == Quantity(text=text, value=value, unit=unit)


REJECTED: list[tuple[str, str]] = [
    ("", "empty"),
    ("   ", "empty"),
    ("13..8", ""),
    ("13.8.1", ""),
    (".", ""),
    ("-", ""),
    ("--5", ""),
    ("- 5", ""),
    ("+-5", ""),
    ("nan", ""),
    ("NaN", ""),
    ("inf", ""),
    ("-inf", ""),
    ("infinity", ""),
    ("∞", ""),
    ("abc", ""),
    ("13.8abc", ""),
    ("0x1F", ""),
    ("١٢", ""),  # Arabic-Indic digits are not accepted silently
    ("5²", ""),
    ("1/0", "division by zero"),
    ("0/0", "division by zero"),
    ("零分之一", "division by zero"),
    ("1/2/3", ""),
    ("1.5/3", ""),
    ("1 9/8", "proper fraction"),
    ("1 2 3/8", ""),
    ("1e999999", "exponent beyond ±1000"),
    ("1e-1001", "exponent beyond ±1000"),
    ("5×10^1001", "exponent beyond ±1000"),
    ("1e", ""),
    ("e5", ""),
    ("1e5.5", ""),
    ("5.7×10", ""),
    ("5.7×11^2", ""),
    ("10^3", ""),
    ("1 e3", ""),
    ("1,23,4", "bad digit grouping"),
    ("1,5", "bad digit grouping"),
    ("1,2345", "bad digit grouping"),
    ("1234,567", "bad digit grouping"),
    ("1,23,456", "bad digit grouping"),
    ("13 11", "bad digit grouping"),
    ("1,234_567", "mixed digit separators"),
    (",123", ""),
    ("1,234,", ""),
    ("1.234,5", ""),
    ("1,,234", ""),
    ("%", ""),
    ("13.8%%", ""),
    ("%13.8", ""),
    ("百分之5%", "two units"),
    ("1 - 2", ""),
    ("5–10", ""),
    ("一百零", ""),
    ("零一百", ""),
    ("一二十", ""),
    ("一百二千", ""),
    ("万万", ""),
    ("一亿二亿", ""),
    ("一亿万", ""),
    ("点五", ""),
    ("一点", ""),
    ("1.5点5", ""),
    ("3万5", "ambiguous"),
    ("三分之", ""),
    ("分之一", ""),
    ("三分之一分之二", ""),
    ("十三点八千百", ""),
    ("1" * (MAX_DIGITS + 1), f"more than {MAX_DIGITS} digits"),
    ("1" * 5000, f"more than {MAX_DIGITS} digits"),
    ("0." + "0" * 5000 + "1", f"more than {MAX_DIGITS} digits"),
    ("1/" + "7" * 5000, f"more than {MAX_DIGITS} digits"),
    ("一" * 5000, f"more than {MAX_DIGITS} digits"),
    ("零点" + "五" * 5000, f"more than {MAX_DIGITS} digits"),
]


@pytest.mark.parametrize(("text", "reason"), REJECTED)
def test_rejected_input(text: str, reason: str) -> None:
    with pytest.raises(NumberError) as caught:
        parse_number(text)
    message = str(caught.value)
    assert message.startswith("not a number: ")
    assert reason in message
    assert "\n" not in message
    assert len(message) < 200
    assert try_parse(text) is None


@pytest.mark.parametrize("value", [None, 13.8, 13, ["13.8"]])
def test_non_text_is_a_number_error(value: object) -> None:
    with pytest.raises(NumberError, match="quoted strings"):
        parse_number(value)  # type: ignore[arg-type]


def test_number_error_is_a_value_error() -> None:
    assert issubclass(NumberError, ValueError)


def test_text_is_kept_as_written() -> None:
    assert parse_number(" 13.80 ").text == " 13.80 "


ADVERSARIAL = [
    "1" + ",111" * 3000 + ",11",
    "1" + ",111" * 3332 + "x",
    "9" * 10_000,
    "1e" + "9" * 10_000,
    "1." + "1" * 10_000 + "e5",
    "1×10^" + "9" * 10_000,
    "一" * 10_000,
    "十" * 10_000,
    "百分之" * 3_333,
    "三分之" * 3_333,
    "1 " * 5_000 + "/2",
    "1.5万" * 2_000,
    "1万" + "1" * 9_998,
    "-" * 10_000,
    "1" * 9_999 + "%",
    "点" * 10_000,
    "零点" + "零" * 9_998,
    "1" + " 111" * 2_500,
    "1/" + "1" * 9_998,
]


@pytest.mark.parametrize("text", ADVERSARIAL, ids=lambda text: f"{text[:12]}…{len(text)}")
def test_adversarial_10k_input_is_rejected_quickly(text: str) -> None:
    started = time.process_time()  # CPU time: a loaded machine slows the clock down, not the work
    with pytest.raises(NumberError):
        parse_number(text)
    assert time.process_time() - started < 0.5


def test_long_but_valid_input_is_parsed_quickly() -> None:
    started = time.process_time()  # CPU time: a loaded machine slows the clock down, not the work
    assert parse_number("1e" + "0" * 10_000 + "5").value == 10**5
    assert parse_number("0" * 10_000 + "7.5").value == Fraction(15, 2)
    assert parse_number("0" * 10_000 + "3/" + "0" * 10_000 + "8").value == Fraction(3, 8)
    assert parse_number("〇" * 10_000 + "七").value == 7
    assert parse_number("9" * MAX_DIGITS + "e1000").value == (10**MAX_DIGITS - 1) * 10**1000
    assert time.process_time() - started < 0.5


def test_expected_answer_picks_as_written() -> None:
    assert expected_answer(["13.8", "13.11"], "larger") == "13.8"
    assert expected_answer(["13.8", "13.11"], "smaller") == "13.11"
    assert expected_answer([" 13.8 ", "13.11"], "larger") == " 13.8 "
    assert expected_answer(["-0.5", "-0.45", "1e-3"], "smaller") == "-0.5"
    assert expected_answer(["十三点八", "13.11"], "larger") == "十三点八"


@pytest.mark.parametrize(
    ("numbers", "ask"),
    [
        (["1.10", "1.1"], "larger"),
        (["13.8%", "13.80%"], "smaller"),
        (["1", "1.0", "0.5"], "larger"),
        (["3/8", "0.375", "1"], "smaller"),
        (["十三点八", "13.80"], "larger"),
        (["1.5万", "15,000"], "smaller"),
        (["-0", "0.000"], "larger"),
    ],
)
def test_expected_answer_equal_when_extreme_is_shared(numbers: list[str], ask: str) -> None:
    assert expected_answer(numbers, ask) == "equal"


def test_tie_below_the_extreme_is_not_equal() -> None:
    assert expected_answer(["1", "1.0", "2"], "larger") == "2"
    assert expected_answer(["1", "1.0", "2"], "smaller") == "equal"


@pytest.mark.parametrize(
    ("numbers", "ask", "message"),
    [
        (["13.8"], "larger", "needs at least 2 numbers"),
        ([], "smaller", "needs at least 2 numbers"),
        (["13.8%", "13.11"], "larger", "mixed units: '13.8%' and '13.11'"),
        (["1", "2", "3‰"], "smaller", "mixed units: '1' and '3‰'"),
        (["1", "2"], "biggest", "valid asks: larger, smaller"),
        (["1", "x"], "larger", "not a number: 'x'"),
        ("13.8", "larger", "list of texts"),
    ],
)
def test_expected_answer_errors(numbers: list[str], ask: str, message: str) -> None:
    with pytest.raises(NumberError) as caught:
        expected_answer(numbers, ask)
    assert message in str(caught.value)


def test_asks_and_units() -> None:
    assert ASKS == ("larger", "smaller")
    assert UNITS == ("", "%", "‰")


def test_same_value() -> None:
    assert same_value("13.80", "13.8")
    assert same_value("1.5万", "15000")
    assert same_value("13.8%", "百分之十三点八")
    assert not same_value("13.8%", "13.8")
    assert not same_value("13.8", "13.11")
    assert not same_value("13.8", "thirteen")
    assert not same_value("", "")


# --- Renderers used by the property tests: written independently of the parser. ---

CN_DIGITS = "零一二三四五六七八九"
FINANCIAL = str.maketrans("一二三四五六七八九十百千万亿", "壹贰叁肆伍陆柒捌玖拾佰仟萬億")


def chinese_integer(number: int, *, short_ten: bool = False) -> str:
    """Standard Chinese reading of 0 <= number < 10**12 (一千零一十, 一亿零五百万)."""
    if number == 0:
        return "零"

    def group(value: int) -> str:
        out, zero = "", False
        for place, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
            digit = value // place % 10
            if digit == 0:
                zero = zero or bool(out)
            else:
                out += ("零" if zero else "") + CN_DIGITS[digit] + unit
                zero = False
        return out

    out, gap = "", False
    for place, unit in ((10**8, "亿"), (10**4, "万"), (1, "")):
        part = number // place % 10**4
        if part == 0:
            gap = gap or bool(out)
            continue
        if out and (gap or part < 1000):
            out += "零"
        out += group(part) + unit
        gap = False
    if short_ten and out.startswith("一十"):
        out = out[1:]
    return out


def decimal_parts(numerator: int, places: int) -> tuple[str, str, str]:
    """(sign, integer digits, fraction digits) of numerator / 10**places, all places kept."""
    digits = str(abs(numerator)).rjust(places + 1, "0")
    return ("-" if numerator < 0 else ""), digits[: len(digits) - places], digits[len(digits) - places :]


def plain(numerator: int, places: int, lead: int = 0, trail: int = 0) -> str:
    sign, whole, fraction = decimal_parts(numerator, places)
    fraction += "0" * trail
    return sign + "0" * lead + whole + ("." + fraction if fraction else "")


def scientific_mantissa(numerator: int, places: int, exponent: int) -> str:
    """The mantissa m with m * 10**exponent == numerator / 10**places."""
    shifted = places + exponent
    if shifted >= 0:
        return plain(numerator, shifted)
    return plain(numerator * 10**-shifted, 0)


SUPERSCRIPT = str.maketrans("0123456789-+", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺")
FULL_WIDTH = {code: code + 0xFEE0 for code in range(0x21, 0x7F)}

T = TypeVar("T")


class Draw(Protocol):
    """Either hypothesis' ``draw`` in a composite strategy or ``data.draw``."""

    def __call__(self, strategy: st.SearchStrategy[T]) -> T: ...


Renderer = Callable[[Draw, int, int], str]


def r_plain(draw: Draw, numerator: int, places: int) -> str:
    return plain(numerator, places, draw(st.integers(0, 3)), draw(st.integers(0, 3)))


def r_sci_e(draw: Draw, numerator: int, places: int) -> str:
    exponent = draw(st.integers(-8, 8))
    letter = draw(st.sampled_from("eE"))
    sign = "+" if exponent >= 0 and draw(st.booleans()) else ""
    return f"{scientific_mantissa(numerator, places, exponent)}{letter}{sign}{exponent}"


def r_sci_times(draw: Draw, numerator: int, places: int) -> str:
    exponent = draw(st.integers(-8, 8))
    times = draw(st.sampled_from(["×", "x", "*", "·", " × "]))
    if draw(st.booleans()):
        power = str(exponent).translate(SUPERSCRIPT)
    else:
        power = "^" + draw(st.sampled_from(["{}", "({})", "{{{}}}"])).format(exponent)
    return f"{scientific_mantissa(numerator, places, exponent)}{times}10{power}"


def r_grouped(draw: Draw, numerator: int, places: int) -> str:
    sign, whole, fraction = decimal_parts(numerator, places)
    separator = draw(st.sampled_from([",", "_", " ", "\u202f", "，"]))
    grouped = f"{int(whole):,}".replace(",", separator)
    return sign + grouped + ("." + fraction if fraction else "")


def r_full_width(draw: Draw, numerator: int, places: int) -> str:
    return plain(numerator, places).translate(FULL_WIDTH)


def r_unicode_minus(draw: Draw, numerator: int, places: int) -> str:
    text = plain(numerator, places)
    return text.replace("-", draw(st.sampled_from(["−", "－"]))) if numerator < 0 else "+" + text


def r_chinese(draw: Draw, numerator: int, places: int) -> str:
    sign, whole, fraction = decimal_parts(numerator, places)
    text = chinese_integer(int(whole), short_ten=draw(st.booleans()))
    if draw(st.booleans()):
        text = text.translate(FINANCIAL)
    if fraction:
        text += "点" + "".join(CN_DIGITS[int(digit)] for digit in fraction)
    return ("负" if sign else "") + text


RENDERERS: dict[str, Renderer] = {
    "plain": r_plain,
    "sci_e": r_sci_e,
    "sci_times": r_sci_times,
    "grouped": r_grouped,
    "full_width": r_full_width,
    "unicode_minus": r_unicode_minus,
    "chinese": r_chinese,
}

# Chinese renderer covers integers below 10**12, so keep all magnitudes there.
numerators = st.integers(-(10**11), 10**11)
places = st.integers(0, 6)


@st.composite
def rendered(draw: st.DrawFn, numerator: int | None = None, scale: int | None = None) -> tuple[str, Fraction]:
    """A decimal number rendered in a random notation, with its exact value."""
    numerator = draw(numerators) if numerator is None else numerator
    scale = draw(places) if scale is None else scale
    name = draw(st.sampled_from(sorted(RENDERERS)))
    return RENDERERS[name](draw, numerator, scale), Fraction(numerator, 10**scale)


@settings(deadline=None)  # wall-clock deadlines flake on loaded CI machines; speed is asserted explicitly
@given(numerator=numerators, scale=places, data=st.data())
def test_every_notation_parses_to_the_exact_value(numerator: int, scale: int, data: st.DataObject) -> None:
    value = Fraction(numerator, 10**scale)
    for name, render in RENDERERS.items():
        text = render(data.draw, numerator, scale)
        quantity = parse_number(text)
        assert (name, quantity.value, quantity.unit) == (name, value, "")
        percent = parse_number(text + "%")
        assert (name, percent.value, percent.unit) == (name, value, "%")


@settings(deadline=None)
@given(numerator=st.integers(-(10**30), 10**30), scale=st.integers(0, 30), exponent=st.integers(-40, 40))
def test_python_fraction_agrees_on_decimal_and_e_notation(numerator: int, scale: int, exponent: int) -> None:
    # Python's own Fraction() parser is an independent oracle for these two notations.
    for text in (plain(numerator, scale), f"{plain(numerator, scale)}e{exponent}"):
        assert parse_number(text).value == Fraction(text)


@settings(deadline=None)
@given(
    numerator=st.integers(-(10**20), 10**20),
    denominator=st.integers(1, 10**20),
    whole=st.integers(0, 10**6),
)
def test_fractions_and_mixed_numbers(numerator: int, denominator: int, whole: int) -> None:
    assert parse_number(f"{numerator}/{denominator}").value == Fraction(numerator, denominator)
    proper = abs(numerator) % denominator
    assert parse_number(f"{whole} {proper}/{denominator}").value == whole + Fraction(proper, denominator)
    assert parse_number(f"-{whole} {proper}/{denominator}").value == -(whole + Fraction(proper, denominator))


@settings(deadline=None)
@given(number=st.integers(0, 10**12 - 1), short_ten=st.booleans())
def test_chinese_integers(number: int, short_ten: bool) -> None:
    assert parse_number(chinese_integer(number, short_ten=short_ten)).value == number
    digit_by_digit = "".join("〇一二三四五六七八九"[int(digit)] for digit in str(number))
    assert parse_number(digit_by_digit).value == number


@settings(deadline=None)
@given(numerator=st.integers(1, 10**6), denominator=st.integers(1, 10**6))
def test_chinese_fractions_and_percent(numerator: int, denominator: int) -> None:
    text = f"{chinese_integer(denominator)}分之{chinese_integer(numerator)}"
    assert parse_number(text).value == Fraction(numerator, denominator)
    percent = parse_number("百分之" + chinese_integer(numerator))
    assert (percent.value, percent.unit) == (Fraction(numerator), "%")


# Small values so that ties are common.
tie_prone = st.tuples(st.integers(-30, 30), st.integers(0, 2))


@settings(deadline=None)
@given(data=st.data(), pairs=st.lists(tie_prone, min_size=2, max_size=5), ask=st.sampled_from(ASKS))
def test_expected_answer_agrees_with_fraction_ordering(
    data: st.DataObject, pairs: list[tuple[int, int]], ask: str
) -> None:
    unit = data.draw(st.sampled_from(UNITS))
    rendered_pairs = [data.draw(rendered(numerator, scale)) for numerator, scale in pairs]
    numbers = [text + unit for text, _ in rendered_pairs]
    values = [value for _, value in rendered_pairs]
    extreme = max(values) if ask == "larger" else min(values)
    holders = [number for number, value in zip(numbers, values, strict=True) if value == extreme]
    answer = expected_answer(numbers, ask)
    if len(holders) > 1:
        assert answer == "equal"
    else:
        assert answer == holders[0]
        assert answer in numbers


@settings(deadline=None)
@given(data=st.data(), numerator=numerators, scale=places, step=st.integers(1, 10**6))
def test_equality_across_notations(data: st.DataObject, numerator: int, scale: int, step: int) -> None:
    first, _ = data.draw(rendered(numerator, scale))
    second, _ = data.draw(rendered(numerator, scale))
    assert same_value(first, second)
    assert expected_answer([first, second], "larger") == "equal"
    assert expected_answer([first, second], "smaller") == "equal"
    bigger, _ = data.draw(rendered(numerator * 10**6 + step, scale + 6))
    assert not same_value(first, bigger)
    assert expected_answer([first, bigger], "larger") == bigger
    assert expected_answer([bigger, first], "smaller") == first


NUMBERISH = "0123456789.,_ -+−eE×x*^()/%‰²⁻十百千万亿零一二三点分之负两又"


def assert_only_number_error(text: str) -> None:
    message = ""
    try:
        quantity = parse_number(text)
    except NumberError as error:
        message = str(error)
    if message:
        assert message.startswith("not a number: ")
        assert "\n" not in message
    else:
        assert quantity.unit in UNITS
        assert isinstance(quantity.value, Fraction)
    # No clock here: super-linear parsing is caught by the 10,000-character tests above, in CPU time (a wall-clock
    # bound on a short text measured the machine's load: 5.2 s for one call under load 25).


@settings(deadline=None)
@given(text=st.text())
def test_arbitrary_text_raises_only_number_error(text: str) -> None:
    assert_only_number_error(text)


@settings(deadline=None)
@given(text=st.text(alphabet=NUMBERISH, max_size=80))
def test_number_like_text_raises_only_number_error(text: str) -> None:
    assert_only_number_error(text)


@settings(deadline=None)
@given(text=st.text(alphabet=NUMBERISH, max_size=80))
def test_try_parse_matches_parse_number(text: str) -> None:
    quantity = try_parse(text)
    if quantity is None:
        with pytest.raises(NumberError):
            parse_number(text)
    else:
        assert parse_number(text) == quantity


@settings(deadline=None)
@given(
    sign=st.sampled_from(["", "-"]),
    whole=st.one_of(st.just("0"), st.from_regex(r"[1-9][0-9]{0,99}", fullmatch=True)),
    fraction=st.one_of(st.just(""), st.from_regex(r"\.[0-9]{1,100}", fullmatch=True)),
)
def test_the_plain_decimal_shortcut_reads_what_the_general_parser_reads(sign: str, whole: str, fraction: str) -> None:
    from pytest_llmcmp import truth

    text = sign + whole + fraction
    assert truth._PLAIN_DECIMAL.fullmatch(text)
    assert truth._parse(text) == truth._parse_general(text)
    assert parse_number(text).value == Fraction(text)
