"""The order reader (pytest_llmcmp.orderings): the blind-labelled tuning table, properties over answers composed
from a phrase grammar with known labels, the API's edges, and its cost.

The table is tests/data/orders.yaml (the tuning split; see tests/data/orders/README.md). The sealed split is read
only in totals, to keep its reported floor (no row of it is shown).
"""

from __future__ import annotations

import itertools
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_llmcmp.answers import extract_choice
from pytest_llmcmp.lexicon import PHRASES, Kind
from pytest_llmcmp.orderings import WORDS, OrderReading, read_order
from pytest_llmcmp.truth import try_parse

DATA = Path(__file__).parent / "data"
TABLE: list[dict[str, Any]] = yaml.safe_load((DATA / "orders.yaml").read_text(encoding="utf-8"))


def _label(row: dict[str, Any]) -> tuple[int, ...] | None:
    if row["label"] == "unclear":
        return None
    return tuple(row["numbers"].index(text) for text in row["label"])


def test_the_table_is_what_the_readme_says() -> None:
    sealed = yaml.safe_load((DATA / "orders_sealed.yaml").read_text(encoding="utf-8"))
    blind = [row for row in TABLE if row.get("family") != "hand-written"]
    assert len(blind) == 118
    assert len(sealed) == 64
    assert not {row["id"] for row in TABLE} & {row["id"] for row in sealed}
    for row in TABLE:
        assert row["ask"] == "order"
        assert row["direction"] in ("ascending", "descending")
        if row["label"] != "unclear":
            assert sorted(row["label"]) == sorted(row["numbers"]), row["id"]


@pytest.mark.parametrize("row", TABLE, ids=[row["id"] for row in TABLE])
def test_tuning_table(row: dict[str, Any]) -> None:
    reading = read_order(row["answer"], row["numbers"], row["direction"])
    assert reading.order == _label(row), f"{reading.reason}: {reading.evidence!r}"
    if reading.order is None:
        assert reading.evidence is None
    else:
        assert reading.evidence
        assert reading.evidence in row["answer"]
        assert reading.reason in ("chain", "list", "positions")


def test_sealed_split_keeps_its_floor() -> None:
    """The sealed split, in totals only (no row is shown): agreement at the reported 61 of 64, no false pass."""
    rows = yaml.safe_load((DATA / "orders_sealed.yaml").read_text(encoding="utf-8"))
    agree = false_passes = 0
    for row in rows:
        got = read_order(row["answer"], row["numbers"], row["direction"]).order
        truth = tuple(sorted(range(len(row["numbers"])), key=lambda index: _value(row["numbers"][index])))
        agree += got == _label(row)
        false_passes += got == truth and _label(row) != truth
    assert agree >= 61, f"sealed: {agree}/{len(rows)} agree"
    assert false_passes == 0, f"sealed: {false_passes} false passes"


@pytest.mark.parametrize(
    ("name", "size"),
    [
        # the half of another person's blind set that the reader was tuned on (71/80, no false pass, before; 80/80
        # after), and corpus3's tuning halves: written answers (31/32 before any change for them, 32/32 after) and
        # real SmolLM2 answers (20/20 before, almost all labelled unclear: the reader must not invent an order)
        ("blind-tune", 80),
        ("styles3-tune", 32),
        ("live3-tune", 20),
        # corpus4's tuning half of written orderings (32/32, 0 false passes, measured by the coordinator on arrival)
        ("styles4-tune", 32),
    ],
)
def test_blind_tuning_halves_keep_their_floor(name: str, size: int) -> None:
    """A floor of every row, so a change that loses one of them is seen."""
    rows = yaml.safe_load((DATA / "orders" / f"{name}.yaml").read_text(encoding="utf-8"))
    assert len(rows) == size
    agree, false_passes, missed = _measure(rows)
    assert agree >= size, f"{name}: {agree}/{len(rows)} agree; missed {missed}"
    assert false_passes == 0, f"{name}: {false_passes} false passes"


