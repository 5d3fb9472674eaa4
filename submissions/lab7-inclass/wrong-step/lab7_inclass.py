"""RNN in class lab. The update uses a hard-coded step instead of learning_rate."""
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

n = 2
m = len(vocab)
torch.manual_seed(1)
W = (torch.randn(n, n) * 0.1).requires_grad_()
U = (torch.randn(n, m) * 0.1).requires_grad_()
b = torch.zeros(n, 1, requires_grad=True)
W_out = (torch.randn(2, n) * 0.1).requires_grad_()
b_out = torch.zeros(2, 1, requires_grad=True)
parameters = {"W": W, "U": U, "b": b, "W_out": W_out, "b_out": b_out}

learning_rate = 0.1
num_epochs = 300
loss_fn = torch.nn.CrossEntropyLoss()
loss_history = []


def sgd_step(params):
    with torch.no_grad():
        for name, p in params.items():
            p -= 0.5 * p.grad          # should be learning_rate * p.grad
            p.grad.zero_()


for epoch in range(num_epochs):
    total_loss = 0.0
    for sentence, label in train_data:
        s_prev = torch.zeros(n, 1)
        for word in sentence:
            s_prev = torch.tanh(W @ s_prev + U @ word_to_onehot(word) + b)
        logits = (W_out @ s_prev + b_out).view(1, -1)
        loss = loss_fn(logits, torch.tensor([label]))
        total_loss += loss.item()
        loss.backward()
        sgd_step(parameters)
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
    prediction = torch.argmax(W_out @ s_prev + b_out)
    print(f"Sentence: {test_sentence} → Prediction: {prediction.item()}")
