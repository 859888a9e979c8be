"""Reading a chat model's free-text answer: which option did it choose, and is that choice correct.

Small chat models ramble: they restate the question, reason out loud (often wrongly), concede
("虽然13.11看起来更大，但……"), negate ("13.11并不比13.8大"), correct themselves and hedge. The
judge reads an answer in four steps:

1. **normalise** the text without moving it: ``<think>`` blocks, markdown emphasis and LaTeX wrappers
   are blanked out (``\\boxed{}`` becomes an answer marker), full-width characters folded, so that
   every position still points at the same character of the original answer;
2. **lex** it into words of the kinds of :class:`pytest_llmcmp.lexicon.Kind` — option mentions (a
   number whose value equals one of the case's numbers, read whole: ``13.1`` is never found inside
   ``13.11``), other numbers, and the phrases of :mod:`pytest_llmcmp.lexicon` (comparatives,
   negations, hedges, markers, ...);
3. **claims**: per clause, the named rules of :data:`GRAMMAR` ("x-than-y-larger" for "X比Y大",
   "the-larger-is-x", "answer-is-x", ...) find what the clause asserts. A clause that asks, supposes,
   concedes, hedges, reports an appearance, approximates, computes (``8.111 / 8.96 = 0.905``) or
   compares digits asserts nothing: it is set aside;
4. **verdict**: a conclusion, contrast or correction marker ("所以", "but", "wait", ``\\boxed``)
   starts a new segment; the claims of a segment must agree, and the last segment that decides is the
   final verdict. An earlier segment that decided otherwise sets ``contradiction`` — unless it was
   itself a final statement (bold, an answer marker, ``\\boxed``, "所以…") that no correction
   withdrew: two final statements that disagree give no choice. So do a hedge after the verdict and a
   final answer that is not one of the options ("The answer is 26.91").

When in doubt the judge returns ``choice=None``: passing a wrong or unclear answer is worse than
reporting it as unparsed.

:func:`explain` shows the reading of one answer::

    >>> print(explain("13.11 looks bigger, but 13.8 is larger (0.8 > 0.11).", ["13.8", "13.11"], "larger"))
    choice 13.8 (relation), evidence: '13.8 is larger'
      set aside (appearance)  '13.11 looks bigger'  larger: 13.11  [x-is-larger]
      deciding, segment 1     '13.8 is larger'  larger: 13.8  [x-is-larger]
    >>> print(explain("So the answer is 3.7.\\n\\n$\\\\boxed{3.65}$", ["3.7", "3.65"], "larger"))
    no choice (conflict)
      conflicting, segment 1  'the answer is 3.7'  answer: 3.7  [answer-is-x]
      conflicting, segment 2  '\\\\boxed{3.65}'  answer: 3.65  [answer-is-x]

Each line is a claim: its status (``deciding``; ``counted``; ``overridden`` by a later segment;
``conflicting``; ``set aside`` with the reason), the passage as written, what it says, and the
grammar rule that read it. ``explain(...).extraction`` is what :func:`extract_choice` returns.

To teach the judge a phrase, add it to its kind in :mod:`pytest_llmcmp.lexicon`; a new way of
saying things is a new rule in :data:`GRAMMAR`.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction

from pytest_llmcmp.lexicon import (
    ADDING,
    ASCENDING,
    DESCENDING,
    LOOSE_EQUALS,
    LOOSE_SAMENESS,
    NOT_EQUAL_SIGNS,
    ORDINALS,
    PHRASES,
    RANK_HEADERS,
    RETRACTING,
    SAME_BEFORE_A_NOUN,
    UNITS,
    VALUE_NOUNS,
    Kind,
    phrase_kinds,
)
from pytest_llmcmp.results import Verdict, judge  # re-exported: defined once, in results
from pytest_llmcmp.truth import FULL_WIDTH, Quantity, try_parse

__all__ = ["EQUAL", "GRAMMAR", "Claim", "Extraction", "Rule", "Trace", "Verdict", "explain", "extract_choice", "judge"]

EQUAL = "equal"
LENGTH = "length"  # the finish_reason of an answer cut off by max_tokens


@dataclass(frozen=True)
class Extraction:
    """What a model's answer chose.

    ``choice`` is an element of the case's numbers exactly as written, ``"equal"``, or ``None``
    when the answer commits to nothing clear. ``contradiction`` is set when the final verdict is
    clear but an earlier statement picked something else. ``reason`` is a short tag saying how the
    choice was decided (``"boxed"``, ``"answer"``, ``"relation"``, ``"equal"``, ``"final-line"``) or
    why there is none (``"empty"``, ``"hedge"``, ``"conflict"``, ``"no-verdict"``,
    ``"not-an-option"``, ``"truncated"``: cut off by ``max_tokens`` (``finish_reason`` ``"length"``) or
    inside ``<think>``, or, when the finish reason is unknown, right after a number that another option
    continues). ``evidence`` is the deciding passage exactly as it
    appears in the answer (``answer.find(evidence)`` locates it), empty when there is no choice.
    """

    choice: str | None
    contradiction: bool = False
    reason: str = ""
    evidence: str = ""


# --------------------------------------------------------------------------------------------------
# Vocabulary: the lexicon's phrases, compiled into one lexer regex. Besides the lexicon's kinds the
# lexer makes these tokens (one-character codes, like the kinds' values):
#   N an option mention   x another number   + an arithmetic operator   X \boxed   O an ordinal
#   , a clause break      | a sentence break   ? the end of a question
# --------------------------------------------------------------------------------------------------

_OPTION, _OTHER, _OPERATOR, _BOXED, _ORDINAL = "N", "x", "+", "X", "O"
_CLAUSE_BREAK, _SENTENCE_BREAK, _QUESTION_END = ",", "|", "?"
_ASIDE_OPEN, _ASIDE_CLOSE = "(", ")"  # brackets: an aside inside a clause
# The lexicon's kinds by name, as the one-character codes tokens carry (read in the hot loops).
_AND = Kind.AND.value
_ANSWER = Kind.ANSWER.value
_APPEARANCE = Kind.APPEARANCE.value
_APPROXIMATE = Kind.APPROXIMATE.value
_BARRIER = Kind.BARRIER.value
_CONCESSION = Kind.CONCESSION.value
_CONCLUSION = Kind.CONCLUSION.value
_CONDITION = Kind.CONDITION.value
_CONTRAST = Kind.CONTRAST.value
_COPULA = Kind.COPULA.value
_CORRECTION = Kind.CORRECTION.value
_DIGITS = Kind.DIGITS.value
_EQUALS = Kind.EQUALS.value
_FORMULA = Kind.FORMULA.value
_GROUP = Kind.GROUP.value
_GLUE = Kind.GLUE.value
_HEDGE = Kind.HEDGE.value
_LARGER = Kind.LARGER.value
_ORDERING = Kind.ORDERING.value
_MULTIPLE = Kind.MULTIPLE.value
_PRONOUN = Kind.PRONOUN.value
_QUESTION = Kind.QUESTION.value
_WHETHER = Kind.WHETHER.value
_RELATIVE = Kind.RELATIVE.value
_SMALLER = Kind.SMALLER.value

_ORDINAL_PLACES: dict[str, int] = {phrase: place for table in ORDINALS.values() for phrase, place in table.items()}
_PHRASE_KIND: dict[str, str] = (
    {phrase: kind.value for phrase, kind in phrase_kinds().items()}
    | dict.fromkeys(_ORDINAL_PLACES, _ORDINAL)
    | dict.fromkeys(NOT_EQUAL_SIGNS, Kind.NEGATION.value + Kind.EQUALS.value)  # two tokens: see _lex
    | {phrase: Kind.APPROXIMATE.value + Kind.SAME.value for phrases in LOOSE_SAMENESS.values() for phrase in phrases}
)
_GLUE_WORDS = frozenset(phrase for phrase, kind in _PHRASE_KIND.items() if kind == _GLUE)
# Kinds that open a clause as well as a segment: "9.9 > 9.11 so 9.11 is larger" is two clauses.
_CLAUSE_OPENERS = frozenset({_CONCLUSION, _CONTRAST, _CORRECTION})
# Kinds that start a new segment of the answer, and those whose segment is a final statement.
_SEGMENT_OPENERS = frozenset("KkVCGAX")
_CONCLUSIVE_OPENERS = frozenset("KkAX")
_CONTRASTING_OPENERS = frozenset({_CONTRAST})
_CORRECTING_OPENERS = frozenset("CG")
_ARROWS = frozenset("→⇒=>->")

_Trie = dict[str, "_Trie"]


def _trie_regex(phrases: Sequence[str]) -> str:
    """An alternation of ``phrases`` factored into a trie, so matching costs one pass per position
    instead of one attempt per phrase; longer phrases are preferred over their prefixes.

    The trie is guarded by a lookahead for the phrases' first characters: the regex engine tries a
    branch of an alternation after another, so without it every position of the answer would try
    each of the hundreds of first characters in turn (this halves the lexer's time)."""
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

    first = {case for phrase in phrases for case in (phrase[0].lower(), phrase[0].upper())}
    guard = "(?=[" + "".join(re.escape(char) for char in sorted(first)) + "])" if first else ""
    return guard + emit(trie)


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
    r"(?:[eE][-+]?\d+|[ \t]*[×xX*·][ \t]*10(?:\^[({]?[-+]?\d+[)}]?|[⁻⁺]?[⁰¹²³⁴⁵⁶⁷⁸⁹]+))?"
    r"(?:[万亿])?(?:[ \t]*[%‰])?"
)
_CJK_NUMBER = r"(?<!第)[负負]?(?:百分之|千分之)?[零〇一二两三四五六七八九十百千万亿点]+"


def _unit_suffix() -> str:
    """A unit right after a number (see lexicon.UNITS): "kg", " kg/m", "元/斤", "/kg", "g/cm3"; one that starts with
    its slash ("/kg") takes no second unit. The same as ``[ \t]?U(?:/U)?|/U`` (spaces around the slashes), with the
    unit's trie written twice rather than three times: compiling it is most of the lexer's start-up."""
    unit = _trie_regex([unit for units in UNITS.values() for unit in units]) + r"(?:\^?[23²³])?(?![A-Za-z])"
    return rf"(?:[ \t]?|(?P<slash>[ \t]*/[ \t]*)){unit}(?(slash)|(?:[ \t]*/[ \t]*{unit})?)"


def _number_with_unit() -> str:
    """An Arabic number (group ``num``) or a Chinese one (``cjknum``), and the unit after it (``unit``): one unit
    pattern for both (the masters' largest part after the phrases). A match's number group: :func:`_number_group`."""
    return rf"(?:(?P<num>{_ARABIC_NUMBER})|(?P<cjknum>{_CJK_NUMBER}))(?P<unit>{_unit_suffix()})?"


def _number_group(match: re.Match[str]) -> str:
    """``num`` or ``cjknum``: which number a match of :func:`_number_with_unit` whose last group is ``unit`` holds."""
    return "num" if match.start("num") >= 0 else "cjknum"


@functools.cache
def _master() -> re.Pattern[str]:
    """The lexer's one regex (built on first use: compiling the tries takes ~0.1 s).

    Every match first passes over spaces and tabs (in one step: the lookahead and backreference
    make it atomic, so a long run of spaces stays linear), and every character is matched by some
    group ("skip" for those that make no token, and the end of the text), so the scanner never
    tries all the groups at a position in vain: the token is the match's named group."""
    return re.compile(
        r"(?=([ \t]*))\1(?:"
        + "|".join(
            [
                r"(?P<box>\ue000)",
                r"(?P<qend>[?？]+)",
                r"(?P<ellipsis>\.{2,}|…+)",  # "0.333..." trails off; after a word it is a pause
                r"(?P<send>[。！!；;\n।]+|\.(?!\d))",
                # Clause breaks: commas, "because", table cells, brackets and dashes (an aside or a
                # justification is its own clause: it neither adds to nor cancels the verdict).
                r"(?P<open>[(（\[【])",
                r"(?P<close>[)）\]】])",
                r"(?P<cbreak>[，,|]|—+|(?<=[^\s\d%)‰]\s)-(?=\s)|因为|由于"
                r"|(?<![A-Za-z])(?:because|since)(?![A-Za-z]))",
                r"(?P<latin>(?<![A-Za-z])" + _trie_regex(_LATIN_PHRASES) + r"(?![A-Za-z]))",
                r"(?P<other>" + _trie_regex(_OTHER_PHRASES) + ")",
                _number_with_unit(),
                r"(?P<operator>[+*×÷/-])",
                r"(?P<word>[A-Za-z]+(?:'[a-z]+)?)",
                r"(?P<char>[^\s\"'“”‘’「」『』《》*_`~#¥€£])",
                r"(?P<skip>[\s\"'“”‘’「」『』《》*_`~#¥€£]|\Z)",
            ]
        )
        + ")",
        re.IGNORECASE,
    )


_SPACE = re.compile(r"\s+")
_NUMBERS_ONLY = re.compile(r"[^Nx]+")  # keeps the number tokens of a string of kinds


@dataclass(slots=True)
class _Token:
    kind: str
    start: int
    end: int
    option: int = -1  # for kind "N": index into the case's numbers
    ordinal: int | None = None  # for kind "O" before resolution
    slip: bool = False  # for kind "N": a copy slip ("70767537" for 707675376), see _Options.slips


_MENTION_CACHE_SIZE = 512
_SCALE = {"%": 100, "‰": 1000}
# A copy slip: a long number (at least this many significant digits) that lacks at most this many of
# an option's last digits.
_COPY_SLIP_MIN, _COPY_SLIP_DIGITS = 5, 2
_PLAIN_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


@dataclass
class _Options:
    """The case's numbers, parsed once, and the rule that maps a written number to one of them."""

    texts: tuple[str, ...]  # as written: a choice is reported exactly as the case wrote it
    quantities: tuple[Quantity | None, ...]
    has_cjk: bool = False
    unitless: bool = False  # no option is written with a unit ("%", "‰")
    cache: dict[str, int] = field(default_factory=dict)
    slips: set[str] = field(default_factory=set)  # mentions that name an option only as a copy slip
    gaps: frozenset[Fraction] | None = None  # see differences()

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
        elif not same and self.unitless:
            # A percent sign the case does not write: "12.5%" names 0.125, else the option 12.5
            scaled = mention.value / _SCALE.get(mention.unit, 1)
            same = [index for index, option in enumerate(self.quantities) if option and option.value == scaled]
            same = same or self._equal_values(mention, require_unit=False)
        if len(same) > 1:  # options of one value ("6.200", "6.2"): "6.20" is the one written most like it
            # (and when none is written more like it, "零点九" of 0.9 and 0.90, the first: they are one value)
            return _written_most_like(text, [self.texts[index] for index in same], same, tie=same[0])
        if same:
            return same[0]
        slip = self._copied_short(text)
        if slip >= 0:
            self.slips.add(text)
        return slip

    def _copied_short(self, text: str) -> int:
        """A long number copied with its last digit or two dropped ("70767537" for the option
        707675376, "13.432" for 13.43227) names that option, when it begins no other option."""
        if not _PLAIN_NUMBER.fullmatch(text) or len(text.lstrip("-0.").replace(".", "")) < _COPY_SLIP_MIN:
            return -1
        found = [
            index
            for index, option in enumerate(self.texts)
            if _PLAIN_NUMBER.fullmatch(option)
            and option.startswith(text)
            and 0 < len(option) - len(text) <= _COPY_SLIP_DIGITS
            and option[len(text) :].strip("0")  # "10000" for 100000 is another number, not a slip
            and ("." in text or "." not in option)
        ]
        starts = [option for option in self.texts if option.startswith(text)]
        return found[0] if len(found) == 1 and len(starts) == 1 else -1

    def _equal_values(self, mention: Quantity, *, require_unit: bool) -> list[int]:
        return [
            index
            for index, option in enumerate(self.quantities)
            if option is not None
            and option.value == mention.value
            and (option.unit == mention.unit or not require_unit)
        ]

    def differences(self) -> frozenset[Fraction]:
        """The differences between two options (how much larger one is: "3.9 is larger by 0.01")."""
        if self.gaps is None:
            values = [quantity.value for quantity in self.quantities if quantity is not None]
            self.gaps = frozenset(abs(one - other) for one in values for other in values if one != other)
        return self.gaps

    def same_value(self, indexes: set[int]) -> bool:
        """Whether the options at ``indexes`` all have one value (a tie: "3.3和3.30都是最大的")."""
        quantities = [self.quantities[index] for index in indexes]
        values = {(quantity.value, quantity.unit) for quantity in quantities if quantity is not None}
        return None not in quantities and len(values) == 1


