"""Answer extraction against a hand-labelled table of realistic model answers, plus judge() and fuzzing."""

from __future__ import annotations

import pickle
import re
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

import pytest_llmcmp.lexicon as lexicon_module
from pytest_llmcmp.answers import EQUAL, GRAMMAR, Extraction, explain, extract_choice, judge
from pytest_llmcmp.lexicon import Kind, phrase_kinds

TABLE_PATH = Path(__file__).parent / "data" / "answers.yaml"
TABLE: list[dict[str, Any]] = yaml.safe_load(TABLE_PATH.read_text(encoding="utf-8"))["entries"]

# Every pattern the extractor must handle has at least this many labelled answers.
REQUIRED_TAGS = {
    "zh": 10, "en": 10, "direct": 5, "restated": 5, "reasoning": 5, "wrong-reasoning": 5, "concession": 4,
    "appearance": 2, "negation": 8, "opposite-relation": 6, "ordinal": 5, "symbol": 8, "markdown": 4,
    "latex": 5, "boxed": 3, "think": 4, "same-value": 8, "embedded": 5, "both": 3, "neither": 3,
    "equal": 6, "multi": 10, "hedge": 6, "conflict": 4, "contradiction-flag": 3, "ramble": 8,
    "never-commits": 5, "different-question": 3, "ask-smaller": 20, "percent": 4, "negative": 5,
    "scientific": 4, "chinese-numeral": 5, "final-line": 3, "answer-marker": 6, "larger-is-x": 5,
    "empty": 1, "fullwidth": 2,
}  # fmt: skip
REASONS = {
    "boxed", "answer", "relation", "equal", "final-line", "empty", "hedge", "conflict", "no-verdict", "not-an-option",
    "truncated",
}  # fmt: skip


def _extract(entry: dict[str, Any]) -> Extraction:
    return extract_choice(
        entry["answer"], entry["numbers"], entry["ask"], entry.get("finish_reason"), question=entry.get("question")
    )


def _agrees(entry: dict[str, Any], got: Extraction) -> bool:
    return bool(got.choice == entry["choice"] and got.contradiction == entry.get("contradiction", False))


def test_table_is_well_formed() -> None:
    assert len(TABLE) >= 170
    ids = [entry["id"] for entry in TABLE]
    assert len(set(ids)) == len(ids), "duplicate ids"
    for entry in TABLE:
        name = entry["id"]
        assert set(entry) <= {
            "id",
            "numbers",
            "ask",
            "answer",
            "choice",
            "contradiction",
            "tags",
            "finish_reason",
            "question",
        }, name
        assert entry["ask"] in ("larger", "smaller"), name
        assert all(isinstance(number, str) for number in entry["numbers"]), name
        assert entry["choice"] is None or entry["choice"] in [*entry["numbers"], EQUAL], name


def test_table_covers_every_pattern() -> None:
    counts = Counter(tag for entry in TABLE for tag in entry.get("tags", []))
    missing = {tag: (counts[tag], need) for tag, need in REQUIRED_TAGS.items() if counts[tag] < need}
    assert not missing, f"tags under their minimum (have, need): {missing}"
    assert sum(1 for entry in TABLE if len(entry["numbers"]) > 2) >= 10
    assert sum(1 for entry in TABLE if entry["choice"] is None) >= 30
    assert sum(1 for entry in TABLE if entry.get("contradiction")) >= 5


@pytest.mark.parametrize("entry", TABLE, ids=[entry["id"] for entry in TABLE])
def test_labelled_answer(entry: dict[str, Any]) -> None:
    got = _extract(entry)
    expected = (entry["choice"], entry.get("contradiction", False))
    assert (got.choice, got.contradiction) == expected, f"{entry['answer']!r} -> {got}"
    assert got.reason in REASONS


def test_table_accuracy_is_total() -> None:
    agreeing = sum(_agrees(entry, _extract(entry)) for entry in TABLE)
    accuracy = agreeing / len(TABLE)
    print(f"answer extraction agrees with {agreeing}/{len(TABLE)} labels ({accuracy:.1%})")
    assert accuracy == 1.0


