"""Bad input at the public edge: a ValueError/TypeError naming the argument, the value and
what was expected, before any kernel runs; divergence stops training; the sigmoid never
overflows."""
import random
import warnings

import numpy as np
import pytest

import fastnet.network as network
from fastnet import _data
from fastnet.errors import TrainingDivergedError
from twins import seeded

rng = np.random.default_rng(0)
X = rng.random((12, 4))
y = rng.integers(0, 2, 12)
ONE_HOT = np.eye(2)[y]


def with_value(X_or_y, index, value):
    changed = X_or_y.astype(np.float64)
    changed[index] = value
    return changed


# -- Network(sizes, dtype) --------------------------------------------------------------
@pytest.mark.parametrize("sizes, error, message", [
    ([784], ValueError, r"sizes must name at least 2 layers \(inputs and outputs\), got \[784\]"),
    ([], ValueError, r"at least 2 layers"),
    ([784, 0, 10], ValueError, r"sizes\[1\] must be an integer >= 1, got 0"),
    ([784, -30, 10], ValueError, r"sizes\[1\] must be an integer >= 1, got -30"),
    ([784, 30.5, 10], TypeError, r"sizes\[1\] must be an integer, got 30.5 \(float\)"),
    ([784, "30", 10], TypeError, r"sizes\[1\] must be an integer, got '30' \(str\)"),
    ([784, True, 10], TypeError, r"sizes\[1\] must be an integer, got True \(bool\)"),
    ("784,30,10", TypeError, r"sizes must be a list of layer sizes such as \[784, 30, 10\], got '784,30,10'"),
    (784, TypeError, r"sizes must be a list of layer sizes .*got 784"),
])
def test_bad_sizes(sizes, error, message):
    with pytest.raises(error, match=message):
        network.Network(sizes)


@pytest.mark.parametrize("dtype", [np.int32, np.float16, "complex128", "no such type", int])
def test_bad_dtype(dtype):
    with pytest.raises(ValueError, match=r"dtype must be np.float32 or np.float64, got "):
        network.Network([4, 2], dtype=dtype)


def test_numpy_integer_sizes_and_dtype_names_are_accepted():
    net = network.Network(np.array([4, 3, 2]), dtype="float32")
    assert net.sizes == (4, 3, 2) and all(type(s) is int for s in net.sizes)
    assert net.dtype == np.float32


# -- SGD / train: every bad argument, rejected before the parameters change ---------------
BAD_TRAINING = [
    # (training_data, error, message)
    ((np.hstack([X, X]), y), ValueError,
     r"training_data inputs have 8 values per sample, but the network's input layer has 4"),
    ((X, np.where(y == 0, 2, y)), ValueError, r"training_data label 2 \(sample \d+\) is outside 0..1"),
    ((X, with_value(y, 3, -1).astype(int)), ValueError, r"training_data label -1 \(sample 3\) is outside 0..1"),
    ((X, np.eye(3)[y]), ValueError,
     r"training_data targets must have 2 values per sample \(the output layer's size\), got shape \(3,\)"),
    ((with_value(X, (5, 1), np.nan), y), ValueError,
     r"training_data inputs must be finite, but sample 5 holds NaN or inf"),
    ((with_value(X, (7, 0), -np.inf), y), ValueError, r"inputs must be finite, but sample 7 holds NaN or inf"),
    ((X, with_value(ONE_HOT, (2, 0), np.nan)), ValueError,
     r"training_data targets must be finite, but sample 2 holds NaN or inf"),
    ((X[:0], y[:0]), ValueError, r"training_data is empty; expected at least one sample"),
    ([], ValueError, r"training_data is empty; expected at least one sample"),
    ((X, y.astype(float)), TypeError, r"training_data labels must be integers, got dtype float64"),
    ([(x.reshape(4, 1), 1.0) for x in X], TypeError, r"training_data labels must be integers, got dtype float64"),
    ([(x.reshape(4, 1), "1") for x in X], TypeError, r"training_data labels must be integers, got dtype <U1"),
    ((X, y[:-1]), ValueError, r"training_data: X has 12 rows but y has shape \(11,\)"),
    ((X[0], y[:1]), ValueError, r"training_data: X must be 2-D, shaped \(samples, inputs\), got shape \(4,\)"),
    ((X.astype(str), y), TypeError, r"training_data inputs must be real numbers, got dtype <U"),
    ([(x.reshape(2, 2), 1) for x in X], ValueError,
     r"training_data inputs must be column vectors shaped \(k, 1\) or \(k,\), got \(2, 2\)"),
    ([(X[0].reshape(4, 1), 1), (X[1, :3].reshape(3, 1), 0)], ValueError,
     r"training_data inputs: sample 1 has shape \(3, 1\), but sample 0 has shape \(4, 1\); all must match"),
    ([(X[0].reshape(4, 1), np.ones((2, 1))), (X[1].reshape(4, 1), 1)], ValueError,
     r"training_data targets: sample 1 has shape \(\), but sample 0 has shape \(2, 1\)"),
    ([(X[0], 1, 0)], TypeError, r"training_data must be a list of \(x, y\) tuples .*not \(x, y\) pairs"),
    (None, TypeError, r"training_data must be a list of \(x, y\) tuples or a pair of arrays \(X, y\), got None"),
]


