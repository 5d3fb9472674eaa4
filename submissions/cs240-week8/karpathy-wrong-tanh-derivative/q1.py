"""CS240-Week-8, Question 1: implementing an RNN from scratch (numpy only).

Complete the TODO blocks in `softmax`, `loss`, `forward`, `backward` and `predict`.
Do not change any other part of the code, and do not add print statements: the
submission is evaluated automatically.

Notation (H hidden units, V characters in the vocabulary):
    x[t]      one-hot column of the t-th input character       (V, 1)
    a[t]      = tanh(Wax x[t] + Waa a[t-1] + ba)                (H, 1)
    y_pred[t] = softmax(Wya a[t] + by)                          (V, 1)
    loss      = - sum_t log y_pred[t][targets[t]]
"""
import numpy as np


class DataReader:
    def __init__(self, path, seq_length):
        with open(path, encoding="utf-8") as fp:
            self.data = fp.read()
        # unique characters, sorted so that every run numbers them the same way
        chars = sorted(set(self.data))
        self.char_to_ix = {ch: i for i, ch in enumerate(chars)}
        self.ix_to_char = {i: ch for i, ch in enumerate(chars)}
        self.data_size = len(self.data)
        self.vocab_size = len(chars)
        self.pointer = 0
        self.seq_length = seq_length

    def next_batch(self):
        input_start = self.pointer
        input_end = self.pointer + self.seq_length
        inputs = [self.char_to_ix[ch] for ch in self.data[input_start:input_end]]
        targets = [self.char_to_ix[ch] for ch in self.data[input_start + 1:input_end + 1]]
        self.pointer += self.seq_length
        if self.pointer + self.seq_length + 1 >= self.data_size:
            # not enough text left for another window: start again from the beginning
            self.pointer = 0
        return inputs, targets

    def just_started(self):
        return self.pointer == 0


