"""tutorial8 checks (trusted side). The student's module is imported once in the sandbox;
every expected value is computed here, on inputs drawn here, and the three models are
trained in the child by the student's own training functions under fixed seeds."""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable

import numpy as np

from grader.checks import (StudentRaised, Verdict, close, compare, evidence, exception_text, failed, fmt, item,
                           not_checked, passed)

# -- the tutorial's numbers (Question 1) ------------------------------------------------------

SEED_U = np.array([[-1.0, 0.5], [0.5, 0.1], [0.2, -2.0]])
SEED_V = np.array([[2.0], [-1.5]])
SEED_B = np.array([0.2, 0.2])
SEED_C = 0.5
SEED_XS = np.array([[1, 2, -1], [-1, 1, -2], [0, 3, 1], [2, -1, 0]], dtype=float)
SEED_W_ELMAN = np.array([[2.0, 1.3], [1.5, 0.0]])
SEED_W_JORDAN = np.array([[2.0, 1.3]])

# Question 3: the table's pairs and the two test sequences
MAPPING_X = [[1, 2, 5, 6], [5, 7, 7, 8], [3, 4, 5, 7]]
MAPPING_Y = [[1, 3, 7, 11], [5, 12, 14, 15], [3, 7, 9, 12]]
MAPPING_TEST = [[1, 2, 3, 4], [4, 5, 6, 7]]

# Question 4: words the random edge-case sentences are made of (upper case mixed in)
EDGE_WORDS = ["movie", "GREAT", "Interest", "not", "Good", "scenes", "I", "liked", "THE", "fan",
              "family", "Watched", "better", "show", "at", "all"]


def _run(ctx):
    return ctx.run("main")


# =============================================================================================
# Q1: elman and jordan
# =============================================================================================


def _sigmoid(u):
    return 1.0 / (1.0 + np.exp(-u))


