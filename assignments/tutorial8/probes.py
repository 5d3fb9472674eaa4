"""Child-side helpers for tutorial8: they observe, they never judge.

Shipped into the sandbox as text and run next to the student's code. No expected
values, no reference code: only conversions of what the student's functions return
into plain values (numpy arrays, numbers, strings) and a few structural facts."""
import builtins as _builtins

import numpy as np

# Taken when this module loads, before any student code runs: a submission that replaces
# builtins.any/all/abs/round/... later does not change what these helpers compute.
(abs, all, any, round, float, int, str, len, isinstance, getattr, type, list, tuple, dict, sum,
 enumerate, zip, range, sorted) = (
    _builtins.abs, _builtins.all, _builtins.any, _builtins.round, _builtins.float, _builtins.int,
    _builtins.str, _builtins.len, _builtins.isinstance, _builtins.getattr, _builtins.type,
    _builtins.list, _builtins.tuple, _builtins.dict, _builtins.sum, _builtins.enumerate,
    _builtins.zip, _builtins.range, _builtins.sorted)

try:
    import torch
except Exception:  # numpy-only items still work without torch
    torch = None


def kind(value):
    return type(value).__name__


def as_array(value):
    """numpy array from an array, a tensor (detached), a number, or a list of those; else None."""
    if torch is not None and isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy().copy()
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, (int, float, np.number)):
        return np.asarray(value)
    if isinstance(value, (list, tuple)) and value:
        parts = [as_array(v) for v in value]
        if any(p is None for p in parts):
            return None
        try:
            return np.stack(parts)
        except ValueError:
            return None
    return None


def pair(out):
    """(first, second, description) of a function that must return two arrays."""
    if isinstance(out, (tuple, list)) and len(out) == 2:
        return as_array(out[0]), as_array(out[1]), f"a {kind(out)} of ({kind(out[0])}, {kind(out[1])})"
    return None, None, f"a {kind(out)}" + (f" of length {len(out)}" if isinstance(out, (tuple, list)) else "")


def floats(values, limit=100000):
    """A list of losses as plain floats (tensors and numpy scalars accepted); None if not a list."""
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


def plain_vocab(out):
    """(vocab_size, char_to_ix) with plain Python values, and a description of what came back."""
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        return None, None, f"a {kind(out)}"
    size, table = out
    try:
        size = int(size)
    except (TypeError, ValueError):
        size = None
    if isinstance(table, dict):
        try:
            table = {str(k): int(v) for k, v in table.items()}
        except (TypeError, ValueError):
            table = None
    else:
        table = None
    return size, table, f"({kind(out[0])}, {kind(out[1])})"


def modules_of(model):
    """[(qualified class name, hidden_size or None, num_layers or None)] for every submodule."""
    found = []
    for name, module in model.named_modules():
        cls = type(module)
        found.append({"name": name or "(model)", "type": f"{cls.__module__}.{cls.__qualname__}",
                      "hidden_size": getattr(module, "hidden_size", None) if isinstance(
                          getattr(module, "hidden_size", None), int) else None,
                      "is_gru": isinstance(module, torch.nn.GRU),
                      "is_gru_subclass": isinstance(module, torch.nn.GRU) and cls is not torch.nn.GRU})
    return found[:50]


_TORCH_KINDS = ("RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell", "Linear", "Embedding")


def weights_of(model, limit=40):
    """The trained model as raw data: every submodule's name, its class when it is exactly one of
    the standard torch.nn layers the grader can rebuild (else "other"), their constructor
    settings, and every parameter's array. The grader rebuilds the model from these with its
    own torch.nn modules and computes the predictions itself."""
    modules = []
    for name, module in list(model.named_modules())[:limit]:
        cls = type(module)
        standard = cls.__module__.startswith("torch.nn.") and cls.__name__ in _TORCH_KINDS
        entry = {"name": name, "kind": cls.__name__ if standard else "other"}
        for attr in ("num_layers", "bidirectional", "nonlinearity", "proj_size", "bias"):
            value = getattr(module, attr, None)
            if isinstance(value, (bool, int, str)):
                entry[attr] = value
        modules.append(entry)
    params = {}
    for name, p in list(model.named_parameters())[:limit * 4]:
        params[name] = p.detach().cpu().numpy().copy()
    return {"modules": modules, "params": params}


