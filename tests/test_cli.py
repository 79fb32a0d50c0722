"""The command line: info, check on a user's model, tour, bench."""

import json
import textwrap

import pytest
from typer.testing import CliRunner

from erlangen.cli import app

runner = CliRunner()

USER_MODEL = textwrap.dedent(
    """
    import torch
    from torch import nn
    from erlangen.fields import VectorField
    from erlangen.groups import Cyclic, regular
    from erlangen.nn import EquivariantLinear


    def good(group=None):
        group = group or Cyclic(4)
        return EquivariantLinear(regular(group), regular(group))


    class Dense(nn.Linear):
        def __init__(self):
            super().__init__(4, 4)
            self.in_type = VectorField(regular(Cyclic(4)))
            self.out_type = VectorField(regular(Cyclic(4)))


    def bad():
        return Dense()


    def as_tuple():
        rep = regular(Cyclic(6))
        return (lambda x: 2 * x), VectorField(rep), VectorField(rep)
    """
)


@pytest.fixture
def user_file(tmp_path):
    path = tmp_path / "user_models.py"
    path.write_text(USER_MODEL)
    return path


def test_help_lists_commands():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for cmd in ("info", "check", "tour", "bench", "demo"):
        assert cmd in result.output


def test_info():
    result = runner.invoke(app, ["info"])
    assert result.exit_code == 0, result.output
    assert "torch" in result.output and "linear-c8-regular" in result.output


def test_check_passes_fails_and_reports(user_file):
    ok = runner.invoke(app, ["check", f"{user_file}:good"])
    assert ok.exit_code == 0, ok.output
    assert "PASS" in ok.output
    with_group = runner.invoke(app, ["check", f"{user_file}:good", "--group", "D4", "-n", "4"])
    assert with_group.exit_code == 0 and "D4" in with_group.output
    assert runner.invoke(app, ["check", f"{user_file}:as_tuple"]).exit_code == 0
    bad = runner.invoke(app, ["check", f"{user_file}:bad"])
    assert bad.exit_code == 1 and "FAIL" in bad.output


def test_check_usage_errors(user_file):
    result = runner.invoke(app, ["check", "no_colon"])
    assert result.exit_code == 2 and "MODULE:FACTORY" in result.output
    result = runner.invoke(app, ["check", f"{user_file}:missing"])
    assert result.exit_code == 2 and "no attribute 'missing'" in result.output
    result = runner.invoke(app, ["check", f"{user_file}:bad", "--group", "C4"])
    assert result.exit_code == 2 and "takes no `group`" in result.output
    result = runner.invoke(app, ["check", f"{user_file}:good", "--dtype", "int8"])
    assert result.exit_code == 2


def test_check_importable_module(tmp_path, monkeypatch):
    pkg = tmp_path / "mypkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "models.py").write_text(USER_MODEL)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    result = runner.invoke(app, ["check", "mypkg.models:good"])
    assert result.exit_code == 0, result.output


def test_tour():
    result = runner.invoke(app, ["tour"])
    assert result.exit_code == 0, result.output
    assert "deepsets-s6" in result.output


def test_bench_writes_ratios(tmp_path):
    out = tmp_path / "bench.json"
    result = runner.invoke(
        app,
        [*"bench equivariant-linear-c8 --min-run-time 0.01 --rounds 3 --out".split(), str(out)],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    (row,) = data["results"]
    assert row["name"] == "equivariant-linear-c8"
    assert (
        set(row["ratios"]) == {"nn.Linear (same shape)"}
        and row["ratios"]["nn.Linear (same shape)"] > 0
    )
    assert len(row["ours"]["rounds_ms"]) == 3 == len(row["references"][0]["rounds_ms"])
    assert data["environment"]["threads"] >= 1
    assert runner.invoke(app, ["bench", "--list"]).exit_code == 0
    unknown = runner.invoke(app, ["bench", "nope"])
    assert unknown.exit_code == 2 and "unknown benchmarks" in unknown.output