@pytest.mark.parametrize("training_data, error, message", BAD_TRAINING)
def test_bad_training_data(training_data, error, message):
    net = network.Network([4, 3, 2])
    before = net.parameters.copy()
    with pytest.raises(error, match=message):
        net.SGD(training_data, 1, 5, 3.0)
    np.testing.assert_array_equal(net.parameters, before)


@pytest.mark.parametrize("epochs, batch, eta, error, message", [
    (-1, 5, 3.0, ValueError, r"epochs must be an integer >= 0, got -1"),
    (2.0, 5, 3.0, TypeError, r"epochs must be an integer, got 2.0 \(float\)"),
    (1, 0, 3.0, ValueError, r"mini_batch_size must be an integer >= 1, got 0"),
    (1, -10, 3.0, ValueError, r"mini_batch_size must be an integer >= 1, got -10"),
    (1, 2.5, 3.0, TypeError, r"mini_batch_size must be an integer, got 2.5 \(float\)"),
    (1, 5, 0.0, ValueError, r"eta must be finite and > 0, got 0.0"),
    (1, 5, -1, ValueError, r"eta must be finite and > 0, got -1"),
    (1, 5, float("nan"), ValueError, r"eta must be finite and > 0, got nan"),
    (1, 5, np.inf, ValueError, r"eta must be finite and > 0, got inf"),
    (1, 5, 10**400, ValueError, r"eta must be finite and > 0, got 1000"),
    (1, 5, "3.0", TypeError, r"eta must be a real number, got '3.0' \(str\)"),
    (1, 5, None, TypeError, r"eta must be a real number, got None \(NoneType\)"),
    (1, 5, True, TypeError, r"eta must be a real number, got True \(bool\)"),
])
def test_bad_hyperparameters(epochs, batch, eta, error, message):
    net = network.Network([4, 3, 2])
    with pytest.raises(error, match=message):
        net.SGD((X, y), epochs, batch, eta)


def test_an_eta_beyond_float32_is_refused_for_a_float32_network_without_a_warning():
    net = network.Network([4, 3, 2], dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=r"eta=1e\+39 is too large for a float32 network"):
            net.SGD((X, y), 1, 5, 1e39)
        with pytest.raises(ValueError, match=r"eta=1e\+39 is too large"):
            net.update_mini_batch(list(zip(X[:, :, None], y)), 1e39)
    network.Network([4, 3, 2]).SGD((X, y), 1, 5, 1e39)   # a float64 network takes it


