# Tutorial 8 - RNNs
# style: row vectors (x @ U), lists of states, embedding layer in front of the GRU
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def elman_rnn(U, V, W, b, c, xs):
    h = np.zeros(U.shape[1])
    hidden, outputs = [], []
    for x in xs:
        # row vector convention: x @ U is U^T x
        h = np.tanh(x @ U + h @ W + b)
        hidden.append(h)
        outputs.append(sigmoid(h @ V + c))
    return np.array(hidden), np.array(outputs)


def jordan_rnn(U, V, W, b, c, xs):
    y = np.zeros(V.shape[1])
    hidden, outputs = [], []
    for x in xs:
        h = np.tanh(x @ U + y @ W + b)
        y = sigmoid(h @ V + c)
        hidden.append(h)
        outputs.append(y)
    return np.array(hidden), np.array(outputs)


def make_sequences(n_seqs, n_steps, noise=0.1, seed=10):
    np.random.seed(seed)
    x = np.random.rand(n_seqs, n_steps, 3)
    y = np.zeros((n_seqs, n_steps, 2))
    for t in range(n_steps):
        if t >= 1:
            y[:, t, 0] = 5 * x[:, t, 0] - 0.2 * x[:, t - 1, 2]
        if t >= 3:
            y[:, t, 1] = 25 * x[:, t - 1, 1] * x[:, t - 3, 2]
    y = y + noise * np.random.randn(n_seqs, n_steps, 2)
    return torch.from_numpy(x).float(), torch.from_numpy(y).float()


class SequenceRNN(nn.Module):
    def __init__(self, n_in=3, n_hidden=5, n_out=2):
        super().__init__()
        self.rnn = nn.RNN(input_size=n_in, hidden_size=n_hidden, batch_first=True)
        self.fc = nn.Linear(n_hidden, n_out)

    def forward(self, x):
        out, hn = self.rnn(x)
        return self.fc(out)


def train_sequence_rnn(model, x, y, n_iters=10000, lr=0.01):
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    criterion = nn.MSELoss()
    history = []
    for it in range(n_iters):
        pred = model(x)
        loss = criterion(pred, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        history.append(loss.item())
    return history


MAPPING_X = [[1, 2, 5, 6], [5, 7, 7, 8], [3, 4, 5, 7]]
MAPPING_Y = [[1, 3, 7, 11], [5, 12, 14, 15], [3, 7, 9, 12]]


class MappingLSTM(nn.Module):
    def __init__(self, hidden_size=10):
        super().__init__()
        self.lstm = nn.LSTM(input_size=1, hidden_size=hidden_size, batch_first=True)
        self.fc = nn.Linear(hidden_size, 1)

    def forward(self, x):
        out, (h, c) = self.lstm(x)
        return self.fc(out)[:, :, 0]


def train_mapping_lstm(model, n_iters=5000, lr=0.001):
    X = torch.tensor(MAPPING_X).float().view(3, 4, 1)
    Y = torch.tensor(MAPPING_Y).float()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    history = []
    for it in range(n_iters):
        opt.zero_grad()
        loss = F.mse_loss(model(X), Y)
        loss.backward()
        opt.step()
        history.append(loss.item())
    return history


MAX_LENGTH = 40
data = ['I did not like the movie', 'The movie was not good', 'I watched the movie with great interest',
        'I have seen better movies', 'Good to see that movie', 'I am not a fan of movies',
        'I liked the movie great', 'The movie was of interest to me',
        'I thought they could show interesting scenes', 'The movie did not have good scenes',
        'Family did not like the movie at all']
targets = [0, 0, 1, 0, 1, 0, 1, 1, 0, 0, 0]
test_data = ['The movie was not interesting to me', 'I liked the movie with great interest']


def vocabulary(strings):
    chars = sorted({ch for s in strings for ch in s.lower()})
    return len(chars), {ch: i for i, ch in enumerate(chars)}


def preprocess(strings, char_to_ix, max_length=MAX_LENGTH):
    rows = []
    for s in strings:
        s = s.lower()[:max_length].ljust(max_length)
        rows.append([char_to_ix[ch] for ch in s])
    return torch.LongTensor(rows).view(len(strings), max_length)


class SentimentGRU(nn.Module):
    def __init__(self, vocab_size, hidden_size=10, drop_rate=0.7):
        super().__init__()
        self.drop_rate = drop_rate
        self.embedding = nn.Embedding(vocab_size, 16)
        self.gru = nn.GRU(16, hidden_size, batch_first=True)
        self.fc = nn.Linear(hidden_size, 2)

    def forward(self, x, drop_rate=None):
        if drop_rate is None:
            drop_rate = self.drop_rate
        emb = self.embedding(x)
        output, _ = self.gru(emb)
        last = output[:, -1, :]
        last = F.dropout(last, p=drop_rate, training=self.training)
        return self.fc(last)


def train_sentiment(model, x, targets, n_epochs=2000, lr=0.001):
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    costs, accs = [], []
    for epoch in range(n_epochs):
        model.train()
        logits = model(x)
        loss = F.cross_entropy(logits, targets)
        opt.zero_grad()
        loss.backward()
        opt.step()
        costs.append(loss.item())
        accs.append((logits.argmax(dim=1) == targets).float().mean().item())
    return costs, accs


if __name__ == "__main__":
    vocab_size, char_to_ix = vocabulary(data)
    model = SentimentGRU(vocab_size)
    costs, accs = train_sentiment(model, preprocess(data, char_to_ix), torch.tensor(targets))
    print(accs[-1])
