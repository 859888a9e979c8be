"""Property tests of the answer judge: answers composed from a phrase grammar, with a known label.

Each answer is built from a claim form (zh or en) that states which of two options is the larger,
mentioned in any of its written forms (13.8, 13.80, 十三点八), combined with negation, word order,
restatement, bracketed asides, neutral preambles, corrections and hedges. The label follows from
the composition, so hypothesis can explore combinations nobody wrote into the table.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_llmcmp.answers import EQUAL, explain, extract_choice

# Two options as a case writes them (larger first), each with other ways an answer may write it.
PAIRS: list[tuple[tuple[str, tuple[str, ...]], tuple[str, tuple[str, ...]]]] = [
    (("13.8", ("13.8", "13.80", "十三点八")), ("13.11", ("13.11", "十三点一一"))),
    (("9.9", ("9.9", "9.90", "九点九")), ("9.11", ("9.11",))),
    (("2.5", ("2.5", "2.50", "二点五")), ("2.45", ("2.45", "二点四五"))),
    (("-0.25", ("-0.25",)), ("-0.5", ("-0.5", "-0.50", "负零点五"))),
    (("0.7", ("0.7", "0.70")), ("0.65", ("0.65",))),
    (("13.8%", ("13.8%", "13.80%")), ("13.11%", ("13.11%",))),
]

# Claim forms: "{w}" is the option the claim says is larger, "{l}" the other. Each states exactly
# that, whatever its grammar: subject first or last, the larger or the smaller word, negated or not.
CLAIMS: dict[str, list[str]] = {
    "en": [
        "{w} is larger than {l}",
        "{w} is greater than {l}",
        "{w} is bigger",
        "{w} is the larger one",
        "{w} is the larger number",
        "The larger number is {w}",
        "The larger of {w} and {l} is {w}",
        "{l} is smaller than {w}",
        "{l} is the smaller one",
        "The smaller one is {l}",
        "{l} is not larger than {w}",
        "{l} is not as large as {w}",
        "{w} exceeds {l}",
        "{w} beats {l}",
        "{l} falls below {w}",
        "{w} is 0.69 larger than {l}",
        "{w} is about 5% larger than {l}",
        "{w} > {l}",
        "{l} < {w}",
        "{l} is no larger than {w}",
        "{w} is worth more than {l}",
        "{l} is less",
        "{w} is larger compared to {l}",
        "{l} is smaller compared with {w}",
        "Compared to {l}, {w} is larger",
        "{w} is 1.5 times {l}",
        "{w} is two times {l}",
        "{w} is 1.05 times larger than {l}",
    ],
    "zh": [
        "{w}比{l}大",
        "{w}更大",
        "{w}较大",
        "{w}大于{l}",
        "较大的是{w}",
        "更大的数是{w}",
        "{l}比{w}小",
        "{l}更小",
        "较小的是{l}",
        "{l}小于{w}",
        "{l}没有{w}大",
        "{l}并不比{w}大",
        "{w}的数值更高",
        "{w}比{l}高",
        "{w}比{l}大0.69",
        "{w}大过{l}",
        "{l}不比{w}大",
        "{w}是{l}的1.5倍",
        "{w}是{l}的两倍",
    ],
}
ASKS = ("larger", "smaller")
PREAMBLES = {
    "en": ["", "Let's compare the two numbers. ", "Which is larger, {a} or {b}? ", "Both have the same integer part. "],
    "zh": ["", "我们来比较这两个数。", "{a}和{b}哪个大？", "两个数的整数部分相同。"],
}
ASIDES = {
    "en": ["", " (it has the bigger tenths digit)", " (compare the tenths: 8 vs 1)", " — the other only looks bigger"],
    "zh": ["", "（十分位更大）", "（比较十分位）", "——另一个只是看起来更大"],
}
END = {"en": ".", "zh": "。"}
CORRECTIONS = {
    "en": ["... wait, ", ". Apologies for the confusion. ", ". I apologize, "],
    "zh": ["……不对，", "。抱歉，"],
}
CONCLUSIONS = {"en": " So ", "zh": "所以"}
HEDGES = {"en": " But I'm not sure.", "zh": "不过我不太确定。"}
# A justification after the verdict, whatever it claims, is reasoning: the verdict stands (corpus rule 6)
JUSTIFICATIONS = {"en": [" because ", ". This is because "], "zh": ["，因为", "。这是因为"]}
# A yes/no question about a claim, and the reply that makes the answer say "{w} is larger".
ASKED = {
    "en": [
        ("Is {w} larger than {l}?", "Yes."),
        ("Is {w} greater than {l}?", "Yes, it is."),
        ("Is {l} larger than {w}?", "No."),
        ("Is {l} bigger than {w}?", "No, it is not."),
        ("Is {l} the larger one?", "No."),
        ("Is {w} larger or smaller than {l}?", "Larger."),
        ("Is {l} bigger or smaller than {w}?", "Smaller."),
        ("Is {l} greater or less than {w}?", "It's less."),
        ("Is {w} larger than {l}?", "Yes, {w} is larger."),
        ("Is {l} larger than {w}?", "No, {l} is not larger."),
    ],
    "zh": [
        ("{w}比{l}大吗？", "是的。"),
        ("{w}是否大于{l}？", "是的。"),
        ("{l}比{w}大吗？", "不是。"),
        ("{l}是不是比{w}大？", "不是。"),
        ("{l}更大吗？", "不是。"),
        ("{w}比{l}大还是小？", "更大。"),
        ("{l}比{w}大还是小？", "更小。"),
        ("{w}比{l}大吗？", "是的，{w}更大。"),
        ("{l}比{w}大吗？", "不是，{l}更小。"),
    ],
}


# Units an answer may write on every number ("13.8 kg", "13.8/kg", "13.8元/斤"): they change no claim.
UNITS = {"en": ["", " kg", "/kg", " kg/m", " g/cm3", " s"], "zh": ["", "元", "元/斤", "米/秒", " kg"]}


@dataclass(frozen=True)
class Composed:
    answer: str
    numbers: list[str]
    ask: str
    label: str | None
    contradiction: bool
    question: str | None = None  # the case's question, when the answer is only a reply to it


def _claim(draw: st.DrawFn, language: str, winner: tuple[str, ...], loser: tuple[str, ...]) -> str:
    form = draw(st.sampled_from(CLAIMS[language]))
    return form.format(w=draw(st.sampled_from(winner)), l=draw(st.sampled_from(loser)))


@st.composite
def composed_answers(draw: st.DrawFn) -> Composed:
    (big, big_forms), (small, small_forms) = draw(st.sampled_from(PAIRS))
    numbers = draw(st.permutations([big, small]))
    ask = draw(st.sampled_from(ASKS))
    language = draw(st.sampled_from(["en", "zh"]))
    says_big = draw(st.booleans())  # the (final) claim is true or false: the label is what it says
    if "%" not in big:
        unit = draw(st.sampled_from(UNITS[language]))
        big_forms, small_forms = tuple(f + unit for f in big_forms), tuple(f + unit for f in small_forms)
    winner, loser = (big_forms, small_forms) if says_big else (small_forms, big_forms)
    said_larger = big if says_big else small
    said_smaller = small if says_big else big
    label: str | None = said_larger if ask == "larger" else said_smaller

    preamble = draw(st.sampled_from(PREAMBLES[language])).format(a=numbers[0], b=numbers[1])
    claim = _claim(draw, language, winner, loser) + draw(st.sampled_from(ASIDES[language])) + END[language]
    shapes = ["plain", "restated", "concluded", "corrected", "hedged", "asked", "replied", "justified"]
    shape = draw(st.sampled_from(shapes))
    contradiction = False
    if shape == "restated":  # the same claim in other words
        claim += " " + _claim(draw, language, winner, loser) + END[language]
    elif shape == "concluded":  # reasoning that agrees, then the conclusion
        claim = _claim(draw, language, winner, loser) + END[language] + CONCLUSIONS[language] + claim
    elif shape == "corrected":  # the opposite first, withdrawn by a correction
        wrong = _claim(draw, language, loser, winner)
        claim = wrong + draw(st.sampled_from(CORRECTIONS[language])) + claim
        contradiction = True
    elif shape == "justified":  # the verdict, then a reason that agrees or contradicts it
        reason = _claim(draw, language, *draw(st.permutations([winner, loser])))
        claim = _claim(draw, language, winner, loser) + draw(st.sampled_from(JUSTIFICATIONS[language])) + reason
        claim += END[language]
    elif shape == "hedged":
        claim += HEDGES[language]
        label = None
    elif shape == "asked":  # the claim as a yes/no question and its reply
        question, reply = draw(st.sampled_from(ASKED[language]))
        said = {"w": draw(st.sampled_from(winner)), "l": draw(st.sampled_from(loser))}
        claim = question.format(**said) + " " + reply.format(**said)
    elif shape == "replied":  # the claim as the case's yes/no question, the answer only its reply
        question, reply = draw(st.sampled_from(ASKED[language]))
        said = {"w": draw(st.sampled_from(winner)), "l": draw(st.sampled_from(loser))}
        return Composed(reply.format(**said), list(numbers), ask, label, False, question.format(**said))
    return Composed(preamble + claim, list(numbers), ask, label, contradiction)


@settings(max_examples=400, deadline=None)
@given(composed=composed_answers())
def test_composed_answer_is_read_as_labelled(composed: Composed) -> None:
    got = extract_choice(composed.answer, composed.numbers, composed.ask, question=composed.question)
    trace = explain(composed.answer, composed.numbers, composed.ask, question=composed.question)
    assert got.choice == composed.label, f"{composed.question!r}\n{trace}"
    assert trace.extraction == got
    if got.choice is not None:
        assert got.contradiction == composed.contradiction, str(trace)
        assert got.evidence
        assert got.evidence in composed.answer
    else:
        assert got.evidence == ""


EQUAL_FORMS = {
    "en": ["{a} and {b} are equal", "{a} and {b} are the same", "They're equal", "Neither is larger", "{a} = {b}"],
    "zh": ["{a}和{b}相等", "两者相等", "{a}和{b}大小相同", "它们完全相同", "{a}等于{b}"],
}
LOOSE_FORMS = {
    "en": ["{a} and {b} are almost the same", "{a} and {b} have the same magnitude", "They are nearly equal"],
    "zh": ["{a}和{b}几乎一样大", "两者差不多大", "{a}和{b}接近"],
}
SAME_VALUES = [("2.5", ("2.5", "2.50")), ("9.90", ("9.9", "9.90")), ("0.7", ("0.7", "0.70", "0.700"))]


@settings(max_examples=200, deadline=None)
@given(
    data=st.data(),
    language=st.sampled_from(["en", "zh"]),
    ask=st.sampled_from(ASKS),
    reason=st.sampled_from(["", " since the trailing 0 does not change the value", "，末尾的0不影响大小"]),
)
def test_equality_in_words_is_equal_and_loose_equality_is_not(
    data: st.DataObject, language: str, ask: str, reason: str
) -> None:
    option, forms = data.draw(st.sampled_from(SAME_VALUES))
    other = next(form for form in forms if form != option)
    numbers = data.draw(st.permutations([option, other]))
    a, b = data.draw(st.permutations(numbers))  # a form of both values would name neither option
    equal = data.draw(st.sampled_from(EQUAL_FORMS[language])).format(a=a, b=b) + reason + END[language]
    assert extract_choice(equal, list(numbers), ask).choice == EQUAL, str(explain(equal, list(numbers), ask))
    loose = data.draw(st.sampled_from(LOOSE_FORMS[language])).format(a="13.8", b="13.11") + END[language]
    assert extract_choice(loose, ["13.8", "13.11"], ask).choice is None, str(explain(loose, ["13.8", "13.11"], ask))


@settings(max_examples=200, deadline=None)
@given(data=st.data(), language=st.sampled_from(["en", "zh"]), ask=st.sampled_from(ASKS))
def test_final_statements_that_disagree_give_no_choice(data: st.DataObject, language: str, ask: str) -> None:
    (big, big_forms), (small, small_forms) = data.draw(st.sampled_from(PAIRS))
    first = data.draw(st.sampled_from(CLAIMS[language])).format(w=big_forms[0], l=small_forms[0])
    second = data.draw(st.sampled_from(CLAIMS[language])).format(w=small_forms[0], l=big_forms[0])
    shape = data.draw(st.sampled_from(["bold-then-so", "text-then-boxed", "so-then-so"]))
    if shape == "bold-then-so":
        answer = f"**{first}**{END[language]}\n\n{CONCLUSIONS[language].strip()} {second}{END[language]}"
    elif shape == "text-then-boxed":
        other = small if ask == "larger" else big  # what the text does not choose
        answer = f"{first}{END[language]}\n\n$\\boxed{{{other}}}$"
    else:
        so = CONCLUSIONS[language].strip()
        answer = f"{so} {first}{END[language]}\n{so} {second}{END[language]}"
    got = extract_choice(answer, [big, small], ask)
    assert got.choice is None, str(explain(answer, [big, small], ask))


TRIPLES = [("3.9", "3.11", "3.099"), ("0.5", "0.45", "0.405"), ("-1.1", "-1.01", "-1.11"), ("7.7", "7.07", "7.007")]
LIST_CLAIMS = {
    "en": [
        "The largest of {a}, {b} and {c} is {w}",
        "{w} is the largest",
        "{w} is larger than {x} and {y}",
        "{w} > {x}",
    ],
    "zh": ["{a}、{b}和{c}中最大的是{w}", "{w}最大", "{w}比{x}和{y}都大", "{w}大于{x}"],
}


@settings(max_examples=200, deadline=None)
@given(data=st.data(), language=st.sampled_from(["en", "zh"]), ask=st.sampled_from(ASKS))
def test_a_claim_about_one_end_of_a_list_decides_only_that_end(data: st.DataObject, language: str, ask: str) -> None:
    numbers = list(data.draw(st.permutations(data.draw(st.sampled_from(TRIPLES)))))
    winner = data.draw(st.sampled_from(numbers))  # what the answer says is the largest (true or not)
    others = [number for number in numbers if number != winner]
    form = data.draw(st.sampled_from(LIST_CLAIMS[language]))
    answer = form.format(a=numbers[0], b=numbers[1], c=numbers[2], w=winner, x=others[0], y=others[1]) + END[language]
    says_all = "{x}" not in form or "{y}" in form  # "{w} > {x}" alone leaves {y} open
    expected = winner if ask == "larger" and says_all else None
    got = extract_choice(answer, numbers, ask)
    assert got.choice == expected, str(explain(answer, numbers, ask))


# Two options of one value and a third: "A and B are equal, and both are larger than C" shares the extreme.
TIES = [("1.5", "1.50", "1.05"), ("0.7", "0.70", "0.8"), ("2.20", "2.2", "2.12"), ("-3.5", "-3.50", "-3.05")]
TIE_FORMS = {
    "en": [
        "{a} and {b} are equal, and both are {word} than {c}",
        "{a} equals {b}, and both are {word} than {c}",
        "{a} and {b} are the same value. Both are {word} than {c}",
    ],
    "zh": ["{a}和{b}相等，它们都比{c}{zh}", "{a}等于{b}，这两个都比{c}{zh}", "{a}和{b}一样大，它们都{zh_rel}{c}"],
}
WORDS = {1: ("larger", "大", "大于"), -1: ("smaller", "小", "小于")}


@settings(max_examples=200, deadline=None)
@given(data=st.data(), language=st.sampled_from(["en", "zh"]), ask=st.sampled_from(ASKS))
def test_two_equal_options_beyond_the_third_share_the_extreme(data: st.DataObject, language: str, ask: str) -> None:
    a, b, c = data.draw(st.sampled_from(TIES))
    numbers = list(data.draw(st.permutations([a, b, c])))
    side = data.draw(st.sampled_from([1, -1]))  # the pair is said to be larger (1) or smaller (-1) than c
    word, zh, zh_rel = WORDS[side]
    first, second = data.draw(st.permutations([a, b]))
    form = data.draw(st.sampled_from(TIE_FORMS[language]))
    answer = form.format(a=first, b=second, c=c, word=word, zh=zh, zh_rel=zh_rel) + END[language]
    expected = EQUAL if (side == 1) == (ask == "larger") else c
    got = extract_choice(answer, numbers, ask)
    assert got.choice == expected, str(explain(answer, numbers, ask))
