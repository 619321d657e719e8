"""Sweeps: many independent training runs over a grid of settings and seeds, on Dask.

A ``Run`` is one training: layer sizes, eta, mini-batch size, epochs, dtype, seed, cost,
initialisation and lmbda; ``grid`` makes every combination of lists of them. ``run``
trains the runs that are not yet in its ``out`` file, one task per run, on Dask: a
cluster you give (``client=``, ``scheduler=``), else a ``LocalCluster`` it starts and
stops (one worker process per core, one thread each); serially in this process with
``workers=0`` or when Dask is not installed. Each finished run is appended to ``out`` at
once as a line of JSON (its *record*, see ``RECORD_FIELDS``), so an interrupted sweep keeps
every finished run and, run again, trains only the others.

A run with seed ``s`` is trained exactly as ``fastnet train --seed s`` trains: the same
test counts and the same final parameters, bit for bit, on whichever worker it lands.

    >>> from fastnet import mnist_loader, sweep
    >>> (X, y), _, test = mnist_loader.load_data()                    # doctest: +SKIP
    >>> runs = sweep.grid([(784, 30, 10)], eta=[1.0, 3.0], seeds=range(10), epochs=[10])
    >>> records = sweep.run(runs, (X, y), test, out="sweep.jsonl")   # doctest: +SKIP
"""
import contextlib
import functools
import hashlib
import itertools
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np

from fastnet import _data
from fastnet.errors import FastnetFileError, TrainingDivergedError, install_hint

INSTALL_HINT = install_hint("distributed")


class Run(NamedTuple):
    """The settings of one training run; its defaults are the chapter's. ``cost``: a name
    of ``fastnet.costs.COSTS``; ``init``: of ``fastnet.inits.INITS``; ``seed`` draws what
    ``random.seed(seed); np.random.seed(seed)`` would."""
    sizes: tuple[int, ...]
    eta: float
    mini_batch_size: int = 10
    epochs: int = 30
    dtype: str = "float64"
    seed: int = 0
    cost: str = "quadratic"
    init: str = "chapter"
    lmbda: float = 0.0


#: A record: a run's settings, the number of training images, then what training gave:
#: ``correct`` (test images right after each epoch, as ``fastnet train`` prints them),
#: ``total`` (test images), ``seconds`` (wall time of the run on its worker) and
#: ``parameters_sha256`` (of the final parameters: equal digests, equal networks).
#: A run whose weights became NaN or inf also has ``diverged`` (the message) and the
#: counts of the epochs before.
RECORD_FIELDS = (*Run._fields, "training_images", "correct", "total", "seconds",
                 "parameters_sha256")


def grid(sizes, eta, mini_batch_size=(10,), epochs=(30,), dtype=("float64",), seeds=(0,),
         cost=("quadratic",), init=("chapter",), lmbda=(0.0,)):
    """Every combination of the values in the lists given, seeds varying fastest, as
    ``Run``s (each once, in order)."""
    from fastnet import costs, inits

    axes = {"sizes": [tuple(_data.check_sizes(s)) for s in _listed("sizes", sizes)],
            "eta": [_data.check_eta(e) for e in _listed("eta", eta)],
            "mini_batch_size": [_data.check_positive_int("mini_batch_size", b)
                                for b in _listed("mini_batch_size", mini_batch_size)],
            "epochs": [_data.check_positive_int("epochs", e) for e in _listed("epochs", epochs)],
            "dtype": [_data.check_dtype(d).name for d in _listed("dtype", dtype)],
            "seed": [_data.check_seed("seed", s) for s in _listed("seeds", seeds)],
            "cost": [costs.get(c).name for c in _listed("cost", cost)],
            "init": [inits.get(i).name for i in _listed("init", init)],
            "lmbda": [_data.check_real("lmbda", value, inclusive=True)
                      for value in _listed("lmbda", lmbda)]}
    order = [field for field in Run._fields if field != "seed"] + ["seed"]
    combinations = (dict(zip(order, values)) for values in itertools.product(*map(axes.get, order)))
    return list(dict.fromkeys(Run(**settings) for settings in combinations))


def _listed(name, values):
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise TypeError(f"{name} must be a list of values, got {values!r}")
    values = list(values)
    if not values:
        raise ValueError(f"{name} must hold at least one value, got an empty list")
    return values


# -- one run ----------------------------------------------------------------------------
#: Runs sharing a process take turns: the kernels hold the GIL outside their parallel
#: regions, so k runs at once in one process would share about one core, where one run
#: at a time on k kernel threads uses k.
_ONE_RUN_AT_A_TIME = threading.Lock()


