"""An interatomic potential in the NequIP/MACE class: energies from equivariant message
passing, forces (and stress) as exact derivatives of the energy.

.. math::

    E = \\sum_i \\big(s\\,\\varepsilon_i + \\mu_{z_i}\\big),\\qquad
    F_i = -\\frac{\\partial E}{\\partial x_i},\\qquad
    \\sigma = \\frac{1}{V} \\frac{\\partial E}{\\partial \\epsilon}

with ``eps_i`` the read-out of atom ``i`` after ``layers`` interaction blocks, ``mu_z`` the
energy shift of its species and ``s`` an energy scale (both given, usually from the data:
least-squares energies per species and the force RMS). An interaction block (NequIP's):

- a self-connection, a linear map chosen by the atom's species (from the second block on);
- a linear map of the features, then per edge the channel-wise tensor product of the sender's
  features with the edge's spherical harmonics, weighted by a radial network of the edge
  length (Bessel basis times a polynomial cutoff, then an MLP; or splines), summed over the
  neighbours and divided by ``sqrt(avg_num_neighbors)``;
- another linear map, plus the self-connection, then a gate.

Features are ``C x (0e + 1o + 2e + ...)`` up to ``lmax`` (natural parities; ``parity=True``
adds ``0o + 1e + 2o + ...``); the last block keeps scalars only. Edges come from
:mod:`erlangen.nn.neighbours`: open boundaries, or periodic cells through integer shifts whose
edge vectors ``x_i - x_j - S cell`` are differentiated like any other, so forces include
interactions through the boundary and the strain derivative (stress) needs no special case.

Inputs: ``species (N,)`` indices into ``species`` (not atomic numbers), ``pos (N, 3)``,
optionally ``batch (N,)``, ``cell (B, 3, 3)`` and ``pbc``. :meth:`Potential.forward` returns
``(energy (B, 1), forces (N, 3))``; :meth:`Potential.compute` also the stress and per-atom
energies.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..fields import GraphField, NodeField, PositionField
from ..groups import O3, E, Symmetric, euclidean, standard
from ..groups.irreps import Irrep, Irreps
from ..nn import EquivariantModule
from ..nn.neighbours import (
    batch_or_zeros,
    edge_vectors,
    num_graphs,
    periodic_radius_graph,
    radius_graph,
)
from .gate import Gate
from .linear import Linear
from .radial import BesselBasis, PolynomialCutoff, RadialSpline
from .spherical_harmonics import spherical_harmonics
from .tensor_product import TensorProduct

RADIAL = ("mlp", "spline")

#: atoms of the declared types (what the checker draws); the model takes any number
ATOMS = 5


def atoms_group(atoms: int = ATOMS):
    """``Symmetric(atoms) * E(3)``: relabelling atoms, rotations, reflections, translations."""
    return Symmetric(atoms) * E(3)


class SpeciesLinear(nn.Module):
    """A linear map of irreps features chosen by each row's species (NequIP's
    self-connection, a tensor product with the one-hot species): ``y_i = W_{z_i} x_i``.

    Every species' map is applied to every row (one GEMM per irrep, ``S`` times the work of
    one map, cheap for the few species of a potential), then each row keeps its own.

    Shapes: ``x (N, irreps_in.dim)``, ``species (N,)`` -> ``(N, irreps_out.dim)``.
    """

    def __init__(self, irreps_in, irreps_out, num_species: int):
        super().__init__()
        self.irreps_in, self.irreps_out = Irreps(irreps_in), Irreps(irreps_out)
        self.num_species = num_species
        self.terms: list[tuple[int, int, int]] = []  # (input term, output term, weight index)
        self.weights = nn.ParameterList()
        for i_out, (mul_out, ir) in enumerate(self.irreps_out):
            for i_in, (mul_in, other) in enumerate(self.irreps_in):
                if other == ir and mul_in and mul_out:
                    self.terms.append((i_in, i_out, len(self.weights)))
                    self.weights.append(nn.Parameter(torch.randn(mul_in, num_species, mul_out)))

    def forward(self, x: Tensor, species: Tensor) -> Tensor:
        n = x.shape[0]
        rows = torch.arange(n, device=x.device)
        slices_in = self.irreps_in.slices()
        outs: list[Tensor | None] = [None] * len(self.irreps_out)
        for i_in, i_out, k in self.terms:
            mul_in, ir = self.irreps_in[i_in]
            mul_out = self.irreps_out[i_out].mul
            w = self.weights[k].to(x.dtype) / math.sqrt(mul_in)
            xs = x[:, slices_in[i_in]].view(n, mul_in, ir.dim).transpose(1, 2)  # (n, d, mul)
            y = (xs @ w.reshape(mul_in, -1)).view(n, ir.dim, self.num_species, mul_out)
            y = y[rows, :, species].transpose(1, 2).reshape(n, mul_out * ir.dim)
            outs[i_out] = y if outs[i_out] is None else outs[i_out] + y
        parts = [
            y if y is not None else x.new_zeros(n, mul * ir.dim)
            for y, (mul, ir) in zip(outs, self.irreps_out)
        ]
        return torch.cat(parts, -1) if parts else x.new_zeros(n, 0)


class RadialNetwork(nn.Module):
    """Per-edge tensor-product weights from a shared radial embedding (Bessel basis times the
    cutoff): an MLP with SiLU, NequIP's ``edge_mlp``."""

    def __init__(self, num_basis: int, out_features: int, hidden: Sequence[int]):
        super().__init__()
        widths = [num_basis, *hidden, out_features]
        layers: list[nn.Module] = []
        for k in range(len(widths) - 1):
            layers.append(nn.Linear(widths[k], widths[k + 1], bias=False))
            if k + 2 < len(widths):
                layers.append(nn.SiLU())
        self.mlp = nn.Sequential(*layers)

    def forward(self, embedding: Tensor) -> Tensor:
        return self.mlp(embedding)


