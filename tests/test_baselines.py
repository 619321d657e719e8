"""The chapter's baselines: average darkness (exactly 2,225 / 10,000) and the SVM."""
import sys

import numpy as np
import pytest

from fastnet.baselines import average_darkness, svm


@pytest.fixture(scope="module")
def training_and_test(mnist):
    """The chapter's split: the first 50,000 training images, and the 10,000 test images."""
    training, _, test = mnist
    return training, test


def images(darkness, width=4):
    """Images whose pixels sum to the given darknesses (first pixel holds it all)."""
    X = np.zeros((len(darkness), width))
    X[:, 0] = darkness
    return X


def test_average_darkness_on_mnist_is_the_chapters_2225(training_and_test):
    training, test = training_and_test
    assert training[0].shape == (50_000, 784) and test[0].shape == (10_000, 784)
    assert average_darkness(training, test) == 2225


def test_average_darkness_picks_the_closest_average():
    # averages: digit 1 -> 2.0, digit 7 -> 6.0, digit 3 -> 10.0; the tie at 4.0 goes to 1
    training = (images([1, 3, 5, 7, 10]), np.array([1, 1, 7, 7, 3]))
    test = (images([0.5, 3.9, 4.0, 4.1, 7.9, 8.1, 30]), np.array([1, 1, 1, 7, 7, 3, 3]))
    assert average_darkness(training, test) == 7
    wrong = (test[0], np.array([7, 7, 7, 1, 3, 7, 1]))
    assert average_darkness(training, wrong) == 0


def test_average_darkness_sums_every_pixel():
    training = (np.array([[1.0, 1.0, 0.0], [0.0, 3.0, 3.0]]), np.array([2, 8]))
    test = (np.array([[0.0, 0.0, 2.5], [2.0, 2.0, 2.0]]), np.array([2, 8]))
    assert average_darkness(training, test) == 2


def test_chapter_list_format_gives_the_same_count(training_and_test):
    (X, y), (X_test, y_test) = training_and_test
    X, y, X_test, y_test = X[:2000], y[:2000], X_test[:500], y_test[:500]
    one_hot = np.eye(10)[y]
    training = [(x.reshape(784, 1), t.reshape(10, 1)) for x, t in zip(X, one_hot)]
    test = [(x.reshape(784, 1), int(label)) for x, label in zip(X_test, y_test)]
    assert average_darkness(training, test) == average_darkness((X, y), (X_test, y_test))


@pytest.mark.parametrize("baseline", [average_darkness, svm])
@pytest.mark.parametrize("test, error, match", [
    ((images([1.0], width=3), np.array([1])), ValueError,
     "training images have 4 pixels but test images have 3"),
    ((images([1.0]), np.array([10])), ValueError, r"test label 10 \(sample 0\) is outside 0..9"),
    ((images([1.0]), np.array([-1])), ValueError, r"test label -1 \(sample 0\) is outside 0..9"),
    ((images([1.0]), np.array([1.0])), TypeError, "test labels must be integers, got dtype float64"),
    ((images([1.0, 2.0]), np.array([1])), ValueError, r"test: X has 2 rows but y has .*1"),
    ((images([np.nan]), np.array([1])), ValueError, r"test inputs .*NaN or inf"),
    ((images([]), np.array([], dtype=int)), ValueError, "test is empty"),
])
def test_bad_input(baseline, test, error, match):
    if baseline is svm:
        pytest.importorskip("sklearn")
    training = (images([1.0, 2.0]), np.array([0, 1]))
    with pytest.raises(error, match=match):
        baseline(training, test)


def test_svm_on_a_subsample(training_and_test):
    pytest.importorskip("sklearn")
    (X, y), (X_test, y_test) = training_and_test
    training, test = (X[:2000], y[:2000]), (X_test[:500], y_test[:500])
    correct = svm(training, test)
    assert correct / 500 > 0.85
    assert svm(training, test, gamma="auto") != correct    # the parameters reach SVC


def test_svm_without_sklearn_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.svm", None)
    training = (images([1.0, 2.0]), np.array([0, 1]))
    with pytest.raises(ImportError, match=r"pip install 'fastnet-nndl\[baselines\]'"):
        svm(training, training)


def test_image_bytes_are_scaled_like_the_networks_inputs(training_and_test):
    # A test set of bytes (0..255) beside training pixels in [0, 1] gave 980, not 2207.
    (X, y), (X_test, y_test) = training_and_test
    training, test = (X[:5000], y[:5000]), (X_test[:2000], y_test[:2000])
    as_bytes = (np.rint(test[0] * 255).astype(np.uint8), test[1])
    with pytest.warns(UserWarning, match=r"test images are bytes 0\.\.255 \(uint8\); fastnet divided them by 255"):
        assert average_darkness(training, as_bytes) == average_darkness(training, test)
