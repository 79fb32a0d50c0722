"""Gravitational n-body data (the GATr protocol), simulated with numpy, seeded and cached.

One star (mass log-uniform in [1, 10], at rest at the origin) and ``bodies - 1`` planets (mass
log-uniform in [0.01, 0.1]) placed uniformly (by area) in the annulus 0.1 <= r <= 1 of the
x-y plane, on circular orbits around the star (speed ``sqrt(M / r)``, random sense per
planet) plus N(0, 0.01^2) velocity noise. Each system is then rotated (Haar), translated
(N(0, 20^2) per axis) and its bodies permuted. Newtonian gravity with G = 1 is integrated by
100 semi-implicit Euler steps (``v += a dt; x += v dt``) over a total time of 0.1; systems in
which any body moves farther than 2 are dropped (1.1x candidates are drawn, then the first
``num_samples`` kept). Inputs: masses, initial positions and velocities; target: final
positions.

Test sets: in-distribution; the same systems translated by +200 along x (E(3)
generalisation); and systems of 6 bodies (object generalisation).
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
class NBodyConfig:
    """Simulation constants of the protocol."""

    time: float = 0.1
    steps: int = 100
    star_mass: tuple[float, float] = (1.0, 10.0)
    planet_mass: tuple[float, float] = (0.01, 0.1)
    radius: tuple[float, float] = (0.1, 1.0)
    velocity_noise: float = 0.01
    translation_std: float = 20.0
    outlier_threshold: float = 2.0
    oversample: float = 1.1


@dataclass
class NBodyData:
    """A set of systems, float32 tensors.

    Attributes
    ----------
    masses : Tensor
        ``(samples, bodies, 1)``.
    positions, velocities : Tensor
        Initial state, ``(samples, bodies, 3)``.
    targets : Tensor
        Final positions, ``(samples, bodies, 3)``.
    """

    masses: Tensor
    positions: Tensor
    velocities: Tensor
    targets: Tensor

    def __len__(self) -> int:
        return self.masses.shape[0]

    def tensors(self) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """``(masses, positions, velocities, targets)`` for a ``TensorDataset``."""
        return self.masses, self.positions, self.velocities, self.targets

    def dataset(self) -> torch.utils.data.TensorDataset:
        return torch.utils.data.TensorDataset(*self.tensors())


def _log_uniform(rng: np.random.Generator, low: float, high: float, size) -> np.ndarray:
    return np.exp(rng.uniform(np.log(low), np.log(high), size=size))


def _haar_rotations(rng: np.random.Generator, n: int) -> np.ndarray:
    q, r = np.linalg.qr(rng.standard_normal((n, 3, 3)))
    q = q * np.sign(np.diagonal(r, axis1=-2, axis2=-1))[:, None, :]
    q[:, :, 0] *= np.sign(np.linalg.det(q))[:, None]  # proper rotations, still Haar
    return q


def accelerations(masses: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Newtonian accelerations ``(S, N, 3)`` with G = 1 for masses ``(S, N)``, positions
    ``(S, N, 3)``."""
    d = x[:, None, :, :] - x[:, :, None, :]  # d[s, i, j] = x_j - x_i
    r2 = (d * d).sum(-1)
    idx = np.arange(x.shape[1])
    r2[:, idx, idx] = 1.0
    inv_r3 = r2**-1.5
    inv_r3[:, idx, idx] = 0.0
    return (d * (masses[:, None, :] * inv_r3)[..., None]).sum(2)


def simulate(
    masses: np.ndarray, x: np.ndarray, v: np.ndarray, time: float = 0.1, steps: int = 100
) -> tuple[np.ndarray, np.ndarray]:
    """Semi-implicit Euler: ``steps`` times ``v += a dt; x += v dt``. Returns final ``(x, v)``."""
    dt = time / steps
    for _ in range(steps):
        v = v + dt * accelerations(masses, x)
        x = x + dt * v
    return x, v


