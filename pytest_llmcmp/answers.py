"""Reading a chat model's free-text answer: which option did it choose, and is that choice correct.

Small chat models ramble: they restate the question, reason out loud (often wrongly), concede
("虽然13.11看起来更大，但……"), negate ("13.11并不比13.8大"), correct themselves and hedge. The
extractor is a small pipeline rather than a list of special cases:

1. **normalise** the text: drop ``<think>`` blocks, markdown emphasis, LaTeX wrappers (``\\boxed{}``
   becomes an answer marker), fold full-width characters;
2. **lex** it into a stream of one-letter tokens: option mentions (a number whose value equals one of
   the case's numbers; numbers are found whole, so ``13.1`` is never read inside ``13.11``), other
   numbers, relation words (``大于``, ``>``, ``larger than``), adjectives (``更大``, ``smaller``),
   negations, equality, answer markers, conclusion/contrast markers, hedges, "it looks like"
   phrases, concessions, conditionals, question words and talk about digits or decimal parts;
3. **extract facts** per clause by matching small regular expressions over the token string
   (``N>N``, ``NTNB`` for "X比Y大", ``NB`` for "X更大", ``BiN`` for "larger is X", ...);
   clauses that only report an appearance, a concession, a condition, a question or a digit-level
   comparison assert nothing;
4. **segment**: a conclusion or contrast marker ("所以", "但", "therefore", "actually",
   ``\\boxed``) starts a new segment; facts within a segment must agree, and the last segment that
   decides something is the final verdict. An earlier segment that decided otherwise sets the
   ``contradiction`` flag; a hedge after the final verdict, or disagreeing facts within it, give no
   choice at all.

When in doubt the extractor returns ``choice=None``: passing a wrong or unclear answer is worse than
reporting it as unparsed.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal

from pytest_llmcmp.truth import Quantity, try_parse

__all__ = ["EQUAL", "Extraction", "Verdict", "extract_choice", "judge"]

Verdict = Literal["correct", "wrong", "unparsed", "error"]

EQUAL = "equal"


@dataclass(frozen=True)
class Extraction:
    """What a model's answer chose.

    ``choice`` is an element of the case's numbers exactly as written, ``"equal"``, or ``None``
    when the answer commits to nothing clear. ``contradiction`` is set when the final verdict is
    clear but an earlier statement picked something else. ``reason`` is a short tag saying how the
    choice was decided (``"boxed"``, ``"answer"``, ``"relation"``, ``"equal"``, ``"final-line"``) or
    why there is none (``"empty"``, ``"hedge"``, ``"conflict"``, ``"no-verdict"``).
    """

    choice: str | None
    contradiction: bool = False
    reason: str = ""
    evidence: str = ""


def judge(choice: str | None, expected: str) -> Verdict:
    """The verdict on one extracted choice: ``"unparsed"`` for ``None``, else correct or wrong."""
    if choice is None:
        return "unparsed"
    return "correct" if choice == expected else "wrong"


# --------------------------------------------------------------------------------------------------
# Token kinds. Every token is one character so that clause grammar can be written as regexes.
#   N option mention   x other number    > < g l = relations (g/l are >=/<=)
#   B larger-adjective S smaller-adjective T "than"/比   n negation   m "not as ... as" (没有/不如)
#   E "equal"/"相等"   J and/or/和        Q both/all/others      i copula (是, is, :)
#   A answer marker    X \boxed           k conclusion/contrast/correction marker (K: one that
#                                          also opens a clause, lexed as "," then "k")
#   h hedge            a appearance or "it is wrong that"        c concession   f condition
#   w question word    P talk about parts/digits                 R an ordering ("从小到大")
#   o "of"/"among"     _ anything else (a barrier)
#   , clause break     | sentence break   ? question end
# --------------------------------------------------------------------------------------------------

_LEXICON: dict[str, str] = {
    ">": (
        "大于|高于|多于|超过|超出|胜过|>|larger than|bigger than|greater than|higher than|more than"
        "|exceeds|exceed|is above"
    ),
    "<": (
        "小于|低于|少于|不及|<|smaller than|less than|lower than|fewer than|lesser than|is below"
        "|not as large as|not as big as|not as great as|not as high as"
    ),
    "g": "≥|>=|⩾|大于等于|大于或等于|greater than or equal to|larger than or equal to",
    "l": "≤|<=|⩽|小于等于|小于或等于|less than or equal to|smaller than or equal to",
    "=": ("=|==|等于|equals|equal to|the same as|same as|identical to|equivalent to|as large as|as big as|≈|约等于"),
    "E": ("相等|一样大|一样|同样大|相同|等同|一般大|等大|equal|the same|identical|equivalent|equally large|a tie"),
    "B": (
        "更大|较大|最大|大些|大一些|大一点|比较大|要大|大|偏大|最大值|较大值|更大一些|更大一点"
        "|larger|bigger|greater|higher|largest|biggest|greatest|highest|maximum|the max|max"
    ),
    "S": (
        "更小|较小|最小|小些|小一些|小一点|比较小|要小|小|偏小|最小值|较小值|更小一些|更小一点"
        "|smaller|lesser|lower|smallest|least|lowest|minimum|min"
    ),
    "T": "比|比起|than",
    "n": (
        "不|不是|并不|并不是|并非|非|不会|不可能|而不是|而非|not|isn't|is not|aren't|are not|wasn't"
        "|was not|never|rather than|instead of|doesn't|does not|no longer|neither"
    ),
    "m": "没有|并没有|不如|没",
    "J": "和|与|跟|及|以及|、|或|或者|还是|and|or|nor|vs|versus|&",
    "Q": (
        "都|均|两者|二者|两个数|这两个数|两个数字|这两个数字|它们|三个数|其他|其它|其余|另外两个"
        "|另一个|所有|所有数|both|all|they|them|the others|the other|the other two|the other one"
        "|any other|all others|all the others|the two numbers|both numbers|the numbers|all of them"
        "|either"
    ),
    "o": "of|among",
    "i": "是|为|就是|乃是|:|is|are|was|would be|will be|should be|has|have",
    "A": (
        "答案|最终答案|正确答案|结论|选择|选|答|answer|final answer|the answer|correct answer"
        "|my answer|i choose|i pick|i select"
    ),
    # Conclusion, contrast and correction markers. "K" ones are conjunctions that also open a new
    # clause ("9.9 > 9.11 so 9.11 is larger"); "k" ones are adverbs that may sit inside a clause.
    "K": (
        "所以|因此|因而|从而|故|于是|但|但是|不过|然而|可是|而|而是|so|therefore|thus|hence"
        "|consequently|but|however|→|⇒|=>|->|∴"
    ),
    "k": (
        "综上|综上所述|总之|总结|总的来说|最终|最后|实际上|事实上|其实|不对|等等|更正|纠正|修正"
        "|等一下|重新|in conclusion|in summary|to summarize|overall|actually|in fact|wait"
        "|correction|oops|sorry|let me reconsider|finally"
    ),
    "h": (
        "可能|也许|或许|大概|大约|不确定|不太确定|不敢肯定|不太肯定|不太清楚|不一定|无法确定"
        "|无法判断|不好说|不清楚|不知道|难以|取决于|看情况|maybe|perhaps|possibly|probably|likely"
        "|might|may|could be|not sure|unsure|uncertain|not certain|it depends|depends on"
        "|hard to say|cannot determine|can't determine|can't tell|cannot be determined|unclear"
        "|i don't know"
    ),
    "a": (
        "看起来|看上去|似乎|好像|貌似|乍一看|表面上|直觉上|直观上|误以为|误认为|以为|会认为"
        "|可能会认为|很多人认为|有人认为|容易认为|错误|是错误的|是错的|错了|不正确|并不正确|seems"
        "|seem|looks|look like|appears|appear|at first glance|might think|may think|would think"
        "|mistakenly|wrongly|is wrong|incorrect|false|misconception|might seem|intuitively"
        "|superficially|some people think|people think|some think|many think|many people think"
        "|some may think|one might think|有些人认为|人们认为|常常认为|通常认为|容易误认为"
    ),
    # An ordering ("从小到大", "ascending"): its larger/smaller words name ends of a range, not a choice.
    "R": (
        "从小到大|从大到小|由小到大|由大到小|升序|降序|from smallest to largest|from largest to smallest"
        "|from least to greatest|from greatest to least|ascending|descending"
    ),
    "c": "虽然|尽管|虽说|固然|although|though|even though|despite|while",
    "f": "如果|假如|假设|若|要是|倘若|只看|仅看|if|suppose|assuming|assume",
    "w": "哪个|哪一个|哪|谁|是否|吗|which|whether|是不是",
    "P": (
        "整数部分|小数部分|小数点|小数位|十分位|百分位|千分位|位数|数位|第一位|第二位|个位|末位"
        "|位上|分数部分|integer part|decimal part|fractional part|whole number part|whole part"
        "|decimal places|decimal place|digit|digits|tenths|hundredths|tenths place|place value"
        "|decimal point"
    ),
    # Words that look like a kind above but are not: matched as barriers so the shorter word inside
    # them ("大" in "大小", "不" in "不同") is never read.
    "_": (
        "大小|大家|大多|大多数|大部分|大致|大体|大写|大量|巨大|伟大|重大|放大|扩大|小数|小时|小心"
        "|小学|从小|缩小|减小|不同|不仅|不要|不用|不难|不然|不错|不等于|≠|!=|比较|相比|对比|比例"
        "|不但|而且|然后"
        "|more|less|large|big"
    ),
    # Glue: words that never change meaning, dropped so that adjacency patterns see through them.
    "": (
        "的|了|呢|啊|吧|呀|要|还|也|就|确实|明显|显然|明显地|的确|肯定|当然|一定|绝对|数|数字|远|远远|略|略微|显著"
        "|这个数|这个数字|值|的值|稍|稍微|更|认为|我认为|我觉得|觉得|应该|在数值上|那么|then|数值上"
        "|两者中|两个数中|两个数字中|其中|之中|very|much|slightly|a bit|a little|the|a|an|one"
        "|number|value|of the two|of the two numbers|among them|between them|here|i think|i believe"
        "|in value|still|also|the one|it"
    ),
}

_ORDINALS: dict[str, int] = {
    "前者": 0, "第一个数字": 0, "第一个数": 0, "第一个": 0, "前一个": 0, "the former": 0,
    "the first number": 0, "the first one": 0, "the first value": 0,
    "第二个数字": 1, "第二个数": 1, "第二个": 1, "the second number": 1, "the second one": 1,
    "the second value": 1, "第三个数字": 2, "第三个数": 2, "第三个": 2, "the third number": 2,
    "the third one": 2, "后者": -1, "后一个": -1, "the latter": -1,
}  # fmt: skip

_PHRASE_KIND: dict[str, str] = {
    phrase: kind for kind, phrases in _LEXICON.items() for phrase in phrases.split("|")
} | dict.fromkeys(_ORDINALS, "O")


_Trie = dict[str, "_Trie"]


def _trie_regex(phrases: Sequence[str]) -> str:
    """An alternation of ``phrases`` factored into a trie, so matching costs one pass per position
    instead of one attempt per phrase; longer phrases are preferred over their prefixes."""
    trie: _Trie = {}
    for phrase in phrases:
        node = trie
        for char in phrase:
            node = node.setdefault(char, {})
        node[""] = {}  # the key "" marks the end of a phrase

    def emit(node: _Trie) -> str:
        ends_here = "" in node
        branches = []
        for char in sorted(key for key in node if key):
            atom = r"\s+" if char == " " else re.escape(char)
            branches.append(atom + emit(node[char]))
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if ends_here:
            return "(?:" + body + ")?"
        return body

    return emit(trie)


def _is_latin(phrase: str) -> bool:
    return phrase[0].isascii() and phrase[0].isalpha()


_LATIN_PHRASES = [phrase for phrase in _PHRASE_KIND if _is_latin(phrase)]
_OTHER_PHRASES = [phrase for phrase in _PHRASE_KIND if not _is_latin(phrase)]

# A number is read whole: never starting inside a word or another number, and greedily to its end,
# so "13.1" is not found in "13.11" nor "3.8" in "13.8". A leading "-" is a sign only when it does
# not follow a number (then it is a minus; see _sign_is_operator).
_ARABIC_NUMBER = (
    r"(?<![0-9A-Za-z._])[-+]?"
    r"(?:(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+)"
    r"(?:/\d+)?"
    r"(?:[eE][-+]?\d+|\s?[×xX*·]\s?10(?:\^[({]?[-+]?\d+[)}]?|[⁻⁺]?[⁰¹²³⁴⁵⁶⁷⁸⁹]+))?"
    r"(?:[万亿])?(?:\s?[%‰])?"
)
_CJK_NUMBER = r"(?<!第)[负負]?(?:百分之|千分之)?[零〇一二两三四五六七八九十百千万亿点]+"


@functools.cache
def _master() -> re.Pattern[str]:
    """The lexer's one regex (built on first use: compiling the tries takes ~0.1 s)."""
    return re.compile(
        "|".join(
            [
                r"(?P<box>\ue000)",
                r"(?P<qend>[?？]+)",
                r"(?P<ellipsis>\.{2,}|…+)",  # "0.333..." trails off; it ends nothing
                r"(?P<send>[。！!；;\n]+|\.(?!\d))",
                r"(?P<cbreak>[，,]|因为|由于|(?<![A-Za-z])(?:because|since)(?![A-Za-z]))",
                r"(?P<latin>(?<![A-Za-z])" + _trie_regex(_LATIN_PHRASES) + r"(?![A-Za-z]))",
                r"(?P<other>" + _trie_regex(_OTHER_PHRASES) + ")",
                r"(?P<num>" + _ARABIC_NUMBER + ")",
                r"(?P<cjknum>" + _CJK_NUMBER + ")",
                r"(?P<word>[A-Za-z]+(?:'[a-z]+)?)",
                r"(?P<char>[^\s\"'“”‘’「」『』《》()（）\[\]【】*_`~#])",
            ]
        ),
        re.IGNORECASE,
    )


