"""``fastnet train``'s loop: a network trained epoch by epoch, a checkpoint and a JSON log
line after every epoch, a progress bar, and signals that stop training and save.

A ``Run`` is its ``Settings`` (``fastnet.settings``: the network, how it is trained, on how
many images), its network, the order its epochs shuffle, its random streams, and the
results of the epochs done. Its network is drawn from ``np.random.RandomState(seed)`` and
its epochs shuffle with ``random.Random(seed)``: the numbers ``random.seed(seed);
np.random.seed(seed)`` give the chapter's program, without touching the global streams.

- ``run_seeded(settings, training, test)``: one seeded training exactly as
  ``fastnet train --seed s`` runs it, epoch for epoch the same numbers, without files;
- ``train(run, training, test, checkpoint=..., log=...)``: the command's loop. After every
  epoch the checkpoint and the log line are written together: a signal arriving meanwhile
  waits until both are. SIGINT (Ctrl-C), SIGTERM and SIGHUP stop training and save the
  last finished epoch (without a checkpoint path, to ``INTERRUPT_CHECKPOINT`` in the current
  folder, or the first of ``fastnet-checkpoint-2.npz``, ``-3``, ... not taken).

A checkpoint carries its run: the settings not already in the model arrays and the
per-epoch ``(correct, total)`` history, as JSON text (``persist.TRAINING_KEY``), so a resume
continues with the run's own settings and reports the best epoch of all.
"""
import contextlib
import itertools
import json
import math
import os
import random
import signal
import sys
import threading
from typing import NamedTuple

import numpy as np

from fastnet import _data, _trainers, inits, persist
from fastnet.errors import FastnetFileError
from fastnet.network import Network
from fastnet.settings import INTERRUPT_CHECKPOINT, NETWORK, RECORDED, Settings

#: The signals that stop training like Ctrl-C (SIGHUP where the system has it).
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP")
                     if hasattr(signal, name))


class Run:
    """A training run: ``settings``, ``net``, ``order`` (the sample order its epochs
    shuffle; None until ``training_data``), its random streams, ``epoch`` (the epochs done),
    ``history`` (their ``(correct, total)``), ``source`` (the checkpoint it resumed, or None)."""

    def __init__(self, settings, net, shuffler, draw, epoch=0, order=None, history=(), source=None):
        self.settings, self.net = settings, net
        self.shuffler, self.draw = shuffler, draw
        self.epoch, self.history = epoch, list(history)
        self.order = None if order is None else np.array(order, dtype=np.int64)
        self.source = source

    @classmethod
    def start(cls, settings):
        """A new run, its network drawn as ``np.random.seed(seed); Network(...)`` would."""
        if settings.seed is not None:
            _data.check_seed("settings.seed", settings.seed)
        if settings.limit is not None:
            _data.check_positive_int("settings.limit", settings.limit)
        _data.check_positive_int("settings.epochs", settings.epochs)
        draw = np.random.RandomState(settings.seed)
        net = Network(settings.sizes, dtype=settings.dtype, threads=settings.threads,
                      cost=settings.cost, init=settings.init, rng=draw)
        return cls(settings._replace(sizes=net.sizes), net, random.Random(settings.seed), draw)

    @classmethod
    def resume(cls, path, given=None):
        """The run saved at ``path``, continued with the settings ``given`` (a dict of
        ``Settings`` fields chosen anew). One that contradicts the run's is a ValueError
        naming both; ``epochs`` (how many in all) and ``threads`` may change."""
        shuffler, draw = random.Random(), np.random.RandomState()
        net, epoch, order = persist.resume(path, shuffler, draw)
        recorded, history = _read_record(path, epoch)
        saved = {"sizes": net.sizes, "dtype": net.dtype.name, "cost": net.cost.name, **recorded}
        given = dict(given or {})
        # both limits take all the run's images (--limit 50000 or more on a run of all 50,000;
        # the training data's length is checked later): the same run
        limit, saved_limit = given.get("limit"), saved.get("limit")
        if (limit is None or limit >= len(order)) and (saved_limit is None or saved_limit > len(order)):
            given.pop("limit", None)
        for name, value in given.items():
            if name in saved and name != "epochs" and value != saved[name]:
                raise ValueError(f"{_option(name, value)} contradicts {path}, a run with "
                                 f"{_option(name, saved[name])}; leave --{name} out to continue that run")
        settings = Settings(**{"limit": len(order), **saved, **given})
        net.threads = settings.threads
        return cls(settings, net, shuffler, draw, epoch, order, history, source=path)

    @property
    def epochs_left(self):
        return max(0, self.settings.epochs - self.epoch)

    def training_data(self, X, y):
        """The run's training samples: the first ``limit`` of ``X``, ``y``. A new run's
        order becomes ``range(n)``; a resumed run's must be as long."""
        X, y = X[:self.settings.limit], y[:self.settings.limit]
        if self.order is None:
            self.order = np.arange(len(y))   # shuffled in place: no list to convert each epoch
        elif len(self.order) != len(y):
            raise ValueError(f"{self.source} was trained on {len(self.order)} images, this run "
                             f"has {len(y)}; resume it on the same training data")
        return X, y

    def epochs(self, training, test, progress=None):
        """Train the epochs left on ``training`` (from ``training_data``), yielding each
        ``EpochResult`` once it is counted in ``epoch`` and ``history``."""
        s = self.settings
        for result in self.net.train(training, self.epochs_left, s.batch, s.eta, test_data=test,
                                     order=self.order, first_epoch=self.epoch, progress=progress,
                                     lmbda=s.lmbda, rng=self.shuffler):
            self.epoch = result.epoch + 1
            self.history.append((result.correct, result.total))
            yield result

    def best(self):
        """The ``(correct, total)`` of the best epoch done, or None."""
        tested = [entry for entry in self.history if entry[0] is not None]
        return max(tested, key=lambda entry: entry[0], default=None)

    def checkpoint(self):
        """The arrays of this run's checkpoint as it stands."""
        record = {name: getattr(self.settings, name) for name in RECORDED}
        record["history"] = self.history
        return persist.checkpoint(self.net, self.epoch, self.order, self.shuffler, self.draw,
                                  json.dumps(record))


