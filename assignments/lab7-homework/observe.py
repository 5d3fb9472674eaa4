"""lab7-homework observation helpers: SENT WITH EVERY PROBE SNIPPET (checks.py prepends this
source), so they are compiled fresh after the student's code ran and no student code can have
reached or replaced them (unlike the pack's probes module, which is loaded before the student
runs and stays reachable through gc; so is the engine's `std` probes module, which is why
these helpers do not call it). No import statements: `np`, `torch`, `child` and
`probes` are the probe's globals (the engine captures np/torch before student code runs);
`cell_parameters` and `load_parameters` come from grader/cells.py's CHILD, sent ahead of this.

They return raw values only: the student's outputs on inputs and weights the grader chose,
gradients as arrays, predicted digits. No expected value, no comparison, no verdict.
Every input is copied per call: a cell that works in place (`c *= f`) must not change the
grader's arrays, which are shared between calls and candidate layouts.
"""


def _t(a):
    return torch.tensor(np.array(a, dtype=np.float32, copy=True))


def _np(t):
    return t.detach().clone().cpu().numpy()


def _step(cell, x, h, c):
    """One call of the student's forward on fresh copies; (h_t, c_t) checked to be tensors."""
    out = cell(_t(x), _t(h), _t(c))
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise TypeError(f"forward returned {type(out).__name__}"
                        + (f" of length {len(out)}" if isinstance(out, (tuple, list)) else "")
                        + ", expected the pair (h_t, c_t)")
    for k, t in enumerate(out):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"forward returned a {type(t).__name__} as element {k}, expected tensors")
    return _np(out[0]), _np(out[1])


def new_cell(ns, sizes):
    """Builds ManualLSTMCell(I, H) for the first (I, H) in sizes whose forward runs on a random
    batch; the sizes used and the cell's parameters (name, shape) in registration order."""
    cls = ns.get("ManualLSTMCell")
    if not isinstance(cls, type):
        raise LookupError("ManualLSTMCell is not defined (or is not a class)")
    errors = []
    for I, H in sizes:
        try:
            torch.manual_seed(0)
            cell = cls(I, H)
            _step(cell, np.ones((3, I)), np.ones((3, H)), np.ones((3, H)))
        except Exception as exc:  # noqa: BLE001 (try the next size; the first error is reported)
            errors.append(f"ManualLSTMCell({I}, {H}): {type(exc).__name__}: {exc}"[:300])
            continue
        return {"I": I, "H": H, "params": cell_parameters(cell),
                "errors": errors}
    raise RuntimeError(errors[0] if errors else "no size to try")


def _cell(ns, I, H, values=None):
    """A fresh cell; values (one array per parameter, registration order) loaded when given."""
    torch.manual_seed(0)
    cell = ns["ManualLSTMCell"](I, H)
    if values is not None:
        load_parameters(cell, values)  # grader/cells.py's child helper, sent ahead of this file
    return cell


def cell_outputs(ns, I, H, values, calls):
    """One fresh cell holding the grader's parameter values (None: the student's own
    initialisation) run on each (x, h, c) of calls: raw h_t and c_t per call."""
    cell = _cell(ns, I, H, values)
    hs, cs = [], []
    with torch.no_grad():
        for x, h, c in calls:
            h_t, c_t = _step(cell, x, h, c)
            hs.append(h_t)
            cs.append(c_t)
    return {"h": hs, "c": cs}


def gradients(ns, I, H, values, xs, h0, c0, rh, rc):
    """[name, grad array or None] per parameter after backpropagating sum(h*rh + c*rc) through
    len(xs) steps from the grader's parameter values."""
    cell = _cell(ns, I, H, values)
    h, c = _t(h0), _t(c0)
    for x in xs:
        out = cell(_t(x), h, c)
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            raise TypeError(f"forward returned {type(out).__name__}, expected the pair (h_t, c_t)")
        h, c = out
    loss = (h * _t(rh)).sum() + (c * _t(rc)).sum()
    loss.backward()
    return [[n, None if p.grad is None else _np(p.grad)] for n, p in cell.named_parameters()]


def run_candidates(ns, I, H, weight_sets, sequences):
    """For each candidate k (a way of laying the grader's weights into the student's
    parameters) and each sequence name -> [set, xs (T,B,I), h0, c0]: load weight_sets[set]
    (param -> (K, *shape)) and run the cell over xs. name_h / name_c (K, T, B, H), NaN where
    the candidate's run raised, plus the first error text of each candidate."""
    cell = _cell(ns, I, H)
    params = dict(cell.named_parameters())
    K = len(next(iter(next(iter(weight_sets.values())).values())))
    out = {}
    errors = [None] * K
    for name, (set_name, xs, h0, c0) in sequences.items():
        T, B = xs.shape[0], xs.shape[1]
        hs = np.full((K, T, B, H), np.nan, np.float32)
        cs = np.full((K, T, B, H), np.nan, np.float32)
        for k in range(K):
            try:
                with torch.no_grad():
                    for pname, stack in weight_sets[set_name].items():
                        params[pname].copy_(torch.tensor(np.array(stack[k], copy=True)))
                    h, c = h0, c0
                    for t in range(T):
                        h, c = _step(cell, xs[t], h, c)
                        hs[k, t], cs[k, t] = h, c
            except Exception as exc:  # noqa: BLE001 (a candidate that raises is just not it)
                errors[k] = errors[k] or f"{type(exc).__name__}: {exc}"[:300]
        out[name + "_h"], out[name + "_c"] = hs, cs
    out["errors"] = errors
    return out


def find_model(ns, seen):
    """(name, module): the global `model` if it is an nn.Module, else the last
    ManualLSTMClassifier instance among the globals, else the last one that ran (`seen`:
    what the prelude's forward hook recorded)."""
    nn = torch.nn
    if isinstance(ns.get("model"), nn.Module):
        return "model", ns["model"]
    cls = ns.get("ManualLSTMClassifier")
    found = None
    for name, value in list(ns.items()):
        if isinstance(value, nn.Module) and isinstance(cls, type) and isinstance(value, cls):
            found = (name, value)
    if found is None and isinstance(seen, nn.Module):
        found = ("the ManualLSTMClassifier the script ran last", seen)
    if found is None:
        raise LookupError("no trained model found: the script should leave its ManualLSTMClassifier "
                          "in a global variable named `model`")
    return found


def predict_test(ns, images, batch_size=500, seen=None):
    """Predicted digits for images (N, 28, 28) float32 in [0, 1] (ToTensor's scaling), rows as
    time steps, with the student's model in eval mode and no gradients. The labels never
    enter this process: the grader counts the correct ones."""
    name, model = find_model(ns, seen)
    params = list(model.parameters())
    device = params[0].device if params else torch.device("cpu")
    dtype = params[0].dtype if params and params[0].is_floating_point() else torch.float32
    was_training = model.training
    model.eval()
    preds = []
    try:
        with torch.no_grad():
            for k in range(0, len(images), batch_size):
                x = torch.tensor(np.array(images[k:k + batch_size], copy=True)).to(device=device, dtype=dtype)
                logits = model(x)
                if not isinstance(logits, torch.Tensor) or logits.dim() != 2 or logits.shape[0] != x.shape[0]:
                    shape = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__
                    raise ValueError(f"model(x) for x of shape {tuple(x.shape)} returned {shape}, "
                                     f"expected logits of shape ({x.shape[0]}, num_classes)")
                preds.append(logits.argmax(dim=1).cpu())
    finally:
        model.train(was_training)
    return {"model": name, "preds": torch.cat(preds).numpy().astype(np.int64),
            "n_params": int(sum(p.numel() for p in params))}
