"""Gradescope, end to end, as a course runs it (issue 11).

The autograder zip is built with the real command, unpacked into a temporary folder laid
out like /autograder (source/, submission/, results/), `setup.sh` runs there, and
`run_autograder` (copied to the root, as Gradescope does) grades one upload at a time.
Every results.json is validated against a JSON schema of Gradescope's specification
(GRADESCOPE_SCHEMA below, written from https://gradescope-autograders.readthedocs.io/en/latest/specs/).

One setup.sh run serves every lab7-inclass case. The virtual environment is made with
--system-site-packages --without-pip (the machine's torch satisfies the pins offline:
PIP_NO_INDEX=1), and apt is off (RNNGRADE_NO_APT=1); everything else is the shipped scripts.
"""
from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from conftest import ROOT
from grader.outcomes import BatchResult
from grader.packs import PackError, load_pack, parse_spec, requirement_problems
from grader.results_json import to_gradescope_json
from results_factory import make_result

jsonschema = pytest.importorskip("jsonschema")

INCLASS = ROOT / "submissions" / "lab7-inclass"
REFERENCE = INCLASS / "reference" / "lab7_inclass.py"
NOTEBOOK = INCLASS / "reference-notebook" / "lab7_inclass.ipynb"

_VISIBILITY = {"enum": ["visible", "hidden", "after_due_date", "after_published"]}
_OUTPUT_FORMAT = {"enum": ["text", "html", "simple_format", "md", "ansi"]}
GRADESCOPE_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Gradescope autograder results.json",
    "type": "object",
    "additionalProperties": False,
    "anyOf": [{"required": ["score"]},
              {"required": ["tests"], "properties": {"tests": {"items": {"required": ["score"]}}}}],
    "properties": {
        "score": {"type": "number"},
        "execution_time": {"type": "number", "minimum": 0},
        "output": {"type": "string"},
        "output_format": _OUTPUT_FORMAT,
        "test_output_format": _OUTPUT_FORMAT,
        "test_name_format": _OUTPUT_FORMAT,
        "visibility": _VISIBILITY,
        "stdout_visibility": _VISIBILITY,
        "extra_data": {"type": "object"},
        "leaderboard": {"type": "array"},
        "tests": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name"],
                "properties": {
                    "score": {"type": "number"},
                    "max_score": {"type": "number"},
                    "status": {"enum": ["passed", "failed"]},
                    "name": {"type": "string", "minLength": 1},
                    "name_format": _OUTPUT_FORMAT,
                    "number": {"type": "string"},
                    "output": {"type": "string"},
                    "output_format": _OUTPUT_FORMAT,
                    "tags": {"type": "array", "items": {"type": "string"}},
                    "visibility": _VISIBILITY,
                    "extra_data": {"type": "object"},
                },
                # a test that scores carries its maximum (else Gradescope cannot total it)
                "dependentRequired": {"score": ["max_score"]},
            },
        },
    },
}


def validate(doc: dict) -> dict:
    jsonschema.Draft202012Validator(GRADESCOPE_SCHEMA).validate(doc)
    json.dumps(doc, allow_nan=False)  # strict JSON: no NaN/Infinity
    return doc


def test_the_schema_rejects_what_gradescope_rejects():
    """The schema is a real guard: each of these departures from the spec fails it."""
    good = {"score": 1, "tests": [{"name": "a", "score": 1, "max_score": 1, "status": "passed"}]}
    validate(good)
    bad = [
        {"tests": [{"name": "a", "score": 1, "max_score": 1, "status": "pending"}], "score": 1},
        {"score": 1, "tests": [{"name": "a", "score": 1, "max_score": 1, "visibility": "public"}]},
        {"score": 1, "tests": [{"name": "a", "score": 1}]},
        {"score": 1, "stdout_visibility": "always"},
        {"score": "1"},
        {"tests": [{"name": "a"}]},
        {"score": 1, "tests": [{"name": "a", "number": 1}]},
    ]
    for doc in bad:
        with pytest.raises(jsonschema.ValidationError):
            validate(doc)


# -- the zip ---------------------------------------------------------------------------------


