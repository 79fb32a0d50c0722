"""CIFAR-10 from the standard python-pickle batches that users download themselves.

The folder ``cifar-10-batches-py`` of the CIFAR-10 python archive holds ``data_batch_1`` ...
``data_batch_5`` (10,000 images each) and ``test_batch`` (10,000): each a pickled dict with
``data`` (a ``(10000, 3072)`` uint8 array, the red, green and blue 32 x 32 planes of an image
in a row) and ``labels`` (ten classes), written by Python 2 (bytes keys). No package on the
registries ships it and nothing here downloads it: point the loader at your copy (argument,
or ``$ERLANGEN_CIFAR10``: the ``cifar-10-batches-py`` folder or the folder above it).

Pickles can run code when loaded, so the batches are read with :class:`SafeUnpickler`, which
builds only the types such a batch holds (dicts, lists, strings, numbers and numpy arrays
through numpy's own reconstructors, and ``codecs.encode`` for array bytes written by Python 3)
and refuses any other global by name.
"""

from __future__ import annotations

import importlib
import importlib.util
import io
import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .digits import ImageSplits, nested_stratified_order
from .files import DataFileError

#: environment variable naming the folder with the CIFAR-10 python batches
CIFAR10_ENV = "ERLANGEN_CIFAR10"
CIFAR10_DIRNAME = "cifar-10-batches-py"
CIFAR10_TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR10_TEST_BATCH = "test_batch"
CIFAR10_CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)

# (module, name) pairs a CIFAR batch may name, and the module that holds them now (numpy 2
# moved numpy.core to numpy._core; the files name the old one)
_NUMPY_CORE = "numpy._core" if importlib.util.find_spec("numpy._core") else "numpy.core"
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): (f"{_NUMPY_CORE}.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"): (f"{_NUMPY_CORE}.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"): (f"{_NUMPY_CORE}.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"): (f"{_NUMPY_CORE}.multiarray", "scalar"),
    ("numpy", "ndarray"): ("numpy", "ndarray"),
    ("numpy", "dtype"): ("numpy", "dtype"),
    # protocol-2 pickles written by Python 3 store an array's bytes as codecs.encode(text,
    # "latin1"): a pure function from a string to bytes
    ("_codecs", "encode"): ("_codecs", "encode"),
}


class SafeUnpickler(pickle.Unpickler):
    """An unpickler that builds only plain containers, strings, numbers and numpy arrays: any
    other global (a function, a class) raises :class:`pickle.UnpicklingError` naming it."""

    def find_class(self, module: str, name: str) -> Any:
        target = _ALLOWED_GLOBALS.get((module, name))
        if target is None:
            raise pickle.UnpicklingError(
                f"refusing to load {module}.{name}: a CIFAR-10 batch holds only dicts, lists, "
                "strings, numbers and numpy arrays"
            )
        return getattr(importlib.import_module(target[0]), target[1])


