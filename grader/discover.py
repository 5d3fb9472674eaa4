"""Paths on the command line -> submissions (a student id and that student's files).

Accepts a file, a folder of files, a folder of per-student folders, a zip, and a
Gradescope "export submissions" folder (`submission_metadata.yml`)."""
from __future__ import annotations

import re
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from grader.packs import PackSpec
from grader.units import imported_helpers, match_units

GRADABLE = {".py", ".ipynb", ".md", ".txt", ".pdf"}
CODE = {".py", ".ipynb"}
ZIP_MAX_BYTES = 200 << 20


class DiscoverError(Exception):
    """A path that holds nothing gradable."""


@dataclass(frozen=True)
class Submission:
    student: str
    files: tuple[Path, ...]
    origin: str = ""
    problems: tuple[str, ...] = field(default=())
    # Gradescope export: (name, email, sid) of each submitter, from submission_metadata.yml
    submitters: tuple[tuple[str, str, str], ...] = field(default=())


def discover(paths: list[Path], spec: PackSpec) -> tuple[list[Submission], list[tuple[str, str]]]:
    """Submissions found, and (path, reason) for every path that held none."""
    found: list[Submission] = []
    failures: list[tuple[str, str]] = []
    for path in paths:
        try:
            found += _discover_one(Path(path), spec)
        except DiscoverError as exc:
            failures.append((str(path), str(exc)))
    return _unique_students(found), failures


def _discover_one(path: Path, spec: PackSpec) -> list[Submission]:
    if not path.exists():
        raise DiscoverError(f"{path}: no such file or folder")
    if path.is_file():
        if path.suffix.lower() == ".zip":
            return _from_zip(path, spec)
        if path.suffix.lower() not in CODE:
            raise DiscoverError(f"{path}: not a .py, .ipynb or .zip file")
        return [Submission(_student_id(path.stem), (path,), str(path))]
    if (path / "submission_metadata.yml").exists():
        return _from_gradescope(path)
    return _from_folder(path, spec)


def gradable_files(folder: Path) -> list[Path]:
    """The files of a folder that can be part of a submission (code, answers), sorted."""
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and p.suffix.lower() in GRADABLE and not p.name.startswith(".")
                  and p.name != "expected.json")


def _from_folder(folder: Path, spec: PackSpec) -> list[Submission]:
    files = gradable_files(folder)
    subdirs = sorted(d for d in folder.iterdir() if d.is_dir() and not d.name.startswith((".", "__")))
    code = [f for f in files if f.suffix in CODE]
    if code and _one_student(code, spec):
        return [Submission(_student_id(folder.name), tuple(files), str(folder))]
    found = [Submission(_student_id(f.stem), (f,), str(f)) for f in code]
    for sub in subdirs:
        sub_files = gradable_files(sub)
        if any(f.suffix in CODE for f in sub_files):
            found.append(Submission(_student_id(sub.name), tuple(sub_files), str(sub)))
        elif any(p.is_dir() for p in sub.iterdir()):
            found += _from_folder(sub, spec) if _has_code(sub) else []
    if not found:
        raise DiscoverError(f"{folder}: no .py or .ipynb submission found")
    return found


def _has_code(folder: Path) -> bool:
    return any(p.suffix in CODE for p in folder.rglob("*") if p.is_file())


def _one_student(code: list[Path], spec: PackSpec) -> bool:
    """A folder is one student's submission when its code files fill distinct units
    (q1.py + q2.py), not when several files compete for the same unit."""
    if len(code) == 1:
        return True
    helpers = imported_helpers(code)
    main = [f for f in code if f not in helpers]
    if not main:
        return False
    return len(match_units(spec, main)) == len(main)


def _from_zip(path: Path, spec: PackSpec) -> list[Submission]:
    target = Path(tempfile.mkdtemp(prefix="rnngrade-zip-"))
    try:
        with zipfile.ZipFile(path) as archive:
            total = 0
            for info in archive.infolist():
                name = Path(info.filename)
                if info.is_dir() or name.is_absolute() or ".." in name.parts or "__MACOSX" in name.parts:
                    continue  # zip-slip and resource forks
                total += info.file_size
                if total > ZIP_MAX_BYTES:
                    raise DiscoverError(f"{path}: unpacks to more than 200 MB")
                dest = target / name
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(archive.read(info))
    except zipfile.BadZipFile:
        raise DiscoverError(f"{path}: not a valid zip file") from None
    entries = [p for p in target.iterdir() if not p.name.startswith(".")]
    root = entries[0] if len(entries) == 1 and entries[0].is_dir() else target
    if (root / "submission_metadata.yml").exists():
        return _from_gradescope(root)
    found = _from_folder(root, spec)
    if len(found) == 1:
        return [Submission(_student_id(path.stem), found[0].files, str(path))]
    return found


def _from_gradescope(folder: Path) -> list[Submission]:
    import yaml

    try:
        meta = yaml.safe_load((folder / "submission_metadata.yml").read_text()) or {}
    except yaml.YAMLError as exc:
        raise DiscoverError(f"{folder}: submission_metadata.yml is not valid YAML ({exc})") from None
    found = []
    for key, info in meta.items():
        sub = folder / str(key)
        if not sub.is_dir():
            continue
        people = _submitters(info)
        names = [email or name for name, email, _sid in people]
        student = _student_id("+".join(n for n in names if n) or str(key))
        files = [p for p in sorted(sub.rglob("*")) if p.is_file() and p.suffix.lower() in GRADABLE
                 and not p.is_symlink() and "__MACOSX" not in p.parts]
        found.append(Submission(student, tuple(files), str(sub), submitters=people))
    if not found:
        raise DiscoverError(f"{folder}: the Gradescope export lists no submission folders")
    return found


def _submitters(info) -> tuple[tuple[str, str, str], ...]:
    """(name, email, sid) per submitter of one entry of submission_metadata.yml. Gradescope
    writes Ruby-style keys (`:submitters:`, `:name:`, `:email:`, `:sid:`); plain keys work too."""
    if not isinstance(info, dict):
        return ()
    raw = info.get(":submitters") or info.get("submitters") or []
    people = []
    for person in raw if isinstance(raw, list) else []:
        if not isinstance(person, dict):
            continue

        def get(key: str) -> str:
            value = person.get(":" + key, person.get(key))
            return "" if value is None else " ".join(str(value).split())[:200]

        people.append((get("name"), get("email"), get("sid")))
    return tuple(people)


def _student_id(text: str) -> str:
    """A student id safe as a folder name."""
    clean = re.sub(r"[^A-Za-z0-9@._+-]+", "_", text).strip("._") or "student"
    return clean[:80]


def _unique_students(found: list[Submission]) -> list[Submission]:
    seen: dict[str, int] = {}
    out = []
    for sub in found:
        n = seen.get(sub.student, 0)
        seen[sub.student] = n + 1
        out.append(sub if n == 0 else Submission(f"{sub.student}-{n + 1}", sub.files, sub.origin,
                                                 sub.problems, sub.submitters))
    return out