_SPACE = re.compile(r"\s+")


@dataclass
class _Token:
    kind: str
    option: int = -1  # for kind "N": index into the case's numbers
    ordinal: int | None = None  # for kind "O" before resolution


_MENTION_CACHE_SIZE = 512


@dataclass
class _Options:
    """The case's numbers, parsed once, and the rule that maps a written number to one of them."""

    texts: tuple[str, ...]  # as written: a choice is reported exactly as the case wrote it
    quantities: tuple[Quantity | None, ...]
    has_cjk: bool = False
    cache: dict[str, int] = field(default_factory=dict)

    def match(self, text: str) -> int:
        """Index of the option ``text`` denotes, or -1 (not an option, or ambiguous)."""
        text = text.strip()
        if text in self.cache:
            return self.cache[text]
        found = self._match(text)
        if len(self.cache) < _MENTION_CACHE_SIZE:
            self.cache[text] = found
        return found

    def _match(self, text: str) -> int:
        exact = [index for index, option in enumerate(self.texts) if option.strip() == text]
        if len(exact) == 1:
            return exact[0]
        mention = try_parse(text)
        if mention is None:
            return -1
        same = self._equal_values(mention, require_unit=True)
        if not same and mention.unit == "":
            # Models often drop the unit when repeating "13.8%"; the bare value still names it.
            same = self._equal_values(mention, require_unit=False)
        return same[0] if len(same) == 1 else -1

    def _equal_values(self, mention: Quantity, *, require_unit: bool) -> list[int]:
        return [
            index
            for index, option in enumerate(self.quantities)
            if option is not None
            and option.value == mention.value
            and (option.unit == mention.unit or not require_unit)
        ]


