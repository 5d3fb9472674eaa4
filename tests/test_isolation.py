"""Each run is alone; the grader reads a run's folder as hostile input; a dead worker is
replaced; the channel cannot be forged (issue 9, items 2 and 3).

The hostile suite lives in submissions/hostile/<case>/ (a lab7-inclass script that attacks
first and then does the lab properly, or the other way round) with the exact result each
must get in expected.json. Each case is graded on a one-worker pool, then the reference
solution on the same pool: it must still earn every point."""
from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from conftest import ROOT
from grader.context import Memo
from grader.run import Run
from grader.discover import discover
from grader.grade import grade_batch, grade_submission
from grader.load import SourceUnit
from grader.packs import load_pack
from grader.sandbox import (FIGURE_MAX_BYTES, Limits, Session, SandboxLost, Worker, WorkerPool,
                            confinement_level, read_bounded, WorkerLost)

HOSTILE = ROOT / "submissions" / "hostile"
CASES = sorted(p.name for p in HOSTILE.iterdir() if (p / "expected.json").exists())
REFERENCE = ROOT / "submissions" / "lab7-inclass" / "reference"
PLANTED = Path("/tmp/rnngrade-hostile-planted")
BWRAP = confinement_level() == "bubblewrap"
needs_bwrap = pytest.mark.skipif(not BWRAP, reason="per-run namespaces need bubblewrap")


def expected(case: str) -> dict:
    return json.loads((HOSTILE / case / "expected.json").read_text())


# -- the hostile suite, graded as a TA would -----------------------------------------------

_POOLS: dict[str, WorkerPool] = {}


@pytest.fixture(scope="module", autouse=True)
def _close_pools():
    yield
    for pool in _POOLS.values():
        pool.close()


def _pool(level: str) -> WorkerPool:
    if level not in _POOLS:
        _POOLS[level] = WorkerPool(imports=load_pack("lab7-inclass").spec.warm, size=1, level=level)
    return _POOLS[level]


def _grade_on(pool: WorkerPool, folder: Path, memo: Memo):
    pack = load_pack("lab7-inclass")
    subs, failures = discover([folder], pack.spec)
    assert subs and not failures, failures
    worker = pool.acquire()
    try:
        return grade_submission(pack, subs[0], worker=worker, seed=1234, memo=memo, timeout=90), worker
    finally:
        pool.release(worker)


def _levels_of(case: str) -> list:
    levels = []
    for level in expected(case)["levels"]:
        if level == "bubblewrap" and not BWRAP:
            continue
        levels.append(level)
    return levels


@pytest.mark.parametrize("case, level", [(c, lv) for c in CASES for lv in _levels_of(c)])
def test_hostile_submission_gets_its_exact_result_and_the_next_student_is_unharmed(case, level):
    want = expected(case)
    pool, memo = _pool(level), Memo()
    assert not PLANTED.exists() and not PLANTED.is_symlink(), f"remove {PLANTED} (left by an earlier run)"
    result, worker = _grade_on(pool, HOSTILE / case, memo)
    got = {i.id: i.points for i in result.items if i.kind == "auto"}
    reasons = {i.id: i.reason for i in result.items if i.kind == "auto"}
    assert got == want["items"], f"{case} ({level}): {got} != {want['items']}\n{reasons}"
    assert result.auto_score == want["total"]
    stdout = "".join(run.stdout for run in result.runs)
    if level == "bubblewrap":
        for text in want["stdout_has"]:
            assert text in stdout, f"{case}: {text!r} not in the report's output:\n{stdout[:600]}"
    for text in want["stdout_lacks"]:
        assert text not in stdout, f"{case}: {text!r} reached the report"
    for run in result.runs:
        assert all(fig.png is None or fig.png.startswith(b"\x89PNG") for fig in run.figures)
    if want["total"] == 0:  # a lost run says why, on every item
        assert all("did not ask for" in (r or "") for r in reasons.values()), reasons
    # the next correct submission, on the same pool (the same worker when it survived)
    after, worker_after = _grade_on(pool, REFERENCE, memo)
    assert after.auto_score == 20, [(i.id, i.points, i.reason) for i in after.items]
    if level == "bubblewrap":
        assert worker_after is worker and worker.healthy(), f"{case} broke its worker"
    assert not PLANTED.exists() and not PLANTED.is_symlink(), "the grader wrote through a planted link"


# -- isolation properties, one run at a time --------------------------------------------------


@pytest.fixture(scope="module")
def worker():
    w = Worker(imports=("numpy", "torch", "matplotlib"), level="bubblewrap" if BWRAP else None)
    yield w
    w.close()


