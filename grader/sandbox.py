"""Runs student code outside the grader's process, confined, and turns everything it
does (answers, crashes, hangs, early exits) into plain observations.

A run's folder is hostile input: it is created by the grader under a random name, files are
read with O_NOFOLLOW|O_NONBLOCK, only if regular and within a size bound; every request
carries a fresh nonce its reply must echo; a worker that dies or stops answering is replaced.

Levels of confinement, strongest available first (README.md, "Security"):
- "bubblewrap": the warm worker runs inside bwrap (no network, read-only system, only
  the Python installation and its jobs folder visible), and each run is isolated from the
  worker and from every other run by grader.isolate (own user, mount, PID, IPC and network
  namespaces; only its own job folder; its own size-capped /tmp; no capability; the worker
  non-dumpable and without a PID the run can name), with rlimits and the audit hook on top.
- "rlimits+nobody": no usable bwrap, the grader is root (Docker, Gradescope): each child
  drops to its own run uid, confined by Landlock, seccomp and rlimits (grader.confine).
  "rlimits" forced while root is the same (student code never runs as root).
- "none": only with an explicit `--sandbox none`; every report says so in red.
Without root and without namespaces the grader refuses to run student code.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import site
import socket
import stat
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader import confine, protocol
from grader.outcomes import StudentError
from grader.privileges import SETUP_FAILED

NOBODY = 65534
STDOUT_KEEP = 16_000  # characters kept from each end of a student's output
FIGURE_MAX_BYTES = 4 << 20
GRACE = 5.0  # seconds past a soft time limit before the child is killed outright


class SandboxLost(Exception):
    """The child is gone (crash, timeout, memory, exit): no more observations."""

    def __init__(self, reason: str, status: str = "crashed"):
        super().__init__(reason)
        self.reason = reason
        self.status = status


class StudentRaised(Exception):
    """Student code raised while answering a probe."""

    def __init__(self, error: StudentError):
        super().__init__(error.one_line())
        self.error = error


class WorkerLost(SandboxLost):
    """The warm worker itself is gone or answers nonsense: the run in progress is lost,
    the pool replaces the worker before the next submission."""

    def __init__(self, reason: str = "the grader's sandbox worker stopped during this run"):
        super().__init__(reason, "crashed")


@dataclass(frozen=True)
class Limits:
    memory: int = 4 << 30  # bytes the child may map on top of the warm worker
    fsize: int = 256 << 20
    nproc: int = 0  # 0: no process cap (see _limits_for)
    tmp: int = 128 << 20  # size of the run's own /tmp and /dev/shm (bubblewrap level)


# -- confinement detection ----------------------------------------------------------------

_LEVEL: str | None = None
_LEVEL_LOCK = threading.Lock()
LEVELS = ("bubblewrap", "rlimits+nobody", "rlimits", "none")
DROP_LEVELS = ("rlimits+nobody", "rlimits")


class SandboxUnavailable(RuntimeError):
    """Student code cannot be confined here; the message says how to fix it (one line)."""


_HOW_TO_FIX = ("install bubblewrap and allow unprivileged user namespaces, or run the grader as root "
               "inside its container (each run then gets its own uid), or pass --sandbox none to "
               "run student code unconfined (every report will say so)")


def set_level(level: str) -> None:
    """Force a level for this process (the CLI's --sandbox none)."""
    global _LEVEL
    if level not in LEVELS:
        raise ValueError(f"unknown sandbox level {level!r}")
    with _LEVEL_LOCK:
        _LEVEL = level


def confinement_level() -> str:
    """The strongest level that works on this machine (RNNGRADE_SANDBOX forces one).
    Raises SandboxUnavailable where no level can confine student code."""
    global _LEVEL
    with _LEVEL_LOCK:
        if _LEVEL is None:
            forced = os.environ.get("RNNGRADE_SANDBOX", "")
            if forced in LEVELS:
                level = forced
            elif _bwrap_works():
                level = "bubblewrap"
            elif os.geteuid() == 0:
                level = "rlimits+nobody"
            else:
                raise SandboxUnavailable("cannot confine student code here: bubblewrap cannot create "
                                         f"user namespaces and the grader is not root; {_HOW_TO_FIX}")
            _check_level(level)
            _LEVEL = level
        return _LEVEL


def _check_level(level: str) -> str:
    """The level a Worker really runs: a drop level as root becomes "rlimits+nobody"."""
    if level not in LEVELS:
        raise SandboxUnavailable(f"unknown sandbox level {level!r} (one of {', '.join(LEVELS)})")
    if level in DROP_LEVELS:
        problems = confine.problems()
        if problems:
            raise SandboxUnavailable(f"cannot confine student code with the {level} fallback: "
                                     f"{'; '.join(problems)}; {_HOW_TO_FIX}")
        if not confine.landlock_abi() and not _python_readable_by_nobody():
            raise SandboxUnavailable(
                f"cannot confine student code: the Python installation ({sys.prefix}) is inside a "
                "folder other users cannot enter and this kernel has no Landlock; make it reachable "
                f"(e.g. chmod o+x on each parent folder of {sys.prefix}), use a Python under /usr or "
                "/opt, or install bubblewrap")
        return "rlimits+nobody"
    return level


def _bwrap_works() -> bool:
    if not shutil.which("bwrap"):
        return False
    with tempfile.TemporaryDirectory() as tmp:
        cmd = _bwrap_prefix(tmp) + [sys.executable, "-c", "import grader.protocol"]
        try:
            return subprocess.run(cmd, capture_output=True, timeout=60).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            return False


def _python_readable_by_nobody() -> bool:
    for root in {sys.prefix, sys.base_prefix, str(Path(protocol.__file__).parent)}:
        path = Path(root).resolve()
        for part in [path, *path.parents]:
            mode = part.stat().st_mode
            if not mode & stat.S_IXOTH:
                return False
    return True


def _python_roots() -> list[str]:
    roots = {sys.prefix, sys.base_prefix, str(Path(sys.executable).resolve().parent.parent)}
    roots.update(site.getsitepackages())
    if site.ENABLE_USER_SITE and os.path.isdir(site.getusersitepackages()):
        roots.add(site.getusersitepackages())
    roots = sorted(os.path.realpath(r) for r in roots if os.path.isdir(r))
    kept: list[str] = []
    for root in roots:  # drop roots nested in one already bound, and system dirs bound anyway
        if root.startswith(("/usr/", "/bin", "/lib")) or any(root.startswith(k + os.sep) for k in kept):
            continue
        kept.append(root)
    return kept


def _grader_root() -> str:
    return str(Path(protocol.__file__).resolve().parent)


def _pack_folders() -> list[str]:
    from grader.packs import hidden_pack_paths

    return sorted({os.path.realpath(p) for p in hidden_pack_paths()})


def _sandbox_env() -> dict[str, str]:
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8",
            "PYTHONPATH": str(Path(_grader_root()).parent), "PYTHONHASHSEED": "0",
            "PYTHONDONTWRITEBYTECODE": "1", "MPLBACKEND": "Agg", "MPLCONFIGDIR": "/tmp/mpl",
            "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
            "TORCH_HOME": "/tmp/torch", "XDG_CACHE_HOME": "/tmp", "CUDA_VISIBLE_DEVICES": ""}


