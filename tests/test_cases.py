"""Case files: loading, defaults, ids, every rejection rule with its file:line, and fuzzing."""

from __future__ import annotations

import pickle
import re
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_llmcmp import cases as cases_module
from pytest_llmcmp.cases import (
    CASE_KEYS,
    FILE_KEYS,
    GENERATE_KEYS,
    Case,
    CaseFileError,
    derive_case_id,
    load_case_file,
    looks_like_case_file,
)
from pytest_llmcmp.generators import CATEGORIES, generate
from pytest_llmcmp.templates import TEMPLATES, TemplateError, check_template, render_question
from pytest_llmcmp.truth import expected_answer

SUITE = Path(__file__).resolve().parent.parent / "cases"
# What pytest and the cassette layout can carry in an id: no '::', '/', '[', spaces or path tricks.
SAFE_ID = re.compile(r"[^\W][\w.+-]*")


def write(tmp_path: Path, text: str, name: str = "c.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def error_of(path: Path) -> CaseFileError:
    with pytest.raises(CaseFileError) as info:
        load_case_file(path)
    return info.value


def assert_error(path: Path, line: int, message: str) -> None:
    error = error_of(path)
    assert (error.path, error.line, error.message) == (str(path), line, message)
    assert str(error) == f"{path}:{line}: {message}"


# -- loading and defaults ------------------------------------------------------------------------


def test_minimal_case(tmp_path: Path) -> None:
    path = write(tmp_path, 'cases:\n  - numbers: ["13.8", "13.11"]\n')
    assert load_case_file(path) == [
        Case(
            id="larger-13.8-vs-13.11",
            numbers=("13.8", "13.11"),
            ask="larger",
            expected="13.8",
            question="13.8和13.11哪个大？",
            tags=("zh",),
            path=str(path),
            line=2,
            template="zh",
        )
    ]


def test_file_defaults_merge_with_case_fields(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
template: en
ask: smaller
tags: [classic, trap]
cases:
  - numbers: ["9.9", "9.11"]
  - numbers: ["9.9", "9.11", "9.09"]
    ask: larger
    template: zh
    tags: [trap, multi]
    id: three
  - numbers: ["1.5", "1.25"]
    lang: fr
    template: "Le plus {ask} : {a} ou {b} ?"
""",
    )
    first, second, third = load_case_file(path)
    assert (first.ask, first.expected, first.question, first.tags, first.template) == (
        "smaller",
        "9.11",
        "Which is smaller, 9.9 or 9.11?",
        ("classic", "trap", "en"),
        "en",
    )
    assert (second.id, second.ask, second.expected, second.question, second.tags) == (
        "three",
        "larger",
        "9.9",
        "9.9、9.11、9.09中哪个最大？",
        ("classic", "trap", "zh", "multi"),
    )
    assert (third.question, third.tags, third.line) == (
        "Le plus smaller : 1.5 ou 1.25 ?",
        ("classic", "trap", "fr"),
        11,
    )


def test_generate_entries_use_file_defaults_and_truth(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
template: en
tags: [gen]
generate:
  - category: decimal-trap
    seed: 5
    count: 4
  - {category: multi, seed: 5, count: 2, ask: smaller, template: zh-formal, tags: [extra]}
""",
    )
    loaded = load_case_file(path)
    raw = generate("decimal-trap", 5, 4) + generate("multi", 5, 2, ask="smaller")
    assert [c.id for c in loaded] == [r.id for r in raw]
    assert [c.numbers for c in loaded] == [r.numbers for r in raw]
    assert [c.expected for c in loaded] == [expected_answer(r.numbers, r.ask) for r in raw]
    assert [c.line for c in loaded] == [4, 4, 4, 4, 7, 7]
    assert loaded[0].tags == ("gen", "decimal-trap", "en")
    assert loaded[-1].tags == ("gen", "multi", "zh", "extra")
    assert {c.ask for c in loaded[:4]} == {"larger", "smaller"}
    assert loaded[-1].question.startswith("请比较")


def test_file_ask_applies_to_generators(tmp_path: Path) -> None:
    path = write(tmp_path, "ask: smaller\ngenerate: [{category: equal, seed: 1, count: 3}]\n")
    assert {c.ask for c in load_case_file(path)} == {"smaller"}


def test_cases_and_generate_keep_file_order(tmp_path: Path) -> None:
    path = write(tmp_path, 'generate: [{category: equal, seed: 1, count: 1}]\ncases: [{numbers: ["1", "2"]}]\n')
    assert [c.id for c in load_case_file(path)] == ["equal-1-1", "larger-1-vs-2"]


def test_empty_cases_list_is_allowed(tmp_path: Path) -> None:
    assert load_case_file(write(tmp_path, "cases: []\n")) == []


def test_explicit_str_tag_and_utf8_bom_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_bytes("\ufeffcases:\n  - numbers: [!!str 13.10, '13.9']\n".encode())
    assert load_case_file(path)[0].numbers == ("13.10", "13.9")


def test_expect_that_agrees_is_accepted(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        'cases:\n  - {numbers: ["13.8", "13.11"], expect: "13.8"}\n  - {numbers: ["1.10", "1.1"], expect: equal}\n',
    )
    assert [c.expected for c in load_case_file(path)] == ["13.8", "equal"]


# -- ids -----------------------------------------------------------------------------------------


def test_derived_ids_are_readable_and_stable() -> None:
    assert derive_case_id(["13.8", "13.11"], "larger") == "larger-13.8-vs-13.11"
    assert derive_case_id(["-0.5", "1.2e-3", "9"], "smaller") == "smaller--0.5-vs-1.2e-3-vs-9"
    assert derive_case_id(["十三点八", "13.11"], "larger") == "larger-十三点八-vs-13.11"
    # Replaced characters get a hash, so "1,234.5" and "1_234.5" stay apart; the hash is pinned.
    assert derive_case_id(["1,234.5", "13.8%"], "larger") == "larger-1_234.5-vs-13.8pct-903406"
    assert derive_case_id(["1,234.5", "1"], "larger") != derive_case_id(["1_234.5", "1"], "larger")
    assert derive_case_id(["3/8", "0.4"], "larger") != derive_case_id(["3_8", "0.4"], "larger")


def test_long_derived_ids_are_cut_and_hashed() -> None:
    numbers = ["1." + "1" * 60, "1." + "1" * 59 + "2"]
    case_id = derive_case_id(numbers, "larger")
    assert len(case_id) <= 90
    assert case_id != derive_case_id([numbers[0], "1." + "1" * 59 + "3"], "larger")


@given(st.lists(st.text(min_size=1, max_size=30), min_size=2, max_size=5), st.sampled_from(["larger", "smaller"]))
def test_derived_ids_are_always_safe(numbers: list[str], ask: str) -> None:
    case_id = derive_case_id(numbers, ask)
    assert SAFE_ID.fullmatch(case_id), case_id
    assert "::" not in case_id
    assert len(case_id) <= 90


# -- rejections, each with its line and one sentence ---------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("", 1, "the file is empty; a case file is a mapping with 'cases:' and/or 'generate:'"),
        ("- 1\n- 2\n", 1, "the top level of a case file must be a mapping of keys to values, not a list"),
        ("template: en\n", 1, "a case file needs a 'cases:' list and/or a 'generate:' list at the top level"),
        (
            "cases: []\ntemplat: en\n",
            2,
            "unknown key 'templat' in the top level of a case file; did you mean 'template'?",
        ),
        (
            "cases:\n  - numbrs: ['13.8', '13.11']\n",
            2,
            "unknown key 'numbrs' in case #1; did you mean 'numbers'?",
        ),
        (
            "cases:\n  - numbers: ['1', '2']\n    colour: red\n",
            3,
            "unknown key 'colour' in case #1; expected one of: "
            "numbers, ask, id, tags, template, lang, expect, description, critical",
        ),
        (
            "generate:\n  - {category: equal, seed: 1, count: 2, cuont: 3}\n",
            2,
            "unknown key 'cuont' in generate #1; did you mean 'count'?",
        ),
        (
            "cases:\n  - numbers: ['1', '2']\n    numbers: ['3', '4']\n",
            3,
            "case #1 has the key 'numbers' twice (first on line 2)",
        ),
        ("cases:\n  - {1: x}\n", 2, "case #1 has a key that is a number; keys must be names like 'numbers'"),
        (
            "cases: {numbers: ['1', '2']}\n",
            1,
            '\'cases\' must be a list, not a mapping, e.g. cases: [{numbers: ["13.8", "13.11"]}]',
        ),
        ("cases:\n  - ['1', '2']\n", 2, "case #1 must be a mapping of keys to values, not a list"),
        ("cases:\n  - ask: larger\n", 2, 'case #1 has no \'numbers\'; add e.g. numbers: ["13.8", "13.11"]'),
        (
            "cases:\n  - numbers: '13.8, 13.11'\n",
            2,
            'case #1: \'numbers\' must be a list, not a string, e.g. numbers: ["13.8", "13.11"]',
        ),
        ("cases:\n  - numbers: ['13.8']\n", 2, "case #1 has 1 number; a case needs 2 to 20"),
        (
            "cases:\n  - numbers:\n      - '13.8'\n      - 13.10\n",
            4,
            'case #1: number 13.10 must be quoted ("13.10"), because YAML turns unquoted 13.10 into 13.1',
        ),
        (
            "cases:\n  - numbers: ['9', 010]\n",
            2,
            'case #1: number 010 must be quoted ("010"), because YAML turns unquoted 010 into 8',
        ),
        (
            "cases:\n  - numbers: ['9', 9.9]\n",
            2,
            'case #1: number 9.9 must be quoted ("9.9"), because YAML reads unquoted numbers as numbers '
            "and turns 13.10 into 13.1",
        ),
        (
            "cases:\n  - numbers: ['9', null]\n",
            2,
            'case #1: number 2 must be a quoted string such as "13.8", not empty (null)',
        ),
        ("cases:\n  - numbers: ['9', 'abc']\n", 2, "case #1: not a number: 'abc'"),
        (
            "cases:\n  - numbers: ['13.8%', '13.11']\n",
            2,
            "case 'larger-13.8pct-vs-13.11-958ce2': mixed units: '13.8%' and '13.11'",
        ),
        (
            "cases:\n  - numbers: ['1', '2']\n    ask: bigger\n",
            3,
            "case #1: ask 'bigger' is not one of larger, smaller, order",
        ),
        (
            "cases:\n  - numbers: ['1', '2']\n    ask: smalller\n",
            3,
            "case #1: ask 'smalller' is not one of larger, smaller, order; did you mean 'smaller'?",
        ),
        ("ask: [larger]\ncases: []\n", 1, "the file's 'ask' must be a string, not a list"),
        (
            "tags: trap\ncases: []\n",
            1,
            "the file's 'tags' must be a list, not a string, e.g. tags: [trap, zh]",
        ),
        (
            "cases:\n  - numbers: ['1', '2']\n    tags: [two words]\n",
            3,
            "tag 'two words' in case 'larger-1-vs-2' must have 1 to 60 characters and no spaces",
        ),
        (
            "cases:\n  - numbers: ['1', '2']\n    template: eng\n",
            3,
            "case 'larger-1-vs-2': template 'eng' is neither a shipped template "
            "(zh, zh-formal, en, en-short) nor text with {a}/{b} or {numbers} placeholders; "
            "did you mean 'en'?",
        ),
        (
            "cases:\n  - numbers: ['1', '2']\n    template: '{a} or {c}?'\n",
            3,
            "case 'larger-1-vs-2': template '{a} or {c}?' uses unknown placeholder {c} "
            "(known: {a}, {b}, {numbers}, {ask})",
        ),
        (
            "cases:\n  - numbers: ['1', '2']\n    template: 'Is {a} big?'\n",
            3,
            "case 'larger-1-vs-2': template 'Is {a} big?' uses {a} but not {b}, so a number would be left out",
        ),
        (
            "template: '{a} or {b}?'\ncases:\n  - numbers: ['1', '2', '3']\n",
            3,
            "case 'larger-1-vs-2-vs-3': template '{a} or {b}?' uses {a} and {b} but the case has 3 numbers; "
            "use {numbers}",
        ),
        (
            "cases:\n  - {numbers: ['1', '2'], id: a}\n  - {numbers: ['3', '4'], id: a}\n",
            3,
            "case 'a' has the id 'a', already used on line 2",
        ),
        (
            "cases:\n  - numbers: ['1', '2']\n  - numbers: ['1', '2']\n    template: en\n",
            3,
            "case 'larger-1-vs-2' has the id 'larger-1-vs-2', already used on line 2; "
            "give one of them an explicit 'id'",
        ),
        (
            "cases:\n  - {numbers: ['1', '2'], id: 'a/b c'}\n",
            2,
            "case #1 has the id 'a/b c', but an id must be 1 to 100 letters, digits, '.', '_', '+' or '-' "
            "(no spaces, '/', ':' or '['), not starting with '.'",
        ),
        (
            "cases:\n  - numbers: ['13.8', '13.11']\n    expect: '13.11'\n",
            3,
            "case 'larger-13.8-vs-13.11': expect says 13.11 but the exact answer is 13.8",
        ),
        (
            "cases:\n  - {id: x, numbers: ['1.10', '1.1'], expect: '1.1'}\n",
            2,
            "case 'x': expect says 1.1 but the exact answer is equal",
        ),
        (
            "cases:\n  - {id: x, numbers: ['13.8', '13.11'], expect: '13.80'}\n",
            2,
            "case 'x': expect '13.80' is not one of its numbers (as written) or 'equal'",
        ),
        (
            "cases:\n  - {id: x, numbers: ['13.8', '13.11'], expect: 13.8}\n",
            2,
            "case 'x': expect 13.8 must be quoted (\"13.8\"), because YAML reads unquoted numbers as numbers "
            "and turns 13.10 into 13.1",
        ),
        (
            "generate:\n  - {category: decimal-trapp, seed: 1, count: 2}\n",
            2,
            "generate #1: unknown category 'decimal-trapp'; did you mean 'decimal-trap'?",
        ),
        (
            "generate:\n  - {category: equal, count: 2}\n",
            2,
            "generate #1 has no 'seed'; it needs category, seed and count",
        ),
        (
            "generate:\n  - {category: equal, seed: '1', count: 2}\n",
            2,
            "generate #1 (equal) seed must be a whole number, not a string",
        ),
        (
            "generate:\n  - {category: equal, seed: 1, count: 5000}\n",
            2,
            "generate #1 (equal): count 5000 is out of range; use an integer from 1 to 1000",
        ),
        (
            "generate:\n  - {category: equal, seed: 1, count: 2, ask: bigger}\n",
            2,
            "generate #1 (equal) ask 'bigger' is not one of larger, smaller, order, both",
        ),
        (
            "generate:\n  - {category: multi, seed: 1, count: 2, template: '{a} or {b}'}\n",
            2,
            "generate #1 (multi) case 'multi-1-1': template '{a} or {b}' uses {a} and {b} "
            "but the case has 3 numbers; use {numbers}",
        ),
        (
            "generate:\n  - {category: equal, seed: 1, count: 2}\n  - {category: equal, seed: 1, count: 1}\n",
            3,
            "generate #2 (equal) case 'equal-1-1' has the id 'equal-1-1', already used on line 2; use another seed",
        ),
        (
            "generate:\n  - {category: equal, seed: 123456789012345678901234567890123, count: 1}\n",
            2,
            "generate #1 (equal) seed 123456789012345678901234567890… is too large",
        ),
        ("a: &x [1]\nb: *x\n", 2, "YAML aliases (*x) are not allowed in case files; write the value out"),
        ("cases: " + "[" * 40 + "]" * 40 + "\n", 1, "the YAML is nested deeper than 32 levels"),
        ("cases: ['a\x01']\n", 1, "invalid YAML: character #x0001 is not allowed in YAML"),
    ],
)
def test_rejections_name_file_line_and_reason(tmp_path: Path, text: str, line: int, message: str) -> None:
    assert_error(write(tmp_path, text), line, message)


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("cases: [\n", 2),
        ("cases:\n  - numbers: ['1', '2']\n   bad: x\n", 3),
        ("cases:\n  x: y: z\n", 2),
        ("cases:\n  - numbers: ['1', '2']\n\t- numbers: ['3', '4']\n", 3),
    ],
)
def test_malformed_yaml_is_located(tmp_path: Path, text: str, line: int) -> None:
    # The wording after "invalid YAML: " is libyaml's (or PyYAML's without libyaml), one line either way.
    error = error_of(write(tmp_path, text))
    assert error.line == line
    assert error.message.startswith("invalid YAML: ")
    assert "\n" not in error.message