class RNN:
    def __init__(self, hidden_size, vocab_size, seq_length, learning_rate):
        # hyper parameters
        self.hidden_size = hidden_size
        self.vocab_size = vocab_size
        self.seq_length = seq_length
        self.learning_rate = learning_rate
        # model parameters
        self.Wax = np.random.uniform(-np.sqrt(1. / vocab_size), np.sqrt(1. / vocab_size), (hidden_size, vocab_size))
        self.Waa = np.random.uniform(-np.sqrt(1. / hidden_size), np.sqrt(1. / hidden_size), (hidden_size, hidden_size))
        self.Wya = np.random.uniform(-np.sqrt(1. / hidden_size), np.sqrt(1. / hidden_size), (vocab_size, hidden_size))
        self.ba = np.zeros((hidden_size, 1))  # bias for the hidden layer
        self.by = np.zeros((vocab_size, 1))  # bias for the output
        # memory variables for Adagrad
        self.mWax = np.zeros_like(self.Wax)
        self.mWaa = np.zeros_like(self.Waa)
        self.mWya = np.zeros_like(self.Wya)
        self.mba = np.zeros_like(self.ba)
        self.mby = np.zeros_like(self.by)

    def softmax(self, x):
        shifted = x - x.max()
        exps = np.exp(shifted)
        return exps / exps.sum()
    def forward(self, inputs, a_prev):
        xs, hs, ps = {}, {}, {}
        hs[-1] = np.copy(a_prev)
        for t, ix in enumerate(inputs):
            xs[t] = np.zeros((self.vocab_size, 1))
            xs[t][ix] = 1
            hs[t] = np.tanh(self.Wax @ xs[t] + self.Waa @ hs[t - 1] + self.ba)
            ps[t] = self.softmax(self.Wya @ hs[t] + self.by)
        return xs, hs, ps
    def backward(self, x, a, y_pred, targets):
        dWax, dWaa, dWya = np.zeros_like(self.Wax), np.zeros_like(self.Waa), np.zeros_like(self.Wya)
        dba, dby = np.zeros_like(self.ba), np.zeros_like(self.by)
        dhnext = np.zeros_like(a[0])
        for t in reversed(range(len(x))):
            dy = np.copy(y_pred[t])
            dy[targets[t]] -= 1  # backprop into y
            dWya += dy @ a[t].T
            dby += dy
            dh = self.Wya.T @ dy + dhnext  # backprop into h
            dhraw = (1 - a[t]) * dh  # through tanh
            dba += dhraw
            dWax += dhraw @ x[t].T
            dWaa += dhraw @ a[t - 1].T
            dhnext = self.Waa.T @ dhraw
        for dparam in [dWax, dWaa, dWya, dba, dby]:
            np.clip(dparam, -5, 5, out=dparam)  # mitigate exploding gradients
        return dWax, dWaa, dWya, dba, dby
    def loss(self, y_pred, targets):
        return float(-np.sum(np.log(np.array([y_pred[t][k, 0] for t, k in enumerate(targets)]))))
    def update_model(self, dWax, dWaa, dWya, dba, dby):
        # parameter update with Adagrad
        for param, dparam, mem in zip([self.Wax, self.Waa, self.Wya, self.ba, self.by],
                                      [dWax, dWaa, dWya, dba, dby],
                                      [self.mWax, self.mWaa, self.mWya, self.mba, self.mby]):
            mem += dparam * dparam
            param += -self.learning_rate * dparam / np.sqrt(mem + 1e-8)

    def sample(self, a_prev, seed_ix, n):
        """Samples a sequence of n character indices, starting from seed_ix."""
        x = np.zeros((self.vocab_size, 1))
        x[seed_ix] = 1
        a = a_prev
        ixes = []
        for t in range(n):
            a = np.tanh(np.dot(self.Wax, x) + np.dot(self.Waa, a) + self.ba)
            y = np.dot(self.Wya, a) + self.by
            p = np.exp(y - np.max(y)) / np.sum(np.exp(y - np.max(y)))
            ix = np.random.choice(range(self.vocab_size), p=p.ravel())
            x = np.zeros((self.vocab_size, 1))
            x[ix] = 1
            ixes.append(ix)
        return ixes

    def train(self, data_reader, max_iters=100000):
        iter_num = 0
        threshold = 0.1
        smooth_loss = -np.log(1.0 / data_reader.vocab_size) * self.seq_length
        a_prev = np.zeros((self.hidden_size, 1))
        while smooth_loss > threshold and iter_num < max_iters:
            if data_reader.just_started():
                a_prev = np.zeros((self.hidden_size, 1))
            inputs, targets = data_reader.next_batch()
            x, a, y_pred = self.forward(inputs, a_prev)
            dWax, dWaa, dWya, dba, dby = self.backward(x, a, y_pred, targets)
            loss = self.loss(y_pred, targets)
            self.update_model(dWax, dWaa, dWya, dba, dby)
            smooth_loss = smooth_loss * 0.999 + loss * 0.001
            a_prev = a[self.seq_length - 1]
            if not iter_num % 500:
                sample_ix = self.sample(a_prev, inputs[0], 200)
                print(''.join(data_reader.ix_to_char[ix] for ix in sample_ix))
                print("\n\niter :%d, loss:%f" % (iter_num, smooth_loss))
            iter_num += 1

    def predict(self, data_reader, start, n):
        h = np.zeros((self.hidden_size, 1))
        x = None
        for ch in start:
            x = np.zeros((self.vocab_size, 1))
            x[data_reader.char_to_ix[ch]] = 1
            h = np.tanh(self.Wax @ x + self.Waa @ h + self.ba)
        out = []
        for _ in range(n):
            p = self.softmax(self.Wya @ h + self.by)
            ix = np.random.choice(range(self.vocab_size), p=p.ravel())
            out.append(data_reader.ix_to_char[ix])
            x = np.zeros((self.vocab_size, 1))
            x[ix] = 1
            h = np.tanh(self.Wax @ x + self.Waa @ h + self.ba)
        return start + "".join(out)

if __name__ == "__main__":
    seq_length = 25
    data_reader = DataReader("input.txt", seq_length)
    rnn = RNN(hidden_size=100, vocab_size=data_reader.vocab_size, seq_length=seq_length, learning_rate=1e-1)
    rnn.train(data_reader)
    print(rnn.predict(data_reader, "the", 50))
