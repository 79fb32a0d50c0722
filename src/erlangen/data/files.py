"""Loaders for image data sets that users download themselves.

- Official rotated MNIST (Larochelle et al. 2007): text ``.amat`` files, one digit per row,
  784 floats in ``[0, 1]`` then the label, whitespace separated.
  ``mnist_all_rotation_normalized_float_train_valid.amat`` has 12,000 rows (10,000 train,
  then 2,000 validation) and ``mnist_all_rotation_normalized_float_test.amat`` 50,000.
- MNIST's IDX files (``train-images-idx3-ubyte`` ...), plain or gzipped: a big-endian header
  (magic ``2051`` for images ``(n, rows, cols)``, ``2049`` for labels ``(n,)``), then uint8.

Every loader raises :class:`DataFileError`, naming the file and what was expected, when a file
is missing, truncated or not in the format.

On orientation: the ``.amat`` rows are read row-major, as most public loaders do
(``transpose=False``). Some loaders instead treat each row as column-major, i.e. transpose the
image. Transposing is a mirror image followed by a quarter turn, so for rotation-invariant
models it only mirrors the data set; plot a few digits (``docs/training.md``) and pass
``transpose=True`` if yours come out mirrored.
"""

from __future__ import annotations

import gzip
import os
import warnings
from pathlib import Path

import numpy as np

AMAT_TRAIN = "mnist_all_rotation_normalized_float_train_valid.amat"
AMAT_TEST = "mnist_all_rotation_normalized_float_test.amat"
IDX_IMAGES_MAGIC = 2051
IDX_LABELS_MAGIC = 2049


class DataFileError(ValueError):
    """A data file is missing, truncated or not in the expected format."""


def _require(path: str | os.PathLike, what: str) -> Path:
    path = Path(path)
    if not path.is_file():
        raise DataFileError(f"{path}: no such file (expected {what})")
    return path