def test_corpus5_written_orderings_keep_their_floor() -> None:
    """corpus5's tuning half of written orderings: 24/27 with 1 false pass on arrival (main 0f700e7 and this
    session's reader alike), before any change for them; 26/27, no false pass, after (a list whose own direction words
    contradict each other is "mixed"; a value restated in brackets may trail off, "(0.333...)")."""
    rows = yaml.safe_load((DATA / "orders" / "styles5-tune.yaml").read_text(encoding="utf-8"))
    assert len(rows) == 27
    agree, false_passes, missed = _measure(rows)
    assert agree >= 26, f"styles5-tune: {agree}/{len(rows)} agree; missed {missed}"
    assert false_passes == 0, f"styles5-tune: {false_passes} false passes"


def test_corpus6_written_orderings_keep_their_floor() -> None:
    """corpus6's tuning half of written orderings (/work/handout, session 8, copied unchanged): 13/16, no false pass,
    on arrival (this branch and main 3f66313 alike); the misses were decimal-comma options ("1,05") no case file can
    hold, read as points since session 9, and one contradiction (still missed)."""
    rows = yaml.safe_load((DATA / "orders" / "styles6-tune.yaml").read_text(encoding="utf-8"))
    assert len(rows) == 16
    agree, false_passes, missed = _measure(rows)
    # session 9 (judge8, decimal commas read as points): 13/16 -> 15/16
    assert agree >= 15, f"styles6-tune: {agree}/{len(rows)} agree; missed {missed}"
    assert false_passes == 0, f"styles6-tune: {false_passes} false passes"


def test_corpus4_real_orderings_keep_their_floor() -> None:
    """corpus4's tuning half of real SmolLM2 orderings (almost all unclear): 25/26 on arrival, the miss on a
    doubtful label; no false pass."""
    rows = yaml.safe_load((DATA / "orders" / "live4-tune.yaml").read_text(encoding="utf-8"))
    assert len(rows) == 26
    agree, false_passes, missed = _measure(rows)
    assert agree >= 25, f"live4-tune: {agree}/{len(rows)} agree; missed {missed}"
    assert false_passes == 0, f"live4-tune: {false_passes} false passes"


def test_retired_real_orderings_keep_their_floor() -> None:
    """corpus6's 40 real SmolLM2 orderings, sealed in session 8 (37/40 before and after, every miss doubtful) and
    retired to tuning in session 9."""
    rows = yaml.safe_load((DATA / "orders" / "live6-retired.yaml").read_text(encoding="utf-8"))
    assert len(rows) == 40
    agree, false_passes, missed = _measure(rows)
    assert agree >= 37, f"live6-retired: {agree}/{len(rows)} agree; missed {missed}"
    assert false_passes == 0, f"live6-retired: {false_passes} false passes"


@pytest.mark.parametrize(
    ("name", "size", "floor"),
    [("styles7-retired", 40, 37), ("fresh7-retired", 30, 26), ("live7-retired", 40, 39)],
)
def test_retired_corpus7_orderings_keep_their_floor(name: str, size: int, floor: int) -> None:
    """corpus7's orderings, each sealed whole in session 9 (measured before and after, 0 false passes) and retired to
    tuning in session 10."""
    rows = yaml.safe_load((DATA / "orders" / f"{name}.yaml").read_text(encoding="utf-8"))
    assert len(rows) == size
    agree, false_passes, missed = _measure(rows)
    assert agree >= floor, f"{name}: {agree}/{len(rows)} agree; missed {missed}"
    assert false_passes == 0, f"{name}: {false_passes} false passes"


