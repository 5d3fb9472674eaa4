import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset


def elman_rnn(U, V, W, b, c, xs):
    n_steps, n_hidden = xs.shape[0], U.shape[1]
    h_prev = np.zeros((n_hidden, 1))
    hs = np.empty((n_steps, n_hidden))
    ys = np.empty((n_steps, 1))
    for t in range(n_steps):
        x_t = xs[t].reshape(-1, 1)                               # column vector (3, 1)
        h_t = np.tanh(np.matmul(U.T, x_t) + np.matmul(W.T, h_prev) + b.reshape(-1, 1))
        y_t = 1 / (1 + np.exp(-(np.matmul(V.T, h_t) + c)))
        hs[t], ys[t] = h_t.ravel(), y_t.ravel()
        h_prev = h_t
    return hs, ys


def jordan_rnn(U, V, W, b, c, xs):
    n_steps, n_hidden = xs.shape[0], U.shape[1]
    y_prev = np.zeros((V.shape[1], 1))
    hs = np.empty((n_steps, n_hidden))
    ys = np.empty((n_steps, 1))
    for t in range(n_steps):
        x_t = xs[t].reshape(-1, 1)
        h_t = np.tanh(np.matmul(U.T, x_t) + np.matmul(W.T, y_prev) + b.reshape(-1, 1))
        y_t = 1 / (1 + np.exp(-(np.matmul(V.T, h_t) + c)))
        hs[t], ys[t] = h_t.ravel(), y_t.ravel()
        y_prev = y_t
    return hs, ys


def make_sequences(n_seqs, n_steps, noise=0.1, seed=10):
    np.random.seed(seed)
    x_train = np.random.rand(n_seqs, n_steps, 3)
    y_train = np.zeros((n_seqs, n_steps, 2))
    y_train[:, 1:, 0] = 5 * x_train[:, 1:, 0] - 0.2 * x_train[:, :-1, 2]
    y_train[:, 3:, 1] = 25 * x_train[:, 2:-1, 1] * x_train[:, :-3, 2]
    y_train = y_train + noise * np.random.randn(n_seqs, n_steps, 2)
    return torch.tensor(x_train, dtype=torch.float), torch.tensor(y_train, dtype=torch.float)


class SequenceRNN(nn.Module):
    def __init__(self, n_in=3, n_hidden=5, n_out=2):
        super().__init__()
        self.rnn = nn.RNN(n_in, n_hidden, batch_first=True)
        self.fc = nn.Linear(n_hidden, n_out)

    def forward(self, x):
        output, _ = self.rnn(x)
        B, T, H = output.shape
        return self.fc(output.reshape(B * T, H)).reshape(B, T, -1)


def train_sequence_rnn(model, x, y, n_iters=10000, lr=0.01):
    loader = DataLoader(TensorDataset(x, y), batch_size=len(x), shuffle=True)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.MSELoss()
    losses = []
    it = 0
    while it < n_iters:
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            it += 1
    return losses


class MappingLSTM(nn.Module):
    def __init__(self, hidden_size=10):
        super().__init__()
        self.hidden_size = hidden_size
        self.lstm = nn.LSTM(input_size=1, hidden_size=hidden_size, num_layers=1, batch_first=True)
        self.fc = nn.Linear(hidden_size, 1)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.fc(out.reshape(-1, self.hidden_size)).reshape(x.shape[0], -1)


def train_mapping_lstm(model, n_iters=5000, lr=0.001):
    X = torch.tensor([[1, 2, 5, 6], [5, 7, 7, 8], [3, 4, 5, 7]], dtype=torch.float).reshape(3, 4, 1)
    Y = torch.tensor([[1, 3, 7, 11], [5, 12, 14, 15], [3, 7, 9, 12]], dtype=torch.float)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(n_iters):
        optimizer.zero_grad()
        loss = nn.MSELoss()(model(X), Y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def vocabulary(strings):
    char_to_ix = {}
    for ch in sorted(set(''.join(strings).lower())):
        char_to_ix[ch] = len(char_to_ix)
    return len(char_to_ix), char_to_ix


def preprocess(strings, char_to_ix, max_length=40):
    ids = np.full((len(strings), max_length), char_to_ix[' '], dtype=np.int64)
    for i, sentence in enumerate(strings):
        codes = [char_to_ix[ch] for ch in sentence.lower()][:max_length]
        ids[i, :len(codes)] = codes
    return torch.tensor(ids)


class SentimentGRU(nn.Module):
    """Returns log-probabilities (log_softmax), trained with NLLLoss."""

    def __init__(self, vocab_size, hidden_size=10, drop_rate=0.7):
        super().__init__()
        self.vocab_size = vocab_size
        self.drop_rate = drop_rate
        self.gru = nn.GRU(vocab_size, hidden_size, num_layers=1, batch_first=True)
        self.linear = nn.Linear(hidden_size, 2)

    def forward(self, x, drop_rate=None):
        rate = drop_rate if drop_rate is not None else self.drop_rate
        out, hidden = self.gru(F.one_hot(x, self.vocab_size).float())
        hidden = F.dropout(hidden.squeeze(0), p=rate, training=self.training)
        return F.log_softmax(self.linear(hidden), dim=-1)


def train_sentiment(model, x, targets, n_epochs=2000, lr=0.001):
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    criterion = nn.NLLLoss()
    costs, accuracies = [], []
    for epoch in range(n_epochs):
        model.train()
        optimizer.zero_grad()
        log_probs = model(x)
        loss = criterion(log_probs, targets)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
        costs.append(loss.item())
        accuracies.append((log_probs.argmax(-1) == targets).sum().item() / targets.numel())
    return costs, accuracies