@pytest.mark.parametrize("test_data, error, message", [
    ((X, y + 2), ValueError, r"test_data label 2 \(sample 0\) is outside 0..1"),
    ((X, y.astype(np.float32)), TypeError, r"test_data labels must be integers, got dtype float32"),
    ((with_value(X, (4, 2), np.nan), y), ValueError, r"test_data inputs must be finite, but sample 4"),
    ((X[:, :3], y), ValueError, r"test_data inputs have 3 values per sample, but the network's input layer has 4"),
    ((X, np.eye(5)[y]), ValueError, r"test_data targets must have 2 values per sample"),
    ((X, with_value(ONE_HOT, (9, 1), np.inf)), ValueError, r"test_data targets must be finite, but sample 9"),
    ([], ValueError, r"test_data is empty"),
])
def test_bad_test_data_in_sgd_and_evaluate(test_data, error, message):
    net = network.Network([4, 3, 2])
    before = net.parameters.copy()
    with pytest.raises(error, match=message):
        net.SGD((X, y), 1, 5, 3.0, test_data=test_data)
    np.testing.assert_array_equal(net.parameters, before)
    with pytest.raises(error, match=message):
        net.evaluate(test_data)


def test_bad_train_order_and_first_epoch():
    net = network.Network([4, 3, 2])
    for order in ([0] * 12, list(range(11)), list(range(1, 13)), [float(i) for i in range(12)],
                  [-1, *range(1, 12)], [*range(11), 10]):
        with pytest.raises(ValueError, match=r"order must hold each of the sample indices 0..11 once"):
            list(net.train((X, y), 1, 5, 3.0, order=order))
    with pytest.raises(ValueError, match=r"first_epoch must be an integer >= 0, got -1"):
        list(net.train((X, y), 1, 5, 3.0, first_epoch=-1))


def test_bad_feedforward_input():
    net = network.Network([4, 3, 2])
    with pytest.raises(ValueError, match=r"a must have shape \(4, 1\), \(4,\) or \(4, k\), got \(5, 1\)"):
        net.feedforward(np.ones((5, 1)))
    with pytest.raises(ValueError, match=r"a must have shape .*got \(4, 1, 1\)"):
        net.feedforward(np.ones((4, 1, 1)))
    with pytest.raises(ValueError, match=r"a must be finite, but sample 2 holds NaN or inf"):
        net.feedforward(with_value(np.ones((4, 3)), (1, 2), np.nan))
    with pytest.raises(TypeError, match=r"a must be real numbers, got dtype object"):
        net.feedforward(np.array([1, 2, 3, None], dtype=object))


