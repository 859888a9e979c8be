"""Cases imported from CSV and JSONL files (``import:`` in a case file): the same checks and messages as YAML cases,
located at the row's file and line; every value kept as written."""

from __future__ import annotations

import codecs
import json
import shutil
from pathlib import Path

import pytest

from pytest_llmcmp.cases import CaseFileError, load_case_file
from tests.fakeserver import FakeServer

EXAMPLE = Path(__file__).parent.parent / "examples" / "import"


def project(tmp_path: Path, yaml_text: str, **files: str | bytes) -> Path:
    for name, content in files.items():
        path = tmp_path / name.replace("__", ".")
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8", newline="")
    case_file = tmp_path / "failures.yaml"
    case_file.write_text(yaml_text, encoding="utf-8")
    return case_file


CSV_IMPORT = "import: {file: failures.csv, numbers: [a, b], ask: ask, id: id, tags: tags}\n"


def error_of(path: Path) -> str:
    with pytest.raises(CaseFileError) as info:
        load_case_file(path)
    return str(info.value)


def test_csv_rows_become_cases_with_numbers_exactly_as_written(tmp_path: Path) -> None:
    csv_text = (
        "id,a,b,ask,tags,note\r\n"
        'seed,13.80,13.11,larger,"trap, seed","two\r\nlines"\r\n'
        "\r\n"
        ",,,,,\r\n"  # Excel's rows of empty cells
        ',"1,234.5", 999 ,smaller,,\r\n'
    )
    path = project(tmp_path, "template: en\n" + CSV_IMPORT, failures__csv=codecs.BOM_UTF8 + csv_text.encode())
    first, second = load_case_file(path)
    assert (first.id, first.numbers, first.ask, first.expected) == ("seed", ("13.80", "13.11"), "larger", "13.80")
    assert first.tags == ("en", "trap", "seed")
    assert first.question == "Which is larger, 13.80 or 13.11?"
    assert (Path(first.path).name, first.line) == ("failures.csv", 2)
    assert second.numbers == ("1,234.5", "999")
    assert (second.expected, second.line) == ("999", 6)
    assert second.id.startswith("smaller-1_234.5-vs-999-")


def test_jsonl_numbers_are_kept_as_written(tmp_path: Path) -> None:
    jsonl = '{"pair": [13.80, "13.11"], "id": 7, "tags": "a b"}\n\n{"pair": [2.50, 2.5], "ask": "smaller"}\n'
    path = project(
        tmp_path, "import:\n  - {file: x.jsonl, numbers: pair, id: id, tags: tags, ask: ask}\n", x__jsonl=jsonl
    )
    first, second = load_case_file(path)
    assert (first.id, first.numbers, first.expected, first.line) == ("7", ("13.80", "13.11"), "13.80", 1)
    assert first.tags == ("zh", "a", "b")
    assert (second.numbers, second.expected, second.line) == (("2.50", "2.5"), "equal", 3)


@pytest.mark.parametrize(
    ("csv_text", "message"),
    [
        (
            "id,a,b,ask,tags\nx,13.8,13.11,biggest,\n",
            "failures.csv:2: case 'x': ask 'biggest' is not one of larger, smaller",
        ),
        ("id,a,b,ask,tags\nx,13.8,thirteen,,\n", "failures.csv:2: case 'x': not a number: 'thirteen'"),
        ("id,a,b,ask,tags\n,1,2,,\nx,3,,,\n", "failures.csv:3: case 'x' has 1 number; a case needs 2 to 20"),
        (
            "id,a,b,ask,tags\nsame,1,2,,\nsame,3,4,,\n",
            "failures.csv:3: case 'same' has the id 'same', already used at failures.csv:2",
        ),
        ("id,a,b,ask,tags\nbad id,1,2,,\n", "failures.csv:2: case #1 has the id 'bad id', but an id must be"),
        ("id,a,b,ask,tags\nx,1,2,,two  words\n", None),
        ("id,a,b,ask,tags\nx,1,2,,,surplus\n", "failures.csv:2: the row has 6 cells but the header has 5 columns"),
    ],
)
def test_a_bad_row_is_the_same_error_as_in_yaml_at_its_line(tmp_path: Path, csv_text: str, message: str | None) -> None:
    path = project(tmp_path, CSV_IMPORT, failures__csv=csv_text)
    if message is None:
        assert [case.tags for case in load_case_file(path)] == [("zh", "two", "words")]
        return
    assert error_of(path).startswith(f"{tmp_path / message.split(':')[0]}:{message.split(':', 1)[1]}"), error_of(path)