def _bwrap_prefix(jobs_root: str) -> list[str]:
    # No --die-with-parent: its PDEATHSIG follows the *thread* that started bwrap, and batch
    # threads come and go; the zygote exits on its own when the grader's end of the control
    # socket closes (the grader exiting included).
    args = ["bwrap", "--unshare-all", "--new-session", "--cap-drop", "ALL",
            "--uid", str(NOBODY), "--gid", str(NOBODY),
            "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    for path in ("/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32"):
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    for path in ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/alternatives",
                 "/etc/fonts", "/etc/localtime", "/etc/passwd", "/etc/group", "/etc/matplotlibrc"):
        args += ["--ro-bind-try", path, path]
    for root in _python_roots():
        args += ["--ro-bind", root, root]
    grader_dir = _grader_root()
    args += ["--ro-bind", grader_dir, grader_dir]
    # packs installed where Python lives (the wheel's grader/_shipped, a course's pack package
    # in site-packages) are inside the folders bound above: an empty tmpfs covers them
    bound = [*_python_roots(), grader_dir]
    for path in _pack_folders():
        if os.path.isdir(path) and any(path == b or path.startswith(b + os.sep) for b in bound):
            args += ["--tmpfs", path]
    args += ["--bind", jobs_root, "/jobs", "--chdir", "/jobs", "--clearenv"]
    for key, value in _sandbox_env().items():
        args += ["--setenv", key, value]
    return args


# -- the warm worker -----------------------------------------------------------------------