@functools.lru_cache(maxsize=256)
def _make_options(texts: tuple[str, ...]) -> _Options:
    """Parsed options, memoised: a run asks the same case many times (samples, prompts)."""
    quantities = tuple(try_parse(text) for text in texts)
    has_cjk = any(re.search(_CJK_NUMBER, text) for text in texts)
    return _Options(texts=texts, quantities=quantities, has_cjk=has_cjk)


# --------------------------------------------------------------------------------------------------
# 1. Normalisation
# --------------------------------------------------------------------------------------------------

_FOLD = {code: chr(code - 0xFEE0) for code in range(0xFF01, 0xFF5F)}
_FOLD.update({0xFF0C: "，", 0xFF1F: "？", 0xFF01: "！", 0xFF1B: "；"})  # keep CJK sentence punctuation
_FOLD.update({ord(dash): "-" for dash in "\u2212\ufe63\u2012\u2013\uff0d"})
_FOLD[0x3000] = " "
_FOLD.update({0x2019: "'", 0x2018: "'"})

_LATEX_TEXT = re.compile(r"\\(?:text|textbf|textrm|mathrm|mathbf|mbox|operatorname|emph)\s*\{([^{}]*)\}")
_LATEX_BOXED = re.compile(r"\\(?:boxed|fbox)\s*\{([^{}]*)\}")
_LATEX_FRAC = re.compile(r"\\[dt]?frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}")
_LATEX_EXPONENT = re.compile(r"\^\{([-+]?\d+)\}")
_LATEX_SYMBOLS = {
    "gt": ">", "lt": "<", "geq": "≥", "ge": "≥", "geqslant": "≥", "leq": "≤", "le": "≤", "leqslant": "≤",
    "neq": "≠", "ne": "≠", "times": "×", "cdot": "·", "approx": "≈", "rightarrow": "→", "Rightarrow": "⇒",
    "to": "→", "implies": "⇒", "therefore": "∴",
}  # fmt: skip
_LATEX_COMMAND = re.compile(r"\\([A-Za-z]+)|\\[()\[\],;!%]")
_MARKDOWN_LINE = re.compile(r"^[ \t]*(?:#{1,6}[ \t]+|>[ \t]?|[-*+•][ \t]+|\d{1,2}[.)、][ \t]+)", re.MULTILINE)
_MARKDOWN_INLINE = re.compile(r"(?<!\d)\*+|\*+(?!\d)|__|~~|`+")


