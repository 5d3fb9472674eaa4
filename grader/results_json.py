"""The Gradescope sink: results.json in the fixed schema of ARCHITECTURE.md.

One entry in `tests` per rubric item, in rubric order. The top-level `extra_data`
carries the fixed keys (assignment, student, seed, sandbox, error) plus a few more
for tools that read the file (mode, provisional, runs, notes). The output is always
strict JSON: NaN and infinities become null, anything unexpected becomes a string.
"""
from __future__ import annotations

import functools
import json
import math
import os
from pathlib import Path
from typing import Any

from .outcomes import Check, ItemScore, SubmissionResult, UnitRun
from .views import UNCONFINED, clip, fmt_points, item_text, rubric_order, summary_line

# extra_data fields echo what checks reported; bound them so a runaway repr cannot
# make the file too large for Gradescope (which caps results.json at about 1 MB).
_FIELD_LIMIT = 4000


def to_results_json(result: SubmissionResult, visibility: dict[str, str] | None = None) -> dict:
    """The results.json document for one submission (a JSON-safe dict). `visibility` maps
    item ids to Gradescope visibilities; by default it is read from the pack's rubric."""
    shown = _visibilities(result.pack) if visibility is None else visibility
    doc = {
        "score": result.score,
        "max_score": result.max_score,
        "execution_time": result.seconds,
        "output": _output(result),
        "tests": [_test(item, shown.get(item.id, "visible"), result.pack) for item in rubric_order(result.items)],
        "extra_data": _extra(result),
    }
    return _json_safe(doc)


def to_gradescope_json(result: SubmissionResult, *, visibility: dict[str, str] | None = None,
                       stdout_visibility: str = "hidden", show_manual: bool = False) -> dict:
    """Gradescope's own copy (run_autograder): only the keys of Gradescope's specification,
    `status` only passed/failed, and the score the autograder owns (the automatic items).

    Manual items are graded on Gradescope as manual questions, so they are left out; with
    `show_manual` they are listed with no score, no max_score and no status (neutral: no
    points lost, nothing "failed") and the student's extracted answer in their output."""
    shown = _visibilities(result.pack) if visibility is None else visibility
    tests = []
    for item in rubric_order(result.items):
        if item.kind == "manual":
            if show_manual:
                tests.append({"name": item.name, "number": str(item.number), "output": _manual_text(item),
                              "visibility": shown.get(item.id, "visible"),
                              "extra_data": {"item": item.id, "kind": item.kind, "pending": item.pending}})
            continue
        test = _test(item, shown.get(item.id, "visible"), result.pack)
        test["status"] = "passed" if item.points >= item.max_points - 1e-9 else "failed"
        tests.append(test)
    extra = _extra(result)
    extra["max_score"] = result.auto_max
    output = _output(result).split("\n")
    output[0] = f"{result.pack}: autograded {fmt_points(result.auto_score)}/{fmt_points(result.auto_max)}."
    manual = [i for i in result.items if i.kind == "manual"]
    if manual:
        output[0] += (f" {fmt_points(sum(i.max_points for i in manual))} more points "
                      f"({', '.join(i.name.split(':')[0] for i in rubric_order(manual))}) are graded "
                      "by hand by the course staff.")
    if result.provisional:
        output[0] += " Provisional: training ran in budget mode."
    doc = {
        "score": result.auto_score,
        "execution_time": max(0, round(result.seconds)),
        "output": "\n".join(output),
        "output_format": "text",
        "stdout_visibility": stdout_visibility,
        "tests": tests,
        "extra_data": extra,
    }
    return _json_safe(doc)


def _manual_text(item: ItemScore) -> str:
    lines = ["Graded by hand by the course staff on Gradescope; this entry carries no points."]
    if item.answer:
        lines += ["", "Your answer as the grader found it:", clip(item.answer, 2000)]
    else:
        lines += ["", "No answer to this question was found in your files."]
    return "\n".join(lines)


def write_results_json(result: SubmissionResult, path: str | Path) -> Path:
    return write_json(to_results_json(result), path)


