"""fastnet's network as a scikit-learn classifier: ``NetworkClassifier``.

    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> model = make_pipeline(StandardScaler(), NetworkClassifier(random_state=0))
    >>> model.fit(X_train, y_train).score(X_test, y_test)   # doctest: +SKIP

The estimator follows scikit-learn's rules (``__init__`` stores the parameters, ``fit``
validates them and the data, fitted attributes end in ``_``), so it works in pipelines,
grid searches and with ``clone`` and ``pickle``. Needs scikit-learn 1.6 or later:
``pip install 'fastnet-nndl[sklearn]'``.
"""
import contextlib
import copy
import random
from collections.abc import Sequence
from numbers import Integral, Real

import numpy as np

from fastnet import _data, costs, inits
from fastnet.errors import install_hint
from fastnet.network import Network

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
    from sklearn.utils import check_random_state
    from sklearn.utils._param_validation import Interval, Options, StrOptions
    from sklearn.utils.multiclass import (_check_partial_fit_first_call,
                                          check_classification_targets, unique_labels)
    from sklearn.utils.validation import check_is_fitted, validate_data
except ImportError as error:
    raise ImportError("fastnet.sklearn needs scikit-learn 1.6 or later; install it with "
                      + install_hint("sklearn")) from error

#: Input dtypes used as given; anything else is converted to float64 (float32 inputs are
#: exact in a float64 network).
_INPUT_DTYPES = (np.float64, np.float32)
#: What fitting sets: put back as it was when a fit fails.
_FITTED = ("classes_", "network_", "_shuffler", "n_iter_", "n_features_in_", "feature_names_in_")


