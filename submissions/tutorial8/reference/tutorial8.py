"""Tutorial 8 (Recurrent Neural Networks), reference solution.

Q1  Elman (hidden recurrence) and Jordan (top-down recurrence) forward passes in numpy.
Q2  Sequence regression: y1(t) = 5 x1(t) - 0.2 x3(t-1), y2(t) = 25 x2(t-1) x3(t-3).
Q3  An LSTM layer with 10 units mapping x(t) to y(t) = x(t) + x(t-1).
Q4  A character GRU with 10 units and dropout at the hidden layer for movie sentiments.

Everything runnable sits under `if __name__ == "__main__":`; the grader imports the module.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# ---------------------------------------------------------------------------------------------
# Q1: Elman and Jordan recurrences (numpy)
# ---------------------------------------------------------------------------------------------


def sigmoid(u: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-u))


def elman_rnn(U: np.ndarray, V: np.ndarray, W: np.ndarray, b: np.ndarray, c: float,
              xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """h(t) = tanh(U^T x(t) + W^T h(t-1) + b), y(t) = sigmoid(V^T h(t) + c), h(0) = 0."""
    T = xs.shape[0]
    n_hidden = U.shape[1]
    h = np.zeros(n_hidden)                          # (H,)
    hs = np.zeros((T, n_hidden))                    # (T, H)
    ys = np.zeros((T, V.shape[1]))                  # (T, K)
    for t in range(T):
        h = np.tanh(U.T @ xs[t] + W.T @ h + b)      # (H,) = (H,D)(D,) + (H,H)(H,) + (H,)
        hs[t] = h
        ys[t] = sigmoid(V.T @ h + c)                # (K,) = (K,H)(H,) + ()
    return hs, ys


def jordan_rnn(U: np.ndarray, V: np.ndarray, W: np.ndarray, b: np.ndarray, c: float,
               xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """h(t) = tanh(U^T x(t) + W^T y(t-1) + b), y(t) = sigmoid(V^T h(t) + c), y(0) = 0."""
    T = xs.shape[0]
    n_hidden, n_out = U.shape[1], V.shape[1]
    y = np.zeros(n_out)                             # (K,)
    hs = np.zeros((T, n_hidden))                    # (T, H)
    ys = np.zeros((T, n_out))                       # (T, K)
    for t in range(T):
        h = np.tanh(U.T @ xs[t] + W.T @ y + b)      # (H,) = (H,D)(D,) + (H,K)(K,) + (H,)
        y = sigmoid(V.T @ h + c)                    # (K,)
        hs[t], ys[t] = h, y
    return hs, ys


# ---------------------------------------------------------------------------------------------
# Q2: sequence regression with a vanilla RNN
# ---------------------------------------------------------------------------------------------


def make_sequences(n_seqs: int, n_steps: int, noise: float = 0.1,
                   seed: int = 10) -> tuple[torch.Tensor, torch.Tensor]:
    """x uniform in [0, 1) of shape (N, T, 3); y (N, T, 2) from the two lagged equations."""
    rng = np.random.RandomState(seed)
    x = rng.rand(n_seqs, n_steps, 3)                                  # (N, T, 3)
    y = np.zeros((n_seqs, n_steps, 2))                                # (N, T, 2)
    y[:, 1:, 0] = 5 * x[:, 1:, 0] - 0.2 * x[:, :-1, 2]                # y1(t), t >= 1
    y[:, 3:, 1] = 25 * x[:, 2:-1, 1] * x[:, :-3, 2]                   # y2(t), t >= 3
    y += noise * rng.randn(n_seqs, n_steps, 2)
    return torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.float32)


class SequenceRNN(nn.Module):
    """A tanh RNN layer over time followed by a linear read-out at every step."""

    def __init__(self, n_in: int = 3, n_hidden: int = 5, n_out: int = 2):
        super().__init__()
        self.rnn = nn.RNN(n_in, n_hidden, batch_first=True)
        self.out = nn.Linear(n_hidden, n_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, _ = self.rnn(x)              # (B, T, H)
        return self.out(h)              # (B, T, K)


def train_sequence_rnn(model: nn.Module, x: torch.Tensor, y: torch.Tensor, n_iters: int = 10000,
                       lr: float = 0.01) -> list[float]:
    """Full-batch Adam on the mean squared error; returns the loss of every iteration."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.MSELoss()
    losses = []
    for _ in range(n_iters):
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


