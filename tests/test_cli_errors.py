"""Every realistic mistake on the command line ends in one line on stderr and exit code 2, and
leaves no new folder behind; ``--debug`` (or ``ERLANGEN_DEBUG=1``) shows the traceback."""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import warnings
from pathlib import Path

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from erlangen import registry
from erlangen.cli import app

HELPERS = Path(__file__).parent / "train" / "train_helpers.py"
sys.path.insert(0, str(HELPERS.parent))
import train_helpers  # noqa: E402

TINY = f"{HELPERS}:tiny_cnn"
runner = CliRunner()


@pytest.fixture(autouse=True)
def setting(tmp_path_factory, monkeypatch):
    """A private data cache, no debug mode from the environment, the tiny test models."""
    monkeypatch.setenv("ERLANGEN_CACHE", str(tmp_path_factory.getbasetemp() / "cli-cache"))
    monkeypatch.delenv("ERLANGEN_DEBUG", raising=False)
    for name, factory in (("test-tiny", train_helpers.tiny_cnn),):
        entry = registry.Entry(name, "test", "tiny model for tests", factory)
        monkeypatch.setitem(registry.MODELS, name, entry)


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def snapshot(folder: Path) -> set[str]:
    """Every path under ``folder`` (relative), to see that nothing was created."""
    return {str(p.relative_to(folder)) for p in folder.rglob("*")} if folder.exists() else set()


