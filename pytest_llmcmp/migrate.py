"""Moving recordings made under a model file's path to the model's name (I/O: files on disk, no pytest).

llama.cpp's server started by hand reports the path of its GGUF file as the model id. Before such ids became the
file's stem (``SmolLM2-135M-Instruct.Q4_1``), their recordings went to a directory named after the whole path
(``cassettes/%2Fhome%2F…%2FSmolLM2-135M-Instruct.Q4_1.gguf/``) with the path as the requests' ``model``: a run
now looks for them under the stem, with the stem in its requests, and finds nothing. The runner says so in one line
(:func:`path_named_models`), and ``python -m pytest_llmcmp.migrate [CASSETTE_DIR]`` moves them: each cassette is
rewritten with the stem as its model (requests and responses), merged into the cassette of the same case under the
stem if there is one (an exchange recorded there already is kept), and the old file removed.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from .cassettes import Cassette, CassetteError, check_inside, model_dir, model_file_name
from .redaction import api_key, scrub
from .words import plural

COMMAND = "python -m pytest_llmcmp.migrate"


@dataclass(frozen=True)
class PathNamedModel:
    """A model directory named after a model file's path."""

    directory: Path  # cassettes/%2Fhome%2F…%2Fx.gguf
    served: str  # the id it was recorded with: the path
    model: str  # the name it is known by now: the file's stem
    cassettes: int  # how many cassettes it holds


def path_named_models(root: Path) -> list[PathNamedModel]:
    """The model directories under ``root`` named after a model file's path that hold cassettes, sorted."""
    found = []
    try:
        entries = sorted(Path(root).iterdir())
    except OSError:  # no cassette directory (yet)
        return []
    for entry in entries:
        served = unquote(entry.name)
        model = model_file_name(served)
        if model is None or entry.is_symlink() or not entry.is_dir():
            continue
        count = len(_cassettes(entry))
        if count:
            found.append(PathNamedModel(entry, served, model, count))
    return found


def _cassettes(directory: Path) -> list[Path]:
    """The ``*.yaml`` files under ``directory``, sorted; a symlinked directory is not entered."""
    return sorted(
        Path(folder, name) for folder, _dirs, files in os.walk(directory) for name in files if name.endswith(".yaml")
    )


def migrate(root: Path) -> tuple[list[str], list[str]]:
    """Move every path-named model's cassettes under ``root`` to its stem; ``(what was done, problems)``, one line
    each. A cassette that cannot be read or written stays where it is (a problem line names it)."""
    done: list[str] = []
    problems: list[str] = []
    key = api_key()
    for found in path_named_models(root):
        target = model_dir(root, found.model)
        moved = 0
        for path in _cassettes(found.directory):
            destination = target / path.relative_to(found.directory)
            try:
                check_inside(root, path)  # never reach (and delete) a file through a symlink out of the directory
                old = Cassette.load(path)
                old.rename_model(found.served, found.model)
                check_inside(root, destination)
                merged = Cassette.load(destination)  # a missing file gives an empty cassette
                merged.merge(old)
                merged.save(secrets=[key] if key else [])
                path.unlink()
            except (CassetteError, OSError) as exc:
                problems.append(f"not moved: {exc}")
                continue
            moved += 1
        for folder, _dirs, _files in sorted(os.walk(found.directory), key=lambda walked: -len(walked[0])):
            with contextlib.suppress(OSError):
                os.rmdir(folder)  # only empty ones: what could not be moved stays, with its directory
        done.append(
            f"moved {plural(moved, 'cassette')} of model '{found.model}' from {found.directory} to {target}"
            + (f" ({found.cassettes - moved} left: see below)" if moved < found.cassettes else "")
        )
    return [scrub(line) for line in done], [scrub(line) for line in problems]


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m pytest_llmcmp.migrate [CASSETTE_DIR]`` (default ``cassettes``): 0 when everything was moved."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) > 1 or any(arg.startswith("-") for arg in args):
        print(f"usage: {COMMAND} [CASSETTE_DIR]  (default: cassettes)", file=sys.stderr)
        return 2
    root = Path(args[0] if args else "cassettes")
    if not root.is_dir():
        print(f"{root}: no such directory (give the cassette directory: {COMMAND} DIR)", file=sys.stderr)
        return 2
    done, problems = migrate(root)
    if not done:
        print(f"{root}: no model directory is named after a model file's path; nothing to move")
    for line in done:
        print(line)
    for line in problems:
        print(line, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
