"""Start-up cost and float32 accuracy.

Warm start: in a fresh process whose kernels are already cached (``cache=True``), import
plus the first epoch should cost at most 1 s more than a steady-state epoch. The cold
start (empty cache: everything compiles) is reported beside it.
"""
import json
import os
import random
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np

import fastnet.network as network
from fastnet import mnist_loader

ROOT = Path(__file__).resolve().parent.parent

START = """
    import time
    started = time.perf_counter()
    import numpy as np
    import fastnet.network as network
    n = {n}
    rng = np.random.default_rng(0)
    X, y = rng.random((n, 784)), rng.integers(0, 10, n)
    imported = time.perf_counter()
    net = network.Network([784, 30, 10])
    first = [r.seconds for r in net.train((X, y), 1, 10, 3.0)][0]
    ready = time.perf_counter()
    steady = min(r.seconds for r in net.train((X, y), 2, 10, 3.0))
    print({{"import": imported - started, "first_epoch": first, "steady_epoch": steady,
           "start_overhead": ready - started - steady}})
"""


def start_up(cache_dir, n):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache_dir), PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(START.format(n=n))], env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1].replace("'", '"'))


def test_cold_and_warm_start(benchmark, smoke, tmp_path):
    n = 200 if smoke else 50_000

    def measure():
        return {"cold": start_up(tmp_path, n), "warm": start_up(tmp_path, n)}

    result = benchmark.pedantic(measure, rounds=1, iterations=1)
    benchmark.extra_info.update(kind="start", **result)
    assert result["warm"]["start_overhead"] < result["cold"]["start_overhead"]


def test_float32_accuracy_close_to_float64(benchmark, smoke, mnist_dir):
    """Mean test accuracy over seeds: one seed's float32 and float64 runs part ways after a
    few thousand steps, so a single pair measures seed noise as much as precision."""
    (X, y), _, (X_test, y_test) = mnist_loader.load_data(mnist_dir)
    n, epochs, seeds = (1000, 1, (0,)) if smoke else (50_000, 5, (0, 1, 2))

    def accuracy(dtype, seed):
        np.random.seed(seed)
        random.seed(seed)
        net = network.Network([784, 30, 10], dtype=dtype)
        *_, last = net.train((X[:n], y[:n]), epochs, 10, 3.0, test_data=(X_test, y_test))
        return 100.0 * last.correct / last.total

    result = benchmark.pedantic(
        lambda: {d: float(np.mean([accuracy(d, s) for s in seeds])) for d in ("float64", "float32")},
        rounds=1, iterations=1)
    benchmark.extra_info.update(kind="accuracy", epochs=epochs, images=n, seeds=len(seeds), **result)
    if not smoke:
        assert abs(result["float32"] - result["float64"]) <= 0.3