@pytest.mark.parametrize(
    ("name", "size", "floor", "most_false_passes"),
    [
        # the sealed half of another person's blind written set (first measured 71/80, 1 false pass; 73/80 after the
        # tuning on the other half) and 100 real SmolLM2 answers to new order questions (96/100, every miss on a
        # doubtful label, 0 false passes); totals only, no row is shown
        ("blind-sealed", 80, 73, 1),
        ("live-sealed", 100, 96, 0),
        # corpus3's sealed halves, measured once at the end of session 5 (written: 26/28 before and after the tuning
        # on the other half; real SmolLM2: 20/20 before and after)
        ("styles3-sealed", 28, 26, 0),
        ("live3-sealed", 20, 20, 0),
        # corpus4's sealed halves, measured by the coordinator at the end of session 6 (written: 26/28, 1 false pass,
        # before and after the tuning on the other half; real SmolLM2: 24/26 before and after, both misses doubtful)
        ("styles4-sealed", 28, 26, 1),
        ("live4-sealed", 26, 24, 0),
        # corpus5's sealed orderings, measured by the coordinator in session 7 (styles5's half: 21/23 before and after
        # the tuning on the other half; fresh5, a typical written mix: 29/30 before and after)
        ("styles5-sealed", 23, 21, 0),
        ("fresh5-sealed", 30, 29, 0),
        # corpus6's sealed orderings, measured by the coordinator in session 8, on main 3f66313 and after (styles6's
        # half: 24/24 both; fresh6: 29/30 both; live6's 40 real SmolLM2 answers, 37/40 both, every miss doubtful, were
        # retired to tuning in session 9: test_retired_real_orderings_keep_their_floor)
        ("styles6-sealed", 24, 24, 0),
        ("fresh6-sealed", 30, 29, 0),
        # corpus8's orderings, sealed whole, measured by the coordinator in session 10 on main 95c683e and after
        # (styles8: 39/40 both; fresh8: 30/30 both; 0 false passes)
        ("styles8-sealed", 40, 39, 0),
        ("fresh8-sealed", 30, 30, 0),
        # corpus7's orderings, each sealed whole, measured by the coordinator in session 9 on main 5bb820a and after
        # (styles7: 37/40 both; fresh7: 26/30 both; 40 real SmolLM2 answers, live7: 39/40 both; 0 false passes),
        # were retired to tuning in session 10: test_retired_corpus7_orderings_keep_their_floor
    ],
)
def test_sealed_blind_sets_keep_their_floor(name: str, size: int, floor: int, most_false_passes: int) -> None:
    rows = yaml.safe_load((DATA / "orders" / f"{name}.yaml").read_text(encoding="utf-8"))
    assert len(rows) == size
    agree, false_passes, _ = _measure(rows)
    assert agree >= floor, f"{name}: {agree}/{len(rows)} agree"
    assert false_passes <= most_false_passes, f"{name}: {false_passes} false passes"


def _measure(rows: list[dict[str, Any]]) -> tuple[int, int, list[str]]:
    """Agreement with the labels, false passes (the true order read where the label is another or none), the ids
    missed."""
    agree = false_passes = 0
    missed = []
    for row in rows:
        got = read_order(row["answer"], row["numbers"], row["direction"]).order
        values = [_value(number) for number in row["numbers"]]
        known = all(value is not None for value in values)  # (decimal commas, "1,05": no case file holds them)
        distinct = known and len(set(values)) == len(values)
        truth = tuple(sorted(range(len(values)), key=lambda index: values[index] or 0)) if distinct else None
        agree += got == _label(row)
        false_passes += got is not None and got == truth and _label(row) != truth
        if got != _label(row):
            missed.append(row["id"])
    return agree, false_passes, missed


def _value(text: str) -> Fraction | None:
    quantity = try_parse(text)
    return None if quantity is None else quantity.value


# -------------------------------------------------------------------------------------------- the API


def test_unknown_direction_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unknown direction 'up'"):
        read_order("4.04 < 4.4", ["4.4", "4.04"], "up")  # type: ignore[arg-type]


@pytest.mark.parametrize("answer", ["", "   ", "\n\n"])
def test_empty_answer(answer: str) -> None:
    assert read_order(answer, ["4.4", "4.04", "4.14"], "ascending") == OrderReading(None, None, "empty")


def test_reading_is_frozen() -> None:
    reading = read_order("4.04 < 4.14 < 4.4", ["4.4", "4.04", "4.14"], "ascending")
    assert reading == OrderReading((1, 2, 0), "4.04 < 4.14 < 4.4", "chain")
    with pytest.raises(AttributeError):
        reading.order = None  # type: ignore[misc]


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ("从小到大：4.04、4.4", "incomplete"),
        ("From smallest to largest: 4.04, 4.14, 4.14, 4.4.", "repeat"),
        ("The order is 4.04, 4.1, 4.4.", "not an option"),
        ("Answer: 4.04, 4.14, 4.4. So the answer is 4.4, 4.04, 4.14.", "contradiction"),
        ("4.04 < 4.14 < 4.4, I think, but I'm not sure.", "hedge"),
        ("<think>4.04 < 4.14 < 4.4 so far", "truncated"),
        ("I cannot sort these.", "no ordering"),
        ("4.04 < 4.4 > 4.14", "mixed"),
        ("Since 4.4 = 4.14, the order is 4.04 < 4.14 = 4.4.", "tie"),
        ("4.04 < 4.14 < 4.4. So the final answer is", "truncated"),
    ],
)
def test_reasons_when_there_is_no_order(answer: str, reason: str) -> None:
    assert read_order(answer, ["4.4", "4.04", "4.14"], "ascending") == OrderReading(None, None, reason)


