import numpy as np
import torch
import torch.nn as nn

MAX_LENGTH = 40  # default length


def elman_rnn(U, V, W, b, c, xs):
    h = np.zeros(2)
    hs, ys = [], []
    for x in xs:
        h = np.tanh(np.dot(x, U) + np.dot(h, W.T) + b)  # W^T h(t-1)... or so I thought
        hs.append(h)
        ys.append(1 / (1 + np.exp(-(np.dot(h, V) + c))))
    return np.array(hs), np.array(ys)


def jordan_rnn(U, V, W, b, c, xs):
    y = np.zeros(1)
    hs, ys = [], []
    for x in xs:
        h = np.tanh(np.dot(x, U) + np.dot(y, W) + b)
        y = 1 / (1 + np.exp(-(np.dot(h, V) + c)))
        hs.append(h)
        ys.append(y)
    return np.array(hs), np.array(ys)


def make_sequences(n_seqs, n_steps, noise=0.1, seed=10):
    r = np.random.RandomState(seed)
    x = r.rand(n_seqs, n_steps, 3)
    y = np.zeros((n_seqs, n_steps, 2))
    y[:, 1:, 0] = 5 * x[:, 1:, 0] - 0.2 * x[:, :-1, 2]
    y[:, 3:, 1] = 25 * x[:, 2:-1, 1] * x[:, :-3, 2]
    return torch.Tensor(x), torch.Tensor(y + noise * r.randn(*y.shape))


def vocabulary(strings):
    chars = sorted(set("".join(strings).lower()))
    return len(chars), {c: i for i, c in enumerate(chars)}


def preprocess(strings, char_to_ix, max_length=MAX_LENGTH):
    out = []
    for s in strings:
        s = s.lower()[:max_length]
        s = s + " " * (max_length - len(s))
        out.append([char_to_ix[c] for c in s])
    return torch.tensor(out, dtype=torch.long)


# --- the models are not done yet ---
class SequenceRNN(nn.Module):
    def __init__(self, n_in=3, n_hidden=5, n_out=2):
        super().__init__()
        raise NotImplementedError("SequenceRNN")


def train_sequence_rnn(model, x, y, n_iters=10000, lr=0.01):
    raise NotImplementedError


class MappingLSTM(nn.Module):
    def __init__(self, hidden_size=10):
        super().__init__()
        raise NotImplementedError("MappingLSTM")


def train_mapping_lstm(model, n_iters=5000, lr=0.001):
    raise NotImplementedError


class SentimentGRU(nn.Module):
    def __init__(self, vocab_size, hidden_size=10, drop_rate=0.7):
        super().__init__()
        raise NotImplementedError("SentimentGRU")


def train_sentiment(model, x, targets, n_epochs=2000, lr=0.001):
    raise NotImplementedError