def _strip_think(text: str) -> str:
    """Keep what the model said outside its ``<think>`` reasoning, unless it said nothing else.

    Written with ``str.find`` rather than a regex so that many unclosed tags stay linear.
    """
    lowered = text.lower()
    if "think>" not in lowered:
        return text
    outside: list[str] = []
    inside: list[str] = []
    close = lowered.rfind("</think>")
    if close >= 0 and "<think>" not in lowered[:close]:  # the chat template swallowed the opening tag
        inside.append(text[:close])
        text, lowered = text[close + len("</think>") :], lowered[close + len("</think>") :]
    position = 0
    while position < len(text):
        start = lowered.find("<think>", position)
        if start < 0:
            outside.append(text[position:])
            break
        outside.append(text[position:start])
        end = lowered.find("</think>", start)
        if end < 0:  # still thinking when the answer was cut off
            inside.append(text[start + len("<think>") :])
            break
        inside.append(text[start + len("<think>") : end])
        position = end + len("</think>")
    said = "\n".join(outside)
    return said if said.strip() else "\n".join(inside)


def _latex_command(match: re.Match[str]) -> str:
    name = match.group(1)
    if name is None:
        return "%" if match.group(0) == "\\%" else " "
    return _LATEX_SYMBOLS.get(name, " ")


