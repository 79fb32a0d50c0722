"""Fashion-MNIST (Xiao, Rasul and Vollgraf 2017), full and offline, upright or rotated.

60,000 training and 10,000 test images of clothing, 28 x 28, ten classes of 6,000 / 1,000.
The four gzipped IDX files come from the folder given to the loader, else from
``$ERLANGEN_FASHION_MNIST``, else from ``/usr/share/datasets/fashion-mnist``, where Debian's
``dataset-fashion-mnist`` package puts them (``apt-get install -y dataset-fashion-mnist``, or
``make data``). Nothing is downloaded.

- :func:`load_fashion_mnist`: the files as arrays.
- :func:`fashion_mnist`: :class:`~erlangen.data.ImageSplits` for training, the training images
  in a seeded nested stratified order (the first ``n`` form a class-balanced subset),
  pixels in ``[0, 1]``. With ``rotate=True`` every image (train and test) is first multiplied
  by the inscribed disk's mask, as the rotated digits, then turned by its own uniformly random
  angle (bilinear, about the image centre) and masked again; the rotated images are stored in
  the cache as 8-bit, like the source.
"""

from __future__ import annotations

import hashlib
import math
import os
from pathlib import Path

import numpy as np
import torch

from ..fields import disk_mask, rotate_images
from .cache import cached_arrays
from .digits import ImageSplits, nested_stratified_order
from .files import load_mnist_idx

#: environment variable naming a folder with the four Fashion-MNIST IDX files
FASHION_MNIST_ENV = "ERLANGEN_FASHION_MNIST"
#: where Debian's ``dataset-fashion-mnist`` package installs them
FASHION_MNIST_SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_APT = "apt-get install -y dataset-fashion-mnist"
#: file stems of the four IDX files (``.gz`` or plain)
FASHION_MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
#: the class names, by label
FASHION_MNIST_CLASSES = (
    "T-shirt/top",
    "trouser",
    "pullover",
    "dress",
    "coat",
    "sandal",
    "shirt",
    "sneaker",
    "bag",
    "ankle boot",
)
#: bump when the rotated variant's generator changes, so cached files are rebuilt
ROTATED_FASHION_VERSION = 1


class FashionMNISTUnavailableError(FileNotFoundError):
    """The Fashion-MNIST files are not where the loader looked; the message names the folder,
    the files and how to get them."""


def fashion_mnist_folder(folder: str | os.PathLike | None = None) -> Path:
    """The folder the loader reads: ``folder``, else ``$ERLANGEN_FASHION_MNIST``, else
    ``/usr/share/datasets/fashion-mnist``.

    Raises
    ------
    FashionMNISTUnavailableError
        When one of the four files is missing there (plain or ``.gz``).
    """
    source = "the folder given"
    if folder is None:
        env = os.environ.get(FASHION_MNIST_ENV)
        folder, source = (
            (env, f"${FASHION_MNIST_ENV}")
            if env
            else (FASHION_MNIST_SYSTEM_DIR, "the system folder")
        )
    path = Path(folder)
    missing = [
        stem for pair in FASHION_MNIST_FILES.values() for stem in pair if _find(path, stem) is None
    ]
    if missing:
        raise FashionMNISTUnavailableError(
            f"Fashion-MNIST not found in {path} ({source}): missing {', '.join(missing)} "
            f"(.gz or plain). Install it with `sudo {FASHION_MNIST_APT}` (Debian/Ubuntu; or "
            f"`make data`), or set {FASHION_MNIST_ENV} to a folder holding the four IDX files"
        )
    return path


def _find(folder: Path, stem: str) -> Path | None:
    for name in (f"{stem}.gz", stem):
        if (folder / name).is_file():
            return folder / name
    return None


