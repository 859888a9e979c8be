"""Case files: the YAML format, its loader and the :class:`Case` it yields.

A case file is a YAML mapping::

    template: zh            # file default: a shipped template name or a literal with placeholders
    ask: larger             # file default for cases (larger|smaller|order); generators default to both
    tags: [classic]         # added to every case of the file
    lang: zh                # optional language tag; default: the template's language (zh/en)
    description: free text  # ignored; for the reader of the file
    cases:
      - numbers: ["13.8", "13.11"]   # as written, quoted: YAML turns 13.10 into 13.1
        ask: larger                  # optional, else the file's ask, else larger
        id: seed-13.8                # optional, else derived from ask and numbers
        tags: [trap]                 # optional, merged after the file's tags
        template: en                 # optional, else the file's template, else zh
        lang: en                     # optional, else derived from the template
        expect: "13.8"               # optional; must agree with the exact answer
        critical: true               # optional; a regression of this case fails the run in every gate mode
        description: free text       # optional, ignored
    generate:
      - category: decimal-trap       # see pytest_llmcmp.generators.CATEGORIES
        seed: 1
        count: 10
        ask: both                    # optional: larger|smaller|order|both (default: file ask, else both)
        template: en                 # optional, as for a case; also tags, lang, description

Every case's ``tags`` are the file's tags, then the generator category (generated cases), then the
language, then the case's own tags, without repeats. The ``expected`` answer is always computed by
:func:`pytest_llmcmp.truth.expected_answer`, never taken from the file.

Derived ids read ``<ask>-<number>-vs-<number>``; characters unsafe in a pytest id or a file name
(``/``, ``,``, ``%``, spaces, ...) are replaced, and then a short hash of the content is appended so
two different cases never share an id. Generated ids are ``<category>-<seed>-<n>``.

Whatever a file holds, :func:`load_case_file` raises only :class:`CaseFileError`, whose message is
one sentence prefixed with ``path:line``. It refuses files over 5 MB, YAML aliases, more than
100,000 YAML nodes and nesting deeper than 32, and never builds a YAML value it did not ask for.
"""

from __future__ import annotations

import codecs
import contextlib
import dataclasses
import difflib
import hashlib
import json
import os
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import NoReturn

import yaml

from pytest_llmcmp import generators, tables, tasks, templates, truth, yamlerrors
from pytest_llmcmp.safefiles import BadText, FileTooLarge, decode_text, read_regular
from pytest_llmcmp.words import plural

__all__ = [
    "CASE_KEYS",
    "FILE_KEYS",
    "GENERATE_KEYS",
    "IMPORT_KEYS",
    "MAX_FILE_BYTES",
    "Case",
    "CaseFileError",
    "derive_case_id",
    "load_case_file",
    "looks_like_case_file",
]

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_NODES = 100_000
MAX_DEPTH = 32
MAX_NUMBERS = 20
MAX_ID_LENGTH = 100
#: A case id names a cassette file: ``<id>.yaml``, written through ``.<id>.yaml.XXXXXXXX.tmp``; file names are limited
#: to 255 bytes, so ids are limited in UTF-8 bytes too (a CJK character takes 3).
MAX_ID_BYTES = 200
#: Default caps on the cases ``generate:`` makes: in one file, and in the whole suite (see :class:`GenerateBudget`).
MAX_GENERATED_PER_FILE = 10_000
MAX_GENERATED_PER_SUITE = 100_000
MAX_TAG_LENGTH = 60
_DERIVED_ID_BUDGET = 80

FILE_KEYS = ("cases", "generate", "import", "template", "ask", "tags", "lang", "description")
CASE_KEYS = ("numbers", "ask", "id", "tags", "template", "lang", "expect", "description", "critical")
GENERATE_KEYS = ("category", "seed", "count", "ask", "template", "tags", "lang", "description")
#: An ``import:`` entry: ``file`` and the columns (CSV) or fields (JSONL) holding each part of a case.
IMPORT_KEYS = (
    "file",
    "numbers",
    "ask",
    "id",
    "tags",
    "expect",
    "format",
    "encoding",
    "delimiter",
    "template",
    "lang",
    "description",
)

