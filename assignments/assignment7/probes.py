"""Child-side helpers for assignment7: they observe, they never judge.

Shipped into the sandbox as text and run next to the student's definitions. No expected
values, no reference code: the student's cells and CustomRNN are called on inputs the grader
chose, with weights the grader chose, and what they return comes back as raw arrays."""
import builtins as _builtins

import numpy as np

(all, any, float, int, str, len, isinstance, getattr, type, list, tuple, dict, enumerate, zip, range) = (
    _builtins.all, _builtins.any, _builtins.float, _builtins.int, _builtins.str, _builtins.len,
    _builtins.isinstance, _builtins.getattr, _builtins.type, _builtins.list, _builtins.tuple,
    _builtins.dict, _builtins.enumerate, _builtins.zip, _builtins.range)

import torch

_Tensor = torch.Tensor
_RNNBase, _RNNCellBase = torch.nn.RNNBase, torch.nn.RNNCellBase


def arr(value):
    if isinstance(value, _Tensor):
        return value.detach().cpu().numpy().copy()
    if isinstance(value, np.ndarray):
        return value.copy()
    return None


def library_layers(module):
    """Class names of nn.RNN/LSTM/GRU (and their cells) found inside `module`."""
    return [type(sub).__name__ for _, sub in module.named_modules() if isinstance(sub, (_RNNBase, _RNNCellBase))]


def pair(out):
    if isinstance(out, (tuple, list)) and len(out) == 2:
        return arr(out[0]), arr(out[1])
    return arr(out), None


def flat(value, depth=0):
    """Every tensor in a (nested) collate_fn result, as arrays, in order."""
    if isinstance(value, _Tensor):
        return [arr(value)]
    if depth < 3 and isinstance(value, (list, tuple)):
        out = []
        for v in value:
            out += flat(v, depth + 1)
        return out
    if depth < 3 and isinstance(value, dict):
        out = []
        for v in value.values():
            out += flat(v, depth + 1)
        return out
    return []


# ---------------------------------------------------------------- --execute: watching the training
# Installed by the prelude of the whole-notebook run, before any student code. It records raw
# values only (which student-defined modules were called at the top level, the integer inputs
# they received, the outputs' shapes, and the logits/targets/value of vocabulary-sized losses);
# the grader judges them. A student who removes the hooks only loses the evidence they give.

WATCH = {"roots": [], "calls": [], "losses": [], "depth": 0, "last_inputs": []}
_MAX_CALLS, _MAX_LOSSES, _MAX_NUMEL = 40, 8, 400000


def _student_module(module):
    return getattr(type(module), "__module__", "") == "__main__"


def _int_args(args):
    out = []
    for a in args[:4]:
        if isinstance(a, _Tensor) and not a.is_floating_point() and a.numel() <= _MAX_NUMEL:
            out.append(a.detach().cpu().numpy().copy())
    return out


def _pre_hook(module, args):
    try:
        _pre(module, args)
    except Exception:  # observing must never break the student's run
        pass
    return None


def _post_hook(module, args, output):
    try:
        _post(module, output)
    except Exception:
        pass
    return None


def _pre(module, args):
    if not _student_module(module):
        return
    if WATCH["depth"] == 0:
        WATCH["last_root"] = id(module)
        if not any(m is module for m in WATCH["roots"]) and len(WATCH["roots"]) < 30:
            WATCH["roots"].append(module)
        ints = _int_args(args)
        WATCH["last_inputs"] = ints
        WATCH["pending"] = ([list(a.shape) for a in ints],
                            ints[0] if ints and ints[0].ndim == 2 and ints[0].shape[1] == 1 else None)
    WATCH["depth"] += 1


def _post(module, output):
    if not _student_module(module):
        return
    WATCH["depth"] = max(0, WATCH["depth"] - 1)
    if WATCH["depth"] == 0 and WATCH.get("pending") is not None:
        shapes, column = WATCH["pending"]
        WATCH["pending"] = None
        first = output[0] if isinstance(output, (tuple, list)) and output else output
        root = next((k for k, m in enumerate(WATCH["roots"]) if m is module), None)
        if root is None:
            return
        seen = sum(1 for c in WATCH["calls"] if c[0] == root)
        if seen < 3 and len(WATCH["calls"]) < _MAX_CALLS:
            WATCH["calls"].append((root, shapes, list(first.shape) if isinstance(first, _Tensor) else None, column))


def _loss_wrapper(original, kind):
    def wrapped(input, target, *args, **kwargs):
        value = original(input, target, *args, **kwargs)
        try:
            key = WATCH.get("last_root")
            if (len(WATCH["losses"]) < _MAX_LOSSES and sum(1 for e in WATCH["losses"] if e["root"] == key) < 2
                    and isinstance(input, _Tensor) and input.dim() >= 2
                    and input.shape[1 if input.dim() == 2 else -1] > 10 and input.numel() <= 4 * _MAX_NUMEL):
                WATCH["losses"].append({
                    "root": key, "kind": kind, "input": input.detach().float().cpu().numpy().copy(),
                    "target": target.detach().cpu().numpy().copy() if isinstance(target, _Tensor) else None,
                    "ignore_index": kwargs.get("ignore_index", -100), "reduction": kwargs.get("reduction", "mean"),
                    "value": value.detach().float().cpu().numpy().copy() if isinstance(value, _Tensor) else None,
                    "inputs": [a for a in WATCH["last_inputs"]]})
        except Exception:
            pass
        return value
    return wrapped


def watch():
    import torch.nn.functional as F
    from torch.nn.modules import module as _mod

    _mod.register_module_forward_pre_hook(_pre_hook)
    _mod.register_module_forward_hook(_post_hook)
    F.cross_entropy = _loss_wrapper(F.cross_entropy, "cross_entropy")
    F.nll_loss = _loss_wrapper(F.nll_loss, "nll")


def watched():
    """The recordings, as plain values: per root model its class, cell classes inside and
    parameter shapes; the calls; the losses."""
    roots = []
    for m in WATCH["roots"]:
        cells = [type(s).__name__ for _, s in m.named_modules()]
        roots.append({"cls": type(m).__name__, "cells": cells[:200],
                      "params": [[list(p.shape), bool(p.requires_grad)] for p in m.parameters()][:500]})
    losses = [{k: v for k, v in e.items() if k != "root"} for e in WATCH["losses"]]
    return roots, [list(c[:3]) + [c[3]] for c in WATCH["calls"]], losses
