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


def run_rnn(sentence):
    states = [torch.zeros(n, 1)]           # s_0
    for t, word in enumerate(sentence):
        x_t = word_to_onehot(word)
        states.append(torch.tanh(W @ states[t] + U @ x_t + b))
    return states


for epoch in range(num_epochs):
    total_loss = 0.0
    for sentence, label in train_data:
        states = run_rnn(sentence)
        logits = W_out @ states[-1] + b_out
        loss = loss_fn(logits.view(1, -1), torch.tensor([label]))
        total_loss += loss.item()
        loss.backward()
        with torch.no_grad():
            W -= learning_rate * W.grad
            U -= learning_rate * U.grad
            b -= learning_rate * b.grad
            W_out -= learning_rate * W_out.grad
            b_out -= learning_rate * b_out.grad
            W.grad.zero_()
            U.grad.zero_()
            b.grad.zero_()
            W_out.grad.zero_()
            b_out.grad.zero_()
    loss_history.append(total_loss)
    if (epoch + 1) % 50 == 0:
        print(f"Epoch [{epoch+1}/{num_epochs}] - Loss: {total_loss:.4f}")

plt.plot(loss_history)
plt.show()

print("\n=== Testing ===")
test_sentences = [["The", "movie", "is", "bad"], ["The", "movie", "is", "good"]]
for test_sentence in test_sentences:
    states = run_rnn(test_sentence)
    logits = W_out @ states[-1] + b_out
    prediction = torch.argmax(logits)
    print(f"Sentence: {test_sentence} → Prediction: {prediction.item()}")
