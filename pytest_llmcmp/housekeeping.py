"""Housekeeping of the cassette directory: which recordings no collected case uses, leftovers of killed writes, and
pruning them (I/O: files on disk, no pytest). Whether a run may delete at all is the session's to decide: only a
run that provably saw the whole suite (``collected.Collected``)."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from .atomic import interrupted_writes
from .cassettes import model_dir, prompt_of, unused_cassettes


def unused(root: Path, model: str, used: set[Path], prompts: Collection[str]) -> tuple[list[Path], list[Path]] | None:
    """``(leftovers, candidates)`` under the model's directory: temporary files of killed cassette writes (never
    anybody's recording), and the cassettes of this run's prompts (under any content hash: an edited prompt leaves
    its old recordings behind) that are not in ``used``; ``None`` when the model has no directory."""
    folder = model_dir(root, model)
    if not folder.is_dir():
        return None
    leftovers = interrupted_writes(folder, ".yaml")
    candidates = [path for path in unused_cassettes(folder, used) if _under_prompts(path, folder, prompts)]
    return leftovers, sorted(candidates)


def _under_prompts(path: Path, folder: Path, prompts: Collection[str]) -> bool:
    """Whether ``path`` is a cassette of one of ``prompts`` (any version) in the model's directory ``folder``."""
    prompt = prompt_of(path.parent.name)
    return path.parent.parent == folder and prompt is not None and prompt[0] in prompts


def prune(root: Path, model: str, paths: list[Path]) -> None:
    """Delete ``paths`` and the prompt directories they leave empty (never the model's directory)."""
    folder = model_dir(root, model)
    for path in paths:
        path.unlink(missing_ok=True)
        if path.parent != folder and not any(path.parent.iterdir()):
            path.parent.rmdir()


def unused_test_cassettes(root: Path, model: str, modules: Collection[str], used: set[Path]) -> list[Path]:
    """The cassettes of users' tests (the ``llm`` fixture) under ``tests/<module>/`` of the given modules (each
    collected whole in this run) that no collected test of theirs uses, sorted. Other modules' are never named."""
    from .cassettes import _path_component
    from .tapes import tests_dir

    folder = tests_dir(root, model)
    if not folder.is_dir():
        return []
    found: list[Path] = []
    for module in modules:
        directory = folder / _path_component(module, "module")
        if directory.is_dir():
            found += unused_cassettes(directory, used)
    return sorted(found)
