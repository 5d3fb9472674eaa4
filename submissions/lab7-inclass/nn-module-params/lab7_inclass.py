import torch
import torch.nn as nn
import matplotlib.pyplot as plt

vocab = {"The": 0, "movie": 1, "is": 2, "good": 3, "bad": 4}
train_data = [
    (["The", "movie", "is", "good"], 1),
    (["The", "movie", "is", "bad"], 0)
]
n = 2
m = len(vocab)
T = 4
torch.manual_seed(42)


class RNNClassifier(nn.Module):
    """s_t = tanh(W s_{t-1} + U x_t + b); logits = W_out s_T + b_out (no nn.RNN)."""

    def __init__(self, n, m):
        super().__init__()
        self.W = nn.Parameter(torch.randn(n, n) * 0.1)
        self.U = nn.Parameter(torch.randn(n, m) * 0.1)
        self.b = nn.Parameter(torch.zeros(n, 1))
        self.W_out = nn.Parameter(torch.randn(2, n) * 0.1)
        self.b_out = nn.Parameter(torch.zeros(2, 1))
        self.eye = torch.eye(m)

    def forward(self, word_ids):
        s = torch.zeros(self.W.shape[0], 1)
        for i in word_ids:
            x = self.eye[:, [i]]                      # one-hot column
            s = torch.tanh(self.W @ s + self.U @ x + self.b)
        return (self.W_out @ s + self.b_out).flatten()


model = RNNClassifier(n, m)
learning_rate = 0.1
num_epochs = 300
loss_fn = nn.CrossEntropyLoss()
loss_history = []
data = [([vocab[w] for w in words], torch.tensor(label)) for words, label in train_data]

for epoch in range(num_epochs):
    total = 0.0
    for ids, target in data:
        loss = loss_fn(model(ids), target)          # unbatched logits (2,) and class index
        total += loss.item()
        model.zero_grad()
        loss.backward()
        for p in model.parameters():
            p.data.add_(p.grad, alpha=-learning_rate)
    loss_history.append(total)
    if (epoch + 1) % 50 == 0:
        print(f"Epoch [{epoch+1}/{num_epochs}] - Loss: {total:.4f}")

plt.plot(loss_history)
plt.show()

print("\n=== Testing ===")
test_sentences = [["The", "movie", "is", "bad"], ["The", "movie", "is", "good"]]
with torch.no_grad():
    for test_sentence in test_sentences:
        prediction = model([vocab[w] for w in test_sentence]).argmax()
        print(f"Sentence: {test_sentence} → Prediction: {prediction.item()}")
