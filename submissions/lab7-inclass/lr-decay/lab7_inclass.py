"""Lab 7 in class: RNN sentiment classifier, SGD with a 1/t learning-rate schedule."""
import torch
import matplotlib.pyplot as plt

vocab = {"The": 0, "movie": 1, "is": 2, "good": 3, "bad": 4}
train_data = [(["The", "movie", "is", "good"], 1), (["The", "movie", "is", "bad"], 0)]


def one_hot(word):
    x = torch.zeros(len(vocab), 1)
    x[vocab[word], 0] = 1.0
    return x


n, m = 3, len(vocab)
torch.manual_seed(0)
W = torch.empty(n, n).uniform_(-0.2, 0.2).requires_grad_(True)
U = torch.empty(n, m).uniform_(-0.2, 0.2).requires_grad_(True)
b = torch.zeros(n, 1).requires_grad_(True)
W_out = torch.empty(2, n).uniform_(-0.2, 0.2).requires_grad_(True)
b_out = torch.zeros(2, 1).requires_grad_(True)
params = [W, U, b, W_out, b_out]

base_rate = 0.3
num_epochs = 300
criterion = torch.nn.CrossEntropyLoss()
history = []


def run_rnn(words):
    h = torch.zeros(n, 1)
    for w in words:
        h = torch.tanh(W @ h + U @ one_hot(w) + b)
    return (W_out @ h + b_out).T  # (1, 2)


for epoch in range(num_epochs):
    # decay schedule: the step shrinks as training goes on
    learning_rate = base_rate / (1.0 + 0.01 * epoch)
    epoch_loss = 0.0
    for words, label in train_data:
        loss = criterion(run_rnn(words), torch.tensor([label]))
        loss.backward()
        epoch_loss += loss.item()
        with torch.no_grad():
            for p in params:
                p.sub_(learning_rate * p.grad)
                p.grad = None
    history.append(epoch_loss)
    if epoch % 60 == 0:
        print(f"epoch {epoch:3d}  lr {learning_rate:.4f}  loss {epoch_loss:.4f}")

plt.plot(history)
plt.title("loss")
plt.show()

for sentence in (["The", "movie", "is", "bad"], ["The", "movie", "is", "good"]):
    with torch.no_grad():
        pred = run_rnn(sentence).argmax(dim=1)
    print(f"Sentence: {sentence} → Prediction: {pred.item()}")