def read_cifar_batch(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR-10 python batch.

    Returns
    -------
    images : np.ndarray
        ``(n, 3, 32, 32)`` uint8.
    labels : np.ndarray
        ``(n,)`` int64 in ``0..9``.

    Raises
    ------
    DataFileError
        Missing file, not a pickle, a pickle that names anything but numpy arrays, or a batch
        without ``data`` ``(n, 3072)`` uint8 and ``n`` labels in ``0..9``.
    """
    path = Path(path)
    what = "a CIFAR-10 python batch (a pickled dict with data (n, 3072) uint8 and labels)"
    if not path.is_file():
        raise DataFileError(f"{path}: no such file (expected {what})")
    try:
        batch = SafeUnpickler(io.BytesIO(path.read_bytes()), encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as e:
        raise DataFileError(f"{path}: cannot read it as {what}: {e}") from e
    if not isinstance(batch, dict):
        raise DataFileError(f"{path}: holds a {type(batch).__name__}, expected {what}")
    batch = {k.decode() if isinstance(k, bytes) else k: v for k, v in batch.items()}
    data, labels = batch.get("data"), batch.get("labels", batch.get("fine_labels"))
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2:
        got = f"{type(data).__name__} {getattr(data, 'dtype', '')} {getattr(data, 'shape', '')}"
        raise DataFileError(f"{path}: 'data' is {got.strip()}, expected a (n, 3072) uint8 array")
    if data.shape[1] != 3 * 32 * 32:
        raise DataFileError(f"{path}: 'data' rows hold {data.shape[1]} values, expected 3072")
    if labels is None:
        raise DataFileError(f"{path}: no 'labels' entry (expected {what})")
    labels = np.asarray(labels)
    if labels.shape != (data.shape[0],) or not np.issubdtype(labels.dtype, np.integer):
        raise DataFileError(
            f"{path}: {labels.shape} labels of type {labels.dtype} for {data.shape[0]} images, "
            "expected one integer label per image"
        )
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise DataFileError(f"{path}: labels must be in 0..9, found {labels.min()}..{labels.max()}")
    return data.reshape(-1, 3, 32, 32), labels.astype(np.int64)


def cifar10_folder(folder: str | os.PathLike | None = None) -> Path:
    """The ``cifar-10-batches-py`` folder: ``folder`` or ``$ERLANGEN_CIFAR10`` (either the
    folder itself or the one above it).

    Raises
    ------
    FileNotFoundError
        Naming the variable and the files expected.
    """
    if folder is None:
        folder = os.environ.get(CIFAR10_ENV)
        if not folder:
            raise FileNotFoundError(
                f"CIFAR-10 is not shipped with erlangen and is never downloaded: set {CIFAR10_ENV} "
                f"to your {CIFAR10_DIRNAME} folder (data_batch_1..5, test_batch from the CIFAR-10 "
                "python archive)"
            )
    path = Path(folder)
    if not (path / CIFAR10_TEST_BATCH).is_file() and (path / CIFAR10_DIRNAME).is_dir():
        path = path / CIFAR10_DIRNAME
    names = (*CIFAR10_TRAIN_BATCHES, CIFAR10_TEST_BATCH)
    missing = [n for n in names if not (path / n).is_file()]
    if missing:
        raise FileNotFoundError(
            f"CIFAR-10 batches not found in {path}: missing {', '.join(missing)} "
            f"(expected the {CIFAR10_DIRNAME} folder of the CIFAR-10 python archive)"
        )
    return path


def load_cifar10(
    folder: str | os.PathLike | None = None,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The CIFAR-10 batches as arrays: ``{"train": (images, labels), "test": ...}`` with
    images ``(n, 3, 32, 32)`` uint8 (50,000 / 10,000 for the full data set)."""
    path = cifar10_folder(folder)
    train = [read_cifar_batch(path / name) for name in CIFAR10_TRAIN_BATCHES]
    return {
        "train": (np.concatenate([x for x, _ in train]), np.concatenate([y for _, y in train])),
        "test": read_cifar_batch(path / CIFAR10_TEST_BATCH),
    }


def cifar10(seed: int = 0, folder: str | os.PathLike | None = None) -> ImageSplits:
    """CIFAR-10 as :class:`~erlangen.data.ImageSplits`: images ``(n, 3, 32, 32)`` float32,
    each channel standardised with the training set's mean and standard deviation; training
    images in a seeded nested stratified order."""
    data = load_cifar10(folder)
    x_train, y_train = data["train"]
    x_test, y_test = data["test"]
    train = x_train.astype(np.float32) / 255.0
    mean = train.mean(axis=(0, 2, 3), keepdims=True)
    std = train.std(axis=(0, 2, 3), keepdims=True) + 1e-8
    order = nested_stratified_order(y_train, np.random.default_rng(seed))
    return ImageSplits(
        x_train=torch.from_numpy((train[order] - mean) / std),
        y_train=torch.from_numpy(y_train[order]),
        x_test=torch.from_numpy((x_test.astype(np.float32) / 255.0 - mean) / std),
        y_test=torch.from_numpy(y_test),
    )


__all__ = [
    "CIFAR10_CLASSES",
    "CIFAR10_ENV",
    "SafeUnpickler",
    "cifar10",
    "cifar10_folder",
    "load_cifar10",
    "read_cifar_batch",
]