def _simulate(U, V, W, b, c, xs, *, feedback: str = "h", transpose_w: bool = True,
              hidden_act: Callable = np.tanh, out_act: Callable = _sigmoid, use_b: bool = True,
              use_c: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The recurrence with one knob per common mistake: what is fed back ('h', 'y',
    'h-through-W' for a Jordan net fed its hidden state, 'logit', 'none'), W or W^T,
    the activations, and the biases. The right answers are feedback 'h' (Elman) and 'y'
    (Jordan) with everything else at its default."""
    H, K = U.shape[1], V.shape[1]
    h, y, logit = np.zeros(H), np.zeros(K), np.zeros(K)
    hs, ys = [], []
    for x in xs:
        if feedback == "h":
            rec = (W.T @ h) if transpose_w else (W @ h)
        elif feedback == "y":
            rec = W.T @ y
        elif feedback == "logit":
            rec = W.T @ logit
        elif feedback == "h-through-W":  # Jordan's W (1, H) applied to h: one number added to every unit
            rec = W @ h
        else:
            rec = 0.0
        h = hidden_act(U.T @ x + rec + (b if use_b else 0.0))
        logit = V.T @ h + (c if use_c else 0.0)
        y = out_act(logit)
        hs.append(h)
        ys.append(y)
    return np.array(hs), np.array(ys)


def _relu(u):
    return np.maximum(u, 0.0)


ELMAN_MISTAKES = {
    "h(t) uses W h(t-1) instead of W^T h(t-1): W is the matrix from h(t-1) to h(t), so its "
    "transpose multiplies h(t-1) (use W.T @ h, or h @ W)": dict(transpose_w=False),
    "the hidden state is never fed back: h(t) must include W^T h(t-1) from the previous step":
        dict(feedback="none"),
    "the hidden activation must be tanh (sigmoid found)": dict(hidden_act=_sigmoid),
    "the hidden activation must be tanh (ReLU found)": dict(hidden_act=_relu),
    "the output needs the sigmoid: y(t) = sigmoid(V^T h(t) + c)": dict(out_act=lambda u: u),
    "the hidden bias b is missing": dict(use_b=False),
    "the output bias c is missing": dict(use_c=False),
}

JORDAN_MISTAKES = {
    "this is an Elman net: a Jordan net feeds back the previous OUTPUT y(t-1) (through W^T), "
    "not the hidden state h(t-1)": dict(feedback="h-through-W"),
    "the fed-back value must be the output y(t-1) after the sigmoid, not V^T h(t-1) + c":
        dict(feedback="logit"),
    "nothing is fed back: h(t) must include W^T y(t-1) from the previous step": dict(feedback="none"),
    "the hidden activation must be tanh (sigmoid found)": dict(hidden_act=_sigmoid),
    "the output needs the sigmoid: y(t) = sigmoid(V^T h(t) + c)": dict(out_act=lambda u: u),
    "the hidden bias b is missing": dict(use_b=False),
    "the output bias c is missing": dict(use_c=False),
}


def _random_case(rng: np.random.Generator, w_shape: tuple[int, int]) -> dict:
    T = int(rng.integers(5, 9))
    return {"U": rng.normal(0, 1.0, (3, 2)), "V": rng.normal(0, 1.5, (2, 1)),
            "W": rng.normal(0, 1.0, w_shape), "b": rng.normal(0, 0.5, 2),
            "c": float(rng.normal(0, 0.5)), "xs": rng.normal(0, 1.0, (T, 3))}


def _seed_case(w: np.ndarray) -> dict:
    return {"U": SEED_U, "V": SEED_V, "W": w, "b": SEED_B, "c": SEED_C, "xs": SEED_XS}


def _call_recurrence(ctx, fn_name: str, case: dict, *, catch: bool = True) -> dict:
    """The student's (hs, ys) on one case, as arrays; `error` when it raised (if `catch`)."""
    try:
        out = _run(ctx).probe(f"hs, ys, got = std.pair({fn_name}(U, V, W, b, c, xs))",
                              bind={k: (np.array(v) if isinstance(v, np.ndarray) else v)
                                    for k, v in case.items()},
                              want=["hs", "ys", "got"])
    except StudentRaised as exc:
        if not catch:
            raise
        return {"error": exception_text(exc)}
    ys = out.get("ys")
    T = len(case["xs"])
    if isinstance(ys, np.ndarray) and ys.shape in ((T,), (1, T)) and T > 1:
        ys = ys.reshape(T, 1)  # (T,) is the same sequence of scalar outputs: accept it
    return {"hs": out.get("hs"), "ys": ys, "got": out.get("got")}


def _diagnose(obs: Any, case: dict, mistakes: dict, ref_ys: np.ndarray, right: dict,
              tol: dict | None = None) -> str | None:
    """The likely mistake behind the observed ys: the one whose simulation they equal, or a
    recurrent term that is wrong when only y(1) (no recurrence yet) is right."""
    if not isinstance(obs, np.ndarray):
        return None
    tol = tol or {"rtol": 1e-4, "atol": 1e-5}
    variants = {hint: _simulate(**case, **{**right, **knobs})[1] for hint, knobs in mistakes.items()}
    named = compare("ys", obs, ref_ys, **tol, check_dtype=False, mistakes=variants)
    if named.hint or named.ok:
        return named.hint
    if obs.shape == ref_ys.shape and len(obs) > 1 and close(obs[0], ref_ys[0], **tol):
        return ("y(1) is right (no recurrence yet at t = 1) but later steps are not: the recurrent term is "
                "wrong (check what is fed back, W versus W^T, and that the state carries to the next step)")
    return None


def _follows_from_hs(hs: Any, ys: Any, case: dict) -> bool:
    """Grader arithmetic on the student's own raw values: ys = sigmoid(V^T h(t) + c) for the
    returned hs (the last T rows, any layout of the same numbers, h or tanh'd pre-activation)."""
    T, H = len(case["xs"]), case["V"].shape[0]
    if not (isinstance(hs, np.ndarray) and isinstance(ys, np.ndarray)) or hs.size < T * H or ys.size != T:
        return False
    hs = hs.astype(np.float64)
    if hs.shape == (H, T) and T != H:
        hs = hs.T
    try:
        hs = hs.reshape(-1, H)[-T:]
    except ValueError:
        return False
    ys = ys.astype(np.float64).reshape(T, 1)
    return any(close(_sigmoid(h @ case["V"] + case["c"]), ys, rtol=1e-3, atol=1e-4) for h in (hs, np.tanh(hs)))


def _recurrence_checks(fn_name: str) -> dict:
    return {"ys": (f"{fn_name} on the tutorial's numbers: ys", 5),
            "hs": (f"{fn_name} on the tutorial's numbers: hs", 2),
            "random": (f"{fn_name} on 3 random inputs (hs and ys)", 8)}


def _recurrence_item(ctx, fn_name: str, seed_w: np.ndarray, w_shape: tuple[int, int],
                     mistakes: dict, right: dict):
    tol = {"rtol": ctx.tol().get("rtol", 1e-4), "atol": ctx.tol().get("atol", 1e-5)}
    ref_fn = getattr(ctx.reference, fn_name)
    # 1. the tutorial's numbers: ys (5) and hs (2)
    case = _seed_case(seed_w)
    ref_hs, ref_ys = ref_fn(**case)
    got = _call_recurrence(ctx, fn_name, case, catch=False)  # raising here: the item's reason
    hint = _diagnose(got["ys"], case, mistakes, ref_ys, right, tol)
    for key, ref in (("ys", ref_ys), ("hs", ref_hs)):
        expected = "ys = " + ", ".join(f"{v:.4f}" for v in ref_ys[:, 0]) if key == "ys" else fmt(ref)
        c = compare(key, got[key], ref, **tol, check_dtype=False)
        if c.ok and key == "ys" and not _follows_from_hs(got["hs"], got["ys"], case):
            # the tutorial prints these ys: numbers typed in (or made up) do not come out of hs
            yield failed(key, expected=expected,
                         observed="ys equal the tutorial's numbers but do not follow from the returned hs "
                                  "through y(t) = sigmoid(V^T h(t) + c)\n" + fmt(got[key]),
                         hint="return the hidden states your loop computed and the outputs computed from them")
        elif c.ok:
            yield passed(key, expected=expected, observed=fmt(got[key]))
        else:
            problem = c.problem if got[key] is not None else \
                f"{fn_name} returned {got.get('got')}, expected the pair (hs, ys)"
            yield failed(key, expected=expected, observed=problem + "\n" + fmt(got[key]), hint=hint)
    # 2. random inputs (8): every draw must match
    rng = ctx.rng
    cases = [_random_case(rng, w_shape) for _ in range(3)]
    for k, case in enumerate(cases, start=1):
        ref_hs, ref_ys = ref_fn(**case)
        draw = f"random draw {k} (T = {len(case['xs'])})"
        got = _call_recurrence(ctx, fn_name, case)
        if "error" in got:
            yield failed("random", expected=draw, observed=got["error"])
            return
        for name, ref in (("ys", ref_ys), ("hs", ref_hs)):
            c = compare(name, got[name], ref, **tol, check_dtype=False)
            if not c.ok:
                yield failed("random", expected=f"{draw}: {name} = {fmt(ref)}", observed=c.observed_text,
                             hint=_diagnose(got["ys"], case, mistakes, ref_ys, right, tol))
                return
    yield passed("random", expected="hs and ys equal to the reference on every draw", observed="all draws match")


@item("elman", checks=_recurrence_checks("elman_rnn"))
def elman(ctx):
    return _recurrence_item(ctx, "elman_rnn", SEED_W_ELMAN, (2, 2), ELMAN_MISTAKES, dict(feedback="h"))


@item("jordan", checks=_recurrence_checks("jordan_rnn"))
def jordan(ctx):
    return _recurrence_item(ctx, "jordan_rnn", SEED_W_JORDAN, (1, 2), JORDAN_MISTAKES, dict(feedback="y"))


# =============================================================================================
# Q2: sequence data
# =============================================================================================

SEQ_DATA_CODE = """
clean = std.pair(make_sequences(n_seqs, n_steps, 0.0, seed_a))
again = std.pair(make_sequences(n_seqs, n_steps, 0.0, seed_a))
other = std.pair(make_sequences(n_seqs, n_steps, 0.0, seed_b))
big_clean = std.pair(make_sequences(8, 100, 0.0, seed_a))
big_noisy = std.pair(make_sequences(8, 100, 0.1, seed_a))
"""

# y1(t) = 5 x1(t - a) - 0.2 x3(t - b); y2(t) = 25 x2(t - a) x3(t - b): the right lags and how a
# wrong slice reads in words
LAGS = {"y1": (0, 1), "y2": (1, 3)}
MAX_LAG = 4


def _equation(x: np.ndarray, which: str, a: int, b: int) -> np.ndarray:
    """Equation `which` with lags (a, b) on x (N, T, 3): values for t >= max(a, b), shape (N, T - max)."""
    start, T = max(a, b), x.shape[1]
    if which == "y1":
        return 5 * x[:, start - a:T - a, 0] - 0.2 * x[:, start - b:T - b, 2]
    return 25 * x[:, start - a:T - a, 1] * x[:, start - b:T - b, 2]


def _lag_words(which: str, a: int, b: int) -> str:
    first, second = ("x1", "x3") if which == "y1" else ("x2", "x3")
    lag = lambda name, k: f"{name}(t)" if k == 0 else f"{name}(t-{k})"  # noqa: E731
    return f"{lag(first, a)} and {lag(second, b)}"


def _check_equation(x: np.ndarray, y: np.ndarray, which: str, col: int, tol: dict) -> tuple[bool, str, str | None]:
    """(passed, observed text, hint) for one output column of noise-free data."""
    x64, y64 = x.astype(np.float64), y.astype(np.float64)
    a, b = LAGS[which]
    start = max(a, b)
    near = lambda u, v: close(u, v, rtol=tol.get("rtol", 1e-4), atol=tol.get("atol", 1e-4))  # noqa: E731
    body = near(y64[:, start:, col], _equation(x64, which, a, b))
    head = near(y64[:, :start, col], np.zeros_like(y64[:, :start, col]))
    if body and head:
        return True, f"{which} follows the equation at lags {_lag_words(which, a, b)}, 0 for t < {start}", None
    if body:
        return (False, f"{which}(t) is right for t >= {start} but not 0 before: {fmt(y64[0, :start, col])}",
                f"{which} is defined from t = {start} on (the lags reach back {start} step(s)); "
                f"leave y[:, :{start}, {col}] at zero, as np.zeros does")
    for la in range(MAX_LAG + 1):
        for lb in range(MAX_LAG + 1):
            s = max(la, lb)
            if (la, lb) != (a, b) and near(y64[:, s:, col], _equation(x64, which, la, lb)):
                return (False, f"{which}(t) uses {_lag_words(which, la, lb)}",
                        f"wrong lag: {which}(t) must use {_lag_words(which, a, b)}; with slices, "
                        f"x[:, {start}-k:T-k] is the value k steps back for the targets y[:, {start}:]")
    other = 1 - col
    if y.shape[-1] == 2 and near(y64[:, start:, other], _equation(x64, which, a, b)):
        return (False, f"{which} is in column {other}, expected column {col}",
                "y[..., 0] is y1 and y[..., 1] is y2")
    return (False, f"{which} does not follow {_lag_words(which, a, b)} at any lag up to {MAX_LAG}; "
                   f"first values: {fmt(y64[0, :6, col])}",
            "check the coefficients (5, -0.2, 25) and the input columns (x1, x2, x3 are x[..., 0], "
            "x[..., 1], x[..., 2])")


@item("sequence-data", checks={
    "shape": ("x uniform in [0, 1) of shape (N, T, 3), y of shape (N, T, 2)", 2),
    "y1": ("y1 with noise = 0: y1(t) = 5 x1(t) - 0.2 x3(t-1), t >= 1, 0 before", 3),
    "y2": ("y2 with noise = 0: y2(t) = 25 x2(t-1) x3(t-3), t >= 3, 0 before", 3),
    "noise": ("noise = 0.1 adds 0.1 * N(0, 1) to the targets", 1),
    "seed": ("the same seed gives the same data, another seed other data", 1)})
def sequence_data(ctx):
    tol = ctx.tol()
    seed_a, seed_b = (int(v) for v in ctx.rng.integers(0, 10_000, 2))
    n_seqs, n_steps = 5, 30
    out = _run(ctx).probe(SEQ_DATA_CODE, bind={"n_seqs": n_seqs, "n_steps": n_steps, "seed_a": seed_a,
                                               "seed_b": seed_b},
                          want=["clean", "again", "other", "big_clean", "big_noisy"])
    x, y, got = (list(out.get("clean") or [None, None, "nothing"]) + [None] * 3)[:3]
    # 1. shapes and range (2)
    expected = f"x {(n_seqs, n_steps, 3)}, y {(n_seqs, n_steps, 2)}, 0 <= x < 1"
    if not (isinstance(x, np.ndarray) and isinstance(y, np.ndarray)):
        yield failed("shape", expected=expected, observed=f"make_sequences returned {got}, expected the pair (x, y)")
        yield not_checked("make_sequences did not return the pair of arrays (x, y)")
        return
    shape_ok = x.shape == (n_seqs, n_steps, 3) and y.shape == (n_seqs, n_steps, 2)
    range_ok = x.size > 0 and float(x.min()) >= 0.0 and float(x.max()) < 1.0 and float(x.std()) > 0.2
    observed = f"x {x.shape} in [{x.min():.4f}, {x.max():.4f}], y {y.shape}" if x.size else "empty x"
    if shape_ok and range_ok:
        yield passed("shape", expected=expected, observed=observed)
    else:
        yield failed("shape", expected=expected, observed=observed,
                     hint="use the arguments in the order (n_seqs, n_steps, noise, seed)" if not shape_ok
                     else "draw x with np.random.rand (uniform in [0, 1))")
    if not shape_ok or x.ndim != 3 or y.ndim != 3 or x.shape[:2] != y.shape[:2] or x.shape[2] < 3:
        yield not_checked(f"the shapes x {x.shape}, y {y.shape} do not allow checking the rest")
        return
    # 2. the two equations with noise = 0 (3 + 3)
    for which, col in (("y1", 0), ("y2", 1)):
        eq = ("y1(t) = 5 x1(t) - 0.2 x3(t-1), t >= 1" if which == "y1" else "y2(t) = 25 x2(t-1) x3(t-3), t >= 3")
        ok, observed, hint = _check_equation(x, y, which, col, tol)
        yield passed(which, expected=eq, observed=observed) if ok else \
            failed(which, expected=eq, observed=observed, hint=hint)
    yield _noise_check(out, tol)
    yield _seed_check(out)


def _noise_check(out: dict, tol: dict) -> Verdict:
    """noise = 0.1 adds 0.1 N(0, 1) to every target: the difference to the noise-free data of
    the same seed (or, if x changed, to the equations) has a standard deviation near 0.1."""
    lo, hi = tol.get("noise_std", [0.09, 0.11])
    clean, noisy = out.get("big_clean") or [None] * 3, out.get("big_noisy") or [None] * 3
    xc, yc, xn, yn = clean[0], clean[1], noisy[0], noisy[1]
    if not all(isinstance(v, np.ndarray) for v in (xc, yc, xn, yn)) or yn.shape != (8, 100, 2) \
            or yc.shape != yn.shape or xn.shape != (8, 100, 3):
        return failed("noise", expected="(x, y) of shapes (8, 100, 3), (8, 100, 2)",
                      observed="make_sequences(8, 100, 0.1, seed) did not return them")
    if xc.shape == xn.shape and np.array_equal(xc, xn):
        residual = yn.astype(np.float64) - yc.astype(np.float64)
    else:
        x = xn.astype(np.float64)
        clean_y = np.zeros(yn.shape)
        clean_y[:, 1:, 0] = _equation(x, "y1", *LAGS["y1"])
        clean_y[:, 3:, 1] = _equation(x, "y2", *LAGS["y2"])
        residual = yn.astype(np.float64) - clean_y
    std, mean = float(residual.std()), float(residual.mean())
    expected, observed = f"std in [{lo}, {hi}], mean near 0", f"target noise: std {std:.4f}, mean {mean:+.4f}"
    if lo <= std <= hi and abs(mean) < 0.02:
        return passed("noise", expected=expected, observed=observed)
    return failed("noise", expected=expected, observed=observed,
                  hint="no noise was added: y += noise * np.random.randn(*y.shape)" if std < 1e-6 else
                  "scale standard normal noise (np.random.randn) by `noise`, once, on every target")


def _seed_check(out: dict) -> Verdict:
    first, again, other = (out.get(k) or [None] * 3 for k in ("clean", "again", "other"))
    same = isinstance(first[0], np.ndarray) and isinstance(again[0], np.ndarray) and \
        first[0].shape == again[0].shape and np.array_equal(first[0], again[0])
    differs = isinstance(other[0], np.ndarray) and isinstance(first[0], np.ndarray) and \
        not (first[0].shape == other[0].shape and np.array_equal(first[0], other[0]))
    observed = f"same seed: {'same' if same else 'different'} x; other seed: {'different' if differs else 'same'} x"
    if same and differs:
        return passed("seed", expected="reproducible by seed", observed=observed)
    return failed("seed", expected="reproducible by seed", observed=observed,
                  hint="seed the generator from the argument: np.random.seed(seed) (or "
                       "rng = np.random.RandomState(seed)) before drawing x")


# =============================================================================================
# training items: shared machinery
# =============================================================================================


def _train_until_pass(ctx, code: str, bind: dict, want: list[str], seeds: list[int], time_cap: float,
                      passes: Callable[[dict], bool], verify: Callable[[dict], None]) -> tuple[list[dict], str | None]:
    """Train under each seed in turn until one run passes (a correct model stuck in a poor
    local minimum under one seed gets another chance). Returns the attempts and, if the
    student's code raised or ran out of time, why training stopped."""
    attempts = []
    for seed in seeds:
        try:
            out = _run(ctx).probe(code, bind={**bind, "seed": seed}, want=want, timeout=time_cap)
        except StudentRaised as exc:
            if exc.error.type == "Timeout":
                return attempts, (f"training did not finish within {time_cap:g} s (seed {seed}); "
                                  "the reference needs a fraction of that")
            return attempts, exception_text(exc)
        out["seed"] = seed
        verify(out)
        attempts.append(out)
        if passes(out):
            break
    return attempts, None


# ---- the trained model, rebuilt here ------------------------------------------------------
# Every reply of the child is a claim: student code controls its interpreter and can replace the
# probe machinery. So each training probe also returns the trained model as raw data (its layers
# and parameter arrays, probes.weights_of) and the grader rebuilds it from standard torch.nn
# layers, runs its own inputs through it here and scores on THOSE predictions. Forging a pass
# then means handing over weights that really solve the task, i.e. training a model.

_RECURRENT = {"RNN": 1, "LSTM": 4, "GRU": 3, "RNNCell": 1, "LSTMCell": 4, "GRUCell": 3}
_NO_MODEL = ("no trained model came back from the run (its layers and weights), so nothing the run "
             "reported about this model can be checked")


def _groups(record: Any) -> tuple[dict, dict] | None:
    """({module name: {parameter leaf: array}}, {module name: module entry}) of a weights record."""
    if not isinstance(record, dict):
        return None
    modules, params = record.get("modules"), record.get("params")
    if not isinstance(modules, list) or not isinstance(params, dict) or not params:
        return None
    by_name = {m["name"]: m for m in modules if isinstance(m, dict) and isinstance(m.get("name"), str)}
    groups: dict[str, dict] = {}
    for key, arr in params.items():
        if not isinstance(key, str) or not isinstance(arr, np.ndarray) or arr.dtype.kind != "f":
            return None
        owner, _, leaf = key.rpartition(".")
        groups.setdefault(owner, {})[leaf] = arr
    return groups, by_name


def _has_core(record: Any) -> bool:
    """The record names a recurrent layer that owns parameters (the minimum of trained-model evidence)."""
    found = _groups(record)
    return found is not None and any(found[1].get(o, {}).get("kind") in _RECURRENT for o in found[0])


def _set(param, arr: np.ndarray) -> None:
    import torch
    if tuple(arr.shape) != tuple(param.shape):
        raise ValueError(f"shape {arr.shape} for {tuple(param.shape)}")
    with torch.no_grad():
        param.copy_(torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32)))


