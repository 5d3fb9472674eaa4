"""lab7-inclass checks (trusted side). Observations come from the sandboxed run of the
student's script; every expected value is computed here, on inputs drawn here."""
from __future__ import annotations

import ast
import re

import numpy as np

from grader.checks import Check, StudentRaised, array_problem, fmt, item

PRELUDE = "probes.install(ns, child)"
PARAMS = ("W", "U", "b", "W_out", "b_out")
TEST_SENTENCES = [["The", "movie", "is", "bad"], ["The", "movie", "is", "good"]]
EXPECTED_LABELS = [0, 1]
# the handout prints `Sentence: [...] → Prediction: N`; students write ->, =>, join the
# words, or print the tensor itself (`Prediction: tensor(1)`)
PRINTED = re.compile(r"Sentence\s*:?\s*(.*?)\s*(?:→|->|=>|:|,)?\s*Predict\w*\s*[:=]\s*(?:tensor\()?\s*(-?\d+)",
                     re.IGNORECASE)


# -- shared observations ---------------------------------------------------------------


def _run(ctx):
    return ctx.run("main", prelude=PRELUDE)


def _recording(ctx) -> dict | None:
    if "recording" not in ctx.local:
        out = _run(ctx).probe("summary = probes.finish(child.ns)\nn = child.ns.get('n')\nm = child.ns.get('m')",
                              want=["summary", "n", "m"])
        ctx.local["recording"] = out.get("summary")
        ctx.local["n"] = out.get("n") if isinstance(out.get("n"), int) and 0 < out.get("n") < 64 else 2
        ctx.local["m"] = out.get("m") if isinstance(out.get("m"), int) and 0 < out.get("m") < 64 else 5
    return ctx.local["recording"]


def _sizes(ctx) -> tuple[int, int]:
    _recording(ctx)
    return ctx.local["n"], ctx.local["m"]


def _assignments(ctx, target: str) -> list[tuple[str, int]]:
    """The student's statements `target = <expression>` (not the `= None` TODO, not a
    reshape of itself such as `logits = logits.view(1, -1)`), distinct, in order."""
    tree = ctx.tree("main")
    found, seen = [], set()
    for node in ast.walk(tree) if tree else []:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name) and node.targets[0].id == target):
            continue
        if isinstance(node.value, ast.Constant) and node.value.value is None:
            continue
        if any(isinstance(n, ast.Name) and n.id == target for n in ast.walk(node.value)):
            continue
        text = ast.unparse(node)
        if text not in seen:
            seen.add(text)
            found.append((text, node.lineno))
    # `logits = classify(sentence).view(1, -1)` calls the real computation elsewhere:
    # where statements use the parameters themselves, those are the ones to judge
    core = {"s_t": {"W", "U"}, "logits": {"W_out"}}.get(target, set())
    direct = [f for f in found if core & {n.id for n in ast.walk(ast.parse(f[0])) if isinstance(n, ast.Name)}]
    return sorted(direct or found, key=lambda s: s[1])


def _unknown_names(statement: str) -> list[str]:
    names = {n.id for n in ast.walk(ast.parse(statement)) if isinstance(n, ast.Name)
             and isinstance(n.ctx, ast.Load)}
    return sorted(names - set(PARAMS) - {"s_prev", "s_t", "torch", "np", "F", "nn"})


def _roles(statement: str) -> dict[str, str]:
    """Names multiplied by W are the state, names multiplied by U the input: how a
    statement inside a helper (`def step(x, h): s_t = tanh(W @ h + U @ x + b)`) is bound."""
    roles = {}
    for node in ast.walk(ast.parse(statement)):
        pair = None
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
            pair = (node.left, node.right)
        elif isinstance(node, ast.Call) and len(node.args) == 2 and isinstance(node.func, ast.Attribute) \
                and node.func.attr in ("mm", "matmul"):
            pair = (node.args[0], node.args[1])
        elif isinstance(node, ast.Call) and len(node.args) == 1 and isinstance(node.func, ast.Attribute) \
                and node.func.attr in ("mm", "matmul"):
            pair = (node.func.value, node.args[0])
        if pair and isinstance(pair[0], ast.Name) and isinstance(pair[1], ast.Name):
            if pair[0].id in ("W", "W_out"):
                roles[pair[1].id] = "s"
            elif pair[0].id == "U":
                roles[pair[1].id] = "x"
    return roles


