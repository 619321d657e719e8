"""The confusion matrix: true classes against predicted ones."""
import numpy as np
import pytest

from fastnet import metrics


def test_confusion_matrix_counts_each_true_class_against_each_prediction():
    labels = [0, 0, 1, 2, 2, 2, 3]
    predicted = [0, 1, 1, 2, 0, 2, 3]
    counts = metrics.confusion_matrix(labels, predicted, 4)
    assert counts.tolist() == [[1, 1, 0, 0], [0, 1, 0, 0], [1, 0, 2, 0], [0, 0, 0, 1]]
    assert counts.dtype == np.int64


def test_confusion_matrix_of_no_samples_is_zeros():
    counts = metrics.confusion_matrix(np.array([], dtype=np.int64), np.array([], dtype=np.int64), 3)
    assert counts.shape == (3, 3) and not counts.any()


@pytest.mark.parametrize("labels, predicted, message", [
    ([0, 1], [0], r"labels and predicted must be vectors of one length, got shapes \(2,\) and \(1,\)"),
    ([0, 3], [0, 1], r"labels must be integers 0..2, got values from 0 to 3"),
    ([0, 1], [-1, 1], r"predicted must be integers 0..2, got values from -1 to 1"),
    ([0.0, 1.0], [0, 1], r"labels must be integers 0..2, got float64 values"),
])
def test_confusion_matrix_names_bad_input(labels, predicted, message):
    with pytest.raises(ValueError, match=message):
        metrics.confusion_matrix(labels, predicted, 3)


def test_confusion_matrix_takes_unsigned_and_empty_vectors_and_needs_a_class():
    counts = metrics.confusion_matrix(np.array([0, 1, 1], np.uint64), np.array([1, 1, 0], np.uint8), 2)
    np.testing.assert_array_equal(counts, [[0, 1], [1, 1]])
    np.testing.assert_array_equal(metrics.confusion_matrix([], [], 3), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="classes must be an integer >= 1, got 0"):
        metrics.confusion_matrix([0], [0], 0)


def test_a_confusion_matrix_larger_than_memory_is_refused_before_allocating():
    with pytest.raises(ValueError, match=r"classes=1000000: its counts need 7,450.6 GiB, more "
                                         r"than this machine's [\d,.]+ GiB of memory"):
        metrics.confusion_matrix([0], [0], 10**6)
