"""One process at a time in a run or sweep folder: an exclusive lock on ``<folder>/.lock``.

The lock is an advisory ``flock`` on the file, which the operating system releases when the
process ends, however it ends (a crash, SIGKILL): a lock file left by a dead process is not
held by anyone and the next process takes it over. The file records who holds it (process
id, host, start time) for the message of a process that finds the folder in use; it is removed
when the lock is released. Platforms without ``fcntl`` (Windows) train without the lock.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

LOCK_FILE = ".lock"


class FolderInUseError(RuntimeError):
    """Another living process holds the folder's lock."""


def _holder(path: Path) -> str:
    try:
        info = json.loads(path.read_text())
        return f"process {info['pid']} on {info['host']} (since {info['since']})"
    except (OSError, ValueError, KeyError, TypeError):
        return "another process"


@contextlib.contextmanager
def folder_lock(folder: str | os.PathLike, what: str = "run folder") -> Iterator[Path]:
    """Hold the lock of ``folder`` (which must exist) for the duration of the ``with`` block.

    Raises
    ------
    FolderInUseError
        When another process holds it; the message names that process and ``what`` the
        folder is.
    """
    folder = Path(folder)
    path = folder / LOCK_FILE
    if fcntl is None:  # pragma: no cover - Windows
        yield path
        return
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise FolderInUseError(
                f"{what} {folder} is in use by {_holder(path)}: two processes cannot work in "
                "one folder at once; wait for it to finish or stop it"
            ) from None
        # the holder before us may have removed the file between our open and our lock:
        # then we hold a lock on a file nobody else sees, and try again
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": _dt.datetime.now().isoformat(timespec="seconds"),
        }
        os.ftruncate(fd, 0)
        os.write(fd, (json.dumps(info) + "\n").encode())
        yield path
    finally:
        with contextlib.suppress(OSError):
            path.unlink()
        os.close(fd)
