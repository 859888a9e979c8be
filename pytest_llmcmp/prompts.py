"""System-prompt files: loading, naming and content hashing."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .safefiles import FileTooLarge, NotRegularFile, read_regular

#: The name under which a run without any prompt file is reported.
NO_PROMPT = "none"

#: Prompt files larger than this are refused: a system prompt that size is almost surely a wrong path.
MAX_PROMPT_BYTES = 256 * 1024


class PromptError(Exception):
    """A prompt file that cannot be used; the message is one line naming the file."""


@dataclass(frozen=True)
class Prompt:
    """A system prompt: its name (the file stem, or ``none``), where it came from and its text."""

    name: str
    path: str | None
    text: str | None

    @functools.cached_property
    def sha256(self) -> str | None:
        """The hex sha256 of the prompt's UTF-8 text; ``None`` for the no-prompt run."""
        if self.text is None:
            return None
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


def load_prompt(spec: str, bases: Sequence[Path], source: str = "--llm-prompt") -> Prompt:
    """Load the prompt named by ``spec``: ``none``, or a file path, relative to the first of ``bases`` holding it.
    ``source`` names how it was given in messages (``--llm-prompt``, ``llm_prompt`` or ``LLMCMP_PROMPT``)."""
    if spec == NO_PROMPT:
        return Prompt(name=NO_PROMPT, path=None, text=None)
    path = Path(spec)
    if not path.is_absolute():
        path = next((base / path for base in bases if (base / path).exists()), bases[0] / path)
    try:
        data = read_regular(path, MAX_PROMPT_BYTES)
    except FileNotFoundError:
        raise PromptError(f"{source} {spec}: no such file") from None
    except NotRegularFile as exc:
        raise PromptError(f"{source} {spec}: not a file: {exc.strerror}") from None
    except FileTooLarge:
        raise PromptError(
            f"{source} {spec}: the file is larger than the {MAX_PROMPT_BYTES // 1024} KiB limit for a prompt"
        ) from None
    except OSError as exc:
        raise PromptError(f"{source} {spec}: cannot read it: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PromptError(f"{source} {spec}: not UTF-8 text (byte {exc.start} is invalid)") from None
    if not text.strip():
        raise PromptError(f"{source} {spec}: the file is empty")
    if path.stem == NO_PROMPT:
        raise PromptError(f"{source} {spec}: the name '{NO_PROMPT}' is reserved for running without a prompt")
    return Prompt(name=path.stem, path=spec, text=text)


#: Directories never searched for a prompt file: caches, environments, version control, cassettes.
_NOT_SEARCHED = frozenset({"node_modules", "__pycache__", "site-packages", "cassettes", "venv", "build", "dist"})


def find_prompt_file(name: str, sha12: str | None, root: Path, limit: int = 2000) -> str | None:
    """Where under ``root`` the prompt ``name`` recorded with ``sha256[:12] == sha12`` lives (relative, posix), or
    failing that a file of that name; ``None`` when neither is found among the first ``limit`` directories."""
    import os

    named: str | None = None
    for seen, (folder, dirs, files) in enumerate(os.walk(root)):
        if seen >= limit:
            break
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _NOT_SEARCHED)
        for file in sorted(files):
            path = Path(folder) / file
            if path.stem != name or path.suffix.lower() not in (".md", ".txt", ".prompt", ""):
                continue
            shown = path.relative_to(root).as_posix()
            try:
                text = read_regular(path, MAX_PROMPT_BYTES).decode("utf-8-sig")
            except (OSError, UnicodeDecodeError):
                continue
            if sha12 is not None and hashlib.sha256(text.encode("utf-8")).hexdigest()[:12] == sha12:
                return shown
            named = named or shown
    return named


def load_prompts(specs: list[str], bases: Sequence[Path], source: str = "--llm-prompt") -> list[Prompt]:
    """Load every prompt; no spec at all means the single no-prompt run. Names must be unique."""
    if not specs:
        return [Prompt(name=NO_PROMPT, path=None, text=None)]
    prompts: list[Prompt] = []
    seen: dict[str, str] = {}
    for spec in specs:
        prompt = load_prompt(spec, bases, source)
        if prompt.name in seen:
            raise PromptError(
                f"{source} {spec}: another prompt is also named '{prompt.name}' ({seen[prompt.name]}); "
                "prompts are identified by file name, rename one"
            )
        seen[prompt.name] = spec
        prompts.append(prompt)
    return prompts
