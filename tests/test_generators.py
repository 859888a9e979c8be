"""Generators: each category's intent, determinism, a golden snapshot, and request validation."""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from fractions import Fraction

import pytest

from pytest_llmcmp import generators
from pytest_llmcmp.generators import CATEGORIES, GeneratorError, RawCase, generate
from pytest_llmcmp.truth import expected_answer, parse_number

SEEDS = (0, 1, 7, 42, 2024)


def value(text: str) -> Fraction:
    return parse_number(text).value


def fraction_digits(text: str) -> str:
    return text.split(".", 1)[1] if "." in text else ""


def integer_digits(text: str) -> str:
    return text.lstrip("-").split(".", 1)[0]


def check_decimal_trap(numbers: tuple[str, ...]) -> None:
    short, long = sorted(numbers, key=lambda n: len(fraction_digits(n)))
    assert integer_digits(short) == integer_digits(long)
    assert len(fraction_digits(short)) < len(fraction_digits(long))
    assert value(short) > value(long), "the shorter decimal must be the larger"
    assert int(fraction_digits(long)) > int(fraction_digits(short)), "the long digits must look bigger"


def check_trap_control(numbers: tuple[str, ...]) -> None:
    short, long = sorted(numbers, key=lambda n: len(fraction_digits(n)))
    assert integer_digits(short) == integer_digits(long)
    assert len(fraction_digits(short)) < len(fraction_digits(long))
    assert value(long) > value(short), "the longer decimal must be the larger"


def check_shared_prefix(numbers: tuple[str, ...]) -> None:
    first, second = numbers
    assert integer_digits(first) == integer_digits(second)
    assert len(fraction_digits(first)) == len(fraction_digits(second)) >= 2
    assert fraction_digits(first)[0] == fraction_digits(second)[0]
    assert value(first) != value(second)


def check_equal(numbers: tuple[str, ...]) -> None:
    first, second = numbers
    assert first != second
    assert value(first) == value(second)


def check_integer_part(numbers: tuple[str, ...]) -> None:
    low, high = sorted(numbers, key=value)
    assert int(integer_digits(low)) < int(integer_digits(high))
    assert len(fraction_digits(low)) > len(fraction_digits(high)), "the smaller one must carry the longer fraction"


def check_long_integers(numbers: tuple[str, ...]) -> None:
    first, second = numbers
    assert first.isdigit()
    assert second.isdigit()
    assert min(len(first), len(second)) >= 7
    if len(first) == len(second):
        assert first[0] == second[0]
        assert first != second
    else:
        shorter, longer = sorted(numbers, key=len)
        assert len(longer) == len(shorter) + 1
        assert shorter[0] > longer[0], "the shorter one must lead with the bigger digit"


def check_negatives(numbers: tuple[str, ...]) -> None:
    assert all(value(n) < 0 for n in numbers)


def check_mixed_sign(numbers: tuple[str, ...]) -> None:
    assert sorted(value(n) < 0 for n in numbers) == [False, True]


def check_scientific(numbers: tuple[str, ...]) -> None:
    assert any(re.fullmatch(r"\d\.\d+[eE]-?\d+", n) for n in numbers)
    assert value(numbers[0]) != value(numbers[1])


def check_fraction_vs_decimal(numbers: tuple[str, ...]) -> None:
    fractions = [n for n in numbers if "/" in n]
    assert len(fractions) == 1
    assert value(numbers[0]) != value(numbers[1])
    assert abs(value(numbers[0]) - value(numbers[1])) <= Fraction(1, 10)


def check_surface_formats(numbers: tuple[str, ...]) -> None:
    assert any("," in n or "%" in n or re.match(r"0\d", n) for n in numbers)
    assert parse_number(numbers[0]).unit == parse_number(numbers[1]).unit
    assert value(numbers[0]) != value(numbers[1])


