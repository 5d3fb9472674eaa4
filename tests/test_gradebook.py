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


# -- --roster and --canvas -------------------------------------------------------------------

import pytest  # noqa: E402

from grader import gradebook  # noqa: E402


def _roster(tmp_path, text):
    path = tmp_path / "roster.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_roster_fills_name_email_sid_in_grades_csv(tmp_path):
    batch = make_batch()
    roster = gradebook.read_roster(_roster(tmp_path, "Student,Name,Email,SID\n"
                                                     "alice,Alice Liddell,alice@uni.edu,1001\n"
                                                     "carol,\"Carol, C.\",carol@uni.edu,1003\n"
                                                     "zoe,Zoe Z,zoe@uni.edu,1026\n"))
    assert gradebook.apply_roster(batch, roster) == ["bob"]  # graded, not on the roster
    table = list(csv.reader(write_grades_csv(batch, tmp_path / "g.csv").open(newline="")))
    assert table[0][:6] == ["student", "name", "email", "sid", "total", "max"]
    assert table[1][:5] == ["alice", "Alice Liddell", "alice@uni.edu", "1001", "10"]
    assert table[2][:5] == ["bob", "", "", "", "13.5"]
    assert table[3][:5] == ["carol", "Carol, C.", "carol@uni.edu", "1003", "25"]


def test_gradescope_metadata_wins_over_the_roster(tmp_path):
    from dataclasses import replace

    batch = make_batch()
    batch.results[0] = replace(batch.results[0], submitters=(("Carol GS", "c@gs.com", "77"),))
    roster = gradebook.read_roster(_roster(tmp_path, "student,name,email,sid\ncarol,Other,o@x,1\n"))
    gradebook.apply_roster(batch, roster)
    assert batch.results[0].submitters == (("Carol GS", "c@gs.com", "77"),)


@pytest.mark.parametrize("text, message", [
    ("name,email,sid\nAlice,a@x,1\n", "no `student` column"),
    ("student,nickname\nalice,al\n", "none of the columns name, email, sid"),
    ("student,name\nalice,A\nalice,B\n", "row 3: student 'alice' is listed twice"),
    ("student,name\n,A\n", "row 2: the `student` cell is empty"),
])
def test_a_bad_roster_is_refused_with_the_row(tmp_path, text, message):
    with pytest.raises(gradebook.RosterError, match=message.replace("`", ".").replace("'", ".")):
        gradebook.read_roster(_roster(tmp_path, text))


def test_a_missing_roster_file_is_one_line(tmp_path):
    with pytest.raises(gradebook.RosterError, match="no such file"):
        gradebook.read_roster(tmp_path / "nope.csv")


def test_canvas_csv_layout(tmp_path):
    from dataclasses import replace

    batch = make_batch()
    # carol is complete (no pending item), alice and bob still have manual items pending
    carol = batch.results[0]
    batch.results[0] = replace(carol, items=tuple(i for i in carol.items if not i.pending),
                               submitters=(("Carol C", "carol@uni.edu", "1003"), ("Dan D", "dan@uni.edu", "1004")))
    roster = gradebook.read_roster(_roster(tmp_path, "student,name,email,sid,section\ncarol,C,c@x,9,L01\n"))
    path, held = gradebook.write_canvas_csv(batch, tmp_path / "canvas.csv", roster)
    table = list(csv.reader(path.open(newline="")))
    assert table[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section",
                        "LSTM-RNN In Class: vanilla RNN sentence classifier (lab7-inclass)"]
    assert table[1] == ["Points Possible", "", "", "", "", "30"]
    assert table[2:] == [
        ["alice", "", "", "", "", ""],  # pending: blank, Canvas keeps what it has
        ["bob", "", "", "", "", ""],
        ["Carol C", "", "1003", "carol@uni.edu", "L01", "25"],  # a group: one row per member
        ["Dan D", "", "1004", "dan@uni.edu", "L01", "25"],
    ]
    assert held == ["alice", "bob"]
