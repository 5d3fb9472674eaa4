"""What pack authors import: the `item` decorator, the `Check` result, and the one
shared ladder for comparing arrays (exists -> type -> shape -> dtype -> finite ->
values) so every pack's messages read the same."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from grader.outcomes import Check
from grader.protocol import Opaque
from grader.sandbox import SandboxLost, StudentRaised

__all__ = ["item", "Check", "compare_arrays", "array_problem", "fmt", "StudentRaised", "SandboxLost"]


def item(item_id: str) -> Callable[[Callable], Callable]:
    """Marks a function in a pack's checks.py as the check of rubric item `item_id`."""

    def mark(fn: Callable) -> Callable:
        fn._rnngrade_item = item_id  # type: ignore[attr-defined]
        return fn

    return mark


def fmt(value: Any, limit: int = 400) -> str:
    """A compact, readable rendering of an observation for messages."""
    if isinstance(value, np.ndarray):
        with np.printoptions(precision=4, suppress=True, threshold=24, edgeitems=3, linewidth=100):
            text = f"{np.array2string(value, separator=', ')} (shape {value.shape}, {value.dtype})"
    elif isinstance(value, Opaque):
        text = f"a {value.type} object"
    elif isinstance(value, float):
        text = f"{value:.6g}"
    else:
        text = repr(value)
    return text if len(text) <= limit else text[:limit] + " ..."


def as_array(value: Any) -> np.ndarray | None:
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, (int, float, bool)) or (isinstance(value, list) and value):
        try:
            array = np.asarray(value)
            return array if array.dtype != object else None
        except (ValueError, TypeError):
            return None
    return None


def array_problem(name: str, observed: Any, expected: np.ndarray, *, rtol: float, atol: float,
                  check_dtype: bool = True, hints: dict[str, str] | None = None
                  ) -> tuple[str | None, str | None]:
    """(problem, hint) for the first rung of the ladder that fails, or (None, None)."""
    hints = hints or {}
    if observed is None:
        return f"'{name}' was not produced (it is None or missing)", hints.get("missing")
    array = as_array(observed)
    if array is None:
        kind = observed.type if isinstance(observed, Opaque) else type(observed).__name__
        return f"'{name}' is a {kind}, expected an array or tensor", hints.get("type")
    if array.shape != expected.shape:
        hint = hints.get("shape")
        if array.shape == expected.shape[::-1] and len(expected.shape) == 2:
            hint = hint or "the result is transposed: check the order of the matrix product"
        return f"'{name}' has shape {array.shape}, expected {expected.shape}", hint
    if check_dtype and array.dtype != expected.dtype and array.dtype.kind == "f" and expected.dtype.kind == "f":
        return (f"'{name}' has dtype {array.dtype}, expected {expected.dtype}",
                hints.get("dtype", "keep the dtype of the inputs (float32 stays float32)"))
    if array.dtype.kind in "fc" and not np.all(np.isfinite(array)):
        return f"'{name}' contains NaN or infinity", hints.get("finite")
    if not np.allclose(array.astype(np.float64), expected.astype(np.float64), rtol=rtol, atol=atol):
        diff = np.abs(array.astype(np.float64) - expected.astype(np.float64))
        where = np.unravel_index(int(np.argmax(diff)), diff.shape) if diff.shape else ()
        return (f"'{name}' differs from the expected values: largest difference {diff.max():.3g} "
                f"at index {tuple(int(i) for i in where)} (tolerance rtol={rtol:g}, atol={atol:g})",
                hints.get("values"))
    return None, None


def compare_arrays(name: str, observed: Any, expected: np.ndarray, *, points: float,
                   rtol: float = 1e-5, atol: float = 1e-6, check_dtype: bool = True,
                   hints: dict[str, str] | None = None, label: str | None = None) -> Check:
    problem, hint = array_problem(name, observed, expected, rtol=rtol, atol=atol,
                                  check_dtype=check_dtype, hints=hints)
    title = label or f"{name} matches the reference"
    if problem is None:
        return Check.ok(title, points, expected=fmt(expected), observed=fmt(as_array(observed)))
    return Check.failed(title, points, expected=fmt(expected), observed=problem + "\n" + fmt(observed),
                        hint=hint)
