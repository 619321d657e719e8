"""Other ways of doing the same job, for the benchmarks to compare fastnet with.

Each peer trains the chapter's network (sigmoid layers, quadratic cost, mini-batch SGD)
with the mini-batch held as a matrix, from initial parameters it is given.
``train_epoch(X, T, order, batch, eta)`` runs one epoch over the samples ``order`` of
inputs ``X`` ``(n, inputs)`` (float32 pixels, as the loader gives them; each mini-batch is
converted to the network's dtype as it is taken) and targets ``T`` ``(n, outputs)``;
``parameters()`` gives ``(weights, biases)`` as NumPy arrays, to check peers agree.

- ``NumpyNetwork``: one GEMM per layer and pass, NumPy's BLAS (OpenBLAS);
- ``TorchNetwork``: the same on PyTorch CPU tensors, when PyTorch is installed;
- ``JaxNetwork``: the whole epoch as one ``jax.jit``-compiled ``jax.lax.scan`` over the
  mini-batches (no Python per step), float64 through ``jax_enable_x64``, when JAX is
  installed. ``prepare`` compiles it for the data's shapes, outside any timing.

None is ever a dependency of fastnet. The per-sample reference is ``tests/naive.py``.
"""
import numpy as np

try:
    import torch
except ImportError:
    torch = None
try:
    import jax
    import jax.numpy as jnp
    jax.config.update("jax_enable_x64", True)
except ImportError:
    jax = None


def initial_parameters(sizes, dtype, seed):
    """``(weights, biases)`` drawn in the chapter's order from ``seed``; weights ``(y, x)``,
    biases ``(y,)``, in ``dtype``."""
    draw = np.random.RandomState(seed)
    biases = [draw.randn(y).astype(dtype) for y in sizes[1:]]
    weights = [draw.randn(y, x).astype(dtype) for x, y in zip(sizes[:-1], sizes[1:])]
    return weights, biases


class NumpyNetwork:
    """Mini-batch SGD with each mini-batch a matrix: one GEMM per layer and pass. The
    weights' gradients go into arrays made once, and the weights are stepped in place:
    a new gradient and a new ``step * gradient`` each step (6.3 MB each at 784-1000-10)
    made the epoch depend on how the allocator and the kernel served them: 784-1000-10
    float64 took 3.4-26 s from one process to the next (PyTorch 4.9-19 s), against a
    steady 2.9-3.2 s (PyTorch 3.3-3.4 s) in place; 784-100-10 5-7% less time."""

    #: ``matmul(a, b, out)``: the matrix product into ``out``.
    matmul = staticmethod(np.matmul)

    def __init__(self, weights, biases):
        self.weights = [w.copy() for w in weights]
        self.biases = [b.copy() for b in biases]
        self.gradients = [np.empty_like(w) for w in weights]
        self.dtype = weights[0].dtype

    def prepare(self, X, T, order, batch):
        """Nothing to compile."""

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
            W, A, grad_W = self.weights[l], activations[l], self.gradients[l]
            self.matmul(D.T, A, out=grad_W)
            grad_b = D.sum(0)
            if l > 0:
                D = (D @ W) * A * (1 - A)
            grad_W *= step
            W -= grad_W
            self.biases[l] -= step * grad_b

    def parameters(self):
        return [np.asarray(w) for w in self.weights], [np.asarray(b) for b in self.biases]


class TorchNetwork(NumpyNetwork):
    """The same on PyTorch CPU tensors (no autograd: the same explicit backprop)."""

    matmul = staticmethod(torch.matmul) if torch is not None else None

    def __init__(self, weights, biases):
        super().__init__(weights, biases)
        self.weights = [torch.from_numpy(w) for w in self.weights]
        self.biases = [torch.from_numpy(b) for b in self.biases]
        self.gradients = [torch.from_numpy(g) for g in self.gradients]

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

    def parameters(self):
        return [w.numpy() for w in self.weights], [b.numpy() for b in self.biases]


class JaxNetwork:
    """The epoch as one compiled ``lax.scan`` over mini-batches (``order`` in whole ones)."""

    def __init__(self, weights, biases):
        self.params = tuple(jnp.asarray(p) for pair in zip(weights, biases) for p in pair)
        self.dtype = weights[0].dtype
        self._epoch = jax.jit(self._scan)

    def _scan(self, params, X, T, batches, eta):
        dtype = self.dtype

        def step(params, rows):
            A0 = X[rows].astype(dtype)
            Tb = T[rows]
            activations, A = [A0], A0
            for l in range(0, len(params), 2):
                A = jax.nn.sigmoid(A @ params[l].T + params[l + 1])
                activations.append(A)
            D = (A - Tb) * A * (1 - A)
            new = list(params)
            scale = eta / rows.shape[0]
            for l in range(len(params) // 2 - 1, -1, -1):
                W, A = params[2 * l], activations[l]
                new[2 * l] = W - scale * (D.T @ A)
                new[2 * l + 1] = params[2 * l + 1] - scale * D.sum(0)
                if l > 0:
                    D = (D @ W) * A * (1 - A)
            return tuple(new), None

        params, _ = jax.lax.scan(step, params, batches)
        return params

    def prepare(self, X, T, order, batch):
        """Put the data on the device and compile the epoch for these shapes (untimed)."""
        self._X, self._T = jnp.asarray(X), jnp.asarray(T)
        batches = jnp.asarray(order.reshape(-1, batch))
        jax.block_until_ready(self._epoch(self.params, self._X, self._T, batches,
                                          jnp.asarray(3.0, self.dtype)))

    def train_epoch(self, X, T, order, batch, eta):
        batches = jnp.asarray(order.reshape(-1, batch))
        self.params = jax.block_until_ready(
            self._epoch(self.params, self._X, self._T, batches, jnp.asarray(eta, self.dtype)))

    def parameters(self):
        pairs = [np.asarray(p) for p in self.params]
        return pairs[0::2], pairs[1::2]


PEERS = {"numpy": NumpyNetwork}
if torch is not None:
    PEERS["torch"] = TorchNetwork
if jax is not None:
    PEERS["jax"] = JaxNetwork