def _build(pack: str, out: Path, *extra: str) -> Path:
    zip_path = out / f"{pack}.zip"
    done = subprocess.run([sys.executable, "-m", "grader", "gradescope", pack, "-o", str(zip_path), *extra],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return zip_path


def _unpack(zip_path: Path, root: Path) -> Path:
    """Unpack as Gradescope does: the zip's root becomes /autograder/source (modes kept)."""
    source = root / "source"
    for name in ("source", "submission", "results"):
        (root / name).mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(zip_path) as archive:
        for info in archive.infolist():
            target = source / info.filename
            archive.extract(info, source)
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                target.chmod(mode)
    shutil.copy2(source / "run_autograder", root / "run_autograder")  # Gradescope's copy
    return source


def test_zip_has_setup_and_run_autograder_at_its_root(tmp_path):
    zip_path = _build("lab7-inclass", tmp_path)
    with zipfile.ZipFile(zip_path) as archive:
        names = archive.namelist()
        modes = {i.filename: (i.external_attr >> 16) for i in archive.infolist()}
        run_text = archive.read("run_autograder").decode()
    assert "setup.sh" in names and "run_autograder" in names
    assert modes["setup.sh"] & stat.S_IXUSR and modes["run_autograder"] & stat.S_IXUSR
    assert not any(n.startswith("source/") for n in names)  # would land in /autograder/source/source
    assert {"requirements.txt", "pyproject.toml", "grader/cli.py", "assignments/lab7-inclass/rubric.toml",
            "reference/lab7_inclass.py"} <= set(names)
    assert not any(n.startswith(("submissions/", "tests/", "assignments/lab7-homework")) for n in names)
    assert 'PACK="lab7-inclass"' in run_text and 'TRAIN="full"' in run_text
    assert "@" not in run_text.split("PACK=")[1].split("\n")[0]


# -- setup.sh once, run_autograder per case --------------------------------------------------

_TIMES: dict[str, float] = {}


def _env(root: Path, venv: Path) -> dict:
    env = dict(os.environ)
    env.update(AUTOGRADER_ROOT=str(root), RNNGRADE_VENV=str(venv), RNNGRADE_NO_APT="1", PIP_NO_INDEX="1",
               RNNGRADE_TORCH_INDEX="", RNNGRADE_OFFLINE="1",
               RNNGRADE_VENV_ARGS="--system-site-packages --without-pip")
    for key in ("RNNGRADE_HOME", "RNNGRADE_DATA", "PYTHONPATH"):
        env.pop(key, None)
    return env


def _setup(root: Path, venv: Path) -> subprocess.CompletedProcess:
    started = time.perf_counter()
    done = subprocess.run(["bash", "./setup.sh"], cwd=root / "source", env=_env(root, venv),
                          capture_output=True, text=True, timeout=900)
    _TIMES.setdefault(f"setup.sh {root.parent.name}", time.perf_counter() - started)
    return done


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("venv") / "rnngrade-venv"


@pytest.fixture(scope="module")
def inclass_root(tmp_path_factory, venv) -> Path:
    base = tmp_path_factory.mktemp("gs")
    root = base / "autograder"
    _unpack(_build("lab7-inclass", base), root)
    done = _setup(root, venv)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "[rnngrade setup] done" in done.stdout
    assert (venv / "bin" / "python").exists()
    return root


def run_autograder(root: Path, venv: Path, files: dict[str, str | bytes | Path], **env) -> dict:
    sub, results = root / "submission", root / "results"
    shutil.rmtree(sub)
    shutil.rmtree(results)
    sub.mkdir()
    for rel, content in files.items():
        target = sub / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Path):
            shutil.copy(content, target)
        else:
            target.write_bytes(content.encode() if isinstance(content, str) else content)
    started = time.perf_counter()
    done = subprocess.run([str(root / "run_autograder")], cwd=root, env={**_env(root, venv), **env},
                          capture_output=True, text=True, timeout=600)
    _TIMES.setdefault(f"run_autograder {'+'.join(files) or 'empty'}", time.perf_counter() - started)
    assert done.returncode == 0, done.stderr
    path = results / "results.json"
    assert path.is_file(), f"no results.json; stderr:\n{done.stderr[-3000:]}"
    return validate(json.loads(path.read_text()))


def _auto(doc: dict) -> dict[str, tuple]:
    return {t["extra_data"]["item"]: (t["score"], t["max_score"], t["status"]) for t in doc["tests"]}


FULL = {"init-weights": (5, 5, "passed"), "forward": (5, 5, "passed"), "manual-sgd": (5, 5, "passed"),
        "predictions": (5, 5, "passed")}


def test_one_correct_py(inclass_root, venv):
    doc = run_autograder(inclass_root, venv, {"lab7_inclass.py": REFERENCE,
                                              "answers.md": INCLASS / "reference" / "answers.md"})
    assert doc["score"] == 20
    assert _auto(doc) == FULL  # manual items are Gradescope's manual questions: left out
    assert "graded by hand by the course staff" in doc["output"]
    assert doc["extra_data"]["sandbox"] != "not run" and doc["stdout_visibility"] == "hidden"
    assert not doc["extra_data"].get("misconfigured")