def check_chinese_numerals(numbers: tuple[str, ...]) -> None:
    assert any(re.search(r"[\u4e00-\u9fff]", n) for n in numbers)
    assert value(numbers[0]) != value(numbers[1])


def check_multi(numbers: tuple[str, ...]) -> None:
    assert 3 <= len(numbers) <= 5
    assert len({value(n) for n in numbers}) == len(numbers)


INTENTS: dict[str, Callable[[tuple[str, ...]], None]] = {
    "decimal-trap": check_decimal_trap,
    "trap-control": check_trap_control,
    "shared-prefix": check_shared_prefix,
    "equal": check_equal,
    "integer-part": check_integer_part,
    "long-integers": check_long_integers,
    "negatives": check_negatives,
    "mixed-sign": check_mixed_sign,
    "scientific": check_scientific,
    "fraction-vs-decimal": check_fraction_vs_decimal,
    "surface-formats": check_surface_formats,
    "chinese-numerals": check_chinese_numerals,
    "multi": check_multi,
}


def test_every_category_has_an_intent_check() -> None:
    assert set(INTENTS) == set(CATEGORIES)


@pytest.mark.parametrize("category", list(CATEGORIES))
def test_generated_cases_hold_their_category_intent(category: str) -> None:
    for seed in SEEDS:
        for case in generate(category, seed, 40):
            assert case.tags == (category,)
            try:
                INTENTS[category](case.numbers)
            except AssertionError as exc:
                raise AssertionError(f"{case.id} {case.numbers}: {exc}") from None


@pytest.mark.parametrize("category", list(CATEGORIES))
def test_truth_of_each_case_is_computable(category: str) -> None:
    cases = generate(category, 3, 40)
    answers = [expected_answer(case.numbers, case.ask) for case in cases]
    if category == "equal":
        assert set(answers) == {"equal"}
    else:
        assert all(answer in case.numbers for answer, case in zip(answers, cases, strict=True))


@pytest.mark.parametrize("category", list(CATEGORIES))
def test_same_seed_same_cases_and_different_seeds_differ(category: str) -> None:
    assert generate(category, 11, 12) == generate(category, 11, 12)
    assert generate(category, 11, 12)[:5] == generate(category, 11, 5)
    assert [c.numbers for c in generate(category, 11, 12)] != [c.numbers for c in generate(category, 12, 12)]


@pytest.mark.parametrize("category", [c for c in CATEGORIES if c not in ("equal", "multi")])
def test_four_consecutive_cases_cover_both_asks_and_both_orders(category: str) -> None:
    for seed in SEEDS:
        cases = generate(category, seed, 4)
        combos = {(case.ask, case.numbers.index(expected_answer(case.numbers, case.ask))) for case in cases}
        assert combos == {("larger", 0), ("larger", 1), ("smaller", 0), ("smaller", 1)}, cases


@pytest.mark.parametrize("category", ["equal", "multi"])
def test_both_asks_for_equal_and_multi(category: str) -> None:
    assert {case.ask for case in generate(category, 5, 2)} == {"larger", "smaller"}


def test_fixed_ask_is_respected() -> None:
    assert {c.ask for c in generate("decimal-trap", 1, 6, ask="smaller")} == {"smaller"}
    assert {c.ask for c in generate("decimal-trap", 1, 6, ask="larger")} == {"larger"}


def test_ids_are_category_seed_index() -> None:
    cases = generate("negatives", 31, 3)
    assert [c.id for c in cases] == ["negatives-31-1", "negatives-31-2", "negatives-31-3"]


def test_only_random_method_of_random_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    """Python promises only Random(seed).random() is stable across versions; nothing else may be called."""

    real_random = random.Random

    class OnlyRandom:
        def __init__(self, seed: int) -> None:
            self._inner = real_random(seed)

        def random(self) -> float:
            return self._inner.random()

    expected = {name: generate(name, 9, 8) for name in CATEGORIES}
    monkeypatch.setattr(random, "Random", OnlyRandom)  # the module generators draws from
    assert {name: generate(name, 9, 8) for name in CATEGORIES} == expected


