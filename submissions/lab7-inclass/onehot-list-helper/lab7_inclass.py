import torch
import matplotlib.pyplot as plt

# vocabulary and one-hot vectors
vocab = {"The": 0, "movie": 1, "is": 2, "good": 3, "bad": 4}
def word_to_onehot(word):
    v = torch.zeros(len(vocab), 1)
    v[vocab[word]] = 1.0
    return v

train_data = [(["The", "movie", "is", "good"], 1), (["The", "movie", "is", "bad"], 0)]

n, m, T = 2, len(vocab), 4
torch.manual_seed(42)
W = (0.1 * torch.randn(n, n)).requires_grad_()
U = (0.1 * torch.randn(n, m)).requires_grad_()
b = torch.zeros((n, 1), requires_grad=True)
W_out = (0.1 * torch.randn(2, n)).requires_grad_()
b_out = torch.zeros((2, 1), requires_grad=True)
params = [W, U, b, W_out, b_out]

learning_rate = 0.1
num_epochs = 300
criterion = torch.nn.CrossEntropyLoss()
losses = []


def forward(xs):
    # xs: list of one-hot column vectors
    h = torch.zeros(n, 1)
    for x in xs:
        h = torch.tanh(torch.mm(W, h) + torch.mm(U, x) + b)
    y = torch.mm(W_out, h) + b_out
    return y


for epoch in range(num_epochs):
    epoch_loss = 0
    for words, label in train_data:
        xs = [word_to_onehot(w) for w in words]
        y = forward(xs)
        loss = criterion(y.reshape(1, 2), torch.tensor([label]))
        loss.backward()
        epoch_loss += loss.item()
        with torch.no_grad():
            for p in params:
                p.sub_(learning_rate * p.grad)
        for p in params:
            p.grad.zero_()
    losses.append(epoch_loss)
    if epoch % 50 == 49:
        print("epoch", epoch + 1, "loss", round(epoch_loss, 4))

plt.plot(losses)
plt.show()

print("=== Testing ===")
test_sentences = [["The", "movie", "is", "bad"], ["The", "movie", "is", "good"]]
with torch.no_grad():
    for test_sentence in test_sentences:
        y = forward([word_to_onehot(w) for w in test_sentence])
        print(f"Sentence: {test_sentence} -> Prediction: {y.argmax().item()}")
