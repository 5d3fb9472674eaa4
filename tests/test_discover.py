from __future__ import annotations

import zipfile

import pytest

from grader.discover import DiscoverError, discover
from grader.packs import load_pack

LAB7 = load_pack("lab7-inclass").spec


def touch(path, text="x = 1\n"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_a_single_file_is_one_student(tmp_path):
    subs, failures = discover([touch(tmp_path / "alice_lab7.py")], LAB7)
    assert [s.student for s in subs] == ["alice_lab7"] and not failures


def test_a_folder_of_files_is_one_student_per_file(tmp_path):
    touch(tmp_path / "alice.py")
    touch(tmp_path / "bob.ipynb", "{}")
    subs, _ = discover([tmp_path], LAB7)
    assert sorted(s.student for s in subs) == ["alice", "bob"]


def test_per_student_folders_keep_their_answers(tmp_path):
    touch(tmp_path / "alice" / "lab7.py")
    touch(tmp_path / "alice" / "answers.md", "## 5\nit summarises")
    touch(tmp_path / "bob" / "lab7.py")
    subs, _ = discover([tmp_path], LAB7)
    alice = next(s for s in subs if s.student == "alice")
    assert sorted(f.name for f in alice.files) == ["answers.md", "lab7.py"]


def test_two_units_in_one_folder_are_one_student(tmp_path):
    from grader.packs import parse_spec

    cs240 = parse_spec({"id": "two-units", "units": [{"name": "q1", "patterns": ["q1.py"]},
                                                     {"name": "q2", "patterns": ["q2.py"]}],
                        "items": [{"id": "a", "points": 1, "units": ["q1"]}]}, tmp_path)
    touch(tmp_path / "carol" / "q1.py")
    touch(tmp_path / "carol" / "q2.py")
    subs, _ = discover([tmp_path / "carol"], cs240)
    assert len(subs) == 1 and len(subs[0].files) == 2


def test_zip_and_zip_slip(tmp_path, monkeypatch):
    """Entries that climb out of the extraction folder (`..` anywhere, absolute names) are
    dropped: every file the archive leaves on disk lies inside rnngrade's extraction folder."""
    import tempfile

    scratch = tmp_path / "a" / "b" / "scratch"  # where the extraction folder is made: climbing
    scratch.mkdir(parents=True)                 # out of it lands in tmp_path, where it is seen
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    archive = tmp_path / "dave.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("dave/lab7.py", "x = 1\n")
        z.writestr("../../evil.py", "x = 1\n")
        z.writestr("dave/../../../evil2.py", "x = 1\n")
        z.writestr(str(tmp_path / "a" / "abs_evil.py"), "x = 1\n")
    assert any(n.startswith("/") for n in zipfile.ZipFile(archive).namelist())  # kept absolute
    subs, failures = discover([archive], LAB7)
    assert not failures and [s.student for s in subs] == ["dave"]
    assert [f.name for f in subs[0].files] == ["lab7.py"]
    (extracted,) = scratch.glob("rnngrade-zip-*")
    landed = sorted(p for p in tmp_path.rglob("*") if p.is_file() and p != archive)
    assert landed == [extracted / "dave" / "lab7.py"], landed


def test_gradescope_export(tmp_path):
    touch(tmp_path / "submission_metadata.yml",
          "submission_1:\n  :submitters:\n  - :name: Eve Student\n    :email: eve@uni.edu\n")
    touch(tmp_path / "submission_1" / "lab7.py")
    subs, _ = discover([tmp_path], LAB7)
    assert [s.student for s in subs] == ["eve@uni.edu"]


def test_empty_and_missing_paths_are_failures(tmp_path):
    (tmp_path / "empty").mkdir()
    subs, failures = discover([tmp_path / "empty", tmp_path / "missing"], LAB7)
    assert not subs and len(failures) == 2


def test_a_main_file_and_the_helper_it_imports_are_one_student(tmp_path):
    folder = tmp_path / "carol"
    touch(folder / "main.py", "import torch\nfrom helpers import word_to_onehot\n")
    touch(folder / "helpers.py", "import torch\n")
    subs, _ = discover([folder], LAB7)
    assert [s.student for s in subs] == ["carol"]
    assert sorted(f.name for f in subs[0].files) == ["helpers.py", "main.py"]
    # and the unit is the importer, although helpers.py sorts first and both match *.py
    from grader.load import load_units, support_files

    units, missing = load_units(load_pack("lab7-inclass"), subs[0].files)
    assert units["main"].path.name == "main.py" and not missing
    assert set(support_files(units, subs[0].files)) == {"helpers.py"}


def test_files_that_do_not_import_each_other_stay_separate_students(tmp_path):
    touch(tmp_path / "alice.py", "import torch\n")
    touch(tmp_path / "bob.py", "import numpy\n")
    subs, _ = discover([tmp_path], LAB7)
    assert sorted(s.student for s in subs) == ["alice", "bob"]


def test_gradescope_export_metadata_gives_name_email_sid(tmp_path):
    touch(tmp_path / "submission_7" / "lab7.py")
    touch(tmp_path / "submission_metadata.yml",
          "submission_7:\n  :submitters:\n  - :name: Ada Lovelace\n    :sid: '42'\n    :email: ada@example.edu\n")
    (sub,), _ = discover([tmp_path], LAB7)
    assert sub.student == "ada@example.edu"
    assert sub.submitters == (("Ada Lovelace", "ada@example.edu", "42"),)


def test_a_unit_file_imported_by_another_unit_is_still_its_unit(tmp_path):
    from grader.load import load_units

    touch(tmp_path / "q1.py", "import numpy\n")
    touch(tmp_path / "q2.py", "from q1 import softmax\n")
    pack = load_pack("cs240-week8")
    units, missing = load_units(pack, [tmp_path / "q1.py", tmp_path / "q2.py"])
    assert {k: u.path.name for k, u in units.items()} == {"q1": "q1.py", "q2": "q2.py"} and not missing
