"""Child-side helpers for tutorial8: they observe, they never judge.

Shipped into the sandbox as text and run next to the student's code, beside the engine's
`std` helpers (array, pair, floats, count_zero_grads, grads_left_and_fresh). No expected
values, no reference code: only conversions of what the student's functions return
into plain values (numpy arrays, numbers, strings) and a few structural facts."""
import numpy as np

try:
    import torch
except Exception:  # numpy-only items still work without torch
    torch = None


def plain_vocab(out):
    """(vocab_size, char_to_ix) with plain Python values, and a description of what came back."""
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        return None, None, f"a {std.kind(out)}"
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
    return size, table, f"({std.kind(out[0])}, {std.kind(out[1])})"


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
            return std.array(out), [], None
        (out * torch.randn(out.shape, generator=g)).sum().backward()
        grads = [std.array(p.grad) if p.grad is not None else np.zeros(0) for p in params]
        saved = [p.detach().clone() for p in params]
        with torch.no_grad():
            for p in params:
                p.add_(0.5 * torch.randn(p.shape, generator=g))
            moved = model(x, drop_rate=0)
            for p, old in zip(params, saved):
                p.copy_(old)
        for p in model.parameters():
            p.grad = None
        return std.array(out), grads, std.array(moved)
    finally:
        model.train(was_training)


def mse_loss_of(x, y):
    """loss_of for std.grads_left_and_fresh: the MSE of model(x) against y (None when the
    predictions do not have y's size)."""
    def loss_of(model):
        pred = model(x)
        if not isinstance(pred, torch.Tensor) or pred.numel() != y.numel():
            return None
        return torch.nn.functional.mse_loss(pred.reshape(y.shape), y)
    return loss_of


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
    target, prediction = std.array(target), std.array(prediction)
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
