"""Start-up and float32 accuracy.

Start-up: a fresh process imports fastnet, loads MNIST and trains a 784-30-10 epoch; its
time to the end of that first epoch, minus a steady epoch, is the start-up overhead.
Measured cold (an empty kernel cache: everything compiles, and says so on stderr) and
warm (the cache filled by the cold run), reported separately. The same for the command
a new user runs first, ``fastnet train`` (one epoch), from its start to its exit.
"""
import json
import os
import random
import statistics
import subprocess
import sys
import textwrap
import time

import numpy as np

import fastnet.network as network
from bench.conftest import ROOT
from fastnet._compiling import MESSAGE

START = """
    import time
    started = time.perf_counter()
    import fastnet.network as network
    from fastnet import mnist_loader
    imported = time.perf_counter()
    (X, y), _, test = mnist_loader.load_data({folder!r})
    loaded = time.perf_counter()
    net = network.Network([784, 30, 10])
    first = next(net.train((X[:{n}], y[:{n}]), 1, 10, 3.0, test_data=test)).seconds
    ready = time.perf_counter()
    steady = min(r.seconds for r in net.train((X[:{n}], y[:{n}]), 2, 10, 3.0, test_data=test))
    print({{"import": imported - started, "load": loaded - imported, "first_epoch": first,
           "to_first_epoch": ready - started, "steady_epoch": steady,
           "start_overhead": ready - started - steady}})
"""


def start_up(cache_dir, folder, n):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache_dir), PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(START.format(folder=str(folder), n=n))],
                          env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1].replace("'", '"'))
    return {**result, "announced": MESSAGE in done.stderr}


def test_cold_and_warm_start(benchmark, smoke, tmp_path, mnist_dir):
    n = 2_000 if smoke else 50_000

    def measure():
        return {"cold": start_up(tmp_path, mnist_dir, n), "warm": start_up(tmp_path, mnist_dir, n)}

    result = benchmark.pedantic(measure, rounds=1, iterations=1)
    benchmark.extra_info.update(kind="start", images=n, **result)
    assert result["cold"]["announced"] and not result["warm"]["announced"]
    assert result["warm"]["start_overhead"] < result["cold"]["start_overhead"]


def command_run(cache_dir, folder, n):
    """Wall seconds of ``fastnet train`` for one epoch of ``n`` images (tested on the test
    set), from its start to its exit, and whether it announced a compilation."""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache_dir), PYTHONPATH=str(ROOT))
    command = [sys.executable, "-m", "fastnet", "train", "--epochs", "1", "--limit", str(n),
               "--seed", "0", "--quiet", "--data", str(folder)]
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    seconds = time.perf_counter() - started
    assert done.returncode == 0, done.stderr
    return seconds, MESSAGE in done.stderr


def test_the_commands_first_and_cached_runs(benchmark, smoke, tmp_path, mnist_dir):
    n = 2_000 if smoke else 50_000

    def measure():
        cold, announced = command_run(tmp_path, mnist_dir, n)
        warm = [command_run(tmp_path, mnist_dir, n) for _ in range(1 if smoke else 5)]
        return {"cold": cold, "announced": announced,
                "warm": statistics.median(seconds for seconds, _ in warm),
                "warm_announced": any(said for _, said in warm), "warm_runs": len(warm)}

    result = benchmark.pedantic(measure, rounds=1, iterations=1)
    benchmark.extra_info.update(kind="command_start", images=n, **result)
    assert result["announced"] and not result["warm_announced"]
    assert result["warm"] < result["cold"]


def test_float32_accuracy_close_to_float64(benchmark, smoke, mnist):
    """Mean test accuracy over seeds: one seed's float32 and float64 runs part ways after a
    few thousand steps, so a single pair measures seed noise as much as precision."""
    (X, y), _, (X_test, y_test) = mnist
    n, epochs, seeds, bound = (10_000, 1, (0, 1), 1.0) if smoke else (50_000, 5, (0, 1, 2), 0.3)

    def accuracy(dtype, seed):
        np.random.seed(seed)
        random.seed(seed)
        net = network.Network([784, 30, 10], dtype=dtype)
        *_, last = net.train((X[:n], y[:n]), epochs, 10, 3.0, test_data=(X_test, y_test))
        return 100.0 * last.correct / last.total

    result = benchmark.pedantic(
        lambda: {d: float(np.mean([accuracy(d, s) for s in seeds])) for d in ("float64", "float32")},
        rounds=1, iterations=1)
    benchmark.extra_info.update(kind="accuracy", epochs=epochs, images=n, seeds=len(seeds),
                                bound=bound, **result)
    assert abs(result["float32"] - result["float64"]) <= bound
