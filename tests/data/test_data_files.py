"""Loaders of user-downloaded files, on small files that the tests write."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from erlangen.data import (
    DataFileError,
    load_amat,
    load_mnist_idx,
    load_rotated_mnist,
    read_idx,
    write_idx,
)
from erlangen.data.files import AMAT_TEST, AMAT_TRAIN


def _amat_rows(n: int, size: int = 28, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    images = rng.random((n, size, size)).round(6)
    labels = rng.integers(0, 10, n)
    return images, labels


def _write_amat(path, images, labels, opener=open):
    with opener(path, "wt") as f:
        for img, lab in zip(images, labels):
            f.write("  ".join(f"{v:.6f}" for v in img.ravel()) + f"  {lab:g}\n")


def test_amat_roundtrip(tmp_path):
    images, labels = _amat_rows(5)
    path = tmp_path / "digits.amat"
    _write_amat(path, images, labels)
    got_images, got_labels = load_amat(path)
    assert got_images.shape == (5, 28, 28) and got_images.dtype == np.float32
    assert np.allclose(got_images, images, atol=1e-6)
    assert got_labels.tolist() == labels.tolist()
    transposed, _ = load_amat(path, transpose=True)
    assert np.allclose(transposed, images.transpose(0, 2, 1), atol=1e-6)


def test_amat_gzipped(tmp_path):
    images, labels = _amat_rows(3, size=4)
    path = tmp_path / "small.amat.gz"
    _write_amat(path, images, labels, opener=gzip.open)
    got, _ = load_amat(path, image_size=4)
    assert np.allclose(got, images, atol=1e-6)


def test_amat_missing_file(tmp_path):
    path = tmp_path / "nope.amat"
    with pytest.raises(DataFileError, match=r"nope\.amat: no such file \(expected .*785"):
        load_amat(path)


def test_amat_wrong_width(tmp_path):
    images, labels = _amat_rows(2, size=27)
    path = tmp_path / "wide.amat"
    _write_amat(path, images, labels)
    with pytest.raises(DataFileError, match=r"wide\.amat: rows have 730 numbers, expected .*785"):
        load_amat(path)


def test_amat_truncated_last_row(tmp_path):
    images, labels = _amat_rows(3)
    path = tmp_path / "cut.amat"
    _write_amat(path, images, labels)
    text = path.read_text()
    path.write_text(text[: len(text) - 2000])  # the last row loses its end
    with pytest.raises(DataFileError, match=r"cut\.amat: cannot read it as .*785"):
        load_amat(path)


def test_amat_row_count_and_labels(tmp_path):
    images, labels = _amat_rows(4)
    path = tmp_path / "four.amat"
    _write_amat(path, images, labels)
    with pytest.raises(DataFileError, match="4 rows, expected 12000"):
        load_amat(path, expected_rows=12000)
    bad = tmp_path / "fraction.amat"
    _write_amat(bad, images, labels + 0.5)
    with pytest.raises(DataFileError, match="integer labels"):
        load_amat(bad)
    empty = tmp_path / "empty.amat"
    empty.write_text("")
    with pytest.raises(DataFileError, match="empty"):
        load_amat(empty)


def test_official_pair(tmp_path):
    train_images, train_labels = _amat_rows(12, seed=1)
    test_images, test_labels = _amat_rows(5, seed=2)
    _write_amat(tmp_path / AMAT_TRAIN, train_images, train_labels)
    _write_amat(tmp_path / AMAT_TEST, test_images, test_labels)
    splits = load_rotated_mnist(tmp_path, check_rows=False)
    assert splits["train"][0].shape == (10, 28, 28) and splits["valid"][0].shape == (2, 28, 28)
    assert splits["test"][1].tolist() == test_labels.tolist()
    with pytest.raises(DataFileError, match="12 rows, expected 12000"):
        load_rotated_mnist(tmp_path)
    with pytest.raises(DataFileError, match="no such file"):
        load_rotated_mnist(tmp_path / "elsewhere")


def _idx_bytes(magic_type: int, shape: tuple[int, ...], payload: bytes) -> bytes:
    # written by hand (not by write_idx): big-endian magic, then one big-endian int32 per dim
    header = struct.pack(">BBBB", 0, 0, magic_type, len(shape))
    header += struct.pack(f">{len(shape)}I", *shape)
    return header + payload


def test_idx_header_is_big_endian(tmp_path):
    data = np.arange(2 * 3 * 4, dtype=np.uint8)
    path = tmp_path / "images-idx3-ubyte"
    path.write_bytes(_idx_bytes(0x08, (2, 3, 4), data.tobytes()))
    assert int.from_bytes(path.read_bytes()[:4], "big") == 2051
    array = read_idx(path, expect_magic=2051)
    assert array.shape == (2, 3, 4) and array.dtype == np.uint8
    assert np.array_equal(array.ravel(), data)


def test_idx_roundtrip_plain_and_gz(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (6, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, 6).astype(np.uint8)
    for suffix in ("", ".gz"):
        write_idx(tmp_path / f"img{suffix}", images)
        write_idx(tmp_path / f"lab{suffix}", labels)
        pair = (tmp_path / f"img{suffix}", tmp_path / f"lab{suffix}")
        got_images, got_labels = load_mnist_idx(*pair)
        assert np.array_equal(got_images, images)
        assert got_labels.dtype == np.int64 and np.array_equal(got_labels, labels)
    assert (tmp_path / "img.gz").read_bytes()[:2] == b"\x1f\x8b"


def test_idx_wrong_magic(tmp_path):
    write_idx(tmp_path / "labels", np.zeros(3, dtype=np.uint8))
    write_idx(tmp_path / "images", np.zeros((3, 2, 2), dtype=np.uint8))
    with pytest.raises(DataFileError, match=r"labels: magic number 2049, expected 2051"):
        load_mnist_idx(tmp_path / "labels", tmp_path / "images")
    junk = tmp_path / "junk"
    junk.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(40))
    with pytest.raises(DataFileError, match=r"junk: magic number .* is not an IDX header"):
        read_idx(junk)


def test_idx_truncated_and_trailing(tmp_path):
    full = _idx_bytes(0x08, (4, 28, 28), bytes(4 * 28 * 28))
    (tmp_path / "short").write_bytes(full[:-10])
    with pytest.raises(DataFileError, match=r"short: truncated: .*\(4, 28, 28\).*3136 bytes.*3126"):
        read_idx(tmp_path / "short", 2051)
    (tmp_path / "long").write_bytes(full + b"x")
    with pytest.raises(DataFileError, match="trailing bytes"):
        read_idx(tmp_path / "long", 2051)
    (tmp_path / "tiny").write_bytes(b"\x00\x00")
    with pytest.raises(DataFileError, match="too short"):
        read_idx(tmp_path / "tiny", 2051)
    (tmp_path / "header").write_bytes(full[:9])
    with pytest.raises(DataFileError, match="truncated header"):
        read_idx(tmp_path / "header", 2051)
    gz = tmp_path / "cut.gz"
    gz.write_bytes(gzip.compress(full)[:-20])
    with pytest.raises(DataFileError, match=r"cut\.gz: cannot read it"):
        read_idx(gz, 2051)


def test_idx_counts_must_match_and_files_must_exist(tmp_path):
    write_idx(tmp_path / "images", np.zeros((3, 2, 2), dtype=np.uint8))
    write_idx(tmp_path / "labels", np.zeros(4, dtype=np.uint8))
    with pytest.raises(DataFileError, match=r"3 images but .* 4 labels"):
        load_mnist_idx(tmp_path / "images", tmp_path / "labels")
    with pytest.raises(DataFileError, match=r"missing: no such file \(expected IDX images"):
        load_mnist_idx(tmp_path / "missing", tmp_path / "labels")