def test_every_ordering_phrase_of_the_lexicon_has_a_direction() -> None:
    directed = {
        phrase for table in WORDS.values() for kind in ("ascending", "descending") for phrase in table.get(kind, ())
    }
    for table in PHRASES.values():
        for phrase in table.get(Kind.ORDERING, ()):
            assert phrase in directed, phrase
            assert read_order(f"{phrase}: 4.4, 4.14, 4.04", ["4.4", "4.04", "4.14"], "ascending").order in (
                (0, 2, 1),
                (1, 2, 0),
            )


def test_option_written_in_another_form_is_the_option() -> None:
    numbers = ["4.4", "十三点八", "3/4", "1.2e3", "-0.5", "45%"]
    answer = "-0.5 < 0.75 < 四点四 < 13.80 < 45% < 1200"
    assert read_order(answer, numbers, "descending").order == (4, 2, 0, 1, 5, 3)


# Forms and traps written after the table, one rule each (the table's rows are not repeated here).
ASCENDING_IS = (1, 2, 0)  # of NUMBERS: 4.04, 4.14, 4.4
FORMS = {
    "then-finally": ("4.04 comes first, then 4.14, and finally 4.4.", ASCENDING_IS),
    "subject-list": ("So 4.4, 4.04, 4.14 sorted from smallest to largest is 4.04, 4.14, 4.4.", ASCENDING_IS),
    "subject-list-zh": ("4.4、4.04、4.14从小到大排列为：4.04＜4.14＜4.4", ASCENDING_IS),
    "or-marked": ("The order is 4.04, 4.14, 4.4 or 4.04, 4.4, 4.14.", None),
    "or-bare": ("4.04, 4.14, 4.4 or 4.04, 4.4, 4.14", None),
    "may-look": ("From smallest to largest: 4.04, 4.14, 4.4.\n\nNote: 4.14 may look bigger.", ASCENDING_IS),
    "approximately-zh": ("2/3大约是0.667。从小到大：4.04、4.14、4.4", ASCENDING_IS),
    "sorting-gives": ("Sorting 4.4, 4.04, 4.14 from smallest to largest gives 4.04, 4.14, 4.4.", ASCENDING_IS),
    "asked-then-answered": ("Is 4.4 < 4.04 < 4.14? No. The right order is 4.04 < 4.14 < 4.4.", ASCENDING_IS),
    "and-shared-operand": ("4.04 is smaller than 4.14 and 4.14 is smaller than 4.4.", ASCENDING_IS),
    "which-is-bigger": ("4.4 is bigger than 4.14, which is bigger than 4.04", ASCENDING_IS),
    "brackets": ("Answer: [4.04, 4.14, 4.4]", ASCENDING_IS),
    "json-list": ('{"order": [4.04, 4.14, 4.4]}', ASCENDING_IS),
    "ascending-zh": ("升序排列：4.04，4.14，4.4", ASCENDING_IS),
    "descending-zh": ("降序：4.4，4.14，4.04", ASCENDING_IS),
    "smallest-followed-by": ("The smallest is 4.04, followed by 4.14, then 4.4.", ASCENDING_IS),
    "called-wrong": ("4.04 < 4.14 < 4.4 is wrong; the correct order is 4.04 < 4.4 < 4.14.", (1, 0, 2)),
    "hmm-no-actually": ("Hmm, 4.4 < 4.04 < 4.14. Hmm no, actually 4.04 < 4.14 < 4.4.", ASCENDING_IS),
    "both-directions": ("In ascending order: 4.04, 4.14, 4.4. In descending order: 4.4, 4.14, 4.04.", ASCENDING_IS),
    "bare-lines": ("4.04\n4.14\n4.4", ASCENDING_IS),
    "dash-bullets": ("- 4.04\n- 4.14\n- 4.4", ASCENDING_IS),
    "paren-numbers": ("1) 4.04\n2) 4.14\n3) 4.4", ASCENDING_IS),
    "inline-numbers": ("(1) 4.04 (2) 4.14 (3) 4.4", ASCENDING_IS),
    "circled-numbers": ("① 4.04 ② 4.14 ③ 4.4", ASCENDING_IS),
    "at-most": ("4.04 ≤ 4.14 ≤ 4.4", ASCENDING_IS),
    "arrows": ("4.04 -> 4.14 -> 4.4", ASCENDING_IS),
    "first-then-last-zh": ("首先是4.04，然后是4.14，最后是4.4。", ASCENDING_IS),
    "trailing-zero": ("排序后：4.04 < 4.14 < 4.40", ASCENDING_IS),
    "direction-after": ("4.4 > 4.14 > 4.04 (from largest to smallest)", ASCENDING_IS),
    "descending-list-after": ("答案：4.4、4.14、4.04（从大到小）", ASCENDING_IS),
    "respectively": ("The sorted numbers are 4.04, 4.14, 4.4, respectively.", ASCENDING_IS),
    "lets-sort": ("Let's sort them: 4.04 < 4.14 < 4.4.", ASCENDING_IS),
    "guess": ("My guess: 4.04, 4.14, 4.4.", None),
    "guess-zh": ("我猜从小到大是4.04、4.14、4.4。", None),
    "only-restated": ("We need to sort 4.4, 4.04, 4.14.", None),
    "only-the-numbers": ("The numbers are 4.4, 4.04, 4.14.", None),
    "here-are-the-numbers": ("Here are the numbers: 4.4, 4.04, 4.14. Let me compare", None),
    "here-are-them-sorted": ("Here are the numbers sorted from smallest to largest: 4.04, 4.14, 4.4", ASCENDING_IS),
    "here-in-order": ("Here are the numbers in order: 4.04, 4.14, 4.4", ASCENDING_IS),
    "given-then-order": ("Given 4.4, 4.04, 4.14, the order is 4.04, 4.14, 4.4.", ASCENDING_IS),
    "partial-working": ("First, 4.04 < 4.4. So the order is 4.04 < 4.14 < 4.4.", ASCENDING_IS),
    "finally-after": ("The order is 4.04, 4.14, 4.4. Finally, 4.4 is the largest.", ASCENDING_IS),
    "vertical-with-places": ("Sorted:\n1. 4.04 - the smallest\n2. 4.14\n3. 4.4 - the largest", ASCENDING_IS),
    "arrow-direction": ("smallest → largest: 4.04, 4.14, 4.4", ASCENDING_IS),
    "reverse-order": ("In reverse order: 4.4, 4.14, 4.04", ASCENDING_IS),
    "and-zh": ("4.4 > 4.14 且 4.14 > 4.04", ASCENDING_IS),
    "then-zh-positions": ("最小的是4.04，然后是4.14，最大的是4.4", ASCENDING_IS),
    "explanation-after": (
        "Sorted: 4.04, 4.14, 4.4.\n\nWhy:\n- 4.4: tenths 4\n- 4.04: tenths 0\n- 4.14: tenths 1",
        ASCENDING_IS,
    ),
}


