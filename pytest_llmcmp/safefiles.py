"""Files that arrive in a pull request or name an option: only regular files are opened, and read with a cap.

A FIFO (or a symlink to one) blocks an ``open``; a device (``/dev/zero``) never ends; ``/proc/self/environ`` reports
size 0 to ``stat`` and then has content. So the kind of file is checked before opening (without blocking) and again
on the open descriptor, and the size is found by reading up to the cap, never trusted from ``stat``.
"""

from __future__ import annotations

import codecs
import errno
import os
import stat
from collections.abc import Sequence
from pathlib import Path

_CHUNK = 1024 * 1024


class NotRegularFile(OSError):
    """``path`` is a FIFO, a device, a directory, a socket (or, as a write target, a symlink): refused."""

    def __init__(self, path: Path | str, kind: str, writing: bool = False) -> None:
        action = "refusing to replace it" if writing else "refusing to read it"
        super().__init__(errno.EINVAL, f"is {kind}, not a regular file; {action}", os.fspath(path))


class FileTooLarge(OSError):
    """``path`` holds more than the cap."""

    def __init__(self, path: Path | str, limit: int) -> None:
        super().__init__(errno.EFBIG, f"is larger than {_size(limit)}; refusing to read it", os.fspath(path))
        self.limit = limit


def _size(limit: int) -> str:
    if limit % (1024 * 1024) == 0:
        return f"{limit // (1024 * 1024)} MB"
    if limit % 1024 == 0:
        return f"{limit // 1024} KiB"
    return f"{limit:,} bytes"


def kind_of(mode: int) -> str | None:
    """What a non-regular file is (for messages), or ``None`` for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    return "a special file"


def read_regular(path: Path | str, limit: int) -> bytes:
    """The content of the regular file ``path`` (symlinks to one are followed), at most ``limit`` bytes.

    Raises :class:`FileNotFoundError`, :class:`NotRegularFile`, :class:`FileTooLarge` or another :class:`OSError`.
    """
    return _read(path, limit, head=False)


def read_head(path: Path | str, size: int) -> bytes:
    """The first ``size`` bytes of the regular file ``path`` (errors as :func:`read_regular`, never too large)."""
    return _read(path, size, head=True)


def _read(path: Path | str, limit: int, head: bool) -> bytes:
    kind = kind_of(os.stat(path).st_mode)
    if kind is not None:
        raise NotRegularFile(path, kind)
    # O_NONBLOCK: should the path have become a FIFO since the stat, the open must not wait for a writer.
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(fd, "rb") as file:
        kind = kind_of(os.fstat(fd).st_mode)
        if kind is not None:
            raise NotRegularFile(path, kind)
        if head:
            return file.read(limit)
        if os.fstat(fd).st_size > limit:  # too large already by what stat says (it may say less, never more)
            raise FileTooLarge(path, limit)
        chunks = []
        total = 0
        while True:
            chunk = file.read(min(_CHUNK, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                raise FileTooLarge(path, limit)
    return b"".join(chunks)


def text_encoding(data: bytes) -> str:
    """How the text of a user's file is decoded when nothing says otherwise: UTF-16 with a byte-order mark, else
    UTF-8 (with or without Excel's byte-order mark)."""
    return "utf-16" if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) else "utf-8-sig"


class BadText(ValueError):
    """Bytes that are not text in their encoding; ``line`` (1-based) holds the first bad byte, ``str()`` says what."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line


def decode_text(data: bytes, encoding: str | None = None) -> str:
    """The text of a file: in ``encoding``, else as :func:`text_encoding` says. Raises :class:`BadText`."""
    encoding = encoding or text_encoding(data)
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        name = {"utf-8-sig": "UTF-8", "utf-16": "UTF-16"}.get(encoding, encoding)
        raise BadText(line, f"the file is not {name} text (bad byte at offset {exc.start})") from None


def is_regular(path: Path | str) -> bool:
    """Whether ``path`` is a regular file (or a symlink to one); never blocks."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def check_write_target(path: Path | str) -> None:
    """Refuse to replace anything but a regular file (or nothing) at ``path``: a device node, a FIFO, a directory
    or a symlink named as an output stays what it is. Raises :class:`NotRegularFile`."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    kind = kind_of(mode)
    if kind is not None:
        raise NotRegularFile(path, kind, writing=True)


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def missing_directory(target: Path | str, roots: Sequence[Path | str]) -> Path | None:
    """The directory an output ``target`` needs that may not be created, or ``None``.

    Missing directories of an output are created (as pytest's ``--junitxml`` does) only inside one of ``roots`` (the
    rootdir and the directory pytest runs in): a typo in an absolute path must not create directories at ``/``. The
    result is the first missing directory of ``target``'s parents, when that lies outside every root."""
    parent = Path(os.path.abspath(target)).parent
    if parent.exists():
        return None
    absolute = [Path(os.path.abspath(root)) for root in roots]
    if any(_inside(parent, root) for root in absolute):
        return None
    missing = parent
    while not missing.parent.exists() and missing.parent != missing:
        missing = missing.parent
    return missing


def shown_output(spec: str, target: Path | str, rootdir: Path | str) -> str:
    """An output path for the terminal: as the user gave it (``spec``), or, when that is an absolute path inside the
    rootdir, relative to the rootdir. Never ``../../..``: a path outside the rootdir is shown as the user wrote it."""
    if not os.path.isabs(spec):
        return spec
    absolute, root = Path(os.path.abspath(target)), Path(os.path.abspath(rootdir))
    if absolute != root and _inside(absolute, root):
        return absolute.relative_to(root).as_posix()
    return spec
