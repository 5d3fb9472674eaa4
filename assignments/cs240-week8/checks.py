"""cs240-week8 checks: numpy char-RNN (q1.py) and torch time-series RNN (q2.py).

Trusted side only. Inputs are drawn here, the student's code runs in the sandbox
through `run.probe`, expected values come from the reference module
(`ctx.reference.q1` / `ctx.reference.q2`). The re-implementations with one deliberate
mistake each (`_forward_variant`, `_backward_variant`, `_predict_variant`) exist only
to name the likely mistake in a failure message (`compare(..., mistakes=...)`); they
never decide a verdict.

Every item declares its sub-checks once, in `@item(..., checks=...)`; the functions
yield verdicts by key. A call into the student's code that raises or hangs makes the
sub-checks it feeds "not checked: <why>", and the independent ones still run.

q1 never imports torch (neither here nor in the child); q2 imports it on first use.

Trust: the helpers that drive the student's code in the child (observe.py) are sent with
each probe, so student code cannot have patched them; they return raw values (what the
student's functions returned, predictions) and every verdict, every MSE and every
comparison is computed here. The engine's `std` probes (loaded before the student's code,
so reachable by it) only read what the student's code claims anyway (the returned
histories and test value) or what the grader cross-checks (the parameter listing picks
the replay's initial weights; a made-up one fails the replay against the grader's own
measurements). q2's training order is fixed per epoch (per validation pass), so the
replay does not depend on how often train() iterates train_loader.
"""
from __future__ import annotations

import ast
import csv
import hashlib
import math
import threading
from pathlib import Path
from typing import Any

import numpy as np

from grader.checks import (StudentRaised, close, compare, exception_text, failed, fmt, item, not_checked,
                           passed)
from grader.outcomes import StudentError

PACK = Path(__file__).resolve().parent
CORPUS = PACK / "corpus.txt"  # Shakespeare, Sonnet 18 (public domain): the fixed q1 corpus
PARAMS = ("Wax", "Waa", "Wya", "ba", "by")
MEMORIES = ("mWax", "mWaa", "mWya", "mba", "mby")
GRADS = ("dWax", "dWaa", "dWya", "dba", "dby")
CLIP = 5.0

# q1 sizes: small enough to read in a message, large enough that a transposed (H, V)
# matrix cannot pass for the right one.
H_FB, V_FB, T_FB, T_CLIP = 5, 7, 6, 20
H_TRAIN, T_TRAIN, LR_TRAIN = 8, 25, 0.1
PREDICT_N = 40
Q1_PROBE_TIMEOUT = 10.0  # seconds per q1 call; the slowest (finite differences) takes ~0.1 s
GRAD_SHAPES = {"dWax": (H_FB, V_FB), "dWaa": (H_FB, H_FB), "dWya": (V_FB, H_FB), "dba": (H_FB, 1), "dby": (V_FB, 1)}

# The observation helpers travel with every probe snippet (compiled fresh in the child after the
# student's code ran), so no student code can have reached or patched them; the q1 part needs
# no torch. The student's names are read from child.ns (the probe has a namespace of its own).
OBSERVE = (PACK / "observe.py").read_text(encoding="utf-8")
OBSERVE_Q1 = OBSERVE.split("# " + "-" * 77 + " q2")[0]


def q1_code(code: str) -> str:
    return (OBSERVE_Q1 + "\n# ---- the probe\nRNN = child.ns.get('RNN')\nDataReader = child.ns.get('DataReader')\n"
            + code)


def q2_code(code: str) -> str:
    return (OBSERVE + "\n# ---- the probe\nRNN = child.ns.get('RNN')\ntrain = child.ns.get('train')\n"
            "test = child.ns.get('test')\n" + code)


# ============================================================================ shared helpers


def _why(exc: StudentRaised) -> str:
    """Why the sub-checks a call into the student's code feeds could not be checked: the
    engine's text for an exception; for a time limit, what it likely means."""
    if exc.error.type == "Timeout" and "not attempted" in exc.error.message:
        return exc.error.message
    return exception_text(exc)


def _method(ctx, unit: str, cls_name: str, name: str) -> ast.FunctionDef | None:
    """The last definition of `cls_name.name` in the student's source (as Python keeps it)."""
    tree = ctx.tree(unit)
    found = None
    for node in ast.walk(tree) if tree is not None else ():
        if isinstance(node, ast.ClassDef) and node.name == cls_name:
            for sub in node.body:
                if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef)) and sub.name == name:
                    found = sub
    return found


def _loop_verdict(ctx, method: str, implemented: bool):
    """No `for`/`while` statement in RNN.<method> (comprehensions are expressions, allowed).
    Only earned once the method computes the right values: an empty TODO has no loop either."""
    fn = _method(ctx, "q1", "RNN", method)
    if fn is None:
        return failed("no_loop", expected=f"a method RNN.{method}", observed="not found")
    loops = sorted(n.lineno for n in ast.walk(fn) if isinstance(n, (ast.For, ast.AsyncFor, ast.While)))
    if loops:
        return failed("no_loop", expected="vectorised numpy (no for/while statement)",
                      observed=f"loop statement at line {', '.join(str(n) for n in loops)}",
                      hint="The task forbids for loops here. Use whole-array numpy operations; "
                           "a list comprehension over the time steps is allowed.")
    if not implemented:
        return not_checked(f"judged once RNN.{method} computes the right values (an unfinished TODO "
                           "has no loop either)", "no_loop")
    return passed("no_loop", expected="no for/while statement", observed="none")


# ============================================================================ q1 reference side


class _Q1Run:
    """The student's q1.py run, with short probe time limits: every q1 call takes well under
    a second, and once one call hangs (an endless loop) the others are not attempted, so a
    hanging submission costs one time limit, not one per probe."""

    def __init__(self, run):
        self.run, self.hung = run, False

    def probe(self, code: str, bind: dict | None = None, want: tuple | list = (), *,
              timeout: float = Q1_PROBE_TIMEOUT) -> dict:
        if self.hung:
            raise StudentRaised(StudentError("Timeout", "not attempted: an earlier call into your q1.py "
                                                        "did not finish within its time limit"))
        try:
            return self.run.probe(q1_code(code), bind=bind, want=want, timeout=timeout)
        except StudentRaised as exc:
            if exc.error.type == "Timeout":
                self.hung = True
            raise


def _q1_run(ctx) -> _Q1Run:
    """One per submission: every q1 item asks for the same run (the corpus file beside the
    student's file), executed once, and shares whether a call already hung."""
    return ctx.once(("cs240-week8", "q1-run"),
                    lambda: _Q1Run(ctx.run("q1", files={"corpus.txt": CORPUS})))  # a Path: the engine copies it


def _ref_rnn(ctx, H: int, V: int, T: int, lr: float, state: dict):
    """The reference RNN set to `state`, built without its constructor (which would draw
    from numpy's global random state in the grader's process)."""
    cls = ctx.reference.q1.RNN
    rnn = cls.__new__(cls)
    rnn.hidden_size, rnn.vocab_size, rnn.seq_length, rnn.learning_rate = H, V, T, lr
    shapes = {"Wax": (H, V), "Waa": (H, H), "Wya": (V, H), "ba": (H, 1), "by": (V, 1)}
    for name in PARAMS:
        setattr(rnn, name, np.array(state[name], dtype=np.float64, copy=True))
        mem = state.get("m" + name)
        setattr(rnn, "m" + name, np.zeros(shapes[name]) if mem is None else np.array(mem, dtype=np.float64))
    return rnn


def _random_params(rng: np.random.Generator, H: int, V: int, scales: dict) -> dict:
    shapes = {"Wax": (H, V), "Waa": (H, H), "Wya": (V, H), "ba": (H, 1), "by": (V, 1)}
    return {name: rng.standard_normal(shape) * scales[name] for name, shape in shapes.items()}


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - np.max(z))
    return e / np.sum(e)


# -- one deliberate mistake each: only to name it in a message ------------------------------

