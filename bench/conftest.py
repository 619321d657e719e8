"""Shared pieces of the benchmarks: data, interleaved timing, the GEMM roofline.

With ``--benchmark-disable`` (the CI smoke pass) every benchmark runs each code path on
a handful of images; with ``--benchmark-enable`` on enough images to time an epoch.
"""
import statistics
import time

import numpy as np
import pytest

from fastnet.datasets import MNIST

IMAGES = 50_000   # one epoch of the chapter's training set; times are scaled to it


def flops_per_sample(sizes):
    """Training FLOPs of one sample: forward, weight gradients, hidden-layer deltas."""
    products = [a * b for a, b in zip(sizes[:-1], sizes[1:])]
    return 2 * sum(products) * 2 + 2 * sum(products[1:])


def interleaved(runs, rounds):
    """Median seconds of each callable in ``runs`` (a dict), calling them in turn ``rounds`` times."""
    times = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            started = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - started)
    return {name: statistics.median(seconds) for name, seconds in times.items()}


@pytest.fixture(scope="session")
def smoke(request):
    """True in the smoke pass (benchmarking disabled): tiny sizes, same code paths."""
    return request.config._benchmarksession.disabled


@pytest.fixture(scope="session")
def images():
    """MNIST-shaped float32 inputs in [0, 1] (the loader's dtype) and one-hot targets;
    timings do not depend on the digits."""
    rng = np.random.default_rng(0)
    X = rng.random((IMAGES, MNIST.inputs), dtype=np.float32)
    T = np.eye(MNIST.classes)[rng.integers(0, MNIST.classes, IMAGES)]
    return X, T


@pytest.fixture(scope="session")
def gemm_flops(smoke):
    """FLOP/s numpy reaches on large square matrix products, per dtype, measured now."""
    n = 256 if smoke else 3072
    result = {}
    for dtype in ("float64", "float32"):
        a = np.random.default_rng(1).random((n, n)).astype(dtype)
        a @ a
        result[dtype] = 2 * n**3 / interleaved({"gemm": lambda: a @ a}, 5)["gemm"]
    return result
