"""`rnngrade pack new NAME`: a small, working pack to start from.

The generated pack grades a two-function numpy assignment (one vanilla-RNN step, then a whole
sequence) with everything a real pack has: rubric.toml (two auto items with declared
sub-checks, one manual question), checks.py on the v2 check API, probes.py (child side, raw
values only), the handout with TODOs, a reference solution inside the pack, example
submissions with expected.json, and the pack's own test. It passes `rnngrade pack check NAME`
and its test as generated; docs/PACKS.md explains every file."""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

NAME_RE = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


class ScaffoldError(Exception):
    pass


def default_pack_dir() -> Path:
    """$RNNGRADE_HOME/assignments, else the current checkout's assignments/, else ./assignments."""
    from grader.packs import _checkout_root

    if os.environ.get("RNNGRADE_HOME"):
        return Path(os.environ["RNNGRADE_HOME"]) / "assignments"
    checkout = _checkout_root(Path.cwd().resolve())
    return (checkout / "assignments") if checkout else Path("assignments")


def write_pack(name: str, parent: Path) -> Path:
    if not NAME_RE.match(name):
        raise ScaffoldError(f"pack name {name!r}: use lower case letters and digits, words joined by "
                            "single dashes (e.g. lab9-gru)")
    directory = Path(parent) / name
    if directory.exists():
        raise ScaffoldError(f"{directory} already exists: choose another name or remove it")
    module = name.replace("-", "_")
    title = name.replace("-", " ").title()
    files = {
        "rubric.toml": RUBRIC,
        "checks.py": CHECKS,
        "probes.py": PROBES,
        f"handout/{module}.py": HANDOUT,
        f"solution/{module}.py": SOLUTION,
        f"examples/reference/{module}.py": SOLUTION,
        f"examples/reference/answers.md": ANSWERS,
        f"examples/handout/{module}.py": HANDOUT,
        f"examples/no-bias/{module}.py": SOLUTION.replace(BIAS_LINE, NO_BIAS_LINE),
        f"test_{module}.py": TEST,
    }
    expected = {
        "reference": {"total": 8, "items": {"step": 4, "forward": 4},
                      "why": "the reference solution: every auto point"},
        "handout": {"total": 0, "items": {"step": 0, "forward": 0},
                    "why": "the untouched handout: the TODOs return None"},
        "no-bias": {"total": 2, "items": {"step": 1, "forward": 1},
                    "why": "b left out of the update: right shapes, wrong values"},
    }
    assert BIAS_LINE in SOLUTION
    directory.mkdir(parents=True)
    for relative, text in files.items():
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.replace("@NAME@", name).replace("@MODULE@", module).replace("@TITLE@", title))
    for case, data in expected.items():
        (directory / "examples" / case / "expected.json").write_text(json.dumps(data, indent=1) + "\n")
    return directory


RUBRIC = '''\
# @NAME@: written by `rnngrade pack new`; every key is explained in docs/PACKS.md
id = "@NAME@"
title = "@TITLE@: one vanilla-RNN step, then a whole sequence (numpy)"
total = 10
timeout = 30                       # seconds per submission (the whole run, probes included)
reference = "solution/@MODULE@.py" # relative to this folder; imported in the grader only
warm = ["numpy"]                   # imported once in the sandbox's warm interpreter
memory_mb = 1024

[[units]]
name = "main"
patterns = ["@MODULE@.py", "*.py", "*.ipynb"]
as_main = false                    # imported as a module: the demo under __main__ does not run

[[items]]
id = "step"
name = "rnn_step: h_new = tanh(W h + U x + b)"
points = 4

[[items]]
id = "forward"
name = "rnn_forward: every state of a sequence"
points = 4

[[items]]
id = "question"
name = "Question 1: why the state stays bounded"
points = 2
kind = "manual"
question = "1"                     # the answer is read from answers.md, under "## 1"

[tolerances]
step = { rtol = 1e-6, atol = 1e-8 }
forward = { rtol = 1e-6, atol = 1e-8 }
'''

