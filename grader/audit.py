"""A Python audit hook for the sandboxed child: refuses network sockets, new programs,
and writes outside the run's folder; in the weakest confinement level it also refuses
forks and reads of the grader's private folders.

An audit hook is a speed bump, not a wall: `os.open(dir_fd=)`, ctypes and
`_posixsubprocess` step around it. It only turns honest mistakes into a readable
PermissionError early; the walls are bubblewrap's namespaces or, in the fallback, the run
uid + Landlock + seccomp of grader/confine.py."""
from __future__ import annotations

import os
import sys
from builtins import any  # bound now: a submission that replaces builtins.any later cannot reach it

_BLOCKED = {
    "socket.__new__": "opening a network socket",
    "socket.connect": "opening a network connection",
    "socket.bind": "opening a network socket",
    "socket.getaddrinfo": "looking up a network host name",
    "subprocess.Popen": "starting another program",
    "os.system": "starting another program",
    "os.exec": "starting another program",
    "os.posix_spawn": "starting another program",
    "os.spawn": "starting another program",
    "pty.spawn": "starting another program",
    "urllib.Request": "downloading from the network",
}
_FORK_EVENTS = {"os.fork": "forking the process", "os.forkpty": "forking the process"}


def install(*, writable: list[str], forbid_fork: bool, hidden: list[str]) -> None:
    blocked = dict(_BLOCKED, **(_FORK_EVENTS if forbid_fork else {}))
    allowed = tuple(os.path.realpath(p) + os.sep for p in writable if p)
    secret = tuple(os.path.realpath(p) + os.sep for p in hidden if p)

    def hook(event: str, args: tuple) -> None:
        if event in blocked:
            raise PermissionError(f"rnngrade sandbox: {blocked[event]} is not allowed in graded code")
        if event == "open" and args and isinstance(args[0], (str, bytes)):
            _check_open(args, allowed, secret)

    sys.addaudithook(hook)


def _check_open(args: tuple, allowed: tuple[str, ...], secret: tuple[str, ...]) -> None:
    path, mode, flags = (list(args) + [None, None])[:3]
    path = os.fsdecode(path)
    real = os.path.realpath(path) + os.sep
    if secret and real.startswith(secret):
        raise PermissionError(f"rnngrade sandbox: {path} is not readable from graded code")
    writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
        isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC))
    if writing and not real.startswith(allowed) and real != "/dev/null/":
        raise PermissionError(f"rnngrade sandbox: writing {path} is not allowed (write inside the run folder)")