@pytest.mark.parametrize(("answer", "order"), FORMS.values(), ids=FORMS.keys())
def test_forms(answer: str, order: tuple[int, ...] | None) -> None:
    assert read_order(answer, ["4.4", "4.04", "4.14"], "ascending").order == order


# When the question's numbers are already in order, a restatement of them read as an answer would pass.
RESTATEMENTS = [
    "Sort from smallest to largest: 4.04, 4.14, 4.4\n\nSort from smallest to largest: 4.04, 4.14, 4.4\n\nSort",
    "把下列数从小到大排列：4.04, 4.14, 4.4\n首先比较整数部分",
    "The numbers 4.04, 4.14 and 4.4 have the same integer part. Comparing the tenths",
    "We are given 4.04, 4.14, 4.4. First compare",
    "给定的数是4.04、4.14、4.4，我们先看十分位",
    "Let's look at 4.04, 4.14, and 4.4. The tenths digits are 0, 1 and 4",
    "To sort 4.04, 4.14, 4.4, compare the tenths digits",
    "这三个数4.04、4.14、4.4的整数部分都是4",
    "Comparing 4.04, 4.14 and 4.4:",
    "4.04, 4.14, 4.4 are all close to 4.",
]


@pytest.mark.parametrize("answer", RESTATEMENTS)
def test_restating_a_sorted_question_is_no_answer(answer: str) -> None:
    assert read_order(answer, ["4.04", "4.14", "4.4"], "ascending").order is None
    assert read_order(answer + "\n\nSo the order is 4.04 < 4.14 < 4.4.", ["4.04", "4.14", "4.4"], "ascending").order