def _input_plan(ctx, statement: str) -> dict:
    """How to bind each name of a statement that is not a parameter: 'x' (the input
    vector), 'xs' (a list of inputs, indexed by the loop), 's' (the previous state)."""
    n, m = _sizes(ctx)
    names = _unknown_names(statement)
    out = _run(ctx).probe(
        "import torch\nplan = {}\n"
        "for name in names:\n"
        "    v = child.ns.get(name)\n"
        "    if roles.get(name) == 's' and (v is None or isinstance(v, torch.Tensor)):\n"
        "        plan[name] = 's'\n"
        "    elif isinstance(v, torch.Tensor) and v.numel() == m and v.dim() <= 2:\n"
        "        plan[name] = 'x'\n"
        "    elif isinstance(v, (list, tuple)) and v and all(isinstance(e, torch.Tensor) and e.numel() == m for e in v):\n"
        "        plan[name] = 'xs'\n"
        "    elif name not in child.ns and name not in dir(__builtins__) and roles.get(name, 'x') == 'x':\n"
        "        plan[name] = 'x'  # a local of a helper function: the input it multiplies U by\n",
        bind={"names": names, "m": m, "roles": _roles(statement)}, want=["plan"])
    return out.get("plan") or {}


def _row(*names: str) -> str:
    return ", ".join(names)


# -- 1. init-weights ---------------------------------------------------------------------


@item("init-weights")
def init_weights(ctx):
    run = _run(ctx)
    n, m = _sizes(ctx)
    rec = _recording(ctx)
    facts = rec.get("init") if isinstance(rec, dict) else None
    when = "at the first loss.backward()"
    if not isinstance(facts, dict):
        facts = run.probe("facts = {k: probes.describe(child.ns.get(k)) for k in probes.PARAMS}",
                          want=["facts"]).get("facts") or {}
        when = "when the script stopped (no backward() ran)"
    shapes = {"W": (n, n), "U": (n, m), "b": (n, 1), "W_out": (2, n), "b_out": (2, 1)}
    return [_shapes_check(facts, shapes, when), _leaf_check(facts), _values_check(facts)]


def _shapes_check(facts: dict, shapes: dict, when: str) -> Check:
    problems, hint = [], None
    for name, shape in shapes.items():
        fact = facts.get(name) or {}
        if not fact.get("is_tensor"):
            problems.append(f"{name} is {fact.get('type', 'missing')}, not a tensor")
            continue
        got = tuple(fact.get("shape", ()))
        if got != shape:
            problems.append(f"{name} has shape {got}, expected {shape}")
            if got == shape[::-1]:
                hint = f"{name} is transposed: it must map a {shape[1]}-vector to a {shape[0]}-vector, shape {shape}"
    expected = "; ".join(f"{k} {v}" for k, v in shapes.items())
    if problems:
        return Check.failed("the five parameters exist with the right shapes", 2, expected=expected,
                            observed=f"{'; '.join(problems)} ({when})",
                            hint=hint or "use n for the hidden size and m = len(vocab) for the input size")
    return Check.ok("the five parameters exist with the right shapes", 2, expected=expected,
                    observed=f"all five as expected ({when})")


