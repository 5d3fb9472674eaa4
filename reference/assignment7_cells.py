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
# %% cell
import matplotlib
import matplotlib.pyplot as plt

plt.figure(figsize=(6, 4))
for name, losses in curves.items():
    plt.plot(range(1, len(losses) + 1), losses, marker="o", label=name)
plt.xlabel("epoch")
plt.ylabel("training loss")
plt.title("Experiment 1: training loss")
plt.legend()
plt.show()
# %% cell
# Experiment 2: nn.LSTM and nn.Embedding in the four paradigms (small sizes: seconds on CPU)
class FirstCharClassifier(nn.Module):  # Task 2.1, one-to-one: input (B, 1)
    def __init__(self, vocab_size, embed=16, hidden=32):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed, padding_idx=PAD)
        self.lstm = nn.LSTM(embed, hidden, batch_first=True)
        self.out = nn.Linear(hidden, 3)

    def forward(self, x):
        output, _ = self.lstm(self.embedding(x))
        return self.out(output.squeeze(1))


class SentenceClassifier(nn.Module):  # Task 2.2, many-to-one: the last valid hidden state
    def __init__(self, vocab_size, embed=16, hidden=32):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed, padding_idx=PAD)
        self.lstm = nn.LSTM(embed, hidden, batch_first=True)
        self.out = nn.Linear(hidden, 3)

    def forward(self, x, lengths):
        output, _ = self.lstm(self.embedding(x))
        return self.out(output[torch.arange(x.shape[0]), lengths - 1])


def train_classifier(model, first_char_only, epochs=3):
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    for epoch in range(epochs):
        model.train()
        for x, lengths, y in train_loader:
            opt.zero_grad()
            logits = model(x[:, :1]) if first_char_only else model(x, lengths)
            loss = nn.functional.cross_entropy(logits, y)
            loss.backward()
            opt.step()
    model.eval()
    correct = total = 0
    with torch.no_grad():
        for x, lengths, y in test_loader:
            logits = model(x[:, :1]) if first_char_only else model(x, lengths)
            correct += (logits.argmax(1) == y).sum().item()
            total += len(y)
    return correct / total


acc_21 = train_classifier(FirstCharClassifier(len(char_to_idx)), True)
acc_22 = train_classifier(SentenceClassifier(len(char_to_idx)), False)
print(f"Task 2.1 (one-to-one) test accuracy: {acc_21:.4f}")
print(f"Task 2.2 (many-to-one) test accuracy: {acc_22:.4f}")
# %% cell
idx_to_char = {i: c for c, i in char_to_idx.items()}


class AuthorGenerator(nn.Module):  # Task 2.3, one-to-many: the author sets h_0
    def __init__(self, vocab_size, embed=16, hidden=64):
        super().__init__()
        self.author = nn.Embedding(3, hidden)
        self.embedding = nn.Embedding(vocab_size, embed, padding_idx=PAD)
        self.lstm = nn.LSTM(embed, hidden, batch_first=True)
        self.out = nn.Linear(hidden, vocab_size)

    def forward(self, author, x, state=None):
        if state is None:
            h0 = self.author(author).unsqueeze(0)
            state = (h0, torch.zeros_like(h0))
        output, state = self.lstm(self.embedding(x), state)
        return self.out(output), state


def teacher_forcing(batch):
    seqs, labels = zip(*batch)
    inputs = pad_sequence([torch.cat([torch.tensor([SOS]), s[:-1]]) for s in seqs], batch_first=True,
                          padding_value=PAD)
    targets = pad_sequence(list(seqs), batch_first=True, padding_value=PAD)  # sentence + <EOS>
    return torch.tensor(labels), inputs, targets


criterion = nn.CrossEntropyLoss(ignore_index=PAD)
generator = AuthorGenerator(len(char_to_idx))
opt = torch.optim.Adam(generator.parameters(), lr=0.01)
for epoch in range(4):
    for author, inputs, targets in DataLoader(data[:split], batch_size=32, shuffle=True, collate_fn=teacher_forcing):
        opt.zero_grad()
        logits, _ = generator(author, inputs)
        loss = criterion(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
        loss.backward()
        opt.step()


def generate(author, max_len=100):
    generator.eval()
    x, state, text = torch.tensor([[SOS]]), None, ""
    with torch.no_grad():
        for _ in range(max_len):
            logits, state = generator(torch.tensor([author]), x, state)
            nxt = torch.multinomial(torch.softmax(logits[0, -1] / 0.8, dim=0), 1).item()
            if nxt == EOS:
                break
            text += idx_to_char.get(nxt, "")
            x = torch.tensor([[nxt]])
    return text


for label, author in (("Shakespeare", 2), ("Shakespeare", 2), ("Poe", 1), ("Poe", 1)):
    print(f"{label}: {generate(author)}")
# %% cell
sonnets = re.sub(r"\s+", " ", open("sonnets.txt", encoding="utf-8", errors="ignore").read())[20000:40000]
lm_vocab = dict(char_to_idx)
for ch in sorted(set(sonnets)):
    lm_vocab.setdefault(ch, len(lm_vocab))
lm_chars = {i: c for c, i in lm_vocab.items()}
chunks = [sonnets[k:k + 40] for k in range(0, len(sonnets) - 40, 40)]
lm_inputs = torch.tensor([[SOS] + [lm_vocab[c] for c in chunk] for chunk in chunks])   # [<SOS>] + chunk
lm_targets = torch.tensor([[lm_vocab[c] for c in chunk] + [EOS] for chunk in chunks])  # chunk + [<EOS>]


class CharLM(nn.Module):  # Task 2.4, many-to-many
    def __init__(self, vocab_size, embed=32, hidden=128):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed, padding_idx=PAD)
        self.lstm = nn.LSTM(embed, hidden, batch_first=True)
        self.out = nn.Linear(hidden, vocab_size)

    def forward(self, x, state=None):
        output, state = self.lstm(self.embedding(x), state)
        return self.out(output), state


lm = CharLM(len(lm_vocab))
opt = torch.optim.Adam(lm.parameters(), lr=0.01)
for epoch in range(6):
    for k in torch.randperm(len(chunks)).split(32):
        opt.zero_grad()
        logits, _ = lm(lm_inputs[k])
        loss = criterion(logits.reshape(-1, len(lm_vocab)), lm_targets[k].reshape(-1))
        loss.backward()
        opt.step()
print(f"Task 2.4 final training loss: {loss.item():.4f}")

lm.eval()
text = "The summer"
with torch.no_grad():
    logits, state = lm(torch.tensor([[SOS] + [lm_vocab[c] for c in text]]))
    for _ in range(150):
        nxt = torch.multinomial(torch.softmax(logits[0, -1] / 0.8, dim=0), 1).item()
        text += lm_chars.get(nxt, "") if nxt not in (PAD, SOS, EOS) else " "
        logits, state = lm(torch.tensor([[nxt]]), state)
print("Generated:", text)
