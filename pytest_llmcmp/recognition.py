"""Which YAML files are case files: decided from a file's first 256 KiB, cheaply, without building any YAML value.

Once installed, the plugin sees every ``.yaml``/``.yml`` file of every project pytest runs in: Kubernetes manifests,
GitHub workflows, docker-compose files, OpenAPI specs, tavern tests, other tools' ``tests/cases/`` folders. A file is
collected only when it is clearly a case file; a file that is not must never make another project's run fail.

A file is a case file when (see :func:`looks_like_case_file`):

1. it lies under a directory configured with ``llm_cases`` (every YAML there is a case file: anything off is an
   error), or
2. its top level has the shape of a case file: a mapping whose keys are all case-file keys (``cases``, ``generate``,
   ``import``, ``template``, ``ask``, ``tags``, ``lang``, ``description``) or near misses of them (``case:``,
   ``generat:``), one of them ``cases``/``generate``/``import`` (or a near miss), and that list is empty or holds an
   entry shaped like a case (a mapping with ``numbers:`` or a near miss, every key a case key or a near miss), a
   generator (``category:``, every key a generator key or a near miss) or an import (``file:`` and ``numbers:``);
3. or it is named on the command line (``pytest my.yaml``) and its top level alone has that shape.

So a real case file with a typo is still collected, and its typo is a located error; a configuration file whose top
level happens to hold ``cases:`` (with other keys, or entries that are not comparisons) is left alone.

Cost: one ``stat``, one read of at most 256 KiB and one regular expression per YAML file; only files whose top-level
keys pass go on to a streaming YAML scan that stops at the first entry that decides.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import yaml

from .cases import CASE_KEYS, FILE_KEYS, GENERATE_KEYS, IMPORT_KEYS, _Loader
from .safefiles import read_head, text_encoding

__all__ = ["SNIFF_BYTES", "looks_like_case_file", "top_level_keys"]

SNIFF_BYTES = 256 * 1024
_FIRST_BYTES = 4096
#: How close a misspelt key must be to a known one to count as it (difflib's ratio): one or two letters off.
NEAR = 0.75
#: A case file has at most 8 distinct top-level keys; a few near misses on top of them, no more.
_MAX_TOP_KEYS = 12
_LIST_KEYS = ("cases", "generate", "import")
_SUFFIXES = (".yaml", ".yml")

# A key at column 0: what a block mapping at the top level looks like. Also ``{cases: …}`` and ``--- {…}`` on a line.
_TOP_KEY = re.compile(
    r"""^(?:---[ \t]+)?(?:\{[ \t]*)?"""
    r"""(?:"([^"\n]{1,100})"|'([^'\n]{1,100})'|([^\s#%@`!&*|>\-?:{}\[\],"'][^:\n]{0,99}?))[ \t]*:(?=[ \t\r]|$)""",
    re.MULTILINE,
)
# Lexical evidence, used only when the head is not YAML the scanner can read (a case file with a syntax error).
_ENTRY_WORD = re.compile(r"""^[ \t]*(?:-[ \t]+)?\{?[ \t]*["']?(?:numbers|category)["']?[ \t]*:""", re.MULTILINE)


def looks_like_case_file(path: Path, under_cases_dir: bool = False, *, named: bool = False) -> bool:
    """Whether the file at ``path`` is to be collected as a case file (see the module docstring).

    ``under_cases_dir``: the file lies under a directory configured to hold case files (``llm_cases``).
    ``named``: the file was named on the command line. Never raises; a FIFO or a device is never a case file.
    """
    if path.suffix.lower() not in _SUFFIXES:
        return False
    try:
        head = read_head(path, _FIRST_BYTES)  # refuses a FIFO or a device: it would block or never end
        if under_cases_dir:
            return True
        # Most YAML files say what they are in their first key (apiVersion:, name:, on:, openapi:): one key that no
        # case file has ends it, before reading more.
        if not all(_near(key, FILE_KEYS) for key in _iter_keys(_decode(head))):
            return False
        if len(head) == _FIRST_BYTES:
            head = read_head(path, SNIFF_BYTES)
    except (OSError, ValueError):
        return False
    text = _decode(head)
    keys = top_level_keys(text)
    if not _top_level_fits(keys):
        return False
    if named:
        return True
    try:
        decided = _entries_fit(text)
    except Exception:  # whatever the scanner does with odd bytes, another project's run must not fail here
        decided = None
    if decided is None:  # not readable as YAML: a case file with a syntax error still says so
        return _ENTRY_WORD.search(text) is not None
    return decided


