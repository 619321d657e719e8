"""Which path the network runs on data: dense inputs, sparse inputs (``fastnet._sparse``),
or, for training a network whose steps a reader replaced, NumPy.

- ``choose``: the trainer of one call of ``Network.train``. It converts what it needs once
  (the sparse inputs to CSR), then ``epoch()`` brackets each epoch and ``run(order, eta)``
  trains the samples ``order`` (the whole epoch, or a slice of it when progress is shown).
- ``outputs``: a function giving the network's outputs for fixed inputs with its current
  parameters, made once (the test set of a training is converted once, not every epoch).
- ``preload``: every kernel a training of a network on MNIST-like inputs calls, called
  on a few rows, so that Numba has loaded (or compiled) them before the training starts.

Either way the choice is by the inputs' density, unless ``Network.sparse`` forces it.
The sparse path's thread count, where it is not set and the work is small, is chosen by
timing (``ThreadChoice``).
"""
import contextlib
import random
import statistics
import time

import numba
import numpy as np

from fastnet import _compiling, _kernels, _overrides, _scoped, _shuffle, _sparse, _sync
from fastnet._layout import Workspace, aligned_zeros

#: Inputs with at most this fraction of non-zero values train on the sparse path. The
#: sparse first layer costs about this much more per multiply-add than the dense one.
SPARSE_DENSITY = 0.5
#: First-layer multiply-adds per mini-batch (non-zero inputs x neurons) from which the
#: sparse path shares the work between all threads by default. Below it (MNIST with up to
#: about 300 hidden neurons) two threads were measured as fast as 1.3 times one in some
#: processes and slower in others (on a VM: it depends on where its threads land), so
#: there one thread is timed against all (``ThreadChoice``) and the faster kept.
SPARSE_PARALLEL_WORK = 1 << 19
#: Timed slices per thread count when choosing, after one untimed slice each (the first
#: region on more threads starts Numba's thread pool).
CHOICE_TRIALS = 3
#: Slices of an epoch the choice times in: it takes an eighth of a network's first epoch,
#: once (every slice costs a Python thread that waits for the GIL its turn).
CHOICE_SLICES = 64
#: Samples a timed slice has at least (fewer are too quick to time): shorter calls (small
#: data, or an epoch's first slice when progress is reported) run on one thread, untimed.
CHOICE_MIN_SLICE = 250
#: More threads are chosen only when they take at most this fraction of the time of one:
#: they also take a core from whatever else runs.
CHOICE_MARGIN = 0.9
#: Epochs that end on one thread after which the choice is made again: the cores may have
#: been busy only for a while (a team sometimes breaks up even on a quiet machine, and
#: two threads were then 1.5 times as fast for the rest of the run). After each later
#: break, twice as many, up to ``CHOICE_AGAIN_AT_MOST``: on cores that are busy again and
#: again, every team costs time until it breaks up.
CHOICE_AGAIN_AFTER = 3
CHOICE_AGAIN_AT_MOST = 24
#: Rows from which inputs are converted to CSR on the network's threads (twice as fast:
#: MNIST's test set in 6 ms against 12 ms): a parallel region's end waits for the GIL,
#: milliseconds beside a busy Python thread, which fewer rows would not win back.
CSR_PARALLEL_ROWS = 10_000
#: Samples evaluated per block (and the fewest worth the sparse path's set-up).
EVAL_BLOCK = 64


def choose(net, X, T, batch, decay, replaced):
    """The trainer for ``net`` on inputs ``X`` (targets ``T``) in mini-batches of ``batch``."""
    if replaced:
        return NumpyTrainer(net, X, T, batch, decay, replaced)
    counts = _sparse_counts(net, X)
    if counts is None:
        return DenseTrainer(net, X, T, batch, decay)
    return SparseTrainer(net, X, T, batch, decay, counts)


