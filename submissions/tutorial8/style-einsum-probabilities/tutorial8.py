import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# ---------- Q1 ----------
sig = lambda a: 1.0 / (1.0 + np.exp(-a))


def elman_rnn(U, V, W, b, c, xs):
    T = len(xs)
    hs = np.zeros((T + 1, U.shape[1]))          # hs[0] is h(0) = 0
    for t in range(1, T + 1):
        hs[t] = np.tanh(np.einsum('ij,i->j', U, xs[t - 1]) + np.einsum('ij,i->j', W, hs[t - 1]) + b)
    hs = hs[1:]
    ys = sig(np.einsum('ij,ti->tj', V, hs) + c)
    return hs, ys


def jordan_rnn(U, V, W, b, c, xs):
    T = len(xs)
    hs = np.zeros((T, U.shape[1]))
    ys = np.zeros((T + 1, V.shape[1]))          # ys[0] is y(0) = 0
    for t in range(T):
        hs[t] = np.tanh(np.einsum('ij,i->j', U, xs[t]) + np.einsum('ij,i->j', W, ys[t]) + b)
        ys[t + 1] = sig(np.einsum('ij,i->j', V, hs[t]) + c)
    return hs, ys[1:]


# ---------- Q2 ----------
def make_sequences(n_seqs, n_steps, noise=0.1, seed=10):
    np.random.seed(seed)
    x = np.random.rand(n_seqs, n_steps, 3)
    y = np.zeros((n_seqs, n_steps, 2))
    y[:, 1:, 0] = 5 * x[:, 1:, 0] - 0.2 * x[:, 0:n_steps - 1, 2]
    y[:, 3:, 1] = 25 * x[:, 2:n_steps - 1, 1] * x[:, 0:n_steps - 3, 2]
    y += np.random.normal(0.0, noise, size=y.shape) if noise > 0 else 0.0
    return torch.Tensor(x), torch.Tensor(y)


class SequenceRNN(nn.Module):
    def __init__(self, n_in=3, n_hidden=5, n_out=2):
        super(SequenceRNN, self).__init__()
        self.hidden_dim = n_hidden
        self.rnn = nn.RNN(n_in, n_hidden, num_layers=1, nonlinearity='tanh', batch_first=True)
        self.linear = nn.Linear(n_hidden, n_out)

    def forward(self, x):
        h0 = torch.zeros(1, x.size(0), self.hidden_dim)
        rnn_out, hidden = self.rnn(x, h0)
        return self.linear(rnn_out)


def train_sequence_rnn(model, x, y, n_iters=10000, lr=0.01):
    optimizer = torch.optim.Adam(params=model.parameters(), lr=lr)
    criterion = nn.MSELoss()
    losses = np.zeros(n_iters)
    for i in range(n_iters):
        optimizer.zero_grad()
        output = model(x)
        loss = criterion(output, y)
        loss.backward()
        optimizer.step()
        losses[i] = loss.detach().numpy()
    return losses


# ---------- Q3 ----------
class MappingLSTM(nn.Module):
    def __init__(self, hidden_size=10):
        super(MappingLSTM, self).__init__()
        self.lstm = nn.LSTM(1, hidden_size, 1, batch_first=True)
        self.linear = nn.Linear(hidden_size, 1)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.linear(out).view(-1, 4)


def train_mapping_lstm(model, n_iters=5000, lr=0.001):
    x = torch.Tensor(np.array([[1, 2, 5, 6], [5, 7, 7, 8], [3, 4, 5, 7]]).reshape(3, 4, 1))
    y = torch.Tensor(np.array([[1, 3, 7, 11], [5, 12, 14, 15], [3, 7, 9, 12]]))
    optimizer = torch.optim.Adam(params=model.parameters(), lr=lr)
    criterion = nn.MSELoss()
    losses = np.zeros(n_iters)
    for i in range(n_iters):
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
        losses[i] = loss.item()
    return losses


# ---------- Q4 ----------
def vocabulary(strings):
    chars = np.unique(list(''.join(strings).lower()))
    return len(chars), {str(ch): i for i, ch in enumerate(chars)}


def preprocess(strings, char_to_ix, max_length=40):
    ids = np.array([[char_to_ix[ch] for ch in s.lower().ljust(max_length)[:max_length]] for s in strings],
                   dtype=np.int64).reshape(len(strings), max_length)
    return torch.from_numpy(ids)


class SentimentGRU(nn.Module):
    """Returns class PROBABILITIES (softmax applied inside forward)."""

    def __init__(self, vocab_size, hidden_size=10, drop_rate=0.7):
        super(SentimentGRU, self).__init__()
        self.vocab_size = vocab_size
        self.p = drop_rate
        self.gru = nn.GRU(vocab_size, hidden_size, batch_first=True)
        self.fc = nn.Linear(hidden_size, 2)

    def forward(self, x, drop_rate=None):
        rate = self.p if drop_rate is None else drop_rate
        x = F.one_hot(x, num_classes=self.vocab_size).type(torch.float32)
        out, h = self.gru(x)
        h = F.dropout(out[:, -1, :], rate, training=self.training)
        return F.softmax(self.fc(h), dim=1)


def train_sentiment(model, x, targets, n_epochs=2000, lr=0.001):
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    nll = nn.NLLLoss()
    costs, accuracies = [], []
    for e in range(n_epochs):
        optimizer.zero_grad()
        probs = model(x)
        loss = nll(torch.log(probs + 1e-9), targets)
        loss.backward()
        optimizer.step()
        costs.append(loss.item())
        accuracies.append(torch.mean((torch.argmax(probs, 1) == targets).float()).item())
    return costs, accuracies