def _leaf_check(facts: dict) -> Check:
    problems, hints = [], []
    for name in PARAMS:
        fact = facts.get(name) or {}
        if not fact.get("is_tensor"):
            problems.append(f"{name} missing")
            continue
        if not fact.get("floating"):
            problems.append(f"{name} has dtype {fact.get('dtype')}")
            hints.append("parameters must be floating point (torch.randn gives float32)")
        if not fact.get("requires_grad"):
            problems.append(f"{name} has requires_grad=False")
            hints.append("create parameters with requires_grad=True, or call .requires_grad_() on them")
        elif not fact.get("is_leaf"):
            problems.append(f"{name} is not a leaf tensor")
            hints.append("`torch.randn(..., requires_grad=True) * 0.01` makes a NEW, non-leaf tensor whose .grad "
                         "stays None; scale first, then call .requires_grad_(): "
                         "`(torch.randn(n, n) * 0.01).requires_grad_()`")
    name = "floating-point leaf tensors with requires_grad=True"
    if problems:
        return Check.failed(name, 2, expected="every parameter a float leaf tensor requiring grad",
                            observed="; ".join(problems), hint=" ".join(dict.fromkeys(hints)))
    return Check.ok(name, 2, expected="float leaf tensors requiring grad", observed="all five")


def _values_check(facts: dict) -> Check:
    problems, hint = [], None
    for name in PARAMS:
        values = (facts.get(name) or {}).get("values")
        if not isinstance(values, np.ndarray):
            problems.append(f"{name} has no values")
            continue
        if not np.all(np.isfinite(values)):
            problems.append(f"{name} contains NaN or infinity")
        elif name in ("W", "U", "W_out") and not np.any(values):
            problems.append(f"{name} is all zeros")
            hint = ("all-zero weights make every hidden unit identical and keep the gradients of W and U at "
                    "zero (nothing flows back through W_out = 0): initialise weights randomly, e.g. torch.randn")
    name = "finite, and W, U, W_out not all zero"
    if problems:
        return Check.failed(name, 1, expected="random finite values", observed="; ".join(problems), hint=hint)
    return Check.ok(name, 1, expected="random finite values", observed="finite, non-zero")


# -- 2. forward ---------------------------------------------------------------------------------


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


@item("forward")
def forward(ctx):
    run = _run(ctx)
    n, m = _sizes(ctx)
    rng = ctx.rng
    f32 = np.float32
    W, U = rng.standard_normal((n, n)).astype(f32), rng.standard_normal((n, m)).astype(f32)
    b, s_prev = rng.standard_normal((n, 1)).astype(f32), rng.uniform(-1, 1, (n, 1)).astype(f32)
    x = rng.standard_normal((m, 1)).astype(f32)  # dense, so each weight matters
    W_out, b_out = rng.standard_normal((2, n)).astype(f32), rng.standard_normal((2, 1)).astype(f32)
    s_T = np.tanh(rng.standard_normal((n, 1))).astype(f32)
    z = W @ s_prev + U @ x + b
    expected_s = np.tanh(z).astype(f32)
    tol = ctx.tol()
    yield _state_check(ctx, run, dict(W=W, U=U, b=b, s_prev=s_prev), x, expected_s, {
        "sigmoid used instead of tanh": _sigmoid(z), "ReLU used instead of tanh": np.maximum(z, 0),
        "no activation (tanh missing)": z, "the bias b is missing": np.tanh(W @ s_prev + U @ x),
        "W is transposed (W.T @ s_prev)": np.tanh(W.T @ s_prev + U @ x + b),
        "the previous state s_prev is ignored": np.tanh(U @ x + b),
        "the input x_t is ignored": np.tanh(W @ s_prev + b)}, tol)
    expected_l = (W_out @ s_T + b_out).astype(f32)
    shifted = expected_l - expected_l.max()
    yield _logits_check(ctx, run, dict(W_out=W_out, b_out=b_out), s_T, expected_l, {
        "the bias b_out is missing": W_out @ s_T, "W_out is transposed": W_out.T @ s_T + b_out,
        "softmax applied to the logits (CrossEntropyLoss expects raw scores)":
            np.exp(shifted) / np.exp(shifted).sum()}, tol)


def _diagnose(observed: np.ndarray, alternatives: dict, tol: dict) -> str | None:
    for why, value in alternatives.items():
        value = np.asarray(value, dtype=np.float64).reshape(-1)
        if observed.size == value.size and np.allclose(observed.reshape(-1), value, **tol):
            return f"likely mistake: {why}"
    return None


