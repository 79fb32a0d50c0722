"""Charged-particle n-body data (the EGNN protocol, after the NRI simulator of Kipf et al.),
simulated with vectorised numpy, seeded and cached.

Each system: 5 particles with charges +1 or -1 (probability 1/2 each), initial positions
N(0, 1) per axis, initial velocities of norm 0.5 in uniformly random directions. Pairwise
Coulomb-like forces ``F_i = sum_j q_i q_j (x_i - x_j) / r_ij^3`` (like charges repel), each
component clipped to +-100; unit masses; symplectic Euler (``v += F dt; x += v dt``) with
``dt = 0.001``, no walls. The trajectory is sampled every 100 steps; the input is frame 30
(step 3,000: positions, velocities, charges), the target the positions at frame 40 (step
4,000). Splits: the first 3,000 of 10,000 training systems / 2,000 validation / 2,000 test,
each split from its own seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from .cache import cached_arrays

#: bump when the generator changes, so cached files are regenerated
VERSION = 1


@dataclass(frozen=True)
class ChargedConfig:
    """Simulation constants of the protocol."""

    particles: int = 5
    dt: float = 0.001
    sample_every: int = 100
    input_frame: int = 30
    target_frame: int = 40
    speed: float = 0.5
    position_std: float = 1.0
    force_clip: float = 100.0


@dataclass
class ChargedData:
    """A set of systems, float32 tensors.

    Attributes
    ----------
    charges : Tensor
        ``(samples, particles, 1)``, +1 or -1.
    positions, velocities : Tensor
        At the input frame, ``(samples, particles, 3)``.
    targets : Tensor
        Positions at the target frame, ``(samples, particles, 3)``.
    """

    charges: Tensor
    positions: Tensor
    velocities: Tensor
    targets: Tensor

    def __len__(self) -> int:
        return self.charges.shape[0]

    def tensors(self) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """``(charges, positions, velocities, targets)``: the n-body tasks' layout (the
        charges in the place of the masses)."""
        return self.charges, self.positions, self.velocities, self.targets

    def graphs(self, index: int | None = None):
        """The systems as torch_geometric ``Data`` objects (all, or one): ``x`` the speed
        ``(5, 1)``, ``pos``, ``vel``, ``charges``, ``y`` the target positions, ``edge_index``
        the complete graph and ``edge_attr`` the product of charges and the squared
        distance ``(20, 2)``: the inputs of the EGNN paper. Needs ``erlangen[graph]``."""
        from .graphs import charged_graph

        rows = range(len(self)) if index is None else [index]
        out = [
            charged_graph(self.charges[i], self.positions[i], self.velocities[i], self.targets[i])
            for i in rows
        ]
        return out if index is None else out[0]


def forces(charges: np.ndarray, x: np.ndarray, clip: float = 100.0) -> np.ndarray:
    """``(S, N, 3)`` forces ``sum_j q_i q_j (x_i - x_j) / r^3``, components clipped to
    ``+-clip``, for charges ``(S, N)`` and positions ``(S, N, 3)``."""
    d = x[:, :, None, :] - x[:, None, :, :]  # d[s, i, j] = x_i - x_j
    r2 = (d * d).sum(-1)
    idx = np.arange(x.shape[1])
    r2[:, idx, idx] = 1.0
    inv_r3 = r2**-1.5
    inv_r3[:, idx, idx] = 0.0
    qq = charges[:, :, None] * charges[:, None, :]
    f = (d * (qq * inv_r3)[..., None]).sum(2)
    return np.clip(f, -clip, clip)


def simulate(
    charges: np.ndarray, x: np.ndarray, v: np.ndarray, steps: int, config: ChargedConfig
) -> tuple[np.ndarray, np.ndarray, dict[int, tuple[np.ndarray, np.ndarray]]]:
    """Symplectic Euler for ``steps`` steps; returns the final ``(x, v)`` and the states at
    the input and target frames (``{step: (x, v)}``)."""
    keep = {config.input_frame * config.sample_every, config.target_frame * config.sample_every}
    saved = {}
    for step in range(1, steps + 1):
        v = v + config.dt * forces(charges, x, config.force_clip)
        x = x + config.dt * v
        if step in keep:
            saved[step] = (x.copy(), v.copy())
    return x, v, saved


def initial_state(seed: int, index: int, config: ChargedConfig = ChargedConfig()):
    """Charges ``(N,)``, positions and velocities ``(N, 3)`` of system ``index``, from its own
    random stream (so a system does not depend on how many are drawn)."""
    rng = np.random.default_rng([seed, index])
    n = config.particles
    charges = rng.choice([-1.0, 1.0], size=n)
    x = rng.normal(scale=config.position_std, size=(n, 3))
    direction = rng.normal(size=(n, 3))
    v = config.speed * direction / np.linalg.norm(direction, axis=-1, keepdims=True)
    return charges, x, v


def generate(
    num_samples: int, seed: int = 0, start: int = 0, config: ChargedConfig = ChargedConfig()
) -> dict[str, np.ndarray]:
    """Simulate systems ``start .. start + num_samples - 1`` up to the target frame (float64
    numpy arrays, all systems stepped together).

    Returns
    -------
    dict
        ``charges (S, N, 1)``, ``positions``, ``velocities``, ``targets`` ``(S, N, 3)``.
    """
    c = config
    states = [initial_state(seed, start + i, c) for i in range(num_samples)]
    charges, x, v = (np.stack(parts) for parts in zip(*states))
    steps = c.target_frame * c.sample_every
    _, _, saved = simulate(charges, x, v, steps, c)
    x_in, v_in = saved[c.input_frame * c.sample_every]
    x_out, _ = saved[steps]
    return {"charges": charges[..., None], "positions": x_in, "velocities": v_in, "targets": x_out}


#: (systems, seed offset) per split. The paper generates 10,000 training systems and uses the
#: first 3,000; systems are independent, so generating 3,000 is the same distribution
SPLITS = {"train": (3_000, 0), "val": (2_000, 1), "test": (2_000, 2)}
#: systems simulated together
CHUNK = 500


def charged_nbody(
    split: str = "train", num_samples: int | None = None, seed: int = 0, cache: bool = True
) -> ChargedData:
    """One split of the charged-particle n-body data, generated once and cached on disk.

    Parameters
    ----------
    split : str
        ``"train"`` (3,000), ``"val"`` or ``"test"`` (2,000 each).
    num_samples : int, optional
        Generate only the first ``num_samples`` systems of the split (each system has its
        own random stream, so they are the same systems as in the full split).
    seed : int
        Base seed; splits derive their own.
    cache : bool
        Read/write the disk cache.

    Returns
    -------
    ChargedData
    """
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose from {', '.join(SPLITS)}")
    used, offset = SPLITS[split]
    n = used if num_samples is None else int(num_samples)
    if not 0 < n <= used:
        raise ValueError(f"num_samples must be in [1, {used}] for {split!r}, got {n}")
    split_seed = 1000 * seed + offset

    def build():
        # chunks bound the memory of the vectorised simulation
        parts = [
            generate(min(CHUNK, n - start), seed=split_seed, start=start)
            for start in range(0, n, CHUNK)
        ]
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}

    arrays = cached_arrays(f"charged-{split}-{n}", VERSION, split_seed, build) if cache else build()

    def t(a):
        return torch.from_numpy(np.ascontiguousarray(a)).float()

    return ChargedData(
        t(arrays["charges"]), t(arrays["positions"]), t(arrays["velocities"]), t(arrays["targets"])
    )
