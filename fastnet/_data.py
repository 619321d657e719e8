"""The chapter's data formats turned into validated arrays, once per call.

Accepted: a sequence of ``(x, y)`` samples (``x`` shaped ``(inputs, 1)`` or ``(inputs,)``,
``y`` an integer label or a one-hot/target column), or a pair of arrays ``(X, y)`` with
``X`` shaped ``(n, inputs)`` and ``y`` integer labels ``(n,)`` or targets ``(n, outputs)``.
Every check is vectorised; nothing here runs per mini-batch.
"""
import math
import os
import numbers
import warnings
from collections.abc import Sequence

import numpy as np

#: The largest seed ``np.random.seed`` takes.
MAX_SEED = 2**32 - 1


def check_positive_int(name, value, minimum=1):
    """``value`` as an int, or a ValueError/TypeError naming ``name``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_seed(name, seed):
    """``seed`` as an int that ``random.seed`` and ``np.random.seed`` both take: 0..2**32 - 1."""
    message = f"{name} must be an integer from 0 to 2**32 - 1, got {seed!r}"
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral):
        raise TypeError(message)
    if not 0 <= seed <= MAX_SEED:
        raise ValueError(message)
    return int(seed)


def check_real(name, value, minimum=0.0, inclusive=False):
    """``value`` as a float: finite and > ``minimum`` (>= with ``inclusive``)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r} ({type(value).__name__})")
    try:
        real = float(value)
    except OverflowError:  # an int beyond float range
        real = math.inf
    if not math.isfinite(real) or real < minimum or (real == minimum and not inclusive):
        raise ValueError(f"{name} must be finite and {'>=' if inclusive else '>'} {minimum:g}, "
                         f"got {value!r}")
    return real


def check_eta(eta):
    """The learning rate as a float: finite and > 0."""
    return check_real("eta", eta)


def check_decay(eta, lmbda, n):
    """The factor ``1 - eta * lmbda / n`` by which L2 regularisation scales the weights
    each step; it must stay positive, or every step would flip or zero the weights."""
    lmbda = check_real("lmbda", lmbda, inclusive=True)
    decay = 1.0 - eta * lmbda / n
    if decay <= 0:
        raise ValueError(f"lmbda={lmbda:g} is too large for eta={eta:g} and {n} training samples: "
                         f"each step would scale the weights by 1 - eta * lmbda / n = {decay:g}; "
                         f"it must stay above 0")
    return decay


def check_sizes(sizes):
    """The layer sizes as a tuple of ints: at least two, each a positive integer, from an
    ordered sequence (a set would put the layers in an arbitrary order)."""
    if isinstance(sizes, (str, bytes)) or not isinstance(sizes, (Sequence, np.ndarray)):
        raise TypeError(f"sizes must be a list of layer sizes such as [784, 30, 10], got {sizes!r}"
                        + (" (a set has no order)" if isinstance(sizes, (set, frozenset)) else ""))
    sizes = list(sizes)
    if len(sizes) < 2:
        raise ValueError(f"sizes must name at least 2 layers (inputs and outputs), got {sizes!r}")
    return tuple(check_positive_int(f"sizes[{i}]", s) for i, s in enumerate(sizes))


def check_memory(sizes, dtype):
    """Refuse layer sizes whose parameters alone would not fit in this machine's memory
    (before anything is allocated, and before the count overflows a 64-bit integer)."""
    count = sum((fan_in + 1) * fan_out for fan_in, fan_out in zip(sizes, sizes[1:]))
    check_bytes(f"sizes {sizes}", count * np.dtype(dtype).itemsize, f"{count:,} parameters",
                f" as {np.dtype(dtype).name}")


def check_bytes(subject, nbytes, what, how=""):
    """Refuse ``subject`` (an argument and its value) when ``what`` it asks for, ``nbytes``
    bytes (``how``), would not fit in this machine's memory."""
    memory = _physical_memory()
    if memory is not None and nbytes > memory:
        raise ValueError(f"{subject}: {what} need {nbytes / 2**30:,.1f} GiB{how}, more than "
                         f"this machine's {memory / 2**30:,.1f} GiB of memory")