class Interaction(nn.Module):
    """One interaction block (see the module docstring).

    Shapes: ``x (N, irreps_in.dim)``, ``species (N,)``, ``sh (E, irreps_sh.dim)``, the radial
    input ``(E, k)``, ``edge_index (2, E)`` -> ``(N, irreps_out.dim)``.
    """

    def __init__(
        self,
        irreps_in: Irreps,
        irreps_sh: Irreps,
        irreps_hidden: Irreps,
        num_species: int,
        radial: str,
        num_basis: int,
        radial_hidden: Sequence[int],
        r_max: float,
        avg_num_neighbors: float,
        self_connection: bool,
    ):
        super().__init__()
        self.irreps_in = irreps_in
        # the gate: scalars and one gate per gated irrep (even gates: silu and sigmoid)
        scalars = Irreps([(mul, ir) for mul, ir in irreps_hidden if ir.l == 0])
        gated = Irreps([(mul, ir) for mul, ir in irreps_hidden if ir.l > 0])
        gates = Irreps([(gated.num_irreps, Irrep(0, 1))]) if gated.num_irreps else Irreps("")
        self.gate = Gate(scalars, gates, gated, act=F.silu, act_gates=torch.sigmoid)
        irreps_pre = self.gate.irreps_in
        channels = {mul for mul, _ in irreps_in}.pop()
        reachable = []
        for _, ir_in in irreps_in:
            for _, ir_sh in irreps_sh:
                for ir in ir_in * ir_sh:
                    if ir in {ir for _, ir in irreps_pre} and ir not in reachable:
                        reachable.append(ir)
        self.irreps_mid = Irreps([(channels, ir) for ir in sorted(reachable)])
        self.linear_in = Linear(irreps_in, irreps_in, bias=False)
        self.tp = TensorProduct(
            irreps_in, irreps_sh, self.irreps_mid, mode="uvu", weights="external"
        )
        if radial == "mlp":
            self.radial: nn.Module = RadialNetwork(num_basis, self.tp.weight_numel, radial_hidden)
        else:
            self.radial = RadialSpline(self.tp.weight_numel, r_max, num_knots=max(num_basis, 4))
        self.radial_kind = radial
        self.linear_out = Linear(self.irreps_mid, irreps_pre, bias=False)
        self.self_connection = (
            SpeciesLinear(irreps_in, irreps_pre, num_species) if self_connection else None
        )
        self.norm = 1.0 / math.sqrt(avg_num_neighbors)
        self.irreps_out = self.gate.irreps_out

    def forward(
        self,
        x: Tensor,
        species: Tensor,
        sh: Tensor,
        radial_input: Tensor,
        edge_index: Tensor,
    ) -> Tensor:
        sender, receiver = edge_index
        h = self.linear_in(x)
        weights = self.radial(radial_input)
        messages = self.tp(h[sender], sh, weights)
        summed = messages.new_zeros(x.shape[0], messages.shape[-1]).index_add(0, receiver, messages)
        y = self.linear_out(summed * self.norm)
        if self.self_connection is not None:
            y = y + self.self_connection(x, species)
        return self.gate(y)


