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
W = (torch.randn(n, n) * 0.1).requires_grad_()
U = (torch.randn(n, m) * 0.1).requires_grad_()
b = torch.zeros(n, 1, requires_grad=True)
W_out = (torch.randn(2, n) * 0.1).requires_grad_()
b_out = torch.zeros(2, 1, requires_grad=True)

learning_rate = 0.1
num_epochs = 300
loss_fn = torch.nn.CrossEntropyLoss()
loss_history = []


def forward(sentence):
    s_t = torch.zeros(n, 1)
    for word in sentence:
        s_t = torch.tanh(W @ s_t + U @ word_to_onehot(word) + b)
    return (W_out @ s_t + b_out).view(1, -1)


# full-batch gradient descent: one update per epoch on the summed loss
for epoch in range(num_epochs):
    loss = sum(loss_fn(forward(sentence), torch.tensor([label])) for sentence, label in train_data)
    loss.backward()
    with torch.no_grad():
        for p in (W, U, b, W_out, b_out):
            p -= learning_rate * p.grad
            p.grad.zero_()
    loss_history.append(loss.item())
    if (epoch + 1) % 50 == 0:
        print(f"Epoch [{epoch+1}/{num_epochs}] - Loss: {loss.item():.4f}")

plt.plot(loss_history)
plt.show()

print("\n=== Testing ===")
for test_sentence in [["The", "movie", "is", "bad"], ["The", "movie", "is", "good"]]:
    print(f"Sentence: {test_sentence} → Prediction: {forward(test_sentence).argmax().item()}")
