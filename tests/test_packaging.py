"""Packs travel and are found: the wheel carries the shipped packs and their references, packs
are discovered in RNNGRADE_HOME, the current checkout, the installed package and the
`rnngrade.packs` entry points (first found wins), and a course's own pack package is found
once pip-installed."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

from grader import packs
from grader.cli import main

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_DIST = ROOT / "tests" / "example_pack_dist"
SHIPPED = sorted(p.parent.name for p in (ROOT / "assignments").glob("*/rubric.toml"))


def _tracked_pack_files() -> list[str]:
    """Every file of the shipped packs (what git tracks, when this is a git checkout)."""
    try:
        out = subprocess.run(["git", "ls-files", "assignments"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        out = [str(p.relative_to(ROOT)) for p in (ROOT / "assignments").rglob("*")
               if p.is_file() and "__pycache__" not in p.parts]
    return sorted(out)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # --no-build-isolation: setuptools is already here, and the build needs no network
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(out)], check=True, capture_output=True, cwd=out, timeout=300)
    shutil.rmtree(ROOT / "build", ignore_errors=True)  # setuptools' in-tree scratch folder
    (found,) = out.glob("rnngrade-*.whl")
    return found


def test_wheel_carries_every_shipped_pack_and_the_references_they_name(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "grader/cli.py" in names and "grader/templates/gradescope/setup.sh" in names
    missing = [f for f in _tracked_pack_files() if f"grader/_shipped/{f}" not in names]
    assert not missing, f"pack files left out of the wheel: {missing}"
    for pack_id in SHIPPED:
        spec = packs.load_pack(pack_id).spec
        for part in ("rubric.toml", "checks.py", "probes.py"):
            if (spec.dir / part).exists():
                assert f"grader/_shipped/assignments/{pack_id}/{part}" in names
        assert any(n.startswith(f"grader/_shipped/assignments/{pack_id}/handout/") for n in names), pack_id
        if spec.reference:
            assert f"grader/_shipped/{spec.reference}" in names, f"{pack_id}: its reference {spec.reference}"
    assert not [n for n in names if n.endswith(".pyc") or "__pycache__" in n]
    assert not [n for n in names if n.startswith(("grader/_shipped/submissions", "grader/_shipped/tests"))]


def test_wheel_requires_a_torch_range_never_a_pin(wheel):
    with zipfile.ZipFile(wheel) as archive:
        meta = archive.read(next(n for n in archive.namelist() if n.endswith("dist-info/METADATA"))).decode()
    torch = [line for line in meta.splitlines() if line.startswith("Requires-Dist: torch")]
    specs = [line.split(":", 1)[1].split(";")[0] for line in torch]  # the version part, not `extra == ...`
    assert specs and all(">=" in s and "==" not in s and "<" not in s for s in specs), torch
    entry = [n for n in zipfile.ZipFile(wheel).namelist() if n.endswith("entry_points.txt")]
    assert "rnngrade = grader.cli:main" in zipfile.ZipFile(wheel).read(entry[0]).decode()


# -- discovery order -----------------------------------------------------------------------------


def _pack(folder: Path, pack_id: str, title: str) -> Path:
    directory = folder / pack_id
    directory.mkdir(parents=True)
    (directory / "rubric.toml").write_text(
        f'id = "{pack_id}"\ntitle = "{title}"\n\n[[items]]\nid = "q"\npoints = 1\nkind = "manual"\n')
    return directory


def test_rnngrade_home_first_then_checkout_then_installed(tmp_path, monkeypatch, capsys):
    home = tmp_path / "home"
    _pack(home / "assignments", "lab7-inclass", "a course's own lab7-inclass")  # shadows the shipped one
    _pack(home / "assignments", "only-home", "home pack")
    checkout = tmp_path / "course"
    (checkout / ".git").mkdir(parents=True)
    _pack(checkout / "assignments", "only-home", "shadowed by RNNGRADE_HOME")
    _pack(checkout / "assignments", "only-checkout", "checkout pack")
    (checkout / "src" / "deep").mkdir(parents=True)
    monkeypatch.setenv("RNNGRADE_HOME", str(home))
    monkeypatch.chdir(checkout / "src" / "deep")  # a parent of the cwd is the checkout

    found = packs.find_packs()
    assert found["lab7-inclass"][0] == (home / "assignments" / "lab7-inclass").resolve()
    assert found["only-home"][1].kind == "RNNGRADE_HOME"
    assert found["only-checkout"][1].kind == "checkout"
    assert found["tutorial8"][1].kind == "installed"
    assert [s.kind for s in packs.pack_sources()][:3] == ["RNNGRADE_HOME", "checkout", "installed"]
    assert packs.load_pack("lab7-inclass").spec.title == "a course's own lab7-inclass"

    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert f"[checkout: {(checkout / 'assignments' / 'only-checkout').resolve()}]" in out
    assert "[installed: " in out and "[RNNGRADE_HOME: " in out
    assert "(hidden: only-home in" in out and "(hidden: lab7-inclass in" in out


def test_a_folder_is_a_checkout_only_beside_a_pyproject_or_git(tmp_path, monkeypatch):
    _pack(tmp_path / "loose" / "assignments", "loose-pack", "not a checkout")
    monkeypatch.delenv("RNNGRADE_HOME", raising=False)
    monkeypatch.chdir(tmp_path / "loose")
    assert "loose-pack" not in packs.find_packs()
    (tmp_path / "loose" / "pyproject.toml").write_text("[project]\nname = 'course'\n")
    assert packs.find_packs()["loose-pack"][1].kind == "checkout"


def test_unknown_pack_names_the_places_searched(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["pack", "check", "no-such-pack"]) == 2
    err = capsys.readouterr().err
    assert "unknown pack 'no-such-pack'" in err and "searched" in err and "lab7-inclass" in err
    assert main(["pack", "check", "../assignments/lab7-inclass"]) == 2  # ids only, never paths


def test_reference_resolves_inside_the_pack_first_then_beside_assignments(tmp_path, monkeypatch):
    directory = _pack(tmp_path / "home" / "assignments", "own-ref", "own reference")
    (directory / "solution").mkdir()
    (directory / "solution" / "ref.py").write_text("ANSWER = 'inside'\n")
    (tmp_path / "home" / "solution").mkdir()
    (tmp_path / "home" / "solution" / "ref.py").write_text("ANSWER = 'beside'\n")
    assert packs.resolve_pack_file(directory, "solution/ref.py") == directory / "solution" / "ref.py"
    (directory / "solution" / "ref.py").unlink()
    assert packs.resolve_pack_file(directory, "solution/ref.py") == tmp_path / "home" / "solution" / "ref.py"
    # the shipped packs keep reference/... beside assignments/ (checkout and wheel alike)
    spec = packs.load_pack("lab7-inclass").spec
    assert packs.resolve_pack_file(spec.dir, spec.reference) == spec.dir.parent.parent / "reference" / "lab7_inclass.py"


# -- a course's own pack package -------------------------------------------------------------------


def test_entry_point_module_or_callable_is_searched_last(tmp_path, monkeypatch, capsys):
    """A fake distribution's entry points (importlib.metadata), one a module, one a callable."""
    monkeypatch.syspath_prepend(str(EXAMPLE_DIST))
    monkeypatch.chdir(tmp_path)
    other = tmp_path / "callable-packs"
    _pack(other, "from-callable", "a callable's folder")
    _pack(other, "lab7-inclass", "never seen: the installed one comes first")
    module = tmp_path / "course_dirs.py"
    module.write_text(f"def packs_dir():\n    return {str(other)!r}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    points = [metadata.EntryPoint("course", "course_packs", packs.ENTRY_POINT_GROUP),
              metadata.EntryPoint("other", "course_dirs:packs_dir", packs.ENTRY_POINT_GROUP),
              metadata.EntryPoint("broken", "no_such_module_xyz", packs.ENTRY_POINT_GROUP)]
    real = metadata.entry_points

    def fake(**kw):
        return points if kw.get("group") == packs.ENTRY_POINT_GROUP else real(**kw)

    monkeypatch.setattr(metadata, "entry_points", fake)
    found = packs.find_packs()
    assert found["course-essay"][1].kind == "entry point course"
    assert found["course-essay"][0] == (EXAMPLE_DIST / "course_packs" / "course-essay").resolve()
    assert found["from-callable"][1].kind == "entry point other"
    assert found["lab7-inclass"][1].kind in ("installed", "checkout")
    assert main(["pack", "check", "course-essay"]) == 0
    assert capsys.readouterr().out == "ok: course-essay (1 items, 0 sub-checks)\n"
    assert main(["list"]) == 0
    captured = capsys.readouterr()
    assert "course-essay" in captured.out and "[entry point course: " in captured.out
    assert "entry point broken: no_such_module_xyz could not be loaded (ModuleNotFoundError" in captured.err