def assert_one_line_error(result, *expected: str, code: int = 2) -> str:
    """Exit ``code``, exactly one line on stderr, ``error: ...`` containing ``expected``."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == code, (result.exit_code, result.output, result.exception)
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    assert "Traceback" not in result.output
    for text in expected:
        assert text in lines[0], (text, lines[0])
    return lines[0]


def train_run(out: Path, *extra: str) -> Path:
    """A finished tiny training run; its folder."""
    length = [] if "--steps" in extra else ["--epochs", "2"]
    result = invoke(
        *"train digits-8x8 --train-size 40 --no-progress --model".split(),
        TINY,
        "--out",
        out,
        *length,
        *extra,
    )
    assert result.exit_code == 0, result.output
    (run_dir,) = out.iterdir()
    return run_dir


# ----------------------------------------------------------------------------- mistakes
@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["train", "digits-8x8", "--model", TINY, "--train-size", "5000", "--steps", "1"],
            "train size must be in [1, 1198], got 5000",
        ),
        (
            ["sweep", "digits-8x8", "--models", TINY, "--sizes", "20,5000", "--steps", "1"],
            "training-set size 5000 does not fit task 'digits-8x8'",
        ),
        (
            ["demo", "--task", "digits", "--models", TINY, "--sizes", "5000", "--steps", "1"],
            "training-set size 5000 does not fit task 'digits'",
        ),
        (["sweep", "digits-8x8", "--models", TINY, "--jobs", "0"], "Invalid value for '--jobs'"),
        (["sweep", "digits-8x8", "--models", TINY, "--threads", "0"], "'--threads'"),
        (["sweep", "digits-8x8", "--models", TINY, "--seeds", "0"], "'--seeds'"),
        (
            ["sweep", "digits-8x8", "--models", TINY, "-o", "nope:width=3", "--sizes", "20"],
            "options for 'nope', which the sweep does not train",
        ),
        (["sweep", "digits-8x8", "--models", TINY, "-o", "=3"], "MODEL:KEY=VALUE"),
        (
            ["sweep", "digits-8x8", "--models", TINY, "-o", "width=abc", "--sizes", "20"],
            "cannot build model",
        ),
        (
            ["train", "digits-8x8", "--model", TINY, "-o", "channels=abc", "--steps", "1"],
            "unexpected keyword argument 'channels'",
        ),
        (["train", "digits-8x8", "--model", TINY, "-o", "novalue"], "KEY=VALUE"),
        (
            ["train", "digits-8x8", "--model", "p4cnn", "--steps", "1"],
            "model 'p4cnn' does not fit task 'digits-8x8'",
        ),
        (["train", "digits-8x8", "--model", TINY, "--seed", "-1"], "'seed' must be in [0,"),
        (["train", "digits-8x8", "--model", TINY, "--lr", "nan"], "a finite lr > 0"),
        (["train", "digits-8x8", "--model", TINY, "--lr", "inf"], "a finite lr > 0"),
        (["train", "digits-8x8", "--model", TINY, "--optimizer", "rmsprop"], "optimizer must"),
        (["train", "digits-8x8", "--model", TINY, "--device", "gpu"], "device must be"),
        (["train", "digits-8x8", "--model", "nope.py:f"], "cannot load model 'nope.py:f'"),
        (["train", "digits-8x8", "--model", f"{HELPERS}:nope"], "has no attribute 'nope'"),
        (["train", "digits-8x8", "--model", "os:sep"], "it is a str"),
        (
            ["train", "digits-8x8", "--model", f"{HELPERS}:receiving_cnn", "--transfer-from", "x"],
            "x/config.json not found",
        ),
        (["train", "digits-8x8", "--model", TINY, "--transfer-from", "x"], "cannot receive"),
        (["train", "--resume", "nowhere"], "not an erlangen run folder"),
        (["train", "digits-8x8", "--model", TINY, "--bogus"], "No such option: --bogus"),
        (["train", "digits-8x8", "--model", TINY, "--epochs", "x"], "'--epochs'"),
        (["evaluate", "nowhere"], "not an erlangen run folder"),
        (["sweep", "--resume", "nowhere"], "is not a sweep folder"),
        (["sweep"], "give a TASK"),
        (["demo", "--resume", "nowhere"], "is not a sweep folder"),
        (["tour", "--dtype", "float16"], "--dtype must be"),
        (["check", "nope.py:f"], "cannot load 'nope.py:f'"),
    ],
)
def test_mistakes_get_one_line_and_no_folder(tmp_path, monkeypatch, args, expected):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    command = args[0]
    fresh = command in ("train", "sweep", "demo") and "--resume" not in args
    extra = ["--out", str(out)] if fresh else []
    if fresh and command in ("sweep", "demo"):
        extra += ["--device", "cpu"]
    result = invoke(*args, *extra)
    assert_one_line_error(result, expected)
    assert not out.exists()
    assert snapshot(tmp_path) == set()


def test_warnings_of_a_model_that_fails_do_not_come_before_its_error(tmp_path):
    """torch warns about a layer of width 0, then fails on it: only the error is shown."""
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        result = invoke("train", "digits-8x8", "--model", TINY, "-o", "width=0", "--out", tmp_path)
    assert_one_line_error(result, "does not fit task 'digits-8x8'")
    assert not [w for w in seen if "zero-element" in str(w.message)]


def test_warnings_of_a_model_that_works_are_kept():
    from erlangen.train.models import warnings_only_on_success

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        with warnings_only_on_success():
            warnings.warn("kept", UserWarning, stacklevel=1)
        with pytest.raises(ValueError), warnings_only_on_success():
            warnings.warn("dropped", UserWarning, stacklevel=1)
            raise ValueError("the model failed")
    assert [str(w.message) for w in seen] == ["kept"]


def test_an_image_model_on_nbody_is_refused_by_name(nbody_task, tmp_path):
    result = invoke(*"train test-nbody --model z2cnn --steps 1 --out".split(), tmp_path / "o")
    assert_one_line_error(
        result, "model 'z2cnn' does not fit task 'test-nbody'", "takes 2 positional arguments"
    )
    assert not (tmp_path / "o").exists()


@pytest.fixture
def nbody_task(monkeypatch):
    from erlangen.tasks import TASKS

    task = train_helpers.tiny_nbody_task()
    monkeypatch.setitem(TASKS, task.name, task)
    return task


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda text: text[: len(text) // 2], "config.json: not valid JSON"),
        (lambda text: text.replace('"epochs": null', '"epochs": "ten"'), "field 'epochs' must"),
        (lambda text: text.replace('"seed": 0', '"seed": 1.5'), "field 'seed' must be an integer"),
        (lambda text: text.replace('"seed": 0', '"colour": 0'), "unknown config fields"),
        (lambda text: text.replace('"task": "digits-8x8"', '"task": "nope"'), "field 'task'"),
        (lambda text: text.replace('"lr": 0.003', '"lr": -1'), "a finite lr > 0"),
        (lambda text: text.replace('"config"', '"konfig"'), "no 'config' object"),
        (lambda text: "[]", "no 'config' object"),
    ],
)
def test_a_damaged_config_is_named_with_its_field(tmp_path, edit, expected):
    run_dir = train_run(tmp_path / "runs", "--steps", "1")
    config = run_dir / "config.json"
    text = config.read_text()
    assert '"epochs": null' in text and '"seed": 0' in text
    config.write_text(edit(text))
    before = snapshot(tmp_path)
    for args in (["evaluate", run_dir], ["train", "--resume", run_dir]):
        line = assert_one_line_error(invoke(*args), expected)
        assert str(config) in line
    assert snapshot(tmp_path) == before


def test_a_checkpoint_that_no_longer_fits_its_config(tmp_path):
    run_dir = train_run(tmp_path / "runs")
    config = run_dir / "config.json"
    doc = json.loads(config.read_text())
    doc["config"]["model_options"] = {"width": 4}  # the checkpoint holds width 8
    config.write_text(json.dumps(doc))
    for args in (["evaluate", run_dir], ["train", "--resume", run_dir, "--no-progress"]):
        line = assert_one_line_error(invoke(*args), "does not match the model its config")
        assert "{'width': 4}" in line and "conv.weight (8, 1, 3, 3) in the checkpoint" in line
        assert "Was config.json edited" in line and "size mismatch" not in line


def test_a_checkpoint_with_code_in_it_is_refused_without_torchs_advice(tmp_path):
    run_dir = train_run(tmp_path / "runs")

    class Payload:
        def __reduce__(self):
            return (print, ("this code would run on load",))

    torch.save({"state_dict": {}, "payload": Payload()}, run_dir / "checkpoints" / "last.ckpt")
    line = assert_one_line_error(invoke("evaluate", run_dir), "weights_only=True")
    assert "(print)" in line
    assert "weights_only=False" not in line and "set to `False`" not in line


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_cuda_blames_the_device_not_the_checkpoint(tmp_path):
    run_dir = train_run(tmp_path / "runs")
    line = assert_one_line_error(invoke("evaluate", run_dir, "--device", "cuda"), "no CUDA")
    assert "damaged" not in line
    out = tmp_path / "new"
    result = invoke("train", "digits-8x8", "--model", TINY, "--device", "cuda", "--out", out)
    assert_one_line_error(result, "no CUDA")
    assert not out.exists()


def test_an_out_that_is_a_file(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    for args in (
        ["train", "digits-8x8", "--model", TINY, "--steps", "1", "--out", blocker / "runs"],
        ["sweep", "digits-8x8", "--models", TINY, "--sizes", "20", "--out", blocker],
    ):
        assert_one_line_error(invoke(*args), f"{blocker} is a file, not a folder")
    assert snapshot(tmp_path) == {"file"}


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes anywhere")
def test_a_read_only_working_directory(tmp_path, monkeypatch):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    monkeypatch.chdir(locked)
    try:
        result = invoke("train", "digits-8x8", "--model", TINY, "--steps", "1")
        assert_one_line_error(result, "cannot create folders in runs", "is not writable")
    finally:
        locked.chmod(0o755)


def test_mkdir_refused_late_still_leaves_one_line(tmp_path, monkeypatch):
    """Permissions the early check cannot see (a root-owned read-only mount): the error of
    the folder's creation itself is one line too."""
    from erlangen.train import run_dir as run_dir_module

    def refuse(parent, prefix):
        raise PermissionError(13, "Permission denied", str(parent))

    monkeypatch.setattr(run_dir_module, "unique_dir", refuse)
    monkeypatch.setattr("erlangen.train.trainer.new_run_dir", lambda out, t, m: refuse(out, t))
    result = invoke("train", "digits-8x8", "--model", TINY, "--steps", "1", "--out", tmp_path)
    assert_one_line_error(result, "Permission denied")


