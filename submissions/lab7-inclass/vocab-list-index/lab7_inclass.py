import torch
import matplotlib.pyplot as plt

train_data = [
    (["The", "movie", "is", "good"], 1),
    (["The", "movie", "is", "bad"], 0)
]
# vocabulary built from the data (order of a set: not the handout's)
vocab = list(set(w for sentence, _ in train_data for w in sentence))


def word_to_onehot(word):
    vec = torch.zeros(len(vocab), 1)
    vec[vocab.index(word)] = 1.0
    return vec


n = 2
m = len(vocab)
T = 4
torch.manual_seed(42)
W = (torch.randn(n, n) * 0.1).requires_grad_()
U = (torch.randn(n, m) * 0.1).requires_grad_()
b = torch.zeros(n, 1, requires_grad=True)
W_out = (torch.randn(2, n) * 0.1).requires_grad_()
b_out = torch.zeros(2, 1, requires_grad=True)

learning_rate = 0.1
num_epochs = 300
loss_fn = torch.nn.CrossEntropyLoss()
loss_history = []

for epoch in range(num_epochs):
    total_loss = 0.0
    for sentence, label in train_data:
        h = torch.zeros(n, 1)
        for word in sentence:
            h = (W @ h + U @ word_to_onehot(word) + b).tanh()
        logits = W_out @ h + b_out
        loss = loss_fn(logits.view(1, -1), torch.tensor([label]))
        total_loss += loss.item()
        loss.backward()
        with torch.no_grad():
            for p in [W, U, b, W_out, b_out]:
                p -= learning_rate * p.grad
                p.grad.zero_()
    loss_history.append(total_loss)
    if (epoch + 1) % 50 == 0:
        print(f"Epoch [{epoch+1}/{num_epochs}] - Loss: {total_loss:.4f}")

plt.plot(loss_history)
plt.show()

print("\n=== Testing ===")
for test_sentence in [["The", "movie", "is", "bad"], ["The", "movie", "is", "good"]]:
    h = torch.zeros(n, 1)
    for word in test_sentence:
        h = (W @ h + U @ word_to_onehot(word) + b).tanh()
    logits = W_out @ h + b_out
    print(f"Sentence: {' '.join(test_sentence)} -> Prediction: {logits.argmax().item()}")
