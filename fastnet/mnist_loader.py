"""The chapter's MNIST loader API (load_data, load_data_wrapper, vectorized_result), fast.

Reads the four official IDX files (downloaded when missing), the chapter's mnist.pkl.gz
or Keras' mnist.npz; see fastnet.datasets for where it looks.
"""

import numpy as np

from . import datasets
from .errors import FastnetFileError

PIXELS = 784
DIGITS = 10
VALIDATION_SIZE = 10_000
NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")


def load_data(path=None):
    """MNIST as (training, validation, test), each a pair (X, y).

    X is float32 (n, 784) in [0, 1], y int64 (n,) digits. The sets hold 50,000, 10,000 and
    10,000 images: the official training set's first 50,000 and last 10,000, then the
    official test set. `path` is a folder or a .pkl.gz / .npz file (default: $FASTNET_DATA,
    else ./data).
    """
    source = datasets.find_mnist(path)
    if source.is_dir():
        return _split(source, *datasets.read_mnist_idx(source))
    if source.name.endswith(".npz"):
        return _split(source, *datasets.read_npz(source, NPZ_KEYS))
    return _from_pickle(source, datasets.read_pickle(source))


def load_data_wrapper(path=None):
    """The chapter's lists (training, validation, test) of pairs (x, y).

    x is a (784, 1) column; y is a (10, 1) one-hot column in training and the digit in
    validation and test.
    """
    (images, labels), validation, test = load_data(path)
    training = [(x, vectorized_result(j)) for x, j in zip(_columns(images), labels)]
    return training, _labelled_columns(*validation), _labelled_columns(*test)


def vectorized_result(j):
    """A (10, 1) float64 column with 1.0 at row `j` (a digit 0..9) and zeros elsewhere."""
    if isinstance(j, bool) or not isinstance(j, (int, np.integer)) or not 0 <= j < DIGITS:
        raise ValueError(f"vectorized_result: j must be an integer digit 0..9, got {j!r}")
    e = np.zeros((DIGITS, 1))
    e[j] = 1.0
    return e


def _columns(images):
    """(n, 784) -> (n, 784, 1): iterating over it gives (784, 1) column views."""
    return images[:, :, np.newaxis]


def _labelled_columns(images, labels):
    return list(zip(_columns(images), labels))


def _split(source, train_images, train_labels, test_images, test_labels):
    """The chapter's three sets from the official two: the last 10,000 training images validate."""
    images, labels = _checked(source, "training", train_images, train_labels)
    cut = len(labels) - VALIDATION_SIZE
    if cut <= 0:
        raise FastnetFileError(
            f"{source}: only {len(labels)} training images; need more than {VALIDATION_SIZE} "
            f"to hold out the last {VALIDATION_SIZE} for validation")
    test = _checked(source, "test", test_images, test_labels)
    return (images[:cut], labels[:cut]), (images[cut:], labels[cut:]), test


def _from_pickle(source, data):
    """The three (X, y) pairs of the chapter's pickle, checked."""
    parts = ("training", "validation", "test")
    if not (_is_sequence(data, 3) and all(_is_sequence(pair, 2) for pair in data)):
        raise FastnetFileError(
            f"{source}: expected ((X, y), (X, y), (X, y)) as in the chapter's mnist.pkl.gz, "
            f"found a {type(data).__name__}")
    return tuple(_checked(source, part, *pair) for part, pair in zip(parts, data))


def _is_sequence(value, length):
    return isinstance(value, (tuple, list)) and len(value) == length


def _checked(source, part, images, labels):
    """(X, y) as float32 (n, 784) in [0, 1] and int64 (n,) digits, else FastnetFileError."""
    where = f"{source}: {part}"
    if not (isinstance(images, np.ndarray) and isinstance(labels, np.ndarray)):
        raise FastnetFileError(f"{where} set is not a pair of NumPy arrays: found "
                               f"({type(images).__name__}, {type(labels).__name__})")
    if images.shape[1:] == (28, 28):
        images = images.reshape(-1, PIXELS)
    if images.ndim != 2 or images.shape[1] != PIXELS:
        raise FastnetFileError(
            f"{where} images have shape {images.shape}, expected (n, {PIXELS}) or (n, 28, 28)")
    if labels.shape != (len(images),):
        raise FastnetFileError(
            f"{where} labels have shape {labels.shape}, expected ({len(images)},), one per image")
    if labels.dtype.kind not in "iu":
        raise FastnetFileError(f"{where} labels must be integer digits 0..9, found {labels.dtype}")
    if labels.size and not (labels.min() >= 0 and labels.max() < DIGITS):
        raise FastnetFileError(f"{where} labels must be integer digits 0..9, "
                               f"found values {labels.min()}..{labels.max()}")
    return _scaled(where, images), labels.astype(np.int64)


def _scaled(where, images):
    """Pixels as float32 in [0, 1]: bytes are divided by 255, floats kept as they are."""
    if images.dtype == np.uint8:
        pixels = images.astype(np.float32)
        pixels /= 255
        return pixels
    if images.dtype.kind != "f":
        raise FastnetFileError(f"{where} images are {images.dtype}, expected uint8 or float")
    pixels = images.astype(np.float32, copy=False)
    if not np.all((pixels >= 0) & (pixels <= 1)):
        raise FastnetFileError(f"{where} images have values outside [0, 1] (or NaN)")
    return pixels
