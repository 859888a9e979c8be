"""Reading an ordering from a model's answer: "4.04 < 4.14 < 4.4", "从小到大：4.04、4.14、4.4", a numbered list.

The question kind ``ask: order`` asks a model to sort a case's numbers; :func:`read_order` finds the ordering
the answer states as its final answer. It shares the answer judge's reading of numbers
(:mod:`pytest_llmcmp.answers`: ``<think>`` blocks, markdown and LaTeX blanked in place, an option written
``4.40`` or ``四点四`` is the option ``4.4``) and its vocabulary (:mod:`pytest_llmcmp.lexicon`: relation words,
conclusion and correction markers, hedges, appearances), and reads in three steps:

1. **statements**: every *chain* ("4.04 < 4.14 < 4.4", "4.4 > 4.14 > 4.04", "4.04 is less than 4.14, which
   is less than 4.4", "4.04比4.14小，4.14比4.4小") ordered by its own symbols or words, whatever the question
   asked; every *list* ("4.04, 4.14 and 4.4", "4.04、4.14、4.4", one number per line of a numbered list, a
   ``\\boxed{}``) read in the direction its sentence says ("从大到小：…", "in descending order: …") or else the
   question's; and *positions* ("最小的是4.04，其次是4.14，最大的是4.4", "4.04 is the smallest, …").
2. **set aside**: a statement that restates the question ("Sort from smallest to largest: 4.4, 4.04, 4.14" in
   the question's own order, or rewritten in a working step: "对齐小数位：4.40, 4.04, 4.14"; an answer that is
   nothing but the list is its answer), that is reported as an appearance or supposed ("many people think …",
   "如果按版本号来看…"), called wrong, or asked.
3. **decide**: the last complete ordering decides. A correction ("wait", "不对", "actually") withdraws what came
   before it; otherwise an earlier *final* statement (after "so", "答案", "the order is", an ordering phrase, in
   bold or ``\\boxed{}``) that says another order is a contradiction, and a hedge in or after the deciding
   sentence leaves no order. A final statement after it that misses an option, repeats one or names a number
   that is no option ("4.04, 4.1, 4.4") leaves no order either, with that reason; a comparison of two options
   after it that agrees with it ("so 4.4 > 4.14") checks it. Two options said to be equal ("0.2 = 1/5", "0.33
   和 33% 数值相同") leave no order ("tie"), and so does an answer that ends announcing an answer it never gives
   ("So the final answer is", "排序结果为：": cut off).

When in doubt the reader returns ``order=None``: passing a wrong or unclear ordering is worse than reporting
it as unreadable. Linear in the answer's length: one regex pass, then passes over the tokens.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

# The answer judge's reading of numbers and text: its normalisation, number patterns, options and phrase tries.
from pytest_llmcmp.answers import (
    _emphasis,
    _make_options,
    _normalise,
    _number_group,
    _number_with_unit,
    _Options,
    _trie_regex,
)
from pytest_llmcmp.lexicon import PHRASES, Kind

__all__ = ["DIRECTIONS", "WORDS", "OrderReading", "read_order"]

Direction = Literal["ascending", "descending"]
DIRECTIONS: tuple[str, ...] = ("ascending", "descending")


@dataclass(frozen=True)
class OrderReading:
    """The ordering an answer states: ``order`` holds indices into ``numbers``, smallest first, or is
    ``None`` when no complete, unambiguous ordering is stated; ``evidence`` is the deciding passage exactly
    as written in the answer (``None`` with no order); ``reason`` is a short word: how the order was read
    (``"chain"``, ``"list"``, ``"positions"``) or why there is none (``"empty"``, ``"no ordering"``,
    ``"incomplete"``, ``"repeat"``, ``"not an option"``, ``"mixed"``, ``"contradiction"``, ``"hedge"``,
    ``"tie"`` (two options said to be equal), ``"truncated"`` (also: the answer ends announcing its answer))."""

    order: tuple[int, ...] | None
    evidence: str | None
    reason: str


# --------------------------------------------------------------------------------------------------
# Vocabulary. Token codes (one character each):
#   N an option   x another number   < > = relations   T "比"   B S larger/smaller (after "X比Y")
#   m M smallest/largest   p a place ("second", "第二", "in the middle")   j next ("then", "其次")
#   D an ordering phrase ("从小到大", "descending"), with its direction   , a list separator   ; a clause break
#   . a sentence break   n a line break   ( ) brackets   F a final marker ("so", "答案", "the order is")
#   C a correction   H a hedge   a an aside (appearance, condition, concession, question word)
#   q a place in a sequence ("comes first", "最后是": between a list's numbers)
#   R the question's wording ("sort", "把下列数")   v a contrast ("but")   o "or"   g glue   w a word
#   X \boxed   ? the end of a question   ! "is wrong"
# --------------------------------------------------------------------------------------------------

_FROM_LEXICON: dict[Kind, str] = {
    Kind.GREATER: ">",
    Kind.AT_LEAST: ">",
    Kind.LESS: "<",
    Kind.AT_MOST: "<",
    Kind.EQUALS: "=",
    Kind.THAN: "T",
    Kind.LARGER: "B",
    Kind.SMALLER: "S",
    Kind.CORRECTION: "C",
    Kind.IN_FACT: "C",
    Kind.HEDGE: "H",
    Kind.DEPENDS: "H",
    Kind.APPEARANCE: "a",
    Kind.CONCESSION: "a",
    Kind.CONDITION: "a",
    Kind.QUESTION: "a",
    Kind.ANSWER: "F",
    Kind.CONCLUSION: "F",
    Kind.CONCLUDING: "F",
    Kind.CONTRAST: "v",
    Kind.AND: ",",
    Kind.COPULA: "g",
    Kind.GLUE: "g",
    Kind.RELATIVE: "g",
    Kind.PRONOUN: "g",
    Kind.ORDERING: "D",
}


def _w(text: str) -> tuple[str, ...]:
    return tuple(phrase.strip() for phrase in text.split("|") if phrase.strip())


# The reader's own words, per token code (they override the lexicon's kind of the same phrase). To teach
# the reader a phrase, add it here ("ascending"/"descending": the ordering phrases, by the direction they name).
WORDS: dict[str, dict[str, tuple[str, ...]]] = {
    "symbols": {
        ",": _w("→|->|=>|⇒|➜|➔|⟶|&|①|②|③|④|⑤|⑥|⑦|⑧|⑨|⑩"),
        "=": _w("=|==|≈"),
        "!": _w("✗"),
    },
    "zh": {
        ",": _w("和|与|及|以及|、"),
        "o": _w("或|或者|还是|也可能是|也可能"),
        "j": _w("其次是|其次|次之|再次是|接下来是|随后是|然后是|然后|再是|接着是|接着|之后是|紧接着是"),
        "q": _w("首先是|首先|第一个是|最后是|最后一个是|排在最后的是"),
        "m": _w("最小|最小的|最小的数|最小的数是|最小值|最小的是"),
        "M": _w("最大|最大的|最大的数|最大的数是|最大值|最大的是"),
        "p": _w("第二|第三|第四|居中|中间|在中间|第二小|第二大|第三小|第三大|排第二|排第三"),
        "ascending": _w("从小到大|由小到大|升序|从低到高|由低到高|递增|从最小到最大|按从小到大|小→大|从小→大"),
        "descending": _w(
            "从大到小|由大到小|降序|从高到低|由高到低|递减|从最大到最小|按从大到小|大→小|从大→小|倒序|逆序"
        ),
        "F": _w(
            "答案|答|最终答案|结论|所以|因此|因而|综上|综上所述|总之|最终|最后|结果|排列结果|排序结果|结果为|结果是|顺序为|顺序是"
            "|排列为|排列是|排序为|排序是|排列如下|排序如下|排列后|排序后|正确的顺序是|正确顺序|正确的顺序|即|也就是|依次为|依次是"
        ),
        "R": _w(
            "把|将|下列|下列数|以下|给定|给出的|题目|这些数|这几个数|这三个数|这四个数|这五个数|排列|排序|需要|要求"
        ),
        "!": _w("错误|是错误的|是错的|错了|不正确|并不正确|搞反了"),
        "g": _w("是|为|的|依次|分别|数|则|而|又|也|就|且|并且|而且|同时"),
        "w": _w("大约|约"),  # "2/3大约是0.667" approximates a value, it does not hedge the order
        "H": _w("我猜|猜测|没把握|不太有把握"),
        "k": _w(
            "对齐|对齐小数位|对齐位数|补齐|补零|补足|补齐位数|统一位数|化为小数|化成小数|转化为小数|转换为小数|换算成小数"
            "|写成|写作|改写为|改写成|通分|化成同分母"
        ),
        "e": _w("相等|相同|数值相同|一样大|大小一样|大小相同|大小相等|等值"),
    },
    "en": {
        ",": _w("and|then|and then|followed by|, then|next|after that"),
        "o": _w("or|either"),
        "j": _w("followed by|then comes|next comes|after that comes|next is|then|next"),
        "q": _w("comes first|is first|come first|first|comes last|is last|come last|and finally|and lastly|lastly"),
        "m": _w(
            "smallest|the smallest|least|the least|lowest|the lowest|minimum|the minimum|smallest number"
            "|the smallest number|the smallest one|smallest value"
        ),
        "M": _w(
            "largest|the largest|biggest|the biggest|greatest|the greatest|highest|the highest|maximum|the maximum"
            "|largest number|the largest number|the largest one|largest value"
        ),
        "p": _w(
            "second|the second|third|the third|fourth|the fourth|in the middle|the middle|middle|second smallest"
            "|second largest|the second smallest|the second largest|third smallest|third largest"
        ),
        "ascending": _w(
            "from smallest to largest|smallest to largest|from least to greatest|least to greatest"
            "|from lowest to highest|lowest to highest|from smallest to biggest|smallest to biggest|from small to large"
            "|small to large|ascending|ascending order|in ascending order|increasing order|in increasing order"
            "|from least to most|from min to max|smallest first|from low to high|low to high|smallest → largest"
            "|smallest -> largest|from small to big"
        ),
        "descending": _w(
            "from largest to smallest|largest to smallest|from greatest to least|greatest to least"
            "|from highest to lowest|highest to lowest|from biggest to smallest|biggest to smallest|from large to small"
            "|large to small|descending|descending order|in descending order|decreasing order|in decreasing order"
            "|from most to least|from max to min|largest first|from high to low|high to low|largest → smallest"
            "|largest -> smallest|from big to small|reverse order|in reverse order"
        ),
        "F": _w(
            "so|therefore|thus|hence|finally|in conclusion|in summary|answer|the answer|final answer|my answer"
            "|the order is|the order|order is|the correct order|the correct order is|correct order|final order"
            "|the sorted order|sorted order|the sorted list|sorted list|sorted|sorting|ordered|arranged|result"
            "|the result|gives|we get|which gives|becomes|here is the result|here they are|in order"
            "|here's the order|here's the sorted list|that is|i.e.|which is|which means|meaning"
        ),
        "R": _w(
            "sort|arrange|rank|put|order these|sort these|arrange these|to sort|to arrange|you asked me to sort"
            "|the numbers are|we have|given|the given numbers|the following|these numbers|the numbers"
            "|let me sort|let's sort|need to sort|i need to sort|here are the numbers|here are the given numbers"
            "|put them in order|to put them in order|put these in order|put the numbers in order|in order to"
            "|order them|to order them|sort them|to sort them|arrange them|to arrange them"
            "|i've got|we've got|i have|these three numbers|these four numbers|these five numbers|the three numbers"
            "|the four numbers|the five numbers|these values|the given values"
        ),
        "!": _w(
            "is wrong|that's wrong|is incorrect|is not correct|isn't correct|that is wrong|that's incorrect|is false"
            "|that's not right"
        ),
        "g": _w("is|are|was|it's|that's|which|that|in turn|itself|still|also|while|whereas|the|a|number|numbers"),
        "H": _w("i guess|my guess|i'm guessing|not confident|i'm not confident|my best guess"),
        "k": _w(
            "align|aligned|aligning|pad|padded|padding|convert|converted|converting|rewrite|rewritten|rewriting"
            "|written as|write them as|writing them as|decimal places|in decimal form|as fractions|common denominator"
        ),
        "e": _w("are equal|are the same|are tied|are equivalent|have the same value|are equal in value|are both equal"),
    },
}

_PLACES = {"第二": 1, "第三": 2, "第四": 3, "second": 1, "the second": 1, "third": 2, "the third": 2}
_PLACES |= {"fourth": 3, "the fourth": 3, "第二小": 1, "第三小": 2, "second smallest": 1}
_PLACES |= {"the second smallest": 1, "third smallest": 2, "排第二": 1, "排第三": 2}
_PLACES_FROM_TOP = {"第二大": 1, "第三大": 2, "second largest": 1, "the second largest": 1, "third largest": 2}
_MIDDLE = -100  # "in the middle", "居中": the middle place of three
_APPROXIMATELY = frozenset({"≈", "约等于", "approximately equal to", "approximately"})


_ORDER_WORDS = {"ascending": 1, "descending": -1}
_ORDER_DIRECTION: dict[str, int] = {}  # an ordering phrase: +1 ascending, -1 descending


def _phrase_codes() -> dict[str, str]:
    codes: dict[str, str] = {}
    for table in PHRASES.values():
        for kind, phrases in table.items():
            for phrase in phrases:
                codes[" ".join(phrase.lower().split())] = _FROM_LEXICON.get(kind, "w")
    for language in WORDS.values():
        for code, phrases in language.items():
            for phrase in phrases:
                key = " ".join(phrase.lower().split())
                codes[key] = "D" if code in _ORDER_WORDS else code
                if code in _ORDER_WORDS:
                    _ORDER_DIRECTION[key] = _ORDER_WORDS[code]
    for phrase in _PLACES_FROM_TOP:
        codes[phrase] = "p"
    return codes


_CODES = _phrase_codes()


@functools.cache
def _master() -> re.Pattern[str]:
    latin = [phrase for phrase in _CODES if phrase[0].isascii() and phrase[0].isalpha()]
    other = [phrase for phrase in _CODES if phrase not in latin]
    return re.compile(
        "|".join(
            [
                r"(?P<box>\ue000)",
                r"(?P<qend>[?？]+)",
                r"(?P<nl>\n\s*)",
                r"(?P<trail>(?<=\d)(?:\.{2,}|…+))",  # "1/3 (0.333...)": a number trailing off, no sentence end
                r"(?P<send>[。！!；;]+|\.(?!\d))",
                r"(?P<open>[(（\[【{])",
                r"(?P<close>[)）\]】}])",
                r"(?P<cbreak>因为|由于|(?<![A-Za-z])(?:because|since)(?![A-Za-z])|—+|–|(?<=\S\s)-(?=\s)|：)",
                r"(?P<comma>[，,])",
                r"(?P<latin>(?<![A-Za-z])" + _trie_regex(latin) + r"(?![A-Za-z]))",
                r"(?P<other>" + _trie_regex(other) + ")",
                _number_with_unit(),
                r"(?P<word>[A-Za-z]+(?:'[a-z]+)?)",
                r"(?P<char>[^\s\"'“”‘’「」『』《》*_`~#|:\\])",
            ]
        ),
        re.IGNORECASE,
    )


_SPACE = re.compile(r"\s+")
# A fenced block without letters ("```\n7.02, 7.12, 7.19\n```") is an answer's layout, not code: its fences go.
_NUMERIC_BLOCK = re.compile(r"^([ \t]*```[ \t]*\n)([^A-Za-z`]*?\n)([ \t]*```)", re.MULTILINE)


def _unfence(answer: str) -> str:
    if "```" not in answer:
        return answer
    return _NUMERIC_BLOCK.sub(lambda match: " " * (len(match.group(1)) - 1) + "\n" + match.group(2) + "   ", answer)


_SIMPLE = {"box": "X", "qend": "?", "nl": "n", "send": ".", "open": "(", "close": ")", "cbreak": ";", "comma": ","}


@dataclass(slots=True)
class _Token:
    kind: str
    start: int
    end: int
    value: int = -1  # N: the option; D: +1 ascending, -1 descending; p: the place


def _follows_number(text: str, start: int) -> bool:
    """Whether the sign at ``text[start]`` is a minus after a number on the same line ("13.8 - 13.11"); on a
    new line it is a sign ("1. -0.5\n2. -0.25")."""
    index = start - 1
    while index >= 0 and text[index] in " \t":
        index -= 1
    return index >= 0 and (text[index].isdigit() or text[index] in ")%‰")


def _lex(text: str, options: _Options) -> list[_Token]:
    tokens: list[_Token] = []
    for match in _master().finditer(text):
        group = match.lastgroup or "char"
        start, end = match.span()
        if group == "unit":  # a number with its unit ("4.9 kg", "13.8元/斤"): the number is its value
            group = _number_group(match)
        if group in _SIMPLE:
            tokens.append(_Token(_SIMPLE[group], start, end))
            continue
        if group == "trail":
            continue
        value = match.group(group)
        if group in ("latin", "other"):
            phrase = _SPACE.sub(" ", value.lower())
            code = _CODES[phrase]
            if code == "D":
                direction = _ORDER_DIRECTION.get(phrase, 0)
                tokens.append(_Token("D" if direction else "w", start, end, direction))
            elif code == "p":
                place = _PLACES.get(phrase, _MIDDLE)
                if phrase in _PLACES_FROM_TOP:
                    place = -1 - _PLACES_FROM_TOP[phrase]
                tokens.append(_Token("p", start, end, place))
            elif code == "=":  # value 1: "≈", "约等于" (approximately: no tie)
                tokens.append(_Token(code, start, end, 1 if phrase in _APPROXIMATELY else -1))
            elif code:
                tokens.append(_Token(code, start, end))
        elif group in ("num", "cjknum"):
            if group == "num" and value[0] in "-+" and _follows_number(text, start):
                value, start = value[1:], start + 1
            if group == "cjknum":
                body = value.lstrip("负負")
                if len(body) < 2 and "点" not in body and not options.has_cjk:
                    tokens.append(_Token("w", start, end))
                    continue
            index = options.match(value)
            tokens.append(_Token("N", start, end, index) if index >= 0 else _Token("x", start, end))
        elif group == "word" or not tokens or tokens[-1].kind != "w":
            tokens.append(_Token("w", start, end))
    return tokens


# --------------------------------------------------------------------------------------------------
# Statements
# --------------------------------------------------------------------------------------------------

_NUMBERS = frozenset("Nx")
_CHAIN_GLUE = frozenset("g,F")  # "4.04 is less than 4.14, which is less than 4.4"
_BREAKS = frozenset(".?n")
_MAX_GLUE = 6
_MAX_ASIDE = 40


@dataclass
class _Statement:
    kind: str  # "chain", "list", "positions"
    elements: list[int]  # options in the order written (-1: a number that is no option), or by place
    first: int  # token indices
    last: int
    direction: int = 0  # chain: +1 written smallest first, -1 largest first; 0 for list/positions
    mixed: bool = False
    final: bool = False
    set_aside: bool = False
    order: tuple[int, ...] | None = None
    problem: str = ""
    places: list[int] = field(default_factory=list)  # positions: the option at each place (-2: not said)

    def options(self) -> set[int]:
        return {element for element in self.elements if element >= 0}


def _skip(tokens: Sequence[_Token], index: int, kinds: frozenset[str]) -> int:
    limit = index + _MAX_GLUE
    while index < len(tokens) and index < limit and tokens[index].kind in kinds:
        index += 1
    return index


def _chain(tokens: Sequence[_Token], start: int) -> _Statement | None:
    """A chain of relations from the number at ``start``: "a < b < c", "a 比 b 小，b 比 c 小"."""
    elements = [tokens[start].value if tokens[start].kind == "N" else -1]
    relations: list[str] = []
    tie = False  # "0.2 = 1/5": two options said to be equal
    index = start
    last = start
    while True:
        at = _skip(tokens, index + 1, _CHAIN_GLUE)
        if at < len(tokens) and tokens[at].kind == "N" and tokens[at].value == elements[-1] and elements[-1] >= 0:
            at = _skip(tokens, at + 1, _CHAIN_GLUE)  # "…, and 4.14 is less than 4.4": the shared operand
        if at >= len(tokens):
            break
        kind = tokens[at].kind
        if kind in "<>=":
            target = _skip(tokens, at + 1, frozenset("g"))
            if target >= len(tokens) or tokens[target].kind not in _NUMBERS:
                break
            relation, end = kind, target
            exact = kind == "=" and tokens[at].value != 1
        elif kind == "T":  # "4.04比4.14小"
            target = _skip(tokens, at + 1, frozenset("g"))
            if target >= len(tokens) or tokens[target].kind not in _NUMBERS:
                break
            word = _skip(tokens, target + 1, frozenset("g"))
            if word >= len(tokens) or tokens[word].kind not in "BS":
                break
            relation, end = ("<" if tokens[word].kind == "S" else ">"), word
            exact = False
        else:
            break
        element = tokens[target].value if tokens[target].kind == "N" else -1
        if relation == "=" and element == elements[-1] and element >= 0:
            index = last = end  # "4.4 = 4.40": one option written twice
            continue
        tie = tie or (exact and element >= 0 and elements[-1] >= 0)
        elements.append(element)
        relations.append(relation)
        index = last = end
    if not relations:
        return None
    directed = set(relations) - {"="}
    if not directed and not tie:
        return None
    statement = _Statement("chain", elements, start, last, 1 if directed == {"<"} else -1)
    statement.mixed = len(directed) > 1
    if tie:
        statement.problem = "tie"
    return statement


def _said_equal(tokens: Sequence[_Token], statement: _Statement, text: str) -> bool:
    """Whether a list of two options is said to be equal: "0.33 和 33% 数值相同", "0.2 and 1/5 are equal" (not
    "the integer parts of 4.04 and 4.14 are the same", nor "… are the same in the ones place")."""
    if statement.kind != "list" or len(statement.elements) != 2 or len(statement.options()) != 2:
        return False
    before = statement.first - 1
    if before >= 0 and text[tokens[before].start : tokens[before].end].lower() in ("of", "的"):
        return False
    after = _skip(tokens, statement.last + 1, frozenset("g"))
    if after >= len(tokens) or tokens[after].kind != "e":
        return False
    return after + 1 >= len(tokens) or tokens[after + 1].kind in _CLAUSE_ENDS


def _aside_end(tokens: Sequence[_Token], index: int) -> int:
    """The index after a bracketed aside opening at ``index`` ("9.8e2 (980), …"), or ``index``."""
    if index >= len(tokens) or tokens[index].kind != "(":
        return index
    depth = 0
    for at in range(index, min(len(tokens), index + _MAX_ASIDE)):
        kind = tokens[at].kind
        if kind == "(":
            depth += 1
        elif kind == ")":
            depth -= 1
            if depth == 0:
                return at + 1
        elif kind in _BREAKS:
            break
    return index


_RANK = re.compile(r"[1-9][0-9]?")


def _line_start(tokens: Sequence[_Token], index: int, text: str = "") -> bool:
    """Whether the token at ``index`` opens its line, after at most a rank ("| 2 | 9.1 |", "(2) 9.1")."""
    before = index - 1
    if before >= 0 and text and tokens[before].kind == ")" and before >= 2 and tokens[before - 2].kind == "(":
        before -= 1  # "(2) 9.1": look at the rank inside the brackets
    if (
        before >= 0
        and text
        and tokens[before].kind == "x"
        and _RANK.fullmatch(text[tokens[before].start : tokens[before].end])
    ):
        before -= 1 + (before >= 1 and tokens[before - 1].kind == "(")
    return before < 0 or tokens[before].kind == "n"


_LINE_TAIL = frozenset(".,;gmMp")  # what may follow a number alone on its line: "4.04 - the smallest", "4.4（最大）"


def _alone_on_line(tokens: Sequence[_Token], index: int, text: str) -> bool:
    if not _line_start(tokens, index, text):
        return False
    after = _aside_end(tokens, index + 1)
    while after < len(tokens) and tokens[after].kind in _LINE_TAIL:
        after += 1
    return after >= len(tokens) or tokens[after].kind == "n"


def _list(tokens: Sequence[_Token], start: int, text: str) -> _Statement | None:
    """A list from the number at ``start``: "a, b and c", "a、b、c", or one number per line."""
    elements = [tokens[start].value if tokens[start].kind == "N" else -1]
    last = start
    vertical = _alone_on_line(tokens, start, text)
    while True:
        at = _aside_end(tokens, last + 1)
        if vertical:
            while at < len(tokens) and tokens[at].kind in _LINE_TAIL:
                at += 1
        if at < len(tokens) and tokens[at].kind == "n" and vertical:
            following = at + 1
            if following < len(tokens) and tokens[following].kind == "(":
                following = _aside_end(tokens, following)
            if (
                following + 1 < len(tokens)
                and tokens[following].kind == "x"
                and tokens[following + 1].kind in _NUMBERS
                and _alone_on_line(tokens, following + 1, text)
            ):
                following += 1  # the rank column of a table row
            if (
                following < len(tokens)
                and tokens[following].kind in _NUMBERS
                and _alone_on_line(tokens, following, text)
            ):
                last = following
                elements.append(tokens[last].value if tokens[last].kind == "N" else -1)
                continue
            break
        separated = at
        while separated < len(tokens) and separated < at + 4 and tokens[separated].kind in ",jq":
            separated += 1
        rank = tokens[last + 2] if at == last + 4 else None  # "(1) 4.04 (2) 4.14 (3) 4.4"
        numbered = rank is not None and rank.kind == "x" and bool(_RANK.fullmatch(text[rank.start : rank.end]))
        if (separated == at and not numbered) or separated >= len(tokens) or tokens[separated].kind not in _NUMBERS:
            break
        last = separated
        elements.append(tokens[last].value if tokens[last].kind == "N" else -1)
    if len(elements) < 2:
        return None
    return _Statement("list", elements, start, last)


def _positions(tokens: Sequence[_Token], count: int, sentences: Sequence[int]) -> list[_Statement]:
    """Places said one by one: "最小的是3.405，其次是3.45，最大的是3.5", "13.08 is the smallest, …"."""
    found: list[_Statement] = []
    current: _Statement | None = None
    previous = -1
    step = 1
    for index, token in enumerate(tokens):
        if token.kind not in "mMpj":
            continue
        if token.kind == "j" and (current is None or sentences[index] != sentences[current.last]):
            continue
        before = index - 1
        while before >= 0 and tokens[before].kind == "g":
            before -= 1
        after = _skip(tokens, index + 1, frozenset("g"))
        if before >= 0 and tokens[before].kind == "N" and token.kind != "j":
            option = tokens[before].value
        elif after < len(tokens) and tokens[after].kind == "N":
            option = tokens[after].value
        else:
            continue
        if token.kind == "m":
            place, step = 0, 1
        elif token.kind == "M":
            place, step = count - 1, -1
        elif token.kind == "j":
            if previous < 0:
                continue
            place = previous + step
        elif token.value == _MIDDLE:
            if count != 3:
                continue
            place = 1
        else:
            place = token.value if token.value >= 0 else count + token.value
        if not 0 <= place < count:
            continue
        if current is None or sentences[index] != sentences[current.last]:
            opening = before if before >= 0 and tokens[before].kind == "N" else index
            current = _Statement("positions", [-2] * count, opening, index)
            found.append(current)
        if current.elements[place] != -2 and current.elements[place] != option:
            current.problem = "contradiction"
        current.elements[place] = option
        current.last = max(index, after if after < len(tokens) and tokens[after].kind == "N" else index)
        current.first = min(current.first, before if before >= 0 and tokens[before].kind == "N" else index)
        previous = place
    for statement in found:
        statement.places = statement.elements
        statement.elements = [element for element in statement.elements if element != -2]
    return found  # one place alone ("so the largest is 4.14") is no ordering, but may contradict one


# --------------------------------------------------------------------------------------------------
# Context: sentences, what the sentence before a statement says
# --------------------------------------------------------------------------------------------------


@dataclass
class _Context:
    """Per token: the number of its sentence; where the context of its sentence opens (the sentence's first
    token, or the line before it when that line ends with a colon: "**Final answer:**\\n4.04, 4.14, 4.4"); and
    where its sentence ends."""

    sentence: list[int] = field(default_factory=list)
    opened: list[int] = field(default_factory=list)  # token index where the sentence's context starts
    ends: list[int] = field(default_factory=list)  # token index of the sentence's end (exclusive)


def _context(tokens: Sequence[_Token], text: str) -> _Context:
    context = _Context()
    number = 0
    opened = 0
    for index, token in enumerate(tokens):
        context.sentence.append(number)
        context.opened.append(opened)
        if token.kind in _BREAKS:
            number += 1
            if not (token.kind == "n" and _ends_with_colon(text, token.start)):
                opened = index + 1
    context.ends = [len(tokens)] * len(tokens)
    end = len(tokens)
    for index in range(len(tokens) - 1, -1, -1):
        if tokens[index].kind in ".?" or (tokens[index].kind == "n"):
            end = index
        context.ends[index] = end
    return context


def _ends_with_colon(text: str, end: int) -> bool:
    """Whether the line ending at ``end`` ends with a colon ("**Sorted:**", "从小到大排列：")."""
    index = end - 1
    while index >= 0 and text[index] in " \t*":
        index -= 1
    return index >= 0 and text[index] in ":："


def _last_of(tokens: Sequence[_Token], kinds: str) -> list[int]:
    """Per token index: the latest index before it whose kind is in ``kinds`` (or -1)."""
    latest = -1
    found = []
    for index, token in enumerate(tokens):
        found.append(latest)
        if token.kind in kinds:
            latest = index
    return found


def _order_of(statement: _Statement, direction: int, count: int) -> None:
    elements = statement.elements
    if statement.mixed:
        statement.problem = "mixed"
    elif statement.problem:
        pass
    elif -1 in elements:
        statement.problem = "not an option"
    elif len(set(elements)) < len(elements):
        statement.problem = "repeat"
    elif len(elements) < count:
        statement.problem = "incomplete"
    if statement.problem:
        return
    ascending = statement.direction if statement.kind == "chain" else direction
    if statement.kind == "positions":
        ascending = 1
    statement.order = tuple(elements) if ascending > 0 else tuple(reversed(elements))


def read_order(answer: str, numbers: Sequence[str], direction: Direction) -> OrderReading:
    """The final ordering of ``numbers`` that ``answer`` states (see :class:`OrderReading`).

    ``numbers`` are the case's options as written; ``direction`` is what the question asked for, the
    direction of a list that does not say its own. Never raises on any answer text; raises
    :class:`ValueError` for a direction other than ``"ascending"`` or ``"descending"``.
    """
    if direction not in DIRECTIONS:
        raise ValueError(f"unknown direction {direction!r}; valid directions: {', '.join(DIRECTIONS)}")
    asked = 1 if direction == "ascending" else -1
    options = _make_options(tuple(str(number) for number in numbers))
    count = len(options.texts)
    answer = answer if isinstance(answer, str) else ""
    text, unfinished = _normalise(_unfence(answer))
    if not text.strip() or count < 2:
        return OrderReading(None, None, "empty")
    if unfinished:
        return OrderReading(None, None, "truncated")
    tokens = _lex(text, options)
    context = _context(tokens, text)
    if _announces_at_end(tokens, text, context):
        return OrderReading(None, None, "truncated")
    statements = _statements(tokens, count, context, text)
    if not statements:
        return OrderReading(None, None, "no ordering")
    last_d = _last_of(tokens, "D")
    last_final = _last_of(tokens, "FXD")
    last_request = _last_of(tokens, "R")
    last_result = _last_of(tokens, "F")
    last_aside = _last_of(tokens, "a")
    last_reset = _last_of(tokens, "vFC;")
    emphasis = _emphasis(answer)
    identity = list(range(count))
    last_wording = _last_of(tokens, "RDF")
    last_working = _last_of(tokens, "k")
    # an answer that is nothing but one list ("[7.1, 7.01, 7.11]", "0.75, 0.705, 0.57"): that list is its answer
    content = [index for index, token in enumerate(tokens) if token.kind not in _LAYOUT]
    first_content, last_content = (content[0], content[-1]) if content else (-1, -1)
    last_turn = _last_of(tokens, "vFC")
    kept: list[_Statement] = []
    for position, statement in enumerate(statements):
        first, last = statement.first, statement.last
        opened = context.opened[first]
        end = context.ends[last]
        # its direction: the latest ordering phrase before it in its sentence, else the first after it
        list_direction = asked
        if last_d[first] >= opened:
            list_direction = tokens[last_d[first]].value
        else:
            for at in range(last + 1, min(end, last + _MAX_ASIDE)):
                if tokens[at].kind == "D":
                    list_direction = tokens[at].value
                    break
        since = max(opened, statements[position - 1].last + 1 if position else 0)
        if statement.kind == "list" and _directions_between(tokens, since, first) == {1, -1}:
            statement.problem = "mixed"  # "Arranged in decreasing order (smallest to largest): 9.09, 9.9, 9.99"
        _order_of(statement, list_direction, count)
        statement.final = last_final[first] >= opened or _bold(emphasis, tokens[first].start, tokens[last].end)
        request = last_request[first]
        following = statements[position + 1] if position + 1 < len(statements) else None
        whole = first_content >= first and last_content <= last
        working = last_working[first] >= opened and last_turn[first] < last_working[first]
        restated = (
            statement.kind == "list"
            and statement.elements == identity
            and not whole
            and (
                # the question's numbers rewritten in a working step: "对齐小数位：1.230, 1.320, 1.203"
                working
                or
                # the question's numbers in the question's order, said without a word that makes them an answer
                not statement.final
                # "Sort from smallest to largest: 4.4, 4.04, 4.14", "把下列数从小到大排列：4.4, 4.04, 4.14"
                or (request >= opened and last_result[first] < request)
                # "4.4、4.04、4.14从小到大排列为：…": the question's list is the subject of the answer
                or (
                    following is not None
                    and context.sentence[following.first] == context.sentence[last]
                    and last_wording[following.first] > last
                )
            )
        )
        aside = last_aside[first] >= opened and last_reset[first] < last_aside[first]
        after = range(last + 1, min(end + 1, last + _MAX_ASIDE, len(tokens)))
        called_wrong = any(tokens[at].kind in "!?" for at in after)
        statement.set_aside = restated or aside or called_wrong
        if not statement.set_aside:
            kept.append(statement)
    return _decide(kept, tokens, answer, count, context)


def _directions_between(tokens: Sequence[_Token], start: int, end: int) -> set[int]:
    """The directions the ordering phrases between tokens ``start`` and ``end`` name (+1 ascending, -1 descending)."""
    return {tokens[at].value for at in range(max(start, 0), end) if tokens[at].kind == "D"}


def _announces_at_end(tokens: Sequence[_Token], text: str, context: _Context) -> bool:
    """Whether the answer ends announcing an answer it never gives: "So the final answer is", "排序结果为：" (cut
    off: what was to follow may differ from what came before)."""
    end = len(tokens) - 1
    while end >= 0 and tokens[end].kind in _LAYOUT:
        end -= 1
    if end < 0:
        return False
    at = end
    while at >= 0 and tokens[at].kind == "g" and at > end - _MAX_GLUE:
        at -= 1
    tail = text.rstrip(" \t\n*#_")
    colon = tail.endswith((":", "："))
    heading = at == end and not tail.endswith(tuple(".。!！)）]】}")) and _line_start(tokens, at)  # "**Final Answer**"
    if at < 0 or not (tokens[at].kind == "F" and (at < end or colon or heading)):
        return False
    for index in range(at - 1, -1, -1):
        kind = tokens[index].kind
        if kind in _NUMBERS:
            return False
        if kind in _CLAUSE_ENDS:
            return True
    return True


def _bold(spans: Sequence[tuple[int, int]], start: int, end: int) -> bool:
    index = bisect.bisect_right(spans, (start, 1 << 62)) - 1
    return index >= 0 and spans[index][0] <= start and end <= spans[index][1]


def _statements(tokens: Sequence[_Token], count: int, context: _Context, text: str) -> list[_Statement]:
    found: list[_Statement] = []
    index = 0
    while index < len(tokens):
        if tokens[index].kind not in _NUMBERS:
            index += 1
            continue
        statement = _chain(tokens, index) or _list(tokens, index, text)
        if statement is None:
            index += 1
            continue
        if _said_equal(tokens, statement, text):
            statement.problem = "tie"
        if len(statement.options()) >= 2:
            found.append(statement)
        index = statement.last + 1
    found += _positions(tokens, count, context.sentence)
    found.sort(key=lambda statement: statement.first)
    return found


def _decide(
    statements: Sequence[_Statement], tokens: Sequence[_Token], answer: str, count: int, context: _Context
) -> OrderReading:
    # What counts: complete orderings, and lists or chains that say they are the answer (or are as long as
    # one) but are not: "从小到大：4.04、4.4", "4.04, 4.1, 4.4". A partial "4.04 < 4.4" in the working does not.
    counted = [
        statement
        for statement in statements
        if statement.order is not None
        or (statement.kind != "positions" and (statement.final or len(statement.elements) >= count))
    ]
    complete = [index for index, statement in enumerate(counted) if statement.order is not None]
    corrections = [index for index, token in enumerate(tokens) if token.kind == "C"]

    def corrected_between(first: _Statement, then: _Statement) -> bool:
        at = bisect.bisect_right(corrections, first.last)
        return at < len(corrections) and corrections[at] < then.first

    if not complete:
        if counted:
            return OrderReading(None, None, counted[-1].problem or "no ordering")
        return OrderReading(None, None, "no ordering")
    deciding = counted[complete[-1]]
    # a final statement after it that is no ordering; a comparison of two options that agrees with it
    # ("So 1.990 > 1.909" after the full order) checks it
    trailing = [
        statement
        for statement in counted[complete[-1] + 1 :]
        if not _agreeing_pair(statement, deciding.order or (), count)
        and not _agreeing_places(statement, tokens, deciding.elements)
    ]
    if trailing:
        return OrderReading(None, None, trailing[-1].problem or "incomplete")
    alternatives = _last_of(tokens, "o")
    for earlier in counted[: complete[-1]]:
        if earlier.order is None or earlier.order == deciding.order or corrected_between(earlier, deciding):
            continue
        offered = alternatives[deciding.first] > earlier.last  # "4.04, 4.14, 4.4 or 4.04, 4.4, 4.14"
        if earlier.final or (offered and context.sentence[earlier.last] == context.sentence[deciding.first]):
            return OrderReading(None, None, "contradiction")
    # a final place said after it that disagrees with it: "…, 0.57, 0.705, 0.75. So the largest is 0.705."
    for statement in statements:
        if statement.kind == "positions" and statement.final and statement.first > deciding.last:
            said = enumerate(statement.places)
            if any(option >= 0 and option != (deciding.order or ())[place] for place, option in said):
                return OrderReading(None, None, "contradiction")
    # two options said to be equal ("0.2 = 1/5", "0.33 和 33% 数值相同") leave their order unstated, unless withdrawn
    for statement in statements:
        withdrawn = statement.first < deciding.first and corrected_between(statement, deciding)
        if statement.problem == "tie" and not withdrawn:
            return OrderReading(None, None, "tie")
    if _hedged(tokens, context.opened[deciding.first]):
        return OrderReading(None, None, "hedge")
    start, end = tokens[deciding.first].start, tokens[deciding.last].end
    return OrderReading(deciding.order, answer[start:end], deciding.kind)


def _agreeing_pair(statement: _Statement, order: Sequence[int], count: int) -> bool:
    """Whether ``statement`` is a chain of two options in the relative order ``order`` gives them."""
    if statement.kind != "chain" or count <= 2 or len(statement.elements) != 2 or statement.problem != "incomplete":
        return False
    low, high = statement.elements if statement.direction > 0 else reversed(statement.elements)
    return low in order and high in order and order.index(low) < order.index(high)


def _agreeing_places(statement: _Statement, tokens: Sequence[_Token], order: Sequence[int]) -> bool:
    """Whether ``statement`` names options each followed by its place in the sequence ("so -1.55 comes first and
    -1.05 comes last") in the order they are written in ``order``: it remarks on the order, it is none."""
    if statement.kind != "list" or statement.order is not None or len(statement.elements) < 2:
        return False
    named = [index for index in range(statement.first, statement.last + 1) if tokens[index].kind == "N"]
    placed = all(index + 1 < len(tokens) and tokens[index + 1].kind == "q" for index in named)
    places = [order.index(element) for element in statement.elements if element in order]
    return placed and len(places) == len(statement.elements) and places == sorted(places)


_CLAUSE_ENDS = frozenset(",;.n?")
_LAYOUT = frozenset(",;.n()X")  # what an answer that is nothing but a list may hold besides it


def _hedged(tokens: Sequence[_Token], start: int) -> bool:
    """Whether a clause from ``start`` on hedges ("but I'm not sure", "可能"); a hedge in a clause that reports
    an appearance or supposes ("4.14 may look larger", "if it might …") is about something else."""
    hedge = aside = False
    for token in tokens[start:]:
        if token.kind in _CLAUSE_ENDS:
            if hedge and not aside:
                return True
            hedge = aside = False
        elif token.kind == "H":
            hedge = True
        elif token.kind == "a":
            aside = True
    return hedge and not aside
