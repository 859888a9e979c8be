"""CSV and JSONL files of cases people already have (a spreadsheet of failures): rows of text, each with its line.

Only reading lives here; :mod:`pytest_llmcmp.cases` maps the columns a case file's ``import:`` names onto cases and
checks them with the same rules, and the same messages, as cases written in YAML. Every value stays the text it
was: a CSV cell ``13.80`` is ``"13.80"``, and so is a JSON number ``13.80`` (JSON numbers are read as written, never
through a float).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .safefiles import BadText, decode_text

FORMATS = ("csv", "tsv", "jsonl")
SUFFIXES = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


class TableError(Exception):
    """A row or a file that cannot be read; ``line`` is 1-based."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


@dataclass(frozen=True)
class Row:
    """One record: its first line in the file, and its values by column (CSV) or field (JSONL)."""

    line: int
    values: dict[str, Any]  # CSV: str; JSONL: str (numbers as written), list, bool, None or dict


@dataclass(frozen=True)
class Table:
    columns: tuple[str, ...]  # CSV: the header; JSONL: every field seen, in order of first appearance
    rows: tuple[Row, ...]


def decode(data: bytes, encoding: str | None) -> str:
    """The text of a file: ``encoding`` when given, else UTF-8 (with or without Excel's byte-order mark) or UTF-16
    with a byte-order mark. Raises :class:`TableError` naming the line of the first bad byte."""
    try:
        return decode_text(data, encoding)
    except BadText as exc:
        hint = "" if encoding is not None else _ENCODING_HINT
        raise TableError(exc.line, f"{exc}{hint}") from None


_ENCODING_HINT = "; save it as UTF-8 (Excel: 'CSV UTF-8') or give its encoding in the import, e.g. encoding: gbk"


def read_csv(text: str, delimiter: str) -> Table:
    """A CSV (or TSV) text with a header row. Blank rows and rows of empty cells (Excel leaves them) are skipped."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] | None = None
    rows: list[Row] = []
    start = 1
    try:
        for record in reader:
            line, start = start, reader.line_num + 1
            if not any(cell.strip() for cell in record):
                continue
            if header is None:
                header = [cell.strip() for cell in record]
                continue
            extra = [cell for cell in record[len(header) :] if cell.strip()]
            if extra:
                raise TableError(line, f"the row has {len(record)} cells but the header has {len(header)} columns")
            values = {name: cell for name, cell in zip(header, record, strict=False) if name}
            rows.append(Row(line, values))
    except csv.Error as exc:
        raise TableError(reader.line_num or 1, f"unreadable CSV: {exc}") from None
    if header is None:
        raise TableError(1, "the file is empty; it needs a header row naming its columns")
    return Table(tuple(header), tuple(rows))


def read_jsonl(text: str) -> Table:
    """JSON Lines: one object per line; blank lines skipped. Numbers are kept as written."""
    columns: dict[str, None] = {}
    rows: list[Row] = []
    for number, raw in enumerate(text.split("\n"), start=1):
        if not raw.strip():
            continue
        try:
            value = json.loads(raw, parse_float=str, parse_int=str, parse_constant=_no_constant)
        except ValueError as exc:
            where = f" (column {exc.colno})" if isinstance(exc, json.JSONDecodeError) else ""
            message = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
            raise TableError(number, f"invalid JSON: {message}{where}") from None
        if not isinstance(value, dict):
            raise TableError(number, f"each line must be a JSON object ({{...}}), not {_json_kind(value)}")
        columns.update(dict.fromkeys(value))
        rows.append(Row(number, value))
    if not rows:
        raise TableError(1, "the file is empty; it needs one JSON object per line")
    return Table(tuple(columns), tuple(rows))


def read_table(path: Path, data: bytes, fmt: str, encoding: str | None, delimiter: str | None) -> Table:
    """The rows of ``data`` (the bytes of the file at ``path``) read as ``fmt``."""
    text = decode(data, encoding)
    if fmt == "jsonl":
        return read_jsonl(text)
    return read_csv(text, delimiter or ("\t" if fmt == "tsv" else ","))


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number a case can hold")


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return "a string or a number"
