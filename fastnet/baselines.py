"""The chapter's non-neural baselines: average darkness and scikit-learn's SVM.

Each takes ``training`` and ``test`` data, as pairs of arrays ``(X, y)`` (``X`` shaped
``(n, 784)``, ``y`` integer labels 0..9) or in the chapter's list-of-``(x, y)`` format,
and returns how many test images it classifies correctly. With the chapter's split
(the first 50,000 MNIST training images; the 10,000 test images), average darkness
gets 2,225 right, and ``svm`` 9,785 (9,434 with ``gamma="auto"``; the chapter's
9,435 came from an older scikit-learn whose default was that gamma).
"""
import numpy as np

from fastnet import _data
from fastnet.errors import install_hint

DIGITS = 10


def _images_and_labels(training, test):
    """Validated ``(X, y, X_test, y_test)``; the images of both sets have equal width, and
    image bytes (0..255) are scaled to [0, 1] with a warning, as the network does, so that
    a set of bytes is never compared with one of [0, 1] pixels."""
    X, y = _data.as_arrays("training", training)
    X_test, y_test = _data.as_arrays("test", test)
    if X.shape[1] != X_test.shape[1]:
        raise ValueError(f"training images have {X.shape[1]} pixels but test images have "
                         f"{X_test.shape[1]}; both sets must have the same width")
    return (_data.inputs("training images", X, np.float64), _data.labels("training", y, DIGITS),
            _data.inputs("test images", X_test, np.float64), _data.labels("test", y_test, DIGITS))


def average_darkness(training, test):
    """Test images right when each is guessed as the digit of closest average darkness.

    An image's darkness is the sum of its pixels; each digit's average is taken over the
    training images of that digit (digits absent from training are never guessed). An
    exact tie goes to the smaller digit.
    """
    X, y, X_test, y_test = _images_and_labels(training, test)
    darkness = X.sum(axis=1, dtype=np.float64)
    digits = np.unique(y)
    averages = np.array([darkness[y == digit].mean() for digit in digits])
    test_darkness = X_test.sum(axis=1, dtype=np.float64)
    guesses = digits[np.abs(test_darkness[:, None] - averages).argmin(axis=1)]
    return int((guesses == y_test).sum())


def svm(training, test, **svc_params):
    """Test images right for ``sklearn.svm.SVC(**svc_params)`` fitted to ``training``.

    Needs the optional scikit-learn: ``pip install 'fastnet-nndl[baselines]'``.
    """
    try:
        from sklearn.svm import SVC
    except ImportError as error:
        raise ImportError("the SVM baseline needs scikit-learn; install it with "
                          + install_hint("baselines")) from error
    X, y, X_test, y_test = _images_and_labels(training, test)
    classifier = SVC(**svc_params).fit(X, y)
    return int((classifier.predict(X_test) == y_test).sum())
