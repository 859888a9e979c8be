"""Question templates: how a case's numbers and ask become the text sent to the model.

A case's ``template`` is either the name of a shipped template (see :data:`TEMPLATES`) or a literal
string with placeholders:

- ``{a}`` and ``{b}``: the first and second number, for cases with exactly two numbers;
- ``{numbers}``: all numbers joined (``、`` when the template is Chinese, else ``, ``; ``; `` when a
  number itself contains a comma, so ``1,234.5`` stays one number);
- ``{ask}``: the ask word: ``larger`` or ``smaller``, or ``大`` or ``小`` in a Chinese template
  (``"{numbers}中哪个最{ask}？"``).

A literal must show every number, through ``{numbers}`` or through both ``{a}`` and ``{b}``.
Literal braces are written ``{{`` and ``}}``, as in :meth:`str.format`.
"""

from __future__ import annotations

import difflib
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

__all__ = [
    "DEFAULT_TEMPLATE",
    "TEMPLATES",
    "ShippedTemplate",
    "TemplateError",
    "check_template",
    "is_literal_template",
    "render_question",
    "template_language",
]

DEFAULT_TEMPLATE = "zh"

_ZH_ASK_WORDS = {"larger": "大", "smaller": "小", "order": "从小到大排列"}

PLACEHOLDERS = ("a", "b", "numbers", "ask")


class TemplateError(ValueError):
    """A template is unknown, malformed or does not fit the case; the message is one sentence."""


@dataclass(frozen=True)
class ShippedTemplate:
    """A named template: wording for two numbers and for three or more, per ask."""

    name: str
    lang: str
    pair: Mapping[str, str]  # ask -> text with {a} and {b}
    many: Mapping[str, str]  # ask -> text with {numbers}
    separator: str


def _shipped(name: str, lang: str, pair: dict[str, str], many: dict[str, str], sep: str) -> ShippedTemplate:
    return ShippedTemplate(name, lang, MappingProxyType(pair), MappingProxyType(many), sep)


TEMPLATES: Mapping[str, ShippedTemplate] = MappingProxyType(
    {
        "zh": _shipped(
            "zh",
            "zh",
            {"larger": "{a}和{b}哪个大？", "smaller": "{a}和{b}哪个小？", "order": "把下列数从小到大排列：{a}、{b}"},
            {
                "larger": "{numbers}中哪个最大？",
                "smaller": "{numbers}中哪个最小？",
                "order": "把下列数从小到大排列：{numbers}",
            },
            "、",
        ),
        "zh-formal": _shipped(
            "zh-formal",
            "zh",
            {
                "larger": "请比较{a}与{b}的大小：哪一个更大？",
                "smaller": "请比较{a}与{b}的大小：哪一个更小？",
                "order": "请将下列数按从小到大的顺序排列：{a}、{b}",
            },
            {
                "larger": "请比较{numbers}的大小：哪一个最大？",
                "smaller": "请比较{numbers}的大小：哪一个最小？",
                "order": "请将下列数按从小到大的顺序排列：{numbers}",
            },
            "、",
        ),
        "en": _shipped(
            "en",
            "en",
            {
                "larger": "Which is larger, {a} or {b}?",
                "smaller": "Which is smaller, {a} or {b}?",
                "order": "Sort from smallest to largest: {a}, {b}",
            },
            {
                "larger": "Which is the largest of {numbers}?",
                "smaller": "Which is the smallest of {numbers}?",
                "order": "Sort from smallest to largest: {numbers}",
            },
            ", ",
        ),
        "en-short": _shipped(
            "en-short",
            "en",
            {"larger": "Larger: {a} or {b}?", "smaller": "Smaller: {a} or {b}?", "order": "Sort ascending: {a}, {b}"},
            {
                "larger": "Largest of {numbers}?",
                "smaller": "Smallest of {numbers}?",
                "order": "Sort ascending: {numbers}",
            },
            ", ",
        ),
    }
)


def is_literal_template(template: str) -> bool:
    """True when ``template`` is literal text with placeholders rather than a shipped template's name."""
    return template not in TEMPLATES and ("{" in template or "}" in template)