# Computed once from the algorithm; a change here means every user's generated suite (and its
# cassettes) changes, which must be a deliberate decision.
GOLDEN = {
    "decimal-trap": [("larger", ("10.16", "10.8")), ("smaller", ("17.144", "17.2"))],
    "trap-control": [("larger", ("10.8", "10.91")), ("smaller", ("444.45", "444.453"))],
    "shared-prefix": [("larger", ("10.701", "10.708")), ("smaller", ("16.72", "16.79"))],
    "equal": [("larger", ("10.0080", "10.008")), ("smaller", ("16.2990", "16.299"))],
    "integer-part": [("larger", ("10.801", "11.2")), ("smaller", ("23.6991", "24"))],
    "long-integers": [
        ("larger", ("6700770473", "6700899005")),
        ("smaller", ("402322242085619", "402681377948636")),
    ],
    "negatives": [("larger", ("-9.2", "-9.102")), ("smaller", ("-16.98", "-16.7"))],
    "mixed-sign": [("larger", ("-10.16", "10.8")), ("smaller", ("-0.471", "0"))],
    "scientific": [("larger", ("7.1e-2", "2.8e-1")), ("smaller", ("4.9e4", "51000"))],
    "fraction-vs-decimal": [("larger", ("6/5", "1.21")), ("smaller", ("0.2", "3/13"))],
    "surface-formats": [("larger", ("0.57%", "0.7%")), ("smaller", ("23,647.1", "23647.172"))],
    "chinese-numerals": [("larger", ("49.102", "四十九点二")), ("smaller", ("76.289", "七十六点三"))],
    "multi": [("larger", ("9.008", "9.901", "9.047")), ("smaller", ("8.3", "9.4", "8.21", "8.62"))],
}


@pytest.mark.parametrize("category", list(GOLDEN))
def test_golden_snapshot(category: str) -> None:
    cases = generate(category, 1, 2)
    assert [(c.ask, c.numbers) for c in cases] == GOLDEN[category]


def test_chinese_integer_spelling_round_trips_through_the_parser() -> None:
    # Every number below 1000 and a spread above it: each zero and unit pattern occurs.
    for number in [*range(1000), *range(1000, 10000, 7)]:
        assert parse_number(generators._zh_integer(number)).value == number


def test_chinese_integer_spelling_reads_naturally() -> None:
    spelled = {n: generators._zh_integer(n) for n in (0, 10, 13, 20, 105, 110, 1005, 1010, 1100, 9999)}
    assert spelled == {
        0: "零",
        10: "十",
        13: "十三",
        20: "二十",
        105: "一百零五",
        110: "一百一十",
        1005: "一千零五",
        1010: "一千零一十",
        1100: "一千一百",
        9999: "九千九百九十九",
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("decimal-trapp", 1, 3), "unknown generator category 'decimal-trapp'; did you mean 'decimal-trap'?"),
        (("decimal-trap", 1, 0), "count 0 is out of range; use an integer from 1 to 1000"),
        (("decimal-trap", 1, 1001), "count 1001 is out of range; use an integer from 1 to 1000"),
        (("decimal-trap", -1, 3), f"seed -1 is out of range; use an integer from 0 to {2**64 - 1}"),
    ],
)
def test_bad_requests(args: tuple[str, int, int], message: str) -> None:
    with pytest.raises(GeneratorError) as info:
        generate(*args)
    assert str(info.value) == message


def test_bad_ask() -> None:
    with pytest.raises(GeneratorError, match="generator ask 'bigger' is not one of larger, smaller, order, both"):
        generate("equal", 1, 1, ask="bigger")


def test_raw_case_is_frozen() -> None:
    case = generate("equal", 1, 1)[0]
    assert isinstance(case, RawCase)
    with pytest.raises(AttributeError):
        case.id = "x"  # type: ignore[misc]