def _rebuild(record: Any, n_features: int | None, *, ids: bool = False) -> tuple[Callable | None, str]:
    """A function x -> every step's outputs (B, T, K), computed here with torch.nn layers built from
    the record: one single-layer, one-directional recurrent layer (nn.RNN/LSTM/GRU or its cell
    unrolled), one nn.Linear read-out, and for ids an nn.Embedding or one-hot input. (None, why)
    when the model is not such a composition."""
    import torch
    from torch import nn
    found = _groups(record)
    if found is None:
        return None, "no weights"
    groups, by_name = found
    kinds = {o: by_name.get(o, {}).get("kind", "other") for o in groups}
    cores = [o for o, k in kinds.items() if k in _RECURRENT]
    linears = [o for o, k in kinds.items() if k == "Linear"]
    embeds = [o for o, k in kinds.items() if k == "Embedding"]
    if len(cores) != 1 or len(linears) != 1 or len(embeds) > (1 if ids else 0) or \
            len(groups) != 2 + len(embeds):
        return None, "layers: " + ", ".join(f"{o or '(model)'} {k}" for o, k in sorted(kinds.items()))
    core, kind = by_name[cores[0]], kinds[cores[0]]
    base = kind.replace("Cell", "")
    suffix = "" if kind.endswith("Cell") else "_l0"
    if core.get("num_layers", 1) != 1 or core.get("bidirectional") or core.get("proj_size", 0):
        return None, f"a {kind} with several layers, two directions or a projection"
    g = groups[cores[0]]
    names = [f"{w}_{p}{suffix}" for w in ("weight", "bias") for p in ("ih", "hh")]
    if set(g) - set(names) or names[0] not in g or names[1] not in g or (names[2] in g) != (names[3] in g):
        return None, f"the {kind}'s parameters {sorted(g)}"
    w_ih, w_hh = g[names[0]], g[names[1]]
    if w_ih.ndim != 2 or w_hh.ndim != 2:
        return None, "recurrent weights that are not matrices"
    hidden, n_in = w_hh.shape[1], w_ih.shape[1]
    nonlinearity = core.get("nonlinearity", "tanh") if base == "RNN" else None
    if nonlinearity not in (None, "tanh", "relu"):
        return None, f"nonlinearity {nonlinearity!r}"
    extra = {"nonlinearity": nonlinearity} if base == "RNN" else {}
    lin = groups[linears[0]]
    if set(lin) - {"weight", "bias"} or "weight" not in lin:
        return None, "the Linear's parameters"
    emb = groups[embeds[0]] if embeds else None
    if emb is not None and (set(emb) != {"weight"} or emb["weight"].ndim != 2):
        return None, "the Embedding's parameters"
    try:
        layer = getattr(nn, base)(n_in, hidden, bias=names[2] in g, batch_first=True, **extra)
        for name in names:
            if name in g:
                _set(getattr(layer, name if suffix else name + "_l0"), g[name])
        weight = lin["weight"]
        linear = nn.Linear(weight.shape[1], weight.shape[0], bias="bias" in lin)
        _set(linear.weight, weight)
        if "bias" in lin:
            _set(linear.bias, lin["bias"])
    except (ValueError, TypeError, RuntimeError) as exc:
        return None, f"the weights do not fit the layers ({exc})"
    if linear.in_features != hidden:
        return None, "a read-out that does not take the hidden state"
    table = None
    if emb is not None:
        table = torch.from_numpy(np.ascontiguousarray(emb["weight"], dtype=np.float32))
        if table.shape[1] != n_in or (n_features is not None and table.shape[0] != n_features):
            return None, "an embedding that does not fit"
    elif n_features is not None and n_in != n_features:
        return None, f"a recurrent layer with {n_in} inputs for {n_features} features"
    layer.eval()

    def forward(x: np.ndarray, mixed: bool = False) -> np.ndarray:
        """mixed: the layer reads the (B, T, F) input as (T, B, F), as a layer without batch_first
        fed batch-first data does (the grader computes that model too, and scores it as it is)."""
        layer.batch_first = not mixed
        with torch.no_grad():
            if ids:
                index = torch.from_numpy(np.asarray(x, dtype=np.int64))
                inp = table[index] if table is not None else \
                    torch.nn.functional.one_hot(index, n_in).float()
            else:
                inp = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
            out, _ = layer(inp)
            return linear(out).numpy().astype(np.float64)

    return forward, f"{kind}({n_in}, {hidden}) + Linear({hidden}, {linear.out_features})"


