"""lab7-homework helpers shipped INTO the sandbox (child side).

They run next to the student's code and return raw observations only: no reference, no
expected value, no verdict. The grader (checks.py) decides everything from what comes back.

- install_budget: caps training without editing the student's code (budget mode).
- cell probes: build the student's ManualLSTMCell, load weight sets the grader chose, run it.
- predict_test: the grader's own evaluation loop over test images the grader sends.
"""
from __future__ import annotations

import time

import numpy as np

# ----------------------------------------------------------------------------- budget

BUDGET = {"max_batches": None, "max_seconds": None, "batches": 0, "started": None, "ended": None,
          "cpu_started": None, "cpu_ended": None, "cut": False, "loaders": 0, "epochs_skipped": 0, "optimizer_steps": 0}


def _dataset_is_train(dataset, depth: int = 0):
    """True/False when the dataset (through Subset/ConcatDataset wrappers) is a torchvision
    train/test split, None when it cannot be told."""
    if dataset is None or depth > 5:
        return None
    flag = getattr(dataset, "train", None)
    if isinstance(flag, bool):
        return flag
    inner = getattr(dataset, "dataset", None)
    if inner is not None:
        return _dataset_is_train(inner, depth + 1)
    for part in getattr(dataset, "datasets", None) or []:
        found = _dataset_is_train(part, depth + 1)
        if found is not None:
            return found
    return None


def _is_training_loader(loader) -> bool:
    import torch

    split = _dataset_is_train(getattr(loader, "dataset", None))
    if split is not None:
        return split
    # the student's own dataset: a shuffled loader is the training loader
    return isinstance(getattr(loader, "sampler", None), torch.utils.data.RandomSampler)


def _spent() -> bool:
    b = BUDGET
    if b["max_batches"] is not None and b["batches"] >= b["max_batches"]:
        return True
    if b["max_seconds"] is not None and b["cpu_started"] is not None:
        # CPU seconds, not wall: a loaded machine must not change how far a run trains
        return time.process_time() - b["cpu_started"] >= b["max_seconds"]
    return False


def _capped(iterator):
    # The student's `for ... in train_loader` simply ends early: the epoch loop, the testing
    # loop and the visualisation after it still run, on the model trained so far.
    if _spent():
        BUDGET["epochs_skipped"] += 1
        BUDGET["cut"] = True
        return
    try:
        for batch in iterator:
            if BUDGET["started"] is None:
                BUDGET["started"] = time.perf_counter()
                BUDGET["cpu_started"] = time.process_time()
            if _spent():
                BUDGET["cut"] = True
                return
            BUDGET["batches"] += 1
            yield batch
    finally:
        if BUDGET["started"] is not None:
            BUDGET["ended"] = time.perf_counter()  # the training loop's time, for the report
            BUDGET["cpu_ended"] = time.process_time()


def install_budget(max_batches: int | None, max_seconds: float | None, seed: int | None) -> None:
    """Seed torch/numpy for a reproducible run and cap the training loaders at max_batches
    batches in all or max_seconds of CPU time from the first batch (None: no cap, full mode:
    only counts). Counts optimizer steps too, for the report."""
    import random

    import torch
    from torch.utils.data import DataLoader

    BUDGET.update(max_batches=max_batches, max_seconds=max_seconds)
    if seed is not None:
        torch.manual_seed(seed)
        np.random.seed(seed % (2**32))
        random.seed(seed)
    original = DataLoader.__iter__
    if getattr(original, "_rnngrade_budget", False):
        return

    def __iter__(self):
        iterator = original(self)
        if not _is_training_loader(self):
            return iterator
        BUDGET["loaders"] += 1
        return _capped(iterator)

    __iter__._rnngrade_budget = True
    DataLoader.__iter__ = __iter__
    _track_models()

    def count_step(optimizer, args, kwargs):
        BUDGET["optimizer_steps"] += 1

    try:
        torch.optim.optimizer.register_optimizer_step_post_hook(count_step)
    except AttributeError:  # older torch: the batch count is enough
        pass


