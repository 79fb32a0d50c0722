"""The trainer's transfer protocol (``transfer_from=RUN_DIR``), with tiny models of no family:
the trainer rebuilds the source run's model and calls ``model.transfer_from(source)``."""

from __future__ import annotations

import json

import pytest
import torch

from erlangen.train import TrainConfig, fit, load_run, transfer_from_run, transfer_group_actions


def tiny(model: str, **changes) -> TrainConfig:
    base = dict(task="digits-8x8", model=model, train_size=60, epochs=1, batch_size=20)
    return TrainConfig(**{**base, **changes})


def test_the_receiving_model_gets_the_source_part_frozen(tiny_models, tmp_path):
    source_run = fit(tiny("test-tiny", seed=1), out=tmp_path, progress=False).run_dir
    result = fit(
        tiny("test-receiving", seed=2, transfer_from=str(source_run)),
        out=tmp_path,
        progress=False,
        evaluate=False,
    )
    _, _, source = load_run(source_run)
    assert torch.equal(result.model.conv.weight, source.conv.weight)  # frozen while training
    assert not torch.equal(result.model.head.weight, source.head.weight)
    record = json.loads((result.run_dir / "config.json").read_text())
    assert record["config"]["transfer_from"] == str(source_run)
    assert record["transferred_group_actions"] == ["conv"]
    assert transfer_group_actions is transfer_from_run  # the name before the protocol


def test_a_model_without_the_method_is_refused_before_the_source_is_read(tiny_models, tmp_path):
    absent = tmp_path / "no-such-run"
    with pytest.raises(ValueError, match="model 'test-tiny' cannot receive a transfer"):
        fit(tiny("test-tiny", transfer_from=str(absent)), out=tmp_path, progress=False)
    with pytest.raises(ValueError, match="model 'Linear' cannot receive a transfer"):
        transfer_from_run(torch.nn.Linear(2, 2), absent)


def test_a_refused_source_names_the_run(tiny_models, tmp_path):
    source_run = fit(tiny("test-invariant"), out=tmp_path, progress=False, evaluate=False).run_dir
    with pytest.raises(ValueError, match=r"cannot transfer from .*RotationAveraged has no conv"):
        fit(
            tiny("test-receiving", transfer_from=str(source_run)),
            out=tmp_path,
            progress=False,
            evaluate=False,
        )
