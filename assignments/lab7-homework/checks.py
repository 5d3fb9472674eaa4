"""lab7-homework checks (trusted side).

The student's script runs once in the sandbox, with MNIST placed where torchvision looks and,
in budget mode, its training capped (probes.install_budget). Every expected value is
computed here: the LSTM cell is compared with the reference under weights drawn here, and
the accuracy is the grader's own count over the predictions of the student's `model` on
5,000 MNIST test images the run never sees (the grader's labels are not sent with them).

The test set is split per batch (data.mnist_test_split, seeded by the batch seed): the run's
./data/MNIST/raw/t10k-* files hold one half, images and labels, for the student's own testing
loop and plots; the other half never enters the run. Student code can read the run's labels
(torchvision needs them) and answer any probe with them, so predictions on the run's half
prove nothing: the tiered accuracy is counted on the hidden half only. The testing-loop item
compares the printed figure with the grader's count on the run's half (the images and labels
the student's loop used), and refuses it when that half scores far above the hidden one (a
lookup of the run's labels, or a model trained on the test files).

Trust: the helpers that drive the student's cell and model in the child (observe.py) are
sent with each probe, so no student code can have patched them; they return raw values
(outputs on grader-chosen inputs and weights, raw gradients, predicted digits) and every
verdict is drawn here. probes.py (loaded before the student's code, so reachable from it)
only caps training and labels the run.
"""
from __future__ import annotations

import ast
import re
import time
from pathlib import Path

import numpy as np

from grader import cells
from grader import data as data_mod
from grader.checks import (StudentRaised, close, compare, exception_text, failed, item, not_checked, partial,
                           passed, tier)

GATE_NAME, GATE_EQ = cells.GATE_NAME, cells.EQUATION["lstm"]
PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*%")
SEQ_T, SEQ_B, STEP_B = 5, 3, 5
GATE_SPREAD = 0.01  # least spread of a gate over the batch (random weights): a gate, not a constant
# The observation helpers travel with every probe snippet (compiled fresh in the child after
# the student's code ran): student code cannot have reached or patched them.
OBSERVE = cells.CHILD + (Path(__file__).resolve().parent / "observe.py").read_text(encoding="utf-8")


def observe(code: str) -> str:
    return OBSERVE + "\n# ---- the probe\n" + code


# =============================================================================== the run


class NoData(Exception):
    """MNIST is not in the data directory: the items that need it say so."""


def _mnist(ctx) -> tuple[dict, str]:
    def find():
        directory = ctx.data_dir or data_mod.resolve_data_dir(None)
        try:
            files, description = data_mod.mnist_run_files(directory, test_split_seed=int(ctx.seed))
            return files, description, None
        except (FileNotFoundError, ValueError, OSError) as exc:
            return {}, "", f"MNIST is not available to the grader: {exc}"

    files, description, problem = ctx.memo("mnist-run-files", find)
    if problem:
        raise NoData(problem)
    return files, description


def _prelude(ctx) -> str:
    options = ctx.spec.options
    if ctx.mode == "full":
        batches, seconds = None, None
    else:
        batches, seconds = int(options.get("budget_batches", 120)), float(options.get("budget_seconds", 30.0))
    return f"probes.install_budget(max_batches={batches!r}, max_seconds={seconds!r}, seed={int(ctx.seed)!r})"


def _run(ctx):
    """The student's script, executed once for every item (same files and prelude: one cached run)."""
    try:
        files, description = _mnist(ctx)
    except NoData as exc:
        ctx.note(str(exc))
        files = {}
    else:
        ctx.note(f"training set: {description}")
    return ctx.run("main", files=files, prelude=_prelude(ctx))


# =============================================================================== lstm-cell
# The layout recognition and the gate-by-gate comparison are the engine's (grader/cells.py);
# this item drives the cell through observe.py and draws every verdict from raw outputs.


# -- the sub-checks ------------------------------------------------------------------------


def _shape_check(out: dict, B: int, H: int):
    for key in ("h", "c"):
        a = out[key][0]
        if not isinstance(a, np.ndarray) or a.shape != (B, H):
            got = a.shape if isinstance(a, np.ndarray) else type(a).__name__
            return failed("shape", expected=f"({B}, {H}) for batch {B}, hidden size {H}",
                          observed=f"{key}_t has shape {got}",
                          hint="keep the batch as the first dimension: x is (B, input_size), "
                               "h_prev and c_prev are (B, hidden_size)")
    return passed("shape", expected=f"({B}, {H})", observed=f"({B}, {H}) twice")


def _shapes_ok(out: dict, B: int, H: int) -> bool:
    return all(isinstance(a, np.ndarray) and a.shape == (B, H) for key in ("h", "c") for a in out[key])


def _shape_words(out: dict) -> str:
    shapes = [tuple(getattr(a, "shape", ())) for a in (out["h"][0], out["c"][0])]
    return f"(h_t, c_t) have shapes {shapes[0]} and {shapes[1]}, not (B, H)"