def budget_report() -> dict:
    started, ended = BUDGET["started"], BUDGET["ended"]
    return {"batches": BUDGET["batches"], "cut": BUDGET["cut"], "max_batches": BUDGET["max_batches"],
            "max_seconds": BUDGET["max_seconds"], "optimizer_steps": BUDGET["optimizer_steps"],
            "epochs_skipped": BUDGET["epochs_skipped"],
            "train_seconds": None if started is None or ended is None else ended - started,
            "train_cpu_seconds": None if ended is None else BUDGET["cpu_ended"] - BUDGET["cpu_started"]}


# ----------------------------------------------------------------------------- the model

SEEN: dict = {}  # the last ManualLSTMClassifier the script called (a model kept in a local)


def _track_models() -> None:
    """A global forward hook remembers the last ManualLSTMClassifier that ran, so a model
    built inside a student's main() (not a global) can still be evaluated."""
    import torch.nn as nn

    def hook(module, args, output):
        if type(module).__name__ == "ManualLSTMClassifier":
            SEEN["model"] = module

    if "hook" in SEEN:
        return
    try:
        SEEN["hook"] = nn.modules.module.register_module_forward_hook(hook)
    except AttributeError:
        pass


def find_model(ns: dict):
    """(name, module): the global `model` if it is an nn.Module, else the last
    ManualLSTMClassifier instance among the globals, else the last one that ran."""
    import torch.nn as nn

    if isinstance(ns.get("model"), nn.Module):
        return "model", ns["model"]
    cls = ns.get("ManualLSTMClassifier")
    found = None
    for name, value in ns.items():
        if isinstance(value, nn.Module) and isinstance(cls, type) and isinstance(value, cls):
            found = (name, value)
    if found is None and isinstance(SEEN.get("model"), nn.Module):
        found = ("the ManualLSTMClassifier the script ran last", SEEN["model"])
    if found is None:
        raise LookupError("no trained model found: the script should leave its ManualLSTMClassifier "
                          "in a global variable named `model`")
    return found


def predict_test(ns: dict, images: np.ndarray, batch_size: int = 500) -> dict:
    """Predicted digits for images (N, 28, 28) float32 in [0, 1] (ToTensor's scaling), rows as
    time steps, with the student's model in eval mode and no gradients."""
    import torch

    started, cpu = time.perf_counter(), time.process_time()
    name, model = find_model(ns)
    params = list(model.parameters())
    device = params[0].device if params else torch.device("cpu")
    dtype = params[0].dtype if params and params[0].is_floating_point() else torch.float32
    was_training = model.training
    model.eval()
    preds = []
    try:
        with torch.no_grad():
            for k in range(0, len(images), batch_size):
                x = torch.from_numpy(images[k:k + batch_size]).to(device=device, dtype=dtype)  # (B, 28, 28)
                logits = model(x)
                if not isinstance(logits, torch.Tensor) or logits.dim() != 2 or logits.shape[0] != x.shape[0]:
                    shape = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__
                    raise ValueError(f"model(x) for x of shape {tuple(x.shape)} returned {shape}, "
                                     f"expected logits of shape ({x.shape[0]}, num_classes)")
                preds.append(logits.argmax(dim=1).cpu())
    finally:
        model.train(was_training)
    return {"model": name, "preds": torch.cat(preds).numpy().astype(np.int64),
            "n_params": int(sum(p.numel() for p in params)),
            "seconds": time.perf_counter() - started, "cpu_seconds": time.process_time() - cpu}


# ----------------------------------------------------------------------------- the cell


def new_cell(ns: dict, sizes: list) -> dict:
    """Builds ManualLSTMCell(I, H) for the first (I, H) in sizes whose forward runs on a random
    batch; returns the sizes used and the cell's parameters (name, shape) in registration order."""
    import torch

    cls = ns.get("ManualLSTMCell")
    if not isinstance(cls, type):
        raise LookupError("ManualLSTMCell is not defined (or is not a class)")
    errors = []
    for I, H in sizes:
        try:
            torch.manual_seed(0)
            cell = cls(I, H)
            cell(torch.randn(3, I), torch.randn(3, H), torch.randn(3, H))
        except Exception as exc:  # noqa: BLE001 (try the next size; the first error is reported)
            errors.append(f"ManualLSTMCell({I}, {H}): {type(exc).__name__}: {exc}")
            continue
        return {"I": I, "H": H, "params": [[n, list(p.shape)] for n, p in cell.named_parameters()],
                "errors": errors}
    raise RuntimeError(errors[0] if errors else "no size to try")


