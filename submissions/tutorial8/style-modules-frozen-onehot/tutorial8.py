"""Tutorial 8 - every question as a torch module (Q1 too, with the given weights loaded)."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class TinyRecurrentNet(nn.Module):
    def __init__(self, U, V, W, b, c, jordan=False):
        super().__init__()
        as_param = lambda a: nn.Parameter(torch.tensor(np.asarray(a, dtype=np.float64)), requires_grad=False)
        self.U, self.V, self.W, self.b = as_param(U), as_param(V), as_param(W), as_param(b)
        self.c = float(c)
        self.jordan = jordan

    def forward(self, xs):
        h = torch.zeros(self.U.shape[1], dtype=torch.float64)
        y = torch.zeros(self.V.shape[1], dtype=torch.float64)
        states = {}
        for t, x_t in enumerate(torch.as_tensor(xs, dtype=torch.float64)):
            fed = y if self.jordan else h
            h = torch.tanh(x_t @ self.U + fed @ self.W + self.b)
            y = torch.sigmoid(h @ self.V + self.c)
            states[t] = (h, y)
        hs = torch.stack([states[t][0] for t in sorted(states)])
        ys = torch.stack([states[t][1] for t in sorted(states)])
        return hs, ys


def elman_rnn(U, V, W, b, c, xs):
    with torch.no_grad():
        return TinyRecurrentNet(U, V, W, b, c)(xs)


def jordan_rnn(U, V, W, b, c, xs):
    with torch.no_grad():
        return TinyRecurrentNet(U, V, W, b, c, jordan=True)(xs)


def make_sequences(n_seqs, n_steps, noise=0.1, seed=10):
    np.random.seed(seed)
    x = np.random.rand(n_seqs, n_steps, 3)
    lag = lambda a, k: np.pad(a, ((0, 0), (k, 0)))[:, :n_steps]     # a(t - k), zero before
    y1 = 5 * x[:, :, 0] - 0.2 * lag(x[:, :, 2], 1)
    y1[:, 0] = 0.0
    y2 = 25 * lag(x[:, :, 1], 1) * lag(x[:, :, 2], 3)
    y = np.dstack([y1, y2]) + noise * np.random.randn(n_seqs, n_steps, 2)
    return torch.from_numpy(x.astype(np.float32)), torch.from_numpy(y.astype(np.float32))


class SequenceRNN(nn.Module):
    def __init__(self, n_in=3, n_hidden=5, n_out=2):
        super().__init__()
        self.rnn = nn.RNN(n_in, n_hidden, batch_first=True)
        self.fc = nn.Linear(n_hidden, n_out)

    def forward(self, x):
        states, last = self.rnn(x)
        return self.fc(states)


def train_sequence_rnn(model, x, y, n_iters=10000, lr=0.01):
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(n_iters):
        loss = F.mse_loss(model(x), y, reduction="mean")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.detach())               # a list of 0-d tensors
    return losses


class MappingLSTM(nn.Module):
    def __init__(self, hidden_size=10):
        super().__init__()
        self.lstm = nn.LSTM(1, hidden_size, batch_first=True)
        self.fc = nn.Linear(hidden_size, 1)

    def forward(self, x):
        out, (h_n, c_n) = self.lstm(x)
        return self.fc(out).flatten(1)


def train_mapping_lstm(model, n_iters=5000, lr=0.001):
    pairs = [([1, 2, 5, 6], [1, 3, 7, 11]), ([5, 7, 7, 8], [5, 12, 14, 15]), ([3, 4, 5, 7], [3, 7, 9, 12])]
    x = torch.tensor([p[0] for p in pairs], dtype=torch.float32)[:, :, None]
    y = torch.tensor([p[1] for p in pairs], dtype=torch.float32)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(n_iters):
        loss = F.mse_loss(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.detach())
    return losses


def vocabulary(strings):
    lowered = [s.lower() for s in strings]
    vocab = sorted(set().union(*map(set, lowered)))
    return len(vocab), {ch: k for k, ch in enumerate(vocab)}


def preprocess(strings, char_to_ix, max_length=40):
    pad = char_to_ix[" "]
    encode = lambda s: [char_to_ix[ch] for ch in s.lower()[:max_length]]
    return torch.tensor([encode(s) + [pad] * (max_length - len(encode(s))) for s in strings],
                        dtype=torch.int64).view(len(strings), max_length)


class SentimentGRU(nn.Module):
    def __init__(self, vocab_size, hidden_size=10, drop_rate=0.7):
        super().__init__()
        self.onehot = nn.Embedding.from_pretrained(torch.eye(vocab_size), freeze=True)
        self.gru = nn.GRU(vocab_size, hidden_size, batch_first=True)
        self.dropout = nn.Dropout(drop_rate)
        self.fc = nn.Linear(hidden_size, 2)

    def forward(self, x, drop_rate=None):
        _, h_n = self.gru(self.onehot(x))
        h = h_n[-1]
        h = self.dropout(h) if drop_rate is None else F.dropout(h, drop_rate, self.training)
        return self.fc(h)


def train_sentiment(model, x, targets, n_epochs=2000, lr=0.001):
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    costs, accuracies = [], []
    for _ in range(n_epochs):
        out = model(x)
        cost = F.cross_entropy(out, targets)
        opt.zero_grad(set_to_none=True)
        cost.backward()
        opt.step()
        costs.append(cost.detach())
        accuracies.append(out.argmax(1).eq(targets).float().mean())
    return costs, accuracies
