"""The one record of the environment that runs, sweeps and benchmarks write."""

from __future__ import annotations

import json
import sys

import torch

from erlangen import __version__
from erlangen.environment import environment


def test_environment_names_versions_machine_and_time():
    record = environment(stamp="finished", world_size=3)
    assert record["erlangen"] == __version__ and record["torch"] == torch.__version__
    assert record["threads"] == torch.get_num_threads() and record["cpus"] >= 1
    assert record["argv"] == sys.argv and record["world_size"] == 3
    assert "finished" in record and "time" not in record
    assert json.loads(json.dumps(record)) == record  # JSON-ready