def test_extraction_is_fast() -> None:
    _extract(TABLE[0])  # the lexer's regex is compiled on first use
    started = time.process_time()  # CPU time: other processes on a busy CI box do not count
    rounds = 3
    for _ in range(rounds):
        for entry in TABLE:
            _extract(entry)
    per_answer = (time.process_time() - started) / (rounds * len(TABLE))
    print(f"extract_choice: {per_answer * 1e6:.0f} µs CPU per answer")
    assert per_answer < 0.003  # typically ~200 µs; the bound only catches a blow-up


# Shapes that make naive regexes backtrack or rescan: (a piece, how often it repeats), ~10-50k characters.
ADVERSARIAL = {
    "long-list": ("13.8和13.11和", 2500),
    "unclosed-think": ("<think>", 5000),
    "stray-think-closers": ("</think>", 5000),
    "copula-run": (" is", 5000),
    "negation-run": ("不", 10000),
    "signs": ("-1", 10000),
    "thousands-commas": ("1,", 10000),
    "latex-unclosed": ("\\frac{1}{\\boxed{\\text{", 2500),
    "answer-markers": ("答案是", 5000),
    "chain": ("13.8 > 13.11, ", 2500),
    "mixed": ("13.8比大于13.11 -", 1000),
    "colons": ("答案:", 5000),
    "code-fences": ("```\n", 5000),
    "brackets": ("(13.8 ", 5000),
    "comma-list": ("13.8, ", 5000),
    "relatives": ("13.8, which ", 3000),
    "pronouns": ("13.8 is larger, it ", 2000),
    "table-rows": ("| 13.8 | 13.11 |\n|---|---|\n", 1000),
    "space-runs": ('          "', 3000),
    "yes-no": ("Is 13.8 larger than 13.11? Yes. ", 1000),
    "markers-before-a-word": ("so, ", 5000),
    "corrections": ("wait, ", 5000),
    "question-labels": ("Question: ", 3000),
    "values-denying-options": (" 4.9, not 13.11 (", 2000),
    "also-claims": (" is also larger; 13.11", 2000),
}


def _adversarial(piece: str, repeat: int) -> str:
    return "13.8" + piece * repeat + " larger"


def _seconds(answer: str) -> float:
    started = time.process_time()
    got = extract_choice(answer, ["13.8", "13.11"], "larger")
    assert got.choice in ("13.8", "13.11", EQUAL, None)
    return time.process_time() - started