def _shared_prefix(one: str, other: str) -> int:
    """How many leading characters ``one`` and ``other`` share."""
    return next(
        (index for index, (a, b) in enumerate(zip(one, other, strict=False)) if a != b), min(len(one), len(other))
    )


def _written_most_like(text: str, candidates: Sequence[str], indexes: Sequence[int], tie: int = -1) -> int:
    """The index of the candidate sharing the longest prefix with ``text``, or ``tie`` on a tie."""
    shared = [_shared_prefix(text, candidate) for candidate in candidates]
    best = max(shared)
    return indexes[shared.index(best)] if shared.count(best) == 1 else tie


@functools.cache
def _option_with_a_unit() -> re.Pattern[str]:
    return re.compile(r"\s*" + _number_with_unit() + r"\s*")


def _with_a_unit(text: str) -> Quantity | None:
    """An option written with a unit word ("0.45 m", "13.8 kg"; see lexicon.UNITS), which a case file cannot hold
    (there is no truth to judge it by) but a caller of :func:`extract_choice` may pass: its value, the unit kept."""
    found = _option_with_a_unit().fullmatch(text)
    if found is None or found.group("unit") is None:
        return None
    number = try_parse(found.group(_number_group(found)))
    if number is None or number.unit:
        return None
    return Quantity(text, number.value, found.group("unit").strip())


@functools.lru_cache(maxsize=256)
def _make_options(texts: tuple[str, ...]) -> _Options:
    """Parsed options, memoised: a run asks the same case many times (samples, prompts)."""
    quantities = tuple(try_parse(_decimal_points(text)) or _with_a_unit(text) for text in texts)
    has_cjk = any(re.search(_CJK_NUMBER, text) for text in texts)
    unitless = all(quantity is None or not quantity.unit for quantity in quantities)
    return _Options(texts=texts, quantities=quantities, has_cjk=has_cjk, unitless=unitless)


# --------------------------------------------------------------------------------------------------
# 1. Normalisation. Every step keeps the text's length (markup is replaced by spaces, a shorter
#    replacement is padded), so a position in the normalised text is a position in the answer.
# --------------------------------------------------------------------------------------------------

_FOLD = dict(FULL_WIDTH)
_FOLD.update({0xFF0C: "，", 0xFF1F: "？", 0xFF01: "！", 0xFF1B: "；"})  # keep CJK sentence punctuation
_FOLD.update({0xFF08: "（", 0xFF09: "）"})
_FOLD.update({0x2019: "'", 0x2018: "'"})

# An exponent marker set as text inside a number: "1.25\\text{e-}3", "2\\mathrm{E+}5" (see _text_exponent)
_LATEX_TEXT_EXPONENT = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)[ \t]*\\(?:text|mathrm)\s*\{\s*([eE][-+]?)\s*\}\s*(\d+)")
_LATEX_TEXT = re.compile(r"\\(?:text|textbf|textrm|mathrm|mathbf|mbox|operatorname|emph)\s*\{([^{}]*)\}")
_LATEX_BOXED = re.compile(r"\\(?:boxed|fbox)\s*\{([^{}]*)\}")
_LATEX_FRAC = re.compile(r"\\[dt]?frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}")
_LATEX_EXPONENT = re.compile(r"\^\{([-+]?\d+)\}")
_LATEX_SYMBOLS = {
    "gt": ">", "lt": "<", "geq": "≥", "ge": "≥", "geqslant": "≥", "leq": "≤", "le": "≤", "leqslant": "≤",
    "neq": "≠", "ne": "≠", "times": "×", "cdot": "·", "approx": "≈", "rightarrow": "→", "Rightarrow": "⇒",
    "to": "→", "implies": "⇒", "therefore": "∴", "div": "÷",
}  # fmt: skip
_LATEX_COMMAND = re.compile(r"\\([A-Za-z]+)|\\[()\[\],;!%]")
_LATEX_BRACES = re.compile(r"[${}]")
_MARKDOWN_LINE = re.compile(r"^[ \t]*(?:#{1,6}[ \t]+|>[ \t]?|[-*+•][ \t]+|\d{1,2}[.)、][ \t]+)", re.MULTILINE)
# Emphasis and code marks; a lone "*" between numbers or spaces is a multiplication.
_MARKDOWN_INLINE = re.compile(r"(?<![\d\s])\*+|\*+(?![\d\s])|\*{2,}|__|~~|`+")
_EMPHASIS = re.compile(r"\*\*(?=\S)([^*\n]+?)\*\*|__(?=\S)([^_\n]+?)__")
_THINK_OPEN, _THINK_CLOSE = "<think>", "</think>"
_STRUCK = re.compile(r"~~(?=\S)[^~\n]+?~~")


def _padded(replacement: str, length: int) -> str:
    return replacement + " " * (length - len(replacement))


def _blank(text: str) -> str:
    """Spaces in place of ``text``, keeping its line breaks (lines stay lines)."""
    return "".join(char if char == "\n" else " " for char in text)


def _strip_think(text: str) -> tuple[str, bool]:
    """Blank out the model's ``<think>`` reasoning, unless it said nothing else; and whether the
    answer was cut off while still thinking (an unclosed block with nothing said after it).

    Written with ``str.find`` rather than a regex so that many unclosed tags stay linear.
    """
    lowered = text.lower()
    if "think>" not in lowered:
        return text, False
    inside: list[tuple[int, int]] = []  # spans of reasoning, tags excluded
    tags: list[tuple[int, int]] = []
    position = 0
    close = lowered.rfind(_THINK_CLOSE)
    if close >= 0 and _THINK_OPEN not in lowered[:close]:  # the chat template swallowed the opening tag
        inside.append((0, close))
        tags.append((close, close + len(_THINK_CLOSE)))
        position = close + len(_THINK_CLOSE)
    unclosed = False
    while position < len(text):
        start = lowered.find(_THINK_OPEN, position)
        if start < 0:
            break
        tags.append((start, start + len(_THINK_OPEN)))
        end = lowered.find(_THINK_CLOSE, start)
        if end < 0:  # still thinking when the answer was cut off
            inside.append((start + len(_THINK_OPEN), len(text)))
            unclosed = True
            break
        inside.append((start + len(_THINK_OPEN), end))
        tags.append((end, end + len(_THINK_CLOSE)))
        position = end + len(_THINK_CLOSE)
    hidden = sorted(inside + tags)
    pieces: list[str] = []
    said: list[str] = []
    position = 0
    for start, end in hidden:
        if start < position:
            continue
        said.append(text[position:start])
        pieces += [text[position:start], _blank(text[start:end])]
        position = end
    said.append(text[position:])
    pieces.append(text[position:])
    if "".join(said).strip():
        return "".join(pieces), False
    # Nothing but reasoning: read the reasoning (tags blanked), unless it never finished.
    pieces, position = [], 0
    for start, end in sorted(tags):
        pieces += [text[position:start], " " * (end - start)]
        position = end
    pieces.append(text[position:])
    return "".join(pieces), unclosed


_OUTPUT_BODY = re.compile(r"\s*[-+]?(?:\d[\d,]*(?:\.\d+)?|\.\d+)(?:[eE][-+]?\d+|/\d+)?%?\s*")
_CODE_FENCE = re.compile(r"^[ \t]*(```|~~~)[ \t]*([A-Za-z0-9_+-]*)[^\n]*$", re.MULTILINE)


def _blank_code(text: str) -> str:
    """Blank out fenced code blocks: code is not a statement ("if x > 0.5: return True"). A JSON
    block (```json, or a block that is an object) is an answer's structure and stays."""
    if "```" not in text and "~~~" not in text:
        return text
    pieces: list[str] = []
    position = 0
    fences = list(_CODE_FENCE.finditer(text))
    index = 0
    while index < len(fences):
        opening = fences[index]
        after = index + 1
        while after < len(fences) and fences[after].group(1) != opening.group(1):
            after += 1
        closing = fences[after] if after < len(fences) else None
        end = closing.end() if closing is not None else len(text)
        body = text[opening.end() : closing.start() if closing is not None else len(text)]
        is_json = opening.group(2).lower() == "json" or (not opening.group(2) and body.lstrip().startswith("{"))
        is_json = is_json or bool(_OUTPUT_BODY.fullmatch(body))  # a block of one number is output: "Output:\n```\n2.4"
        pieces.append(text[position : opening.start()])
        pieces.append(_blank(text[opening.start() : opening.end()]))
        pieces.append(body if is_json else _blank(body))
        if closing is not None:
            pieces.append(_blank(text[closing.start() : closing.end()]))
        position = end
        index = after + 1
    pieces.append(text[position:])
    return "".join(pieces)


def _latex_command(match: re.Match[str]) -> str:
    name = match.group(1)
    whole = match.group(0)
    if name is None:
        return _padded("%" if whole == "\\%" else " ", len(whole))
    return _padded(_LATEX_SYMBOLS.get(name, " "), len(whole))


def _in_place(match: re.Match[str], head: str, body: str) -> str:
    """``head``, then ``body`` where the match's first group stood, padded to the match's length."""
    offset = match.start(1) - match.start(0)
    return _padded(_padded(head, offset) + body, len(match.group(0)))


def _unwrap(match: re.Match[str]) -> str:
    return _in_place(match, "", match.group(1))


def _exponent(match: re.Match[str]) -> str:
    return _padded("^" + match.group(1), len(match.group(0)))


def _boxed(match: re.Match[str]) -> str:
    return _in_place(match, "\ue000", match.group(1))[:-1] + "\n"


def _text_exponent(match: re.Match[str]) -> str:
    """The number joined up, its exponent padded with leading zeros ("1.25e-00000003"): of the match's length and
    one number, so that the claim's span covers it as written."""
    mantissa, marker, exponent = match.groups()
    marker = marker.strip()
    return mantissa + marker + exponent.rjust(len(match.group(0)) - len(mantissa) - len(marker), "0")


def _frac(match: re.Match[str]) -> str:
    return _in_place(match, "", f"{match.group(1)}/{match.group(2)}")


def _spaces(match: re.Match[str]) -> str:
    return " " * len(match.group(0))


# A decimal comma ("0,6", "1,01", "0,599": French, Spanish, Russian, German answers): a comma between digits that
# cannot group thousands (after a lone 0, or before other than three digits) and that no other separator follows
# ("1,2,3" is a list, "12,500" a thousand grouping). It is read as a point, in the answer and in the options.
_DECIMAL_COMMA = re.compile(r"(?<![\d.,])(?:0,(?=\d+(?!\d|[.,]\d))|[1-9]\d*,(?=(?:\d{1,2}|\d{4,})(?!\d|[.,]\d)))")


def _decimal_comma(match: re.Match[str]) -> str:
    return match.group(0)[:-1] + "."


def _decimal_points(text: str) -> str:
    """``text`` with its decimal commas written as points (of the same length)."""
    return _DECIMAL_COMMA.sub(_decimal_comma, text) if "," in text else text


def _normalise(text: str) -> tuple[str, bool]:
    """The answer as the lexer reads it, of the same length; and whether it was cut off thinking."""
    text, unfinished = _strip_think(text)
    text = _decimal_points(text)
    text = _blank_code(text)
    text = text.translate(_FOLD)
    latex = "\\" in text  # the commands below all start with a backslash
    if latex:
        text = _LATEX_TEXT_EXPONENT.sub(_text_exponent, text)
        for _ in range(3):  # nested \text{} inside \boxed{} and the like
            text = _LATEX_TEXT.sub(_unwrap, text)
        text = _LATEX_FRAC.sub(_frac, text)
        text = _LATEX_BOXED.sub(_boxed, text)
    text = _LATEX_EXPONENT.sub(_exponent, text)
    if latex:
        text = _LATEX_COMMAND.sub(_latex_command, text)
    text = _LATEX_BRACES.sub(" ", text)
    text = _MARKDOWN_LINE.sub(_spaces, text)
    if "~~" in text:
        text = _STRUCK.sub(_spaces, text)  # struck-through text is withdrawn: "~~2.49~~ **2.5**"
    return _MARKDOWN_INLINE.sub(_spaces, text), unfinished


# --------------------------------------------------------------------------------------------------
# 2. Lexing
# --------------------------------------------------------------------------------------------------


def _sign_is_operator(text: str, start: int) -> bool:
    """Whether the sign at ``text[start]`` follows a number, as in "13.8 - 13.11" (a minus, not a sign)."""
    index = start - 1
    while index >= 0 and text[index].isspace():
        index -= 1
    return index >= 0 and (text[index].isdigit() or text[index] in ")%‰")


# Lexer groups that are one token each, and its kind.
_PUNCTUATION = {
    "box": _BOXED,
    "qend": _QUESTION_END,
    "send": _SENTENCE_BREAK,
    "cbreak": _CLAUSE_BREAK,
    "open": _ASIDE_OPEN,
    "close": _ASIDE_CLOSE,
    "operator": _OPERATOR,
}


def _lex(text: str, options: _Options, cells: dict[int, str] | None = None) -> list[_Token]:
    """Read normalised text into tokens; glue yields no token. ``cells`` maps the start of a table
    cell to the kind its column's header gives it (a "larger" column: the cell is "the larger is …")."""
    tokens: list[_Token] = []
    cells = cells or {}
    pending = sorted(cells, reverse=True)
    clause = _ClauseSoFar()
    noun_end = -1  # the end of the noun after "<number>的"
    for match in _master().finditer(text):
        group = match.lastgroup
        if group is None or group == "skip":  # (every match has a named group)
            continue
        if group == "unit":  # a number with its unit: the unit is part of the token, not its value
            unit_end = match.end(group)
            group = _number_group(match)
        else:
            unit_end = -1
        value = match.group(group)
        start, end = match.span(group)
        while pending and pending[-1] <= start:
            cell = pending.pop()
            tokens += [_Token(cells[cell], cell, cell), _Token(_COPULA, cell, cell)]
        if group in _PUNCTUATION:
            tokens.append(_Token(_PUNCTUATION[group], start, end))
        elif group in ("latin", "other"):
            phrase = value.lower()
            kind = _PHRASE_KIND.get(phrase)
            if kind is None:  # a phrase written with other spaces or a line break inside
                phrase = _SPACE.sub(" ", phrase)
                kind = _PHRASE_KIND[phrase]
            if phrase == "about" and not _NUMBER_AHEAD.match(text, end):
                continue  # "think about which": glue; "about 5" approximates the number
            if not kind:  # glue
                continue
            if kind == _MULTIPLE:  # "10倍", "ten times", "0.9 times": see _factor
                factor = _factor(text, tokens, phrase)
                if factor is not None:
                    tokens.append(_Token(_MULTIPLE if factor else _BARRIER, start, end))
                continue
            if kind == _ORDINAL:
                tokens.append(_Token(_ORDINAL, start, end, ordinal=_ORDINAL_PLACES[phrase]))
            elif len(kind) == 2:  # "≠": "not" and "equal to"
                tokens += [_Token(kind[0], start, start), _Token(kind[1], start, end)]
            elif kind in _CLAUSE_OPENERS and phrase in _ARROWS and _rewrites(tokens):
                tokens.append(_Token(_EQUALS, start, end))  # "5.7 → 5.70" rewrites, it concludes nothing
            elif kind in _CLAUSE_OPENERS:
                tokens += [_Token(_CLAUSE_BREAK, start, start), _Token(kind, start, end)]
            elif phrase == ":" and clause.names_a_number(tokens):
                tokens.append(_Token(_CLAUSE_BREAK, start, end))  # "0.8 beats 0.75: written as …"
            else:
                tokens.append(_Token(kind, start, end))
        elif group == "num":
            if value[0] in "-+" and _sign_is_operator(text, start):
                tokens.append(_Token(_OPERATOR, start, start + 1))
                value = value[1:]
                start += 1
            tokens.append(_number_token(value, options, start, max(end, unit_end)))
        elif group == "cjknum":
            body = value.lstrip("负負")
            # A single CJK numeral is usually a word ("一样", "两个"), not a number.
            if len(body) >= 2 or "点" in body or options.has_cjk:
                tokens.append(_number_token(value, options, start, max(end, unit_end)))
            else:
                tokens.append(_Token(_BARRIER, start, max(end, unit_end)))
        elif group == "ellipsis":
            if start and not text[start - 1].isdigit():
                tokens.append(_Token(_CLAUSE_BREAK, start, end))
        elif group == "word" and ((word := value.lower()) in _GLUE_WORDS or word.endswith("ly")):
            continue
        elif group == "word" and _describes_a_noun(text, tokens, start):
            continue  # "the 18.5 kg parcel is heavier": the parcel is the number to the grammar
        elif (
            group == "char"
            and "\u4e00" <= value <= "\u9fff"
            and (start == noun_end or _names_a_noun(text, tokens, start))
        ):
            noun_end = end  # "6.45元的那支笔更便宜": the noun a number describes is that number to the grammar
        elif tokens and tokens[-1].kind == _BARRIER:
            tokens[-1].end = end  # a run of other words and characters is one barrier
        else:
            tokens.append(_Token(_BARRIER, start, end))
    _join_lists(tokens, text)
    _read_attributes(tokens, text)
    return tokens


