"""The chapter's ``network`` module: a sigmoid network trained by mini-batch SGD.

Same names, shapes, printed lines and random streams as the chapter's program; the
numerics run in the compiled kernels of ``fastnet._kernels`` over one flat parameter
buffer, of which ``weights[l]`` and ``biases[l]`` are views. Beyond the chapter: the
cross-entropy cost and scaled initial weights of the book's chapter 3 (``cost=``,
``init=``), L2 regularisation (``lmbda=``), row-wise ``outputs``/``predict``.

    >>> import fastnet.network as network
    >>> net = network.Network([784, 30, 10])
    >>> net.SGD(training_data, 30, 10, 3.0, test_data=test_data)   # doctest: +SKIP
    Epoch 0: 9129 / 10000
"""
import contextlib
import math
import random
import threading
import time
from typing import NamedTuple

import numba
import numpy as np

from fastnet import _compiling  # noqa: F401  (says so on stderr while kernels compile)
from fastnet import _data, _kernels, _overrides, _shuffle, _trainers, costs, inits
from fastnet._layout import Layout, Workspace, aligned_zeros
from fastnet.errors import TrainingDivergedError

#: At most how many times per epoch ``train`` reports progress, when asked to: its first
#: slice of an epoch is this fraction of it.
PROGRESS_STEPS = 100
#: With progress asked for, ``train`` runs an epoch in slices of about this many seconds
#: (each call of the kernels costs their set-up: 100 slices made the main job 5% slower).
#: A signal stops training after the slice it comes in.
SLICE_SECONDS = 0.1


def sigmoid(z):
    """The sigmoid function 1/(1+exp(-z)), elementwise, without overflow warnings."""
    with np.errstate(over="ignore", under="ignore"):
        return 1.0 / (1.0 + np.exp(-z))


def sigmoid_prime(z):
    """Derivative of the sigmoid function."""
    s = sigmoid(z)
    return s * (1 - s)


#: The module's own functions, to tell when a reader has replaced them.
_MODULE_FUNCTIONS = {"sigmoid": sigmoid, "sigmoid_prime": sigmoid_prime}