def test_resume_refuses_options_it_would_ignore(tmp_path):
    run_dir = train_run(tmp_path / "runs")
    result = invoke("train", "--resume", run_dir, "--epochs", "5", "--lr", "0.1", "-o", "a=1")
    line = assert_one_line_error(result, "--epochs, --lr, --option would be ignored")
    assert "only --device and --progress apply" in line
    assert invoke("train", "--resume", run_dir, "--no-progress", "--device", "cpu").exit_code == 0
    result = invoke("train", "--resume", run_dir, "--model", "other")
    assert_one_line_error(result, "is a run of model")


def test_a_folder_in_use_is_refused(tmp_path):
    from erlangen.train import folder_lock

    run_dir = train_run(tmp_path / "runs")
    with folder_lock(run_dir):
        result = invoke("train", "--resume", run_dir, "--no-progress")
    assert_one_line_error(result, f"run folder {run_dir} is in use by process {os.getpid()}")


def test_debug_shows_the_traceback(tmp_path, monkeypatch):
    args = ["train", "digits-8x8", "--model", TINY, "--seed", "-1", "--out", tmp_path]
    result = invoke("--debug", *args)
    assert result.exit_code == 1 and isinstance(result.exception, ValueError)
    monkeypatch.setenv("ERLANGEN_DEBUG", "1")
    result = invoke(*args)
    assert result.exit_code == 1 and isinstance(result.exception, ValueError)
    monkeypatch.setenv("ERLANGEN_DEBUG", "0")
    assert_one_line_error(invoke(*args), "'seed'")