def _agree(reported: Any, rebuilt: np.ndarray) -> bool:
    return (isinstance(reported, np.ndarray) and reported.size == rebuilt.size and
            reported.dtype.kind == "f" and bool(np.allclose(
                reported.reshape(rebuilt.shape).astype(np.float64), rebuilt, rtol=1e-3, atol=1e-3,
                equal_nan=True)))


def _verify(ctx, out: dict, rebuilt_of: Callable[[Callable], dict], *, n_features: int | None,
            ids: bool = False, alternatives: Callable[[np.ndarray], list] | None = None,
            keep: tuple = ()) -> None:
    """Checks a training attempt against the model it handed over, in place: out["evidence"] is
    "missing" (no model: every point of the item is lost), "verified" (the reported predictions are
    what the weights compute here; they are replaced by the grader's, except the `keep` ones, shown
    as reported), "contradicted" (they are not: the scored predictions are dropped) or "unverified"
    (a model the grader cannot rebuild: the reported values are kept)."""
    if "evidence" in out:
        return
    record = out.get("weights")
    if not _has_core(record):
        out["evidence"] = "missing"
        return
    forward, how = _rebuild(record, n_features, ids=ids)
    if forward is None:
        out["evidence"] = "unverified"
        ctx.note(f"a trained model the grader cannot rebuild ({how}): its reported predictions are "
                 "scored as they are")
        return
    out["rebuilt"] = how
    try:
        mine = rebuilt_of(forward)
    except (ValueError, TypeError, RuntimeError, IndexError) as exc:
        out["evidence"], out["mismatch"] = "contradicted", f"the rebuilt model failed on the grader's input ({exc})"
        return
    chosen = {}
    for key, values in mine.items():
        values = values if isinstance(values, list) else [values]   # candidate forwards, the usual first
        value = values[0]
        options = [(v, w) for v in values for w in [v] + (alternatives(v) if alternatives else [])]
        match = next((v for v, w in options if _agree(out.get(key), w)), None)
        chosen[key] = match
        if match is None:
            got = out.get(key)
            diff = (f"largest difference {np.nanmax(np.abs(got.reshape(value.shape) - value)):.3g}"
                    if isinstance(got, np.ndarray) and got.size == value.size else f"reported {fmt(got, 60)}")
            out["evidence"] = "contradicted"
            out["mismatch"] = (f"the predictions the run reported are not what its trained weights compute "
                               f"when the grader runs them as {how} ({diff})")
            out["reported"] = {k: out.get(k) for k in mine}
            for k in mine:
                if k not in keep:
                    out[k] = None
            return
    out.update({k: v for k, v in chosen.items() if k not in keep})
    out["evidence"] = "verified"


_MISMATCH_HINT = ("the grader recomputes your trained model's predictions from its weights (the "
                  "recurrent layer, then the Linear read-out on its output); if your forward does more than "
                  "that, or something in your module changes what forward returns, say so to your TA")


def _gated(verdicts: list[Verdict], attempts: list[dict]) -> list[Verdict]:
    """Points that any stub earns (shapes, loss lists, structure) need a trained model behind them."""
    if any(a.get("evidence") != "missing" for a in attempts):
        return verdicts
    why = _NO_MODEL if attempts else "training did not finish, so there is no trained model to check these against"
    return [replace(v, earned=0.0, observed=why, hint=None) if v.earned >= 1.0 else v for v in verdicts]


def _losses_check(key: str, losses: Any, n_iters: int) -> Verdict:
    expected = f"a list of {n_iters} finite losses, the last below the first"
    if not isinstance(losses, list):
        return failed(key, expected=expected, observed=f"returned {fmt(losses)}",
                      hint="append loss.item() at every iteration and return the list")
    ok = len(losses) == n_iters and all(np.isfinite(losses)) and losses[-1] < losses[0]
    observed = (f"{len(losses)} losses, first {losses[0]:.4g}, last {losses[-1]:.4g}" if losses
                else "an empty list")
    if ok:
        return passed(key, expected=expected, observed=observed)
    hint = None
    if losses and len(losses) != n_iters:
        hint = "run exactly n_iters iterations (the argument) and record one loss each"
    elif losses and not losses[-1] < losses[0]:
        hint = "the loss does not go down: is optimizer.step() called, and zero_grad() before backward()?"
    return failed(key, expected=expected, observed=observed, hint=hint)


def _no_mse_hint(pred: Any, shapes: str) -> str:
    if isinstance(pred, np.ndarray) and pred.dtype.kind == "f" and not np.all(np.isfinite(pred)):
        return ("after training the predictions contain NaN or infinity: the loss diverged (too large a "
                "step, gradients that pile up without zero_grad(), or a log/division of zero)")
    return f"model(x) must return the predictions {shapes}"


# A correct loop leaves in .grad the gradient of its last step, about the size of one fresh
# MSE gradient (x numel for a sum-reduced loss). Without zero_grad() the .grad of every step
# piles up: the no-zero-grad example leaves 144x after 2,000 steps. Both signs are required.
_PILED_UP_HINT = ("no zero_grad() call was seen during training, and the gradients left in .grad are "
                  "{ratio:.0f} times one step's gradient: they were never reset, so every step used the "
                  "sum of all past gradients; call optimizer.zero_grad() before every loss.backward()")


def _grad_norm(grads: Any) -> float | None:
    if not isinstance(grads, list) or not grads or not all(isinstance(g, np.ndarray) for g in grads):
        return None
    try:
        return float(np.sqrt(sum(float(np.sum(g.astype(np.float64) ** 2)) for g in grads)))
    except (TypeError, ValueError):
        return None


def _leftover_ratio(out: dict) -> float | None:
    """|.grad left by the student's training| / |gradient of one fresh MSE step|, from the raw
    gradients the child sent (computed here, not there)."""
    left, fresh = _grad_norm(out.get("grads_left")), _grad_norm(out.get("grads_fresh"))
    if left is None or fresh is None or left == 0.0 or fresh == 0.0:
        return None
    return left / fresh