_SAME_BEFORE_A_NOUN = frozenset(phrase for phrases in SAME_BEFORE_A_NOUN.values() for phrase in phrases)
_VALUE_NOUNS = frozenset(noun for nouns in VALUE_NOUNS.values() for noun in nouns)
_LOOSE_EQUALS = frozenset(LOOSE_EQUALS)
_FIRST_WORD = re.compile(r"[A-Za-z]+|\S{1,2}")


def _read_attributes(tokens: list[_Token], text: str) -> None:
    """Two readings that depend on the token after a word: "the same" before a noun describes the noun ("the same
    sign", "相同的形式": a BARRIER, see lexicon.SAME_BEFORE_A_NOUN), and "≈" between two options says they are close,
    not equal ("1/3 ≈ 0.33": APPROXIMATE, see lexicon.LOOSE_EQUALS)."""
    for index in range(len(tokens) - 1):
        token, after = tokens[index], tokens[index + 1]
        if token.kind == Kind.SAME.value and after.kind == _BARRIER:
            gap = text[token.end : after.start].strip()
            word = _FIRST_WORD.match(text, after.start)
            if (
                gap in ("", "的")
                and _SPACE.sub(" ", text[token.start : token.end].lower()) in _SAME_BEFORE_A_NOUN
                and (word is None or word.group(0).lower() not in _VALUE_NOUNS)
                and not any(text.startswith(noun, after.start) for noun in _VALUE_NOUNS if not noun.isascii())
            ):
                token.kind = _BARRIER
        elif (
            token.kind == _EQUALS
            and index
            and tokens[index - 1].kind == _OPTION
            and after.kind == _OPTION
            and text[token.start : token.end] in _LOOSE_EQUALS
        ):
            token.kind = _APPROXIMATE


_NUMBER_AHEAD = re.compile(r"\s*[-+]?[.\d]")
# What follows a word that ends its sentence ("…, the former." but not "The first number, 11.11, has …")
_ENDS_A_SENTENCE = re.compile(r"[\s*_)）\]】]*(?:[.。!！?？;；\n]|\Z)")


_ARTICLE_BEFORE = re.compile(r"(?<![A-Za-z])(?:the|a|an|this|that)\s+\Z", re.IGNORECASE)


def _describes_a_noun(text: str, tokens: Sequence[_Token], start: int) -> bool:
    """Whether the word at ``start`` is the noun an article's number describes: "the 18.5 kg parcel", "a 3.2 m rod"."""
    if not tokens or tokens[-1].kind not in (_OPTION, _OTHER) or text[tokens[-1].end : start].strip():
        return False
    number = tokens[-1].start
    return bool(_ARTICLE_BEFORE.search(text, max(0, number - 6), number))


# The multiple words that say their factor ("两倍", "ten times"); "times" and "倍" need it written before them
_BARE_MULTIPLES = frozenset(
    phrase for phrases in PHRASES.values() for phrase in phrases.get(Kind.MULTIPLE, ()) if phrase not in ("times", "倍")
)


def _factor(text: str, tokens: Sequence[_Token], phrase: str) -> bool | None:
    """What a multiple word says: True for a factor above one ("10倍", "1.8 times", "两倍", "ten times": the number
    before it is that many times the other, the larger), False for one below one ("9.9 is 0.9 times larger than
    9.91" says a factor that makes a number smaller makes it larger, so the claim asserts nothing: the word stands
    between the amount and the comparative as one the grammar does not read through), None for neither (no factor
    written before "times", or a factor of one: the word is glue)."""
    if phrase in _BARE_MULTIPLES:
        return True
    if not tokens or tokens[-1].kind != _OTHER:
        return None
    factor = try_parse(text[tokens[-1].start : tokens[-1].end])
    if factor is None or factor.value < 0 or factor.value == 1:
        return None
    return bool(factor.value > 1)


def _names_a_noun(text: str, tokens: Sequence[_Token], start: int) -> bool:
    """Whether the word at ``start`` follows "<number>的": the noun the number describes ("6.45元的那支笔")."""
    return bool(tokens) and tokens[-1].kind in (_OPTION, _OTHER) and text[tokens[-1].end : start].strip() == "的"


def _join_lists(tokens: list[_Token], text: str) -> None:
    """Commas in a list of numbers join, not break: "the largest of 6.27, 6.24, 6.2 and 6.78 is 6.78"
    is one clause. A list is numbers separated by commas that ends with "and"/"or", or three or more
    numbers separated by nothing but commas ("6.27, 6.24, 6.2, 6.78")."""
    numbers = (_OPTION, _OTHER)
    for comma in range(len(tokens) - 3, 2, -1):  # "0.55, 0.505, and 0.5": the serial comma before "and" joins too
        if (
            tokens[comma].kind == _CLAUSE_BREAK
            and tokens[comma + 1].kind == _AND
            and tokens[comma + 2].kind in numbers
            and tokens[comma - 1].kind in numbers
            and tokens[comma - 2].kind == _CLAUSE_BREAK
            and text[tokens[comma].start] in ",，"
            and text[tokens[comma - 2].start] in ",，"
            and tokens[comma - 3].kind in numbers
        ):
            del tokens[comma]
    index = 0
    while index < len(tokens):
        if tokens[index].kind not in numbers:
            index += 1
            continue
        last = index
        while (
            last + 2 < len(tokens)
            and tokens[last + 1].kind == _CLAUSE_BREAK
            and text[tokens[last + 1].start] in ",，"
            and tokens[last + 2].kind in numbers
        ):
            last += 2
        ends_with_and = last + 2 < len(tokens) and tokens[last + 1].kind == _AND
        if (last > index and ends_with_and and tokens[last + 2].kind in numbers) or last >= index + 4:
            for comma in range(index + 1, last, 2):
                tokens[comma].kind = _AND
        index = last + 1


@dataclass
class _ClauseSoFar:
    """Whether the clause being lexed names a number or the options as a group yet: then a colon
    explains it ("0.8 beats 0.75: …", "13.8 vs 13.11: …", "Both are equal: 6.50 has a trailing
    zero") and ends the clause; otherwise the clause is a label ("答案：", "Larger number:") and the
    colon is a copula. Reads each token once, so many colons stay linear."""

    seen: int = 0
    number: bool = False

    def names_a_number(self, tokens: Sequence[_Token]) -> bool:
        for token in tokens[self.seen :]:
            if token.kind in (_CLAUSE_BREAK, _SENTENCE_BREAK, _QUESTION_END):
                self.number = False
            elif token.kind in (_OPTION, _OTHER, _GROUP):
                self.number = True
        self.seen = len(tokens)
        return self.number


def _rewrites(tokens: Sequence[_Token]) -> bool:
    """Whether an arrow here rewrites a number ("- 5.7 → 5.70"): it follows a number that opens its clause."""
    if not tokens or tokens[-1].kind not in (_OPTION, _OTHER):
        return False
    return len(tokens) == 1 or tokens[-2].kind in (_CLAUSE_BREAK, _SENTENCE_BREAK, _QUESTION_END)


def _number_token(text: str, options: _Options, start: int, end: int) -> _Token:
    index = options.match(text)
    if index < 0:
        return _Token(_OTHER, start, end)
    return _Token(_OPTION, start, end, option=index, slip=bool(options.slips) and text.strip() in options.slips)


def _resolve_references(tokens: list[_Token], count: int, text: str) -> None:
    """Turn words that point at an option into that option.

    Ordinals ("前者", "the latter", "第二个") refer to the order in which the numbers were last listed
    together (in the current clause, else in the latest clause that listed two or more), falling back
    to the case's own order. A relative word ("which", "这") refers to the number just before it
    ("9.9 = 9.90, which is larger than 9.11"), never to the last of a list ("13.8 and 13.11, which
    is larger"); otherwise "which" asks and "这" is nothing.
    """
    recent: list[int] = list(range(count))
    current: list[int] = []
    for index, token in enumerate(tokens):
        if token.kind in (_CLAUSE_BREAK, _SENTENCE_BREAK, _QUESTION_END):
            if len(set(current)) >= 2:
                recent = current
            current = []
        elif token.kind == _OPTION:
            if token.option not in current:
                current.append(token.option)
        elif token.kind == _ORDINAL and token.ordinal is not None:
            context = current if len(set(current)) >= 2 else recent
            if -len(context) <= token.ordinal < len(context):
                token.kind, token.option = _OPTION, context[token.ordinal]
            else:
                token.kind = _BARRIER
        elif token.kind == _RELATIVE:
            _resolve_relative(tokens, index)
    _resolve_group_subjects(tokens, count)
    _resolve_pronouns(tokens, text)


_GROUP_SUBJECT = re.compile(r"[JKkVCG]*(Q+)[iQ]*[><glTBSE]")
_CLAUSE_KINDS = re.compile(r"[^,|?]+")  # the clauses of a string of kinds


def _resolve_group_subjects(tokens: list[_Token], count: int) -> None:
    """ "They"/"both"/"它们" opening a comparison with an option that is not among them, or saying they are the
    same, is the options the clause before listed: "1.5 and 1.50 are equal, and both are larger than 1.05"
    (options 1.5 and 1.50), "…，它们都比1.05大", "2.5 and 2.50 are tied, they're the same number" (of three
    options, in one sentence: of two, "they are equal" is about both options anyway)."""
    kinds = "".join([token.kind for token in tokens])
    if _GROUP not in kinds:
        return
    listed: list[int] = []  # the options of the latest clause that named two or more
    in_sentence = False  # whether that clause is in the sentence of the clause read
    replacements: list[tuple[int, list[int]]] = []  # a group word's index, the options it stands for
    for clause in _CLAUSE_KINDS.finditer(kinds):
        start, end = clause.span()
        if start and kinds[start - 1] in (_SENTENCE_BREAK, _QUESTION_END):
            in_sentence = False
        found = _GROUP_SUBJECT.match(kinds, start, end) if len(listed) >= 2 else None
        if found is not None:
            compared = {token.option for token in tokens[found.end(1) : end] if token.kind == _OPTION}
            same = kinds[found.end() - 1] == Kind.SAME.value and not compared  # "…, they're the same number"
            if (same and in_sentence and len(listed) < count) or (compared and not compared & set(listed)):
                replacements.append((found.start(1), listed))
        if kinds.count(_OPTION, start, end) >= 2:
            current = list(dict.fromkeys(token.option for token in tokens[start:end] if token.kind == _OPTION))
            if len(current) >= 2:  # (a list made with a bracket, "4.5 (or 4.50", names no tie)
                listed, in_sentence = current, _ASIDE_OPEN not in kinds[start:end]
    for index, options in reversed(replacements):
        group = tokens[index]
        spelled = [_Token(_OPTION, group.start, group.end, option=options[0])]
        for option in options[1:]:
            spelled += [_Token(_AND, group.start, group.start), _Token(_OPTION, group.start, group.end, option=option)]
        tokens[index : index + 1] = spelled


_MARKERS = frozenset("KkVCG")
_BEFORE_A_SUBJECT = frozenset({Kind.NEGATION.value, _COPULA})  # "…, nor is it smaller": the subject comes later
_COMPARED = frozenset("BS><glT=E")


def _resolve_pronouns(tokens: list[_Token], text: str) -> None:
    """A pronoun subject of a comparison ("it is smaller", "它比16.23大"), or a clause that opens with "比"
    and no subject, is the option that opened the latest clause outside brackets ("-1.25 is further from zero
    …, which makes it the smaller"),
    or a statement after a label's colon ("区别在百分位：16.28的百分位是8，这使得它比16.23大"); any other
    pronoun is glue ("it is 13.8")."""
    subject = -1
    opens_clause = True
    depth = 0
    carried: list[tuple[int, int]] = []  # where a clause opens with "比" and no subject, and whose it is
    for index, token in enumerate(tokens):
        kind = token.kind
        if kind == _ASIDE_OPEN:
            depth += 1
        elif kind == _ASIDE_CLOSE:
            depth = max(depth - 1, 0)
        elif kind in (_CLAUSE_BREAK, _SENTENCE_BREAK, _QUESTION_END):
            opens_clause = depth == 0 or opens_clause
        elif kind == _PRONOUN:
            after = index + 1
            while after < len(tokens) and tokens[after].kind == _COPULA:
                after += 1
            if subject >= 0 and after < len(tokens) and tokens[after].kind in _COMPARED:
                token.kind, token.option = _OPTION, subject
            else:
                token.kind = ""
        elif kind == _COPULA and text[token.start] == ":":
            opens_clause = depth == 0 or opens_clause
        elif depth == 0 and opens_clause and kind == Kind.THAN.value and subject >= 0 and text[token.start] == "比":
            carried.append((index, subject))  # "22/7 ≈ 3.142857，比3.14大": the subject goes on
            opens_clause = False
        elif depth == 0 and opens_clause and kind not in _MARKERS and kind not in _BEFORE_A_SUBJECT:
            subject = token.option if kind == _OPTION else -1
            opens_clause = False
    for index, option in reversed(carried):
        tokens.insert(index, _Token(_OPTION, tokens[index].start, tokens[index].start, option=option))
    tokens[:] = [token for token in tokens if token.kind]


def _resolve_relative(tokens: list[_Token], index: int) -> None:
    token = tokens[index]
    before = index - 1
    while before >= 0 and tokens[before].kind == _CLAUSE_BREAK:
        before -= 1
    named = tokens[before] if before >= 0 else None
    # "8.5% equals 0.085, which exceeds 0.08": the value restates the option before it (not a
    # result: "851.2 - 850.7695 = 3.48, which is the largest")
    if (
        named is not None
        and named.kind == _OTHER
        and before >= 2
        and tokens[before - 1].kind == _EQUALS
        and tokens[before - 2].kind == _OPTION
        and (before < 3 or tokens[before - 3].kind != _OPERATOR)
    ):
        named = tokens[before - 2]
    in_list = before >= 1 and tokens[before - 1].kind == _AND
    if named is not None and named.kind in (_OPTION, _OTHER) and not in_list:
        token.kind, token.option = named.kind, named.option
    elif token.end - token.start > 1:  # "which", not "这"
        token.kind = _QUESTION
    else:
        token.kind = _BARRIER


_TABLE_SEPARATOR = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?\s*$")


def _table_cells(text: str, options: _Options) -> dict[int, str]:
    """Cells of markdown tables whose column header names a verdict ("larger", "答案"), by position.

    A table is a header line with "|", a separator line (``|---|---|``) and the rows after it.
    """
    if "|" not in text or "--" not in text:
        return {}
    cells: dict[int, str] = {}
    lines = text.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    row = 1
    while row < len(lines):
        if "|" not in lines[row - 1] or not _TABLE_SEPARATOR.match(lines[row]):
            row += 1
            continue
        header = _cells(lines[row - 1])
        verdicts = {column: kind for column, (_, cell) in enumerate(header) if (kind := _header_kind(cell, options))}
        ranks = [column for column, (_, cell) in enumerate(header) if cell.strip().lower() in _RANK_HEADERS]
        row += 1
        while row < len(lines) and "|" in lines[row]:
            found = _cells(lines[row])
            first = ranks and ranks[0] < len(found) and found[ranks[0]][1].strip() == "1"
            ranked = _rank_direction(text) if first else ""
            for column, (start, cell) in enumerate(found):
                kind = verdicts.get(column) or (ranked if column not in ranks else "")
                if kind and cell.strip():
                    cells[offsets[row] + start + len(cell) - len(cell.lstrip())] = kind
            row += 1
    return cells