FORWARD_MISTAKES = {
    "Waa transposed": "a[t] uses Waa.T @ a[t-1] (or a[t-1].T @ Waa): Waa is square (H, H), so the "
                      "shapes hide it. The recurrence is a[t] = tanh(Wax @ x[t] + Waa @ a[t-1] + ba).",
    "a_prev ignored": "the first step starts from zeros instead of a_prev: a[-1] = a_prev feeds a[0].",
    "ba missing": "the hidden bias ba is missing from a[t].",
    "by missing": "the output bias by is missing from y_pred[t].",
    "no softmax": "y_pred[t] holds the raw scores Wya @ a[t] + by: apply softmax.",
}

BACKWARD_MISTAKES = {
    "no carried gradient": "truncated BPTT: the gradient from step t+1 never reaches step t. Add "
                           "da_next to da (da = Wya.T @ dy + da_next) and set da_next = Waa.T @ dz "
                           "at the end of each step.",
    "carried through Waa": "da_next = Waa @ dz: the gradient flows back through the transpose, "
                           "da_next = Waa.T @ dz.",
    "dWaa transposed": "dWaa is transposed: dWaa += dz @ a[t-1].T (a square (H, H) matrix, so the "
                       "shape does not catch it).",
    "dWaa with a[t]": "dWaa uses a[t]; the weight Waa multiplies a[t-1], so dWaa += dz @ a[t-1].T.",
    "tanh' = 1 - a": "the tanh derivative is 1 - a[t]**2, not 1 - a[t].",
    "tanh' of tanh": "1 - tanh(a[t])**2 applies tanh twice: a[t] already is tanh(...), use 1 - a[t]**2.",
    "no -1 at target": "dy must be y_pred[t] with 1 subtracted at targets[t] (softmax + cross-entropy).",
    "overwritten": "gradients are overwritten (=) at each step instead of accumulated (+=) over time.",
    "dWya with a[t-1]": "dWya uses a[t-1]; the output at step t reads a[t], so dWya += dy @ a[t].T.",
}

CLIP_HINT = ("Gradients are not clipped to [-5, 5]. Note that np.clip(g, -5, 5) returns a new array: "
             "use np.clip(g, -5, 5, out=g) or reassign the result.")


def _forward_variant(P: dict, inputs: list[int], a_prev: np.ndarray, mistake: str | None = None):
    V = P["Wya"].shape[0]
    x, a, y = {}, {-1: np.zeros_like(a_prev) if mistake == "a_prev ignored" else a_prev.copy()}, {}
    for t, ix in enumerate(inputs):
        x[t] = np.zeros((V, 1))
        x[t][ix] = 1
        Waa = P["Waa"].T if mistake == "Waa transposed" else P["Waa"]
        a[t] = np.tanh(P["Wax"] @ x[t] + Waa @ a[t - 1] + (0 if mistake == "ba missing" else P["ba"]))
        z = P["Wya"] @ a[t] + (0 if mistake == "by missing" else P["by"])
        y[t] = z if mistake == "no softmax" else _softmax(z)
    return x, a, y


def _backward_variant(P: dict, x: dict, a: dict, y: dict, targets: list[int], mistake: str | None = None,
                      clip: bool = True) -> dict:
    g = {"dWax": np.zeros_like(P["Wax"]), "dWaa": np.zeros_like(P["Waa"]), "dWya": np.zeros_like(P["Wya"]),
         "dba": np.zeros_like(P["ba"]), "dby": np.zeros_like(P["by"])}
    da_next = np.zeros_like(a[0])
    for t in reversed(range(len(targets))):
        dy = np.copy(y[t])
        if mistake != "no -1 at target":
            dy[targets[t]] -= 1
        a_out = a[t - 1] if mistake == "dWya with a[t-1]" else a[t]
        da = P["Wya"].T @ dy + (0 if mistake == "no carried gradient" else da_next)
        deriv = {"tanh' = 1 - a": 1 - a[t], "tanh' of tanh": 1 - np.tanh(a[t]) ** 2}.get(mistake, 1 - a[t] ** 2)
        dz = deriv * da
        a_in = a[t] if mistake == "dWaa with a[t]" else a[t - 1]
        step = {"dWya": dy @ a_out.T, "dby": dy, "dba": dz, "dWax": dz @ x[t].T,
                "dWaa": (a_in @ dz.T) if mistake == "dWaa transposed" else dz @ a_in.T}
        for name, value in step.items():
            g[name] = value.copy() if mistake == "overwritten" else g[name] + value
        da_next = (P["Waa"] if mistake == "carried through Waa" else P["Waa"].T) @ dz
    if clip:
        g = {name: np.clip(value, -CLIP, CLIP) for name, value in g.items()}
    return g


# ============================================================================ softmax / loss

OVERFLOW_HINT = ("exp(1000) overflows to inf and inf/inf is nan: subtract np.max(x) from x before "
                 "exponentiating (the result is mathematically the same).")


@item("softmax", checks={
    "values": ("softmax(x) equals the reference on random x of shape (V, 1)", 5),
    "stable": ("softmax stays finite and right for scores near 1e3", 3),
    "no_loop": ("no for/while statement in RNN.softmax", 2),
})
def softmax(ctx):
    tol = ctx.tol("softmax")
    rtol, atol = tol["rtol"], tol["atol"]
    run = _q1_run(ctx)
    rng = ctx.rng  # one generator per item: each ctx.rng is a fresh one with the same seed
    x = rng.standard_normal((V_FB, 1)) * 3  # (V, 1) scores
    big = 1000.0 + rng.standard_normal((V_FB, 1)) * 3  # exp(1000) overflows to inf
    ref = ctx.reference.q1.RNN.softmax(None, x)
    ref_big = ctx.reference.q1.RNN.softmax(None, big)
    code = "rnn = make_rnn(RNN, H, V, T)\nout = rnn.softmax(z.copy())"
    bind = {"H": H_FB, "V": V_FB, "T": T_FB}

    right = False
    try:
        out = run.probe(code, bind=dict(bind, z=x), want=["out"]).get("out")
        values = compare("softmax(x)", out, ref, rtol=rtol, atol=atol, mistakes={
            "You returned exp(x) without dividing by the sum.": np.exp(x),
            "You returned exp(x - max(x)) without dividing by the sum.": np.exp(x - x.max()),
        }, hints={"missing": "softmax returned None: the TODO still needs its return statement."})
        right = values.ok
        yield values.verdict("values")
    except StudentRaised as exc:
        yield not_checked(_why(exc), "values")

    try:
        out = run.probe(code, bind=dict(bind, z=big), want=["out"]).get("out")
        yield compare("softmax(x)", out, ref_big, rtol=rtol, atol=atol,
                      hints={"finite": OVERFLOW_HINT}).verdict("stable")
    except StudentRaised as exc:
        yield not_checked(_why(exc), "stable")

    yield _loop_verdict(ctx, "softmax", right)


@item("loss", checks={
    "values": ("loss(y_pred, targets) equals the summed cross-entropy", 3),
    "no_loop": ("no for/while statement in RNN.loss", 2),
})
def loss(ctx):
    tol = ctx.tol("loss")
    run = _q1_run(ctx)
    T = T_FB
    rng = ctx.rng  # one generator per item: each ctx.rng is a fresh one with the same seed
    y_pred = {t: _softmax(rng.standard_normal((V_FB, 1)) * 2) for t in range(T)}  # (V, 1) each
    targets = [int(k) for k in rng.integers(0, V_FB, T)]
    ref = ctx.reference.q1.RNN.loss(None, y_pred, targets)
    right = False
    try:
        out = run.probe("rnn = make_rnn(RNN, H, V, T)\nout = rnn.loss(y_pred, targets)",
                        bind={"H": H_FB, "V": V_FB, "T": T, "y_pred": y_pred, "targets": targets},
                        want=["out"]).get("out")
    except StudentRaised as exc:
        yield not_checked(_why(exc), "values")
    else:
        value = _as_scalar(out)
        if value is None:
            yield failed("values", expected=f"a number close to {ref:.6f}",
                         observed=f"{type(out).__name__}: {str(out)[:80]}",
                         hint="loss returned None: the TODO still needs its return statement." if out is None
                         else "loss must return a single number (the sum over time steps).")
        else:
            values = compare("loss", value, ref, rtol=tol["rtol"], atol=tol["atol"], mistakes={
                "You averaged over the time steps; the task asks for the sum.": ref / T,
                "The sign is flipped: the loss is MINUS the sum of log-probabilities.": -ref,
                "You summed the log of every probability; pick only the probability of the true next "
                "character, y_pred[t][targets[t]].": -sum(float(np.sum(np.log(p))) for p in y_pred.values()),
                "Only the last time step is counted.": -float(np.log(y_pred[T - 1][targets[T - 1], 0])),
            })
            right = values.ok
            yield values.verdict("values")
    yield _loop_verdict(ctx, "loss", right)


