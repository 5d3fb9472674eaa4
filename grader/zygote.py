"""The warm worker: a long-lived interpreter (itself confined when bubblewrap runs) that
imports the heavy libraries once and forks one fresh child per submission unit.

It imports libraries only, never the reference, the checks or any hidden input: a
forked child inherits its parent's memory. Children are never reused."""
from __future__ import annotations

import json
import os
import signal
import socket
import sys

from grader import isolate
from grader.privileges import SETUP_FAILED, close_fds_except, non_dumpable

CONTROL_MAX = 1 << 16


def _warm(imports: list[str]) -> list[str]:
    done = []
    os.environ.setdefault("MPLBACKEND", "Agg")
    for name in imports:
        try:
            __import__(name)
            done.append(name)
        except Exception:
            continue
    if "torch" in sys.modules:
        import torch

        torch.set_num_threads(1)
    if "matplotlib" in done:
        try:
            import matplotlib.pyplot  # noqa: F401  (pyplot import is the slow part)
        except Exception:
            pass
    # The child runtime itself, so a fork costs nothing to import.
    import grader.audit  # noqa: F401
    import grader.child  # noqa: F401
    import grader.confine  # noqa: F401

    return done


def _send(ctrl: socket.socket, message: dict) -> None:
    ctrl.send(json.dumps(message).encode())


def _run_child(sock: socket.socket, job: dict) -> None:
    os.setsid()
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if job.get("isolate"):  # the one per-run setup call site (bubblewrap level)
        try:
            isolate.enter(job, keep_fds=(sock.fileno(),))
        except BaseException as exc:  # never run student code half-isolated
            try:
                os.write(2, f"rnngrade: {exc}\n".encode())
            finally:
                os._exit(SETUP_FAILED)
    else:  # the fallback levels: at least hold no descriptor of the worker's
        close_fds_except({0, 1, 2, sock.fileno()})
    from grader import child, confine

    confine.enter(job)  # rlimits; in the fallback also its own uid, Landlock, seccomp

    child.main(sock, job)


def _sweep(pid: int) -> None:
    """Kill the run. At the bubblewrap level it is PID 1 of its own PID namespace, so every
    process it left behind dies with it; in the fallback the grader also kills every process
    of the run's uid (grader.confine.sweep)."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass


def _reap(pid: int, kill: bool) -> dict:
    if kill:
        _sweep(pid)
    try:
        _, status, usage = os.wait4(pid, 0)
    except ChildProcessError:
        return {"exit": None, "signal": None}
    return {"exit": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
            "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
            "maxrss_kb": usage.ru_maxrss, "cpu": usage.ru_utime + usage.ru_stime}


def _reap_finished() -> None:
    """Collect children killed with `discard` (nobody waits for their status)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def serve(ctrl: socket.socket) -> None:
    while True:
        _reap_finished()
        try:
            data, fds, _flags, _addr = socket.recv_fds(ctrl, CONTROL_MAX, 1)
        except OSError:
            return
        if not data:
            return
        request = json.loads(data)
        if request["op"] == "fork":
            if len(fds) != 1:
                for fd in fds:
                    os.close(fd)
                _send(ctrl, {"pid": None})
                continue
            child_sock = socket.socket(fileno=fds[0])
            try:
                # bubblewrap level: the run is PID 1 of a PID namespace of its own
                pid = isolate.fork_run() if request["job"].get("isolate") else os.fork()
            except OSError as exc:
                child_sock.close()
                _send(ctrl, {"pid": None, "error": str(exc)})
                continue
            if pid == 0:
                ctrl.close()
                try:
                    _run_child(child_sock, request["job"])
                finally:
                    os._exit(0)
            child_sock.close()
            _send(ctrl, {"pid": pid})
        elif request["op"] == "reap":
            _send(ctrl, _reap(int(request["pid"]), bool(request.get("kill"))))
        elif request["op"] == "discard":
            # the grader is done with this child and needs no status: kill, reap later
            _sweep(int(request["pid"]))
        elif request["op"] == "ping":
            _send(ctrl, {"pong": request.get("nonce")})
        elif request["op"] == "exit":
            return


def main() -> None:
    ctrl = socket.socket(fileno=int(sys.argv[1]))
    imports = [m for m in sys.argv[2].split(",") if m]
    in_bubblewrap = len(sys.argv) > 3 and sys.argv[3] == "1"
    if in_bubblewrap:  # runs get PID namespaces of their own, forked from the worker's
        try:
            isolate.worker_namespaces()
        except OSError as exc:
            _send(ctrl, {"ready": False, "error": str(exc)})
            return
    non_dumpable()  # nothing the worker forks can ptrace it, read its memory or take its fds
    done = _warm(imports)
    _send(ctrl, {"ready": True, "imports": done, "uid": os.getuid(), "pid": os.getpid()})
    serve(ctrl)


if __name__ == "__main__":
    main()
