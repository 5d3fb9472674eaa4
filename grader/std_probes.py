"""Child-side helpers every pack's probes share, loaded in the sandbox before the pack's
probes.py and reachable from it and from probe snippets as `std`.

This runs in the student's process, which the student controls: these helpers only turn
what they find into plain values (floats, numpy arrays, counts) for the grader to judge.
Nothing here compares with a reference or decides anything."""
from __future__ import annotations

import numpy as np

try:
    import torch
except ImportError:  # a numpy-only lab
    torch = None


def kind(value):
    return type(value).__name__


def array(value):
    """A numpy copy of an array, a tensor (detached, on the CPU), a number, or a list of those
    (stacked); None when it is none of these."""
    if torch is not None and isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy().copy()
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, (bool, int, float, np.number)):
        return np.asarray(value)
    if isinstance(value, (list, tuple)) and value:
        parts = [array(v) for v in value]
        if any(p is None for p in parts):
            return None
        try:
            return np.stack(parts)
        except ValueError:
            return None
    return None


def pair(out):
    """(first, second, description) of something that must be two arrays (output, state)."""
    if isinstance(out, (tuple, list)) and len(out) == 2:
        return array(out[0]), array(out[1]), f"a {kind(out)} of ({kind(out[0])}, {kind(out[1])})"
    return None, None, f"a {kind(out)}" + (f" of length {len(out)}" if isinstance(out, (tuple, list)) else "")


def floats(values, limit=100000):
    """A sequence of numbers (a list of losses, a tensor, an array) as plain floats; None when
    it is not one."""
    if torch is not None and isinstance(values, torch.Tensor):
        values = values.detach().cpu().reshape(-1).tolist()
    if isinstance(values, np.ndarray):
        values = values.reshape(-1).tolist()
    if not isinstance(values, (list, tuple)):
        return None
    out = []
    for v in list(values)[:limit]:
        if torch is not None and isinstance(v, torch.Tensor) and v.numel() == 1:
            v = v.item()
        try:
            out.append(float(v))
        except (TypeError, ValueError):
            return None
    return out


def number(value):
    """A float, or a short text saying why the value is not a number (shown to the student)."""
    try:
        return float(value)
    except Exception as exc:
        return f"{kind(value)} ({type(exc).__name__}: {exc})"[:300]


def parameters(module):
    """[[name, array], ...] of a module's parameters, in registration order."""
    return [[name, p.detach().cpu().numpy().copy()] for name, p in module.named_parameters()]


def count_zero_grads(call):
    """(number of optimizer / module zero_grad() calls while `call()` ran, its result): a
    training loop that never resets its gradients makes none."""
    counts = [0]
    originals = {torch.optim.Optimizer: torch.optim.Optimizer.zero_grad,
                 torch.nn.Module: torch.nn.Module.zero_grad}

    def counting(original):
        def zero_grad(self, *args, **kwargs):
            counts[0] += 1
            return original(self, *args, **kwargs)
        return zero_grad

    for cls, original in originals.items():
        cls.zero_grad = counting(original)
    try:
        result = call()
    finally:
        for cls, original in originals.items():
            cls.zero_grad = original
    return counts[0], result


def grads_left_and_fresh(model, loss_of):
    """(the .grad arrays the student's training left in the parameters, the gradients of one
    fresh step at the same weights, loss_of(model) being that step's loss). The grader
    compares their sizes: gradients never reset pile up. ([], []) when it cannot be measured."""
    try:
        params = [p for p in model.parameters() if p.requires_grad]
        left = [array(p.grad) for p in params if p.grad is not None]
        for p in params:
            p.grad = None
        loss = loss_of(model)
        if not isinstance(loss, torch.Tensor):
            return left, []
        loss.backward()
        fresh = [array(p.grad) for p in params if p.grad is not None]
        for p in params:
            p.grad = None
        return left, fresh
    except Exception:
        return [], []