def _normalise(text: str) -> str:
    text = _strip_think(text).translate(_FOLD)
    for _ in range(3):  # nested \text{} inside \boxed{} and the like
        text = _LATEX_TEXT.sub(r"\1", text)
    text = _LATEX_FRAC.sub(r"\1/\2", text)
    text = _LATEX_BOXED.sub(" \ue000 \\1 \n", text)
    text = _LATEX_EXPONENT.sub(r"^\1", text)
    text = _LATEX_COMMAND.sub(_latex_command, text)
    text = text.replace("$", " ").replace("{", " ").replace("}", " ")
    text = _MARKDOWN_LINE.sub("", text)
    return _MARKDOWN_INLINE.sub("", text)


# --------------------------------------------------------------------------------------------------
# 2. Lexing
# --------------------------------------------------------------------------------------------------

_GLUE_WORDS = frozenset(_LEXICON[""].split("|"))


def _sign_is_operator(text: str, start: int) -> bool:
    """Whether the sign at ``text[start]`` follows a number, as in "13.8 - 13.11" (a minus, not a sign)."""
    index = start - 1
    while index >= 0 and text[index].isspace():
        index -= 1
    return index >= 0 and (text[index].isdigit() or text[index] in ")%‰")


def _lex(text: str, options: _Options) -> list[_Token]:
    """Read normalised text into tokens (see the table of kinds above); glue yields no token."""
    tokens: list[_Token] = []
    for match in _master().finditer(text):
        group = match.lastgroup
        value = match.group(0)
        if group == "ellipsis":
            continue
        if group == "box":
            tokens.append(_Token("X"))
        elif group == "qend":
            tokens.append(_Token("?"))
        elif group == "send":
            tokens.append(_Token("|"))
        elif group == "cbreak":
            tokens.append(_Token(","))
        elif group in ("latin", "other"):
            phrase = _SPACE.sub(" ", value.lower())
            kind = _PHRASE_KIND[phrase]
            if kind == "O":
                tokens.append(_Token("O", ordinal=_ORDINALS[phrase]))
            elif kind == "K":
                tokens += [_Token(","), _Token("k")]
            elif kind:
                tokens.append(_Token(kind))
        elif group == "num":
            if value[0] in "-+" and _sign_is_operator(text, match.start()):
                tokens.append(_Token("_"))
                value = value[1:]
            tokens.append(_number_token(value, options))
        elif group == "cjknum":
            body = value.lstrip("负負")
            # A single CJK numeral is usually a word ("一样", "两个"), not a number.
            if len(body) >= 2 or "点" in body or options.has_cjk:
                tokens.append(_number_token(value, options))
            else:
                tokens.append(_Token("_"))
        elif group == "word":
            lowered = value.lower()
            if lowered not in _GLUE_WORDS and not lowered.endswith("ly"):
                tokens.append(_Token("_"))
        elif not tokens or tokens[-1].kind != "_":
            tokens.append(_Token("_"))
    return tokens


def _number_token(text: str, options: _Options) -> _Token:
    index = options.match(text)
    return _Token("N", option=index) if index >= 0 else _Token("x")


def _resolve_ordinals(tokens: list[_Token], count: int) -> None:
    """Turn "前者"/"the latter"/"第二个" into the option they point at.

    They refer to the order in which the numbers were last listed together (in the current clause,
    else in the latest clause that listed two or more), falling back to the case's own order.
    """
    recent: list[int] = list(range(count))
    current: list[int] = []
    for token in tokens:
        if token.kind in ",|?":
            if len(set(current)) >= 2:
                recent = current
            current = []
        elif token.kind == "N":
            if token.option not in current:
                current.append(token.option)
        elif token.kind == "O" and token.ordinal is not None:
            context = current if len(set(current)) >= 2 else recent
            if -len(context) <= token.ordinal < len(context):
                token.kind, token.option = "N", context[token.ordinal]
            else:
                token.kind = "_"


# --------------------------------------------------------------------------------------------------
# 3. Facts per clause
# --------------------------------------------------------------------------------------------------

_LEFT = r"(?P<l>N(?:JN)*)"
_RIGHT = r"(?P<r>N(?:JN)*|Q+)"
# An operand that continues into a list or a relation ("答案是 X 和 Y 一样大") is not the whole statement.
_NOT_AFTER_OPERAND = r"(?!JN|[><gl=TBSE])"