def top_level_keys(text: str) -> list[str]:
    """The keys written at column 0 of ``text``: the top-level keys of a block mapping (of every document)."""
    return list(_iter_keys(text))


def _iter_keys(text: str) -> Iterator[str]:
    for match in _TOP_KEY.finditer(text):
        yield match.group(match.lastindex or 0)


def _decode(head: bytes) -> str:
    return head.decode(text_encoding(head), errors="replace")  # the head may end inside a character


@functools.lru_cache(maxsize=4096)  # the same keys (apiVersion, name, on) come back in file after file
def _near(word: str, known: tuple[str, ...]) -> bool:
    word = word.strip().lower()
    return word in known or bool(difflib.get_close_matches(word, known, n=1, cutoff=NEAR))


def _top_level_fits(keys: Sequence[str]) -> bool:
    distinct = set(keys)
    if not distinct or len(distinct) > _MAX_TOP_KEYS:
        return False
    return any(_near(key, _LIST_KEYS) for key in distinct) and all(_near(key, FILE_KEYS) for key in distinct)


def _entry_fits(list_key: str, keys: Iterable[str]) -> bool:
    """Whether an entry of the list under ``list_key`` (``cases``, ``generate`` or ``import``) with these keys
    is shaped like one."""
    keys = [key.strip().lower() for key in keys]
    if list_key == "cases":
        return any(_near(key, ("numbers",)) for key in keys) and all(_near(key, CASE_KEYS) for key in keys)
    if list_key == "generate":
        return any(_near(key, ("category",)) for key in keys) and all(_near(key, GENERATE_KEYS) for key in keys)
    return "file" in keys and "numbers" in keys and all(_near(key, IMPORT_KEYS) for key in keys)


@functools.lru_cache(maxsize=4096)
def _list_key(key: str) -> str | None:
    close = difflib.get_close_matches(key.strip().lower(), _LIST_KEYS, n=1, cutoff=NEAR)
    return close[0] if close else None


class _Events:
    """A YAML event stream read one event at a time, so that a scan can stop as soon as it has decided."""

    def __init__(self, text: str) -> None:
        self.loader = _Loader(text)

    def next(self) -> yaml.Event:
        return self.loader.get_event()  # type: ignore[no-untyped-call, no-any-return]

    def skip(self, event: yaml.Event) -> None:
        """Consume the rest of the node that ``event`` starts."""
        depth = 1 if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)) else 0
        while depth:
            event = self.next()
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1

    def mapping_keys(self) -> list[str]:
        """The scalar keys of the mapping whose start was just read (values skipped)."""
        keys: list[str] = []
        while True:
            key = self.next()
            if isinstance(key, yaml.MappingEndEvent):
                return keys
            if isinstance(key, yaml.ScalarEvent):
                keys.append(str(key.value))
            else:
                self.skip(key)
            self.skip(self.next())


def _entries_fit(text: str) -> bool | None:
    """Whether the first document's top-level lists hold an entry of the right shape; ``None`` when the text is
    not YAML this scanner can read before it decides."""
    events = _Events(text)
    try:
        events.next()  # the stream's start
        if not isinstance(events.next(), yaml.DocumentStartEvent) or not isinstance(
            events.next(), yaml.MappingStartEvent
        ):
            return False
        while True:
            key = events.next()
            if isinstance(key, yaml.MappingEndEvent):
                return False
            list_key = _list_key(str(key.value)) if isinstance(key, yaml.ScalarEvent) else None
            if list_key is None:
                events.skip(key)
                events.skip(events.next())
                continue
            value = events.next()
            if isinstance(value, yaml.MappingStartEvent):  # import: {file: …} (a single entry); else not a list
                if list_key == "import" and _entry_fits(list_key, events.mapping_keys()):
                    return True
                if list_key != "import":
                    events.skip(value)
                continue
            if not isinstance(value, yaml.SequenceStartEvent):
                continue  # a scalar or an alias
            entries = 0
            while True:
                item = events.next()
                if isinstance(item, yaml.SequenceEndEvent):
                    break
                entries += 1
                if isinstance(item, yaml.MappingStartEvent):
                    if _entry_fits(list_key, events.mapping_keys()):
                        return True
                else:
                    events.skip(item)
            if entries == 0 and str(getattr(key, "value", "")) in _LIST_KEYS:
                return True  # cases: [] — an empty list under the exact key
    except yaml.YAMLError:
        return None
    finally:
        events.loader.dispose()