def test_finite_values_whose_sum_overflows_are_finite():
    """The check sums the values (a NaN or inf makes the sum one); a sum that overflows
    sends it to look at every value, and warns of nothing."""
    largest = np.full((4, 3), np.finfo(np.float32).max, dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _data.check_finite("X", largest)
    largest[2, 1] = -np.inf
    with pytest.raises(ValueError, match=r"X must be finite, but sample 2 holds NaN or inf"):
        _data.check_finite("X", largest)


def test_bad_update_mini_batch_and_backprop():
    net = network.Network([4, 3, 2])
    before = net.parameters.copy()
    column = X[0].reshape(4, 1)
    with pytest.raises(ValueError, match=r"mini_batch is empty"):
        net.update_mini_batch([], 3.0)
    with pytest.raises(ValueError, match=r"eta must be finite and > 0, got -3.0"):
        net.update_mini_batch([(column, 1)], -3.0)
    with pytest.raises(ValueError, match=r"mini_batch inputs must be finite, but sample 1"):
        net.update_mini_batch([(column, 1), (column * np.nan, 0)], 3.0)
    with pytest.raises(ValueError, match=r"mini_batch label 5 \(sample 0\) is outside 0..1"):
        net.update_mini_batch([(column, 5)], 3.0)
    with pytest.raises(ValueError, match=r"\(x, y\) inputs have 3 values per sample, but the "
                                         r"network's input layer has 4"):
        net.backprop(column[:3], np.ones((2, 1)))
    with pytest.raises(ValueError, match=r"\(x, y\) targets must have 2 values per sample"):
        net.backprop(column, np.ones((3, 1)))
    with pytest.raises(ValueError, match=r"\(x, y\) targets must be finite"):
        net.backprop(column, np.full((2, 1), np.inf))
    np.testing.assert_array_equal(net.parameters, before)


def test_data_is_checked_once_per_call_not_per_mini_batch(monkeypatch):
    calls = []
    check = _data.check_finite
    monkeypatch.setattr(_data, "check_finite", lambda name, values: calls.append(name) or check(name, values))
    network.Network([4, 3, 2]).SGD((X, ONE_HOT), 3, 1, 3.0, test_data=(X, y))
    assert calls == ["training_data inputs", "training_data targets", "test_data inputs"]


# -- divergence --------------------------------------------------------------------------
def test_overflowing_training_stops_naming_the_epoch_and_a_smaller_eta():
    net = network.Network([1, 1])
    net.weights, net.biases = [np.zeros((1, 1))], [np.zeros((1, 1))]
    with pytest.raises(TrainingDivergedError, match=r"training diverged in epoch 4: weights or biases "
                                                    r"became NaN or inf with eta=1.7e\+308; try a smaller eta"):
        list(net.train((np.array([[10.0]]), np.array([0])), 3, 1, 1.7e308, first_epoch=4))
    assert issubclass(TrainingDivergedError, FloatingPointError)


def test_chapters_eta_100_saturates_without_diverging_or_warning(mnist):
    (images, labels), _, _ = mnist
    net = seeded(network.Network, [784, 30, 10], 0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        results = list(net.train((images[:2000], labels[:2000]), 2, 10, 100.0,
                                 test_data=(images[2000:3000], labels[2000:3000])))
        outputs = net.feedforward(images[:100].T)
    assert [result.epoch for result in results] == [0, 1]
    assert np.isfinite(net.parameters).all()
    assert np.isfinite(outputs).all() and ((outputs >= 0) & (outputs <= 1)).all()


# -- the sigmoid -------------------------------------------------------------------------
EXTREME_Z = [-1e4, -800.0, -745.0, -740.0, -709.0, -100.0, -30.0, -1.0, -1e-300, 0.0,
             1e-300, 1.0, 30.0, 36.7, 40.0, 100.0, 709.0, 800.0, 1e4]


def formula(z):
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-z))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_kernel_sigmoid_is_the_formula_on_extreme_inputs(dtype):
    z = np.array(EXTREME_Z)
    net = network.Network([1, z.size], dtype=dtype)
    net.weights = [z.reshape(-1, 1)]  # the single input 1.0 makes each output sigmoid(z)
    net.biases = [np.zeros((z.size, 1))]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = net.feedforward(np.ones(1, dtype=dtype))
    # to rounding: a couple of units in the last place, or a subnormal flushed to zero
    tolerance = np.finfo(dtype)
    np.testing.assert_allclose(out, formula(z.astype(dtype)), rtol=2 * tolerance.eps,
                               atol=tolerance.smallest_normal)
    assert out[0] == 0.0 and out[-1] == 1.0


def test_module_sigmoid_warns_never_and_is_the_formula():
    z = np.array(EXTREME_Z)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = network.sigmoid(z)
        network.sigmoid_prime(z)
    np.testing.assert_array_equal(s, formula(z))


# -- issue 12: nothing public can break the kernels; non-finite values named ----------------
def test_sizes_are_immutable_so_the_kernels_cannot_be_misled():
    net = network.Network([4, 3, 2])
    with pytest.raises(TypeError):
        net.sizes[0] = 300000
    with pytest.raises(AttributeError):
        net.sizes = (300000, 3, 2)
    assert net.feedforward(np.zeros(4)).shape == (2,)


def test_a_set_of_sizes_is_refused_not_reordered():
    with pytest.raises(TypeError, match=r"sizes must be a list of layer sizes .* \(a set has no order\)"):
        network.Network({784, 30, 10})


@pytest.mark.parametrize("assign", [
    lambda net, bad: setattr(net, "weights", [bad, net.weights[1]]),
    lambda net, bad: net.weights.__setitem__(0, bad),
    lambda net, bad: net.weights.__setitem__(slice(0, 1), [bad]),
])
def test_non_finite_parameters_are_refused_on_assignment(assign):
    net = network.Network([4, 3, 2])
    before = net.parameters.copy()
    bad = np.zeros((3, 4))
    bad[1, 2] = np.nan
    with pytest.raises(ValueError, match=r"weights\[0\] must be finite, but holds nan at index \(1, 2\)"):
        assign(net, bad)
    np.testing.assert_array_equal(net.parameters, before)