def _helper_split() -> dict[str, str]:
    """The reference split into a main file and a helper module beside it."""
    src = REFERENCE.read_text()
    start, end = src.index("# 1. Vocabulary"), src.index("# 2. Training Samples")
    return {"main.py": src[:start] + "from helpers import vocab, word_to_onehot\n\n" + src[end:],
            "helpers.py": "import torch\n\n" + src[start:end]}


def test_a_main_file_and_its_helper_module_in_a_subfolder_are_one_student(inclass_root, venv):
    # `helpers.py` sorts before `main.py` and both match `*.py`: the importer must be the main file
    files = {f"lab7/{name}": text for name, text in _helper_split().items()}
    doc = run_autograder(inclass_root, venv, files)
    assert doc["score"] == 20, doc["output"]
    assert _auto(doc) == FULL
    assert doc["extra_data"]["runs"][0]["file"] == "main.py"


def test_a_notebook(inclass_root, venv):
    doc = run_autograder(inclass_root, venv, {"lab7_inclass.ipynb": NOTEBOOK})
    assert doc["score"] == 20 and _auto(doc) == FULL


def test_a_syntax_error_is_the_students_and_says_where(inclass_root, venv):
    doc = run_autograder(inclass_root, venv, {"lab7_inclass.py": "import torch\ndef broken(:\n    pass\n"})
    assert doc["score"] == 0
    assert {v[2] for v in _auto(doc).values()} == {"failed"}
    assert all("syntax error at line 2" in t["output"] for t in doc["tests"])
    assert not doc["extra_data"].get("misconfigured")


def test_an_empty_upload(inclass_root, venv):
    doc = run_autograder(inclass_root, venv, {})
    assert doc["score"] == 0 and len(doc["tests"]) == 4
    assert doc["output"].startswith("No .py or .ipynb file was found in your upload")
    assert not doc["extra_data"].get("misconfigured")


def test_manual_items_shown_on_request_are_neutral(inclass_root, venv):
    doc = run_autograder(inclass_root, venv, {"lab7_inclass.py": "x = 1\n",
                                              "answers.md": INCLASS / "reference" / "answers.md"},
                         RNNGRADE_SHOW_MANUAL="1")
    manual = [t for t in doc["tests"] if t["extra_data"]["kind"] == "manual"]
    assert [t["extra_data"]["item"] for t in manual] == ["q-hidden-state", "q-hard-to-train"]
    for t in manual:  # no score, no max_score, no status: nothing lost, nothing "failed"
        assert not {"score", "max_score", "status"} & set(t)
        assert "Graded by hand" in t["output"] and "Your answer" in t["output"]


def test_an_engine_that_cannot_start_still_writes_a_misconfigured_result(inclass_root, tmp_path):
    doc = run_autograder(inclass_root, tmp_path / "no-venv", {"lab7_inclass.py": REFERENCE})
    assert doc["score"] == 0 and doc["tests"] == []
    assert "autograder is misconfigured" in doc["output"] and "contact the course staff" in doc["output"]
    assert doc["extra_data"]["misconfigured"] is True


def test_a_broken_install_is_misconfigured_not_no_file_found(inclass_root, tmp_path):
    """An interpreter without numpy (a broken install): the engine fails to import; the
    result says misconfigured, not "no .py file found" and not a score."""
    bare = Path("/usr/bin/python3")
    probe = subprocess.run([str(bare), "-c", "import numpy"], capture_output=True) if bare.exists() else None
    if probe is None or probe.returncode == 0:
        pytest.skip("needs a system python3 without numpy")
    fake = tmp_path / "broken-venv"
    (fake / "bin").mkdir(parents=True)
    (fake / "bin" / "python").symlink_to(bare)
    doc = run_autograder(inclass_root, fake, {"lab7_inclass.py": REFERENCE})
    assert doc["score"] == 0 and doc["tests"] == []
    assert "autograder is misconfigured" in doc["output"] and "numpy" in doc["output"]
    assert "no .py" not in doc["output"].lower()
    assert doc["extra_data"]["misconfigured"] is True


