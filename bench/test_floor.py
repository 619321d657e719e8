"""The limit of fastnet's epoch: the same instructions with no weight row to fetch from L3.

At 784-1000-10 float64 each of two threads owns 3.1 MB of the first layer's weights, in
strips of 4 vectors of neurons (200 KB each: ``_sparse.strips``); its L2 holds 1 MB, so
every mini-batch brings the rows of its ~380 pixels from L3 and writes them back. Here
the same epoch (the same kernels, samples, grouping and multiply-adds) runs twice: on
the strips as trained, and with every block of a thread's neurons folded onto one strip
of its own (``folded_strips``), which stays in its L2. The difference is what fetching
rows from L3 costs; what remains is the instructions' own time, which ``bench.report``
sets against what ten times NumPy's speed needs. Blocks that share a strip overwrite
each other's weights, so both networks train with a learning rate too small to change a
weight (the work is the same at any rate).
"""
import random

import numpy as np

import fastnet.network as network
from bench.conftest import IMAGES, interleaved
from fastnet import _sparse
from fastnet.datasets import MNIST

HIDDEN = 1000
THREADS = 2
ROUNDS = 3
#: Small enough that no step changes a weight (weights of order 1, steps near 1e-30), and
#: large enough that no product of it is subnormal (which some CPUs handle slowly).
ETA = 1e-30


def folded_strips(n_in, vectors, group, threads, lanes):
    """``_sparse.strips``, but each thread's blocks all on one strip of its own."""
    stride = _sparse.BLOCK * lanes
    region = n_in * stride + 4096 // 8   # and a page apart: no line shared by two threads
    bases = np.empty(vectors, dtype=np.int64)
    for thread in range(threads):
        lo, hi = _sparse.band_of(vectors, group, threads, thread)[2:]
        bases[lo:hi] = thread * region + np.arange(hi - lo) % _sparse.BLOCK * lanes
    return stride, bases, threads * region


def folded(net, data, monkeypatch):
    """``net`` with its sparse scratch made (by training on ``data``) on folded strips."""
    with monkeypatch.context() as patch:
        patch.setattr(_sparse, "strips", folded_strips)
        list(net.train(data, 1, 10, ETA))
    return net


def test_folded_strips_are_a_layout_the_kernels_train_on(mnist, monkeypatch):
    """With one block a thread (784-64-10: 4 vectors each) nothing is shared, so training on
    folded strips must give the numbers of the strips as trained."""
    (X, y), _, _ = mnist
    data = (X[:300], np.eye(MNIST.classes)[y[:300]])
    np.random.seed(5)
    plain = network.Network([MNIST.inputs, 64, MNIST.classes], threads=THREADS)
    twin = network.Network.from_parameters(plain.sizes, plain.parameters.copy(), threads=THREADS)
    folded(twin, data, monkeypatch)
    list(plain.train(data, 1, 10, ETA))
    for net in (plain, twin):
        list(net.train(data, 2, 10, 3.0, rng=random.Random(1)))
    np.testing.assert_array_equal(twin.parameters, plain.parameters)


def test_epoch_limit(benchmark, workloads, smoke, monkeypatch):
    X, T = workloads["mnist"]
    n = 500 if smoke else IMAGES
    X, T = X[:n], T[:n]
    np.random.seed(HIDDEN)
    trained = network.Network([MNIST.inputs, HIDDEN, MNIST.classes], threads=THREADS)
    in_l2 = folded(network.Network.from_parameters(trained.sizes, trained.parameters.copy(),
                                                   threads=THREADS), (X, T), monkeypatch)
    list(trained.train((X, T), 1, 10, ETA))
    folded_weights = in_l2._workspace(("sparse", 10, THREADS), None).WT
    assert folded_weights.nbytes <= THREADS * 256 * 1024   # a 200 KB strip a thread

    def epoch(net):
        (result,) = net.train((X, T), 1, 10, ETA, rng=random.Random(0))
        return result.seconds

    runs = {"strips": lambda: epoch(trained), "in_l2": lambda: epoch(in_l2)}
    seconds = benchmark.pedantic(lambda: interleaved(runs, 1 if smoke else ROUNDS),
                                 rounds=1, iterations=1)
    benchmark.extra_info.update(
        kind="floor", hidden=HIDDEN, dtype="float64", images=n, threads=THREADS,
        seconds={name: s * IMAGES / n for name, s in seconds.items()})