def _venv(path: Path) -> Path:
    venv.EnvBuilder(system_site_packages=True, with_pip=False).create(path)
    return path / "bin" / "python"


def _pip(python: Path, *args: str, cwd: Path) -> None:
    # the venv has no pip of its own: this interpreter's pip installs into it (--python)
    done = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
                           "--no-build-isolation", "--no-index", "-q", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr


def test_course_pack_package_installed_in_a_venv_is_found(tmp_path):
    dist = tmp_path / "dist"
    shutil.copytree(EXAMPLE_DIST, dist)
    python = _venv(tmp_path / "venv")
    _pip(python, str(dist), cwd=tmp_path)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("RNNGRADE_HOME", None)
    done = subprocess.run([str(python), "-m", "grader", "list"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    line = next(l for l in done.stdout.splitlines() if l.startswith("course-essay"))
    assert "[entry point course (rnngrade-course-example): " in line and str(tmp_path / "venv") in line
    assert "lab7-inclass" in done.stdout  # the shipped packs too


def test_installed_wheel_lists_and_checks_without_a_checkout(wheel, tmp_path):
    """pip install of the wheel into a fresh venv (torch from the system): `rnngrade list` and
    `rnngrade check` of the reference solution, run away from any checkout."""
    python = _venv(tmp_path / "venv")
    _pip(python, str(wheel), cwd=tmp_path)
    env = {k: v for k, v in os.environ.items() if k not in ("RNNGRADE_HOME", "PYTHONPATH")}
    rnngrade = str(tmp_path / "venv" / "bin" / "rnngrade")
    listed = subprocess.run([rnngrade, "list"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    shipped = str(tmp_path / "venv" / "lib")
    for pack_id in SHIPPED:
        line = next(l for l in listed.stdout.splitlines() if l.startswith(pack_id + " "))
        assert "[installed: " + shipped in line and "/grader/_shipped/assignments/" in line, line
    submission = tmp_path / "lab7_inclass.py"
    shutil.copy(ROOT / "reference" / "lab7_inclass.py", submission)
    checked = subprocess.run([rnngrade, "check", "lab7-inclass", str(submission)], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=300)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "Total: 20/30  (auto 20/20" in checked.stdout, checked.stdout
    # the Gradescope zip built from the install holds what setup.sh installs, and one pack
    built = subprocess.run([rnngrade, "gradescope", "lab7-inclass", "-o", str(tmp_path / "ag.zip")], cwd=tmp_path,
                           env=env, capture_output=True, text=True, timeout=120)
    assert built.returncode == 0, built.stderr
    names = set(zipfile.ZipFile(tmp_path / "ag.zip").namelist())
    assert {"setup.sh", "run_autograder", "pyproject.toml", "requirements.txt", "README.md", "grader/cli.py",
            "assignments/lab7-inclass/rubric.toml", "reference/lab7_inclass.py"} <= names
    assert not [n for n in names if "_shipped" in n or n.startswith("assignments/tutorial8")]
    # student code under bubblewrap sees empty folders where the installed packs and references are
    from grader.sandbox import confinement_level

    if confinement_level() != "bubblewrap":
        pytest.skip("bubblewrap is not the confinement here")
    jobs = tmp_path / "jobs"
    jobs.mkdir()
    probe = ("import os, subprocess, grader\nfrom grader.sandbox import _bwrap_prefix\n"
             "d = os.path.join(os.path.dirname(grader.__file__), '_shipped')\n"
             f"print(subprocess.run(_bwrap_prefix({str(jobs)!r}) + ['/bin/ls', '-A', d + '/assignments', "
             "d + '/reference', d], capture_output=True, text=True, check=True).stdout)\n")
    seen = subprocess.run([str(python), "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=60)
    assert seen.returncode == 0, seen.stderr
    assert "\nassignments\n" in seen.stdout and "\nreference\n" in seen.stdout  # the folders exist ...
    assert "lab7" not in seen.stdout and "rubric" not in seen.stdout  # ... and are empty


def test_list_names_a_broken_pack_in_one_line_and_exits_2(tmp_path, monkeypatch, capsys):
    directory = _pack(tmp_path / "assignments", "half-written", "a typo")
    (directory / "rubric.toml").write_text('id = "half-written"\npoints = 3\n')
    monkeypatch.setenv("RNNGRADE_HOME", str(tmp_path))
    assert main(["list"]) == 2
    captured = capsys.readouterr()
    assert "lab7-inclass" in captured.out  # the others are still listed
    (line,) = [l for l in captured.err.splitlines() if "half-written" in l]
    assert line.startswith("rnngrade: broken pack half-written: ") and "unknown key(s) points" in line
