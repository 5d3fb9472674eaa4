# A correct submission written the way many students do: helpers, nn.Parameter,
# an update loop over a parameter list, grads reset with `p.grad = None`.
import torch
import torch.nn as nn
import matplotlib.pyplot as plt

vocab = {"The": 0, "movie": 1, "is": 2, "good": 3, "bad": 4}


def word_to_onehot(word):
    vec = torch.zeros(len(vocab), 1)
    vec[vocab[word]] = 1.0
    return vec


train_data = [(["The", "movie", "is", "good"], 1), (["The", "movie", "is", "bad"], 0)]
n = 2
m = len(vocab)
T = 4
torch.manual_seed(42)
W = nn.Parameter(torch.randn(n, n) * 0.5)
U = nn.Parameter(torch.randn(n, m) * 0.5)
b = nn.Parameter(torch.zeros(n, 1))
W_out = nn.Parameter(torch.randn(2, n) * 0.5)
b_out = nn.Parameter(torch.zeros(2, 1))
params = [W, U, b, W_out, b_out]
learning_rate = 0.1
num_epochs = 300
loss_fn = torch.nn.CrossEntropyLoss()
loss_history = []


def rnn_step(x, h):
    s_t = torch.tanh(torch.mm(W, h) + torch.mm(U, x) + b)
    return s_t


def classify(sentence):
    h = torch.zeros(n, 1)
    for word in sentence:
        h = rnn_step(word_to_onehot(word), h)
    logits = torch.matmul(W_out, h) + b_out
    return logits


for epoch in range(num_epochs):
    total_loss = 0.0
    for sentence, label in train_data:
        logits = classify(sentence).view(1, -1)
        loss = loss_fn(logits, torch.tensor([label]))
        total_loss += loss.item()
        loss.backward()
        with torch.no_grad():
            for p in params:
                p.data -= learning_rate * p.grad
                p.grad = None
    loss_history.append(total_loss)
    if (epoch + 1) % 50 == 0:
        print(f"Epoch [{epoch+1}/{num_epochs}] - Loss: {total_loss:.4f}")

plt.plot(loss_history)
plt.title("Training Loss Curve")
plt.show()

print("\n=== Testing ===")
for test_sentence in [["The", "movie", "is", "bad"], ["The", "movie", "is", "good"]]:
    prediction = torch.argmax(classify(test_sentence))
    print(f"Sentence: {' '.join(test_sentence)} -> Prediction: {prediction}")
