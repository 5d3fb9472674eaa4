# LAB 7 - RNN in class
import torch
from torch import nn
import matplotlib.pyplot as plt

vocab = {"The": 0, "movie": 1, "is": 2, "good": 3, "bad": 4}
def word_to_onehot(word):
    vec = torch.zeros(len(vocab), 1)
    vec[vocab[word]] = 1.0
    return vec

train_data = [
    (["The", "movie", "is", "good"], 1),
    (["The", "movie", "is", "bad"], 0)
]

n = 2
m = len(vocab)
T = 4
torch.manual_seed(42)

# Initialize Weights
W = torch.randn(n, n) / 10
U = torch.randn(n, m) / 10
b = torch.zeros(n, 1)
W_out = torch.randn(2, n) / 10
b_out = torch.zeros(2, 1)
for t in (W, U, b, W_out, b_out):
    t.requires_grad = True

learning_rate = 0.1
num_epochs = 300
loss_fn = nn.CrossEntropyLoss()
loss_history = []

for epoch in range(num_epochs):
    total_loss = 0.0
    for sentence, label in train_data:
        state = torch.zeros(n, 1)
        for word in sentence:
            x_t = word_to_onehot(word)
            state = torch.nn.functional.tanh(torch.matmul(W, state) + torch.matmul(U, x_t) + b)
        scores = torch.matmul(W_out, state) + b_out          # (2, 1)
        loss = loss_fn(scores.T, torch.tensor([label]))
        total_loss += loss.item()
        loss.backward()
        with torch.no_grad():
            W -= learning_rate * W.grad
            U -= learning_rate * U.grad
            b -= learning_rate * b.grad
            W_out -= learning_rate * W_out.grad
            b_out -= learning_rate * b_out.grad
            W.grad.zero_()
            U.grad.zero_()
            b.grad.zero_()
            W_out.grad.zero_()
            b_out.grad.zero_()
    loss_history.append(total_loss)
    if (epoch + 1) % 50 == 0:
        print(f"Epoch [{epoch+1}/{num_epochs}] - Loss: {total_loss:.4f}")

plt.plot(loss_history)
plt.show()

print("\n=== Testing ===")
test_sentences = [["The", "movie", "is", "bad"], ["The", "movie", "is", "good"]]
for test_sentence in test_sentences:
    state = torch.zeros(n, 1)
    for word in test_sentence:
        state = torch.tanh(W @ state + U @ word_to_onehot(word) + b)
    scores = W_out @ state + b_out
    prediction = scores.argmax()
    print(f"Sentence: {test_sentence} → Prediction: {prediction.item()}")
