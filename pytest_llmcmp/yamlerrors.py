"""What a YAML parser's error says, in one clause with its line: the one wording for case files and cassettes."""

from __future__ import annotations

import yaml


def describe(exc: yaml.YAMLError, text: str) -> tuple[int | None, str]:
    """The 1-based line of a YAML error (``None`` when the parser does not say) and what is wrong, on one line:
    ``"did not find expected key (while parsing a block mapping)"``; callers add the file and their own advice."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "unreadable YAML"
        if exc.problem and exc.context:
            if problem.startswith("but "):  # "expected a single document ..., but found another"
                return line, f"{exc.context}, {problem}"
            return line, f"{problem} ({exc.context})"
        return line, problem
    if isinstance(exc, yaml.reader.ReaderError):
        return text[: exc.position].count("\n") + 1, f"character #x{exc.character:04x} is not allowed in YAML"
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else "unreadable YAML"
    return None, first_line
