"""What every sink says in the same words (terminal, results.json, report.html, grades.csv):
points, bounded student text, a check's expected/observed/hint lines, an item's text.
Plain functions of the result objects (grader/outcomes.py); nothing here renders a whole
page or writes a file."""
from __future__ import annotations

import math
from typing import Iterable

from .outcomes import Check, ItemScore, SubmissionResult

UNCONFINED = ("WARNING: student code ran UNCONFINED (--sandbox none): it could read and change anything "
              "the grader's user can, reference solutions included; do not trust scores of hostile code.")

# Student text (observed values, answers, stdout) is bounded everywhere it is shown:
# a hostile or runaway submission must not turn a report into megabytes.
TEXT_LIMIT = 2000

PASS, FAIL, SKIP = "✓", "✗", "–"


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


def rubric_order(items: Iterable[ItemScore]) -> list[ItemScore]:
    return sorted(items, key=lambda i: i.number)


def check_lines(check: Check) -> list[str]:
    """A check as readable lines: headline, then expected / observed / hint when present."""
    mark = PASS if check.passed else SKIP if check.unreached else FAIL
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


def missing_answer(item: ItemScore) -> bool:
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
    pending = result.pending_points
    if pending:
        parts.append(f"(auto {fmt_points(result.auto_score)}/{fmt_points(result.auto_max)}; "
                     f"{fmt_points(pending)} points pending manual grading)")
    text = " ".join(parts) + "."
    if result.provisional:
        text += " PROVISIONAL: budget-mode training, not the final grade."
    if result.error:
        text += f" Submission problem: {clip(result.error, 300)}"
    return text


def _labelled(label: str, value: str) -> str:
    """'expected: first line' with continuation lines indented under the value."""
    pad = " " * (len(label) + 2)
    first, *rest = value.splitlines() or [""]
    return "\n".join([f"{label}: {first}"] + [pad + line for line in rest])