def _has_cjk(text: str) -> bool:
    return any("\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" for ch in text)


def template_language(template: str) -> str:
    """The language of a template: a shipped template's own, else ``zh`` for Chinese text, else ``en``."""
    shipped = TEMPLATES.get(template)
    if shipped is not None:
        return shipped.lang
    return "zh" if _has_cjk(template) else "en"


def _placeholders(template: str) -> set[str]:
    """The placeholder names a literal uses; raises TemplateError on anything but plain ``{name}``."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise TemplateError(
            f"template {template!r} has unbalanced braces ({exc}); write {{{{ or }}}} for a literal brace"
        ) from None
    names: set[str] = set()
    for _literal, field, spec, conversion in parsed:
        if field is None:
            continue
        if field not in PLACEHOLDERS:
            suggestion = difflib.get_close_matches(field, PLACEHOLDERS, n=1)
            hint = f"; did you mean {{{suggestion[0]}}}?" if suggestion else ""
            known = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
            raise TemplateError(f"template {template!r} uses unknown placeholder {{{field}}} (known: {known}){hint}")
        if spec or conversion:
            raise TemplateError(
                f"template {template!r} formats {{{field}}}; write the placeholder plain, as {{{field}}}"
            )
        names.add(field)
    return names


def check_template(template: str, count: int | None = None) -> None:
    """Raise TemplateError unless ``template`` is usable (for ``count`` numbers, when given).

    A name must be a shipped template; a literal must use only known placeholders and show every
    number: ``{numbers}``, or ``{a}`` and ``{b}`` when there are exactly two numbers.
    """
    if template in TEMPLATES:
        return
    if not is_literal_template(template):
        suggestion = difflib.get_close_matches(template, list(TEMPLATES), n=1)
        hint = f"; did you mean {suggestion[0]!r}?" if suggestion else ""
        names = ", ".join(TEMPLATES)
        raise TemplateError(
            f"template {template!r} is neither a shipped template ({names}) nor text with "
            f"{{a}}/{{b}} or {{numbers}} placeholders{hint}"
        )
    names_used = _placeholders(template)
    pair_used = names_used & {"a", "b"}
    if pair_used and pair_used != {"a", "b"}:
        missing = ({"a", "b"} - pair_used).pop()
        present = pair_used.pop()
        raise TemplateError(
            f"template {template!r} uses {{{present}}} but not {{{missing}}}, so a number would be left out"
        )
    if not names_used & {"a", "b", "numbers"}:
        raise TemplateError(f"template {template!r} shows no numbers; use {{a}} and {{b}}, or {{numbers}}")
    if count is not None and pair_used and count != 2:
        raise TemplateError(
            f"template {template!r} uses {{a}} and {{b}} but the case has {count} numbers; use {{numbers}}"
        )


def _join(numbers: Sequence[str], separator: str) -> str:
    if separator == ", " and any("," in n for n in numbers):
        separator = "; "
    return separator.join(numbers)


def render_question(template: str, numbers: Sequence[str], ask: str) -> str:
    """The question text for ``numbers`` (as written) and ``ask`` under ``template`` (a name or a literal)."""
    if len(numbers) < 2:
        raise TemplateError(f"a question needs at least 2 numbers, got {len(numbers)}")
    check_template(template, len(numbers))
    shipped = TEMPLATES.get(template)
    if shipped is not None:
        wording = shipped.pair if len(numbers) == 2 else shipped.many
        text = wording.get(ask)
        if text is None:
            asks = ", ".join(wording)
            raise TemplateError(f"template {template!r} has no wording for ask {ask!r} (it knows {asks})")
        separator = shipped.separator
    else:
        text = template
        separator = "、" if _has_cjk(template) else ", "
    chinese = separator == "、"
    values = {"numbers": _join(numbers, separator), "ask": _ZH_ASK_WORDS.get(ask, ask) if chinese else ask}
    if len(numbers) == 2:
        values["a"], values["b"] = numbers[0], numbers[1]
    return text.format_map(values)
