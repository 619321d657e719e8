"""The tiled kernels against the reference over awkward shapes, batch sizes and threads."""

import numba
import numpy as np
import pytest

import fastnet.network as network
from fastnet import _kernels, _views

import naive
from twins import chapter_lists, parameters, seeded

SHAPES = [
    [1, 1],                 # one unit everywhere
    [3, 1, 2],              # a 1-unit hidden layer
    [13, 7, 1, 5],          # widths that fill no tile
    [5, 9, 3, 4, 2],        # 4 layers of weights
    [2, 1, 1, 1, 3],
    [_kernels.COLUMN_BLOCK + 9, 6, 3],   # rows wider than one column block
]


def problem(sizes, n, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, sizes[0]))
    labels = rng.integers(0, sizes[-1], n)
    training = chapter_lists(X, labels, sizes[-1])
    return training, X, labels


def assert_close(got, expected, atol):
    for g, e in zip(parameters(got), parameters(expected)):
        assert g.shape == e.shape
        np.testing.assert_allclose(g, e, rtol=0, atol=atol)


@pytest.mark.parametrize("sizes", SHAPES, ids=str)
@pytest.mark.parametrize("batch", [1, 3, 7, 10])
def test_epochs_match_reference(sizes, batch):
    training, _, _ = problem(sizes, 23, seed=len(sizes) + batch)   # 23: no batch divides it
    reference = seeded(naive.Network, sizes, seed=batch)
    reference.SGD(list(training), 2, batch, 2.0)
    fast = seeded(network.Network, sizes, seed=batch)
    fast.SGD(list(training), 2, batch, 2.0)
    assert_close(fast, reference, atol=1e-10)


@pytest.mark.parametrize("sizes", SHAPES, ids=str)
def test_backprop_and_feedforward_match_reference(sizes):
    training, X, _ = problem(sizes, 7, seed=1)
    reference, fast = seeded(naive.Network, sizes, 2), seeded(network.Network, sizes, 2)
    for got, expected in zip(sum(fast.backprop(*training[0]), []),
                             sum(reference.backprop(*training[0]), [])):
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(fast.feedforward(X.T), reference.feedforward(X.T), rtol=0, atol=1e-12)


# Large enough that the first layer (each thread copying its own inputs) and the middle
# layer (l > 0, with input deltas) run on the threaded paths.
THREADED = [48, 320, 350, 3]


def test_threaded_layers_are_big_enough_to_take_the_threaded_path():
    assert 10 * THREADED[1] * THREADED[2] >= _kernels.PARALLEL_WORK
    assert _kernels.first_layer_threads(THREADED, 10, 2) == 2
    assert _kernels.first_layer_threads(THREADED, 10, 1) == 1
    assert _kernels.first_layer_threads([20, 16, 4], 10, 2) == 1


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_threads_give_the_same_result(dtype, monkeypatch):
    # threads are capped at Numba's count; three are made available so that the work
    # really splits three ways on a two-core machine too
    monkeypatch.setattr(network.numba, "get_num_threads", lambda: 3)
    _, X, labels = problem(THREADED, 65, seed=3)   # a short last mini-batch too
    nets = []
    for threads in (1, 2, 3):
        nets.append(seeded(network.Network, THREADED, 4, dtype=dtype, threads=threads))
        list(nets[-1].train((X, labels), 2, 10, 0.5))
    for other in nets[1:]:
        assert_close(other, nets[0], atol=0)


def test_threads_beyond_numbas_are_capped_not_allocated():
    # Each thread of the dense path gets input buffers: 10**7 of them asked for 1 TiB.
    _, X, labels = problem(THREADED, 30, seed=2)
    capped = seeded(network.Network, THREADED, 6, threads=10**7)
    list(capped.train((X, labels), 1, 10, 0.5))
    assert capped.threads == 10**7 and capped._kernel_threads() == numba.get_num_threads()
    alone = seeded(network.Network, THREADED, 6, threads=1)
    list(alone.train((X, labels), 1, 10, 0.5))
    assert_close(capped, alone, atol=0)


