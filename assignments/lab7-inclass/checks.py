"""lab7-inclass checks (trusted side).

What the child sends is raw: at each `backward()` of the student's own training run, the leaf
tensors that received gradients (found from the loss's autograd graph, whatever their names),
their values and their .grad (the first steps and the last two), plus their values when the
script ended. Nothing the child sends is believed: this module recomputes, in the grader
process with numpy, the forward pass and the loss gradient of each recorded step from the
recorded weights and the training sentences, for the RNN of the handout and for the common
mistakes (sigmoid/ReLU/no activation, no b, W transposed, previous state or input ignored,
state discarded, no b_out, W_out transposed, softmax before the loss). The model that
reproduces the gradients the student's backward() produced IS the student's forward pass:

- forward: which model that is (the recorded weights after training give large pre-
  activations of both signs, which separate tanh from sigmoid/ReLU/identity);
- manual-sgd: p[k+1] == p[k] - learning_rate * g[k] in float32 on consecutive steps, with
  g[k] a gradient the grader reproduced (a fresh one each step: gradients reset) and
  learning_rate the student's global as it stood at step k or k+1 (a schedule);
- predictions: the grader's own forward of that model with the trained weights, and the
  printed lines compared with it;
- init-weights: the parameters of the first step (shapes, leaves, values).

Forging the observations therefore needs real gradients of an RNN on the training sentences
and real SGD steps: as hard as doing the items."""
from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field, replace

import numpy as np

from grader.checks import (StudentRaised, Verdict, close, exception_text, failed, fmt, item, not_checked,
                           passed)

PRELUDE = "probes.install(ns)"
ROLES = ("W", "U", "b", "W_out", "b_out")
# "b2": a second hidden bias added to b (b_ih + b_hh, as nn.RNN has, e.g. two nn.Linear layers)
ALL_ROLES = ROLES + ("b2",)
GOOD = ["The", "movie", "is", "good"]
BAD = ["The", "movie", "is", "bad"]
TRAIN = [(GOOD, 1), (BAD, 0)]  # the seed's train_data
TEST = [(BAD, 0), (GOOD, 1)]
HANDOUT_VOCAB = {"The": 0, "movie": 1, "is": 2, "good": 3, "bad": 4}
WORDS = list(HANDOUT_VOCAB)
# the handout prints `Sentence: [...] → Prediction: N`; students write ->, =>, join the
# words, or print the tensor itself (`Prediction: tensor(1)`)
PRINTED = re.compile(r"Sentence\s*:?\s*(.*?)\s*(?:→|->|=>|:|,)?\s*Predict\w*\s*[:=]\s*(?:tensor\()?\s*(-?\d+)",
                     re.IGNORECASE)
F32 = np.float32


# -- the model family the grader can reproduce --------------------------------------------


@dataclass(frozen=True)
class Model:
    act: str = "tanh"
    prev: bool = True       # W s_prev term
    w_t: bool = False       # W.T s_prev
    bias: bool = True       # + b
    x_in: bool = True       # + U x_t
    keep: bool = True       # the state carries the activation (not multiplied away)
    wo_t: bool = False      # W_out.T s_T
    b_out: bool = True      # + b_out
    softmax: bool = False   # softmax before CrossEntropyLoss
    state_fault: str | None = None
    logits_fault: str | None = None

    def needs(self) -> dict[str, bool]:
        return {"W": self.prev, "U": self.x_in, "b": self.bias, "W_out": True, "b_out": self.b_out}


STATE_FAULTS = [
    (None, {}),
    ("sigmoid used instead of tanh: s_t = torch.tanh(W @ s_prev + U @ x_t + b)", {"act": "sigmoid"}),
    ("ReLU used instead of tanh: s_t = torch.tanh(W @ s_prev + U @ x_t + b)", {"act": "relu"}),
    ("no activation: the hidden state update must apply tanh", {"act": "identity"}),
    ("the bias b is missing from the hidden state update (+ b)", {"bias": False}),
    ("W is transposed: use W @ s_prev (W maps the previous state to the new one), not W.T @ s_prev",
     {"w_t": True}),
    ("the previous state s_prev is ignored: the hidden state must include W @ s_prev", {"prev": False}),
    ("the input x_t is ignored: the hidden state must include U @ x_t", {"x_in": False}),
    ("the hidden state is thrown away (it stays zero): the logits never see the sentence", {"keep": False}),
]
LOGITS_FAULTS = [
    (None, {}),
    ("the bias b_out is missing: logits = W_out @ s_t + b_out", {"b_out": False}),
    ("W_out is transposed: logits = W_out @ s_t", {"wo_t": True}),
    ("softmax applied to the logits before CrossEntropyLoss (it expects raw scores and applies "
     "log-softmax itself)", {"softmax": True}),
]
MODELS = [Model(state_fault=sf, logits_fault=lf, **{**skw, **lkw})
          for lf, lkw in LOGITS_FAULTS for sf, skw in STATE_FAULTS]
MODELS.sort(key=lambda mdl: (mdl.state_fault is not None) + (mdl.logits_fault is not None))


