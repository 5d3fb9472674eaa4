"""RNN from scratch with nn.Linear pieces (no nn.RNN): h_t = tanh(U x_t + b_ih + W h_{t-1} + b_hh)."""
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


class ScratchRNN(nn.Module):
    def __init__(self, m, n):
        super().__init__()
        self.n = n
        self.input_to_hidden = nn.Linear(m, n)       # U and b_ih
        self.hidden_to_hidden = nn.Linear(n, n)      # W and b_hh
        self.hidden_to_output = nn.Linear(n, 2)      # W_out and b_out

    def forward(self, words):
        h = torch.zeros(1, self.n)
        for w in words:
            x = torch.zeros(1, m)
            x[0, vocab[w]] = 1.0
            h = torch.tanh(self.input_to_hidden(x) + self.hidden_to_hidden(h))
        return self.hidden_to_output(h)             # (1, 2)


model = ScratchRNN(m, n)
learning_rate = 0.1
num_epochs = 300
loss_fn = nn.CrossEntropyLoss()
loss_history = []

for epoch in range(num_epochs):
    total_loss = 0.0
    for sentence, label in train_data:
        loss = loss_fn(model(sentence), torch.tensor([label]))
        total_loss += loss.item()
        loss.backward()
        with torch.no_grad():
            for param in model.parameters():
                param -= learning_rate * param.grad
                param.grad.zero_()
    loss_history.append(total_loss)
    if (epoch + 1) % 50 == 0:
        print(f"Epoch [{epoch+1}/{num_epochs}] - Loss: {total_loss:.4f}")

plt.plot(loss_history)
plt.show()

print("\n=== Testing ===")
with torch.no_grad():
    for test_sentence in [["The", "movie", "is", "bad"], ["The", "movie", "is", "good"]]:
        prediction = model(test_sentence).argmax(dim=1)
        print(f"Sentence: {test_sentence} → Prediction: {prediction.item()}")