def test_nan_written_into_a_view_is_named_by_evaluation_and_training_not_blamed_on_eta():
    net = network.Network([4, 3, 2])
    net.weights[0][1, 2] = np.nan   # a view: numpy's write cannot be intercepted
    with pytest.raises(ValueError, match=r"weights or biases hold NaN or inf .* meaningless"):
        net.feedforward(np.ones(4))
    with pytest.raises(ValueError, match=r"weights or biases hold NaN or inf .* cannot recover"):
        list(net.train((np.ones((5, 4)), np.zeros(5, int)), 1, 2, 1.0))


def test_slices_of_weights_and_biases_can_be_assigned():
    net = network.Network([4, 3, 2])
    net.weights[0:1] = [np.ones((3, 4))]
    net.biases[:] = [np.zeros((3, 1)), np.full((2, 1), 0.5)]
    np.testing.assert_array_equal(net.weights[0], 1.0)
    np.testing.assert_array_equal(net.biases[1], 0.5)
    with pytest.raises(ValueError, match=r"biases\[0:None\] holds 2 arrays; got 1 to assign"):
        net.biases[0:] = [np.zeros((3, 1))]


def test_inputs_too_large_for_float32_are_named_not_turned_into_nan():
    net = network.Network([4, 2], dtype=np.float32)
    with pytest.raises(ValueError, match=r"a: values too large for float32 \(sample 0 reaches 1e\+39\)"):
        net.feedforward(np.full(4, 1e39))
    with pytest.raises(ValueError, match=r"training_data inputs: values too large for float32"):
        list(net.train((np.full((3, 4), 1e39), np.zeros(3, int)), 1, 1, 1.0))


def test_float64_inputs_that_overflow_are_named_not_counted_as_class_0():
    np.random.seed(0)
    net = network.Network([784, 30, 10])
    X_huge = np.full((5, 784), 1e308)
    X_huge[:, ::2] *= -1
    with pytest.raises(ValueError, match=r"test_data inputs: the outputs for sample 0 are NaN: its "
                                         r"weighted sums overflow float64 \(inputs up to 1e\+308"):
        net.evaluate((X_huge, np.zeros(5, int)))
    with pytest.raises(TrainingDivergedError, match=r"The inputs reach 1e\+308, large enough to "
                                                    r"overflow float64 arithmetic: scale them"):
        list(net.train((X_huge, np.zeros(5, int)), 1, 5, 3.0))


def test_image_bytes_are_scaled_to_pixels_with_a_warning():
    images = np.random.default_rng(1).integers(0, 256, (20, 4), dtype=np.uint8)
    labels = np.arange(20) % 2
    as_bytes = seeded(network.Network, [4, 3, 2], 2)
    with pytest.warns(UserWarning, match=r"training_data inputs are bytes 0..255 \(uint8\); "
                                         r"fastnet divided them by 255"):
        list(as_bytes.train((images, labels), 1, 5, 3.0))
    as_pixels = seeded(network.Network, [4, 3, 2], 2)
    list(as_pixels.train((images / np.float32(255), labels), 1, 5, 3.0))
    np.testing.assert_array_equal(as_bytes.parameters, as_pixels.parameters)


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.int64])
def test_integer_pixels_are_scaled_with_a_warning_wherever_they_go_in(dtype):
    images = np.random.default_rng(1).integers(0, 256, (20, 4)).astype(dtype)
    net = network.Network([4, 3, 2])
    pixels = images.astype(np.float32) / np.float32(255)   # as MNIST's loader makes them
    for call, as_pixels in [(net.feedforward, lambda: net.feedforward(pixels.T)),
                            (net.predict, lambda: net.predict(pixels)),
                            (net.outputs, lambda: net.outputs(pixels))]:
        with pytest.warns(UserWarning, match=rf"are bytes 0..255 \({np.dtype(dtype).name}\)"):
            got = call(images.T if call == net.feedforward else images)
        np.testing.assert_array_equal(got, as_pixels())
    with pytest.warns(UserWarning, match=r"test_data inputs are bytes 0..255"):
        assert net.evaluate((images, np.arange(20) % 2)) == net.evaluate((pixels, np.arange(20) % 2))