def _physical_memory():
    """Bytes of physical memory, or None where the system does not say."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def check_dtype(dtype):
    """``dtype`` as a NumPy dtype, float32 or float64."""
    try:
        checked = np.dtype(dtype)
    except TypeError:
        checked = None
    if checked not in (np.float32, np.float64):
        raise ValueError(f"dtype must be np.float32 or np.float64, got {dtype!r}")
    return checked


def _is_permutation(indices):
    """Whether the integers ``indices`` hold each of ``0..len - 1`` once: in range and
    none twice (counted, not sorted: a tenth of the time for MNIST's 50,000)."""
    return indices.size == 0 or (indices.min() >= 0 and indices.max() < indices.size
                                 and np.bincount(indices, minlength=indices.size).max() == 1)


def check_order(order, n):
    """``order`` unchanged if it is a list, or a writable contiguous int64 vector, holding
    a permutation of ``range(n)`` (it is shuffled in place, and the kernels index with it)."""
    is_vector = (isinstance(order, np.ndarray) and order.dtype == np.int64 and order.ndim == 1
                 and order.flags.c_contiguous and order.flags.writeable)
    if not (isinstance(order, list) or is_vector):
        got = (f"an array of {order.dtype}, shape {order.shape}" if isinstance(order, np.ndarray)
               else f"a {type(order).__name__}")
        raise TypeError(f"order must be a list or a writable int64 vector of the sample indices "
                        f"(it is shuffled in place), got {got}")
    indices = np.asarray(order)
    if (indices.shape != (n,) or not np.issubdtype(indices.dtype, np.integer)
            or not _is_permutation(indices)):
        raise ValueError(f"order must hold each of the sample indices 0..{n - 1} once, "
                         f"got {indices.size} values of dtype {indices.dtype}")
    return order


def _stack_samples(name, data):
    """``(X, y)`` from a sequence of ``(x, y)`` samples; ``y`` is 1-D labels or 2-D targets."""
    try:
        xs, ys = zip(*data)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a list of (x, y) tuples or a pair of arrays (X, y); "
                        f"its items are not (x, y) pairs") from None
    X = _stack_columns(f"{name} inputs", xs)
    if all(np.ndim(y) == 0 for y in ys):
        return X, np.asarray(ys)
    return X, _stack_columns(f"{name} targets", ys)


def _stack_columns(name, columns):
    shapes = {np.shape(c) for c in columns}
    if len(shapes) != 1:
        first = np.shape(columns[0])
        bad = next(i for i, c in enumerate(columns) if np.shape(c) != first)
        raise ValueError(f"{name}: sample {bad} has shape {np.shape(columns[bad])}, "
                         f"but sample 0 has shape {first}; all must match")
    (shape,) = shapes
    if len(shape) not in (1, 2) or (len(shape) == 2 and shape[1] != 1):
        raise ValueError(f"{name} must be column vectors shaped (k, 1) or (k,), got {shape}")
    return np.asarray(columns).reshape(len(columns), shape[0])


def as_arrays(name, data):
    """``(X, y)`` arrays from either accepted format, with a non-empty, finite, 2-D ``X``."""
    if data is None:
        raise TypeError(f"{name} must be a list of (x, y) tuples or a pair of arrays (X, y), got None")
    if isinstance(data, tuple) and len(data) == 2 and all(isinstance(p, np.ndarray) for p in data):
        X, y = data
    else:
        data = data if isinstance(data, (list, tuple)) else list(data)
        if not data:
            raise ValueError(f"{name} is empty; expected at least one sample")
        X, y = _stack_samples(name, data)
    if X.ndim != 2:
        raise ValueError(f"{name}: X must be 2-D, shaped (samples, inputs), got shape {X.shape}")
    if X.shape[0] == 0:
        raise ValueError(f"{name} is empty; expected at least one sample")
    if y.shape[:1] != X.shape[:1]:
        raise ValueError(f"{name}: X has {X.shape[0]} rows but y has shape {y.shape}; "
                         f"expected one label or target row per sample")
    check_finite(f"{name} inputs", X)
    return X, y


def _first_not_finite(name, values):
    """The index (a tuple) of the first NaN or inf in ``values``, None if there is none; a
    TypeError naming ``name`` if they are not real numbers."""
    if not np.issubdtype(values.dtype, np.number) or np.iscomplexobj(values):
        raise TypeError(f"{name} must be real numbers, got dtype {values.dtype}")
    with np.errstate(over="ignore", invalid="ignore"):   # a sum that overflows is no error
        total = np.add.reduce(values, axis=None) if values.size else 0
    if np.isfinite(total):
        return None   # a NaN or inf makes the sum one: no n-sized mask in the common case
    found = np.argwhere(~np.isfinite(values))   # or the sum overflowed
    return tuple(int(i) for i in found[0]) if found.size else None


