"""LABORATORY: LSTM-RNN In Class -- my solution.

Fill in every TODO (no nn.RNN / nn.RNNCell / torch.optim):
  s_t    = tanh(W s_{t-1} + U x_t + b)
  logits = W_out s_T + b_out
and the manual SGD update of W, U, b, W_out, b_out.

Answer in markdown (notebook cells headed "Question 5" / "Question 6", or an answers.md):
  5. What does the hidden state s_t represent at each time step when processing a sequence of words?
  6. Why are RNNs hard to train?
"""
import torch
import matplotlib.pyplot as plt

# 1. Vocabulary
vocab = {"The": 0, "movie": 1, "is": 2, "good": 3, "bad": 4}


def word_to_onehot(word):
    vec = torch.zeros(len(vocab), 1)
    vec[vocab[word]] = 1.0
    return vec


# 2. Training Samples
train_data = [
    (["The", "movie", "is", "good"], 1),
    (["The", "movie", "is", "bad"], 0)
]

# 3. Define RNN Parameters
n = 2  # hidden size
m = len(vocab)
T = 4  # number of words
torch.manual_seed(42)

# Initialize Weights (n x n), (n x m), (n x 1), (2 x n), (2 x 1)
W = (torch.randn(n, n) * 0.1).requires_grad_()
U = (torch.randn(n, m) * 0.1).requires_grad_()
b = torch.zeros(n, 1, requires_grad=True)
W_out = (torch.randn(2, n) * 0.1).requires_grad_()
b_out = torch.zeros(2, 1, requires_grad=True)

# 4. Training Setup
learning_rate = 0.1
num_epochs = 300
loss_fn = torch.nn.CrossEntropyLoss()
loss_history = []

# 5. Training Loop
for epoch in range(num_epochs):
    total_loss = 0.0
    for sentence, label in train_data:
        inputs = [word_to_onehot(word) for word in sentence]
        s_prev = torch.zeros(n, 1)
        for x_t in inputs:
            s_t = torch.tanh(W @ s_prev + U @ x_t + b)
            s_prev = s_t

        # Output layer
        logits = W_out @ s_t + b_out
        logits = logits.view(1, -1)

        # Loss
        target = torch.tensor([label])
        loss = loss_fn(logits, target)
        total_loss += loss.item()

        # Backward
        loss.backward()

        # Manual update (SGD)
        with torch.no_grad():
            # update and reset each parameter
            for p in [W, U, b, W_out, b_out]: p.grad.zero_(); p -= learning_rate * p.grad

    loss_history.append(total_loss)
    if (epoch + 1) % 50 == 0:
        print(f"Epoch [{epoch+1}/{num_epochs}] - Loss: {total_loss:.4f}")

# 6. Plot Loss
plt.plot(loss_history)
plt.xlabel("Epoch")
plt.ylabel("Total Loss")
plt.title("Training Loss Curve")
plt.grid(True)
plt.show()

# 7. Test After Training
print("\n=== Testing ===")
test_sentences = [
    ["The", "movie", "is", "bad"],
    ["The", "movie", "is", "good"]
]

for test_sentence in test_sentences:
    inputs = [word_to_onehot(word) for word in test_sentence]
    s_prev = torch.zeros(n, 1)
    for x_t in inputs:
        s_t = torch.tanh(W @ s_prev + U @ x_t + b)
        s_prev = s_t
    logits = W_out @ s_t + b_out
    prediction = torch.argmax(logits)
    print(f"Sentence: {test_sentence} → Prediction: {prediction.item()}")
