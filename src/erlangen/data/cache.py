"""A disk cache for generated datasets: keyed by name, generator version and seed, written
atomically and verified by checksum.

The folder is ``$ERLANGEN_CACHE`` when set, else ``~/.cache/erlangen``.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import numpy as np


def cache_dir() -> Path:
    """The cache folder (created when missing)."""
    root = os.environ.get("ERLANGEN_CACHE")
    path = Path(root) if root else Path.home() / ".cache" / "erlangen"
    path.mkdir(parents=True, exist_ok=True)
    return path


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], object]) -> None:
    """Write a file so that readers see the old file or the whole new one, never a part.

    ``write(f)`` fills a temporary file in the same folder; it is flushed and fsynced, renamed
    over ``path`` (``os.replace``, atomic on POSIX), and the folder is fsynced so the rename
    itself survives a crash. On any error the temporary file is removed and ``path`` is left
    as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:  # some file systems do not fsync folders
        pass


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """:func:`atomic_write` of raw bytes."""
    atomic_write(path, lambda f: f.write(data))


def _save_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    atomic_write(path, lambda f: np.savez(f, **arrays))


def cached_arrays(
    name: str,
    version: int,
    seed: int,
    build: Callable[[], dict[str, np.ndarray]],
    root: Path | None = None,
) -> dict[str, np.ndarray]:
    """Load ``name`` from the cache, or ``build()`` it and store it.

    Parameters
    ----------
    name : str
        Dataset name (file-name safe), including any parameters that change the content.
    version : int
        Generator version: bump it when the generator changes so old files are not reused.
    seed : int
        Seed the generator used.
    build : callable
        Returns ``{array name: np.ndarray}``.
    root : Path, optional
        Cache folder (default :func:`cache_dir`).

    Returns
    -------
    dict of np.ndarray
    """
    folder = root or cache_dir()
    path = folder / f"{name}-v{version}-seed{seed}.npz"
    digest_path = path.with_suffix(".sha256")
    if path.exists() and digest_path.exists():
        if sha256_of(path) == digest_path.read_text().strip():
            with np.load(path, allow_pickle=False) as data:
                return {k: data[k] for k in data.files}
        warnings.warn(f"cache file {path} failed its checksum; regenerating", stacklevel=2)
    arrays = build()
    _save_npz(path, arrays)
    atomic_write_bytes(digest_path, sha256_of(path).encode())
    return arrays
