"""The chapter's ``network`` module: a sigmoid network trained by mini-batch SGD.

Same names, shapes, printed lines and random streams as the chapter's program; the
numerics run in the compiled kernels of ``fastnet._kernels`` over one flat parameter
buffer, of which ``weights[l]`` and ``biases[l]`` are views.

    >>> import fastnet.network as network
    >>> net = network.Network([784, 30, 10])
    >>> net.SGD(training_data, 30, 10, 3.0, test_data=test_data)   # doctest: +SKIP
    Epoch 0: 9129 / 10000
"""
import random
import time
from typing import NamedTuple

import numba
import numpy as np

from fastnet import _data, _kernels
from fastnet._layout import Layout, Workspace, aligned_zeros
from fastnet.errors import TrainingDivergedError

#: Samples per block when evaluating or feeding forward many inputs at once.
EVAL_BLOCK = 64
#: About how many times per epoch ``train`` reports progress, when asked to.
PROGRESS_STEPS = 100


def sigmoid(z):
    """The sigmoid function 1/(1+exp(-z)), elementwise, without overflow warnings."""
    with np.errstate(over="ignore", under="ignore"):
        return 1.0 / (1.0 + np.exp(-z))


def sigmoid_prime(z):
    """Derivative of the sigmoid function."""
    s = sigmoid(z)
    return s * (1 - s)


class EpochResult(NamedTuple):
    """What one epoch of training reports: ``correct`` is None without test data."""
    epoch: int
    correct: int | None
    total: int | None
    seconds: float

    def line(self):
        """The chapter's printed line for this epoch."""
        if self.correct is None:
            return f"Epoch {self.epoch} complete"
        return f"Epoch {self.epoch}: {self.correct} / {self.total}"


class _ParameterList(list):
    """The list ``Network.weights`` / ``biases`` returns: item assignment copies into the buffer."""

    def __init__(self, name, views):
        super().__init__(views)
        self._name = name

    def __setitem__(self, index, value):
        view = list.__getitem__(self, index)
        view[...] = _checked_shape(f"{self._name}[{index}]", view, value)


def _checked_shape(name, view, value):
    value = np.asarray(value)
    if value.shape != view.shape:
        raise ValueError(f"{name} must have shape {view.shape}, got {value.shape}")
    return value


