"""What the fallback sandbox (rlimits+nobody: run uid, Landlock, seccomp) costs per run,
measured piece by piece (as root), so machine load does not drown a few milliseconds:

  grader side: lease a run uid, hand it the run folder, plan, sweep the uid, release
  child side:  confine.enter (rlimits, uid drop, Landlock, seccomp) in a forked child

    sudo python bench/bench_fallback.py [--runs 40]

For the end-to-end figure compare `RNNGRADE_SANDBOX=rlimits+nobody` with
`RNNGRADE_SANDBOX=bubblewrap` in bench/bench_batch.py (noisy on a loaded machine).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402,F401  (a grader-sized process: forks and page tables as in real use)

from grader import confine, sandbox  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench_fallback: the fallback needs root")
    worker = sandbox.Worker(imports=("numpy",), level="rlimits+nobody")
    grader_wall, grader_cpu, child_wall, child_cpu = [], [], [], []
    try:
        for i in range(args.runs):
            jobdir = Path(worker.root) / f"bench{i:04d}"
            (jobdir / "work").mkdir(parents=True)
            (jobdir / "figs").mkdir()
            (jobdir / "work" / "student.py").write_text("x = 1\n")
            wall, cpu = time.perf_counter(), time.process_time()
            lease = confine.lease_uid()
            plan = worker._confinement(lease.uid, jobdir, [str(ROOT / "reference")])
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            read_end, write_end = os.pipe()
            pid = os.fork()
            if pid == 0:
                w0, c0 = time.perf_counter(), time.process_time()
                confine.enter({"limits": {"memory": 1 << 30, "fsize": 1 << 28}, "confine": plan})
                os.write(write_end, json.dumps([time.perf_counter() - w0, time.process_time() - c0]).encode())
                os._exit(0)
            os.close(write_end)
            with os.fdopen(read_end, "rb") as fh:
                cw, cc = json.loads(fh.read())
            os.waitpid(pid, 0)
            w1, c1 = time.perf_counter(), time.process_time()
            lease.release(str(jobdir))
            grader_wall.append(wall + time.perf_counter() - w1)
            grader_cpu.append(cpu + time.process_time() - c1)
            child_wall.append(cw)
            child_cpu.append(cc)
    finally:
        worker.close()

    def ms(values: list[float]) -> str:
        return f"{statistics.median(values) * 1000:6.2f} ms"

    print(f"fallback, per run, median of {args.runs} (Landlock ABI {confine.landlock_abi()}):")
    print(f"  grader side (lease, folder, plan, sweep, release): {ms(grader_wall)} wall, {ms(grader_cpu)} cpu")
    print(f"  child side  (confine.enter):                       {ms(child_wall)} wall, {ms(child_cpu)} cpu")
    print(f"  total:                                             {statistics.median(grader_wall) * 1000 + statistics.median(child_wall) * 1000:6.2f} ms wall")


if __name__ == "__main__":
    main()
