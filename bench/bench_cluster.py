"""What going through Dask costs, and what a cluster buys.

    python bench/bench_cluster.py [--n 40] [--homework-seconds S] [--workers 1,2,4,8,16,32,64]

1. 40 lab7-inclass submissions graded locally (`--jobs 2`: one pool of 2 sandbox
   workers, cold then warm) and on a 2-worker loopback Dask cluster (a `dask scheduler` and two
   `dask worker --nthreads 1` processes on 127.0.0.1, each with its own warm pool),
   same seed: wall time, overhead per submission of the cluster, and whether the
   per-item scores are identical. The cluster batch runs twice: cold (its workers start
   their sandbox pools) and warm (a second batch on the same workers).
2. A projection for a 300-student lab7-homework batch in full mode on N workers, from a
   measured per-submission time (the reference graded in full mode here, unless
   --homework-seconds gives one) plus the measured Dask overhead per submission.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.grade import grade_batch  # noqa: E402
from grader.packs import load_pack  # noqa: E402
from grader.sandbox import WorkerPool  # noqa: E402

SEED = 4242


def start_cluster(tmp: Path, workers: int) -> tuple[str, list[subprocess.Popen]]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    sched_file = tmp / "scheduler.json"

    def start(args, log):
        return subprocess.Popen([sys.executable, "-m", *args], stdout=open(tmp / log, "wb"),
                                stderr=subprocess.STDOUT, cwd=tmp, env=env, start_new_session=True)

    procs = [start(["distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0",
                    "--no-dashboard", "--scheduler-file", str(sched_file)], "scheduler.log")]
    deadline = time.monotonic() + 60
    while not sched_file.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    address = json.loads(sched_file.read_text())["address"]
    for i in range(workers):
        procs.append(start(["distributed.cli.dask_worker", address, "--nthreads", "1", "--host", "127.0.0.1",
                            "--no-dashboard", "--name", f"w{i}"], f"w{i}.log"))
    from distributed import Client

    with Client(address, timeout=30, set_as_default=False) as client:
        client.wait_for_workers(workers, timeout=120)
    return address, procs


def stop(procs) -> None:
    for proc in reversed(procs):
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass


def timed(**kwargs):
    started = time.perf_counter()
    batch = grade_batch(**kwargs)
    return batch, time.perf_counter() - started


def scores(batch) -> dict:
    return {r.student: {i.id: i.points for i in r.items} for r in batch.results}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=40)
    parser.add_argument("--homework-seconds", type=float, default=None,
                        help="per-submission seconds of lab7-homework in full mode (default: measure the reference)")
    parser.add_argument("--workers", default="1,2,4,8,16,32,64")
    args = parser.parse_args()

    folder = ROOT / "submissions" / "lab7-inclass"
    cases = sorted(p for p in folder.iterdir() if p.is_dir())[: args.n]
    print(f"{len(cases)} lab7-inclass submissions, seed {SEED}, load {os.getloadavg()[0]:.1f}, "
          f"{os.cpu_count()} cores")

    pool = WorkerPool(imports=load_pack("lab7-inclass").spec.warm, size=2)
    try:
        local, local_cold_s = timed(pack_id="lab7-inclass", paths=cases, jobs=2, seed=SEED, pool=pool)
        local_warm, local_s = timed(pack_id="lab7-inclass", paths=cases, jobs=2, seed=SEED, pool=pool)
    finally:
        pool.close()
    for name, wall in (("cold", local_cold_s), ("warm", local_s)):
        print(f"local --jobs 2 ({name}):       {wall:6.1f} s wall  ({wall / len(cases):.2f} s/submission)")
    local_cold = {"cold": local_cold_s, "warm": local_s}

    with tempfile.TemporaryDirectory(prefix="rnngrade-bench-cluster-") as tmp:
        started = time.perf_counter()
        address, procs = start_cluster(Path(tmp), 2)
        print(f"cluster start (scheduler + 2 workers): {time.perf_counter() - started:.1f} s")
        try:
            cold, cold_s = timed(pack_id="lab7-inclass", paths=cases, seed=SEED, cluster=address)
            warm, warm_s = timed(pack_id="lab7-inclass", paths=cases, seed=SEED, cluster=address)
        finally:
            stop(procs)
    for name, batch, wall in (("cold", cold, cold_s), ("warm", warm, warm_s)):
        same = scores(batch) == scores(local)
        print(f"2-worker loopback cluster ({name}): {wall:6.1f} s wall  ({wall / len(cases):.2f} s/submission; "
              f"overhead vs local {name} {(wall - local_cold[name]) / len(cases):+.2f} s/submission); "
              f"{len(batch.results)} graded, {len(batch.failures)} failures; "
              f"per-item scores identical to local: {'yes' if same else 'NO'}")
    grading = sum(r.seconds for r in local.results) / len(local.results)
    grading_c = sum(r.seconds for r in warm.results) / len(warm.results)
    overhead = max(0.0, (warm_s - local_s) / len(cases))  # warm against warm; noise can make it < 0
    print(f"mean grading time inside a worker: local {grading:.2f} s, cluster {grading_c:.2f} s per submission")

    if args.homework_seconds is None:
        pack = load_pack("lab7-homework")
        pool = WorkerPool(imports=pack.spec.warm, size=1)
        try:
            pool.release(pool.acquire())  # the warm start is paid once per worker, reported apart
            hw, hw_s = timed(pack_id="lab7-homework", paths=[ROOT / "submissions" / "lab7-homework" / "reference"],
                             jobs=1, seed=SEED, mode="full", pool=pool)
        finally:
            pool.close()
        per = hw.results[0].seconds if hw.results else hw_s
        print(f"lab7-homework reference, full mode, measured here: {per:.1f} s per submission "
              f"({hw.results[0].auto_score if hw.results else '?'} points)")
    else:
        per = args.homework_seconds
        print(f"lab7-homework full mode, given: {per:.1f} s per submission")

    print(f"\nprojection: 300 lab7-homework submissions in full mode, {per:.1f} s each + "
          f"{overhead:.2f} s Dask overhead, one submission at a time per worker thread:")
    print(f"{'workers':>8} {'wall':>10}")
    for n in (int(x) for x in args.workers.split(",")):
        rounds = math.ceil(300 / n)
        wall = rounds * (per + overhead) + 10  # + about 10 s: connect, vet workers, warm pool start
        print(f"{n:>8} {wall / 60:>8.1f} min")
    print("(one worker = one `dask worker --nthreads 1` on its own core; a worker with k threads counts as k)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
