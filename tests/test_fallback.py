"""The fallback sandbox (no user namespaces, grader root: Docker, Gradescope) is a real
sandbox: hostile submissions that step around the audit hook get exact, refused results.

Runs as root (CI does); elsewhere the attack tests are skipped and only the level
selection is checked."""
from __future__ import annotations

import errno
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from conftest import ROOT
from grader import confine, sandbox
from grader.run import Run
from grader.load import SourceUnit
from grader.sandbox import Limits, SandboxUnavailable, Worker

HOSTILE = ROOT / "submissions" / "hostile-fallback"
root_only = pytest.mark.skipif(os.geteuid() != 0, reason="the fallback drops privileges only as root")


@pytest.fixture(scope="module")
def worker():
    """Forced `rlimits`: as root it must still drop each run to its own uid."""
    if os.geteuid() != 0:
        pytest.skip("the fallback drops privileges only as root")
    w = Worker(imports=("numpy", "torch"), level="rlimits")
    yield w
    w.close()


def hostile(name: str, **fill) -> str:
    """A hostile submission's source, its CAPITAL placeholders filled in."""
    source = (HOSTILE / name).read_text()
    for key, value in fill.items():
        source, found = re.subn(rf"^{key} = [^#\n]*", f"{key} = {value!r}  ", source, count=1, flags=re.M)
        assert found, key
    return source


def start(worker, source: str, *, timeout: float = 20) -> Run:
    unit = SourceUnit("main", ROOT / "x.py", "student.py", source)
    session = worker.start(files={"student.py": source}, limits=Limits(memory=1 << 30),
                           hidden=[str(ROOT / "reference")])
    run = Run(unit, session, timeout=timeout)
    run.execute(as_main=True, prelude=None, probes=None, banned=[])
    return run


