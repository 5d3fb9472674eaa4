# RNN with row vectors (batch-of-one convention): s is (1, n), x is (1, m)
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


def logits_of(sentence):
    s = torch.zeros(1, n)
    for word in sentence:
        x = word_to_onehot(word).T                     # (1, m)
        s = torch.tanh(s @ W.T + x @ U.T + b.T)        # (1, n)
    return s @ W_out.T + b_out.T                       # (1, 2)


for epoch in range(num_epochs):
    total_loss = 0.0
    for sentence, label in train_data:
        loss = loss_fn(logits_of(sentence), torch.tensor([label]))
        total_loss += loss.item()
        loss.backward()
        with torch.no_grad():
            for p in (W, U, b, W_out, b_out):
                p -= learning_rate * p.grad
                p.grad.zero_()
    loss_history.append(total_loss)
    if (epoch + 1) % 50 == 0:
        print(f"Epoch [{epoch+1}/{num_epochs}] - Loss: {total_loss:.4f}")

plt.plot(loss_history)
plt.show()

print("\n=== Testing ===")
for test_sentence in [["The", "movie", "is", "bad"], ["The", "movie", "is", "good"]]:
    prediction = torch.argmax(logits_of(test_sentence), dim=1)
    print(f"Sentence: {test_sentence} → Prediction: {prediction.item()}")