# ------------------------------------------------------------------------------------------- properties
# Answers composed from a small phrase grammar: the stated ordering (a permutation of the options), how it is
# stated (chain, list with or without its own direction, vertical list, positions), in which language and
# forms, with asides before and after, and traps whose label is known by construction.

SETS = [
    ["4.4", "4.04", "4.14"],
    ["13.8", "13.11", "13.08", "13.1"],
    ["十三点八", "十三点一一", "十三点零八"],
    ["3/4", "2/3", "5/8"],
    ["1.2e3", "9.8e2", "1.05e3", "1.15e3"],
    ["-0.5", "-0.25", "0.3", "-1.5", "0"],
    ["45%", "4.5%", "54%"],
]
# Another way to write an option, by value (what a model writes for "4.4" or "3/4").
OTHER_FORMS = {"4.4": "4.40", "13.8": "13.80", "3/4": "0.75", "1.2e3": "1200", "十三点八": "13.8", "0.3": "0.30"}
ZH_ASC, ZH_DESC = "从小到大排列为：", "从大到小排列为："
EN_ASC, EN_DESC = "From smallest to largest: ", "In descending order: "
LEAD_INS = ["", "Let me compare the decimal parts first.\n\n", "先比较整数部分，再比较小数部分。\n", "Okay!\n"]
CODAS = ["", "\n\nHope this helps!", "\n\n希望对你有帮助。", "\nThis is because we compare digit by digit."]


def _write(numbers: list[str], index: int, other_form: bool) -> str:
    text = numbers[index]
    return OTHER_FORMS.get(text, text) if other_form else text


@st.composite
def stated(draw: st.DrawFn, numbers: list[str], order: tuple[int, ...], asked: str) -> str:
    """One statement of ``order`` (indices, smallest first), in one of the grammar's forms."""
    forms = [draw(st.booleans()) for _ in numbers]
    written = [_write(numbers, index, forms[index]) for index in order]
    zh = draw(st.booleans())
    form = draw(st.sampled_from(["chain-up", "chain-down", "list-own", "list-asked", "vertical", "boxed", "than"]))
    if form == "chain-up":
        symbol = draw(st.sampled_from([" < ", "＜", " is less than ", "小于"]))
        return symbol.join(written)
    if form == "chain-down":
        symbol = draw(st.sampled_from([" > ", "＞", " is greater than ", "大于"]))
        return symbol.join(reversed(written))
    if form == "than":
        links = [f"{a}比{b}小" for a, b in itertools.pairwise(written)]
        return "，".join(links)
    down = draw(st.booleans())
    items = list(reversed(written)) if down else written
    if form == "list-asked":  # no direction of its own: read in the question's
        items = written if asked == "ascending" else list(reversed(written))
        head = draw(st.sampled_from(["排列结果：", "The sorted list is ", "答案：", "Answer: "]))
        return head + ("、" if zh else ", ").join(items)
    head = (ZH_DESC if down else ZH_ASC) if zh else (EN_DESC if down else EN_ASC)
    if form == "vertical":
        return head.rstrip() + "\n\n" + "\n".join(f"{n}. {item}" for n, item in enumerate(items, 1))
    body = ("、" if zh else ", ").join(items)
    if form == "boxed":
        return head + "$\\boxed{" + body + "}$"
    return head + (f"**{body}**" if draw(st.booleans()) else body)