def _as_scalar(value: Any) -> float | None:
    """A number, a numpy scalar or a one-element array as a float; None otherwise."""
    if value is None or isinstance(value, (str, bool)):
        return None
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return float(arr.reshape(-1)[0]) if arr.size == 1 else None


# ============================================================================ forward-backward


def _fb_case(rng: np.random.Generator, T: int, scales: dict, *, want_clipping: bool):
    """Random weights and a sequence. want_clipping=False: every exact gradient is inside
    [-5, 5], so the values test the BPTT arithmetic alone (and finite differences apply);
    True: a long sequence of one repeated target drives dby (and more) beyond 5."""
    for _ in range(50):
        P = _random_params(rng, H_FB, V_FB, scales)
        inputs = [int(k) for k in rng.integers(0, V_FB, T)]
        if want_clipping:
            targets = [int(rng.integers(0, V_FB))] * T
        else:
            targets = inputs[1:] + [int(rng.integers(0, V_FB))]
        a_prev = np.tanh(rng.standard_normal((H_FB, 1)))  # (H, 1), not zeros: a[-1] must be used
        x, a, y = _forward_variant(P, inputs, a_prev)
        exact = _backward_variant(P, x, a, y, targets, clip=False)
        biggest = max(float(np.max(np.abs(g))) for g in exact.values())
        if (biggest > 2 * CLIP) if want_clipping else (biggest < 0.9 * CLIP):
            return P, inputs, targets, a_prev
        scales = {k: v * (1.3 if want_clipping else 0.7) for k, v in scales.items()}
    raise RuntimeError("could not draw a forward-backward case")  # not reached with these scales


@item("forward-backward", checks={
    "states": ("forward: one-hot x[t] and hidden states a[t] (a[-1] = a_prev)", 4),
    "probs": ("forward: probabilities y_pred[t] = softmax(Wya a[t] + by)", 3),
    **{g: (f"backward: {g} ({'x'.join(map(str, shape))})", 2) for g, shape in GRAD_SHAPES.items()},
    "unchanged": ("backward leaves y_pred unchanged (it is used again after backward)", 2),
    "clipping": ("backward clips every gradient to [-5, 5]", 4),
    "fd": ("backward agrees with finite differences of your own forward", 2),
})
def forward_backward(ctx):
    tol = ctx.tol("forward-backward")
    rtol, atol = tol["rtol"], tol["atol"]
    run = _q1_run(ctx)
    rng = ctx.rng  # one generator per item: each ctx.rng is a fresh one with the same seed
    P, inputs, targets, a_prev = _fb_case(
        rng, T_FB, {"Wax": 0.5, "Waa": 0.5, "Wya": 0.5, "ba": 0.2, "by": 0.2}, want_clipping=False)
    ref = _ref_rnn(ctx, H_FB, V_FB, T_FB, 0.1, P)
    rx, ra, ry = ref.forward(inputs, a_prev)
    ref_grads = dict(zip(GRADS, ref.backward(rx, ra, ry, targets)))
    bind = {"H": H_FB, "V": V_FB, "T": T_FB, "state": P, "inputs": inputs, "targets": targets,
            "a_prev": a_prev}

    yield from _forward_verdicts(run, bind, P, inputs, a_prev, (rx, ra, ry), rtol, atol)
    yield from _gradient_verdicts(run, dict(bind, fx=rx, fa=ra, fy=ry), P, (rx, ra, ry), targets,
                                  ref_grads, rtol, atol)
    yield _clipping_verdict(ctx, rng, run, rtol, atol)
    yield _finite_difference_verdict(run, bind, tol["fd_rtol"], tol["fd_atol"])


def _steps_problem(obj: Any, keys: range, rows: int, what: str) -> str | None:
    """Why `obj` is not a dict of (rows, 1) arrays keyed by `keys`, or None."""
    if not isinstance(obj, dict):
        return f"{what} is a {type(obj).__name__}, expected a dict keyed by time step"
    for t in keys:
        if t not in obj:
            return f"{what} has no entry for t = {t} (keys {sorted(map(repr, obj))[:8]})"
        value = obj[t]
        if not isinstance(value, np.ndarray):
            return f"{what}[{t}] is a {type(value).__name__}, expected an array"
        if value.shape != (rows, 1):
            return f"{what}[{t}] has shape {value.shape}, expected ({rows}, 1)"
    return None


def _first_step_mismatch(obs: dict, exp: dict, keys: range, rtol: float, atol: float) -> int | None:
    return next((t for t in keys if not close(obs[t], exp[t], rtol=rtol, atol=atol)), None)


def _forward_verdicts(run, bind, P, inputs, a_prev, ref_out, rtol, atol):
    rx, ra, ry = ref_out
    T = len(inputs)
    try:
        out = run.probe("rnn = make_rnn(RNN, H, V, T, 0.1, state)\n"
                        "out = rnn.forward(list(inputs), a_prev.copy())", bind=bind, want=["out"]).get("out")
    except StudentRaised as exc:
        yield not_checked(_why(exc), "states", "probs")
        return
    if not isinstance(out, list) or len(out) != 3:
        observed = "None" if out is None else f"{type(out).__name__}"
        for key in ("states", "probs"):
            yield failed(key, expected="a tuple (x, a, y_pred) of dicts", observed=observed,
                         hint="forward must return x, a, y_pred" if out is None else None)
        return
    fx, fa, fy = out
    variants = {m: _forward_variant(P, inputs, a_prev, m) for m in FORWARD_MISTAKES}  # (x, a, y) each

    problem = _steps_problem(fx, range(T), V_FB, "x") or _steps_problem(fa, range(-1, T), H_FB, "a")
    if problem is None:
        bad_x = _first_step_mismatch(fx, rx, range(T), 0, 0)
        bad_a = _first_step_mismatch(fa, ra, range(-1, T), rtol, atol)
        if bad_x is not None:
            problem = (f"x[{bad_x}] (the first step that differs) is\n{fmt(fx[bad_x])}\n"
                       f"expected the one-hot\n{fmt(rx[bad_x])}")
        elif bad_a is not None:
            problem = f"a[{bad_a}] (the first step that differs) is\n{fmt(fa[bad_a])}\nexpected\n{fmt(ra[bad_a])}"
    states_ok = problem is None
    if states_ok:
        yield passed("states", expected=f"{T} one-hot inputs and states", observed="equal")
    else:
        yield failed("states", expected="x[t] one-hot (V, 1); a[t] = tanh(Wax x[t] + Waa a[t-1] + ba)",
                     observed=problem,
                     hint=_which_variant(fa, ra, {m: v[1] for m, v in variants.items()}, range(-1, T), rtol, atol))

    problem = _steps_problem(fy, range(T), V_FB, "y_pred")
    if problem is None:
        bad = _first_step_mismatch(fy, ry, range(T), rtol, atol)
        if bad is not None:
            problem = f"y_pred[{bad}] (the first step that differs) is\n{fmt(fy[bad])}\nexpected\n{fmt(ry[bad])}"
    if problem is None:
        yield passed("probs", expected=f"{T} probability columns", observed="equal")
    else:
        hint = _which_variant(fy, ry, {m: v[2] for m, v in variants.items()}, range(T), rtol, atol)
        if hint is None and not states_ok:
            hint = "y_pred depends on a[t]: fix the hidden states first."
        yield failed("probs", expected="softmax(Wya @ a[t] + by), shape (V, 1)", observed=problem, hint=hint)


