"""The interatomic potential against nequip: time per MD step, forces included.

``o3-potential-md-{64,512,4096}``: one force call of an ASE calculator (what a molecular
dynamics step costs: the neighbour list, the energy, the forces by autograd) on a rattled fcc
copper cell of ``n^3`` primitive cells (``n = 4, 8, 16``), float32, one structure per call.
Ours: :class:`erlangen.o3.Calculator` around :class:`erlangen.o3.Potential`; reference:
``nequip.integrations.ase.NequIPCalculator`` around ``NequIPGNNModel`` of the same size
(L = 2, 16 channels per degree, even parity only, 2 interaction blocks, radial MLP of one
hidden layer of 32, 8 Bessel functions, cutoff 4.5 Angstrom), neighbour list by vesin when
it is installed (nequip's back end ``"vesin"``; ours takes vesin from 1,000 atoms and its
torch back end below). Both models are untrained (timing does not depend on the weights).

nequip lives in ``.venv-bench`` (it pins e3nn 0.6); the benchmarks are registered only where
it can be found. nequip sets torch's default dtype to float64 for the process and converts
ASE's atoms in that dtype: its calls run with that default, restored after each, so the other
benchmarks of a process keep theirs; both models compute in float32.

The docs table::

    PYTHONPATH=src .venv-bench/bin/python -m erlangen.bench.potential --rounds 5
"""

from __future__ import annotations

import argparse
import importlib.util
import sys

import torch

from . import BenchPair, register

R_MAX = 4.5
SIZES = {"channels": 16, "lmax": 2, "layers": 2, "radial_hidden": 32, "num_basis": 8}
REPEATS = {64: 4, 512: 8, 4096: 16}
AVG_NEIGHBOURS = 42.0  # fcc copper within 4.5 Angstrom: 12 + 6 + 24


def copper(atoms_count: int, seed: int = 0):
    """Rattled fcc copper (a = 3.61 Angstrom), ``atoms_count`` primitive cells, periodic."""
    from ase.build import bulk

    if atoms_count not in REPEATS:
        raise ValueError(f"atoms must be one of {tuple(REPEATS)}, got {atoms_count}")
    n = REPEATS[atoms_count]
    atoms = bulk("Cu", "fcc", a=3.61).repeat((n, n, n))
    atoms.rattle(0.05, seed=seed)
    return atoms


def our_calculator(dtype: torch.dtype = torch.float32):
    """:class:`erlangen.o3.Calculator` of an untrained potential of :data:`SIZES`."""
    from ..o3 import Calculator, Potential

    torch.manual_seed(0)
    model = Potential(
        species=(29, 79),
        r_max=R_MAX,
        channels=SIZES["channels"],
        lmax=SIZES["lmax"],
        layers=SIZES["layers"],
        radial_hidden=[SIZES["radial_hidden"]],
        num_basis=SIZES["num_basis"],
        avg_num_neighbors=AVG_NEIGHBOURS,
    )
    return Calculator(model, device="cpu", dtype=dtype)


def nequip_calculator(dtype: str = "float32"):
    """nequip's ASE calculator around ``NequIPGNNModel`` of the same sizes."""
    from nequip.data.transforms import ChemicalSpeciesToAtomTypeMapper, NeighborListTransform
    from nequip.integrations.ase import NequIPCalculator
    from nequip.model import NequIPGNNModel
    from nequip.utils.global_state import set_global_state

    set_global_state()
    model = NequIPGNNModel(
        seed=0,
        model_dtype=dtype,
        r_max=R_MAX,
        type_names=["Cu", "Au"],
        num_layers=SIZES["layers"],
        l_max=SIZES["lmax"],
        parity=False,
        num_features=SIZES["channels"],
        type_embed_num_features=SIZES["channels"],
        radial_mlp_depth=1,
        radial_mlp_width=SIZES["radial_hidden"],
        num_bessels=SIZES["num_basis"],
        avg_num_neighbors=AVG_NEIGHBOURS,
        per_type_energy_scales=1.0,
        per_type_energy_shifts={"Cu": 0.0, "Au": 0.0},
    ).eval()
    backend = "vesin" if importlib.util.find_spec("vesin") else "matscipy"
    transforms = [
        ChemicalSpeciesToAtomTypeMapper(model_type_names=["Cu", "Au"]),
        NeighborListTransform(r_max=R_MAX, backend=backend),
    ]
    return NequIPCalculator(model, device="cpu", transforms=transforms), backend


