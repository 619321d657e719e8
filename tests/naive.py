"""The reference: the chapter's algorithm in plain NumPy, one sample at a time.

Written for clarity, never for speed, and never imported by the library. Every fast
path in fastnet is tested against it. Data is the chapter's: lists of ``(x, y)`` with
``x`` a column ``(inputs, 1)`` and ``y`` a one-hot column (training) or a label (test).
Beyond chapter 1, as the book's chapter 3 has them: the cross-entropy cost, weights
scaled by ``1/sqrt(inputs)``, and L2 regularisation ``lmbda``.
"""
import random

import numpy as np


def sigmoid(z):
    with np.errstate(over="ignore", under="ignore"):
        return 1.0 / (1.0 + np.exp(-z))


def quadratic_delta(a, y):
    """dC/dz at the output for C = 0.5 |a - y|^2."""
    return (a - y) * a * (1 - a)


def cross_entropy_delta(a, y):
    """dC/dz at the output for C = -sum(y ln a + (1 - y) ln(1 - a))."""
    return a - y


class Network:
    def __init__(self, sizes, cost="quadratic", init="chapter"):
        """Random parameters drawn in the chapter's order: all biases, then all weights
        (divided by sqrt(inputs) for init="scaled")."""
        self.sizes = list(sizes)
        self.output_delta = {"quadratic": quadratic_delta, "cross-entropy": cross_entropy_delta}[cost]
        self.biases = [np.random.randn(y, 1) for y in sizes[1:]]
        if init == "scaled":
            self.weights = [np.random.randn(y, x) / np.sqrt(x) for x, y in zip(sizes[:-1], sizes[1:])]
        else:
            self.weights = [np.random.randn(y, x) for x, y in zip(sizes[:-1], sizes[1:])]

    def feedforward(self, a):
        for w, b in zip(self.weights, self.biases):
            a = sigmoid(w @ a + b)
        return a

    def backprop(self, x, y):
        """Gradient of the cost for one sample."""
        activations = [x]
        for w, b in zip(self.weights, self.biases):
            activations.append(sigmoid(w @ activations[-1] + b))
        nabla_b = [None] * len(self.biases)
        nabla_w = [None] * len(self.weights)
        a = activations[-1]
        delta = self.output_delta(a, y)
        for layer in range(len(self.weights) - 1, -1, -1):
            nabla_b[layer] = delta
            nabla_w[layer] = delta @ activations[layer].T
            if layer > 0:
                a = activations[layer]
                delta = (self.weights[layer].T @ delta) * a * (1 - a)
        return nabla_b, nabla_w

    def update_mini_batch(self, mini_batch, eta, lmbda=0.0, n=1):
        sum_b = [np.zeros_like(b) for b in self.biases]
        sum_w = [np.zeros_like(w) for w in self.weights]
        for x, y in mini_batch:
            nabla_b, nabla_w = self.backprop(x, y)
            sum_b = [s + n for s, n in zip(sum_b, nabla_b)]
            sum_w = [s + n for s, n in zip(sum_w, nabla_w)]
        step = eta / len(mini_batch)
        self.biases = [b - step * s for b, s in zip(self.biases, sum_b)]
        self.weights = [(1 - eta * lmbda / n) * w - step * s for w, s in zip(self.weights, sum_w)]

    def evaluate(self, test_data):
        return sum(int(np.argmax(self.feedforward(x)) == y) for x, y in test_data)

    def SGD(self, training_data, epochs, mini_batch_size, eta, test_data=None, lmbda=0.0):
        """Shuffle once per epoch, train mini-batch by mini-batch, print the epoch line."""
        n = len(training_data)
        for j in range(epochs):
            random.shuffle(training_data)
            for k in range(0, n, mini_batch_size):
                self.update_mini_batch(training_data[k:k + mini_batch_size], eta, lmbda, n)
            if test_data:
                print(f"Epoch {j}: {self.evaluate(test_data)} / {len(test_data)}")
            else:
                print(f"Epoch {j} complete")
