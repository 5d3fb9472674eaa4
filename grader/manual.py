"""The TA's scores for manual items: validated on the way in, kept in OUT/manual.json.

Two ways in, one rule: a score is a number in [0, the item's points] for a manual item of
the pack, for a student of the batch. Anything else is refused with a line naming the row
and the column (the CSV) or the field (the review form): nothing is capped, dropped or
guessed.

The CSV (`grade --manual FILE`): a `student` column, then one column per manual item id,
optionally a `<item id> comment` column per item; an item whose rubric has `levels` also
takes a `<item id> level` column (the level's number, 1 = lowest, or its name; level k of n
is worth k / n x the item's points). Blank cells leave an item unscored.

OUT/manual.json: {"format": 1, "scores": {student: {item id: {"points": x, "comment": "..."}}}}.
`grade` merges the CSV into it; `review` writes it on every save; both re-apply it to the
stored results (grader.store) to build every page and grades.csv.
"""
from __future__ import annotations

import csv
import json
import math
from dataclasses import replace
from pathlib import Path
from typing import Iterable

from . import score
from .outcomes import SubmissionResult
from .packs import ItemSpec, PackSpec
from .results_json import write_json

MANUAL_NAME = "manual.json"
COMMENT_LIMIT = 4000
FORMAT = 1

Entry = dict  # {"points": float, "comment": str}
Scores = dict  # student -> item id -> Entry


class ManualError(Exception):
    """Every problem found, one line each (row and column named)."""

    def __init__(self, lines: list[str]):
        super().__init__("\n".join(lines))
        self.lines = lines


def manual_items(spec: PackSpec) -> dict[str, ItemSpec]:
    return {i.id: i for i in spec.items if i.kind == "manual"}


def parse_points(text: str, item: ItemSpec) -> tuple[float | None, str | None]:
    """(points, None) or (None, why not). Blank is (None, None): not scored."""
    text = (text or "").strip()
    if not text:
        return None, None
    try:
        value = float(text)
    except ValueError:
        return None, f"{text!r} is not a number (points for {item.id} are 0 to {item.points:g})"
    if not math.isfinite(value):
        return None, f"{text!r} is not a finite number"
    if value < 0 or value > item.points:
        return None, f"{value:g} is out of range: {item.id} is worth 0 to {item.points:g} points"
    return value, None


def level_points(item: ItemSpec, level: int) -> float:
    """Level k of n (1 = lowest) is worth k / n x the item's points."""
    return round(level / len(item.levels) * item.points, 4)


def level_choices(item: ItemSpec) -> list[tuple[str, float]]:
    """(label, points) per level, highest first, for the review form."""
    n = len(item.levels)
    return [(f"{k} {item.levels[k - 1]}", level_points(item, k)) for k in range(n, 0, -1)]


def parse_level(text: str, item: ItemSpec) -> tuple[float | None, str | None]:
    """A level (its number 1..n or its name) -> (points, None), or (None, why not)."""
    text = (text or "").strip()
    if not text:
        return None, None
    names = [n.lower() for n in item.levels]
    if not item.levels:
        return None, f"{item.id} is not scored on levels: give points (0 to {item.points:g})"
    if text.lower() in names:
        return level_points(item, names.index(text.lower()) + 1), None
    if text.isdigit() and 1 <= int(text) <= len(names):
        return level_points(item, int(text)), None
    return None, (f"{text!r} is not a level of {item.id} (1 to {len(names)}: "
                  f"{', '.join(item.levels)})")


def read_manual_csv(path: Path, spec: PackSpec, students: Iterable[str]) -> Scores:
    """The TA's CSV, validated against the pack's manual items and the batch's students.
    Raises ManualError listing every problem."""
    path = Path(path)
    known = set(students)
    items = manual_items(spec)
    all_items = {i.id for i in spec.items}
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ManualError([f"{path}: no such file"])
    except (OSError, UnicodeDecodeError) as exc:
        raise ManualError([f"{path}: cannot be read ({exc})"])
    reader = csv.reader(text.splitlines())
    header = [h.strip() for h in next(reader, [])]
    problems: list[str] = []
    if "student" not in header:
        raise ManualError([f"{path}: row 1: no `student` column (the header must be `student` "
                           f"followed by manual item ids: {', '.join(items) or 'this pack has none'})"])
    columns: dict[int, tuple[str, str]] = {}  # index -> (item id, "points" | "comment")
    for col, name in enumerate(header):
        where = f"{path}: row 1, column {col + 1} ({name!r})"
        if name == "student":
            continue
        item_id, kind = name, "points"
        for suffix, what in ((" comment", "comment"), (":comment", "comment"), ("_comment", "comment"),
                             (" level", "level"), (":level", "level"), ("_level", "level")):
            if name.endswith(suffix):
                item_id, kind = name[: -len(suffix)], what
        if item_id in items:
            if (item_id, kind) in columns.values():
                problems.append(f"{where}: a second column for {item_id}")
            columns[col] = (item_id, kind)
        elif item_id in all_items:
            problems.append(f"{where}: {item_id} is an automatic item; only manual items take TA "
                            f"scores ({', '.join(items)})")
        else:
            problems.append(f"{where}: unknown column; manual items of {spec.id} are "
                            f"{', '.join(items) or 'none'}")
    student_col = header.index("student")
    scores: Scores = {}
    seen: dict[str, int] = {}
    for rownum, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(header):
            problems.append(f"{path}: row {rownum}: {len(row)} cells for {len(header)} columns")
        student = row[student_col].strip() if student_col < len(row) else ""
        if not student:
            problems.append(f"{path}: row {rownum}, column {student_col + 1} (student): empty")
            continue
        if student not in known:
            problems.append(f"{path}: row {rownum}, column {student_col + 1} (student): unknown "
                            f"student {student!r} (not in this batch or the output folder)")
            continue
        if student in seen:
            problems.append(f"{path}: row {rownum}: {student!r} again (first on row {seen[student]})")
            continue
        seen[student] = rownum
        entries: dict[str, Entry] = {}
        for col, (item_id, kind) in columns.items():
            cell = row[col] if col < len(row) else ""
            if kind == "comment":
                if cell.strip():
                    entries.setdefault(item_id, {})["comment"] = cell.strip()[:COMMENT_LIMIT]
                continue
            parse = parse_level if kind == "level" else parse_points
            value, why = parse(cell, items[item_id])
            if why:
                problems.append(f"{path}: row {rownum}, column {col + 1} ({header[col]}): {why}")
            elif value is not None:
                if "points" in entries.get(item_id, {}):
                    problems.append(f"{path}: row {rownum}, column {col + 1} ({header[col]}): "
                                    f"{item_id} has both points and a level; give one")
                entries.setdefault(item_id, {})["points"] = value
        for item_id, entry in entries.items():
            if "points" not in entry:
                problems.append(f"{path}: row {rownum} ({item_id}): a comment without points")
        if entries:
            scores[student] = {k: {"points": v["points"], "comment": v.get("comment", "")}
                               for k, v in entries.items() if "points" in v}
    if problems:
        raise ManualError(problems)
    return scores


