# accumulate the gradients of the whole batch, then one step
import torch
import torch.nn.functional as F
import matplotlib.pyplot as plt

# 1. Vocabulary
vocab = {"The": 0, "movie": 1, "is": 2, "good": 3, "bad": 4}


def word_to_onehot(word):
    vec = torch.zeros(len(vocab), 1)
    vec[vocab[word]] = 1.0
    return vec


# 2. Training Samples
train_data = [(["The", "movie", "is", "good"], 1), (["The", "movie", "is", "bad"], 0)]

# 3. Parameters
n = 2
m = len(vocab)
T = 4
torch.manual_seed(42)
W = torch.empty(n, n).normal_(0, 0.1).requires_grad_(True)
U = torch.empty(n, m).normal_(0, 0.1).requires_grad_(True)
b = torch.zeros(n, 1).requires_grad_(True)
W_out = torch.empty(2, n).normal_(0, 0.1).requires_grad_(True)
b_out = torch.zeros(2, 1).requires_grad_(True)

# 4. Training Setup
learning_rate = 0.1
num_epochs = 300
loss_history = []

# 5. Training Loop
for epoch in range(num_epochs):
    total_loss = 0.0
    for sentence, label in train_data:
        inputs = [word_to_onehot(word) for word in sentence]
        hidden = torch.zeros(n, 1)
        for x_t in inputs:
            hidden = torch.tanh(W @ hidden + U @ x_t + b)
        out = W_out @ hidden + b_out
        loss = F.cross_entropy(out.T, torch.tensor([label]))
        total_loss += loss.item()
        loss.backward()          # gradients of both sentences add up in .grad
    # one update per epoch with the summed gradient, then reset
    with torch.no_grad():
        for p in (W, U, b, W_out, b_out):
            p -= learning_rate * p.grad
            p.grad.zero_()
    loss_history.append(total_loss)
    if (epoch + 1) % 50 == 0:
        print(f"Epoch [{epoch+1}/{num_epochs}] - Loss: {total_loss:.4f}")

plt.plot(loss_history)
plt.xlabel("Epoch")
plt.ylabel("Total Loss")
plt.show()

# 7. Test
print("\n=== Testing ===")
test_sentences = [["The", "movie", "is", "bad"], ["The", "movie", "is", "good"]]
for test_sentence in test_sentences:
    hidden = torch.zeros(n, 1)
    for word in test_sentence:
        hidden = torch.tanh(W @ hidden + U @ word_to_onehot(word) + b)
    out = W_out @ hidden + b_out
    prediction = torch.argmax(out)
    print(f"Sentence: {test_sentence} → Prediction: {prediction.item()}")
