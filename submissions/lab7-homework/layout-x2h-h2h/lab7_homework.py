# =====
# Assignment: Manual LSTM Cell for MNIST Digit Classification
# =====
import torch
import torch.nn as nn
import torch.optim as optim
import torchvision
import torchvision.transforms as transforms
import matplotlib.pyplot as plt
import numpy as np
import os

# =====
# Hyperparameters - you may change the parameter to get the better accuracy
# =====
input_size = 28
hidden_size = 64
num_layers = 1
num_classes = 10
batch_size = 128
learning_rate = 0.005
num_epochs = 5

# =====
# Load the MNIST Dataset
# =====
train_dataset = torchvision.datasets.MNIST(root='./data', train=True, transform=transforms.ToTensor(), download=True)
test_dataset = torchvision.datasets.MNIST(root='./data', train=False, transform=transforms.ToTensor(), download=True)

train_loader = torch.utils.data.DataLoader(dataset=train_dataset, batch_size=batch_size, shuffle=True)
test_loader = torch.utils.data.DataLoader(dataset=test_dataset, batch_size=batch_size, shuffle=False)


# =====
# TODO 1 : Build Manual LSTM Cell
# =====
class ManualLSTMCell(nn.Module):
    def __init__(self, input_size, hidden_size):
        super(ManualLSTMCell, self).__init__()
        self.hidden_size = hidden_size
        self.x2h = nn.Linear(input_size, 4 * hidden_size)
        self.h2h = nn.Linear(hidden_size, 4 * hidden_size)

    def forward(self, x, h_prev, c_prev):
        gates = self.x2h(x) + self.h2h(h_prev)
        ingate, forgetgate, cellgate, outgate = gates.chunk(4, 1)
        ingate = torch.sigmoid(ingate)
        forgetgate = torch.sigmoid(forgetgate)
        cellgate = torch.tanh(cellgate)
        outgate = torch.sigmoid(outgate)
        c_t = forgetgate * c_prev + ingate * cellgate
        h_t = outgate * torch.tanh(c_t)
        return h_t, c_t


# Full LSTM network
class ManualLSTMClassifier(nn.Module):
    def __init__(self, input_size, hidden_size, num_classes):
        super(ManualLSTMClassifier, self).__init__()
        self.hidden_size = hidden_size
        self.lstm_cell = ManualLSTMCell(input_size, hidden_size)
        self.fc = nn.Linear(hidden_size, num_classes)

    def forward(self, x):
        batch_size = x.size(0)
        h_t = torch.zeros(batch_size, self.hidden_size, device=x.device)
        c_t = torch.zeros(batch_size, self.hidden_size, device=x.device)
        for t in range(x.size(1)):
            h_t, c_t = self.lstm_cell(x[:, t, :], h_t, c_t)
        out = self.fc(h_t)
        return out


# =====
# Training and Testing - #You are allowed to change the optimizer
# =====
# Define model, criterion, optimizer
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
model = ManualLSTMClassifier(input_size, hidden_size, num_classes).to(device)
criterion = nn.CrossEntropyLoss()
optimizer = optim.Adam(model.parameters(), lr=learning_rate)

# Training loop
for epoch in range(num_epochs):
    for i, (images, labels) in enumerate(train_loader):
        images = images.reshape(-1, 28, 28).to(device)
        labels = labels.to(device)

        outputs = model(images)
        loss = criterion(outputs, labels)

        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

        if (i+1) % 100 == 0:
            print(f'Epoch [{epoch+1}/{num_epochs}], Step [{i+1}/{len(train_loader)}], Loss: {loss.item():.4f}')

# TODO 2: Testing loop to print the accuracy
model.eval()
correct = 0
total = 0
with torch.no_grad():
    for images, labels in test_loader:
        images = images.reshape(-1, 28, 28).to(device)
        labels = labels.to(device)
        outputs = model(images)
        _, predicted = torch.max(outputs.data, 1)
        total += labels.size(0)
        correct += (predicted == labels).sum().item()

print(f'Test Accuracy: {100 * correct / total:.2f}%')

# =====
# TODO 3: Visualization prediction
# Print the accuracy from test_data
# Show 10 example images including true label and prediction
# =====
examples = iter(test_loader)
example_images, example_labels = next(examples)
with torch.no_grad():
    example_outputs = model(example_images.reshape(-1, 28, 28).to(device))
    _, example_preds = torch.max(example_outputs, 1)

plt.figure(figsize=(12, 5))
for k in range(10):
    plt.subplot(2, 5, k + 1)
    plt.imshow(example_images[k][0], cmap='gray')
    plt.title(f'True: {example_labels[k].item()} / Pred: {example_preds[k].item()}')
    plt.axis('off')
plt.show()
