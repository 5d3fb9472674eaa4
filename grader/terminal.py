"""The terminal sink: the rubric as text for `rnngrade check` and `grade`.

Also home of the small plain-text helpers the other sinks share (points formatting,
a check's expected/observed/hint lines), so that the terminal, results.json and the
HTML say the same thing in the same words.
"""
from __future__ import annotations

import math
import statistics
import sys
from typing import Iterable

from .outcomes import BatchResult, Check, ItemScore, SubmissionResult

UNCONFINED = ("WARNING: student code ran UNCONFINED (--sandbox none): it could read and change anything "
              "the grader's user can, reference solutions included; do not trust scores of hostile code.")

# Student text (observed values, answers, stdout) is bounded everywhere it is shown:
# a hostile or runaway submission must not turn a report into megabytes.
TEXT_LIMIT = 2000

_ANSI = {"green": "32", "red": "31", "yellow": "33", "bold": "1", "dim": "2"}
_PASS, _FAIL, _PENDING = "✓", "✗", "…"


# --- shared plain-text helpers -------------------------------------------------------

def fmt_points(value: float | None) -> str:
    """5.0 -> '5', 2.5 -> '2.5', 17.3333 -> '17.33'; None/NaN -> '–'."""
    if value is None or not isinstance(value, (int, float)) or not math.isfinite(value):
        return "–"
    text = f"{float(value):.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def clip(text: str | None, limit: int = TEXT_LIMIT) -> str:
    """Keep the beginning and the end of a long text (where errors and results usually are)."""
    if text is None:
        return ""
    text = str(text)
    if len(text) <= limit:
        return text
    head = limit * 2 // 3
    tail = limit - head
    cut = len(text) - head - tail
    return f"{text[:head]}\n… ({cut} characters not shown) …\n{text[-tail:]}"


def is_provisional(result: SubmissionResult) -> bool:
    """Budget-mode figures are never the final tier: any provisional item marks the result."""
    return any(item.provisional for item in result.items)


def pending_points(result: SubmissionResult) -> float:
    return round(sum(i.max_points for i in result.items if i.pending), 4)


def rubric_order(items: Iterable[ItemScore]) -> list[ItemScore]:
    return sorted(items, key=lambda i: i.number)


def check_lines(check: Check) -> list[str]:
    """A check as readable lines: headline, then expected / observed / hint when present."""
    mark = _PASS if check.passed else _FAIL
    lines = [f"{mark} {check.name} ({fmt_points(check.points)}/{fmt_points(check.max_points)})"]
    for label, value in (("expected", check.expected), ("observed", check.observed),
                         ("hint", check.hint)):
        if value:
            lines.append(_labelled(label, clip(value)))
    return lines


def all_or_nothing_note(item: ItemScore) -> str | None:
    """An all-or-nothing item scored 0 although some sub-checks passed: say why."""
    if not item.all_or_nothing or item.pending or item.points > 0 or not item.checks:
        return None
    passed = sum(c.passed for c in item.checks)
    if not passed:
        return None
    return (f"All or nothing: {passed} of {len(item.checks)} sub-checks passed, but this item "
            f"scores only when every sub-check passes, so it is 0/{fmt_points(item.max_points)}.")


def answer_hint(item: ItemScore) -> str | None:
    """Where a manual question's answer is looked for."""
    if item.kind != "manual":
        return None
    q = item.question or str(item.number)
    return (f"Answers go in answers.md next to your code (or a markdown cell of your notebook), "
            f"under a heading with the question number, e.g. `## {q}` or `Question {q}`.")


def _missing_answer(item: ItemScore) -> bool:
    return item.kind == "manual" and item.pending and not item.answer


def item_text(item: ItemScore, *, answer_limit: int = TEXT_LIMIT) -> str:
    """The body text of one rubric item (results.json `output`, terminal details)."""
    lines: list[str] = []
    if item.reason:
        lines.append(f"Reason: {item.reason}")
    if all_or_nothing_note(item):
        lines.append(all_or_nothing_note(item))
    if item.pending:
        lines.append("Pending: this question is scored by a TA.")
    if item.level_cap is not None:
        lines.append(f"Proposed level cap: {item.level_cap} (evidence below is missing or wrong; the TA decides)")
    if item.provisional:
        lines.append("Provisional: budget-mode result (training was capped), not the final grade.")
    for check in item.checks:
        head, *details = check_lines(check)
        lines.append(head)
        lines.extend("  " + line for text in details for line in text.splitlines())
    if item.kind == "manual" and item.answer is not None:
        lines.append(_labelled("answer", clip(item.answer, answer_limit)))
    elif item.kind == "manual" and item.pending:
        lines.append("answer: (no answer found in the submission)")
        lines.append(answer_hint(item))
    if item.comment:
        lines.append(_labelled("TA comment", clip(item.comment, answer_limit)))
    if not lines:
        lines.append("All checks passed." if item.status == "passed" else "No details recorded.")
    return "\n".join(lines)


def summary_line(result: SubmissionResult) -> str:
    """One sentence: total, auto part, pending manual points, provisional, error."""
    parts = [f"{result.pack}: {fmt_points(result.score)}/{fmt_points(result.max_score)}"]
    pending = pending_points(result)
    if pending:
        parts.append(f"(auto {fmt_points(result.auto_score)}/{fmt_points(result.auto_max)}; "
                     f"{fmt_points(pending)} points pending manual grading)")
    text = " ".join(parts) + "."
    if is_provisional(result):
        text += " PROVISIONAL: budget-mode training, not the final grade."
    if result.error:
        text += f" Submission problem: {clip(result.error, 300)}"
    return text


def _labelled(label: str, value: str) -> str:
    """'expected: first line' with continuation lines indented under the value."""
    pad = " " * (len(label) + 2)
    first, *rest = value.splitlines() or [""]
    return "\n".join([f"{label}: {first}"] + [pad + line for line in rest])


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
    if is_provisional(result):
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
    if _missing_answer(item):  # not lost: pending, and the student can still say where it is
        detail.append(paint("yellow", f"{item.reason or 'no answer found'}. {answer_hint(item)}"))
    elif item.reason:
        detail.append(paint("red", f"reason: {item.reason}"))
    if all_or_nothing_note(item):
        detail.append(paint("red", all_or_nothing_note(item)))
    for check in item.checks:
        if check.passed:
            continue  # the terminal stays short: passed checks are implied by the mark
        head, *rest = check_lines(check)
        detail.append(paint("red", head))
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
    pending = pending_points(result)
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
        pending = pending_points(r)
        if pending:
            flags.append(f"{fmt_points(pending)} pending")
        if is_provisional(r):
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
    if any(pending_points(r) for r in results):  # pending manual points are not lost
        totals = [r.auto_score for r in results]
        top = fmt_points(max(r.auto_max for r in results))
        waiting = sum(1 for r in results if pending_points(r))
        return (f"auto-graded points: mean {fmt_points(statistics.fmean(totals))}/{top}, "
                f"median {fmt_points(statistics.median(totals))}, "
                f"min {fmt_points(min(totals))}, max {fmt_points(max(totals))} "
                f"(manual items pending for {waiting} student{'s' if waiting != 1 else ''})")
    totals = [r.score for r in results]
    top = fmt_points(max(r.max_score for r in results))
    return (f"mean {fmt_points(statistics.fmean(totals))}/{top}, "
            f"median {fmt_points(statistics.median(totals))}, "
            f"min {fmt_points(min(totals))}, max {fmt_points(max(totals))}")