@st.composite
def answers(draw: st.DrawFn) -> tuple[str, list[str], str, tuple[int, ...] | None]:
    """(answer, numbers, direction, label): a statement among lead-ins and codas, or a trap."""
    numbers = draw(st.sampled_from(SETS))
    asked = draw(st.sampled_from(["ascending", "descending"]))
    order = tuple(draw(st.permutations(range(len(numbers)))))
    other = tuple(draw(st.permutations(range(len(numbers))).filter(lambda perm: tuple(perm) != order)))
    lead, coda = draw(st.sampled_from(LEAD_INS)), draw(st.sampled_from(CODAS))
    if draw(st.booleans()):  # restating the question first changes nothing
        question = draw(st.sampled_from(["Sort from smallest to largest: {}\n\n", "把下列数从大到小排列：{}\n"]))
        lead = question.format(", ".join(numbers)) + lead
    trap = draw(st.sampled_from(["none", "corrected", "two-finals", "partial", "hedged", "not-an-option"]))
    final = draw(stated(numbers, order, asked))
    if trap == "none":
        return lead + final + coda, numbers, asked, order
    if trap == "corrected":
        wrong = draw(stated(numbers, other, asked))
        marker = draw(st.sampled_from(["\n\nWait, that's wrong. ", "。不对，", ". No wait, ", "\n\n等等，我搞错了。"]))
        return lead + wrong + marker + final + coda, numbers, asked, order
    if trap == "two-finals":
        first = draw(stated(numbers, other, asked))
        return lead + "答案：" + first + "\n\nSo the final answer is " + final + coda, numbers, asked, None
    if trap == "partial":
        head = draw(st.sampled_from([ZH_ASC, EN_ASC]))
        shown = [_write(numbers, index, False) for index in order[:-1]]
        return lead + head + ", ".join(shown) + coda, numbers, asked, None
    if trap == "hedged":
        hedge = draw(st.sampled_from([" But I'm not sure.", "，不过我不太确定。", " Maybe.", "（可能）"]))
        return lead + final + hedge, numbers, asked, None
    shown = [_write(numbers, index, False) for index in order]
    shown[draw(st.integers(0, len(shown) - 1))] = "7.77"
    head = draw(st.sampled_from([ZH_ASC, EN_ASC, "The order is "]))
    return lead + head + ", ".join(shown) + coda, numbers, asked, None


@settings(max_examples=400, deadline=None)
@given(answers())
def test_composed_answers(case: tuple[str, list[str], str, tuple[int, ...] | None]) -> None:
    answer, numbers, asked, label = case
    reading = read_order(answer, numbers, asked)  # type: ignore[arg-type]
    assert reading.order == label, f"{reading.reason}: {reading.evidence!r}"
    if reading.evidence is not None:
        assert reading.evidence in answer


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="4.01< >,、，\n从小到大：*$\\{}()-", max_size=120))
def test_never_raises_and_any_order_is_a_permutation(answer: str) -> None:
    numbers = ["4.4", "4.04", "4.14", "4.1", "0"]
    reading = read_order(answer, numbers, "ascending")
    if reading.order is not None:
        assert sorted(reading.order) == list(range(len(numbers)))
        assert reading.evidence is not None
        assert reading.evidence in answer


# ------------------------------------------------------------------------------------------------- cost

NUMBERS = ["4.4", "4.04", "4.14"]
TYPICAL = "我们逐位比较：整数部分都是4；十分位分别是4、0、1。\n\n所以从小到大排列为：**4.04 < 4.14 < 4.4**"
ADVERSARIAL = {
    "long-list": "4.04, ",
    "long-chain": "4.04 < ",
    "unclosed-think": "<think>",
    "brackets": "(4.04 ",
    "statements": "4.04 < 4.14 < 4.4. ",
    "corrections": "4.4 < 4.14 < 4.04. Wait, ",
    "positions": "4.04最小，",
    "vertical": "4.04\n",
    "colons": "答案：\n",
    "table-rows": "| 1 | 4.04 |\n",
    "glue-run": " is the smallest is",
    "colon-lines": ":\n",
    "hedges": " maybe 4.04 < 4.14 < 4.4,",
}


def _seconds(function: Any, answer: str, repeat: int = 1) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        function(answer)
        best = min(best, time.process_time() - started)
    return best


