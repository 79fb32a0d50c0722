"""Reading what a learned group convolution learned: numbers, plots and a sentence per layer.

For one action ``A`` (a ``k^2 x k^2`` matrix on vectorised ``k x k`` filters, see
:mod:`erlangen.grid.learned`) of order ``n``:

- how group-like it is: ``||A^n - I||_F``, its condition number, its eigenvalues against the
  ``n``-th roots of unity (an element of order ``n`` has all its eigenvalues there);
- what it resembles: the relative distance ``||A - M||_F / ||M||_F`` to known actions ``M`` on
  the ``k x k`` grid - rotations by every angle on a fine grid (interpolated, so "closest to a
  rotation by 87 degrees" is a possible answer), the four mirrors, circular shifts by one
  pixel, and pooling-like averaging (pool-and-upsample, a 3x3 box blur);
- what it does: its powers applied to a test patch, and to a layer's filters.

:func:`describe_action` gives the numbers (JSON-ready) and a sentence; :func:`inspect_action`
also writes PNGs (matplotlib's Agg canvas, no pyplot state) and a JSON file;
:func:`inspect_model` does it for every learned layer of a model and writes ``summary.txt``
and ``summary.json``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .learned import (
    blur_action,
    cyclic_residual,
    flip_action,
    learned_layers,
    matrix_powers,
    pooling_action,
    rotation_action,
    shift_action,
)

_FLIP_LABELS = {
    "ud": "a flip up-down",
    "lr": "a flip left-right",
    "transpose": "the mirror in the main diagonal",
    "antitranspose": "the mirror in the anti-diagonal",
}
_SHIFTS = {
    "up": (-1, 0),
    "down": (1, 0),
    "left": (0, -1),
    "right": (0, 1),
}


@dataclass(frozen=True)
class KnownAction:
    """A reference action on ``k x k`` filters.

    Attributes
    ----------
    family : str
        ``"rotation"``, ``"flip"``, ``"shift"`` or ``"pooling"``.
    label : str
        A phrase that follows "closest to", e.g. ``"a rotation by 87 degrees"``.
    matrix : Tensor
        ``(k^2, k^2)`` float64.
    angle : float or None
        Degrees, for rotations.
    """

    family: str
    label: str
    matrix: Tensor
    angle: float | None = None


@lru_cache(maxsize=16)
def _rotations(kernel_size: int, angle_step: float) -> tuple[Tensor, Tensor]:
    angles = torch.arange(0.0, 360.0, angle_step, dtype=torch.float64)
    mats = torch.stack([rotation_action(kernel_size, float(a)) for a in angles])
    return angles, mats


def known_actions(kernel_size: int, angle_step: float = 1.0) -> list[KnownAction]:
    """The reference actions on ``k x k`` filters that :func:`nearest_actions` compares with.

    Parameters
    ----------
    kernel_size : int
    angle_step : float
        Spacing in degrees of the rotation angles ``0, step, ..., 360 - step`` (interpolated
        by :func:`~erlangen.grid.learned.rotation_action`; multiples of 90 are exact
        permutations; angle 0 is the identity).

    Returns
    -------
    list of KnownAction
    """
    if not 0 < angle_step <= 90:
        raise ValueError(f"angle_step must be in (0, 90] degrees, got {angle_step}")
    k = kernel_size
    angles, mats = _rotations(k, float(angle_step))
    out = [
        KnownAction("rotation", f"a rotation by {float(a):g} degrees", m, float(a))
        for a, m in zip(angles, mats)
    ]
    out += [KnownAction("flip", text, flip_action(k, kind)) for kind, text in _FLIP_LABELS.items()]
    if k > 1:
        out += [
            KnownAction("shift", f"a circular shift by one pixel {name}", shift_action(k, dy, dx))
            for name, (dy, dx) in _SHIFTS.items()
        ]
        m = math.ceil(k / 2)
        out += [
            KnownAction("pooling", f"average pooling to {m}x{m} and back", pooling_action(k)),
            KnownAction("pooling", "a 3x3 box blur", blur_action(k)),
        ]
    return out


def _as_matrix(A: Tensor) -> Tensor:
    A = torch.as_tensor(A).detach().to(torch.float64).cpu()
    if A.dim() == 3 and A.shape[0] == 1:
        A = A[0]
    if A.dim() != 2 or A.shape[0] != A.shape[1] or math.isqrt(A.shape[0]) ** 2 != A.shape[0]:
        raise ValueError(
            f"expected one action of shape (k^2, k^2) (k x k filters), got {tuple(A.shape)}"
        )
    return A


def nearest_actions(A: Tensor, angle_step: float = 1.0) -> dict[str, dict]:
    """The closest known action of each family, by relative Frobenius distance.

    Parameters
    ----------
    A : Tensor
        ``(k^2, k^2)``.
    angle_step : float
        Resolution of the rotation search in degrees.

    Returns
    -------
    dict
        ``family -> {"label", "distance", "angle"}`` for ``rotation``, ``flip``, ``shift``,
        ``pooling`` (those that exist for this ``k``), plus ``"closest"``: the best of all.
        ``distance = ||A - M||_F / ||M||_F``.
    """
    A = _as_matrix(A)
    k = math.isqrt(A.shape[0])
    actions = known_actions(k, angle_step)
    mats = torch.stack([a.matrix for a in actions])
    dist = torch.linalg.matrix_norm(A - mats) / torch.linalg.matrix_norm(mats)
    result: dict[str, dict] = {}
    for family in dict.fromkeys(a.family for a in actions):
        idx = [i for i, a in enumerate(actions) if a.family == family]
        best = idx[int(dist[idx].argmin())]
        a = actions[best]
        result[family] = {"label": a.label, "distance": float(dist[best]), "angle": a.angle}
    result["closest"] = min(result.values(), key=lambda r: r["distance"])
    return result


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def describe_action(A: Tensor, order: int, angle_step: float = 1.0) -> dict:
    """Numbers that say how group-like ``A`` is and what it resembles.

    Parameters
    ----------
    A : Tensor
        ``(k^2, k^2)``.
    order : int
        ``n``: the layer uses ``A^0 .. A^(n-1)``.
    angle_step : float
        Resolution of the rotation search in degrees.

    Returns
    -------
    dict
        JSON-ready: ``kernel_size, order, cyclic_residual`` (``||A^n - I||_F``),
        ``condition_number, determinant, spectral_radius, eigenvalues`` (``[re, im]`` pairs),
        ``root_of_unity_distance`` (``max`` and ``mean`` distance of the eigenvalues to the
        nearest ``n``-th root of unity), ``nearest`` (:func:`nearest_actions`) and ``text``.
    """
    A = _as_matrix(A)
    d = A.shape[0]
    k = math.isqrt(d)
    eig = torch.linalg.eigvals(A)
    roots = torch.polar(
        torch.ones(order, dtype=torch.float64),
        torch.arange(order, dtype=torch.float64) * (2 * math.pi / order),
    )
    to_roots = (eig.unsqueeze(1) - roots.unsqueeze(0)).abs().amin(dim=1)
    residual = float(cyclic_residual(A, order))
    cond = float(torch.linalg.cond(A))
    nearest = nearest_actions(A, angle_step)
    closest = nearest["closest"]
    text = (
        f"A is closest to {closest['label']} (relative distance {closest['distance']:.3g}); "
        f"||A^{order} - I||_F = {residual:.3g}; cond(A) = {cond:.3g}; eigenvalues within "
        f"{float(to_roots.max()):.3g} of the {_ordinal(order)} roots of unity"
    )
    return {
        "kernel_size": k,
        "order": order,
        "cyclic_residual": residual,
        "condition_number": cond,
        "determinant": float(torch.linalg.det(A)),
        "spectral_radius": float(eig.abs().max()),
        "eigenvalues": [[float(z.real), float(z.imag)] for z in eig],
        "root_of_unity_distance": {"max": float(to_roots.max()), "mean": float(to_roots.mean())},
        "nearest": nearest,
        "text": text,
    }


# ----------------------------------------------------------------------------- patches
def synthetic_patch(kernel_size: int) -> Tensor:
    """A ``k x k`` patch with no symmetry, so that every rotation and mirror of it differs:
    a "7" (a bright top row and a stroke down to the bottom-left corner) over a faint
    left-to-right ramp.

    Returns
    -------
    Tensor
        ``(k, k)`` float64 in ``[0, 1]``.
    """
    k = kernel_size
    patch = torch.linspace(0.0, 0.25, k, dtype=torch.float64).expand(k, k).clone()
    patch[0] = 1.0
    for i in range(k):
        patch[i, k - 1 - i] = 1.0
    return patch


def prepare_patch(patch: Tensor | None, kernel_size: int) -> Tensor:
    """A ``(k, k)`` float64 patch: ``patch`` itself, or a larger image (e.g. a digit)
    average-pooled to ``k x k``, or :func:`synthetic_patch` when ``None``."""
    if patch is None:
        return synthetic_patch(kernel_size)
    patch = torch.as_tensor(patch).detach().to(torch.float64).cpu()
    while patch.dim() > 2 and patch.shape[0] == 1:
        patch = patch[0]
    if patch.dim() != 2:
        raise ValueError(f"a test patch is one image (H, W), got shape {tuple(patch.shape)}")
    if patch.shape != (kernel_size, kernel_size):
        patch = F.adaptive_avg_pool2d(patch[None, None], kernel_size)[0, 0]
    return patch


# ----------------------------------------------------------------------------- plots
def _figure(width: float, height: float):
    from matplotlib.figure import Figure  # Agg canvas on savefig; no global pyplot state

    return Figure(figsize=(width, height), dpi=110)


def _stack(A: Tensor) -> Tensor:
    A = torch.as_tensor(A).detach().to(torch.float64).cpu()
    return A.unsqueeze(0) if A.dim() == 2 else A


def plot_action_matrix(A: Tensor, path: str | Path, title: str = "A", max_panels: int = 8) -> Path:
    """Heatmap(s) of ``A`` (``(k^2, k^2)`` or ``(L, k^2, k^2)``, the first ``max_panels``),
    with lines between the rows of the ``k x k`` filter."""
    mats = _stack(A)[:max_panels]
    L, d = mats.shape[0], mats.shape[-1]
    k = math.isqrt(d)
    vmax = float(mats.abs().max()) or 1.0
    fig = _figure(3.2 * L + 0.8, 3.3)
    axes = fig.subplots(1, L, squeeze=False)[0]
    for i, (ax, m) in enumerate(zip(axes, mats)):
        im = ax.imshow(m.numpy(), cmap="RdBu_r", vmin=-vmax, vmax=vmax)
        for b in range(1, k):
            ax.axhline(b * k - 0.5, color="0.6", lw=0.5)
            ax.axvline(b * k - 0.5, color="0.6", lw=0.5)
        ax.set_title(title if L == 1 else f"{title}[{i}]", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(im, ax=list(axes), shrink=0.8)
    return _save(fig, path)


def plot_eigenvalues(A: Tensor, order: int, path: str | Path, title: str = "") -> Path:
    """Eigenvalues of ``A`` (one or a stack) on the complex plane, with the unit circle and
    the ``n``-th roots of unity."""
    mats = _stack(A)
    fig = _figure(4.0, 4.0)
    ax = fig.subplots()
    t = torch.linspace(0, 2 * math.pi, 361)
    ax.plot(torch.cos(t).numpy(), torch.sin(t).numpy(), color="0.7", lw=0.8)
    roots = torch.arange(order) * (2 * math.pi / order)
    ax.scatter(
        torch.cos(roots).numpy(),
        torch.sin(roots).numpy(),
        s=140,
        facecolors="none",
        edgecolors="tab:red",
        label=f"{_ordinal(order)} roots of unity",
    )
    for i, m in enumerate(mats):
        eig = torch.linalg.eigvals(m)
        ax.scatter(
            eig.real.numpy(),
            eig.imag.numpy(),
            s=18,
            alpha=0.8 if len(mats) == 1 else 0.5,
            color="tab:blue",
            label="eigenvalues of A" if i == 0 else None,
        )
    lim = max(1.25, float(max(torch.linalg.eigvals(m).abs().max() for m in mats)) * 1.1)
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.axhline(0, color="0.85", lw=0.5)
    ax.axvline(0, color="0.85", lw=0.5)
    ax.set_xlabel("Re")
    ax.set_ylabel("Im")
    ax.legend(loc="upper right", fontsize=7)
    ax.set_title(title or "eigenvalues", fontsize=9)
    return _save(fig, path)


def _image_row(axes, images: list[Tensor], titles: list[str]) -> None:
    """Images on a shared symmetric colour scale, one per axis."""
    vmax = max(float(im.abs().max()) for im in images) or 1.0
    for ax, im, title in zip(axes, images, titles):
        ax.imshow(im.numpy(), cmap="RdBu_r", vmin=-vmax, vmax=vmax)
        ax.set_title(title, fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])


def plot_orbit(A: Tensor, order: int, path: str | Path, patch: Tensor | None = None) -> Path:
    """A test patch and its images ``A^j patch`` for ``j = 1 .. n`` (the last one should be the
    patch again for an element of order ``n``)."""
    A = _as_matrix(A)
    k = math.isqrt(A.shape[0])
    p = prepare_patch(patch, k)
    powers = matrix_powers(A, order + 1)
    images = [(P @ p.flatten()).view(k, k) for P in powers]
    fig = _figure(1.6 * (order + 1), 1.9)
    axes = fig.subplots(1, order + 1, squeeze=False)[0]
    titles = ["patch"] + [f"A^{j} patch" for j in range(1, order + 1)]
    _image_row(axes, images, titles)
    return _save(fig, path)


def filter_orbits(layer: nn.Module, max_filters: int = 4) -> Tensor:
    """Base filters of a learned layer and their images under the layer's ``A^j``.

    Returns
    -------
    Tensor
        ``(f, n, k, k)`` float64 for the first ``f <= max_filters`` (output, input) channel
        pairs (group layers: input orientation slice 0); ``[:, j]`` is ``A^j W``.
    """
    with torch.no_grad():
        A = layer.action().detach().double().cpu()
        W = layer.weight.detach().double().cpu()
        k, n = layer.kernel_size, layer.order
        powers = matrix_powers(A, n)  # (n, L, d, d)
        out = []
        for o in range(W.shape[0]):
            for c in range(W.shape[1]):
                if len(out) == max_filters:
                    break
                w = W[o, c] if layer.lifting else W[o, c, 0]
                loc = {"shared": 0, "per_out": o, "per_in": c}[layer.location]
                out.append(torch.stack([(P[loc] @ w.flatten()).view(k, k) for P in powers]))
        return torch.stack(out)


def plot_filter_orbits(layer: nn.Module, path: str | Path, max_filters: int = 4) -> Path:
    """One row per base filter: ``W, A W, ..., A^(n-1) W`` (the layer's filter bank)."""
    orbits = filter_orbits(layer, max_filters)
    f, n = orbits.shape[:2]
    fig = _figure(1.5 * n, 1.6 * f + 0.2)
    axes = fig.subplots(f, n, squeeze=False)
    for i in range(f):
        titles = [("W" if j == 0 else f"A^{j} W") if i == 0 else "" for j in range(n)]
        _image_row(axes[i], list(orbits[i]), titles)
    return _save(fig, path)


def _save(fig, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, bbox_inches="tight")
    return path


# ----------------------------------------------------------------------------- reports
def inspect_action(
    A: Tensor,
    out_dir: str | Path,
    order: int,
    name: str = "action",
    patch: Tensor | None = None,
    layer: nn.Module | None = None,
    angle_step: float = 1.0,
) -> dict:
    """Describe one action and draw it.

    Writes ``{name}_matrix.png`` (heatmap), ``{name}_eigenvalues.png`` (with the ``n``-th
    roots of unity), ``{name}_orbit.png`` (``A^j`` on ``patch``: a ``k x k`` patch, a larger
    image pooled to ``k x k``, or :func:`synthetic_patch`), ``{name}_filters.png`` when
    ``layer`` is given (its base filters and their orbits) and ``{name}.json``.

    Parameters
    ----------
    A : Tensor
        ``(k^2, k^2)``.
    out_dir : str or Path
    order : int
        ``n``.
    name : str
        File-name stem.
    patch : Tensor, optional
    layer : nn.Module, optional
        The learned layer ``A`` belongs to.
    angle_step : float

    Returns
    -------
    dict
        :func:`describe_action`'s numbers and text, plus ``files`` (paths written).
    """
    out = Path(out_dir)
    A = _as_matrix(A)
    info = describe_action(A, order, angle_step)
    files = [
        plot_action_matrix(A, out / f"{name}_matrix.png", title=f"A ({name})"),
        plot_eigenvalues(A, order, out / f"{name}_eigenvalues.png", title=name),
        plot_orbit(A, order, out / f"{name}_orbit.png", patch),
    ]
    if layer is not None:
        files.append(plot_filter_orbits(layer, out / f"{name}_filters.png"))
    info["files"] = [str(f) for f in files]
    (out / f"{name}.json").write_text(json.dumps(info, indent=2))
    info["files"].append(str(out / f"{name}.json"))
    return info


def inspect_model(
    model: nn.Module,
    out_dir: str | Path,
    patch: Tensor | None = None,
    angle_step: float = 1.0,
    max_panels: int = 8,
) -> dict:
    """Describe and draw the action of every learned layer of ``model``.

    Per layer ``NAME`` (dots replaced by ``_``): ``NAME_matrix.png`` (up to ``max_panels``
    actions of a ``per_out`` / ``per_in`` layer), ``NAME_eigenvalues.png`` (all of them),
    ``NAME_orbit.png`` (its first action on ``patch``) and ``NAME_filters.png``; for the whole
    model ``summary.json`` (every number of every action) and ``summary.txt`` (one paragraph
    per layer).

    Parameters
    ----------
    model : nn.Module
        Any model holding :class:`~erlangen.grid.LearnedGroupConv2d` /
        :class:`~erlangen.grid.LearnedGroupToGroupConv2d` layers.
    out_dir : str or Path
    patch : Tensor, optional
        A test image (e.g. a digit, pooled to each layer's ``k x k``).
    angle_step : float
    max_panels : int

    Returns
    -------
    dict
        ``{"layers": [per-layer dicts], "text": summary text, "files": [...]}``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    layers = list(learned_layers(model))
    if not layers:
        raise ValueError(f"{type(model).__name__} has no learned group convolutions to inspect")
    reports, paragraphs, files = [], [], []
    for name, layer in layers:
        stem = (name or "layer").replace(".", "_")
        with torch.no_grad():
            A = layer.action().detach().double().cpu()
        n = layer.order
        actions = [describe_action(a, n, angle_step) for a in A]
        layer_files = [
            plot_action_matrix(A, out / f"{stem}_matrix.png", f"A ({name})", max_panels),
            plot_eigenvalues(A, n, out / f"{stem}_eigenvalues.png", title=name),
            plot_orbit(A[0], n, out / f"{stem}_orbit.png", patch),
            plot_filter_orbits(layer, out / f"{stem}_filters.png"),
        ]
        files += [str(f) for f in layer_files]
        head = (
            f"{name} ({type(layer).__name__}, {layer.kernel_size}x{layer.kernel_size}, "
            f"order {n}, {layer.location}, {layer.parametrisation})"
        )
        if len(actions) == 1:
            text = f"{head}: {actions[0]['text']}"
        else:
            labels = [a["nearest"]["closest"]["label"] for a in actions]
            common = max(set(labels), key=labels.count)
            res = [a["cyclic_residual"] for a in actions]
            text = (
                f"{head}, {len(actions)} actions: {labels.count(common)} of {len(actions)} are "
                f"closest to {common}; ||A^{n} - I||_F from {min(res):.3g} to {max(res):.3g}. "
                f"First: {actions[0]['text']}"
            )
        paragraphs.append(text)
        reports.append(
            {
                "layer": name,
                "type": type(layer).__name__,
                "kernel_size": layer.kernel_size,
                "order": n,
                "location": layer.location,
                "parametrisation": layer.parametrisation,
                "is_group_action": layer.is_group_action(),
                "is_rotation": layer.is_rotation(),
                "actions": actions,
                "text": text,
                "files": [str(f) for f in layer_files],
            }
        )
    summary = {"layers": reports, "text": "\n\n".join(paragraphs)}
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    (out / "summary.txt").write_text(summary["text"] + "\n")
    summary["files"] = [*files, str(out / "summary.json"), str(out / "summary.txt")]
    return summary


__all__ = [
    "KnownAction",
    "describe_action",
    "filter_orbits",
    "inspect_action",
    "inspect_model",
    "known_actions",
    "nearest_actions",
    "plot_action_matrix",
    "plot_eigenvalues",
    "plot_filter_orbits",
    "plot_orbit",
    "prepare_patch",
    "synthetic_patch",
]
