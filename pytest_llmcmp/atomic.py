"""Writing a file so that every reader sees either the old content or the new one, never a part."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
import time
from pathlib import Path

from .safefiles import check_write_target, read_regular

_TEMP_SUFFIX = ".tmp"


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same directory, fsync, then rename.

    The temporary file is hidden and ends in ``.tmp`` (never ``.yaml``: a leftover after ``kill -9`` must not look
    like a cassette); it is removed on any error, Ctrl-C included. An existing file keeps its permissions, a new one
    gets 0644 (``mkstemp``'s 0600 would make committed files private to their writer). Anything but a regular file
    at ``path`` (a device, a FIFO, a directory, a symlink) is refused with :class:`~.safefiles.NotRegularFile`, an
    :class:`OSError`: the rename would replace it.
    """
    check_write_target(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        mode = 0o644
    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=_TEMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as temp_file:
            temp_file.write(data)
            temp_file.flush()
            os.fsync(temp_file.fileno())
        os.chmod(temp_name, mode)
        os.replace(temp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        raise
    # No fsync of the directory: the rename is atomic for every reader, and a crash of the machine that loses it
    # leaves the old file, which the next run completes; the fsync would cost more than the write.


def holds(path: Path, data: bytes) -> bool:
    """Whether ``path`` is a regular file holding exactly ``data``: writing ``data`` there would change nothing
    (anything missing, unreadable or not a regular file is not the same)."""
    try:
        info = os.lstat(path)
        if not stat.S_ISREG(info.st_mode) or info.st_size != len(data):
            return False
        return read_regular(path, len(data)) == data
    except OSError:
        return False


def write_if_changed(path: Path, data: bytes) -> bool:
    """:func:`write_atomically`, unless ``path`` already :func:`holds` exactly ``data``: then nothing is written and
    the file keeps its modification time (``False``), so that an unchanged recording is an unchanged file."""
    if holds(path, data):
        return False
    write_atomically(path, data)
    return True


def interrupted_writes(root: Path, target_suffix: str, older_than: float = 60.0) -> list[Path]:
    """Temporary files under ``root`` left by writes of ``*{target_suffix}`` files that never finished (a kill -9
    between the write and the rename), sorted. Only those untouched for ``older_than`` seconds: a younger one may be
    another process's write in progress."""
    cutoff = time.time() - older_than
    found = []
    for folder, _dirs, files in os.walk(root):
        for name in files:
            if name.startswith(".") and name.endswith(_TEMP_SUFFIX) and f"{target_suffix}." in name:
                path = os.path.join(folder, name)
                with contextlib.suppress(OSError):  # gone meanwhile: finished, or removed by its writer
                    if os.stat(path).st_mtime < cutoff:
                        found.append(Path(path))
    return sorted(found)