def _which_variant(obs: Any, ref: dict, variants: dict, keys: range, rtol, atol) -> str | None:
    """The hint of the one-mistake forward whose output matches the student's, if any (the
    outputs are dicts keyed by time step, compared on `keys`)."""
    if not isinstance(obs, dict) or any(t not in obs for t in keys):
        return None

    def steps(d: dict) -> dict:
        return {t: d[t] for t in keys}

    return compare("forward output", steps(obs), steps(ref), rtol=rtol, atol=atol,
                   mistakes={f"Likely mistake: {FORWARD_MISTAKES[m]}": steps(out) for m, out in variants.items()}).hint


def _gradient_verdicts(run, bind, P, ref_out, targets, ref_grads, rtol, atol):
    """The five gradients, from the reference's forward outputs (so a forward mistake is
    not charged here again), on weights where no exact gradient reaches the clip; and y_pred
    as backward left it."""
    try:
        got = run.probe("rnn = make_rnn(RNN, H, V, T, 0.1, state)\n"
                        "out = rnn.backward(fx, fa, fy, list(targets))\n"
                        "after = fy", bind=bind, want=["out", "after"])
    except StudentRaised as exc:
        yield not_checked(_why(exc), *GRADS, "unchanged")
        return
    out = got.get("out")
    rx, ra, ry = ref_out
    if not isinstance(out, list) or len(out) != 5:
        observed = "None" if out is None else \
            f"{type(out).__name__} of length {len(out) if hasattr(out, '__len__') else '?'}"
        for grad in GRADS:
            yield failed(grad, expected="a tuple (dWax, dWaa, dWya, dba, dby)", observed=observed)
    else:
        variants = {m: _backward_variant(P, rx, ra, ry, targets, m) for m in BACKWARD_MISTAKES}
        for grad, obs in zip(GRADS, out):
            mistakes = {f"Likely mistake: {BACKWARD_MISTAKES[m]}": g[grad] for m, g in variants.items()}
            mistakes.update({f"This is {other}: return the gradients in the order (dWax, dWaa, dWya, dba, dby).":
                             ref_grads[other] for other in GRADS if other != grad})
            mistakes["All zeros: the gradient is never accumulated."] = np.zeros_like(ref_grads[grad])
            yield compare(grad, obs, ref_grads[grad], rtol=rtol, atol=atol, mistakes=mistakes,
                          hints={"missing": "None returned for this gradient."}).verdict(grad)
    yield _unchanged_verdict(got.get("after"), ry, len(targets))


def _unchanged_verdict(after: Any, ry: dict, T: int):
    """y_pred as the grader passed it to backward, read back after the call: the given train()
    computes the loss from y_pred AFTER backward, so an in-place `dy = y_pred[t]; dy[k] -= 1`
    turns its loss into nan."""
    expected = "y_pred[t] as forward returned it, for every t"
    if not isinstance(after, dict) or any(t not in after for t in range(T)):
        return failed("unchanged", expected=expected, observed=f"y_pred is now {type(after).__name__}",
                      hint="backward must not replace or empty the y_pred dict it is given.")
    changed = [t for t in range(T) if not (isinstance(after[t], np.ndarray) and after[t].shape == ry[t].shape
                                           and np.array_equal(after[t], ry[t]))]
    if not changed:
        return passed("unchanged", expected=expected, observed="unchanged")
    t = changed[0]
    return failed("unchanged", expected=expected,
                  observed=f"backward changed y_pred in place at {len(changed)} of {T} steps "
                           f"(y_pred[{t}] is now\n{fmt(after[t])}\nwas\n{fmt(ry[t])})",
                  hint="Take a copy before subtracting 1 at the target, as the handout says: "
                       "dy = np.copy(y_pred[t]) (not dy = y_pred[t], which is the same array). "
                       "The gradients are right, but the given train() computes the loss from "
                       "y_pred after backward and gets nan.")


def _clipping_verdict(ctx, rng, run, rtol, atol):
    """A long sequence with one repeated target: several exact gradients exceed 5."""
    P, inputs, targets, a_prev = _fb_case(
        rng, T_CLIP, {"Wax": 1.0, "Waa": 0.8, "Wya": 1.5, "ba": 0.5, "by": 1.0}, want_clipping=True)
    ref = _ref_rnn(ctx, H_FB, V_FB, T_CLIP, 0.1, P)
    rx, ra, ry = ref.forward(inputs, a_prev)
    ref_grads = dict(zip(GRADS, ref.backward(rx, ra, ry, targets)))
    try:
        out = run.probe("rnn = make_rnn(RNN, H, V, T, 0.1, state)\n"
                        "out = rnn.backward(fx, fa, fy, list(targets))",
                        bind={"H": H_FB, "V": V_FB, "T": T_CLIP, "state": P, "targets": targets,
                              "fx": rx, "fa": ra, "fy": ry}, want=["out"]).get("out")
    except StudentRaised as exc:
        return not_checked(_why(exc), "clipping")
    clipped = ", ".join(g for g in GRADS if np.any(np.abs(ref_grads[g]) >= CLIP))
    expected = f"clipped gradients ({clipped} reach +-5 on this sequence of {T_CLIP} steps)"
    if not isinstance(out, list) or len(out) != 5:
        return failed("clipping", expected=expected, observed=f"{type(out).__name__}")
    observed = dict(zip(GRADS, out))
    wrong = [g for g in GRADS if not close(observed[g], ref_grads[g], rtol=rtol, atol=atol)]
    if not wrong:
        return passed("clipping", expected=expected, observed="equal")
    biggest = max((float(np.max(np.abs(np.asarray(o, dtype=float)))) for o in out
                   if isinstance(o, np.ndarray) and o.size), default=float("nan"))
    # the likely mistakes, first match wins: no clipping alone, then a BPTT mistake with or
    # without clipping (each variant: all five gradients as that mistake computes them)
    mistakes = {CLIP_HINT: _backward_variant(P, rx, ra, ry, targets, None, clip=False)}
    for mistake, why in BACKWARD_MISTAKES.items():
        mistakes[f"{CLIP_HINT} And: {why}"] = _backward_variant(P, rx, ra, ry, targets, mistake, clip=False)
        mistakes[f"Clipping is right; the values differ for another reason: {why}"] = \
            _backward_variant(P, rx, ra, ry, targets, mistake, clip=True)
    hint = compare("gradients", observed, ref_grads, rtol=rtol, atol=atol, mistakes=mistakes).hint
    if hint is None and biggest > CLIP + 1e-9:
        hint = CLIP_HINT
    return failed("clipping", expected=expected,
                  observed=f"{', '.join(wrong)} differ; largest |entry| returned: {biggest:.3g}", hint=hint)


