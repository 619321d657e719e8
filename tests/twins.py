"""Twins of a network: fastnet's and the reference's built from the same seeds, how far apart
their parameters are, and data in the chapter's list format for both."""
import random

import numpy as np


def seeded(cls, sizes, seed=0, **kwargs):
    """``cls(sizes, **kwargs)`` after seeding NumPy's and Python's global generators."""
    np.random.seed(seed)
    random.seed(seed)
    return cls(sizes, **kwargs)


def parameters(net):
    """A network's weights then biases, as one list (fastnet's or the reference's)."""
    return list(net.weights) + list(net.biases)


def max_difference(a, b):
    """The largest absolute difference between two networks' corresponding parameters."""
    return max(np.abs(p - q).max() for p, q in zip(parameters(a), parameters(b)))


def chapter_lists(X, y, n_outputs=10, one_hot=True):
    """The chapter's list format: column inputs, one-hot columns (training) or labels."""
    def target(label):
        column = np.zeros((n_outputs, 1))
        column[label] = 1.0
        return column
    return [(x.reshape(-1, 1), target(label) if one_hot else int(label)) for x, label in zip(X, y)]
