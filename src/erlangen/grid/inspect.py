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

import csv
import json
import math
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .learned import cyclic_residual, learned_layers, matrix_powers
from .learned.known import KnownAction, known_actions, nearest_actions
from .learned.known import as_action_matrix as _as_matrix


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


# ----------------------------------------------------------------------------- traces
def read_trace(source: str | Path) -> dict[str, list]:
    """A ``diagnostics.csv`` (written during training by models with learned layers, see
    :func:`~erlangen.grid.learned.trace.action_trace`) as columns.

    Parameters
    ----------
    source : str or Path
        The CSV file, or the run folder that holds it.

    Returns
    -------
    dict
        ``column -> list``: ``step`` as ints, numbers as floats, labels as strings.
    """
    path = Path(source)
    if path.is_dir():
        path = path / "diagnostics.csv"
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: no such file (a run of a learned-group model with trace_every > 0 "
            "writes diagnostics.csv)"
        )
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise ValueError(f"{path}: no rows")
    columns: dict[str, list] = {}
    for key in rows[0]:
        values = [r[key] for r in rows]
        if key == "step":
            columns[key] = [int(v) for v in values]
            continue
        try:
            columns[key] = [float(v) for v in values]
        except ValueError:
            columns[key] = values
    return columns


#: the panels of :func:`plot_action_traces`: column suffix -> axis label
TRACE_PANELS = {
    "rotation_distance": "distance to the rotation by 360/n",
    "nearest_distance": "distance to the nearest known action",
    "cyclic_residual": "||A^n - I||_F",
}


def plot_action_traces(
    runs: dict[str, str | Path],
    path: str | Path,
    layer: str = "mean",
    title: str = "",
    log_y: bool = True,
    floor: float = 1e-3,
) -> Path:
    """Draw how the learned actions moved during training: one panel per quantity of
    :data:`TRACE_PANELS`, one line per run, against optimizer steps.

    Parameters
    ----------
    runs : dict
        ``label -> run folder (or diagnostics.csv)``.
    path : str or Path
        The PNG to write.
    layer : str
        ``"mean"`` (the mean over the layers with kernels larger than 1x1) or a layer name
        such as ``"features.0"``; a run without it is skipped.
    title : str
    log_y : bool
        Log scale for the distances (they span orders of magnitude near a group action).
    floor : float
        With ``log_y``, smaller values (an exact action's zeros) are drawn at ``floor``.

    Returns
    -------
    Path
    """
    if not runs:
        raise ValueError("plot_action_traces needs at least one run")
    traces = {label: read_trace(source) for label, source in runs.items()}
    fig = _figure(4.4 * len(TRACE_PANELS), 3.6)
    axes = fig.subplots(1, len(TRACE_PANELS), squeeze=False)[0]
    for ax, (key, label) in zip(axes, TRACE_PANELS.items()):
        column = f"{layer}/{key}"
        for i, (run, trace) in enumerate(traces.items()):
            if column not in trace:
                continue
            values = [max(v, floor) for v in trace[column]] if log_y else trace[column]
            ax.plot(trace["step"], values, label=run, color=f"C{i % 10}", lw=1.4)
        if log_y:
            ax.set_yscale("log")
            ax.set_ylim(bottom=floor / 2)
        ax.set_xlabel("optimizer step")
        ax.set_ylabel(label if not log_y else f"{label} (0 drawn at {floor:g})", fontsize=8)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.suptitle(title or f"learned actions during training ({layer})", fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


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
    "TRACE_PANELS",
    "KnownAction",
    "describe_action",
    "filter_orbits",
    "inspect_action",
    "inspect_model",
    "known_actions",
    "nearest_actions",
    "plot_action_matrix",
    "plot_action_traces",
    "plot_eigenvalues",
    "plot_filter_orbits",
    "plot_orbit",
    "prepare_patch",
    "read_trace",
    "synthetic_patch",
]
