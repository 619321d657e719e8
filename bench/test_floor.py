"""The first layer's limit: fastnet's sparse sums with every weight row in L1, against the
same sums from the strips as trained.

The first layer's forward sums (``_sparse._forward_block``) load a vector of a weight row
for each multiply-add: the row of a sample's non-zero pixel. They are timed here over an
epoch of MNIST at 784-1000-10 float64 on two threads, each thread its band of neurons
block by block as training visits them, twice: on the strips as trained (rows come from
L2 and L3), and with every pixel's offset folded onto the rows of ``FOLD`` pixels, which
stay in L1 (the same loop, the same count of multiply-adds and loads). The update does as
many multiply-adds as the sums, each with a load of a delta, so at the L1 rate the first
layer alone needs twice the L1 time; ``bench.report`` sets that against fastnet's whole
epoch and against what ten times NumPy's speed needs.
"""
import numpy as np
from numba import njit, prange

from bench.conftest import IMAGES, interleaved
from fastnet._layout import ALIGNMENT, aligned_zeros
from fastnet._sparse import (BLOCK, GROUPS, STRICT, _forward_block, band_of, count_nonzeros,
                             strips, to_csr)
from fastnet.datasets import MNIST

HIDDEN = 1000
#: Pixels whose rows the folded sums read: a block's 24 rows (6 KiB) stay in L1.
FOLD = 24
THREADS = 2
BATCH = 10
ROUNDS = 3


@njit(parallel=True, fastmath=STRICT)
def _sums(WT, bases, vectors, group, offsets, values, indptr, order, A, Hp):
    """The first layer's sums of the samples ``order`` (mini-batches of ``BATCH``) into
    ``A[me, i * Hp:...]`` (sample ``i`` of its mini-batch), each of ``THREADS`` threads
    ``me`` its band of the ``vectors`` vectors, block by block, as an epoch visits them."""
    for me in prange(THREADS):
        v_lo, v_hi = band_of(vectors, group, THREADS, me)[2:]
        out = A[me]
        for start in range(0, order.size, BATCH):
            for v in range(v_lo, v_hi, BLOCK):
                width = min(BLOCK, v_hi - v)
                for i in range(min(BATCH, order.size - start)):
                    r = order[start + i]
                    _forward_block(WT, bases, v, width, offsets, values, indptr[r],
                                   indptr[r + 1], out, i * Hp)


class FirstLayer:
    """784-``HIDDEN`` float64 weights in ``strips`` for ``THREADS`` threads, and the CSR of
    the images ``X`` with their pixels' offsets in them."""

    def __init__(self, X):
        lanes = ALIGNMENT // 8
        self.Hp = HIDDEN
        self.vectors = self.Hp // lanes
        self.group = -(-self.vectors // GROUPS)
        self.stride, self.bases, size = strips(MNIST.inputs, self.vectors, self.group,
                                               THREADS, lanes)
        self.WT = aligned_zeros(size, np.float64)
        self.WT[:] = np.random.default_rng(0).standard_normal(size)
        counts = np.zeros(X.shape[0], dtype=np.int64)
        count_nonzeros(X, counts)
        self.indptr, self.offsets, self.values = to_csr(X, counts, self.stride)
        pixels = self.offsets // self.stride
        self.folded = (pixels % FOLD * self.stride).astype(self.offsets.dtype)
        self.A = aligned_zeros(THREADS * BATCH * self.Hp, np.float64).reshape(THREADS, -1)

    def sums(self, offsets, order):
        _sums(self.WT, self.bases, self.vectors, self.group, offsets, self.values,
              self.indptr, order, self.A, self.Hp)

    def weights(self):
        """The (``Hp``, 784) weights the strips hold."""
        lanes = ALIGNMENT // 8
        neuron = np.arange(self.Hp)
        columns = self.bases[neuron // lanes] + neuron % lanes
        rows = np.arange(MNIST.inputs) * self.stride
        return self.WT[rows[None, :] + columns[:, None]]

    def last_batch(self, count):
        """The sums ``_sums`` left for the last ``count`` samples, (count, Hp): each
        thread's band from its own rows."""
        result = np.empty((count, self.Hp))
        for me in range(THREADS):
            v_lo, v_hi = band_of(self.vectors, self.group, THREADS, me)[2:]
            lo, hi = v_lo * ALIGNMENT // 8, v_hi * ALIGNMENT // 8
            result[:, lo:hi] = self.A[me].reshape(BATCH, self.Hp)[:count, lo:hi]
        return result


def test_first_layer_limit(benchmark, workloads, smoke):
    X, _ = workloads["mnist"]
    n = 2 * BATCH if smoke else IMAGES
    X = X[np.random.default_rng(HIDDEN).permutation(X.shape[0])[:n]]
    layer = FirstLayer(X)
    order = np.arange(n)
    # the suite times what it means to: the strips' sums are the network's, the folded
    # ones those of the folded pixels
    W = layer.weights()
    folded = np.zeros((BATCH, FOLD))
    for k in range(FOLD):
        folded[:, k] = X[-BATCH:, k::FOLD].sum(axis=1, dtype=np.float64)
    for offsets, expected in ((layer.offsets, X[-BATCH:] @ W.T),
                              (layer.folded, folded @ W[:, :FOLD].T)):
        layer.sums(offsets, order)
        np.testing.assert_allclose(layer.last_batch(BATCH), expected, rtol=1e-12, atol=1e-12)

    runs = {"in_l1": lambda: layer.sums(layer.folded, order),
            "strips": lambda: layer.sums(layer.offsets, order)}
    seconds = benchmark.pedantic(lambda: interleaved(runs, 1 if smoke else ROUNDS),
                                 rounds=1, iterations=1)
    benchmark.extra_info.update(
        kind="floor", hidden=HIDDEN, dtype="float64", images=n, threads=THREADS,
        fold=FOLD, multiply_adds=int(np.count_nonzero(X)) * HIDDEN,
        seconds={name: s * IMAGES / n for name, s in seconds.items()})