_COLUMN_KEYS = ("ask", "id", "tags", "expect")  # import keys naming a column, besides numbers

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_TAG = "tag:yaml.org,2002:"
_STR, _INT, _FLOAT, _NULL, _BOOL = (_TAG + name for name in ("str", "int", "float", "null", "bool"))
_ID_CHARS = frozenset("._+-")


@dataclass(frozen=True, slots=True)  # one per case of the suite: no __dict__ each
class Case:
    """One comparison question, ready to ask: numbers as written, the exact answer and the rendered text."""

    id: str
    numbers: tuple[str, ...]
    ask: str
    expected: str  # an element of numbers, as written, or "equal"
    question: str
    tags: tuple[str, ...]
    path: str
    line: int  # 1-based line of the case (or of its generate entry)
    template: str  # a shipped template name or the literal template text
    critical: bool = False  # a regression of this case fails the run whatever the gate mode


class CaseFileError(Exception):
    """A case file that cannot be used; ``str(error)`` is ``path:line: message`` (one sentence)."""

    def __init__(self, path: str, line: int, message: str) -> None:
        super().__init__(f"{path}:{line}: {message}")
        self.path = path
        self.line = line
        self.message = message

    def __reduce__(self) -> tuple[type[CaseFileError], tuple[str, int, str]]:
        return (CaseFileError, (self.path, self.line, self.message))


def looks_like_case_file(path: Path, under_cases_dir: bool = False, *, named: bool = False) -> bool:
    """Whether ``path`` is to be collected as a case file: see :mod:`pytest_llmcmp.recognition` for the rule.

    ``under_cases_dir``: under a directory configured to hold case files (``llm_cases``); ``named``: named on the
    command line. Reads at most the first 256 KiB and never builds a YAML value, so it is cheap on any file.
    """
    from .recognition import looks_like_case_file as recognize

    return recognize(path, under_cases_dir, named=named)


def derive_case_id(numbers: Sequence[str], ask: str) -> str:
    """A readable, stable id for a case without one: ``larger-13.8-vs-13.11``.

    Only letters, digits and ``. _ + -`` are kept; when anything had to be replaced or the id
    got long, six hex digits of a content hash keep different cases apart.
    """
    lossless = True
    pieces = []
    for number in numbers:
        piece = []
        for char in unicodedata.normalize("NFC", number):
            if char.isalnum() or char in _ID_CHARS:
                piece.append(char)
            else:
                lossless = False
                piece.append({"%": "pct", "‰": "permille"}.get(char, "_"))
        pieces.append("".join(piece).strip("_") or "_")
    slug = f"{ask}-" + "-vs-".join(pieces)
    if lossless and len(slug) <= _DERIVED_ID_BUDGET and len(slug.encode("utf-8", "surrogatepass")) <= MAX_ID_BYTES:
        return slug
    digest = hashlib.sha256(json.dumps([ask, list(numbers)], ensure_ascii=False).encode()).hexdigest()[:6]
    head = slug[:_DERIVED_ID_BUDGET]
    # Non-ASCII digits (〇七) take 3 bytes each: keep the id a cassette file name can hold (ids that fit unchanged).
    while len(head.encode("utf-8", "surrogatepass")) > MAX_ID_BYTES - len(digest) - 1:
        head = head[:-1]
    return f"{head.rstrip('_-')}-{digest}"


@dataclass
class GenerateBudget:
    """How many cases ``generate:`` may make: per file and for the whole suite (shared by every file of a session).

    A 4 KB file can ask for 100,000 cases; past a cap the file is a collection error that names the limit and the
    option that raises it."""

    per_file: int = MAX_GENERATED_PER_FILE
    per_suite: int = MAX_GENERATED_PER_SUITE
    used: int = 0  # by the files read so far


def load_case_file(path: Path, budget: GenerateBudget | None = None) -> list[Case]:
    """Read every case of the file at ``path``, hand-written ones and generated ones, in file order.

    Raises :class:`CaseFileError` (and nothing else) for anything wrong with the file.
    """
    shown = os.fspath(path)
    text = _read_text(Path(path), shown)
    root = _compose(text, shown)
    try:
        return _FileReader(shown, budget if budget is not None else GenerateBudget()).read(root)
    except CaseFileError:
        raise
    except Exception as exc:  # a collector must get a located error, whatever went wrong
        line = root.start_mark.line + 1 if root is not None else 1
        raise CaseFileError(shown, line, f"internal error while reading the file: {type(exc).__name__}: {exc}") from exc