_RANK_HEADERS = frozenset(header for headers in RANK_HEADERS.values() for header in headers)
_DESCENDING = re.compile("|".join(re.escape(phrase) for phrases in DESCENDING.values() for phrase in phrases), re.I)
_ASCENDING = re.compile("|".join(re.escape(phrase) for phrases in ASCENDING.values() for phrase in phrases), re.I)


def _rank_direction(text: str) -> str:
    """What rank 1 of a ranking table is, by the order the answer states: LARGER ("按从大到小", "descending"),
    SMALLER ("from smallest to largest"), or "" when it states neither or both."""
    descending, ascending = bool(_DESCENDING.search(text)), bool(_ASCENDING.search(text))
    if descending == ascending:
        return ""
    return _LARGER if descending else _SMALLER


def _cells(line: str) -> list[tuple[int, str]]:
    """(offset, text) of each cell of a table line, edge pipes dropped."""
    found: list[tuple[int, str]] = []
    start = 0
    stripped = line.rstrip("\n")
    for index, char in enumerate([*stripped, "|"]):
        if char == "|":
            found.append((start, stripped[start:index]))
            start = index + 1
    if found and not found[0][1].strip():
        found = found[1:]
    if found and not found[-1][1].strip():
        found = found[:-1]
    return found


def _header_kind(cell: str, options: _Options) -> str:
    """The verdict a column header names: "larger"/"更大" (LARGER), "smaller", "answer"; else ""."""
    kinds = {token.kind for token in _lex(cell, options)}
    if kinds & {_OPTION, _OTHER} or len(kinds) != 1:
        return ""
    (kind,) = kinds
    return kind if kind in (_LARGER, _SMALLER, _ANSWER) else ""


# --------------------------------------------------------------------------------------------------
# 3. Claims per clause: the grammar
# --------------------------------------------------------------------------------------------------

# The grammar's symbols: every kind of the lexicon by its name, the lexer's own tokens, and a few
# compounds. A rule is written as symbols separated by spaces, each optionally labelled
# (``left:OPTIONS``: the options the claim is about) and quantified (``?``, ``*``, ``+``);
# ``A|B`` is either symbol, ``[ ... ]`` groups.
_SYMBOLS: dict[str, str] = {kind.name: re.escape(kind.value) for kind in Kind if kind.value} | {
    "OPTION": _OPTION,
    "LIST": "N(?:JN)+",  # "13.8 和 13.11"
    "OPTIONS": "N(?:JN)*",
    "OPERAND": "(?:N(?:JN)*|Q+)",  # "than 13.11", "than both"
    "OTHER": _OTHER,  # a number that is no option
    "OTHERS": "x(?:Jx)*",
    "AMOUNT": "L?(?:xM?|M)",  # "0.69 larger than", "1.8 times", "ten times", "approximately 8.7%"
    "IS_ABOUT": "(?:i+(?:Li*)?|Li+)",  # "is", "is approximately", "约为"
    "BOXED": _BOXED,
    # An operand that continues into a list or a relation ("答案是 X 和 Y 一样大") is not the whole
    # statement, and "X 更大" is not "X 更大 than Y".
    "END_OF_OPERAND": r"(?!J[Nx]|[><gl=TBSE])",
    "END_OF_NUMBER": r"(?![><gl=TBSEx+])",
    "NOT_COMPARED": r"(?![T><])",
    "NOT_COMPARED_FURTHER": r"(?![TBS><])",
    "ALONE": r"(?![NxQJ><gl=TBSE])",  # a word that is the whole statement: "answer: neither"
    "END_OF_CLAUSE": "$",
    "START_OF_CLAUSE": "^",
}


# The kinds a compound symbol's match can begin with ("" for a lookahead, which matches no token).
_FIRST_OF_COMPOUND = {
    "OPTION": "N", "LIST": "N", "OPTIONS": "N", "OPERAND": "NQ", "OTHER": "x", "OTHERS": "x", "AMOUNT": "LxM",
    "IS_ABOUT": "iL", "BOXED": "X", "END_OF_OPERAND": "", "END_OF_NUMBER": "", "NOT_COMPARED": "",
    "NOT_COMPARED_FURTHER": "", "ALONE": "", "END_OF_CLAUSE": "", "START_OF_CLAUSE": "",
}  # fmt: skip


def _first_of(name: str) -> str:
    """The kinds a symbol's match can begin with ("" for a lookahead)."""
    return _FIRST_OF_COMPOUND[name] if name in _FIRST_OF_COMPOUND else Kind[name].value


def _first_kinds(grammar: str) -> frozenset[str] | None:
    """The token kinds a match of ``grammar`` can begin with (None: any), so that a rule is tried only
    where it can start."""
    first: set[str] = set()
    for item in grammar.split():
        found = re.fullmatch(r"(?:\w+:)?([A-Z_|]+)([?*+]?)", item)
        if found is None:  # a group: work it out no further
            return None
        names, quantifier = found.groups()
        kinds = "".join(_first_of(name) for name in names.split("|"))
        first.update(kinds)
        if kinds and quantifier not in ("?", "*"):  # a lookahead or an optional symbol: look further
            return frozenset(first)
    return None


def _compile(grammar: str) -> re.Pattern[str]:
    parts: list[str] = []
    for item in grammar.split():
        if item == "[":
            parts.append("(?:")
        elif item.startswith("]"):
            parts.append(")" + item[1:])
        else:
            found = re.fullmatch(r"(?:(\w+):)?([A-Z_|]+)([?*+]?)", item)
            assert found is not None, item
            label, names, quantifier = found.groups()
            alternatives = [_SYMBOLS[name] for name in names.split("|")]
            if len(alternatives) == 1:
                body = alternatives[0]
            elif all(len(alternative.lstrip("\\")) == 1 for alternative in alternatives):
                body = "[" + "".join(alternatives) + "]"
            else:
                body = "(?:" + "|".join(alternatives) + ")"
            parts.append((f"(?P<{label}>{body})" if label else body) + quantifier)
    return re.compile("".join(parts))


@dataclass(frozen=True)
class Rule:
    """One named rule of the grammar: ``grammar`` in symbol names (kinds of the lexicon and a few
    compounds), ``fact`` what a match asserts ("gt", "lt", "eq", "top", "answer", ...), ``pattern``
    the compiled regular expression over the tokens' one-character codes."""

    name: str
    fact: str
    grammar: str
    pattern: re.Pattern[str] = field(compare=False)


def _rule(name: str, fact: str, grammar: str) -> Rule:
    return Rule(name, fact, grammar, _compile(grammar))


# In priority order; tried at every position where a claim can start. No two adjacent quantifiers
# may match the same token: runs of "is is is" must not backtrack.
GRAMMAR: tuple[Rule, ...] = (
    _rule(
        "x-greater-than-y",  # "13.8 > 13.11", "13.8 is 0.69 larger than 13.11", "9.9 beats 9.11"
        "gt",
        "left:OPTIONS COPULA|GROUP* [ neg:NEGATION COPULA* ]? AMOUNT? GREATER|AT_LEAST COPULA* right:OPERAND",
    ),
    _rule(
        "x-less-than-y",
        "lt",
        "left:OPTIONS COPULA|GROUP* [ neg:NEGATION COPULA* ]? AMOUNT? LESS|AT_MOST COPULA* right:OPERAND",
    ),
    _rule(  # "13.8比13.11大", "13.8比13.11高0.69"
        "x-than-y-larger",
        "gt",
        "left:OPTIONS GROUP* [ neg:NEGATION COPULA* ]? THAN right:OPERAND GROUP* COPULA* LARGER",
    ),
    _rule(
        "x-than-y-smaller",
        "lt",
        "left:OPTIONS GROUP* [ neg:NEGATION COPULA* ]? THAN right:OPERAND GROUP* COPULA* SMALLER",
    ),
    _rule(  # "10.9 is a larger number than 10.90"
        "x-is-larger-than-y",
        "gt",
        "left:OPTIONS COPULA|GROUP* [ neg:NEGATION COPULA* ]? AMOUNT? LARGER THAN right:OPERAND",
    ),
    _rule(
        "x-is-smaller-than-y",
        "lt",
        "left:OPTIONS COPULA|GROUP* [ neg:NEGATION COPULA* ]? AMOUNT? SMALLER THAN right:OPERAND",
    ),
    # "0.7 is 10 times 0.07", "0.7是0.07的10倍", "1.2是0.6的两倍" (a factor above one: see _factor)
    _rule("x-is-n-times-y", "gt", "left:OPTION COPULA+ APPROXIMATE? OTHER? MULTIPLE right:OPTION END_OF_OPERAND"),
    _rule("x-is-y-n-times", "gt", "left:OPTION COPULA+ right:OPTION APPROXIMATE? OTHER? MULTIPLE"),
    # "4.8 is in the middle", "4.8居中", "the middle one is 4.8": of three or more, neither end
    _rule("x-is-in-the-middle", "middle", "left:OPTION COPULA* MIDDLE"),
    _rule("the-middle-is-x", "middle", "MIDDLE IS_ABOUT left:OPTION END_OF_OPERAND"),
    _rule("x-not-as-large-as-y", "lt", "left:OPTIONS NOT_AS right:OPERAND COPULA* LARGER"),  # "X 没有 Y 大"
    _rule("x-not-as-small-as-y", "gt", "left:OPTIONS NOT_AS right:OPERAND COPULA* SMALLER"),
    # "9.91 and 9.9 are both 9.9", "5.50 and 5.5 are both equal to 5.5", "478.3 and 478.15 are both
    # 478", "6.05和6.5都是6": each is said to be one value, so they are equal (also when the value is
    # no option: the claim is that they are one value; "both larger than 5" is no such claim)
    _rule("x-and-y-are-both-z", "eq", "left:LIST COPULA* GROUP COPULA* EQUALS? OPTION END_OF_NUMBER"),
    # ... a value that is no option, said by itself ("both 20 characters long" is no value of theirs)
    _rule("x-and-y-are-both-another-number", "eq", "left:LIST COPULA* GROUP COPULA* EQUALS? OTHER END_OF_CLAUSE"),
    # "-15.5 and -15.55 are indeed 20.6" (not "the sum of 6.5 and 6.45 is 12.95": the list opens the clause)
    _rule("x-and-y-are-another-number", "eq", "START_OF_CLAUSE left:LIST COPULA+ EQUALS? OTHER END_OF_CLAUSE"),
    # "They are both 5.5", "Both are equal to 8.10", "两者都是0.7": of two options, when the sentence
    # is about them (not "the tenths digits are 8 and 8; they are both 8")
    _rule("they-are-both-z", "both", "GROUP+ COPULA+ GROUP? EQUALS? OPTION END_OF_OPERAND"),
    # ... a value that is no option ("Both are equal to 2", "they are both 10", "两者都等于10"): they are said to be
    # one value (the coordinator's convention for "X and Y are both Z"), said with "equal to" by a clause about
    # them ("both are 13" of the integer parts, "the difference between the two numbers is 0.09", "2.1 and 3.0
    # are both equal to 3.0" of other numbers are no such claim)
    _rule(
        "they-are-both-another-number", "both_other", "START_OF_CLAUSE GROUP+ COPULA* GROUP? EQUALS OTHER END_OF_NUMBER"
    ),
    # "12.45% is not a different value from 12.5%", "0.5 and 1/2 are not different numbers": a denied difference
    # says they are one value
    _rule("x-is-not-different-from-y", "eq", "left:OPTION COPULA* NEGATION COPULA* DIFFERENT right:OPTION"),
    _rule("x-and-y-are-not-different", "eq", "left:LIST GROUP? COPULA* NEGATION COPULA* DIFFERENT NOT_COMPARED"),
    # "…, but 1.11 is not equal to 20", "it's not equal to 20": denies an equality said through that value
    _rule("not-equal-to-another-number", "not_eq", "left:OPTION? COPULA* NEGATION COPULA* EQUALS OTHER END_OF_NUMBER"),
    _rule("x-equals-y", "eq", "left:OPTIONS COPULA|GROUP* [ neg:NEGATION COPULA* ]? EQUALS COPULA* right:OPERAND"),
    # "10000001 is 9999999", "1/4 is indeed 0.3", "0.7就是0.70": an option said to be another option, and
    # nothing more, says they are one value (an option said to be itself rewritten, "9.9 is 9.90", is no claim)
    _rule("x-is-y", "eq", "left:OPTION COPULA+ right:OPTION END_OF_CLAUSE"),
    # "1.4 is not 150% because ...", "0.3 is not 3/10": an option said not to be another option only denies that they
    # are one value; it eliminates neither (unlike "the answer is not 150%", "……，而不是 X")
    _rule("x-is-not-y", "eq", "left:OPTION COPULA* neg:NEGATION COPULA* right:OPTION END_OF_OPERAND"),
    _rule(  # "X 和 Y 相等", not "X和Y相等的…比较大"
        "x-and-y-are-equal", "eq", "left:LIST GROUP? COPULA* GROUP? [ neg:NEGATION COPULA* ]? SAME NOT_COMPARED_FURTHER"
    ),
    _rule(  # "13.8 更大", "13.8 is the larger one", "13.8 comes out ahead", "13.8 is 0.69 larger"
        "x-is-larger",
        "top",
        "left:OPTION COPULA* [ neg:NEGATION|NOT_AS COPULA* ]? AMOUNT? adj:LARGER|SMALLER NOT_COMPARED",
    ),
    _rule(  # "the larger of 13.8 and 13.11 is 13.8"
        "the-larger-of-them-is-x", "top", "adj:LARGER|SMALLER OF OPERAND COPULA+ left:OPTION END_OF_OPERAND"
    ),
    _rule("the-larger-is-not-x", "top", "adj:LARGER|SMALLER neg:NEGATION COPULA* left:OPTION END_OF_OPERAND"),
    # "更大的是 X", "the larger value is approximately 7.9", "较小的数约为4.35"
    _rule("the-larger-is-x", "top", "adj:LARGER|SMALLER IS_ABOUT left:OPTION END_OF_OPERAND"),
    # "the smaller number 0.78 is …": the apposition names 0.78 the smaller, and 0.78 goes on to be the
    # subject of what the clause says next (see _APPOSITIONS)
    _rule("the-larger-x", "top", "adj:LARGER|SMALLER left:OPTION END_OF_OPERAND"),
    # "the smaller number is 2.9" of 2.3 and 2.29: the value named as the answer is no option
    _rule("the-larger-is-another-number", "other", "LARGER|SMALLER IS_ABOUT OTHER END_OF_NUMBER"),
    _rule("the-largest-are-x-and-y", "tie", "adj:LARGER|SMALLER COPULA COPULA* left:LIST END_OF_OPERAND"),
    _rule("answer-is-x", "answer", "ANSWER|BOXED COPULA* [ neg:NEGATION COPULA* ]? left:OPTION END_OF_OPERAND"),
    _rule(  # "the answer is 26.91", "the answer is either 15 or 18", "\\boxed{0.05}"
        "answer-is-another-number", "other", "ANSWER|BOXED COPULA* GROUP? left:OTHERS END_OF_NUMBER"
    ),
    _rule("answer-is-equal", "answer_eq", "ANSWER|BOXED COPULA* [ GROUP COPULA* ]? SAME"),
    # "neither 0.5 nor 1/2 is larger": equal; "neither 0.3 nor 0.305 can be the largest" of three: the third is
    _rule("neither-x-nor-y-is-larger", "neither_of", "NEITHER left:LIST COPULA* adj:LARGER|SMALLER"),
    _rule("neither-is-larger", "neither", "NEITHER COPULA* LARGER|SMALLER"),
    _rule("neither-is-greater-than-the-other", "neither", "NEITHER COPULA* GREATER|LESS GROUP"),
    _rule("the-answer-is-neither", "neither", "ANSWER|BOXED COPULA* NEITHER ALONE"),  # {"answer": "neither"}
    _rule("not-x-is-larger", "not_top", "NEGATION COPULA* left:OPTION COPULA* adj:LARGER|SMALLER NOT_COMPARED"),
    # "Density: 4.9, not 4.16", "约为4.9而不是4.16": the value asserted is no option, and denying an
    # option does not choose the others
    _rule("x-not-y", "other", "OTHER COPULA* NEGATION COPULA* OPTION"),
    _rule("not-x", "not_answer", "NEGATION COPULA* left:OPTION END_OF_OPERAND"),  # "……，而不是 X"
)
_CONCLUDED_OPTION = _rule(
    # "所以是13.8", "but it's actually 7.03", "但其实是7.03" (and "... 7.03 which is a decimal": a relative, which is
    # the option again, that says nothing more of it)
    "so-x",
    "answer",
    "CONTRAST? COPULA* CONCLUSION|CONCLUDING|CORRECTION|IN_FACT+ COPULA* left:OPTION [ OPTION COPULA BARRIER|OF* ]?",
)
_CONCLUDED_OTHER = _rule(
    "so-another-number", "other", "CONCLUSION|CONCLUDING|CORRECTION|IN_FACT+ COPULA* OTHER"
)  # "so it's 14"
# The rules of GRAMMAR that can start at a token of each kind, in GRAMMAR's order (a rule whose first
# kinds are not known is tried everywhere).
_FIRSTS = [_first_kinds(rule.grammar) for rule in GRAMMAR]
_ANYWHERE = tuple(rule for rule, first in zip(GRAMMAR, _FIRSTS, strict=True) if first is None)
_RULES_AT: dict[str, tuple[Rule, ...]] = {
    start: tuple(rule for rule, first in zip(GRAMMAR, _FIRSTS, strict=True) if first is None or start in first)
    for start in set().union(*(first for first in _FIRSTS if first is not None))
}
_APPOSITIONS = frozenset({"the-larger-x"})  # their option also starts the claim after them
_CHAINS = frozenset({"gt", "lt", "eq"})  # "13.8 > 13.11 > 9.9": the right operand starts the next link
# Arithmetic: an operator between two numbers ("8.111 / 8.96", "0.5 * 3 + 0.5").
# An operator before or after a bracketed group, which is a clause of its own, leaves two operators side by side in
# the clause around it: "1.5e-4 = 0.00016 * (1 + 1) / 2".
_ARITHMETIC = re.compile(r"[Nx]\+[Nx]|[Nx]\+\+|\+\+[Nx]")
# "almost the same" approximates the claim; "approximately 1.25 times larger" and "roughly twice as
# large as" only its amount, and "the larger is approximately 7.9" (an option) only how the option
# is written.
_APPROXIMATION = re.compile(r"L(?!i*[xN><])")
_SETTING_ASIDE = frozenset("wWfhdacLP")
_LOOSE_EQUALITY = re.compile(r"L[^,|?]*[E=]|[E=][^,|?]*L")  # "essentially the same", "the same, roughly"
# Two claims joined by "or"/"还是" offer a choice, not make one: "13.8更大还是13.11更大".
_ALTERNATIVES = re.compile(r"[BS><][^BS><]*JN[^BS><]*[BS><]")
_OR_WORDS = frozenset({"or", "或", "或者", "还是"})
_LABELLED_LIST = re.compile(r"[BS]i+N(?:JN)+")  # "Larger: 128 or 127.99" (with "and": a tie)