def _piled_up(out: dict) -> bool:
    ratio = _leftover_ratio(out)
    return out.get("zeroed") == 0 and ratio is not None and np.isfinite(ratio) and ratio > 20


# =============================================================================================
# Q2: sequence RNN
# =============================================================================================

SEQ_STRUCTURE_CODE = """
torch.manual_seed(0)
model = SequenceRNN(3, 5, 2)
with torch.no_grad():
    raw = model(xa)
    a, b = std.array(raw), std.array(model(xb))
got = std.kind(raw)
"""

SEQ_TRAIN_CODE = """
torch.manual_seed(seed)
np.random.seed(seed)
model = SequenceRNN(3, 5, 2)
zeroed, losses = std.count_zero_grads(lambda: train_sequence_rnn(model, x, y, n_iters, lr))
losses = std.floats(losses)
grads_left, grads_fresh = std.grads_left_and_fresh(model, probes.mse_loss_of(x, y))
target = y
del y  # the held-out targets never reach this process; the training ones leave before evaluation
with torch.no_grad():
    pred = std.array(model(x))
    held_pred = std.array(model(x_held))
weights = probes.weights_of(model)
probes.plot_curves(f"Q2 learning curve (grader's run, seed {seed})", [("MSE", losses)], "MSE")
probes.plot_sequences("Q2", target, pred)
"""


@item("sequence-rnn", checks={
    "shape": ("SequenceRNN maps (B, T, 3) to (B, T, 2)", 2),
    "independent": ("each sequence of the batch is processed on its own, causally in time", 3),
    "losses": ("train_sequence_rnn returns one loss per iteration", 2),
    "mse": ("MSE below the threshold after training with Adam, on the training sequences and on 4 new ones", 8)})
def sequence_rnn(ctx):
    tol = ctx.tol()
    structure, independent = _sequence_structure(ctx)
    n_iters, lr, seeds = int(tol["n_iters"]), float(tol["lr"]), list(tol["seeds"])
    max_mse = float(tol["max_mse"])
    x, y = ctx.memo("seq-train-data", lambda: tuple(
        t.numpy() for t in ctx.reference.make_sequences(8, 100, 0.1, 10)))

    # held-out sequences drawn here; their (noise-free) targets stay in this process, so the
    # error on them can only be low if the trained model computes the lags
    x_held = ctx.rng.random((4, 60, 3)).astype(np.float32)
    y_held = np.zeros((4, 60, 2))
    y_held[:, 1:, 0] = _equation(x_held.astype(np.float64), "y1", *LAGS["y1"])
    y_held[:, 3:, 1] = _equation(x_held.astype(np.float64), "y2", *LAGS["y2"])

    def mse_on(pred: Any, target: np.ndarray) -> float | None:
        if not isinstance(pred, np.ndarray) or pred.shape != target.shape or not np.all(np.isfinite(pred)):
            return None
        return float(np.mean((pred.astype(np.float64) - target) ** 2))

    def mse_of(out: dict) -> float | None:
        train, held = mse_on(out.get("pred"), y), mse_on(out.get("held_pred"), y_held)
        return None if train is None or held is None else max(train, held)

    def passes(out: dict) -> bool:
        mse = mse_of(out)
        return out.get("evidence") != "missing" and mse is not None and mse < max_mse

    def verify(out: dict) -> None:
        _verify(ctx, out, lambda forward: {"pred": [forward(x), forward(x, True)],
                                           "held_pred": [forward(x_held), forward(x_held, True)]}, n_features=3)

    # a model that mixes the sequences of a batch cannot learn them: one run is enough to show it
    attempts, stopped = _train_until_pass(
        ctx, SEQ_TRAIN_CODE, {"x": ctx.tensor(x), "y": ctx.tensor(y), "x_held": ctx.tensor(x_held),
                              "n_iters": n_iters, "lr": lr},
        ["losses", "pred", "held_pred", "grads_left", "grads_fresh", "zeroed", "weights"],
        seeds if independent else seeds[:1], float(tol["time_cap"]), passes, verify)
    yield from _gated(structure, attempts)
    ctx.note(f"sequence-rnn: trained {n_iters} iterations (tutorial: 10,000) at lr {lr} on 8 sequences "
             f"of 100 steps, up to {len(seeds)} seeds")
    if not attempts:
        yield not_checked(stopped)
        return
    last = attempts[-1]
    yield from _gated([_losses_check("losses", last.get("losses"), n_iters)], attempts)

    def describe(a: dict) -> str:
        if a.get("evidence") == "missing":
            return f"seed {a['seed']}: {_NO_MODEL}"
        if a.get("evidence") == "contradicted":
            return f"seed {a['seed']}: {a.get('mismatch')}"
        train, held = mse_on(a.get("pred"), y), mse_on(a.get("held_pred"), y_held)
        if train is None or held is None:
            bad = a.get("pred") if train is None else a.get("held_pred")
            return f"seed {a['seed']}: predictions {fmt(bad, 80)}"
        return f"seed {a['seed']}: MSE {train:.3f} on the training sequences, {held:.3f} on new ones"

    runs = "; ".join(describe(a) for a in attempts)
    expected = (f"MSE < {max_mse:g} on both after {n_iters} Adam iterations at lr {lr:g} (the reference "
                "reaches about 0.8-2.7 on both; a model without memory about 15)")
    if passes(last):
        yield passed("mse", expected=expected, observed=runs)
        return
    hint = None
    mse = mse_of(last)
    if last.get("evidence") == "contradicted":
        hint = _MISMATCH_HINT
    elif last.get("evidence") == "missing":
        hint = None
    elif not independent:
        hint = ("the model mixes the sequences of the batch, so it cannot learn their lags: "
                "nn.RNN(..., batch_first=True) for inputs shaped (B, T, 3)")
    elif mse is None:
        hint = _no_mse_hint(last.get("pred") if mse_on(last.get("pred"), y) is None else last.get("held_pred"),
                            "(B, T, 2) for x (B, T, 3)")
    elif _piled_up(last):
        hint = _PILED_UP_HINT.format(ratio=_leftover_ratio(last))
    elif (train := mse_on(last.get("pred"), y)) is not None and train < max_mse:
        hint = ("the predictions fit the training sequences but not new ones: the model must compute y from "
                "the inputs (the lags of x), not reproduce the training targets")
    elif mse > 12:
        hint = ("the error stays near what a model without memory reaches: y2(t) needs x(t-1) and x(t-3); "
                "check that the recurrent layer runs over time (batch_first=True) and that every step's "
                "hidden state is read out")
    if stopped:
        runs += f"; then {stopped}"
    yield failed("mse", expected=expected, observed=runs, hint=hint)


def _sequence_structure(ctx) -> tuple[list[Verdict], bool]:
    """Shape (2) and independence of the sequences in a batch (3), on an untrained model."""
    rng = ctx.rng
    xa = rng.random((4, 12, 3)).astype(np.float32)
    xb = xa.copy()
    xb[1, 6:] = rng.random((6, 3)).astype(np.float32)  # change sequence 2 from step 7 on
    # student code raising here (a TODO) is the item's reason, stated once by the engine
    out = _run(ctx).probe(SEQ_STRUCTURE_CODE, bind={"xa": ctx.tensor(xa), "xb": ctx.tensor(xb)},
                          want=["a", "b", "got"])
    a, b = out.get("a"), out.get("b")
    checks = []
    if isinstance(a, np.ndarray) and a.shape == (4, 12, 2) and np.all(np.isfinite(a)):
        checks.append(passed("shape", expected="(4, 12, 2)", observed=f"{a.shape}"))
    else:
        observed = f"shape {a.shape}" if isinstance(a, np.ndarray) else f"a {out.get('got')}"
        hint = ("forward must return only the predictions, not the (output, h_n) pair of nn.RNN"
                if out.get("got") == "tuple" else "apply the linear read-out to every step's hidden state")
        checks.append(failed("shape", expected="(4, 12, 2)", observed=observed, hint=hint))
    if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape
            and a.ndim == 3 and a.shape[:2] == (4, 12)):
        checks.append(failed("independent", expected="independent sequences",
                             observed="outputs not shaped (B, T, ...)"))
        return checks, True
    others = [k for k in (0, 2, 3) if not np.allclose(a[k], b[k], rtol=1e-5, atol=1e-6)]
    past = not np.allclose(a[1, :6], b[1, :6], rtol=1e-5, atol=1e-6)
    moved = not np.allclose(a[1, 6:], b[1, 6:], rtol=1e-5, atol=1e-6)
    expected = "changing sequence 2 from step 7 on changes only sequence 2, from step 7 on"
    if not moved and not others and not past:
        checks.append(failed("independent", expected=expected,
                             observed="changing the inputs of sequence 2 changed no output at all",
                             hint="the outputs must be computed from the inputs x"))
        return checks, True
    if not others and not past:
        checks.append(passed("independent", expected=expected, observed="as expected"))
        return checks, True
    if others:
        checks.append(failed(
            "independent", expected=expected,
            observed=f"the outputs of sequence(s) {', '.join(str(k + 1) for k in others)} changed too",
            hint="the recurrence runs over the batch instead of time: nn.RNN expects (T, B, features) "
                 "unless you pass batch_first=True"))
        return checks, False
    checks.append(failed("independent", expected=expected,
                         observed="outputs before step 7 changed: the future leaks into the past",
                         hint="use a one-directional RNN run forwards in time"))
    return checks, True