def _read_bytes(path: Path) -> bytes:
    """A case file's (or an imported table's) bytes; :class:`ValueError` says in one clause why they cannot be read."""
    try:
        return read_regular(path, MAX_FILE_BYTES)
    except FileTooLarge:
        raise ValueError(f"the file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB") from None
    except OSError as exc:
        raise ValueError(f"cannot read the file ({exc.strerror or exc})") from None


def _read_text(path: Path, shown: str) -> str:
    try:
        return decode_text(_read_bytes(path))
    except BadText as exc:
        raise CaseFileError(shown, exc.line, str(exc)) from None
    except ValueError as exc:
        raise CaseFileError(shown, 1, str(exc)) from None


def _yaml_error(exc: yaml.YAMLError, text: str, shown: str) -> CaseFileError:
    line, problem = yamlerrors.describe(exc, text)
    return CaseFileError(shown, line or 1, f"invalid YAML: {problem}")


def _compose(text: str, shown: str) -> yaml.Node | None:
    """The YAML node tree of ``text``, after a streaming check that it is small, shallow and alias-free."""
    loader = _Loader(text)
    try:
        depth = events = 0
        while loader.check_event():
            event = loader.get_event()  # type: ignore[no-untyped-call]
            events += 1
            line = event.start_mark.line + 1 if event.start_mark is not None else 1
            if isinstance(event, yaml.AliasEvent):
                raise CaseFileError(
                    shown,
                    line,
                    f"YAML aliases (*{event.anchor}) are not allowed in case files; write the value out",
                )
            if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    raise CaseFileError(shown, line, f"the YAML is nested deeper than {MAX_DEPTH} levels")
            elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                depth -= 1
            if events > MAX_NODES:
                raise CaseFileError(shown, line, f"the file has more than {MAX_NODES} YAML nodes")
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, text, shown) from None
    finally:
        loader.dispose()
    try:
        node: yaml.Node | None = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, text, shown) from None
    return node


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _kind(node: yaml.Node) -> str:
    """How a YAML node reads to a person: "a list", "a number", "null", ..."""
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    names = {
        _INT: "a number",
        _FLOAT: "a number",
        _NULL: "empty (null)",
        _BOOL: "a boolean",
        _STR: "a string",
        _TAG + "timestamp": "a date",
        _TAG + "binary": "binary data",
    }
    return names.get(node.tag, f"a value tagged {node.tag}")


def _suggest(word: str, known: Sequence[str]) -> str:
    close = _close(word, known)
    return close or f"; expected one of: {', '.join(known)}"