def force_call(calc, atoms, default_dtype: torch.dtype | None = None):
    """One MD step's worth of work: energy and forces from scratch (under torch's
    ``default_dtype`` when given: nequip's data conversion expects float64, its global
    state, which the other benchmarks of the process must not inherit)."""
    changes = ["positions", "numbers", "cell", "pbc"]

    def step():
        if default_dtype is None:
            calc.calculate(atoms, ["energy", "forces"], changes)
            return calc.results["forces"]
        previous = torch.get_default_dtype()
        torch.set_default_dtype(default_dtype)
        try:
            calc.calculate(atoms, ["energy", "forces"], changes)
        finally:
            torch.set_default_dtype(previous)
        return calc.results["forces"]

    return step


def md_pair(atoms_count: int) -> BenchPair:
    """Ours against nequip on the same copper cell (see the module docstring)."""
    previous = torch.get_default_dtype()
    try:
        theirs, backend = nequip_calculator()
    finally:
        torch.set_default_dtype(previous)
    ours = our_calculator()
    atoms = copper(atoms_count)
    params = {
        "ours": sum(p.numel() for p in ours.model.parameters()),
        "nequip": sum(p.numel() for p in theirs.model.parameters()),
    }
    return BenchPair(
        ours=force_call(ours, atoms),
        references={
            "nequip 0.19 NequIPGNNModel (ASE calculator)": force_call(theirs, atoms, torch.float64)
        },
        ours_label="erlangen Potential (ASE calculator)",
        note=(
            f"fcc Cu, {len(atoms)} atoms, periodic; energy + forces, float32; L=2, 16 ch, 2 "
            f"blocks, r_max {R_MAX}; params ours {params['ours']}, nequip {params['nequip']}; "
            f"nequip neighbour list: {backend}"
        ),
    )


if importlib.util.find_spec("nequip") is not None:
    for _n in REPEATS:
        register(
            f"o3-potential-md-{_n}",
            "o3",
            f"MD step (energy + forces, ASE calculator), {_n} Cu atoms, against nequip",
        )(lambda device, _n=_n: md_pair(_n))


def main(argv: list[str] | None = None) -> None:
    from . import run

    parser = argparse.ArgumentParser(prog="python -m erlangen.bench.potential")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--min-run-time", type=float, default=3.0)
    parser.add_argument("--atoms", default="64,512,4096")
    parser.add_argument("--json", default=None, help="also write the results here")
    args = parser.parse_args(argv)
    if importlib.util.find_spec("nequip") is None:
        raise SystemExit("nequip is not installed here: run this with .venv-bench's python")
    names = [f"o3-potential-md-{int(n)}" for n in args.atoms.split(",")]
    results = run(names, args.min_run_time, "cpu", rounds=args.rounds, progress=print)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.rounds} rounds")
    print("| atoms | ours ms (IQR) | nequip ms (IQR) | ours / nequip (IQR) |")
    print("|---|---|---|---|")
    for r in results:
        (ref,) = r.references
        q1, q3 = r.ratio_iqr(ref)
        atoms = r.name.rsplit("-", 1)[-1]
        print(
            f"| {atoms} | {r.ours.median_ms:.1f} ({r.ours.iqr_ms:.1f}) | "
            f"{ref.median_ms:.1f} ({ref.iqr_ms:.1f}) | {r.ratio(ref):.2f}x ({q1:.2f}-{q3:.2f}) |"
        )
    for r in results:
        print(f"{r.name}: {r.note}")
    if args.json:
        from . import to_json

        to_json(results, args.json)


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