def test_an_id_used_in_yaml_and_in_a_row_is_refused(tmp_path: Path) -> None:
    text = "cases:\n  - {id: same, numbers: ['1', '2']}\n" + CSV_IMPORT
    path = project(tmp_path, text, failures__csv="id,a,b,ask,tags\nsame,3,4,,\n")
    assert error_of(path) == f"{tmp_path / 'failures.csv'}:2: case 'same' has the id 'same', already used on line 2"


def test_a_yaml_case_after_an_import_names_the_row_it_collides_with(tmp_path: Path) -> None:
    text = CSV_IMPORT + "cases:\n  - {id: same, numbers: ['1', '2']}\n"
    path = project(tmp_path, text, failures__csv="id,a,b,ask,tags\nsame,3,4,,\n")
    assert error_of(path) == f"{path}:3: case 'same' has the id 'same', already used at failures.csv:2"


@pytest.mark.parametrize(
    ("yaml_text", "line", "message"),
    [
        (
            "import: {file: failures.csv, numbers: [a, c]}\n",
            1,
            "import #1 (failures.csv) has no column 'c' (its columns: id, a, b)",
        ),
        (
            "import: {file: failures.csv, numbers: [a, b], ask: Ask}\n",
            1,
            "import #1 (failures.csv) has no column 'Ask' (its columns: id, a, b)",
        ),
        (
            "import: {file: missing.csv, numbers: [a, b]}\n",
            1,
            "import #1 (missing.csv): cannot read the file (No such file or directory)",
        ),
        (
            "import: {file: ../failures.csv, numbers: [a, b]}\n",
            1,
            "import #1: file '../failures.csv' must be a relative path inside this case file's directory",
        ),
        (
            "import: {file: /etc/passwd, numbers: [a, b]}\n",
            1,
            "import #1: file '/etc/passwd' must be a relative path inside this case file's directory",
        ),
        (
            "import: {file: failures.txt, numbers: [a, b]}\n",
            1,
            "import #1 (failures.txt): cannot tell the format from the file's name; add format: csv or jsonl",
        ),
        (
            "import: {file: failures.csv, numbers: a}\n",
            1,
            "import #1 (failures.csv): numbers must name the columns holding the numbers, e.g. [a, b]",
        ),
        (
            "import: {file: failures.csv, numbers: [a, b], encoding: klingon}\n",
            1,
            "import #1 (failures.csv): unknown encoding 'klingon'",
        ),
        (
            "import:\n  - {file: failures.csv, numbrs: [a, b]}\n",
            2,
            "unknown key 'numbrs' in import #1; did you mean 'numbers'?",
        ),
        (
            "import:\n  - {numbers: [a, b]}\n",
            2,
            "import #1 has no 'file'; e.g. import: {file: failures.csv, numbers: [a, b], ask: ask}",
        ),
    ],
)
def test_a_bad_import_is_an_error_at_its_line(tmp_path: Path, yaml_text: str, line: int, message: str) -> None:
    path = project(tmp_path, yaml_text, failures__csv="id,a,b\nx,1,2\n", failures__txt="id,a,b\n")
    assert error_of(path) == f"{path}:{line}: {message}"


def test_excel_encodings(tmp_path: Path) -> None:
    gbk = "id,a,b\n十三,13.8,13.11\n".encode("gbk")
    path = project(tmp_path, "import: {file: failures.csv, numbers: [a, b], id: id}\n", failures__csv=gbk)
    assert error_of(path) == (
        f"{tmp_path / 'failures.csv'}:2: the file is not UTF-8 text (bad byte at offset 9); save it as UTF-8 "
        "(Excel: 'CSV UTF-8') or give its encoding in the import, e.g. encoding: gbk"
    )
    path.write_text("import: {file: failures.csv, numbers: [a, b], id: id, encoding: gbk}\n", encoding="utf-8")
    assert [case.id for case in load_case_file(path)] == ["十三"]
    # Excel's "Unicode Text": UTF-16 with a byte-order mark, tab-separated.
    utf16 = codecs.BOM_UTF16_LE + "id\ta\tb\n十三\t13.8\t13.11\n".encode("utf-16-le")
    path = project(tmp_path, "import: {file: failures.tsv, numbers: [a, b], id: id}\n", failures__tsv=utf16)
    assert [case.numbers for case in load_case_file(path)] == [("13.8", "13.11")]
    semicolons = project(
        tmp_path, "import: {file: s.csv, numbers: [a, b], delimiter: ';'}\n", s__csv="a;b\n1,234.5;1.25\n"
    )
    assert [case.numbers for case in load_case_file(semicolons)] == [("1,234.5", "1.25")]