def test_several_documents_are_refused(tmp_path: Path) -> None:
    assert_error(
        write(tmp_path, "cases: [1, 2]\n---\ncases: []\n"),
        2,
        "invalid YAML: expected a single document in the stream, but found another document",
    )


def test_error_lines_point_into_long_files(tmp_path: Path) -> None:
    good = "".join(f"  - numbers: ['{i}.5', '{i}.25']\n" for i in range(30))
    path = write(tmp_path, "tags: [x]\ncases:\n" + good + "  - numbers: ['1', '2']\n    nubmers: 3\n")
    assert_error(path, 34, "unknown key 'nubmers' in case #31; did you mean 'numbers'?")


def test_too_many_nodes(tmp_path: Path) -> None:
    path = write(tmp_path, "cases: [" + "'1'," * 100_001 + "]\n")
    assert_error(path, 1, "the file has more than 100000 YAML nodes")


def test_oversized_file(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_bytes(b"#" * (5 * 1024 * 1024 + 1))
    assert_error(path, 1, "the file is larger than 5 MB")


def test_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "bin.yaml"
    path.write_bytes(b"cases:\n\n  - \xff\xfe\x00junk")
    assert_error(path, 3, "the file is not UTF-8 text (bad byte at offset 12)")


def test_missing_file(tmp_path: Path) -> None:
    error = error_of(tmp_path / "nope.yaml")
    assert (error.line, error.message) == (1, "cannot read the file (No such file or directory)")


def test_error_pickles_for_xdist(tmp_path: Path) -> None:
    error = error_of(write(tmp_path, "cases: 1\n"))
    copy = pickle.loads(pickle.dumps(error))
    assert (str(copy), copy.path, copy.line, copy.message) == (
        str(error),
        error.path,
        error.line,
        error.message,
    )


# -- the never-anything-but-CaseFileError promise ------------------------------------------------

scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
known_keys = st.sampled_from(sorted({*FILE_KEYS, *CASE_KEYS, *GENERATE_KEYS}))
trees = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(known_keys | st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=24,
)
number_texts = st.sampled_from(["13.8", "13.11", "-0.5", "1.2e-3", "1,234.5", "13.8%", "3/8", "十三点八", "x", ""])
near_cases = st.fixed_dictionaries(
    {"numbers": st.lists(number_texts | scalars, max_size=4)},
    optional={
        "ask": st.sampled_from(["larger", "smaller", "both", "bigger"]) | scalars,
        "id": st.text(max_size=8) | scalars,
        "tags": st.lists(st.text(max_size=5), max_size=3) | scalars,
        "template": st.sampled_from([*TEMPLATES, "{a}/{b}", "{numbers}?", "{x}", "{", "{a!r}{b}"]) | scalars,
        "expect": number_texts | st.just("equal") | scalars,
    },
)
near_generates = st.fixed_dictionaries(
    {
        "category": st.sampled_from([*CATEGORIES, "nope"]),
        "seed": st.integers(-5, 2**70),
        "count": st.integers(-2, 30),
    },
    optional={
        "ask": st.sampled_from(["larger", "smaller", "both", "x"]),
        "template": st.sampled_from(["en", "{a}{b}"]),
    },
)
documents = (
    trees
    | st.fixed_dictionaries(
        {"cases": st.lists(near_cases | trees, max_size=4)}, optional={"template": trees, "tags": trees}
    )
    | st.fixed_dictionaries({"generate": st.lists(near_generates | trees, max_size=3)}, optional={"ask": trees})
)
FUZZ = settings(max_examples=200, deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture])