def from_results(results: Iterable[SubmissionResult]) -> Scores:
    """The TA scores already inside results (manual items that are not pending)."""
    scores: Scores = {}
    for result in results:
        for item in result.items:
            if item.kind == "manual" and not item.pending:
                scores.setdefault(result.student, {})[item.id] = {"points": float(item.points),
                                                                  "comment": item.comment or ""}
    return scores


def as_points(scores: Scores) -> dict[str, dict[str, float]]:
    """student -> item id -> points: what grade_submission takes."""
    return {s: {i: e["points"] for i, e in entries.items()} for s, entries in scores.items()}


# -- OUT/manual.json --------------------------------------------------------------------------

def read_manual_json(out: Path, spec: PackSpec | None = None) -> Scores:
    path = Path(out) / MANUAL_NAME
    if not path.is_file():
        return {}
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        scores = doc["scores"]
        if not isinstance(scores, dict):
            raise TypeError("scores is not an object")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ManualError([f"{path}: cannot be read ({type(exc).__name__}: {exc})"])
    problems = []
    clean: Scores = {}
    items = manual_items(spec) if spec else None
    for student, entries in scores.items():
        for item_id, entry in (entries or {}).items():
            where = f"{path}: {student} / {item_id}"
            if items is not None and item_id not in items:
                problems.append(f"{where}: not a manual item of {spec.id}")
                continue
            points = entry.get("points") if isinstance(entry, dict) else None
            if isinstance(points, bool) or not isinstance(points, (int, float)):
                problems.append(f"{where}: points {points!r} is not a number")
                continue
            if items is not None:
                _, why = parse_points(repr(float(points)), items[item_id])
                if why:
                    problems.append(f"{where}: {why}")
                    continue
            clean.setdefault(student, {})[item_id] = {"points": float(points),
                                                      "comment": str(entry.get("comment") or "")}
    if problems:
        raise ManualError(problems)
    return clean


def write_manual_json(out: Path, scores: Scores) -> Path:
    doc = {"format": FORMAT, "scores": {s: dict(sorted(e.items())) for s, e in sorted(scores.items()) if e}}
    return write_json(doc, Path(out) / MANUAL_NAME)


def merged(old: Scores, new: Scores) -> Scores:
    """`new` wins item by item; items only in `old` stay."""
    out = {s: dict(e) for s, e in old.items()}
    for student, entries in new.items():
        out.setdefault(student, {}).update(entries)
    return out


# -- applying scores to a stored result ----------------------------------------------------

def apply(result: SubmissionResult, spec: PackSpec, entries: dict[str, Entry] | None) -> SubmissionResult:
    """The result with its manual items scored from `entries` (pending where absent). Built
    from the rubric, never from the stored item's points: clearing a score makes it pending."""
    items = manual_items(spec)
    entries = entries or {}
    new = []
    for item in result.items:
        ispec = items.get(item.id)
        if item.kind != "manual" or ispec is None:
            new.append(item)
            continue
        entry = entries.get(item.id)
        scored = score.manual_item(ispec, answer=item.answer,
                                   ta_points=None if entry is None else entry["points"])
        new.append(replace(scored, number=item.number, name=item.name, public=item.public,
                           comment=(entry or {}).get("comment") or None,
                           checks=item.checks, level_cap=item.level_cap))
    return replace(result, items=tuple(new))


def strip(result: SubmissionResult, spec: PackSpec) -> SubmissionResult:
    """The result as the grader computed it, without any TA score (what grader.store keeps)."""
    return apply(result, spec, {})
