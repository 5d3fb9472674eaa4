"""Bad input gets one clear line and a non-zero exit where nothing could be graded;
one bad submission never stops a batch."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT

REFERENCE = ROOT / "submissions" / "lab7-inclass" / "reference" / "lab7_inclass.py"


def rnngrade(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "grader", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


def test_list_shows_packs_and_totals():
    out = rnngrade("list")
    assert out.returncode == 0
    assert "lab7-inclass" in out.stdout and "30 points" in out.stdout


def test_unknown_pack_is_one_line_and_exit_2(tmp_path):
    out = rnngrade("grade", "no-such-pack", REFERENCE, "--out", tmp_path)
    assert out.returncode == 2
    assert "unknown pack 'no-such-pack'" in out.stderr and "lab7-inclass" in out.stderr


def test_missing_file_and_empty_folder_exit_1(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    out = rnngrade("grade", "lab7-inclass", tmp_path / "nope.py", empty, "--out", tmp_path / "o")
    assert out.returncode == 1
    assert "no such file or folder" in out.stderr
    assert "no .py or .ipynb submission found" in out.stderr


def test_a_batch_survives_bad_submissions(tmp_path):
    subs = tmp_path / "subs"
    for name in ("alice", "bob", "carol", "dave"):
        (subs / name).mkdir(parents=True)
    (subs / "alice" / "lab7.py").write_text("def broken(:\n    pass\n")
    (subs / "bob" / "lab7.ipynb").write_text("{ this is not json")
    shutil.copy(REFERENCE, subs / "carol" / "lab7.py")
    (subs / "dave" / "lab7.py").write_bytes(b"\xff\xfe not utf-8")
    out = rnngrade("grade", "lab7-inclass", subs, "--out", tmp_path / "out", "--jobs", "2", "--seed", "7")
    assert out.returncode == 0, out.stderr
    results = {p.parent.name: json.loads(p.read_text()) for p in (tmp_path / "out").glob("*/results.json")}
    # a notebook that is not JSON has no score at all: "could not be graded", said once
    assert set(results) == {"alice", "carol", "dave"}
    assert out.stderr.count("not a valid notebook") == 1
    assert "bob: could not be graded: lab7.ipynb is not a valid notebook" in out.stderr
    grades = (tmp_path / "out" / "grades.csv").read_text()
    [bob] = [line for line in grades.splitlines() if "not a valid notebook" in line]
    assert ",failed," in bob and "bob: could not be graded" in bob
    assert results["carol"]["score"] == 20
    assert "syntax error at line 1" in results["alice"]["extra_data"]["error"]
    assert "not UTF-8" in results["dave"]["extra_data"]["error"]
    assert all(r["score"] == 0 for k, r in results.items() if k != "carol")
    assert (tmp_path / "out" / "index.html").exists() and (tmp_path / "out" / "grades.csv").exists()
    assert results["carol"]["extra_data"]["seed"] == 7


def test_check_prints_the_rubric_with_hints(tmp_path):
    student = tmp_path / "my_lab.py"
    student.write_text(REFERENCE.read_text().replace("torch.tanh(W @ s_prev", "torch.sigmoid(W @ s_prev"))
    out = rnngrade("check", "lab7-inclass", student, "--seed", "3")
    assert out.returncode == 0, out.stderr
    assert "forward" in out.stdout.lower() or "Hidden state" in out.stdout
    assert "sigmoid" in out.stdout  # the hint names the mistake


def test_check_reads_the_answers_and_helpers_beside_the_file_and_a_folder(tmp_path):
    """The messages tell students to put answers.md next to their code: a self-check on the
    code file must read it (and a helper module it imports); a folder is one submission."""
    folder = tmp_path / "me"
    folder.mkdir()
    main = REFERENCE.read_text().replace("import torch\n", "import torch\nfrom mytools import squash\n", 1)
    folder.joinpath("lab7_inclass.py").write_text(main.replace("torch.tanh(W @ s_prev", "squash(W @ s_prev"))
    folder.joinpath("mytools.py").write_text("import torch\n\ndef squash(x):\n    return torch.tanh(x)\n")
    shutil.copy(REFERENCE.parent / "answers.md", folder / "answers.md")
    for target in (folder / "lab7_inclass.py", folder):
        out = rnngrade("check", "lab7-inclass", target, "--seed", "3")
        assert out.returncode == 0, out.stderr
        assert "auto 20/20" in out.stdout and "no answer found" not in out.stdout, out.stdout


def test_gradescope_zip_has_the_autograder_layout(tmp_path):
    import zipfile

    target = tmp_path / "autograder.zip"
    out = rnngrade("gradescope", "lab7-inclass", "-o", target)
    assert out.returncode == 0, out.stderr
    names = zipfile.ZipFile(target).namelist()
    assert "setup.sh" in names and "run_autograder" in names
    # the zip's root is /autograder/source: no source/ prefix (tests/test_gradescope.py runs it)
    assert any(n.startswith("grader/") for n in names) and not any(n.startswith("source/") for n in names)
    assert any(n.startswith("assignments/lab7-inclass/") for n in names)
    assert not any("submissions/" in n for n in names)


@pytest.mark.parametrize("flag", [["--jobs", "0"], ["--jobs", "-3"], ["--timeout", "0"], ["--timeout", "-1"],
                                  ["--jobs", "two"]])
def test_bad_flag_values_are_refused_with_exit_2(tmp_path, flag):
    out = rnngrade("grade", "lab7-inclass", REFERENCE, "--out", tmp_path, *flag)
    assert out.returncode == 2
    assert f"argument {flag[0]}" in out.stderr
    assert not (tmp_path / "grades.csv").exists()


def test_a_notebook_that_is_not_json_is_not_graded_in_grade_or_check(tmp_path):
    (tmp_path / "s" / "bob").mkdir(parents=True)
    nb = tmp_path / "s" / "bob" / "lab7.ipynb"
    nb.write_text("{ this is not json")
    out = rnngrade("grade", "lab7-inclass", tmp_path / "s", "--out", tmp_path / "o", "--jobs", "1")
    assert out.returncode == 1
    assert out.stderr.count("not a valid notebook") == 1 and "could not be graded" in out.stderr
    out = rnngrade("check", "lab7-inclass", nb)
    assert out.returncode == 1
    assert out.stderr.count("not a valid notebook") == 1 and "could not be graded" in out.stderr


def test_roster_and_canvas_from_the_command_line(tmp_path):
    subs = tmp_path / "subs"
    (subs / "carol").mkdir(parents=True)
    shutil.copy(REFERENCE, subs / "carol" / "lab7.py")
    bad = tmp_path / "bad.csv"
    bad.write_text("name,email\nCarol,c@x\n")
    out = rnngrade("grade", "lab7-inclass", subs, "--out", tmp_path / "o", "--roster", bad)
    assert out.returncode == 2 and "no `student` column" in out.stderr
    assert not (tmp_path / "o").exists()  # refused before anything ran
    roster = tmp_path / "roster.csv"
    roster.write_text("student,name,email,sid\ncarol,Carol Cole,carol@uni.edu,1003\n")
    out = rnngrade("grade", "lab7-inclass", subs, "--out", tmp_path / "o", "--roster", roster, "--canvas",
                   "--jobs", "1", "--seed", "3")
    assert out.returncode == 0, out.stderr
    grades = (tmp_path / "o" / "grades.csv").read_text().splitlines()
    assert grades[0].startswith("student,name,email,sid,total,max")
    assert grades[1].startswith("carol,Carol Cole,carol@uni.edu,1003,")
    canvas = (tmp_path / "o" / "canvas.csv").read_text().splitlines()
    assert canvas[0].startswith("Student,ID,SIS User ID,SIS Login ID,Section,")
    assert canvas[2].startswith("Carol Cole,,1003,carol@uni.edu,,")
    assert (tmp_path / "o" / "similarity.csv").read_text().startswith("student_a,student_b,score")


def test_a_pack_brought_inside_a_submission_is_refused(tmp_path):
    """Packs are found in the current checkout too: a student folder holding its own
    assignments/<pack> (lenient checks) and a pyproject.toml must not grade itself when a
    TA runs rnngrade from inside it."""
    student = tmp_path / "mallory"
    shutil.copytree(ROOT / "assignments" / "lab7-inclass", student / "assignments" / "lab7-inclass")
    (student / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    shutil.copy(REFERENCE, student / "lab7_inclass.py")
    out = rnngrade("grade", "lab7-inclass", ".", "--out", tmp_path / "out", cwd=student)
    assert out.returncode == 2, out.stdout + out.stderr
    assert "inside the submissions being graded" in out.stderr and not (tmp_path / "out").exists()