def test_an_unexpected_error_is_one_line_with_exit_1(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr("erlangen.train.fit", broken)
    result = invoke("train", "digits-8x8", "--model", TINY, "--out", tmp_path)
    assert_one_line_error(result, "ZeroDivisionError: a bug", "--debug", code=1)


def test_bench_keeps_its_results_when_it_cannot_write_them(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", None)  # re-read TMPDIR
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = invoke(
        *"bench equivariant-linear-c8 --min-run-time 0.01 --rounds 2 --out".split(),
        blocker / "bench.json",
    )
    line = assert_one_line_error(result, f"cannot write the results to {blocker / 'bench.json'}")
    assert "equivariant-linear-c8" in result.stdout  # the table was printed
    (kept,) = (tmp_path / "tmp").glob("erlangen-bench-*.json")
    assert str(kept) in line
    assert json.loads(kept.read_text())["results"][0]["name"] == "equivariant-linear-c8"
    for args in (["--rounds", "0"], ["--min-run-time", "0"], ["--device", "tpu"]):
        assert_one_line_error(invoke("bench", "equivariant-linear-c8", *args))
    assert_one_line_error(invoke("bench", "--out", tmp_path, "equivariant-linear-c8"), "folder")


# ----------------------------------------------------------------------------- property
#: option values that users type: good ones and mistakes
TRAIN_OPTIONS = {
    "--train-size": ["20", "0", "-3", "5000", "abc", "1.5", ""],
    "--steps": ["1", "0", "-1", "x"],
    "--epochs": ["1", "0"],
    "--batch-size": ["8", "0", "-1"],
    "--lr": ["0.01", "0", "-1", "nan", "inf", "abc"],
    "--weight-decay": ["0", "-1", "inf"],
    "--optimizer": ["sgd", "rmsprop", ""],
    "--schedule": ["constant", "linear"],
    "--device": ["cpu", "gpu", "tpu"],
    "--seed": ["3", "-1", "99999999999", "abc"],
    "-o": ["width=4", "width=abc", "width=0", "width=-2", "channels=3", "=3", "noequals"],
    "--model": [TINY, "test-tiny", "nope", "p4cnn", "z2cnn", f"{HELPERS}:nope", "missing.py:f"],
    "--augment": [None],
    "--transfer-from": ["nowhere"],
    "--resume": ["nowhere"],
}
SWEEP_OPTIONS = {
    "--sizes": ["20", "0", "5000", "a", "", "20,20", "-5"],
    "--steps": ["1", "0", "x"],
    "--seeds": ["1", "0", "-2"],
    "--jobs": ["1", "0", "-1", "abc"],
    "--threads": ["1", "0", "x"],
    "--batch-size": ["8", "0"],
    "--lr": ["0.01", "-1", "nan"],
    "--optimizer": ["adamw", "rmsprop"],
    "--schedule": ["cosine", "linear"],
    "-o": ["width=4", "width=abc", "nope:width=3", "=3", "x", f"{TINY}:width=2"],
    "--models": [TINY, f"{TINY},{TINY}", "nope", "p4cnn", f"{TINY}+aug", "test-tiny,"],
    "--device": ["cpu", "gpu"],
    "--resume": ["nowhere"],
}
#: junk a user might type; no digits, so it never makes a long run by accident
JUNK = st.text(alphabet="-=:,.abcx ", max_size=6)


def choices(options: dict[str, list]):
    """Up to three options, each with a listed value or a bit of junk."""
    pair = st.sampled_from(sorted(options)).flatmap(
        lambda key: st.tuples(
            st.just(key),
            st.sampled_from(options[key])
            if options[key] == [None]
            else st.one_of(st.sampled_from(options[key]), JUNK),
        )
    )
    return st.lists(pair, max_size=3)


def command_line(base: list[str], defaults: dict[str, str], chosen, out: Path) -> list[str]:
    values = dict(defaults)
    extra = []
    for key, value in chosen:
        if key == "-o":
            extra += ["-o", value]
        else:
            values[key] = value
    args = list(base)
    for key, value in values.items():
        args += [key] if value is None else [key, value]
    return [*args, *extra, "--out", str(out)]


def check_works_or_fails_in_one_line(args: list[str], out: Path) -> None:
    before = snapshot(out)
    result = invoke(*args)
    if result.exit_code == 0:
        return
    assert_one_line_error(result)
    assert snapshot(out) == before, args


@given(chosen=choices(TRAIN_OPTIONS), drop_task=st.booleans())
def test_random_train_command_lines_work_or_fail_in_one_line(chosen, drop_task):
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "runs"
        base = ["train"] if drop_task else ["train", "digits-8x8"]
        defaults = {"--model": TINY, "--train-size": "20", "--steps": "1", "--no-progress": None}
        check_works_or_fails_in_one_line(command_line(base, defaults, chosen, out), out)
        shutil.rmtree(out, ignore_errors=True)


@given(chosen=choices(SWEEP_OPTIONS))
def test_random_sweep_command_lines_work_or_fail_in_one_line(chosen):
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "runs"
        defaults = {"--models": TINY, "--sizes": "20", "--steps": "1", "--device": "cpu"}
        args = command_line(["sweep", "digits-8x8"], defaults, chosen, out)
        check_works_or_fails_in_one_line(args, out)