def _close(word: str, known: Sequence[str]) -> str:
    """``"; did you mean 'X'?"`` for the closest of ``known``, or nothing (for a message that lists them already)."""
    close = difflib.get_close_matches(word, known, n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _dedupe(items: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


@dataclass(frozen=True)
class _Defaults:
    template: str
    ask: str | None
    tags: tuple[str, ...]
    lang: str | None


class _FileReader:
    """Walks the node tree of one file, turning it into cases or a located CaseFileError."""

    def __init__(self, path: str, budget: GenerateBudget) -> None:
        self.path = path
        self.seen_ids: dict[str, str] = {}  # where each id was first used: "on line 3", "at failures.csv:4"
        self.table: str | None = None  # while rows of an import are read: its file, as the import names it
        self.budget = budget
        self.generated_count = 0

    def fail(self, node: yaml.Node | int, message: str) -> NoReturn:
        line = node if isinstance(node, int) else _line(node)
        raise CaseFileError(self.path, line, message)

    # -- generic readers ---------------------------------------------------------------------

    def mapping(self, node: yaml.Node, known: Sequence[str], label: str) -> dict[str, yaml.Node]:
        if not isinstance(node, yaml.MappingNode):
            self.fail(node, f"{label} must be a mapping of keys to values, not {_kind(node)}")
        fields: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag != _STR:
                self.fail(
                    key_node,
                    f"{label} has a key that is {_kind(key_node)}; keys must be names like 'numbers'",
                )
            key = key_node.value
            if key not in known:
                self.fail(key_node, f"unknown key {key!r} in {label}{_suggest(key, known)}")
            if key in fields:
                self.fail(key_node, f"{label} has the key {key!r} twice (first on line {_line(fields[key])})")
            fields[key] = value_node
        return fields

    def string(self, node: yaml.Node, label: str) -> str:
        if isinstance(node, yaml.ScalarNode) and node.tag == _STR:
            return str(node.value)
        self.fail(node, f"{label} must be a string, not {_kind(node)}")

    def boolean(self, node: yaml.Node, label: str) -> bool:
        if isinstance(node, yaml.ScalarNode) and node.tag == _BOOL:
            return bool(yaml.constructor.SafeConstructor().construct_yaml_bool(node))
        self.fail(node, f"{label} must be true or false, not {_kind(node)}")

    def word(self, node: yaml.Node, label: str, choices: Sequence[str]) -> str:
        value = self.string(node, label)
        if value not in choices:
            self.fail(node, f"{label} {value!r} is not one of {', '.join(choices)}{_close(value, choices)}")
        return value

    def integer(self, node: yaml.Node, label: str) -> int:
        if not isinstance(node, yaml.ScalarNode) or node.tag != _INT:
            self.fail(node, f"{label} must be a whole number, not {_kind(node)}")
        digits = str(node.value)
        if len(digits) > 30:
            self.fail(node, f"{label} {digits[:30]}… is too large")
        try:
            # SafeConstructor understands YAML's own int spellings (0x1F, 1_000, 0o17).
            value = yaml.constructor.SafeConstructor().construct_yaml_int(node)
        except (ValueError, TypeError):
            self.fail(node, f"{label} {digits!r} is not a whole number")
        return int(value)

    def items(self, node: yaml.Node, label: str, example: str) -> list[yaml.Node]:
        if not isinstance(node, yaml.SequenceNode):
            self.fail(node, f"{label} must be a list, not {_kind(node)}, e.g. {example}")
        return list(node.value)

    def quoted(self, node: yaml.Node, label: str, what: str) -> str:
        """A number or answer as written; YAML numbers are refused with the reason they must be quoted."""
        if isinstance(node, yaml.ScalarNode) and node.tag in (_INT, _FLOAT):
            written = str(node.value)
            read = written
            if len(written) <= 40:  # only short ones: int() of a huge digit string is slow
                with contextlib.suppress(ValueError, TypeError, OverflowError):
                    read = repr(yaml.constructor.SafeConstructor().construct_object(node))
            if read != written:
                why = f"YAML turns unquoted {written} into {read}"
            else:
                why = "YAML reads unquoted numbers as numbers and turns 13.10 into 13.1"
            shown = written if len(written) <= 40 else written[:40] + "…"
            self.fail(node, f'{label}: {what} {shown} must be quoted ("{shown}"), because {why}')
        if isinstance(node, yaml.ScalarNode) and node.tag == _STR:
            return str(node.value)
        self.fail(node, f'{label}: {what} must be a quoted string such as "13.8", not {_kind(node)}')

    def tags(self, node: yaml.Node, label: str) -> tuple[str, ...]:
        out = []
        for item in self.items(node, f"{label} 'tags'", "tags: [trap, zh]"):
            tag = self.string(item, f"each of {label} 'tags'")
            if not tag or len(tag) > MAX_TAG_LENGTH or any(char.isspace() for char in tag):
                self.fail(
                    item,
                    f"tag {tag[:MAX_TAG_LENGTH]!r} in {label} must have 1 to {MAX_TAG_LENGTH} characters and no spaces",
                )
            out.append(tag)
        return tuple(out)

    def template(self, node: yaml.Node, label: str) -> str:
        template = self.string(node, f"{label} 'template'")
        try:
            templates.check_template(template)
        except templates.TemplateError as exc:
            self.fail(node, f"{label}: {exc}")
        return template

    def wording(
        self, fields: dict[str, yaml.Node], node: yaml.Node, label: str, defaults: _Defaults
    ) -> tuple[yaml.Node | int, str, str | None, tuple[str, ...]]:
        """What a case or a generate entry says of its question: the template (and the node a bad fit is blamed on),
        the language, its own tags; its description is checked too."""
        template_node: yaml.Node | int = fields.get("template", _line(node))
        template = self.template(fields["template"], label) if "template" in fields else defaults.template
        lang = self.lang(fields["lang"], label) if "lang" in fields else defaults.lang
        own_tags = self.tags(fields["tags"], label) if "tags" in fields else ()
        if "description" in fields:
            self.string(fields["description"], f"{label} 'description'")
        return template_node, template, lang, own_tags

    def lang(self, node: yaml.Node, label: str) -> str:
        lang = self.string(node, f"{label} 'lang'")
        if not re.fullmatch(r"[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8})*", lang):
            self.fail(node, f"{label} 'lang' {lang!r} must be a language code such as zh or en")
        return lang

    # -- the file ----------------------------------------------------------------------------

    def read(self, root: yaml.Node | None) -> list[Case]:
        if root is None:
            self.fail(1, "the file is empty; a case file is a mapping with 'cases:' and/or 'generate:'")
        fields = self.mapping(root, FILE_KEYS, "the top level of a case file")
        if "cases" not in fields and "generate" not in fields and "import" not in fields:
            self.fail(root, "a case file needs a 'cases:' list and/or a 'generate:' list at the top level")
        label = "the file"
        defaults = _Defaults(
            template=self.template(fields["template"], label) if "template" in fields else templates.DEFAULT_TEMPLATE,
            ask=self.word(fields["ask"], "the file's 'ask'", tasks.ASKS) if "ask" in fields else None,
            tags=self.tags(fields["tags"], "the file's") if "tags" in fields else (),
            lang=self.lang(fields["lang"], label) if "lang" in fields else None,
        )
        if "description" in fields:
            self.string(fields["description"], "the file's 'description'")
        cases: list[Case] = []
        for key_node, value_node in root.value:
            if key_node.value == "cases":
                example = 'cases: [{numbers: ["13.8", "13.11"]}]'
                for index, node in enumerate(self.items(value_node, "'cases'", example), start=1):
                    cases.append(self.case(node, index, defaults))
            elif key_node.value == "generate":
                example = "generate: [{category: decimal-trap, seed: 1, count: 10}]"
                for index, node in enumerate(self.items(value_node, "'generate'", example), start=1):
                    cases.extend(self.generated(node, index, defaults))
            elif key_node.value == "import":
                # One entry (import: {file: …}) or a list of them, like generate:.
                entries = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                for index, node in enumerate(entries, start=1):
                    cases.extend(self.imported(node, index, defaults))
        return cases

    def claim_id(self, case_id: str, node: yaml.Node, label: str, hint: str = "") -> None:
        first = self.seen_ids.get(case_id)
        if first is not None:
            self.fail(node, f"{label} has the id {case_id!r}, already used {first}{hint}")
        self.seen_ids[case_id] = f"on line {_line(node)}" if self.table is None else f"at {self.table}:{_line(node)}"

    def explicit_id(self, node: yaml.Node, label: str) -> str:
        if isinstance(node, yaml.ScalarNode) and node.tag == _INT:
            case_id = str(node.value)
        else:
            case_id = self.string(node, f"{label} 'id'")
        if len(case_id.encode("utf-8", "surrogatepass")) > MAX_ID_BYTES and len(case_id) <= MAX_ID_LENGTH:
            self.fail(
                node,
                f"{label} has an id of {len(case_id.encode('utf-8', 'surrogatepass'))} bytes in UTF-8; an id names a "
                f"cassette file and may have at most {MAX_ID_BYTES} bytes (a CJK character takes 3)",
            )
        if (
            not case_id
            or len(case_id) > MAX_ID_LENGTH
            or case_id.startswith(".")
            or not all(char.isalnum() or char in _ID_CHARS for char in case_id)
        ):
            self.fail(
                node,
                f"{label} has the id {case_id[:MAX_ID_LENGTH]!r}, but an id must be 1 to {MAX_ID_LENGTH} "
                "letters, digits, '.', '_', '+' or '-' (no spaces, '/', ':' or '['), not starting with '.'",
            )
        return case_id

    def finish(
        self,
        *,
        case_id: str,
        numbers: tuple[str, ...],
        ask: str,
        template: str,
        lang: str | None,
        base_tags: Sequence[str],
        own_tags: Sequence[str],
        line: int,
        label: str,
        numbers_node: yaml.Node | int,
        template_node: yaml.Node | int,
    ) -> Case:
        """Compute truth and question for a checked case; errors point at the numbers or the template."""
        try:
            expected = tasks.task_for(ask).expected(numbers, ask)
        except truth.NumberError as exc:
            self.fail(numbers_node, f"{label}: {exc}")
        try:
            question = templates.render_question(template, numbers, ask)
        except templates.TemplateError as exc:
            self.fail(template_node, f"{label}: {exc}")
        language = lang or templates.template_language(template)
        return Case(
            id=case_id,
            numbers=numbers,
            ask=ask,
            expected=expected,
            question=question,
            tags=_dedupe([*base_tags, language, *own_tags]),
            path=self.path,
            line=line,
            template=template,
        )

    # -- one hand-written case ---------------------------------------------------------------

    def case(self, node: yaml.Node, index: int, defaults: _Defaults) -> Case:
        label = f"case #{index}"
        fields = self.mapping(node, CASE_KEYS, label)
        explicit = "id" in fields
        if explicit:
            label = f"case {self.explicit_id(fields['id'], label)!r}"
        if "numbers" not in fields:
            self.fail(node, f'{label} has no \'numbers\'; add e.g. numbers: ["13.8", "13.11"]')
        numbers_node = fields["numbers"]
        number_nodes = self.items(numbers_node, f"{label}: 'numbers'", 'numbers: ["13.8", "13.11"]')
        if not 2 <= len(number_nodes) <= MAX_NUMBERS:
            self.fail(
                numbers_node,
                f"{label} has {plural(len(number_nodes), 'number')}; a case needs 2 to {MAX_NUMBERS}",
            )
        numbers = tuple(
            self.quoted(item, label, f"number {position}" if item.tag not in (_INT, _FLOAT) else "number")
            for position, item in enumerate(number_nodes, start=1)
        )
        for item, number in zip(number_nodes, numbers, strict=True):
            try:
                truth.parse_number(number)
            except truth.NumberError as exc:
                self.fail(item, f"{label}: {exc}")
        ask = self.word(fields["ask"], f"{label}: ask", tasks.ASKS) if "ask" in fields else defaults.ask or "larger"
        case_id = self.explicit_id(fields["id"], label) if explicit else derive_case_id(numbers, ask)
        label = f"case {case_id!r}"
        hint = "" if explicit else "; give one of them an explicit 'id'"
        self.claim_id(case_id, fields.get("id", node), label, hint)
        template_node, template, lang, own_tags = self.wording(fields, node, label, defaults)
        result = self.finish(
            case_id=case_id,
            numbers=numbers,
            ask=ask,
            template=template,
            lang=lang,
            base_tags=defaults.tags,
            own_tags=own_tags,
            line=_line(node),
            label=label,
            numbers_node=numbers_node,
            template_node=template_node,
        )
        if "expect" in fields:
            self.check_expect(fields["expect"], result, label)
        if "critical" in fields and self.boolean(fields["critical"], f"{label}: critical"):
            result = dataclasses.replace(result, critical=True)
        return result

    def check_expect(self, node: yaml.Node, case: Case, label: str) -> None:
        expect = self.quoted(node, label, "expect")
        if expect == case.expected:
            return
        task = tasks.task_for(case.ask)
        if not task.is_choice(expect, case.numbers, case.ask):
            self.fail(node, f"{label}: expect {expect!r} is not {task.choice_form}")
        self.fail(node, f"{label}: expect says {expect} but the exact answer is {case.expected}")

    # -- one generate entry ------------------------------------------------------------------

    def spend(self, node: yaml.Node, count: int) -> None:
        """Count ``count`` generated cases against the caps, before making them."""
        budget = self.budget
        if count > 0 and self.generated_count + count > budget.per_file:
            self.fail(
                node,
                f"generate: {self.generated_count + count:,} cases in this file, more than the limit of "
                f"{budget.per_file:,} per file; raise it with --llm-max-generated N (ini llm_max_generated)",
            )
        if count > 0 and budget.used + count > budget.per_suite:
            self.fail(
                node,
                f"generate: {budget.used + count:,} cases in the suite so far, more than the limit of "
                f"{budget.per_suite:,} per suite; raise it with --llm-max-generated-suite N (ini "
                "llm_max_generated_suite)",
            )
        if count > 0:
            self.generated_count += count
            budget.used += count

    def generated(self, node: yaml.Node, index: int, defaults: _Defaults) -> list[Case]:
        label = f"generate #{index}"
        fields = self.mapping(node, GENERATE_KEYS, label)
        for required in ("category", "seed", "count"):
            if required not in fields:
                self.fail(node, f"{label} has no {required!r}; it needs category, seed and count")
        category_node = fields["category"]
        category = self.string(category_node, f"{label} 'category'")
        if category not in generators.CATEGORIES:
            self.fail(
                category_node,
                f"{label}: unknown category {category!r}{_suggest(category, list(generators.CATEGORIES))}",
            )
        label = f"generate #{index} ({category})"
        seed = self.integer(fields["seed"], f"{label} seed")
        count = self.integer(fields["count"], f"{label} count")
        ask_node = fields.get("ask")
        ask = self.word(ask_node, f"{label} ask", (*tasks.ASKS, "both")) if ask_node else defaults.ask or "both"
        template_node, template, lang, own_tags = self.wording(fields, node, label, defaults)
        self.spend(fields["count"], count)
        try:
            raw_cases = generators.generate(category, seed, count, ask)
        except generators.GeneratorError as exc:
            self.fail(node, f"{label}: {exc}")
        out = []
        for raw in raw_cases:
            self.claim_id(raw.id, node, f"{label} case {raw.id!r}", "; use another seed")
            out.append(
                self.finish(
                    case_id=raw.id,
                    numbers=raw.numbers,
                    ask=raw.ask,
                    template=template,
                    lang=lang,
                    base_tags=[*defaults.tags, *raw.tags],
                    own_tags=own_tags,
                    line=_line(node),
                    label=f"{label} case {raw.id!r}",
                    numbers_node=node,
                    template_node=template_node,
                )
            )
        return out

    # -- one import entry: cases from a CSV or JSONL file --------------------------------------

    def column(self, node: yaml.Node, label: str) -> str:
        """A column (CSV) or field (JSONL) name; a YAML number names the column written that way."""
        if isinstance(node, yaml.ScalarNode) and node.tag == _INT:
            return str(node.value)
        return self.string(node, label)

    def imported(self, node: yaml.Node, index: int, defaults: _Defaults) -> list[Case]:
        label = f"import #{index}"
        fields = self.mapping(node, IMPORT_KEYS, label)
        for required in ("file", "numbers"):
            if required not in fields:
                self.fail(
                    node, f"{label} has no {required!r}; e.g. import: {{file: failures.csv, numbers: [a, b], ask: ask}}"
                )
        file_node = fields["file"]
        name = self.string(file_node, f"{label} 'file'")
        parts = PurePosixPath(name.replace("\\", "/")).parts
        if not name or PurePosixPath(name).is_absolute() or PureWindowsPath(name).drive or ".." in parts:
            self.fail(file_node, f"{label}: file {name!r} must be a relative path inside this case file's directory")
        label = f"import #{index} ({name})"
        fmt_node = fields.get("format")
        fmt = self.word(fmt_node, f"{label} format", tables.FORMATS) if fmt_node else None
        fmt = fmt or tables.SUFFIXES.get(PurePosixPath(name).suffix.lower())
        if fmt is None:
            self.fail(file_node, f"{label}: cannot tell the format from the file's name; add format: csv or jsonl")
        encoding = self.string(fields["encoding"], f"{label} 'encoding'") if "encoding" in fields else None
        if encoding is not None:
            try:
                codecs.lookup(encoding)
            except LookupError:
                self.fail(fields["encoding"], f"{label}: unknown encoding {encoding!r}")
        delimiter = None
        if "delimiter" in fields:
            delimiter = self.string(fields["delimiter"], f"{label} 'delimiter'")
            if fmt == "jsonl" or len(delimiter) != 1 or delimiter in '\r\n"':
                self.fail(fields["delimiter"], f"{label}: delimiter must be one character, for a CSV file")
        numbers_node = fields["numbers"]
        if isinstance(numbers_node, yaml.SequenceNode):
            number_columns = [self.column(item, f"each of {label} 'numbers'") for item in numbers_node.value]
        else:
            number_columns = [self.column(numbers_node, f"{label} 'numbers'")]
            if fmt != "jsonl":
                self.fail(numbers_node, f"{label}: numbers must name the columns holding the numbers, e.g. [a, b]")
        named = {key: self.column(fields[key], f"{label} '{key}'") for key in _COLUMN_KEYS if key in fields}
        if "template" in fields:
            defaults = dataclasses.replace(defaults, template=self.template(fields["template"], label))
        if "lang" in fields:
            defaults = dataclasses.replace(defaults, lang=self.lang(fields["lang"], label))
        if "description" in fields:
            self.string(fields["description"], f"{label} 'description'")
        target = Path(self.path).parent.joinpath(*parts)
        try:
            data = _read_bytes(target)
        except ValueError as exc:
            self.fail(file_node, f"{label}: {exc}")
        shown = os.fspath(target)
        try:
            table = tables.read_table(target, data, fmt, encoding, delimiter)
        except tables.TableError as exc:
            raise CaseFileError(shown, exc.line, exc.message) from None
        if fmt != "jsonl":
            mapped = [(column, numbers_node) for column in number_columns] + [(named[k], fields[k]) for k in named]
            for column, column_node in mapped:
                if column not in table.columns:
                    known = [c[:40] for c in table.columns if c][:20]
                    self.fail(
                        column_node,
                        f"{label} has no column {column!r}{_close(column, known)} (its columns: {', '.join(known)})",
                    )
                if table.columns.count(column) > 1:
                    self.fail(column_node, f"{label}: the column {column!r} appears twice in the header")
        out = []
        outer = self.path
        self.path, self.table = shown, name
        try:
            for row_index, row in enumerate(table.rows, start=1):
                out.append(self.case(self.row_node(row, number_columns, named), row_index, defaults))
        finally:
            self.path, self.table = outer, None
        return out

    def row_node(self, row: tables.Row, number_columns: list[str], named: dict[str, str]) -> yaml.MappingNode:
        """A row as the YAML mapping of a case written by hand, every value marked at the row's line, so that the
        case is checked by the same code, with the same messages, as one written in YAML."""
        mark = yaml.Mark(self.path, 0, row.line - 1, 0, "", 0)

        def text(value: str) -> yaml.ScalarNode:
            return yaml.ScalarNode(_STR, value, mark, mark)

        def texts(values: list[str]) -> yaml.SequenceNode:
            return yaml.SequenceNode(_TAG + "seq", [text(v) for v in values], mark, mark)

        def scalar(field: str) -> str | None:
            value = row.values.get(field)
            if value is None or (isinstance(value, str) and not value.strip()):
                return None
            if not isinstance(value, str):
                kind = "a list" if isinstance(value, list) else "a boolean" if isinstance(value, bool) else "an object"
                self.fail(row.line, f"the field {field!r} must be a string or a number, not {kind}")
            return value.strip()

        if len(number_columns) == 1:  # JSONL: one field holding the list
            listed = row.values.get(number_columns[0])
            if not isinstance(listed, list) or not all(isinstance(v, str) for v in listed):
                self.fail(row.line, f'the field {number_columns[0]!r} must be a list of numbers, e.g. ["13.8", "9.9"]')
            numbers = [v.strip() for v in listed]
        else:
            numbers = [n for n in (scalar(column) for column in number_columns) if n is not None]
        pairs: list[tuple[yaml.Node, yaml.Node]] = [(text("numbers"), texts(numbers))]
        for key, field in named.items():
            if key == "tags":
                value = row.values.get(field)
                tags = value if isinstance(value, list) else re.split(r"[,\s]+", scalar(field) or "")
                if not all(isinstance(tag, str) for tag in tags):
                    self.fail(row.line, f"the field {field!r} must be a list of tags or a string of them")
                pairs.append((text("tags"), texts([tag for tag in tags if tag])))
            else:
                cell = scalar(field)
                if cell is not None:
                    pairs.append((text(key), text(cell)))
        return yaml.MappingNode(_TAG + "map", pairs, mark, mark)