def _finite_difference_verdict(run, bind, fd_rtol, fd_atol):
    """The student's backward against central differences of the cross-entropy of the
    student's own forward: consistent math even where the reference is not the judge."""
    try:
        out = run.probe(
            "rnn = make_rnn(RNN, H, V, T, 0.1, state)\n"
            "own = rnn.forward(list(inputs), a_prev.copy())\n"
            "grads = rnn.backward(own[0], own[1], own[2], list(targets))\n"
            "numeric = numeric_gradients(rnn, inputs, a_prev, targets)",
            bind=bind, want=["grads", "numeric"], timeout=3 * Q1_PROBE_TIMEOUT)
    except StudentRaised as exc:
        return not_checked(_why(exc), "fd")
    grads, numeric = out.get("grads"), out.get("numeric")
    expected = "analytic = numeric (central differences, eps 1e-5)"
    if not isinstance(grads, list) or len(grads) != 5 or not isinstance(numeric, dict):
        return failed("fd", expected="five gradients", observed=f"{type(grads).__name__}")
    wrong = []
    for g, obs in zip(GRADS, grads):
        num = numeric[g[1:]]
        if not close(obs, num, rtol=fd_rtol, atol=fd_atol):
            diff = np.max(np.abs(np.asarray(obs, dtype=float) - num)) if np.shape(obs) == num.shape else None
            wrong.append(f"{g}" + (f" (max |diff| {diff:.3g})" if diff is not None else " (shape)"))
    if not wrong:
        return passed("fd", expected=expected, observed="equal")
    return failed("fd", expected=expected, observed="differ: " + ", ".join(wrong),
                  hint="Your backward is not the derivative of your forward for these gradients. "
                       "If forward is right, the mistake is in backward (see the checks above).")


# ============================================================================ predict


def _training_case(ctx) -> dict:
    """Grader-set parameters, the fixed corpus, and the reference's trajectory of the given
    train() loop for `steps` iterations: (state before, inputs, targets, a_prev, state after)."""
    tol = ctx.tol("predict")

    def build() -> dict:
        rng = np.random.default_rng([ctx.seed, 240_8])
        reader = ctx.reference.q1.DataReader(str(CORPUS), T_TRAIN)
        V = reader.vocab_size
        # Large weights: confident, mostly wrong predictions, so some gradients pass 5 and
        # the clipping of the student's backward is exercised from the first step.
        state = _random_params(rng, H_TRAIN, V, {"Wax": 1.0, "Waa": 0.5, "Wya": 2.0, "ba": 0.3, "by": 1.0})
        for name in PARAMS:  # nonzero Adagrad memories: the update then depends on |g|, not sign(g)
            state["m" + name] = rng.uniform(1.0, 10.0, state[name].shape)
        steps, a_prev, clipped = [], np.zeros((H_TRAIN, 1)), 0
        for _ in range(int(tol["steps"])):
            if reader.just_started():
                a_prev = np.zeros((H_TRAIN, 1))
            inputs, targets = reader.next_batch()
            rnn = _ref_rnn(ctx, H_TRAIN, V, T_TRAIN, LR_TRAIN, state)
            x, a, y = rnn.forward(inputs, a_prev)
            exact = _backward_variant(state, x, a, y, targets, clip=False)
            clipped += any(np.any(np.abs(g) > CLIP) for g in exact.values())
            rnn.update_model(*rnn.backward(x, a, y, targets))
            after = {name: getattr(rnn, name).copy() for name in PARAMS + MEMORIES}
            steps.append({"before": state, "inputs": inputs, "targets": targets, "a_prev": a_prev,
                          "after": after})
            state, a_prev = after, a[T_TRAIN - 1]
        chars = [reader.ix_to_char[i] for i in range(V)]
        # predict: moderate weights, so the next-character distribution is spread out and
        # sampling differs from argmax
        pstate = _random_params(rng, H_TRAIN, V, {"Wax": 0.5, "Waa": 0.3, "Wya": 0.6, "ba": 0.1, "by": 0.1})
        words = [w for w in reader.data.split() if w.isalpha() and len(w) > 3]
        start = words[int(rng.integers(len(words)))]
        return {"V": V, "steps": steps, "clipped_steps": clipped, "chars": chars, "reader": reader,
                "pstate": pstate, "start": start, "seed": int(rng.integers(2**31))}

    return ctx.memo(("cs240-week8", "training-case"), build)


@item("predict", checks={
    "steps": ("training steps (forward, backward, clipping, Adagrad) from the reference's state", 18),
    "predict": ("predict(start, n) under np.random.seed gives the reference's text", 12),
})
def predict(ctx):
    tol = ctx.tol("predict")
    case = _training_case(ctx)
    run = _q1_run(ctx)
    yield _steps_verdict(run, case, tol["rtol"], tol["atol"])
    yield _predict_verdict(ctx, run, case)


def _steps_verdict(run, case: dict, rtol: float, atol: float):
    n = len(case["steps"])
    expected = (f"after each of {n} steps, parameters and Adagrad memories equal the reference's "
                f"(seq_length {T_TRAIN}, hidden {H_TRAIN}, clipping active in {case['clipped_steps']} of {n})")
    V = case["V"]
    for k, step in enumerate(case["steps"]):
        bind = {"H": H_TRAIN, "V": V, "T": T_TRAIN, "LR": LR_TRAIN, "state": step["before"],
                "inputs": step["inputs"], "targets": step["targets"], "a_prev": step["a_prev"]}
        try:
            after = run.probe("rnn = make_rnn(RNN, H, V, T, LR, state)\n"
                              "after = training_step(rnn, inputs, targets, a_prev)",
                              bind=bind, want=["after"]).get("after")
        except StudentRaised as exc:
            return not_checked(f"step {k + 1} of {n}: {_why(exc)}", "steps")
        wrong = [p for p in PARAMS + MEMORIES
                 if not isinstance(after, dict) or not close(after.get(p), step["after"][p], rtol=rtol, atol=atol)]
        if wrong:
            return failed("steps", expected=expected,
                          observed=f"step {k + 1} of {n}: {', '.join(wrong)} differ from the reference",
                          hint=_step_hint(step, after, rtol, atol))
    return passed("steps", expected=expected, observed=f"all {n} steps equal")


def _step_hint(step: dict, after: Any, rtol: float, atol: float) -> str:
    """Replays the step with each one-mistake variant to name the likely culprit."""
    P, inputs, targets = step["before"], step["inputs"], step["targets"]
    candidates = [(f, None, True) for f in FORWARD_MISTAKES] + [(None, b, True) for b in BACKWARD_MISTAKES]
    candidates += [(None, None, False)] + [(None, b, False) for b in BACKWARD_MISTAKES]
    mistakes = {}
    for fwd, bwd, clip in candidates:
        x, a, y = _forward_variant(P, inputs, step["a_prev"], fwd)
        grads = _backward_variant(P, x, a, y, targets, bwd, clip=clip)
        state = {k: np.array(v, dtype=np.float64, copy=True) for k, v in P.items()}
        for name in PARAMS:
            g = grads["d" + name]
            state["m" + name] += g * g
            state[name] += -LR_TRAIN * g / np.sqrt(state["m" + name] + 1e-8)
        parts = [FORWARD_MISTAKES.get(fwd), BACKWARD_MISTAKES.get(bwd), None if clip else CLIP_HINT]
        mistakes["Likely mistake: " + " ".join(p for p in parts if p)] = state
    observed = {p: after.get(p) for p in PARAMS + MEMORIES} if isinstance(after, dict) else after
    return compare("state", observed, step["after"], rtol=rtol, atol=atol, mistakes=mistakes).hint or (
        "A training step is forward, backward (with clipping) and the given update_model; "
        "the forward-backward item above shows which part differs.")



def _reference_predict(ctx, case: dict, mistake: str | None = None) -> str:
    rnn = _ref_rnn(ctx, H_TRAIN, case["V"], T_TRAIN, LR_TRAIN, case["pstate"])
    saved = np.random.get_state()  # the reference samples with numpy's global generator
    try:
        np.random.seed(case["seed"])
        if mistake is None:
            return rnn.predict(case["reader"], case["start"], PREDICT_N)
        return _predict_variant(rnn, case["reader"], case["start"], PREDICT_N, mistake)
    finally:
        np.random.set_state(saved)


PREDICT_MISTAKES = {
    "argmax": "You took the most likely character (argmax); predict must SAMPLE with "
              "np.random.choice(range(vocab_size), p=probs.ravel()).",
    "no prompt": "The returned text must start with `start`, followed by the n sampled characters.",
    "multi-hot prompt": "All characters of `start` were put into ONE input vector; feed them one at a "
                        "time, updating the hidden state after each.",
    "last prompt char": "Only the last character of `start` was fed; feed every character in order.",
    "no feedback": "The sampled character is not fed back in as the next input.",
}