# (name, pattern) in priority order; tried at every position where a clause can start a statement.
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern))
    for name, pattern in (
        # No two adjacent quantifiers may match the same token: runs of "is is is" must not backtrack.
        ("gt", _LEFT + r"[iQ]*(?:(?P<neg>n)i*)?[>g]i*" + _RIGHT),
        ("lt", _LEFT + r"[iQ]*(?:(?P<neg>n)i*)?[<l]i*" + _RIGHT),
        ("gt", _LEFT + r"Q*(?:(?P<neg>n)i*)?T" + _RIGHT + r"Q*i*B"),  # X 比 Y 大
        ("lt", _LEFT + r"Q*(?:(?P<neg>n)i*)?T" + _RIGHT + r"Q*i*S"),  # X 比 Y 小
        ("lt", _LEFT + r"m" + _RIGHT + r"i*B"),  # X 没有 Y 大
        ("gt", _LEFT + r"m" + _RIGHT + r"i*S"),  # X 没有 Y 小
        ("eq", _LEFT + r"[iQ]*(?:(?P<neg>n)i*)?=i*" + _RIGHT),
        ("eq", r"(?P<l>N(?:JN)+)Q?i*(?:(?P<neg>n)i*)?E"),  # X 和 Y 相等
        ("top", r"(?P<l>N)i*(?:(?P<neg>[nm])i*)?(?P<adj>[BS])(?![T><])"),  # X 更大
        (
            "top",
            r"(?P<adj>[BS])o(?:N(?:JN)*|Q+)i+(?P<l>N)" + _NOT_AFTER_OPERAND,
        ),  # the larger of X and Y is X
        ("top", r"(?P<adj>[BS])(?:(?P<neg>n)|i)i*(?P<l>N)" + _NOT_AFTER_OPERAND),  # 更大的是 X
        ("answer", r"[AX]i*(?:(?P<neg>n)i*)?(?P<l>N)" + _NOT_AFTER_OPERAND),  # 答案是 X
        ("answer_eq", r"[AX]i*E"),
        ("not_top", r"ni*(?P<l>N)i*(?P<adj>[BS])(?![T><])"),  # 不是 X 更大
        ("not_answer", r"ni*(?P<l>N)" + _NOT_AFTER_OPERAND),  # ……，而不是 X
    )
)
_CONCLUDED_OPTION = re.compile(r"k+i*N")
_STARTS = frozenset("NBSAXn")
_CHAINS = frozenset({"gt", "lt", "eq"})  # "13.8 > 13.11 > 9.9": the right operand starts the next link


@dataclass(frozen=True)
class _Fact:
    """One asserted statement. ``kind``: "gt" (a > b), "ngt" (a is not > b), "top" (a is the
    extreme in ``direction``), "ntop", "answer" (a is the answer), "nanswer", "equal"."""

    kind: str
    a: int = -1
    b: int = -1
    direction: int = 0
    source: str = "relation"


def _clause_facts(tokens: Sequence[_Token], count: int, source: str, bare_equal: bool, direction: int) -> list[_Fact]:
    """The facts one clause asserts.

    ``bare_equal`` allows a subject-less "一样大" to mean the options (it does not when the sentence
    has been talking about digits or other numbers). ``direction`` is the sentence's latest
    comparison direction so far (+1 larger, -1 smaller, 0 none), which a bare "而不是 X" refers to.
    """
    if _CONCLUDED_OPTION.fullmatch("".join(token.kind for token in tokens)):  # "所以是13.8", "→ 13.8"
        return [_Fact("answer", a=tokens[-1].option, source=source)]
    tokens = _without_asides(tokens)
    kinds = "".join(token.kind for token in tokens)
    if "R" in kinds:
        kinds = kinds.replace("B", "_").replace("S", "_")
    facts: list[_Fact] = []
    position = 0
    while position < len(kinds):
        # An option inside a list ("X 和 Y") was already tried with the whole list.
        if kinds[position] not in _STARTS or (kinds[position] == "N" and position and kinds[position - 1] == "J"):
            position += 1
            continue
        for name, pattern in _PATTERNS:
            match = pattern.match(kinds, position)
            if match is None or not _operand_is_free(name, kinds, position):
                continue
            context = _latest_direction(kinds[:position]) or direction
            facts.extend(_facts_of(name, match, tokens, count, source, context))
            chained = name in _CHAINS and "r" in pattern.groupindex and kinds[match.start("r")] == "N"
            position = match.start("r") if chained else match.end()
            break
        else:
            position += 1
    if not facts and bare_equal and _asserts_bare_equality(kinds):
        facts.append(_Fact("equal", source=source))
    return facts


def _without_asides(tokens: Sequence[_Token]) -> list[_Token]:
    """Drop what sits between a statement's words without changing it: markers ("actually", "所以"
    matter to segmentation only) and a restated value ("1/3 = 0.333 is larger than 0.3")."""
    kept: list[_Token] = []
    for token in tokens:
        if token.kind == "k":
            continue
        if token.kind == "x" and len(kept) >= 2 and kept[-1].kind == "=" and kept[-2].kind == "N":
            kept.pop()
            continue
        kept.append(token)
    return kept


def _latest_direction(kinds: str) -> int:
    """+1 or -1 for the last larger/smaller word or relation in ``kinds``, 0 if there is none."""
    larger, smaller = max(kinds.rfind(kind) for kind in "B>g"), max(kinds.rfind(kind) for kind in "S<l")
    if larger == smaller:
        return 0
    return 1 if larger > smaller else -1