def load_amat(
    path: str | os.PathLike,
    *,
    image_size: int = 28,
    transpose: bool = False,
    expected_rows: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Read a rotated-MNIST ``.amat`` file.

    Parameters
    ----------
    path : path-like
        The ``.amat`` text file (``.gz`` compressed is accepted too).
    image_size : int
        Side of the square images (28: rows hold ``28 * 28 + 1`` values).
    transpose : bool
        Swap rows and columns of every image (see the module notes).
    expected_rows : int, optional
        Raise when the file holds a different number of rows (12,000 and 50,000 for the
        official files).

    Returns
    -------
    images : np.ndarray
        ``(n, image_size, image_size)`` float32.
    labels : np.ndarray
        ``(n,)`` int64.
    """
    columns = image_size * image_size + 1
    what = (
        f"a .amat text file with {columns} numbers per row "
        f"({image_size}x{image_size} pixels, then the label)"
    )
    path = _require(path, what)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt") as f, warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*input contained no data.*")
            table = np.loadtxt(f, dtype=np.float64, ndmin=2)
    except (ValueError, OSError, EOFError, UnicodeDecodeError) as e:
        raise DataFileError(f"{path}: cannot read it as {what}: {e}") from e
    if table.shape[0] == 0:
        raise DataFileError(f"{path}: empty file (expected {what})")
    if table.shape[1] != columns:
        raise DataFileError(f"{path}: rows have {table.shape[1]} numbers, expected {what}")
    if expected_rows is not None and table.shape[0] != expected_rows:
        raise DataFileError(
            f"{path}: {table.shape[0]} rows, expected {expected_rows} (truncated or wrong file?)"
        )
    labels_f = table[:, -1]
    labels = labels_f.astype(np.int64)
    if not np.array_equal(labels, labels_f) or labels.min() < 0:
        raise DataFileError(f"{path}: the last column must hold integer labels >= 0")
    images = table[:, :-1].reshape(-1, image_size, image_size).astype(np.float32)
    if transpose:
        images = np.ascontiguousarray(images.transpose(0, 2, 1))
    return images, labels


def load_rotated_mnist(
    folder: str | os.PathLike, *, transpose: bool = False, check_rows: bool = True
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The official rotated-MNIST split from its two ``.amat`` files in ``folder``.

    Returns
    -------
    dict
        ``{"train": (images, labels), "valid": ..., "test": ...}`` with 10,000 / 2,000 /
        50,000 digits; images ``(n, 28, 28)`` float32 in ``[0, 1]``.
    """
    folder = Path(folder)
    train_images, train_labels = load_amat(
        folder / AMAT_TRAIN, transpose=transpose, expected_rows=12000 if check_rows else None
    )
    test = load_amat(
        folder / AMAT_TEST, transpose=transpose, expected_rows=50000 if check_rows else None
    )
    n_train = 10000 if check_rows else len(train_labels) * 5 // 6
    return {
        "train": (train_images[:n_train], train_labels[:n_train]),
        "valid": (train_images[n_train:], train_labels[n_train:]),
        "test": test,
    }


_IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def _read_bytes(path: Path, what: str) -> bytes:
    with open(path, "rb") as f:
        head = f.read(2)
    try:
        if head == b"\x1f\x8b":  # gzip, whatever the file name says
            with gzip.open(path, "rb") as f:
                return f.read()
        return path.read_bytes()
    except (OSError, EOFError) as e:
        raise DataFileError(f"{path}: cannot read it ({e}); expected {what}") from e


def read_idx(path: str | os.PathLike, expect_magic: int | None = None) -> np.ndarray:
    """Read an IDX file (MNIST's format), plain or gzipped.

    Parameters
    ----------
    path : path-like
        The file.
    expect_magic : int, optional
        Required magic number, e.g. 2051 (uint8 images, 3 dims) or 2049 (uint8 labels, 1 dim).

    Returns
    -------
    np.ndarray
        Shape from the header, dtype from the header (uint8 for MNIST).
    """
    kinds = {
        IDX_IMAGES_MAGIC: "IDX images (magic 2051)",
        IDX_LABELS_MAGIC: "IDX labels (magic 2049)",
    }
    what = kinds.get(expect_magic, "an IDX file")
    path = _require(path, what)
    data = _read_bytes(path, what)
    if len(data) < 4:
        raise DataFileError(f"{path}: {len(data)} bytes, too short for an IDX header ({what})")
    magic = int.from_bytes(data[:4], "big")
    zero, code, ndim = int.from_bytes(data[:2], "big"), data[2], data[3]
    if expect_magic is not None and magic != expect_magic:
        raise DataFileError(f"{path}: magic number {magic}, expected {expect_magic} ({what})")
    if zero != 0 or code not in _IDX_DTYPES or ndim == 0:
        raise DataFileError(f"{path}: magic number {magic} is not an IDX header ({what})")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataFileError(f"{path}: truncated header: {ndim} dimensions need {header} bytes")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = _IDX_DTYPES[code]
    expected = int(np.prod(shape)) * dtype.itemsize
    body = len(data) - header
    if body != expected:
        state = "truncated" if body < expected else "has trailing bytes"
        raise DataFileError(
            f"{path}: {state}: the header says shape {shape} of {dtype.name} = {expected} bytes "
            f"of data, the file has {body}"
        )
    array = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="), copy=True)


def load_mnist_idx(
    images_path: str | os.PathLike, labels_path: str | os.PathLike
) -> tuple[np.ndarray, np.ndarray]:
    """MNIST images and labels from a pair of IDX files (``.gz`` or not).

    Returns
    -------
    images : np.ndarray
        ``(n, rows, cols)`` uint8.
    labels : np.ndarray
        ``(n,)`` int64.
    """
    images = read_idx(images_path, IDX_IMAGES_MAGIC)
    labels = read_idx(labels_path, IDX_LABELS_MAGIC)
    if images.ndim != 3:
        raise DataFileError(f"{images_path}: images must have 3 dims, header says {images.shape}")
    if labels.ndim != 1:
        raise DataFileError(f"{labels_path}: labels must have 1 dim, header says {labels.shape}")
    if images.shape[0] != labels.shape[0]:
        raise DataFileError(
            f"{images_path} holds {images.shape[0]} images but {labels_path} holds "
            f"{labels.shape[0]} labels"
        )
    return images, labels.astype(np.int64)


def write_idx(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write ``array`` (uint8) as an IDX file (gzipped when ``path`` ends in ``.gz``)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(d).to_bytes(4, "big") for d in array.shape
    )
    payload = header + array.tobytes()
    path = Path(path)
    if path.suffix == ".gz":
        payload = gzip.compress(payload)
    path.write_bytes(payload)
