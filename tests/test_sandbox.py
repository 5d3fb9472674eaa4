"""The trust boundary: what hostile code can and cannot do from inside a child."""
from __future__ import annotations

import numpy as np
import pytest

from conftest import ROOT
from grader.load import SourceUnit
from grader.sandbox import Limits, SandboxLost, StudentRaised
from grader.run import Run


def _levels():
    import os

    from grader.sandbox import confinement_level

    best = confinement_level()
    # the fallback (forced "rlimits": a run uid, Landlock, seccomp) needs root, as in CI
    return [best] if best != "bubblewrap" or os.geteuid() != 0 else [best, "rlimits"]


@pytest.fixture(scope="module", params=_levels())
def worker(request):
    """Every test runs under the strongest level here and under the plain fallback."""
    from grader.sandbox import Worker

    w = Worker(imports=("numpy", "torch", "matplotlib"), level=request.param)
    yield w
    w.close()


def run_source(worker, source: str, *, timeout: float = 10, memory: int = 1 << 30, as_main=True) -> Run:
    unit = SourceUnit("main", ROOT / "x.py", "student.py", source)
    session = worker.start(files={"student.py": source}, limits=Limits(memory=memory),
                           hidden=[str(ROOT / "reference")])
    run = Run(unit, session, timeout=timeout)
    run.execute(as_main=as_main, prelude=None, probes=None, banned=["torch.nn.RNN"])
    return run


def test_definitions_before_an_exception_still_count(worker):
    run = run_source(worker, "def f(x):\n    return x * 2\nraise ValueError('stray demo line')\n"
                             "def g(x):\n    return x + 1\nprint('never')\n")
    assert run.status == "error" and run.error.type == "ValueError" and run.error.lineno == 3
    out = run.probe("a = f(np.ones(2)); b = g(1)", want=["a", "b"])
    assert out["a"].tolist() == [2.0, 2.0] and out["b"] == 2  # g is defined after the error
    assert "never" not in run.stdout
    run.close()


def test_sys_exit_is_a_result_and_the_namespace_survives(worker):
    run = run_source(worker, "x = 41\nimport sys\nsys.exit(3)\nx = 0\n")
    assert run.status == "exit"
    assert run.probe("y = x + 1", want=["y"])["y"] == 42
    run.close()


def test_infinite_loop_is_interrupted_and_probes_still_answer(worker):
    run = run_source(worker, "done = 'before'\nwhile True:\n    pass\n", timeout=1.5)
    assert run.status == "timeout"
    assert run.probe("v = done", want=["v"])["v"] == "before"
    run.close()


def test_a_loop_that_swallows_the_interrupt_is_killed(worker):
    source = "import signal\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\nwhile True:\n    pass\n"
    run = run_source(worker, source, timeout=1)
    assert run.status == "timeout"
    with pytest.raises(SandboxLost):
        run.probe("x = 1", want=["x"])
    run.close()


def test_os_exit_loses_the_child_not_the_grader(worker):
    run = run_source(worker, "import os\nos._exit(7)\n")
    assert run.status == "exit"
    assert "exit code 7" in run.error.message
    run.close()


def test_memory_hog_gets_a_memory_error(worker):
    run = run_source(worker, "x = bytearray(3 << 30)\n", memory=512 << 20)
    assert run.status == "memory"
    run.close()


@pytest.mark.parametrize("source, words", [
    ("import socket\nsocket.create_connection(('127.0.0.1', 9))\n", "network"),
    ("import subprocess\nsubprocess.run(['ls'])\n", "program"),
    ("import os\nos.system('ls')\n", "program"),
])
def test_network_and_programs_are_refused(worker, source, words):
    run = run_source(worker, source)
    assert run.status == "error" and "PermissionError" == run.error.type, run.error
    assert words in run.error.message
    run.close()


def test_reference_and_other_files_are_not_readable(worker):
    path = ROOT / "reference" / "lab7_inclass.py"
    run = run_source(worker, f"text = open({str(path)!r}).read()\n")
    assert run.status == "error" and run.error.type in ("FileNotFoundError", "PermissionError")
    run.close()


def test_writes_outside_the_run_folder_are_refused(worker):
    run = run_source(worker, "open('/usr/evil.txt', 'w').write('x')\nopen('ok.txt', 'w').write('fine')\n")
    assert run.error.type in ("PermissionError", "OSError", "FileNotFoundError")
    run.close()


def test_stdout_flood_is_bounded(worker):
    run = run_source(worker, "for i in range(200000):\n    print('spam', i)\n")
    text = run.stdout
    assert len(text) < 40_000 and "spam 0" in text and "spam 199999" in text and "left out" in text
    run.close()


