"""The basis solver on an infinite group that is not a Lie group in erlangen's sense."""

import math

import torch

from erlangen.groups import Group, Representation, equivariant_basis, rotation_2d


class Angles(Group):
    """SO(2) with elements stored as turns ``(1,)`` (1 = a full turn), deliberately without a
    Lie algebra, and with a quarter turn (exact in any float dtype) as its only notable element:
    it generates C4, not SO(2)."""

    element_shape = (1,)

    @property
    def name(self):
        return "Angles"

    def identity(self, dtype=None, device=None):
        return torch.zeros(1, dtype=self._element_dtype(dtype), device=device)

    def compose(self, a, b):
        return a + b

    def inverse(self, a):
        return -a

    def sample(self, n, generator=None, dtype=None, device=None):
        theta = torch.rand(n, 1, generator=generator, dtype=torch.float64)
        return theta.to(self._element_dtype(dtype))

    def generators(self, dtype=None, device=None):
        return torch.full((1, 1), 0.25, dtype=self._element_dtype(dtype), device=device)


class Frequency(Representation):
    def __init__(self, group, k):
        self.k = k
        super().__init__(group, 2, f"freq{k}")

    def _matrix(self, g, dtype):
        return rotation_2d(2 * math.pi * self.k * g[..., 0].to(dtype))


def test_solver_uses_random_elements_for_infinite_non_lie_groups():
    G = Angles()
    # under C4 (the quarter turn alone) frequencies 1 and 3 are equivalent: 2 maps; under the
    # whole circle they are not: 0 maps. Frequency 1 to itself: a I + b J.
    assert equivariant_basis(Frequency(G, 1), Frequency(G, 3)).shape[0] == 0
    assert equivariant_basis(Frequency(G, 1), Frequency(G, 1)).shape[0] == 2
