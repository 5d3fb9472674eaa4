"""lab7-homework helpers shipped INTO the sandbox (child side).

They run next to the student's code and return raw observations only: no reference, no
expected value, no verdict. The grader (checks.py) decides everything from what comes back.

- install_budget: caps training without editing the student's code (budget mode).
- _track_models: remembers the last ManualLSTMClassifier that ran (SEEN, plain data).

Everything that observes the student's code AFTER it ran (the cell, the evaluation loop)
is in observe.py, which the grader sends with each probe snippet: this module is loaded
before the student's code and stays reachable from it (gc), so nothing here may produce a
value a verdict rests on. The budget only shortens training (the accuracy is still measured
by the grader); its report only labels the run.
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
