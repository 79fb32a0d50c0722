"""An ASE calculator for a :class:`~erlangen.o3.potential.Potential` (CPU or CUDA).

ASE is optional (the ``atoms`` extra): this module imports it, and ``erlangen.o3`` imports
this module only when ``erlangen.o3.Calculator`` is first used, so the family stays importable
without it. :meth:`Calculator.from_run` loads the potential of a training run
(``erlangen train emt-copper --model potential``): the run's ``config.json`` records every
option of the model (the potential tasks put species, cutoff and data statistics there), and
``checkpoints/last.ckpt`` its weights. Both files are read here directly, through the core
registry, so the family does not import the training machinery (a test checks that this gives
the model ``erlangen.train.load_run`` gives).

>>> import torch
>>> from ase.build import bulk
>>> from erlangen.o3 import Calculator, Potential
>>> _ = torch.manual_seed(0)
>>> atoms = bulk("Cu", "fcc", a=3.61, cubic=True)
>>> atoms.calc = Calculator(Potential(species=(29,), r_max=4.0))
>>> atoms.get_forces().shape, atoms.get_stress().shape
((4, 3), (6,))
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch
from ase.calculators.calculator import Calculator as _AseCalculator
from ase.calculators.calculator import all_changes

from ..registry import get_model
from .potential import Potential

#: the files of a run folder (as :mod:`erlangen.train.run_dir` writes them)
CONFIG_FILE = "config.json"
CHECKPOINT = Path("checkpoints") / "last.ckpt"
MODEL_PREFIX = "model."  # the model's tensors in a checkpoint's state_dict


class Calculator(_AseCalculator):
    """ASE calculator: energy, free energy, forces, per-atom energies and (periodic cells)
    stress of a :class:`Potential`.

    Parameters
    ----------
    model : Potential
        Put in eval mode and moved to ``device`` and ``dtype``.
    device : str or torch.device
        ``"cpu"``, ``"cuda"`` or ``"auto"`` (CUDA when available).
    dtype : torch.dtype
        Precision of the evaluation (float64 by default: MD conserves energy better and
        forces are exact derivatives to round-off; float32 is faster).
    """

    implemented_properties = ("energy", "free_energy", "forces", "energies", "stress")

    def __init__(
        self,
        model: Potential,
        device: str | torch.device = "auto",
        dtype: torch.dtype = torch.float64,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not hasattr(model, "compute") or not hasattr(model, "species_index"):
            raise TypeError(
                f"Calculator needs an erlangen.o3.Potential, got {type(model).__name__}"
            )
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        device = torch.device(device)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError("Calculator(device='cuda'): CUDA is not available here")
        self.device, self.dtype = device, dtype
        self.model = model.to(device=device, dtype=dtype).eval()

    @classmethod
    def from_run(
        cls,
        run_dir: str | os.PathLike,
        device: str | torch.device = "auto",
        dtype: torch.dtype = torch.float64,
        **kwargs,
    ) -> Calculator:
        """The calculator of a trained run's potential.

        Parameters
        ----------
        run_dir : path
            A run folder of ``erlangen train TASK --model potential``.
        device, dtype, kwargs
            As in the constructor.

        Raises
        ------
        FileNotFoundError
            When ``run_dir`` has no ``config.json`` or no ``checkpoints/last.ckpt``.
        ValueError
            When the run's model is not a potential, or its checkpoint does not fit it.
        """
        return cls(load_potential(run_dir), device=device, dtype=dtype, **kwargs)

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        atoms = self.atoms
        pbc = np.asarray(atoms.pbc, dtype=bool)
        numbers = torch.as_tensor(atoms.numbers, device=self.device)
        species = self.model.species_index(numbers)
        pos = torch.as_tensor(atoms.positions, dtype=self.dtype, device=self.device)
        periodic = bool(pbc.any())
        cell = torch.as_tensor(np.asarray(atoms.cell), dtype=self.dtype, device=self.device)
        want_stress = "stress" in properties and bool(pbc.all())
        out = self.model.compute(
            species,
            pos,
            cell=cell if periodic else None,
            pbc=torch.as_tensor(pbc, device=self.device) if periodic else None,
            forces=True,
            stress=want_stress,
            create_graph=False,
        )
        energy = float(out["energy"].sum())
        self.results["energy"] = energy
        self.results["free_energy"] = energy
        self.results["energies"] = out["atomic_energies"].double().cpu().numpy()
        self.results["forces"] = out["forces"].double().cpu().numpy()
        if want_stress:
            s = out["stress"][0].double().cpu().numpy()
            # Voigt order of ASE: xx, yy, zz, yz, xz, xy
            self.results["stress"] = np.array(
                [s[0, 0], s[1, 1], s[2, 2], s[1, 2], s[0, 2], s[0, 1]]
            )
        elif "stress" in properties:
            from ase.calculators.calculator import PropertyNotImplementedError

            raise PropertyNotImplementedError(
                "stress needs a cell periodic in all three directions"
            )


def load_potential(run_dir: str | os.PathLike) -> Potential:
    """The trained :class:`Potential` of a run folder, in eval mode on the CPU (see
    :meth:`Calculator.from_run`)."""
    run_dir = Path(run_dir)
    config_path, ckpt = run_dir / CONFIG_FILE, run_dir / CHECKPOINT
    for path in (config_path, ckpt):
        if not path.is_file():
            raise FileNotFoundError(f"{run_dir} is not a finished run folder: no {path.name}")
    config = json.loads(config_path.read_text()).get("config", {})
    name, options = config.get("model"), config.get("model_options", {})
    model = get_model(name).factory(**options) if isinstance(name, str) else None
    if not isinstance(model, Potential):
        raise ValueError(
            f"{run_dir} trained model {name!r}, not an interatomic potential "
            "(train one with: erlangen train emt-copper --model potential)"
        )
    checkpoint = torch.load(ckpt, map_location="cpu", weights_only=True)
    state = {
        k[len(MODEL_PREFIX) :]: v
        for k, v in checkpoint.get("state_dict", {}).items()
        if k.startswith(MODEL_PREFIX)
    }
    try:
        model.load_state_dict(state)
    except RuntimeError as e:
        first = " ".join(str(e).split())[:300]
        raise ValueError(f"{ckpt} does not fit {name!r} with options {options}: {first}") from None
    return model.eval()


__all__ = ["Calculator", "load_potential"]
