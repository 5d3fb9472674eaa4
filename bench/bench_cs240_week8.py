"""Grading time of cs240-week8, q1 and q2 separately, per example submission.

Each submission's q1.py and q2.py are graded as two one-file submissions on one warm
worker, one at a time, with a batch-wide memo already filled by a first grading of the
reference (that first grading, printed separately, pays the once-per-batch costs: the
reference's q1 trajectory, the q2 training-seed search and torch's first-use warm-up).

    python bench/bench_cs240_week8.py [--data-dir ../shared/data] [--repeats 1]
"""
from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.context import Memo  # noqa: E402
from grader.discover import Submission  # noqa: E402
from grader.grade import grade_submission  # noqa: E402
from grader.packs import load_pack  # noqa: E402
from grader.sandbox import Worker  # noqa: E402

PACK = "cs240-week8"
CASES = ROOT / "submissions" / PACK
SEED = 1234


def grade_one(pack, worker, memo, data_dir, name: str, path: Path):
    return grade_submission(pack, Submission(name, (path,)), worker=worker, seed=SEED,
                            data_dir=data_dir, memo=memo)


def main() -> None:
    parser = argparse.ArgumentParser()
    default_data = ROOT.parent / "shared" / "data"
    parser.add_argument("--data-dir", type=Path, default=default_data if default_data.is_dir() else None)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    pack = load_pack(PACK)
    worker, memo = Worker(imports=pack.spec.warm), Memo()
    try:
        print(f"cs240-week8 grading time per file (warm worker, sandbox: {worker.level}, "
              f"data: {args.data_dir or 'synthetic'})")
        for unit in ("q1", "q2"):
            first = grade_one(pack, worker, memo, args.data_dir, "warmup", CASES / "reference" / f"{unit}.py")
            print(f"  first {unit} of a batch (reference, fills the memo): {first.seconds:6.2f} s")
        print(f"  {'submission':24s} {'q1 s':>7s} {'q1 pts':>7s} {'q2 s':>7s} {'q2 pts':>7s}  (student code in the child: q1, q2)")
        for case in sorted(p for p in CASES.iterdir() if p.is_dir()):
            cells, child = [], []
            for unit in ("q1", "q2"):
                path = case / f"{unit}.py"
                if not path.exists():
                    cells += ["-", "-"]
                    child.append("-")
                    continue
                results = [grade_one(pack, worker, memo, args.data_dir, case.name, path) for _ in range(args.repeats)]
                cells += [f"{statistics.median(r.seconds for r in results):.2f}", f"{results[0].auto_score:g}"]
                child.append(f"{statistics.median(r.student_seconds for r in results):.2f}")
            print(f"  {case.name:24s} {cells[0]:>7s} {cells[1]:>7s} {cells[2]:>7s} {cells[3]:>7s}  ({', '.join(child)})")
    finally:
        worker.close()


if __name__ == "__main__":
    main()