def _state_check(ctx, run, params: dict, x: np.ndarray, expected: np.ndarray, alternatives: dict, tol: dict):
    name = "s_t = tanh(W s_prev + U x_t + b)"
    statements = _assignments(ctx, "s_t")
    if not statements:
        return Check.failed(name, 3, expected="a statement computing s_t",
                            observed="no assignment to s_t other than the TODO `s_t = None`",
                            hint="fill in the TODO: s_t = torch.tanh(W @ s_prev + U @ x_t + b)")
    for statement, lineno in statements:
        plan = _input_plan(ctx, statement)
        bind = {k: ctx.tensor(v) for k, v in params.items()}
        for var, kind in plan.items():
            bind[var] = {"x": ctx.tensor(x), "xs": [ctx.tensor(x)] * 8, "s": bind["s_prev"]}[kind]
        observed = _exec_statement(run, ctx, statement, lineno, bind, "s_t")
        where = f"line {lineno}: `{statement}`"
        if isinstance(observed, str):
            return Check.failed(name, 3, expected=fmt(expected), observed=f"{where} raised {observed}",
                                hint="the statement must work with any W, U, b, s_prev and x_t of the handout's shapes")
        problem, hint = array_problem("s_t", observed, expected, check_dtype=False, **tol)
        if problem and isinstance(observed, np.ndarray) and observed.size == expected.size \
                and observed.shape in ((expected.shape[0],),):
            problem, hint = array_problem("s_t", observed.reshape(expected.shape), expected, check_dtype=False, **tol)
        if problem:
            diag = _diagnose(observed, alternatives, tol) if isinstance(observed, np.ndarray) else None
            return Check.failed(name, 3, expected=fmt(expected),
                                observed=f"{where}\n{problem}\n{fmt(observed)}", hint=diag or hint)
    lines = ", ".join(str(line) for _, line in statements)
    return Check.ok(name, 3, expected=fmt(expected), observed=f"matches (line {lines}) on grader-chosen W, U, b, s_prev, x_t")


def _logits_check(ctx, run, params: dict, s_T: np.ndarray, expected: np.ndarray, alternatives: dict, tol: dict):
    name = "logits = W_out s_T + b_out"
    statements = _assignments(ctx, "logits")
    if not statements:
        return Check.failed(name, 2, expected="a statement computing logits",
                            observed="no assignment to logits other than the TODO `logits = None`",
                            hint="fill in the TODO: logits = W_out @ s_t + b_out")
    for statement, lineno in statements:
        bind = {k: ctx.tensor(v) for k, v in params.items()}
        bind.update(s_t=ctx.tensor(s_T), s_prev=ctx.tensor(s_T))  # some compute it from s_prev
        for var, kind in _input_plan(ctx, statement).items():
            if kind == "s":
                bind[var] = ctx.tensor(s_T)  # a helper's own name for the last state
        observed = _exec_statement(run, ctx, statement, lineno, bind, "logits")
        where = f"line {lineno}: `{statement}`"
        if isinstance(observed, str):
            return Check.failed(name, 2, expected=fmt(expected), observed=f"{where} raised {observed}")
        flat = observed.reshape(-1) if isinstance(observed, np.ndarray) and observed.size == 2 else observed
        problem, hint = array_problem("logits", flat, expected.reshape(-1), check_dtype=False, **tol)
        if problem:
            diag = _diagnose(observed, alternatives, tol) if isinstance(observed, np.ndarray) else None
            return Check.failed(name, 2, expected=fmt(expected), observed=f"{where}\n{problem}\n{fmt(observed)}",
                                hint=diag or hint)
    return Check.ok(name, 2, expected=fmt(expected), observed="matches on grader-chosen W_out, b_out, s_T")


def _exec_statement(run, ctx, statement: str, lineno: int, bind: dict, target: str):
    """The observed value, or a one-line description of the exception it raised."""
    try:
        out = run.probe("value = probes.run_statement(child.ns, statement, lineno, filename, bind, [target])[target]",
                        bind={"statement": statement, "lineno": lineno, "filename": ctx.unit("main").filename,
                              "bind": bind, "target": target}, want=["value"])
    except StudentRaised as exc:
        return f"{exc.error.type}: {exc.error.message}"
    return out.get("value")