def _slice_samples(trained, seconds, smallest, batch):
    """The samples of an epoch's next slice: about ``SLICE_SECONDS`` at the speed the last
    slice, of ``trained`` samples in ``seconds``, went; whole mini-batches of ``batch``, at
    least ``smallest``."""
    wanted = trained * SLICE_SECONDS / max(seconds, 1e-9)
    return max(smallest, batch * int(wanted // batch))


class EpochResult(NamedTuple):
    """What one epoch of training reports: ``correct`` is None without test data."""
    epoch: int
    correct: int | None
    total: int | None
    seconds: float

    def line(self):
        """The chapter's printed line for this epoch."""
        if self.correct is None:
            return f"Epoch {self.epoch} complete"
        return f"Epoch {self.epoch}: {self.correct} / {self.total}"


class _ParameterList(list):
    """The list ``Network.weights`` / ``biases`` returns: item and slice assignment copy
    into the parameter buffer, after checking shapes and values."""

    def __init__(self, name, views):
        super().__init__(views)
        self._name = name

    def __setitem__(self, index, value):
        if isinstance(index, slice):
            positions = range(len(self))[index]
            values = list(value)
            if len(values) != len(positions):
                raise ValueError(f"{self._name}[{index.start}:{index.stop}] holds {len(positions)} "
                                 f"arrays; got {len(values)} to assign")
        else:
            positions, values = [range(len(self))[index]], [value]
        _copy_in(self._name, [list.__getitem__(self, i) for i in positions], values, positions)


def _copy_in(name, views, values, positions):
    """Copy ``values`` into ``views`` once every one is checked: the right shape, numbers, finite."""
    checked = []
    for view, value, i in zip(views, values, positions):
        value = np.asarray(value)
        if value.shape != view.shape:
            raise ValueError(f"{name}[{i}] must have shape {view.shape}, got {value.shape}")
        _data.check_finite_values(f"{name}[{i}]", value)
        checked.append(value)
    for view, value in zip(views, checked):
        view[...] = value


class Network:
    """A fully connected sigmoid network with layer sizes ``sizes``.

    ``sizes[0]`` is the number of inputs, ``sizes[-1]`` the number of outputs. Biases
    and weights are drawn like the chapter's: ``np.random.randn(y, 1)`` for every layer's
    biases, then ``np.random.randn(y, x)`` for every layer's weights; ``init="scaled"``
    divides the weights by ``sqrt(x)`` (chapter 3). ``cost`` is ``"quadratic"`` (the
    chapter's) or ``"cross-entropy"`` (see ``fastnet.costs``). ``dtype`` may be
    ``np.float32`` for speed (the draws are made in float64 and rounded). ``threads``
    caps the threads the kernels use (default: automatic, Numba's
    ``numba.get_num_threads()`` where the work is large enough to share, else one or
    all, whichever trains faster when timed in its first epoch); results do not depend
    on it. ``rng``, a ``np.random.RandomState``, draws the
    parameters instead of ``np.random`` (``RandomState(s)`` draws what ``np.random.seed(s)``
    would). ``sparse``: train the first layer on the non-zero inputs only (True), on all
    of them (False), or choose by the inputs' density (None, the default): the results
    agree to rounding either way.

    One network may be read (``feedforward``, ``outputs``, ``predict``, ``evaluate``)
    from several threads at once; training it from two threads at once is refused.
    Copies (``copy.deepcopy``, ``pickle``) are whole, independent networks.
    """

    def __init__(self, sizes, dtype=np.float64, threads=None, cost="quadratic", init="chapter",
                 rng=None, sparse=None):
        init = inits.get(init)
        if rng is not None and not isinstance(rng, np.random.RandomState):
            raise TypeError(f"rng must be a np.random.RandomState (or None for np.random), "
                            f"got {type(rng).__name__}")
        self._build(sizes, dtype, threads, cost, init.name, sparse)
        inits.draw(init, self._biases, self._weights, np.random if rng is None else rng)

    @classmethod
    def from_parameters(cls, sizes, parameters, dtype=None, cost="quadratic", threads=None,
                        sparse=None):
        """A network holding ``parameters`` (a flat vector in the order of ``parameters``),
        built without drawing random numbers. ``dtype`` defaults to the vector's."""
        parameters = np.asarray(parameters)
        if dtype is None:
            dtype = parameters.dtype if parameters.dtype in (np.float32, np.float64) else np.float64
        net = cls.__new__(cls)
        net._build(sizes, dtype, threads, cost, None, sparse, parameters)
        return net

    def _build(self, sizes, dtype, threads, cost, init, sparse=None, parameters=None):
        """Everything, each argument checked once; the parameters are ``parameters`` (a
        flat array, checked before anything is allocated) if given, else zeros."""
        self._sizes = _data.check_sizes(sizes)
        self._dtype = _data.check_dtype(dtype)
        _data.check_memory(self._sizes, self._dtype)
        layout = None
        if parameters is not None:   # before allocating what sizes ask for
            layout = Layout(self._sizes)
            if parameters.shape != (layout.n_params,):
                raise ValueError(f"parameters must be {layout.n_params} values for sizes "
                                 f"{self._sizes}, got shape {parameters.shape}")
            _data.check_finite_values("parameters", parameters)
        self.threads = threads
        self._cost = costs.get(cost)
        self._init = init
        self._layout = Layout(self._sizes) if layout is None else layout
        self._params = aligned_zeros(self._layout.n_params, self._dtype)
        self._weights, self._biases = self._layout.views(self._params)
        self._workspaces = {}
        self._training = threading.RLock()
        self.sparse = sparse
        if parameters is not None:
            self._params[...] = parameters

    # -- copies: pickle and deepcopy carry the parameters, not the buffers' views ----------
    _ENGINE = frozenset({"_sizes", "_dtype", "_threads", "_sparse", "_cost", "_init", "_layout",
                         "_params", "_weights", "_biases", "_workspaces", "_training"})

    def __getstate__(self):
        state = {key: value for key, value in vars(self).items() if key not in self._ENGINE}
        state["_fastnet"] = {"sizes": self._sizes, "dtype": self._dtype.name,
                             "threads": self._threads, "sparse": self._sparse,
                             "cost": self._cost.name,
                             "init": self._init, "parameters": self._params.copy()}
        return state

    def __setstate__(self, state):
        state = dict(state)
        engine = state.pop("_fastnet")
        self._build(engine["sizes"], engine["dtype"], engine["threads"], engine["cost"],
                    engine["init"], engine["sparse"])
        self._params[...] = engine["parameters"]   # a copy's own: checked when first made
        vars(self).update(state)

    # -- what the network is ------------------------------------------------------------
    @property
    def sizes(self):
        """The layer sizes, a tuple: inputs, hidden layers, outputs."""
        return self._sizes

    @property
    def num_layers(self):
        return len(self._sizes)

    @property
    def dtype(self):
        return self._dtype

    @property
    def cost(self):
        """The cost trained on: a ``fastnet.costs.Cost`` (``cost.name``, ``cost.fn``, ...)."""
        return self._cost

    @property
    def init(self):
        """How the parameters were drawn (``"chapter"``, ``"scaled"``), None if given."""
        return self._init

    @property
    def threads(self):
        """The most threads the kernels use; None: Numba's ``get_num_threads()``."""
        return self._threads

    @threads.setter
    def threads(self, threads):
        self._threads = None if threads is None else _data.check_positive_int("threads", threads)

    @property
    def sparse(self):
        """True: train on non-zero inputs only; False: on all; None: by the inputs' density."""
        return self._sparse

    @sparse.setter
    def sparse(self, sparse):
        if sparse not in (None, True, False):
            raise ValueError(f"sparse must be True, False or None (choose by density), got {sparse!r}")
        self._sparse = sparse

    # -- parameters: views into one flat buffer --------------------------------------
    @property
    def parameters(self):
        """Every weight and bias in one read-only flat array (a view, not a copy): layer
        after layer, the weights row by row, then the biases. The order of model files."""
        view = self._params.view()
        view.flags.writeable = False
        return view

    @property
    def weights(self):
        """Weight matrices ``(sizes[l+1], sizes[l])``, views into the parameter buffer."""
        return _ParameterList("weights", self._weights)

    @weights.setter
    def weights(self, new):
        self._assign("weights", self._weights, new)

    @property
    def biases(self):
        """Bias columns ``(sizes[l+1], 1)``, views into the parameter buffer."""
        return _ParameterList("biases", self._biases)

    @biases.setter
    def biases(self, new):
        self._assign("biases", self._biases, new)

    def _assign(self, name, views, new):
        new = list(new)
        if len(new) != len(views):
            raise ValueError(f"{name} must be a list of {len(views)} arrays, got {len(new)}")
        _copy_in(name, views, new, range(len(views)))

    # -- the chapter's methods ----------------------------------------------------------
    def feedforward(self, a):
        """The network's output for input ``a``: a column ``(inputs, 1)``, a vector
        ``(inputs,)``, or several columns ``(inputs, k)``; the output has the same form."""
        a = np.asarray(a)
        if a.ndim not in (1, 2) or a.shape[0] != self._sizes[0]:
            raise ValueError(f"a must have shape ({self._sizes[0]}, 1), ({self._sizes[0]},) or "
                             f"({self._sizes[0]}, k), got {a.shape}")
        out = self._outputs("a", a.reshape(self._sizes[0], -1).T)
        return out.T.reshape((self._sizes[-1],) + a.shape[1:])

    def outputs(self, X):
        """The output activations ``(n, outputs)`` for the rows of ``X`` ``(n, inputs)``."""
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self._sizes[0]:
            raise ValueError(f"X must have shape (n, {self._sizes[0]}): one row per sample, "
                             f"got {X.shape}")
        return self._outputs("X", X)

    def predict(self, X):
        """The label (largest output, int64) of every row of ``X`` ``(n, inputs)``."""
        return np.argmax(self.outputs(X), axis=1)

    def SGD(self, training_data, epochs, mini_batch_size, eta, test_data=None, lmbda=0.0):
        """Train by mini-batch stochastic gradient descent, printing a line per epoch.

        ``training_data``: a list of ``(x, y)`` tuples (the chapter's), or arrays
        ``(X, y)`` with ``X`` ``(n, inputs)`` and ``y`` labels ``(n,)`` or targets
        ``(n, outputs)``. With ``test_data`` (same formats, integer labels) each epoch
        prints ``Epoch j: correct / total``, else ``Epoch j complete``. ``lmbda`` > 0 adds
        L2 regularisation (chapter 3). Like the chapter's, a list given as training data
        is left in its final shuffled order.
        """
        for result in self.train(training_data, epochs, mini_batch_size, eta, test_data,
                                 lmbda=lmbda):
            print(result.line())

    def train(self, training_data, epochs, mini_batch_size, eta, test_data=None, order=None,
              first_epoch=0, progress=None, lmbda=0.0, rng=None):
        """Train like ``SGD``, yielding an ``EpochResult`` after each epoch.

        ``order`` (a list of sample indices, or an int64 vector of them, shuffled in place
        every epoch) carries the chapter's cumulative shuffle across calls; by default it
        starts as ``range(n)``. A vector is shuffled without converting it either way.
        Epochs are numbered from ``first_epoch``. ``progress``, if given, is called with the
        number of samples trained so far in the epoch after each slice of it: the epoch then
        runs in slices of whole mini-batches of about ``SLICE_SECONDS`` (the first
        ``1 / PROGRESS_STEPS`` of it, none smaller), with the same result.
        ``lmbda``: L2 regularisation, every step scales the weights by
        ``1 - eta * lmbda / n`` for ``n`` training samples (biases are not decayed).
        ``rng``, a ``random.Random``, shuffles instead of the ``random`` module.
        """
        epochs = _data.check_positive_int("epochs", epochs, minimum=0)
        batch = _data.check_positive_int("mini_batch_size", mini_batch_size)
        eta = self._eta(eta)
        first_epoch = _data.check_positive_int("first_epoch", first_epoch, minimum=0)
        X, T = self._training_arrays("training_data", training_data)
        test = None if test_data is None else self._test_arrays("test_data", test_data)
        n = X.shape[0]
        decay = _data.check_decay(eta, lmbda, n)
        order = np.arange(n) if order is None else _data.check_order(order, n)
        if rng is not None and not isinstance(rng, random.Random):
            raise TypeError(f"rng must be a random.Random (or None for the random module), "
                            f"got {type(rng).__name__}")
        generator = random if rng is None else rng
        smallest = batch * -(-n // (batch * PROGRESS_STEPS))
        with self._exclusive():
            if not _kernels.all_finite(self._params):
                raise ValueError(f"{self._NOT_FINITE}; training on them cannot recover")
            trainer = _trainers.choose(self, X, T, batch, decay, self._replaced())
            tested = None if test is None else _trainers.outputs(self, test[0])
            for j in range(first_epoch, first_epoch + epochs):
                started = time.perf_counter()
                indices = _shuffle.shuffle(generator, order)   # random.shuffle's, compiled
                with trainer.epoch():
                    done, step = 0, (n if progress is None else smallest)
                    while done < n:
                        began = time.perf_counter()
                        self._train_samples(trainer, indices[done:done + step], eta)
                        seconds, trained = time.perf_counter() - began, min(step, n - done)
                        done += trained
                        if progress is not None:
                            progress(done)
                            step = _slice_samples(trained, seconds, smallest, batch)
                if not _kernels.all_finite(self._params):
                    raise self._diverged(j, eta, X)
                correct = None if test is None else self._count_correct(*test, tested)
                total = None if test is None else test[0].shape[0]
                yield EpochResult(j, correct, total, time.perf_counter() - started)
        if isinstance(training_data, list):
            training_data[:] = [training_data[i] for i in order]

    def update_mini_batch(self, mini_batch, eta):
        """One gradient-descent step on the samples of ``mini_batch`` (a list of (x, y))."""
        eta = self._eta(eta)
        X, T = self._training_arrays("mini_batch", mini_batch)
        with self._exclusive():
            if self._replaced() & {"backprop", "cost_derivative", "sigmoid", "sigmoid_prime"}:
                _overrides.update_mini_batch(self, X, T, eta, 1.0)
            else:
                n = X.shape[0]
                _trainers.DenseTrainer(self, X, T, n, 1.0).run(np.arange(n), eta)

    def backprop(self, x, y):
        """``(nabla_b, nabla_w)``: the gradient of the cost for one sample, as lists shaped
        like ``biases`` and ``weights``."""
        X, T = self._training_arrays("(x, y)", [(x, y)])
        replaced = self._replaced()
        if replaced & {"cost_derivative", "sigmoid", "sigmoid_prime"}:
            return _overrides.backprop(self, X[0], T[0], *self._sigmoids(),
                                       "cost_derivative" in replaced)
        workspace = Workspace(self._layout, 1, self._dtype)
        layout = self._layout
        order = np.zeros(1, dtype=np.int64)
        grad = np.zeros_like(self._params)
        threads = self._kernel_threads()
        one = self._dtype.type(1.0)
        _kernels.load_inputs(X, order, 0, 1, workspace.activations)
        _kernels.forward(self._params, layout.sizes, layout.weight_offsets, layout.bias_offsets,
                         workspace.activations, workspace.unit_offsets, 1, threads)
        _kernels.backward(self._params, grad, -one, one, self._cost.code, layout.sizes,
                          layout.weight_offsets, layout.bias_offsets, workspace.activations,
                          workspace.deltas, workspace.unit_offsets, 1, T, order, 0, threads, 0)
        nabla_w, nabla_b = layout.views(grad)
        return nabla_b, nabla_w

    def evaluate(self, test_data):
        """How many test inputs the network classifies right (largest output = label)."""
        return self._count_correct(*self._test_arrays("test_data", test_data))

    def total_cost(self, data, lmbda=0.0):
        """The mean cost over ``data`` (training formats), plus the L2 term
        ``0.5 * lmbda / n * sum(|w|^2)`` when ``lmbda`` is given (as the book's chapter 3)."""
        lmbda = _data.check_real("lmbda", lmbda, inclusive=True)
        X, T = self._training_arrays("data", data)
        return self._total_cost(X, T, lmbda)

    def _total_cost(self, X, T, lmbda, outputs=None):
        """``total_cost`` of converted ``X``, ``T`` (``_training_arrays``) and a checked
        ``lmbda``; for the same data evaluated again and again, ``outputs`` made once
        (``_trainers.outputs``: the inputs converted once)."""
        n = X.shape[0]
        value = self._cost.fn(self._predict(X, "data inputs", outputs), T) / n
        if lmbda:
            value += 0.5 * lmbda / n * sum(float(np.sum(np.square(w, dtype=np.float64)))
                                           for w in self._weights)
        return value

    def save(self, path):
        """Write the network to ``path`` (.npz) atomically; ``fastnet.load(path)`` reads it."""
        from fastnet import persist
        persist.save(self, path)

    def cost_derivative(self, output_activations, y):
        """Partial derivatives of the cost with respect to the output activations."""
        return self._cost.derivative(output_activations, y)

    # -- helpers: arrays in, kernels called -----------------------------------------------
    def _training_arrays(self, name, data):
        X, y = _data.as_arrays(name, data)
        _data.check_width(name, X, self._sizes[0])
        return (_data.inputs(f"{name} inputs", X, self._dtype),
                _data.targets(name, y, self._sizes[-1], self._dtype))

    def _test_arrays(self, name, data):
        X, y = _data.as_arrays(name, data)
        _data.check_width(name, X, self._sizes[0])
        return _data.inputs(f"{name} inputs", X, self._dtype), _data.labels(name, y, self._sizes[-1])

    def _eta(self, eta):
        """``eta`` checked, and finite in the network's dtype (1e39 is not a float32)."""
        eta, largest = _data.check_eta(eta), float(np.finfo(self._dtype).max)
        if eta > largest:
            raise ValueError(f"eta={eta:g} is too large for a {self._dtype.name} network "
                             f"(at most {largest:g})")
        return eta

    def _kernel_threads(self):
        """The threads the kernels run on: ``threads``, at most Numba's (one scratch each)."""
        available = numba.get_num_threads()
        return available if self._threads is None else min(self._threads, available)

    @contextlib.contextmanager
    def _exclusive(self):
        """Hold the network for training: a second thread is refused, not let in to race."""
        if not self._training.acquire(blocking=False):
            raise RuntimeError("this network is being trained in another thread; one network "
                               "cannot be trained from two threads at once (train a copy: "
                               "copy.deepcopy(net))")
        try:
            yield
        finally:
            self._training.release()

    def _replaced(self):
        """The chapter's steps a subclass, the instance or a patch of this module replaced."""
        replaced = {name for name in ("update_mini_batch", "backprop", "cost_derivative")
                    if getattr(type(self), name) is not getattr(Network, name) or name in vars(self)}
        replaced |= {name for name, original in _MODULE_FUNCTIONS.items()
                     if hasattr(self, name) or globals()[name] is not original}
        return replaced

    def _sigmoids(self):
        """``(sigmoid, sigmoid_prime)`` in force: the network's own, else this module's."""
        return tuple(getattr(self, name) if hasattr(self, name) else globals()[name]
                     for name in _MODULE_FUNCTIONS)

    def _train_samples(self, trainer, order, eta):
        """Train the samples ``order`` (one epoch, or a slice of one) with ``trainer``."""
        trainer.run(order, eta)

    def _workspace(self, key, make):
        """The scratch kept under ``key``, made by ``make()`` the first time."""
        if key not in self._workspaces:
            self._workspaces[key] = make()
        return self._workspaces[key]

    def _outputs(self, name, X):
        _data.check_finite(name, X)
        return self._predict(_data.inputs(name, X, self._dtype), name)

    def _predict(self, X, name, outputs=None):
        """Output activations of the rows of ``X`` (already converted), computed by
        ``outputs`` (from ``_trainers.outputs``; made now if not given), which uses scratch
        of its own: several threads may evaluate one network at once."""
        out = (outputs or _trainers.outputs(self, X))()
        if not np.isfinite(out).all():
            raise self._overflowed(name, X, out)
        return out

    _NOT_FINITE = ("the network's weights or biases hold NaN or inf (written into weights[l] "
                   "or biases[l]?)")

    def _overflowed(self, name, X, out):
        """The error for outputs that are NaN: which input overflowed, or which parameter is bad."""
        if not np.isfinite(self._params).all():
            return ValueError(f"{self._NOT_FINITE}; its outputs are meaningless")
        bad = int(np.argwhere(~np.isfinite(out))[0, 0])
        return ValueError(
            f"{name}: the outputs for sample {bad} are NaN: its weighted sums overflow "
            f"{self._dtype.name} (inputs up to {float(np.abs(X[bad]).max()):g}, weights up to "
            f"{float(np.abs(self._params).max()):g}); scale the inputs, to about [0, 1] like "
            f"MNIST's pixels")

    def _diverged(self, epoch, eta, X):
        """The error for parameters that became NaN or inf in ``epoch``, naming the cause."""
        message = f"training diverged in epoch {epoch}: weights or biases became NaN or inf"
        largest = float(np.abs(X).max())
        if largest * X.shape[1] >= math.sqrt(np.finfo(self._dtype).max):
            return TrainingDivergedError(
                f"{message}. The inputs reach {largest:g}, large enough to overflow "
                f"{self._dtype.name} arithmetic: scale them, to about [0, 1] like MNIST's "
                f"pixels (eta={eta:g} may be too large as well)")
        return TrainingDivergedError(f"{message} with eta={eta:g}; try a smaller eta")

    def _count_correct(self, X, labels, outputs=None):
        predicted = np.argmax(self._predict(X, "test_data inputs", outputs), axis=1)
        return int(np.count_nonzero(predicted == labels))