def _offers_alternatives(clause: Sequence[_Token], kinds: str, answer: str) -> bool:
    """ "13.8更大还是13.11更大", "Larger: 128 or 127.99": claims or options joined by "or" offer a choice."""
    return bool(_ALTERNATIVES.search(kinds) or _LABELLED_LIST.search(kinds)) and any(
        token.kind == _AND and answer[token.start : token.end].lower() in _OR_WORDS for token in clause
    )


_MARKER_WORDS = frozenset("KkCGV") | {_COPULA}
_BARE_OPTION = re.compile(r"i*N")


@dataclass(frozen=True)
class _Fact:
    """One asserted statement. ``kind``: "gt" (a > b), "ngt" (a is not > b), "top" (a is the
    extreme in ``direction``), "ntop", "answer" (a is the answer), "nanswer", "equal", "other" (the
    answer is a number that is no option). ``start``/``end``: where the claim is in the answer."""

    kind: str
    rule: str
    start: int
    end: int
    a: int = -1
    b: int = -1
    direction: int = 0
    source: str = "relation"


def _clause_facts(
    tokens: Sequence[_Token], count: int, source: str, bare_equal: bool, direction: int, named_before: str = ""
) -> list[_Fact]:
    """The facts one clause asserts.

    ``bare_equal`` allows a subject-less "一样大" to mean the options (it does not when the sentence
    has been talking about digits or other numbers). ``direction`` is the sentence's latest
    comparison direction so far (+1 larger, -1 smaller, 0 none), which a bare "而不是 X" refers to.
    ``named_before``: the kinds of the last two numbers named before the clause ("N" an option, "x" another
    number): "both are equal to 2" speaks of the options only after options (or no number).
    """
    if any(token.slip for token in tokens) and all(token.slip for token in tokens if token.kind == _OPTION):
        # "The answer is: 124.69" of 124.693, "13.432 is larger than 13.439" of 13.43227 and 13.43908: a copy slip
        # names a value that is no option unless the claim names an option as written too ("1442629613 is larger
        # than 70767537" of 707675376) (the coordinator's convention c, session 7)
        tokens = [replace(token, kind=_OTHER, option=-1, slip=False) if token.slip else token for token in tokens]
    kinds = "".join([token.kind for token in tokens])
    if _NAMES_NOTHING.fullmatch(kinds):  # no number, equality or "neither": no rule can match
        return []
    concluded = _CONCLUDED_OPTION.pattern.fullmatch(kinds)
    if concluded:  # "所以是13.8", "→ 13.8"
        chosen = tokens[concluded.start("left")]
        return [_Fact("answer", _CONCLUDED_OPTION.name, tokens[0].start, chosen.end, a=chosen.option, source=source)]
    if _CONCLUDED_OTHER.pattern.fullmatch(kinds):
        return [_Fact("other", _CONCLUDED_OTHER.name, tokens[0].start, tokens[-1].end, source=source)]
    tokens = _without_asides(tokens)
    kinds = "".join([token.kind for token in tokens])
    if _ORDERING in kinds:
        kinds = kinds.replace(_LARGER, "_").replace(_SMALLER, "_")
    facts: list[_Fact] = []
    position = 0
    while position < len(kinds):
        # An option inside a list ("X 和 Y") was already tried with the whole list.
        rules = _RULES_AT.get(kinds[position], _ANYWHERE)
        if not rules or (kinds[position] == _OPTION and position > 1 and kinds[position - 2 : position] in _LISTED):
            position += 1
            continue
        for rule in rules:
            match = rule.pattern.match(kinds, position)
            if match is None or not _operand_is_free(rule, kinds, position):
                continue
            context = _latest_direction(kinds[:position]) or direction
            span = (tokens[match.start()].start, tokens[match.end() - 1].end)
            facts.extend(
                _facts_of(rule, match, tokens, count, source, context, span, bare_equal, _OTHER not in named_before)
            )
            chained = rule.fact in _CHAINS and "right" in rule.pattern.groupindex and kinds[match.start("right")] == "N"
            if chained:
                position = match.start("right")
            elif rule.name in _APPOSITIONS:
                position = match.start("left")
            else:
                position = match.end()
            break
        else:
            position += 1
    if not facts and bare_equal and _asserts_bare_equality(kinds):
        facts.append(_Fact("equal", "they-are-equal", tokens[0].start, tokens[-1].end, source=source))
    elif not facts and bare_equal and _denies_bare_equality(kinds):
        facts.append(_Fact("nequal", "they-are-not-equal", tokens[0].start, tokens[-1].end, source=source))
    return facts


_NAMES_NOTHING = re.compile(r"[^NxEZ=D]*")
_LISTED = frozenset({"NJ", "xJ"})  # an option after these is inside a list
_ASIDE_KINDS = frozenset("KkVCG")


def _without_asides(tokens: Sequence[_Token]) -> list[_Token]:
    """Drop what sits between a statement's words without changing it: markers ("actually", "所以"
    matter to segmentation only) and a restated value ("1/3 = 0.333 is larger than 0.3")."""
    kept: list[_Token] = []
    for token in tokens:
        if token.kind in _ASIDE_KINDS:
            continue
        if token.kind == _OTHER and len(kept) >= 2 and kept[-1].kind == "=" and kept[-2].kind == _OPTION:
            kept.pop()
            continue
        kept.append(token)
    return kept


def _latest_direction(kinds: str) -> int:
    """+1 or -1 for the last larger/smaller word or relation in ``kinds``, 0 if there is none."""
    larger = max(kinds.rfind(_LARGER), kinds.rfind(">"), kinds.rfind("g"))
    smaller = max(kinds.rfind(_SMALLER), kinds.rfind("<"), kinds.rfind("l"))
    if larger == smaller:
        return 0
    return 1 if larger > smaller else -1


def _operand_is_free(rule: Rule, kinds: str, position: int) -> bool:
    """A lone "X 更大" must not take X out of "Y 和 X", "比 X 大" or "没有 X 大" (an "and" opening the clause,
    "…, and 5.2 is larger", joins no list)."""
    if rule.name != "x-is-larger" or position == 0:
        return True
    before = kinds[position - 1]
    return before not in "JTmn" or (before == _AND and kinds[position - 2 : position] not in _LISTED)


def _asserts_bare_equality(kinds: str) -> bool:
    """ "两者相等", "they are equal (to each other)", or a line that is nothing but "相等"."""
    if "n" in kinds or "N" in kinds or "x" in kinds:
        return False
    if "E" not in kinds:
        return bool(_EQUAL_TO_EACH_OTHER.search(kinds))
    return "Q" in kinds or set(kinds) <= set("EiAXk")


_EQUAL_TO_EACH_OTHER = re.compile(r"Qi*=Q")  # "they're equal to each other"
# "they are not equal", "两者不相等", "它们的大小不一样", "they are two different numbers"
_NOT_EQUAL = re.compile(r"Qi*(?:ni*(?:E|=Q)|D)|^i*D")  # (… "but different ones")


def _denies_bare_equality(kinds: str) -> bool:
    """ "They are not equal", "两者不相等": the options differ (which is larger, it does not say)."""
    return "N" not in kinds and "x" not in kinds and bool(_NOT_EQUAL.search(kinds))


def _facts_of(
    rule: Rule,
    match: re.Match[str],
    tokens: Sequence[_Token],
    count: int,
    source: str,
    context: int,
    span: tuple[int, int],
    bare_equal: bool,
    about_the_options: bool = True,
) -> Iterator[_Fact]:
    groups = match.groupdict()
    negated = bool(groups.get("neg"))
    name = rule.fact
    left: list[int] = []
    if groups.get("left") is not None:
        left = [tokens[i].option for i in range(match.start("left"), match.end("left")) if tokens[i].kind == _OPTION]
    right: list[int] | None = None
    if groups.get("right") is not None:
        right = [tokens[i].option for i in range(match.start("right"), match.end("right")) if tokens[i].kind == _OPTION]
        if not right:  # "than both", "比其他都大": the left side is the extreme
            right = None
    direction = -1 if groups.get("adj") == _SMALLER else 1

    def fact(kind: str, **values: int) -> _Fact:
        return _Fact(kind, rule.name, *span, source=source, **values)

    if name in ("gt", "lt"):
        if right is None:
            for option in left:
                yield fact("ntop" if negated else "top", a=option, direction=1 if name == "gt" else -1)
            return
        big, small = (left, right) if name == "gt" else (right, left)
        for a in big:
            for b in small:
                if a != b:
                    yield fact("ngt" if negated else "gt", a=a, b=b)
    elif name == "eq":
        covered = set(left) | set(right or [])
        if set(left) & set(right or []):  # "3/4 = 0.75 and 0.7 < 0.75": an option restated, no equality
            return
        if len(covered) == count:
            yield fact("nequal" if negated else "equal")
        elif len(covered) >= 2 and not negated:  # "1.5 and 1.50 are equal" of three: a tie between two
            first, *rest = sorted(covered)
            for other in rest:
                yield fact("tied", a=first, b=other)
    elif name in ("answer_eq", "neither", "both"):
        # "neither is larger" and "they are both 5.5" speak of two options ("both" only while the
        # sentence is about the options, not about their digits)
        if name == "answer_eq" or (count == 2 and (name == "neither" or bare_equal)):
            yield fact("equal")
    elif name == "both_other" and count == 2 and bare_equal and about_the_options and _DIGITS not in match.string:
        yield fact("equal")  # (not "look at the integer parts: both are 13")
    elif name in ("top", "tie"):
        for option in left:
            yield fact("ntop" if negated else "top", a=option, direction=direction)
    elif name == "answer":
        yield fact("nanswer" if negated else "answer", a=left[0])
    elif name == "other":
        yield fact("other")
    elif name == "not_eq":
        yield fact("nequal")
    elif name == "neither_of" and len(set(left)) == count:
        yield fact("equal")
    elif name == "neither_of":
        for option in left:
            yield fact("ntop", a=option, direction=direction)
    elif name == "middle" and count >= 3:
        yield fact("ntop", a=left[0], direction=1)
        yield fact("ntop", a=left[0], direction=-1)
    elif name == "not_top":
        yield fact("ntop", a=left[0], direction=direction)
    elif name == "not_answer" and context:  # "13.8 is larger, not 13.11"
        yield fact("ntop", a=left[0], direction=context)
    elif name == "not_answer":
        yield fact("nanswer", a=left[0])


# --------------------------------------------------------------------------------------------------
# 4. Segments and the final verdict
# --------------------------------------------------------------------------------------------------

_CONFLICT = -2
_EQUAL_CHOICE = -3
_NO_VERDICT = -1
_NOT_AN_OPTION = -4
_DIFFERENT = -5  # "they are not equal": no choice, but it denies an equality


def _decide(facts: Sequence[_Fact], options: _Options, direction: int) -> int:
    """Reduce a segment's facts to an option index, _EQUAL_CHOICE, _NOT_AN_OPTION, _CONFLICT or _NO_VERDICT."""
    count = len(options.texts)
    picks: set[int] = set()
    eliminated: set[int] = set()
    equal = other = different = False
    tied: set[int] = set()
    # of two options, each denied to be larger than the other: they are equal
    kinds = {fact.kind for fact in facts}
    denied_both_ways = count == 2 and kinds <= {"ngt", "ntop"} and _denies_both_ways(facts)
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
        elif fact.kind == "other":
            other = True
        elif fact.kind == "nequal":
            different = True
        elif fact.kind == "tied":
            tied.update((fact.a, fact.b))
    if other:
        return _NOT_AN_OPTION if not picks and not equal else _CONFLICT
    if len(picks) > 1:  # a tie between options of one value is "equal"; else they disagree
        return _EQUAL_CHOICE if options.same_value(picks) and not picks & eliminated else _CONFLICT
    if equal:
        return _EQUAL_CHOICE if not picks and not eliminated and not different else _CONFLICT
    if picks & eliminated:
        return _CONFLICT
    if picks:
        return next(iter(picks))
    remaining = set(range(count)) - eliminated
    if not remaining and denied_both_ways:  # "3.3 is not larger than 3.30, nor is it smaller"
        return _EQUAL_CHOICE
    if not remaining:
        return _CONFLICT
    if eliminated and len(remaining) == 1:
        return next(iter(remaining))
    if eliminated and remaining <= tied:  # "1.5 and 1.50 are equal, and both larger than 1.05"
        return _EQUAL_CHOICE
    return _DIFFERENT if different and not eliminated else _NO_VERDICT


def _denies_both_ways(facts: Sequence[_Fact]) -> bool:
    """Whether denials say neither of two options is larger than the other ("not larger …, nor smaller")."""
    larger_denied: set[int] = set()  # options said not to be the larger
    for fact in facts:
        if fact.kind == "ngt":
            larger_denied.add(fact.a)
        elif fact.kind == "ntop":
            larger_denied.add(fact.a if fact.direction > 0 else 1 - fact.a)
    return larger_denied == {0, 1}


@dataclass
class _Segment:
    facts: list[_Fact] = field(default_factory=list)
    last_clause: int = -1
    conclusive: bool = False  # a final statement: "so …", an answer marker, \boxed, bold, the last line
    correction: bool = False  # opened by "wait", "不对", "actually": it withdraws what came before
    contrast: bool = False  # opened by a contrast ("but", "但是", "if I had to pick one"): its verdict revises
    opened_at: int = 0  # where the clause that opened it starts
    after_aside: bool = False  # the latest clause before it that said anything was set aside
    adding: bool = False  # a claim of it was said "also": it adds to what came before, replaces nothing
    retracts: bool = False  # opened by a correction that calls what came before wrong ("that's not correct")
    stated: bool = False  # a claim of it is stated outside brackets (a bracketed remark alone is no verdict of its own)