def test_a_pack_whose_data_is_missing(tmp_path_factory, venv, inclass_root):
    """lab7-homework needs MNIST: setup.sh fails loudly when it cannot provision it, and an
    image built anyway gives 'misconfigured, contact the staff', never a score."""
    base = tmp_path_factory.mktemp("gs-hw")
    root = base / "autograder"
    _unpack(_build("lab7-homework", base), root)
    done = _setup(root, venv)  # reuses the venv the lab7-inclass case made
    assert done.returncode != 0
    assert "MNIST" in done.stderr and "could not be provisioned" in done.stderr
    doc = run_autograder(root, venv, {"lab7_homework.py": ROOT / "submissions" / "lab7-homework" / "reference"
                                      / "lab7_homework.py"})
    assert doc["score"] == 0 and doc["tests"] == []
    assert "autograder is misconfigured" in doc["output"] and "contact the course staff" in doc["output"]
    assert "grader data missing" in doc["output"] and "your code raised" not in doc["output"]
    assert "This is not a problem with your code" in doc["output"]
    assert doc["extra_data"]["misconfigured"] is True


def test_setup_verifies_provided_data_by_checksum(tmp_path_factory, venv, inclass_root):
    """Data shipped in the zip (or already fetched) passes only with the right checksums."""
    from conftest import SHARED_DATA

    if not (SHARED_DATA / "mnist" / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip("needs ../shared/data/mnist")
    base = tmp_path_factory.mktemp("gs-hw-data")
    root = base / "autograder"
    data = _unpack(_build("lab7-homework", base), root) / "data"
    for name in ("mnist", "mnist-5k-train"):
        shutil.copytree(SHARED_DATA / name, data / name)
    labels = data / "mnist" / "t10k-labels-idx1-ubyte.gz"
    good = labels.read_bytes()
    labels.write_bytes(good[:-1] + bytes([good[-1] ^ 1]))  # one flipped bit
    done = _setup(root, venv)
    assert done.returncode != 0 and "could not be provisioned" in done.stderr
    labels.write_bytes(good)
    done = _setup(root, venv)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "sha256" in done.stdout and "verified" in done.stdout


def test_report_times(inclass_root):
    """Not a check: prints the measured times (pytest -s shows them)."""
    for name, seconds in _TIMES.items():
        print(f"\n{name}: {seconds:.1f} s")


# -- results.json for Gradescope: visibility, manual items -------------------------------------


def test_visibility_comes_from_the_rubric(tmp_path):
    data = {"id": "v", "units": [{"name": "main"}], "visibility": "after_due_date",
            "items": [{"id": "a", "points": 1}, {"id": "b", "points": 1, "visibility": "hidden"},
                      {"id": "c", "points": 1, "visibility": "after_published"}]}
    spec = parse_spec(data, tmp_path)
    assert [i.visibility for i in spec.items] == ["after_due_date", "hidden", "after_published"]
    with pytest.raises(PackError, match="use one of visible, hidden"):
        parse_spec({**data, "items": [{"id": "a", "points": 1, "visibility": "secret"}]}, tmp_path)
    with pytest.raises(PackError, match="unknown key"):
        parse_spec({**data, "requires": {"module": ["x"]}}, tmp_path)


def test_gradescope_copy_uses_item_visibility_and_only_passed_failed():
    result = make_result("alice")
    shown = {"init-weights": "hidden", "forward": "after_due_date"}
    doc = validate(to_gradescope_json(result, visibility=shown))
    tests = {t["extra_data"]["item"]: t for t in doc["tests"]}
    assert set(tests) == {"init-weights", "forward", "manual-sgd", "predictions"}
    assert tests["init-weights"]["visibility"] == "hidden"
    assert tests["forward"]["visibility"] == "after_due_date"
    assert tests["manual-sgd"]["visibility"] == "visible"
    assert tests["init-weights"]["status"] == "passed" and tests["predictions"]["status"] == "failed"
    assert doc["score"] == result.auto_score == 7.5
    shown_manual = validate(to_gradescope_json(result, show_manual=True, visibility={}))
    assert len(shown_manual["tests"]) == 6
    assert sum(t.get("score", 0) for t in shown_manual["tests"]) == 7.5


# -- requirements checked before anyone is graded ----------------------------------------------


def test_a_missing_module_is_named_with_what_to_install(tmp_path):
    spec = parse_spec({"id": "m", "units": [{"name": "main"}], "items": [{"id": "a", "points": 1}],
                       "requires": {"modules": ["numpy", "no_such_module_rnngrade"],
                                    "install": "pip install no-such-module"}}, tmp_path)
    (problem,) = requirement_problems(spec, tmp_path)
    assert "no_such_module_rnngrade" in problem and "numpy" not in problem.split("module(s)")[1]
    assert "pip install no-such-module" in problem


def test_grade_with_the_data_missing_is_could_not_be_graded_and_exits_1(tmp_path):
    assert load_pack("lab7-homework").spec.requires["data"] == ["mnist/t10k-*", ["mnist/train-*", "mnist-5k"]]
    empty = tmp_path / "data"
    empty.mkdir()
    out = subprocess.run([sys.executable, "-m", "grader", "grade", "lab7-homework",
                          str(ROOT / "submissions" / "lab7-homework" / "reference"), "--data-dir", str(empty),
                          "--out", str(tmp_path / "out")], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 1
    assert ("reference: could not be graded: grader data missing (run `rnngrade data fetch`)"
            in out.stderr), out.stderr
    assert "/30" not in out.stdout + out.stderr  # no partial score
    check = subprocess.run([sys.executable, "-m", "grader", "check", "lab7-homework",
                            str(ROOT / "submissions" / "lab7-homework" / "reference" / "lab7_homework.py"),
                            "--data-dir", str(empty)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert check.returncode == 1 and "could not be graded: grader data missing" in check.stderr


# -- a Gradescope "Export Submissions" keeps names, emails and SIDs ------------------------------

EXPORT_META = """\
submission_1001:
  :submitters:
  - :name: Ada Lovelace
    :sid: '2024001'
    :email: ada@example.edu
  :created_at: 2026-11-30 10:00:00.000000000 +00:00
  :score: 0.0
submission_1002:
  :submitters:
  - :name: "=HYPERLINK(\\"x\\")"
    :sid: '2024003'
    :email: grace@example.edu
  - :name: Alan Turing
    :sid: '2024002'
    :email: alan@example.edu
"""


def test_an_export_zip_keeps_name_email_and_sid(tmp_path):
    export = tmp_path / "export"
    for key in ("submission_1001", "submission_1002"):
        (export / key).mkdir(parents=True)
        shutil.copy(ROOT / "submissions" / "cs240-week8" / "reference" / "q1.py", export / key / "q1.py")
    (export / "submission_metadata.yml").write_text(EXPORT_META)
    zip_path = tmp_path / "assignment_123_export.zip"
    with zipfile.ZipFile(zip_path, "w") as archive:
        for file in sorted(export.rglob("*")):
            archive.write(file, f"assignment_123_export/{file.relative_to(export)}")
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "grader", "grade", "cs240-week8", str(zip_path), "--out", str(out),
                           "--jobs", "1", "--seed", "5"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    import csv

    rows = {r["student"]: r for r in csv.DictReader((out / "grades.csv").open())}
    assert set(rows) == {"ada@example.edu", "grace@example.edu+alan@example.edu"}
    ada = rows["ada@example.edu"]
    assert (ada["name"], ada["email"], ada["sid"]) == ("Ada Lovelace", "ada@example.edu", "2024001")
    group = rows["grace@example.edu+alan@example.edu"]
    assert group["sid"] == "2024003; 2024002" and group["name"].endswith("; Alan Turing")
    header = (out / "grades.csv").read_text().splitlines()[0].split(",")
    assert header[:5] == ["student", "name", "email", "sid", "total"]
    report = (out / "ada@example.edu" / "report.html").read_text()
    assert "Ada Lovelace" in report and "SID 2024001" in report
    doc = json.loads((out / "ada@example.edu" / "results.json").read_text())
    assert doc["extra_data"]["submitters"] == [{"name": "Ada Lovelace", "email": "ada@example.edu",
                                                "sid": "2024001"}]
    assert "'=HYPERLINK" in (out / "grades.csv").read_text()  # formula text stays data


def test_gradebook_without_export_keeps_its_columns():
    from grader.gradebook import header

    batch = BatchResult("lab7-inclass", "t", results=[make_result("alice")])
    assert header(batch)[:3] == ["student", "total", "max"]


def test_a_notebook_that_is_not_json_is_could_not_be_graded_not_misconfigured(tmp_path):
    from grader.gradescope import run

    upload = tmp_path / "submission"
    upload.mkdir()
    (upload / "lab7_inclass.ipynb").write_text("{ this is not json")
    doc = validate(run("lab7-inclass", submission=upload, results=tmp_path / "results.json", data_dir=None))
    assert doc["score"] == 0 and doc["tests"] == []
    assert doc["output"].count("not a valid notebook") == 1
    assert doc["output"].startswith("Your submission could not be graded: lab7_inclass.ipynb is not a valid notebook")
    assert not doc["extra_data"].get("misconfigured")
    assert json.loads((tmp_path / "results.json").read_text())["score"] == 0