# ---------------------------------------------------------------------------------------------
# Q3: an LSTM layer with 10 units mapping (1 2 5 6) -> (1 3 7 11), ...
# ---------------------------------------------------------------------------------------------

MAPPING_X = [[1, 2, 5, 6], [5, 7, 7, 8], [3, 4, 5, 7]]
MAPPING_Y = [[1, 3, 7, 11], [5, 12, 14, 15], [3, 7, 9, 12]]


class MappingLSTM(nn.Module):
    def __init__(self, hidden_size: int = 10):
        super().__init__()
        self.lstm = nn.LSTM(1, hidden_size, batch_first=True)
        self.out = nn.Linear(hidden_size, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, _ = self.lstm(x)              # (B, 4, H)
        return self.out(h).squeeze(-1)   # (B, 4)


def train_mapping_lstm(model: nn.Module, n_iters: int = 5000, lr: float = 0.001) -> list[float]:
    """Adam on the MSE between model(x) (3, 4) and the seed's targets (3, 4)."""
    x = torch.tensor(MAPPING_X, dtype=torch.float32).unsqueeze(-1)   # (3, 4, 1)
    y = torch.tensor(MAPPING_Y, dtype=torch.float32)                 # (3, 4)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.MSELoss()
    losses = []
    for _ in range(n_iters):
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


# ---------------------------------------------------------------------------------------------
# Q4: a character GRU for movie sentiments
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


def vocabulary(strings: list[str]) -> tuple[int, dict[str, int]]:
    """Sorted lower-case characters of all strings -> (vocab_size, char_to_ix)."""
    chars = sorted(set(''.join(strings).lower()))
    char_to_ix = {ch: i for i, ch in enumerate(chars)}
    return len(chars), char_to_ix


def preprocess(strings: list[str], char_to_ix: dict[str, int],
               max_length: int = MAX_LENGTH) -> torch.Tensor:
    """Lower-case, truncate or pad with spaces to max_length, map to ids: LongTensor (N, L)."""
    ids = np.zeros((len(strings), max_length), dtype=np.int64)       # (N, L)
    for i, s in enumerate(strings):
        chars = list(s.lower()[:max_length])
        chars += [' '] * (max_length - len(chars))
        ids[i] = [char_to_ix[ch] for ch in chars]
    return torch.tensor(ids, dtype=torch.int64)


class SentimentGRU(nn.Module):
    """One-hot characters -> GRU (10 units) -> dropout on the last hidden state -> 2 logits."""

    def __init__(self, vocab_size: int, hidden_size: int = 10, drop_rate: float = 0.7):
        super().__init__()
        self.vocab_size = vocab_size
        self.drop_rate = drop_rate
        self.gru = nn.GRU(vocab_size, hidden_size, batch_first=True)
        self.out = nn.Linear(hidden_size, 2)

    def forward(self, x: torch.Tensor, drop_rate: float | None = None) -> torch.Tensor:
        p = self.drop_rate if drop_rate is None else drop_rate
        x = F.one_hot(x, self.vocab_size).float()        # (B, L, V)
        _, h = self.gru(x)                               # (1, B, H): the last hidden state
        h = F.dropout(h[0], p=p, training=self.training) # (B, H)
        return self.out(h)                               # (B, 2) logits


def train_sentiment(model: nn.Module, x: torch.Tensor, targets: torch.Tensor, n_epochs: int = 2000,
                    lr: float = 0.001) -> tuple[list[float], list[float]]:
    """Full-batch Adam on the cross-entropy; accuracy measured on the same (dropped-out) pass."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    costs, accuracies = [], []
    model.train()
    for _ in range(n_epochs):
        optimizer.zero_grad()
        logits = model(x)                                # (N, 2)
        loss = loss_fn(logits, targets)
        loss.backward()
        optimizer.step()
        costs.append(loss.item())
        accuracies.append((logits.argmax(1) == targets).float().mean().item())
    return costs, accuracies


# ---------------------------------------------------------------------------------------------
# Demo: what the tutorial runs (not executed by the grader)
# ---------------------------------------------------------------------------------------------

if __name__ == "__main__":
    import matplotlib.pyplot as plt

    # Q1: the seed's numbers
    U = np.array([[-1.0, 0.5], [0.5, 0.1], [0.2, -2.0]])
    V = np.array([[2.0], [-1.5]])
    b = np.array([0.2, 0.2])
    c = 0.5
    xs = np.array([[1, 2, -1], [-1, 1, -2], [0, 3, 1], [2, -1, 0]], dtype=float)
    hs, ys = elman_rnn(U, V, np.array([[2.0, 1.3], [1.5, 0.0]]), b, c, xs)
    print("Elman  y:", np.round(ys[:, 0], 4))       # 0.2707 0.7284 0.9432 0.1126
    hs, ys = jordan_rnn(U, V, np.array([[2.0, 1.3]]), b, c, xs)
    print("Jordan y:", np.round(ys[:, 0], 4))       # 0.2707 0.7115 0.9635 0.1563

    # Q2
    np.random.seed(10)
    torch.manual_seed(10)
    x_train, y_train = make_sequences(8, 100, noise=0.1, seed=10)
    rnn = SequenceRNN(3, 5, 2)
    losses = train_sequence_rnn(rnn, x_train, y_train, n_iters=2000, lr=0.01)
    print(f"sequence RNN final MSE: {losses[-1]:.3f}")
    with torch.no_grad():
        pred = rnn(x_train)
    fig, axes = plt.subplots(1, 3, figsize=(14, 3))
    axes[0].plot(losses)
    axes[0].set_title("Q2 learning curve")
    axes[0].set_xlabel("iteration")
    axes[0].set_ylabel("MSE")
    for k in range(2):
        axes[k + 1].plot(y_train[0, :, k], label="ground truth")
        axes[k + 1].plot(pred[0, :, k], label="prediction")
        axes[k + 1].set_title(f"y{k + 1}(t)")
        axes[k + 1].legend()

    # Q3
    torch.manual_seed(10)
    lstm = MappingLSTM(10)
    losses = train_mapping_lstm(lstm, n_iters=5000, lr=0.001)
    test_x = torch.tensor([[[1], [2], [3], [4]], [[4], [5], [6], [7]]], dtype=torch.float32)
    with torch.no_grad():
        print("LSTM predictions:", lstm(test_x))
    plt.figure()
    plt.plot(losses)
    plt.title("Q3 learning curve (lr = 0.001)")
    plt.xlabel("iteration")
    plt.ylabel("MSE")

    # Q4
    torch.manual_seed(10)
    vocab_size, char_to_ix = vocabulary(data)
    x_data = preprocess(data, char_to_ix)
    x_test = preprocess(test_data, char_to_ix)
    model = SentimentGRU(vocab_size, hidden_size=10, drop_rate=0.7)
    costs, accuracies = train_sentiment(model, x_data, torch.tensor(targets), n_epochs=2000,
                                        lr=0.001)
    model.eval()
    with torch.no_grad():
        probs = F.softmax(model(x_test, drop_rate=0), dim=1)
    print(probs)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3))
    axes[0].plot(costs)
    axes[0].set_title("Q4 cost")
    axes[1].plot(accuracies)
    axes[1].set_title("Q4 accuracy")
    plt.show()