def _zero_checks(out: dict, c_prev: np.ndarray, tol: dict) -> list:
    """Every parameter zero: each sigmoid gate is 0.5 and c~ = tanh(0) = 0, whatever the layout."""
    h, c = out["h"][0], out["c"][0]
    tol = {"rtol": tol["rtol"], "atol": tol["atol"], "check_dtype": False}
    swapped = "forward seems to return (c_t, h_t): the handout returns h_t, c_t"
    c_t = compare("c_t", c, 0.5 * c_prev, **tol, mistakes={
        swapped: 0.5 * np.tanh(0.5 * c_prev),
        "c_t is 0: the forget gate is 0 at zero input (tanh instead of sigmoid?) or c_prev is not used": 0 * c,
        "c_t = c_prev: the forget gate is 1 at zero input (a gate without sigmoid?)": c_prev,
    }, hints={"values": "check the forget gate's activation (sigmoid, so f = 0.5 when its input is 0) and that "
                        "c_t adds f_t * c_prev"})
    h_t = compare("h_t", h, 0.5 * np.tanh(c.astype(np.float64)), **tol, mistakes={
        "h_t is 0: the output gate gives 0 at zero input: tanh instead of sigmoid on the output gate?": 0 * h,
        "h_t = 0.5 * c_t: tanh is missing on c_t (h_t = o_t * tanh(c_t))": 0.5 * c,
        "h_t = o_t * tanh(c_prev): the new hidden state must use the NEW cell state, o_t * tanh(c_t)":
            0.5 * np.tanh(c_prev.astype(np.float64)),
        swapped: 0.5 * c_prev,
    }, hints={"values": "h_t = o_t * tanh(c_t) with o_t = sigmoid(...)"})
    return [c_t.verdict("zero_c"), h_t.verdict("zero_h")]


def _affine_checks(out: dict, cs: list[np.ndarray], tol: dict) -> list:
    """c_t at three values of c_prev (same x, h, weights): affine in c_prev with slope in (0, 1);
    h_t / tanh(c_t) in (0, 1) and the same whatever c_prev."""
    gate_atol = tol["gate_atol"]
    (ha, hb, hc), (ca, cb, cc) = out["h"], out["c"]
    slope1 = (ca - cb) / (cs[0] - cs[1])
    slope2 = (ca - cc) / (cs[0] - cs[2])
    checks = []
    affine = close(slope1, slope2, rtol=0, atol=gate_atol)
    inside = bool(np.all((slope1 > 0) & (slope1 < 1)))
    # the batch rows have different x and h_prev: a real forget gate differs between them
    moves = bool(np.nanmax(slope1.max(axis=0) - slope1.min(axis=0)) > GATE_SPREAD) if affine and inside else True
    if affine and inside and not moves:
        checks.append(failed(
            "affine", expected="f_t = sigmoid(W_f h_prev + U_f x + b_f): different for different x and h_prev",
            observed=f"slope f is the same ({float(np.nanmean(slope1)):.3f}) for every x and h_prev in the batch",
            hint="the forget gate must be computed from x and h_prev with the cell's weights"))
    elif affine and inside:
        checks.append(passed("affine", expected="the same slope f in (0, 1) at three values of c_prev",
                             observed=f"slope f in [{slope1.min():.3f}, {slope1.max():.3f}]"))
    elif not affine:
        checks.append(failed(
            "affine", expected="c_t changes linearly with c_prev (one slope f per unit)",
            observed=f"slopes between c_prev values differ by up to {np.abs(slope1 - slope2).max():.3g}",
            hint="c_prev should enter c_t only as f_t * c_prev: is c_prev passed through tanh, "
                 "concatenated into the gates, or multiplied by a gate computed from c_prev?"))
    else:
        checks.append(failed(
            "affine", expected="slope f (the forget gate) strictly between 0 and 1",
            observed=f"slope f in [{slope1.min():.3f}, {slope1.max():.3f}]",
            hint="the forget gate must be a sigmoid (tanh or no activation gives values outside (0, 1))"))
    ratios = []
    for h, c in ((ha, ca), (hb, cb), (hc, cc)):
        t = np.tanh(c.astype(np.float64))
        ratios.append(np.where(np.abs(t) > 1e-3, h / np.where(np.abs(t) > 1e-3, t, 1.0), np.nan))
    r = np.stack(ratios)
    spread = np.nanmax(np.abs(r - r[0]))
    if np.all(np.isnan(r)):
        checks.append(failed("ratio", expected="h_t = o_t * tanh(c_t)", observed="tanh(c_t) is always ~0"))
    elif spread <= gate_atol and np.nanmin(r) > 0 and np.nanmax(r) < 1 and \
            not np.nanmax(np.nanmax(r[0], axis=0) - np.nanmin(r[0], axis=0)) > GATE_SPREAD:
        checks.append(failed(
            "ratio", expected="o_t = sigmoid(W_o h_prev + U_o x + b_o): different for different x and h_prev",
            observed=f"h_t / tanh(c_t) is the same ({float(np.nanmean(r)):.3f}) for every x and h_prev in the batch",
            hint="the output gate must be computed from x and h_prev with the cell's weights"))
    elif spread <= gate_atol and np.nanmin(r) > 0 and np.nanmax(r) < 1:
        checks.append(passed("ratio", expected="a ratio in (0, 1), the same at three values of c_prev",
                             observed=f"ratio in [{np.nanmin(r):.3f}, {np.nanmax(r):.3f}]"))
    elif spread > gate_atol:
        checks.append(failed(
            "ratio", expected="h_t / tanh(c_t) independent of c_prev (it is o_t)",
            observed=f"the ratio changes by up to {spread:.3g} when only c_prev changes",
            hint="h_t must be o_t * tanh(c_t): is tanh missing on c_t, or is o_t computed from c_t / c_prev?"))
    else:
        checks.append(failed(
            "ratio", expected="o_t = h_t / tanh(c_t) strictly between 0 and 1",
            observed=f"ratio in [{np.nanmin(r):.3f}, {np.nanmax(r):.3f}]",
            hint="the output gate must be a sigmoid: tanh gives negative values, no activation any value"))
    return checks


