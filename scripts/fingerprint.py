"""Record, or compare against a record, the weights and outputs of every registered model and
layer example, and the weights after a few training steps on each task.

A refactoring that claims "behaviour unchanged" runs this before (``record``) and after
(``compare``): every tensor must be bit-identical.

    python scripts/fingerprint.py record /tmp/before.pt
    python scripts/fingerprint.py compare /tmp/before.pt

The inputs are stored in the record, so the comparison does not depend on how field types draw
samples. Training runs use ``erlangen.train.fit`` through the CLI in a temporary folder.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import torch

#: (task, model, extra CLI arguments): a few exact optimizer steps each
TRAINING_RUNS = [
    ("rotated-digits", "p4cnn", ["--train-size", "64", "--steps", "3", "--batch-size", "16"]),
    ("rotated-digits", "lgcnn", ["--train-size", "64", "--steps", "3", "--batch-size", "16"]),
    ("digits", "z2cnn", ["--train-size", "64", "--steps", "3", "--batch-size", "16"]),
    ("nbody-gravity", "gatr", ["--train-size", "32", "--steps", "2", "--batch-size", "8"]),
    ("nbody-gravity", "transformer", ["--train-size", "32", "--steps", "2", "--batch-size", "8"]),
]


def _sample(module, seed: int):
    from erlangen.check import _as_tuple

    gen = torch.Generator().manual_seed(seed)
    types = _as_tuple(module.in_type)
    return tuple(t.sample(generator=gen, dtype=torch.float32) for t in types)


def _outputs(module, inputs):
    module.eval()
    with torch.no_grad():
        out = module(*inputs)
    return tuple(out) if isinstance(out, tuple | list) else (out,)


def _entries():
    import erlangen.tasks  # noqa: F401  (registers the tasks' baselines, e.g. transformer-nbody)
    from erlangen import registry

    registry.load_all()
    for name, entry in sorted(registry.MODELS.items()):
        yield f"model:{name}", entry.factory
    for name, entry in sorted(registry.EXAMPLES.items()):
        yield f"example:{name}", entry.factory


def _build(factory):
    torch.manual_seed(0)
    return factory()


def _train(task: str, model: str, extra: list[str]) -> dict[str, torch.Tensor]:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "erlangen.cli", "train", task, "--model", model]
        cmd += [*extra, "--out", tmp, "--no-progress", "--device", "cpu"]
        subprocess.run(cmd, check=True, capture_output=True)
        ckpt = next(Path(tmp).rglob("last.ckpt"))
        state = torch.load(ckpt, map_location="cpu", weights_only=True)["state_dict"]
        return {k: v.clone() for k, v in state.items()}


def record(path: str) -> None:
    out = {}
    for key, factory in _entries():
        module = _build(factory)
        inputs = _sample(module, seed=1)
        out[key] = {
            "state": {k: v.clone() for k, v in module.state_dict().items()},
            "inputs": inputs,
            "outputs": _outputs(module, inputs),
        }
        print(f"recorded {key}")
    for task, model, extra in TRAINING_RUNS:
        out[f"train:{task}:{model}"] = {"state": _train(task, model, extra)}
        print(f"recorded train:{task}:{model}")
    torch.save(out, path)


def _same(a, b) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype and torch.equal(a, b)


def _strip(key: str) -> str:
    # the Lightning module stores the model as "model."; tolerate a renamed wrapper
    return key.split("model.", 1)[-1]


def compare(path: str) -> int:
    before = torch.load(path, weights_only=False)
    bad = []
    for key, factory in _entries():
        if key not in before:
            print(f"new (not in the record): {key}")
            continue
        rec = before.pop(key)
        module = _build(factory)
        state = module.state_dict()
        if state.keys() != rec["state"].keys():
            bad.append(f"{key}: state keys differ")
            continue
        diff = [k for k in state if not _same(state[k], rec["state"][k])]
        # absent outputs (GA layers return (multivectors, None) without scalars) are dropped
        outs = [o for o in _outputs(module, rec["inputs"]) if o is not None]
        rec_outs = [o for o in rec["outputs"] if o is not None]
        out_diff = len(outs) != len(rec_outs) or not all(
            _same(a, b) for a, b in zip(outs, rec_outs)
        )
        if diff or out_diff:
            bad.append(f"{key}: weights {diff[:3]} outputs differ={out_diff}")
        else:
            print(f"identical {key}")
    for task, model, extra in TRAINING_RUNS:
        key = f"train:{task}:{model}"
        rec = before.pop(key)["state"]
        state = _train(task, model, extra)
        a = {_strip(k): v for k, v in state.items()}
        b = {_strip(k): v for k, v in rec.items()}
        if a.keys() != b.keys() or not all(_same(a[k], b[k]) for k in a):
            bad.append(f"{key}: trained weights differ")
        else:
            print(f"identical {key}")
    for key in before:
        bad.append(f"{key}: in the record but no longer registered")
    print("\n".join(bad) if bad else "all identical")
    return 1 if bad else 0


if __name__ == "__main__":
    mode, file = sys.argv[1], sys.argv[2]
    sys.exit(record(file) if mode == "record" else compare(file))
