"""The dataset cache: build once, verify by checksum, rebuild when corrupt."""

import numpy as np
import pytest

from erlangen.data import cached_arrays
from erlangen.data.cache import atomic_write_bytes


def test_build_once_then_load(tmp_path):
    calls = []

    def build():
        calls.append(1)
        return {"x": np.arange(5), "y": np.ones((2, 2))}

    first = cached_arrays("toy", 1, 0, build, root=tmp_path)
    second = cached_arrays("toy", 1, 0, build, root=tmp_path)
    assert len(calls) == 1
    assert np.array_equal(first["x"], second["x"]) and second["y"].shape == (2, 2)
    # a new version or seed is a new file
    cached_arrays("toy", 2, 0, build, root=tmp_path)
    cached_arrays("toy", 1, 1, build, root=tmp_path)
    assert len(calls) == 3
    assert not list(tmp_path.glob(".*tmp*")), "no temporary files are left behind"


def test_corrupt_file_is_rebuilt(tmp_path):
    build = lambda: {"x": np.arange(3)}  # noqa: E731
    cached_arrays("toy", 1, 0, build, root=tmp_path)
    path = tmp_path / "toy-v1-seed0.npz"
    path.write_bytes(path.read_bytes()[:-10] + b"0123456789")
    with pytest.warns(UserWarning, match="checksum"):
        out = cached_arrays("toy", 1, 0, build, root=tmp_path)
    assert np.array_equal(out["x"], np.arange(3))


def test_env_var_sets_the_folder(tmp_path, monkeypatch):
    from erlangen.data import cache_dir

    monkeypatch.setenv("ERLANGEN_CACHE", str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c" and cache_dir().is_dir()


def test_atomic_write_keeps_the_old_file_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "f.bin"
    atomic_write_bytes(target, b"old")

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("os.replace", boom)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]