class Worker:
    """One warm interpreter (the zygote) that forks a confined child per unit run.
    Used by one thread at a time."""

    def __init__(self, *, imports: tuple[str, ...] = ("numpy", "torch", "matplotlib"),
                 level: str | None = None):
        self.level = _check_level(level or confinement_level())
        self.imports = tuple(imports)
        self._leases: dict[int, tuple[confine.Lease, Path]] = {}  # child pid -> its run uid, folder
        self._readable_checked: set[tuple[str, ...]] = set()
        self.root = tempfile.mkdtemp(prefix="rnngrade-jobs-")
        os.chmod(self.root, 0o711)
        self._lock = threading.Lock()
        self.broken: str | None = None
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._ctrl = parent
        cmd, env = self._command(child.fileno())
        self._log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(cmd, pass_fds=[child.fileno()], stdin=subprocess.DEVNULL,
                                     stdout=self._log, stderr=self._log, env=env, cwd=self.root)
        child.close()
        self._ctrl.settimeout(180)
        try:
            self.info = json.loads(self._ctrl.recv(1 << 16) or b"{}")
        except (OSError, ValueError):
            self.info = {}
        if not self.info.get("ready"):
            self.close()
            raise RuntimeError(f"the sandbox worker did not start ({self.level}): "
                               f"{self.info.get('error') or ''} {self._log_tail()}")
        if self.level == "rlimits+nobody":
            self._self_check()

    def _self_check(self) -> None:
        """One trusted run before any student's: if the fallback cannot confine a child here,
        that is the grader's problem, said once, never "the sandbox could not be set up" on every student."""
        from grader.run import Run
        from grader.load import SourceUnit

        source = "import os\nassert 0 not in os.getresuid() + os.getresgid(), 'still root'\n"
        try:
            session = self.start(files={"selfcheck.py": source}, limits=Limits(memory=1 << 30))
            run = Run(SourceUnit("selfcheck", Path("selfcheck.py"), "selfcheck.py", source), session, timeout=60)
            run.execute(as_main=True, prelude=None, probes=None, banned=[])
            run.close()
            problem = None if run.status == "ok" else f"{run.status}: {[e.message for e in run.errors]}"
        except (OSError, SandboxLost, ValueError) as exc:
            problem = str(exc)
        if problem:
            log = self._log_tail().strip().splitlines()
            self.close()
            raise SandboxUnavailable(f"the fallback sandbox could not confine a test run ({problem}); "
                                     f"worker log: {log[-1] if log else 'empty'}")

    def _command(self, fd: int) -> tuple[list[str], dict[str, str]]:
        tail = [sys.executable, "-m", "grader.zygote", str(fd), ",".join(self.imports)]
        if self.level == "bubblewrap":
            return _bwrap_prefix(self.root) + tail + ["1"], dict(os.environ)
        env = _sandbox_env()
        env["MPLCONFIGDIR"] = os.path.join(self.root, ".mpl")
        env["TMPDIR"] = self.root
        return tail + ["0"], env

    def _log_tail(self) -> str:
        self._log.seek(0)
        return self._log.read()[-2000:].decode(errors="replace")

    def _inside(self, host_path: str) -> str:
        """A host path under the worker's root as the worker sees it."""
        if self.level != "bubblewrap":
            return host_path
        return "/jobs/" + os.path.relpath(host_path, self.root)

    def start(self, *, files: dict[str, Any], limits: Limits, hidden: list[str] = ()) -> "Session":
        # A fresh folder per run, named by the grader with a name no run can predict, created
        # with mkdir (which refuses anything already there, a planted symlink included).
        jobdir = Path(self.root) / f"job-{secrets.token_hex(12)}"
        os.mkdir(jobdir, 0o700)
        work, figs = jobdir / "work", jobdir / "figs"
        os.mkdir(work, 0o700)
        os.mkdir(figs, 0o700)
        for rel, content in files.items():
            _write_new(work, rel, content)
        lease = confine.lease_uid() if self.level == "rlimits+nobody" else None
        plan = None
        if lease is not None:
            try:
                plan = self._confinement(lease.uid, jobdir, hidden)
            except BaseException:
                lease.release()
                raise
        job = {"jobdir": self._inside(str(jobdir)), "workdir": self._inside(str(work)),
               "figdir": self._inside(str(figs)), "stdout": self._inside(str(jobdir / "stdout.txt")),
               "confine": plan, "isolate": self.level == "bubblewrap",
               "limits": {"memory": limits.memory, "fsize": limits.fsize, "tmp": limits.tmp,
                          "nproc": limits.nproc},
               "forbid_fork": self.level != "bubblewrap", "hidden": list(hidden)}
        ours, theirs = socket.socketpair()
        try:
            reply = self._control({"op": "fork", "job": job}, fds=[theirs.fileno()])
        except BaseException:
            ours.close()
            if lease is not None:
                lease.release(str(jobdir))
            shutil.rmtree(jobdir, ignore_errors=True)
            raise
        finally:
            theirs.close()
        pid = reply.get("pid")
        if not isinstance(pid, int) or pid <= 1:
            ours.close()
            if lease is not None:
                lease.release(str(jobdir))
            shutil.rmtree(jobdir, ignore_errors=True)
            raise self._broken("the sandbox worker did not start the run")
        if lease is not None:
            self._leases[pid] = (lease, jobdir)
        return Session(self, pid, ours, jobdir)

    # -- the control channel (one thread at a time) ---------------------------------------

    def _broken(self, reason: str) -> WorkerLost:
        self.broken = self.broken or reason
        return WorkerLost()

    def _control(self, message: dict, *, fds: list[int] = (), reply: bool = True) -> dict:
        with self._lock:
            if self.broken:
                raise WorkerLost()
            try:
                if fds:
                    socket.send_fds(self._ctrl, [json.dumps(message).encode()], list(fds))
                else:
                    self._ctrl.send(json.dumps(message).encode())
                if not reply:
                    return {}
                data = self._ctrl.recv(1 << 16)
                answer = json.loads(data) if data else None
            except (OSError, ValueError) as exc:
                raise self._broken(f"control channel: {exc}") from None
            if not isinstance(answer, dict):
                raise self._broken("the worker closed its control channel")
            return answer

    def healthy(self) -> bool:
        """The worker is running and answers a fresh nonce on its control channel."""
        if self.broken or self.proc.poll() is not None:
            self.broken = self.broken or "exited"
            return False
        nonce = secrets.token_hex(8)
        try:
            return self._control({"op": "ping", "nonce": nonce}).get("pong") == nonce or \
                bool(self._broken("the worker answered a ping with something else"))
        except WorkerLost:
            return False

    def _confinement(self, uid: int, jobdir: Path, hidden: list[str]) -> dict:
        """The fallback's plan for one run: its uid owns its folder (0700, a tmp inside), and
        Landlock opens nothing else of the grader's; without Landlock the grader first proves,
        as a run uid, that the hidden folders are unreadable, and refuses otherwise."""
        (jobdir / "tmp").mkdir()
        for path in [jobdir, *jobdir.rglob("*")]:
            os.chown(path, uid, uid, follow_symlinks=False)
        os.chmod(jobdir, 0o700)
        landlock = confine.landlock_abi() > 0
        if not landlock:
            key = tuple(sorted(hidden))
            if key not in self._readable_checked:
                readable = confine.can_read_as(uid, list(key))
                if readable:
                    raise SandboxUnavailable(
                        f"refusing to run student code: {readable[0]} is readable by other users and this "
                        f"kernel has no Landlock to hide it; fix: chmod -R o-rwx {readable[0]} (or its "
                        "folder), or use bubblewrap")
                self._readable_checked.add(key)
        return confine.plan(uid=uid, jobdir=str(jobdir), read_exec=_python_roots(),
                            read=[_grader_root()], keep_dac_read=not _python_readable_by_nobody(),
                            landlock=landlock)

    def _release(self, pid: int) -> None:
        held = self._leases.pop(pid, None)
        if held is not None:
            lease, jobdir = held
            lease.release(str(jobdir))  # every process of the run's uid dies, its stray files go

    def reap(self, pid: int, *, kill: bool) -> dict:
        try:
            return self._control({"op": "reap", "pid": pid, "kill": kill})
        finally:
            self._release(pid)

    def discard(self, pid: int) -> None:
        try:
            self._control({"op": "discard", "pid": pid}, reply=False)
        finally:
            self._release(pid)

    def close(self) -> None:
        try:
            self._ctrl.send(json.dumps({"op": "exit"}).encode())
        except OSError:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._ctrl.close()
        for pid in list(self._leases):
            self._release(pid)
        shutil.rmtree(self.root, ignore_errors=True)


