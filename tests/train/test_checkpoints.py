"""Atomic checkpoint writes and weights_only reads."""

from __future__ import annotations

import pickle

import pytest
import torch

from erlangen.train import (
    AtomicCheckpointIO,
    CheckpointError,
    TrainConfig,
    atomic_torch_save,
    fit,
    load_checkpoint,
)


def _state(value: float) -> dict:
    return {"state_dict": {"w": torch.full((3,), value)}, "epoch": int(value)}


def _crashing_save(fail_after_bytes: int):
    """A torch.save that writes part of the file and then dies (disk full, killed job)."""

    def save(obj, f):
        f.write(b"\x80" * fail_after_bytes)
        raise OSError("simulated crash in the middle of torch.save")

    return save


def test_atomic_save_replaces_the_file(tmp_path):
    path = tmp_path / "ckpt" / "last.ckpt"
    atomic_torch_save(_state(1.0), path)
    atomic_torch_save(_state(2.0), path)
    assert load_checkpoint(path)["epoch"] == 2
    assert [p.name for p in path.parent.iterdir()] == ["last.ckpt"]  # no temp files left


def test_crash_mid_write_leaves_the_old_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "last.ckpt"
    atomic_torch_save(_state(1.0), path)
    before = path.read_bytes()
    monkeypatch.setattr(torch, "save", _crashing_save(100))
    with pytest.raises(OSError, match="simulated crash"):
        atomic_torch_save(_state(2.0), path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert torch.equal(load_checkpoint(path)["state_dict"]["w"], torch.full((3,), 1.0))
    assert [p.name for p in tmp_path.iterdir()] == ["last.ckpt"]


def test_a_crash_while_training_keeps_the_previous_epochs_checkpoint(
    tiny_models, tmp_path, monkeypatch
):
    """The second epoch's write dies half-way: last.ckpt is still the whole first-epoch file."""
    real_save = torch.save
    calls = {"n": 0}

    def flaky_save(obj, f):
        calls["n"] += 1
        if calls["n"] == 2:
            return _crashing_save(1000)(obj, f)
        return real_save(obj, f)

    monkeypatch.setattr(torch, "save", flaky_save)
    cfg = TrainConfig(task="digits-8x8", model="test-tiny", epochs=3, train_size=100)
    with pytest.raises(OSError, match="simulated crash"):
        fit(cfg, run_dir=tmp_path / "run", progress=False, evaluate=False)
    checkpoint = load_checkpoint(tmp_path / "run" / "checkpoints" / "last.ckpt")
    assert checkpoint["epoch"] == 0


def test_atomic_checkpoint_io_plugin(tmp_path):
    io = AtomicCheckpointIO()
    io.save_checkpoint(_state(4.0), tmp_path / "a.ckpt")
    assert io.load_checkpoint(tmp_path / "a.ckpt")["epoch"] == 4
    io.remove_checkpoint(tmp_path / "a.ckpt")
    assert not (tmp_path / "a.ckpt").exists()
    with pytest.raises(TypeError, match="storage_options"):
        io.save_checkpoint(_state(1.0), tmp_path / "b.ckpt", storage_options={"x": 1})


class Payload:
    """Not a tensor: weights_only loading must refuse to build it."""

    def __reduce__(self):
        return (print, ("this code would run on load",))


def test_loading_refuses_non_tensor_objects(tmp_path):
    path = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {}, "payload": Payload()}, path)
    with pytest.raises(CheckpointError, match="weights_only=True"):
        load_checkpoint(path)


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_damaged_or_missing_checkpoints(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint at"):
        load_checkpoint(tmp_path / "missing.ckpt")
    good = tmp_path / "good.ckpt"
    atomic_torch_save(_state(1.0), good)
    cut = tmp_path / "cut.ckpt"
    cut.write_bytes(good.read_bytes()[:50])
    with pytest.raises(CheckpointError, match=r"cut\.ckpt: cannot load it"):
        load_checkpoint(cut)
    other = tmp_path / "other.ckpt"
    other.write_bytes(pickle.dumps([1, 2, 3]))
    with pytest.raises(CheckpointError):
        load_checkpoint(other)
    plain = tmp_path / "plain.ckpt"
    torch.save({"weights": torch.zeros(2)}, plain)
    with pytest.raises(CheckpointError, match="no state_dict"):
        load_checkpoint(plain)
