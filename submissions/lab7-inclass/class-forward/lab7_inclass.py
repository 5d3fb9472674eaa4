"""Lab 7 (in class): RNN sentence classifier, written as a small class."""
import torch
import matplotlib.pyplot as plt

vocab = {"The": 0, "movie": 1, "is": 2, "good": 3, "bad": 4}


def word_to_onehot(word):
    vec = torch.zeros(len(vocab), 1)
    vec[vocab[word]] = 1.0
    return vec


train_data = [
    (["The", "movie", "is", "good"], 1),
    (["The", "movie", "is", "bad"], 0),
]


class VanillaRNN:
    def __init__(self, n, m, scale=0.1):
        self.n = n
        self.W = (torch.randn(n, n) * scale).requires_grad_()
        self.U = (torch.randn(n, m) * scale).requires_grad_()
        self.b = torch.zeros(n, 1, requires_grad=True)
        self.W_out = (torch.randn(2, n) * scale).requires_grad_()
        self.b_out = torch.zeros(2, 1, requires_grad=True)

    def params(self):
        return [self.W, self.U, self.b, self.W_out, self.b_out]

    def forward(self, sentence):
        state = torch.zeros(self.n, 1)
        for word in sentence:
            x = word_to_onehot(word)
            state = torch.tanh(self.W @ state + self.U @ x + self.b)
        return self.W_out @ state + self.b_out

    def __call__(self, sentence):
        return self.forward(sentence)


n = 2
m = len(vocab)
torch.manual_seed(42)
model = VanillaRNN(n, m)

learning_rate = 0.1
num_epochs = 300
loss_fn = torch.nn.CrossEntropyLoss()
loss_history = []

for epoch in range(num_epochs):
    total_loss = 0.0
    for sentence, label in train_data:
        logits = model(sentence).view(1, -1)
        loss = loss_fn(logits, torch.tensor([label]))
        total_loss += loss.item()
        loss.backward()
        with torch.no_grad():
            for p in model.params(): p -= learning_rate * p.grad; p.grad.zero_()
    loss_history.append(total_loss)
    if (epoch + 1) % 100 == 0:
        print(f"Epoch {epoch + 1}: loss {total_loss:.4f}")

plt.plot(loss_history)
plt.show()

print("\n=== Testing ===")
for test_sentence in (["The", "movie", "is", "bad"], ["The", "movie", "is", "good"]):
    prediction = torch.argmax(model(test_sentence))
    print(f"Sentence: {list(test_sentence)} → Prediction: {prediction.item()}")
