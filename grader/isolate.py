"""Per-run isolation inside the bubblewrap worker: each run gets its own user, mount, PID,
IPC, network and UTS namespaces, so that it cannot reach the warm worker or any other run.

- `worker_namespaces()`, once when the worker starts: the worker enters a user namespace of
  its own (it keeps capabilities there, which never reach a run) and becomes PID 1 of a PID
  namespace of its own; a small keeper process stays outside, waits for it and exits as it
  did.
- `fork_run()`, per run: forks the run as PID 1 of a fresh PID namespace (one fork).
- `enter(job)`, in the run, before anything of the student's: a nested user namespace and
  fresh mount, IPC, network and UTS namespaces, then the file system below.

In the run:
- the worker, bubblewrap's init and any other run are in an ancestor PID namespace: they
  have no PID here, so they cannot be signalled, traced or opened with pidfd_open, and the
  worker is not dumpable (no /proc/<pid>/mem, no pidfd_getfd even by other means);
- /proc is a read-only tmpfs holding only the run's own /proc/<pid> (as /proc/1, with
  `self` pointing at it) and a few system-wide files (cpuinfo, meminfo, ...): a new procfs
  cannot be mounted under bubblewrap's covered /proc, so the worker's procfs is hidden;
- /jobs is a read-only tmpfs holding only the run's own job folder (under its own
  unpredictable name): earlier and later jobs are invisible and no folder can be planted;
- /tmp and /dev/shm are fresh, size-capped tmpfs mounts, gone when the run ends;
- the rest of the file system (bubblewrap's root and /dev) is remounted read-only;
- the run holds no capability (bounding set dropped, no_new_privs) and no file descriptor
  but 0, 1, 2 and its own channel;
- when the worker dies the run gets SIGKILL (PR_SET_PDEATHSIG), and when the run (PID 1)
  ends the kernel kills every process left in its namespace (double forks, setsid daemons).
"""
from __future__ import annotations

import ctypes
import errno
import os
import resource
import signal
import stat

from grader.privileges import (PR_SET_DUMPABLE, PR_SET_PDEATHSIG, capset, clear_ambient, close_fds_except,
                               drop_bounding_set, no_new_privs, non_dumpable, prctl)
from grader.privileges import libc as _libc  # mount, unshare, setns

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_NOATIME = 1024
MS_NODIRATIME = 2048
MS_BIND = 4096
MS_MOVE = 8192
MS_REC = 16384
MS_PRIVATE = 1 << 18
MS_RELATIME = 1 << 21
MS_STRICTATIME = 1 << 24

TMP_BYTES = 128 << 20  # default size of the run's /tmp and of its /dev/shm
PROC_FILES = ("cpuinfo", "meminfo", "stat", "uptime", "loadavg", "version", "filesystems")


class IsolationError(OSError):
    """A step of the per-run isolation failed: the run must not go on."""


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise IsolationError(err, f"per-run isolation: {what}: {os.strerror(err)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    _check(_libc.mount(source.encode() if source else None, target.encode(),
                       fstype.encode() if fstype else None, ctypes.c_ulong(flags),
                       data.encode() if data else None), f"mount {target}")


def _write(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def _flags_of(path: str) -> int:
    """The mount flags that a bind remount must keep (locked mounts refuse to lose them)."""
    got = os.statvfs(path).f_flag
    flags = 0
    for st_flag, ms_flag in ((os.ST_NOSUID, MS_NOSUID), (os.ST_NODEV, MS_NODEV), (os.ST_NOEXEC, MS_NOEXEC),
                             (os.ST_NOATIME, MS_NOATIME), (os.ST_NODIRATIME, MS_NODIRATIME),
                             (os.ST_RELATIME, MS_RELATIME)):
        if got & st_flag:
            flags |= ms_flag
    return flags


def _read_only(path: str) -> None:
    _mount(None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY | _flags_of(path))


def _tmpfs(target: str, size: int, mode: str = "1777") -> None:
    _mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, f"size={int(size)},mode={mode}")


