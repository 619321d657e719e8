"""Other ways of doing the same job, for the benchmarks to compare fastnet with.

Each peer trains the chapter's network (sigmoid layers, quadratic cost, mini-batch SGD)
with the mini-batch held as a matrix, from the same initial draws as ``fastnet.Network``
(all biases, then all weights). ``train_epoch(X, T, order, batch, eta)`` runs one epoch
over the samples ``order`` of inputs ``X`` ``(n, inputs)`` and targets ``T``
``(n, outputs)``; each mini-batch of ``X`` is converted to the network's dtype as it is
taken (MNIST's pixels come as float32). The per-sample reference is ``tests/naive.py``.
"""
import numpy as np

try:
    import torch
except ImportError:  # never a dependency: the PyTorch peer is measured only when present
    torch = None


def initial_parameters(sizes, dtype):
    """``(weights, biases)`` drawn in the chapter's order; weights ``(y, x)``, biases ``(y,)``."""
    biases = [np.random.randn(y, 1).astype(dtype).ravel() for y in sizes[1:]]
    weights = [np.random.randn(y, x).astype(dtype) for x, y in zip(sizes[:-1], sizes[1:])]
    return weights, biases


class NumpyNetwork:
    """Mini-batch SGD with each mini-batch a matrix: one GEMM per layer and pass."""

    def __init__(self, sizes, dtype=np.float64):
        self.weights, self.biases = initial_parameters(sizes, dtype)
        self.dtype = np.dtype(dtype)

    @staticmethod
    def sigmoid(z):
        with np.errstate(over="ignore"):
            return 1 / (1 + np.exp(-z))

    def train_epoch(self, X, T, order, batch, eta):
        for start in range(0, order.size, batch):
            rows = order[start:start + batch]
            self.update(X[rows].astype(self.dtype, copy=False), T[rows],
                        self.dtype.type(eta / rows.size))

    def update(self, A, T, step):
        """One step on the mini-batch ``A`` (rows are samples) with targets ``T``."""
        activations = [A]
        for W, b in zip(self.weights, self.biases):
            A = self.sigmoid(A @ W.T + b)
            activations.append(A)
        D = (A - T) * A * (1 - A)
        for l in range(len(self.weights) - 1, -1, -1):
            W, A = self.weights[l], activations[l]
            grad_W, grad_b = D.T @ A, D.sum(0)
            if l > 0:
                D = (D @ W) * A * (1 - A)
            W -= step * grad_W
            self.biases[l] -= step * grad_b


class TorchNetwork(NumpyNetwork):
    """The same on PyTorch CPU tensors (no autograd: the same explicit backprop)."""

    def __init__(self, sizes, dtype=np.float64):
        super().__init__(sizes, dtype)
        self.weights = [torch.from_numpy(w) for w in self.weights]
        self.biases = [torch.from_numpy(b) for b in self.biases]

    @staticmethod
    def sigmoid(z):
        return torch.sigmoid(z)

    def train_epoch(self, X, T, order, batch, eta):
        X, T = torch.from_numpy(X), torch.from_numpy(T)
        order = torch.from_numpy(order)
        with torch.no_grad():
            for start in range(0, order.numel(), batch):
                rows = order[start:start + batch]
                self.update(X[rows].to(T.dtype), T[rows], eta / rows.numel())


PEERS = {"numpy": NumpyNetwork}
if torch is not None:
    PEERS["torch"] = TorchNetwork
