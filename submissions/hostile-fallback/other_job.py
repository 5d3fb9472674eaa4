"""Read a classmate's run folder (its path is guessable: the jobs folder is numbered),
list the jobs folder, and read the submissions folder the grader was given.
Fallback result: EACCES each."""
import ctypes
import os

VICTIM = ""  # a classmate's file in a live run, filled in by the test
INPUT = ""  # the folder of submissions being graded, filled in by the test
outcome = {}
for name, action in [("victim_file", lambda: open(VICTIM).read()),
                     ("jobs_folder", lambda: os.listdir(os.path.dirname(os.path.dirname(os.getcwd())))),
                     ("victim_folder", lambda: os.listdir(os.path.dirname(VICTIM))),
                     ("input_folder", lambda: os.listdir(INPUT))]:
    try:
        action()
        outcome[name] = 0
    except OSError as exc:
        outcome[name] = exc.errno
libc = ctypes.CDLL(None, use_errno=True)
fd = libc.open(VICTIM.encode(), os.O_RDONLY)
outcome["victim_file_ctypes"] = ctypes.get_errno() if fd < 0 else 0
