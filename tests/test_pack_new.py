"""`rnngrade pack new` writes a pack that works as generated: `pack check` accepts it and its
own test passes (every example gets its expected.json); a wrong expected.json fails that test."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from grader.cli import main

ROOT = Path(__file__).resolve().parent.parent


def _env(home: Path) -> dict:
    env = dict(os.environ, RNNGRADE_HOME=str(home), PYTHONPATH=str(ROOT))
    return env


def _run(args: list[str], cwd: Path, home: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=cwd, env=_env(home), capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> tuple[Path, Path]:
    home = tmp_path_factory.mktemp("course")
    done = _run(["-m", "grader", "pack", "new", "lab9-demo"], home, home)
    assert done.returncode == 0, done.stderr
    assert f"wrote {home / 'assignments' / 'lab9-demo'}" in done.stdout
    assert "found by rnngrade (RNNGRADE_HOME)" in done.stdout
    return home, home / "assignments" / "lab9-demo"


def test_generated_pack_has_every_part(generated):
    _, pack = generated
    names = sorted(str(p.relative_to(pack)) for p in pack.rglob("*") if p.is_file())
    assert names == sorted([
        "rubric.toml", "checks.py", "probes.py", "handout/lab9_demo.py", "solution/lab9_demo.py",
        "examples/reference/lab9_demo.py", "examples/reference/answers.md", "examples/reference/expected.json",
        "examples/handout/lab9_demo.py", "examples/handout/expected.json",
        "examples/no-bias/lab9_demo.py", "examples/no-bias/expected.json", "test_lab9_demo.py"])
    assert "TODO" in (pack / "handout" / "lab9_demo.py").read_text()
    checks = (pack / "checks.py").read_text()
    assert "checks={" in checks and "compare(" in checks and "passed(" in checks and "failed(" in checks


def test_generated_pack_passes_pack_check(generated):
    home, _ = generated
    done = _run(["-m", "grader", "pack", "check", "lab9-demo"], home, home)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "ok: lab9-demo (3 items, 4 sub-checks)\n"


def test_generated_pack_passes_its_own_test_and_fails_a_wrong_expectation(generated, tmp_path):
    home, pack = generated
    test = pack / "test_lab9_demo.py"
    done = _run(["-m", "pytest", str(test), "-q", "-p", "no:cacheprovider"], home, home)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "4 passed" in done.stdout, done.stdout[-2000:]
    # the test can fail: the no-bias example claimed to earn every point
    expected = pack / "examples" / "no-bias" / "expected.json"
    original = expected.read_text()
    expected.write_text(json.dumps({"total": 8, "items": {"step": 4, "forward": 4}}))
    try:
        done = _run(["-m", "pytest", str(test), "-q", "-p", "no:cacheprovider", "-k", "no-bias"], home, home)
    finally:
        expected.write_text(original)
    assert done.returncode == 1 and "1 failed" in done.stdout, done.stdout[-2000:]
    assert "likely mistake: the bias b is missing" in done.stdout  # the failure shows the hint


def test_pack_new_refuses_bad_names_and_existing_folders(tmp_path, capsys):
    assert main(["pack", "new", "Lab 9", "--dir", str(tmp_path)]) == 2
    assert "pack name 'Lab 9'" in capsys.readouterr().err
    assert main(["pack", "new", "lab9", "--dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"rnngrade does not look in {tmp_path}" in out  # not discoverable there: says so
    assert main(["pack", "new", "lab9", "--dir", str(tmp_path)]) == 2
    assert "already exists" in capsys.readouterr().err


def test_pack_check_names_a_broken_pack_in_one_line(tmp_path, monkeypatch, capsys):
    assert main(["pack", "new", "broken", "--dir", str(tmp_path / "assignments")]) == 0
    rubric = tmp_path / "assignments" / "broken" / "rubric.toml"
    rubric.write_text(rubric.read_text().replace('id = "step"', 'id = "stepp"'))
    monkeypatch.setenv("RNNGRADE_HOME", str(tmp_path))
    capsys.readouterr()
    assert main(["pack", "check", "broken"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err and all(line.startswith("rnngrade: ") for line in err) and "step" in err[0], err


@pytest.mark.parametrize("pack_id", ["assignment7", "cs240-week8", "lab7-homework", "lab7-inclass", "tutorial8"])
def test_every_shipped_pack_passes_pack_check(pack_id, capsys):
    assert main(["pack", "check", pack_id]) == 0, capsys.readouterr().err
    assert capsys.readouterr().out.startswith(f"ok: {pack_id} (")


def test_pack_new_writes_into_the_current_checkout_and_demo_grades_its_examples(tmp_path, monkeypatch, capsys):
    checkout = tmp_path / "course"
    (checkout / "assignments").mkdir(parents=True)
    (checkout / "pyproject.toml").write_text("[project]\nname = 'course'\n")
    monkeypatch.delenv("RNNGRADE_HOME", raising=False)
    monkeypatch.chdir(checkout)
    assert main(["pack", "new", "first"]) == 0  # no pack yet: ./assignments, then a checkout
    assert (checkout / "assignments" / "first" / "rubric.toml").is_file()
    assert main(["pack", "new", "second"]) == 0
    assert "found by rnngrade (checkout)" in capsys.readouterr().out
    assert main(["demo", "--pack", "second", "--out", str(tmp_path / "demo"), "--jobs", "1"]) == 0
    out = capsys.readouterr().out
    assert "all example submissions got their expected scores" in out and "no-bias" in out