def _act(kind: str, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if kind == "tanh":
        a = np.tanh(z)
        return a, 1.0 - a * a
    if kind == "sigmoid":
        a = 1.0 / (1.0 + np.exp(-z))
        return a, a * (1.0 - a)
    if kind == "relu":
        return np.maximum(z, 0.0), (z > 0).astype(np.float64)
    return z, np.ones_like(z)


def _softmax(v: np.ndarray) -> np.ndarray:
    e = np.exp(v - v.max())
    return e / e.sum()


def _logits(model: Model, P: dict, idx: list[int], n: int) -> tuple[np.ndarray, list, list, list]:
    s = np.zeros(n)
    states, grads_act, zs = [s], [], []
    for j in idx:
        z = np.zeros(n)
        if model.prev:
            z = z + (P["W"].T if model.w_t else P["W"]) @ s
        if model.x_in:
            z = z + P["U"][:, j]
        if model.bias:
            z = z + P["b"]
        a, da = _act(model.act, z)
        zs.append(z)
        s = a if model.keep else 0.0 * a
        states.append(s)
        grads_act.append(da)
    wo = P["W_out"].T if model.wo_t else P["W_out"]
    out = wo @ s + (P["b_out"] if model.b_out else 0.0)
    return out, states, grads_act, zs


def _gradients(model: Model, P: dict, batch: list[tuple[list[int], int, float]], n: int) -> dict:
    """dLoss/dp for every parameter the model uses (CrossEntropy on one sentence, summed
    with `weight` over a batch), by hand-written backpropagation through time."""
    G = {r: np.zeros_like(P[r]) for r, needed in model.needs().items() if needed}
    for idx, label, weight in batch:
        out, states, grads_act, _ = _logits(model, P, idx, n)
        q = _softmax(out) if model.softmax else out
        dq = _softmax(q)
        dq[label] -= 1.0
        dq *= weight
        if model.softmax:
            p = _softmax(out)
            dl = p * (dq - dq @ p)
        else:
            dl = dq
        s_T = states[-1]
        if model.wo_t:
            G["W_out"] += np.outer(s_T, dl)
            ds = P["W_out"] @ dl
        else:
            G["W_out"] += np.outer(dl, s_T)
            ds = P["W_out"].T @ dl
        if model.b_out:
            G["b_out"] += dl
        if not model.keep:
            continue
        for t in range(len(idx) - 1, -1, -1):
            dz = ds * grads_act[t]
            if model.x_in:
                G["U"][:, idx[t]] += dz
            if model.bias:
                G["b"] += dz
            if not model.prev:
                break
            if model.w_t:
                G["W"] += np.outer(states[t], dz)
                ds = P["W"] @ dz
            else:
                G["W"] += np.outer(dz, states[t])
                ds = P["W"].T @ dz
    return G


# -- raw observations -------------------------------------------------------------------


@dataclass
class Leaf:
    value: np.ndarray          # as recorded (float32)
    grad: np.ndarray | None
    held: np.ndarray | None    # .grad just before backward(): what the previous steps left there
    scale: float | None        # the student's tensor is value * scale (not a leaf)
    requires_grad: bool
    floating: bool
    dtype: str

    @property
    def effective(self) -> np.ndarray:
        v = self.value.astype(np.float64)
        return v * self.scale if self.scale else v

    @property
    def effective_grad(self) -> np.ndarray | None:
        return self._eff(self.grad)

    @property
    def effective_held(self) -> np.ndarray | None:
        return self._eff(self.held)

    def _eff(self, g):
        if g is None:
            return None
        g = g.astype(np.float64)
        return g / self.scale if self.scale else g


@dataclass
class Step:
    index: int
    leaves: list[Leaf]
    rate: float | None = None  # the student's global learning_rate at this backward() (raw, may be made up)


@dataclass
class Fit:
    """How the grader explains one recorded step."""
    model: Model
    vocab: dict
    roles: dict[str, int]      # role -> leaf index
    batch: list
    accumulated: bool = False  # the .grad held the previous step's gradient as well


@dataclass
class Observation:
    count: int = 0
    steps: list[Step] = field(default_factory=list)
    final: list = field(default_factory=list)
    numbers: dict = field(default_factory=dict)
    vocabs: list = field(default_factory=list)
    error: str | None = None
    model: Model | None = None
    fits: dict[int, Fit] = field(default_factory=dict)   # step position -> fit


def _leaf(raw) -> Leaf | None:
    if not isinstance(raw, dict):
        return None
    value, grad = raw.get("value"), raw.get("grad")
    if not isinstance(value, np.ndarray) or value.dtype.kind not in "fiu" or value.size > 10_000 or value.ndim > 2:
        return None
    if not isinstance(grad, np.ndarray) or grad.shape != value.shape or grad.dtype.kind != "f":
        grad = None
    held = raw.get("held")
    if not isinstance(held, np.ndarray) or held.shape != value.shape or held.dtype.kind != "f":
        held = None
    scale = raw.get("scale")
    scale = float(scale) if isinstance(scale, (int, float)) and np.isfinite(scale) and scale != 0 else None
    return Leaf(value.astype(F32), None if grad is None else grad.astype(F32),
                None if held is None else held.astype(F32), scale,
                bool(raw.get("requires_grad")), bool(raw.get("floating")), str(raw.get("dtype", "?"))[:20])


def _parse(raw) -> Observation:
    obs = Observation()
    if not isinstance(raw, dict):
        obs.error = "the recording did not come back"
        return obs
    obs.count = raw.get("count") if isinstance(raw.get("count"), int) else 0
    for s in raw.get("steps") or []:
        if isinstance(s, dict) and isinstance(s.get("index"), int) and isinstance(s.get("leaves"), list):
            leaves = [_leaf(x) for x in s["leaves"][:12]]
            rate = s.get("rate")
            rate = float(rate) if type(rate) in (int, float) and np.isfinite(rate) and rate > 0 else None
            obs.steps.append(Step(s["index"], [x for x in leaves if x is not None], rate))
    obs.steps.sort(key=lambda st: st.index)
    obs.final = [f if isinstance(f, np.ndarray) else None for f in (raw.get("final") or [])[:12]]
    return obs


def _observe(ctx) -> Observation:
    """The recorded run, observed once per submission for every item (a lost run is re-raised
    to each item, and the engine words it)."""
    return ctx.once("observation", lambda: _record(ctx))


def _record(ctx) -> Observation:
    run = ctx.run("main", prelude=PRELUDE)
    try:
        out = run.probe("rec = probes.finish()\nfacts = probes.globals_facts(child.ns)", want=["rec", "facts"])
    except StudentRaised as exc:
        obs = Observation(error=f"the run could not be read back ({exception_text(exc)})")
    else:
        obs = _parse(out.get("rec"))
        facts = out.get("facts") if isinstance(out.get("facts"), dict) else {}
        numbers = facts.get("numbers") if isinstance(facts.get("numbers"), dict) else {}
        obs.numbers = {k: v for k, v in numbers.items() if isinstance(k, str) and isinstance(v, (int, float))}
        obs.vocabs = [v for v in facts.get("vocabs") or [] if isinstance(v, dict)]
    with np.errstate(all="ignore"):  # made-up or diverged values overflow: they just do not match
        _explain_all(obs)
    return obs


# -- explaining the recorded steps ----------------------------------------------------------


def _vocab_candidates(obs: Observation) -> list[dict]:
    out = [HANDOUT_VOCAB, {w: i for i, w in enumerate(sorted(WORDS))}]
    for v in obs.vocabs:
        if all(isinstance(v.get(w), int) and 0 <= v[w] < 1000 for w in WORDS) \
                and len({v[w] for w in WORDS}) == len(WORDS):
            picked = {w: v[w] for w in WORDS}
            if picked not in out:
                out.append(picked)
    return out


def _assignments(leaves: list[Leaf], model: Model, m_min: int) -> list[dict[str, int]]:
    """Every way to give the model's parameters to recorded leaves by shape (W_out is (2, n),
    U is (n, m) with m at least the vocabulary size)."""
    shapes = [leaf.value.shape for leaf in leaves]
    sizes = sorted({s[1] for s in shapes if len(s) == 2 and s[0] == 2})
    needs = model.needs()
    out = []
    for n in sizes:
        fits = {"W": lambda s: s == (n, n), "U": lambda s: len(s) == 2 and s[0] == n and s[1] >= m_min,
                "b": lambda s: s in ((n, 1), (n,)), "W_out": lambda s: s == (2, n),
                "b_out": lambda s: s in ((2, 1), (2,))}
        options = [[i for i, s in enumerate(shapes) if fits[role](s)] if needs[role] else [None] for role in ROLES]
        options.append([None] + (options[2] if needs["b"] else []))
        for combo in itertools.product(*options):
            used = [c for c in combo if c is not None]
            if len(used) == len(set(used)) and (combo[5] is None or combo[5] > combo[2]):
                out.append(dict(zip(ALL_ROLES, combo)))
                if len(out) > 64:
                    return out
    return out


def _params(leaves: list[Leaf], roles: dict) -> dict:
    P = {}
    for role, i in roles.items():
        if i is not None and role != "b2":
            v = leaves[i].effective
            P[role] = v.reshape(-1) if role in ("b", "b_out") else v
    if roles.get("b2") is not None and "b" in P:
        P["b"] = P["b"] + leaves[roles["b2"]].effective.reshape(-1)
    return P


def _role_leaves(roles: dict) -> list[tuple[str, int, str]]:
    """(role, leaf index, role whose gradient it receives) for every assigned role."""
    return [(role, i, "b" if role == "b2" else role) for role, i in roles.items() if i is not None]


def _batches(vocab: dict) -> list[list]:
    one = [([vocab[w] for w in words], label, 1.0) for words, label in TRAIN]
    return [[one[0]], [one[1]], one, [(i, y, 0.5) for i, y, _ in one]]


def _grad_close(recorded: np.ndarray, expected: np.ndarray, magnitude: float = 0.0) -> bool:
    """A recorded gradient is the grader's: finite, and within 2e-4 of the largest magnitude
    involved (one absolute tolerance for the whole tensor: float32 backpropagation through
    time loses relative precision on the small entries)."""
    recorded, expected = recorded.reshape(-1), expected.reshape(-1)
    if not np.all(np.isfinite(recorded)):
        return False
    scale = max(float(np.abs(expected).max(initial=0.0)), float(np.abs(recorded).max(initial=0.0)), magnitude)
    return close(recorded, expected, rtol=0.0, atol=1e-6 + 2e-4 * scale)


def _grads_match(model: Model, leaves: list[Leaf], roles: dict, P: dict, batch: list, n: int) -> tuple[bool, bool]:
    """(explained, accumulated): the recorded .grad is the grader's gradient, or the grader's
    gradient added to what .grad held before this backward() (gradients not reset)."""
    G = _gradients(model, P, batch, n)
    targets = [(leaves[i], G[source]) for _, i, source in _role_leaves(roles) if source in G]
    fresh = True
    for leaf, g in targets:
        rec = leaf.effective_grad
        if rec is None or not _grad_close(rec, g):
            fresh = False
            break
    if fresh:
        return True, False
    stale = False
    for leaf, g in targets:
        rec, old = leaf.effective_grad, leaf.effective_held
        if rec is None:
            return False, False
        if old is None:
            old = np.zeros_like(rec)
        if not _grad_close(rec - old, g, float(np.abs(rec).max(initial=0.0))):
            return False, False
        stale = stale or bool(np.any(old))
    return stale, stale


def _fit_step(step: Step, models: list[Model], vocabs: list[dict], like: Step | None = None,
              roles_of: dict | None = None) -> Fit | None:
    """The first (model, vocabulary, parameter roles, sentence) that reproduces the step's
    gradients. Later steps keep the first step's roles when their leaves look the same (a
    saturated late step has near-zero gradients that any role assignment would match)."""
    same = like is not None and roles_of is not None and \
        [leaf.value.shape for leaf in like.leaves] == [leaf.value.shape for leaf in step.leaves]
    for model in models:
        for vocab in vocabs:
            for roles in [roles_of] if same else _assignments(step.leaves, model, max(vocab.values()) + 1):
                P = _params(step.leaves, roles)
                n = P["W_out"].shape[1]
                for batch in _batches(vocab):
                    ok, acc = _grads_match(model, step.leaves, roles, P, batch, n)
                    if ok:
                        return Fit(model, vocab, roles, batch, acc)
    return None


def _explain_all(obs: Observation) -> None:
    """The first model (the handout's first, then one mistake, then two) that reproduces the
    gradient of every recorded step; failing that, the one that explains the first step."""
    if not obs.steps:
        return
    vocabs = _vocab_candidates(obs)
    first = _fit_step(obs.steps[0], MODELS, vocabs)
    if first is None:
        return
    candidates = [first.model] + [mdl for mdl in MODELS if mdl != first.model]
    for model in candidates:
        fits = {0: first} if model == first.model else {}
        if 0 not in fits:
            fit0 = _fit_step(obs.steps[0], [model], vocabs)
            if fit0 is None:
                continue
            fits[0] = fit0
        ok = True
        for pos in range(1, len(obs.steps)):
            fit = _fit_step(obs.steps[pos], [model], [fits[0].vocab], obs.steps[0], fits[0].roles)
            if fit is None:
                ok = False
                break
            fits[pos] = fit
        if ok:
            obs.model, obs.fits = model, fits
            return
    obs.model = first.model  # the steps it explains still count (a later step may have diverged)
    obs.fits = {0: first}
    for pos in range(1, len(obs.steps)):
        fit = _fit_step(obs.steps[pos], [first.model], [first.vocab], obs.steps[0], first.roles)
        if fit is not None:
            obs.fits[pos] = fit


def _unexplained(obs: Observation) -> str:
    if obs.error:
        return obs.error
    if not obs.steps:
        return ("no loss.backward() was observed: it never ran (the script stopped before training), or the "
                "script switched off the grader's observation of torch")
    return ("the gradients your loss.backward() produced could not be reproduced from your parameters by an RNN "
            "s_t = tanh(W s_prev + U x_t + b), logits = W_out s_T + b_out with CrossEntropyLoss on the two "
            "training sentences (nor by any common variant of it)")


# -- 1. init-weights ---------------------------------------------------------------------


@item("init-weights", checks={
    "shapes": ("the five parameters exist with the right shapes", 2),
    "leaves": ("floating-point leaf tensors with requires_grad=True", 2),
    "values": ("finite, and W, U, W_out not all zero", 1),
})
def init_weights(ctx):
    obs = _observe(ctx)
    if obs.model is None:
        yield failed("shapes", expected="W (n, n); U (n, m); b (n, 1); W_out (2, n); b_out (2, 1)",
                     observed=f"the parameters could not be identified: {_unexplained(obs)}",
                     hint="make the training loop reach loss.backward() with the five parameters in the forward pass")
        yield not_checked("the parameters could not be identified (see the first check)")
        return
    fit, step = obs.fits[0], obs.steps[0]
    leaves = {role: step.leaves[i] for role, i in fit.roles.items() if i is not None}
    unused = [r for r in ROLES if r not in leaves]
    n = leaves["W_out"].value.shape[1]
    seen = "; ".join(f"{r} {tuple(leaves[r].value.shape)}" for r in ALL_ROLES if r in leaves)
    note = f" ({', '.join(unused)} not used by the forward pass: see forward)" if unused else ""
    yield passed("shapes", expected=f"W ({n}, {n}); U ({n}, m); b ({n}, 1); W_out (2, {n}); b_out (2, 1)",
                 observed=f"{seen} at the first loss.backward(), identified by the gradients they receive{note}")
    problems, hints = [], []
    for role, leaf in leaves.items():
        if leaf.scale is not None:
            problems.append(f"{role} is not a leaf tensor (it is a leaf multiplied by {leaf.scale:g})")
            hints.append("`torch.randn(..., requires_grad=True) * 0.01` makes a NEW, non-leaf tensor whose .grad "
                         "stays None; scale first, then call .requires_grad_(): "
                         "`(torch.randn(n, n) * 0.01).requires_grad_()`")
        if not leaf.floating:
            problems.append(f"{role} has dtype {leaf.dtype}")
            hints.append("parameters must be floating point (torch.randn gives float32)")
    if problems:
        yield failed("leaves", expected="every parameter a float leaf tensor requiring grad",
                     observed="; ".join(problems), hint=" ".join(dict.fromkeys(hints)))
    else:
        yield passed("leaves", expected="float leaf tensors requiring grad", observed="all of them")
    problems, hint = [], None
    for role, leaf in leaves.items():
        values = leaf.effective
        if not np.all(np.isfinite(values)):
            problems.append(f"{role} contains NaN or infinity")
        elif role in ("W", "U", "W_out") and not np.any(values):
            problems.append(f"{role} is all zeros")
            hint = ("all-zero weights make every hidden unit identical and keep the gradients of W and U at "
                    "zero (nothing flows back through W_out = 0): initialise weights randomly, e.g. torch.randn")
    if problems:
        yield failed("values", expected="random finite values", observed="; ".join(problems), hint=hint)
    else:
        yield passed("values", expected="random finite values", observed="finite, non-zero")


# -- 2. forward ---------------------------------------------------------------------------------


def _steps_text(obs: Observation) -> str:
    if len(obs.fits) >= obs.count:
        return f"all {obs.count} of your training steps"
    return f"{len(obs.fits)} of your {obs.count} training steps (the first ones and the last)"


STATE = "s_t = tanh(W s_prev + U x_t + b)"
LOGITS = "logits = W_out s_T + b_out"


@item("forward", checks={"state": (STATE, 3), "logits": (LOGITS, 2)})
def forward(ctx):
    obs = _observe(ctx)
    if obs.model is None:
        why = _unexplained(obs)
        yield failed("state", expected="the gradients of your training steps reproduced by this RNN", observed=why,
                     hint="fill in the TODOs: s_t = torch.tanh(W @ s_prev + U @ x_t + b) and "
                          "logits = W_out @ s_t + b_out")
        yield not_checked("no forward pass was reproduced (see the hidden state check)")
        return
    model = obs.model
    state, logits = _formulas(model)
    how = (f"the gradients of {_steps_text(obs)}, recomputed by the grader from your weights at each step, are "
           "those of ")
    drawn = _preactivation_range(obs) + _ambiguity(obs)
    if model.state_fault is None:
        yield passed("state", expected=STATE, observed=how + state + drawn)
    else:
        yield failed("state", expected=STATE, observed=how + state + drawn, hint=f"likely mistake: {model.state_fault}")
    if model.logits_fault is None:
        yield passed("logits", expected=LOGITS, observed=how + logits)
    else:
        yield failed("logits", expected=LOGITS, observed=how + logits, hint=f"likely mistake: {model.logits_fault}")


def _ambiguity(obs: Observation) -> str:
    """Other hidden-state updates that would have produced the same recorded gradients
    (all-zero weights, say): the verdict then gives the student the benefit of the doubt."""
    model, alike = obs.model, []
    for other in MODELS:
        if other == model or other.logits_fault != model.logits_fault:
            continue
        same = True
        for pos, fit in obs.fits.items():
            leaves = obs.steps[pos].leaves
            if any(fit.roles.get(r) is None for r, needed in other.needs().items() if needed):
                same = False
                break
            P = _params(leaves, fit.roles)
            with np.errstate(all="ignore"):
                ok, acc = _grads_match(other, leaves, fit.roles, P, fit.batch, P["W_out"].shape[1])
            if not ok or acc != fit.accumulated:
                same = False
                break
        if same:
            alike.append(_formulas(other)[0])
    if not alike:
        return ""
    return "; the recorded steps would look the same with " + " or ".join(alike[:3])


def _formulas(model: Model) -> tuple[str, str]:
    """The model the grader reproduced, written out."""
    terms = ([("W.T" if model.w_t else "W") + " s_prev"] if model.prev else []) \
        + (["U x_t"] if model.x_in else []) + (["b"] if model.bias else [])
    inner = " + ".join(terms) or "0"
    act = {"identity": "", "tanh": "tanh", "sigmoid": "sigmoid", "relu": "relu"}[model.act]
    state = f"s_t = {act}({inner})" if act else f"s_t = {inner}"
    if not model.keep:
        state = f"s_t = 0 * {act or ''}({inner}) (always zero)"
    logits = ("W_out.T" if model.wo_t else "W_out") + " s_T" + (" + b_out" if model.b_out else "")
    logits = f"softmax({logits}) into the loss" if model.softmax else f"logits = {logits}"
    return state, logits


def _preactivation_range(obs: Observation) -> str:
    """The range of pre-activations the recorded steps covered (how well they separate tanh
    from sigmoid, ReLU or no activation)."""
    model, lo, hi = obs.model, 0.0, 0.0
    for pos, fit in obs.fits.items():
        P = _params(obs.steps[pos].leaves, fit.roles)
        for idx, _, _ in fit.batch:
            for z in _logits(model, P, idx, P["W_out"].shape[1])[3]:
                lo, hi = min(lo, float(z.min())), max(hi, float(z.max()))
    return f" (pre-activations from {lo:.3g} to {hi:.3g})"


# -- 3. manual-sgd ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Sgd:
    """The update steps the grader verified, judged once for manual-sgd and predictions."""
    pairs: list[int]              # consecutive reproduced steps (backward, update, backward)
    moving: list[int]             # those whose update changed a parameter
    lr: float | None = None       # the learning rate of the last update (None: no rule holds)
    rule: Verdict | None = None   # manual-sgd's verdict on the update rule


def _sgd(ctx, obs: Observation) -> Sgd:
    return ctx.once("sgd", lambda: _judge_sgd(obs, ctx.tol("manual-sgd")))


def _judge_sgd(obs: Observation, tol: dict) -> Sgd:
    if obs.model is None:
        return Sgd([], [])
    pairs = [pos for pos in range(len(obs.steps) - 1)
             if pos in obs.fits and pos + 1 in obs.fits and obs.steps[pos + 1].index == obs.steps[pos].index + 1]
    if not pairs:
        return Sgd([], [])
    # a pair with no change is gradient accumulation over a batch (backward per sentence, one
    # update per batch): its .grad legitimately holds the earlier backward()'s gradient too
    moving = [pos for pos in pairs if _moved(obs, pos)]
    lr, rule = _update_rule(obs, moving or pairs, tol)
    return Sgd(pairs, moving, lr, rule)


@item("manual-sgd", checks={
    "rule": ("each parameter becomes p - learning_rate * p.grad", 3),
    "reset": ("gradients reset between steps", 2),
})
def manual_sgd(ctx):
    obs = _observe(ctx)
    if obs.model is None:
        yield failed("rule", expected="training steps: backward() then an update", observed=_unexplained(obs),
                     hint="the training loop must reach loss.backward() and the update")
        yield not_checked("no training step could be verified (see the update rule)")
        return
    sgd = _sgd(ctx, obs)
    if not sgd.pairs:
        yield failed("rule", expected="two consecutive training steps (backward, update, backward)",
                     observed="no update was completed and followed by another loss.backward()"
                     if obs.count < 2 else "the later steps could not be reproduced: " + _unexplained(obs),
                     hint="each p.grad must exist when it is used: see the other items' messages")
        yield not_checked("fewer than two completed training steps")
        return
    yield sgd.rule
    yield _reset_verdict(obs, sgd.moving)


def _moved(obs: Observation, pos: int) -> bool:
    a, b = obs.steps[pos], obs.steps[pos + 1]
    for role, i in obs.fits[pos].roles.items():
        j = obs.fits[pos + 1].roles.get(role)
        if i is not None and j is not None and not np.array_equal(a.leaves[i].value, b.leaves[j].value):
            return True
    return False


def _update_pairs(obs: Observation, pairs: list[int]):
    """(role, before, after, grad) for every parameter with a gradient, per consecutive pair."""
    for pos in pairs:
        a, b = obs.steps[pos], obs.steps[pos + 1]
        fa, fb = obs.fits[pos], obs.fits[pos + 1]
        for role, i in fa.roles.items():
            j = fb.roles.get(role)
            if i is None or j is None:
                continue
            la, lb = a.leaves[i], b.leaves[j]
            if la.grad is None or la.value.shape != lb.value.shape:
                continue
            yield role, la.value, lb.value, la.grad


def _infer_lr(rows) -> float | None:
    ratios = []
    for _, before, after, grad in rows:
        mask = np.abs(grad) > 1e-6
        if mask.any():
            ratios.append(((before - after)[mask] / grad[mask]).astype(np.float64))
    if not ratios:
        return None
    lr = float(np.median(np.concatenate(ratios)))
    return lr if np.isfinite(lr) else None


def _rule_holds(rows, lr: float, tol: dict) -> list[str]:
    """The roles whose update is not p - lr * grad (in float32, as torch computes it)."""
    bad = []
    for role, before, after, grad in rows:
        expected = before.astype(F32) - F32(lr) * grad.astype(F32)
        if not close(after, expected, **tol) and role not in bad:
            bad.append(role)
    return bad


def _positive(value) -> float | None:
    return float(value) if type(value) in (int, float) and np.isfinite(value) and value > 0 else None


def _update_rule(obs: Observation, pairs: list[int], tol: dict) -> tuple[float | None, Verdict]:
    """(the learning rate of the last observed update when every update follows p - eta * grad,
    the verdict), each update judged on its own:

    - the student has a global `learning_rate`: eta is its value recorded at the backward()
      before the update or at the one after it (a schedule may change it before or after the
      update in the loop). The recorded value is raw (a student could have written any number
      there), so it only names the eta the update must then follow, with the gradient the
      grader reproduced: claiming another rate earns nothing a real update would not;
    - otherwise `lr` when it explains every update, else the step each update took, when one
      positive step explains every parameter of that update (`alpha = 0.1` beside an unused
      `lr = 0.01`)."""
    rows = {pos: list(_update_pairs(obs, [pos])) for pos in pairs}
    flat = [row for pos in pairs for row in rows[pos]]
    moved = {role for role, before, after, _ in flat if not np.array_equal(before, after)}
    needs = {role for role, _, _, grad in flat if np.any(grad)}
    if not moved:
        return None, failed("rule", expected="the parameters change after each backward()",
                            observed="no parameter ever changed between two loss.backward() calls"
                                     + (" although their gradients were not zero" if needs else ""),
                            hint="inside `with torch.no_grad():` write `W -= learning_rate * W.grad` for each parameter"
                                 + ("; zero the gradients AFTER the update: p.grad.zero_() first makes the update "
                                    "subtract zero" if needs else ""))
    final_rate = _positive(obs.numbers.get("learning_rate"))
    has_global = final_rate is not None or any(obs.steps[p].rate is not None or obs.steps[p + 1].rate is not None
                                               for p in pairs)

    def stated(pos: int) -> list[float]:
        """The learning_rate values around one update (before it, after it)."""
        around = [r for r in (obs.steps[pos].rate, obs.steps[pos + 1].rate) if r is not None]
        return around or ([final_rate] if final_rate is not None else [])

    rates: dict[int, float | None] = {}
    bad_pos = None
    if has_global:
        for pos in pairs:
            rate = next((r for r in stated(pos) if not _rule_holds(rows[pos], r, tol)), None)
            if rate is None:
                bad_pos = pos
                break
            rates[pos] = rate
    else:
        lr = _positive(obs.numbers.get("lr"))
        if lr is not None and all(not _rule_holds(rows[pos], lr, tol) for pos in pairs):
            rates = {pos: lr for pos in pairs}
        else:
            for pos in pairs:
                step = _infer_lr(rows[pos])
                if step is None and not _rule_holds(rows[pos], 0.0, tol):
                    rates[pos] = None  # gradients too small to show a step: nothing to hold against it
                    continue
                if step is None or step <= 0 or _rule_holds(rows[pos], step, tol):
                    bad_pos = pos
                    break
                rates[pos] = step
    if bad_pos is None:
        known = [r for r in rates.values() if r is not None]
        last = known[-1] if known else None
        if has_global and obs.steps[-1].rate is not None:
            last = obs.steps[-1].rate  # the rate of the update after the last backward()
        if not known:
            shown = "any: every gradient was too small to show it"
        elif max(known) - min(known) <= 1e-4 * max(known):  # one rate (an inferred one differs in float32 noise)
            shown = f"{known[-1]:.4g}" if not has_global else f"{known[-1]:g}"
        else:
            shown = f"from {max(known):g} to {min(known):g}, " + (
                "learning_rate as it stood at each step" if has_global else "the step each update took")
        return last, passed("rule", expected="p_new = p - learning_rate * p.grad for every parameter",
                            observed=f"{len(flat)} observed parameter updates on {len(pairs)} consecutive steps "
                                     f"all follow the rule (learning rate {shown}), each with a gradient the "
                                     "grader reproduced")
    bad_rows = rows[bad_pos]
    around = stated(bad_pos) if has_global else []
    declared = around[0] if around else None
    inferred = _infer_lr(bad_rows)
    expected = f"p_new = p - {declared:g} * p.grad for every parameter" if declared is not None \
        else "p_new = p - learning_rate * p.grad for every parameter"
    never = sorted(needs - moved, key=ALL_ROLES.index)
    hint = None
    if never:
        hint = " ".join(f"add `{r} -= learning_rate * {r}.grad` to the update." for r in never)
    elif inferred is not None and inferred < 0 and (
            any(not _rule_holds(bad_rows, -r, tol) for r in around) or not _rule_holds(bad_rows, inferred, tol)):
        hint = "the sign is flipped: p + lr * grad climbs the loss (gradient ascent); subtract the gradient"
    elif inferred is not None and inferred > 0 and declared is not None and not _rule_holds(bad_rows, inferred, tol):
        hint = f"the update used a step of {inferred:.4g} instead of learning_rate = {declared:g}"
    # the update a right rule would have made (a flipped sign still shows what was expected)
    step = declared if declared is not None else abs(inferred or 0.0)
    bad = _rule_holds(bad_rows, step, tol)
    detail = ""
    for r, before, after, grad in bad_rows:
        if bad and r == bad[0]:
            detail = (f"{r}: after the update of step {obs.steps[bad_pos].index + 1} it is {fmt(after)}, "
                      f"expected {fmt(before - F32(step) * grad)} (= before - {step:g} * grad)")
            break
    observed = f"{', '.join(never)} never updated although it has a gradient" if never else detail
    return None, failed("rule", expected=expected, observed=observed or "the updates do not follow the rule", hint=hint)


def _reset_verdict(obs: Observation, pairs: list[int]) -> Verdict:
    if not pairs:
        return not_checked("no update was followed by another loss.backward()", "reset")
    stale = [pos + 1 for pos in pairs if obs.fits[pos + 1].accumulated]
    if stale:
        return failed("reset", expected="a fresh gradient at each loss.backward()",
                      observed=f"at step {obs.steps[stale[0]].index + 1}, .grad held that step's gradient PLUS the "
                               "previous step's (the grader reproduced both)",
                      hint="gradients never zeroed: backward() adds to .grad, so each step used the sum of "
                           "all previous gradients; call p.grad.zero_() after each update")
    return passed("reset", expected="a fresh gradient at each loss.backward()",
                  observed=f"fresh at all {len(pairs)} observed later steps")


# -- 4. predictions -----------------------------------------------------------------------------


def _trained(obs: Observation, lr: float | None) -> dict | None:
    """The trained weights: the last step's tensors as they were when the script ended when
    the update changed them in place, else the last step's values after one more verified update."""
    pos = len(obs.steps) - 1
    if pos not in obs.fits:
        return None
    step, fit = obs.steps[pos], obs.fits[pos]
    final = obs.final if len(obs.final) == len(step.leaves) else []
    changed = any(isinstance(f, np.ndarray) and f.shape == leaf.value.shape and not np.array_equal(f, leaf.value)
                  for f, leaf in zip(final, step.leaves))
    leaves = []
    for k, leaf in enumerate(step.leaves):
        if changed and isinstance(final[k], np.ndarray) and final[k].shape == leaf.value.shape:
            leaves.append(replace(leaf, value=final[k].astype(F32)))
        elif lr is not None and leaf.grad is not None:
            leaves.append(replace(leaf, value=leaf.value - F32(lr) * leaf.grad))
        else:
            leaves.append(leaf)
    return _params(leaves, fit.roles)


@item("predictions", checks={
    "model": ("the trained model predicts 'bad' -> 0 and 'good' -> 1", 3),
    "printed": ("the printed predictions say bad -> 0 and good -> 1", 2),
})
def predictions(ctx):
    obs = _observe(ctx)
    run = ctx.run("main", prelude=PRELUDE)
    expected = [y for _, y in TEST]
    P = _trained(obs, _sgd(ctx, obs).lr) if obs.model is not None else None
    if P is None:
        yield failed("model", expected=f"predictions {expected}",
                     observed="no trained model could be reproduced: " + _unexplained(obs))
    elif obs.count < 2:
        yield failed("model", expected=f"predictions {expected}",
                     observed="training stopped at its first loss.backward() (see the error of the run): "
                              "there is no trained model", hint="make the training loop run to the end")
    else:
        vocab, n = obs.fits[0].vocab, P["W_out"].shape[1]
        values = [_logits(obs.model, P, [vocab[w] for w in words], n)[0] for words, _ in TEST]
        predicted = [int(np.argmax(v)) for v in values]
        shown = ", ".join(np.array2string(v, precision=3) for v in values)
        if predicted != expected:
            yield failed("model", expected=f"predictions {expected} for the bad and good sentences",
                         observed=f"your model (your forward pass with your trained weights, run by the grader) "
                                  f"predicts {predicted} (logits {shown})",
                         hint="check the forward pass and that training lowered the loss")
        else:
            yield passed("model", expected=str(expected),
                         observed=f"{predicted} (logits {shown}, computed by the grader from your trained weights)")
    yield _printed_verdict(run.stdout)


def _printed_verdict(stdout: str) -> Verdict:
    # PRINTED.findall over the whole output, not printed_lines: a sentence and its
    # prediction printed on two lines still count
    printed = {}
    for sentence, label in PRINTED.findall(stdout or ""):
        key = "bad" if "bad" in sentence else "good" if "good" in sentence else None
        if key:
            printed[key] = int(label)
    observed = {k: printed.get(k) for k in ("bad", "good")}
    expected = "Sentence: [...'bad'] -> Prediction: 0 and Sentence: [...'good'] -> Prediction: 1"
    if observed == {"bad": 0, "good": 1}:
        return passed("printed", expected=expected, observed=str(observed))
    return failed("printed", expected=expected,
                  observed=f"printed {observed}" if printed else "no 'Sentence: ... Prediction: N' lines printed",
                  hint="the test loop must print f\"Sentence: {test_sentence} → Prediction: {prediction.item()}\"")