def test_probe_values_cross_as_arrays_not_objects(worker):
    run = run_source(worker, "import torch\nclass Evil:\n    def __reduce__(self):\n        return (print, ('pwned',))\n"
                             "t = torch.ones(2, 3)\ne = Evil()\n")
    out = run.probe("a = t; b = e; c = {'k': [t, 1.5, None]}", want=["a", "b", "c"])
    assert isinstance(out["a"], np.ndarray) and out["a"].dtype == np.float32 and out["a"].shape == (2, 3)
    assert out["b"].type == "Evil"  # an opaque description, never the object
    assert out["c"]["k"][1] == 1.5
    run.close()


def test_student_exception_in_probe_is_reported_with_its_line(worker):
    run = run_source(worker, "def f(x):\n    return x.nope\n")
    with pytest.raises(StudentRaised) as info:
        run.probe("y = f(1)", want=["y"])
    assert info.value.error.type == "AttributeError" and info.value.error.lineno == 2
    run.close()


def test_banned_class_is_seen_at_run_time(worker):
    run = run_source(worker, "import torch\nR = getattr(torch.nn, 'R' + 'NN')\nr = R(2, 3)\n")
    assert any(c["api"] == "torch.nn.RNN" and c["lineno"] == 3 for c in run.banned_calls)
    run.close()


def test_figures_are_captured_with_their_labels(worker):
    run = run_source(worker, "import matplotlib.pyplot as plt\nimport numpy as np\n"
                             "fig, axes = plt.subplots(1, 2)\nfor i, ax in enumerate(axes):\n"
                             "    ax.imshow(np.zeros((4, 4)))\n    ax.set_title(f'True: {i} Pred: {i}')\nplt.show()\n")
    figures = run.figures
    assert len(figures) == 1 and figures[0]["png"].startswith(b"\x89PNG")
    assert [a["title"] for a in figures[0]["axes"]] == ["True: 0 Pred: 0", "True: 1 Pred: 1"]
    assert all(a["n_images"] == 1 for a in figures[0]["axes"])
    unit_run = run.close()
    assert len(unit_run.figures) == 1


def test_each_run_gets_a_fresh_process(worker):
    first = run_source(worker, "import os\npid = os.getpid()\nleak = 'secret'\n")
    pid1 = first.probe("p = pid", want=["p"])["p"]
    first.close()
    second = run_source(worker, "import os\npid = os.getpid()\n")
    out = second.probe("p = pid\nhas = 'leak' in globals()", want=["p", "has"])
    assert out["has"] is False
    if worker.level == "bubblewrap":  # each run is PID 1 of its own PID namespace
        assert out["p"] == pid1 == 1
    else:
        assert out["p"] != pid1
    second.close()


def test_closing_one_run_leaves_a_sibling_run_alive(worker):
    first = run_source(worker, "a = 1\n")
    second = run_source(worker, "b = 2\n")
    first.close()
    assert second.probe("c = b + 1", want=["c"])["c"] == 3
    second.close()


def test_a_lost_run_does_not_take_its_sibling(worker):
    alive = run_source(worker, "b = 2\n")
    doomed = run_source(worker, "import os\nos._exit(1)\n")
    assert doomed.status == "exit"
    assert alive.probe("c = b + 1", want=["c"])["c"] == 3
    doomed.close()
    alive.close()


def test_definitions_below_a_hang_are_still_made(worker):
    run = run_source(worker, "def f():\n    return 1\nwhile True:\n    pass\ndef g():\n    return 2\n", timeout=1.5)
    assert run.status == "timeout"
    assert run.probe("v = f() + g()", want=["v"])["v"] == 3
    run.close()


def test_future_annotations_reach_every_statement(worker):
    run = run_source(worker, "from __future__ import annotations\ndef f(x: Later) -> Later:\n    return x\n"
                             "class Later:\n    pass\n")
    assert run.status == "ok", run.error
    run.close()


def test_the_standard_probes_reach_every_run_as_std(worker):
    """grader/std_probes.py is loaded in the child before student code: probe snippets (and
    a pack's probes.py) use `std` instead of copying helpers into each pack."""
    run = run_source(worker, "import torch\nm = torch.nn.Linear(3, 2)\nlosses = [torch.tensor(0.5), 0.25]\n"
                             "def train():\n    opt = torch.optim.SGD(m.parameters(), lr=0.1)\n"
                             "    for _ in range(3):\n        opt.zero_grad()\n    return 'done'\n"
                             "from collections import deque\nhistory = deque([1, 2.5])\n")
    out = run.probe("names = [n for n, _ in std.parameters(m)]; f = std.floats(losses)\n"
                    "zeroed, result = std.count_zero_grads(train); h = std.floats(history); s = std.floats('12')",
                    want=["names", "f", "zeroed", "result", "h", "s"])
    assert out["h"] == [1.0, 2.5] and out["s"] is None  # any iterable of numbers, never a string
    assert out["names"] == ["weight", "bias"] and out["f"] == [0.5, 0.25]
    assert out["zeroed"] == 3 and out["result"] == "done"
    run.close()
