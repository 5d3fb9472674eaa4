#!/usr/bin/env python3
"""Tutorial 8 solutions, written around small classes."""
import math

import numpy as np
import torch
import torch.nn as nn


class Recurrence:
    """Shared machinery of the Elman and Jordan nets; subclasses say what is fed back."""

    def __init__(self, U, V, W, b, c):
        self.U, self.V, self.W, self.b, self.c = U, V, W, b, c

    @staticmethod
    def act_out(a):
        return 1.0 / (1.0 + np.exp(-a))

    def feedback(self, h, y):
        raise NotImplementedError

    def run(self, xs):
        H, K = self.U.shape[1], self.V.shape[1]
        h, y = np.zeros(H), np.zeros(K)
        states, outs = [], []
        for x in xs:
            h = np.tanh(self.U.T.dot(x) + self.W.T.dot(self.feedback(h, y)) + self.b)
            y = self.act_out(self.V.T.dot(h) + self.c)
            states.append(h)
            outs.append(y[0])
        return np.array(states), np.array(outs)       # ys as a flat (T,) array


class Elman(Recurrence):
    def feedback(self, h, y):
        return h


class Jordan(Recurrence):
    def feedback(self, h, y):
        return y


def elman_rnn(U, V, W, b, c, xs):
    return Elman(U, V, W, b, c).run(xs)


def jordan_rnn(U, V, W, b, c, xs):
    return Jordan(U, V, W, b, c).run(xs)


def make_sequences(n_seqs, n_steps, noise=0.1, seed=10):
    rs = np.random.RandomState(seed)
    X = rs.rand(n_seqs, n_steps, 3)
    Y = np.zeros((n_seqs, n_steps, 2))
    x1, x2, x3 = X[..., 0], X[..., 1], X[..., 2]
    Y[:, 1:, 0] = 5 * x1[:, 1:] - 0.2 * x3[:, :-1]
    Y[:, 3:, 1] = 25 * x2[:, 2:-1] * x3[:, :-3]
    Y = Y + noise * rs.randn(n_seqs, n_steps, 2)
    return torch.FloatTensor(X), torch.FloatTensor(Y)


class SequenceRNN(nn.Module):
    """nn.RNN in its default (T, B, F) layout: the batch is moved in and out in forward."""

    def __init__(self, n_in=3, n_hidden=5, n_out=2):
        super().__init__()
        self.rnn = nn.RNN(n_in, n_hidden)
        self.head = nn.Linear(n_hidden, n_out)

    def forward(self, x):
        out, _ = self.rnn(x.transpose(0, 1))        # (T, B, H)
        return self.head(out).transpose(0, 1)       # (B, T, K)


def train_sequence_rnn(model, x, y, n_iters=10000, lr=0.01):
    opt = torch.optim.Adam(model.parameters(), lr)
    losses = []
    for _ in range(n_iters):
        model.zero_grad()
        loss = nn.MSELoss()(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


class MappingLSTM(nn.Module):
    """An LSTM cell with hidden_size units unrolled over the 4 steps."""

    def __init__(self, hidden_size=10):
        super().__init__()
        self.hidden_size = hidden_size
        self.cell = nn.LSTMCell(1, hidden_size)
        self.out = nn.Linear(hidden_size, 1)

    def forward(self, x):
        B = x.shape[0]
        h = torch.zeros(B, self.hidden_size)
        c = torch.zeros(B, self.hidden_size)
        ys = []
        for t in range(x.shape[1]):
            h, c = self.cell(x[:, t], (h, c))
            ys.append(self.out(h))
        return torch.cat(ys, dim=1)                 # (B, 4)


TABLE = {(1, 2, 5, 6): (1, 3, 7, 11), (5, 7, 7, 8): (5, 12, 14, 15), (3, 4, 5, 7): (3, 7, 9, 12)}


def train_mapping_lstm(model, n_iters=5000, lr=0.001):
    x = torch.tensor(list(TABLE.keys()), dtype=torch.float32).unsqueeze(-1)
    y = torch.tensor(list(TABLE.values()), dtype=torch.float32)
    opt = torch.optim.Adam(model.parameters(), lr)
    losses = []
    for _ in range(n_iters):
        model.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def vocabulary(strings):
    letters = "".join(sorted(set("".join(strings).lower())))
    return len(letters), dict(zip(letters, range(len(letters))))


def preprocess(strings, char_to_ix, max_length=40):
    batch = []
    for s in strings:
        s = s.lower()
        if len(s) > max_length:
            s = s[:max_length]
        while len(s) < max_length:
            s += " "
        batch.append([char_to_ix[ch] for ch in s])
    return torch.tensor(batch).long().reshape(-1, max_length)


class SentimentGRU(nn.Module):
    def __init__(self, vocab_size, hidden_size=10, drop_rate=0.7):
        super().__init__()
        self.vocab_size, self.drop_rate = vocab_size, drop_rate
        self.gru = nn.GRU(input_size=vocab_size, hidden_size=hidden_size)     # (L, B, V) layout
        self.classifier = nn.Sequential(nn.Dropout(drop_rate), nn.Linear(hidden_size, 2))

    def forward(self, x, drop_rate=None):
        self.classifier[0].p = self.drop_rate if drop_rate is None else drop_rate
        seq = torch.zeros(x.shape[1], x.shape[0], self.vocab_size)
        seq.scatter_(2, x.t().unsqueeze(-1), 1.0)
        _, hidden = self.gru(seq)
        return self.classifier(hidden[0])


def train_sentiment(model, x, targets, n_epochs=2000, lr=0.001):
    opt = torch.optim.Adam(model.parameters(), lr)
    costs, accs = [], []
    for _ in range(n_epochs):
        model.zero_grad()
        scores = model(x)
        cost = nn.CrossEntropyLoss()(scores, targets)
        cost.backward()
        opt.step()
        costs.append(cost.item())
        accs.append(sum(int(p == t) for p, t in zip(scores.argmax(1).tolist(), targets.tolist())) / len(targets))
    return costs, accs