# =============================================================================================
# Q3: LSTM mapping
# =============================================================================================

LSTM_SHAPE_CODE = """
torch.manual_seed(0)
model = MappingLSTM(10)
with torch.no_grad():
    raw = model(xt)
out = std.array(raw)
got = std.kind(raw)
"""

LSTM_TRAIN_CODE = """
torch.manual_seed(seed)
np.random.seed(seed)
model = MappingLSTM(10)
zeroed, losses = std.count_zero_grads(lambda: train_mapping_lstm(model, n_iters, lr))
losses = std.floats(losses)
with torch.no_grad():
    train_pred = std.array(model(xtr))
    test_pred = std.array(model(xt))
weights = probes.weights_of(model)
# the targets exist in this process only from here on, after the predictions were taken
ytr = torch.tensor(YTR, dtype=torch.float32)
grads_left, grads_fresh = std.grads_left_and_fresh(model, probes.mse_loss_of(xtr, ytr))
probes.plot_curves(f"Q3 learning curve (grader's run, lr {lr}, seed {seed})", [("MSE", losses)], "MSE")
""".replace("YTR", repr(MAPPING_Y))


def _as_b4(pred: Any, batch: int) -> np.ndarray | None:
    """(B, 4) from (B, 4) or (B, 4, 1): the shape is judged separately, not twice."""
    if isinstance(pred, np.ndarray) and pred.size == batch * 4 and pred.shape[:1] == (batch,):
        return pred.reshape(batch, 4).astype(np.float64)
    return None


@item("lstm-mapping", checks={
    "shape": ("MappingLSTM maps (B, 4, 1) to (B, 4)", 2),
    "losses": ("train_mapping_lstm returns one loss per iteration", 2),
    "mse": ("training MSE on the three pairs below the threshold", 11)})
def lstm_mapping(ctx):
    tol = ctx.tol()
    xt = np.array(MAPPING_TEST, dtype=np.float32)[:, :, None]     # (2, 4, 1)
    xtr = np.array(MAPPING_X, dtype=np.float32)[:, :, None]       # (3, 4, 1)
    ytr = np.array(MAPPING_Y, dtype=np.float64)                   # (3, 4)
    out = _run(ctx).probe(LSTM_SHAPE_CODE, bind={"xt": ctx.tensor(xt)}, want=["out", "got"])
    shaped = out.get("out")
    if isinstance(shaped, np.ndarray) and shaped.shape == (2, 4) and np.all(np.isfinite(shaped)):
        shape_check = passed("shape", expected="(2, 4)", observed=str(shaped.shape))
    else:
        observed = f"shape {shaped.shape}" if isinstance(shaped, np.ndarray) else f"a {out.get('got')}"
        hint = ("squeeze the last dimension: self.fc(h).squeeze(-1)"
                if isinstance(shaped, np.ndarray) and shaped.shape == (2, 4, 1) else
                "forward must return only the predictions, not the LSTM's (output, (h, c))"
                if out.get("got") == "tuple" else None)
        shape_check = failed("shape", expected="(2, 4)", observed=observed, hint=hint)

    n_iters, lr, max_mse = int(tol["n_iters"]), float(tol["lr"]), float(tol["max_mse"])

    def mse_of(out: dict) -> float | None:
        pred = _as_b4(out.get("train_pred"), 3)
        if pred is None or not np.all(np.isfinite(pred)):
            return None
        return float(np.mean((pred - ytr) ** 2))

    def passes(out: dict) -> bool:
        mse = mse_of(out)
        return out.get("evidence") != "missing" and mse is not None and mse < max_mse

    def verify(out: dict) -> None:
        _verify(ctx, out, lambda forward: {"train_pred": [forward(xtr)[..., 0], forward(xtr, True)[..., 0]],
                                           "test_pred": [forward(xt)[..., 0], forward(xt, True)[..., 0]]},
                n_features=1)

    attempts, stopped = _train_until_pass(
        ctx, LSTM_TRAIN_CODE, {"xt": ctx.tensor(xt), "xtr": ctx.tensor(xtr), "n_iters": n_iters, "lr": lr},
        ["losses", "train_pred", "test_pred", "grads_left", "grads_fresh", "zeroed", "weights"],
        list(tol["seeds"]), float(tol["time_cap"]), passes, verify)
    yield from _gated([shape_check], attempts)
    ctx.note(f"lstm-mapping: trained {n_iters} iterations at lr {lr} (the tutorial's rate)")
    if not attempts:
        yield not_checked(stopped)
        return
    last = attempts[-1]
    yield from _gated([_losses_check("losses", last.get("losses"), n_iters)], attempts)
    runs = "; ".join(f"seed {a['seed']}: " + (
        _NO_MODEL if a.get("evidence") == "missing" else a.get("mismatch")
        if a.get("evidence") == "contradicted" else f"MSE {m:.4f}" if (m := mse_of(a)) is not None
        else f"predictions {fmt(a.get('train_pred'), 80)}") for a in attempts)
    if stopped:
        runs += f"; then {stopped}"
    expected = f"MSE < {max_mse:g} after {n_iters} iterations at lr {lr:g} (the reference reaches 0.26-0.68)"
    if passes(last):
        yield passed("mse", expected=expected, observed=runs)
    else:
        hint = None
        losses = last.get("losses")
        mse = mse_of(last)
        if last.get("evidence") == "contradicted":
            hint = _MISMATCH_HINT
        elif last.get("evidence") == "missing":
            hint = None
        elif mse is None:
            hint = _no_mse_hint(last.get("train_pred"), "(3, 4) for x of shape (3, 4, 1)")
        elif _piled_up(last):
            hint = _PILED_UP_HINT.format(ratio=_leftover_ratio(last))
        elif isinstance(losses, list) and losses and losses[-1] < max_mse <= mse:
            hint = ("your own loss is small but the real MSE is not: compute the loss on predictions and "
                    "targets of the same shape (3, 4)")
        yield failed("mse", expected=expected, observed=runs, hint=hint)
    yield _predictions_report(last.get("test_pred") if last.get("evidence") in ("verified", "unverified") else None)


def _predictions_report(pred: Any):
    """The tutorial's question, answered by the student's trained model (not scored: three
    training pairs do not pin down the rule, the tutorial's own answer is far from it)."""
    rule = [[x[0]] + [x[t] + x[t - 1] for t in range(1, 4)] for x in MAPPING_TEST]
    pred = _as_b4(pred, 2)
    lines = []
    for k, x in enumerate(MAPPING_TEST):
        got = " ".join(f"{v:.2f}" for v in pred[k]) if pred is not None else "n/a"
        lines.append(f"({' '.join(map(str, x))}) -> ({got})")
    return evidence("predictions for (1 2 3 4) and (4 5 6 7), reported (not scored)", True,
                    expected="the rule y(t) = x(t) + x(t-1): " + ", ".join(
                        f"({' '.join(map(str, r))})" for r in rule),
                    observed="; ".join(lines))


# =============================================================================================
# Q4: characters
# =============================================================================================


def _edge_strings(rng: np.random.Generator) -> list[str]:
    """Random sentences of the tutorial's words in mixed case: one longer than 40 characters,
    one of exactly 40, short ones, and an empty string."""
    def sentence(n_words: int) -> str:
        words = [EDGE_WORDS[int(i)] for i in rng.integers(0, len(EDGE_WORDS), n_words)]
        return " ".join(w.upper() if rng.random() < 0.3 else w for w in words)

    long = sentence(14)
    while len(long) <= 45:
        long += " " + sentence(3)
    exact = (sentence(10) + " " * 40)[:40].rstrip()
    exact = exact + "." * (40 - len(exact))
    return [long, exact, sentence(3), "", sentence(5) + "!"]


