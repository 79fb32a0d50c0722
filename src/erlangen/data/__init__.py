"""Datasets: generators and loaders, cached on disk.

- :mod:`~erlangen.data.digits`: rotated digits (5,000 real MNIST digits, randomly rotated,
  cached), the upright variant and scikit-learn's 8 x 8 digits.
- :mod:`~erlangen.data.files`: loaders for files users download (official rotated MNIST
  ``.amat``, MNIST IDX).
- :mod:`~erlangen.data.charged`: charged-particle n-body systems (the EGNN protocol).
- :mod:`~erlangen.data.qm9`: QM9 from the ``qm9pack`` wheel, as torch_geometric ``Data``
  (``pip install 'erlangen[graph]'``); :mod:`~erlangen.data.graphs`: ``Data`` helpers.

The graph modules are imported on use (``from erlangen.data.qm9 import qm9``), so the
package imports without torch_geometric.
"""

from .cache import atomic_write, atomic_write_bytes, cache_dir, cached_arrays
from .digits import (
    ImageSplits,
    digit_arrays,
    load_mnist_5k,
    mask_loss,
    nested_stratified_order,
    rotated_digits,
    sklearn_digits,
)
from .files import (
    DataFileError,
    load_amat,
    load_mnist_idx,
    load_rotated_mnist,
    read_idx,
    write_idx,
)

__all__ = [
    "DataFileError",
    "ImageSplits",
    "atomic_write",
    "atomic_write_bytes",
    "cache_dir",
    "cached_arrays",
    "digit_arrays",
    "load_amat",
    "load_mnist_5k",
    "load_mnist_idx",
    "load_rotated_mnist",
    "mask_loss",
    "nested_stratified_order",
    "read_idx",
    "rotated_digits",
    "sklearn_digits",
    "write_idx",
]