def test_threaded_path_matches_reference():
    training, _, _ = problem(THREADED, 30, seed=5)
    reference = seeded(naive.Network, THREADED, 6)
    reference.SGD(list(training), 1, 10, 0.5)
    fast = seeded(network.Network, THREADED, 6, threads=2)
    fast.SGD(list(training), 1, 10, 0.5)
    assert_close(fast, reference, atol=1e-10)


@pytest.mark.parametrize("sizes", [[13, 7, 1, 5], THREADED], ids=str)
def test_float32_trains_in_float32_close_to_float64(sizes):
    _, X, labels = problem(sizes, 40, seed=7)
    double = seeded(network.Network, sizes, 8)
    list(double.train((X, labels), 2, 10, 0.5))
    single = seeded(network.Network, sizes, 8, dtype=np.float32)
    list(single.train((X, labels), 2, 10, 0.5))
    assert all(p.dtype == np.float32 for p in parameters(single))
    assert_close(single, double, atol=2e-4)
    assert single.feedforward(X[0]).dtype == np.float32


def test_threads_must_be_a_positive_integer():
    with pytest.raises(ValueError, match="threads"):
        network.Network([2, 2], threads=0)
    with pytest.raises(TypeError, match="threads"):
        network.Network([2, 2], threads=1.5)


def test_kernels_flush_subnormals_but_leave_the_callers_environment_alone():
    """Inside a kernel, a float32 sigmoid of -88 (6e-39, subnormal) flushes to zero,
    which keeps float32 training off the slow subnormal path; NumPy afterwards still
    produces subnormals."""
    net = network.Network([1, 1], dtype=np.float32)
    net.weights = [np.array([[-88.0]])]
    net.biases = [np.array([[0.0]])]
    assert 0 < network.sigmoid(np.float32(-88.0)) < np.finfo(np.float32).tiny
    assert net.feedforward(np.ones((1, 1), dtype=np.float32))[0, 0] == 0.0
    tiny = np.float32(1e-38) / np.float32(100.0)
    assert 0 < tiny < np.finfo(np.float32).tiny


def test_copy_copies_arrays_of_one_shape_into_views_and_refuses_others():
    source = np.arange(12.0).reshape(3, 4)
    destination = np.zeros((5, 6))
    _kernels.copy(destination[1:4, 2:6], source)
    expected = np.zeros((5, 6))
    expected[1:4, 2:6] = source
    np.testing.assert_array_equal(destination, expected)
    row = np.zeros(7)
    _kernels.copy(row[2:5], source[1, 1:])
    np.testing.assert_array_equal(row, [0, 0, 5, 6, 7, 0, 0])
    for wrong, right in ((np.zeros((4, 3)), source), (np.zeros((3, 5)), source),
                         (np.zeros(3), np.zeros(4))):
        with pytest.raises(ValueError, match="shapes differ"):
            _kernels.copy(wrong, right)


@numba.njit
def _flat_then_write(array, value):
    view = _views.flat(array)
    view[-1] = value
    return view


@numba.njit
def _block_then_write(buffer, offset, rows, cols, value):
    view = _kernels._block(buffer, offset, rows, cols)
    view[rows - 1, cols - 1] = value
    return view


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32])
@pytest.mark.parametrize("shape", [(1,), (7,), (3, 5), (2, 3, 4), (4, 1, 1)])
def test_views_are_the_arrays_reshaped_and_share_their_memory(dtype, shape):
    """``_views.flat`` is ``reshape(-1)`` and ``_kernels._block`` (``_views.matrix``) a
    slice reshaped to a matrix; writing through either changes the array."""
    array = np.arange(np.prod(shape), dtype=dtype).reshape(shape)
    expected = array.reshape(-1).copy()
    expected[-1] = 99
    np.testing.assert_array_equal(_flat_then_write(array, 99), expected)
    np.testing.assert_array_equal(array.reshape(-1), expected)
    buffer = np.arange(30, dtype=dtype)
    rows, cols = shape[0], int(np.prod(shape[1:]))
    block = _block_then_write(buffer, 2, rows, cols, -1)
    assert block.shape == (rows, cols) and block.strides == (cols * buffer.itemsize, buffer.itemsize)
    np.testing.assert_array_equal(block, np.r_[np.arange(2, 1 + rows * cols), -1].reshape(rows, cols))
    assert buffer[1 + rows * cols] == -1