def _predict_variant(rnn, reader, start: str, n: int, mistake: str) -> str:
    H, V = rnn.hidden_size, rnn.vocab_size

    def one_hot(ix):
        x = np.zeros((V, 1))
        x[ix] = 1
        return x

    a = np.zeros((H, 1))
    if mistake == "multi-hot prompt":
        x = np.zeros((V, 1))
        for ch in start:
            x[reader.char_to_ix[ch]] = 1
        a = np.tanh(rnn.Wax @ x + rnn.Waa @ a + rnn.ba)
    else:
        for ch in (start[-1:] if mistake == "last prompt char" else start):
            a = np.tanh(rnn.Wax @ one_hot(reader.char_to_ix[ch]) + rnn.Waa @ a + rnn.ba)
    x_last = one_hot(reader.char_to_ix[start[-1]])
    ixes = []
    for _ in range(n):
        p = _softmax(rnn.Wya @ a + rnn.by)
        ix = int(np.argmax(p)) if mistake == "argmax" else np.random.choice(range(V), p=p.ravel())
        ixes.append(ix)
        x = x_last if mistake == "no feedback" else one_hot(ix)
        a = np.tanh(rnn.Wax @ x + rnn.Waa @ a + rnn.ba)
    text = "".join(reader.ix_to_char[i] for i in ixes)
    return text if mistake == "no prompt" else start + text


def _predict_verdict(ctx, run, case: dict):
    ref = _reference_predict(ctx, case)
    expected = f"{ref!r} (start={case['start']!r}, n={PREDICT_N}, np.random.seed({case['seed']}))"
    try:
        out = run.probe("dr = DataReader('corpus.txt', T)\n"
                        "chars = [dr.ix_to_char[i] for i in range(dr.vocab_size)]\n"
                        "rnn = make_rnn(RNN, H, V, T, LR, state)\n"
                        "np.random.seed(seed)\n"
                        "text = rnn.predict(dr, start, n)",
                        bind={"H": H_TRAIN, "V": case["V"], "T": T_TRAIN, "LR": LR_TRAIN,
                              "state": case["pstate"], "seed": case["seed"], "start": case["start"],
                              "n": PREDICT_N}, want=["chars", "text"])
    except StudentRaised as exc:
        return not_checked(_why(exc), "predict")
    text = out.get("text")
    if out.get("chars") != case["chars"]:
        return failed("predict", expected=expected, observed=repr(text),
                      hint="Your DataReader numbers the characters differently from the given "
                           "code (sorted(set(data))); restore the given DataReader.")
    if text == ref:
        return passed("predict", expected=expected, observed=repr(text))
    hint = compare("predict", text, ref, hints={"missing": "predict returned None: return start followed by the "
                                                           "sampled characters."},
                   mistakes={f"Likely mistake: {why}": _reference_predict(ctx, case, mistake)
                             for mistake, why in PREDICT_MISTAKES.items()}).hint
    if hint is None and not isinstance(text, str) and text is not None:
        hint = f"predict must return a str, not {type(text).__name__}."
    elif hint is None and isinstance(text, str) and len(text) != len(ref):
        hint = f"Expected len(start) + n = {len(ref)} characters, got {len(text)}."
    return failed("predict", expected=expected, observed=repr(text)[:200], hint=hint)



# ============================================================================ q2 data


def synthetic_prices(n: int = 2052, seed: int = 240) -> np.ndarray:
    """The documented stand-in for the BTCUSDT file when no data directory provides it:
    n daily opening prices, oldest first (the shape of Binance_BTCUSDT_d.csv, 2017-08-17 to
    2023-03-30). Log-price = a trend from 4,300 to 28,000 USDT (BTC's first and last opens
    in that file) + a boom-and-bust cycle of 1,400 days (amplitude 0.6) + AR(1) noise
    (coefficient 0.99, daily shocks of standard deviation 0.04, BTC's daily volatility).
    Seeded: the same series everywhere (range about 3,200 to 100,000)."""
    rng = np.random.default_rng(seed)
    days = np.arange(n)
    trend = np.log(4300.0) + np.log(28000.0 / 4300.0) * days / (n - 1) + 0.6 * np.sin(2 * np.pi * days / 1400)
    shocks = 0.04 * rng.standard_normal(n)
    noise = np.zeros(n)
    for t in range(1, n):
        noise[t] = 0.99 * noise[t - 1] + shocks[t]
    return np.exp(trend + noise)


def _read_opening_prices(path: Path) -> np.ndarray:
    with open(path, newline="") as fp:
        next(fp)  # the CryptoDataDownload source line
        prices = [float(row["Open"]) for row in csv.DictReader(fp)]
    return np.array(prices[::-1], dtype=np.float64)  # the file is newest first


def _q2_data(ctx) -> dict:
    """Windows of normalised opening prices and their next value, split in time order:
    train first, then validation, then test (each of those two a whole number of batches,
    so that the mean of batch means and the mean over samples are the same number)."""
    tol = ctx.tol("training-loop")

    def build() -> dict:
        path = Path(ctx.data_dir) / "btc" / "Binance_BTCUSDT_d.csv" if ctx.data_dir else None
        if path is not None and path.is_file():
            prices, source = _read_opening_prices(path), f"BTCUSDT daily opening prices ({path.name})"
        else:
            prices, source = synthetic_prices(), "synthetic BTC-like prices (no btc/Binance_BTCUSDT_d.csv)"
        data = (2 * (prices - prices.min()) / (prices.max() - prices.min()) - 1).astype(np.float32)
        L, B = int(tol["seq_length"]), int(tol["batch_size"])
        X = np.stack([data[i:i + L] for i in range(len(data) - L)])[..., None]  # (N, L, 1)
        y = data[L:, None].copy()  # (N, 1)
        n_val, n_test = int(tol["val_batches"]) * B, int(tol["test_batches"]) * B
        n_train = len(X) - n_val - n_test
        return {"source": f"{source}: {len(prices)} prices, {n_train} training / {n_val} validation / "
                          f"{n_test} test windows of {L}",
                "train": (X[:n_train], y[:n_train]), "val": (X[n_train:n_train + n_val], y[n_train:n_train + n_val]),
                "test": (X[n_train + n_val:], y[n_train + n_val:])}

    return ctx.memo(("cs240-week8", "q2-data"), build)


def _torch_threads_one():
    """Replays use one intra-op thread, as the sandbox does: same reduction order, same bits."""
    import contextlib

    import torch

    @contextlib.contextmanager
    def one():
        before = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            yield
        finally:
            torch.set_num_threads(before)

    return one()


_TORCH_SEED_LOCK = threading.Lock()  # torch's global generator is shared by the batch's threads


def _reference_model(ctx, seed: int):
    import torch

    tol = ctx.tol("training-loop")
    with _TORCH_SEED_LOCK:
        torch.manual_seed(seed)
        return ctx.reference.q2.RNN(1, int(tol["hidden_size"]), int(tol["num_layers"]), 1)


def _grader_observe():
    """observe.py executed in the grader (with its own np and torch): the replay builds the
    very loaders the student's train() got."""
    import torch

    ns = {"np": np, "torch": torch, "__name__": "cs240_observe"}
    exec(compile(OBSERVE, str(PACK / "observe.py"), "exec"), ns)
    return ns


def _reference_history(ctx, data: dict, seed: int, init: list | None) -> list[float]:
    """The reference's train() from the reference model built under `seed`, or, given
    `init`, from those initial weights (a [(name, array)] list in the reference's order),
    on the same loaders as the student's (training order fixed per epoch)."""
    import torch

    tol = ctx.tol("training-loop")
    q2 = ctx.reference.q2
    B = int(tol["batch_size"])
    obs = ctx.memo(("cs240-week8", "observe"), _grader_observe)
    with _torch_threads_one():
        model = _reference_model(ctx, seed)
        if init is not None:
            with torch.no_grad():
                for p, (_, value) in zip(model.parameters(), init):
                    p.copy_(torch.from_numpy(np.asarray(value)))
        train_loader, val_loader = obs["loaders"](*data["train"], *data["val"], B, seed)
        _, val_hist = q2.train(model, train_loader, val_loader, int(tol["epochs"]), float(tol["learning_rate"]))
    return [float(v) for v in val_hist]


