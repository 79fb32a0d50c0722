"""Epoch-seeded sharded batches, and training under torch.distributed (gloo, CPU)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import lightning.pytorch as pl
import torch

from erlangen import train
from erlangen.train import EpochBatchSampler, TrainConfig, distributed, fit

REPO = Path(__file__).resolve().parents[2]
HELPERS = Path(__file__).resolve().parent / "train_helpers.py"


def _batches(n, bs, seed, epoch):
    return list(EpochBatchSampler(n, bs, seed, lambda: epoch))


def test_sampler_is_a_function_of_seed_and_epoch():
    a = _batches(100, 16, 0, 3)
    assert [len(b) for b in a] == [15, 15, 14, 14, 14, 14, 14]  # 7 nearly equal batches
    assert sorted(torch.cat(a).tolist()) == list(range(100))
    assert all(torch.equal(x, y) for x, y in zip(a, _batches(100, 16, 0, 3)))
    assert not torch.equal(torch.cat(a), torch.cat(_batches(100, 16, 0, 4)))
    assert not torch.equal(torch.cat(a), torch.cat(_batches(100, 16, 1, 3)))
    assert len(EpochBatchSampler(100, 16, 0, lambda: 0)) == 7


def test_sampler_shards_over_ranks(monkeypatch):
    shards = []
    for rank in range(3):
        monkeypatch.setattr(distributed, "world_size", lambda: 3)
        monkeypatch.setattr(distributed, "rank", lambda rank=rank: rank)
        shards.append(torch.cat(_batches(100, 8, 0, 0)))
    assert [len(s) for s in shards] == [34, 34, 34]  # padded to a multiple of the world
    assert set(torch.cat(shards).tolist()) == set(range(100))
    assert len(set(shards[0].tolist()) & set(shards[1].tolist())) <= 2


def test_the_distributed_code_path_in_one_process(tiny_models, tmp_path, torchrun_world_of_one):
    """What torchrun sets up, with a world of one: process group (gloo), DDP strategy,
    broadcast of the run folder, the rank digest; the group is gone afterwards."""
    seen = {}

    class Spy(pl.Callback):
        def on_train_start(self, trainer, pl_module):
            seen["strategy"] = type(trainer.strategy).__name__
            seen["backend"] = torch.distributed.get_backend()

    cfg = TrainConfig(task="digits-8x8", model="test-tiny", epochs=2, train_size=200)
    result = fit(cfg, out=tmp_path, progress=False, evaluate=False, callbacks=[Spy()])
    assert seen == {"strategy": "DDPStrategy", "backend": "gloo"}
    assert not torch.distributed.is_initialized()
    assert result.metrics["world_size"] == 1 and len(result.metrics["weight_digests"]) == 1
    assert (result.run_dir / "checkpoints" / "last.ckpt").is_file()


def test_two_processes_with_torchrun(tmp_path):
    """2 CPU processes (gloo) train a tiny model; both ranks end with the same weights."""
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        "-m",
        "erlangen.cli",
        "train",
        "digits-8x8",
        "--model",
        f"{HELPERS}:tiny_cnn",
        "--epochs",
        "2",
        "--train-size",
        "300",
        "--out",
        str(tmp_path),
        "--no-progress",
        "--device",
        "cpu",
    ]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (run_dir,) = tmp_path.iterdir()
    results = json.loads((run_dir / "results.json").read_text())
    assert results["world_size"] == 2
    digests = results["weight_digests"]
    assert len(digests) == 2 and digests[0] == digests[1]
    # each rank took 150 samples per epoch in 3 batches: 2 epochs = 6 optimizer steps
    assert results["steps"] == 6
    assert (run_dir / "checkpoints" / "last.ckpt").is_file()


def test_ranks_would_disagree_without_ddp():
    """The digest comparison is meaningful: different data per rank without gradient
    averaging gives different weights (what the torchrun test rules out)."""
    torch.manual_seed(0)
    a = torch.nn.Linear(3, 2)
    b = torch.nn.Linear(3, 2)
    b.load_state_dict(a.state_dict())
    assert train.weights_digest(a) == train.weights_digest(b)
    for model, x in ((a, torch.ones(4, 3)), (b, -torch.ones(4, 3))):
        model(x).sum().backward()
        torch.optim.SGD(model.parameters(), lr=0.1).step()
    assert train.weights_digest(a) != train.weights_digest(b)
