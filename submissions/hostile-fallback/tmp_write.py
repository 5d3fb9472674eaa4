"""Leave files in the machine's shared temporary folders with libc open() (the audit hook
only sees Python's open). Fallback result: EACCES each (Landlock), no file appears."""
import ctypes
import os

TOKEN = "rnngrade-hostile"  # the test makes it unique
libc = ctypes.CDLL(None, use_errno=True)
outcome = {}
for folder in ("/tmp", "/var/tmp", "/dev/shm"):
    path = os.path.join(folder, TOKEN).encode()
    fd = libc.open(path, os.O_WRONLY | os.O_CREAT, 0o666)
    outcome[folder] = ctypes.get_errno() if fd < 0 else 0
    if fd >= 0:
        os.write(fd, b"left behind")