@pytest.mark.parametrize(
    ("jsonl", "message"),
    [
        ('{"pair": ["1", "2"]}\n{"pair": ["1", \n', "x.jsonl:2: invalid JSON: Expecting value (column 16)"),
        ('["1", "2"]\n', "x.jsonl:1: each line must be a JSON object ({...}), not a list"),
        ('{"pair": "1 2"}\n', 'x.jsonl:1: the field \'pair\' must be a list of numbers, e.g. ["13.8", "9.9"]'),
        ('{"pair": [1, NaN]}\n', "x.jsonl:1: invalid JSON: NaN is not a number a case can hold"),
        ('{"pair": [1, true]}\n', 'x.jsonl:1: the field \'pair\' must be a list of numbers, e.g. ["13.8", "9.9"]'),
        (
            '{"pair": ["1", "2"], "ask": ["larger"]}\n',
            "x.jsonl:1: the field 'ask' must be a string or a number, not a list",
        ),
        ("\n\n", "x.jsonl:1: the file is empty; it needs one JSON object per line"),
    ],
)
def test_a_bad_jsonl_line_is_an_error_at_its_line(tmp_path: Path, jsonl: str, message: str) -> None:
    path = project(tmp_path, "import: {file: x.jsonl, numbers: pair, ask: ask}\n", x__jsonl=jsonl)
    assert error_of(path) == f"{tmp_path}/{message}"


# --- the shipped example, in real pytest sessions ------------------------------------------------------------------


def test_the_shipped_import_example_records_and_replays(pytester: pytest.Pytester) -> None:
    shutil.copytree(EXAMPLE, pytester.path, dirs_exist_ok=True)
    collected = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--collect-only", "-q")
    assert collected.ret == 0
    collected.stdout.fnmatch_lines(
        [
            "failures.yaml::seed-13.8::none",
            "failures.yaml::padded::none",
            "failures.yaml::thousands::none",
            "failures.yaml::three::none",
            "failures.yaml::larger-9.9-vs-9.11::none",
            "failures.yaml::json-13.8::none",
            "failures.yaml::json-number::none",
            "failures.yaml::larger-0.7-vs-0.69::none",
            "8 tests collected*",
        ]
    )
    with FakeServer(models=("fake-model",)) as fake:
        live = pytester.runpytest_inprocess(
            "-p", "no:cacheprovider", "--llm-endpoint", fake.url, "--llm-results", "live.json"
        )
    assert live.ret == 0, live.stdout.str()
    live.assert_outcomes(passed=8)
    results = json.loads((pytester.path / "live.json").read_text(encoding="utf-8"))
    by_id = {case["id"]: case for case in results["cases"]}
    assert by_id["padded"]["numbers"] == ["13.80", "13.11"]
    assert by_id["padded"]["expected"] == "13.80"
    assert by_id["json-number"]["expected"] == "equal"
    replay = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    assert replay.ret == 0
    replay.assert_outcomes(passed=8)


def test_a_bad_row_stops_collection_with_its_csv_line(pytester: pytest.Pytester) -> None:
    (pytester.path / "cases").mkdir()
    (pytester.path / "cases" / "sheet.yaml").write_text(CSV_IMPORT, encoding="utf-8")
    (pytester.path / "cases" / "failures.csv").write_text("id,a,b,ask,tags\nok,1,2,,\nx,13.8,,,\n", encoding="utf-8")
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--collect-only")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["cases/failures.csv:3: case 'x' has 1 number; a case needs 2 to 20"])
    result.stdout.no_fnmatch_line("*Traceback*")


def test_an_expect_column_is_checked_against_the_truth(tmp_path: Path) -> None:
    text = "import: {file: f.csv, numbers: [a, b], expect: said}\n"
    path = project(tmp_path, text, f__csv="a,b,said\n13.8,13.11,13.8\n9.9,9.11,9.11\n")
    assert error_of(path) == (
        f"{tmp_path / 'f.csv'}:3: case 'larger-9.9-vs-9.11': expect says 9.11 but the exact answer is 9.9"
    )