def _clauses(tokens: Sequence[_Token]) -> Iterator[tuple[list[_Token], bool, bool, int, bool]]:
    """Yield (clause tokens, starts a sentence, sentence is a question, where the sentence starts, is an aside).

    The first clause that has any token starts its sentence ("So, is 0.65 larger than 0.7" opens
    with the clause "So").
    A bracketed aside is a clause of its own, after the clause it interrupts, which goes on after it:
    "2.5e3 (2500 in standard notation) is larger than 2499" is one claim and one aside.
    """
    sentence: list[list[_Token]] = [[]]
    asides: list[list[_Token]] = []
    in_aside = False
    sentence_start = 0
    for token in [*tokens, _Token(_SENTENCE_BREAK, 0, 0)]:
        if token.kind in (_SENTENCE_BREAK, _QUESTION_END):
            is_question = token.kind == _QUESTION_END
            first = True
            for number, clause in enumerate([*sentence, *asides]):
                if clause:
                    yield clause, first, is_question, sentence_start, number >= len(sentence)
                    first = False
            sentence, asides, in_aside = [[]], [], False
            sentence_start = token.end
        elif token.kind == _ASIDE_OPEN:
            asides.append([])
            in_aside = True
        elif token.kind == _ASIDE_CLOSE:
            in_aside = False
        elif in_aside:
            if token.kind == _CLAUSE_BREAK:
                asides.append([])
            else:
                asides[-1].append(token)
        elif token.kind == _CLAUSE_BREAK:
            sentence.append([])
        else:
            sentence[-1].append(token)


# Why a clause asserts nothing, by the kind of word that makes it so (checked in this order).
_SET_ASIDE: tuple[tuple[str, str], ...] = (
    (_QUESTION, "question"),
    (_WHETHER, "question"),
    (_CONDITION, "condition"),
    (_HEDGE, "hedge"),
    (Kind.DEPENDS.value, "hedge"),
    (_APPEARANCE, "appearance"),
    (_CONCESSION, "concession"),
    (_APPROXIMATE, "approximate"),
)


def _set_aside(kinds: str, in_condition: bool, in_question: bool) -> str:
    """Why a clause asserts nothing ("question", "condition", "hedge", "arithmetic", ...), or ""."""
    if in_question:
        return "question"
    if in_condition:
        return "condition"
    for kind, why in _SET_ASIDE:
        if kind in kinds and (kind != _APPROXIMATE or _APPROXIMATION.search(kinds)):
            return why
    if _ARITHMETIC.search(kinds) or _FORMULA in kinds:
        return "arithmetic"
    if _DIGITS in kinds:  # "13.11的小数部分更大", "larger in terms of digits": about digits
        return "digits"
    return ""


_DIRECTIONS = {"larger": 1, "smaller": -1}


@dataclass(frozen=True)
class Claim:
    """One claim the judge found in an answer, as :func:`explain` reports it.

    ``text`` is the claim as written; ``says`` what it asserts ("13.8 > 13.11", "larger: 13.8",
    "answer: 26.91 (not an option)"); ``rule`` the grammar rule that read it; ``status`` one of
    ``"deciding"``, ``"counted"`` (in the final verdict's segment, or agreeing with it),
    ``"overridden"`` (an earlier segment that decided otherwise), ``"conflicting"`` (statements that
    disagree, so that there is no choice) and ``"set aside"``, with ``why``
    (``"question"``, ``"condition"``, ``"hedge"``, ``"appearance"``, ``"concession"``,
    ``"approximate"``, ``"arithmetic"``, ``"digits"``, ``"difference"``: a final number introduced as the
    options' difference, "larger by \\boxed{0.01}"); ``segment`` counts from 0.
    """

    text: str
    says: str
    rule: str
    status: str
    why: str = ""
    segment: int = -1


@dataclass(frozen=True)
class Trace:
    """How :func:`extract_choice` read one answer: its claims in order and the resulting extraction."""

    extraction: Extraction
    claims: tuple[Claim, ...]

    @property
    def deciding(self) -> Claim | None:
        """The claim that decided the choice, if there is one."""
        return next((claim for claim in self.claims if claim.status == "deciding"), None)

    def __str__(self) -> str:
        extraction = self.extraction
        if extraction.choice is None:
            head = f"no choice ({extraction.reason})"
        else:
            head = f"choice {extraction.choice} ({extraction.reason}), evidence: {extraction.evidence!r}"
            if extraction.contradiction:
                head += "; an earlier statement chose otherwise"
        lines = [head]
        for claim in self.claims:
            if claim.why:
                status = f"{claim.status} ({claim.why})"
            elif claim.segment >= 0:
                status = f"{claim.status}, segment {claim.segment}"
            else:
                status = claim.status
            lines.append(f"  {status:<24}{claim.text!r}  {claim.says}  [{claim.rule}]")
        if not self.claims:
            lines.append("  (no claims)")
        return "\n".join(lines)


@dataclass
class _Reading:
    """Everything one pass over an answer found (the trace records only when asked to)."""

    extraction: Extraction
    records: list[tuple[_Fact, str, str, int]] = field(default_factory=list)  # fact, status, why, segment
    text: str | None = None  # the text the records' spans index, when it is not the answer alone


# The claims a bare reply makes of the question it answers (the question's claim, confirmed or denied)
_REPLY_RULES = frozenset({"yes-to-the-question", "no-to-the-question", "reply-to-larger-or-smaller"})
# What the question asks ends with its last question mark; an instruction after it ("Answer yes or no.") is none
_LAST_QUESTION_MARK = re.compile(r"^.*[?？]", re.DOTALL)


# The answer's first clause, as far as a bare reply can reach ("Yes, it is", "答：更大", "不是")
_FIRST_CLAUSE = re.compile(r"[^,，.。!！?？;；:：\n]{0,40}")


def _opens_with_a_reply(answer: str, numbers: Sequence[str]) -> bool:
    """Whether the answer's first clause is a bare reply ("Yes", "否", "Smaller"): the one place a reply to the case's
    question can stand (checked on that clause alone, so that answers that are no reply cost no second reading)."""
    text, _ = _normalise(answer)
    head = _FIRST_CLAUSE.match(text, len(text) - len(text.lstrip()))
    if head is None:
        return False
    kinds = "".join(token.kind for token in _lex(head.group(0), _make_options(tuple(str(n) for n in numbers))))
    return bool(_REPLY.fullmatch(kinds) or _DIRECTION_REPLY.fullmatch(kinds))


def _read_as_a_reply(
    question: str, answer: str, numbers: Sequence[str], ask: str, cut_off: bool, finished: bool, tracing: bool
) -> _Reading | None:
    """The reading of an answer without a verdict of its own as a reply to the case's question: the question,
    up to its last question mark, read just before the answer. Only a reply's claim may decide (a claim the
    question itself makes, or one its text and the answer's make together, does not); the evidence is the
    answer up to the end of the reply."""
    if not _opens_with_a_reply(answer, numbers):
        return None
    found = _LAST_QUESTION_MARK.match(question)
    asked = found.group(0) if found else question
    offset = len(asked) + 2
    text = asked + "\n\n" + answer
    reading = _read_whole(text, numbers, ask, True, cut_off, finished)
    deciding = [fact for fact, status, _, _ in reading.records if status == "deciding"]
    if not deciding or any(fact.rule not in _REPLY_RULES or fact.end <= offset for fact in deciding):
        return None
    end = max(fact.end for fact in deciding) - offset
    reading.extraction = replace(reading.extraction, evidence=_evidence(answer, 0, end))
    if not tracing:
        reading.records = []
    reading.text = text
    return reading


def extract_choice(
    answer: str, numbers: Sequence[str], ask: str, finish_reason: str | None = None, *, question: str | None = None
) -> Extraction:
    """Which of ``numbers`` (or ``"equal"``) the free-text ``answer`` chose as the ``ask`` one.

    ``ask`` is ``"larger"`` or ``"smaller"`` (anything else raises :class:`ValueError`). Never raises
    on any answer text; returns ``choice=None`` when the answer is empty, hedges, contradicts itself
    in its final statements, names a final answer that is no option, or never commits.

    ``finish_reason`` is the response's (``"stop"``, ``"length"``, ...; ``None`` when unknown). An
    answer cut off by ``max_tokens`` (``"length"``) is read as unfinished: its last line is the one
    being written, not a final word, and without a choice its reason is ``"truncated"``.

    ``question`` is the question the model was asked, when known: an answer that states no verdict of its
    own but replies to it ("Yes.", "否。", "Smaller." to "Is 4.19 smaller or larger than 4.2?") chooses what
    the reply asserts. Nothing else of the question counts; the evidence stays a passage of the answer.
    """
    return _read(answer, numbers, ask, finish_reason, tracing=False, question=question).extraction


def explain(
    answer: str, numbers: Sequence[str], ask: str, finish_reason: str | None = None, *, question: str | None = None
) -> Trace:
    """The decision trace of :func:`extract_choice` on one answer: every claim found, with its span,
    which were set aside and why, and the deciding one. ``str(trace)`` is a readable account (a reply
    to the ``question`` shows the question's claim with the reply)."""
    reading = _read(answer, numbers, ask, finish_reason, tracing=True, question=question)
    options = _make_options(tuple(str(number) for number in numbers))
    text = reading.text if reading.text is not None else answer if isinstance(answer, str) else ""
    claims = tuple(
        Claim(_span_text(text, fact.start, fact.end), _says(fact, options, text), fact.rule, status, why, segment)
        for fact, status, why, segment in reading.records
    )
    return Trace(reading.extraction, claims)


def _read(
    answer: str, numbers: Sequence[str], ask: str, finish_reason: str | None, *, tracing: bool, question: str | None
) -> _Reading:
    cut_off = finish_reason == LENGTH
    finished = finish_reason is not None and not cut_off
    reading = _read_whole(answer, numbers, ask, tracing, cut_off, finished)
    if reading.extraction.reason == "no-verdict" and isinstance(question, str) and isinstance(answer, str):
        reading = _read_as_a_reply(question, answer, numbers, ask, cut_off, finished, tracing) or reading
    if cut_off and reading.extraction.choice is None:
        reading.extraction = replace(reading.extraction, reason="truncated")  # the remedy is max_tokens
    return reading