def preload(net, batch, train=True):
    """Call every kernel that training ``net`` in mini-batches of ``batch`` on MNIST-like
    inputs (float32, a fifth of them non-zero) and testing it each epoch call, as
    ``Network.train`` calls them, on a copy of ``net`` and a few rows: Numba loads each one
    from its cache (or compiles it) for the types the training will pass. Nothing of
    ``net`` changes; no random state is touched. ``train=False`` leaves out the training
    step itself. When the first kernels had to be compiled, a second process does the rest
    but that step meanwhile (``_compiling.second_process``), and the evaluation waits for
    it, to load what it compiled."""
    copy = type(net).from_parameters(net.sizes, net.parameters, net.dtype, net.cost, threads=1,
                                     sparse=net.sparse)
    rows = 2 * EVAL_BLOCK
    pixels = np.zeros((rows, net.sizes[0]), dtype=np.float32)
    pixels[:, ::5] = 0.5
    X, T = copy._training_arrays("rows", (pixels, np.arange(rows) % net.sizes[-1]))
    compiled = _compiling.compilations()
    _kernels.all_finite(copy._params)
    trainer = choose(copy, X, T, batch, 1.0, copy._replaced())
    threads = _threads(net, True)
    if isinstance(trainer, SparseTrainer) and threads > 1:   # many rows' conversion
        _sparse.to_csr(X, _sparse_counts(copy, X), trainer.scratch.stride, threads)
    cold = _compiling.compilations() > compiled
    second = _compiling.second_process(net, batch) if train and cold else None
    try:
        with trainer.epoch():
            if train:
                trainer.run(_shuffle.shuffle(random.Random(0), list(range(rows))), 1.0)
    except BaseException:   # an error or an interrupt: it is stopped at once
        _compiling.finish(second, wait=False)
        raise
    _compiling.finish(second)
    outputs(copy, X)()


def _sparse_counts(net, X):
    """The non-zero values per row of ``X`` if ``net`` should take the sparse path on it
    (forced, or by density), else None."""
    if net.sparse is False:
        return None
    if net.sizes[0] * _sparse.padded_width(net.sizes[1], net.dtype) >= 2**31:
        if net.sparse:
            raise ValueError(f"sparse=True: the sparse path addresses the first layer's weights "
                             f"with 32-bit offsets, fewer than 2**31 of them; sizes "
                             f"{net.sizes[:2]} have too many (sparse=None or False trains it densely)")
        return None
    counts = np.empty(X.shape[0], dtype=np.int64)
    _sparse.count_nonzeros(X, counts)
    return counts if net.sparse or counts.sum() <= SPARSE_DENSITY * X.size else None


def _kernel_net(net):
    """The network as the kernels take it: its parameters and its layout's arrays."""
    layout = net._layout
    return _sparse.Network(net._params, layout.sizes, layout.weight_offsets, layout.bias_offsets)


def outputs(net, X):
    """A function of no arguments returning the output activations ``(n, outputs)`` of
    ``net`` for the rows of ``X`` (converted inputs) with the parameters it has when called.
    Every call uses scratch of its own: several threads may call it at once. A sigmoid a
    reader replaced is honoured (in NumPy), as training honours it. Its parallel regions
    have as many threads as it uses (on one, no other thread of Numba's wakes up)."""
    if "sigmoid" in net._replaced():
        return lambda: _overrides.outputs(net, X, net._sigmoids()[0])
    counts = _sparse_counts(net, X) if X.shape[0] >= EVAL_BLOCK else None
    threads = _threads(net, X.shape[0] >= 2 * EVAL_BLOCK)
    layout, dtype = net._layout, net.dtype
    n, capacity = X.shape[0], max(1, min(EVAL_BLOCK, X.shape[0]))
    network = _kernel_net(net)
    if counts is None:
        def dense():
            out = np.empty((n, net.sizes[-1]), dtype=dtype)
            activations = aligned_zeros(layout.n_units * capacity, dtype)
            with _numba_threads(threads):
                _kernels.predict(*network, X, activations, layout.unit_offsets * capacity,
                                 capacity, out, threads)
            return out
        return dense
    Hp = _sparse.padded_width(net.sizes[1], dtype)
    stride, bases, size = _sparse.one_thread_strips(net.sizes[0], Hp, dtype)
    indptr, offsets, values = _sparse.to_csr(X, counts, stride, _csr_threads(net, X))

    def sparse():
        out = np.empty((n, net.sizes[-1]), dtype=dtype)
        WT = aligned_zeros(size, dtype)
        _sparse.transpose(network, WT, stride, bases)
        Z = aligned_zeros(threads * capacity * Hp, dtype).reshape(threads, -1)
        acts = aligned_zeros(threads * layout.n_units * capacity, dtype).reshape(threads, -1)
        with _numba_threads(threads):
            _sparse.predict(network, WT, Hp, bases, indptr, offsets, values, Z, acts,
                            layout.unit_offsets * capacity, out, threads)
        return out
    return sparse


