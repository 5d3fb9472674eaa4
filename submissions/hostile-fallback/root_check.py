"""Who does student code run as? Fallback result: a run uid (61000-61999) with no groups,
no capability but CAP_DAC_READ_SEARCH (only where Python sits in a folder others cannot
enter, and then under Landlock), no_new_privs, a seccomp filter, and no way back to root
or to the warm worker."""
import os
import signal

status = dict(line.split(":\t", 1) for line in open("/proc/self/status").read().splitlines() if ":\t" in line)
outcome = {"resuid": list(os.getresuid()), "resgid": list(os.getresgid()), "groups": os.getgroups(),
           "cap_eff": int(status["CapEff"], 16), "cap_bnd": int(status["CapBnd"], 16),
           "no_new_privs": int(status["NoNewPrivs"]), "seccomp": int(status["Seccomp"])}
for name, action in [("setuid0", lambda: os.setuid(0)), ("kill_worker", lambda: os.kill(os.getppid(), signal.SIGKILL)),
                     ("kill_init", lambda: os.kill(1, signal.SIGKILL))]:
    try:
        action()
        outcome[name] = 0
    except OSError as exc:
        outcome[name] = exc.errno
