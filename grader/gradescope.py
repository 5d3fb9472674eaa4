"""Gradescope: `rnngrade gradescope PACK -o autograder.zip` builds the autograder zip, and
the commands its scripts call (`python -m grader.gradescope provision|check|run`).

The zip's root is what Gradescope unpacks into /autograder/source: `setup.sh` and
`run_autograder` at the root (Gradescope looks for them there), beside the engine
(`grader/`, `reference/`, `pyproject.toml`, `requirements.txt`) and the one pack.

- setup.sh (image build, root, network): own virtualenv, the pinned torch pair, bubblewrap
  where possible, the pack's data fetched and verified by checksum, an import check. Any
  failure fails the build with a message.
- run_autograder (per submission): grades everything in /autograder/submission as ONE
  student and always leaves /autograder/results/results.json. A grader-side problem
  (missing data or library, an engine crash) gives a result saying the autograder is
  misconfigured and to contact the staff, never a score blamed on the student.

Both scripts read AUTOGRADER_ROOT (default /autograder) and RNNGRADE_VENV, so that tests run
them in a temporary folder laid out like /autograder.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
import traceback
import zipfile
from pathlib import Path

from grader.packs import load_pack, project_root

TEMPLATES = Path(__file__).resolve().parent / "templates" / "gradescope"

# What the autograder needs from the repository: never the example submissions or tests.
INCLUDE = ["grader", "reference", "pyproject.toml", "requirements.txt", "README.md"]
SHIPPED = Path(__file__).resolve().parent / "_shipped"  # a wheel's packs, references and build files

# Files of a submission the grader looks at (code, answers); the rest is ignored.
SUBMISSION_SUFFIXES = {".py", ".ipynb", ".md", ".txt", ".pdf"}
SUBMISSION_MAX_FILES = 200
SKIP_PARTS = {"__MACOSX", "__pycache__", ".ipynb_checkpoints", ".git"}

MISCONFIGURED = ("Your submission could not be graded: the autograder is misconfigured ({why}). "
                 "This is not a problem with your code and not your grade. "
                 "Please contact the course staff; they can re-run the autograder once it is fixed.")

log = logging.getLogger("rnngrade")


# -- building the zip -----------------------------------------------------------------------


def build_autograder(*, pack_id: str, output: Path, train: str = "full", show_manual: bool | None = None) -> Path:
    """Write the autograder zip for pack_id; setup.sh and run_autograder sit at its root."""
    pack = load_pack(pack_id)
    if show_manual is None:
        show_manual = bool(pack.spec.gradescope.get("show_manual", False))
    root = project_root()
    values = {"@PACK@": pack_id, "@TRAIN@": train, "@SHOW_MANUAL@": "1" if show_manual else "0"}
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in ("setup.sh", "run_autograder"):
            text = (TEMPLATES / name).read_text()
            for key, value in values.items():
                text = text.replace(key, value)
            _write(archive, name, text, executable=True)
        for name in INCLUDE:
            source = root / name
            if not source.exists() and (SHIPPED / name).exists():
                source = SHIPPED / name  # an installed wheel: the copies it carries (pyproject: grader._shipped)
            _add_tree(archive, source, name)
        _add_tree(archive, pack.spec.dir, f"assignments/{pack_id}")
        ref = pack.reference_path  # a reference beside the pack's assignments/ folder: where it resolves
        if ref is not None and ref.is_file() and pack.spec.dir not in ref.parents \
                and not (root / pack.spec.reference).is_file():
            _write(archive, pack.spec.reference, ref.read_text())
    return output


def _write(archive: zipfile.ZipFile, name: str, text: str, *, executable: bool = False) -> None:
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
    info.external_attr = (0o100755 if executable else 0o100644) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, text)


def _add_tree(archive: zipfile.ZipFile, path: Path, arcname: str) -> None:
    if path.is_file():
        archive.write(path, arcname)
        return
    for file in sorted(path.rglob("*")):
        if path == SHIPPED.parent and file.relative_to(path).parts[0] == SHIPPED.name:
            continue  # the wheel's copies of every pack: the zip holds its own pack and files
        if file.is_file() and "__pycache__" not in file.parts and not file.name.endswith(".pyc"):
            archive.write(file, f"{arcname}/{file.relative_to(path)}")


# -- setup.sh: data and an import check --------------------------------------------------------


def provision(pack_id: str, data_dir: Path) -> int:
    """Fetch and verify the data sets the pack declares (`[requires] data`). Returns 1 (and
    says why) when any is missing or fails its checksum after the fetch."""
    from grader import data as data_mod
    from grader.packs import requirement_problems

    spec = load_pack(pack_id).spec
    needed = list(spec.requires.get("data", []))
    if not needed:
        print(f"{pack_id} needs no data set")
        return 0
    data_dir.mkdir(parents=True, exist_ok=True)
    opener = None
    if os.environ.get("RNNGRADE_OFFLINE"):  # tests, and builds that ship the data in the zip
        def opener(url: str):
            raise OSError("RNNGRADE_OFFLINE is set: no download")
    for entry in needed:  # an entry with alternatives: its preferred one is fetched
        data_mod.fetch(data_dir, names=data_mod.requirement_names(entry), progress=lambda line: print("  " + line),
                       opener=opener)
    problems = [p for p in requirement_problems(spec, data_dir) if "data" in p]
    for problem in problems:
        print(f"FAILED: {problem}", file=sys.stderr)
    return 1 if problems else 0


def check_install(pack_id: str, data_dir: Path) -> int:
    """What setup.sh runs last: the pack loads, its checks and reference import, its
    requirements hold, and the sandbox's warm interpreter starts."""
    from grader.packs import requirement_problems
    from grader.sandbox import Worker

    pack = load_pack(pack_id)
    problems = requirement_problems(pack.spec, data_dir)
    for problem in problems:
        print(f"FAILED: {problem}", file=sys.stderr)
    if problems:
        return 1
    _ = pack.checks, pack.reference
    worker = Worker(imports=pack.spec.warm)
    try:
        print(f"{pack_id}: checks and reference import; sandbox level {worker.level}")
    finally:
        worker.close()
    return 0


