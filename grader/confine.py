"""The fallback sandbox: what the forked child does to itself before student code runs,
where bubblewrap cannot (no user namespaces: most Docker containers, Gradescope's).

As root, every run gets its own unprivileged uid/gid (a lease from RUN_UIDS, distinct
for every run alive on this machine, whichever grader process started it), and then:

- Landlock (kernel >= 5.13; this module speaks ABI 1-7 through raw syscalls) allows
  read/execute on the Python installation, the system folders and the grader package,
  read-write on the run's own folder only, no TCP, no signals or abstract sockets out of
  the run. The reference, the packs, the submissions, the tests, the input folder and
  other runs' folders are simply not there for the run.
- When the Python installation sits in a folder others cannot enter (pyenv under a 0700
  /root), the run keeps exactly one capability, CAP_DAC_READ_SEARCH, and only together
  with Landlock, which still decides what it may read; /etc is then granted only where
  it is world-readable anyway, and seccomp refuses open_by_handle_at.
- seccomp (libseccomp through pyseccomp) answers EPERM to sockets other than AF_UNIX,
  execve/execveat, ptrace, process_vm_*, pidfd_*, namespaces, mount, bpf, keyctl, ...
- rlimits: address space, CPU, file size, no core files, RLIMIT_NPROC (per uid, threads
  included) so a fork bomb stops at a few dozen processes.

After the run, `Lease.release` kills every process of that uid (a helper that takes the
uid as its *effective* uid only, so the run's processes cannot signal it back) and removes
what the uid left in the shared temporary folders; only then can the uid be leased again.

Nothing here decides a grade; it only decides what the student's process can reach.
"""
from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import pwd
import random
import resource
import shutil
import signal
import socket
import stat
import sys
import threading
import time
from functools import lru_cache

from grader.privileges import (CAP_DAC_READ_SEARCH, PR_SET_KEEPCAPS, SETUP_FAILED, capset, clear_ambient,
                               drop_bounding_set, no_new_privs, prctl)

try:  # ctypes over the system's libseccomp.so.2 (PyPI: pyseccomp)
    import pyseccomp as _seccomp
except Exception:  # pragma: no cover - reported by problems()
    _seccomp = None

RUN_UIDS = range(61000, 62000)  # one per live run
SHADOW_OFFSET = 1000  # uid + 1000: the real uid of the sweeper, never of a run
NPROC = 64  # processes + threads per run uid (torch keeps a few threads)
SHARED_TMP = ("/tmp", "/var/tmp", "/dev/shm")
LOCK_DIR = "/run/rnngrade-uids" if os.path.isdir("/run") else "/tmp/rnngrade-uids"

_libc = ctypes.CDLL(None, use_errno=True)  # its own handle: syscall's restype is set for Landlock
_libc.syscall.restype = ctypes.c_long


class ConfinementError(RuntimeError):
    """The fallback cannot be set up safely here; the message names the fix."""


# -- Landlock ------------------------------------------------------------------------------

SYS_LANDLOCK_CREATE_RULESET, SYS_LANDLOCK_ADD_RULE, SYS_LANDLOCK_RESTRICT_SELF = 444, 445, 446
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1

FS_EXECUTE, FS_WRITE_FILE, FS_READ_FILE, FS_READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
FS_REMOVE_DIR, FS_REMOVE_FILE, FS_MAKE_CHAR, FS_MAKE_DIR = 1 << 4, 1 << 5, 1 << 6, 1 << 7
FS_MAKE_REG, FS_MAKE_SOCK, FS_MAKE_FIFO, FS_MAKE_BLOCK = 1 << 8, 1 << 9, 1 << 10, 1 << 11
FS_MAKE_SYM, FS_REFER, FS_TRUNCATE, FS_IOCTL_DEV = 1 << 12, 1 << 13, 1 << 14, 1 << 15
_FS_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 4: (1 << 15) - 1}
_FILE_RIGHTS = FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | FS_TRUNCATE | FS_IOCTL_DEV
NET_BIND_TCP, NET_CONNECT_TCP = 1, 2
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1, 2

READ = FS_READ_FILE | FS_READ_DIR
READ_EXEC = READ | FS_EXECUTE
# The run's folder: everything but devices, FIFOs and symbolic links (nothing a lab needs,
# and each is a way to trick whoever reads the folder afterwards).
READ_WRITE = (READ | FS_WRITE_FILE | FS_REMOVE_DIR | FS_REMOVE_FILE | FS_MAKE_DIR | FS_MAKE_REG
              | FS_MAKE_SOCK | FS_REFER | FS_TRUNCATE)


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