class Network:
    """A fully connected sigmoid network with layer sizes ``sizes``.

    ``sizes[0]`` is the number of inputs, ``sizes[-1]`` the number of outputs. Biases
    and weights are drawn like the chapter's: ``np.random.randn(y, 1)`` for every layer's
    biases, then ``np.random.randn(y, x)`` for every layer's weights. ``dtype`` may be
    ``np.float32`` for speed (the draws are made in float64 and rounded). ``threads``
    caps the threads the kernels use (default: Numba's, ``numba.get_num_threads()``);
    results do not depend on it.
    """

    def __init__(self, sizes, dtype=np.float64, threads=None):
        self.sizes = _data.check_sizes(sizes)
        self.threads = None if threads is None else _data.check_positive_int("threads", threads)
        self.num_layers = len(self.sizes)
        self.dtype = _data.check_dtype(dtype)
        self._layout = Layout(self.sizes)
        self._params = aligned_zeros(self._layout.n_params, self.dtype)
        self._weights, self._biases = self._layout.views(self._params)
        for b in self._biases:
            b[...] = np.random.randn(*b.shape)
        for w in self._weights:
            w[...] = np.random.randn(*w.shape)
        self._workspaces = {}

    # -- parameters: views into one flat buffer --------------------------------------
    @property
    def weights(self):
        """Weight matrices ``(sizes[l+1], sizes[l])``, views into the parameter buffer."""
        return _ParameterList("weights", self._weights)

    @weights.setter
    def weights(self, new):
        self._assign("weights", self._weights, new)

    @property
    def biases(self):
        """Bias columns ``(sizes[l+1], 1)``, views into the parameter buffer."""
        return _ParameterList("biases", self._biases)

    @biases.setter
    def biases(self, new):
        self._assign("biases", self._biases, new)

    def _assign(self, name, views, new):
        new = list(new)
        if len(new) != len(views):
            raise ValueError(f"{name} must be a list of {len(views)} arrays, got {len(new)}")
        new = [_checked_shape(f"{name}[{i}]", view, value)
               for i, (view, value) in enumerate(zip(views, new))]
        for view, value in zip(views, new):
            view[...] = value

    # -- the chapter's methods ----------------------------------------------------------
    def feedforward(self, a):
        """The network's output for input ``a``: a column ``(inputs, 1)``, a vector
        ``(inputs,)``, or several columns ``(inputs, k)``; the output has the same form."""
        a = np.asarray(a)
        if a.ndim not in (1, 2) or a.shape[0] != self.sizes[0]:
            raise ValueError(f"a must have shape ({self.sizes[0]}, 1), ({self.sizes[0]},) or "
                             f"({self.sizes[0]}, k), got {a.shape}")
        X = a.reshape(self.sizes[0], -1).T
        _data.check_finite("a", X)
        out = self._predict(_data.inputs(X, self.dtype))
        return out.T.reshape((self.sizes[-1],) + a.shape[1:])

    def SGD(self, training_data, epochs, mini_batch_size, eta, test_data=None):
        """Train by mini-batch stochastic gradient descent, printing a line per epoch.

        ``training_data``: a list of ``(x, y)`` tuples (the chapter's), or arrays
        ``(X, y)`` with ``X`` ``(n, inputs)`` and ``y`` labels ``(n,)`` or targets
        ``(n, outputs)``. With ``test_data`` (same formats, integer labels) each epoch
        prints ``Epoch j: correct / total``, else ``Epoch j complete``. Like the chapter's,
        a list given as training data is left in its final shuffled order.
        """
        for result in self.train(training_data, epochs, mini_batch_size, eta, test_data):
            print(result.line())

    def train(self, training_data, epochs, mini_batch_size, eta, test_data=None, order=None,
              first_epoch=0, progress=None):
        """Train like ``SGD``, yielding an ``EpochResult`` after each epoch.

        ``order`` (a list of sample indices, shuffled in place every epoch) carries the
        chapter's cumulative shuffle across calls; by default it starts as ``range(n)``.
        Epochs are numbered from ``first_epoch``. ``progress``, if given, is called about
        ``PROGRESS_STEPS`` times per epoch with the number of samples trained so far in
        it; the epoch then runs in slices of whole mini-batches, with the same result.
        """
        epochs = _data.check_positive_int("epochs", epochs, minimum=0)
        batch = _data.check_positive_int("mini_batch_size", mini_batch_size)
        eta = _data.check_eta(eta)
        first_epoch = _data.check_positive_int("first_epoch", first_epoch, minimum=0)
        X, T = self._training_arrays("training_data", training_data)
        test = None if test_data is None else self._test_arrays("test_data", test_data)
        n = X.shape[0]
        order = list(range(n)) if order is None else _data.check_order(order, n)
        step = n if progress is None else batch * -(-n // (batch * PROGRESS_STEPS))
        for j in range(first_epoch, first_epoch + epochs):
            started = time.perf_counter()
            random.shuffle(order)
            indices = np.asarray(order)
            for start in range(0, n, step):
                self._train_samples(X, T, indices[start:start + step], batch, eta)
                if progress is not None:
                    progress(min(start + step, n))
            if not np.isfinite(self._params).all():
                raise TrainingDivergedError(
                    f"training diverged in epoch {j}: weights or biases became NaN or inf "
                    f"with eta={eta}; try a smaller eta")
            correct = None if test is None else self._count_correct(*test)
            total = None if test is None else test[0].shape[0]
            yield EpochResult(j, correct, total, time.perf_counter() - started)
        if isinstance(training_data, list):
            training_data[:] = [training_data[i] for i in order]

    def update_mini_batch(self, mini_batch, eta):
        """One gradient-descent step on the samples of ``mini_batch`` (a list of (x, y))."""
        eta = _data.check_eta(eta)
        X, T = self._training_arrays("mini_batch", mini_batch)
        self._train_samples(X, T, np.arange(X.shape[0]), X.shape[0], eta)

    def backprop(self, x, y):
        """``(nabla_b, nabla_w)``: the gradient of the quadratic cost for one sample,
        as lists shaped like ``biases`` and ``weights``."""
        X, T = self._training_arrays("(x, y)", [(x, y)])
        workspace = self._workspace(1)
        layout = self._layout
        order = np.zeros(1, dtype=np.int64)
        grad = np.zeros_like(self._params)
        _kernels.load_inputs(X, order, 0, 1, workspace.activations)
        _kernels.forward(self._params, layout.sizes, layout.weight_offsets, layout.bias_offsets,
                         workspace.activations, workspace.unit_offsets, 1, self._threads())
        _kernels.backward(self._params, grad, self.dtype.type(-1.0), layout.sizes,
                          layout.weight_offsets, layout.bias_offsets, workspace.activations,
                          workspace.deltas, workspace.unit_offsets, 1, T, order, 0, self._threads(), 0)
        nabla_w, nabla_b = layout.views(grad)
        return nabla_b, nabla_w

    def evaluate(self, test_data):
        """How many test inputs the network classifies right (largest output = label)."""
        return self._count_correct(*self._test_arrays("test_data", test_data))

    def cost(self, data):
        """The mean quadratic cost ``0.5 * |a - y|**2`` over ``data`` (training formats)."""
        X, T = self._training_arrays("data", data)
        return 0.5 * float(np.sum((self._predict(X) - T) ** 2)) / X.shape[0]

    def save(self, path):
        """Write the network to ``path`` (.npz) atomically; ``fastnet.load(path)`` reads it."""
        from fastnet import persist
        persist.save(self, path)

    def cost_derivative(self, output_activations, y):
        """Partial derivatives of the quadratic cost with respect to the output activations."""
        return output_activations - y

    # -- helpers: arrays in, kernels called -----------------------------------------------
    def _training_arrays(self, name, data):
        X, y = _data.as_arrays(name, data)
        _data.check_width(name, X, self.sizes[0])
        return _data.inputs(X, self.dtype), _data.targets(name, y, self.sizes[-1], self.dtype)

    def _test_arrays(self, name, data):
        X, y = _data.as_arrays(name, data)
        _data.check_width(name, X, self.sizes[0])
        return _data.inputs(X, self.dtype), _data.labels(name, y, self.sizes[-1])

    def _threads(self):
        return numba.get_num_threads() if self.threads is None else self.threads

    def _workspace(self, capacity, input_copies=0):
        key = (capacity, input_copies)
        if key not in self._workspaces:
            self._workspaces[key] = Workspace(self._layout, capacity, self.dtype, input_copies)
        return self._workspaces[key]

    def _train_samples(self, X, T, order, batch, eta):
        """Mini-batch SGD over the samples ``order`` of ``X`` (targets ``T``), in that order."""
        threads = self._threads()
        workspace = self._workspace(batch, _kernels.first_layer_threads(self.sizes, batch, threads))
        layout = self._layout
        _kernels.train_epoch(self._params, layout.sizes, layout.weight_offsets,
                             layout.bias_offsets, X, T, order, batch, self.dtype.type(eta),
                             workspace.activations, workspace.spare, workspace.deltas,
                             workspace.unit_offsets, workspace.inputs, threads)

    def _predict(self, X):
        out = np.empty((X.shape[0], self.sizes[-1]), dtype=self.dtype)
        workspace = self._workspace(EVAL_BLOCK)
        layout = self._layout
        _kernels.predict(self._params, layout.sizes, layout.weight_offsets, layout.bias_offsets,
                         X, workspace.activations, workspace.unit_offsets, EVAL_BLOCK, out,
                         self._threads())
        return out

    def _count_correct(self, X, labels):
        return int(np.count_nonzero(np.argmax(self._predict(X), axis=1) == labels))