# -- run_autograder ---------------------------------------------------------------------------


def submission_files(folder: Path) -> list[Path]:
    """Every file of the upload the grader can use, in subfolders too (no links, no
    resource forks, no checkpoints)."""
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if any(part in SKIP_PARTS or part.startswith(".") for part in rel.parts):
            continue
        if path.is_symlink() or not path.is_file() or path.suffix.lower() not in SUBMISSION_SUFFIXES:
            continue
        found.append(path)
        if len(found) >= SUBMISSION_MAX_FILES:
            break
    return found


def _student(metadata: Path | None) -> tuple[str, tuple[tuple[str, str, str], ...]]:
    """The submitter(s) from Gradescope's /autograder/submission_metadata.json, if present."""
    try:
        meta = json.loads(metadata.read_text()) if metadata and metadata.is_file() else {}
        users = meta.get("users") or []
        people = tuple((str(u.get("name") or ""), str(u.get("email") or ""), str(u.get("sid") or ""))
                       for u in users if isinstance(u, dict))
    except (OSError, ValueError, AttributeError):
        people = ()
    from grader.discover import _student_id

    name = "+".join(p[1] or p[0] for p in people if p[1] or p[0])
    return _student_id(name or "submission"), people


def misconfigured(why: str, *, pack_id: str = "", seconds: float = 0.0, detail: str = "") -> dict:
    """The results.json of a submission the grader could not grade (grader-side problem)."""
    return {
        "score": 0,
        "execution_time": max(0, round(seconds)),
        "output": MISCONFIGURED.format(why=why),
        "output_format": "text",
        "stdout_visibility": "hidden",
        "tests": [],
        "extra_data": {"assignment": pack_id, "misconfigured": True, "error": f"grader-side: {why}",
                       "detail": detail[-4000:]},
    }