@lru_cache(maxsize=1)
def landlock_abi() -> int:
    """The kernel's Landlock ABI version; 0 when Landlock is off or missing."""
    if sys.platform != "linux" or os.uname().machine not in ("x86_64", "aarch64"):
        return 0
    abi = _libc.syscall(SYS_LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0),
                        ctypes.c_uint32(_CREATE_RULESET_VERSION))
    return max(int(abi), 0)


def _handled_fs(abi: int) -> int:
    return _FS_BY_ABI.get(abi, (1 << 16) - 1)


def landlock_restrict(rules: list[tuple[str, int]]) -> None:
    """Confine this process (and everything it forks) to `rules`: [(path, rights)]."""
    abi = landlock_abi()
    if abi < 1:
        raise ConfinementError("Landlock is not available")
    handled = _handled_fs(abi)
    attr = _RulesetAttr(handled, NET_BIND_TCP | NET_CONNECT_TCP if abi >= 4 else 0,
                        SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL if abi >= 6 else 0)
    size = 8 if abi < 4 else 16 if abi < 6 else 24
    ruleset = _libc.syscall(SYS_LANDLOCK_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size),
                            ctypes.c_uint32(0))
    if ruleset < 0:
        raise ConfinementError(f"landlock_create_ruleset: {os.strerror(ctypes.get_errno())}")
    try:
        for path, rights in rules:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue  # a folder this machine does not have
            try:
                if not stat.S_ISDIR(os.fstat(fd).st_mode):
                    rights &= _FILE_RIGHTS
                beneath = _PathBeneath(rights & handled, fd)
                if _libc.syscall(SYS_LANDLOCK_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(_RULE_PATH_BENEATH),
                                 ctypes.byref(beneath), ctypes.c_uint32(0)) < 0:
                    raise ConfinementError(f"landlock_add_rule {path}: {os.strerror(ctypes.get_errno())}")
            finally:
                os.close(fd)
        if _libc.syscall(SYS_LANDLOCK_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0)) < 0:
            raise ConfinementError(f"landlock_restrict_self: {os.strerror(ctypes.get_errno())}")
    finally:
        os.close(ruleset)


# -- seccomp -------------------------------------------------------------------------------

DENIED_SYSCALLS = (
    "execve", "execveat", "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd",
    "pidfd_open", "pidfd_send_signal", "unshare", "setns", "mount", "umount2", "pivot_root",
    "chroot", "fsopen", "fsmount", "fsconfig", "fspick", "move_mount", "open_tree", "mount_setattr",
    "bpf", "perf_event_open", "keyctl", "add_key", "request_key", "open_by_handle_at",
    "name_to_handle_at", "kexec_load", "kexec_file_load", "init_module", "finit_module",
    "delete_module", "userfaultfd", "io_uring_setup", "io_uring_enter", "io_uring_register",
    "shmget", "msgget", "semget", "mq_open", "acct", "swapon", "swapoff", "reboot", "syslog",
    "quotactl", "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "vhangup",
    "personality", "lookup_dcookie", "iopl", "ioperm",
)
# clone3 passes its flags in memory seccomp cannot read: ENOSYS makes glibc fall back to
# clone(), whose flags it can (no new namespaces from there).
_CLONE_NEW = (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000)


def seccomp_load() -> None:
    if _seccomp is None:
        raise ConfinementError("the Python package pyseccomp (libseccomp) is missing")
    eperm = _seccomp.ERRNO(errno.EPERM)
    rules = _seccomp.SyscallFilter(defaction=_seccomp.ALLOW)
    for name in DENIED_SYSCALLS:
        try:
            rules.add_rule(eperm, name)
        except (OSError, ValueError, RuntimeError):
            continue  # not a syscall on this architecture
    rules.add_rule(eperm, "socket", _seccomp.Arg(0, _seccomp.NE, socket.AF_UNIX))
    rules.add_rule(eperm, "socketpair", _seccomp.Arg(0, _seccomp.NE, socket.AF_UNIX))
    for bit in _CLONE_NEW:  # CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET
        rules.add_rule(eperm, "clone", _seccomp.Arg(0, _seccomp.MASKED_EQ, bit, bit))
    try:
        rules.add_rule(_seccomp.ERRNO(errno.ENOSYS), "clone3")
    except (OSError, ValueError, RuntimeError):
        pass
    rules.load()


# -- leasing a run uid ---------------------------------------------------------------------


class Lease:
    """One run uid, held (flock) by this grader process until `release`. The lock file says
    "clean" once a release swept the uid, so the next lease need not sweep it again."""

    def __init__(self, uid: int, lock_fd: int):
        self.uid, self._fd = uid, lock_fd

    def release(self, folder: str | None = None) -> None:
        """Sweep the uid; take its run folder back (root's, 0700: a later run under the same
        uid cannot enter it, Landlock or not); only then may the uid be leased again."""
        if self._fd < 0:
            return
        sweep(self.uid)
        if folder is not None:
            try:
                os.chown(folder, 0, 0, follow_symlinks=False)
                os.chmod(folder, 0o700, follow_symlinks=False)
            except OSError:
                pass
        os.pwrite(self._fd, b"clean", 0)
        os.close(self._fd)
        self._fd = -1


