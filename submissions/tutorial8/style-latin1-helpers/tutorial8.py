# -*- coding: latin-1 -*-
# Tutoriel 8 : réseaux récurrents (Elman, Jordan, séquences, LSTM, GRU à caractères)
# Fichier enregistré en Latin-1 (éditeur configuré ainsi), d'où la ligne « coding » ci-dessus.
import numpy as np
import torch
import torch.nn as nn

NOM = "Réseau récurrent à état caché"   # chaîne non ASCII


def _sigmoïde(z):                        # identifiant non ASCII : permis en Python 3
    return 1.0 / (1.0 + np.exp(-z))


def _pas(U, W, b, x, retour):
    """Un pas de la récurrence : tanh(U^T x + W^T retour + b)."""
    return np.tanh(np.dot(U.T, x) + np.dot(W.T, retour) + b)


def elman_rnn(U, V, W, b, c, xs):
    état = np.zeros(U.shape[1])
    hs, ys = [], []
    for x in xs:
        état = _pas(U, W, b, x, état)
        hs.append(état.copy())
        ys.append(_sigmoïde(np.dot(V.T, état) + c))
    return np.vstack(hs), np.vstack(ys)


def jordan_rnn(U, V, W, b, c, xs):
    sortie = np.zeros(V.shape[1])
    hs, ys = [], []
    for x in xs:
        h = _pas(U, W, b, x, sortie)
        sortie = _sigmoïde(np.dot(V.T, h) + c)
        hs.append(h)
        ys.append(sortie)
    return np.vstack(hs), np.vstack(ys)


def make_sequences(n_seqs, n_steps, noise=0.1, seed=10):
    gen = np.random.RandomState(seed)
    x = gen.rand(n_seqs, n_steps, 3)
    y = np.zeros((n_seqs, n_steps, 2))
    for n in range(n_seqs):
        for t in range(1, n_steps):
            y[n, t, 0] = 5 * x[n, t, 0] - 0.2 * x[n, t - 1, 2]
            if t >= 3:
                y[n, t, 1] = 25 * x[n, t - 1, 1] * x[n, t - 3, 2]
    y += noise * gen.randn(*y.shape)
    return torch.tensor(x).float(), torch.tensor(y).float()


class SequenceRNN(nn.Module):
    def __init__(self, n_in=3, n_hidden=5, n_out=2):
        super().__init__()
        self.couche = nn.RNN(n_in, n_hidden, batch_first=True)
        self.lecture = nn.Linear(n_hidden, n_out)

    def forward(self, x):
        return self.lecture(self.couche(x)[0])


def _entraîne(modèle, calcule_perte, n_iters, lr):
    opt = torch.optim.Adam(modèle.parameters(), lr=lr)
    pertes = []
    for _ in range(n_iters):
        opt.zero_grad()
        perte = calcule_perte()
        perte.backward()
        opt.step()
        pertes.append(perte.item())
    return pertes


def train_sequence_rnn(model, x, y, n_iters=10000, lr=0.01):
    return _entraîne(model, lambda: nn.functional.mse_loss(model(x), y), n_iters, lr)


class MappingLSTM(nn.Module):
    def __init__(self, hidden_size=10):
        super().__init__()
        self.lstm = nn.LSTM(1, hidden_size, batch_first=True)
        self.sortie = nn.Linear(hidden_size, 1)

    def forward(self, x):
        return self.sortie(self.lstm(x)[0]).squeeze(-1)


def train_mapping_lstm(model, n_iters=5000, lr=0.001):
    entrées = torch.tensor([[1., 2., 5., 6.], [5., 7., 7., 8.], [3., 4., 5., 7.]])[..., None]
    cibles = torch.tensor([[1., 3., 7., 11.], [5., 12., 14., 15.], [3., 7., 9., 12.]])
    return _entraîne(model, lambda: nn.functional.mse_loss(model(entrées), cibles), n_iters, lr)


def vocabulary(strings):
    caractères = sorted(set("".join(s.lower() for s in strings)))
    return len(caractères), {car: i for i, car in enumerate(caractères)}


def preprocess(strings, char_to_ix, max_length=40):
    lignes = []
    for s in strings:
        ids = [char_to_ix[car] for car in s.lower()[:max_length]]
        ids += [char_to_ix[" "]] * (max_length - len(ids))
        lignes.append(ids)
    return torch.tensor(lignes, dtype=torch.long).reshape(len(strings), max_length)


class SentimentGRU(nn.Module):
    def __init__(self, vocab_size, hidden_size=10, drop_rate=0.7):
        super().__init__()
        self.vocab_size = vocab_size
        self.gru = nn.GRU(vocab_size, hidden_size, batch_first=True)
        self.abandon = nn.Dropout(drop_rate)        # « dropout » sur la couche cachée
        self.classe = nn.Linear(hidden_size, 2)

    def forward(self, x, drop_rate=None):
        x = nn.functional.one_hot(x, self.vocab_size).float()
        _, h = self.gru(x)
        h = h[-1]
        if drop_rate is None:
            h = self.abandon(h)
        else:
            h = nn.functional.dropout(h, drop_rate, self.training)
        return self.classe(h)


def train_sentiment(model, x, targets, n_epochs=2000, lr=0.001):
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    coûts, précisions = [], []
    for _ in range(n_epochs):
        opt.zero_grad()
        sorties = model(x)
        coût = nn.functional.cross_entropy(sorties, targets)
        coût.backward()
        opt.step()
        coûts.append(coût.item())
        précisions.append((sorties.argmax(1) == targets).double().mean().item())
    return coûts, précisions


if __name__ == "__main__":
    print(NOM, "- modèle prêt")