def gru_effect(model, x, seed=0):
    """Raw evidence that the model's nn.GRU layers take part in forward, whichever way they are
    called (`self.gru(x)`, `self.gru.forward(x)`, a helper): in eval mode with drop_rate=0,
    (logits, gradients of the GRU parameters after a backward of a random weighting of the
    logits, logits again with the GRU weights perturbed). The grader draws the conclusions."""
    grus = [m for m in model.modules() if isinstance(m, torch.nn.GRU)]
    params = [p for gru in grus for p in gru.parameters()]
    g = torch.Generator().manual_seed(seed)
    was_training = model.training
    model.eval()
    try:
        for p in model.parameters():
            p.grad = None
        out = model(x, drop_rate=0)
        if not isinstance(out, torch.Tensor) or not out.is_floating_point():
            return as_array(out), [], None
        (out * torch.randn(out.shape, generator=g)).sum().backward()
        grads = [as_array(p.grad) if p.grad is not None else np.zeros(0) for p in params]
        saved = [p.detach().clone() for p in params]
        with torch.no_grad():
            for p in params:
                p.add_(0.5 * torch.randn(p.shape, generator=g))
            moved = model(x, drop_rate=0)
            for p, old in zip(params, saved):
                p.copy_(old)
        for p in model.parameters():
            p.grad = None
        return as_array(out), grads, as_array(moved)
    finally:
        model.train(was_training)


def grads_left_and_fresh(model, x, y):
    """(the .grad arrays the student's training left in the parameters, the gradient arrays of
    one fresh MSE step at the same weights); the grader compares their sizes (gradients that
    were never reset pile up). ([], []) when it cannot be measured."""
    try:
        params = [p for p in model.parameters() if p.requires_grad]
        left = [as_array(p.grad) for p in params if p.grad is not None]
        for p in params:
            p.grad = None
        pred = model(x)
        if not isinstance(pred, torch.Tensor) or pred.numel() != y.numel():
            return left, []
        torch.nn.functional.mse_loss(pred.reshape(y.shape), y).backward()
        fresh = [as_array(p.grad) for p in params if p.grad is not None]
        for p in params:
            p.grad = None
        return left, fresh
    except Exception:
        return [], []


def count_zero_grads(call):
    """(number of optimizer/module zero_grad() calls while `call()` ran, its result)."""
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


def plot_curves(title, curves, ylabel, xlabel="iteration"):
    """A learning-curve figure of what the grader's training run returned (for the report)."""
    try:
        import matplotlib.pyplot as plt
    except Exception:
        return
    fig, ax = plt.subplots(figsize=(5, 3))
    for label, values in curves:
        if values:
            ax.plot(values, label=label)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if len(curves) > 1:
        ax.legend()
    fig.tight_layout()


def plot_sequences(title, target, prediction, steps=100):
    """Prediction against ground truth for the first sequence (for the report)."""
    try:
        import matplotlib.pyplot as plt
    except Exception:
        return
    target, prediction = as_array(target), as_array(prediction)
    if target is None or prediction is None or target.shape != prediction.shape or target.ndim != 3:
        return
    fig, axes = plt.subplots(1, target.shape[2], figsize=(10, 3))
    for k, ax in enumerate(np.atleast_1d(axes)):
        ax.plot(target[0, :steps, k], label="ground truth")
        ax.plot(prediction[0, :steps, k], label="prediction")
        ax.set_title(f"{title}: y{k + 1}(t), sequence 1")
        ax.set_xlabel("t")
        ax.legend()
    fig.tight_layout()