def _gradient_check(report: list, params: list):
    """report: [name, gradient array or None] per parameter, as the child found them after one
    backward pass; every verdict (present, finite, non-zero) is drawn here."""
    if not params:
        return failed("gradients", expected="at least one parameter", observed="the cell has no parameters",
                            hint="create the weights in __init__ as nn.Linear or nn.Parameter so "
                                 "model.parameters() (and the optimizer) see them")
    if not isinstance(report, list) or len(report) != len(params):
        return failed("gradients", expected=f"{len(params)} gradients",
                            observed=f"{len(report) if isinstance(report, list) else type(report).__name__}")
    dead = []
    for (pname, shape), entry in zip(params, report):
        grad = entry[1] if isinstance(entry, list) and len(entry) == 2 else None
        if not isinstance(grad, np.ndarray) or grad.shape != shape or not np.all(np.isfinite(grad)) \
                or not np.any(grad != 0):
            dead.append(pname)
    if dead:
        return failed("gradients", expected="a non-zero gradient for every parameter",
                            observed="no gradient for " + ", ".join(dead),
                            hint="a parameter that is never used in forward, or used through .data, "
                                 ".detach(), .item() or numpy, gets no gradient and never trains")
    return passed("gradients", expected="a non-zero gradient for every parameter",
                    observed=f"{len(report)} parameter tensor(s), all with gradients")


def _layout_checks(ctx, run, info: dict, tol: dict) -> tuple[list, dict]:
    """Reference weights in the student's layout: four gate checks (f, i, g, o) and the sequence."""
    I, H = info["I"], info["H"]
    found = cells.recognise(info["params"], I, H, "lstm") if I != H else (
        f"the cell runs only with input_size == hidden_size (tried other sizes first: "
        f"{(info.get('errors') or ['?'])[0]}), so its input and hidden weights cannot be told apart")
    if isinstance(found, str):
        shapes = ", ".join(f"{n} {tuple(s)}" for n, s in info["params"]) or "none"
        why = (f"layout not recognised ({found}); parameters at input_size={I}, hidden_size={H}: {shapes}. "
               "The reference comparison needs weights laid out as four Linear on [x, h], one Linear to 4H, "
               "x2h/h2h, or W_*/U_*/b_* per gate; a TA can review this cell by hand")
        return [not_checked(why, "f", "i", "g", "o", "sequence")], {}
    rng = ctx.rng
    blocks = cells.draw_blocks(rng, "lstm", I, H)
    inputs = {"xs": rng.normal(0, 1, (SEQ_T, SEQ_B, I)).astype(np.float32),
              "h0": rng.normal(0, 0.5, (SEQ_B, H)).astype(np.float32),
              "c0": rng.normal(0, 1, (SEQ_B, H)).astype(np.float32),
              "x1": rng.normal(0, 1, (1, STEP_B, I)).astype(np.float32),
              "h1": rng.normal(0, 0.5, (STEP_B, H)).astype(np.float32)}
    # two values of c_prev, 0.5 to 1.5 apart in every unit: the slope of c_t in c_prev is f_t
    ca = rng.normal(0, 1, (STEP_B, H)).astype(np.float32)
    cb = ca + rng.choice([-1, 1], ca.shape) * rng.uniform(0.5, 1.5, ca.shape)
    inputs["ca"], inputs["cb"] = ca, cb.astype(np.float32)

    def run_sets(sets, sequences):
        return run.probe(observe("out = run_candidates(child.ns, I, H, sets, sequences)"),
                         bind={"I": I, "H": H, "sets": sets, "sequences": sequences}, want=["out"], timeout=120)["out"]

    missing_of, cand, verdict = cells.staged_search_lstm(
        found, blocks, inputs, tol, run_sets, max_candidates=int(ctx.spec.options.get("max_candidates", 2400)))
    pieces, how = found.pieces, found.how
    layout = found.words()
    checks = []
    for g in ("f", "i", "g", "o"):
        ok, detail = verdict.gates[g]
        if ok:
            checks.append(passed(g, expected=GATE_EQ[g], observed=f"matches ({layout})"))
        else:
            checks.append(failed(g, expected=GATE_EQ[g], observed=detail, hint=cells.lstm_gate_hint(g, verdict)))
    no_bias = sorted(missing_of)
    wrong = [GATE_NAME[g] for g in ("f", "i", "g", "o") if not verdict.gates[g][0]]
    if verdict.steps_ok == SEQ_T and not no_bias:
        checks.append(passed("sequence", expected="the reference's h_t, c_t at every step",
                               observed=f"all {SEQ_T} steps match ({layout}; {cand.label})"))
    elif verdict.steps_ok == SEQ_T:
        checks.append(failed("sequence", expected="b_i, b_f, b_o, b_c in the gates",
                             observed=f"matches only with the biases of {', '.join(GATE_NAME[g] for g in no_bias)} "
                                      "set to zero: the cell has no bias for them",
                             hint="add a bias to every gate (nn.Linear has one by default; bias=False removes it)"))
    else:
        observed = f"first diverges at {verdict.first or 'time step 1'}"
        if wrong:
            observed += f"; the gate(s) that differ: {', '.join(wrong)}"
        checks.append(failed("sequence", expected="the reference's h_t, c_t at every step",
                             observed=observed + f" (closest layout: {layout}; {cand.label})",
                             hint=cells.sequence_hint(verdict, wrong)))
    return checks, {"candidate": cand, "how": how, "matched": verdict.steps_ok == SEQ_T, "pieces": pieces}


