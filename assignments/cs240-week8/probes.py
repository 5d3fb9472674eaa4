"""Helpers shipped INTO the sandbox for cs240-week8 (available to probe snippets as `probes`).

They only drive the student's code and measure what it does, with inputs the grader
sends. No expected value and no part of the reference solution lives here. torch is
imported lazily, so q1 (numpy only) never pays for it.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

PARAMS = ("Wax", "Waa", "Wya", "ba", "by")
MEMORIES = ("mWax", "mWaa", "mWya", "mba", "mby")


# ----------------------------------------------------------------------------- q1


def make_rnn(RNN, hidden_size: int, vocab_size: int, seq_length: int, learning_rate: float = 0.1,
             state: dict | None = None):
    """The student's RNN built by its own (given) constructor, then set to the grader's
    parameters and Adagrad memories (float64 copies: the student's code may work in place)."""
    rnn = RNN(hidden_size, vocab_size, seq_length, learning_rate)
    for name, value in (state or {}).items():
        setattr(rnn, name, np.array(value, dtype=np.float64, copy=True))
    return rnn


def state_of(rnn) -> dict:
    """Parameters and memories as they are now (whatever the student stored there)."""
    return {name: getattr(rnn, name, None) for name in PARAMS + MEMORIES}


def _cross_entropy(y_pred: Any, targets: list[int]) -> float:
    return -sum(math.log(float(np.asarray(y_pred[t]).reshape(-1)[k])) for t, k in enumerate(targets))


def numeric_gradients(rnn, inputs: list[int], a_prev: np.ndarray, targets: list[int],
                      eps: float = 1e-5) -> dict:
    """Central differences of the summed cross-entropy of the student's own `forward`
    (the loss formula here is the grader's, so a wrong `loss` is not charged twice)."""
    grads = {}
    for name in PARAMS:
        param = getattr(rnn, name)
        grad = np.zeros_like(param)
        for idx in np.ndindex(param.shape):
            old = param[idx]
            param[idx] = old + eps
            plus = _cross_entropy(rnn.forward(list(inputs), a_prev.copy())[2], targets)
            param[idx] = old - eps
            minus = _cross_entropy(rnn.forward(list(inputs), a_prev.copy())[2], targets)
            param[idx] = old
            grad[idx] = (plus - minus) / (2 * eps)
        grads[name] = grad
    return grads


def training_step(rnn, inputs: list[int], targets: list[int], a_prev: np.ndarray) -> dict:
    """One iteration of the given `train` loop: forward, backward, update_model."""
    x, a, y_pred = rnn.forward(list(inputs), a_prev.copy())
    grads = rnn.backward(x, a, y_pred, list(targets))
    rnn.update_model(*grads)
    return state_of(rnn)


# ----------------------------------------------------------------------------- q2


def loaders(X: np.ndarray, y: np.ndarray, batch_size: int, *, shuffle_seed: int | None = None,
            watch=None):
    """A DataLoader over (X, y); shuffled with its own seeded generator when asked, so the
    batch order is the same here and in the grader's replay."""
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    dataset = TensorDataset(torch.from_numpy(X), torch.from_numpy(y))
    if watch is not None:
        return WatchedLoader(dataset, batch_size, watch)
    if shuffle_seed is None:
        return DataLoader(dataset, batch_size=batch_size)
    return DataLoader(dataset, batch_size=batch_size, shuffle=True,
                      generator=torch.Generator().manual_seed(shuffle_seed))


def mse(model, X: np.ndarray, y: np.ndarray) -> float | str:
    """Mean squared error of `model` over all of (X, y), measured without changing the
    model's mode, gradients or random state. A text when the model cannot be measured."""
    import torch

    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            out = model(torch.from_numpy(X))
        if not isinstance(out, torch.Tensor):
            return f"forward returned {type(out).__name__}, not a tensor"
        if out.numel() != y.size:
            return f"forward returned shape {tuple(out.shape)} for input {tuple(X.shape)}"
        err = out.reshape(-1).double() - torch.from_numpy(y).reshape(-1).double()
        return float((err ** 2).mean())
    except Exception as exc:  # the student's forward failed: report it, do not break their train()
        return f"forward raised {type(exc).__name__}: {exc}"[:300]
    finally:
        model.train(was_training)


def batch_mses(model, loader) -> list:
    """Per-batch (mean squared error, batch size) of the loader, for the grader's diagnosis."""
    import torch

    out = []
    model.eval()
    with torch.no_grad():
        for xb, yb in loader:
            pred = model(xb)
            out.append([float(((pred.reshape(-1).double() - yb.reshape(-1).double()) ** 2).mean()),
                        int(yb.numel())])
    return out


def parameters_of(model) -> list:
    """[[name, array], ...] in registration order (the initial weights the grader replays)."""
    return [[name, p.detach().cpu().numpy().copy()] for name, p in model.named_parameters()]


def as_floats(values: Any) -> list | str:
    """A returned history as plain floats, or a text saying why it is not one."""
    if values is None:
        return "None"
    try:
        return [float(v) for v in values]
    except Exception as exc:
        return f"{type(values).__name__} ({type(exc).__name__}: {exc})"[:300]


def as_float(value: Any) -> float | str:
    try:
        return float(value)
    except Exception as exc:
        return f"{type(value).__name__} ({type(exc).__name__}: {exc})"[:300]


def _watched_loader_class():
    from torch.utils.data import DataLoader

    class _Watched(DataLoader):
        """The validation loader, which also measures the model's true validation MSE each
        time a pass over it starts (that is, after each epoch's training)."""

        def __init__(self, dataset, batch_size, watch):
            super().__init__(dataset, batch_size=batch_size)
            self._watch = watch
            self.measured: list = []

        def __iter__(self):
            model, X, y = self._watch
            self.measured.append(mse(model, X, y))
            return super().__iter__()

    return _Watched


def WatchedLoader(dataset, batch_size, watch):  # noqa: N802 -- reads as a class at the call site
    return _watched_loader_class()(dataset, batch_size, watch)
