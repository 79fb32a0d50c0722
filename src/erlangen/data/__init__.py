"""Datasets: generators and loaders, cached on disk."""

from .cache import atomic_write_bytes, cache_dir, cached_arrays

__all__ = ["atomic_write_bytes", "cache_dir", "cached_arrays"]
