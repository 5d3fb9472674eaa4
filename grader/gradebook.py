"""The gradebook sink: grades.csv, one row per student.

Columns: student, (name, email, sid: when known, from a Gradescope export or a --roster
CSV), total, max, one column per rubric item id (rubric order), status,
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

from dataclasses import dataclass, replace

from .outcomes import BatchResult, ItemScore, SubmissionResult
from .views import fmt_points, rubric_order

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
    """Known people (a Gradescope export or a roster): grades.csv then carries name, email
    and SID after `student`."""
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
    if result.provisional:
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


# -- roster (--roster) -----------------------------------------------------------------------

ROSTER_COLUMNS = ("student", "name", "email", "sid")


class RosterError(Exception):
    """A roster that cannot be used: one line naming the file, row and column."""


@dataclass(frozen=True)
class Person:
    name: str = ""
    email: str = ""
    sid: str = ""
    section: str = ""
    canvas_id: str = ""


def read_roster(path: str | Path) -> dict[str, Person]:
    """A CSV with a `student` column (the submission's folder or file name) and any of
    name, email, sid (optional: section, canvas_id for the Canvas export)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise RosterError(f"roster {path}: no such file") from None
    except (OSError, UnicodeError) as exc:
        raise RosterError(f"roster {path}: cannot be read ({exc})") from None
    reader = csv.DictReader(text.splitlines())
    fields = [(f or "").strip().lower() for f in reader.fieldnames or []]
    if "student" not in fields:
        raise RosterError(f"roster {path}: no `student` column (the header must name student, name, email, sid; "
                          f"found {', '.join(fields) or 'nothing'})")
    if not {"name", "email", "sid"} & set(fields):
        raise RosterError(f"roster {path}: none of the columns name, email, sid (found {', '.join(fields)})")
    people: dict[str, Person] = {}
    for number, raw in enumerate(reader, start=2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items() if isinstance(v, str)}
        student = row.get("student", "")
        if not student:
            raise RosterError(f"roster {path}, row {number}: the `student` cell is empty")
        if student in people:
            raise RosterError(f"roster {path}, row {number}: student {student!r} is listed twice")
        people[student] = Person(row.get("name", ""), row.get("email", ""), row.get("sid", ""),
                                 row.get("section", ""), row.get("canvas_id", ""))
    return people


def apply_roster(batch: BatchResult, roster: dict[str, Person]) -> list[str]:
    """Fill name, email and sid of results that have none (a Gradescope export's own metadata
    wins). Returns the graded students the roster does not list."""
    unlisted = []
    for index, result in enumerate(batch.results):
        person = roster.get(result.student)
        if person is None:
            if not result.submitters:
                unlisted.append(result.student)
            continue
        if not result.submitters:
            batch.results[index] = replace(result, submitters=((person.name, person.email, person.sid),))
    return unlisted


# -- Canvas (--canvas) -----------------------------------------------------------------------

CANVAS_HEAD = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]


def canvas_rows(batch: BatchResult, roster: dict[str, Person] | None = None) -> tuple[list[list[str]], list[str]]:
    """Canvas's gradebook import layout: Student, ID, SIS User ID, SIS Login ID, Section, then
    one assignment column, a "Points Possible" row, one row per person (each member of a
    group). Canvas matches rows by ID, SIS User ID or SIS Login ID (here: roster canvas_id,
    sid, email). A total that is not final (manual points pending) is left blank, which
    Canvas reads as "no change"; those students are returned."""
    roster = roster or {}
    max_score = max((r.max_score for r in batch.results), default=0.0)
    head = [*CANVAS_HEAD, f"{batch.pack_title} ({batch.pack})"]
    rows = [head, ["Points Possible", "", "", "", "", fmt_points(max_score)]]
    held = []
    for result in sorted(batch.results, key=lambda r: r.student):
        pending = any(i.pending for i in result.items)
        if pending:
            held.append(result.student)
        people = result.submitters or (("", "", ""),)
        extra = roster.get(result.student, Person())
        for name, email, sid in people:
            rows.append([_cell(name or result.student), _cell(extra.canvas_id), _cell(sid), _cell(email),
                         _cell(extra.section), "" if pending else fmt_points(result.score)])
    return rows, held


def write_canvas_csv(batch: BatchResult, path: str | Path, roster: dict[str, Person] | None = None
                     ) -> tuple[Path, list[str]]:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rows, held = canvas_rows(batch, roster)
    with path.open("w", newline="", encoding="utf-8", errors="replace") as f:
        csv.writer(f).writerows(rows)
    return path, held