class NetworkClassifier(ClassifierMixin, BaseEstimator):
    """The chapter's sigmoid network, trained by mini-batch SGD, as a classifier.

    The network has ``n_features_in_`` inputs, the hidden layers ``hidden_layer_sizes``
    and one sigmoid output per class (two for two classes); a sample's desired output is
    1 for its class and 0 for the others. The defaults are the chapter's: 30 hidden
    neurons, 30 epochs, mini-batches of 10, ``eta=3.0``, the quadratic cost and N(0, 1)
    initial weights, in float64.

    Parameters
    ----------
    hidden_layer_sizes : int or sequence of int, default=(30,)
        Neurons in each hidden layer; ``()`` for none.
    epochs : int, default=30
        Passes over the training data in ``fit`` (``partial_fit`` makes one).
    mini_batch_size : int, default=10
    eta : float, default=3.0
        The learning rate.
    lmbda : float, default=0.0
        L2 regularisation (the book's chapter 3): every step scales the weights by
        ``1 - eta * lmbda / n`` for ``n`` training samples.
    cost : {"quadratic", "cross-entropy"}, default="quadratic"
    init : {"chapter", "scaled"}, default="chapter"
        Initial weights N(0, 1), or N(0, 1/inputs) for ``"scaled"``.
    dtype : np.float64, np.float32, "float64" or "float32", default=np.float64
    random_state : int, RandomState instance or None, default=None
        Draws the initial parameters and the order of the samples in each epoch; an int
        gives the same network on every fit. None uses NumPy's global RandomState
        (scikit-learn's convention). The ``random`` module is never used.
    threads : int or None, default=None
        The most threads the kernels use (None: Numba's default, all cores). When several
        fits run at once (``GridSearchCV(n_jobs=...)``, a Dask or joblib backend), pass
        ``threads=1``: kernel threads of concurrent fits wait on each other's cores and
        every fit gets many times slower.

    Inputs ``X`` are used as given, never rescaled: the network learns best from values
    of about ``[0, 1]`` (MNIST's pixels); scale other data in a pipeline, e.g.
    ``make_pipeline(StandardScaler(), NetworkClassifier())``.

    Attributes
    ----------
    network_ : fastnet.network.Network
        The trained network.
    classes_ : ndarray of shape (n_classes,)
        The class labels (any type), in the order of the outputs and of ``predict_proba``.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when ``X`` had string column names.
    n_iter_ : int
        Epochs trained so far.
    """

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "epochs": [Interval(Integral, 1, None, closed="left")],
        "mini_batch_size": [Interval(Integral, 1, None, closed="left")],
        "eta": [Interval(Real, 0, None, closed="neither")],
        "lmbda": [Interval(Real, 0, None, closed="left")],
        "cost": [StrOptions(set(costs.COSTS))],
        "init": [StrOptions(set(inits.INITS))],
        "dtype": [StrOptions({"float64", "float32"}), Options(type, {np.float64, np.float32})],
        "random_state": ["random_state"],
        "threads": [Interval(Integral, 1, None, closed="left"), None],
    }

    def __init__(self, hidden_layer_sizes=(30,), epochs=30, mini_batch_size=10, eta=3.0,
                 lmbda=0.0, cost="quadratic", init="chapter", dtype=np.float64,
                 random_state=None, threads=None):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.epochs = epochs
        self.mini_batch_size = mini_batch_size
        self.eta = eta
        self.lmbda = lmbda
        self.cost = cost
        self.init = init
        self.dtype = dtype
        self.random_state = random_state
        self.threads = threads

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Train a new network for ``epochs`` epochs on ``X`` ``(n_samples, n_features)``
        and the labels ``y`` ``(n_samples,)``; returns self."""
        with self._unchanged_on_error():
            X, y = self._validate(X, y, reset=True)
            self.classes_ = unique_labels(y)
            self._start(X.shape[1])
            return self._train(X, self._encode(y), self.epochs)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None):
        """Train one epoch on ``X`` and ``y``, going on from the network trained so far
        (by ``fit`` or earlier calls). The first call needs ``classes``, every label that
        any call will see; returns self."""
        with self._unchanged_on_error():
            started = hasattr(self, "network_")
            X, y = self._validate(X, y, reset=not started)
            _check_partial_fit_first_call(self, classes)
            codes = self._encode(y)
            if not started:
                self._start(X.shape[1])
            return self._train(X, codes, 1)

    def predict_proba(self, X):
        """Each class's output divided by the sum of the outputs ``(n_samples, n_classes)``.

        The outputs are independent sigmoids, one per class; scaled to sum to 1 per row
        they rank the classes as the network does, but they are not calibrated
        probabilities. (A row whose outputs are all 0 gets ``1 / n_classes`` each.)
        """
        outputs = self._outputs(X)
        totals = outputs.sum(axis=1, keepdims=True)
        uniform = np.full_like(outputs, 1.0 / outputs.shape[1])
        return np.divide(outputs, totals, out=uniform, where=totals > 0)

    def predict(self, X):
        """The class of the largest output for each row of ``X``."""
        outputs = self._outputs(X)
        return self.classes_[np.argmax(outputs, axis=1)]

    # -- helpers ------------------------------------------------------------------------
    @contextlib.contextmanager
    def _unchanged_on_error(self):
        """A fit that fails (a bad lmbda, unknown labels, a diverged epoch, Ctrl-C) leaves
        the estimator as it was, fitted or not, never half made: a new network that was
        never trained must not predict."""
        before = copy.deepcopy({name: vars(self)[name] for name in _FITTED if name in vars(self)})
        try:
            yield
        except BaseException:
            for name in _FITTED:
                vars(self).pop(name, None)
            vars(self).update(before)
            raise

    def _validate(self, X, y, reset):
        X, y = validate_data(self, X, y, dtype=_INPUT_DTYPES, reset=reset)
        check_classification_targets(y)
        return X, y

    def _start(self, n_features):
        """A new network for ``n_features`` inputs and ``classes_``, and its shuffler."""
        rng = check_random_state(self.random_state)
        sizes = (n_features, *self._hidden_sizes(), len(self.classes_))
        self.network_ = Network(sizes, dtype=self.dtype, threads=self.threads, cost=self.cost,
                                init=self.init, rng=rng)
        self._shuffler = random.Random(int(rng.randint(np.iinfo(np.int32).max)))
        self.n_iter_ = 0

    def _hidden_sizes(self):
        sizes = self.hidden_layer_sizes
        if not isinstance(sizes, (Integral, Sequence, np.ndarray)) or isinstance(sizes, str):
            raise ValueError(f"hidden_layer_sizes must be a positive integer or a sequence of "
                             f"them, one per hidden layer, in order, got {sizes!r}"
                             + (" (a set has no order)" if isinstance(sizes, (set, frozenset)) else ""))
        sizes = [sizes] if isinstance(sizes, Integral) else list(sizes)
        if not all(isinstance(s, Integral) and not isinstance(s, bool) and s >= 1 for s in sizes):
            raise ValueError(f"hidden_layer_sizes must be positive integers, one per hidden "
                             f"layer, got {self.hidden_layer_sizes!r}")
        return [int(s) for s in sizes]

    def _train(self, X, codes, epochs):
        """``epochs`` epochs on ``X`` and the class positions ``codes``; returns self."""
        X = _data.inputs("X", X, self.network_.dtype)   # errors name X, as in predict
        for _ in self.network_.train((X, codes), epochs, self.mini_batch_size, self.eta,
                                     lmbda=self.lmbda, rng=self._shuffler):
            self.n_iter_ += 1
        return self

    def _encode(self, y):
        """The position of each label of ``y`` in ``classes_`` (the output it trains)."""
        codes = np.searchsorted(self.classes_, y)
        known = codes < len(self.classes_)
        known[known] = self.classes_[codes[known]] == y[known]
        if not known.all():
            unknown = unique_labels(y[~known])
            raise ValueError(f"y holds labels {unknown.tolist()} that are not among the "
                             f"classes {self.classes_.tolist()} (classes_); pass every label "
                             f"in classes= on the first call to partial_fit")
        return codes

    def _outputs(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, dtype=_INPUT_DTYPES, reset=False)
        return self.network_.outputs(X)
