"""cs240-week8 ships nothing into the sandbox before the student's code runs.

The observation helpers live in observe.py, which checks.py sends with every probe snippet:
compiled after the student's code ran, they cannot have been reached or replaced by it (a
module loaded here beforehand would stay reachable through gc and sys.modules).
"""
