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
``max_abs <= atol + rtol * max|f(x)|``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import torch
from torch import Tensor, nn

from .fields import FieldType
from .groups import Group

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

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.rows)

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
        table.caption = (
            f"atol {self.atol:.0e}, rtol {self.rtol:.0e}: {'PASS' if self.passed else 'FAIL'}"
        )
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
            f"all field types must share one group, got {names}; check each group separately "
            "(equivariance to each factor implies it for their product)"
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


def equivariance(
    fn: Callable | nn.Module,
    in_type: FieldType | Sequence[FieldType] | None = None,
    out_type: FieldType | Sequence[FieldType] | None = None,
    *,
    inputs: Tensor | Sequence[Tensor] | None = None,
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
        Called as ``fn(*inputs)``; returns a tensor or a tuple of tensors. A module is
        deep-copied, cast to ``dtype`` and put in eval mode (unless ``eval_mode=False``), so
        the caller's module is left as it was.
    in_type, out_type : FieldType or sequence of FieldType, optional
        One type per input and per output; read from ``fn.in_type`` / ``fn.out_type`` when
        omitted. Invariance is an :class:`~erlangen.fields.InvariantField` output.
    inputs : Tensor or sequence of Tensor, optional
        Inputs to test on; drawn from the input types' ``sample`` when omitted.
    n : int
        Number of random group elements (besides the identity and the generators).
    dtype : torch.dtype
        Floating dtype of the computation (float64 by default).
    atol, rtol : float, optional
        Pass when ``max_abs <= atol + rtol * max|f(x)|``. Defaults from
        :data:`DEFAULT_TOLERANCES`, with ``rtol`` raised to what interpolated field types
        declare (e.g. 0.1 for images under arbitrary rotations).
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
    """
    in_types, out_types = _resolve_types(fn, in_type, out_type)
    group = _common_group(in_types + out_types)
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

    call_kwargs = {
        k: _cast(v, dtype, device) if isinstance(v, Tensor) else v
        for k, v in (kwargs or {}).items()
    }
    default_atol, default_rtol = DEFAULT_TOLERANCES.get(dtype, (1e-6, 1e-4))
    declared = [t.default_rtol(dtype) for t in in_types + out_types]
    declared = [r for r in declared if r is not None]
    atol = default_atol if atol is None else atol
    rtol = max([default_rtol, *declared]) if rtol is None else rtol

    with torch.no_grad():
        ys = _as_tuple(fn(*xs, **call_kwargs))
        if len(ys) != len(out_types):
            raise ValueError(
                f"{_name(fn)} returned {len(ys)} outputs but {len(out_types)} output types "
                "were given"
            )
        for t, y in zip(out_types, ys):
            t.validate(y, "output")

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
            for g in batch:
                xg = tuple(t.act(g, x) for t, x in zip(in_types, xs))
                yg = _as_tuple(fn(*xg, **call_kwargs))
                abs_err, scale = 0.0, 0.0
                for t, y, y_of_gx in zip(out_types, ys, yg):
                    expected = t.compare_view(t.act(g, y))
                    got = t.compare_view(y_of_gx)
                    if expected.shape != got.shape:
                        raise ValueError(
                            f"output shapes differ: f(g x) has {tuple(got.shape)}, g f(x) has "
                            f"{tuple(expected.shape)} ({t!r})"
                        )
                    diff = (got.double() - expected.double()).abs()
                    abs_err = max(abs_err, float(diff.max()) if diff.numel() else 0.0)
                    scale = max(
                        scale, float(expected.double().abs().max()) if expected.numel() else 0.0
                    )
                errs.append(abs_err)
                rels.append(abs_err / scale if scale > 0 else abs_err)
                oks.append(abs_err <= atol + rtol * scale)
            worst = max(range(len(errs)), key=errs.__getitem__)
            rows.append(KindResult(kind, len(errs), max(errs), max(rels), worst, all(oks)))

    return EquivarianceReport(
        name=_name(fn),
        group=group.name,
        dtype=str(dtype).replace("torch.", ""),
        atol=atol,
        rtol=rtol,
        rows=rows,
        in_types=[repr(t) for t in in_types],
        out_types=[repr(t) for t in out_types],
    )


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