def write_json(doc: dict, path: str | Path) -> Path:
    """Strict JSON, written atomically (a half-written results.json never exists)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(_json_safe(doc), indent=2, ensure_ascii=False, allow_nan=False)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    tmp.write_text(text + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


@functools.lru_cache(maxsize=None)
def _pack_visibilities(pack_id: str) -> tuple[tuple[str, str], ...]:
    from .packs import load_pack

    try:
        return tuple((i.id, i.visibility) for i in load_pack(pack_id).spec.items)
    except Exception:  # a result whose pack is gone (old output folders): everything visible
        return ()


@functools.lru_cache(maxsize=None)
def _leveled(pack_id: str) -> frozenset[str]:
    """Ids of the pack's manual items scored on levels."""
    from .packs import load_pack

    try:
        return frozenset(i.id for i in load_pack(pack_id).spec.items if i.levels)
    except Exception:
        return frozenset()


def _visibilities(pack_id: str) -> dict[str, str]:
    return dict(_pack_visibilities(pack_id))


def _output(result: SubmissionResult) -> str:
    lines = [summary_line(result),
             f"Sandbox: {result.sandbox}. Seed: {result.seed}. Mode: {result.mode}."]
    if result.sandbox == "none":
        lines.insert(0, UNCONFINED)
    for run in result.runs:
        if run.error is not None:
            lines.append(f"{run.file or run.unit}: {run.status}: {clip(run.error.one_line(), 500)}")
        elif run.status != "ok":
            lines.append(f"{run.file or run.unit}: {run.status}")
    return "\n".join(lines)


def _test(item: ItemScore, visibility: str = "visible", pack: str = "") -> dict:
    # a manual item a TA has not scored yet has no status (Gradescope's status is optional):
    # "failed" would show a student's unread answer in red
    return {
        "name": item.name,
        "number": str(item.number),
        "score": item.points,
        "max_score": item.max_points,
        **({} if item.pending else {"status": item.status}),
        "output": item_text(item),
        "visibility": visibility,
        "extra_data": {"item": item.id, "kind": item.kind, "pending": item.pending,
                       "checks": [_check(c) for c in item.checks],
                       # manual items on levels: the highest level the evidence allows (null: no cap)
                       **({"level_cap": item.level_cap} if item.kind == "manual" and (
                           item.level_cap is not None or item.id in _leveled(pack)) else {}),
                       **({"comment": item.comment} if item.comment else {})},
    }


def _check(check: Check) -> dict:
    return {"name": check.name, "passed": check.passed, "points": check.points,
            "expected": _bounded(check.expected), "observed": _bounded(check.observed),
            "hint": _bounded(check.hint)}


def _extra(result: SubmissionResult) -> dict:
    return {
        "assignment": result.pack,
        "student": result.student,
        "seed": result.seed,
        "sandbox": result.sandbox,
        "error": result.error,
        "mode": result.mode,
        "provisional": result.provisional,
        "auto_score": result.auto_score,
        "auto_max": result.auto_max,
        "pending_points": result.pending_points,
        "student_seconds": result.student_seconds,
        "runs": [_run(r) for r in result.runs],
        "notes": list(result.notes),
        "submitters": [{"name": n, "email": e, "sid": s} for n, e, s in result.submitters],
        "report_checks": [_check(c) for c in result.report_checks],
    }


def _run(run: UnitRun) -> dict:
    error = None
    if run.error is not None:
        error = {"type": run.error.type, "message": _bounded(run.error.message),
                 "where": run.error.where, "lineno": run.error.lineno, "line": run.error.line}
    return {"unit": run.unit, "file": run.file, "status": run.status, "seconds": run.seconds,
            "error": error, "figures": len(run.figures), "notes": list(run.notes)}


def _bounded(text: str | None) -> str | None:
    return None if text is None else clip(text, _FIELD_LIMIT)


def _json_safe(value: Any) -> Any:
    """Make `value` strict-JSON serialisable whatever a check or the engine put in it:
    non-finite floats -> None, numpy scalars -> Python numbers, lone surrogates replaced,
    unknown objects -> their str()."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, dict):
        return {str(_json_safe(k)): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, bytes):
        return _json_safe(value.decode("utf-8", "replace"))
    item = getattr(value, "item", None)  # numpy scalars (np.float32(nan), np.int64(3))
    if callable(item):
        try:
            return _json_safe(item())
        except (TypeError, ValueError):
            pass
    return _json_safe(str(value))