def _vocab_check(key: str, out: dict, ref: tuple[int, dict], hint: str) -> Verdict:
    size, table, got = out.get("size"), out.get("table"), out.get("got")
    ref_size, ref_table = ref
    expected = f"vocab_size {ref_size}, char_to_ix {fmt(ref_table, 200)}"
    if size == ref_size and table == ref_table:
        return passed(key, expected=expected, observed=f"vocab_size {size}, same char_to_ix")
    if table is None:
        return failed(key, expected=expected,
                      observed=f"vocabulary returned {got}, expected (vocab_size, char_to_ix dict)")
    problems = []
    if size != ref_size:
        problems.append(f"vocab_size {size}")
    extra = sorted(set(table) - set(ref_table))
    missing = sorted(set(ref_table) - set(table))
    if extra:
        problems.append(f"characters not expected: {''.join(extra)!r}")
    if missing:
        problems.append(f"characters missing: {''.join(missing)!r}")
    if not extra and not missing:
        wrong = [ch for ch in ref_table if table.get(ch) != ref_table[ch]]
        problems.append(f"ids differ for {''.join(wrong[:10])!r} (e.g. {wrong[0]!r}: {table.get(wrong[0])}, "
                        f"expected {ref_table[wrong[0]]})")
        hint = "sort the characters before numbering them: ids follow sorted order from 0"
    elif any(ch.isupper() for ch in extra):
        hint = "lower-case the text before collecting characters: ''.join(strings).lower()"
    return failed(key, expected=expected, observed="; ".join(problems), hint=hint)


def _ids_check(key: str, out: dict, ref: np.ndarray, strings: list[str], table: dict) -> Verdict:
    ids = out.get("ids")
    expected = f"ids of shape {ref.shape}"
    if "error" in out:
        return failed(key, expected=expected, observed=out["error"],
                      hint="lower-case each string before looking characters up" if "KeyError" in
                            out["error"] else None)
    problem = compare("ids", ids, ref, rtol=0, atol=0, check_dtype=False).problem
    if problem is None and ids.dtype.kind not in "iu":
        problem = f"'ids' has dtype {ids.dtype}, expected integer ids (torch.int64)"
    if problem is None:
        return passed(key, expected=expected, observed=f"equal ({ids.dtype})")
    hint = None
    space = table.get(" ")
    if isinstance(ids, np.ndarray) and ids.shape == ref.shape and ids.dtype.kind in "iuf":
        for row, s in enumerate(strings):
            bad = np.nonzero(ids[row] != ref[row])[0]
            if not bad.size:
                continue
            j = int(bad[0])
            if j >= len(s) and space is not None:
                hint = f"pad with the id of ' ' ({space}), not {int(ids[row, j])}"
            elif s[j:j + 1].isupper():
                hint = "lower-case each string before looking up its characters"
            problem += f"; string {row + 1} ({s!r}) first differs at position {j}"
            break
    elif isinstance(ids, np.ndarray) and ids.ndim == 2 and ids.shape[0] == ref.shape[0]:
        hint = f"truncate to max_length ({ref.shape[1]}) and pad shorter strings with spaces"
    return failed(key, expected=expected, observed=problem, hint=hint)


VOCAB_CODE = "size, table, got = probes.plain_vocab(vocabulary(strings))"
IDS_CODE = "ids = std.array(preprocess(strings, table))"
IDS_LENGTH_CODE = "ids = std.array(preprocess(strings, table, max_length))"


@item("char-vocab", checks={
    "vocab": ("vocabulary of the 11 sentences", 3),
    "vocab-mixed": ("vocabulary of mixed-case sentences", 2),
    "ids": ("preprocess of the 11 sentences", 2),
    "ids-edge": ("preprocess of long (> 40), exactly-40, short, empty and upper-case strings", 2),
    "ids-length": ("preprocess honours its max_length argument", 1)})
def char_vocab(ctx):
    ref = ctx.reference
    run = _run(ctx)
    edge = _edge_strings(ctx.rng)
    for key, strings in (("vocab", ref.data), ("vocab-mixed", edge)):
        expected = ref.vocabulary(strings)
        try:
            out = run.probe(VOCAB_CODE, bind={"strings": list(strings)}, want=["size", "table", "got"])
        except StudentRaised as exc:
            yield failed(key, expected=f"vocab_size {expected[0]}", observed=exception_text(exc))
            continue
        yield _vocab_check(key, out, expected, hint="lower-case, deduplicate and sort the characters")
    _, table = ref.vocabulary(list(ref.data) + edge + ["!."])
    length = int(ctx.rng.integers(12, 30))
    for key, strings, max_length in (("ids", ref.data, None), ("ids-edge", edge, None),
                                     ("ids-length", edge, length)):
        if max_length is None:
            expected = ref.preprocess(list(strings), table).numpy()
            code, bind = IDS_CODE, {"strings": list(strings), "table": dict(table)}
        else:
            expected = ref.preprocess(list(strings), table, max_length).numpy()
            code, bind = IDS_LENGTH_CODE, {"strings": list(strings), "table": dict(table), "max_length": max_length}
        try:
            out = run.probe(code, bind=bind, want=["ids"])
        except StudentRaised as exc:
            out = {"error": exception_text(exc)}
        verdict = _ids_check(key, out, expected, list(strings), table)
        if max_length is not None:
            verdict = replace(verdict, expected=f"{verdict.expected}, called with max_length={length}")
            if not verdict.earned and isinstance(out.get("ids"), np.ndarray) \
                    and out["ids"].ndim == 2 and out["ids"].shape[1] == 40:
                verdict = replace(verdict, hint=f"preprocess ignores its max_length argument: it returned 40 columns "
                                                f"for max_length={length}; truncate and pad to max_length, not to 40")
        yield verdict


# =============================================================================================
# Q4: sentiment GRU
# =============================================================================================

GRU_STRUCTURE_CODE = """
torch.manual_seed(0)
model = SentimentGRU(vocab_size, 10, 0.7)
mods = probes.modules_of(model)
model.train()
with torch.no_grad():
    raw = model(x)
    a, b = std.array(raw), std.array(model(x))
    c, d = std.array(model(x, drop_rate=0)), std.array(model(x, drop_rate=0))
got = std.kind(raw)
try:
    effect = probes.gru_effect(model, x, effect_seed)
except Exception as exc:
    effect = (None, [], None)
    effect_error = f"{type(exc).__name__}: {exc}"[:300]
logits0, gru_grads, logits_moved = effect
"""

GRU_TRAIN_CODE = """
torch.manual_seed(seed)
np.random.seed(seed)
model = SentimentGRU(vocab_size, 10, 0.7)
model.train()
result = train_sentiment(model, x, targets, n_epochs, lr)
costs, accs, got = std.pair(result)
costs = std.floats(costs) if costs is not None else None
accs = std.floats(accs) if accs is not None else None
del targets  # measured on the sentences in an order drawn by the grader, which keeps the labels
model.eval()
with torch.no_grad():
    train_logits = std.array(model(x_shuffled, drop_rate=0))
    test_logits = std.array(model(x_test, drop_rate=0))
weights = probes.weights_of(model)
probes.plot_curves(f"Q4 cost and accuracy (grader's run, seed {seed})",
                   [("cost", costs), ("accuracy", accs)], "cost / accuracy", "epoch")
"""


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


@item("gru-sentiment", checks={
    "gru": ("a real nn.GRU with 10 units, run by forward", 5),
    "dropout": ("dropout at the hidden layer: outputs vary in train mode, not with drop_rate=0", 5),
    "accuracy": ("training accuracy on the 11 sentences (drop_rate=0) reaches the threshold", 8),
    "probs": ("test probabilities: a distribution over 2 classes for each test sentence", 2)})
