"""What the engine says: a failing item's text, why an item has no recording, and the one command that records.

Plain functions of the settings and the case; every path is shown relative to where the user runs, scrubbed.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Sequence
from pathlib import Path

from ..prompts import NO_PROMPT, Prompt
from ..redaction import public_url, scrub
from ..results import CaseResult, PassRule
from ..settings import DEFAULT_MAX_TOKENS, Settings
from ..tasks import task_for
from ..terminal import shown
from ..words import plural
from .backends import NAMED
from .host import Unit


def show_path(path: Path, base: Path) -> str:
    """A path as the user would type it: relative to where pytest runs (without the key, should the model id in it
    hold the key)."""
    try:
        return scrub(os.path.relpath(path, base))
    except ValueError:
        return scrub(str(path))


def trim(text: str, limit: int = 400) -> str:
    """An answer on one line, shortened in the middle: the start restates, the end decides."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    head = limit * 2 // 5
    return f"{flat[:head]} … {flat[-(limit - head - 3) :]}"


def describe_failure(unit: Unit, result: CaseResult, rule: PassRule) -> str:
    """What a failing item shows instead of a traceback."""
    case, prompt = unit.case, unit.prompt
    source = f" ({prompt.path})" if prompt.path else ""
    correct = sum(s.verdict == "correct" for s in result.samples)
    lines = [
        f"question: {case.question}",
        f"prompt:   {prompt.name}{source}",
        f"expected: {task_for(case.ask).describe_expected(case.expected, case.numbers, case.ask)}",
    ]
    if len(result.samples) > 1:
        lines.append(f"samples:  {correct}/{len(result.samples)} correct, pass rule '{rule}'")
    for index, sample in enumerate(result.samples, 1):
        label = f"sample {index}: " if len(result.samples) > 1 else ""
        if sample.verdict == "error":
            lines.append(f"{label}error: {sample.error}")
            continue
        chose = "no clear choice" if sample.choice is None else f"chose {sample.choice}"
        flag = " (its reasoning says otherwise)" if sample.contradiction else ""
        if sample.truncated:
            flag = " (the answer was cut off by max_tokens before a verdict: finish_reason length)"
        lines.append(f"{label}{sample.verdict}: {chose}{flag}")
        lines.append(f"  answer: {trim(sample.answer or '')}")
        if sample.evidence:
            lines.append(f"  decided by: {trim(sample.evidence)}")
    return "\n".join(lines)


def nothing_recorded(root: str) -> str:
    """Why nothing can be replayed: no model recorded under the cassette directory ``root`` (as shown)."""
    return (
        f"no recordings in {root}: nothing can be replayed offline.\n"
        "record them with: pytest --llm-endpoint URL (or --llm-endpoint local), then commit the cassettes"
    )


def never_recorded_why(
    prompt: Prompt, path: Path, exists: bool, difference: str | None, siblings: Sequence[str]
) -> str:
    """Why an item's cassette does not hold its request: the request changed (``difference``, when known), the
    prompt file changed (``siblings``: its other recorded versions), or the case was never recorded."""
    if exists:
        if difference is not None:
            return f"its cassette has no recording of this exact request ({shown(difference)})"
        return "its cassette has no recording of this exact request (the question or the settings changed)"
    if siblings:
        return f"the prompt file changed since it was recorded (recorded: {', '.join(siblings)})"
    return "the case was never recorded with this prompt and model"


def path_named(directory: str, count: int, model: str, root: str) -> str:
    """The line saying that recordings of ``model`` lie under its file's path (``directory``, as shown), with the
    command that moves them to where they replay (``root``: the cassette directory, as shown)."""
    from ..migrate import COMMAND

    return shown(
        f"llmcmp: {directory} holds {plural(count, 'cassette')} of model '{model}' recorded under its file's path "
        f"(before model ids became the file's stem): they are not replayed; move them with: "
        f"{COMMAND} {shlex.quote(root)}"
    )


def other_prompts_hint(found: Sequence[tuple[str, str]]) -> str | None:
    """The summary's line when the missing recordings exist under other prompts of the model: ``found`` holds
    ``(prompt name, its file as the user types it)``; ``None`` when there are none."""
    if not found:
        return None
    which = ", ".join(f"'{name}' ({path})" for name, path in found)
    options = " ".join(f"--llm-prompt {shlex.quote(path)}" for _, path in found)
    return shown(
        f"recordings exist for {'prompts' if len(found) > 1 else 'prompt'} {which}; did you mean {options} "
        "(or llm_prompt in pyproject.toml)?"
    )


def missing_text(unit: Unit, model: str | None, why: str, where: str, command: str) -> str:
    """The text of an item that has no recording: what, why, where it was looked for, and the command."""
    prompt = unit.prompt
    sha = f" (sha256 {prompt.sha256[:12]})" if prompt.sha256 else ""
    return (
        f"no recording of case '{unit.case.id}' under prompt '{prompt.name}'{sha} for model "
        f"'{scrub(model or '')}': {why}.\nexpected cassette: {where}\nrecord it with: {command}"
    )


def record_command(
    settings: Settings,
    prompts: Sequence[Prompt],
    model: str | None,
    items: Sequence[tuple[str, str]],
    mode: str | None = None,
) -> str:
    """The one command that records the items ``(node id, prompt name)`` with this run's settings: their prompts,
    and their node ids (a few) or their files (many); only what is missing is asked."""
    s = settings
    endpoint = public_url(s.endpoint) if s.endpoint else "URL"
    if s.endpoint_name and s.endpoint and s.endpoint not in NAMED:
        # Named as in the run, so that the command reads the same key variable (LLMCMP_API_KEY_<NAME>).
        endpoint = f"{s.endpoint_name}={endpoint}"
    parts = ["pytest", "--llm-endpoint", endpoint]
    if model is not None:
        parts += ["--llm-model", scrub(model)]
    known = {prompt.name: prompt for prompt in prompts}
    names = list(dict.fromkeys(name for _, name in items))
    if any(name != NO_PROMPT for name in names) or len(prompts) > 1:
        for name in names:
            prompt = known.get(name)
            parts += ["--llm-prompt", (prompt.path if prompt is not None else None) or NO_PROMPT]
    # What shapes the request must be what is recorded: name every setting that differs from the default.
    if s.temperature:
        parts += ["--llm-temperature", f"{s.temperature:g}"]
    if s.max_tokens != DEFAULT_MAX_TOKENS:
        parts += ["--llm-max-tokens", "none" if s.max_tokens is None else str(s.max_tokens)]
    if s.seed is not None:
        parts += ["--llm-seed", str(s.seed)]
    if s.answer_format != "text":
        parts += ["--llm-answer-format", s.answer_format]
    if s.samples != 1:
        parts += ["--llm-samples", str(s.samples)]
    if mode is not None:
        parts += ["--llm-record-mode", mode]
    if len(items) <= 3:
        parts += [nodeid for nodeid, _ in items]
    else:
        parts += sorted(dict.fromkeys(nodeid.split("::", 1)[0] for nodeid, _ in items))
    return shlex.join(parts)
