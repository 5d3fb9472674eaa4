"""What pack authors import.

- `item(id, checks={key: (title, points)})` marks a check function and declares its
  sub-checks ONCE; the function reports verdicts by key (`passed`, `failed`, `partial`,
  `not_checked`) and the engine attaches titles and points (grader.score.resolve), so a
  failure path never repeats, or drifts from, the success path's titles and points.
- `evidence(...)`: a 0-point check with a free title (manual items, the report).
- One notion of closeness for scalars, sequences, dicts and arrays (`close`, `compare`), with
  likely mistakes named by the variant they produce (`mistakes={hint: variant}`), and the
  shared ladder exists -> type -> shape -> dtype -> finite -> values so every pack's messages
  read the same.
- `exception_text`, `tier`, `printed_numbers`, `printed_lines`: what every pack needed."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

import numpy as np

from grader.outcomes import Check, StudentError, text_of
from grader.protocol import Opaque
from grader.sandbox import SandboxLost, StudentRaised

__all__ = ["item", "Check", "Verdict", "passed", "failed", "partial", "not_checked", "evidence",
           "close", "compare", "Comparison", "compare_arrays", "array_problem", "fmt",
           "exception_text", "tier", "printed_numbers", "printed_lines",
           "StudentRaised", "SandboxLost"]


# -- declaring an item's sub-checks ------------------------------------------------------


def item(item_id: str, checks: Mapping[str, tuple[str, float]] | None = None) -> Callable[[Callable], Callable]:
    """Marks a function in a pack's checks.py as the check of rubric item `item_id`.
    `checks` declares its sub-checks in display order: key -> (title, points). Auto items
    must declare them (validated when the pack loads); manual items and "report" report
    `evidence` instead."""

    def mark(fn: Callable) -> Callable:
        fn._rnngrade_item = item_id  # type: ignore[attr-defined]
        fn._rnngrade_checks = {str(k): (str(v[0]), float(v[1])) for k, v in (checks or {}).items()}  # type: ignore[attr-defined]
        return fn

    return mark


def declared(fn: Callable) -> dict[str, tuple[str, float]]:
    return dict(getattr(fn, "_rnngrade_checks", {}) or {})


@dataclass(frozen=True)
class Verdict:
    """A check function's verdict on one declared sub-check; `earned` is a fraction of the
    declared points (1 passed, 0 failed). `keys` with `skipped`: not_checked on many keys."""

    key: str
    earned: float
    expected: str | None = None
    observed: str | None = None
    hint: str | None = None
    skipped: str | None = None  # the reason when the sub-check could not be checked
    points: float | None = None  # partial(): earned points, turned into a fraction by resolve
    keys: tuple[str, ...] = ()


def passed(key: str, *, expected: Any = None, observed: Any = None) -> Verdict:
    return Verdict(key, 1.0, text_of(expected), text_of(observed))


def failed(key: str, *, expected: Any = None, observed: Any = None, hint: str | None = None) -> Verdict:
    return Verdict(key, 0.0, text_of(expected), text_of(observed), hint)


def partial(key: str, earned: float, *, expected: Any = None, observed: Any = None,
            hint: str | None = None) -> Verdict:
    """`earned` points out of the declared ones (0 .. declared; anything else is a pack bug)."""
    return Verdict(key, 0.0, text_of(expected), text_of(observed), hint, points=float(earned))


def not_checked(reason: str, *keys: str) -> Verdict:
    """These sub-checks (none named: every one not reported yet) could not be checked."""
    return Verdict("", 0.0, skipped=str(reason), keys=tuple(keys))


def evidence(name: str, ok: bool, *, expected: Any = None, observed: Any = None,
             hint: str | None = None) -> Check:
    """A check worth no points, with its own title: evidence shown to the TA or student."""
    return Check(str(name), bool(ok), 0.0, 0.0, text_of(expected), text_of(observed), None if ok else hint)


# -- rendering ----------------------------------------------------------------------------


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


def exception_text(error: StudentError | StudentRaised | BaseException) -> str:
    """The one way a student's exception is written in a check's message:
    "your code raised TypeError: msg at cell 3, line 4 (`the line`)"."""
    if isinstance(error, StudentRaised):
        error = error.error
    if isinstance(error, StudentError) and error.type == "Timeout":
        return ("your code did not finish within its time limit: look for a loop whose condition never "
                "changes, or training far longer than the handout asks")
    if isinstance(error, StudentError):
        where = f" at {error.where}" if error.where else ""
        line = f" (`{error.line.strip()}`)" if error.line and error.line.strip() else ""
        message = f": {error.message}" if error.message else ""
        return f"your code raised {error.type}{message}{where}{line}"
    return f"your code raised {type(error).__name__}: {error}"


# -- closeness ----------------------------------------------------------------------------


def as_array(value: Any) -> np.ndarray | None:
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, (int, float, bool, np.number)) or (isinstance(value, (list, tuple)) and value):
        try:
            array = np.asarray(value)
            return array if array.dtype != object else None
        except (ValueError, TypeError):
            return None
    return None


def close(observed: Any, expected: Any, *, rtol: float = 1e-5, atol: float = 1e-6) -> bool:
    """One notion of closeness: numbers and arrays by |o - e| <= atol + rtol |e| everywhere
    (same shape, finite where expected is), sequences element by element, dicts key by key
    (same keys), anything else by equality."""
    if isinstance(expected, Mapping):
        return (isinstance(observed, Mapping) and set(observed) == set(expected)
                and all(close(observed[k], expected[k], rtol=rtol, atol=atol) for k in expected))
    expected_array, observed_array = as_array(expected), as_array(observed)
    if expected_array is not None and expected_array.dtype.kind in "biuf":
        if observed_array is None or observed_array.dtype.kind not in "biuf":
            return False
        if observed_array.shape != expected_array.shape:
            return False
        o, e = observed_array.astype(np.float64), expected_array.astype(np.float64)
        if not np.all(np.isfinite(o) | ~np.isfinite(e)):
            return False
        return bool(np.allclose(o, e, rtol=rtol, atol=atol, equal_nan=True))
    if isinstance(expected, (list, tuple)):
        return (isinstance(observed, (list, tuple)) and len(observed) == len(expected)
                and all(close(o, e, rtol=rtol, atol=atol) for o, e in zip(observed, expected)))
    try:
        return bool(observed == expected)
    except Exception:  # an Opaque or an odd type: not equal
        return False


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


@dataclass(frozen=True)
class Comparison:
    """The outcome of `compare`: whether it is close, what differs, and the likely mistake."""

    name: str
    ok: bool
    problem: str | None
    hint: str | None
    expected_text: str
    observed_text: str

    def verdict(self, key: str) -> Verdict:
        if self.ok:
            return passed(key, expected=self.expected_text, observed=self.observed_text)
        return failed(key, expected=self.expected_text, observed=self.observed_text, hint=self.hint)


def compare(name: str, observed: Any, expected: Any, *, rtol: float = 1e-5, atol: float = 1e-6,
            check_dtype: bool = True, mistakes: Mapping[str, Any] | None = None,
            hints: dict[str, str] | None = None) -> Comparison:
    """Compare an observation with the expected value (array, number, sequence or dict).
    `mistakes={"likely mistake: ...": variant}`: when the observation is not close to the
    expected value but to a variant (what the common mistake computes), that text is the hint.
    `hints` names hints per ladder rung for arrays (missing, type, shape, dtype, finite, values)."""
    if isinstance(expected, np.ndarray):
        problem, hint = array_problem(name, observed, expected, rtol=rtol, atol=atol,
                                      check_dtype=check_dtype, hints=hints)
    elif close(observed, expected, rtol=rtol, atol=atol):
        problem, hint = None, None
    elif observed is None:
        problem, hint = f"'{name}' was not produced (it is None or missing)", (hints or {}).get("missing")
    else:
        problem, hint = f"'{name}' differs from the expected value", (hints or {}).get("values")
    if problem is not None:
        for text, variant in (mistakes or {}).items():
            if close(observed, variant, rtol=rtol, atol=atol):
                hint = text
                break
    shown = as_array(observed) if isinstance(expected, np.ndarray) else None  # a list shown as the array it is
    observed_text = fmt(observed if shown is None else shown)
    return Comparison(name, problem is None, problem, hint, fmt(expected),
                      observed_text if problem is None else f"{problem}\n{observed_text}")


def compare_arrays(name: str, observed: Any, expected: np.ndarray, *, points: float,
                   rtol: float = 1e-5, atol: float = 1e-6, check_dtype: bool = True,
                   hints: dict[str, str] | None = None, label: str | None = None) -> Check:
    """The ladder as a ready Check (engine use; packs use `compare(...).verdict(key)`)."""
    problem, hint = array_problem(name, observed, expected, rtol=rtol, atol=atol,
                                  check_dtype=check_dtype, hints=hints)
    title = label or f"{name} matches the reference"
    if problem is None:
        return Check.ok(title, points, expected=fmt(expected), observed=fmt(as_array(observed)))
    return Check.failed(title, points, expected=fmt(expected), observed=problem + "\n" + fmt(observed),
                        hint=hint)


# -- tiers and printed output -----------------------------------------------------------------


def tier(table: Iterable[tuple[float, float]] | Iterable[list], value: float | None) -> float:
    """Points for `value` from a table of (threshold, points): the highest threshold the
    value reaches wins; below every threshold (or no value) earns 0."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return 0.0
    for threshold, points in sorted(((float(t), float(p)) for t, p in table), key=lambda t: -t[0]):
        if value >= threshold:
            return points
    return 0.0


