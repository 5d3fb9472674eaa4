"""Start a shell with the primitive under subprocess (the audit hook only sees
subprocess.Popen). Fallback result: the exec fails with EPERM (seccomp), no shell ran."""
import os
import sys

import _posixsubprocess

errpipe_read, errpipe_write = os.pipe()
args = [b"/bin/sh", b"-c", b"echo pwned > shell-ran.txt"]
common = (args, [b"/bin/sh"], True, (errpipe_write,), None, None,
          -1, -1, -1, -1, -1, -1, errpipe_read, errpipe_write, True, False)
try:  # Python 3.11's signature, then 3.12+
    pid = _posixsubprocess.fork_exec(*common, -1, None, None, None, -1, None, False)
except TypeError:
    pid = _posixsubprocess.fork_exec(*common, -1, None, None, -1, -1, None)
os.close(errpipe_write)
report = os.read(errpipe_read, 200)
_, status = os.waitpid(pid, 0)
outcome = {"exec_report": report.decode(errors="replace"), "shell_ran": os.path.exists("shell-ran.txt")}
