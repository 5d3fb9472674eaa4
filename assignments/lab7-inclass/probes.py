"""Child-side helpers for lab7-inclass: they observe, they never judge.

Shipped into the sandbox as text. No expected values, no reference code."""
import ast
import sys

import numpy as np
import torch

PARAMS = ("W", "U", "b", "W_out", "b_out")
MAX_EVENTS = 60  # updates kept per parameter: plenty to judge the rule, small on the wire


def _copy(value):
    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    return None


def describe(value):
    """Plain facts about a would-be parameter."""
    if not isinstance(value, torch.Tensor):
        return {"is_tensor": False, "type": type(value).__name__}
    return {"is_tensor": True, "shape": list(value.shape), "dtype": str(value.dtype).replace("torch.", ""),
            "is_leaf": bool(value.is_leaf), "requires_grad": bool(value.requires_grad),
            "floating": bool(value.is_floating_point()), "values": value.detach().cpu().float().numpy().copy()}


class Recorder:
    """Watches the student's own training: a snapshot of the parameters at the first
    backward(), every change of a parameter's value with the gradient it had at that
    moment, and whether gradients were reset before each later backward()."""

    def __init__(self, ns, student_files):
        self.ns = ns
        self.files = student_files
        self.init = None
        self.backwards = 0
        self.resets = []  # per backward after an update: {name: max |grad| before it}
        self.updates = {name: [] for name in PARAMS}
        self.update_counts = {name: 0 for name in PARAMS}
        self.updates_since_backward = 0
        self.grad_max = {name: 0.0 for name in PARAMS}  # largest |grad| any backward() produced
        self.last = {}
        self.active = True

    # -- backward hook --------------------------------------------------------------
    def before_backward(self):
        self.check_changes()
        if self.init is None:
            self.init = {name: describe(self.ns.get(name)) for name in PARAMS}
        if self.backwards and self.updates_since_backward:
            leftovers = {}
            for name in PARAMS:
                value = self.ns.get(name)
                grad = getattr(value, "grad", None) if isinstance(value, torch.Tensor) else None
                leftovers[name] = None if grad is None else float(grad.detach().abs().max())
            if len(self.resets) < MAX_EVENTS:
                self.resets.append(leftovers)
        self.backwards += 1
        self.updates_since_backward = 0
        self.remember_all()

    def after_backward(self):
        for name in PARAMS:
            value = self.ns.get(name)
            grad = getattr(value, "grad", None) if isinstance(value, torch.Tensor) else None
            if grad is not None:
                self.grad_max[name] = max(self.grad_max[name], float(grad.detach().abs().max()))

    def remember_all(self):
        for name in PARAMS:
            value = self.ns.get(name)
            self.last[name] = (value, _copy(value))

    # -- line tracer ----------------------------------------------------------------
    def check_changes(self):
        if not self.last:
            return
        for name in PARAMS:
            value = self.ns.get(name)
            old_obj, old_copy = self.last.get(name, (None, None))
            if not isinstance(value, torch.Tensor) or old_copy is None:
                self.last[name] = (value, _copy(value))
                continue
            same_obj = value is old_obj
            if same_obj and value.shape == old_copy.shape and torch.equal(value.detach(), old_copy):
                continue
            grad = getattr(old_obj, "grad", None)
            lr = self.ns.get("learning_rate")
            self.update_counts[name] += 1
            self.updates_since_backward += 1
            if len(self.updates[name]) < MAX_EVENTS and value.shape == old_copy.shape:
                self.updates[name].append({
                    "before": old_copy.float().numpy(), "after": value.detach().float().numpy().copy(),
                    "grad": None if grad is None else grad.detach().float().numpy().copy(),
                    "lr": float(lr) if isinstance(lr, (int, float)) else None,
                    "dtype": str(value.dtype).replace("torch.", ""), "rebound": not same_obj})
            self.last[name] = (value, _copy(value))

    def tracer(self, frame, event, arg):
        if frame.f_code.co_filename not in self.files:
            return None
        return self.local_tracer

    def local_tracer(self, frame, event, arg):
        if self.active and self.backwards:
            self.check_changes()
        return self.local_tracer

    def summary(self):
        self.check_changes()
        return {"init": self.init, "backwards": self.backwards, "resets": self.resets,
                "updates": {name: _stack(events) for name, events in self.updates.items()},
                "update_counts": self.update_counts, "grad_max": self.grad_max}


