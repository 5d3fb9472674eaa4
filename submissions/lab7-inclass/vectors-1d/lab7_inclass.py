# 1-D vectors throughout: x_t (m,), s_t (n,), b (n,), b_out (2,)
import torch
import torch.nn.functional as F
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

W = (torch.randn(n, n) * 0.1).requires_grad_()
U = (torch.randn(n, m) * 0.1).requires_grad_()
b = torch.zeros(n, requires_grad=True)
W_out = (torch.randn(2, n) * 0.1).requires_grad_()
b_out = torch.zeros(2, requires_grad=True)

learning_rate = 0.1
num_epochs = 300
loss_history = []


def encode(sentence):
    return [F.one_hot(torch.tensor(vocab[w]), m).float() for w in sentence]


def rnn(xs):
    s = torch.zeros(n)
    for x in xs:
        s = torch.tanh(W @ s + U @ x + b)
    return W_out @ s + b_out          # (2,)


for epoch in range(num_epochs):
    total = 0.0
    for sentence, label in train_data:
        loss = F.cross_entropy(rnn(encode(sentence)).unsqueeze(0), torch.tensor([label]))
        total += loss.item()
        loss.backward()
        with torch.no_grad():
            for p in (W, U, b, W_out, b_out):
                p -= learning_rate * p.grad
                p.grad.zero_()
    loss_history.append(total)
    if (epoch + 1) % 50 == 0:
        print(f"Epoch [{epoch+1}/{num_epochs}] - Loss: {total:.4f}")

plt.plot(loss_history)
plt.show()

print("\n=== Testing ===")
for test_sentence in [["The", "movie", "is", "bad"], ["The", "movie", "is", "good"]]:
    print(f"Sentence: {test_sentence} → Prediction: {rnn(encode(test_sentence)).argmax().item()}")
