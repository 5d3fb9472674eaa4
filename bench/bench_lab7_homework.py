"""Grading time of one lab7-homework submission in budget mode, split into the student's
training, the grader's evaluation on the 10,000 test images, and everything else.

    python bench/bench_lab7_homework.py [SUBMISSION ...] [--repeat N] [--mode budget|full]

Default submission: submissions/lab7-homework/reference. Figures are wall seconds and CPU
seconds (parent + sandboxed child); the warm worker's start (importing torch and
torchvision once per batch) is reported apart, since a batch pays it once. The target in
budget mode is under 60 s per submission.
"""
from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader import context, data  # noqa: E402
from grader.discover import discover  # noqa: E402
from grader.grade import grade_submission  # noqa: E402
from grader.packs import load_pack  # noqa: E402
from grader.sandbox import Worker  # noqa: E402

PACK = "lab7-homework"
CHILD_CPU = "import resource as _r\n_u = _r.getrusage(_r.RUSAGE_SELF)\ncpu = _u.ru_utime + _u.ru_stime"


def _instrument(pack, seen: dict) -> None:
    """Record the child's CPU before each run closes, and the evaluation's figures."""
    original_close = context.Run.close

    def close(self):
        if self.alive:
            try:
                seen["child_cpu"] = float(self.probe(CHILD_CPU, want=["cpu"])["cpu"])
            except Exception:  # noqa: BLE001 (a lost child: no figure)
                seen["child_cpu"] = float("nan")
        return original_close(self)

    context.Run.close = close
    checks_module = sys.modules[next(iter(pack.checks.values())).__module__]
    original_eval = checks_module._evaluate  # run once per submission (ctx.once)

    def evaluate(ctx):
        seen["evaluation"] = result = original_eval(ctx)
        return result

    checks_module._evaluate = evaluate


def _parent_cpu() -> float:
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="*", default=[str(ROOT / "submissions" / PACK / "reference")])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--mode", choices=["budget", "full"], default="budget")
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args(argv)

    pack = load_pack(PACK)
    data_dir = data.resolve_data_dir(args.data_dir)
    _, description = data.mnist_run_files(data_dir)  # unpack once, outside the timings
    seen: dict = {}
    _instrument(pack, seen)
    started = time.perf_counter()
    worker = Worker(imports=pack.spec.warm)
    warm = time.perf_counter() - started
    started = time.perf_counter()
    pack.reference  # the grader imports the reference (and torch) once per batch
    reference = time.perf_counter() - started
    print(f"data: {description}")
    print(f"once per batch: warm worker start (imports {', '.join(pack.spec.warm)}) {warm:.1f} s wall; "
          f"grader imports the reference {reference:.1f} s wall")
    print(f"sandbox: {worker.level}; mode: {args.mode}; budget: {pack.spec.options.get('budget_batches')} "
          f"batches or {pack.spec.options.get('budget_seconds')} CPU s")
    header = (f"{'submission':28s} {'score':>6s} | {'total':>6s} {'training':>8s} {'eval 10k':>8s} {'other':>6s}"
              f" | cpu: {'total':>6s} {'training':>8s} {'eval 10k':>8s} {'other':>6s}")
    print(header)
    print("-" * len(header))
    rows = []
    try:
        submissions, failures = discover([Path(p) for p in args.paths], pack.spec)
        for path, why in failures:
            print(f"skipped {path}: {why}")
        for sub in submissions:
            for _ in range(args.repeat):
                seen.clear()
                cpu0, t0 = _parent_cpu(), time.perf_counter()
                result = grade_submission(pack, sub, worker=worker, seed=1234, mode=args.mode, data_dir=data_dir)
                wall = time.perf_counter() - t0
                cpu = _parent_cpu() - cpu0 + seen.get("child_cpu", 0.0)
                ev = seen.get("evaluation", {})
                budget = ev.get("budget", {})
                train = budget.get("train_seconds") or 0.0
                train_cpu = budget.get("train_cpu_seconds") or 0.0
                ev_wall = ev.get("seconds") or 0.0
                ev_cpu = ev.get("child_cpu_seconds") or 0.0
                row = (wall, train, ev_wall, cpu, train_cpu, ev_cpu)
                rows.append(row)
                print(f"{sub.student:28s} {result.auto_score:6.1f} | {wall:6.1f} {train:8.1f} {ev_wall:8.1f} "
                      f"{wall - train - ev_wall:6.1f} | cpu: {cpu:6.1f} {train_cpu:8.1f} {ev_cpu:8.1f} "
                      f"{cpu - train_cpu - ev_cpu:6.1f}")
    finally:
        worker.close()
    if len(rows) > 1:
        med = [statistics.median(col) for col in zip(*rows)]
        print(f"{'median':28s} {'':6s} | {med[0]:6.1f} {med[1]:8.1f} {med[2]:8.1f} {med[0] - med[1] - med[2]:6.1f}"
              f" | cpu: {med[3]:6.1f} {med[4]:8.1f} {med[5]:8.1f} {med[3] - med[4] - med[5]:6.1f}")
    print("seconds; 'other' = running the rest of the script (data loading, the student's own test loop "
          "and plots) + the cell probes + figures and reports")
    return 0


if __name__ == "__main__":
    sys.exit(main())
