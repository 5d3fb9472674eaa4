"""TA scores: the --manual CSV is validated before anyone runs (row and column named, exit 2,
nothing capped or dropped), and OUT/manual.json is applied to stored results."""
from __future__ import annotations

import pytest

from conftest import ROOT
from grader import cli, manual
from grader.packs import load_pack
from results_factory import make_result

SPEC = load_pack("lab7-inclass").spec
STUDENTS = ["alice", "bob"]


def _csv(tmp_path, text):
    path = tmp_path / "scores.csv"
    path.write_text(text)
    return path


def _problems(tmp_path, text, students=STUDENTS):
    with pytest.raises(manual.ManualError) as info:
        manual.read_manual_csv(_csv(tmp_path, text), SPEC, students)
    return info.value.lines


def test_a_good_csv_with_comments_and_blank_cells(tmp_path):
    scores = manual.read_manual_csv(_csv(tmp_path, (
        "student,q-hidden-state,q-hidden-state comment,q-hard-to-train\n"
        "alice,4.5,clear and short,\n"
        "bob,0,,5\n")), SPEC, STUDENTS)
    assert scores == {"alice": {"q-hidden-state": {"points": 4.5, "comment": "clear and short"}},
                      "bob": {"q-hidden-state": {"points": 0.0, "comment": ""},
                              "q-hard-to-train": {"points": 5.0, "comment": ""}}}


def test_each_problem_is_one_line_naming_row_and_column(tmp_path):
    lines = _problems(tmp_path, (
        "student,q-hiden-state,forward,q-hard-to-train\n"
        "alice,1,2,five\n"
        "mallory,1,,1\n"
        "bob,,,9\n"
        "bob,,,-1\n"))
    text = "\n".join(lines)
    assert "row 1, column 2 ('q-hiden-state'): unknown column" in text
    assert "row 1, column 3 ('forward'): forward is an automatic item" in text
    assert "row 2, column 4 (q-hard-to-train): 'five' is not a number" in text
    assert "row 3, column 1 (student): unknown student 'mallory'" in text
    assert "row 4, column 4 (q-hard-to-train): 9 is out of range: q-hard-to-train is worth 0 to 5" in text
    assert "row 5: 'bob' again (first on row 4)" in text
    assert len(lines) == 6, lines


@pytest.mark.parametrize("text, needle", [
    ("name,q-hidden-state\nalice,3\n", "row 1: no `student` column"),
    ("student,q-hidden-state\nalice,-0.5\n", "row 2, column 2 (q-hidden-state): -0.5 is out of range"),
    ("student,q-hidden-state\nalice,nan\n", "'nan' is not a finite number"),
    ("student,q-hidden-state comment\nalice,why\n", "row 2 (q-hidden-state): a comment without points"),
])
def test_nothing_is_capped_or_dropped(tmp_path, text, needle):
    assert any(needle in line for line in _problems(tmp_path, text)), _problems(tmp_path, text)


def test_a_missing_file_is_a_line_not_a_traceback(tmp_path):
    with pytest.raises(manual.ManualError) as info:
        manual.read_manual_csv(tmp_path / "nope.csv", SPEC, STUDENTS)
    assert info.value.lines == [f"{tmp_path / 'nope.csv'}: no such file"]


def test_grade_refuses_a_bad_csv_before_running_anything(tmp_path, capsys, monkeypatch):
    import grader.grade

    def no_run(*args, **kwargs):  # nothing may be graded when the CSV is wrong
        raise AssertionError("a submission was graded despite a bad --manual file")
    monkeypatch.setattr(grader.grade, "grade_submission", no_run)
    path = _csv(tmp_path, "student,q-hidden-state\nreference,5\nhandout,five\nnobody,1\n")
    code = cli.main(["grade", "lab7-inclass", str(ROOT / "submissions" / "lab7-inclass" / "reference"),
                     str(ROOT / "submissions" / "lab7-inclass" / "handout"), "--manual", str(path),
                     "--out", str(tmp_path / "out"), "--jobs", "1"])
    err = capsys.readouterr().err
    assert code == 2
    assert f"{path}: row 3, column 2 (q-hidden-state): 'five' is not a number" in err
    assert f"{path}: row 4, column 1 (student): unknown student 'nobody'" in err
    assert "nothing was graded" in err and not (tmp_path / "out").exists()
    code = cli.main(["grade", "lab7-inclass", str(ROOT / "submissions" / "lab7-inclass" / "reference"),
                     "--manual", str(tmp_path / "missing.csv"), "--out", str(tmp_path / "out")])
    assert code == 2 and "missing.csv: no such file" in capsys.readouterr().err


