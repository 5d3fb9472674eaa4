"""What a forked run does to its own credentials before student code, shared by both
confinement levels (grader.isolate under bubblewrap, grader.confine in the fallback):
capabilities, no_new_privs, dumpability, death with the parent, and the descriptors it
keeps. Each step raises OSError when the kernel refuses it: a run is never left
half-confined (the callers end the child with SETUP_FAILED)."""
from __future__ import annotations

import ctypes
import errno
import os

SETUP_FAILED = 70  # exit status of a run whose confinement could not be set up (a grader problem)

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_KEEPCAPS = 8
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
CAP_DAC_READ_SEARCH = 2
_CAP_V3 = 0x20080522

libc = ctypes.CDLL(None, use_errno=True)
libc.prctl.restype = ctypes.c_int
libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def prctl(option: int, arg: int = 0) -> None:
    if libc.prctl(option, arg, 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl({option}, {arg}): {os.strerror(err)}")


def non_dumpable() -> None:
    """No ptrace, /proc/<pid>/mem or pidfd_getfd on this process (and what it forks) by
    anything without CAP_SYS_PTRACE over its user namespace."""
    prctl(PR_SET_DUMPABLE, 0)


def drop_bounding_set(keep: tuple[int, ...] = ()) -> None:
    """Every capability but `keep` out of the bounding set (EINVAL: past the kernel's last)."""
    for cap in range(64):
        if cap in keep:
            continue
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            err = ctypes.get_errno()
            if err == errno.EINVAL:
                return
            raise OSError(err, f"dropping capability {cap} from the bounding set: {os.strerror(err)}")


def clear_ambient() -> None:
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)


def capset(mask: int = 0) -> None:
    """Effective and permitted capabilities exactly `mask` (a bit per capability < 32)."""
    data = (_CapData * 2)()
    data[0].effective = data[0].permitted = mask
    if libc.capset(ctypes.byref(_CapHeader(_CAP_V3, 0)), data) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"capset: {os.strerror(err)}")


def no_new_privs() -> None:
    prctl(PR_SET_NO_NEW_PRIVS, 1)


def close_fds_except(keep: set[int]) -> None:
    """Close every descriptor but `keep` (the run must hold nothing of the worker's)."""
    low = 0
    for fd in sorted(keep) + [1 << 16]:
        if fd > low:
            os.closerange(low, fd)
        low = fd + 1