def outcome_of(worker, source: str) -> dict:
    run = start(worker, source)
    assert run.status == "ok", (run.status, run.error)
    outcome = run.probe("o = outcome", want=["o"])["o"]
    run.close()
    return outcome


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def _dies(pids: list[int], within: float = 2.0) -> bool:
    """SIGKILLed processes can run no more code, but take a moment to become zombies."""
    deadline = time.monotonic() + within
    while any(_alive(p) for p in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def _pids_of(uid: int) -> list[int]:
    """Processes whose real uid is `uid` (/proc/PID itself is root's for non-dumpable ones)."""
    found = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/status") as fh:
                line = next(ln for ln in fh if ln.startswith("Uid:"))
        except (OSError, StopIteration):
            continue
        if int(line.split()[1]) == uid:
            found.append(int(entry))
    return found


# -- level selection -----------------------------------------------------------------------


def test_forced_rlimits_as_root_still_drops_to_a_run_uid(worker):
    assert worker.level == "rlimits+nobody"
    outcome = outcome_of(worker, (HOSTILE / "root_check.py").read_text())
    uid = outcome["resuid"][0]
    assert uid in confine.RUN_UIDS
    keep = 1 << confine.CAP_DAC_READ_SEARCH if not sandbox._python_readable_by_nobody() else 0
    assert outcome == {"resuid": [uid] * 3, "resgid": [uid] * 3, "groups": [], "cap_eff": keep,
                       "cap_bnd": keep, "no_new_privs": 1, "seccomp": 2,
                       "setuid0": errno.EPERM, "kill_worker": errno.EPERM, "kill_init": errno.EPERM}


def test_concurrent_runs_get_distinct_uids(worker):
    other = Worker(imports=("numpy",), level="rlimits+nobody")
    try:
        runs = [start(w, "import os\nu = os.getuid()\n") for w in (worker, other, worker)]
        uids = [r.probe("v = u", want=["v"])["v"] for r in runs]
        for r in runs:
            r.close()
    finally:
        other.close()
    assert len(set(uids)) == 3 and all(u in confine.RUN_UIDS for u in uids)


def test_no_root_and_no_namespaces_refuses_in_one_line(monkeypatch, capsys):
    from grader import cli

    monkeypatch.setattr(sandbox, "_LEVEL", None)
    monkeypatch.delenv("RNNGRADE_SANDBOX", raising=False)
    monkeypatch.setattr(sandbox, "_bwrap_works", lambda: False)
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    code = cli.main(["check", "lab7-inclass", str(ROOT / "submissions/lab7-inclass/reference/lab7_inclass.py")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err
    assert "cannot confine student code here" in err and "--sandbox none" in err and "bubblewrap" in err
    monkeypatch.setattr(sandbox, "_LEVEL", None)
    monkeypatch.setenv("RNNGRADE_SANDBOX", "rlimits")  # a forced fallback without root: the same refusal
    assert cli.main(["check", "lab7-inclass", str(ROOT / "submissions/lab7-inclass/reference/lab7_inclass.py")]) == 2
    assert "not root" in capsys.readouterr().err


@root_only
def test_without_landlock_an_unreachable_python_is_refused(monkeypatch):
    monkeypatch.setattr(confine, "landlock_abi", lambda: 0)
    monkeypatch.setattr(sandbox, "_python_readable_by_nobody", lambda: False)
    with pytest.raises(SandboxUnavailable, match="no Landlock"):
        Worker(imports=(), level="rlimits+nobody")


@root_only
def test_without_landlock_a_readable_reference_is_refused_naming_the_fix(monkeypatch):
    top = Path(tempfile.mkdtemp(prefix="rnngrade-test-"))  # pytest's tmp_path sits in a 0700 folder
    try:
        secret = top / "reference"
        secret.mkdir()
        (secret / "solution.py").write_text("answer = 42\n")
        os.chmod(top, 0o755)
        os.chmod(secret, 0o755)
        os.chmod(secret / "solution.py", 0o644)
        assert confine.can_read_as(confine.RUN_UIDS[-1], [str(secret)]) == [str(secret)]
        monkeypatch.setattr(confine, "landlock_abi", lambda: 0)
        monkeypatch.setattr(sandbox, "_python_readable_by_nobody", lambda: True)
        w = Worker(imports=(), level="rlimits+nobody")
        try:
            with pytest.raises(SandboxUnavailable, match=f"{secret} is readable.*chmod -R o-rwx"):
                w.start(files={"s.py": "x = 1\n"}, limits=Limits(), hidden=[str(secret)])
            os.chmod(secret, 0o700)  # the fix it names: now no run uid can read it
            assert confine.can_read_as(confine.RUN_UIDS[-1], [str(secret)]) == []
            source = ("import ctypes, os\nuid = os.getuid()\nlibc = ctypes.CDLL(None, use_errno=True)\n"
                      f"err = ctypes.get_errno() if libc.open({str(secret / 'solution.py').encode()!r}, 0) < 0 else 0\n")
            unit = SourceUnit("main", ROOT / "x.py", "s.py", source)
            run = Run(unit, w.start(files={"s.py": source}, limits=Limits(), hidden=[str(secret)]), timeout=20)
            run.execute(as_main=True, prelude=None, probes=None, banned=[])
            uid, err = run.probe("v = (uid, err)", want=["v"])["v"]  # uid + seccomp, no Landlock
            run.close()
            assert uid in confine.RUN_UIDS and err == errno.EACCES
        finally:
            w.close()
    finally:
        shutil.rmtree(top, ignore_errors=True)


# -- the hostile submissions ---------------------------------------------------------------


def test_dir_fd_and_ctypes_reads_of_the_reference_are_refused(worker):
    assert outcome_of(worker, hostile("dirfd_read.py")) == {
        "leaked": "", "dir_fd": errno.EACCES, "ctypes_open": errno.EACCES}


def test_fork_exec_of_a_shell_is_refused(worker):
    outcome = outcome_of(worker, hostile("fork_exec.py"))
    assert outcome["shell_ran"] is False
    assert outcome["exec_report"].startswith(f"OSError:{errno.EPERM:x}:"), outcome


def test_ctypes_socket_to_loopback_is_refused(worker):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(0.2)
    try:
        outcome = outcome_of(worker, hostile("ctypes_socket.py", PORT=listener.getsockname()[1]))
        with pytest.raises(socket.timeout):
            listener.accept()
    finally:
        listener.close()
    assert outcome == {"socket_errno": errno.EPERM, "connected": False}


def test_writes_to_shared_tmp_are_refused(worker):
    token = f"rnngrade-hostile-{uuid.uuid4().hex}"
    outcome = outcome_of(worker, hostile("tmp_write.py", TOKEN=token))
    assert outcome == {"/tmp": errno.EACCES, "/var/tmp": errno.EACCES, "/dev/shm": errno.EACCES}
    assert not any(os.path.lexists(os.path.join(d, token)) for d in ("/tmp", "/var/tmp", "/dev/shm"))


def test_another_jobs_folder_and_the_input_are_not_readable(worker):
    victim = start(worker, "open('secret.txt', 'w').write('classmate answer')\n")
    try:
        victim_file = str(victim.session.jobdir / "work" / "secret.txt")
        assert open(victim_file).read() == "classmate answer"
        outcome = outcome_of(worker, hostile("other_job.py", VICTIM=victim_file,
                                             INPUT=str(ROOT / "submissions" / "lab7-inclass")))
    finally:
        victim.close()
    assert outcome == {"victim_file": errno.EACCES, "jobs_folder": errno.EACCES,
                       "victim_folder": errno.EACCES, "input_folder": errno.EACCES,
                       "victim_file_ctypes": errno.EACCES}


def test_libc_fork_daemon_dies_with_its_run_and_later_runs_finish(worker):
    run = start(worker, hostile("daemon.py"))
    assert run.status == "ok", run.error
    outcome = run.probe("o = outcome", want=["o"])["o"]
    daemon = outcome["daemon_pid"]
    assert _alive(daemon)
    run.close()  # the grader is done with the run: its uid is swept before anything else runs
    assert _dies([daemon]), "the student's daemon outlived its run"
    later = [start(worker, "import time\nt = time.time()\nwhile time.time() - t < 0.5:\n    pass\nok = 1\n")
             for _ in range(3)]
    assert [r.status for r in later] == ["ok"] * 3
    assert [r.probe("v = ok", want=["v"])["v"] for r in later] == [1, 1, 1]
    for r in later:
        r.close()


def test_a_fork_bomb_stops_at_the_process_limit(worker):
    source = ("import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\nforks = 0\n"
              "for _ in range(500):\n    pid = libc.fork()\n    if pid == 0:\n        import time\n"
              "        time.sleep(30)\n        os._exit(0)\n    if pid < 0:\n        break\n    forks += 1\n"
              "err = ctypes.get_errno()\n")
    run = start(worker, source)
    out = run.probe("v = (forks, err, os.getuid())", want=["v"])["v"]
    run.close()
    forks, err, uid = out
    assert err == errno.EAGAIN and 30 < forks < confine.NPROC
    assert _dies(_pids_of(uid)), "forked children outlived their run"


# -- --sandbox none ------------------------------------------------------------------------


def test_sandbox_none_is_explicit_and_every_report_says_so_in_red(monkeypatch, tmp_path):
    monkeypatch.setattr(sandbox, "_LEVEL", None)  # restored afterwards: later tests keep their level
    case = ROOT / "submissions" / "lab7-inclass" / "reference"
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "grader", "grade", "lab7-inclass", str(case), "--out", str(out),
                           "--jobs", "1", "--seed", "1234", "--sandbox", "none"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "UNCONFINED" in proc.stdout
    data = json.loads((out / "reference" / "results.json").read_text())
    assert data["extra_data"]["sandbox"] == "none" and data["score"] == 20
    assert data["output"].startswith("WARNING: student code ran UNCONFINED")
    for page in (out / "index.html", out / "reference" / "report.html"):
        html = page.read_text()
        assert 'class="banner bad"><strong>UNCONFINED.</strong>' in html, page


def test_terminal_report_paints_the_unconfined_warning_red():
    from dataclasses import replace

    from results_factory import make_result
    from grader import terminal

    text = terminal.render(replace(make_result(), sandbox="none"), color=True)
    assert "\033[31mWARNING: student code ran UNCONFINED" in text
    assert "UNCONFINED" not in terminal.render(make_result(), color=True)


@root_only
def test_sweep_kills_a_uids_processes_and_removes_its_files_in_shared_tmp():
    uid = confine.RUN_UIDS[-2]
    left = [Path(d) / f"rnngrade-sweep-{uuid.uuid4().hex}" for d in ("/tmp", "/dev/shm")]
    for path in left:
        path.write_text("left behind")
        os.chown(path, uid, uid)
    pid = os.fork()
    if pid == 0:
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
        os.setsid()
        time.sleep(60)
        os._exit(0)
    # the sweep can only kill what already runs as the uid: wait for the switch (a loaded
    # machine may not have scheduled the child yet)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and f"\t{uid}\t" not in Path(f"/proc/{pid}/status").read_text():
        time.sleep(0.01)
    confine.sweep(uid)
    assert os.waitpid(pid, 0)[1] == 9  # SIGKILL
    assert not any(p.exists() for p in left)


def test_a_finished_runs_folder_is_taken_back_from_its_uid(worker):
    run = start(worker, "open('answer.txt', 'w').write('mine')\n")
    jobdir = run.session.jobdir
    assert jobdir.stat().st_uid in confine.RUN_UIDS
    run.close()
    # the grader removes a run's folder when it closes (it read what it needed first), so
    # the next run leased that uid finds nothing of it
    assert not jobdir.exists()


def test_a_batch_with_hostile_submissions_grades_every_correct_one_in_full(tmp_path):
    """--jobs 2 under the fallback: a daemon that SIGKILLs everything after its run, a fork
    bomb, a /tmp writer and a reference reader among correct submissions."""
    if os.geteuid() != 0:
        pytest.skip("the fallback drops privileges only as root")
    from grader.grade import grade_batch
    from grader.sandbox import WorkerPool

    reference = (ROOT / "submissions" / "lab7-inclass" / "reference" / "lab7_inclass.py").read_text()
    students = {f"good{i}": reference for i in range(6)}
    students.update({"evil-daemon": hostile("daemon.py"), "evil-tmp": hostile("tmp_write.py"),
                     "evil-read": hostile("dirfd_read.py"),
                     "evil-bomb": "import ctypes\nlibc = ctypes.CDLL(None)\nfor _ in range(200):\n    libc.fork()\n"})
    order = ["good0", "evil-daemon", "good1", "good2", "evil-bomb", "good3", "evil-tmp", "good4", "evil-read", "good5"]
    for name in order:
        (tmp_path / name).mkdir()
        (tmp_path / name / "lab7_inclass.py").write_text(students[name])
    pool = WorkerPool(imports=("numpy", "torch", "matplotlib"), size=2, level="rlimits+nobody")
    try:
        batch = grade_batch(pack_id="lab7-inclass", paths=[tmp_path], jobs=2, timeout=60, seed=1234, pool=pool)
    finally:
        pool.close()
    scores = {r.student: r.auto_score for r in batch.results}
    assert not batch.failures
    assert {s: scores[s] for s in scores if s.startswith("good")} == {f"good{i}": 20 for i in range(6)}
    assert {s: scores[s] for s in scores if s.startswith("evil")} == {
        "evil-daemon": 0, "evil-tmp": 0, "evil-read": 0, "evil-bomb": 0}
    assert {r.sandbox for r in batch.results} == {"rlimits+nobody"}


@root_only
def test_a_confinement_that_fails_stops_the_grader_not_the_students(monkeypatch):
    real_plan = confine.plan
    monkeypatch.setattr(confine, "plan", lambda **kw: dict(real_plan(**kw), uid=0))  # the child refuses root
    with pytest.raises(SandboxUnavailable, match="could not confine a test run.*uid 0 is not a run uid"):
        Worker(imports=(), level="rlimits+nobody")
