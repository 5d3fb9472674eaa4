from __future__ import annotations

import csv

from grader.gradebook import header, rows, write_grades_csv
from grader.outcomes import BatchResult
from results_factory import items, make_batch, make_result

HEADER = ["student", "total", "max", "init-weights", "forward", "manual-sgd", "predictions",
          "q-hidden-state", "q-hard-to-train", "status", "error"]


def test_header_follows_the_rubric():
    assert header(make_batch()) == HEADER


def test_rows_one_per_student_sorted_then_failures(tmp_path):
    path = write_grades_csv(make_batch(), tmp_path / "grades.csv")
    with path.open(newline="", encoding="utf-8") as f:
        table = list(csv.reader(f))
    assert table == [
        HEADER,
        ["alice", "10", "30", "5", "0", "0", "5", "", "", "pending", ""],
        # a student-controlled message that starts like a formula stays text in Excel
        ["bob", "13.5", "30", "5", "1", "5", "2.5", "", "", "error",
         "'=HYPERLINK(\"http://evil\") crashed"],
        ["carol", "25", "30", "5", "5", "5", "5", "5", "", "pending", ""],
        ["subs/dave.zip", "", "", "", "", "", "", "", "", "failed", "not a zip file"],
    ]


def test_column_order_is_stable_whatever_the_item_order():
    batch = BatchResult("lab7-inclass", "t", results=[
        make_result("zed", item_list=tuple(reversed(items()))), make_result("amy")])
    assert header(batch) == HEADER
    assert rows(batch)[1][:9] == ["zed", "7.5", "30", "5", "0", "0", "2.5", "", ""]


def test_complete_and_provisional_statuses():
    full_marks = items(forward_points=5, sgd_points=5, predictions_points=5)
    done = make_result("x", item_list=tuple(i for i in full_marks if i.kind == "auto"))
    prov = make_result("y", provisional=True)
    table = rows(BatchResult("p", "t", results=[done, prov]))
    assert [r[0] for r in table] == ["x", "y"]
    assert table[0][1:3] == ["20", "20"] and table[0][-2] == "complete"
    assert table[1][-2] == "provisional"


def test_nothing_graded_still_writes_a_header_and_the_failures(tmp_path):
    batch = BatchResult("p", "t", failures=[("a.txt", "no .py or .ipynb file")])
    path = write_grades_csv(batch, tmp_path / "grades.csv")
    assert path.read_text(encoding="utf-8").splitlines() == [
        "student,total,max,status,error", "a.txt,,,failed,no .py or .ipynb file"]
