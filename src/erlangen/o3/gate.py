"""The gate nonlinearity: activations on scalars, and every higher irrep scaled by an activated
scalar gate (Weiler et al., 2018; e3nn's ``Gate``).

Input layout: ``scalars + gates + gated`` (one ``0e``/``0o`` gate per gated irrep, counted
with multiplicity); output: ``act(scalars) + act_gates(gates)_i * gated_i``. A nonlinearity
may only touch invariants: applying it to the components of a vector directly breaks
equivariance (the tests show the checker catches that).

Parity: odd scalars and odd gates (``0o``) go through ``act_odd`` (``tanh`` by default), which
must be odd (the output stays ``0o``) or even (``abs``, ``x^2``: the output becomes ``0e``);
anything else is refused. An odd gate flips the parity of what it gates.

>>> import torch
>>> from erlangen.o3 import Gate
>>> gate = Gate("4x0e", "2x0e", "2x1o")
>>> gate.irreps_in, gate.irreps_out
(4x0e+2x0e+2x1o, 4x0e+2x1o)
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from ..fields import IrrepsField
from ..groups.irreps import Irrep, Irreps
from ..nn import EquivariantModule


def activation_parity(act: Callable[[Tensor], Tensor]) -> int:
    """+1 for an even function, -1 for an odd one, 0 for neither (tested on a few points)."""
    x = torch.linspace(0.1, 3.0, 17, dtype=torch.float64)
    a, b = act(x), act(-x)
    if torch.allclose(a, b, atol=1e-9, rtol=0):
        return 1
    if torch.allclose(a, -b, atol=1e-9, rtol=0):
        return -1
    return 0


def _odd_activation_parity(act: Callable[[Tensor], Tensor]) -> int:
    parity = activation_parity(act)
    if parity == 0:
        name = getattr(act, "__name__", repr(act))
        raise ValueError(
            f"odd scalars and gates need an odd or even act_odd, {name} is neither "
            "(torch.tanh is odd, torch.abs even)"
        )
    return parity


class Gate(EquivariantModule):
    """Gate nonlinearity on ``scalars + gates + gated``.

    Parameters
    ----------
    irreps_scalars : Irreps or str
        ``l = 0`` terms passed through ``act``.
    irreps_gates : Irreps or str
        ``l = 0`` terms, as many irreps (with multiplicity) as ``irreps_gated``.
    irreps_gated : Irreps or str
        Terms of any degree, each scaled by its activated gate.
    act : callable
        Activation of the scalars (SiLU by default).
    act_gates : callable
        Activation of the even gates (sigmoid by default).
    act_odd : callable
        Activation of odd scalars and odd gates (``tanh`` by default): odd or even.

    Shapes: ``(..., irreps_in.dim) -> (..., irreps_out.dim)`` with ``irreps_in = scalars +
    gates + gated``.
    """

    def __init__(
        self,
        irreps_scalars,
        irreps_gates,
        irreps_gated,
        act: Callable[[Tensor], Tensor] = F.silu,
        act_gates: Callable[[Tensor], Tensor] = torch.sigmoid,
        act_odd: Callable[[Tensor], Tensor] = torch.tanh,
    ):
        super().__init__()
        self.irreps_scalars = Irreps(irreps_scalars)
        self.irreps_gates = Irreps(irreps_gates)
        self.irreps_gated = Irreps(irreps_gated)
        for name, irreps in (
            ("irreps_scalars", self.irreps_scalars),
            ("irreps_gates", self.irreps_gates),
        ):
            if any(ir.l != 0 for _, ir in irreps):
                raise ValueError(f"{name} must hold scalars (l = 0) only, got {irreps}")
        if self.irreps_gates.num_irreps != self.irreps_gated.num_irreps:
            raise ValueError(
                f"one gate per gated irrep: {self.irreps_gates.num_irreps} gates "
                f"({self.irreps_gates}) for {self.irreps_gated.num_irreps} gated irreps "
                f"({self.irreps_gated})"
            )
        self.act, self.act_gates, self.act_odd = act, act_gates, act_odd
        odd_parity = (
            -1 if any(ir.p == -1 for _, ir in self.irreps_scalars + self.irreps_gates) else 1
        )
        if odd_parity == -1:
            odd_parity = _odd_activation_parity(act_odd)
        scalars_out = Irreps(
            [(mul, Irrep(0, 1 if ir.p == 1 else odd_parity)) for mul, ir in self.irreps_scalars]
        )
        gate_parities = [
            1 if ir.p == 1 else odd_parity for mul, ir in self.irreps_gates for _ in range(mul)
        ]
        gated_out, k = [], 0
        for mul, ir in self.irreps_gated:
            for _ in range(mul):
                gated_out.append((1, Irrep(ir.l, ir.p * gate_parities[k])))
                k += 1
        self.irreps_in = self.irreps_scalars + self.irreps_gates + self.irreps_gated
        self.irreps_out = (scalars_out + Irreps(gated_out)).simplify()
        self.n_scalars, self.n_gates = self.irreps_scalars.dim, self.irreps_gates.dim
        odd = [
            ir.p == -1 for mul, ir in self.irreps_scalars + self.irreps_gates for _ in range(mul)
        ]
        self.register_buffer("odd", torch.tensor(odd, dtype=torch.bool), persistent=False)
        self.any_odd = any(odd)
        # each gate's index repeated over the 2l + 1 components of its gated irrep
        index = []
        for k, l in enumerate(self.irreps_gated.ls):  # noqa: E741
            index += [k] * (2 * l + 1)
        self.register_buffer("gate_index", torch.tensor(index, dtype=torch.long), persistent=False)
        self.in_type = IrrepsField(self.irreps_in)
        self.out_type = IrrepsField(self.irreps_out)

    def forward(self, x: Tensor) -> Tensor:
        """``(..., irreps_in.dim) -> (..., irreps_out.dim)``."""
        self.validate_inputs(x)
        s, g = self.n_scalars, self.n_gates
        head = x[..., : s + g]
        even = torch.cat([self.act(head[..., :s]), self.act_gates(head[..., s:])], -1)
        if self.any_odd:
            even = torch.where(self.odd, self.act_odd(head), even)
        scalars, gates = even[..., :s], even[..., s:]
        gated = x[..., s + g :] * gates.index_select(-1, self.gate_index)
        return torch.cat([scalars, gated], -1)

    def extra_repr(self) -> str:
        return f"{self.irreps_in} -> {self.irreps_out}"


__all__ = ["Gate", "activation_parity"]