def _hidden_irreps(channels: int, lmax: int, parity: bool) -> Irreps:
    terms = []
    for l in range(lmax + 1):  # noqa: E741
        natural = (-1) ** l
        terms.append((channels, Irrep(l, natural)))
        if parity:
            terms.append((channels, Irrep(l, -natural)))
    return Irreps(terms)


class Potential(EquivariantModule):
    """Interatomic potential: energy, forces and stress (see the module docstring).

    Parameters
    ----------
    species : sequence of int
        Atomic numbers the model knows, in the order of the species indices it takes
        (``(29, 79)``: index 0 is copper, 1 is gold).
    r_max : float
        Cutoff radius (Angstrom).
    channels : int
        Multiplicity ``C`` of every irrep of the hidden features.
    lmax : int
        Highest degree of the features and of the edge spherical harmonics.
    layers : int
        Interaction blocks (at least 1).
    parity : bool
        Also carry the odd-parity copies (``0o + 1e + 2o + ...``).
    radial : {"mlp", "spline"}
        Per-edge weights from an MLP on the Bessel embedding, or from cubic splines.
    num_basis : int
        Bessel functions (or spline coefficients).
    radial_hidden : sequence of int
        Hidden widths of the radial MLPs.
    avg_num_neighbors : float
        Sums over neighbours are divided by its square root.
    atomic_energies : sequence of float, optional
        Energy shift per species (eV); zeros by default.
    energy_scale : float
        Scale of the per-atom read-out (eV).

    Shapes: ``forward(species (N,), pos (N, 3), batch (N,), cell (B, 3, 3), pbc)`` ->
    ``(energy (B, 1), forces (N, 3))``.
    """

    def __init__(
        self,
        species: Sequence[int] = (1, 6, 7, 8, 9),
        r_max: float = 5.0,
        channels: int = 8,
        lmax: int = 2,
        layers: int = 2,
        parity: bool = False,
        radial: str = "mlp",
        num_basis: int = 8,
        radial_hidden: Sequence[int] = (32,),
        avg_num_neighbors: float = 10.0,
        atomic_energies: Sequence[float] | None = None,
        energy_scale: float = 1.0,
    ):
        super().__init__()
        self.species = tuple(int(z) for z in species)
        if not self.species or len(set(self.species)) != len(self.species):
            raise ValueError(f"species must be distinct atomic numbers, got {species!r}")
        if radial not in RADIAL:
            raise ValueError(f"radial must be one of {RADIAL}, got {radial!r}")
        for name, value in (("channels", channels), ("layers", layers), ("num_basis", num_basis)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        if isinstance(lmax, bool) or not isinstance(lmax, int) or lmax < 0:
            raise ValueError(f"lmax must be an integer >= 0, got {lmax!r}")
        if not (math.isfinite(r_max) and r_max > 0):
            raise ValueError(f"r_max must be a positive number, got {r_max!r}")
        if not (math.isfinite(avg_num_neighbors) and avg_num_neighbors > 0):
            raise ValueError(f"avg_num_neighbors must be > 0, got {avg_num_neighbors!r}")
        shifts = [0.0] * len(self.species) if atomic_energies is None else list(atomic_energies)
        if len(shifts) != len(self.species):
            raise ValueError(
                f"atomic_energies needs one value per species ({len(self.species)}), "
                f"got {len(shifts)}"
            )
        self.r_max, self.lmax, self.num_layers = float(r_max), lmax, layers
        num_species = len(self.species)
        self.irreps_sh = Irreps.spherical_harmonics(lmax)
        hidden = _hidden_irreps(channels, lmax, parity)
        scalars = Irreps([(channels, Irrep(0, 1))])
        # one column per species, drawn from N(0, 1): unit-variance scalars to start from
        self.embedding = nn.Linear(num_species, channels, bias=False)
        nn.init.normal_(self.embedding.weight)
        self.basis = BesselBasis(r_max, num_basis)
        self.cutoff = PolynomialCutoff(r_max)
        self.blocks = nn.ModuleList()
        irreps = scalars
        for k in range(layers):
            block = Interaction(
                irreps,
                self.irreps_sh,
                hidden if k + 1 < layers else scalars,
                num_species,
                radial,
                num_basis,
                tuple(radial_hidden),
                r_max,
                avg_num_neighbors,
                self_connection=k > 0,
            )
            self.blocks.append(block)
            irreps = block.irreps_out
        self.readout = Linear(irreps, "1x0e", bias=False)
        self.register_buffer("atomic_energies", torch.tensor(shifts, dtype=torch.float64))
        self.register_buffer("energy_scale", torch.tensor(float(energy_scale), dtype=torch.float64))
        # atomic numbers -> species index (-1 for unknown elements)
        table = torch.full((max(self.species) + 1,), -1, dtype=torch.long)
        table[list(self.species)] = torch.arange(num_species)
        self.register_buffer("_index_of_number", table, persistent=False)
        group = atoms_group()
        vectors = euclidean(E(3), standard(O3()))
        self.in_type = (
            NodeField(group, channels=None, integer=True),
            PositionField(group),
        )
        self.out_type = (GraphField(group, channels=1), NodeField(group, fiber=vectors))

    # -- inputs -----------------------------------------------------------------------------

    def species_index(self, numbers: Tensor) -> Tensor:
        """Atomic numbers ``(N,)`` -> species indices; ``ValueError`` naming any element the
        model does not know."""
        numbers = numbers.to(self._index_of_number.device).long()
        known = (numbers >= 0) & (numbers < self._index_of_number.shape[0])
        index = torch.where(known, self._index_of_number[numbers.clamp(0)], -1)
        if bool((index < 0).any()):
            unknown = sorted(set(numbers[index < 0].tolist()))
            raise ValueError(
                f"the potential knows atomic numbers {list(self.species)}, got {unknown}"
            )
        return index

    def _check_inputs(self, species: Tensor, pos: Tensor, batch: Tensor | None) -> None:
        if species.dim() != 1 or species.is_floating_point():
            raise ValueError(f"species must be (N,) integers, got {tuple(species.shape)}")
        if pos.dim() != 2 or pos.shape != (species.shape[0], 3):
            raise ValueError(
                f"pos must be ({species.shape[0]}, 3) for {species.shape[0]} atoms, got "
                f"{tuple(pos.shape)}"
            )
        if species.numel() and (int(species.min()) < 0 or int(species.max()) >= len(self.species)):
            raise ValueError(
                f"species indices must lie in [0, {len(self.species)}) (the model's species "
                f"{list(self.species)}), got values in [{int(species.min())}, "
                f"{int(species.max())}]"
            )
        if batch is not None and batch.shape != species.shape:
            raise ValueError(f"batch must be ({species.shape[0]},), got {tuple(batch.shape)}")
        weight = self.embedding.weight
        if pos.dtype != weight.dtype or pos.device != weight.device:
            raise ValueError(
                f"Potential holds {str(weight.dtype).removeprefix('torch.')} weights on "
                f"{weight.device} but pos is {str(pos.dtype).removeprefix('torch.')} on "
                f"{pos.device}; convert one of them (model.double(), pos.to(...))"
            )

    # -- the energy -------------------------------------------------------------------------

    def atomic_energy(self, species: Tensor, vectors: Tensor, edge_index: Tensor) -> Tensor:
        """Energy of every atom ``(N,)`` from its edges: ``vectors (E, 3)`` (target minus
        source image) along ``edge_index (2, E)``."""
        lengths = vectors.norm(dim=-1)
        sh = spherical_harmonics(self.irreps_sh, vectors, True, "component")
        radial_input = self.basis(lengths) * self.cutoff(lengths)
        onehot = F.one_hot(species, len(self.species)).to(vectors.dtype)
        x = self.embedding(onehot)
        for block in self.blocks:
            r_in = radial_input if block.radial_kind == "mlp" else lengths
            x = block(x, species, sh, r_in, edge_index)
        out = self.readout(x).squeeze(-1)
        shifts = self.atomic_energies.to(out.dtype)[species]
        return self.energy_scale.to(out.dtype) * out + shifts

    def neighbours(
        self,
        pos: Tensor,
        batch: Tensor | None = None,
        cell: Tensor | None = None,
        pbc: Tensor | bool | None = None,
    ) -> tuple[Tensor, Tensor | None]:
        """``(edge_index, shifts or None)`` within ``r_max`` (periodic when ``cell`` is given
        and some direction of ``pbc`` repeats)."""
        periodic = cell is not None and pbc is not None and bool(torch.as_tensor(pbc).any())
        if periodic:
            return periodic_radius_graph(pos, self.r_max, cell, pbc, batch)
        return radius_graph(pos, self.r_max, batch), None

    def compute(
        self,
        species: Tensor,
        pos: Tensor,
        batch: Tensor | None = None,
        cell: Tensor | None = None,
        pbc: Tensor | bool | None = None,
        *,
        forces: bool = True,
        stress: bool = False,
        create_graph: bool | None = None,
        neighbours: tuple[Tensor, Tensor | None] | None = None,
    ) -> dict[str, Tensor]:
        """Energy per structure and, by autograd, forces and stress.

        Parameters
        ----------
        species : Tensor
            ``(N,)`` species indices.
        pos : Tensor
            ``(N, 3)`` Angstrom.
        batch : Tensor, optional
            ``(N,)`` structure ids (one structure when None).
        cell : Tensor, optional
            ``(3, 3)`` or ``(B, 3, 3)`` lattice vectors as rows.
        pbc : bool or Tensor, optional
            Periodic directions (``(3,)`` or ``(B, 3)``).
        forces, stress : bool
            Which derivatives to compute (stress needs a cell).
        create_graph : bool, optional
            Keep the graph of the derivatives (to train on forces); default: in training mode.
        neighbours : (edge_index, shifts), optional
            A precomputed neighbour list (from :meth:`neighbours`).

        Returns
        -------
        dict
            ``energy (B,)``, ``atomic_energies (N,)``, and ``forces (N, 3)`` (eV/Angstrom),
            ``stress (B, 3, 3)`` (eV/Angstrom^3, ASE's sign: ``(1/V) dE/d strain``) when asked.
        """
        self._check_inputs(species, pos, batch)
        if stress and cell is None:
            raise ValueError("stress needs the cell: pass cell (and pbc)")
        create_graph = self.training if create_graph is None else create_graph
        n = pos.shape[0]
        b = num_graphs(batch)
        index = batch_or_zeros(batch, n, pos.device)
        cells = None
        if cell is not None:
            cells = cell.to(pos.dtype)
            if cells.dim() == 2:
                cells = cells.expand(max(b, 1), 3, 3)
        with torch.enable_grad():
            leaf_pos = pos if pos.requires_grad else pos.detach().requires_grad_(True)
            inputs = [leaf_pos]
            work_pos, work_cells = leaf_pos, cells
            if stress:
                strain = torch.zeros(b, 3, 3, dtype=pos.dtype, device=pos.device)
                strain.requires_grad_(True)
                inputs.append(strain)
                work_pos = leaf_pos + torch.einsum("nd,nde->ne", leaf_pos, strain[index])
                work_cells = cells + torch.bmm(cells, strain)
            if neighbours is None:
                neighbours = self.neighbours(pos.detach(), batch, cells, pbc)
            edge_index, shifts = neighbours
            vectors = edge_vectors(work_pos, edge_index, shifts, work_cells, batch)
            atomic = self.atomic_energy(species, vectors, edge_index)
            energy = atomic.new_zeros(max(b, 0)).index_add(0, index, atomic)
            out = {"energy": energy, "atomic_energies": atomic}
            if forces or stress:
                if atomic.requires_grad:
                    grads = torch.autograd.grad(
                        energy.sum(), inputs, create_graph=create_graph, allow_unused=True
                    )
                    grads = [torch.zeros_like(t) if g is None else g for g, t in zip(grads, inputs)]
                else:  # no parameters and no edges that need gradients: a constant energy
                    grads = [torch.zeros_like(t) for t in inputs]
                if forces:
                    out["forces"] = -grads[0]
                if stress:
                    volume = torch.linalg.det(cells).abs()
                    virial = grads[1]
                    out["stress"] = 0.5 * (virial + virial.transpose(1, 2)) / volume.view(-1, 1, 1)
        if not create_graph:
            out = {k: v.detach() for k, v in out.items()}
        return out

    def forward(
        self,
        species: Tensor,
        pos: Tensor,
        batch: Tensor | None = None,
        cell: Tensor | None = None,
        pbc: Tensor | bool | None = None,
    ) -> tuple[Tensor, Tensor]:
        """``(energy (B, 1), forces (N, 3))``; see :meth:`compute`."""
        out = self.compute(species, pos, batch, cell, pbc)
        return out["energy"].unsqueeze(-1), out["forces"]

    def extra_repr(self) -> str:
        return (
            f"species={list(self.species)}, r_max={self.r_max}, lmax={self.lmax}, "
            f"layers={self.num_layers}"
        )


__all__ = ["ATOMS", "RADIAL", "Interaction", "Potential", "SpeciesLinear", "atoms_group"]
