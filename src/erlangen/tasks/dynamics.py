"""Molecular dynamics with a trained potential: NVE through ASE, and how well it keeps the
energy.

``erlangen md RUN_DIR`` (or :func:`run_md`) loads the run's potential as an ASE calculator
(:meth:`erlangen.o3.Calculator.from_run`), draws Maxwell-Boltzmann velocities (seeded, no
net momentum), integrates with velocity Verlet and records the potential, kinetic and total
energy. The drift is the least-squares slope of the total energy per atom against time
(meV/atom/ps); the fluctuation is the RMS of the total energy per atom about that line.
Writes ``md.json`` (settings, drift, the energies) and ``md.png`` (the energies against time).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..data import atomic_write_bytes
from ..data.atoms import require_ase

CU_A = 3.61  # fcc copper (Angstrom)
MD_JSON, MD_PLOT = "md.json", "md.png"


def default_structure(species: tuple[int, ...], repeat: int):
    """``repeat^3`` conventional fcc copper cells (``4 repeat^3`` atoms), periodic."""
    require_ase("erlangen md")
    from ase.build import bulk

    if 29 not in species:
        raise ValueError(
            f"the potential knows atomic numbers {list(species)}, not copper (29): give a "
            "structure file with --structure"
        )
    if repeat < 1:
        raise ValueError(f"repeat must be >= 1, got {repeat}")
    return bulk("Cu", "fcc", a=CU_A, cubic=True).repeat(repeat)


def read_structure(path: str | os.PathLike):
    """Any file ASE reads (xyz, extxyz, cif, POSCAR, ...); the last frame of a trajectory."""
    require_ase("erlangen md")
    import ase.io

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no structure file at {path}")
    return ase.io.read(path, index=-1)


def nve(
    atoms,
    calculator,
    steps: int,
    timestep_fs: float = 2.0,
    temperature_k: float = 300.0,
    interval: int = 5,
    seed: int = 0,
) -> dict[str, Any]:
    """Velocity-Verlet dynamics of ``atoms`` (changed in place).

    Parameters
    ----------
    atoms : ase.Atoms
    calculator : ase Calculator
    steps : int
        Integration steps.
    timestep_fs : float
        Femtoseconds per step.
    temperature_k : float
        Of the initial Maxwell-Boltzmann velocities (the system then exchanges energy between
        kinetic and potential: the temperature settles near half of it from a perfect lattice).
    interval : int
        Steps between records.
    seed : int
        Of the velocities.

    Returns
    -------
    dict
        ``time_ps (T,)``, ``potential``, ``kinetic``, ``total`` ``(T,)`` eV per atom,
        ``temperature_k (T,)``, ``drift_mev_atom_ps``, ``fluctuation_mev_atom``, ``atoms``,
        ``steps``, ``timestep_fs``, ``wall_s`` and ``ms_per_step``.
    """
    require_ase("erlangen md")
    import time

    from ase import units
    from ase.md import velocitydistribution as velocities
    from ase.md.verlet import VelocityVerlet

    for name, value in (("steps", steps), ("interval", interval)):
        if value < 1:
            raise ValueError(f"{name} must be >= 1, got {value}")
    if not (timestep_fs > 0 and temperature_k >= 0):
        raise ValueError(
            f"need timestep_fs > 0 and temperature_k >= 0, got {timestep_fs}, {temperature_k}"
        )
    atoms.calc = calculator
    rng = np.random.default_rng(seed)
    if hasattr(velocities, "thermalize_momenta"):  # ase >= 3.29
        velocities.thermalize_momenta(atoms, temperature_k, rng=rng)
    else:
        velocities.MaxwellBoltzmannDistribution(atoms, temperature_K=temperature_k, rng=rng)
    velocities.Stationary(atoms)
    n = len(atoms)
    rows: list[tuple[float, float, float, float]] = []

    def record() -> None:
        e_pot = atoms.get_potential_energy() / n
        e_kin = atoms.get_kinetic_energy() / n
        rows.append((dyn.get_time() / (1000 * units.fs), e_pot, e_kin, atoms.get_temperature()))

    dyn = VelocityVerlet(atoms, timestep_fs * units.fs)
    dyn.attach(record, interval=interval)
    start = time.perf_counter()
    dyn.run(steps)
    wall = time.perf_counter() - start
    t, e_pot, e_kin, temp = (np.array(c) for c in zip(*rows))
    total = e_pot + e_kin
    slope, intercept = np.polyfit(t, total, 1) if len(t) > 1 else (0.0, float(total[0]))
    residual = total - (slope * t + intercept)
    return {
        "time_ps": t,
        "potential": e_pot,
        "kinetic": e_kin,
        "total": total,
        "temperature_k": temp,
        "drift_mev_atom_ps": 1000 * float(slope),
        "fluctuation_mev_atom": 1000 * float(np.sqrt(np.mean(residual**2))),
        "atoms": n,
        "steps": steps,
        "timestep_fs": timestep_fs,
        "wall_s": wall,
        "ms_per_step": 1000 * wall / steps,
    }


def plot_energies(record: dict[str, Any], path: Path, title: str = "") -> None:
    """The potential, kinetic and total energy per atom against time, drift in the legend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = record["time_ps"]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(6.4, 5.2), sharex=True)
    e0 = record["total"][0]
    top.plot(t, 1000 * (record["potential"] - e0), label="potential")
    top.plot(t, 1000 * record["kinetic"], label="kinetic")
    top.set_ylabel("meV/atom (potential from E_total(0))")
    top.legend(loc="best", fontsize=8)
    bottom.plot(t, 1000 * (record["total"] - e0), color="k", lw=1)
    bottom.set_ylabel("E_total - E_total(0)\n(meV/atom)")
    bottom.set_xlabel("time (ps)")
    bottom.set_title(
        f"drift {record['drift_mev_atom_ps']:.3g} meV/atom/ps, "
        f"RMS about the line {record['fluctuation_mev_atom']:.3g} meV/atom",
        fontsize=9,
    )
    if title:
        top.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def run_md(
    run_dir: str | os.PathLike,
    structure: str | os.PathLike | None = None,
    repeat: int = 3,
    steps: int = 1000,
    timestep_fs: float = 2.0,
    temperature_k: float = 600.0,
    interval: int = 5,
    seed: int = 0,
    device: str = "cpu",
    float64: bool = True,
    out: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """NVE with a run's potential (see the module docstring); writes ``md.json`` and
    ``md.png`` into ``out`` (default ``RUN_DIR/md``) and returns the summary (drift,
    fluctuation, temperatures, timing) without the time series."""
    require_ase("erlangen md")
    import torch

    from ..o3.calculator import Calculator

    calc = Calculator.from_run(
        run_dir, device=device, dtype=torch.float64 if float64 else torch.float32
    )
    species = calc.model.species
    atoms = read_structure(structure) if structure else default_structure(species, repeat)
    record = nve(atoms, calc, steps, timestep_fs, temperature_k, interval, seed)
    folder = Path(out) if out is not None else Path(run_dir) / "md"
    folder.mkdir(parents=True, exist_ok=True)
    summary = {
        "run": str(run_dir),
        "structure": str(structure) if structure else f"fcc Cu a={CU_A} x{repeat}^3",
        "temperature_start_k": temperature_k,
        "dtype": "float64" if float64 else "float32",
        "device": str(calc.device),
        "seed": seed,
        **{k: v for k, v in record.items() if not isinstance(v, np.ndarray)},
        # the second half: after the lattice has shared the initial kinetic energy
        "temperature_mean_k": float(
            np.mean(record["temperature_k"][len(record["time_ps"]) // 2 :])
        ),
    }
    series = {k: v.tolist() for k, v in record.items() if isinstance(v, np.ndarray)}
    text = json.dumps({**summary, "series": series}, indent=2) + "\n"
    atomic_write_bytes(folder / MD_JSON, text.encode())
    plot_energies(record, folder / MD_PLOT, f"NVE, {record['atoms']} atoms, {run_dir}")
    summary["files"] = [str(folder / MD_JSON), str(folder / MD_PLOT)]
    return summary


__all__ = ["default_structure", "nve", "plot_energies", "read_structure", "run_md"]
