"""One epoch of mini-batch SGD: fastnet (1 and 2 threads) against its peers, interleaved.

Every configuration records in ``extra_info`` the median seconds per 50,000-image epoch
of each implementation (measured on a subsample and scaled), the FLOPs per sample and
the GEMM FLOP/s of the same run; ``python -m bench.report`` turns that into a table.
"""
import importlib.util
import random
from pathlib import Path

import numpy as np
import pytest

import fastnet.network as network
from fastnet.datasets import MNIST
from bench.conftest import IMAGES, flops_per_sample, interleaved
from bench.peers import PEERS

HIDDEN = [30, 100, 1000, 4096]
#: Images timed per configuration in a real run (fastnet and peers), and for the
#: per-sample reference (float64, mini-batch 10 only).
TIMED = {30: 50_000, 100: 20_000, 1000: 5_000, 4096: 1_500}
TIMED_REFERENCE = {30: 2_000, 100: 1_000, 1000: 200, 4096: 50}
ROUNDS = 3


def load_reference():
    path = Path(__file__).resolve().parent.parent / "tests" / "naive.py"
    spec = importlib.util.spec_from_file_location("naive", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fastnet_epoch(sizes, dtype, threads, X, T, batch):
    net = network.Network(sizes, dtype=dtype, threads=threads)
    T = T.astype(dtype)   # X stays float32, as the loader gives MNIST
    order = np.random.permutation(X.shape[0])
    net._train_samples(X, T, order[:batch], batch, 3.0, 1.0)   # compile outside the timing
    return lambda: net._train_samples(X, T, order, batch, 3.0, 1.0)


def peer_epoch(cls, sizes, dtype, X, T, batch):
    net = cls(sizes, dtype=dtype)
    T = T.astype(dtype)
    order = np.random.permutation(X.shape[0])
    return lambda: net.train_epoch(X, T, order, batch, 3.0)


def reference_epoch(sizes, X, T):
    net = load_reference().Network(sizes)
    data = [(x.reshape(-1, 1).astype(np.float64), t.reshape(-1, 1)) for x, t in zip(X, T)]
    return lambda: net.SGD(data, 1, 10, 3.0)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("batch", [10, 100])
@pytest.mark.parametrize("hidden", HIDDEN)
def test_epoch(benchmark, images, gemm_flops, smoke, hidden, batch, dtype):
    sizes = [MNIST.inputs, hidden, MNIST.classes]
    n = 2 * batch if smoke else TIMED[hidden]
    X, T = images[0][:n], images[1][:n]
    runs = {f"fastnet_{threads}t": fastnet_epoch(sizes, dtype, threads, X, T, batch)
            for threads in (1, 2)}
    runs.update({name: peer_epoch(cls, sizes, dtype, X, T, batch) for name, cls in PEERS.items()})
    scale = {name: IMAGES / n for name in runs}
    if dtype == "float64" and batch == 10:
        n_reference = 3 if smoke else TIMED_REFERENCE[hidden]
        runs["reference"] = reference_epoch(sizes, X[:n_reference], T[:n_reference])
        scale["reference"] = IMAGES / n_reference
    random.seed(0)

    def measure():
        seconds = interleaved(runs, 1 if smoke else ROUNDS)
        return {name: s * scale[name] for name, s in seconds.items()}

    epoch_seconds = benchmark.pedantic(measure, rounds=1, iterations=1)
    benchmark.extra_info.update(
        hidden=hidden, batch=batch, dtype=dtype, images=n, epoch_seconds=epoch_seconds,
        flops_per_sample=flops_per_sample(sizes), gemm_flops=gemm_flops[dtype])
    assert all(s > 0 for s in epoch_seconds.values())
