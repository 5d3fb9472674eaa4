"""cs240-week8 ships nothing of its own into the sandbox before the student's code runs.

The observation helpers live in observe.py, which checks.py sends with every probe snippet:
compiled after the student's code ran, they cannot have been reached or replaced by it (a
module loaded here beforehand would stay reachable through gc and sys.modules). The engine's
`std` probes, loaded before the student's code, serve only plain conversions whose result the
grader does not have to believe (see checks.py's docstring).
"""
