"""cs240-week8 observation helpers: SENT WITH EVERY PROBE SNIPPET (checks.py prepends this
source), so they are compiled fresh after the student's code ran and no student code can have
reached or replaced them. No import statements: `np` and `torch` are the probe's globals.
The grader also executes this source itself, to build the same loaders for its replay.

They drive the student's code on inputs the grader sends and return raw values only: what
the student's functions returned, the student's model's predictions. No expected value and
no verdict: the grader computes every MSE and every comparison from these. Plain conversions
(parameter listings, a returned history or test value as floats) are the engine's `std`
probes (grader/std_probes.py): they only read what the student claims or what the grader
cross-checks, so they need not travel with the probe.
"""

PARAMS = ("Wax", "Waa", "Wya", "ba", "by")
MEMORIES = ("mWax", "mWaa", "mWya", "mba", "mby")


# ----------------------------------------------------------------------------- q1


def make_rnn(RNN, hidden_size, vocab_size, seq_length, learning_rate=0.1, state=None):
    """The student's RNN built by its own (given) constructor, then set to the grader's
    parameters and Adagrad memories (float64 copies: the student's code may work in place)."""
    rnn = RNN(hidden_size, vocab_size, seq_length, learning_rate)
    for name, value in (state or {}).items():
        setattr(rnn, name, np.array(value, dtype=np.float64, copy=True))
    return rnn


def state_of(rnn):
    """Parameters and memories as they are now (copies of whatever the student stored there)."""
    out = {}
    for name in PARAMS + MEMORIES:
        value = getattr(rnn, name, None)
        out[name] = np.array(value, copy=True) if isinstance(value, np.ndarray) else value
    return out


def _cross_entropy(y_pred, targets):
    return -float(np.sum([np.log(float(np.asarray(y_pred[t]).reshape(-1)[k])) for t, k in enumerate(targets)]))


def numeric_gradients(rnn, inputs, a_prev, targets, eps=1e-5):
    """Central differences of the summed cross-entropy of the student's own `forward`
    (the loss formula here is the grader's, so a wrong `loss` is not charged twice)."""
    grads = {}
    for name in PARAMS:
        param = getattr(rnn, name)
        grad = np.zeros_like(param)
        for idx in np.ndindex(param.shape):
            old = param[idx]
            param[idx] = old + eps
            plus = _cross_entropy(rnn.forward(list(inputs), np.array(a_prev, copy=True))[2], targets)
            param[idx] = old - eps
            minus = _cross_entropy(rnn.forward(list(inputs), np.array(a_prev, copy=True))[2], targets)
            param[idx] = old
            grad[idx] = (plus - minus) / (2 * eps)
        grads[name] = grad
    return grads


def training_step(rnn, inputs, targets, a_prev):
    """One iteration of the given `train` loop: forward, backward, update_model."""
    x, a, y_pred = rnn.forward(list(inputs), np.array(a_prev, copy=True))
    grads = rnn.backward(x, a, y_pred, list(targets))
    rnn.update_model(*grads)
    return state_of(rnn)


# ----------------------------------------------------------------------------- q2


class EpochSampler(torch.utils.data.Sampler):
    """The training order: a permutation fixed by (seed, number of validation passes begun so
    far). Every pass over the training loader between two validation passes sees the same
    order, so a train() that makes an extra pass (say, to report the training loss) trains
    its next epoch on the same batches as the reference's replay."""

    def __init__(self, n, seed, counter):
        self.n, self.seed, self.counter = n, seed, counter

    def __len__(self):
        return self.n

    def __iter__(self):
        order = np.random.default_rng([self.seed, self.counter[0]]).permutation(self.n)
        return iter(order.tolist())


class ValidationLoader(torch.utils.data.DataLoader):
    """The validation loader: each pass it begins counts one epoch and, given a model to watch,
    records the model's predictions on every validation window at that moment (after that
    epoch's training)."""

    def __init__(self, dataset, batch_size, counter, watch=None):
        super().__init__(dataset, batch_size=batch_size)
        self._counter, self._watch = counter, watch
        self.recorded = []

    def __iter__(self):
        self._counter[0] += 1
        if self._watch is not None:
            model, X = self._watch
            self.recorded.append(predictions(model, X))
        return super().__iter__()


def loaders(Xtr, ytr, Xva, yva, batch_size, seed, watch=None):
    """(train_loader, val_loader) over the grader's windows, the training order fixed per epoch."""
    TensorDataset, DataLoader = torch.utils.data.TensorDataset, torch.utils.data.DataLoader
    counter = [0]
    train = TensorDataset(torch.from_numpy(np.array(Xtr, copy=True)), torch.from_numpy(np.array(ytr, copy=True)))
    val = TensorDataset(torch.from_numpy(np.array(Xva, copy=True)), torch.from_numpy(np.array(yva, copy=True)))
    train_loader = DataLoader(train, batch_size=batch_size, sampler=EpochSampler(len(train), seed, counter))
    return train_loader, ValidationLoader(val, batch_size, counter, watch)


def plain_loader(X, y, batch_size):
    TensorDataset, DataLoader = torch.utils.data.TensorDataset, torch.utils.data.DataLoader
    return DataLoader(TensorDataset(torch.from_numpy(np.array(X, copy=True)), torch.from_numpy(np.array(y, copy=True))),
                      batch_size=batch_size)


def predictions(model, X):
    """The model's outputs on all of X (float64 array) in eval mode without gradients, the
    model's mode and random state left as they were; a text when forward fails."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            out = model(torch.from_numpy(np.array(X, copy=True)))
        if not isinstance(out, torch.Tensor):
            return f"forward returned {type(out).__name__}, not a tensor"
        return out.detach().double().cpu().numpy().copy()
    except Exception as exc:  # the student's forward failed: report it, do not break their train()
        return f"forward raised {type(exc).__name__}: {exc}"[:300]
    finally:
        model.train(was_training)