def _q2_seed(ctx, data: dict) -> dict:
    """The training seed: the first of 0, 1, 2, ... for which the reference's best
    validation epoch is clearly not the last one, so that a train() which forgets to
    restore the best weights shows. Fixed seeds (as the spec says: a fixed seed and data),
    so every batch trains the same way; about half of all seeds qualify."""
    tol = ctx.tol("training-loop")

    def build() -> dict:
        chosen = None
        for k in range(int(tol["seed_tries"])):
            seed = k
            val_hist = _reference_history(ctx, data, seed, None)
            with _torch_threads_one():
                init = [[n, p.detach().numpy().copy()] for n, p in _reference_model(ctx, seed).named_parameters()]
            candidate = {"seed": seed, "val": val_hist, "init": init}
            if chosen is None:
                chosen = candidate
            if int(np.argmin(val_hist)) < len(val_hist) - 1 and \
                    val_hist[-1] > min(val_hist) * (1 + float(tol["best_margin"])):
                return candidate
        return chosen  # no such seed: the best-model check still runs, it just cannot fail here

    return ctx.memo(("cs240-week8", "q2-seed"), build)


def _map_init(student: list, reference: list) -> list | None:
    """The student's initial weights in the reference's parameter order, when the student's
    model is the handout's architecture (nn.RNN + nn.Linear, in either registration order)."""
    if not isinstance(student, list) or not all(isinstance(p, list) and len(p) == 2 for p in student):
        return None
    shapes = [tuple(np.shape(v)) for _, v in student]
    ref_shapes = [tuple(np.shape(v)) for _, v in reference]
    n_head = 2  # fc.weight, fc.bias come last in the reference
    if shapes == ref_shapes:
        return student
    rotated = student[n_head:] + student[:n_head]  # the linear layer registered first
    if [tuple(np.shape(v)) for _, v in rotated] == ref_shapes:
        return rotated
    return None


# ============================================================================ q2 items


TRAIN_PROBE = """
torch.manual_seed(seed)
model = RNN(1, hidden_size, num_layers, 1)
init = std.parameters(model)
train_loader, val_loader = loaders(Xtr, ytr, Xva, yva, batch_size, seed, watch=(model, Xva))
returned = train(model, train_loader, val_loader, epochs, learning_rate)
returned_kind = std.kind(returned) + (f" of length {len(returned)}" if isinstance(returned, (tuple, list)) else "")
pair = isinstance(returned, (tuple, list)) and len(returned) == 2
val_history = std.floats(returned[1]) if pair else None
val_kind = std.kind(returned[1]) if pair else None
recorded = list(val_loader.recorded)
final = predictions(model, Xva)
last = std.parameters(model)
"""


def _mse(pred: Any, y: np.ndarray) -> float | str:
    """The grader's own mean squared error of raw predictions (or the child's text on failure)."""
    if isinstance(pred, str):
        return pred
    if not isinstance(pred, np.ndarray) or pred.dtype.kind != "f":
        return f"forward returned {type(pred).__name__}"
    if pred.size != y.size:
        return f"forward returned shape {pred.shape} for {y.shape[0]} windows, expected ({y.shape[0]}, 1)"
    err = pred.reshape(-1).astype(np.float64) - y.reshape(-1).astype(np.float64)
    return float(np.mean(err ** 2))


@item("training-loop", checks={
    "history": ("validation-loss history within the band around the reference's", 13),
    "reported": ("reported validation loss = mean MSE over all validation samples", 4),
    "best": ("on return, model holds the best-validation epoch's weights", 8),
})
def training_loop(ctx):
    tol = ctx.tol("training-loop")
    data = _q2_data(ctx)
    ctx.note(f"q2 data: {data['source']}")
    chosen = _q2_seed(ctx, data)
    run = ctx.run("q2")
    E = int(tol["epochs"])
    bind = {"seed": chosen["seed"], "hidden_size": int(tol["hidden_size"]), "num_layers": int(tol["num_layers"]),
            "batch_size": int(tol["batch_size"]), "epochs": E, "learning_rate": float(tol["learning_rate"]),
            "Xtr": data["train"][0], "ytr": data["train"][1], "Xva": data["val"][0], "yva": data["val"][1]}
    try:
        out = run.probe(q2_code(TRAIN_PROBE), bind=bind, timeout=float(tol["probe_timeout"]),
                        want=["init", "returned_kind", "val_history", "val_kind", "recorded", "final", "last"])
    except StudentRaised as exc:
        yield not_checked(_why(exc))
        return

    # every MSE below is the grader's, from the model's raw predictions after each epoch
    yva = data["val"][1]
    seen = [_mse(p, yva) for p in (out.get("recorded") or [])]
    measured = [m for m in seen if isinstance(m, float)]
    problems = [m for m in seen if isinstance(m, str)]
    val = _val_history(out, E)
    yield _history_verdict(ctx, val, measured, out.get("init"), out.get("last"), chosen, data, tol)
    yield _reported_verdict(val, measured, problems, E, tol)
    yield _best_verdict(_mse(out.get("final"), yva), measured, E, float(tol["best_rtol"]))


def _val_history(out: dict, E: int) -> list[float] | str:
    """The returned validation history, or why it is not one (shown to the student)."""
    kind, val = out.get("val_kind"), out.get("val_history")
    if kind is None:
        returned = out.get("returned_kind")
        return ("train returned None: return (train_loss_history, val_loss_history)" if returned == "NoneType"
                else f"train returned a {returned}, expected (train_loss_history, val_loss_history)")
    if not isinstance(val, list):
        return f"val_loss_history (a {kind}) is not a sequence of numbers"
    if len(val) != E:
        return f"val_loss_history has {len(val)} values for {E} epochs (one validation pass per epoch)"
    if not all(isinstance(v, float) and math.isfinite(v) for v in val):
        return f"val_loss_history has non-finite values: {val}"
    return val


def _history_text(values: list[float]) -> str:
    return "[" + ", ".join(f"{v:.5f}" for v in values) + "]"


def _trained(init: Any, last: Any) -> str | None:
    """Why the parameters the child read before and after train() show no training, or None."""
    ok = (isinstance(init, list) and isinstance(last, list) and len(init) == len(last) > 0
          and all(isinstance(p, list) and len(p) == 2 and isinstance(p[1], np.ndarray) for p in init + last))
    if not ok:
        return "the model has no parameters" if isinstance(init, list) and not init else \
            "the model's parameters could not be read"
    if all(a[1].shape == b[1].shape and np.array_equal(a[1], b[1]) for a, b in zip(init, last)):
        return "train() left every parameter of the model as it was"
    return None