def train_run(run, training, test, threads=None):
    """Train ``run`` on ``training`` (arrays ``(X, y)``), testing on ``test`` after every
    epoch, exactly as ``fastnet train --seed`` does (by the same code, ``fastnet.training``);
    returns its record. The run draws from random streams of its own: nothing else in the
    process (a Dask worker's own threads draw from ``random``) changes its numbers.
    ``threads`` caps the kernels' threads (default: automatic); results do not depend on it.
    """
    from fastnet import training as loop

    settings = loop.Settings(sizes=run.sizes, epochs=run.epochs, batch=run.mini_batch_size,
                             eta=run.eta, seed=run.seed, dtype=run.dtype, cost=run.cost,
                             init=run.init, lmbda=run.lmbda, threads=threads)
    with _ONE_RUN_AT_A_TIME:
        started = time.perf_counter()
        session = loop.Run.start(settings)
        correct, diverged = [], {}
        try:
            for result in session.epochs(session.training_data(*training), test):
                correct.append(result.correct)
        except TrainingDivergedError as error:
            diverged = {"diverged": str(error)}
        seconds = time.perf_counter() - started
    return {**run._asdict(), "sizes": list(run.sizes), "training_images": len(training[1]),
            "correct": correct, "total": len(test[1]), "seconds": round(seconds, 3),
            "parameters_sha256": parameters_sha256(session.net), **diverged}


def parameters_sha256(net):
    """SHA-256 of a network's parameters (``net.parameters``, as stored): equal digests
    mean bit-identical networks."""
    return hashlib.sha256(np.ascontiguousarray(net.parameters).tobytes()).hexdigest()


def _train_on_worker(run, training, test):
    """``train_run`` inside a Dask task, its kernels on the worker's threads (one on the
    local cluster). Runs in one worker process take turns (see ``_ONE_RUN_AT_A_TIME``), so a
    worker with k threads trains one run at a time on k kernel threads."""
    from distributed import get_worker

    return train_run(run, training, test, threads=get_worker().state.nthreads)


# -- the records file -------------------------------------------------------------------
def record_key(record):
    """What identifies a run in a records file: its settings and its number of training images."""
    return (tuple(record["sizes"]), *(record[field] for field in Run._fields if field != "sizes"),
            record["training_images"])


def missing(runs, training_images, records):
    """The runs of ``runs`` (on ``training_images`` images) that ``records`` do not hold."""
    have = {record_key(record) for record in records}
    return [each for each in runs if _run_key(each, training_images) not in have]


def _run_key(run, training_images):
    return record_key({**run._asdict(), "training_images": training_images})