def _write_new(work: Path, rel: str, content: Any) -> None:
    """A file the grader puts in a fresh run folder: never through a link, never over one."""
    parts = Path(rel).parts
    if not parts or Path(rel).is_absolute() or any(p in ("..", ".", "") for p in parts):
        raise ValueError(f"bad run file name {rel!r}")
    folder = work
    for part in parts[:-1]:
        folder = folder / part
        try:
            os.mkdir(folder, 0o700)
        except FileExistsError:
            if not stat.S_ISDIR(os.lstat(folder).st_mode):
                raise
    data = content.encode() if isinstance(content, str) else content
    fd = os.open(folder / parts[-1], os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        if isinstance(data, bytes):
            _write_all(fd, data)
        else:
            with open(content, "rb") as src:
                while chunk := src.read(1 << 20):
                    _write_all(fd, chunk)
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


# -- one child -----------------------------------------------------------------------------


class Session:
    """The channel to one forked child. Any failure of the child becomes SandboxLost."""

    def __init__(self, worker: Worker, pid: int, sock: socket.socket, jobdir: Path):
        self.worker, self.pid, self.sock, self.jobdir = worker, pid, sock, jobdir
        self.lost: SandboxLost | None = None
        self.exit_info: dict | None = None

    def request(self, header: dict, values: dict | None = None, *, timeout: float) -> tuple[dict, Any]:
        """One request, one reply. Every request carries a fresh nonce the reply must echo: a
        frame the run wrote on its channel in advance, or any malformed frame, loses the run."""
        if self.lost is not None:
            raise self.lost
        nonce = secrets.token_hex(16)
        self.sock.settimeout(timeout + GRACE)
        try:
            protocol.send(self.sock, dict(header, nonce=nonce), values)
            reply, out = protocol.recv(self.sock)
            if reply.get("nonce") != nonce:
                raise protocol.ProtocolError("a message the grader did not ask for: the code wrote on "
                                             "the grader's channel, e.g. raw bytes on an inherited file descriptor")
            return reply, out
        except socket.timeout:
            self._lose(kill=True, timed_out=True)
        except (protocol.PeerGone, OSError):
            self._lose(kill=False)
        except protocol.ProtocolError as exc:
            self._lose(kill=True, garbage=str(exc))
        raise self.lost  # type: ignore[misc]

    def _lose(self, *, kill: bool, timed_out: bool = False, garbage: str | None = None) -> None:
        try:
            info = self.worker.reap(self.pid, kill=kill)
        except WorkerLost:
            info = None
        self.exit_info = info
        self.sock.close()
        if timed_out:
            self.lost = SandboxLost("the code did not finish within the time limit and was stopped", "timeout")
        elif garbage:
            self.lost = SandboxLost(f"the run sent malformed data ({garbage}) and was stopped", "crashed")
        elif info is None:
            self.lost = WorkerLost()
        else:
            self.lost = SandboxLost(*_describe_exit(info))

    def close(self) -> list[dict]:
        figures: list[dict] = []
        if self.lost is None:
            try:
                header, _ = self.request({"op": "finish"}, timeout=20)
                figures = header.get("figures", []) if isinstance(header.get("figures"), list) else []
            except SandboxLost:
                pass
        if self.lost is None:
            try:
                self.worker.discard(self.pid)  # its answers are in; its exit status tells nothing more
            except WorkerLost:
                pass
            self.sock.close()
        return figures

    def dispose(self) -> None:
        """Remove the run's folder (after its output was read). rmtree never follows links."""
        shutil.rmtree(self.jobdir, ignore_errors=True)

    def stdout(self) -> str:
        return read_bounded(self.jobdir / "stdout.txt")

    def figure_png(self, name: Any) -> bytes | None:
        if not isinstance(name, str) or not name.startswith("fig") or "/" in name or name in (".", ".."):
            return None
        data = read_file_in(self.jobdir, ("figs", name), FIGURE_MAX_BYTES)
        return data if data is not None and data.startswith(b"\x89PNG\r\n\x1a\n") else None


def _describe_exit(info: dict) -> tuple[str, str]:
    sig, code = info.get("signal"), info.get("exit")
    if code == SETUP_FAILED:
        return "the sandbox for this run could not be set up (a grader problem: tell your TA)", "crashed"
    if sig == 9:
        return "the run was killed (most likely it used more memory than allowed)", "memory"
    if sig == 24:  # SIGXCPU
        return "the run used more CPU time than allowed and was stopped", "timeout"
    if sig is not None:
        return f"the run crashed (signal {sig})", "crashed"
    if code is not None:
        return f"the run ended the process early (exit code {code}, e.g. os._exit)", "exit"
    return "the run ended unexpectedly", "crashed"


_OPEN_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_OPEN_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC


def _open_regular(folder: Path, parts: tuple[str, ...]) -> int | None:
    """An fd on folder/parts... opened without following any link the run may have made,
    without blocking on a FIFO, and only if it is a regular file; None otherwise."""
    fds: list[int] = []
    try:
        fds.append(os.open(folder, _OPEN_DIR))
        for part in parts[:-1]:
            fds.append(os.open(part, _OPEN_DIR, dir_fd=fds[-1]))
        fd = os.open(parts[-1], _OPEN_FILE, dir_fd=fds[-1])
    except OSError:
        return None
    finally:
        for opened in fds:
            os.close(opened)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        return None
    return fd


def _pread_all(fd: int, size: int, offset: int) -> bytes:
    chunks, done = [], 0
    while done < size:
        chunk = os.pread(fd, min(size - done, 1 << 20), offset + done)
        if not chunk:
            break
        chunks.append(chunk)
        done += len(chunk)
    return b"".join(chunks)


def read_file_in(folder: Path, parts: tuple[str, ...], limit: int) -> bytes | None:
    """A regular file of a run's folder, if it holds at most `limit` bytes."""
    fd = _open_regular(folder, parts)
    if fd is None:
        return None
    try:
        size = os.fstat(fd).st_size
        if size > limit:
            return None
        return _pread_all(fd, limit + 1, 0)[:limit]
    except OSError:
        return None
    finally:
        os.close(fd)


def read_bounded(path: Path, keep: int = STDOUT_KEEP) -> str:
    """The beginning and the end of a possibly huge file of a run's folder, as text. The
    file is read as hostile: a link, a FIFO, a device or a folder reads as nothing."""
    fd = _open_regular(path.parent, (path.name,))
    if fd is None:
        return ""
    try:
        size = os.fstat(fd).st_size
        if size <= 2 * keep:
            return _pread_all(fd, 2 * keep, 0).decode(errors="replace")
        head = _pread_all(fd, keep, 0).decode(errors="replace")
        tail = _pread_all(fd, keep, size - keep).decode(errors="replace")
    except OSError:
        return ""
    finally:
        os.close(fd)
    return f"{head}\n... [{size - 2 * keep} bytes of output left out] ...\n{tail}"


# -- a pool for --jobs N -------------------------------------------------------------------


@dataclass
class WorkerPool:
    """N warm workers; each thread of a batch checks one out, uses it, and gives it back."""

    imports: tuple[str, ...]
    size: int = 1
    level: str | None = None
    _free: list[Worker] = field(default_factory=list)
    _all: list[Worker] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _cond: threading.Condition | None = None

    def acquire(self) -> Worker:
        while True:
            with self._lock:
                if self._cond is None:
                    self._cond = threading.Condition(self._lock)
                while not self._free and len(self._all) >= self.size:
                    self._cond.wait()
                worker = self._free.pop() if self._free else None
                if worker is None:
                    self._all.append(None)  # reserve the slot while the worker starts unlocked
            if worker is None:
                break
            if worker.healthy():
                return worker
            self._drop(worker)  # dead or hijacked: replace it
        try:
            worker = Worker(imports=self.imports, level=self.level)
        except BaseException:
            with self._lock:
                self._all.remove(None)
                self._cond.notify()
            raise
        with self._lock:
            self._all[self._all.index(None)] = worker
        return worker

    def release(self, worker: Worker) -> None:
        """Back to the pool; a worker that died or stopped answering during the submission
        is closed and replaced, so that the run that broke it costs that run alone."""
        if not worker.healthy():
            self._drop(worker)
            return
        with self._lock:
            self._free.append(worker)
            if self._cond is not None:
                self._cond.notify()

    def _drop(self, worker: Worker) -> None:
        with self._lock:
            if worker in self._all:
                self._all.remove(worker)
            if self._cond is not None:
                self._cond.notify()
        try:
            worker.close()
        except Exception:
            pass

    def close(self) -> None:
        with self._lock:
            workers, self._all, self._free = [w for w in self._all if w], [], []
        for worker in workers:
            worker.close()
