import torch
import matplotlib.pyplot as plt

# vocabulary as a list: a word's index is its position
words = ["The", "movie", "is", "good", "bad"]
index = {w: i for i, w in enumerate(words)}

def encode(sentence):
    return [torch.nn.functional.one_hot(torch.tensor(index[w]), len(words)).float().unsqueeze(1) for w in sentence]

train_data = [(["The", "movie", "is", "good"], 1), (["The", "movie", "is", "bad"], 0)]

lr = 0.01      # left over from trying torch.optim; not used below
alpha = 0.1    # step size of the manual update

hidden = 2
torch.manual_seed(7)
W = torch.randn(hidden, hidden) * 0.1
U = torch.randn(hidden, len(words)) * 0.1
b = torch.zeros(hidden, 1)
W_out = torch.randn(2, hidden) * 0.1
b_out = torch.zeros(2, 1)
for t in (W, U, b, W_out, b_out):
    t.requires_grad = True

def forward(sentence):
    s = torch.zeros(hidden, 1)
    for x in encode(sentence):
        s = torch.tanh(torch.mm(W, s) + torch.mm(U, x) + b)
    return torch.mm(W_out, s) + b_out

ce = torch.nn.CrossEntropyLoss()
losses = []
for epoch in range(300):
    running = 0.0
    for sentence, y in train_data:
        out = forward(sentence).reshape(1, 2)
        loss = ce(out, torch.tensor([y]))
        loss.backward()
        running += float(loss)
        with torch.no_grad():
            for t in (W, U, b, W_out, b_out):
                t -= alpha * t.grad
                t.grad.zero_()
    losses.append(running)
    if epoch % 100 == 99:
        print("epoch", epoch + 1, "loss", round(running, 4))

plt.plot(losses)
plt.show()

for sentence in [["The", "movie", "is", "bad"], ["The", "movie", "is", "good"]]:
    pred = int(torch.argmax(forward(sentence)))
    print(f"Sentence: {sentence} -> Prediction: {pred}")