@pytest.mark.parametrize("values", [[0, 300], [-1, 5]])
def test_integers_that_are_not_image_bytes_are_refused(values):
    net = network.Network([2, 2])
    with pytest.raises(ValueError, match=rf"are integers from {min(values)} to {max(values)} "
                                         r"\(int64\); fastnet expects pixels in \[0, 1\]"):
        net.predict(np.array([values], dtype=np.int64))


def test_a_huge_mini_batch_on_few_samples_needs_scratch_for_the_samples_only():
    rng = np.random.default_rng(3)
    net = network.Network([784, 30, 10])
    list(net.train((rng.random((100, 784)), rng.integers(0, 10, 100)), 1, 10**9, 3.0))


def test_building_a_network_holds_little_more_than_the_network(monkeypatch):
    """The chapter's ``randn(y, x)`` per layer would hold a second copy of the weights; the
    draws go in blocks instead (here small, to keep the test small)."""
    import tracemalloc
    from fastnet import inits
    monkeypatch.setattr(inits, "DRAW_CHUNK", 1 << 16)
    tracemalloc.start()
    try:
        net = network.Network([2000, 2000, 10])
        size = net.parameters.nbytes
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1.3 * size, f"building a {size / 1e6:.0f} MB network peaked at {peak / 1e6:.0f} MB"


@pytest.mark.parametrize("order, got", [
    (tuple(range(12)), "a tuple"),
    (np.arange(12, dtype=np.int32), r"an array of int32, shape \(12,\)"),
    (np.arange(12).reshape(3, 4), r"an array of int64, shape \(3, 4\)"),
    (np.arange(24)[::2], r"an array of int64, shape \(12,\)"),   # not contiguous
    (np.broadcast_to(np.arange(12), (12,)), r"an array of int64, shape \(12,\)"),   # read-only
])
def test_order_must_be_a_list_or_an_int64_vector_shuffled_in_place(order, got):
    with pytest.raises(TypeError, match=r"order must be a list or a writable int64 vector of the "
                                        r"sample indices \(it is shuffled in place\), got " + got):
        list(network.Network([4, 2]).train((X, y), 1, 4, 1.0, order=order))


def test_an_int64_vector_order_is_shuffled_as_a_list_would_be():
    nets, orders = [], [list(range(12)), np.arange(12)]
    for order in orders:
        random.seed(3)
        nets.append(network.Network.from_parameters([4, 2], np.linspace(-1, 1, 10)))
        list(nets[-1].train((X, y), 3, 4, 1.0, order=order))
    assert list(orders[1]) == orders[0] != list(range(12))
    assert (nets[0].parameters == nets[1].parameters).all()


@pytest.mark.parametrize("hidden", [10**10, 10**20])
def test_sizes_too_large_for_memory_are_refused_before_allocating(hidden):
    with pytest.raises(ValueError, match=rf"sizes \(784, {hidden}, 10\): .* parameters need .* GiB "
                                         r"as float64, more than this machine's .* GiB of memory"):
        network.Network([784, hidden, 10])
    with pytest.raises(ValueError, match=r"more than this machine's"):
        network.Network.from_parameters([784, hidden, 10], np.zeros(3))


def test_a_first_layer_beyond_32_bit_offsets_trains_densely_unless_sparse_is_forced():
    from fastnet import _trainers
    net = network.Network.__new__(network.Network)   # sizes only: no memory for the weights
    net._sizes, net._dtype, net.sparse = (2**20, 2**11, 10), np.dtype(np.float32), None
    X = np.zeros((1, 2**20), dtype=np.float32)
    assert _trainers._sparse_counts(net, X) is None
    net.sparse = True
    with pytest.raises(ValueError, match=r"sparse=True: .* 32-bit offsets"):
        _trainers._sparse_counts(net, X)
    net._sizes = (2**20, 2**11 - 16, 10)   # just under 2**31 weights
    assert _trainers._sparse_counts(net, X) is not None
