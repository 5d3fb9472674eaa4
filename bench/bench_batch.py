"""Batch grading against the students' own compute (issue: batch grading at the speed of
the students' own code). Prints, for lab7-inclass on the reference submission:

  (a) the student's script run with plain python (fresh interpreter, as a student runs it)
  (b) rnngrade per submission, one at a time, on a warm worker (and a cold `rnngrade grade`)
  (c) a batch of N copies with --jobs 2
  (d) the bare cost of one run on a warm worker: start (fork, per-run isolation), a one-line
      unit, one probe, finish and clean-up; nothing of the student's compute
and the ratios b/a and (c/N)/(a/2).

    python bench/bench_batch.py [--copies 40] [--jobs 2]
    python bench/bench_batch.py --bare-only [--repeats 30]      (d) alone
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.discover import Submission  # noqa: E402
from grader.grade import grade_batch, grade_submission  # noqa: E402
from grader.packs import load_pack  # noqa: E402
from grader.sandbox import Limits, Worker, WorkerPool  # noqa: E402

SCRIPT = ROOT / "submissions" / "lab7-inclass" / "reference" / "lab7_inclass.py"


def plain_python(repeats: int) -> float:
    env = dict(os.environ, MPLBACKEND="Agg", OMP_NUM_THREADS="1")
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(repeats):
            started = time.perf_counter()
            subprocess.run([sys.executable, str(SCRIPT)], cwd=tmp, env=env, check=True, capture_output=True)
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def warm_per_submission(repeats: int) -> tuple[float, float]:
    pack = load_pack("lab7-inclass")
    worker = Worker(imports=pack.spec.warm)
    try:
        grade_submission(pack, Submission("warmup", (SCRIPT,)), worker=worker, seed=1)  # imports, caches
        totals, students = [], []
        for i in range(repeats):
            result = grade_submission(pack, Submission(f"s{i}", (SCRIPT,)), worker=worker, seed=1)
            totals.append(result.seconds)
            students.append(result.student_seconds)
    finally:
        worker.close()
    return statistics.median(totals), statistics.median(students)


def bare_run(repeats: int) -> tuple[float, str]:
    from grader.run import Run
    from grader.load import SourceUnit

    worker = Worker(imports=("numpy", "torch", "matplotlib"))
    unit = SourceUnit("main", SCRIPT, "student.py", "x = 1\n")
    times = []
    try:
        for i in range(repeats + 2):
            started = time.perf_counter()
            run = Run(unit, worker.start(files={"student.py": "x = 1\n"}, limits=Limits()), timeout=10)
            run.execute(as_main=True, prelude=None, probes=None, banned=[])
            assert run.probe("y = x + 1", want=["y"])["y"] == 2
            run.close()
            if i >= 2:  # the first runs warm caches
                times.append(time.perf_counter() - started)
    finally:
        worker.close()
    return statistics.median(times), worker.level


def cold_cli() -> float:
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "grader", "grade", "lab7-inclass", str(SCRIPT), "--out", tmp,
                        "--jobs", "1"], check=True, capture_output=True, cwd=ROOT)
        return time.perf_counter() - started


def batch(copies: int, jobs: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(copies):
            folder = Path(tmp) / f"student{i:03d}"
            folder.mkdir()
            shutil.copy(SCRIPT, folder / "lab7_inclass.py")
        pool = WorkerPool(imports=load_pack("lab7-inclass").spec.warm, size=jobs)
        try:
            started = time.perf_counter()
            result = grade_batch(pack_id="lab7-inclass", paths=[Path(tmp)], jobs=jobs, pool=pool, seed=1)
            elapsed = time.perf_counter() - started
        finally:
            pool.close()
        assert len(result.results) == copies and all(r.auto_score == 20 for r in result.results)
        return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--copies", type=int, default=40)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--bare-only", action="store_true")
    args = parser.parse_args()
    d, level = bare_run(max(args.repeats, 10))
    print(f"(d) one bare run on a warm worker ({level}):     {d:7.3f} s")
    if args.bare_only:
        return
    a = plain_python(args.repeats)
    b, b_student = warm_per_submission(args.repeats)
    cold = cold_cli()
    c = batch(args.copies, args.jobs)
    print(f"(a) plain python, the student's script:            {a:7.3f} s")
    print(f"(b) rnngrade per submission, warm worker:          {b:7.3f} s  (student code in the child {b_student:.3f} s)")
    print(f"    engine overhead per submission (b - student):  {b - b_student:7.3f} s")
    print(f"    cold `rnngrade grade` of one file (CLI):       {cold:7.3f} s")
    print(f"(c) batch of {args.copies} with --jobs {args.jobs}:                {c:7.3f} s  ({c / args.copies:.3f} s each)")
    print(f"b/a = {b / a:.3f}    (c/{args.copies})/(a/{args.jobs}) = {(c / args.copies) / (a / args.jobs):.3f}")


if __name__ == "__main__":
    main()
