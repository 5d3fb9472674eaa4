"""assignment7 benchmark: grading time per example submission, without and with --execute.

    python bench/bench_assignment7.py                       every example, definitions only, then
                                                            --execute on reference and two others
    python bench/bench_assignment7.py --execute-cases all   --execute on every example (minutes)
    python bench/bench_assignment7.py --jobs 2

Without --execute only the notebook's definitions run (classes, functions, constants), then the
probes: seconds per submission. With --execute the whole notebook also runs in a second sandboxed
run (training of Experiments 1 and 2 on CPU), which dominates. Figures depend on the machine's load.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PACK = "assignment7"
DEFAULT_EXECUTE = ("reference", "last-hidden-at-minus-one", "nn-lstm-inside-customrnn")


def timed(paths: list[Path], mode: str, jobs: int, seed: int) -> None:
    from grader.grade import grade_batch

    started = time.perf_counter()
    batch = grade_batch(pack_id=PACK, paths=paths, jobs=jobs, seed=seed, mode=mode, timeout=900 if mode == "full" else None)
    wall = time.perf_counter() - started
    label = "--execute" if mode == "full" else "definitions only"
    print(f"\n{label}")
    print(f"{'submission':36s} {'grading s':>10s} {'student s':>10s}")
    for result in batch.results:
        print(f"{result.student:36s} {result.seconds:10.1f} {result.student_seconds:10.1f}")
    for origin, why in batch.failures:
        print(f"{origin}: {why}")
    times = [r.seconds for r in batch.results]
    if times:
        print(f"{len(times)} submissions: median {statistics.median(times):.1f} s, max {max(times):.1f} s per submission; "
              f"wall {wall:.1f} s with --jobs {jobs}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--execute-cases", default=",".join(DEFAULT_EXECUTE),
                        help="comma-separated example names for the --execute run, or 'all' (default: %(default)s)")
    args = parser.parse_args()
    folder = ROOT / "submissions" / PACK
    cases = sorted(p for p in folder.iterdir() if (p / "expected.json").exists())
    timed(cases, "budget", args.jobs, args.seed)
    chosen = cases if args.execute_cases == "all" else [folder / c for c in args.execute_cases.split(",") if c]
    timed(chosen, "full", args.jobs, args.seed)


if __name__ == "__main__":
    main()
