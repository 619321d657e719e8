"""Shared pieces of the benchmarks: MNIST and a dense twin of it, interleaved timing, the
FLOPs an epoch needs, the GEMM peak, which kernel OpenBLAS runs, and a speed probe around
every timed benchmark.

Peers get their best: OpenBLAS pinned to older kernels (``OPENBLAS_CORETYPE``,
``OPENBLAS_L2_SIZE``, as some machines set) is not the machine's best, so the root
conftest.py drops both before NumPy loads, and the suite records what OpenBLAS runs
(``threadpoolctl``) for the report. With ``--benchmark-disable`` (the CI smoke pass)
every benchmark runs its code paths on a handful of images and checks what can be
checked (the implementations agree); with ``--benchmark-enable`` it times.
"""
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import fastnet.network as network
from fastnet.datasets import MNIST

IMAGES = 50_000   # one epoch of the chapter's training set; times are scaled to it
ROOT = Path(__file__).resolve().parent.parent


def finish_times(commands):
    """Wall seconds from the start of ``commands`` (each the arguments of ``fastnet``, run
    from this checkout), all started together, to the end of each, awaited in turn; each
    must succeed."""
    started = time.perf_counter()
    processes = [subprocess.Popen([sys.executable, "-m", "fastnet", *command],
                                  env=dict(os.environ, PYTHONPATH=str(ROOT)),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                 for command in commands]
    seconds = []
    for process in processes:
        _, errors = process.communicate(timeout=900)
        assert process.returncode == 0, errors
        seconds.append(time.perf_counter() - started)
    return seconds


def flops_per_sample(sizes, inputs_used=None):
    """Training FLOPs of one sample: forward, weight gradients, hidden-layer deltas. With
    ``inputs_used`` (the sample's non-zero inputs), the first layer only needs those."""
    products = [a * b for a, b in zip(sizes[:-1], sizes[1:])]
    if inputs_used is not None:
        products[0] = inputs_used * sizes[1]
    return 2 * sum(products) * 2 + 2 * sum(products[1:])


def interleaved(runs, rounds):
    """Median seconds of each callable in ``runs`` (a dict), calling them in turn ``rounds``
    times. A callable may return the seconds it measured itself (else its wall time)."""
    times = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            started = time.perf_counter()
            own = run()
            times[name].append(own if own is not None else time.perf_counter() - started)
    return {name: statistics.median(seconds) for name, seconds in times.items()}


@pytest.fixture(scope="session")
def smoke(request):
    """True in the smoke pass (benchmarking disabled): tiny sizes, same code paths."""
    return request.config._benchmarksession.disabled


#: The speed probe's work: epochs of 784-30-10 float64 on two threads on this many images.
PROBE_IMAGES = 10_000
#: A benchmark may have run in a slow spell when the speed probe before or after it read
#: this many times its quickest of the run (on a quiet machine it varies by up to 12%).
SPELL = 1.25


@pytest.fixture(scope="session")
def speed_probe(mnist):
    """``probe()``: seconds of the median of five epochs of 784-30-10 float64 on two
    threads over 10,000 of MNIST's images (25 ms in all). A reading ``SPELL`` times the
    session's quickest or more is taken again a second later, and the lower kept: this
    VM's slow spells last minutes, and its hiccups (a reading twice the quickest between
    two steady benchmarks) milliseconds."""
    (X, y), _, _ = mnist
    X, T = X[:PROBE_IMAGES], np.eye(MNIST.classes)[y[:PROBE_IMAGES]]
    net = network.Network([MNIST.inputs, 30, MNIST.classes], threads=2)
    quickest = []

    def reading():
        return statistics.median(result.seconds for result in net.train((X, T), 5, 10, 3.0))

    def probe():
        seconds = reading()
        if quickest and seconds >= SPELL * quickest[0]:
            time.sleep(1)
            seconds = min(seconds, reading())
        quickest[:] = [min(quickest + [seconds])]
        return seconds

    probe()
    return probe


@pytest.fixture(autouse=True)
def machine_speed(request, smoke):
    """Each timed benchmark records the speed probe just before and just after it
    (``extra_info["probe"]``), for the report to mark what ran in a slow spell: this VM
    has spells of minutes in which fastnet's and JAX's epochs take 1.3-2 times as long and
    NumPy's small ones do not, which would skew the ratios."""
    if smoke or "benchmark" not in request.fixturenames:
        yield
        return
    probe, benchmark = request.getfixturevalue("speed_probe"), request.getfixturevalue("benchmark")
    before = probe()
    yield
    benchmark.extra_info["probe"] = [before, probe()]


@pytest.fixture(scope="session")
def workloads(mnist):
    """``{"mnist": (X, T), "dense": (X, T)}``: the chapter's 50,000 training images as the
    loader gives them (float32, 81% zeros) with one-hot targets, and the same images with
    every zero pixel raised to 1/255, so that none is zero (a dense workload, which must
    not be mistaken for sparse speed)."""
    (X, y), _, _ = mnist
    T = np.eye(MNIST.classes)[y]
    return {"mnist": (X, T), "dense": (np.where(X == 0, np.float32(1 / 255), X), T)}


@pytest.fixture(scope="session")
def gemm_flops(smoke):
    """FLOP/s numpy reaches on large square matrix products, per dtype, measured now."""
    n = 256 if smoke else 3072
    result = {}
    for dtype in ("float64", "float32"):
        a = np.random.default_rng(1).random((n, n)).astype(dtype)

        def product():
            np.matmul(a, a)

        product()
        result[dtype] = 2 * n**3 / interleaved({"gemm": product}, 5)["gemm"]
    return result


@pytest.fixture(scope="session")
def blas():
    """What NumPy's BLAS runs: ``[(library, kernel architecture, threads), ...]``."""
    from threadpoolctl import threadpool_info
    return [(info.get("internal_api"), info.get("architecture"), info.get("num_threads"))
            for info in threadpool_info() if info.get("user_api") == "blas"]
