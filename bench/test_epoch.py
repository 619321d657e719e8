"""One epoch of mini-batch SGD: fastnet against its peers, interleaved, on MNIST and on a
dense twin of it.

Every implementation starts from the same parameters and trains the same samples in the
same order; before any timing they train a few hundred samples and must agree (the check
this suite makes in CI's smoke pass). Each configuration records in ``extra_info`` the
median seconds of every implementation's epoch of the 50,000 images (whole epochs: a
fraction of one, scaled, would count each call's fixed costs many times over; only the
per-sample reference is timed on a subsample and scaled), the FLOPs per sample the dense network does and those the data needs (the
first layer's non-zero inputs only), the GEMM FLOP/s of the same run and what BLAS ran;
``python -m bench.report`` turns that into tables.
"""
import importlib.util
import random
from pathlib import Path

import numpy as np
import pytest

import fastnet.network as network
from bench.conftest import IMAGES, flops_per_sample, interleaved
from bench.peers import PEERS, initial_parameters
from fastnet.datasets import MNIST

HIDDEN = [30, 100, 1000]
#: Images the per-sample reference is timed on (everything else trains whole epochs).
TIMED_REFERENCE = {30: 2_000, 100: 1_000, 1000: 200}
ROUNDS = 3
#: Samples every implementation trains before timing, and how close they must end up
#: (float32 sums of 784 terms round at 1e-5 of their size, and training amplifies it; a
#: wrong implementation is off by whole units).
CHECKED = 200
AGREE = {"float64": 1e-9, "float32": 1e-2}


class InOrder(random.Random):
    """A generator whose shuffle leaves the order alone: ``Network.train`` then trains the
    samples in exactly the order the peers use."""

    def shuffle(self, x):
        pass


def load_reference():
    path = Path(__file__).resolve().parent.parent / "tests" / "naive.py"
    spec = importlib.util.spec_from_file_location("naive", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Fastnet:
    """fastnet as a peer: ``Network.train`` on arrays; an epoch's seconds are those it
    reports (the one-off conversion of the inputs before its first epoch is not an epoch)."""

    def __init__(self, weights, biases, threads=None):
        flat = np.concatenate([p.ravel() for pair in zip(weights, biases) for p in pair])
        sizes = [weights[0].shape[1]] + [w.shape[0] for w in weights]
        self.net = network.Network.from_parameters(sizes, flat, threads=threads)

    def prepare(self, X, T, order, batch):
        """Nothing to do: the kernels are compiled by the agreement check."""

    def train_epoch(self, X, T, order, batch, eta):
        """An epoch over ``X`` in its own order (``order`` is ``range(n)`` here)."""
        (result,) = self.net.train((X, T), 1, batch, eta, rng=InOrder())
        return result.seconds

    def parameters(self):
        return list(self.net.weights), [b.ravel() for b in self.net.biases]


class Reference:
    """The chapter's per-sample algorithm (``tests/naive.py``)."""

    def __init__(self, weights, biases):
        self.net = load_reference().Network([weights[0].shape[1]] + [w.shape[0] for w in weights])
        self.net.weights = [w.astype(np.float64) for w in weights]
        self.net.biases = [b.astype(np.float64).reshape(-1, 1) for b in biases]

    def prepare(self, X, T, order, batch):
        pass

    def train_epoch(self, X, T, order, batch, eta):
        data = [(X[i].reshape(-1, 1).astype(np.float64), T[i].reshape(-1, 1)) for i in order]
        for start in range(0, len(data), batch):
            self.net.update_mini_batch(data[start:start + batch], eta)

    def parameters(self):
        return self.net.weights, [b.ravel() for b in self.net.biases]


def implementations(sizes, dtype, with_reference):
    """``{name: make(weights, biases)}``: fastnet (its own choice of threads, and 2 threads),
    every installed peer, and the reference (float64 only)."""
    made = {"fastnet": Fastnet, "fastnet_2t": lambda w, b: Fastnet(w, b, threads=2), **PEERS}
    if with_reference and dtype == "float64":
        made["reference"] = Reference
    return made


@pytest.mark.parametrize("workload", ["mnist", "dense"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("hidden", HIDDEN)
def test_epoch(benchmark, workloads, gemm_flops, blas, smoke, hidden, dtype, workload):
    sizes = [MNIST.inputs, hidden, MNIST.classes]
    X, T = workloads[workload]
    n = 200 if smoke else IMAGES
    chosen = np.random.default_rng(hidden).permutation(X.shape[0])[:n]
    X, T = X[chosen], T[chosen].astype(dtype)       # the epoch's samples, in their order
    order = np.arange(n)
    weights, biases = initial_parameters(sizes, dtype, seed=hidden)
    made = implementations(sizes, dtype, with_reference=workload == "mnist" and hidden <= 100)
    nets = {name: make(weights, biases) for name, make in made.items()}

    checked = min(CHECKED, n)                       # every implementation, the same samples
    for net in nets.values():
        net.prepare(X[:checked], T[:checked], order[:checked], 10)
        net.train_epoch(X[:checked], T[:checked], order[:checked], 10, 3.0)
    expected = nets["fastnet"].parameters()
    for name, net in nets.items():
        for got, want in zip(sum(net.parameters(), []), sum(expected, [])):
            np.testing.assert_allclose(got, want, rtol=0, atol=AGREE[dtype],
                                       err_msg=f"{name} does not train what fastnet trains")

    timed = {name: net for name, net in nets.items() if name != "reference"}
    for net in timed.values():
        net.prepare(X, T, order, 10)
    runs = {name: (lambda net=net: net.train_epoch(X, T, order, 10, 3.0)) for name, net in timed.items()}
    scale = {name: IMAGES / n for name in runs}
    if "reference" in nets:
        n_reference = 20 if smoke else TIMED_REFERENCE[hidden]
        runs["reference"] = lambda: nets["reference"].train_epoch(X, T, order[:n_reference], 10, 3.0)
        scale["reference"] = IMAGES / n_reference

    def measure():
        seconds = interleaved(runs, 1 if smoke else ROUNDS)
        return {name: s * scale[name] for name, s in seconds.items()}

    epoch_seconds = benchmark.pedantic(measure, rounds=1, iterations=1)
    nonzeros = float(np.count_nonzero(X) / n)
    benchmark.extra_info.update(
        kind="epoch", hidden=hidden, batch=10, dtype=dtype, workload=workload, images=n,
        epoch_seconds=epoch_seconds, dense_flops_per_sample=flops_per_sample(sizes),
        needed_flops_per_sample=flops_per_sample(sizes, nonzeros), nonzeros_per_sample=nonzeros,
        gemm_flops=gemm_flops[dtype], blas=blas)
