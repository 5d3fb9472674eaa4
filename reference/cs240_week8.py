"""CS240-Week-8 -- reference solution of every TODO, both questions.

Two namespaces, as the grader reads them:
  q1  numpy char-RNN with hand-written BPTT and Adagrad (`q1.DataReader`, `q1.RNN`)
  q2  torch time-series RNN on BTCUSDT opening prices (`q2.StockDataset`, `q2.RNN`,
      `q2.train`, `q2.test`)
q2 imports torch, so it is built on first use (module `__getattr__`): grading q1 alone
never pays for importing torch.

The student-format copies of this solution (the handout with the TODOs filled in) are
submissions/cs240-week8/reference/q1.py and q2.py.

Question 1, per time step t (H hidden units, V characters):
  x[t]      one-hot of inputs[t]                               # (V, 1)
  a[t]      = tanh(Wax x[t] + Waa a[t-1] + ba)                 # (H, 1)
  y_pred[t] = softmax(Wya a[t] + by)                           # (V, 1)
  L         = -sum_t log y_pred[t][targets[t]]
"""
from __future__ import annotations

import copy
import math
from types import SimpleNamespace
from typing import Any

import numpy as np

CLIP = 5.0  # every gradient is clipped to [-CLIP, CLIP] (exploding gradients)


# ----------------------------------------------------------------------------- q1


class DataReader:
    """The corpus as consecutive (inputs, targets) windows of `seq_length` characters."""

    def __init__(self, path: str, seq_length: int):
        with open(path, encoding="utf-8") as fp:
            self.data = fp.read()
        chars = sorted(set(self.data))  # sorted: the same indices in every process
        self.char_to_ix = {ch: i for i, ch in enumerate(chars)}
        self.ix_to_char = {i: ch for i, ch in enumerate(chars)}
        self.data_size = len(self.data)
        self.vocab_size = len(chars)
        self.pointer = 0
        self.seq_length = seq_length

    def next_batch(self) -> tuple[list[int], list[int]]:
        start, end = self.pointer, self.pointer + self.seq_length
        inputs = [self.char_to_ix[ch] for ch in self.data[start:end]]
        targets = [self.char_to_ix[ch] for ch in self.data[start + 1:end + 1]]  # shifted by one
        self.pointer += self.seq_length
        if self.pointer + self.seq_length + 1 >= self.data_size:
            self.pointer = 0  # not enough text left for a full window: start over
        return inputs, targets

    def just_started(self) -> bool:
        return self.pointer == 0


