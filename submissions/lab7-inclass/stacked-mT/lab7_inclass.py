import torch
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
W = torch.nn.Parameter(torch.randn(n, n) * 0.1)
U = torch.nn.Parameter(torch.randn(n, m) * 0.1)
b = torch.nn.Parameter(torch.zeros(n, 1))
W_out = torch.nn.Parameter(torch.randn(2, n) * 0.1)
b_out = torch.nn.Parameter(torch.zeros(2, 1))
parameters = [W, U, b, W_out, b_out]

learning_rate = 0.1
num_epochs = 300
loss_fn = torch.nn.CrossEntropyLoss()
loss_history = []


def predict_logits(X):
    """X: (m, T), one column per word."""
    s = torch.zeros(n, 1)
    for t in range(X.size(1)):
        s = torch.tanh(W @ s + U @ X[:, t:t + 1] + b)
    return W_out @ s + b_out


for epoch in range(num_epochs):
    total_loss = 0.0
    for sentence, label in train_data:
        X = torch.cat([word_to_onehot(w) for w in sentence], dim=1)   # (m, T)
        loss = loss_fn(predict_logits(X).T, torch.tensor([label]))
        total_loss += loss.item()
        loss.backward()
        for p in parameters:
            p.data -= learning_rate * p.grad.data
            p.grad = None
    loss_history.append(total_loss)
    if (epoch + 1) % 50 == 0:
        print(f"Epoch [{epoch+1}/{num_epochs}] - Loss: {total_loss:.4f}")

plt.plot(loss_history)
plt.show()

print("\n=== Testing ===")
for test_sentence in [["The", "movie", "is", "bad"], ["The", "movie", "is", "good"]]:
    X = torch.cat([word_to_onehot(w) for w in test_sentence], dim=1)
    with torch.no_grad():
        prediction = predict_logits(X).argmax(dim=0)
    print(f"Sentence: {test_sentence} → Prediction: {prediction.item()}")
