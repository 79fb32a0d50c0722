"""Interrupted work is never lost: Ctrl-C (SIGINT) stops training, sweeps and the demo cleanly,
a killed sweep takes its worker processes with it, and ``--resume`` continues where the work
stopped, exactly. Two processes never train in one folder."""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import lightning.pytorch as pl
import pytest
import torch
from train_helpers import SLEEP_ENV
from typer.testing import CliRunner

from erlangen.cli import app
from erlangen.demo import DEFAULT_PLAN, resume_demo, run_demo
from erlangen.sweep import SweepInterrupted, SweepPlan, resume_sweep, run_sweep
from erlangen.sweep import workers as sweep_workers
from erlangen.train import (
    FolderInUseError,
    TrainConfig,
    TrainingInterrupted,
    fit,
    folder_lock,
    load_checkpoint,
    resume,
    weights_digest,
)

HELPERS = Path(__file__).parent / "train_helpers.py"
SLOW = f"{HELPERS}:slow_cnn"
SRC = Path(__file__).resolve().parents[2] / "src"
runner = CliRunner()


@pytest.fixture(autouse=True)
def full_speed(monkeypatch):
    """Only the subprocesses run slowly; this process trains at full speed."""
    monkeypatch.delenv(SLEEP_ENV, raising=False)
    monkeypatch.delenv("ERLANGEN_DEBUG", raising=False)


class CtrlC(pl.Callback):
    """Sends this process SIGINT, as Ctrl-C does, at the end of epoch ``epoch`` (after its
    checkpoint), or after batch ``batch`` of the first epoch (before any checkpoint)."""

    def __init__(self, epoch: int | None = None, batch: int | None = None):
        self.epoch, self.batch = epoch, batch

    def on_train_epoch_end(self, trainer, pl_module):
        if trainer.current_epoch == self.epoch:
            os.kill(os.getpid(), signal.SIGINT)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if self.batch is not None and trainer.current_epoch == 0 and batch_idx == self.batch:
            os.kill(os.getpid(), signal.SIGINT)


def config(**kw) -> TrainConfig:
    kw.setdefault("epochs", 4)
    return TrainConfig(task="digits-8x8", model="test-tiny", train_size=100, device="cpu", **kw)


def quiet(cfg, **kw):
    return fit(cfg, progress=False, evaluate=False, **kw)


# ----------------------------------------------------------------------------- training
def test_ctrl_c_in_training_keeps_the_checkpoint_and_resume_is_exact(tiny_models, tmp_path):
    whole = quiet(config(seed=2), out=tmp_path / "whole")
    run_dir = tmp_path / "interrupted"
    with pytest.raises(TrainingInterrupted) as info:
        quiet(config(seed=2), run_dir=run_dir, callbacks=[CtrlC(epoch=1)])
    assert info.value.run_dir == run_dir and (info.value.epochs_done, info.value.epochs) == (2, 4)
    assert str(info.value) == (
        f"training was interrupted; {run_dir} keeps the checkpoint after 2 of 4 epochs"
    )
    assert isinstance(info.value, KeyboardInterrupt)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored
    assert not (run_dir / ".lock").exists() and not (run_dir / "results.json").exists()
    resumed = resume(run_dir, progress=False, evaluate=False)
    assert weights_digest(resumed.model) == weights_digest(whole.model)


def test_ctrl_c_before_the_first_checkpoint_starts_over_on_resume(tiny_models, tmp_path):
    whole = quiet(config(seed=5), out=tmp_path / "whole")
    run_dir = tmp_path / "interrupted"
    with pytest.raises(TrainingInterrupted, match="before its first checkpoint") as info:
        quiet(config(seed=5), run_dir=run_dir, callbacks=[CtrlC(batch=0)])
    assert info.value.run_dir == run_dir and info.value.epochs_done is None
    assert not (run_dir / "checkpoints" / "last.ckpt").exists()
    resumed = resume(run_dir, progress=False, evaluate=False)
    assert weights_digest(resumed.model) == weights_digest(whole.model)


def test_ctrl_c_before_training_leaves_nothing(tiny_models, tmp_path, monkeypatch):
    from erlangen.train import trainer

    build = trainer.build_model

    def build_then_ctrl_c(*args, **kwargs):
        model = build(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGINT)
        return model

    monkeypatch.setattr(trainer, "build_model", build_then_ctrl_c)
    with pytest.raises(TrainingInterrupted, match="before it started; nothing was written") as info:
        quiet(config(), out=tmp_path)
    assert info.value.run_dir is None and not any(tmp_path.iterdir())