@pytest.mark.parametrize(("piece", "repeat"), ADVERSARIAL.values(), ids=ADVERSARIAL.keys())
def test_adversarial_answer_stays_linear(piece: str, repeat: int) -> None:
    _seconds(_adversarial(piece, 10))  # warm up: the lexer's regex is compiled on first use
    # Four times the text may take four times as long, not sixteen: a ratio, so a slow machine passes too.
    small = min(_seconds(_adversarial(piece, repeat // 4)) for _ in range(3))
    large = min(_seconds(_adversarial(piece, repeat)) for _ in range(2))
    assert large < 1.5
    assert large < 8 * small + 0.02, f"{small:.3f} s for a quarter, {large:.3f} s for the whole"


# ------------------------------------------------------------------------------------------- judge


def test_judge_unparsed_when_no_choice() -> None:
    assert judge(None, "13.8") == "unparsed"
    assert judge(None, EQUAL) == "unparsed"


def test_judge_correct_and_wrong() -> None:
    assert judge("13.8", "13.8") == "correct"
    assert judge("13.11", "13.8") == "wrong"
    assert judge(EQUAL, EQUAL) == "correct"
    assert judge(EQUAL, "13.8") == "wrong"
    assert judge("13.8", EQUAL) == "wrong"


def test_unknown_ask_is_an_error_not_a_guess() -> None:
    with pytest.raises(ValueError, match="unknown ask 'largest'"):
        extract_choice("13.8 is larger.", ["13.8", "13.11"], "largest")


def test_judge_compares_choices_as_written() -> None:
    # The choice is always an element of numbers as written, so "13.80" is another option than "13.8".
    assert judge("13.80", "13.8") == "wrong"


# -------------------------------------------------------------------------------------- properties

NUMBER_LISTS = [
    ["13.8", "13.11"],
    ["-0.5", "-0.25"],
    ["1.2e-3", "1.1e-2"],
    ["13.8%", "13.11%"],
    ["十三点八", "13.11"],
    ["1,234.5", "999"],
    ["9.9", "9.11", "9.09"],
    ["2.5", "2.50"],
]
# Pieces of answer-like text; hypothesis glues random sequences of them together.
FRAGMENTS = [
    "13.8", "13.11", "-0.5", "0.25", "9.9", "1,234.5", "13.8%", "十三点八", "1.2e-3", "2.50", "比", "大",
    "小", "更大", "大于", "小于", "不", "并不", "没有", "一样大", "相等", "前者", "后者", "第二个",
    "答案是", "所以", "虽然", "但", "可能", "如果", "哪个", "小数部分", ">", "<", "≥", "=", "，", "。",
    "？", "\n", " ", "is", "not", "larger", "smaller", "than", "the former", "equal", "answer:", "so",
    "but", "maybe", "both", "**", "$", "\\boxed{", "}", "<think>", "</think>", "\\(", "\\)", "- ", "1. ",
    "−", "×10^", "⁻²", "％", "１３．８", "(", ")", "（", "）", ":", "：", "which", "这", "it", "```", "```json\n", "|",
    "|---|", "—", " - ", "wait", "不对", "actually", "therefore", "\\boxed{13.8}", "they're", "neither", "...",
]  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(
    answer=st.text(max_size=300),
    numbers=st.sampled_from(NUMBER_LISTS),
    ask=st.sampled_from(["larger", "smaller"]),
)
def test_arbitrary_text_never_raises(answer: str, numbers: list[str], ask: str) -> None:
    got = extract_choice(answer, numbers, ask)
    assert got.choice is None or got.choice in [*numbers, EQUAL]
    assert got.reason in REASONS


@settings(max_examples=200, deadline=None)
@given(
    answer=st.text(max_size=200),
    numbers=st.lists(st.text(max_size=10), max_size=4),
    ask=st.sampled_from(["larger", "smaller"]),
)
def test_arbitrary_numbers_never_raise(answer: str, numbers: list[str], ask: str) -> None:
    got = extract_choice(" ".join([*numbers, answer]), numbers, ask)
    assert got.choice is None or got.choice in [*numbers, EQUAL]  # as written, whitespace included


@settings(max_examples=200, deadline=None)
@given(
    parts=st.lists(st.sampled_from(FRAGMENTS), max_size=40),
    numbers=st.sampled_from(NUMBER_LISTS),
    ask=st.sampled_from(["larger", "smaller"]),
)
def test_answer_shaped_text_never_raises(parts: list[str], numbers: list[str], ask: str) -> None:
    answer = "".join(parts)
    got = extract_choice(answer, numbers, ask)
    assert got.choice is None or got.choice in [*numbers, EQUAL]
    assert got.reason in REASONS
    assert not got.contradiction or got.choice is not None
    assert got.evidence in answer
    assert bool(got.evidence) == (got.choice is not None)
    trace = explain(answer, numbers, ask)
    assert trace.extraction == got
    assert str(trace).startswith("choice" if got.choice is not None else "no choice")


@settings(max_examples=100, deadline=None)
@given(numbers=st.sampled_from([n for n in NUMBER_LISTS if len(n) == 2]))
def test_swapping_the_ask_swaps_a_two_way_choice(numbers: list[str]) -> None:
    first, second = numbers
    answer = f"{first} is larger than {second}."
    larger = extract_choice(answer, numbers, "larger").choice
    smaller = extract_choice(answer, numbers, "smaller").choice
    assert {larger, smaller} == {first, second}


# ------------------------------------------------------------------------------ evidence, explain


@pytest.mark.parametrize("entry", TABLE, ids=[entry["id"] for entry in TABLE])
def test_evidence_is_the_deciding_passage_as_written(entry: dict[str, Any]) -> None:
    got = _extract(entry)
    if got.choice is None:
        assert got.evidence == ""
    else:
        assert got.evidence, "a choice always has its evidence"
        assert entry["answer"].find(got.evidence) >= 0
        assert got.evidence == got.evidence.strip()


def test_evidence_of_a_boxed_answer_includes_its_braces() -> None:
    got = extract_choice("Compare tenths: 9 > 1.\n\nThe final answer is $\\boxed{9.9}$.", ["9.9", "9.11"], "larger")
    assert (got.choice, got.reason) == ("9.9", "boxed")
    assert got.evidence.endswith("\\boxed{9.9}")


def test_extraction_pickles_with_its_evidence() -> None:
    got = extract_choice("**13.8** is larger (0.8 > 0.11).", ["13.8", "13.11"], "larger")
    assert got.evidence == "13.8** is larger"
    assert pickle.loads(pickle.dumps(got)) == got


def test_explain_lists_claims_set_aside_and_the_deciding_one() -> None:
    answer = "13.11 looks bigger, but 13.8 is larger (0.8 > 0.11)."
    trace = explain(answer, ["13.8", "13.11"], "larger")
    assert trace.extraction == extract_choice(answer, ["13.8", "13.11"], "larger")
    assert [(claim.status, claim.why, claim.text) for claim in trace.claims] == [
        ("set aside", "appearance", "13.11 looks bigger"),
        ("deciding", "", "13.8 is larger"),
    ]
    assert trace.deciding is not None
    assert trace.deciding.rule == "x-is-larger"
    assert str(trace).splitlines() == [
        "choice 13.8 (relation), evidence: '13.8 is larger'",
        "  set aside (appearance)  '13.11 looks bigger'  larger: 13.11  [x-is-larger]",
        "  deciding, segment 1     '13.8 is larger'  larger: 13.8  [x-is-larger]",
    ]


def test_explain_shows_why_there_is_no_choice() -> None:
    trace = explain("So the answer is 3.7.\n\n$\\boxed{3.65}$", ["3.7", "3.65"], "larger")
    assert trace.extraction.choice is None
    assert trace.extraction.reason == "conflict"
    assert trace.deciding is None
    assert [(claim.status, claim.says) for claim in trace.claims] == [
        ("conflicting", "answer: 3.7"),
        ("conflicting", "answer: 3.65"),
    ]
    assert str(trace).startswith("no choice (conflict)")


def test_explain_of_an_empty_answer() -> None:
    assert str(explain("", ["1", "2"], "larger")) == "no choice (empty)\n  (no claims)"


def test_every_grammar_rule_has_a_name_and_reads_its_symbols() -> None:
    names = [rule.name for rule in GRAMMAR]
    assert len(set(names)) == len(names)
    assert all(re.fullmatch(r"[a-z]+(?:-[a-z]+)*", name) for name in names)


def test_a_phrase_has_one_kind() -> None:
    kinds = phrase_kinds()
    assert kinds["larger than"] is Kind.GREATER
    assert kinds["更高"] is Kind.LARGER
    duplicated = {"xx": {Kind.LARGER: ("tops",), Kind.GREATER: ("Tops",)}}
    with pytest.raises(ValueError, match="'Tops' is both LARGER and GREATER"):
        lexicon_module.phrase_kinds(duplicated)


def test_adding_words_are_glue_to_the_grammar() -> None:
    # "also", "也" change no claim (the grammar sees through them); they only keep an earlier claim standing
    kinds = phrase_kinds()
    for words in lexicon_module.ADDING.values():
        for word in words:
            assert kinds.get(word) is Kind.GLUE, word


def test_the_documented_explain_examples_are_true() -> None:
    import doctest

    import pytest_llmcmp.answers

    assert doctest.testmod(pytest_llmcmp.answers).failed == 0