def load_records(path):
    """The records in the file at ``path`` (none if it does not exist), in file order.

    A last line cut short (the process stopped while writing it) is not a record."""
    path = Path(path)
    if not path.exists():
        return []
    records = []
    with open(path, "rb") as file:
        for number, raw in enumerate(file, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise FastnetFileError(f"{path}, line {number}: not a sweep record (not UTF-8 "
                                       f"text: is it another kind of file?)") from None
            if not line.endswith("\n"):
                break
            try:
                record = json.loads(line)
                record_key(record)
            except (ValueError, KeyError, TypeError):
                raise FastnetFileError(f"{path}, line {number}: not a sweep record (a line of "
                                       f"JSON with {', '.join(RECORD_FIELDS)})") from None
            records.append(record)
    return records


@contextlib.contextmanager
def _appending(path):
    """A function that appends a record to ``path`` as one unbuffered write (so Ctrl-C
    leaves either the whole line or none of it) and syncs it to disk; one that does nothing
    when ``path`` is None. A last line cut short is dropped first."""
    if path is None:
        yield lambda record: None
        return
    with open(path, "ab+", buffering=0) as file:
        file.seek(0)
        file.truncate(file.read().rfind(b"\n") + 1)

        def append(record):
            file.write((json.dumps(record) + "\n").encode())
            os.fsync(file.fileno())

        yield append


# -- the sweep --------------------------------------------------------------------------
def _stderr(line):
    print(line, file=sys.stderr, flush=True)


def run(runs, training, test, *, out=None, client=None, scheduler=None, workers=None,
        on_start=None, on_result=None, log=_stderr):
    """Train every run of ``runs`` that ``out`` does not hold yet; all their records, in
    ``runs`` order.

    ``training`` and ``test``: the training and test data (arrays ``(X, y)`` or the
    chapter's lists); they go to each worker once. Where the runs train: on the Dask
    cluster of ``client`` (left open) or at the address ``scheduler``; else on a
    ``LocalCluster`` of ``workers`` processes (default: one per core) started and stopped
    here; serially in this process with ``workers=0`` or without Dask installed.
    ``out``: a path; each finished run's record is appended to it at once.
    ``on_start`` is called with the number of runs to train (0 when ``out`` holds them
    all) before any trains, ``on_result`` with each new record as it arrives; ``log``
    with a line saying where the runs train (first) and what was already done.

    A local cluster's workers are new processes that import the main module: in a script,
    call this under ``if __name__ == "__main__":``.
    """
    runs = list(dict.fromkeys(runs))
    for each in runs:
        if not isinstance(each, Run):
            raise TypeError(f"runs must be sweep.Run records (see sweep.grid), got {each!r}")
    training, test = _data.as_arrays("training", training), _data.as_arrays("test", test)
    for each in runs:   # every run's settings checked before any trains
        _data.check_width("training", training[0], each.sizes[0])
        _data.check_decay(each.eta, each.lmbda, len(training[1]))
    if workers is not None:
        workers = _data.check_positive_int("workers", workers, minimum=0)
        if client is not None or scheduler is not None:
            raise ValueError(f"workers={workers} sizes a local cluster, but the runs go to the "
                             f"cluster of {'client' if client is not None else 'scheduler'}=, "
                             f"which trains on its own workers: leave workers (--workers) out")
        copy = sum(part.nbytes for part in (*training, *test))   # each worker holds one
        _data.check_bytes(f"workers={workers}", workers * copy, f"each holds its own copy of the "
                          f"data ({copy / 2**20:,.0f} MiB), {workers:,} copies")
    n = len(training[1])
    done = {record_key(record): record for record in ([] if out is None else load_records(out))}
    todo = missing(runs, n, done.values())
    if on_start is not None:
        on_start(len(todo))
    if not todo:
        log(f"sweep: all {len(runs)} runs are already in {out}")
        return [done[_run_key(each, n)] for each in runs]
    skipped = len(runs) - len(todo)
    what = f"{len(todo)} runs" + (f" ({skipped} of {len(runs)} are already in {out})"
                                  if skipped else "")
    with _appending(out) as append, _engine(what, client, scheduler, workers, log) as train:
        def finished(record):
            append(record)
            done[record_key(record)] = record
            if on_result is not None:
                on_result(record)
        try:
            train(todo, training, test, finished)
        except KeyboardInterrupt:
            left = len(missing(todo, n, done.values() if out is None else load_records(out)))
            log(f"sweep: interrupted after {len(todo) - left} of the {len(todo)} runs" + (
                f"; they are in {out}, and the same sweep again trains the other {left}"
                if out is not None else ""))
            raise
    return [done[_run_key(each, n)] for each in runs]


@contextlib.contextmanager
def _engine(what, client, scheduler, workers, log):
    """``train(runs, training, test, finished)`` where ``run`` says the runs train (on a
    cluster, started here and stopped on leaving, or in this process); logs which."""
    if client is not None:
        log(f"sweep: training {what} on the Dask cluster of {client.scheduler.address}")
        yield functools.partial(_on_cluster, client)
        return
    if workers == 0:
        log(f"sweep: training {what} one after another in this process")
        yield _serially
        return
    try:
        import distributed
    except ImportError:
        if scheduler is not None:
            raise ValueError(f"scheduler={scheduler!r}: reaching a Dask cluster needs Dask: "
                             f"{INSTALL_HINT}") from None
        log(f"sweep: Dask is not installed, so the {what} train one after another in this "
            f"process ({INSTALL_HINT} to train them in parallel)")
        yield _serially
        return
    if scheduler is not None:
        with distributed.Client(scheduler) as cluster_client:
            log(f"sweep: training {what} on the Dask cluster at {scheduler}")
            yield functools.partial(_on_cluster, cluster_client)
        return
    with local_cluster(workers) as cluster, distributed.Client(cluster) as local_client:
        log(f"sweep: training {what} on a local Dask cluster of {len(cluster.workers)} worker "
            "processes, 1 thread each")
        yield functools.partial(_on_cluster, local_client)


def local_cluster(workers=None):
    """The Dask ``LocalCluster`` a sweep starts: ``workers`` worker processes (default one
    per core), one thread each, and Numba's thread pool in each limited to one thread (Dask
    does not limit it; two threaded runs on one core each run many times slower)."""
    from distributed import LocalCluster

    return LocalCluster(n_workers=workers or _cores(), threads_per_worker=1, processes=True,
                        env={"NUMBA_NUM_THREADS": "1"}, dashboard_address=":0")


def _cores():
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def _serially(runs, training, test, finished):
    """Train ``runs`` one after another in this process, on all the kernels' threads."""
    for each in runs:
        finished(train_run(each, training, test))


def _on_cluster(client, runs, training, test, finished):
    """One task per run, the data scattered to every worker once; records as they finish.
    Dask retries a run whose worker dies. On an error or Ctrl-C the other tasks are cancelled."""
    from distributed import as_completed

    data = client.scatter([training, test], broadcast=True, hash=False)   # no hashing 190 MB
    futures = [client.submit(_train_on_worker, each, *data, pure=False) for each in runs]
    try:
        for future in as_completed(futures):
            finished(future.result())
    finally:
        client.cancel(futures + data)