def _history_verdict(ctx, val, measured, init, last, chosen, data, tol):
    if isinstance(val, str):
        return failed("history", expected="a list of one validation MSE per epoch", observed=val)
    mapped = _map_init(init, chosen["init"])
    if mapped is None:
        # the band needs evidence of training that the grader can see: parameters that changed,
        # and a history equal to the grader's own measurements of the model after each epoch
        why = _trained(init, last)
        if why is None and (len(measured) != len(val) or
                            any(abs(v - m) > float(tol["reported_rtol"]) * m for v, m in zip(val, measured))):
            why = "the reported history is not the validation MSE of the model after each epoch"
        if why is not None:
            return failed("history", expected="a trained model whose validation MSE is in the band",
                          observed=why, hint=_training_hint(val, chosen["val"]) if measured else
                          "Build the RNN in __init__ and train it with Adam on the MSE loss.")
        # Not the handout's architecture: the training cannot be replayed weight for weight,
        # so only the wide band applies (the best validation loss, across initialisations).
        ref = chosen["val"]
        f = float(tol["band_factor"])
        lo, hi = min(ref) / f, min(ref) * f
        expected = (f"best validation MSE within [{lo:.5f}, {hi:.5f}] (reference {min(ref):.5f}, x/{f:g}; "
                    f"your model is not nn.RNN + nn.Linear, so it cannot be replayed exactly)")
        observed = f"best {min(val):.5f}, history {_history_text(val)}"
        if lo <= min(val) <= hi:
            return passed("history", expected=expected, observed=observed)
        return failed("history", expected=expected, observed=observed, hint=_training_hint(val, ref))
    same = all(np.array_equal(np.asarray(a[1]), b[1]) for a, b in zip(mapped, chosen["init"]))
    if same:
        ref = chosen["val"]
    else:
        weights = b"".join(np.ascontiguousarray(v, dtype=np.float32).tobytes() for _, v in mapped)
        key = hashlib.sha256(weights).hexdigest()
        ref = ctx.memo(("cs240-week8", "q2-replay", key),
                       lambda: _reference_history(ctx, data, chosen["seed"], mapped))
    rtol = float(tol["replay_rtol"])
    worst = max(abs(s - r) / r for s, r in zip(val, ref))
    expected = (f"{_history_text(ref)} (reference train() from your model's initial weights, "
                f"same batches; each epoch within {rtol:.1%})")
    if worst <= rtol:
        return passed("history", expected=expected, observed=_history_text(val))
    hint = _training_hint(val, ref)
    if len(measured) == len(ref) and all(abs(m - r) <= rtol * r for m, r in zip(measured, ref)):
        hint = ("Your training itself matches the reference (the grader's own measurements after each "
                "epoch equal it), but the values you report are not the validation MSE: see the next check.")
    return failed("history", expected=expected, observed=f"{_history_text(val)} (off by up to {worst:.1%})",
                  hint=hint)


def _training_hint(val: list[float], ref: list[float]) -> str:
    if min(val) > 5 * max(ref):
        return ("The validation loss stays far above the reference's: check optimizer.zero_grad() "
                "before each backward(), optimizer.step() after it, and that Adam gets model.parameters() "
                "and learning_rate.")
    if max(val) < min(ref) / 2:
        return ("The validation loss is far below the reference's: is it measured on val_loader "
                "(not train_loader), with the MSE loss and averaged over the samples?")
    return ("The history differs from the reference's: Adam at learning_rate, MSE loss, "
            "zero_grad/backward/step once per batch of train_loader, and one pass over "
            "val_loader per epoch, after that epoch's training.")


def _reported_verdict(val, measured, problems, E, tol):
    expected = "each value equal to the validation MSE the grader measures after that epoch"
    if isinstance(val, str):
        return failed("reported", expected=expected, observed=val)
    if problems:
        return failed("reported", expected=expected, observed=problems[0],
                      hint="Your model could not be evaluated on a batch of validation windows.")
    if not measured:
        return failed("reported", expected=expected, observed="val_loader was never iterated",
                      hint="Validate on the val_loader argument once per epoch.")
    if len(measured) != E:
        return failed("reported", expected=expected, observed=f"{len(measured)} passes over val_loader in {E} epochs",
                      hint="Iterate val_loader exactly once per epoch, after that epoch's training.")
    B, n_val = int(tol["batch_size"]), int(tol["val_batches"]) * int(tol["batch_size"])
    c = compare("val_loss_history", val, measured, rtol=float(tol["reported_rtol"]), atol=0.0, mistakes={
        "You summed the batch losses without dividing by the number of batches.": [m * (n_val // B) for m in measured],
        "You reported the sum of squared errors; divide by the number of samples.": [m * n_val for m in measured],
    }, hints={"values": "Average the squared errors over all validation samples (the MSE of the whole pass)."})
    if c.ok:
        return passed("reported", expected=expected, observed=_history_text(val))
    worst = max(abs(v - m) / m for v, m in zip(val, measured))
    return failed("reported", expected=f"{_history_text(measured)} (measured)",
                  observed=f"{_history_text(val)} (off by up to {worst:.1%})", hint=c.hint)


def _best_verdict(final, measured, E, rtol: float):
    if not measured or len(measured) != E:
        return not_checked("the validation passes could not be followed (see the check above)", "best")
    if not isinstance(final, float):
        return failed("best", expected="a model that can be evaluated", observed=str(final))
    best = int(np.argmin(measured))
    expected = f"validation MSE {measured[best]:.6f} (epoch {best + 1} of {E}, the best)"
    if close(final, measured[best], rtol=rtol, atol=0.0):
        return passed("best", expected=expected, observed=f"{final:.6f}")
    match = [e for e, m in enumerate(measured) if close(final, m, rtol=rtol, atol=0.0)]
    if match and match[-1] == E - 1:
        hint = ("The model keeps the LAST epoch's weights. Save a copy when the validation loss "
                "improves (best = copy.deepcopy(model.state_dict())) and model.load_state_dict(best) "
                "before returning; without deepcopy, state_dict() follows the live weights.")
    elif match:
        hint = f"The model holds epoch {match[-1] + 1}'s weights, not the best epoch's."
    else:
        hint = "The returned model's weights match none of the epochs (trained further after restoring?)."
    return failed("best", expected=expected, observed=f"{final:.6f}", hint=hint)


TEST_PROBE = """
torch.manual_seed(seed)
model = RNN(1, hidden_size, num_layers, 1)
loader = plain_loader(Xte, yte, batch_size)
value = std.number(test(model, loader))
pred = predictions(model, Xte)
"""


@item("testing-loop", checks={"mse": ("test(model, test_loader) = mean MSE over all test samples", 5)})
def testing_loop(ctx):
    tol, ttol = ctx.tol("training-loop"), ctx.tol("testing-loop")
    data = _q2_data(ctx)
    run = ctx.run("q2")
    B = int(tol["batch_size"])
    Xte, yte = data["test"]
    bind = {"seed": int(np.random.default_rng([ctx.seed, 2409]).integers(2**31)),
            "hidden_size": int(tol["hidden_size"]), "num_layers": int(tol["num_layers"]),
            "batch_size": B, "Xte": Xte, "yte": yte}
    try:
        out = run.probe(q2_code(TEST_PROBE), bind=bind, want=["value", "pred"])
    except StudentRaised as exc:
        yield not_checked(_why(exc), "mse")
        return
    value, pred = out.get("value"), out.get("pred")
    truth = _mse(pred, yte)  # the grader's own mean over the model's raw predictions
    if not isinstance(truth, float):
        yield failed("mse", expected="a model that can be evaluated", observed=str(truth),
                     hint="test() is judged on your RNN; its forward must map (B, L, 1) to (B, 1).")
        return
    expected = f"{truth:.6f} (measured by the grader on the same model and loader)"
    if not isinstance(value, float):
        yield failed("mse", expected=expected, observed=str(value),
                     hint="test must return the mean squared error as a number.")
        return
    batches = [_mse(pred.reshape(-1)[k:k + B], yte.reshape(-1)[k:k + B]) for k in range(0, len(yte), B)]
    c = compare("test MSE", value, truth, rtol=float(ttol["rtol"]), atol=0.0, mistakes={
        "That is the loss of the LAST batch only: accumulate over every batch "
        "(sum of squared errors / number of samples).": batches[-1],
        "You summed the batch means without dividing by the number of batches.": sum(batches),
        "That is the sum of squared errors; divide by the number of samples.": truth * yte.size,
        "That is the root of the MSE (RMSE); return the MSE itself.": math.sqrt(truth),
    }, hints={"values": "Average the squared error over all samples of test_loader."})
    yield passed("mse", expected=expected, observed=f"{value:.6f}") if c.ok else \
        failed("mse", expected=expected, observed=f"{value:.6f}", hint=c.hint)