def only_case_file_errors(path: Path) -> None:
    # CPU time, not wall-clock time: a loaded machine slows the clock down, not the work.
    started = time.process_time()
    error: CaseFileError | None = None
    try:
        load_case_file(path)
    except CaseFileError as exc:
        error = exc
    if error is not None:
        assert "internal error" not in error.message
        assert "\n" not in error.message
        assert error.line >= 1
    assert time.process_time() - started < 1.0


@FUZZ
@given(documents)
def test_arbitrary_yaml_gives_cases_or_case_file_error(tmp_path: Path, document: Any) -> None:
    only_case_file_errors(write(tmp_path, yaml.safe_dump(document, allow_unicode=True)))


@FUZZ
@given(st.binary(max_size=400) | st.text(max_size=200).map(str.encode))
def test_arbitrary_bytes_give_case_file_error(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "c.yaml"
    path.write_bytes(data)
    only_case_file_errors(path)


def test_yaml_alias_bomb_is_refused_fast(tmp_path: Path) -> None:
    lines = ["a0: &a0 ['lol', 'lol', 'lol', 'lol', 'lol', 'lol', 'lol', 'lol', 'lol']"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    path = write(tmp_path, "\n".join([*lines, "cases: [*a9]"]) + "\n")
    started = time.process_time()  # CPU time: a loaded machine slows the clock down, not the work
    assert_error(path, 2, "YAML aliases (*a0) are not allowed in case files; write the value out")
    assert time.process_time() - started < 0.5


# -- sniffing ------------------------------------------------------------------------------------


def test_looks_like_case_file(tmp_path: Path) -> None:
    plain = write(tmp_path, "name: ci\njobs: {}\n", "workflow.yaml")
    nested = write(tmp_path, "test:\n  cases: []\n", "nested.yml")
    top = write(tmp_path, "# suite\ntemplate: en\ncases:\n  - numbers: ['1', '2']\n", "mine.yml")
    generated = write(tmp_path, "generate: []\n", "gen.yaml")
    text = write(tmp_path, "cases: []\n", "notes.txt")
    assert not looks_like_case_file(plain, under_cases_dir=False)
    assert looks_like_case_file(plain, under_cases_dir=True)
    assert not looks_like_case_file(nested, under_cases_dir=False)
    assert looks_like_case_file(top, under_cases_dir=False)
    assert looks_like_case_file(generated, under_cases_dir=False)
    assert not looks_like_case_file(text, under_cases_dir=True)
    assert not looks_like_case_file(tmp_path / "missing.yaml", under_cases_dir=False)


# -- templates -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "numbers", "ask", "question"),
    [
        ("zh", ["13.8", "13.11"], "larger", "13.8和13.11哪个大？"),
        ("zh", ["13.8", "13.11"], "smaller", "13.8和13.11哪个小？"),
        ("zh", ["1", "2", "3"], "larger", "1、2、3中哪个最大？"),
        ("zh", ["1", "2", "3"], "smaller", "1、2、3中哪个最小？"),
        ("en", ["13.8", "13.11"], "larger", "Which is larger, 13.8 or 13.11?"),
        ("en", ["1", "2", "3"], "smaller", "Which is the smallest of 1, 2, 3?"),
        ("en", ["1,234.5", "2", "3"], "larger", "Which is the largest of 1,234.5; 2; 3?"),
        ("en-short", ["1", "2"], "smaller", "Smaller: 1 or 2?"),
        ("zh-formal", ["1", "2"], "larger", "请比较1与2的大小：哪一个更大？"),
        ("{numbers}里哪个最{ask}？", ["1", "2", "3"], "smaller", "1、2、3里哪个最小？"),
        ("{{{a}}} vs {b}: {ask}", ["1", "2"], "larger", "{1} vs 2: larger"),
    ],
)
def test_render_question(template: str, numbers: list[str], ask: str, question: str) -> None:
    assert render_question(template, numbers, ask) == question


@pytest.mark.parametrize(
    ("template", "message"),
    [
        (
            "{a",
            "template '{a' has unbalanced braces (expected '}' before end of string); "
            "write {{ or }} for a literal brace",
        ),
        ("{a!r} {b}", "template '{a!r} {b}' formats {a}; write the placeholder plain, as {a}"),
        (
            "{a.real} {b}",
            "template '{a.real} {b}' uses unknown placeholder {a.real} (known: {a}, {b}, {numbers}, {ask})",
        ),
        ("Which {ask}?", "template 'Which {ask}?' shows no numbers; use {a} and {b}, or {numbers}"),
    ],
)
def test_bad_templates(template: str, message: str) -> None:
    with pytest.raises(TemplateError) as info:
        check_template(template)
    assert str(info.value) == message


def test_shipped_template_without_wording_for_an_ask() -> None:
    with pytest.raises(TemplateError, match="template 'en' has no wording for ask 'closest'"):
        render_question("en", ["1", "2"], "closest")


# -- the shipped suite ---------------------------------------------------------------------------


def load_suite() -> list[Case]:
    loaded: list[Case] = []
    for path in sorted(SUITE.glob("*.yaml")):
        assert looks_like_case_file(path, under_cases_dir=False), path
        loaded += load_case_file(path)
    return loaded


def test_shipped_suite_size_ids_and_coverage() -> None:
    suite = load_suite()
    assert 150 <= len(suite) <= 300
    ids = [case.id for case in suite]
    assert len(set(ids)) == len(ids), "ids name cassette files, so they must be unique across the suite"
    assert all(SAFE_ID.fullmatch(case_id) for case_id in ids)
    for language in ("zh", "en"):
        in_language = [case for case in suite if language in case.tags]
        for category in CATEGORIES:
            tagged = [case for case in in_language if category in case.tags]
            assert tagged, f"no {language} case for {category}"
        assert {case.ask for case in in_language} == {"larger", "smaller", "order"}
    assert all(("zh" in case.tags) != ("en" in case.tags) for case in suite)


def test_shipped_suite_holds_the_seed_case() -> None:
    seed = {case.id: case for case in load_case_file(SUITE / "seed.yaml")}
    assert seed["larger-13.8-vs-13.11"].question == "13.8和13.11哪个大？"
    assert seed["larger-13.8-vs-13.11"].expected == "13.8"
    assert seed["larger-9.9-vs-9.11"].expected == "9.9"


def test_shipped_suite_loads_fast() -> None:
    load_suite()  # warm imports
    started = time.process_time()  # CPU time: what the loading costs, whatever else the machine is doing
    load_suite()
    elapsed = time.process_time() - started
    assert elapsed < 0.5, f"loading the shipped suite took {elapsed:.3f}s"


def test_module_is_free_of_pytest() -> None:
    source = Path(cases_module.__file__).read_text(encoding="utf-8")
    assert "import pytest" not in source


def test_pure_python_yaml_loader_gives_the_same_results(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Without libyaml the loader falls back to PyYAML's own parser; cases and guards must not change."""
    with_libyaml = load_suite()
    monkeypatch.setattr(cases_module, "_Loader", yaml.SafeLoader)
    assert load_suite() == with_libyaml
    assert_error(write(tmp_path, "cases: " + "[" * 40 + "]" * 40 + "\n"), 1, "the YAML is nested deeper than 32 levels")
    assert_error(
        write(tmp_path, "a: &x [1]\nb: *x\n"),
        2,
        "YAML aliases (*x) are not allowed in case files; write the value out",
    )
    assert_error(
        write(tmp_path, "cases:\n  - numbers: ['9', 010]\n"),
        2,
        'case #1: number 010 must be quoted ("010"), because YAML turns unquoted 010 into 8',
    )
