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

lr = 0.1
num_epochs = 300
loss_fn = torch.nn.CrossEntropyLoss()
loss_history = []

for epoch in range(num_epochs):
    total_loss = 0.0
    for sentence, label in train_data:
        s_prev = torch.zeros(n, 1)
        for word in sentence:
            s_t = torch.tanh(W @ s_prev + U @ word_to_onehot(word) + b)
            s_prev = s_t
        logits = W_out @ s_t + b_out
        loss = loss_fn(logits.view(1, -1), torch.tensor([label]))
        total_loss += loss.item()
        loss.backward()
        # new leaf tensors each step (no in-place update)
        W = (W - lr * W.grad).detach().requires_grad_()
        U = (U - lr * U.grad).detach().requires_grad_()
        b = (b - lr * b.grad).detach().requires_grad_()
        W_out = (W_out - lr * W_out.grad).detach().requires_grad_()
        b_out = (b_out - lr * b_out.grad).detach().requires_grad_()
    loss_history.append(total_loss)
    if (epoch + 1) % 50 == 0:
        print(f"Epoch [{epoch+1}/{num_epochs}] - Loss: {total_loss:.4f}")

plt.plot(loss_history)
plt.show()

print("\n=== Testing ===")
for test_sentence in [["The", "movie", "is", "bad"], ["The", "movie", "is", "good"]]:
    s_prev = torch.zeros(n, 1)
    for word in test_sentence:
        s_prev = torch.tanh(W @ s_prev + U @ word_to_onehot(word) + b)
    logits = W_out @ s_prev + b_out
    print(f"Sentence: {test_sentence} → Prediction: {torch.argmax(logits).item()}")