def lease_uid() -> Lease:
    """A run uid no other live run (of any grader process here) holds, swept clean."""
    os.makedirs(LOCK_DIR, mode=0o700, exist_ok=True)
    start = random.randrange(len(RUN_UIDS))
    for k in range(len(RUN_UIDS)):
        uid = RUN_UIDS[(start + k) % len(RUN_UIDS)]
        if _uid_taken(uid):
            continue
        fd = os.open(os.path.join(LOCK_DIR, str(uid)), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        if os.pread(fd, 5, 0) != b"clean":
            sweep(uid)  # a grader died holding it: its run may have left processes and files
        os.ftruncate(fd, 0)  # in use
        return Lease(uid, fd)
    raise ConfinementError(f"all {len(RUN_UIDS)} run uids are in use")


@lru_cache(maxsize=None)
def _uid_taken(uid: int) -> bool:
    """A uid that belongs to an account of this machine is never used for a run."""
    for candidate in (uid, uid + SHADOW_OFFSET):
        try:
            pwd.getpwuid(candidate)
            return True
        except KeyError:
            continue
    return False


_SYS_SETRESUID = {"x86_64": 117, "aarch64": 147}.get(os.uname().machine)


def sweep(uid: int) -> None:
    """Kill every process of `uid` and remove what it left in the shared temp folders.

    kill(-1) from uid's side reaches exactly the processes uid may signal, atomically with
    respect to fork. The sender takes uid only as its *effective* uid, with a shadow real
    uid no process has, so none of the run's processes may signal it back (a SIGSTOP loop
    cannot freeze the sweep)."""
    if _SYS_SETRESUID is not None:
        _sweep_in_thread(uid)
    else:  # pragma: no cover - other architectures: a forked sweeper
        _sweep_in_fork(uid)
    for folder in SHARED_TMP:
        _remove_owned(folder, uid)


def _setresuid(ruid: int, euid: int, suid: int) -> int:
    """This thread only (the raw syscall; glibc's wrapper would change every thread)."""
    result = _libc.syscall(_SYS_SETRESUID, ctypes.c_long(ruid), ctypes.c_long(euid), ctypes.c_long(suid))
    return 0 if result == 0 else ctypes.get_errno() or -1


def _sweep_in_thread(uid: int) -> None:
    failure: list[str] = []

    def body() -> None:  # a thread of its own: its credentials die with it if anything goes wrong
        error = _setresuid(uid + SHADOW_OFFSET, uid, 0)  # saved uid 0: the way back to root
        if error:
            failure.append(os.strerror(error))
            return
        try:
            for _ in range(2):
                try:
                    os.kill(-1, signal.SIGKILL)
                except OSError:
                    pass
        finally:
            _setresuid(0, 0, 0)

    worker = threading.Thread(target=body, name=f"rnngrade-sweep-{uid}")
    worker.start()
    worker.join()
    if failure:
        _sweep_in_fork(uid)


def _sweep_in_fork(uid: int) -> None:
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid + SHADOW_OFFSET, uid, uid + SHADOW_OFFSET)
            for _ in range(2):
                try:
                    os.kill(-1, signal.SIGKILL)
                except OSError:
                    pass
            os._exit(0)
        except BaseException:
            os._exit(1)
    deadline = time.monotonic() + 10
    while True:
        done, _status = os.waitpid(pid, os.WNOHANG)
        if done or time.monotonic() > deadline:
            break
        time.sleep(0.0005)
    if not done:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)


def _remove_owned(folder: str, uid: int) -> None:
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if info.st_uid != uid:
            continue
        try:
            if stat.S_ISDIR(info.st_mode):
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                os.unlink(entry.path)
        except OSError:
            pass


# -- what the grader computes once (in its own process) ------------------------------------


def can_read_as(uid: int, paths: list[str]) -> list[str]:
    """Which of `paths` (or a file beneath them, up to a few hundred) the given uid can open,
    tried for real in a forked helper running as that uid (no Landlock in play)."""
    read_r, read_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_r)
        found = []
        try:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            for top in paths:
                seen = 0
                for path in _walk_as_reader(top):
                    seen += 1
                    if seen > 400:
                        break
                    try:
                        os.close(os.open(path, os.O_RDONLY | os.O_NONBLOCK))
                        if os.path.isfile(path) or path == top:
                            found.append(path)
                            break
                    except OSError:
                        continue
            os.write(read_w, "\n".join(found).encode()[:60000])
        finally:
            os._exit(0)
    os.close(read_w)
    with os.fdopen(read_r, "rb") as fh:
        data = fh.read()
    os.waitpid(pid, 0)
    return [p for p in data.decode(errors="replace").split("\n") if p]