def run(pack_id: str, *, submission: Path, results: Path, data_dir: Path | None, mode: str = "full",
        show_manual: bool = False, metadata: Path | None = None, seed: int | None = None) -> dict:
    """Grade everything in `submission` as one student and write `results` (Gradescope's
    format). Never raises: an engine failure is written as a misconfigured result."""
    started = time.perf_counter()
    try:
        doc = _grade(pack_id, submission=submission, data_dir=data_dir, mode=mode, show_manual=show_manual,
                     metadata=metadata, seed=seed)
    except Exception as exc:  # the engine failed: grader-side, never the student's fault
        trace = traceback.format_exc()
        print(trace, file=sys.stderr)  # /autograder/results/stdout: for the staff
        doc = misconfigured(f"the grading engine failed: {type(exc).__name__}: {exc}", pack_id=pack_id,
                            seconds=time.perf_counter() - started, detail=trace)
    try:
        from grader.results_json import write_json

        write_json(doc, results)
    except Exception:  # even the writer is broken: plain json, still a valid results.json
        results.parent.mkdir(parents=True, exist_ok=True)
        results.write_text(json.dumps(misconfigured("the result writer failed", pack_id=pack_id,
                                                    detail=traceback.format_exc())))
    return doc


def _grade(pack_id: str, *, submission: Path, data_dir: Path | None, mode: str, show_manual: bool,
           metadata: Path | None, seed: int | None) -> dict:
    from grader.discover import Submission
    from grader.grade import grade_submission
    from grader.packs import requirement_problems
    from grader.results_json import to_gradescope_json
    from grader.sandbox import Worker

    started = time.perf_counter()
    pack = load_pack(pack_id)
    problems = requirement_problems(pack.spec, data_dir)
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return misconfigured("; ".join(problems), pack_id=pack_id, seconds=time.perf_counter() - started)
    files = submission_files(submission)
    student, people = _student(metadata)
    sub = Submission(student, tuple(files), str(submission), submitters=people)
    has_code = any(f.suffix in (".py", ".ipynb") for f in files)
    # no code at all (an empty upload): every item scores 0 with "no file submitted"; no sandbox
    worker = Worker(imports=pack.spec.warm) if has_code else None
    from grader.grade import NotGraded

    try:
        result = grade_submission(pack, sub, worker=worker, mode=mode, data_dir=data_dir,
                                  seed=seed if seed is not None else int(time.time()) % (2**31))
    except NotGraded as exc:  # the upload itself is unreadable (a notebook that is not JSON)
        return {"score": 0, "execution_time": max(0, round(time.perf_counter() - started)),
                "output": f"Your submission could not be graded: {exc.reason}. Open it in Jupyter, "
                          "save it again (File > Save) and resubmit.",
                "output_format": "text", "stdout_visibility": "hidden", "tests": [],
                "extra_data": {"assignment": pack_id, "error": exc.reason, "student": student}}
    finally:
        if worker is not None:
            worker.close()
    doc = to_gradescope_json(result, show_manual=show_manual,
                             stdout_visibility=pack.spec.gradescope.get("stdout_visibility", "hidden"))
    if not has_code:
        doc["output"] = ("No .py or .ipynb file was found in your upload "
                         f"({len(files)} usable file(s)). Upload your script or notebook and "
                         "resubmit.\n" + doc["output"])
    grader_errors = [t["name"] for t in doc["tests"] if "grader error" in (t.get("output") or "")]
    if grader_errors:
        doc["output"] = ("Part of your submission could not be graded because of a problem in the "
                         f"autograder ({', '.join(grader_errors)}); please contact the course staff.\n"
                         + doc["output"])
        doc["extra_data"]["grader_errors"] = grader_errors
    return doc


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="rnngrade: %(message)s")
    parser = argparse.ArgumentParser(prog="python -m grader.gradescope")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("provision", "check"):
        p = sub.add_parser(name)
        p.add_argument("pack")
        p.add_argument("--data-dir", type=Path, required=True)
    p = sub.add_parser("run")
    p.add_argument("pack")
    p.add_argument("--submission", type=Path, default=Path("/autograder/submission"))
    p.add_argument("--results", type=Path, default=Path("/autograder/results/results.json"))
    p.add_argument("--data-dir", type=Path, default=None)
    p.add_argument("--train", choices=["full", "budget"], default="full")
    p.add_argument("--show-manual", default="0")
    p.add_argument("--metadata", type=Path, default=None)
    p.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    if args.command == "provision":
        return provision(args.pack, args.data_dir)
    if args.command == "check":
        return check_install(args.pack, args.data_dir)
    doc = run(args.pack, submission=args.submission, results=args.results, data_dir=args.data_dir,
              mode=args.train, show_manual=str(args.show_manual).lower() in ("1", "true", "yes"),
              metadata=args.metadata, seed=args.seed)
    print(f"score {doc.get('score')}; results written to {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