_NUMBER = r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?"


def printed_numbers(text: str, label: str, *, percent: bool = False, flags: int = re.IGNORECASE) -> list[float]:
    """Every number printed right after a label (a regex, e.g. r"test acc(uracy)?"), in order:
    `Test accuracy: 93.5%`, `test_acc=0.93`, `Test Accuracy (LSTM) 0.91`. With percent=True a
    number followed by % (or above 1) is divided by 100, so 93.5% and 0.935 read the same."""
    pattern = re.compile(rf"(?:{label})[^\d\n+-]{{0,40}}?(?P<rnngrade_num>{_NUMBER})\s*(?P<rnngrade_pct>%?)", flags)
    values = []
    for match in pattern.finditer(text or ""):
        value = float(match.group("rnngrade_num"))
        if percent and (match.group("rnngrade_pct") == "%" or value > 1.0):
            value /= 100.0
        values.append(value)
    return values


def printed_lines(text: str, pattern: str | re.Pattern, *, flags: int = re.IGNORECASE) -> list[tuple[str, ...]]:
    """The groups of `pattern` on each printed line it matches, in order."""
    compiled = re.compile(pattern, flags) if isinstance(pattern, str) else pattern
    found = []
    for line in (text or "").splitlines():
        match = compiled.search(line)
        if match:
            found.append(match.groups() or (match.group(0),))
    return found