def _cell(ns: dict, I: int, H: int, seed: int):
    import torch

    torch.manual_seed(seed)
    return ns["ManualLSTMCell"](I, H)


def _step(cell, x, h, c):
    """One call of the student's forward; the output checked to be (h_t, c_t) tensors."""
    import torch

    out = cell(x, h, c)
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise TypeError(f"forward returned {type(out).__name__}"
                        + (f" of length {len(out)}" if isinstance(out, (tuple, list)) else "")
                        + ", expected the pair (h_t, c_t)")
    for k, t in enumerate(out):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"forward returned a {type(t).__name__} as element {k}, expected tensors")
    return out


def _t(a):
    import torch

    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))


def cell_outputs(ns: dict, I: int, H: int, seed: int, calls: list, scale: float | None) -> dict:
    """Runs one fresh cell on each (x, h, c) of calls. scale=None keeps the student's
    initialisation, 0 zeroes every parameter, s > 0 draws each parameter from N(0, s^2)."""
    import torch

    cell = _cell(ns, I, H, seed)
    with torch.no_grad():
        if scale is not None:
            for p in cell.parameters():
                p.copy_(torch.randn(p.shape, dtype=p.dtype) * scale if scale else torch.zeros_like(p))
        hs, cs = [], []
        for x, h, c in calls:
            h_t, c_t = _step(cell, _t(x), _t(h), _t(c))
            hs.append(h_t.detach().numpy())
            cs.append(c_t.detach().numpy())
    return {"h": hs, "c": cs, "n_params": len(list(cell.parameters()))}


def gradient_report(ns: dict, I: int, H: int, seed: int, xs, h0, c0, rh, rc) -> list:
    """[name, has_grad, max |grad|] per parameter after backpropagating sum(h*rh + c*rc) through
    len(xs) steps from parameters drawn from N(0, 0.5^2)."""
    import torch

    cell = _cell(ns, I, H, seed)
    with torch.no_grad():
        for p in cell.parameters():
            p.copy_(torch.randn(p.shape, dtype=p.dtype) * 0.5)
    h, c = _t(h0), _t(c0)
    for x in xs:
        h, c = _step(cell, _t(x), h, c)
    loss = (h * _t(rh)).sum() + (c * _t(rc)).sum()
    loss.backward()
    return [[n, p.grad is not None, float(p.grad.abs().max()) if p.grad is not None else 0.0]
            for n, p in cell.named_parameters()]


def run_candidates(ns: dict, I: int, H: int, weight_sets: dict, sequences: dict) -> dict:
    """For each candidate k (a way of laying weights the grader chose into the student's
    parameters) and each sequence name -> [set, xs (T,B,I), h0, c0]: load weight_sets[set]
    (param -> (K, *shape)) and run the cell over xs. Returns name_h / name_c (K, T, B, H),
    NaN where the candidate's run raised, plus the first error text of each candidate."""
    import torch

    cell = _cell(ns, I, H, 0)
    params = dict(cell.named_parameters())
    K = len(next(iter(next(iter(weight_sets.values())).values())))
    out: dict = {}
    errors = [None] * K
    for name, (set_name, xs, h0, c0) in sequences.items():
        T, B = xs.shape[0], xs.shape[1]
        hs = np.full((K, T, B, H), np.nan, np.float32)
        cs = np.full((K, T, B, H), np.nan, np.float32)
        for k in range(K):
            try:
                with torch.no_grad():
                    for pname, stack in weight_sets[set_name].items():
                        params[pname].copy_(torch.from_numpy(np.ascontiguousarray(stack[k])))
                    h, c = _t(h0), _t(c0)
                    for t in range(T):
                        h, c = _step(cell, _t(xs[t]), h, c)
                        hs[k, t], cs[k, t] = h.numpy(), c.numpy()
            except Exception as exc:  # noqa: BLE001 (a candidate that raises is just not it)
                errors[k] = errors[k] or f"{type(exc).__name__}: {exc}"
        out[name + "_h"], out[name + "_c"] = hs, cs
    out["errors"] = errors
    return out
