"""The chapter's MNIST loader API (load_data, load_data_wrapper, vectorized_result), fast.

Reads the four official IDX files (downloaded when missing), the chapter's mnist.pkl.gz
or Keras' mnist.npz; see fastnet.datasets for where it looks.
"""

import numpy as np

from .datasets import MNIST, find

VALIDATION_SIZE = 10_000  # the chapter's: the last 10,000 official training images validate


def load_data(path=None):
    """MNIST as (training, validation, test), each a pair (X, y).

    X is float32 (n, 784) in [0, 1], y int64 (n,) digits. The sets hold 50,000, 10,000 and
    10,000 images: the official training set's first 50,000 and last 10,000, then the
    official test set. `path` is a folder or a .pkl.gz / .npz file (default: $FASTNET_DATA,
    else ./data).
    """
    return find(MNIST, path).load(VALIDATION_SIZE)


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
    if isinstance(j, bool) or not isinstance(j, (int, np.integer)) or not 0 <= j < MNIST.classes:
        raise ValueError(f"vectorized_result: j must be an integer digit 0..9, got {j!r}")
    e = np.zeros((MNIST.classes, 1))
    e[j] = 1.0
    return e


def _columns(images):
    """(n, 784) -> (n, 784, 1): iterating over it gives (784, 1) column views."""
    return images[:, :, np.newaxis]


def _labelled_columns(images, labels):
    return list(zip(_columns(images), labels))
