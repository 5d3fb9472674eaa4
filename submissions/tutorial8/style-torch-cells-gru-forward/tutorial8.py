"""Tutorial 8. Everything in torch, the recurrences written with cells and explicit loops."""
import numpy as np
import torch
from torch import nn, optim


def elman_rnn(U, V, W, b, c, xs):
    U, V, W, b, xs = (torch.as_tensor(a, dtype=torch.float64) for a in (U, V, W, b, xs))
    h_prev = torch.zeros(U.shape[1], dtype=torch.float64)
    H, Y = [], []
    for t in range(xs.shape[0]):
        h_t = torch.tanh(torch.matmul(U.t(), xs[t]) + torch.matmul(W.t(), h_prev) + b)
        y_t = torch.sigmoid(torch.matmul(V.t(), h_t) + c)
        H.append(h_t)
        Y.append(y_t)
        h_prev = h_t
    return torch.stack(H), torch.stack(Y)


def jordan_rnn(U, V, W, b, c, xs):
    U, V, W, b, xs = (torch.as_tensor(a, dtype=torch.float64) for a in (U, V, W, b, xs))
    y_prev = torch.zeros(V.shape[1], dtype=torch.float64)
    H, Y = [], []
    for t in range(xs.shape[0]):
        h_t = torch.tanh(torch.matmul(U.t(), xs[t]) + torch.matmul(W.t(), y_prev) + b)
        y_t = torch.sigmoid(torch.matmul(V.t(), h_t) + c)
        H.append(h_t)
        Y.append(y_t)
        y_prev = y_t
    return torch.stack(H), torch.stack(Y)


def make_sequences(n_seqs, n_steps, noise=0.1, seed=10):
    rng = np.random.RandomState(seed)
    x = rng.uniform(0, 1, size=(n_seqs, n_steps, 3))
    y1 = np.zeros((n_seqs, n_steps))
    y2 = np.zeros((n_seqs, n_steps))
    y1[:, 1:] = 5 * x[:, 1:, 0] - 0.2 * x[:, :-1, 2]
    y2[:, 3:] = 25 * x[:, 2:-1, 1] * x[:, :-3, 2]
    y = np.stack([y1, y2], axis=-1) + noise * rng.standard_normal((n_seqs, n_steps, 2))
    return torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.float32)


class SequenceRNN(nn.Module):
    """An RNNCell unrolled by hand over the time axis."""

    def __init__(self, n_in=3, n_hidden=5, n_out=2):
        super().__init__()
        self.n_hidden = n_hidden
        self.cell = nn.RNNCell(n_in, n_hidden)
        self.readout = nn.Linear(n_hidden, n_out)

    def forward(self, x):
        B, T, _ = x.shape
        h = torch.zeros(B, self.n_hidden)
        outs = []
        for t in range(T):
            h = self.cell(x[:, t, :], h)
            outs.append(self.readout(h))
        return torch.stack(outs, dim=1)


def train_sequence_rnn(model, x, y, n_iters=10000, lr=0.01):
    optimizer = optim.Adam(model.parameters(), lr=lr)
    losses = []
    for i in range(n_iters):
        optimizer.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        optimizer.step()
        losses.append(float(loss))
    return losses


class MappingLSTM(nn.Module):
    """Sequence-first LSTM: the batch is moved to the second axis and back."""

    def __init__(self, hidden_size=10):
        super().__init__()
        self.lstm = nn.LSTM(1, hidden_size)
        self.linear = nn.Linear(hidden_size, 1)

    def forward(self, x):
        seq = x.permute(1, 0, 2)            # (4, B, 1)
        out, _ = self.lstm(seq)             # (4, B, H)
        return self.linear(out).squeeze(2).t()


def train_mapping_lstm(model, n_iters=5000, lr=0.001):
    inputs = torch.FloatTensor([[1, 2, 5, 6], [5, 7, 7, 8], [3, 4, 5, 7]]).unsqueeze(2)
    outputs = torch.FloatTensor([[1, 3, 7, 11], [5, 12, 14, 15], [3, 7, 9, 12]])
    optimizer = optim.Adam(model.parameters(), lr=lr)
    mse = nn.MSELoss()
    losses = []
    for i in range(n_iters):
        optimizer.zero_grad()
        loss = mse(model(inputs), outputs)
        loss.backward()
        optimizer.step()
        losses.append(float(loss))
    return losses


data = ['I did not like the movie', 'The movie was not good', 'I watched the movie with great interest',
        'I have seen better movies', 'Good to see that movie', 'I am not a fan of movies',
        'I liked the movie great', 'The movie was of interest to me',
        'I thought they could show interesting scenes', 'The movie did not have good scenes',
        'Family did not like the movie at all']
targets = [0, 0, 1, 0, 1, 0, 1, 1, 0, 0, 0]


def vocabulary(strings):
    text = "".join(strings).lower()
    chars = sorted(list(set(text)))
    char_to_ix = dict((ch, i) for i, ch in enumerate(chars))
    return len(chars), char_to_ix


def preprocess(strings, char_to_ix, max_length=40):
    out = torch.full((len(strings), max_length), char_to_ix[' '], dtype=torch.long)
    for i, s in enumerate(strings):
        for j, ch in enumerate(s.lower()[:max_length]):
            out[i, j] = char_to_ix[ch]
    return out


class SentimentGRU(nn.Module):
    def __init__(self, vocab_size, hidden_size=10, drop_rate=0.7):
        super().__init__()
        self.vocab_size = vocab_size
        self.drop_rate = drop_rate
        self.gru = nn.GRU(vocab_size, hidden_size, batch_first=True)
        self.dense = nn.Linear(hidden_size, 2)
        self.register_buffer("eye", torch.eye(vocab_size))

    def forward(self, x, drop_rate=None):
        p = self.drop_rate if drop_rate is None else drop_rate
        onehot = self.eye[x]                           # (B, L, V)
        h0 = torch.zeros(1, x.shape[0], self.gru.hidden_size)
        _, h_n = self.gru.forward(onehot, h0)          # calls the module's forward directly
        h = nn.functional.dropout(h_n.squeeze(0), p, self.training)
        return self.dense(h)


def train_sentiment(model, x, targets, n_epochs=2000, lr=0.001):
    optimizer = optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    costs, accuracies = [], []
    for epoch in range(n_epochs):
        optimizer.zero_grad()
        out = model(x)
        cost = loss_fn(out, targets)
        cost.backward()
        optimizer.step()
        costs.append(float(cost))
        accuracies.append(float((torch.max(out, 1)[1] == targets).sum()) / len(targets))
    return costs, accuracies