def _operand_is_free(name: str, kinds: str, position: int) -> bool:
    """A lone "X 更大" must not take X out of "Y 和 X", "比 X 大" or "没有 X 大"."""
    return name != "top" or kinds[position] != "N" or position == 0 or kinds[position - 1] not in "JTmn"


def _asserts_bare_equality(kinds: str) -> bool:
    """ "两者相等", "they are equal", or a line that is nothing but "相等"."""
    if "E" not in kinds or "n" in kinds or "N" in kinds or "x" in kinds:
        return False
    return "Q" in kinds or set(kinds) <= set("EiAXk")


def _facts_of(
    name: str, match: re.Match[str], tokens: Sequence[_Token], count: int, source: str, context: int
) -> Iterator[_Fact]:
    groups = match.groupdict()
    negated = bool(groups.get("neg"))
    left: list[int] = []
    if groups.get("l") is not None:
        left = [tokens[i].option for i in range(match.start("l"), match.end("l")) if tokens[i].kind == "N"]
    right: list[int] | None = None
    if groups.get("r") is not None:
        right = [tokens[i].option for i in range(match.start("r"), match.end("r")) if tokens[i].kind == "N"]
        if not right:  # "than both", "比其他都大": the left side is the extreme
            right = None
    direction = -1 if groups.get("adj") == "S" else 1
    if name in ("gt", "lt"):
        if right is None:
            for option in left:
                kind = "ntop" if negated else "top"
                yield _Fact(kind, a=option, direction=1 if name == "gt" else -1, source=source)
            return
        big, small = (left, right) if name == "gt" else (right, left)
        for a in big:
            for b in small:
                if a != b:
                    yield _Fact("ngt" if negated else "gt", a=a, b=b, source=source)
    elif name == "eq":
        covered = set(left) | set(right or [])
        if not negated and len(covered) == count:
            yield _Fact("equal", source=source)
    elif name == "answer_eq":
        yield _Fact("equal", source=source)
    elif name == "top":
        yield _Fact("ntop" if negated else "top", a=left[0], direction=direction, source=source)
    elif name == "answer":
        yield _Fact("nanswer" if negated else "answer", a=left[0], source=source)
    elif name == "not_top":
        yield _Fact("ntop", a=left[0], direction=direction, source=source)
    elif name == "not_answer" and context:  # "13.8 is larger, not 13.11"
        yield _Fact("ntop", a=left[0], direction=context, source=source)
    elif name == "not_answer":
        yield _Fact("nanswer", a=left[0], source=source)


# --------------------------------------------------------------------------------------------------
# 4. Segments and the final verdict
# --------------------------------------------------------------------------------------------------

_CONFLICT = -2
_EQUAL_CHOICE = -3
_NO_VERDICT = -1


def _decide(facts: Sequence[_Fact], count: int, direction: int) -> int:
    """Reduce a segment's facts to an option index, _EQUAL_CHOICE, _CONFLICT or _NO_VERDICT."""
    picks: set[int] = set()
    eliminated: set[int] = set()
    equal = False
    for fact in facts:
        if fact.kind == "gt":
            eliminated.add(fact.b if direction > 0 else fact.a)
        elif fact.kind == "ngt":
            eliminated.add(fact.a if direction > 0 else fact.b)
        elif fact.kind == "top":
            if fact.direction == direction:
                picks.add(fact.a)
            else:
                eliminated.add(fact.a)
        elif fact.kind == "ntop":
            if fact.direction == direction:
                eliminated.add(fact.a)
            elif count == 2:
                eliminated.add(1 - fact.a)
        elif fact.kind == "answer":
            picks.add(fact.a)
        elif fact.kind == "nanswer":
            eliminated.add(fact.a)
        elif fact.kind == "equal":
            equal = True
    if equal:
        return _EQUAL_CHOICE if not picks and not eliminated else _CONFLICT
    if len(picks) > 1 or picks & eliminated:
        return _CONFLICT
    if picks:
        return next(iter(picks))
    remaining = set(range(count)) - eliminated
    if not remaining:
        return _CONFLICT
    if eliminated and len(remaining) == 1:
        return next(iter(remaining))
    return _NO_VERDICT


@dataclass
class _Segment:
    facts: list[_Fact] = field(default_factory=list)
    last_clause: int = -1


def _clauses(tokens: Sequence[_Token]) -> Iterator[tuple[list[_Token], bool, bool]]:
    """Yield (clause tokens, starts a sentence, sentence is a question)."""
    sentence: list[list[_Token]] = [[]]
    for token in [*tokens, _Token("|")]:
        if token.kind in "|?":
            is_question = token.kind == "?"
            for number, clause in enumerate(sentence):
                if clause:
                    yield clause, number == 0, is_question
            sentence = [[]]
        elif token.kind == ",":
            sentence.append([])
        else:
            sentence[-1].append(token)


