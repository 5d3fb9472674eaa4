"""Child-side helpers for tutorial8: they observe, they never judge.

Shipped into the sandbox as text and run next to the student's code. No expected
values, no reference code: only conversions of what the student's functions return
into plain values (numpy arrays, numbers, strings) and a few structural facts."""
import numpy as np

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


def count_gru_calls(model, call):
    """How many times the model's nn.GRU modules ran while `call()` executed."""
    counts = [0]
    handles = []
    for module in model.modules():
        if isinstance(module, torch.nn.GRU):
            handles.append(module.register_forward_hook(lambda *_: counts.__setitem__(0, counts[0] + 1)))
    try:
        result = call()
    finally:
        for handle in handles:
            handle.remove()
    return counts[0], result


def leftover_grad_ratio(model, x, y):
    """|.grad| left in the parameters after the student's training, over |gradient of one MSE
    step| at the same weights: near 1 when gradients are reset every step. None when it
    cannot be measured (no .grad, an output that is not one tensor of y's size)."""
    try:
        return _leftover_grad_ratio(model, x, y)
    except Exception:
        return None


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


def _norm(grads):
    return float(torch.sqrt(sum((g.double() ** 2).sum() for g in grads))) if grads else 0.0


def _leftover_grad_ratio(model, x, y):
    params = [p for p in model.parameters() if p.requires_grad]
    left = _norm([p.grad.detach() for p in params if p.grad is not None])
    if left == 0.0:
        return None
    for p in params:
        p.grad = None
    pred = model(x)
    if not isinstance(pred, torch.Tensor) or pred.numel() != y.numel():
        return None
    torch.nn.functional.mse_loss(pred.reshape(y.shape), y).backward()
    fresh = _norm([p.grad.detach() for p in params if p.grad is not None])
    for p in params:
        p.grad = None
    return left / fresh if fresh > 0 else None


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