def _numba_threads(threads):
    """Numba's thread count for parallel regions this thread starts, for a ``with``."""
    return _scoped.setting(numba.get_num_threads, numba.set_num_threads, threads)


def _threads(net, parallel):
    """The threads a kernel may use: ``net.threads`` if set, else all of Numba's where the
    work is ``parallel`` enough, else one; never more than this thread's Numba pool."""
    return net._kernel_threads() if parallel or net.threads is not None else 1


def _csr_threads(net, X):
    """The threads that convert the inputs ``X`` to CSR for ``net``."""
    return _threads(net, X.shape[0] >= CSR_PARALLEL_ROWS)


class DenseTrainer:
    """The compiled kernels over dense input rows."""
    timed = False   # its thread count is never timed

    def __init__(self, net, X, T, batch, decay):
        self.net, self.X, self.T, self.batch = net, X, T, batch
        self.decay = net.dtype.type(decay)
        capacity = min(batch, X.shape[0])
        self.threads = net._kernel_threads()
        copies = _kernels.first_layer_threads(net.sizes, capacity, self.threads)
        self.workspace = net._workspace(("dense", capacity, copies),
                                        lambda: Workspace(net._layout, capacity, net.dtype, copies))

    @contextlib.contextmanager
    def epoch(self):
        yield

    def run(self, order, eta):
        net, workspace = self.net, self.workspace
        _kernels.train_epoch(*_kernel_net(net), self.X, self.T, order, self.batch,
                             net.dtype.type(eta), self.decay, net.cost.code,
                             workspace.activations, workspace.spare, workspace.deltas,
                             workspace.unit_offsets, workspace.inputs, self.threads)


class ThreadChoice:
    """One thread or ``threads``, whichever trains faster, found by timing slices of
    training with each in turn (``CHOICE_TRIALS`` each, after one untimed): the thread
    count changes the speed, never the numbers. A team that later finds the cores busy
    (``_sync``) makes it one (``found_busy``): another job or a busy Python thread shares
    them, and one thread is then the faster. One thread is never chosen for good: after
    ``wait`` epochs on it (``epoch_done``) the choice is made again; ``wait`` doubles from
    ``CHOICE_AGAIN_AFTER`` with every break."""

    def __init__(self, threads):
        self.candidates = (1, threads)
        self.breaks = 0
        self.start()

    def start(self):
        """Choose anew: time each candidate from the next slice on."""
        self.slices = dict.fromkeys(self.candidates, 0)
        self.seconds = {count: [] for count in self.candidates}   # per sample, timed slices
        self.chosen = None
        self.epochs_on_one = 0

    @property
    def wait(self):
        """Epochs on one thread before choosing again: ``CHOICE_AGAIN_AFTER`` until the
        second break, then twice as many after each, up to ``CHOICE_AGAIN_AT_MOST``."""
        return min(CHOICE_AGAIN_AFTER << min(max(self.breaks - 1, 0), 16), CHOICE_AGAIN_AT_MOST)

    def found_busy(self):
        """A team found the cores busy and broke up: one thread, for now."""
        self.breaks += 1
        self.chosen, self.epochs_on_one = 1, 0

    def epoch_done(self):
        """An epoch has ended: the ``wait``-th in a row on one thread starts the choice
        again."""
        if self.chosen == 1:
            self.epochs_on_one += 1
            if self.epochs_on_one >= self.wait:
                self.start()

    def next(self):
        """The thread count for the next slice: the chosen one, else the least tried."""
        if self.chosen is not None:
            return self.chosen
        return min(self.candidates, key=self.slices.get)

    def record(self, threads, samples, seconds):
        """A slice of ``samples`` trained on ``threads`` threads took ``seconds``."""
        if self.slices[threads] > 0:
            self.seconds[threads].append(seconds / samples)
        self.slices[threads] += 1
        if all(len(times) >= CHOICE_TRIALS for times in self.seconds.values()):
            one, more = (statistics.median(self.seconds[count]) for count in self.candidates)
            self.chosen = self.candidates[1] if more <= CHOICE_MARGIN * one else 1


