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
