"""CS240-Week-8, Question 2: RNN using the torch implementation (time-series prediction).

Given the BTCUSDT opening prices, predict the next (normalised) price from the
previous `seq_length` ones. Complete the TODO blocks in `RNN`, `train` and `test`;
do not change any other part of the code and do not add print statements.
"""
import copy
import csv

import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Dataset


def load_opening_prices(path):
    """Opening prices from a CryptoDataDownload export of Binance klines, oldest first.

    The file starts with a source line, then a header with an `Open` column; rows are
    newest first."""
    with open(path, newline="") as fp:
        next(fp)  # https://www.CryptoDataDownload.com
        prices = [float(row["Open"]) for row in csv.DictReader(fp)]
    return np.array(prices[::-1], dtype=np.float64)


class StockDataset(Dataset):
    """Windows of `seq_length` prices normalised to [-1, 1], each with the next price as target."""

    def __init__(self, prices, seq_length):
        prices = np.asarray(prices, dtype=np.float64)
        lo, hi = prices.min(), prices.max()
        self.data = (2 * (prices - lo) / (hi - lo) - 1).astype(np.float32)
        self.seq_length = seq_length

    def __len__(self):
        return len(self.data) - self.seq_length

    def __getitem__(self, i):
        x = torch.from_numpy(self.data[i:i + self.seq_length]).unsqueeze(-1)  # (seq_length, 1)
        y = torch.from_numpy(self.data[i + self.seq_length:i + self.seq_length + 1])  # (1,)
        return x, y


class RNN(nn.Module):
    def __init__(self, input_size, hidden_size, num_layers, output_size):
        super().__init__()
        self.hidden_size, self.num_layers = hidden_size, num_layers
        self.rnn = nn.RNN(input_size, hidden_size, num_layers, batch_first=True)
        self.fc = nn.Linear(hidden_size, output_size)

    def forward(self, x):
        h = torch.zeros(self.num_layers, x.shape[0], self.hidden_size, dtype=x.dtype)
        out, h = self.rnn(x, h)
        return self.fc(out)[:, -1, :]


CHECKPOINT = "best_model.pt"


def train(model, train_loader, val_loader, num_epochs, learning_rate):
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    mse = nn.MSELoss()
    train_loss_history, val_loss_history = [], []
    lowest = None
    for epoch in range(num_epochs):
        model.train()
        total = 0.0
        for x, y in train_loader:
            optimizer.zero_grad()
            loss = mse(model(x), y)
            loss.backward()
            optimizer.step()
            total += loss.item() * x.shape[0]
        train_loss_history.append(total / len(train_loader.dataset))
        val_loss = test(model, val_loader)
        val_loss_history.append(val_loss)
        if lowest is None or val_loss < lowest:
            lowest = val_loss
            torch.save(model.state_dict(), CHECKPOINT)  # checkpoint the best epoch
    model.load_state_dict(torch.load(CHECKPOINT))
    return train_loss_history, val_loss_history


def test(model, test_loader):
    model.eval()
    se, count = 0.0, 0
    with torch.no_grad():
        for x, y in test_loader:
            se += ((model(x) - y) ** 2).sum().item()
            count += y.numel()
    return se / count


if __name__ == "__main__":
    torch.manual_seed(0)
    seq_length = 20
    prices = load_opening_prices("Binance_BTCUSDT_d.csv")
    dataset = StockDataset(prices, seq_length)
    # chronological split: the model is validated and tested on later prices than it saw
    n_train, n_val = int(0.7 * len(dataset)), int(0.15 * len(dataset))
    indices = list(range(len(dataset)))
    train_set = torch.utils.data.Subset(dataset, indices[:n_train])
    val_set = torch.utils.data.Subset(dataset, indices[n_train:n_train + n_val])
    test_set = torch.utils.data.Subset(dataset, indices[n_train + n_val:])
    train_loader = DataLoader(train_set, batch_size=64, shuffle=True)
    val_loader = DataLoader(val_set, batch_size=64)
    test_loader = DataLoader(test_set, batch_size=64)

    model = RNN(input_size=1, hidden_size=32, num_layers=1, output_size=1)
    train_loss_history, val_loss_history = train(model, train_loader, val_loader, num_epochs=50,
                                                 learning_rate=1e-3)
    print("test MSE:", test(model, test_loader))

    import matplotlib.pyplot as plt
    plt.plot(train_loss_history, label="train")
    plt.plot(val_loss_history, label="validation")
    plt.xlabel("epoch")
    plt.ylabel("MSE")
    plt.legend()
    plt.show()