def run_source(worker, source: str, *, timeout: float = 20, limits: Limits | None = None,
               probes: str | None = None) -> Run:
    unit = SourceUnit("main", ROOT / "x.py", "student.py", source)
    session = worker.start(files={"student.py": source}, limits=limits or Limits(memory=1 << 30))
    run = Run(unit, session, timeout=timeout)
    run.execute(as_main=True, prelude=None, probes=probes, banned=[])
    return run


LIBC = "import ctypes, os, errno\nlibc = ctypes.CDLL(None, use_errno=True)\n"


@needs_bwrap
def test_a_run_sees_only_itself_its_own_folder_and_no_capability(worker):
    run = run_source(worker, LIBC + "pid, ppid = os.getpid(), os.getppid()\n"
                     "procs = sorted(n for n in os.listdir('/proc') if n.isdigit())\n"
                     "jobs = os.listdir('/jobs')\nhere = os.path.basename(os.path.dirname(os.getcwd()))\n"
                     "caps = [l.split()[1] for l in open('/proc/self/status') if l.startswith('Cap')]\n"
                     "fds = sorted(int(f) for f in os.listdir('/proc/self/fd'))\n")
    assert run.status == "ok", run.error
    out = run.probe("o = (pid, ppid, procs, jobs, here, caps, fds)", want=["o"])["o"]
    pid, ppid, procs, jobs, here, caps, fds = out
    assert (pid, ppid, procs) == (1, 0, ["1"])  # PID 1 of its own namespace; the worker has no PID here
    assert jobs == [here] and here.startswith("job-") and len(here) == 28  # only its own, unpredictable name
    assert set(caps) == {"0000000000000000"}
    assert len(fds) <= 5  # 0, 1, 2, the channel, the listdir's own fd
    run.close()


@needs_bwrap
def test_two_runs_alive_at_once_cannot_see_each_other(worker):
    source = LIBC + "import time\njobs = os.listdir('/jobs')\nprocs = [n for n in os.listdir('/proc') if n.isdigit()]\n"
    first = run_source(worker, source)
    second = run_source(worker, source)
    for run in (first, second):
        out = run.probe("o = (jobs, procs)", want=["o"])["o"]
        assert out == [[run.session.jobdir.name], ["1"]]
    first.close()
    second.close()


@needs_bwrap
def test_writes_outside_the_run_folder_and_tmp_fail_at_the_kernel(worker):
    # libc directly, so the audit hook is not what refuses
    run = run_source(worker, LIBC + "res = {}\nfor p in ['/x', '/dev/x', '/jobs/x', '/tmp/x', 'ok.txt']:\n"
                     "    fd = libc.open(p.encode(), os.O_WRONLY | os.O_CREAT, 0o644)\n"
                     "    res[p] = 'ok' if fd >= 0 else errno.errorcode[ctypes.get_errno()]\n")
    out = run.probe("r = res", want=["r"])["r"]
    assert out == {"/x": "EROFS", "/dev/x": "EROFS", "/jobs/x": "EROFS", "/tmp/x": "ok", "ok.txt": "ok"}
    run.close()


@needs_bwrap
def test_tmp_is_capped_private_and_gone_with_the_run(worker):
    fill = (LIBC + "fd = libc.open(b'/tmp/fill', os.O_WRONLY | os.O_CREAT, 0o644)\nblock = b'x' * (1 << 20)\n"
            "mib = 0\nwhile mib < 1024 and libc.write(fd, block, len(block)) == len(block):\n    mib += 1\n"
            "libc.write(fd, block, len(block))\nerr = errno.errorcode.get(ctypes.get_errno())\n"
            "libc.close(fd)\nos.unlink('/tmp/fill')\nopen('/tmp/marker', 'w').write('from run 1')\n")
    first = run_source(worker, fill, limits=Limits(memory=1 << 30, tmp=8 << 20))
    assert first.status == "ok", first.error
    mib, err = first.probe("o = (mib, err)", want=["o"])["o"]
    assert 7 <= mib <= 8 and err == "ENOSPC"  # the run's 8 MiB tmpfs, not the host
    first.close()
    second = run_source(worker, "import os\nseen = os.listdir('/tmp')\n")
    assert second.probe("s = seen", want=["s"])["s"] == []
    second.close()