@pytest.mark.parametrize("piece", ADVERSARIAL.values(), ids=ADVERSARIAL.keys())
def test_adversarial_answer_stays_linear(piece: str) -> None:
    def reader(answer: str) -> OrderReading:
        return read_order(answer, NUMBERS, "ascending")

    def judge(answer: str) -> object:
        return extract_choice(answer, NUMBERS, "larger")

    whole = "4.04" + piece * 2000 + " 4.4"
    quarter = "4.04" + piece * 500 + " 4.4"
    reader(quarter)  # warm up: the lexer's regex is compiled on first use
    small = _seconds(reader, quarter, 3)
    large = _seconds(reader, whole, 2)
    # Four times the text may take four times as long, not sixteen; and no more than a few times what the
    # answer judge (linear, tested the same way) takes on the same text: ratios, so a slow machine passes too.
    assert large < 8 * small + 0.02, f"{small:.3f} s for a quarter, {large:.3f} s for the whole"
    baseline = _seconds(judge, whole, 2)
    assert large < 4 * baseline + 0.02, f"{large:.3f} s, the judge {baseline:.3f} s"


def test_typical_answer_costs_about_what_the_judge_costs() -> None:
    rounds = 200
    read_order(TYPICAL, NUMBERS, "ascending")
    extract_choice(TYPICAL, NUMBERS, "smaller")
    reader = _seconds(lambda text: [read_order(text, NUMBERS, "ascending") for _ in range(rounds)], TYPICAL, 3)
    judge = _seconds(lambda text: [extract_choice(text, NUMBERS, "smaller") for _ in range(rounds)], TYPICAL, 3)
    print(f"read_order: {reader / rounds * 1e6:.0f} µs per answer, extract_choice {judge / rounds * 1e6:.0f} µs")
    assert reader < 2 * judge


# ------------------------------------------------------------------------------------------ the bench

BENCH = Path(__file__).parent.parent / "bench" / "order_agreement.py"


def test_bench_reports_agreement_and_false_passes_per_file(tmp_path: Path) -> None:
    rows = [
        {"id": "right", "numbers": ["4.4", "4.04", "4.14"], "ask": "order", "direction": "ascending",
         "question": "Sort from smallest to largest: 4.4, 4.04, 4.14", "answer": "4.04 < 4.14 < 4.4",
         "label": ["4.04", "4.14", "4.4"]},
        {"id": "unclear-read-as-right", "numbers": ["4.4", "4.04", "4.14"], "ask": "order",
         "direction": "descending", "question": "Sort from largest to smallest: 4.4, 4.04, 4.14",
         "answer": "4.4 > 4.14 > 4.04", "label": "unclear", "doubtful": True, "note": "labelled wrongly on purpose"},
        {"id": "unclear", "numbers": ["4.4", "4.04", "4.14"], "ask": "order", "direction": "ascending",
         "question": "Sort from smallest to largest: 4.4, 4.04, 4.14", "answer": "I don't know.", "label": "unclear"},
    ]  # fmt: skip
    path = tmp_path / "blind.yaml"
    path.write_text(yaml.safe_dump(rows, allow_unicode=True), encoding="utf-8")
    done = subprocess.run([sys.executable, str(BENCH), str(path), "--show"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    line = done.stdout.splitlines()[0]
    assert "agreement 2/3 (66.7%)" in line
    assert "without doubtful 2/2 (100.0%)" in line
    assert "false passes 1" in line
    assert "unclear-read-as-right: label unclear, read [4.04, 4.14, 4.4] (chain" in done.stdout
    sealed = tmp_path / "blind_sealed.yaml"
    sealed.write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    done = subprocess.run([sys.executable, str(BENCH), str(sealed), "--show"], capture_output=True, text=True)
    assert "unclear-read-as-right" not in done.stdout  # a sealed file: totals only


def test_bench_says_in_one_line_what_it_cannot_read(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("- id: x\n  answer: [unclosed\n", encoding="utf-8")
    done = subprocess.run([sys.executable, str(BENCH), str(path)], capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.startswith(f"{path}:3: cannot read:")
    assert len(done.stderr.splitlines()) == 1
    path.write_text("- id: x\n  answer: hello\n", encoding="utf-8")
    done = subprocess.run([sys.executable, str(BENCH), str(path)], capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr == f"{path}: cannot read: missing field 'numbers'\n"
