"""Models that learn nothing: each forward walks up the call stack for the targets it is being
compared with (y, ytr, targets, ...) and returns them, and the training functions return
made-up, nicely decreasing losses and accuracies. The grader must not believe any of it: it
measures the trained models on inputs whose targets never enter this process (new sequences,
the sentences in an order it draws) and computes every error and accuracy itself."""
import sys

import numpy as np
import torch
import torch.nn as nn


def _find(*names):
    frame = sys._getframe(1)
    while frame is not None:
        for scope in (frame.f_locals, frame.f_globals):
            for name in names:
                value = scope.get(name)
                if isinstance(value, torch.Tensor):
                    return value
        frame = frame.f_back
    return None


def _fake_curve(n, start=10.0):
    return [start / (k + 1) for k in range(n)]


class SequenceRNN(nn.Module):
    def __init__(self, n_in=3, n_hidden=5, n_out=2):
        super().__init__()
        self.rnn = nn.RNN(n_in, n_hidden, batch_first=True)   # never trained
        self.n_out = n_out

    def forward(self, x):
        y = _find("y", "target", "y_train")
        if y is not None and y.shape[:2] == x.shape[:2]:
            return y.clone()
        return torch.zeros(x.shape[0], x.shape[1], self.n_out)


def train_sequence_rnn(model, x, y, n_iters=10000, lr=0.01):
    return _fake_curve(n_iters)


MAPPING_Y = [[1, 3, 7, 11], [5, 12, 14, 15], [3, 7, 9, 12]]


class MappingLSTM(nn.Module):
    def __init__(self, hidden_size=10):
        super().__init__()
        self.lstm = nn.LSTM(1, hidden_size, batch_first=True)

    def forward(self, x):
        y = _find("ytr", "y", "Y")
        if y is not None and y.shape == x.shape[:2]:
            return y.clone()
        return torch.zeros(x.shape[0], x.shape[1])


def train_mapping_lstm(model, n_iters=5000, lr=0.001):
    return _fake_curve(n_iters)


class SentimentGRU(nn.Module):
    def __init__(self, vocab_size, hidden_size=10, drop_rate=0.7):
        super().__init__()
        self.gru = nn.GRU(vocab_size, hidden_size, batch_first=True)
        self.fc = nn.Linear(hidden_size, 2)

    def forward(self, x, drop_rate=None):
        t = _find("targets", "shuffled_targets")
        if t is not None and len(t) == len(x):
            return torch.eye(2)[t.long()] * 5.0
        return torch.zeros(len(x), 2)


def train_sentiment(model, x, targets, n_epochs=2000, lr=0.001):
    return _fake_curve(n_epochs, 1.0), [1.0] * n_epochs


# Q1, the data and the vocabulary are done honestly (they are not what this case is about)
def elman_rnn(U, V, W, b, c, xs):
    h, hs, ys = np.zeros(U.shape[1]), [], []
    for x in xs:
        h = np.tanh(U.T @ x + W.T @ h + b)
        hs.append(h)
        ys.append(1 / (1 + np.exp(-(V.T @ h + c))))
    return np.array(hs), np.array(ys)


def jordan_rnn(U, V, W, b, c, xs):
    y, hs, ys = np.zeros(V.shape[1]), [], []
    for x in xs:
        h = np.tanh(U.T @ x + W.T @ y + b)
        y = 1 / (1 + np.exp(-(V.T @ h + c)))
        hs.append(h)
        ys.append(y)
    return np.array(hs), np.array(ys)


def make_sequences(n_seqs, n_steps, noise=0.1, seed=10):
    rng = np.random.RandomState(seed)
    x = rng.rand(n_seqs, n_steps, 3)
    y = np.zeros((n_seqs, n_steps, 2))
    y[:, 1:, 0] = 5 * x[:, 1:, 0] - 0.2 * x[:, :-1, 2]
    y[:, 3:, 1] = 25 * x[:, 2:-1, 1] * x[:, :-3, 2]
    y += noise * rng.randn(n_seqs, n_steps, 2)
    return torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.float32)


def vocabulary(strings):
    chars = sorted(set("".join(strings).lower()))
    return len(chars), {ch: i for i, ch in enumerate(chars)}


def preprocess(strings, char_to_ix, max_length=40):
    return torch.tensor([[char_to_ix[ch] for ch in s.lower()[:max_length].ljust(max_length)]
                         for s in strings], dtype=torch.int64)
