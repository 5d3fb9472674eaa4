"""Child-side helpers for lab7-inclass: they observe, they never judge.

Shipped into the sandbox as text and loaded before the student's code. No expected values,
no reference code, nothing in the student's namespace. What they send back are raw tensors
(each backward()'s parameters and gradients); the grader recomputes every gradient and every
update with its own arithmetic, so nothing here needs to be trusted: a student who reaches
this module (gc, frames, sys.modules) and rewrites it can only send numbers the grader then
has to reproduce, which is as hard as doing the work.

The observation point is a natural boundary: autograd's entry points (Tensor.backward,
torch.autograd.backward, torch.autograd.grad), wrapped before the student's code runs,
with the originals captured first. At each
one it walks the loss's autograd graph to the leaf tensors that receive gradients (the
student's parameters, found by behaviour, whatever they are called or wherever they live),
and keeps their values (before) and .grad (after). The first FIRST steps and the last two are
kept; the rest only counted. No line tracer and nothing on any other torch call: the cost
is a graph walk and a few tiny copies per backward().

Each step also carries the value the student's global `learning_rate` held at that backward()
(a plain float, or None): a schedule (`learning_rate *= 0.99` each epoch) changes it between
steps, and the grader checks each update against the value around it. Forging it only lets a
student claim another rate: the update must still be p - eta * g with g the gradient the
grader reproduced, so a made-up value earns nothing a real update would not."""
import builtins

import numpy as np
import torch

# references taken before student code runs (it may replace builtins or torch attributes)
_len, _id, _isinstance, _list, _tuple, _float, _getattr, _type, _all, _set, _str, _zip, _bool, _reversed = (
    builtins.len, builtins.id, builtins.isinstance, builtins.list, builtins.tuple, builtins.float,
    builtins.getattr, builtins.type, builtins.all, builtins.set, builtins.str, builtins.zip, builtins.bool,
    builtins.reversed)
_setattr = builtins.setattr
_enumerate = builtins.enumerate
_Tensor = torch.Tensor
_TENSOR_BACKWARD = torch.Tensor.backward
_AUTOGRAD_BACKWARD = torch.autograd.backward
_AUTOGRAD_GRAD = torch.autograd.grad
_detach = torch.Tensor.detach
_clone = torch.Tensor.clone
_to_numpy = torch.Tensor.numpy
_float_t = torch.Tensor.float
_np_array = np.array
_dict_get = dict.get
_bool_type, _int_type, _float_type = bool, int, float

FIRST = 6        # first backward() steps kept in full
MAX_LEAVES = 12  # leaves kept per step (the model has five)
MAX_NODES = 2000  # graph nodes walked per backward (a 4-word sentence has ~40)


def _arr(t):
    # not std.array: this runs after the student's code, so it goes through the references
    # captured above, and it reads bfloat16/integer tensors as float32
    return _np_array(_to_numpy(_float_t(_detach(t))), copy=True)


class _State:
    def __init__(self):
        self.count = 0
        self.first = []
        self.tail = []  # the two most recent steps
        self.last_leaves = []
        self.active = False
        self.inside = False
        self.known = None      # the last step's leaves, for the fast path
        self.fast = True
        self.fired = _set()    # ids of leaves whose .grad was accumulated in this backward()
        self.hooks = []
        self.hooked = _set()
        self.ns = None         # the student's globals (for learning_rate at each step)


_STATE = _State()