def _not_asserted(kinds: str, in_condition: bool, in_question: bool) -> bool:
    """Clauses that report an appearance, concede, suppose, ask, or compare digits assert nothing."""
    return in_condition or in_question or any(kind in kinds for kind in "acwPh")


_DIRECTIONS = {"larger": 1, "smaller": -1}


def extract_choice(answer: str, numbers: Sequence[str], ask: str) -> Extraction:
    """Which of ``numbers`` (or ``"equal"``) the free-text ``answer`` chose as the ``ask`` one.

    ``ask`` is ``"larger"`` or ``"smaller"`` (anything else raises :class:`ValueError`). Never raises
    on any answer text; returns ``choice=None`` when the answer is empty, hedges, contradicts itself
    in its final verdict or never commits.
    """
    if ask not in _DIRECTIONS:
        raise ValueError(f"unknown ask {ask!r}; valid asks: {', '.join(_DIRECTIONS)}")
    direction = _DIRECTIONS[ask]
    options = _make_options(tuple(str(number) for number in numbers))
    count = len(options.texts)
    text = _normalise(answer if isinstance(answer, str) else "")
    if not text.strip() or count < 2:
        return Extraction(None, reason="empty")
    tokens = _lex(text, options)
    _resolve_ordinals(tokens, count)

    segments: list[_Segment] = [_Segment()]
    last_hedge = -1
    in_condition = False
    sentence_about_other_things = False
    sentence_direction = 0
    clause_number = -1
    for clause, starts_sentence, in_question in _clauses(tokens):
        clause_number += 1
        kinds = "".join(token.kind for token in clause)
        if starts_sentence:
            in_condition = False
            sentence_about_other_things = False
            sentence_direction = 0
        if "k" in kinds or "A" in kinds or "X" in kinds:
            segments.append(_Segment())
            in_condition = False
        if "f" in kinds:
            in_condition = True
        if "h" in kinds and not in_condition and not in_question and "w" not in kinds:
            last_hedge = clause_number
        bare_equal = not sentence_about_other_things
        previous_direction = sentence_direction
        sentence_direction = _latest_direction(kinds) or sentence_direction
        sentence_about_other_things = sentence_about_other_things or "P" in kinds or "x" in kinds
        if _not_asserted(kinds, in_condition, in_question):
            continue
        source = "boxed" if "X" in kinds else "answer" if "A" in kinds else "relation"
        facts = _clause_facts(clause, count, source, bare_equal, previous_direction)
        if facts:
            segments[-1].facts.extend(facts)
            segments[-1].last_clause = clause_number

    last_line = _final_line_option(text, options)
    if last_line is not None:  # a bare option on the last line is the model's final word
        segments.append(_Segment([_Fact("answer", a=last_line, source="final-line")], clause_number + 1))
    decided = [(segment, _decide(segment.facts, count, direction)) for segment in segments]
    decided = [(segment, verdict) for segment, verdict in decided if verdict != _NO_VERDICT]
    if not decided:
        return _first_line(text, options, last_hedge >= 0)
    final_segment, final = decided[-1]
    if final == _CONFLICT:
        return Extraction(None, reason="conflict")
    if last_hedge >= final_segment.last_clause:
        return Extraction(None, reason="hedge")
    contradiction = any(verdict != final for _, verdict in decided[:-1])
    return Extraction(_choice_text(final, options), contradiction, _reason(final_segment, final))


def _choice_text(verdict: int, options: _Options) -> str:
    return EQUAL if verdict == _EQUAL_CHOICE else options.texts[verdict]


def _reason(segment: _Segment, verdict: int) -> str:
    sources = {fact.source for fact in segment.facts}
    for source in ("boxed", "answer", "final-line"):
        if source in sources:
            return source
    return "equal" if verdict == _EQUAL_CHOICE else "relation"


def _bare_option(line: str, options: _Options) -> int | None:
    """The option a line consists of ("13.8", "**13.8**", "答案：13.8。"), else None."""
    tokens = [token for token in _lex(line, options) if token.kind not in "iAXk|,"]
    if len(tokens) == 1 and tokens[0].kind == "N":
        return tokens[0].option
    return None


def _final_line_option(text: str, options: _Options) -> int | None:
    """The option a last line consists of, unless the line before is one too (a list, not a verdict)."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return None
    last = _bare_option(lines[-1], options)
    if last is None or (len(lines) > 1 and _bare_option(lines[-2], options) is not None):
        return None
    return last


def _first_line(text: str, options: _Options, hedged: bool) -> Extraction:
    """With no statement anywhere, accept an answer that opens with a line that is just one option."""
    lines = [line for line in text.splitlines() if line.strip()]
    first = _bare_option(lines[0], options) if lines else None
    if hedged or first is None or (len(lines) > 1 and _bare_option(lines[1], options) is not None):
        return Extraction(None, reason="hedge" if hedged else "no-verdict")
    return Extraction(options.texts[first], reason="final-line")
