"""A sweep on Dask against the same runs one after another, and against the most that two
processes gain on this machine at all.

Three whole ``fastnet sweep`` commands, timed in turn each round (median of rounds):

- ``cluster``: the sweep on its default local cluster (one worker process per core);
- ``serial``: the same runs with ``--workers 0``, one after another in one process;
- ``halves``: the runs split in two ``--workers 0`` sweeps started together, no Dask at
  all: what two processes gain here at best (the cores' shared caches and memory, the
  VM's scheduling), the ceiling for any engine of worker processes.

Issue 10's target: the cluster at least 1.7 times as fast as serial. Every run's record
on the cluster must equal its serial twin's (test counts and final parameters); the
target is reported by ``bench.report``, not asserted.
"""
import json
import statistics
from pathlib import Path

import pytest

from bench.conftest import finish_times


def sweep_command(folder, out, seeds, epochs, limit, *options):
    return ["sweep", "--data", str(folder), "--sizes", "784,30,10", "--eta", "3", "--epochs",
            str(epochs), "--seeds", seeds, "--limit", str(limit), "--quiet", "--out", str(out),
            *options]


def timed(commands):
    """Wall seconds until every command, all started together, has ended."""
    return max(finish_times(commands))


def outcomes(*paths):
    runs = [json.loads(line) for path in paths for line in Path(path).read_text().splitlines()]
    return sorted((r["seed"], r["correct"], r["parameters_sha256"]) for r in runs)


def test_sweep_on_a_local_cluster(benchmark, smoke, mnist_dir, tmp_path):
    pytest.importorskip("distributed")
    runs, epochs, limit = (4, 1, 1_000) if smoke else (12, 10, 50_000)
    seeds, half = f"0-{runs - 1}", runs // 2
    files = {"cluster": [tmp_path / "cluster.jsonl"], "serial": [tmp_path / "serial.jsonl"],
             "halves": [tmp_path / "first.jsonl", tmp_path / "second.jsonl"]}
    commands = {
        "cluster": [sweep_command(mnist_dir, files["cluster"][0], seeds, epochs, limit)],
        "serial": [sweep_command(mnist_dir, files["serial"][0], seeds, epochs, limit, "--workers", "0")],
        "halves": [sweep_command(mnist_dir, files["halves"][0], f"0-{half - 1}", epochs, limit,
                                 "--workers", "0"),
                   sweep_command(mnist_dir, files["halves"][1], f"{half}-{runs - 1}", epochs, limit,
                                 "--workers", "0")]}
    timed(commands["serial"])   # kernels in the cache: compilation is not timed

    def measure():
        seconds = {name: [] for name in commands}
        for _ in range(1 if smoke else 3):
            for name, group in commands.items():
                for path in files[name]:
                    path.unlink(missing_ok=True)   # a sweep skips the runs its file holds
                seconds[name].append(timed(group))
        return {name: statistics.median(values) for name, values in seconds.items()}

    result = benchmark.pedantic(measure, rounds=1, iterations=1)
    assert outcomes(*files["cluster"]) == outcomes(*files["serial"]) == outcomes(*files["halves"])
    assert len(outcomes(*files["cluster"])) == runs
    benchmark.extra_info.update(kind="sweep", runs=runs, epochs=epochs, images=limit,
                                speedup=result["serial"] / result["cluster"],
                                ceiling=result["serial"] / result["halves"], **result)