def _python(*args: str, env: dict | None = None, **kw) -> subprocess.Popen:
    environment = dict(os.environ, **(env or {}))
    environment["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(SRC), environment.get("PYTHONPATH")) if p
    )
    return subprocess.Popen(
        [sys.executable, *args],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,
    )


def _wait_for(condition, process: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None:
            _, err = process.communicate()
            raise AssertionError(f"the subprocess ended early ({process.returncode}): {err}")
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError("timed out waiting for the subprocess")
        time.sleep(0.05)


def test_sigint_to_erlangen_train_in_a_subprocess(tmp_path):
    """A real Ctrl-C: one line naming the run folder and the command that continues it, exit
    130; while it trains, a second process is refused the folder; the resumed run ends with
    the weights of an uninterrupted one."""
    out = tmp_path / "runs"
    args = ["--model", SLOW, "--epochs", "12", "--train-size", "64", "--seed", "1"]
    process = _python(
        "-m",
        "erlangen.cli",
        "train",
        "digits-8x8",
        *args,
        "--out",
        str(out),
        "--no-progress",
        env={SLEEP_ENV: "1.0", "OMP_NUM_THREADS": "1"},  # one thread, as in this process
    )
    _wait_for(lambda: any(out.glob("*/checkpoints/last.ckpt")), process)
    (run_dir,) = out.iterdir()
    busy = runner.invoke(app, ["train", "--resume", str(run_dir), "--no-progress"])
    assert busy.exit_code == 2 and f"run folder {run_dir} is in use by process" in busy.stderr
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert f"training was interrupted; {run_dir} keeps the checkpoint after" in lines[0]
    assert lines[0].endswith(f"; continue with: erlangen train --resume {run_dir}")
    done = load_checkpoint(run_dir / "checkpoints" / "last.ckpt")["epoch"] + 1
    assert 1 <= done < 12 and not (run_dir / "results.json").exists()

    resumed = runner.invoke(app, ["train", "--resume", str(run_dir), "--no-progress"])
    assert resumed.exit_code == 0, resumed.output
    whole = runner.invoke(app, ["train", "digits-8x8", *args, "--out", str(tmp_path / "whole")])
    assert whole.exit_code == 0, whole.output
    (whole_dir,) = (tmp_path / "whole").iterdir()
    a = json.loads((run_dir / "results.json").read_text())
    b = json.loads((whole_dir / "results.json").read_text())
    assert a["steps"] == b["steps"] == 12 and a["weight_digests"] == b["weight_digests"]


# ----------------------------------------------------------------------------- sweeps
def test_ctrl_c_in_a_sweep_keeps_its_rows_and_resume_continues_exactly(tiny_models, tmp_path):
    """The second run is interrupted after its second epoch: the first run's row, report and
    plot are written; the resumed sweep continues that run from its checkpoint (only the
    missing epochs are trained) and ends with the rows of an uninterrupted sweep."""
    plan = SweepPlan(task="digits-8x8", models=("test-tiny",), sizes=(30, 60), steps=6)
    whole = run_sweep(plan, out=tmp_path / "whole", device="cpu", checkpoint_interval_s=0)
    started = []

    def callbacks():
        started.append(1)
        return [CtrlC(epoch=1)] if len(started) == 2 else []

    with pytest.raises(SweepInterrupted) as info:
        run_sweep(
            plan, out=tmp_path / "cut", device="cpu", callbacks=callbacks, checkpoint_interval_s=0
        )
    sweep_dir = info.value.sweep_dir
    assert (info.value.finished, info.value.total, info.value.command) == (1, 2, "sweep")
    doc = json.loads((sweep_dir / "results.json").read_text())
    assert not doc["complete"] and doc["stopped"] == "interrupted" and len(doc["runs"]) == 1
    report = (sweep_dir / "report.md").read_text()
    assert f"`erlangen sweep --resume {sweep_dir}` continues it" in report
    assert "| test-tiny | 30 |" in report and (sweep_dir / "metrics_vs_size.png").is_file()
    cut_run = sweep_dir / "runs" / "test-tiny-n60-seed0"
    assert load_checkpoint(cut_run / "checkpoints" / "last.ckpt")["epoch"] == 1
    assert not (sweep_dir / ".lock").exists()

    resumed = resume_sweep(sweep_dir, checkpoint_interval_s=0)
    assert json.loads((sweep_dir / "results.json").read_text())["complete"]
    metrics = ("steps", "test_error", "rot90_rel_error", "rot45_agreement")
    assert [[r[k] for k in metrics] for r in resumed.rows] == [
        [r[k] for k in metrics] for r in whole.rows
    ]
    second = (cut_run / "logs" / "session1" / "metrics.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in second[1:]] == ["2", "3", "4", "5"]
    for a, b in zip(resumed.rows, whole.rows):
        digest = [
            json.loads((d / r["run_dir"] / "results.json").read_text())["weight_digests"]
            for d, r in ((sweep_dir, a), (whole.out_dir, b))
        ]
        assert digest[0] == digest[1]
    with pytest.raises(ValueError, match="was run with another plan"):
        run_sweep(
            SweepPlan(task="digits-8x8", models=("test-tiny",), sizes=(30,), steps=6),
            device="cpu",
            sweep_dir=sweep_dir,
        )


def test_an_interrupted_demo_draws_what_it_has_and_resumes(tiny_models, tmp_path):
    plan = dataclasses.replace(
        DEFAULT_PLAN, task="digits-8x8", models=("test-tiny",), sizes=(30, 60), steps=2
    )
    started = []

    def callbacks():
        started.append(1)
        return [CtrlC(batch=0)] if len(started) == 2 else []

    with pytest.raises(SweepInterrupted) as info:
        run_demo(plan, out=tmp_path, device="cpu", callbacks=callbacks)
    demo_dir = info.value.sweep_dir
    assert info.value.command == "demo" and demo_dir.name.startswith("demo-")
    for name in ("report.md", "metrics_vs_size.png", "equivariance.png", "samples.png"):
        assert (demo_dir / name).is_file(), name
    assert "`erlangen demo --resume" in (demo_dir / "report.md").read_text()
    refused = runner.invoke(app, ["sweep", "--resume", str(demo_dir)])
    assert refused.exit_code == 2 and "is a demo folder" in refused.stderr
    not_a_demo = tmp_path / "sweep"
    not_a_demo.mkdir()
    doc = json.loads((demo_dir / "results.json").read_text())
    (not_a_demo / "results.json").write_text(json.dumps({**doc, "command": "sweep"}))
    with pytest.raises(ValueError, match="not a demo folder"):
        resume_demo(not_a_demo)
    result = runner.invoke(app, ["demo", "--resume", str(demo_dir)])
    assert result.exit_code == 0, result.output
    doc = json.loads((demo_dir / "results.json").read_text())
    assert doc["complete"] and len(doc["runs"]) == 2 and doc["command"] == "demo"


def test_ctrl_c_in_a_parallel_sweep_stops_its_workers(tmp_path, monkeypatch):
    """With two worker processes: Ctrl-C reaches the parent (the workers ignore it), which
    kills the workers, writes the finished row's report and says how to continue."""
    monkeypatch.setenv(SLEEP_ENV, "1.0")  # for the workers, which start with this environment
    plan = SweepPlan(task="digits-8x8", models=(SLOW,), sizes=(20, 40, 60), steps=3)

    def ctrl_c(row):
        os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(SweepInterrupted) as info:
        run_sweep(plan, out=tmp_path, device="cpu", jobs=2, threads=1, on_done=ctrl_c)
    assert info.value.finished == 1 and info.value.total == 3
    assert not [p for p in multiprocessing.active_children() if p.is_alive()]
    doc = json.loads((info.value.sweep_dir / "results.json").read_text())
    assert doc["stopped"] == "interrupted" and len(doc["runs"]) == 1
    assert (info.value.sweep_dir / "report.md").is_file()
    monkeypatch.delenv(SLEEP_ENV)
    resumed = resume_sweep(info.value.sweep_dir, jobs=1)
    assert [r["train_size"] for r in resumed.rows] == [20, 40, 60]


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _running(pid: int) -> bool:
    """Whether ``pid`` exists and is not a zombie (a dead child not reaped yet)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_workers_stop_when_the_sweep_is_killed_and_resume_takes_over(tmp_path):
    """SIGKILL to a sweep with two worker processes mid-training: both workers are gone
    within seconds (prctl PDEATHSIG); their folders' locks died with them, so the resumed
    sweep takes them over and finishes every run."""
    out = tmp_path / "runs"
    process = _python(
        "-m",
        "erlangen.cli",
        "sweep",
        "digits-8x8",
        "--models",
        SLOW,
        "--sizes",
        "20,40",
        "--steps",
        "30",
        "--jobs",
        "2",
        "--threads",
        "1",
        "--device",
        "cpu",
        "--out",
        str(out),
        env={SLEEP_ENV: "1.0"},
    )
    _wait_for(lambda: len(list(out.glob("*/runs/*/config.json"))) == 2, process)
    workers = [pid for pid in _children(process.pid) if _running(pid)]
    assert len(workers) >= 2  # two workers (and multiprocessing's resource tracker)
    process.kill()
    process.communicate()
    deadline = time.monotonic() + 10
    while any(_running(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in workers if _running(pid)]

    (sweep_dir,) = out.iterdir()
    assert all((d / ".lock").exists() for d in (sweep_dir / "runs").iterdir())  # stale
    result = runner.invoke(app, ["sweep", "--resume", str(sweep_dir), "--device", "cpu"])
    assert result.exit_code == 0, result.output
    doc = json.loads((sweep_dir / "results.json").read_text())
    assert doc["complete"] and [r["steps"] for r in doc["runs"]] == [30, 30]


def test_the_watchdog_ends_a_worker_whose_parent_is_gone(monkeypatch):
    """Where prctl is missing, a thread polls the parent's id and ends the process."""
    exits = []

    def fake_exit(code):
        exits.append(code)
        raise SystemExit(code)

    monkeypatch.setattr(sweep_workers.os, "_exit", fake_exit)
    with pytest.raises(SystemExit):
        sweep_workers.watch_parent(parent_pid=-1, interval_s=0.01)
    assert exits == [1]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux's")
def test_workers_ask_the_kernel_to_end_them_with_their_parent():
    """worker_init: SIGINT ignored, the kernel asked for SIGKILL at the parent's death (tried
    on this process, then undone)."""
    import ctypes

    libc = ctypes.CDLL(None)
    handler, threads = signal.getsignal(signal.SIGINT), torch.get_num_threads()
    try:
        sweep_workers.worker_init(1, os.getppid())
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
        value = ctypes.c_int()
        libc.prctl(2, ctypes.byref(value), 0, 0, 0)  # PR_GET_PDEATHSIG
        assert value.value == signal.SIGKILL
        assert sweep_workers.end_with_parent(os.getppid()) == "prctl"
    finally:
        libc.prctl(sweep_workers.PR_SET_PDEATHSIG, 0, 0, 0, 0)
        signal.signal(signal.SIGINT, handler)
        torch.set_num_threads(threads)


# ----------------------------------------------------------------------------- locks
def test_one_process_per_folder_and_stale_locks_are_taken_over(tmp_path):
    with folder_lock(tmp_path) as path:
        info = json.loads(path.read_text())
        assert info["pid"] == os.getpid()
        with pytest.raises(FolderInUseError, match=f"in use by process {os.getpid()} on"):
            with folder_lock(tmp_path):
                pass
    assert not path.exists()  # released and removed
    path.write_text(json.dumps({"pid": 999999, "host": "gone", "since": "then"}))
    with folder_lock(tmp_path):  # a lock file nobody holds: taken over
        assert json.loads(path.read_text())["pid"] == os.getpid()
    with pytest.raises(RuntimeError), folder_lock(tmp_path):
        raise RuntimeError("the work failed")
    assert not path.exists()


def test_a_lock_held_by_a_killed_process_is_free(tmp_path):
    """The lock is the kernel's: another process holding it is refused, and once that process
    is killed (it cannot clean up), the lock is free."""
    script = (
        "import fcntl, os, sys, time\n"
        f"fd = os.open({str(tmp_path / '.lock')!r}, os.O_RDWR | os.O_CREAT)\n"
        "fcntl.flock(fd, fcntl.LOCK_EX)\n"
        'os.write(fd, b\'{"pid": %d, "host": "h", "since": "now"}\' % os.getpid())\n'
        "print('locked', flush=True)\n"
        "time.sleep(600)\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(FolderInUseError, match=f"in use by process {holder.pid} on h"):
            with folder_lock(tmp_path):
                pass
    finally:
        holder.kill()
        holder.wait()
    with folder_lock(tmp_path):
        pass