def _stack(events):
    """Events of one parameter as a few stacked arrays: cheap to send (3 blobs, not 3 per event)."""
    if not events:
        return None
    shape = events[0]["before"].shape
    events = [e for e in events if e["before"].shape == shape and e["after"].shape == shape]
    nan = np.full(shape, np.nan, dtype=np.float32)
    return {"before": np.stack([e["before"] for e in events]), "after": np.stack([e["after"] for e in events]),
            "grad": np.stack([e["grad"] if e["grad"] is not None and e["grad"].shape == shape else nan
                              for e in events]),
            "lr": [e["lr"] for e in events], "rebound": [e["rebound"] for e in events]}


def install(ns, child):
    """Called from the prelude before the student's code runs."""
    recorder = Recorder(ns, child.student_files)
    original = torch.Tensor.backward
    original_fn = torch.autograd.backward

    def backward(self, *args, **kwargs):
        recorder.before_backward()
        try:
            return original(self, *args, **kwargs)
        finally:
            recorder.after_backward()

    def autograd_backward(*args, **kwargs):
        recorder.before_backward()
        try:
            return original_fn(*args, **kwargs)
        finally:
            recorder.after_backward()

    torch.Tensor.backward = backward
    torch.autograd.backward = autograd_backward
    sys.settrace(recorder.tracer)
    ns["__rnngrade_recorder__"] = recorder
    return recorder


def finish(ns):
    sys.settrace(None)
    recorder = ns.get("__rnngrade_recorder__")
    if recorder is None:
        return None
    recorder.active = False
    return recorder.summary()


# -- running the student's own statements ---------------------------------------------


def run_statement(ns, source, lineno, filename, bind, want):
    """Execute one statement of the student's file in the student's namespace with the
    grader's bindings, read `want`, and put the namespace back as it was."""
    tree = ast.parse(source)
    ast.increment_lineno(tree, lineno - 1)
    code = compile(tree, filename, "exec")
    missing = object()
    saved = {k: ns.get(k, missing) for k in list(bind) + list(want)}
    try:
        ns.update(bind)
        exec(code, ns)
        return {k: ns.get(k) for k in want}
    finally:
        for key, value in saved.items():
            if value is missing:
                ns.pop(key, None)
            else:
                ns[key] = value


def onehot(ns, word):
    fn = ns.get("word_to_onehot")
    if callable(fn):
        return fn(word)
    vocab = ns["vocab"]
    vec = torch.zeros(len(vocab), 1)
    vec[vocab[word]] = 1.0
    return vec


def predict(ns, state_stmt, logits_stmt, filename, state_bind_names, sentences, n, logits_bind_names=None):
    """The student's own forward statements, run with the student's trained weights."""
    logits_out = []
    for sentence in sentences:
        s_prev = torch.zeros(n, 1)
        s_t = s_prev
        for word in sentence:
            x = onehot(ns, word)
            bind = {"s_prev": s_prev}
            for name, kind in state_bind_names.items():
                bind[name] = {"x": x, "xs": [x] * 8, "s": s_prev}[kind]
            s_t = run_statement(ns, state_stmt[0], state_stmt[1], filename, bind, ["s_t"])["s_t"]
            s_prev = s_t
        bind = {"s_t": s_t, "s_prev": s_t}
        bind.update({name: s_t for name in (logits_bind_names or {})})
        out = run_statement(ns, logits_stmt[0], logits_stmt[1], filename, bind, ["logits"])["logits"]
        logits_out.append(out.detach().float().reshape(-1).numpy() if isinstance(out, torch.Tensor) else None)
    return logits_out