def check_finite(name, X):
    """Reject non-numeric values and NaN or inf, naming the first bad sample (row)."""
    where = _first_not_finite(name, X)
    if where is not None:
        raise ValueError(f"{name} must be finite, but sample {where[0]} holds NaN or inf")


def check_finite_values(name, values):
    """Reject an array of parameters that is not numbers or holds NaN or inf, naming where."""
    where = _first_not_finite(name, values)
    if where is not None:
        raise ValueError(f"{name} must be finite, but holds {values[where]} at index "
                         f"{where[0] if len(where) == 1 else where}")


def check_width(name, X, n_inputs):
    if X.shape[1] != n_inputs:
        raise ValueError(f"{name} inputs have {X.shape[1]} values per sample, "
                         f"but the network's input layer has {n_inputs}")


def check_labels(name, y, n_outputs):
    """Integer labels in ``[0, n_outputs)`` as int64."""
    if not np.issubdtype(y.dtype, np.integer):
        raise TypeError(f"{name} labels must be integers, got dtype {y.dtype}")
    out_of_range = (y < 0) | (y >= n_outputs)
    if out_of_range.any():
        bad = int(np.argmax(out_of_range))
        raise ValueError(f"{name} label {y[bad]} (sample {bad}) is outside 0..{n_outputs - 1}")
    return y.astype(np.int64, copy=False)


def _check_targets(name, y, n_outputs):
    """Target rows ``(n, n_outputs)``: the output layer's width, finite numbers."""
    if y.ndim != 2 or y.shape[1] != n_outputs:
        raise ValueError(f"{name} targets must have {n_outputs} values per sample "
                         f"(the output layer's size), got shape {y.shape[1:]}")
    check_finite(f"{name} targets", y)
    return y


def targets(name, y, n_outputs, dtype):
    """Desired outputs ``(n, n_outputs)``: one-hot rows for labels, else the targets given."""
    if y.ndim == 1:
        labels = check_labels(name, y, n_outputs)
        T = np.zeros((labels.size, n_outputs), dtype=dtype)
        T[np.arange(labels.size), labels] = 1.0
        return T
    return np.ascontiguousarray(_check_targets(name, y, n_outputs), dtype=dtype)


def labels(name, y, n_outputs):
    """Integer labels; one-hot/target rows are read as their largest entry."""
    if y.ndim == 1:
        return check_labels(name, y, n_outputs)
    return np.argmax(_check_targets(name, y, n_outputs), axis=1)


def inputs(name, X, dtype):
    """``X`` as a C-contiguous float array the kernels can read: float32 inputs stay float32
    (exact in a float64 network); anything else becomes the network's ``dtype``.

    Integer inputs holding values above 1 are image bytes (0..255): they are scaled to
    [0, 1] as MNIST's loader does, with a warning; other integers beyond 1 are an error.
    Values too large for ``dtype`` are an error.
    """
    if X.dtype.kind in "iu" and X.size and X.max() > 1:
        low, high = X.min(), X.max()
        if low < 0 or high > 255:
            raise ValueError(f"{name} are integers from {low} to {high} ({X.dtype}); fastnet "
                             f"expects pixels in [0, 1] (or image bytes 0..255): scale them")
        warnings.warn(f"{name} are bytes 0..255 ({X.dtype}); fastnet divided them by 255 to "
                      f"get pixels in [0, 1], as MNIST's loader does. Pass floats to silence "
                      f"this.", UserWarning, stacklevel=4)
        X = X.astype(np.float32)
        X /= np.float32(255)
    elif X.dtype != np.float32:
        with np.errstate(over="ignore"):
            converted = X.astype(dtype, copy=False)
        if converted.dtype.itemsize < X.dtype.itemsize and not np.isfinite(converted).all():
            bad = int(np.argwhere(~np.isfinite(converted))[0, 0])
            raise ValueError(f"{name}: values too large for {np.dtype(dtype).name} (sample {bad} "
                             f"reaches {np.abs(X[bad]).max():g}); scale them, to about [0, 1] "
                             f"like MNIST's pixels")
        X = converted
    return np.ascontiguousarray(X)
