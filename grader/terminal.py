"""The terminal sink: the rubric as text for `rnngrade check` and `grade`. The words it
shares with the other sinks (points, a check's lines, an item's text) are grader/views.py's."""
from __future__ import annotations

import statistics
import sys

from .outcomes import BatchResult, ItemScore, SubmissionResult
from .views import (FAIL as _FAIL, PASS as _PASS, UNCONFINED, all_or_nothing_note, answer_hint, check_lines,
                    clip, fmt_points, missing_answer, rubric_order)

_ANSI = {"green": "32", "red": "31", "yellow": "33", "bold": "1", "dim": "2"}
_PENDING = "…"


# --- terminal rendering --------------------------------------------------------------

def render(result: SubmissionResult, *, color: bool) -> str:
    """The rubric in the terminal: items with points and a mark, failed checks detailed,
    reasons, pending manual items, run errors, notes, then the total."""
    paint = _painter(color)
    items = rubric_order(result.items)
    width = min(max([len(f"{i.number}. {i.name}") for i in items] + [20]), 60)

    out = [paint("bold", f"{result.pack} — {result.pack_title}"),
           paint("dim", f"student: {result.student}   seed: {result.seed}   "
                        f"sandbox: {result.sandbox}   mode: {result.mode}")]
    if result.sandbox == "none":
        out.append(paint("red", UNCONFINED))
    if result.error:
        out.append(paint("red", f"Submission problem: {result.error}"))
    out.append("")
    for item in items:
        out.extend(_item_block(item, width, paint))
    out.extend(_run_problems(result, paint))
    if result.notes:
        out.append("")
        out.extend(paint("dim", f"note: {n}") for n in result.notes)
    out.append("")
    out.append(paint("bold", _total_line(result)))
    if result.provisional:
        out.append(paint("yellow", "PROVISIONAL: training ran in budget mode (capped); the "
                                   "accuracy figures are not the final grade."))
    return "\n".join(out) + "\n"


def _item_block(item: ItemScore, width: int, paint) -> list[str]:
    title = f"{item.number}. {item.name}"
    if len(title) > width:
        title = title[: width - 1] + "…"
    if item.pending:
        mark, score, tail = paint("yellow", _PENDING), f"pending/{fmt_points(item.max_points)}", \
            paint("yellow", "  scored by a TA")
    else:
        ok = item.status == "passed"
        mark = paint("green" if ok else "red", _PASS if ok else _FAIL)
        score, tail = f"{fmt_points(item.points)}/{fmt_points(item.max_points)}", ""
    if item.provisional:
        tail += paint("yellow", "  PROVISIONAL")
    lines = [f" {mark} {title.ljust(width)}  {score.rjust(9)}{tail}"]
    detail: list[str] = []
    if missing_answer(item):  # not lost: pending, and the student can still say where it is
        detail.append(paint("yellow", f"{item.reason or 'no answer found'}. {answer_hint(item)}"))
    elif item.reason:
        detail.append(paint("red", f"reason: {item.reason}"))
    if all_or_nothing_note(item):
        detail.append(paint("red", all_or_nothing_note(item)))
    for check in item.checks:
        if check.passed:
            continue  # the terminal stays short: passed checks are implied by the mark
        head, *rest = check_lines(check)
        detail.append(paint("yellow" if check.unreached else "red", head))
        detail.extend("    " + line for text in rest for line in text.splitlines())
    lines.extend("      " + line for text in detail for line in text.splitlines())
    return lines


def _run_problems(result: SubmissionResult, paint) -> list[str]:
    """Runs that did not finish cleanly: the student needs the error to fix anything."""
    lines: list[str] = []
    for run in result.runs:
        if run.status == "ok" and run.error is None:
            continue
        where = run.file or run.unit
        text = f"{where}: {run.status}"
        if run.error is not None:
            text += f" — {run.error.one_line()}"
        lines.append(paint("red", text))
        if run.error is not None and run.error.line:
            lines.append(f"    {run.error.line.strip()}")
    return ([""] + lines) if lines else []


def _total_line(result: SubmissionResult) -> str:
    text = f"Total: {fmt_points(result.score)}/{fmt_points(result.max_score)}"
    pending = result.pending_points
    if pending:
        text += (f"  (auto {fmt_points(result.auto_score)}/{fmt_points(result.auto_max)}, "
                 f"{fmt_points(pending)} points pending manual grading)")
    return text


def _painter(color: bool):
    def paint(style: str, text: str) -> str:
        return f"\033[{_ANSI[style]}m{text}\033[0m" if color and text else text
    return paint


def render_batch(batch: BatchResult) -> str:
    """One line per student (sorted), the inputs that failed, then a totals line."""
    results = sorted(batch.results, key=lambda r: r.student)
    width = max([len(r.student) for r in results] + [7])
    lines = [f"{batch.pack} — {batch.pack_title}: {len(results)} graded, "
             f"{len(batch.failures)} could not be graded"]
    if any(r.sandbox == "none" for r in results):
        lines.append(_painter(sys.stdout.isatty())("red", UNCONFINED))
    for r in results:
        flags = []
        pending = r.pending_points
        if pending:
            flags.append(f"{fmt_points(pending)} pending")
        if r.provisional:
            flags.append("provisional")
        if r.error:
            flags.append(f"error: {clip(r.error, 80)}")
        score = f"{fmt_points(r.score)}/{fmt_points(r.max_score)}"
        lines.append(f"  {r.student.ljust(width)}  {score.rjust(9)}  {', '.join(flags)}".rstrip())
    for path, reason in batch.failures:
        lines.append(f"  FAILED {path}: {reason}")
    lines.append(_batch_totals(results))
    return "\n".join(lines) + "\n"


def _batch_totals(results: list[SubmissionResult]) -> str:
    if not results:
        return "No submission could be graded."
    if any(r.pending_points for r in results):  # pending manual points are not lost
        totals = [r.auto_score for r in results]
        top = fmt_points(max(r.auto_max for r in results))
        waiting = sum(1 for r in results if r.pending_points)
        return (f"auto-graded points: mean {fmt_points(statistics.fmean(totals))}/{top}, "
                f"median {fmt_points(statistics.median(totals))}, "
                f"min {fmt_points(min(totals))}, max {fmt_points(max(totals))} "
                f"(manual items pending for {waiting} student{'s' if waiting != 1 else ''})")
    totals = [r.score for r in results]
    top = fmt_points(max(r.max_score for r in results))
    return (f"mean {fmt_points(statistics.fmean(totals))}/{top}, "
            f"median {fmt_points(statistics.median(totals))}, "
            f"min {fmt_points(min(totals))}, max {fmt_points(max(totals))}")
