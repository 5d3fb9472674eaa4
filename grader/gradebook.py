"""The gradebook sink: grades.csv, one row per student.

Columns: student, (name, email, sid: Gradescope exports only), total, max, one column per rubric item id (rubric order), status,
error. A manual item still pending is left blank (not 0) so a TA sees what is left to
score; `status` says which rows are not final:

- complete     every item scored, nothing provisional
- pending      manual items await a TA (their cells are blank)
- provisional  budget-mode training: not the final grade (`--train full` for that)
- error        the submission had a problem (see `error`); its items still have scores
- failed       an input that could not be graded at all (a batch failure: no scores)
"""
from __future__ import annotations

import csv
from pathlib import Path

from .outcomes import BatchResult, ItemScore, SubmissionResult
from .terminal import fmt_points, is_provisional, rubric_order

# Spreadsheets run cells starting with these as formulas: student-controlled text
# (ids, error messages) is prefixed with a quote so a CSV opened in Excel stays data.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def rubric_columns(batch: BatchResult) -> list[ItemScore]:
    """One representative ItemScore per item id, in rubric order (first result wins)."""
    seen: dict[str, ItemScore] = {}
    for result in batch.results:
        for item in result.items:
            seen.setdefault(item.id, item)
    return rubric_order(seen.values())


def has_submitters(batch: BatchResult) -> bool:
    """A Gradescope export: grades.csv then carries name, email and SID after `student`."""
    return any(r.submitters for r in batch.results)


def header(batch: BatchResult) -> list[str]:
    people = ["name", "email", "sid"] if has_submitters(batch) else []
    return ["student", *people, "total", "max", *[i.id for i in rubric_columns(batch)], "status", "error"]


def rows(batch: BatchResult) -> list[list[str]]:
    ids = [i.id for i in rubric_columns(batch)]
    people = has_submitters(batch)
    out = [_row(r, ids, people) for r in sorted(batch.results, key=lambda r: r.student)]
    for path, reason in batch.failures:
        out.append([_cell(path), *([""] * 3 if people else []), "", "", *[""] * len(ids), "failed",
                    _cell(reason)])
    return out


def write_grades_csv(batch: BatchResult, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8", errors="replace") as f:
        writer = csv.writer(f)
        writer.writerow(header(batch))
        writer.writerows(rows(batch))
    return path


def row_status(result: SubmissionResult) -> str:
    if result.error:
        return "error"
    if is_provisional(result):
        return "provisional"
    if any(i.pending for i in result.items):
        return "pending"
    return "complete"


def _row(result: SubmissionResult, ids: list[str], people: bool = False) -> list[str]:
    by_id = {i.id: i for i in result.items}
    cells = [_item_cell(by_id.get(item_id)) for item_id in ids]
    # a group submission: one cell per field, the group's members joined with "; "
    who = ([_cell("; ".join(p[k] for p in result.submitters)) for k in range(3)] if people else [])
    return [_cell(result.student), *who, fmt_points(result.score), fmt_points(result.max_score),
            *cells, row_status(result), _cell(result.error or "")]


def _item_cell(item: ItemScore | None) -> str:
    if item is None or item.pending:
        return ""
    return fmt_points(item.points)


def _cell(text: str) -> str:
    text = " ".join(str(text).split())  # one physical line per row, whatever the message
    return "'" + text if text.startswith(_FORMULA_START) else text