def _read_whole(
    answer: str, numbers: Sequence[str], ask: str, tracing: bool, cut_off: bool, finished: bool
) -> _Reading:
    """The reading of an answer; ``cut_off``: the response says it was cut off by max_tokens, ``finished``: it
    says the model stopped by itself."""
    if ask not in _DIRECTIONS:
        raise ValueError(f"unknown ask {ask!r}; valid asks: {', '.join(_DIRECTIONS)}")
    direction = _DIRECTIONS[ask]
    options = _make_options(tuple(str(number) for number in numbers))
    count = len(options.texts)
    answer = answer if isinstance(answer, str) else ""
    text, unfinished = _normalise(answer)
    if not text.strip() or count < 2:
        return _Reading(Extraction(None, reason="empty"))
    if unfinished:  # cut off inside <think>: whatever it was reasoning towards, it never answered
        return _Reading(Extraction(None, reason="truncated"))
    tokens = _lex(text, options, _table_cells(text, options))
    _resolve_references(tokens, count, text)
    emphasis = _emphasis(answer)
    reading = _Reading(Extraction(None))

    segments: list[_Segment] = [_Segment()]
    last_hedge = -1
    in_condition = False
    sentence_about_other_things = False
    sentence_direction = 0
    clause_number = -1
    numbers_said = ""
    numbers_named = ""  # the kinds of the last two numbers named anywhere before (options "N", others "x")
    marker_only = False  # the clause before was nothing but a marker ("不对", "no wait", "so")
    depends = False  # "it depends": the whole answer is conditional
    inverted = False
    asked: tuple[list[_Token], bool, int] | None = None  # the yes/no question just asked
    offered: list[_Token] | None = None  # the "larger or smaller?" question just asked
    clause_before = ""  # the kinds of the clause before
    index_of: dict[int, int] = {}  # where each token is (built when first needed)
    stated_another_value = False  # a clause said a value that is no option is the answer ("it's 0.55")
    last_aside = last_counted = -1  # the latest clause set aside, and the latest whose claims count
    opening: list[_Token] | None = None  # the markers a sentence opens with, until its first word
    values_said_equal: set[Fraction] = set()  # Z of "X and Y are both Z" (no option), for a later "… not equal to Z"
    justifying = False  # a reason given for the verdict stated before it ("… because …") goes on
    for clause, starts_sentence, in_question, sentence_start, in_brackets in _clauses(tokens):
        clause_number += 1
        kinds = "".join([token.kind for token in clause])
        if starts_sentence:
            inverted, opening = False, []
        if opening is not None:
            # "Is 13.8 larger than 13.11", "So, is 0.65 larger" (an auxiliary before the subject)
            # asks, even without "?"; "It is 13.8" does not.
            first = next((token for token in clause if token.kind not in _MARKERS), None)
            if first is None:
                opening += clause
            else:
                inverted = _asks_by_inversion(answer, sentence_start, opening, first)
                opening = None
        in_question = in_question or inverted
        if starts_sentence:
            in_condition = False
            sentence_about_other_things = False
            sentence_direction = 0
            numbers_said = ""
        kinds_before, clause_before = clause_before, kinds
        if kinds == Kind.NO.value and asked is None and offered is None:
            # "9.11 is larger. No, 9.9 is larger.": a "no" that answers no question corrects what came before
            kinds = _CORRECTION + kinds[1:]
        openers = _SEGMENT_OPENERS.intersection(kinds)
        if openers:
            segments.append(
                _Segment(
                    conclusive=not openers.isdisjoint(_CONCLUSIVE_OPENERS),
                    correction=not openers.isdisjoint(_CORRECTING_OPENERS),
                    contrast=not openers.isdisjoint(_CONTRASTING_OPENERS),
                    opened_at=clause[0].start,
                    after_aside=last_aside > last_counted,
                    retracts=_CORRECTION in kinds and bool(_RETRACTING.search(text, clause[0].start, clause[-1].end)),
                )
            )
            in_condition = False
        if _CONDITION in kinds and not _rewrites_an_option(clause):
            in_condition = True
        if (
            _HEDGE in kinds
            and not in_condition
            and not in_question
            and _QUESTION not in kinds
            and _WHETHER not in kinds
            and not (_APPROXIMATE in kinds and _APPROXIMATION.search(kinds) and _LOOSE_EQUALITY.search(kinds))
        ):
            # (a hedge on a loose equality, "they could be considered essentially the same", doubts that
            # approximation, which asserts nothing anyway, not the verdict)
            last_hedge = clause_number
        depends = depends or (Kind.DEPENDS.value in kinds and not in_question)
        bare_equal = not sentence_about_other_things
        previous_direction = sentence_direction
        sentence_direction = _latest_direction(kinds) or sentence_direction
        numbers_said = (numbers_said + _NUMBERS_ONLY.sub("", kinds))[-2:]
        named_before = numbers_named  # "both", "they" with no numbers of their own speak of the numbers named last
        numbers_named = (numbers_named + _NUMBERS_ONLY.sub("", kinds))[-2:]
        # "两者相等" is about the options, unless the sentence talks about digits or has just
        # compared two other numbers ("the tenths digits are 8 and 8, so they are equal").
        sentence_about_other_things = sentence_about_other_things or "P" in kinds or numbers_said == "xx"
        why = _set_aside(kinds, in_condition, in_question)
        if not why and _AND in kinds and _offers_alternatives(clause, kinds, answer):
            why = "question"
        if starts_sentence or openers:
            justifying = False
        if (
            not why
            and _OPTION in kinds
            and (justifying or segments[-1].facts)
            and (justifying or _JUSTIFYING.search(text, max(0, clause[0].start - 24), clause[0].start))
        ):
            # "0.7 is smaller than 0.07. This is because 0.07 is less than 0.7", "9.11更大，因为9.9比9.11大": why the
            # verdict just stated holds is reasoning, and reasoning does not change a stated verdict (a "because"
            # before any verdict, "Because 9.9 > 9.11, …", states the ground the conclusion is drawn from); the reason
            # goes on to the end of its sentence, or to a "so", "but", "wait" there
            why = "justification"
            justifying = True
        follows_marker, marker_only = marker_only, bool(kinds) and _MARKER_WORDS.issuperset(kinds)
        replied, chosen_from = (asked, offered) if starts_sentence else (None, None)
        # A yes/no question that would claim something if it were not asked ("Is 7.4 larger than 7.38?"),
        # or one that offers both directions ("Is 0.25 larger or smaller than 0.3?", "5.55比5.6大还是小？")
        asked_before, asked, offered = asked, None, None
        if (
            why == "question"
            and asked_before is not None
            and not _NUMBERS_ONLY.sub("", kinds)
            and (starts_sentence or _TAG_QUESTION.issuperset(kinds))
        ):
            # "8.45大于8.5？这个说法对吗？是的", a tag "8.08比8.8大，对吗？": asks again about the claim just asked
            asked = asked_before
        elif why == "question" and _OFFERS_BOTH_DIRECTIONS.search(kinds):
            offered = clause
        elif why == "question" and not in_condition and _asks_yes_or_no(kinds):
            # (a question under a condition, "If we ignore the point, is 9.11 larger?", is answered under it)
            asked = ([token for token in clause if token.kind != _WHETHER], bare_equal, previous_direction)
        reply: list[_Fact] = []
        if replied is not None and not why and _REPLY.fullmatch(kinds):
            reply = _reply_facts(replied, clause, count)
        elif chosen_from is not None and not why and _DIRECTION_REPLY.fullmatch(kinds):
            reply = _direction_reply_facts(chosen_from, clause, count)
        if reply:
            segments[-1].facts.extend(reply)
            segments[-1].stated = True
            segments[-1].last_clause = last_counted = clause_number
            continue
        if why:
            last_aside = clause_number
            if not tracing:
                continue
        source = "boxed" if _BOXED in kinds else "answer" if _ANSWER in kinds else "relation"
        if why:  # what the clause would claim without the words that set it aside
            clause = [token for token in clause if token.kind not in _SETTING_ASIDE]
        facts = _clause_facts(clause, count, source, bare_equal, previous_direction, named_before)
        if _DENIES_AN_OPTION.match(kinds) and not index_of:
            index_of.update((id(token), index) for index, token in enumerate(tokens))  # once, when needed
        if _DENIES_AN_OPTION.match(kinds) and _denies_how_it_was_written(tokens, index_of, clause):
            facts = []  # "The larger is 0.5, not 0.50": how the option just named is written, not a denial
        elif _DENIES_AN_OPTION.match(kinds) and _IDENTITY.fullmatch(kinds_before):
            facts = []  # "1.666 is 2/3, not 0.666": what a number is (or is not), not which is the answer
        if (
            _DENIES_AN_OPTION.match(kinds)
            and _OPTION not in kinds_before
            and _follows_another_number(tokens, index_of, clause[0])
        ):
            # "Density: 4.9, not 4.16", "4.9 (not 4.16)", "4.9. Not 4.16": right after a value that is no option
            facts = [_Fact("other", "x-not-y", clause[0].start, clause[-1].end, source=source)]
        if in_brackets and not facts and _RESTATED_OPTION.fullmatch(kinds):
            # "the largest is 25.5 (or equivalently 25.50)" of three: the option restated as another of its value
            # names both, a tie (the coordinator's convention a, session 7); "(or 4.04)" offers another answer
            facts = _restated_as_its_equal(segments[-1].facts, clause, text, options, answer)
        if (
            not facts
            and kinds == _OPTION
            and clause[0].ordinal is not None
            and _ENDS_A_SENTENCE.match(text, clause[0].end)
        ):
            # "Between 7.07 and 7.7, the former.": an ordinal by itself replies with the option it points at
            facts = [_Fact("answer", "the-former", clause[0].start, clause[0].end, a=clause[0].option)]
        if follows_marker and not facts and _BARE_OPTION.fullmatch(kinds):
            # "Actually no — 13.11", "不对，是6.5": the option a marker's own clause introduced
            kind = "other" if clause[-1].slip else "answer"
            facts = [_Fact(kind, _CONCLUDED_OPTION.name, clause[0].start, clause[-1].end, a=clause[-1].option)]
        if any(fact.rule in _THROUGH_A_VALUE for fact in facts):
            facts = _through_the_same_value(facts, text, clause, values_said_equal)
        if not why and any(fact.kind == "other" for fact in facts) and _names_a_difference(text, clause, options):
            # "3.9 is larger than 3.89 by \boxed{0.01}": the final number says by how much, not which
            if tracing:
                reading.records += [(fact, "set aside", "difference", -1) for fact in facts if fact.kind == "other"]
            facts = [fact for fact in facts if fact.kind != "other"]
        if why:
            reading.records += [(fact, "set aside", why, -1) for fact in facts]
            continue
        stated_another_value = stated_another_value or bool(_STATES_ANOTHER_VALUE.search(kinds))
        if facts:
            last_counted = clause_number
            segment = segments[-1]
            segment.facts.extend(facts)
            segment.stated = segment.stated or not in_brackets
            segment.adding = segment.adding or bool(_ADDING.search(answer, clause[0].start, clause[-1].end))
            segment.last_clause = clause_number
            segment.conclusive = segment.conclusive or any(
                _inside(emphasis, fact) or _names_in_bold(emphasis, fact) for fact in facts
            )

    withdrawn = _withdrawn_at_the_end(segments[-1], tokens)
    lines = _Lines(text, tokens)
    last_line = None if cut_off else _final_line(lines, answer)  # cut off: the last line was being written
    if last_line and last_line[0] == _NOT_AN_OPTION and _names_a_difference(text, tokens, options, last_line):
        last_line = None  # the options' difference on the last line says by how much, not which
    if last_line is not None:  # a bare number on the last line is the model's final word
        option, start, end = last_line
        kind = "other" if option == _NOT_AN_OPTION else "answer"
        fact = _Fact(kind, "last-line-is-x", start, end, a=option, source="final-line")
        segments.append(_Segment([fact], clause_number + 1, conclusive=True))
    verdicts = [_decide(segment.facts, options, direction) for segment in segments]
    decided = [index for index, verdict in enumerate(verdicts) if verdict not in (_NO_VERDICT, _DIFFERENT)]
    for place, index in enumerate(
        decided[1:], 1
    ):  # (every restatement of the tie by its value: "the answer is: \\boxed{0.35}")
        if _names_the_common_value(segments[index], verdicts[index], options, verdicts, decided[:place]):
            verdicts[index] = _EQUAL_CHOICE
    if tracing:
        _record_segments(reading, segments, verdicts, decided)
    if not decided:
        reading.extraction = _first_line(lines, answer, options, last_hedge >= 0 or depends)
        if tracing and reading.extraction.choice is not None:
            start = answer.find(reading.extraction.evidence)
            fact = _Fact("answer", "first-line-is-x", start, start + len(reading.extraction.evidence))
            reading.records.append((fact, "deciding", "", len(segments)))
        return reading
    final = decided[-1]
    verdict = verdicts[final]
    if verdict == _CONFLICT:
        reading.extraction = Extraction(None, reason="conflict")
        if tracing:
            reading.records = [
                (fact, "conflicting" if segment == final else status, why, segment)
                for fact, status, why, segment in reading.records
            ]
    elif verdict == _NOT_AN_OPTION:
        reading.extraction = Extraction(None, reason="not-an-option")
    elif withdrawn:  # "9.75 is larger. Wait, let me": it took back its verdict and said no other
        reading.extraction = Extraction(None, reason="no-verdict")
    elif last_hedge >= segments[final].last_clause or depends:
        reading.extraction = Extraction(None, reason="hedge")
    elif (
        _disagreement_stands(segments, verdicts, decided)
        or (verdict == _EQUAL_CHOICE and _equality_denied(segments, verdicts, final))
        or _returns_to_the_retracted(segments, verdicts, final)
    ):
        reading.extraction = Extraction(None, reason="conflict")
        if tracing:
            reading.records = [
                (fact, "conflicting" if status == "overridden" or segment == final else status, why, segment)
                for fact, status, why, segment in reading.records
            ]
    elif not finished and _ends_inside_a_number(answer, tokens, options, segments[final].facts[-1]):
        reading.extraction = Extraction(None, reason="truncated")
    elif stated_another_value and _by_elimination_only(segments[final].facts, verdict, direction):
        # "The bigger number isn't 0.5; it's 0.55": denying one option chooses no other when the
        # answer says its value is a number that is no option
        reading.extraction = Extraction(None, reason="not-an-option")
    else:
        contradiction = any(
            verdicts[index] != verdict and (segments[index].stated or segments[index].conclusive)
            for index in decided[:-1]
        )
        deciding = _deciding_facts(segments[final].facts, verdict, options)
        evidence = _evidence(answer, deciding[0].start, deciding[-1].end)
        reason = _reason(segments[final], verdict)
        reading.extraction = Extraction(_choice_text(verdict, options), contradiction, reason, evidence)
        if tracing:
            chosen = {id(fact) for fact in deciding}
            reading.records = [
                (fact, "deciding" if id(fact) in chosen else status, why, segment)
                for fact, status, why, segment in reading.records
            ]
    return reading


# What ends right before a clause that gives the reason for what was said before it
# (and the glue words the clause's first token follows: "because the smaller one is 9.11")
_JUSTIFYING = re.compile(r"(?:(?<![A-Za-z])(?:because|since)|因为|由于)[\s:：]*(?:[A-Za-z]+\s+){0,3}\Z", re.IGNORECASE)

_REWRITING = frozenset({_CONDITION, _OPTION, _BARRIER, _COPULA})


def _rewrites_an_option(clause: Sequence[_Token]) -> bool:
    """Whether a clause that opens with "if" only writes an option another way: "if we consider 10.2 as 10.20",
    "如果把9.9写成9.90". It supposes nothing, so what the sentence says after it is stated, not supposed."""
    named = {token.option for token in clause if token.kind == _OPTION}
    return (
        len(named) == 1
        and sum(token.kind == _OPTION for token in clause) >= 2
        and all(token.kind in _REWRITING for token in clause)
    )


def _word_regex(table: dict[str, tuple[str, ...]]) -> re.Pattern[str]:
    """Any word of a lexicon table (Latin words whole, any spacing), case-insensitively."""
    return re.compile(
        "|".join(
            r"(?<![A-Za-z])" + r"\s+".join(map(re.escape, word.split())) + r"(?![A-Za-z])"
            if _is_latin(word)
            else re.escape(word)
            for words in table.values()
            for word in words
        ),
        re.IGNORECASE,
    )


_ADDING = _word_regex(ADDING)  # "also", "也": see lexicon.ADDING
_RETRACTING = _word_regex(RETRACTING)  # "that's not correct", "我错了": see lexicon.RETRACTING


# A clause that says what a number is ("1.666 is 2/3", "1/4 is 0.3"): a denial after it ("…, not 0.666")
# denies that identity, not an answer
_IDENTITY = re.compile(r"[Nx]i+[Nx]")
# A clause that opens by denying an option: "…, not 4.16", "…，而不是4.16"
_DENIES_AN_OPTION = re.compile(r"[KkV]?i*ni*N")
# A clause that says the value is a number that is no option: "the larger is 12.6", "it's 0.55",
# "…，而是4.9", "12.6 is." (a trailing word such as a unit may follow the number)
_STATES_ANOTHER_VALUE = re.compile(r"(?:[BS]i+|^[HQ]?i+|^V[iH]*)x_?$|^xi+$")
# What may stand between a number and a denial that follows it: breaks, brackets, a unit
_BETWEEN_VALUE_AND_DENIAL = frozenset({_CLAUSE_BREAK, _SENTENCE_BREAK, _ASIDE_OPEN, _ASIDE_CLOSE, _BARRIER})


def _follows_another_number(tokens: Sequence[_Token], index_of: dict[int, int], first: _Token) -> bool:
    """Whether the token before ``first`` (past breaks, brackets and a unit) is a number that is no option."""
    index = index_of[id(first)] - 1
    while index >= 0 and tokens[index].kind in _BETWEEN_VALUE_AND_DENIAL:
        index -= 1
    return index >= 0 and tokens[index].kind == _OTHER


def _denies_how_it_was_written(tokens: Sequence[_Token], index_of: dict[int, int], clause: Sequence[_Token]) -> bool:
    """Whether a clause opening with "not X" follows (past breaks) a mention of the same option X."""
    denied = next((token.option for token in clause if token.kind == _OPTION), -1)
    index = index_of[id(clause[0])] - 1
    while index >= 0 and tokens[index].kind in _BETWEEN_VALUE_AND_DENIAL:
        index -= 1
    return index >= 0 and tokens[index].kind == _OPTION and tokens[index].option == denied


def _by_elimination_only(facts: Sequence[_Fact], verdict: int, direction: int) -> bool:
    """Whether no fact of a segment says the chosen option is the answer or the extreme asked for, or
    larger (smaller) than another: it was chosen only because the others were denied."""
    if verdict < 0:
        return False
    for fact in facts:
        if fact.kind == "answer" and fact.a == verdict:
            return False
        if fact.kind == "top" and fact.a == verdict and fact.direction == direction:
            return False
        if fact.kind == "gt" and (fact.a if direction > 0 else fact.b) == verdict:
            return False
    return True


# A bracketed aside that is only another option, or "or"/"=" and one: "(or equivalently 25.50)", "（即3.30）", "(= 3/5)"
_RESTATED_OPTION = re.compile(r"[J=i]*N")


def _restated_as_its_equal(
    facts: Sequence[_Fact], aside: Sequence[_Token], text: str, options: _Options, answer: str
) -> list[_Fact]:
    """The claim before a bracket said again of the option in the bracket: of three or more options, when that
    option has the value of the claim's ("the largest is 25.5 (or 25.50)": 25.50 is the largest too, a tie); or when
    the bracket offers it as an alternative ("the largest is 4.4 (or 4.04)": two answers, which disagree). Else
    nothing ("the largest is 4.4 (vs 4.04)")."""
    last = facts[-1] if facts else None
    named = aside[-1].option
    if (
        last is None
        or last.kind not in ("top", "answer")
        or last.a == named
        or text[last.end : aside[0].start].strip() not in ("(", "（", "[")
    ):
        return []
    restated = replace(last, a=named, start=aside[0].start, end=aside[-1].end)
    if options.same_value({last.a, named}):
        return [restated] if len(options.texts) > 2 else []
    offered = aside[0].kind == _AND and answer[aside[0].start : aside[0].end].lower() in _OR_WORDS
    return [restated] if offered else []


# A bare reply to a yes/no question: "Yes.", "Yes, it is", "No, it isn't", "是的", "不是".
_REPLY = re.compile(r"[yu]i*n?|n|i")  # (a bare copula, "是。", confirms)
_DENIED = {"gt": "ngt", "ngt": "gt", "top": "ntop", "ntop": "top", "equal": "nequal", "answer": "nanswer"}


# A question tag after a claim: "对吗", "是吗", "是不是" (yes, no, whether, copula, negation and nothing else)
_TAG_QUESTION = frozenset({Kind.YES.value, Kind.NO.value, _WHETHER, _COPULA, Kind.NEGATION.value})


def _asks_yes_or_no(kinds: str) -> bool:
    """Whether a question clause asks whether a claim holds ("Is 7.4 larger than 7.38"), rather than
    which option ("哪个大", "which is larger") or which of two claims ("X更大还是Y更大")."""
    return _QUESTION not in kinds and _set_aside(kinds.replace(_WHETHER, ""), False, False) == ""


# A question offering both directions ("larger or smaller than", "大还是小"), and a reply that picks one
# ("Smaller.", "It's less.", "答：更大。").
_OFFERS_BOTH_DIRECTIONS = re.compile(r"[B>]J[S<]|[S<]J[B>]")
_DIRECTION_REPLY = re.compile(r"[AkK]?i*[BS]")


def _direction_reply_facts(question: Sequence[_Token], reply: Sequence[_Token], count: int) -> list[_Fact]:
    """What a bare "smaller" after "Is X larger or smaller than Y?" asserts: X < Y (X is the smaller of
    two options when the question names no Y)."""
    kinds = "".join([token.kind for token in question])
    offer = _OFFERS_BOTH_DIRECTIONS.search(kinds)
    if offer is None:
        return []
    before, after = question[: offer.start()], question[offer.end() :]
    than = next((index for index, token in enumerate(before) if token.kind == Kind.THAN.value), len(before))
    subjects = {token.option for token in before[:than] if token.kind == _OPTION}
    others = {token.option for token in [*before[than:], *after] if token.kind == _OPTION} - subjects
    if len(subjects) != 1:
        return []
    (subject,) = subjects
    larger = reply[-1].kind == _LARGER
    start, end = question[0].start, reply[-1].end
    name = "reply-to-larger-or-smaller"
    if not others:
        return [_Fact("top", name, start, end, a=subject, direction=1 if larger else -1)] if count == 2 else []
    pairs = [(subject, other) if larger else (other, subject) for other in sorted(others)]
    return [_Fact("gt", name, start, end, a=big, b=small) for big, small in pairs]


