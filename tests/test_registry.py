"""The core registry: every listed family imports, and user factories resolve by spec."""

from __future__ import annotations

import importlib.util

import pytest

from erlangen import registry


def test_every_listed_family_exists_and_registers():
    for module in registry.FAMILIES:
        assert importlib.util.find_spec(module) is not None, module
    registry.load_all()
    assert {e.family for e in registry.MODELS.values()} >= {"grid", "ga"}


def test_load_factory_from_a_module_and_from_a_file(tmp_path, monkeypatch):
    assert registry.load_factory("erlangen.registry:get_model") is registry.get_model
    user_file = tmp_path / "user_models.py"
    user_file.write_text("def build():\n    return 42\n")
    assert registry.load_factory(f"{user_file}:build")() == 42
    monkeypatch.syspath_prepend(str(tmp_path))
    assert registry.load_factory("user_models:build")() == 42


def test_load_factory_errors_name_what_is_missing(tmp_path):
    with pytest.raises(ValueError, match="MODULE:FACTORY"):
        registry.load_factory("no_colon")
    with pytest.raises(FileNotFoundError, match="no such file"):
        registry.load_factory(f"{tmp_path / 'absent.py'}:build")
    with pytest.raises(AttributeError, match="has no attribute 'absent'"):
        registry.load_factory("erlangen.registry:absent")
    with pytest.raises(ImportError):
        registry.load_factory("erlangen.no_such_module:build")
