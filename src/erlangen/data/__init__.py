"""Datasets: generators and loaders, cached on disk.

- :mod:`~erlangen.data.digits`: rotated digits (5,000 real MNIST digits, randomly rotated,
  cached), the upright variant and scikit-learn's 8 x 8 digits.
- :mod:`~erlangen.data.files`: loaders for files users download (official rotated MNIST
  ``.amat``, MNIST IDX).
- :mod:`~erlangen.data.fashion`: Fashion-MNIST, full, from Debian's ``dataset-fashion-mnist``
  files (or a folder of yours), upright or rotated.
- :mod:`~erlangen.data.cifar`: CIFAR-10 from your copy of the python batches, read with a
  restricted unpickler.
- :mod:`~erlangen.data.symmetric`: data whose labels are invariant to a known action
  (digits under exact quarter turns).
- :mod:`~erlangen.data.charged`: charged-particle n-body systems (the EGNN protocol).
- :mod:`~erlangen.data.qm9`: QM9 from the ``qm9pack`` wheel, as torch_geometric ``Data``
  (``pip install 'erlangen[graph]'``); :mod:`~erlangen.data.graphs`: ``Data`` helpers.

The graph modules are imported on use (``from erlangen.data.qm9 import qm9``), so the
package imports without torch_geometric.
"""

from .cache import atomic_write, atomic_write_bytes, cache_dir, cached_arrays
from .cifar import CIFAR10_ENV, SafeUnpickler, cifar10, load_cifar10, read_cifar_batch
from .digits import (
    ImageSplits,
    digit_arrays,
    load_mnist_5k,
    mask_loss,
    nested_stratified_order,
    rotated_digits,
    sklearn_digits,
)
from .fashion import (
    FASHION_MNIST_ENV,
    FashionMNISTUnavailableError,
    fashion_mnist,
    load_fashion_mnist,
)
from .files import (
    DataFileError,
    load_amat,
    load_mnist_idx,
    load_rotated_mnist,
    read_idx,
    write_idx,
)
from .symmetric import quarter_turned_digits

__all__ = [
    "CIFAR10_ENV",
    "FASHION_MNIST_ENV",
    "DataFileError",
    "FashionMNISTUnavailableError",
    "ImageSplits",
    "SafeUnpickler",
    "atomic_write",
    "atomic_write_bytes",
    "cache_dir",
    "cached_arrays",
    "cifar10",
    "digit_arrays",
    "fashion_mnist",
    "load_amat",
    "load_cifar10",
    "load_fashion_mnist",
    "load_mnist_5k",
    "load_mnist_idx",
    "load_rotated_mnist",
    "mask_loss",
    "nested_stratified_order",
    "quarter_turned_digits",
    "read_cifar_batch",
    "read_idx",
    "rotated_digits",
    "sklearn_digits",
    "write_idx",
]