def _reply_facts(asked: tuple[list[_Token], bool, int], reply: Sequence[_Token], count: int) -> list[_Fact]:
    """What a bare "yes" or "no" right after a yes/no question asserts: the question's claim, or its
    denial (only of a single claim: "no" to "is X larger than Y and Z" says nothing clear)."""
    clause, bare_equal, direction = asked
    facts = _clause_facts(clause, count, "relation", bare_equal, direction)
    kinds = "".join([token.kind for token in reply])
    start, end = clause[0].start, reply[-1].end
    if kinds[0] in (Kind.YES.value, _COPULA) and Kind.NEGATION.value not in kinds:
        return [replace(fact, rule="yes-to-the-question", start=start, end=end) for fact in facts]
    if len(facts) != 1 or facts[0].kind not in _DENIED:
        return []
    (fact,) = facts
    return [replace(fact, kind=_DENIED[fact.kind], rule="no-to-the-question", start=start, end=end)]


def _withdrawn_at_the_end(last: _Segment, tokens: Sequence[_Token]) -> bool:
    """Whether the answer ends on a correction ("Wait, let me", "不对，") that names no number after it
    (and does not follow a statement set aside: "Many think 13.11 > 13.8. This is wrong because")."""
    if not last.correction or last.facts or last.after_aside:
        return False
    return not any(token.kind in (_OPTION, _OTHER) and token.start >= last.opened_at for token in tokens)


def _asks_by_inversion(answer: str, sentence_start: int, markers: Sequence[_Token], first: _Token) -> bool:
    """Whether a sentence's first word (after ``markers`` such as "So,") is an auxiliary: "Is 13.8 …"."""
    word = answer[first.start : first.end]
    if first.kind != _COPULA or not (word.isascii() and word.isalpha()):
        return False
    before = list(answer[sentence_start : first.start])
    for marker in markers:
        before[marker.start - sentence_start : marker.end - sentence_start] = " " * (marker.end - marker.start)
    return not any(char.isalnum() for char in before)


def _ends_inside_a_number(answer: str, tokens: Sequence[_Token], options: _Options, deciding: _Fact) -> bool:
    """Whether the verdict rests on a number the answer stops right after, which another option
    continues ("… the larger is 9.9" with 9.91 an option): it may have been cut off inside it."""
    last = tokens[-1] if tokens else None
    if last is None or last.kind not in (_OPTION, _OTHER) or last.end != len(answer) or deciding.end != last.end:
        return False
    written = answer[last.start : last.end]
    # A continuation that would not change the verdict does not count: an option of the value named
    # ("8" of 8.000 and 8), or the other side of the relation ("4.44 > 4.4" of 4.4 and 4.44).
    unchanged = {last.option, deciding.a, deciding.b} if last.kind == _OPTION else set()
    return any(
        len(option) > len(written)
        and option.startswith(written)
        and not (index in unchanged or (last.option >= 0 and options.same_value({index, last.option})))
        for index, option in enumerate(options.texts)
    )


def _disagreement_stands(segments: Sequence[_Segment], verdicts: Sequence[int], decided: Sequence[int]) -> bool:
    """Whether an earlier statement that chose otherwise still stands beside the final verdict.

    A correction ("wait", "不对", "actually", "no") withdraws anything before it. A contrast that states the
    final verdict itself ("6.5 equals 6.50. But 6.50 is larger", "If I had to pick one, 4.5 is smaller")
    revises a plain verdict before it, not an earlier final statement ("**9.9 is larger**", "So the answer
    is 3.7"). A conclusion ("so", "所以", "综上所述", "thus") contradicting a verdict stated before it is no
    revision but a contradiction ("13.8比13.11大。因为…所以13.11更大。", "we see that 9.9 is larger than 9.11.
    Thus, the final answer is \\boxed{9.11}": the coordinator's convention b, session 7), and a mere
    restatement (an answer marker, ``\\boxed``, a last line) supersedes nothing either: "4.7 is larger, since
    4.70 > 4.13. \\boxed{4.13}" says both.
    """
    final = decided[-1]
    for index in decided[:-1]:  # a segment that contradicts itself disagrees with the verdict too
        if verdicts[index] in (verdicts[final], _NOT_AN_OPTION):
            continue
        if not segments[index].stated and not segments[index].conclusive:
            continue  # "250 and 25 are both multiples of 10 (both equal). … So 250 is larger": a remark, not a verdict
        between = range(index + 1, final + 1)
        if any(segments[later].correction for later in between):
            continue
        if (
            not segments[index].conclusive
            and not segments[final].adding
            and any(segments[later].contrast and verdicts[later] == verdicts[final] for later in between)
        ):
            continue
        return True
    return False


def _names_the_common_value(
    segment: _Segment, verdict: int, options: _Options, verdicts: Sequence[int], decided: Sequence[int]
) -> bool:
    """Whether an answer names the one value all the options have, after ``decided`` (the segments before it that
    decided) said they are equal ("3.0 and 3 are both equal to 3, so the answer is 3" of 3 and 3.00): the tie,
    restated by its value."""
    return (
        verdict >= 0
        and options.same_value(set(range(len(options.texts))))
        and any(verdicts[index] == _EQUAL_CHOICE for index in decided)
        and all(fact.kind == "answer" for fact in segment.facts)
    )


_THROUGH_A_VALUE = frozenset(
    {"x-and-y-are-both-another-number", "x-and-y-are-another-number", "not-equal-to-another-number"}
)


def _through_the_same_value(
    facts: list[_Fact], text: str, clause: Sequence[_Token], said: set[Fraction]
) -> list[_Fact]:
    """Facts of a clause, where "X and Y are both 20" records 20 and "…, but 1.11 is not equal to 20" counts
    only as a denial of that value ("not exactly equal to 1" after "both 7.6423" denies nothing said)."""
    number = next((token for token in reversed(clause) if token.kind == _OTHER), None)
    value = try_parse(text[number.start : number.end]) if number is not None else None
    kept = []
    for fact in facts:
        if fact.rule != "not-equal-to-another-number" and value is not None:
            said.add(value.value)
        elif fact.rule == "not-equal-to-another-number" and (value is None or value.value not in said):
            continue
        kept.append(fact)
    return kept


def _names_a_difference(
    text: str, tokens: Sequence[_Token], options: _Options, span: tuple[int, int, int] | None = None
) -> bool:
    """Whether the last number of ``tokens`` that is no option (within ``span``'s start and end, when given)
    is the difference of two options ("… by \\boxed{0.01}" of 3.9 and 3.89)."""
    number = next(
        (
            token
            for token in reversed(tokens)
            if token.kind == _OTHER and (span is None or span[1] <= token.start < span[2])
        ),
        None,
    )
    if number is None or not _AMOUNT_BEFORE.search(text, max(0, number.start - 40), number.start):
        return False
    value = try_parse(text[number.start : number.end])
    return value is not None and value.value in options.differences()


# What introduces a number as the amount of a comparison: "larger than 3.89 by \boxed{0.01}", "the difference
# is 0.01", "相差0.05" (a bare final number stays a final answer: "7.5 is larger. \boxed{0.05}" chooses nothing)
_AMOUNT_BEFORE = re.compile(
    r"(?:(?<![A-Za-z])by|difference(?:\s+is|\s+of)?|相差|差值?[为是]?)[\s$\\\[\]{}:：\ue000]*\Z", re.IGNORECASE
)


def _returns_to_the_retracted(segments: Sequence[_Segment], verdicts: Sequence[int], final: int) -> bool:
    """Whether the final verdict is the one a retraction called wrong, concluded against the reasoning that
    followed the retraction ("11.11 is larger. Wait, that's not correct. 11.2 = 11.20 > 11.11. So 11.11 is
    larger."): the verdict of the latest segment that decided before the retraction, which no statement set
    aside came between (a retraction of a question asked, "Could 13.11 be larger? No, that's wrong.", retracts
    no verdict), while a segment between the retraction and the end decided otherwise (a re-check that comes
    back to it, "Wait, that's not right. 100.1 is 100.10, so 100.01 is indeed smaller", confirms it)."""
    undecided = (_NO_VERDICT, _DIFFERENT)
    for index in range(final, 0, -1):
        if not segments[index].retracts:
            continue
        if segments[index].after_aside:
            return False
        before = next((verdicts[k] for k in range(index - 1, -1, -1) if verdicts[k] not in undecided), None)
        between = [verdicts[k] for k in range(index, final) if verdicts[k] not in undecided]
        return before == verdicts[final] and any(verdict != before for verdict in between)
    return False


def _equality_denied(segments: Sequence[_Segment], verdicts: Sequence[int], final: int) -> bool:
    """Whether a segment says the options are not equal beside a final verdict that they are: after it ("they're
    equal … they differ"), or before it with no correction between ("not equal to each other, but … the same
    value")."""
    for index, verdict in enumerate(verdicts):
        if verdict != _DIFFERENT:
            continue
        if index > final or not any(segment.correction for segment in segments[index + 1 : final + 1]):
            return True
    return False


def _deciding_facts(facts: Sequence[_Fact], verdict: int, options: _Options) -> list[_Fact]:
    """The last fact of the final segment when it says the verdict by itself, else all of them
    (but for a "not equal" beside them, which decides nothing)."""
    facts = [fact for fact in facts if fact.kind != "nequal"] or list(facts)
    last = facts[-1]
    if (last.kind in ("answer", "top") and last.a == verdict) or (last.kind == "equal" and verdict == _EQUAL_CHOICE):
        return [last]
    return list(facts)


def _record_segments(
    reading: _Reading, segments: Sequence[_Segment], verdicts: Sequence[int], decided: Sequence[int]
) -> None:
    final = decided[-1] if decided else -1
    for index, segment in enumerate(segments):
        disagrees = index < final and verdicts[index] != verdicts[final]
        status = "overridden" if disagrees else "counted"
        reading.records += [(fact, status, "", index) for fact in segment.facts]
    reading.records.sort(key=lambda record: record[0].start)


def _emphasis(answer: str) -> list[tuple[int, int]]:
    """Spans of bold text ("**9.9 is larger**"): a claim inside one is a final statement."""
    if "**" not in answer and "__" not in answer:
        return []
    return [match.span() for match in _EMPHASIS.finditer(answer)]


def _inside(spans: Sequence[tuple[int, int]], fact: _Fact) -> bool:
    index = bisect.bisect_right(spans, (fact.start, len(spans) and 1 << 62)) - 1
    return index >= 0 and spans[index][0] <= fact.start and fact.end <= spans[index][1]


def _names_in_bold(spans: Sequence[tuple[int, int]], fact: _Fact) -> bool:
    """Whether a claim ends on its answer in bold ("The smaller number is **-5.05**"): a final statement."""
    if fact.kind not in ("top", "answer") or not spans:
        return False
    index = bisect.bisect_right(spans, (fact.end, 1 << 62)) - 1
    return index >= 0 and fact.start < spans[index][0] < fact.end <= spans[index][1]


_CLOSERS = {"{": "}", "(": ")", "（": "）", "[": "]", "【": "】"}


def _evidence(answer: str, start: int, end: int) -> str:
    """The passage ``answer[start:end]``, stretched over the closing brackets its markup opened."""
    while start < end and answer[start].isspace():
        start += 1
    passage = answer[start:end]
    if passage.count("**") % 2 and answer.startswith("**", end):  # "The smallest is **0.09**"
        end += 2
        passage = answer[start:end]
    for opener, closer in _CLOSERS.items():
        missing = passage.count(opener) - passage.count(closer)
        while missing > 0:
            found = answer.find(closer, end)
            if found < 0 or found - end > 40:
                break
            end = found + 1
            missing -= 1
        passage = answer[start:end]
    return passage.rstrip()


def _span_text(answer: str, start: int, end: int) -> str:
    return _evidence(answer, start, end) if 0 <= start < end else ""


def _says(fact: _Fact, options: _Options, answer: str) -> str:
    def name(index: int) -> str:
        return options.texts[index] if 0 <= index < len(options.texts) else "?"

    word = "larger" if fact.direction > 0 else "smaller"
    return {
        "gt": f"{name(fact.a)} > {name(fact.b)}",
        "ngt": f"not {name(fact.a)} > {name(fact.b)}",
        "top": f"{word}: {name(fact.a)}",
        "ntop": f"not {word}: {name(fact.a)}",
        "answer": f"answer: {name(fact.a)}",
        "nanswer": f"not the answer: {name(fact.a)}",
        "nequal": "not equal",
        "equal": "equal",
        "other": "answer: a number that is no option",
    }.get(fact.kind, fact.kind)


def _choice_text(verdict: int, options: _Options) -> str:
    return EQUAL if verdict == _EQUAL_CHOICE else options.texts[verdict]


def _reason(segment: _Segment, verdict: int) -> str:
    sources = {fact.source for fact in segment.facts}
    for source in ("boxed", "answer", "final-line"):
        if source in sources:
            return source
    return "equal" if verdict == _EQUAL_CHOICE else "relation"


_NOT_A_WORD = frozenset("iAXkK|,C")


class _Lines:
    """The answer's non-blank lines, and which tokens each holds (read from the answer's tokens)."""

    def __init__(self, text: str, tokens: Sequence[_Token]) -> None:
        self.text = text
        self.tokens = tokens
        self.starts = [token.start for token in tokens]
        self.spans: list[tuple[int, int]] = []
        position = 0
        for line in text.splitlines(keepends=True):
            if line.strip():
                self.spans.append((position, position + len(line.rstrip())))
            position += len(line)

    def bare_number(self, index: int) -> int | None:
        """The option line ``index`` consists of ("13.8", "**13.8**", "答案：13.8。"), _NOT_AN_OPTION
        for a line that is just another number ("26.91"), else None."""
        start, end = self.spans[index]
        first, last = bisect.bisect_left(self.starts, start), bisect.bisect_left(self.starts, end)
        words = [token for token in self.tokens[first:last] if token.kind not in _NOT_A_WORD]
        if len(words) == 1 and words[0].kind == _OPTION:
            return _NOT_AN_OPTION if words[0].slip else words[0].option
        # "The latter (0.099).": an option named twice, once in brackets
        named = {token.option for token in words if token.kind == _OPTION}
        brackets = [token for token in words if token.kind in (_ASIDE_OPEN, _ASIDE_CLOSE)]
        if len(named) == 1 and brackets and all(token.kind in (_OPTION, _ASIDE_OPEN, _ASIDE_CLOSE) for token in words):
            return named.pop()
        if len(words) == 1 and words[0].kind == _OTHER:
            return _NOT_AN_OPTION
        return None

    def ends_with_colon(self, index: int) -> bool:
        start, end = self.spans[index]
        return self.text[start:end].endswith((":", "："))


_BULLET = re.compile(r"[ \t]*(?:[-*+•]|\d{1,2}[.)、])[ \t]+")


def _final_line(lines: _Lines, answer: str) -> tuple[int, int, int] | None:
    """(option or _NOT_AN_OPTION, start, end) of a last line that is one number, unless the line
    before is one too or it is an item of a bulleted list that no colon introduces (a list, not a
    verdict)."""
    count = len(lines.spans)
    if not count:
        return None
    last = lines.bare_number(count - 1)
    if last is None or (count > 1 and lines.bare_number(count - 2) is not None):
        return None
    start, end = lines.spans[-1]
    introduced = count > 1 and lines.ends_with_colon(count - 2)  # "Answer:\n- 13.8"
    if _BULLET.match(answer, start) and not introduced:
        return None
    return last, start, end


def _first_line(lines: _Lines, answer: str, options: _Options, hedged: bool) -> Extraction:
    """With no statement anywhere, accept an answer that opens with a line that is just one option."""
    count = len(lines.spans)
    first = lines.bare_number(0) if count else None
    if hedged or first is None or first < 0 or (count > 1 and lines.bare_number(1) is not None):
        return Extraction(None, reason="hedge" if hedged else "no-verdict")
    start, end = lines.spans[0]
    return Extraction(options.texts[first], reason="final-line", evidence=_evidence(answer, start, end))