def energy(masses: np.ndarray, x: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Total energy ``(S,)``: kinetic plus pairwise gravitational potential (G = 1)."""
    kinetic = 0.5 * (masses * (v * v).sum(-1)).sum(-1)
    d = np.linalg.norm(x[:, None] - x[:, :, None], axis=-1)
    iu = np.triu_indices(x.shape[1], 1)
    mm = masses[:, :, None] * masses[:, None, :]
    return kinetic - (mm[:, iu[0], iu[1]] / d[:, iu[0], iu[1]]).sum(-1)


def generate(
    num_samples: int,
    bodies: int = 4,
    seed: int = 0,
    shift: float = 0.0,
    config: NBodyConfig = NBodyConfig(),
) -> dict[str, np.ndarray]:
    """Simulate ``num_samples`` systems (float64 numpy arrays, uncached).

    Parameters
    ----------
    num_samples : int
    bodies : int
        One star plus ``bodies - 1`` planets.
    seed : int
        Everything (masses, orbits, frames, permutations) is drawn from this seed, so two calls
        that differ only in ``shift`` describe the same systems.
    shift : float
        Extra translation along x, applied before simulating (the E(3) test set uses 200).

    Returns
    -------
    dict
        ``masses (S, N, 1)``, ``positions``, ``velocities``, ``targets`` ``(S, N, 3)`` and
        ``max_displacement (S,)``.
    """
    if bodies < 2:
        raise ValueError(f"an n-body system needs a star and at least one planet, got {bodies}")
    c = config
    rng = np.random.default_rng(seed)
    m = round(c.oversample * num_samples) + 8
    planets = bodies - 1
    star = _log_uniform(rng, *c.star_mass, size=(m, 1))
    masses = np.concatenate([star, _log_uniform(rng, *c.planet_mass, size=(m, planets))], 1)
    r = np.sqrt(rng.uniform(c.radius[0] ** 2, c.radius[1] ** 2, size=(m, planets)))
    phi = rng.uniform(0, 2 * np.pi, size=(m, planets))
    pos = np.stack([r * np.cos(phi), r * np.sin(phi), np.zeros_like(r)], -1)
    sense = rng.choice([-1.0, 1.0], size=(m, planets))
    speed = np.sqrt(star / r) * sense
    vel = np.stack([-np.sin(phi) * speed, np.cos(phi) * speed, np.zeros_like(r)], -1)
    vel = vel + rng.normal(scale=c.velocity_noise, size=vel.shape)
    x = np.concatenate([np.zeros((m, 1, 3)), pos], 1)
    v = np.concatenate([np.zeros((m, 1, 3)), vel], 1)
    # random frame and order
    perm = np.argsort(rng.random((m, bodies)), axis=1)
    masses = np.take_along_axis(masses, perm, 1)
    x = np.take_along_axis(x, perm[..., None], 1)
    v = np.take_along_axis(v, perm[..., None], 1)
    R = _haar_rotations(rng, m)
    x = np.einsum("sij,snj->sni", R, x)
    v = np.einsum("sij,snj->sni", R, v)
    x = x + rng.normal(scale=c.translation_std, size=(m, 1, 3))
    x = x + np.array([shift, 0.0, 0.0])
    final, _ = simulate(masses, x, v, c.time, c.steps)
    disp = np.linalg.norm(final - x, axis=-1).max(-1)
    keep = np.flatnonzero(disp <= c.outlier_threshold)[:num_samples]
    if keep.size < num_samples:
        raise RuntimeError(
            f"only {keep.size} of {m} candidate systems passed the outlier filter; "
            f"{num_samples} were requested"
        )
    return {
        "masses": masses[keep, :, None],
        "positions": x[keep],
        "velocities": v[keep],
        "targets": final[keep],
        "max_displacement": disp[keep],
    }


def _to_data(arrays: dict[str, np.ndarray]) -> NBodyData:
    def t(a):
        return torch.from_numpy(np.ascontiguousarray(a)).float()

    return NBodyData(
        t(arrays["masses"]), t(arrays["positions"]), t(arrays["velocities"]), t(arrays["targets"])
    )


def nbody(
    split: str = "train",
    num_samples: int | None = None,
    seed: int = 0,
    cache: bool = True,
) -> NBodyData:
    """One split of the n-body benchmark, generated once and cached on disk.

    Parameters
    ----------
    split : str
        ``"train"`` (100k by default), ``"val"``, ``"test"`` (5k each, 4 bodies), ``"test-shifted"``
        (the test systems translated by +200 along x), ``"test-6"`` (5k systems of 6 bodies).
    num_samples : int, optional
        Override the split's size (the first ``num_samples`` of a larger draw are *not* the
        same systems: the draw depends on the size).
    seed : int
        Base seed; each split derives its own (train, val and test never share systems, and
        ``test-shifted`` shares the systems of ``test``).
    cache : bool
        Read/write the disk cache (:func:`erlangen.data.cached_arrays`).

    Returns
    -------
    NBodyData
        float32 tensors.
    """
    specs = {
        "train": (100_000, 4, 0, 0.0),
        "val": (5_000, 4, 1, 0.0),
        "test": (5_000, 4, 2, 0.0),
        "test-shifted": (5_000, 4, 2, 200.0),
        "test-6": (5_000, 6, 3, 0.0),
    }
    if split not in specs:
        raise ValueError(f"unknown n-body split {split!r}; choose from {', '.join(specs)}")
    default_n, bodies, offset, shift = specs[split]
    n = default_n if num_samples is None else int(num_samples)
    split_seed = 1000 * seed + offset

    def build():
        return generate(n, bodies=bodies, seed=split_seed, shift=shift)

    if not cache:
        return _to_data(build())
    name = f"nbody-{split}-{n}"
    return _to_data(cached_arrays(name, VERSION, split_seed, build))