def _walk_as_reader(top: str):
    yield top
    for dirpath, _dirs, files in os.walk(top):
        for name in files:
            yield os.path.join(dirpath, name)


# What a run sees of /etc, at every level (the list bubblewrap binds too): never the whole
# folder, which holds /etc/shadow and private keys that CAP_DAC_READ_SEARCH could open.
ETC = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/alternatives", "/etc/fonts",
       "/etc/localtime", "/etc/passwd", "/etc/group", "/etc/matplotlibrc", "/etc/nsswitch.conf")


def plan(*, uid: int, jobdir: str, read_exec: list[str], read: list[str], keep_dac_read: bool,
         landlock: bool) -> dict:
    """The part of a job that tells the child how to confine itself (plain JSON)."""
    system = ["/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32"]
    rules = ([[p, READ_EXEC] for p in system + list(read_exec)] + [[p, READ] for p in list(ETC) + list(read)]
             + [["/proc", READ], ["/sys/devices/system/cpu", READ], ["/dev/null", READ | FS_WRITE_FILE],
                ["/dev/zero", READ], ["/dev/urandom", READ], ["/dev/random", READ],
                [jobdir, READ_WRITE]])
    return {"uid": uid, "keep_dac_read": keep_dac_read, "landlock": landlock, "rules": rules,
            "tmpdir": os.path.join(jobdir, "tmp")}


# -- in the forked child, as root, before any student code ---------------------------------

def apply_limits(limits: dict) -> None:
    vm_now = _vm_size()
    if limits.get("memory"):
        # Address space, not RSS: a warm torch already maps a few GB it never touches,
        # so the cap is what the child may add on top of what it inherited.
        cap = vm_now + int(limits["memory"])
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    if limits.get("cpu"):
        cpu = int(limits["cpu"])
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    if limits.get("fsize"):
        resource.setrlimit(resource.RLIMIT_FSIZE, (int(limits["fsize"]),) * 2)
    if limits.get("nproc"):
        resource.setrlimit(resource.RLIMIT_NPROC, (int(limits["nproc"]),) * 2)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an over-long write fails instead of killing


def _vm_size() -> int:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def enter(job: dict) -> None:
    """Everything the child applies to itself before student code. Any failure ends the
    child (the grader reports "could not be graded"): it never runs student code half-confined."""
    try:
        _enter(job)
    except BaseException as exc:  # noqa: BLE001 - refuse to go on, loudly
        try:
            os.write(2, f"rnngrade: confinement failed: {exc}\n".encode())
        finally:
            os._exit(SETUP_FAILED)


def _enter(job: dict) -> None:
    confine = job.get("confine")
    limits = dict(job["limits"])
    if confine:
        limits["nproc"] = NPROC
    apply_limits(limits)
    if not confine:
        return  # bubblewrap (the namespace is the wall) or an explicit --sandbox none
    uid = int(confine["uid"])
    if uid < RUN_UIDS.start or uid >= RUN_UIDS.stop:
        raise ConfinementError(f"uid {uid} is not a run uid")
    keep = bool(confine.get("keep_dac_read"))
    if keep and not confine.get("landlock"):
        raise ConfinementError("keeping CAP_DAC_READ_SEARCH without Landlock would expose every file")
    tmp = confine["tmpdir"]
    os.environ.update(TMPDIR=tmp, HOME=tmp, MPLCONFIGDIR=os.path.join(tmp, "mpl"))
    import tempfile

    tempfile.tempdir = None
    if os.geteuid() == 0:
        drop_bounding_set(keep=(CAP_DAC_READ_SEARCH,) if keep else ())
        if keep:
            prctl(PR_SET_KEEPCAPS, 1)
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
        if keep:
            capset(1 << CAP_DAC_READ_SEARCH)
            prctl(PR_SET_KEEPCAPS, 0)
        clear_ambient()
    if 0 in os.getresuid() or 0 in os.getresgid() or os.getuid() != uid:
        raise ConfinementError("could not leave root")
    no_new_privs()
    if confine.get("landlock"):
        landlock_restrict([(str(p), int(r)) for p, r in confine["rules"]])
    seccomp_load()


# -- what the level selection asks ---------------------------------------------------------


def problems() -> list[str]:
    """Why the fallback cannot run here (empty: it can)."""
    out = []
    if os.geteuid() != 0:
        out.append("the grader is not root, so it cannot give each run its own user")
    if _seccomp is None:
        out.append("pyseccomp is not installed (pip install pyseccomp; it needs libseccomp2)")
    return out