def load_fashion_mnist(
    folder: str | os.PathLike | None = None,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The Fashion-MNIST files as arrays.

    Parameters
    ----------
    folder : path-like, optional
        Default: see :func:`fashion_mnist_folder`.

    Returns
    -------
    dict
        ``{"train": (images, labels), "test": (images, labels)}``: images ``(n, 28, 28)``
        uint8, labels ``(n,)`` int64 in ``0..9``.
    """
    path = fashion_mnist_folder(folder)
    out = {}
    for split, (images, labels) in FASHION_MNIST_FILES.items():
        x, y = load_mnist_idx(_find(path, images), _find(path, labels))
        if y.min() < 0 or y.max() > 9:
            raise ValueError(f"{path}: {split} labels must be in 0..9, found {y.min()}..{y.max()}")
        out[split] = (x, y)
    return out


def _labels_digest(folder: Path) -> str:
    """A short digest of the label files: keys the cache by the data actually read."""
    h = hashlib.sha256()
    for split in ("train", "test"):
        h.update(_find(folder, FASHION_MNIST_FILES[split][1]).read_bytes())
    return h.hexdigest()[:12]


def _rotate_all(images: np.ndarray, angles: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """Mask, turn by ``angles`` (radians, bilinear), mask again; uint8 in, uint8 out."""
    H, W = images.shape[-2:]
    mask = disk_mask(H, W, dtype=torch.float32)
    out = np.empty_like(images)
    for i in range(0, len(images), chunk):
        x = torch.from_numpy(images[i : i + chunk].astype(np.float32) / 255.0).unsqueeze(1)
        x = x * mask
        a = torch.from_numpy(angles[i : i + chunk])
        x = rotate_images(x.double(), a, mode="bilinear").float() * mask
        out[i : i + chunk] = (x.squeeze(1).clamp(0, 1) * 255.0).round().to(torch.uint8).numpy()
    return out


def _build_rotated(folder: Path, seed: int) -> dict[str, np.ndarray]:
    data = load_fashion_mnist(folder)
    rng = np.random.default_rng(seed)
    out = {}
    for split in ("train", "test"):
        x, y = data[split]
        angles = rng.uniform(0.0, 2.0 * math.pi, size=len(y))
        out[f"x_{split}"] = _rotate_all(x, angles)
        out[f"y_{split}"] = y
        out[f"angle_{split}"] = angles
    return out


def fashion_mnist(
    seed: int = 0, rotate: bool = False, folder: str | os.PathLike | None = None
) -> ImageSplits:
    """Fashion-MNIST as :class:`~erlangen.data.ImageSplits`: 60,000 train / 10,000 test,
    ``(n, 1, 28, 28)`` float32 in ``[0, 1]``.

    Parameters
    ----------
    seed : int
        Seeds the nested stratified order of the training images (and, with ``rotate``, the
        angles).
    rotate : bool
        Rotated Fashion-MNIST: disk-masked images, each turned by its own random angle
        (generated once per seed and cached).
    folder : path-like, optional
        Where the IDX files are (see :func:`fashion_mnist_folder`).
    """
    path = fashion_mnist_folder(folder)
    if rotate:
        arrays = cached_arrays(
            f"rotated-fashion-mnist-{_labels_digest(path)}",
            ROTATED_FASHION_VERSION,
            seed,
            lambda: _build_rotated(path, seed),
        )
        train = (arrays["x_train"], arrays["y_train"])
        test = (arrays["x_test"], arrays["y_test"])
    else:
        data = load_fashion_mnist(path)
        train, test = data["train"], data["test"]
    order = nested_stratified_order(train[1], np.random.default_rng(seed))

    def images(x: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(x.astype(np.float32) / 255.0).unsqueeze(1)

    return ImageSplits(
        x_train=images(train[0][order]),
        y_train=torch.from_numpy(train[1][order].astype(np.int64)),
        x_test=images(test[0]),
        y_test=torch.from_numpy(test[1].astype(np.int64)),
    )


__all__ = [
    "FASHION_MNIST_CLASSES",
    "FASHION_MNIST_ENV",
    "FASHION_MNIST_FILES",
    "FASHION_MNIST_SYSTEM_DIR",
    "FashionMNISTUnavailableError",
    "fashion_mnist",
    "fashion_mnist_folder",
    "load_fashion_mnist",
]
