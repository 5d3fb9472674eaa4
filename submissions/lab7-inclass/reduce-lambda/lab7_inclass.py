from functools import reduce

import torch
import matplotlib.pyplot as plt

vocab = {"The": 0, "movie": 1, "is": 2, "good": 3, "bad": 4}
onehot = torch.eye(len(vocab))
train_data = [
    (["The", "movie", "is", "good"], 1),
    (["The", "movie", "is", "bad"], 0)
]

n, m, T = 2, len(vocab), 4
torch.manual_seed(42)
W, U = (torch.randn(n, n) * 0.1).requires_grad_(), (torch.randn(n, m) * 0.1).requires_grad_()
b = torch.zeros(n, 1, requires_grad=True)
W_out, b_out = (torch.randn(2, n) * 0.1).requires_grad_(), torch.zeros(2, 1, requires_grad=True)

learning_rate, num_epochs = 0.1, 300
loss_fn = torch.nn.CrossEntropyLoss()

step = lambda s, word: torch.tanh(W @ s + U @ onehot[vocab[word]].unsqueeze(-1) + b)
classify = lambda words: (W_out @ reduce(step, words, torch.zeros(n, 1)) + b_out).T

history = []
for epoch in range(num_epochs):
    epoch_loss = 0.0
    for words, label in train_data:
        loss = loss_fn(classify(words), torch.tensor([label]))
        loss.backward()
        epoch_loss += loss.item()
        with torch.no_grad():
            for p in (W, U, b, W_out, b_out):
                p -= learning_rate * p.grad
                p.grad = None
    history.append(epoch_loss)

print("final loss", round(history[-1], 4))
plt.plot(history)
plt.show()

print("\n=== Testing ===")
for test_sentence in [["The", "movie", "is", "bad"], ["The", "movie", "is", "good"]]:
    print(f"Sentence: {test_sentence} → Prediction: {classify(test_sentence).argmax().item()}")