def _leaves_of(roots):
    """Leaf tensors reached from the loss's graph (AccumulateGrad nodes), in discovery
    order, with the scale of a leaf that is only used multiplied by a constant
    (`torch.randn(..., requires_grad=True) * 0.01`: the student's tensor is not a leaf)."""
    found, consumers, seen = [], {}, _set()
    stack = [(r, None) for r in roots if r is not None]
    walked = 0
    while stack and walked < MAX_NODES:
        node, parent = stack.pop()
        walked += 1
        variable = _getattr(node, "variable", None)
        if variable is not None:
            key = _id(variable)
            consumers.setdefault(key, []).append(parent)
            if key not in seen:
                seen.add(key)
                found.append(variable)
            continue
        if _id(node) in seen:
            continue
        seen.add(_id(node))
        for child, _ in _reversed(_tuple(node.next_functions)):
            if child is not None:
                stack.append((child, node))
    out = []
    for variable in found[:MAX_LEAVES]:
        scale = None
        parents = consumers.get(_id(variable), [])
        if parents and _all(p is not None and _type(p).__name__ in ("MulBackward0", "DivBackward0") for p in parents):
            factors = _set()
            for p in parents:
                other = None
                try:
                    other = p._saved_other
                except Exception:
                    other = None
                if _isinstance(other, _Tensor) and other.dim() == 0:
                    value = _float(other)
                    factors.add(value if _type(p).__name__ == "MulBackward0" else 1.0 / value if value else 0.0)
            if _len(factors) == 1:
                scale = factors.pop()
        out.append((variable, scale))
    return out


def _roots(first):
    if _isinstance(first, _Tensor):
        return [first.grad_fn]
    if _isinstance(first, (_list, _tuple)):
        return [t.grad_fn for t in first if _isinstance(t, _Tensor)]
    return []


def _snapshot(leaves, with_held):
    out = []
    for v, scale in leaves:
        held = v.grad if with_held else None
        out.append((_clone(_detach(v)), scale, _bool(v.requires_grad), _bool(v.is_floating_point()),
                    None if held is None else _clone(_detach(held))))
    return out


def _rate():
    """The student's global `learning_rate` as it stands now: a plain float, else None."""
    ns = _STATE.ns
    if _type(ns) is not dict:
        return None
    try:
        value = _dict_get(ns, "learning_rate")
        if _type(value) is _bool_type or not _isinstance(value, (_int_type, _float_type)):
            return None
        return _float(value)
    except Exception:
        return None


def _mark(tensor):
    _STATE.fired.add(_id(tensor))


def _on_backward(func, args, kwargs, wants_grads=False):
    """Tensor.backward / torch.autograd.backward (the gradients land in .grad), or
    torch.autograd.grad (wants_grads: they are returned for the `inputs`).

    The first FIRST steps walk the graph before backward(). Later steps take a fast path
    when the previous step's leaves are the same tensors (in-place updates): snapshot them,
    run backward(), and check with their post-accumulate hooks that each received a
    gradient; otherwise (new tensors each step) the graph is walked after backward()."""
    state = _STATE
    first = args[0] if args else kwargs.get("outputs" if wants_grads else "tensors")
    fast = state.count >= FIRST and not wants_grads and state.known and state.fast
    if fast:
        known = state.known
        state.fired = _set()
        before = _snapshot(known, True)
        result = func(*args, **kwargs)
        leaves = known
        if not _all(_id(v) in state.fired for v, _ in known):
            state.fast = False  # new tensors each step: walk every graph from now on
            leaves = _leaves_of(_roots(first))  # the graph's structure outlives backward()
            before = _snapshot(leaves, False)
    else:
        leaves = _leaves_of(_roots(first))
        before = _snapshot(leaves, not wants_grads)
        result = func(*args, **kwargs)
    if not wants_grads and state.fast and leaves is not state.known:
        state.known = leaves
        for v, _ in leaves:
            if _id(v) not in state.hooked:
                try:
                    state.hooks.append(v.register_post_accumulate_grad_hook(_mark))
                    state.hooked.add(_id(v))
                except Exception:
                    pass
    grads = []
    if wants_grads:
        inputs = args[1] if _len(args) > 1 else kwargs.get("inputs")
        inputs = [inputs] if _isinstance(inputs, _Tensor) else _list(inputs or [])
        returned = {}
        for t, g in _zip(inputs, result if _isinstance(result, (_list, _tuple)) else [result]):
            if _isinstance(g, _Tensor):
                returned[_id(t)] = g
        for v, _ in leaves:
            g = returned.get(_id(v))
            grads.append(None if g is None else _clone(_detach(g)))
    else:
        for v, _ in leaves:
            g = v.grad
            grads.append(None if g is None else _clone(_detach(g)))
    step = {"index": state.count, "rate": _rate(), "leaves": [(b[0], g, b[1], b[2], b[3], b[4]) for b, g in _zip(before, grads)]}
    state.count += 1
    if _len(state.first) < FIRST:
        state.first.append(step)
    else:
        state.tail.append(step)
        if _len(state.tail) > 2:
            del state.tail[0]
    state.last_leaves = [v for v, _ in leaves]
    return result