def run_seeded(settings, training, test, progress=None):
    """The ``EpochResult`` of every epoch of one training exactly as
    ``fastnet train --seed s`` runs it with these ``settings`` (``settings.seed`` is ``s``):
    the same network, shuffles and numbers. ``training`` is ``(X, y)``, all the training
    samples (the first ``settings.limit`` are trained on); ``test`` the test samples. No
    file is written and no global random state is touched."""
    _data.check_seed("settings.seed", settings.seed)
    run = Run.start(settings)
    return list(run.epochs(run.training_data(*training), test, progress))


def check_overwrite(path, run):
    """A ValueError unless ``run``'s checkpoints may be saved to ``path``: nothing is
    there, or it is the checkpoint ``run`` resumed, or a checkpoint of this very run
    (every setting but ``epochs`` the same, seeded), which the new run retraces exactly."""
    if not os.path.lexists(path) or (run.source is not None and os.path.exists(path)
                                     and os.path.samefile(path, run.source)):
        return
    advice = "choose another path, or give --force to overwrite it"
    try:
        there = Run.resume(path)
    except (ValueError, OSError):
        raise ValueError(f"--checkpoint {path} exists and is not a fastnet checkpoint; {advice}") from None
    compared = [name for name in Settings._fields if name not in ("epochs", "threads")]
    for name in sorted(compared, key=lambda name: name not in NETWORK):  # the network's first
        theirs, mine = getattr(there.settings, name), getattr(run.settings, name)
        if theirs != mine:
            kind = "network" if name in NETWORK else "run"
            differs = (f"not {_shown(name, mine)}" if mine is not None
                       else f"this run has no --{name}")   # not "not None"
            raise ValueError(f"--checkpoint {path} holds a checkpoint of another {kind} "
                             f"({_option(name, theirs)}, {differs}); continue it "
                             f"with --resume {path}, {advice}")
    if run.settings.seed is None:
        raise ValueError(f"--checkpoint {path} holds a checkpoint of an unseeded run, which a "
                         f"new run cannot retrace; continue it with --resume {path}, {advice}")


def interrupt_checkpoint():
    """Where a run without a checkpoint path saves when interrupted: ``INTERRUPT_CHECKPOINT``
    in the current folder, or ``fastnet-checkpoint-2.npz``, ``-3``, ... if it is taken (an
    earlier run's state is never overwritten)."""
    stem, suffix = os.path.splitext(INTERRUPT_CHECKPOINT)
    numbered = (f"{stem}-{k}{suffix}" for k in itertools.count(2))
    names = itertools.chain([INTERRUPT_CHECKPOINT], numbered)
    return next(name for name in names if not os.path.lexists(name))


# -- the command's loop: checkpoints, log, progress, signals ---------------------------------
class Interrupted(KeyboardInterrupt):
    """Training stopped by the signal ``signum`` (a ``KeyboardInterrupt``, as Ctrl-C is)."""

    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum


class Interruption(NamedTuple):
    """How an interrupted run ended: the signal, where it saved, the epochs saved."""
    signum: int
    path: str
    epoch: int