class CharRNN:
    """One-layer vanilla RNN language model (q1's `RNN`)."""

    def __init__(self, hidden_size: int, vocab_size: int, seq_length: int, learning_rate: float):
        self.hidden_size = hidden_size
        self.vocab_size = vocab_size
        self.seq_length = seq_length
        self.learning_rate = learning_rate
        H, V = hidden_size, vocab_size
        self.Wax = np.random.uniform(-np.sqrt(1.0 / V), np.sqrt(1.0 / V), (H, V))  # input -> hidden
        self.Waa = np.random.uniform(-np.sqrt(1.0 / H), np.sqrt(1.0 / H), (H, H))  # hidden -> hidden
        self.Wya = np.random.uniform(-np.sqrt(1.0 / H), np.sqrt(1.0 / H), (V, H))  # hidden -> output
        self.ba = np.zeros((H, 1))
        self.by = np.zeros((V, 1))
        # Adagrad memories: running sums of squared gradients
        self.mWax, self.mWaa, self.mWya = np.zeros_like(self.Wax), np.zeros_like(self.Waa), np.zeros_like(self.Wya)
        self.mba, self.mby = np.zeros_like(self.ba), np.zeros_like(self.by)

    def softmax(self, x: np.ndarray) -> np.ndarray:
        e = np.exp(x - np.max(x))  # shift by the max: exp never overflows, the result is unchanged
        return e / np.sum(e)

    def forward(self, inputs: list[int], a_prev: np.ndarray):
        x, a, y_pred = {}, {}, {}
        a[-1] = np.copy(a_prev)  # (H, 1)
        for t in range(len(inputs)):
            x[t] = np.zeros((self.vocab_size, 1))  # (V, 1)
            x[t][inputs[t]] = 1
            a[t] = np.tanh(self.Wax @ x[t] + self.Waa @ a[t - 1] + self.ba)  # (H, 1)
            y_pred[t] = self.softmax(self.Wya @ a[t] + self.by)  # (V, 1)
        return x, a, y_pred

    def backward(self, x, a, y_pred, targets):
        dWax, dWaa, dWya = np.zeros_like(self.Wax), np.zeros_like(self.Waa), np.zeros_like(self.Wya)
        dba, dby = np.zeros_like(self.ba), np.zeros_like(self.by)
        da_next = np.zeros_like(a[0])  # dL/da[t] arriving from step t+1 through Waa
        for t in reversed(range(len(targets))):
            dy = np.copy(y_pred[t])  # (V, 1): softmax + cross-entropy -> y_pred - onehot
            dy[targets[t]] -= 1
            dWya += dy @ a[t].T  # (V, H)
            dby += dy
            da = self.Wya.T @ dy + da_next  # (H, 1)
            dz = (1 - a[t] ** 2) * da  # through tanh
            dba += dz
            dWax += dz @ x[t].T  # (H, V)
            dWaa += dz @ a[t - 1].T  # (H, H)
            da_next = self.Waa.T @ dz
        for grad in (dWax, dWaa, dWya, dba, dby):
            np.clip(grad, -CLIP, CLIP, out=grad)  # in place: np.clip alone returns a copy
        return dWax, dWaa, dWya, dba, dby

    def loss(self, y_pred, targets) -> float:
        # the probability of each true next character; a comprehension, not a for statement
        p_true = np.array([y_pred[t][targets[t], 0] for t in range(len(targets))])
        return float(-np.sum(np.log(p_true)))

    def update_model(self, dWax, dWaa, dWya, dba, dby) -> None:
        for param, dparam, mem in zip([self.Wax, self.Waa, self.Wya, self.ba, self.by],
                                      [dWax, dWaa, dWya, dba, dby],
                                      [self.mWax, self.mWaa, self.mWya, self.mba, self.mby]):
            mem += dparam * dparam
            param += -self.learning_rate * dparam / np.sqrt(mem + 1e-8)  # Adagrad

    def _one_hot(self, ix: int) -> np.ndarray:
        x = np.zeros((self.vocab_size, 1))
        x[ix] = 1
        return x

    def _step(self, x: np.ndarray, a: np.ndarray) -> np.ndarray:
        return np.tanh(self.Wax @ x + self.Waa @ a + self.ba)

    def sample(self, a_prev, seed_ix: int, n: int) -> list[int]:
        x, a, ixes = self._one_hot(seed_ix), a_prev, []
        for _ in range(n):
            a = self._step(x, a)
            p = self.softmax(self.Wya @ a + self.by)
            ix = np.random.choice(range(self.vocab_size), p=p.ravel())
            x = self._one_hot(ix)
            ixes.append(ix)
        return ixes

    def train(self, data_reader: DataReader, max_iters: int = 100_000) -> None:
        iter_num, threshold = 0, 0.1
        smooth_loss = -np.log(1.0 / data_reader.vocab_size) * self.seq_length
        a_prev = np.zeros((self.hidden_size, 1))
        while smooth_loss > threshold and iter_num < max_iters:
            if data_reader.just_started():
                a_prev = np.zeros((self.hidden_size, 1))
            inputs, targets = data_reader.next_batch()
            x, a, y_pred = self.forward(inputs, a_prev)
            grads = self.backward(x, a, y_pred, targets)
            loss = self.loss(y_pred, targets)
            self.update_model(*grads)
            smooth_loss = smooth_loss * 0.999 + loss * 0.001
            a_prev = a[self.seq_length - 1]
            if not iter_num % 500:
                sample_ix = self.sample(a_prev, inputs[0], 200)
                print("".join(data_reader.ix_to_char[ix] for ix in sample_ix))
                print("\n\niter :%d, loss:%f" % (iter_num, smooth_loss))
            iter_num += 1

    def predict(self, data_reader: DataReader, start: str, n: int) -> str:
        a = np.zeros((self.hidden_size, 1))  # (H, 1) fresh state
        for ch in start:  # warm the state up on the prompt, one character at a time
            a = self._step(self._one_hot(data_reader.char_to_ix[ch]), a)
        ixes = []
        for _ in range(n):
            probs = self.softmax(self.Wya @ a + self.by)  # (V, 1)
            ix = np.random.choice(range(self.vocab_size), p=probs.ravel())  # sample, not argmax
            ixes.append(ix)
            a = self._step(self._one_hot(ix), a)  # feed the sampled character back in
        return start + "".join(data_reader.ix_to_char[ix] for ix in ixes)


