"""fastnet.network against the reference (tests/naive.py): same numbers, same lines."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastnet.network as network

import naive
from twins import chapter_lists, max_difference, seeded


@pytest.fixture(scope="module")
def training_and_test(mnist):
    training, _, test = mnist
    return training, test


def test_one_mnist_epoch_matches_reference(training_and_test):
    (X, y), (X_test, y_test) = training_and_test
    training = chapter_lists(X[:5000], y[:5000])
    test = chapter_lists(X_test[:2000], y_test[:2000], one_hot=False)
    reference = seeded(naive.Network, [784, 30, 10])
    reference.SGD(list(training), 1, 10, 3.0)
    fast = seeded(network.Network, [784, 30, 10])
    fast.SGD(list(training), 1, 10, 3.0)
    assert max_difference(reference, fast) <= 1e-9
    assert fast.evaluate(test) == reference.evaluate(test)


def test_three_mnist_epochs_print_the_reference_lines(training_and_test, capsys):
    (X, y), (X_test, y_test) = training_and_test
    training = chapter_lists(X[:5000], y[:5000])
    test = chapter_lists(X_test[:2000], y_test[:2000], one_hot=False)
    seeded(naive.Network, [784, 30, 10], seed=3).SGD(list(training), 3, 10, 3.0, test_data=test)
    expected = capsys.readouterr().out
    seeded(network.Network, [784, 30, 10], seed=3).SGD(list(training), 3, 10, 3.0, test_data=test)
    printed = capsys.readouterr().out
    assert printed == expected
    assert printed.count("\n") == 3 and printed.startswith("Epoch 0: ")


def test_lists_and_arrays_train_alike(training_and_test, capsys):
    (X, y), (X_test, y_test) = training_and_test
    lists = chapter_lists(X[:2000], y[:2000])
    test_lists = chapter_lists(X_test[:500], y_test[:500], one_hot=False)
    from_lists = seeded(network.Network, [784, 20, 10], seed=5)
    from_lists.SGD(lists, 2, 10, 3.0, test_data=test_lists)
    printed_lists = capsys.readouterr().out
    from_arrays = seeded(network.Network, [784, 20, 10], seed=5)
    from_arrays.SGD((X[:2000], y[:2000]), 2, 10, 3.0, test_data=(X_test[:500], y_test[:500]))
    assert capsys.readouterr().out == printed_lists
    assert max_difference(from_lists, from_arrays) == 0.0


def test_training_list_is_left_shuffled_like_the_chapters():
    rng = np.random.default_rng(1)
    data = chapter_lists(rng.random((23, 4)), rng.integers(0, 3, 23), n_outputs=3)
    by_reference, by_fastnet = list(data), list(data)
    seeded(naive.Network, [4, 3], seed=2).SGD(by_reference, 3, 5, 1.0)
    assert [id(sample) for sample in by_reference] != [id(sample) for sample in data]
    seeded(network.Network, [4, 3], seed=2).SGD(by_fastnet, 3, 5, 1.0)
    assert [id(sample) for sample in by_fastnet] == [id(sample) for sample in by_reference]


def test_no_hidden_layer_784_10_matches_reference(training_and_test):
    (X, y), _ = training_and_test
    training = chapter_lists(X[:1000], y[:1000])
    reference = seeded(naive.Network, [784, 10])
    reference.SGD(list(training), 2, 10, 3.0)
    fast = seeded(network.Network, [784, 10])
    fast.SGD(list(training), 2, 10, 3.0)
    assert max_difference(reference, fast) <= 1e-9


# -- property tests over shapes, mini-batch sizes and learning rates --------------------
layer_sizes = st.lists(st.integers(1, 12), min_size=2, max_size=6)


@st.composite
def problems(draw):
    sizes = draw(layer_sizes)
    n = draw(st.integers(1, 40))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, sizes[0]))
    y = rng.integers(0, sizes[-1], n)
    return sizes, X, y, seed


@settings(max_examples=40, deadline=None)
@given(problems(), st.integers(1, 45), st.floats(0.01, 20.0))
def test_sgd_matches_reference(problem, batch, eta):
    sizes, X, y, seed = problem
    training = chapter_lists(X, y, n_outputs=sizes[-1])
    reference = seeded(naive.Network, sizes, seed)
    reference.SGD(list(training), 2, batch, eta)
    fast = seeded(network.Network, sizes, seed)
    fast.SGD(list(training), 2, batch, eta)
    assert max_difference(reference, fast) <= 1e-9


@settings(max_examples=40, deadline=None)
@given(problems())
def test_backprop_feedforward_and_update_match_reference(problem):
    sizes, X, y, seed = problem
    training = chapter_lists(X, y, n_outputs=sizes[-1])
    reference = seeded(naive.Network, sizes, seed)
    fast = seeded(network.Network, sizes, seed)
    x, target = training[0]
    for expected, got in zip(sum(reference.backprop(x, target), []), sum(fast.backprop(x, target), [])):
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(fast.feedforward(x), reference.feedforward(x), rtol=0, atol=1e-12)
    reference.update_mini_batch(training, 2.5)
    fast.update_mini_batch(training, 2.5)
    assert max_difference(reference, fast) <= 1e-12


# -- the façade: shapes, views, assignment ----------------------------------------------
def test_chapter_attributes_and_shapes():
    net = network.Network([5, 4, 3])
    assert net.num_layers == 3 and net.sizes == (5, 4, 3)
    assert [b.shape for b in net.biases] == [(4, 1), (3, 1)]
    assert [w.shape for w in net.weights] == [(4, 5), (3, 4)]
    assert net.feedforward(np.zeros((5, 1))).shape == (3, 1)
    assert net.feedforward(np.zeros(5)).shape == (3,)
    assert net.feedforward(np.zeros((5, 7))).shape == (3, 7)
    np.testing.assert_array_equal(net.cost_derivative(np.ones((3, 1)), np.zeros((3, 1))), 1.0)


def test_initial_draws_follow_the_chapter_order():
    np.random.seed(7)
    biases = [np.random.randn(4, 1), np.random.randn(3, 1)]
    weights = [np.random.randn(4, 5), np.random.randn(3, 4)]
    np.random.seed(7)
    net = network.Network([5, 4, 3])
    for got, expected in zip(net.biases + net.weights, biases + weights):
        np.testing.assert_array_equal(got, expected)


def test_parameters_are_views_and_assignment_copies_in():
    net = network.Network([3, 2])
    x = np.ones((3, 1))
    net.weights[0][...] = 0.0
    net.biases[0][...] = 0.0
    np.testing.assert_allclose(net.feedforward(x), 0.5)
    net.weights = [np.full((2, 3), 1.0)]
    np.testing.assert_allclose(net.feedforward(x), network.sigmoid(3.0))
    net.biases[0] = np.full((2, 1), -3.0)
    np.testing.assert_allclose(net.feedforward(x), 0.5)
    with pytest.raises(ValueError, match=r"weights\[0\] must have shape \(2, 3\)"):
        net.weights = [np.zeros((3, 2))]
    with pytest.raises(ValueError, match="list of 1 arrays"):
        net.biases = []


def test_float32_network_trains_close_to_float64():
    rng = np.random.default_rng(0)
    X, y = rng.random((300, 8)), rng.integers(0, 4, 300)
    double = seeded(network.Network, [8, 6, 4], seed=1)
    list(double.train((X, y), 2, 10, 3.0))
    single = seeded(network.Network, [8, 6, 4], seed=1, dtype=np.float32)
    list(single.train((X, y), 2, 10, 3.0))
    assert single.weights[0].dtype == np.float32
    assert max_difference(double, single) < 1e-4


def test_sigmoid_saturates_without_overflow_and_matches_the_formula():
    z = np.array([-1e4, -800.0, -30.0, -1.0, 0.0, 1.0, 30.0, 800.0])
    with np.errstate(all="raise"):
        s = network.sigmoid(z)
    assert s[0] == 0.0 and s[-1] == 1.0
    middle = z[2:-2]
    np.testing.assert_array_equal(s[2:-2], 1.0 / (1.0 + np.exp(-middle)))
    np.testing.assert_allclose(network.sigmoid_prime(np.array([0.0])), 0.25)