def train(run, training, test, checkpoint=None, log=None, progress=None, report=None):
    """Train ``run``'s epochs left as ``fastnet train`` does: after every epoch, save its
    checkpoint to ``checkpoint`` (a path, or None), append a JSON line to ``log`` (a path:
    appended to when resuming, else replaced) and call ``report(result)``, all before a
    signal may stop it. ``progress`` goes to ``Network.train``.

    Returns None once every epoch is done; when SIGINT, SIGTERM or SIGHUP stops it, saves the
    last finished epoch to ``checkpoint`` (else ``interrupt_checkpoint()``) and returns an
    ``Interruption``. Signals are caught in the main thread only.
    """
    _data.check_decay(run.settings.eta, run.settings.lmbda, len(training[1]))   # before the log opens
    signals = _Signals()
    saved = run.checkpoint()
    with contextlib.ExitStack() as stack:
        log_file = stack.enter_context(open(log, "a" if run.epoch else "w")) if log else None
        stack.enter_context(signals.caught())
        try:
            # the log's training cost: the training set converted once (to arrays, and for
            # the sparse path to CSR: 0.06 s a time for MNIST's), not every epoch
            if log_file:
                arrays = run.net._training_arrays("training_data", training)
                outputs = _trainers.outputs(run.net, arrays[0])
            for result in run.epochs(training, test, progress):
                if log_file:   # a cost that overflows is logged as null, without a warning
                    with np.errstate(all="ignore"):
                        cost = run.net._total_cost(*arrays, float(run.settings.lmbda), outputs)
                else:
                    cost = None
                with signals.deferred():
                    saved = run.checkpoint()
                    if checkpoint is not None:
                        persist.write(checkpoint, saved)
                    if log_file:
                        _log_epoch(log_file, result, cost)
                    if report is not None:
                        report(result)
        except KeyboardInterrupt as stop:
            signals.hold()  # a second signal must not cut this save short
            path = checkpoint or interrupt_checkpoint()
            persist.write(path, saved)
            return Interruption(getattr(stop, "signum", signal.SIGINT), str(path), int(saved["epoch"]))
    return None


class _Signals:
    """While ``caught()``, ``STOP_SIGNALS`` raise ``Interrupted``; inside ``deferred()`` one
    waits until its end; after ``hold()`` they are ignored."""

    def __init__(self):
        self._deferring = False
        self._pending = None

    def _handle(self, signum, frame):
        if self._deferring:
            self._pending = self._pending or signum
        else:
            raise Interrupted(signum)

    @contextlib.contextmanager
    def caught(self):
        if threading.current_thread() is not threading.main_thread():
            yield  # only the main thread may set handlers; the caller's stay
            return
        previous = {signum: signal.signal(signum, self._handle) for signum in STOP_SIGNALS}
        try:
            yield
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, signal.SIG_DFL if handler is None else handler)

    @contextlib.contextmanager
    def deferred(self):
        self._deferring = True
        try:
            yield
        finally:
            self._deferring = False
        if self._pending is not None:
            signum, self._pending = self._pending, None
            raise Interrupted(signum)

    def hold(self):
        self._deferring = True


def _log_epoch(log, result, training_cost):
    """Append the epoch's result and training cost to ``log`` as a line of JSON (a cost
    that overflowed is null: JSON has no Infinity)."""
    if training_cost is not None and not math.isfinite(training_cost):
        training_cost = None
    log.write(json.dumps({**result._asdict(), "training_cost": training_cost}, allow_nan=False) + "\n")
    log.flush()


def progress_bar(n, shown=True):
    """A ``progress`` callback for ``Network.train``: a tqdm bar per epoch when ``shown``,
    stderr is a terminal and tqdm is installed, else one that shows nothing. Either way train
    then runs each epoch in slices, so a signal stops it within a slice, not at the epoch's end."""
    if not shown or not sys.stderr.isatty():
        return _hidden
    try:
        from tqdm import tqdm
    except ImportError:
        return _hidden
    bar = None

    def show(done):
        nonlocal bar
        if bar is None:
            bar = tqdm(total=n, unit="img", leave=False)
        bar.update(done - bar.n)
        if done == n:
            bar.close()
            bar = None

    return show


def _hidden(done):
    """Progress shown nowhere."""


# -- the record a checkpoint keeps of its run ---------------------------------------------
def _read_record(path, epoch):
    """``(settings, history)`` from the training record of the checkpoint at ``path`` (of
    ``epoch`` epochs): ``({}, [])`` for a checkpoint without one (an earlier fastnet's)."""
    text = persist.training_record(path)
    if text is None:
        return {}, []
    try:
        record = json.loads(text)
        settings = {name: record[name] for name in RECORDED}
        _data.check_positive_int("epochs", settings["epochs"])
        _data.check_positive_int("batch", settings["batch"])
        _data.check_eta(settings["eta"])
        _data.check_real("lmbda", settings["lmbda"], inclusive=True)
        inits.get(settings["init"])
        if settings["seed"] is not None:
            _data.check_seed("seed", settings["seed"])
        if settings["limit"] is not None:
            _data.check_positive_int("limit", settings["limit"])
        history = [_checked_epoch(entry) for entry in record["history"]]
        if len(history) != epoch:
            raise ValueError(f"its history holds {len(history)} epochs, the checkpoint {epoch}")
    except (ValueError, TypeError, KeyError) as error:
        raise FastnetFileError(f"{path}: the training record is invalid: {error}") from None
    return settings, history


def _checked_epoch(entry):
    """One epoch of a history: ``(correct, total)``, counts or both None (not tested)."""
    correct, total = entry
    if correct is None and total is None:
        return None, None
    return (_data.check_positive_int("correct", correct, minimum=0),
            _data.check_positive_int("total", total, minimum=0))


def _shown(name, value):
    """A setting's value as it is written on the command line."""
    return ",".join(map(str, value)) if name == "sizes" else str(value)


def _option(name, value):
    """``--name value`` as on the command line, or ``no --name`` for None."""
    return f"no --{name}" if value is None else f"--{name} {_shown(name, value)}"
