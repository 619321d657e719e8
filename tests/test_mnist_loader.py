"""fastnet.mnist_loader: the chapter's load_data / load_data_wrapper / vectorized_result."""
import gzip
import pickle
import re

import numpy as np
import pytest

from fastnet import datasets, mnist_loader
from fastnet.errors import FastnetFileError
from fastnet.mnist_loader import load_data, load_data_wrapper, vectorized_result


# ---------------------------------------------------------------- the real files

def test_load_data_gives_the_chapters_split(mnist, mnist_dir):
    train_images, train_labels, test_images, test_labels = datasets.read_idx_files(datasets.MNIST, mnist_dir)
    (X, y), (X_val, y_val), (X_test, y_test) = mnist
    assert [len(X), len(X_val), len(X_test)] == [50_000, 10_000, 10_000]
    for images, labels in mnist:
        assert images.dtype == np.float32 and images.shape[1] == 784 and images.flags.c_contiguous
        assert labels.dtype == np.int64 and labels.shape == (len(images),)
        assert images.min() == 0 and images.max() == 1
        assert set(np.unique(labels)) == set(range(10))
    assert y[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    np.testing.assert_array_equal(np.concatenate([y, y_val]), train_labels)
    np.testing.assert_array_equal(y_test, test_labels)
    np.testing.assert_array_equal(X_val * 255, train_images[50_000:].reshape(-1, 784))
    np.testing.assert_array_equal(X_test * 255, test_images.reshape(-1, 784))


def test_load_data_wrapper_gives_the_chapters_lists(mnist_dir, mnist):
    training, validation, test = load_data_wrapper(mnist_dir)
    assert all(isinstance(part, list) for part in (training, validation, test))
    assert [len(training), len(validation), len(test)] == [50_000, 10_000, 10_000]
    (X, y), (X_val, y_val), _ = mnist
    for i in (0, 1, 49_999):
        x, target = training[i]
        assert x.shape == (784, 1) and target.shape == (10, 1) and target.dtype == np.float64
        np.testing.assert_array_equal(x[:, 0], X[i])
        assert target.sum() == 1 and target[y[i], 0] == 1
    x, label = validation[0]
    assert x.shape == (784, 1) and int(label) == label == y_val[0]
    assert sum(1 for _ in test) == sum(1 for _ in test) == 10_000  # lists, reusable


# ---------------------------------------------------------------- the chapter's pickle and Keras' npz

def synthetic_sets(sizes=(5, 3, 2), seed=0):
    """Three (X float32 (n, 784) in [0, 1), y int64) pairs, like the chapter's mnist.pkl.gz."""
    rng = np.random.default_rng(seed)
    return tuple((rng.random((n, 784), dtype=np.float32), rng.integers(0, 10, n)) for n in sizes)


def write_pickle(path, data, protocol=2):
    path.write_bytes(gzip.compress(pickle.dumps(data, protocol)))
    return path


def assert_same_sets(loaded, expected):
    for (X, y), (X_expected, y_expected) in zip(loaded, expected, strict=True):
        assert X.dtype == np.float32 and y.dtype == np.int64
        np.testing.assert_array_equal(X, X_expected)
        np.testing.assert_array_equal(y, y_expected)


def test_load_data_reads_the_chapters_pickle_by_file_or_folder(tmp_path):
    sets = synthetic_sets()
    path = write_pickle(tmp_path / "mnist.pkl.gz", sets)
    assert_same_sets(load_data(path), sets)
    assert_same_sets(load_data(tmp_path), sets)


def test_load_data_follows_path_then_fastnet_data(tmp_path, monkeypatch):
    env, explicit = tmp_path / "env", tmp_path / "explicit"
    env.mkdir()
    explicit.mkdir()
    write_pickle(env / "mnist.pkl.gz", synthetic_sets(seed=1))
    write_pickle(explicit / "mnist.pkl.gz", synthetic_sets(seed=2))
    monkeypatch.setenv("FASTNET_DATA", str(env))
    assert_same_sets(load_data(), synthetic_sets(seed=1))
    assert_same_sets(load_data(explicit), synthetic_sets(seed=2))


def test_load_data_splits_keras_npz_like_the_idx_files(tmp_path):
    rng = np.random.default_rng(0)
    x_train = rng.integers(0, 256, (10_003, 28, 28), dtype=np.uint8)
    y_train, y_test = rng.integers(0, 10, 10_003, dtype=np.uint8), np.array([7, 2], np.uint8)
    x_test = rng.integers(0, 256, (2, 28, 28), dtype=np.uint8)
    path = tmp_path / "mnist.npz"
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    flat, flat_test = (x.reshape(-1, 784) / np.float32(255) for x in (x_train, x_test))
    expected = ((flat[:3], y_train[:3]), (flat[3:], y_train[3:]), (flat_test, y_test))
    assert_same_sets(load_data(path), expected)


def test_load_data_wrapper_formats_any_source(tmp_path):
    sets = synthetic_sets()
    training, validation, test = load_data_wrapper(write_pickle(tmp_path / "mnist.pkl.gz", sets))
    assert [len(training), len(validation), len(test)] == [5, 3, 2]
    assert np.argmax(training[2][1]) == sets[0][1][2] and training[2][0].shape == (784, 1)
    assert [label for _, label in test] == sets[2][1].tolist()


# ---------------------------------------------------------------- what load_data refuses

def with_training(images=None, labels=None):
    """Synthetic sets with the training images or labels replaced."""
    (X, y), validation, test = synthetic_sets()
    return ((X if images is None else images, y if labels is None else labels), validation, test)


BAD_SETS = {
    "label 10": (with_training(labels=np.array([0, 1, 2, 3, 10])), r"classes 0\.\.9, found values 0\.\.10"),
    "label -1": (with_training(labels=np.array([0, 1, 2, 3, -1])), r"classes 0\.\.9, found values -1\.\.3"),
    "float labels": (with_training(labels=np.zeros(5)), "labels must be integer classes 0..9, found float64"),
    "too few labels": (with_training(labels=np.zeros(4, int)), r"labels have shape \(4,\), expected \(5,\)"),
    "783 pixels": (with_training(images=np.zeros((5, 783), np.float32)), r"images have shape \(5, 783\)"),
    "NaN pixel": (with_training(images=np.full((5, 784), np.nan, np.float32)), r"outside \[0, 1\]"),
    "pixel 2": (with_training(images=np.full((5, 784), 2, np.float32)), r"outside \[0, 1\]"),
    "integer pixels": (with_training(images=np.zeros((5, 784), np.int32)), "images are int32"),
    "two sets": (synthetic_sets()[:2], r"expected \(\(X, y\), \(X, y\), \(X, y\)\)"),
    "lists": (with_training(images=[[0.0] * 784] * 5), r"training set is not a pair of NumPy arrays"),
    "no images": (with_training(images=np.zeros((0, 28, 28), np.uint8)), r"expected \(0,\), one per image"),
    "an array": (np.zeros(3), r"expected \(\(X, y\), \(X, y\), \(X, y\)\)"),
}


@pytest.mark.parametrize("case", BAD_SETS)
def test_load_data_rejects_bad_content_naming_file_and_part(tmp_path, case):
    data, expected = BAD_SETS[case]
    path = write_pickle(tmp_path / "mnist.pkl.gz", data, protocol=5)  # 2 can't hold empty arrays
    with pytest.raises(FastnetFileError, match=expected) as caught:
        load_data(path)
    assert str(path) in str(caught.value)


def test_load_data_needs_more_than_the_validation_set_from_npz(tmp_path):
    path = tmp_path / "mnist.npz"
    images, labels = np.zeros((100, 28, 28), np.uint8), np.zeros(100, np.uint8)
    np.savez(path, x_train=images, y_train=labels, x_test=images, y_test=labels)
    with pytest.raises(FastnetFileError, match="only 100 training images"):
        load_data(path)


# ---------------------------------------------------------------- vectorized_result

@pytest.mark.parametrize("j", [0, 3, 9, np.int64(4), np.uint8(9)])
def test_vectorized_result_is_a_one_hot_column(j):
    e = vectorized_result(j)
    assert e.shape == (10, 1) and e.dtype == np.float64
    np.testing.assert_array_equal(e[:, 0], np.eye(10)[int(j)])


@pytest.mark.parametrize("j", [-1, 10, 3.0, "3", None, True, np.float64(2)])
def test_vectorized_result_rejects_non_digits_naming_j(j):
    with pytest.raises(ValueError, match=re.escape(f"j must be an integer digit 0..9, got {j!r}")):
        vectorized_result(j)


def test_module_exposes_the_chapters_api():
    assert {"load_data", "load_data_wrapper", "vectorized_result"} <= set(dir(mnist_loader))
