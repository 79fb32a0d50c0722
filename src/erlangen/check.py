"""Numerical equivariance checks: ``f(g . x) == g . f(x)`` for sampled group elements.

>>> import torch
>>> from erlangen.groups import Cyclic, regular
>>> from erlangen.nn import EquivariantLinear
>>> from erlangen.check import equivariance
>>> layer = EquivariantLinear(regular(Cyclic(4)), regular(Cyclic(4)))
>>> report = equivariance(layer)          # reads layer.in_type / layer.out_type
>>> report.passed
True

The checker draws the identity, the group's ``generators()`` and ``n`` random elements, applies
each to the inputs (through their field types), runs the function, and compares with the
outputs transformed by the output types. It reports, per kind of element, the largest absolute
error and the largest error relative to the size of the output, and whether each kind passes
``max_abs <= atol + rtol * max|f(x)|``. A NaN or infinity in any output fails the check, with
the output and the element named; a non-finite input is refused before anything runs.

Sampling settings (image size, batch shape, ...) come from the input types; override them for
one check with ``sample=``:

>>> from erlangen.grid import GroupConv2d
>>> conv = GroupConv2d(2, 3, 3, "C4", padding=1)
>>> equivariance(conv, sample={"size": 9, "batch_shape": (1,)}).passed
True
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from .fields import FieldType
from .groups import Group

#: relative tolerance when some type acts by interpolation (images rotated by angles that
#: are not quarter turns): the resampling error of the inputs themselves is 1-2% of the
#: signal, and layers built for such groups reach a few percent (docs/grids.md)
INTERPOLATED_RTOL = 0.1

#: default (atol, rtol) per dtype; exact groups in float64 should pass at this level
DEFAULT_TOLERANCES: dict[torch.dtype, tuple[float, float]] = {
    torch.float64: (1e-12, 1e-10),
    torch.float32: (1e-6, 1e-4),
    torch.bfloat16: (1e-3, 2e-2),
    torch.float16: (1e-3, 1e-2),
}


@dataclass
class KindResult:
    """Errors over the elements of one kind (identity, generators or random)."""

    kind: str
    count: int
    max_abs: float
    max_rel: float
    worst: int
    passed: bool


@dataclass
class EquivarianceReport:
    """The outcome of :func:`equivariance`: one row per kind of element."""

    name: str
    group: str
    dtype: str
    atol: float
    rtol: float
    rows: list[KindResult] = field(default_factory=list)
    in_types: list[str] = field(default_factory=list)
    out_types: list[str] = field(default_factory=list)
    #: non-finite outputs found, one line each (any of them fails the check)
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems and all(r.passed for r in self.rows)

    @property
    def max_abs(self) -> float:
        return max((r.max_abs for r in self.rows), default=0.0)

    @property
    def max_rel(self) -> float:
        return max((r.max_rel for r in self.rows), default=0.0)

    def to_dict(self) -> dict:
        out = asdict(self)
        out["passed"] = self.passed
        return out

    def __str__(self) -> str:
        tol = f"atol {self.atol:.0e}, rtol {self.rtol:.0e}"
        head = f"{self.name}: {self.group}-equivariance in {self.dtype} ({tol})"
        lines = [head, f"  {'elements':<11}{'n':>4}{'max abs err':>14}{'max rel err':>14}  result"]
        for r in self.rows:
            verdict = "pass" if r.passed else "FAIL"
            lines.append(
                f"  {r.kind:<11}{r.count:>4}{r.max_abs:>14.3e}{r.max_rel:>14.3e}  {verdict}"
            )
        lines += [f"  FAIL: {p}" for p in self.problems]
        lines.append(f"  overall: {'PASS' if self.passed else 'FAIL'}")
        return "\n".join(lines)

    def rich_table(self):
        """The report as a :class:`rich.table.Table`."""
        from rich.table import Table

        table = Table(title=f"{self.name}: {self.group}-equivariance ({self.dtype})")
        for col in ("elements", "n", "max abs err", "max rel err", "result"):
            table.add_column(col, justify="right" if col != "elements" else "left")
        for r in self.rows:
            verdict = "[green]pass[/]" if r.passed else "[bold red]FAIL[/]"
            table.add_row(r.kind, str(r.count), f"{r.max_abs:.3e}", f"{r.max_rel:.3e}", verdict)
        caption = f"atol {self.atol:.0e}, rtol {self.rtol:.0e}: {'PASS' if self.passed else 'FAIL'}"
        table.caption = "\n".join([*self.problems, caption])
        return table


def _as_tuple(x) -> tuple:
    if isinstance(x, tuple | list):
        return tuple(x)
    return (x,)


def _common_group(types: Sequence[FieldType]) -> Group:
    groups = []
    for t in types:
        if not isinstance(t, FieldType):
            raise TypeError(f"expected erlangen.fields.FieldType objects, got {type(t).__name__}")
        if t.group not in groups:
            groups.append(t.group)
    if len(groups) != 1:
        names = ", ".join(g.name for g in groups)
        raise ValueError(
            f"all field types must share one group, got {names}; for several symmetries at "
            "once, build the types on their direct product (e.g. Symmetric(N) * E(3))"
        )
    return groups[0]


def _resolve_types(fn, in_type, out_type):
    if in_type is None:
        in_type = getattr(fn, "in_type", None)
    if out_type is None:
        out_type = getattr(fn, "out_type", None)
    if in_type is None or out_type is None:
        missing = " and ".join(
            n for n, t in (("in_type", in_type), ("out_type", out_type)) if t is None
        )
        raise ValueError(
            f"{_name(fn)} declares no {missing}: pass in_type=/out_type= (field types from "
            "erlangen.fields) or give the module in_type/out_type attributes"
        )
    return _as_tuple(in_type), _as_tuple(out_type)


def _name(fn) -> str:
    if isinstance(fn, nn.Module):
        return type(fn).__name__
    return getattr(fn, "__name__", type(fn).__name__)


def _cast(x: Tensor, dtype: torch.dtype, device) -> Tensor:
    if x.is_floating_point():
        x = x.to(dtype)
    return x.to(device) if device is not None else x


def _with_settings(in_types: tuple[FieldType, ...], sample) -> tuple[FieldType, ...]:
    """The input types with the sampling settings of ``sample`` applied."""
    if sample is None:
        return in_types
    if isinstance(sample, Mapping):
        unknown = set(sample) - {s for t in in_types for s in t.sampling_settings()}
        if unknown:
            known = sorted({s for t in in_types for s in t.sampling_settings()})
            raise ValueError(
                f"sample= has settings {sorted(unknown)} that no input type takes; "
                f"the input types take {known}"
            )
        per_input = [
            {k: v for k, v in sample.items() if k in t.sampling_settings()} for t in in_types
        ]
    else:
        per_input = list(sample)
        if len(per_input) != len(in_types):
            raise ValueError(
                f"sample= needs one mapping per input ({len(in_types)}), got {len(per_input)}"
            )
    out = []
    for t, settings in zip(in_types, per_input):
        wrong = set(settings) - set(t.sampling_settings())
        if wrong:
            raise ValueError(
                f"{t!r} takes the sampling settings {list(t.sampling_settings())}, "
                f"got {sorted(wrong)}"
            )
        out.append(t.replace(**settings) if settings else t)
    return tuple(out)


def _check_arguments(n, dtype, atol, rtol) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"n (random group elements) must be an integer >= 0, got {n!r}")
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise ValueError(f"dtype must be a floating torch dtype, got {dtype!r}")
    for name, value in (("atol", atol), ("rtol", rtol)):
        if value is not None and not (math.isfinite(value) and value >= 0):
            raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")


def _first_non_finite(x: Tensor) -> tuple[int, ...] | None:
    """Index of the first NaN or infinity in ``x``, or None when all are finite."""
    if not x.is_floating_point() and not x.is_complex():
        return None
    bad = ~torch.isfinite(x)
    if not bool(bad.any()):
        return None
    return tuple(int(i) for i in bad.nonzero()[0])


def _refuse_non_finite(xs: tuple[Tensor, ...], what: str) -> None:
    for i, x in enumerate(xs):
        where = _first_non_finite(x)
        if where is not None:
            raise ValueError(
                f"{what} {i} holds a non-finite value ({float(x[where])}) at index {where}: "
                "the check needs finite inputs"
            )


def _default_rtol(types: Sequence[FieldType], dtype: torch.dtype) -> float:
    rtol = DEFAULT_TOLERANCES.get(dtype, (1e-6, 1e-4))[1]
    if any(not t.exact for t in types):
        rtol = max(rtol, INTERPOLATED_RTOL)
    return rtol


def equivariance(
    fn: Callable | nn.Module,
    in_type: FieldType | Sequence[FieldType] | None = None,
    out_type: FieldType | Sequence[FieldType] | None = None,
    *,
    inputs: Tensor | Sequence[Tensor] | None = None,
    sample: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
    n: int = 16,
    dtype: torch.dtype = torch.float64,
    atol: float | None = None,
    rtol: float | None = None,
    seed: int = 0,
    eval_mode: bool = True,
    device: torch.device | str | None = None,
    elements: Tensor | None = None,
    kwargs: dict | None = None,
) -> EquivarianceReport:
    """Measure how far ``fn`` is from equivariance.

    Parameters
    ----------
    fn : nn.Module or callable
        Called as ``fn(*inputs)``; returns a tensor or a tuple of tensors (``None`` entries,
        such as absent auxiliary scalars, are skipped with their types). A module is
        deep-copied, cast to ``dtype`` and put in eval mode (unless ``eval_mode=False``), so
        the caller's module is left as it was.
    in_type, out_type : FieldType or sequence of FieldType, optional
        One type per input and per output; read from ``fn.in_type`` / ``fn.out_type`` when
        omitted. Invariance is an :class:`~erlangen.fields.InvariantField` output. Several
        symmetries at once: types on a direct product (``Symmetric(N) * E(3)``).
    inputs : Tensor or sequence of Tensor, optional
        Inputs to test on; drawn from the input types' ``sample`` when omitted. Must be finite.
    sample : mapping or sequence of mappings, optional
        Sampling settings for drawing the inputs (e.g. ``{"size": 29}``): one mapping whose
        keys go to every input type that takes them, or one mapping per input. Each type
        lists its settings in ``sampling_settings()``.
    n : int
        Number of random group elements (besides the identity and the generators), >= 0.
    dtype : torch.dtype
        Floating dtype of the computation (float64 by default).
    atol, rtol : float, optional
        Pass when ``max_abs <= atol + rtol * max|f(x)|``. Defaults from
        :data:`DEFAULT_TOLERANCES`; ``rtol`` is raised to :data:`INTERPOLATED_RTOL` when a
        type acts by interpolation.
    seed : int
        Seeds both the inputs and the random elements.
    eval_mode : bool
        Put modules in eval mode (dropout and batch-norm updates off).
    device : optional
        Where to run.
    elements : Tensor, optional
        Extra elements ``(k, *element_shape)`` to test, reported as kind ``"given"``.
    kwargs : dict, optional
        Keyword arguments passed unchanged on every call (masks, flags): things the group does
        not act on. Floating tensors among them are cast to ``dtype``.

    Returns
    -------
    EquivarianceReport
        Fails (``passed`` False) when an error exceeds the tolerance or any output holds a
        NaN or infinity (listed in ``problems``).
    """
    _check_arguments(n, dtype, atol, rtol)
    in_types, out_types = _resolve_types(fn, in_type, out_type)
    group = _common_group(in_types + out_types)
    if inputs is None:
        in_types = _with_settings(in_types, sample)
    elif sample is not None:
        raise ValueError("give inputs= or sample=, not both")
    if elements is not None:
        group.validate(elements, "elements")
    if isinstance(fn, nn.Module):
        fn = copy.deepcopy(fn).to(dtype=dtype)
        if device is not None:
            fn = fn.to(device)
        fn.train(not eval_mode)

    gen = torch.Generator().manual_seed(seed)
    if inputs is None:
        xs = tuple(t.sample(generator=gen, dtype=dtype, device=device) for t in in_types)
    else:
        xs = tuple(_cast(x, dtype, device) for x in _as_tuple(inputs))
    if len(xs) != len(in_types):
        raise ValueError(f"{len(in_types)} input types but {len(xs)} inputs")
    for t, x in zip(in_types, xs):
        t.validate(x, "input")
    _refuse_non_finite(xs, "input")

    call_kwargs = {
        k: _cast(v, dtype, device) if isinstance(v, Tensor) else v
        for k, v in (kwargs or {}).items()
    }
    atol = DEFAULT_TOLERANCES.get(dtype, (1e-6, 1e-4))[0] if atol is None else atol
    rtol = _default_rtol(in_types + out_types, dtype) if rtol is None else rtol

    problems: list[str] = []

    def outputs(values, context: str) -> tuple[Tensor | None, ...]:
        ys = _as_tuple(values)
        if len(ys) != len(out_types):
            raise ValueError(
                f"{_name(fn)} returned {len(ys)} outputs but {len(out_types)} output types "
                "were given"
            )
        for i, (t, y) in enumerate(zip(out_types, ys)):
            if y is None:
                continue
            t.validate(y, "output")
            where = _first_non_finite(y)
            if where is not None:
                problems.append(f"output {i} of {context} holds {float(y[where])} at index {where}")
        return ys

    with torch.no_grad():
        ys = outputs(fn(*xs, **call_kwargs), "f(x)")

        float_dtype = dtype if dtype.is_floating_point else torch.float64
        kinds = [
            ("identity", group.identity(dtype=float_dtype, device=device).unsqueeze(0)),
            ("generators", group.generators(dtype=float_dtype, device=device)),
            ("random", group.sample(n, generator=gen, dtype=float_dtype, device=device)),
        ]
        if elements is not None:
            kinds.append(("given", elements.to(device) if device is not None else elements))

        rows = []
        for kind, batch in kinds:
            if batch.shape[0] == 0:
                continue
            errs, rels, oks = [], [], []
            for k, g in enumerate(batch):
                xg = tuple(t.act(g, x) for t, x in zip(in_types, xs))
                yg = outputs(fn(*xg, **call_kwargs), f"f(g x) for {kind} element {k}")
                abs_err, scale = 0.0, 0.0
                for i, (t, y, y_of_gx) in enumerate(zip(out_types, ys, yg)):
                    if (y is None) != (y_of_gx is None):
                        raise ValueError(
                            f"output {i} is None for one input and a tensor for the other"
                        )
                    if y is None:
                        continue
                    expected = t.compare_view(t.act(g, y))
                    got = t.compare_view(y_of_gx)
                    if expected.shape != got.shape:
                        raise ValueError(
                            f"output shapes differ: f(g x) has {tuple(got.shape)}, g f(x) has "
                            f"{tuple(expected.shape)} ({t!r})"
                        )
                    abs_err = _max_abs(got.double() - expected.double(), abs_err)
                    scale = _max_abs(expected.double(), scale)
                errs.append(abs_err)
                rels.append(abs_err / scale if scale > 0 else abs_err)
                oks.append(math.isfinite(abs_err) and abs_err <= atol + rtol * scale)
            worst = max(range(len(errs)), key=lambda j: _sort_key(errs[j]))
            rows.append(KindResult(kind, len(errs), _worst(errs), _worst(rels), worst, all(oks)))

    return EquivarianceReport(
        name=_name(fn),
        group=group.name,
        dtype=str(dtype).replace("torch.", ""),
        atol=atol,
        rtol=rtol,
        rows=rows,
        in_types=[repr(t) for t in in_types],
        out_types=[repr(t) for t in out_types],
        problems=problems,
    )


def _max_abs(x: Tensor, running: float) -> float:
    """``max(running, max|x|)`` that propagates NaN (Python's ``max`` would drop it)."""
    if x.numel() == 0:
        return running
    value = float(x.abs().max()) if bool(torch.isfinite(x).all()) else math.nan
    return math.nan if math.isnan(value) or math.isnan(running) else max(running, value)


def _sort_key(v: float) -> float:
    return math.inf if math.isnan(v) else v


def _worst(values: list[float]) -> float:
    return max(values, key=_sort_key)


def assert_equivariant(
    fn: Callable | nn.Module,
    in_type: FieldType | Sequence[FieldType] | None = None,
    out_type: FieldType | Sequence[FieldType] | None = None,
    **kwargs,
) -> EquivarianceReport:
    """Like :func:`equivariance`, but raise ``AssertionError`` with the report's table when any
    kind of element fails. Returns the report when it passes."""
    report = equivariance(fn, in_type, out_type, **kwargs)
    if not report.passed:
        raise AssertionError(f"not equivariant:\n{report}")
    return report


def assert_not_equivariant(
    fn: Callable | nn.Module,
    in_type: FieldType | Sequence[FieldType] | None = None,
    out_type: FieldType | Sequence[FieldType] | None = None,
    **kwargs,
) -> EquivarianceReport:
    """Assert that the check fails: for tests that show a broken layer is caught."""
    report = equivariance(fn, in_type, out_type, **kwargs)
    if report.passed:
        raise AssertionError(f"expected a failure, but the check passed:\n{report}")
    return report
