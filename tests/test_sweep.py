"""Sweeps (fastnet.sweep, `fastnet sweep`): the grid, runs identical to `fastnet train`, real
Dask clusters (a LocalCluster, a scheduler and workers as separate processes), a worker
killed mid-sweep, Ctrl-C and resuming, the serial fallback, the table and the plot."""
import argparse
import json
import os
import random
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import fastnet
from fastnet import arguments, cli, network, sweep, sweep_report
from fastnet.errors import FastnetFileError
from needs import needed

LIMIT = 600
SMALL = dict(epochs=[2], seeds=[0, 1, 2])


def identical(records, others):
    """The same runs (settings), each once, with the same test counts and bit-identical
    final networks, in any order."""
    def outcomes(records):
        return sorted((sweep.record_key(r), r["correct"], r["parameters_sha256"]) for r in records)
    return outcomes(records) == outcomes(others) and len(records) > 0


def group_ends(group, within):
    """Whether every process of a process group has ended, waiting up to ``within`` s."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def lines_of(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def sweep_data(mnist):
    (X, y), _, test = mnist
    return (X[:LIMIT], y[:LIMIT]), test


@pytest.fixture(scope="module")
def distributed():
    """dask.distributed; its tests fail under CI (which installs the extra), else skip."""
    try:
        import distributed
    except ImportError:
        needed("dask[distributed] is not installed: pip install -e '.[distributed]'")
    return distributed


@pytest.fixture(scope="module")
def client(distributed):
    """A client of a real LocalCluster of 2 worker processes, as sweeps start it."""
    with sweep.local_cluster(workers=2) as cluster, distributed.Client(cluster) as client:
        yield client


@pytest.fixture(scope="module")
def serial(sweep_data):
    """``runs`` -> their records, trained one after another in this process."""
    cache = {}

    def serial(runs):
        missing = [run for run in runs if run not in cache]
        if missing:
            cache.update(zip(missing, sweep.run(missing, *sweep_data, workers=0, log=print)))
        return [cache[run] for run in runs]
    return serial


# -- the grid ---------------------------------------------------------------------------
def test_grid_is_every_combination_seeds_fastest_each_once():
    runs = sweep.grid([[784, 10, 10], (784, 20, 10)], [3, 0.5], epochs=[2], seeds=[0, 1, 0])
    assert [(r.sizes, r.eta, r.seed) for r in runs] == [
        ((784, 10, 10), 3.0, 0), ((784, 10, 10), 3.0, 1), ((784, 10, 10), 0.5, 0),
        ((784, 10, 10), 0.5, 1), ((784, 20, 10), 3.0, 0), ((784, 20, 10), 3.0, 1),
        ((784, 20, 10), 0.5, 0), ((784, 20, 10), 0.5, 1)]
    assert {(r.mini_batch_size, r.epochs, r.dtype, r.cost, r.init, r.lmbda) for r in runs} == {
        (10, 2, "float64", "quadratic", "chapter", 0.0)}


@pytest.mark.parametrize("text, seeds", [("0-4", [0, 1, 2, 3, 4]), ("7", [7]), ("0,2,5", [0, 2, 5]),
                                         ("0-2,10", [0, 1, 2, 10])])
def test_seeds_are_read_as_lists_and_ranges(text, seeds):
    assert arguments.seeds(text) == seeds


@pytest.mark.parametrize("text", ["5-2", "a", "1-", "-3", "0,,1"])
def test_bad_seeds_are_named(text):
    with pytest.raises(argparse.ArgumentTypeError, match=f"seeds must be integers or ranges .*; got '{text}'"):
        arguments.seeds(text)


@pytest.mark.parametrize("arguments, error, message", [
    (dict(eta=[0.0]), ValueError, "eta must be finite and > 0, got 0.0"),
    (dict(seeds=[2**32]), ValueError, "seed must be an integer from 0 to 2**32 - 1, got 4294967296"),
    (dict(seeds=[-1]), ValueError, "seed must be an integer from 0 to 2**32 - 1, got -1"),
    (dict(dtype=["float16"]), ValueError, "dtype must be np.float32 or np.float64"),
    (dict(cost=["hinge"]), ValueError, "cost must be one of 'quadratic', 'cross-entropy', got 'hinge'"),
    (dict(init=["zeros"]), ValueError, "init must be one of 'chapter', 'scaled', got 'zeros'"),
    (dict(lmbda=[-0.1]), ValueError, "lmbda must be finite and >= 0, got -0.1"),
    (dict(epochs=[]), ValueError, "epochs must hold at least one value"),
    (dict(eta=3.0), TypeError, "eta must be a list of values, got 3.0"),
])
def test_bad_settings_are_named(arguments, error, message):
    with pytest.raises(error, match=re.escape(message)):
        sweep.grid(**{"sizes": [(784, 10, 10)], "eta": [3.0], **arguments})


# -- one run: exactly `fastnet train --seed` ---------------------------------------------
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_a_run_is_fastnet_train_bit_for_bit(sweep_data, mnist_dir, tmp_path, capsys, dtype):
    code = cli.main(["train", "--sizes", "784,20,10", "--epochs", "2", "--eta", "3.0", "--seed", "4",
                     "--dtype", dtype, "--limit", str(LIMIT), "--data", str(mnist_dir),
                     "--checkpoint", str(tmp_path / "alone.npz")])
    assert code == 0
    printed = [int(c) for c in re.findall(r"^Epoch \d+: (\d+) / 10000", capsys.readouterr().out, re.M)]
    record = sweep.train_run(sweep.Run((784, 20, 10), 3.0, 10, 2, dtype, seed=4), *sweep_data)
    assert record["correct"] == printed and len(printed) == 2
    assert record["parameters_sha256"] == sweep.parameters_sha256(fastnet.load(tmp_path / "alone.npz"))
    assert (record["training_images"], record["total"]) == (LIMIT, 10_000)
    assert list(record) == list(sweep.RECORD_FIELDS)


def test_the_next_chapters_settings_reach_the_engine(sweep_data):
    settings = dict(cost="cross-entropy", init="scaled")
    random.seed(2)
    np.random.seed(2)
    net = network.Network([784, 20, 10], **settings)
    alone = [result.correct for result in net.train(*sweep_data[:1], 2, 10, 0.5, sweep_data[1], lmbda=5.0)]
    record = sweep.train_run(sweep.Run((784, 20, 10), 0.5, 10, 2, seed=2, lmbda=5.0, **settings),
                             *sweep_data)
    assert record["correct"] == alone
    assert record["parameters_sha256"] == sweep.parameters_sha256(net)
    chapters = sweep.train_run(sweep.Run((784, 20, 10), 0.5, 10, 2, seed=2), *sweep_data)
    assert chapters["parameters_sha256"] != record["parameters_sha256"]


# -- on Dask ----------------------------------------------------------------------------
def test_local_cluster_workers_run_one_kernel_thread_each(client):
    import numba
    threads = client.run(lambda: (numba.config.NUMBA_NUM_THREADS, numba.get_num_threads()))
    assert len(threads) == 2 and set(threads.values()) == {(1, 1)}
    assert set(client.nthreads().values()) == {1}


def test_a_sweep_on_a_local_cluster_equals_the_serial_runs(client, sweep_data, serial, tmp_path):
    runs = sweep.grid([(784, 10, 10), (784, 20, 10)], [3.0], dtype=["float64", "float32"], **SMALL)
    runs += sweep.grid([(784, 10, 10)], [0.5], cost=["cross-entropy"], init=["scaled"],
                       lmbda=[5.0], **SMALL)
    notes = []
    records = sweep.run(runs, *sweep_data, client=client, out=tmp_path / "runs.jsonl", log=notes.append)
    assert identical(records, serial(runs))
    assert [(r.sizes, r.dtype, r.cost, r.seed) for r in runs] == [   # returned in the grid's order
        (tuple(r["sizes"]), r["dtype"], r["cost"], r["seed"]) for r in records]
    assert notes == [f"sweep: training 15 runs on the Dask cluster of {client.scheduler.address}"]
    in_file = lines_of(tmp_path / "runs.jsonl")
    assert sorted(map(sweep.record_key, in_file)) == sorted(map(sweep.record_key, records))


def test_a_worker_killed_mid_sweep_has_its_run_retried(client, sweep_data, serial, tmp_path):
    runs = sweep.grid([(784, 30, 10)], [3.0], epochs=[3], seeds=range(8))
    pids = client.run(os.getpid)
    killed = []

    def kill_a_busy_worker(record):
        if not killed:
            busy = next(address for address, keys in client.processing().items() if keys)
            os.kill(pids[busy], signal.SIGKILL)
            killed.append(pids[busy])

    records = sweep.run(runs, *sweep_data, client=client, out=tmp_path / "runs.jsonl",
                        on_result=kill_a_busy_worker)
    with pytest.raises(ProcessLookupError):
        os.kill(killed[0], 0)
    assert identical(records, serial(runs))
    keys = [sweep.record_key(record) for record in lines_of(tmp_path / "runs.jsonl")]
    assert sorted(keys) == sorted(sweep.record_key(record) for record in records)   # each once
    client.wait_for_workers(2, timeout=60)       # the nanny restarts it for the next test


@pytest.fixture
def scheduler_address(distributed, tmp_path):
    """A real `dask scheduler` and two `dask worker`s, separate processes on 127.0.0.1,
    stopped (with their process groups) when the test ends."""
    processes = []

    def start(*command):
        processes.append(subprocess.Popen([sys.executable, "-m", *command], start_new_session=True,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    scheduler_file = tmp_path / "scheduler.json"
    try:
        start("distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0",
              "--no-dashboard", "--scheduler-file", str(scheduler_file))
        for _ in range(2):
            start("distributed.cli.dask_worker", "--scheduler-file", str(scheduler_file),
                  "--host", "127.0.0.1", "--nthreads", "1", "--no-dashboard")
        with distributed.Client(scheduler_file=str(scheduler_file), timeout=60) as watcher:
            watcher.wait_for_workers(2, timeout=60)
            address = watcher.scheduler.address
        yield address
    finally:
        for process in reversed(processes):
            os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def test_fastnet_sweep_on_a_scheduler_and_workers_started_apart(
        scheduler_address, sweep_data, mnist_dir, serial, tmp_path, capsys):
    out = tmp_path / "runs.jsonl"
    code = cli.main(["sweep", "--scheduler", scheduler_address, "--sizes", "784,10,10", "784,20,10",
                     "--eta", "3", "--epochs", "2", "--seeds", "0-2", "--limit", str(LIMIT),
                     "--data", str(mnist_dir), "--out", str(out)])
    assert code == 0
    assert capsys.readouterr().err.splitlines()[0] == (
        f"sweep: training 6 runs on the Dask cluster at {scheduler_address}")
    assert identical(lines_of(out), serial(sweep.grid([(784, 10, 10), (784, 20, 10)], [3.0], **SMALL)))


# -- Ctrl-C and resuming -----------------------------------------------------------------
COMMAND = ["sweep", "--sizes", "784,30,10", "--eta", "3", "--epochs", "3", "--seeds", "0-11",
           "--limit", "2000", "--workers", "2"]


def test_ctrl_c_keeps_finished_runs_and_the_same_command_trains_only_the_others(
        distributed, mnist_dir, tmp_path, capsys):
    out = tmp_path / "runs.jsonl"
    argv = [*COMMAND, "--data", str(mnist_dir), "--out", str(out)]
    # Ctrl-C as a terminal sends it: SIGINT to the command's whole process group (its local
    # cluster's workers too). A shell's background jobs ignore SIGINT; the command must not.
    started = subprocess.Popen(
        [sys.executable, "-c", "import signal, sys; signal.signal(signal.SIGINT, "
         "signal.default_int_handler); from fastnet.cli import main; sys.exit(main())", *argv],
        start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (out.exists() and out.read_text().count("\n") >= 1) and started.poll() is None:
            assert time.monotonic() < deadline, "no run finished within 120 s"
            time.sleep(0.05)
        os.killpg(started.pid, signal.SIGINT)
        _, err = started.communicate(timeout=60)
    finally:
        if started.poll() is None:
            os.killpg(started.pid, signal.SIGKILL)
            started.wait()
    finished = len(lines_of(out))
    assert started.returncode == 130 and 1 <= finished < 12, err
    assert (f"sweep: interrupted after {finished} of the 12 runs; they are in {out}, and the same "
            f"sweep again trains the other {12 - finished}") in err
    assert err.splitlines()[-1] == "fastnet: interrupted"
    assert group_ends(started.pid, within=20)        # nothing of it left running

    assert cli.main(argv) == 0
    err = capsys.readouterr().err.splitlines()
    assert err[0] == (f"sweep: training {12 - finished} runs ({finished} of 12 are already in "
                      f"{out}) on a local Dask cluster of 2 worker processes, 1 thread each")
    assert len([line for line in err if line.startswith("[")]) == 12 - finished
    assert sorted(record["seed"] for record in lines_of(out)) == list(range(12))


def test_a_line_cut_short_is_dropped_and_a_foreign_line_is_an_error(sweep_data, tmp_path):
    out = tmp_path / "runs.jsonl"
    runs = sweep.grid([(784, 10, 10)], [3.0], epochs=[1], seeds=[0, 1])
    first = sweep.run(runs[:1], *sweep_data, out=out, workers=0, log=print)
    out.write_text(out.read_text() + '{"sizes": [784, 10')            # the process died writing
    assert sweep.load_records(out) == first
    sweep.run(runs, *sweep_data, out=out, workers=0, log=print)
    assert [record["seed"] for record in lines_of(out)] == [0, 1]
    out.write_text(out.read_text() + "hello\n")
    with pytest.raises(FastnetFileError, match=f"{out}, line 3: not a sweep record"):
        sweep.load_records(out)


# -- without Dask ---------------------------------------------------------------------------
def test_without_dask_the_same_grid_runs_serially_and_says_so_first(
        sweep_data, mnist_dir, serial, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)          # makes `import distributed` fail
    out = tmp_path / "runs.jsonl"
    code = cli.main(["sweep", "--sizes", "784,10,10", "--eta", "3", "--epochs", "2", "--seeds",
                     "0-2", "--limit", str(LIMIT), "--data", str(mnist_dir), "--out", str(out)])
    assert code == 0
    first = capsys.readouterr().err.splitlines()[0]
    assert first == ("sweep: Dask is not installed, so the 3 runs train one after another in this "
                     "process (pip install 'fastnet-nndl[distributed]' to train them in parallel)")
    assert identical(lines_of(out), serial(sweep.grid([(784, 10, 10)], [3.0], **SMALL)))
    code = cli.main(["sweep", "--scheduler", "tcp://127.0.0.1:1", "--seeds", "5",
                     "--data", str(mnist_dir), "--out", str(out)])
    assert code == 2
    assert "reaching a Dask cluster needs Dask: pip install 'fastnet-nndl[distributed]'" in \
        capsys.readouterr().err


@pytest.mark.parametrize("option, values, message", [
    ("--seeds", ["3-1"], "argument --seeds: seeds must be integers or ranges"),
    ("--threshold", ["120"], "argument --threshold: must be a percentage from 0 to 100, got 120"),
    ("--sizes", ["784,30,9"], "MNIST needs 784 inputs and 10 outputs"),
    ("--eta", ["1", "-2"], "argument --eta: eta must be finite and > 0, got -2.0"),
    ("--workers", ["-1"], "argument --workers: workers must be an integer >= 0, got -1"),
    ("--plot", ["runs.txt"], "argument --plot: must name a .png file, got 'runs.txt'"),
])
def test_bad_sweep_options_are_named(option, values, message, capsys):
    with pytest.raises(SystemExit) as exit:
        cli.main(["sweep", option, *values])
    assert exit.value.code == 2 and message in capsys.readouterr().err


def test_an_unknown_cost_is_named_before_training(tmp_path, capsys):
    with pytest.raises(SystemExit) as exited:
        cli.main(["sweep", "--cost", "quadratic", "hinge", "--out", str(tmp_path / "r.jsonl")])
    assert exited.value.code == 2
    assert "argument --cost: invalid choice: 'hinge'" in capsys.readouterr().err
    assert not (tmp_path / "r.jsonl").exists()


def test_a_plot_on_the_records_file_and_a_million_seeds_in_all_are_refused(tmp_path, capsys):
    out = tmp_path / "runs.png"
    assert cli.main(["sweep", "--out", str(out), "--plot", str(out)]) == 2
    assert capsys.readouterr().err == (f"fastnet: error: --plot {out} is the file of --out {out}; "
                                       f"give each its own file\n")
    assert cli.main(["sweep", "--seeds", "0-599999", "600000-1199999", "--out", str(tmp_path / "r")]) == 2
    assert "--seeds names 1,200,000 seeds in all; a command takes at most 1,000,000" in capsys.readouterr().err
    assert not out.exists() and not (tmp_path / "r").exists()


def test_workers_with_a_scheduler_is_a_contradiction(sweep_data, capsys):
    runs = sweep.grid([(784, 10, 10)], [3.0], epochs=[1], seeds=[0])
    with pytest.raises(ValueError, match="workers=2 sizes a local cluster, but the runs go to the "
                                         "cluster of scheduler="):
        sweep.run(runs, *sweep_data, scheduler="tcp://127.0.0.1:1", workers=2)


def test_more_workers_than_memory_holds_copies_of_the_data_are_refused(sweep_data, tmp_path):
    # Each worker process gets its own copy of the data: a million would exhaust memory.
    runs = sweep.grid([(784, 10, 10)], [3.0], epochs=[1], seeds=[0])
    copy = sum(part.nbytes for part in (*sweep_data[0], *sweep_data[1]))
    with pytest.raises(ValueError, match=rf"workers=1000000: each holds its own copy of the data "
                                         rf"\({copy / 2**20:,.0f} MiB\), 1,000,000 copies need "
                                         rf"[\d,.]+ GiB, more than this machine's"):
        sweep.run(runs, *sweep_data, workers=10**6, out=tmp_path / "r.jsonl", log=print)
    assert not (tmp_path / "r.jsonl").exists()


def test_every_runs_lmbda_is_checked_before_any_trains(sweep_data, tmp_path):
    runs = sweep.grid([(784, 10, 10)], [3.0], epochs=[1], seeds=[0], lmbda=[0.0, 1e300])
    with pytest.raises(ValueError, match="lmbda"):
        sweep.run(runs, *sweep_data, workers=0, out=tmp_path / "r.jsonl", log=print)
    assert not (tmp_path / "r.jsonl").exists()


def test_a_file_of_another_kind_is_named_not_decoded(tmp_path):
    path = tmp_path / "runs.jsonl"
    path.write_bytes(bytes([0x89]) + b"PNG\r\n\x1a\n")   # a PNG's first line
    with pytest.raises(FastnetFileError, match=r"runs.jsonl, line 1: not a sweep record \(not UTF-8"):
        sweep.load_records(path)


def test_an_out_file_in_a_missing_folder_is_refused_before_training(tmp_path, capsys):
    with pytest.raises(SystemExit) as exited:
        cli.main(["sweep", "--out", str(tmp_path / "nope" / "runs.jsonl")])
    assert exited.value.code == 2
    assert f"argument --out: {tmp_path / 'nope' / 'runs.jsonl'}: no folder {tmp_path / 'nope'}" in (
        capsys.readouterr().err)


# -- what a user reads: the table and the plot ---------------------------------------------
def _record(sizes, eta, seed, correct, batch=10, **extra):
    """A record of a 2-epoch run on 100 images tested on 100 (fewer counts: it diverged)."""
    return {**sweep.Run(tuple(sizes), eta, batch, 2, "float64", seed)._asdict(),
            "sizes": list(sizes), "training_images": 100, "correct": correct, "total": 100,
            "seconds": 0.1, "parameters_sha256": "", **extra}


RECORDS = [_record((784, 30, 10), 3.0, 0, [90, 96]), _record((784, 30, 10), 3.0, 1, [80, 70]),
           _record((784, 30, 10), 3.0, 2, [95, 94]), _record((784, 30, 10), 0.5, 0, [50, 60]),
           _record((784, 30, 10), 0.5, 1, [10], diverged="training diverged in epoch 1")]


def test_table_has_a_row_per_configuration_with_its_spread_over_seeds():
    table = sweep_report.markdown_table(RECORDS, 95.0)
    assert table.splitlines() == [
        "| sizes | eta | seeds | best | median | worst | >= 95% |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        "| 784-30-10 | 3 | 3 | 96.00% | 95.00% | 80.00% | 2 of 3 |",
        "| 784-30-10 | 0.5 | 2 | 60.00% | 35.00% | 10.00% | 0 of 2 |",
        "",
        "1 of 5 runs diverged (weights became NaN or inf); each counts its epochs before, 0% if none."]


def test_table_shows_the_settings_that_differ():
    records = [_record((784, 30, 10), 3.0, 0, [90]), _record((784, 30, 10), 3.0, 0, [91], batch=20)]
    header = sweep_report.markdown_table(records, 90).splitlines()[0]
    assert header == "| sizes | eta | batch | seeds | best | median | worst | >= 90% |"


def test_plot_is_a_png_with_matplotlib_and_skipped_without(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    records = RECORDS + [_record((784, 100, 10), 3.0, 0, [97])]
    assert sweep_report.plot(records, tmp_path / "a.png", 95.0)
    assert (tmp_path / "a.png").read_bytes().startswith(b"\x89PNG")
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert not sweep_report.plot(records, tmp_path / "b.png")
    assert not (tmp_path / "b.png").exists()


def test_plot_title_counts_seeds_from_fewest_to_most(tmp_path, monkeypatch):
    titles = []
    monkeypatch.setattr(sweep_report, "draw_panels",
                        lambda path, panels, draw, title, width=7: titles.append(title) or True)
    three = [_record((784, 30, 10), 3.0, seed, [90]) for seed in range(3)]
    ten = [_record((784, 30, 10), 0.5, seed, [80]) for seed in range(10)]
    assert sweep_report.plot(three + ten, tmp_path / "a.png")
    assert sweep_report.plot(ten, tmp_path / "b.png")
    assert titles == ["Test accuracy (best epoch) over 3-10 seeds:\nmedian (line), each seed "
                      "(dots), range (band)",
                      "Test accuracy (best epoch) over 10 seeds:\nmedian (line), each seed "
                      "(dots), range (band)"]


def test_progress_lines_without_a_terminal(capsys):
    with sweep_report.Progress(2) as progress:
        progress(RECORDS[0])
    assert capsys.readouterr().err == ("[1/2] 784-30-10, eta 3, batch 10, 2 epochs, float64, seed 0: "
                                       "best 96.00%, final 96.00% (0.1 s)\n")
    with sweep_report.Progress(2, quiet=True) as progress:
        progress(RECORDS[0])
    assert capsys.readouterr().err == ""