def test_apply_scores_and_clears_from_the_rubric():
    result = make_result("alice")
    scored = manual.apply(result, SPEC, {"q-hidden-state": {"points": 3.5, "comment": "ok"}})
    item = {i.id: i for i in scored.items}["q-hidden-state"]
    assert (item.points, item.pending, item.comment) == (3.5, False, "ok")
    assert scored.score == result.score + 3.5
    cleared = manual.apply(scored, SPEC, {})
    item = {i.id: i for i in cleared.items}["q-hidden-state"]
    assert item.pending and item.points == 0 and item.comment is None
    assert item.answer == {i.id: i for i in result.items}["q-hidden-state"].answer  # answer kept


def test_manual_json_is_validated_when_read_back(tmp_path):
    manual.write_manual_json(tmp_path, {"alice": {"q-hidden-state": {"points": 4.0, "comment": "x"}}})
    assert manual.read_manual_json(tmp_path, SPEC) == {"alice": {"q-hidden-state": {"points": 4.0, "comment": "x"}}}
    manual.write_manual_json(tmp_path, {"alice": {"q-hidden-state": {"points": 40.0, "comment": ""},
                                                  "forward": {"points": 1.0, "comment": ""}}})
    with pytest.raises(manual.ManualError) as info:
        manual.read_manual_json(tmp_path, SPEC)
    assert len(info.value.lines) == 2 and "40 is out of range" in info.value.lines[1] + info.value.lines[0]


def _levels_spec():
    from dataclasses import replace

    levels = ("Poor", "Okay", "Satisfactory", "Good", "Excellent")
    return replace(SPEC, items=tuple(replace(i, levels=levels) if i.id == "q-hidden-state" else i
                                     for i in SPEC.items))


def test_levels_by_number_or_name(tmp_path):
    spec = _levels_spec()
    path = _csv(tmp_path, "student,q-hidden-state level,q-hard-to-train\nalice,4,\nbob,excellent,2\n")
    scores = manual.read_manual_csv(path, spec, STUDENTS)
    assert scores["alice"]["q-hidden-state"]["points"] == 4.0  # level 4 of 5 x 5 points
    assert scores["bob"]["q-hidden-state"]["points"] == 5.0
    with pytest.raises(manual.ManualError) as info:
        manual.read_manual_csv(_csv(tmp_path, "student,q-hidden-state level,q-hard-to-train level\n"
                                              "alice,6,1\n"), spec, STUDENTS)
    assert info.value.lines == [
        f"{path}: row 2, column 2 (q-hidden-state level): '6' is not a level of q-hidden-state "
        "(1 to 5: Poor, Okay, Satisfactory, Good, Excellent)",
        f"{path}: row 2, column 3 (q-hard-to-train level): q-hard-to-train is not scored on levels: "
        "give points (0 to 5)"]
    with pytest.raises(manual.ManualError) as info:
        manual.read_manual_csv(_csv(tmp_path, "student,q-hidden-state,q-hidden-state level\nalice,3,2\n"),
                               spec, STUDENTS)
    assert "has both points and a level" in info.value.lines[0]


def test_a_rubric_declares_levels_on_manual_items_only(tmp_path):
    from grader.packs import PackError, parse_spec

    data = {"id": "x", "title": "x", "units": [{"name": "main"}],
            "items": [{"id": "a", "points": 20, "kind": "manual", "levels": ["Poor", "Good"]}]}
    assert parse_spec(data, tmp_path).items[0].levels == ("Poor", "Good")
    data["items"][0]["kind"] = "auto"
    with pytest.raises(PackError, match="levels must be a list"):
        parse_spec(data, tmp_path)
