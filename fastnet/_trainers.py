"""How one call of ``Network.train`` runs its epochs: on dense inputs, on sparse inputs, or
in NumPy for a network whose steps a reader replaced.

A trainer is made once per call, after the data is validated: it converts what it needs
once (the sparse inputs to CSR), then ``epoch()`` brackets each epoch and ``run(order,
eta)`` trains the samples ``order`` (the whole epoch, or a slice of it when progress is
shown). Which one: ``choose``.
"""
import contextlib

import numba
import numpy as np

from fastnet import _kernels, _overrides, _sparse
from fastnet._layout import Workspace

#: Inputs with at most this fraction of non-zero values train on the sparse path. The
#: sparse first layer costs about this much more per multiply-add than the dense one.
SPARSE_DENSITY = 0.5
#: First-layer multiply-adds per mini-batch (non-zero inputs x neurons) from which the
#: sparse path shares the work between threads by default.
SPARSE_PARALLEL_WORK = 1 << 17


def choose(net, X, T, batch, decay, replaced):
    """The trainer for ``net`` on inputs ``X`` (targets ``T``) in mini-batches of ``batch``."""
    if replaced:
        return NumpyTrainer(net, X, T, batch, decay, replaced)
    if net.sparse is False:
        return DenseTrainer(net, X, T, batch, decay)
    counts = np.empty(X.shape[0], dtype=np.int64)
    _sparse.count_nonzeros(X, counts)
    if net.sparse or counts.sum() <= SPARSE_DENSITY * X.size:
        return SparseTrainer(net, X, T, batch, decay, counts)
    return DenseTrainer(net, X, T, batch, decay)


def _threads(net, parallel):
    """The threads a kernel may use: ``net.threads`` if set, else all of Numba's where the
    work is ``parallel`` enough, else one; never more than this thread's Numba pool."""
    available = numba.get_num_threads()
    wanted = net.threads if net.threads is not None else (available if parallel else 1)
    return min(wanted, available)


class DenseTrainer:
    """The compiled kernels over dense input rows."""

    def __init__(self, net, X, T, batch, decay):
        self.net, self.X, self.T, self.batch = net, X, T, batch
        self.decay = net.dtype.type(decay)
        capacity = min(batch, X.shape[0])
        self.threads = net.threads if net.threads is not None else numba.get_num_threads()
        copies = _kernels.first_layer_threads(net.sizes, capacity, self.threads)
        self.workspace = net._workspace(("dense", capacity, copies),
                                        lambda: Workspace(net._layout, capacity, net.dtype, copies))

    @contextlib.contextmanager
    def epoch(self):
        yield

    def run(self, order, eta):
        net, workspace, layout = self.net, self.workspace, self.net._layout
        _kernels.train_epoch(net._params, layout.sizes, layout.weight_offsets, layout.bias_offsets,
                             self.X, self.T, order, self.batch, net.dtype.type(eta), self.decay,
                             net.cost.code, workspace.activations, workspace.spare,
                             workspace.deltas, workspace.unit_offsets, workspace.inputs,
                             self.threads)


class SparseTrainer:
    """The sparse first layer (``fastnet._sparse``): inputs as CSR, the first layer's
    weights mirrored for the length of each epoch."""

    def __init__(self, net, X, T, batch, decay, counts):
        self.net, self.batch = net, batch
        self.decay = net.dtype.type(decay)
        indptr, indices, values = _sparse.to_csr(X, counts)
        self.inputs = _sparse.Inputs(indptr, indices, values, T, np.empty(0, dtype=np.int64))
        capacity = min(batch, X.shape[0])
        work = capacity * counts.mean() * net.sizes[1]
        self.threads = _threads(net, work >= SPARSE_PARALLEL_WORK)
        layout = net._layout
        self.network = _sparse.Network(net._params, layout.sizes, layout.weight_offsets,
                                       layout.bias_offsets)
        self.scratch = net._workspace(
            ("sparse", capacity, self.threads),
            lambda: _sparse.scratch(layout, capacity, net.dtype, self.threads,
                                    Workspace(layout, capacity, net.dtype)))

    @contextlib.contextmanager
    def epoch(self):
        """Mirror the first layer's weights in, and always back out, also on an interrupt."""
        weights = self.net._weights[0]
        _sparse.mirror(weights, self.scratch.WT, self.scratch.Hp)
        self.scratch.scale[0] = 1
        try:
            yield
        finally:
            _sparse.unmirror(self.scratch.WT, self.scratch.Hp, self.scratch.scale[0], weights)

    def run(self, order, eta):
        self.scratch.state[:] = 0
        _sparse.train_epoch(self.network, self.inputs._replace(order=order), self.scratch,
                            self.batch, self.net.dtype.type(eta), self.decay, self.net.cost.code,
                            self.threads)


class NumpyTrainer:
    """The chapter's algorithm in NumPy, calling the steps a reader replaced."""

    def __init__(self, net, X, T, batch, decay, replaced):
        _overrides.warn_once(type(net), replaced)
        if "update_mini_batch" in replaced and decay != 1.0:
            raise ValueError(f"lmbda needs fastnet's update_mini_batch, but "
                             f"{type(net).__name__} replaces it; train with lmbda=0")
        self.net, self.X, self.T, self.batch, self.decay = net, X, T, batch, decay
        self.own_update = "update_mini_batch" in replaced

    @contextlib.contextmanager
    def epoch(self):
        yield

    def run(self, order, eta):
        _overrides.train_samples(self.net, self.X, self.T, order, self.batch, eta, self.decay,
                                 self.own_update)
