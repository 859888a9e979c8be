"""What a session provably collected, so that ``--llm-prune`` deletes only what it can prove unused.

A cassette does not say which case file its case came from, so a cassette of no collected case is *unused* only
when this session saw the whole suite: every case file of the project collected without error, every one of its
cases selected (neither ``-k``/``-m``/``--deselect`` nor a conftest dropped an item), collection finished (no
Ctrl-C) and the run not stopped early. Anything less and nothing is a candidate: the reason is what the summary shows.

"The case files of the project" are found by walking the project directory (the ini file's, else where pytest
runs) with the collector's own recognition rule (:mod:`pytest_llmcmp.recognition`), skipping the cassette directory,
hidden directories, virtual environments, directories with a ``pytest.ini`` of their own (another project, such as
``examples/import/``) and ``norecursedirs``; a case file that pytest was not asked to collect (a
subdirectory argument, ``--ignore``, ``collect_ignore``, ``testpaths`` elsewhere) is therefore found and blocks
pruning.
"""

from __future__ import annotations

import fnmatch
import os
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .cases import looks_like_case_file


def is_case_file(path: Path, rootpath: Path | None = None, case_dirs: Sequence[Path] = ()) -> bool:
    """The collector's rule (:mod:`pytest_llmcmp.recognition`): a YAML file under one of ``case_dirs``
    (``llm_cases``), or one whose content has the shape of a case file. ``rootpath`` is not used any more: where a
    file lies no longer matters unless a directory is configured."""
    return looks_like_case_file(path, under_cases_dir=_under(path, case_dirs))


def _under(path: Path, folders: Sequence[Path]) -> bool:
    if not folders:
        return False
    absolute = Path(os.path.abspath(path))
    return any(folder in absolute.parents for folder in folders)


@dataclass(frozen=True)
class CaseFileRule:
    """Which files this session collects as case files: the content rule, plus every YAML file under the
    directories configured by ``llm_cases``, plus a looser check for files named on the command line."""

    case_dirs: tuple[Path, ...] = ()
    named: frozenset[Path] = frozenset()

    def __call__(self, path: Path) -> bool:
        if not (self.case_dirs or self.named):  # the usual case: no path arithmetic for every YAML file of a repo
            return looks_like_case_file(path)
        absolute = Path(os.path.abspath(path))
        return looks_like_case_file(absolute, _under(absolute, self.case_dirs), named=absolute in self.named)


def project_case_files(
    project: Path,
    rootpath: Path,
    skip: Iterable[Path],
    norecursedirs: Iterable[str],
    case_dirs: Sequence[Path] = (),
) -> Iterator[Path]:
    """Every case file under ``project``, by the collector's rule (see the module docstring)."""
    skipped = {os.path.realpath(p) for p in skip}
    patterns = list(norecursedirs)
    for folder, dirs, files in os.walk(project):
        dirs[:] = sorted(
            d
            for d in dirs
            if not d.startswith(".")
            and not any(fnmatch.fnmatch(d, pattern) for pattern in patterns)
            and os.path.realpath(os.path.join(folder, d)) not in skipped
            and not os.path.exists(os.path.join(folder, d, "pyvenv.cfg"))
            # A directory with its own pytest.ini is another project: pytest run there (or on it) uses that file.
            and not os.path.exists(os.path.join(folder, d, "pytest.ini"))
        )
        for name in sorted(files):
            if name.endswith((".yaml", ".yml")):
                path = Path(folder, name)
                if is_case_file(path, rootpath, case_dirs):
                    yield path


@dataclass
class Collected:
    """The collection of one session (or, merged, of every xdist worker), by case file relative to the project."""

    project: Path
    expected: Counter[str] = field(default_factory=Counter)  # items each cleanly collected case file stands for
    selected: Counter[str] = field(default_factory=Counter)  # its items still selected when collection finished
    errors: list[str] = field(default_factory=list)  # why the collection is not whole: "collecting X failed", …
    finished: bool = False

    def name(self, path: Path | str) -> str:
        try:
            return Path(os.path.relpath(path, self.project)).as_posix()
        except ValueError:  # another drive (Windows)
            return Path(path).as_posix()

    def file_collected(self, path: Path | str, items: int) -> None:
        self.expected[self.name(path)] = items

    def item_selected(self, path: Path | str, count: int = 1) -> None:
        self.selected[self.name(path)] += count

    def to_json(self) -> dict[str, Any]:
        return {
            "expected": dict(self.expected),
            "selected": dict(self.selected),
            "errors": self.errors,
            "finished": self.finished,
        }

    def merge_worker(self, data: dict[str, Any], first: bool) -> None:
        """Take an xdist worker's collection: each worker collects the whole suite; trust only what all agree on."""
        expected, selected = Counter(data.get("expected", {})), Counter(data.get("selected", {}))
        if first:
            self.expected, self.selected, self.finished = expected, selected, bool(data.get("finished"))
        else:
            if expected != self.expected:
                self.errors.append("xdist workers collected different case files")
            self.selected = Counter({k: min(v, selected[k]) for k, v in self.selected.items()})
            self.finished = self.finished and bool(data.get("finished"))
        self.errors += [e for e in data.get("errors", []) if e not in self.errors]

    def incomplete(self, case_files: Iterable[Path]) -> str | None:
        """Why this collection is not the whole suite, or ``None`` when it provably is."""
        if self.errors:
            return self.errors[0]
        if not self.finished:
            return "collection did not finish"
        for path in case_files:
            name = self.name(path)
            if name not in self.expected:
                return f"{name} was not collected in this run"
        for name, count in sorted(self.expected.items()):
            if self.selected[name] < count:
                return f"{count - self.selected[name]} of {count} items of {name} were deselected"
        return None
