"""assignment7: the reference notebook's code cells (small sizes: minutes on CPU).
`python reference/make_assignment7.py` writes reference/assignment7.ipynb and the example
submissions from these cells. Cells are separated by lines `# %% cell`."""
# %% cell
!wget -q -O sonnets.txt https://www.gutenberg.org/cache/epub/1041/pg1041.txt
!wget -q -O austen.txt https://www.gutenberg.org/cache/epub/1342/pg1342.txt
!wget -q -O poe.txt https://www.gutenberg.org/cache/epub/2147/pg2147.txt
!wget -q -O shakespeare_play.txt https://www.gutenberg.org/cache/epub/1112/pg1112.txt
# %% cell
import re
import torch
import torch.nn as nn
from torch.nn.utils.rnn import pad_sequence
from torch.utils.data import DataLoader

torch.manual_seed(42)
PAD, SOS, EOS = 0, 1, 2
# %% cell
def read_sentences(path, n=300, min_len=20, max_len=120):
    text = open(path, encoding="utf-8", errors="ignore").read()
    text = re.sub(r"\s+", " ", text)
    sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+", text)]
    return [s for s in sentences if min_len <= len(s) <= max_len][:n]


def build_vocab(texts):
    chars = sorted(set("".join(texts)))
    char_to_idx = {"<PAD>": PAD, "<SOS>": SOS, "<EOS>": EOS}
    for ch in chars:
        char_to_idx[ch] = len(char_to_idx)
    return char_to_idx


def encode(sentence, char_to_idx):
    return torch.tensor([char_to_idx[c] for c in sentence] + [EOS], dtype=torch.long)


def collate_fn(batch):
    seqs, labels = zip(*batch)
    lengths = torch.tensor([len(s) for s in seqs])
    return pad_sequence(list(seqs), batch_first=True, padding_value=PAD), lengths, torch.tensor(labels)
# %% cell
class VanillaRNNCell(nn.Module):
    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.W_x = nn.Linear(input_size, hidden_size)
        self.W_h = nn.Linear(hidden_size, hidden_size, bias=False)

    def forward(self, x, h):
        return torch.tanh(self.W_x(x) + self.W_h(h))


class LSTMCell(nn.Module):
    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.W_f = nn.Linear(hidden_size + input_size, hidden_size)
        self.W_i = nn.Linear(hidden_size + input_size, hidden_size)
        self.W_c = nn.Linear(hidden_size + input_size, hidden_size)
        self.W_o = nn.Linear(hidden_size + input_size, hidden_size)

    def forward(self, x, state):
        h, c = state
        hx = torch.cat([h, x], dim=1)
        f = torch.sigmoid(self.W_f(hx))
        i = torch.sigmoid(self.W_i(hx))
        c_tilde = torch.tanh(self.W_c(hx))
        c = f * c + i * c_tilde
        h = torch.sigmoid(self.W_o(hx)) * torch.tanh(c)
        return h, c


class GRUCell(nn.Module):
    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.W_z = nn.Linear(hidden_size + input_size, hidden_size)
        self.W_r = nn.Linear(hidden_size + input_size, hidden_size)
        self.W = nn.Linear(hidden_size + input_size, hidden_size)

    def forward(self, x, h):
        hx = torch.cat([h, x], dim=1)
        z = torch.sigmoid(self.W_z(hx))
        r = torch.sigmoid(self.W_r(hx))
        h_tilde = torch.tanh(self.W(torch.cat([r * h, x], dim=1)))
        return (1 - z) * h + z * h_tilde


CELLS = {"rnn": VanillaRNNCell, "lstm": LSTMCell, "gru": GRUCell}


class CustomRNN(nn.Module):
    def __init__(self, input_size, hidden_size, cell_type, num_layers=1):
        super().__init__()
        self.hidden_size, self.cell_type = hidden_size, cell_type
        self.cells = nn.ModuleList(
            [CELLS[cell_type](input_size if k == 0 else hidden_size, hidden_size) for k in range(num_layers)])

    def forward(self, x_seq, lengths):
        B, L, _ = x_seq.shape
        layer_input = x_seq
        for cell in self.cells:
            h = x_seq.new_zeros(B, self.hidden_size)
            c = x_seq.new_zeros(B, self.hidden_size)
            hiddens = []
            for t in range(L):
                if self.cell_type == "lstm":
                    h, c = cell(layer_input[:, t, :], (h, c))
                else:
                    h = cell(layer_input[:, t, :], h)
                hiddens.append(h)
            layer_input = torch.stack(hiddens, dim=1)
        all_hiddens = layer_input
        last_hiddens = all_hiddens[torch.arange(B), lengths - 1, :]
        return all_hiddens, last_hiddens


class AuthorClassifier(nn.Module):
    def __init__(self, vocab_size, cell_type, num_layers=1, embed=16, hidden=32):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed, padding_idx=PAD)
        self.rnn = CustomRNN(embed, hidden, cell_type, num_layers)
        self.out = nn.Linear(hidden, 3)

    def forward(self, x, lengths):
        return self.out(self.rnn(self.embedding(x), lengths)[1])


def count_parameters(model):
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
# %% cell
authors = [read_sentences(f) for f in ("austen.txt", "poe.txt", "shakespeare_play.txt")]
char_to_idx = build_vocab([s for sents in authors for s in sents])
data = [(encode(s, char_to_idx), label) for label, sents in enumerate(authors) for s in sents]
perm = torch.randperm(len(data)).tolist()
data = [data[k] for k in perm]
split = int(0.8 * len(data))
train_loader = DataLoader(data[:split], batch_size=32, shuffle=True, collate_fn=collate_fn)
test_loader = DataLoader(data[split:], batch_size=64, collate_fn=collate_fn)
# %% cell
def accuracy(model, loader):
    model.eval()
    correct = total = 0
    with torch.no_grad():
        for x, lengths, y in loader:
            correct += (model(x, lengths).argmax(1) == y).sum().item()
            total += len(y)
    return correct / total


results, curves = {}, {}
for name, cell_type, layers in [("Vanilla RNN", "rnn", 1), ("LSTM", "lstm", 1), ("GRU", "gru", 1),
                                ("Deep LSTM", "lstm", 2)]:
    model = AuthorClassifier(len(char_to_idx), cell_type, layers)
    opt = torch.optim.Adam(model.parameters(), lr=0.005)
    losses = []
    for epoch in range(3):
        model.train()
        total = 0.0
        for x, lengths, y in train_loader:
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(x, lengths), y)
            loss.backward()
            opt.step()
            total += loss.item()
        losses.append(total / len(train_loader))
    curves[name] = losses
    results[name] = (count_parameters(model), losses[-1], accuracy(model, test_loader))
    print(f"{name}: parameters {results[name][0]}, final training loss {losses[-1]:.4f}, "
          f"test accuracy {results[name][2]:.4f}")