def _wrap(original, wants_grads=False):
    def observed(*args, **kwargs):
        state = _STATE
        if not state.active or state.inside:
            return original(*args, **kwargs)
        state.inside = True  # Tensor.backward calls torch.autograd.backward: one step, not two
        try:
            return _on_backward(original, args, kwargs, wants_grads)
        finally:
            state.inside = False
    observed.__name__ = original.__name__
    observed.__doc__ = original.__doc__
    return observed


_PATCHES = ((torch.Tensor, "backward", _TENSOR_BACKWARD, False),
            (torch.autograd, "backward", _AUTOGRAD_BACKWARD, False),
            (torch.autograd, "grad", _AUTOGRAD_GRAD, True))


def install(ns=None, child=None):
    """Called from the prelude, before the student's code runs: the three entry points of
    autograd are wrapped (no cost on any other torch call)."""
    _STATE.__init__()
    _STATE.ns = ns
    _STATE.active = True
    for owner, name, original, wants_grads in _PATCHES:
        _setattr(owner, name, _wrap(original, wants_grads))


def _raw_step(step):
    leaves = []
    for value, grad, scale, requires_grad, floating, held in step["leaves"]:
        leaves.append({"value": _arr(value), "grad": None if grad is None else _arr(grad),
                       "held": None if held is None else _arr(held),
                       "scale": scale, "requires_grad": requires_grad, "floating": floating,
                       "dtype": _str(value.dtype).replace("torch.", "")})
    return {"index": step["index"], "rate": step.get("rate"), "leaves": leaves}


def finish(ns=None):
    """Raw observations for the grader: the kept steps and, for the last step's leaf
    tensors, their values when the script ended (the trained weights of an in-place update)."""
    state = _STATE
    if state.active:
        state.active = False
        for owner, name, original, _ in _PATCHES:
            try:
                _setattr(owner, name, original)
            except Exception:
                pass
        for handle in state.hooks:
            try:
                handle.remove()
            except Exception:
                pass
    final = []
    for v in state.last_leaves:
        try:
            final.append(_arr(v))
        except Exception:
            final.append(None)
    return {"count": state.count, "steps": [_raw_step(s) for s in state.first + state.tail], "final": final}


def globals_facts(ns):
    """Raw values the grader may use as hints: numbers and word->index dicts of the script."""
    out = {"numbers": {}, "vocabs": []}
    for key, value in _list(ns.items())[:500]:
        if _type(value) in (int, float) and _isinstance(key, _str) and _len(key) < 40:
            out["numbers"][key] = value
        elif _type(value) is dict and 0 < _len(value) <= 50 and _len(out["vocabs"]) < 5:
            if _all(_type(k) is str and _type(v) is int for k, v in value.items()):
                out["vocabs"].append({k: v for k, v in value.items()})
        elif _type(value) in (list, tuple) and 0 < _len(value) <= 50 and _len(out["vocabs"]) < 5:
            if _all(_type(w) is str for w in value):  # a vocabulary list: word -> its position
                out["vocabs"].append({w: i for i, w in _enumerate(value)})
    return out