# -- 3. manual-sgd ----------------------------------------------------------------------------


@item("manual-sgd")
def manual_sgd(ctx):
    _run(ctx)
    rec = _recording(ctx)
    if not isinstance(rec, dict) or not rec.get("backwards"):
        yield Check.failed("each parameter becomes p - learning_rate * p.grad", 3,
                           expected="training steps: backward() then an update",
                           observed="loss.backward() never ran, so no training step was completed",
                           hint="the training loop must reach loss.backward() and the update")
        yield Check.failed("gradients reset between steps", 2, expected="grads zeroed after each update",
                           observed="no completed step")
        return
    tol = ctx.tol()
    yield _update_check(rec, tol)
    yield _reset_check(rec)


def _update_check(rec: dict, tol: dict) -> Check:
    name = "each parameter becomes p - learning_rate * p.grad"
    updates = rec.get("updates") or {}
    counts = rec.get("update_counts") or {}
    if not any(counts.get(p) for p in PARAMS):
        return Check.failed(name, 3, expected="the parameters change after each backward()",
                            observed="no parameter ever changed: no completed step",
                            hint="inside `with torch.no_grad():` write `W -= learning_rate * W.grad` for each parameter")
    grad_max = rec.get("grad_max") or {}
    problems, hints, checked = [], [], 0
    for p in PARAMS:
        events = _events(updates.get(p))
        if not events and not grad_max.get(p):
            continue  # a parameter with no gradient stays put under a correct update too
        if not events:
            problems.append(f"{p} is never updated")
            hints.append(f"add `{p} -= learning_rate * {p}.grad` to the update")
            continue
        bad = _first_bad_update(events, tol)
        checked += len(events)
        if bad is not None:
            before, after, grad, lr = bad
            expected = before - np.float32(lr) * grad
            problems.append(f"{p}: after an update it is {fmt(after)}, expected {fmt(expected)} "
                            f"(= before - {lr:g} * grad)")
            hints.append(_update_hint(before, after, grad, lr))
    if problems:
        return Check.failed(name, 3, expected="p_new = p - learning_rate * p.grad for W, U, b, W_out, b_out",
                            observed="; ".join(problems), hint=" ".join(h for h in dict.fromkeys(hints) if h))
    return Check.ok(name, 3, expected="p_new = p - learning_rate * p.grad",
                    observed=f"{checked} observed parameter updates all follow the rule")


def _first_bad_update(events: list[tuple], tol: dict) -> tuple | None:
    """The first update that is not before - lr * grad (float32), judged all at once."""
    usable = [e for e in events if e[3] is not None and np.all(np.isfinite(e[2]))]
    if not usable:
        return None
    before = np.stack([e[0] for e in usable]).astype(np.float32)
    after = np.stack([e[1] for e in usable])
    grad = np.stack([e[2] for e in usable]).astype(np.float32)
    lr = np.array([e[3] for e in usable], dtype=np.float32).reshape((-1,) + (1,) * (before.ndim - 1))
    ok = np.isclose(after, before - lr * grad, **tol).reshape(len(usable), -1).all(axis=1)
    return None if ok.all() else usable[int(np.argmin(ok))]


def _events(stacked) -> list[tuple]:
    """(before, after, grad, lr) per observed update of one parameter."""
    if not isinstance(stacked, dict):
        return []
    arrays = [stacked.get(k) for k in ("before", "after", "grad")]
    lrs = stacked.get("lr") if isinstance(stacked.get("lr"), list) else []
    if not all(isinstance(a, np.ndarray) for a in arrays) or len({len(a) for a in arrays}) != 1:
        return []
    return [(arrays[0][i], arrays[1][i], arrays[2][i], lrs[i] if i < len(lrs) and isinstance(lrs[i], float) else None)
            for i in range(len(arrays[0]))]