def _processes_under(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


@needs_bwrap
def test_a_daemon_dies_with_its_run(worker):
    before = set(_processes_under(worker.proc.pid))
    run = run_source(worker, "import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
                             "        time.sleep(300)\n    os._exit(0)\nos.wait()\n")
    assert run.status == "ok", run.error
    assert len(set(_processes_under(worker.proc.pid)) - before) >= 2  # the run, the daemon
    run.close()
    deadline = time.time() + 15
    while set(_processes_under(worker.proc.pid)) - before and time.time() < deadline:
        assert worker.healthy()  # (each control message also lets the worker reap what it killed)
        time.sleep(0.2)
    assert not set(_processes_under(worker.proc.pid)) - before


def test_job_folders_are_fresh_random_and_removed(worker):
    first = run_source(worker, "x = 1\n")
    second = run_source(worker, "x = 2\n")
    a, b = first.session.jobdir, second.session.jobdir
    assert a != b and a.name.startswith("job-") and len(a.name) == 28
    first.close()
    second.close()
    assert not a.exists() and not b.exists()


# -- the grader reads a job folder as hostile input --------------------------------------------


def test_stdout_that_is_a_fifo_a_link_or_a_folder_reads_as_nothing(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("the reference solution")
    cases = {"fifo": lambda p: os.mkfifo(p), "link": lambda p: p.symlink_to(secret),
             "dir": lambda p: p.mkdir(), "devlink": lambda p: p.symlink_to("/dev/zero")}
    for name, make in cases.items():
        folder = tmp_path / name
        folder.mkdir()
        make(folder / "stdout.txt")
        started = time.perf_counter()
        assert read_bounded(folder / "stdout.txt") == "", name
        assert time.perf_counter() - started < 1, name


def test_a_huge_stdout_is_read_head_and_tail_only(tmp_path):
    path = tmp_path / "stdout.txt"
    with open(path, "wb") as fh:
        fh.write(b"first line\n")
        fh.truncate(50 << 30)  # sparse: 50 GiB
        fh.seek((50 << 30) - 10)
        fh.write(b"last line\n")
    text = read_bounded(path)
    assert text.startswith("first line") and text.endswith("last line\n") and "left out" in text
    assert len(text) < 40_000


def _session_on(folder: Path) -> Session:
    (folder / "figs").mkdir(parents=True, exist_ok=True)
    return Session(None, 0, None, folder)  # type: ignore[arg-type]


def test_figures_are_read_only_as_small_regular_png_files(tmp_path):
    session = _session_on(tmp_path)
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 100
    (tmp_path / "figs" / "fig00.png").write_bytes(png)
    assert session.figure_png("fig00.png") == png
    (tmp_path / "figs" / "fig01.png").symlink_to(tmp_path / "figs" / "fig00.png")
    os.mkfifo(tmp_path / "figs" / "fig02.png")
    (tmp_path / "figs" / "fig03.png").write_bytes(png + b"\0" * FIGURE_MAX_BYTES)
    for name in ("fig01.png", "fig02.png", "fig03.png", "../figs/fig00.png", "fig99.png"):
        assert session.figure_png(name) is None, name
    # a figs folder replaced by a link to elsewhere is not followed either
    other = tmp_path / "elsewhere"
    other.mkdir()
    (other / "fig00.png").write_bytes(png)
    os.rename(tmp_path / "figs", tmp_path / "figs-old")
    (tmp_path / "figs").symlink_to(other)
    assert session.figure_png("fig00.png") is None


# -- the channel -------------------------------------------------------------------------------


def test_a_frame_written_ahead_on_the_channel_loses_the_run(worker):
    # the run finds its own channel (a socket fd) and writes a well-formed reply before the grader asks
    source = ("import os, socket, stat, json, struct\nhead = json.dumps({'ok': True, 'values': {'__dict__': [['x', 42]]}}).encode()\n"
              "frame = struct.pack('>II', len(head), 2) + head + b'[]'\nfor fd in range(3, 64):\n"
              "    try:\n        if stat.S_ISSOCK(os.fstat(fd).st_mode):\n            os.write(fd, frame)\n"
              "    except OSError:\n        pass\nx = 1\n")
    run = run_source(worker, source)
    assert run.status == "crashed" and "did not ask for" in run.error.message
    with pytest.raises(SandboxLost):
        run.probe("y = x", want=["y"])
    run.close()
    again = run_source(worker, "x = 5\n")
    assert again.probe("y = x", want=["y"])["y"] == 5
    again.close()


# -- grader code in the child holds references taken before student code ---------------------


def test_probe_code_is_immune_to_patched_builtins_and_sys_modules(worker):
    source = ("import builtins, sys, types\nbuiltins.abs = lambda x: 42\nbuiltins.all = lambda x: True\n"
              "builtins.round = lambda *a: 0\ndef any(x):\n    return True\n"
              "fake = types.ModuleType('numpy')\nfake.arange = lambda n: 'forged'\nsys.modules['numpy'] = fake\n"
              "sys.modules['torch'] = fake\n")
    probes = "def helper(x):\n    return abs(x) + round(2.6)\n"
    run = run_source(worker, source, probes=probes)
    assert run.status == "ok", run.error
    out = run.probe("a = abs(-3); b = all([False]); c = any([False]); d = round(2.6)\n"
                    "e = int(np.arange(4).sum()); f = torch.ones(2).sum().item(); g = probes.helper(-1)",
                    want=list("abcdefg"))
    assert out == {"a": 3, "b": False, "c": False, "d": 3, "e": 6, "f": 2.0, "g": 4}
    run.close()


def test_nothing_of_the_grader_enters_the_students_namespace(worker):
    run = run_source(worker, "x = 1\n", probes="VALUE = 7\n")
    out = run.probe("mine = sorted(k for k in globals() if not k.startswith('__'))", where="student",
                    want=["mine"], bind={"extra": 1})
    assert out["mine"] == ["extra", "x"]  # the grader's bindings only: no probes, no child
    assert run.probe("v = probes.VALUE; names = sorted(k for k in child.ns if not k.startswith('__'))",
                     want=["v", "names"]) == {"v": 7, "names": ["extra", "mine", "x"]}
    run.close()


# -- a dead worker is replaced ---------------------------------------------------------------


def _zygote_of(worker) -> int:
    """The warm interpreter itself: the first Python process under bubblewrap is the keeper
    the worker leaves outside its own PID namespace, the zygote is its only child."""
    def python(pid: int) -> bool:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return b"grader.zygote" in fh.read() and b"bwrap" not in open(f"/proc/{pid}/comm", "rb").read()

    under = [p for p in [worker.proc.pid, *_processes_under(worker.proc.pid)] if python(p)]
    if worker.level != "bubblewrap":
        return under[0]
    keeper = under[0]
    return next(p for p in under if p != keeper and _parent_of(p) == keeper)


def _parent_of(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as fh:
        return int(fh.read().rsplit(")", 1)[1].split()[1])


def test_a_dead_worker_is_replaced_and_the_next_submission_gets_a_fresh_one():
    pool = WorkerPool(imports=("numpy", "torch"), size=1)
    try:
        worker = pool.acquire()
        unit = SourceUnit("main", ROOT / "x.py", "student.py", "x = 1\n")
        run = Run(unit, worker.start(files={"student.py": "x = 1\n"}, limits=Limits()), timeout=10)
        run.execute(as_main=True, prelude=None, probes=None, banned=[])
        os.kill(_zygote_of(worker), signal.SIGKILL)  # the worker dies mid-submission
        worker.proc.wait(timeout=10)
        with pytest.raises(WorkerLost):  # a later run of this submission: lost, not a crash
            worker.start(files={"student.py": "x = 2\n"}, limits=Limits())
        run.close()  # the run in progress ends cleanly whatever it managed to answer
        pool.release(worker)
        fresh = pool.acquire()
        assert fresh is not worker and fresh.healthy()
        again = Run(unit, fresh.start(files={"student.py": "x = 1\n"}, limits=Limits()), timeout=10)
        again.execute(as_main=True, prelude=None, probes=None, banned=[])
        assert again.probe("y = x + 1", want=["y"])["y"] == 2
        again.close()
        pool.release(fresh)
    finally:
        pool.close()


def test_a_worker_that_answers_nonsense_is_not_reused():
    pool = WorkerPool(imports=("numpy",), size=1)
    try:
        worker = pool.acquire()
        worker._ctrl.close()  # its control channel is unusable
        pool.release(worker)
        fresh = pool.acquire()
        assert fresh is not worker and fresh.healthy()
        pool.release(fresh)
    finally:
        pool.close()


# -- a batch with hostile submissions among correct ones ------------------------------------------


def test_a_batch_with_hostile_submissions_gives_every_correct_one_full_marks(tmp_path):
    script = (REFERENCE / "lab7_inclass.py").read_bytes()
    for i in range(36):
        folder = tmp_path / f"student{i:02d}"
        folder.mkdir()
        (folder / "lab7_inclass.py").write_bytes(script)
    hostile = ["kill-worker", "fd-theft", "raw-frames", "daemon"] if BWRAP else ["raw-frames", "fifo-stdout"]
    for case in hostile:
        (tmp_path / f"zz-{case}").mkdir()
        (tmp_path / f"zz-{case}" / "lab7_inclass.py").write_bytes((HOSTILE / case / "lab7_inclass.py").read_bytes())
    batch = grade_batch(pack_id="lab7-inclass", paths=[tmp_path], jobs=2, seed=1234, timeout=90)
    assert not batch.failures, batch.failures
    scores = {r.student: r.auto_score for r in batch.results}
    correct = {s: v for s, v in scores.items() if s.startswith("student")}
    assert len(correct) == 36 and set(correct.values()) == {20}, correct
    for case in hostile:
        assert scores[f"zz-{case}"] == expected(case)["total"], (case, scores[f"zz-{case}"])


def test_a_crash_keeps_its_signal_through_the_keeper_and_leaves_no_core(worker):
    run = run_source(worker, "import ctypes\nctypes.string_at(0)\n")
    assert run.status == "crashed" and "signal 11" in run.error.message, run.error
    run.close()
    assert not [p for p in Path(worker.root).rglob("core*")]