q1 = SimpleNamespace(DataReader=DataReader, RNN=CharRNN, CLIP=CLIP)


# ----------------------------------------------------------------------------- q2


def _build_q2() -> SimpleNamespace:
    import torch
    from torch import nn
    from torch.utils.data import Dataset

    class StockDataset(Dataset):
        """Windows of `seq_length` prices normalised to [-1, 1], and the next price."""

        def __init__(self, prices, seq_length: int):
            prices = np.asarray(prices, dtype=np.float64)
            lo, hi = prices.min(), prices.max()
            self.data = (2 * (prices - lo) / (hi - lo) - 1).astype(np.float32)
            self.seq_length = seq_length

        def __len__(self) -> int:
            return len(self.data) - self.seq_length

        def __getitem__(self, i: int):
            window = torch.from_numpy(self.data[i:i + self.seq_length]).unsqueeze(-1)  # (L, 1)
            target = torch.from_numpy(self.data[i + self.seq_length:i + self.seq_length + 1])  # (1,)
            return window, target

    class PriceRNN(nn.Module):
        """nn.RNN over the window, a linear head on the last hidden state (q2's `RNN`)."""

        def __init__(self, input_size: int, hidden_size: int, num_layers: int, output_size: int):
            super().__init__()
            self.rnn = nn.RNN(input_size, hidden_size, num_layers, batch_first=True)
            self.fc = nn.Linear(hidden_size, output_size)

        def forward(self, x):  # (B, L, input_size)
            out, _ = self.rnn(x)  # (B, L, H), zero initial state
            return self.fc(out[:, -1, :])  # (B, output_size)

    def evaluate(model, loader) -> float:
        """Mean squared error over every sample of `loader` (not the mean of batch means)."""
        criterion = nn.MSELoss(reduction="sum")
        model.eval()
        total, count = 0.0, 0
        with torch.no_grad():
            for x, y in loader:
                total += criterion(model(x), y).item()
                count += y.numel()
        return total / count

    def train(model, train_loader, val_loader, num_epochs: int, learning_rate: float):
        criterion = nn.MSELoss()
        optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
        train_hist, val_hist = [], []
        best_val, best_state = math.inf, copy.deepcopy(model.state_dict())
        for _ in range(num_epochs):
            model.train()
            total, count = 0.0, 0
            for x, y in train_loader:
                optimizer.zero_grad()
                loss = criterion(model(x), y)
                loss.backward()
                optimizer.step()
                total += loss.item() * y.numel()
                count += y.numel()
            train_hist.append(total / count)
            val = evaluate(model, val_loader)
            val_hist.append(val)
            if val < best_val:  # deepcopy: state_dict() holds the live tensors
                best_val, best_state = val, copy.deepcopy(model.state_dict())
        model.load_state_dict(best_state)
        return train_hist, val_hist

    def test(model, test_loader) -> float:
        return evaluate(model, test_loader)

    return SimpleNamespace(StockDataset=StockDataset, RNN=PriceRNN, train=train, test=test,
                           evaluate=evaluate)


def __getattr__(name: str) -> Any:
    if name == "q2":  # first use: import torch and define the classes, once
        namespace = _build_q2()
        globals()["q2"] = namespace
        return namespace
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