def gru_sentiment(ctx):
    tol = ctx.tol()
    ref = ctx.reference
    vocab_size, table = ref.vocabulary(ref.data)
    x = ref.preprocess(ref.data, table).numpy()
    x_test = ref.preprocess(ref.test_data, table).numpy()
    targets = np.array(ref.targets, dtype=np.int64)
    bind = {"vocab_size": vocab_size, "x": ctx.tensor(x)}
    structure = _gru_structure(ctx, bind)
    order = ctx.rng.permutation(len(targets))
    shuffled_targets = targets[order]

    n_epochs, lr, min_acc = int(tol["n_epochs"]), float(tol["lr"]), float(tol["min_accuracy"])

    def accuracy(out: dict) -> float | None:
        logits = out.get("train_logits")
        if not isinstance(logits, np.ndarray) or logits.shape != (len(targets), 2) or \
                not np.all(np.isfinite(logits)):
            return None
        return float(np.mean(logits.argmax(1) == shuffled_targets))

    def passes(out: dict) -> bool:
        acc = accuracy(out)
        return out.get("evidence") != "missing" and acc is not None and acc >= min_acc

    def read_outs(forward: Callable, ids: np.ndarray) -> list:
        # the last step's output (the final hidden state, as the tutorial), or the mean over the steps;
        # and the same for a layer without batch_first fed (B, L) ids
        every, mixed = forward(ids), forward(ids, True)
        return [every[:, -1], every.mean(axis=1), mixed[-1], mixed.mean(axis=0)]

    def logit_forms(logits: np.ndarray) -> list:
        # a forward may return probabilities or log-probabilities instead of logits
        z = logits - logits.max(axis=1, keepdims=True)
        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return [np.exp(log_p), log_p]

    def verify(out: dict) -> None:
        _verify(ctx, out, lambda forward: {"train_logits": read_outs(forward, x[order]),
                                           "test_logits": read_outs(forward, x_test)},
                n_features=vocab_size, ids=True, alternatives=logit_forms, keep=("test_logits",))

    attempts, stopped = _train_until_pass(
        ctx, GRU_TRAIN_CODE, {**bind, "x_test": ctx.tensor(x_test), "targets": ctx.tensor(targets),
                              "x_shuffled": ctx.tensor(x[order]), "n_epochs": n_epochs, "lr": lr},
        ["costs", "accs", "got", "train_logits", "test_logits", "weights"], list(tol["seeds"]),
        float(tol["time_cap"]), passes, verify)
    yield from _gated(structure, attempts)
    ctx.note(f"gru-sentiment: trained {n_epochs} epochs (tutorial: 2,000) at lr {lr}; accuracy measured "
             "in eval mode with drop_rate=0")
    if not attempts:
        yield not_checked(stopped)
        return
    last = attempts[-1]
    runs = "; ".join(f"seed {a['seed']}: " + (
        _NO_MODEL if a.get("evidence") == "missing" else _unverified_accuracy(a, accuracy)
        if a.get("evidence") == "contradicted" else f"accuracy {acc:.3f}" if (acc := accuracy(a)) is not None
        else f"logits {fmt(a.get('train_logits'), 80)}") for a in attempts)
    if stopped:
        runs += f"; then {stopped}"
    expected = f"accuracy >= {min_acc:g} after {n_epochs} epochs"
    if passes(last):
        yield passed("accuracy", expected=expected, observed=runs)
    else:
        hint = (_MISMATCH_HINT if last.get("evidence") == "contradicted" else None
                if last.get("evidence") == "missing" else
                "forward must return (B, 2) logits" if accuracy(last) is None else
                "train with Adam on nn.CrossEntropyLoss over the logits (targets are class ids); "
                "check that optimizer.step() runs every epoch")
        yield failed("accuracy", expected=expected, observed=runs, hint=hint)
    yield from _gated([_probs_check("probs", last.get("test_logits"), ref.test_data)], attempts)


def _unverified_accuracy(attempt: dict, accuracy: Callable[[dict], float | None]) -> str:
    """The mismatch, and what the reported logits would have scored (not counted)."""
    acc = accuracy({"train_logits": (attempt.get("reported") or {}).get("train_logits")})
    return str(attempt.get("mismatch")) + (f"; the reported logits give accuracy {acc:.3f} (not counted)"
                                           if acc is not None else "")


def _probs_check(key: str, logits: Any, sentences: list[str]) -> Verdict:
    if not (isinstance(logits, np.ndarray) and logits.shape == (2, 2) and np.all(np.isfinite(logits))):
        observed = f"shape {logits.shape}" if isinstance(logits, np.ndarray) else fmt(logits)
        return failed(key, expected="finite logits of shape (2, 2)", observed=observed)
    values = logits.astype(np.float64)
    if _are_probabilities(values):
        probs, how = values, "forward already returns probabilities (shown as they are)"
    else:
        probs, how = _softmax(values), "softmax of the logits"
    lines = "; ".join(f"{s!r}: negative {p[0]:.4f}, positive {p[1]:.4f}" for s, p in zip(sentences, probs))
    return passed(key, expected="softmax(model(x_test, drop_rate=0)) rows sum to 1",
                  observed=f"{lines} ({how})")


def _are_probabilities(values: np.ndarray) -> bool:
    """Rows that are already a distribution: non-negative and summing to 1 (logits almost never are)."""
    return bool(np.all(values >= 0) and np.allclose(values.sum(axis=1), 1.0, rtol=0, atol=1e-4))


def _gru_used(out: dict) -> tuple[bool, str]:
    """Whether the GRU takes part in forward, judged by effect, here: its weights receive
    gradients from a backward through the logits, and moving its weights moves the logits."""
    if out.get("effect_error"):
        return False, f"forward(x, drop_rate=0) in eval mode raised {out['effect_error']}"
    logits, grads, moved = out.get("logits0"), out.get("gru_grads"), out.get("logits_moved")
    if not isinstance(logits, np.ndarray) or not isinstance(moved, np.ndarray) or logits.shape != moved.shape:
        return False, "forward did not return a tensor of logits"
    grad_norm = _grad_norm(grads) if isinstance(grads, list) and grads else 0.0
    grad_norm = 0.0 if grad_norm is None or not np.isfinite(grad_norm) else grad_norm
    change = float(np.max(np.abs(moved.astype(np.float64) - logits.astype(np.float64)))) if logits.size else 0.0
    if not np.isfinite(change):
        change = 0.0
    said = (f"its weights {'receive' if grad_norm > 0 else 'receive no'} gradient from the logits "
            f"(norm {grad_norm:.3g}); moving them changes the logits by up to {change:.3g}")
    return grad_norm > 0 and change > 1e-6, said


def _gru_structure(ctx, bind: dict) -> list[Verdict]:
    out = _run(ctx).probe(GRU_STRUCTURE_CODE, bind={**bind, "effect_seed": int(ctx.rng.integers(0, 2**31))},
                          want=["mods", "a", "b", "c", "d", "got", "logits0", "gru_grads", "logits_moved",
                                "effect_error"])
    mods = [m for m in out.get("mods") or [] if isinstance(m, dict)]
    grus = [m for m in mods if m.get("is_gru")]
    listing = ", ".join(f"{m.get('name')}: {str(m.get('type')).rsplit('.', 1)[-1]}" for m in mods[1:8])
    used, effect = _gru_used(out)
    checks = []
    if grus and all(m.get("hidden_size") == 10 for m in grus) and used:
        checks.append(passed("gru", expected="nn.GRU, hidden_size 10, part of forward",
                             observed=f"{grus[0].get('name')}: GRU(hidden_size=10); {effect}"))
    else:
        if not grus:
            problem, hint = f"no nn.GRU among the modules ({listing or 'none'})", \
                "use torch.nn.GRU (a hand-written cell or another RNN type does not count here)"
        elif any(m.get("hidden_size") != 10 for m in grus):
            problem = "GRU hidden_size " + ", ".join(str(m.get("hidden_size")) for m in grus)
            hint = "the question asks for 10 GRU units: nn.GRU(input_size, hidden_size=10)"
        else:
            problem, hint = (f"the nn.GRU does not take part in forward: {effect}",
                             "run the characters through self.gru and compute the logits from its output")
        checks.append(failed("gru", expected="nn.GRU, hidden_size 10, part of forward",
                             observed=problem, hint=hint))
    a, b, c, d = (out.get(k) for k in "abcd")
    if not all(isinstance(v, np.ndarray) and v.shape == (11, 2) for v in (a, b, c, d)):
        shapes = ", ".join(str(v.shape) if isinstance(v, np.ndarray) else fmt(v, 40) for v in (a, c))
        checks.append(failed("dropout", expected="(11, 2) logits", observed=f"outputs {shapes}",
                             hint="forward(x, drop_rate=None) must return (B, 2) logits"))
        return checks
    varies, steady = not np.allclose(a, b), np.array_equal(c, d)
    observed = (f"two train-mode calls at the default rate {'differ' if varies else 'are identical'}; "
                f"with drop_rate=0 they {'are identical' if steady else 'differ'}")
    if varies and steady:
        checks.append(passed("dropout", expected="vary at 0.7, identical at 0", observed=observed))
    elif not varies:
        checks.append(failed(
            "dropout", expected="vary at 0.7, identical at 0", observed=observed,
            hint="no dropout acts in training mode: nn.GRU(dropout=...) only acts between stacked layers; "
                 "apply F.dropout(h, p=drop_rate, training=self.training) to the GRU's hidden output"))
    else:
        checks.append(failed(
            "dropout", expected="vary at 0.7, identical at 0", observed=observed,
            hint="forward ignores its drop_rate argument: use F.dropout(h, p=rate, training=self.training) "
                 "with rate = self.drop_rate if drop_rate is None else drop_rate"))
    return checks