def _update_hint(before, after, grad, lr) -> str | None:
    if np.allclose(after, before + lr * grad, rtol=1e-4, atol=1e-6):
        return "the sign is flipped: p + lr * grad climbs the loss (gradient ascent); subtract the gradient"
    mask = np.abs(grad) > 1e-8
    if mask.any():
        step = np.median((before - after)[mask] / grad[mask])
        if np.isfinite(step) and abs(step) > 0 and not np.isclose(step, lr, rtol=1e-3):
            return f"the update used a step of {step:.4g} instead of learning_rate = {lr:g}"
    return None


def _reset_check(rec: dict) -> Check:
    name = "gradients reset between steps"
    resets = [r for r in rec.get("resets") or [] if isinstance(r, dict)]
    if not resets:
        return Check.failed(name, 2, expected="a second step after an update",
                            observed="fewer than two completed training steps")
    for leftovers in resets:
        stale = [p for p in PARAMS if isinstance(leftovers.get(p), float) and leftovers[p] > 0]
        if stale:
            return Check.failed(name, 2, expected="every .grad zero (or None) before the next backward()",
                                observed=f"before a later backward(), {_row(*stale)} still held the previous "
                                         f"step's gradient (largest |grad| {max(leftovers[p] for p in stale):.3g})",
                                hint="gradients never zeroed: backward() adds to .grad, so each step used the sum of "
                                     "all previous gradients; call p.grad.zero_() after each update")
    return Check.ok(name, 2, expected="grads zero before each backward()",
                    observed=f"reset before all {len(resets)} observed later steps")


# -- 4. predictions -----------------------------------------------------------------------------


@item("predictions")
def predictions(ctx):
    run = _run(ctx)
    n, _ = _sizes(ctx)
    states, logits = _assignments(ctx, "s_t"), _assignments(ctx, "logits")
    model_name = "the trained model predicts 'bad' -> 0 and 'good' -> 1"
    if not states or not logits:
        yield Check.failed(model_name, 3, expected="predictions [0, 1]",
                           observed="the forward statements (s_t, logits) are still TODOs")
    else:
        state, logit = states[-1], logits[-1]  # the test loop's own statements
        plan = _input_plan(ctx, state[0])
        logits_plan = {k: v for k, v in _input_plan(ctx, logit[0]).items() if v == "s"}
        try:
            out = run.probe("values = probes.predict(child.ns, state, logit, filename, plan, sentences, n, lplan)",
                            bind={"state": list(state), "logit": list(logit), "plan": plan, "lplan": logits_plan,
                                  "filename": ctx.unit("main").filename, "sentences": TEST_SENTENCES, "n": n},
                            want=["values"])
            values = out.get("values") or []
        except StudentRaised as exc:
            values, error = [], exc.error.one_line()
        else:
            error = None
        predicted = [int(np.argmax(v)) if isinstance(v, np.ndarray) and v.size == 2 else None for v in values]
        if error or predicted != EXPECTED_LABELS:
            yield Check.failed(model_name, 3, expected=f"predictions {EXPECTED_LABELS} for the bad and good sentences",
                               observed=error or f"predictions {predicted} (logits {fmt(values)})",
                               hint="check the forward pass and that training lowered the loss")
        else:
            yield Check.ok(model_name, 3, expected=str(EXPECTED_LABELS), observed=str(predicted))
    yield _printed_check(run.stdout)


def _printed_check(stdout: str) -> Check:
    name = "the printed predictions say bad -> 0 and good -> 1"
    printed = {}
    for sentence, label in PRINTED.findall(stdout or ""):
        key = "bad" if "bad" in sentence else "good" if "good" in sentence else None
        if key:
            printed[key] = int(label)
    observed = {k: printed.get(k) for k in ("bad", "good")}
    expected = "Sentence: [...'bad'] -> Prediction: 0 and Sentence: [...'good'] -> Prediction: 1"
    if observed == {"bad": 0, "good": 1}:
        return Check.ok(name, 2, expected=expected, observed=str(observed))
    return Check.failed(name, 2, expected=expected,
                        observed=f"printed {observed}" if printed else "no 'Sentence: ... Prediction: N' lines printed",
                        hint="the test loop must print f\"Sentence: {test_sentence} → Prediction: {prediction.item()}\"")