CHECKS = '''\
"""Checks of @NAME@ (trusted: they run in the grader). Every input is drawn here and every
expected value is computed here; the child only returns what the student's functions
returned on those inputs (probes.py), and the verdicts are decided below."""
from __future__ import annotations

import numpy as np

from grader.checks import compare, failed, item, not_checked, passed

HIDDEN, INPUT, STEPS = 4, 3, 5


def _weights(ctx) -> dict:
    rng = ctx.rng  # seeded per batch: every student gets the same inputs, recorded in results.json
    return {"W": rng.standard_normal((HIDDEN, HIDDEN)), "U": rng.standard_normal((HIDDEN, INPUT)),
            "b": rng.standard_normal(HIDDEN)}


def _step(x, h, W, U, b, *, bias=True, act=np.tanh):
    return act(W @ h + U @ x + (b if bias else 0))


def _mistakes(x, h, W, U, b) -> dict:
    """What the common mistakes compute: compare() names the one the student's value matches."""
    return {"likely mistake: the bias b is missing from the update": _step(x, h, W, U, b, bias=False),
            "likely mistake: no tanh (the state must be squashed into (-1, 1))":
                _step(x, h, W, U, b, act=lambda u: u)}


@item("step", checks={
    "shape": ("rnn_step(x, h, W, U, b) returns the new state, shape (hidden,)", 1),
    "values": ("the new state is tanh(W h + U x + b)", 3),
})
def step(ctx):
    v = _weights(ctx)
    v["x"], v["h"] = ctx.rng.standard_normal(INPUT), ctx.rng.standard_normal(HIDDEN)
    # a student exception here ends the check: the engine shows both keys as
    # "not checked: your code raised ..."
    out = ctx.run("main").probe("h_new = probes.as_array(rnn_step(x, h, W, U, b))", bind=v, want=["h_new"])
    expected = _step(v["x"], v["h"], v["W"], v["U"], v["b"])
    got = out.get("h_new")
    if got is None or np.shape(got) != expected.shape:
        yield failed("shape", expected=f"an array of shape {expected.shape}",
                     observed="None" if got is None else f"shape {np.shape(got)}",
                     hint="rnn_step returned None: write the TODO and return the new state" if got is None
                     else "one value per hidden unit: W @ h + U @ x + b with x and h as 1-D vectors")
        yield not_checked("the state has the wrong shape")
        return
    yield passed("shape", expected=f"shape {expected.shape}", observed=f"shape {np.shape(got)}")
    tol = ctx.tol("step")
    c = compare("the new state", got, expected, rtol=tol["rtol"], atol=tol["atol"], check_dtype=False,
                mistakes=_mistakes(v["x"], v["h"], v["W"], v["U"], v["b"]))
    yield c.verdict("values")


@item("forward", checks={
    "shape": ("rnn_forward(xs, h0, W, U, b) returns every state, shape (T, hidden)", 1),
    "states": ("state t is rnn_step(xs[t], state t-1), from h0", 3),
})
def forward(ctx):
    v = _weights(ctx)
    v["xs"], v["h0"] = ctx.rng.standard_normal((STEPS, INPUT)), np.zeros(HIDDEN)
    out = ctx.run("main").probe("hs = probes.as_array(rnn_forward(xs, h0, W, U, b))", bind=v, want=["hs"])
    expected, no_bias, h, h_nb = [], [], v["h0"], v["h0"]
    for x in v["xs"]:
        h = _step(x, h, v["W"], v["U"], v["b"])
        h_nb = _step(x, h_nb, v["W"], v["U"], v["b"], bias=False)
        expected.append(h)
        no_bias.append(h_nb)
    expected = np.array(expected)
    got = out.get("hs")
    if got is None or np.shape(got) != expected.shape:
        yield failed("shape", expected=f"an array of shape {expected.shape} (one row per time step)",
                     observed="None" if got is None else f"shape {np.shape(got)}",
                     hint="rnn_forward returned None: write the TODO and return the states" if got is None
                     else "one row per time step: keep each new state in a list, return np.stack(states)")
        yield not_checked("the states have the wrong shape")
        return
    yield passed("shape", expected=f"shape {expected.shape}", observed=f"shape {np.shape(got)}")
    tol = ctx.tol("forward")
    yield compare("the states", got, expected, rtol=tol["rtol"], atol=tol["atol"], check_dtype=False,
                  mistakes={"likely mistake: the bias b is missing from the update": np.array(no_bias),
                            "likely mistake: the first row is h0 (start with the state after xs[0])":
                                np.vstack([v["h0"], expected[:-1]])}).verdict("states")
'''