class SparseTrainer:
    """The sparse first layer (``fastnet._sparse``): inputs as CSR, the first layer (and
    output layer) mirrored into the scratch for the length of each epoch."""

    def __init__(self, net, X, T, batch, decay, counts):
        self.net, self.batch = net, batch
        self.decay = net.dtype.type(decay)
        capacity = min(batch, X.shape[0])
        work = capacity * counts.mean() * net.sizes[1]
        self.threads = _threads(net, work >= SPARSE_PARALLEL_WORK)
        self.choice = None
        self.slice_samples = batch * -(-max(CHOICE_MIN_SLICE, X.shape[0] // CHOICE_SLICES) // batch)
        if net.threads is None and self.threads < numba.get_num_threads():
            # timed; the choice is kept with the network: later calls go on with it
            self.threads = numba.get_num_threads()
            self.choice = net._workspace(("thread choice", self.threads, batch),
                                         lambda: ThreadChoice(self.threads))
        layout = net._layout
        self.network = _kernel_net(net)
        self.deep = None if layout.sizes.size == 3 else layout.sizes   # see _sparse.train_epoch
        self.scratch = net._workspace(
            ("sparse", capacity, self.threads),
            lambda: _sparse.scratch(layout, capacity, net.dtype, self.threads,
                                    Workspace(layout, capacity, net.dtype)))
        self.grouping = _sparse.grouping_of(self.scratch)   # see _sparse.train_epoch
        indptr, offsets, values = _sparse.to_csr(X, counts, self.scratch.stride,
                                                 _csr_threads(net, X))
        middle = _sparse.middles(indptr, offsets, X.shape[1], self.scratch.stride)
        self.inputs = _sparse.Inputs(indptr, offsets, values, middle, T,
                                     np.empty(0, dtype=np.int64))

    @property
    def timed(self):
        """Whether the thread count is chosen by timing."""
        return self.choice is not None

    @contextlib.contextmanager
    def epoch(self):
        """Mirror the network in, and always back out, also on an interrupt. Every epoch
        starts with the full team of threads (``_sync``: busy cores make it go on alone);
        a thread count being chosen counts the epochs done (``ThreadChoice.epoch_done``)."""
        _sparse.mirror(self.network, self.scratch)
        self.scratch.state[:] = 0
        try:
            yield
        finally:
            _sparse.unmirror(self.network, self.scratch)
        if self.choice is not None:
            self.choice.epoch_done()

    def run(self, order, eta):
        """Train the samples ``order`` (the epoch, or a slice of it; whole mini-batches), in
        timed slices while the thread count is being chosen."""
        choice, start = self.choice, 0
        while choice is not None and choice.chosen is None and start < len(order):
            part = order[start:start + self.slice_samples]
            if len(part) < CHOICE_MIN_SLICE:   # too short to time
                self._run(part, eta, 1)
            else:
                threads, began = choice.next(), time.perf_counter()
                self._run(part, eta, threads)
                choice.record(threads, len(part), time.perf_counter() - began)
            start += len(part)
        if start < len(order):
            self._run(order[start:], eta, self.threads if choice is None else choice.chosen)
        if choice is not None and self.scratch.state[_sync.ALONE]:
            choice.found_busy()

    def _run(self, order, eta, threads):
        """Train the samples ``order`` on ``threads`` threads. Once a region found the cores
        busy, the rest of the epoch runs on one thread: starting a team of threads on busy
        cores costs a time slice per region."""
        state = self.scratch.state
        threads = 1 if state[_sync.ALONE] else threads
        _sync.start_region(state)
        with _numba_threads(threads):
            _sparse.train_epoch(self.network, self.inputs._replace(order=order), self.scratch,
                                self.batch, self.net.dtype.type(eta), self.decay,
                                self.net.cost.code, threads, self.deep, self.grouping)


class NumpyTrainer:
    """The chapter's algorithm in NumPy, calling the steps a reader replaced."""

    def __init__(self, net, X, T, batch, decay, replaced):
        _overrides.warn_once(type(net), replaced)
        if "update_mini_batch" in replaced and decay != 1.0:
            raise ValueError(f"lmbda needs fastnet's update_mini_batch, but "
                             f"{type(net).__name__} replaces it; train with lmbda=0")
        self.net, self.X, self.T, self.batch, self.decay = net, X, T, batch, decay
        self.own_update = "update_mini_batch" in replaced

    @contextlib.contextmanager
    def epoch(self):
        yield

    def run(self, order, eta):
        _overrides.train_samples(self.net, self.X, self.T, order, self.batch, eta, self.decay,
                                 self.own_update)