def _keeper(worker_pid: int) -> None:
    """Outside the worker's own PID namespace: wait for the worker and end as it ended
    (bubblewrap's init sees this process as its child). Holds nothing."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # mirroring a SIGSEGV must not dump a core
    os.closerange(0, 1 << 16)
    while True:
        try:
            _, status = os.waitpid(worker_pid, 0)
            break
        except InterruptedError:
            continue
        except ChildProcessError:
            os._exit(0)
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            signal.signal(sig, signal.SIG_DFL)
        except (OSError, ValueError):
            pass
        os.kill(os.getpid(), sig)
    os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 1)


_PIDNS_FD: int | None = None  # the worker's own PID namespace, to fork the next run from


def _map_own_ids(uid: int, gid: int) -> None:
    _write("/proc/self/setgroups", "deny")
    _write("/proc/self/uid_map", f"{uid} {uid} 1")
    _write("/proc/self/gid_map", f"{gid} {gid} 1")


def worker_namespaces() -> None:
    """In the worker, before it imports anything: returns as PID 1 of the worker's own PID
    namespace, in a user namespace of its own; the process that called it stays behind as
    a keeper and never returns."""
    global _PIDNS_FD
    uid, gid = os.getuid(), os.getgid()
    prctl(PR_SET_DUMPABLE, 1)  # /proc/self/uid_map belongs to us only while dumpable
    _check(_libc.unshare(CLONE_NEWUSER | CLONE_NEWPID), "unshare (worker)")
    _map_own_ids(uid, gid)
    non_dumpable()  # the keeper as well as the worker
    pid = os.fork()
    if pid != 0:
        try:
            _keeper(pid)
        finally:
            os._exit(1)
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    _PIDNS_FD = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)


def fork_run() -> int:
    """os.fork(), the child being PID 1 of a new PID namespace (in the worker)."""
    if _PIDNS_FD is None:
        raise IsolationError(errno.EINVAL, "per-run isolation: the worker has no namespaces of its own")
    _check(_libc.unshare(CLONE_NEWPID), "unshare (run PID namespace)")
    try:
        pid = os.fork()
    except BaseException:
        _libc.setns(_PIDNS_FD, CLONE_NEWPID)
        raise
    if pid != 0:  # the worker: later forks go back to its own PID namespace
        _check(_libc.setns(_PIDNS_FD, CLONE_NEWPID), "setns (worker PID namespace)")
    return pid


def enter(job: dict, keep_fds: tuple[int, ...] = ()) -> None:
    """In the run forked by fork_run, before any student code."""
    jobdir = job["jobdir"]
    tmp_bytes = int(job.get("limits", {}).get("tmp") or TMP_BYTES)
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # the run dies with its worker
    if os.getpid() != 1:
        raise IsolationError(errno.EINVAL, "per-run isolation: the run is not alone in its PID namespace")
    uid, gid = os.getuid(), os.getgid()
    prctl(PR_SET_DUMPABLE, 1)  # /proc/self/uid_map belongs to us only while dumpable
    _check(_libc.unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWUTS), "unshare")
    _map_own_ids(uid, gid)
    non_dumpable()
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    outer = os.readlink("/proc/self")  # the run's PID as the worker's procfs names it
    st = os.lstat(jobdir)
    if not stat.S_ISDIR(st.st_mode):
        raise IsolationError(errno.ENOTDIR, f"per-run isolation: {jobdir} is not a folder")
    # stage what stays visible in the run's own /tmp, then cover and move it into place
    _tmpfs("/tmp", tmp_bytes)
    stage = "/tmp/.rnngrade-stage"
    os.mkdir(stage, 0o700)
    os.mkdir(f"{stage}/job")
    _mount(jobdir, f"{stage}/job", None, MS_BIND)
    os.mkdir(f"{stage}/pid")
    _mount(f"/proc/{outer}", f"{stage}/pid", None, MS_BIND | MS_REC)
    proc_files = []
    for name in PROC_FILES:
        if os.path.isfile(f"/proc/{name}"):
            open(f"{stage}/{name}", "w").close()
            _mount(f"/proc/{name}", f"{stage}/{name}", None, MS_BIND)
            proc_files.append(name)
    _tmpfs("/jobs", 1 << 20, "0755")
    os.mkdir(jobdir)
    _mount(f"{stage}/job", jobdir, None, MS_MOVE)
    _tmpfs("/proc", 1 << 20, "0555")
    os.mkdir("/proc/1")
    _mount(f"{stage}/pid", "/proc/1", None, MS_MOVE)
    for name in proc_files:
        open(f"/proc/{name}", "w").close()
        _mount(f"{stage}/{name}", f"/proc/{name}", None, MS_MOVE)
    os.symlink("1", "/proc/self")
    os.symlink(f"1/task/{outer}", "/proc/thread-self")
    os.symlink("self/mounts", "/proc/mounts")
    for name in os.listdir(stage):
        path = f"{stage}/{name}"
        os.rmdir(path) if os.path.isdir(path) else os.unlink(path)
    os.rmdir(stage)
    if os.path.isdir("/dev/shm"):
        _tmpfs("/dev/shm", tmp_bytes)
    for path in ("/", "/dev", "/jobs", "/proc"):
        _read_only(path)
    # root of its own user namespace until now: no capability, and nothing can bring one back
    drop_bounding_set()
    clear_ambient()
    capset(0)
    no_new_privs()
    non_dumpable()
    close_fds_except(set(keep_fds) | {0, 1, 2})