PROBES = '''\
"""Child side of @NAME@: loaded INTO the student's process, where student code can read and
patch it. Raw observation only: conversions of what the student's functions returned; no
expected values, no verdicts (checks.py decides). Bind what it uses when it loads."""
import numpy as _np

_asarray = _np.asarray
_float64 = _np.float64


def as_array(value):
    """A returned state as a float64 array; None when there is none (None, a string, ...)."""
    if value is None or isinstance(value, (str, bytes)):
        return None
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu().numpy()
    try:
        return _asarray(value, dtype=_float64)
    except (TypeError, ValueError):
        return None
'''

HANDOUT = '''\
"""@TITLE@: one step of a vanilla RNN, then a whole sequence, in numpy.

Fill in the two TODOs. Question 1 goes in answers.md, under a heading "## 1".
"""
import numpy as np


def rnn_step(x, h, W, U, b):
    """The next hidden state: tanh(W h + U x + b).

    x: (input,), h: (hidden,), W: (hidden, hidden), U: (hidden, input), b: (hidden,)
    """
    # TODO: compute and return the new hidden state
    return None


def rnn_forward(xs, h0, W, U, b):
    """Every hidden state of the sequence xs (T, input), starting from h0: shape (T, hidden)."""
    # TODO: call rnn_step on each x in xs, keep each new state, return them stacked
    return None


if __name__ == "__main__":
    rng = np.random.default_rng(0)
    W, U, b = rng.standard_normal((4, 4)), rng.standard_normal((4, 3)), rng.standard_normal(4)
    print(rnn_forward(rng.standard_normal((5, 3)), np.zeros(4), W, U, b))
'''

BIAS_LINE = "    return np.tanh(W @ h + U @ x + b)\n"
NO_BIAS_LINE = "    return np.tanh(W @ h + U @ x)  # (example mistake: the bias is left out)\n"

SOLUTION = '''\
"""@TITLE@: the reference solution (imported in the grader; never shown to students)."""
import numpy as np


def rnn_step(x, h, W, U, b):
    """The next hidden state: tanh(W h + U x + b)."""
''' + BIAS_LINE + '''

def rnn_forward(xs, h0, W, U, b):
    """Every hidden state of the sequence xs (T, input), starting from h0: shape (T, hidden)."""
    states, h = [], h0
    for x in xs:
        h = rnn_step(x, h, W, U, b)
        states.append(h)
    return np.stack(states)


if __name__ == "__main__":
    rng = np.random.default_rng(0)
    W, U, b = rng.standard_normal((4, 4)), rng.standard_normal((4, 3)), rng.standard_normal(4)
    print(rnn_forward(rng.standard_normal((5, 3)), np.zeros(4), W, U, b))
'''

ANSWERS = '''\
## 1

tanh maps every pre-activation into (-1, 1), so each component of the state stays bounded
whatever the inputs and the number of steps.
'''

TEST = '''\
"""@NAME@'s own test: the pack validates, and every example submission gets exactly the
scores in its expected.json (run: python -m pytest path/to/this/file -q)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

PACK = "@NAME@"
PACK_DIR = Path(__file__).resolve().parent
EXAMPLES = PACK_DIR / "examples"
CASES = sorted(p.name for p in EXAMPLES.iterdir() if (p / "expected.json").is_file())


@pytest.fixture(scope="module", autouse=True)
def _found_here():
    """Grade this folder's copy of the pack, wherever rnngrade would look first."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RNNGRADE_HOME", str(PACK_DIR.parent.parent))
        from grader.packs import load_pack

        assert load_pack(PACK).spec.dir.resolve() == PACK_DIR
        yield


def test_pack_check_passes(capsys):
    from grader.cli import main

    assert main(["pack", "check", PACK]) == 0
    assert capsys.readouterr().out.startswith(f"ok: {PACK} (")


@pytest.fixture(scope="module")
def results(_found_here):
    from grader.grade import grade_batch

    batch = grade_batch(pack_id=PACK, paths=[EXAMPLES / c for c in CASES], jobs=1, seed=1234, timeout=60)
    assert not batch.failures, batch.failures
    return {r.student: r for r in batch.results}


@pytest.mark.parametrize("case", CASES)
def test_example_gets_expected_scores(results, case):
    expected = json.loads((EXAMPLES / case / "expected.json").read_text())
    result = results[case]
    got = {i.id: i.points for i in result.items}
    details = {i.id: [(c.name, c.observed, c.hint) for c in i.checks if not c.passed] for i in result.items}
    assert {k: got.get(k) for k in expected["items"]} == expected["items"], details
    assert result.auto_score == pytest.approx(expected["total"]), details
'''
