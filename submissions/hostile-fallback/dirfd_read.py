"""Read the reference solution behind the audit hook's back: `os.open(dir_fd=)` on a
relative path and libc open() through ctypes. Fallback result: EACCES twice, nothing read."""
import ctypes
import os

root = os.environ["PYTHONPATH"].split(os.pathsep)[0]  # the grader's checkout
outcome = {"leaked": ""}
try:
    top = os.open(root, os.O_PATH)
    fd = os.open("reference/lab7_inclass.py", os.O_RDONLY, dir_fd=top)
    outcome["leaked"] += os.read(fd, 200).decode(errors="replace")
    outcome["dir_fd"] = 0
except OSError as exc:
    outcome["dir_fd"] = exc.errno

libc = ctypes.CDLL(None, use_errno=True)
fd = libc.open(os.path.join(root, "reference", "lab7_inclass.py").encode(), os.O_RDONLY)
outcome["ctypes_open"] = ctypes.get_errno() if fd < 0 else 0
if fd >= 0:
    outcome["leaked"] += os.read(fd, 200).decode(errors="replace")