# -- gate names ------------------------------------------------------------------------------


def _forward_def(tree) -> ast.FunctionDef | None:
    for node in ast.walk(tree) if tree is not None else []:
        if isinstance(node, ast.ClassDef) and node.name == "ManualLSTMCell":
            for sub in node.body:
                if isinstance(sub, ast.FunctionDef) and sub.name == "forward":
                    return sub
    return None


_PASS_THROUGH = {"sigmoid", "tanh", "hardsigmoid", "relu", "clone", "float", "squeeze", "unsqueeze",
                 "view", "reshape", "to", "contiguous", "expand_as", "Sigmoid", "Tanh"}
_LIBRARIES = {"torch", "F", "nn", "np", "functional"}


def _identifier(node: ast.AST) -> str:
    """A readable name for the factor next to c_prev: `f_t` -> f_t,
    `torch.sigmoid(self.forget_gate(xh))` -> forget_gate, `gates[:, :H]` -> gates."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Subscript):
        return _identifier(node.value)
    if isinstance(node, ast.Call):
        func = node.func
        name = _identifier(func)
        if name not in _PASS_THROUGH:
            return name
        if isinstance(func, ast.Attribute) and not (isinstance(func.value, ast.Name) and func.value.id in _LIBRARIES):
            return _identifier(func.value)  # f.sigmoid(), f.view(...)
        return _identifier(node.args[0]) if node.args else ""
    return ""


def _c_prev_factors(ctx) -> tuple[list[tuple[str, int]], str | None]:
    fn = _forward_def(ctx.tree("main"))
    if fn is None or len(fn.args.args) < 4:
        return [], None
    c_name = fn.args.args[3].arg
    factors = []
    for node in ast.walk(fn):
        pair = None
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
            pair = (node.left, node.right)
        elif isinstance(node, ast.Call) and _identifier(node.func) in ("mul", "multiply") and len(node.args) == 2:
            pair = tuple(node.args)
        if pair is None:
            continue
        for a, b in (pair, pair[::-1]):
            if isinstance(a, ast.Name) and a.id == c_name:
                factors.append((_identifier(b), node.lineno))
    return factors, c_name


def _names_check(ctx, layout: dict):
    factors, c_name = _c_prev_factors(ctx)
    found = []
    for ident, lineno in factors:
        gate = cells.gate_hint(ident) if ident else None
        if gate is not None and gate != "f":
            found.append(f"line {lineno}: {c_name} is multiplied by `{ident}`, named like the {GATE_NAME[gate]}")
    cand = layout.get("candidate")
    if layout.get("matched") and layout.get("how") == "names" and cand is not None:
        swapped: dict[str, str] = {}  # module or parameter name -> the role it plays
        for p, g in cand.singles.items():
            if cells.gate_hint(p) not in (None, g):
                swapped.setdefault(p.rsplit(".", 1)[0] if "." in p else p, g)
        for p, g in list(swapped.items())[:4]:
            found.append(f"{p} is named for the {GATE_NAME[cells.gate_hint(p)]} but acts as the {GATE_NAME[g]}")
    if found:
        return failed("names", expected="f_t * c_prev + i_t * c~_t, as in the handout",
                      observed="; ".join(found),
                      hint="the cell computes an LSTM all the same (every behavioural check above passes "
                           "or fails on its own), but the names say the opposite of the roles: the gate "
                           "that multiplies c_{t-1} is the forget gate; the one that scales c~_t is the input gate")
    if any(cells.gate_hint(i) == "f" for i, _ in factors if i):
        return passed("names", expected="f_t multiplies c_prev",
                      observed=", ".join(f"`{i}` * {c_name}" for i, _ in factors))
    if layout.get("matched"):
        return passed("names", expected="f_t multiplies c_prev",
                      observed="the cell equals the reference; its names do not contradict the roles")
    observed = (f"{c_name} is never multiplied by a gate in forward" if c_name and not factors
                else "could not be told: the cell does not match the reference and c_prev's factor has no gate name")
    return failed("names", expected="f_t multiplies c_prev", observed=observed,
                  hint="c_t = f_t * c_prev + i_t * c_tilde")


def _probe_sizes(ctx) -> str:
    """Probe code listing the sizes to build the cell at: the pack's (distinct, so every
    weight shape tells its role), the student's own, 28/32, and last equal sizes (a cell that
    only runs when input_size == hidden_size is still checked by the layout-free checks)."""
    return ("g = child.ns\n"
            "own = [g.get('input_size'), g.get('hidden_size')]\n"
            "extra = [own, [28, 32]]\n"
            "extra = [s for s in extra if type(s[0]) is int and type(s[1]) is int\n"
            "         and 0 < s[0] <= 1024 and 0 < s[1] <= 1024 and s[0] != s[1]]\n"
            "equal = [[v, v] for v in own[::-1] + [8] if type(v) is int and 0 < v <= 1024]\n"
            "info = new_cell(g, sizes + extra + equal)")


def _draw(rng: np.random.Generator, params: list, scale: float) -> list[np.ndarray]:
    """The grader's values for the cell's parameters (registration order)."""
    return [(rng.normal(0, scale, tuple(shape)) if scale else np.zeros(tuple(shape))).astype(np.float32)
            for _, shape in params]


@item("lstm-cell", checks={
    "shape": ("forward returns (h_t, c_t), each of shape (B, H)", 2),
    "zero_c": ("all parameters zero: c_t = 0.5 * c_prev (every sigmoid gate is 0.5, c~ = tanh(0) = 0)", 2),
    "zero_h": ("all parameters zero: h_t = 0.5 * tanh(c_t) (output gate 0.5)", 2),
    "affine": ("c_t = f * c_prev + (a term without c_prev), 0 < f < 1", 4),
    "ratio": ("h_t / tanh(c_t) (the output gate) is in (0, 1) and does not depend on c_prev", 4),
    "gradients": ("gradients reach every parameter", 2),
    **{g: (f"{GATE_NAME[g]} ({GATE_EQ[g]})", 2) for g in ("f", "i", "g", "o")},
    "sequence": (f"reference weights in your layout: h_t and c_t equal over {SEQ_T} time steps", 4),
    "names": ("gate names match their roles (the forget gate multiplies c_prev)", 2),
})
def lstm_cell(ctx):
    run = _run(ctx)
    tol = {"rtol": 1e-4, "atol": 1e-5, "gate_atol": 2e-4}
    tol.update(ctx.tol("lstm-cell"))
    sizes = [list(s) for s in ctx.spec.options.get("probe_sizes", [[6, 4]])]
    layout: dict = {}
    try:
        info = run.probe(observe(_probe_sizes(ctx)), bind={"sizes": sizes}, want=["info"])["info"]
    except StudentRaised as exc:
        # new_cell's own errors (no such class; the student's error at the first size tried) read as they are
        err = exc.error
        why = err.message if err.type in ("RuntimeError", "LookupError") and err.message.startswith("ManualLSTMCell") \
            else exception_text(exc)
        yield not_checked(f"ManualLSTMCell could not be built and run: {why}. The handout's "
                          "interface: ManualLSTMCell(input_size, hidden_size), forward(x, h_prev, c_prev) -> "
                          "(h_t, c_t) with x (B, input_size) and states (B, hidden_size)")
        return
    I, H = int(info["I"]), int(info["H"])
    params = [(str(n), tuple(int(d) for d in shape)) for n, shape in info["params"]]
    if info.get("errors"):
        ctx.note(f"ManualLSTMCell was probed at input_size={I}, hidden_size={H}: {info['errors'][0]}")
    rng = ctx.rng
    x = rng.normal(0, 1, (STEP_B, I)).astype(np.float32)
    h = rng.normal(0, 0.5, (STEP_B, H)).astype(np.float32)
    c = rng.normal(0, 1, (STEP_B, H)).astype(np.float32)

    def outputs(calls, values):
        return run.probe(observe("out = cell_outputs(child.ns, I, H, values, calls)"),
                         bind={"I": I, "H": H, "values": values, "calls": calls}, want=["out"])["out"]

    try:
        yield _shape_check(outputs([[x, h, c]], None), STEP_B, H)
    except StudentRaised as exc:
        yield failed("shape", observed=exception_text(exc))
    try:
        out = outputs([[x, h, c]], _draw(rng, params, 0.0))
        yield from _zero_checks(out, c, tol) if _shapes_ok(out, STEP_B, H) else \
            [not_checked(_shape_words(out), "zero_c", "zero_h")]
    except StudentRaised as exc:
        yield failed("zero_c", observed=exception_text(exc))
        yield not_checked("forward raised with every parameter zero", "zero_h")
    c2 = (c + rng.choice([-1, 1], c.shape) * rng.uniform(0.5, 1.5, c.shape)).astype(np.float32)
    c3 = (c + rng.choice([-1, 1], c.shape) * rng.uniform(0.5, 1.5, c.shape)).astype(np.float32)
    try:
        out = outputs([[x, h, c], [x, h, c2], [x, h, c3]], _draw(rng, params, 0.5))
        yield from _affine_checks(out, [c, c2, c3], tol) if _shapes_ok(out, STEP_B, H) else \
            [not_checked(_shape_words(out), "affine", "ratio")]
    except StudentRaised as exc:
        yield failed("affine", observed=exception_text(exc))
        yield not_checked("forward raised with the grader's random weights", "ratio")
    try:
        xs = rng.normal(0, 1, (3, STEP_B, I)).astype(np.float32)
        report = run.probe(observe("rep = gradients(child.ns, I, H, values, xs, h, c, rh, rc)"),
                           bind={"I": I, "H": H, "values": _draw(rng, params, 0.5), "xs": xs, "h": h, "c": c,
                                 "rh": rng.normal(0, 1, h.shape).astype(np.float32),
                                 "rc": rng.normal(0, 1, c.shape).astype(np.float32)}, want=["rep"])["rep"]
        yield _gradient_check(report, params)
    except StudentRaised as exc:
        yield failed("gradients", observed=exception_text(exc))
    try:
        verdicts, layout = _layout_checks(ctx, run, info, tol)
        yield from verdicts
    except StudentRaised as exc:
        yield not_checked(f"with the reference's weights loaded, {exception_text(exc)}", "f", "i", "g", "o", "sequence")
    yield _names_check(ctx, layout)


# =============================================================================== accuracy


# The run's half may score this far above the hidden half before its predictions are taken
# for a lookup (or a model trained on the test files): two halves of 5,000 random test images
# differ by 1 point at most at 5 standard deviations (0.5 * 0.5 * 2 / 5000 -> sd 1%, 0.2 at 90%).
SEEN_GAP = 5.0


def _test_set(ctx) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """All 10,000 test images (float32, ToTensor's scaling), their labels, and the indices of
    the run's half (in the order of its t10k files) and of the hidden half."""
    def load():
        images, labels = data_mod.mnist_test_set(ctx.data_dir or data_mod.resolve_data_dir(None))
        seen, hidden = data_mod.mnist_test_split(int(ctx.seed), len(labels))
        return images.astype(np.float32) / np.float32(255.0), labels, seen, hidden

    return ctx.memo("mnist-test-float32-split", load)


def _evaluation(ctx) -> dict:
    """The grader's own measurement of the student's model (once per submission)."""
    return ctx.once("evaluation", lambda: _evaluate(ctx))


def _evaluate(ctx) -> dict:
    run = _run(ctx)
    result: dict = {}
    budget: dict = {}
    try:
        _mnist(ctx)
        images, labels, seen, hidden = _test_set(ctx)
        # every image in one order drawn here: the run's half and the hidden half interleaved
        order = np.random.default_rng([int(ctx.seed), 0x0DE7]).permutation(len(labels))
    except (NoData, FileNotFoundError, ValueError) as exc:
        result["error"] = str(exc)
        return result
    try:
        budget = run.probe("report = probes.budget_report()", want=["report"]).get("report") or {}
        started = time.perf_counter()
        got = run.probe(observe("g = child.ns\n"
                                "raw = g.get('batch_size')\n"
                                "raw = raw if type(raw) is int and raw > 0 else None\n"
                                "bs = min(max(raw, 32), 2000) if raw else 500\n"
                                "seen = probes.SEEN.get('model') if type(getattr(probes, 'SEEN', None)) is dict else None\n"
                                "res = predict_test(g, images, bs, seen)"),
                        bind={"images": images[order]}, want=["res", "raw"], timeout=300)
    except StudentRaised as exc:
        result["error"] = "evaluating your model on the test images: " + exception_text(exc)
        result["budget"] = budget
        return result
    res = got["res"]
    # the grader's evaluation, as the parent and the child saw it (bench/ reports these)
    result["seconds"] = time.perf_counter() - started
    preds = np.asarray(res["preds"])
    if preds.shape != labels.shape:
        result["error"] = f"the model gave {preds.shape} predictions for {labels.shape[0]} images"
    else:
        in_order = np.empty_like(labels)
        in_order[order] = preds.astype(np.int64, copy=False)
        correct = in_order == labels
        # accuracy: the hidden half only; seen_*: the run's half, in its t10k files' order
        result.update(accuracy=100.0 * float(correct[hidden].mean()), correct=correct[hidden],
                      seen_accuracy=100.0 * float(correct[seen].mean()), seen_correct=correct[seen],
                      model=res["model"], n_params=res["n_params"], batch_size=got.get("raw") or 128)
    result["budget"] = budget
    return result


def _tier_table(ctx) -> tuple[str, list]:
    full_set = True
    try:
        full_set = data_mod.mnist_source(ctx.data_dir or data_mod.resolve_data_dir(None)).full
    except FileNotFoundError:
        pass
    extra = ctx.spec.options.get("tiers", {})
    if ctx.mode != "full":
        return "training-accuracy-budget", extra["training-accuracy-budget"]
    if not full_set:
        return "training-accuracy-5k", extra["training-accuracy-5k"]
    return "training-accuracy", ctx.spec.tiers["training-accuracy"]


def _budget_words(budget: dict) -> str:
    if not budget:
        return ""
    if budget.get("max_batches") is None and budget.get("max_seconds") is None:
        took = f" in {budget['train_seconds']:.1f} s" if isinstance(budget.get("train_seconds"), (int, float)) else ""
        return f"full mode: training ran as written ({budget.get('batches', 0)} batches{took})"
    cut = "stopped by the budget" if budget.get("cut") else "the script's own training was shorter"
    took = f", {budget['train_seconds']:.1f} s" if isinstance(budget.get("train_seconds"), (int, float)) else ""
    return (f"budget mode: training ran {budget.get('batches', 0)} batches{took} ({cut}; cap "
            f"{budget.get('max_batches')} batches or {budget.get('max_seconds'):g} CPU s): accuracy and tier "
            "are provisional, `--train full` gives the final tier")


@item("training-accuracy", checks={
    "accuracy": ("accuracy of your model on 5,000 MNIST test images the run never saw, measured by the grader", 15),
})
def training_accuracy(ctx):
    ev = _evaluation(ctx)
    table_name, table = _tier_table(ctx)
    provisional = ctx.mode != "full"
    if provisional:
        ctx.provisional()
    mode = " (PROVISIONAL: budget mode)" if provisional else ""
    tiers = ", ".join(f">= {t:g}% -> {p:g}" for t, p in sorted(table, key=lambda t: -t[0]))
    if "error" in ev:
        return [failed("accuracy", expected=f"a trained `model` ({table_name}: {tiers})", observed=ev["error"],
                       hint="the script must define and train `model = ManualLSTMClassifier(...)`; "
                            "the grader calls model(x) for x of shape (B, 28, 28)")]
    words = _budget_words(ev.get("budget", {}))
    if words:
        ctx.note(words)
    acc = ev["accuracy"]
    points = tier(table, acc)
    observed = f"{acc:.2f}% ({int(ev['correct'].sum())}/{len(ev['correct'])}, model `{ev['model']}`, {ev['n_params']:,} parameters) -> {points:g} points{mode}"
    expected = f"tier table {table_name}: {tiers}"
    if points >= 15:
        return [passed("accuracy", expected=expected, observed=observed)]
    reach = ("reach 92-95% on the 5,000-image training subset (the reference: about 93% after 15 epochs)"
             if table_name.endswith("5k") else "reach 97-99%")
    hint = ("Tune the hyperparameters: the handout's learning_rate = 0.00006 barely moves in 2 epochs; "
            f"Adam with 1e-3 to 5e-3, a larger hidden_size and more epochs {reach}")
    if provisional:
        hint = ("budget mode trains only a few batches, so this figure is provisional (the final tier comes "
                "from --train full); within the budget a model whose hyperparameters learn reaches 50% or "
                "more. " + hint)
    return [partial("accuracy", points, expected=expected, observed=observed, hint=hint)]


# =============================================================================== testing loop


@item("testing-loop", checks={
    "printed": ("the printed Test Accuracy is the accuracy over all 5,000 test images in ./data", 5),
})
def testing_loop(ctx):
    run = _run(ctx)
    ev = _evaluation(ctx)
    tolerance = float(ctx.tol("testing-loop").get("points", 0.01))
    found = printed_accuracies(run.stdout or "")
    if not found:
        stopped = f" (the script stopped before it: {run.error.one_line()})" if run.error else ""
        return [failed("printed", expected="a line 'Test Accuracy: xx.xx%'",
                       observed="no such line in the output" + stopped,
                       hint="after training, loop over test_loader, count correct predictions and "
                            "images, then print(f'Test Accuracy: {100 * correct / total:.2f}%')")]
    printed = float(found[-1])
    if "error" in ev:
        return [failed("printed", expected="the grader's own measurement of `model`",
                       observed=f"printed {printed:.2f}%, but the grader could not measure the model: {ev['error']}")]
    acc = ev["seen_accuracy"]
    n = len(ev["seen_correct"])
    expected = f"{acc:.2f}% (the grader's loop over the same {n:,} images, within {tolerance:g} points)"
    if acc - ev["accuracy"] > SEEN_GAP:
        return [failed("printed", expected=expected + f", with about the accuracy of {len(ev['correct']):,} "
                       f"images the run never saw ({ev['accuracy']:.2f}%)",
                       observed=f"printed {printed:.2f}%; the model's answers on the run's test images "
                                f"score {acc:.2f}%, {acc - ev['accuracy']:.1f} points above unseen images",
                       hint="the model does much better on ./data's test images than on new ones: it "
                            "learned (or looks up) the test set; train on train=True only")]
    if abs(printed - acc) <= tolerance + 1e-9:
        return [passed("printed", expected=expected, observed=f"printed {printed:.2f}%")]
    # The handout's test set has 10,000 images; a loop dividing its (right) count by a fixed
    # 10,000 is right there, and must not lose points because the grader's run holds half.
    full_n = n + len(ev["correct"])
    count = int(ev["seen_correct"].sum())
    if abs(printed - 100.0 * count / full_n) <= tolerance + 1e-9:
        return [passed("printed", expected=expected,
                        observed=f"printed {printed:.2f}% = {count:,} correct / {full_n:,}: the right count over "
                                 f"the {n:,} test images this run's ./data holds, divided by the handout's "
                                 f"{full_n:,} (dividing by the number of images counted works everywhere)")]
    return [failed("printed", expected=expected, observed=f"printed {printed:.2f}%",
                   hint=_loop_hint(printed, acc, ev))]


def printed_accuracies(stdout: str) -> list[str]:
    """The percentages on the lines that report a test accuracy ('Test Accuracy: 97.50%', the
    handout's; also 'Accuracy of the network on the 10000 test images: 97 %' or a per-epoch
    '... Train Acc: 94.1% || Test Loss: 0.2 | Test Acc: 94.2%'), last number of each line."""
    lines = [ln for ln in stdout.splitlines() if re.search(r"test", ln, re.I) and re.search(r"\bacc", ln, re.I)]
    exact = [ln for ln in lines if "Test Accuracy" in ln]
    return [PERCENT.findall(ln)[-1] for ln in (exact or lines) if PERCENT.findall(ln)]


def _loop_hint(printed: float, acc: float, ev: dict) -> str:
    correct = ev["seen_correct"]
    bs = ev.get("batch_size", 128)
    tail = len(correct) % bs or bs
    last = 100.0 * float(correct[-tail:].mean())
    first = 100.0 * float(correct[:bs].mean())
    if abs(printed - last) <= 0.006 and abs(last - acc) > 0.01:
        return (f"{printed:.2f}% is the accuracy of the last batch alone ({tail} images): accumulate over "
                "every batch (correct += ..., total += labels.size(0)), not correct = ...")
    if abs(printed - first) <= 0.006 and abs(first - acc) > 0.01:
        return f"{printed:.2f}% is the accuracy of the first batch alone: loop over the whole test_loader"
    if abs(printed - acc / 100) <= 0.0001:
        return "you printed a fraction: multiply by 100 for a percentage"
    if abs(printed - (100 - acc)) <= 0.01:
        return "you printed the error rate (100 - accuracy): count predictions equal to the labels"
    return ("the printed figure is not the accuracy of `model` over the test images in ./data: use the "
            "trained model, argmax over the logits, count correct predictions and images over every "
            "batch of test_loader, and print after the loop")


# =============================================================================== visualisation

_DIGIT = re.compile(r"(?<![\d.])\d(?![\d.])")


def _axes_text(ax: dict) -> str:
    return " ".join([str(ax.get("title") or ""), str(ax.get("xlabel") or ""), str(ax.get("ylabel") or "")]
                    + [str(t) for t in ax.get("texts") or []])


@item("visualization", checks={
    "images": ("at least 10 test images drawn (imshow)", 2),
    "labels": ("each image's title or labels give its true and its predicted digit", 3),
})
def visualization(ctx):
    run = _run(ctx)
    figures = run.figures or []
    axes = [ax for fig in figures for ax in fig.get("axes", []) if isinstance(ax, dict)]
    images = sum(int(ax.get("n_images") or 0) for ax in axes)
    labelled = [ax for ax in axes if int(ax.get("n_images") or 0) > 0 and len(_DIGIT.findall(_axes_text(ax))) >= 2]
    stopped = f" (the script stopped early: {run.error.one_line()})" if run.error else ""
    hint_img = ("show 10 test images with plt.imshow in a grid of subplots (e.g. plt.subplots(2, 5)); "
                "the grader captures plt.show()")
    if images >= 10:
        yield passed("images", expected="10 images", observed=f"{images} images in {len(figures)} figure(s)")
    else:
        yield partial("images", 2 * images / 10, expected="10 images",
                  observed=f"{images} image(s) in {len(figures)} figure(s){stopped}", hint=hint_img)
    example = next((_axes_text(ax).strip() for ax in labelled), None)
    if len(labelled) >= 10:
        yield passed("labels", expected="10 images labelled with two digits (true, predicted)",
                 observed=f"{len(labelled)} labelled images, e.g. '{example}'")
    else:
        shown = next((_axes_text(ax).strip() for ax in axes if int(ax.get("n_images") or 0) > 0), "")
        observed = f"{len(labelled)} of {images} image(s) labelled with a true and a predicted digit"
        if shown and not labelled:
            observed += f" (a title reads '{shown[:80]}')"
        yield partial("labels", 3 * len(labelled) / 10,
                      expected="10 images labelled with two digits (true, predicted)", observed=observed,
                      hint="put both digits in each subplot's title, e.g. "
                           "ax.set_title(f'True: {label}  Pred: {pred}')")
