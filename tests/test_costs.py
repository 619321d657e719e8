"""Costs, initial weights and L2 regularisation beyond the chapter, against the reference."""
import random
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastnet
import fastnet.network as network
from fastnet import costs, inits, persist

import naive
from twins import chapter_lists, max_difference, seeded


@st.composite
def problems(draw):
    sizes = draw(st.lists(st.integers(1, 12), min_size=2, max_size=5))
    n = draw(st.integers(1, 30))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    return sizes, rng.normal(size=(n, sizes[0])), rng.integers(0, sizes[-1], n), seed


@settings(max_examples=30, deadline=None)
@given(problems(), st.sampled_from(list(costs.COSTS)), st.sampled_from(list(inits.INITS)),
       st.sampled_from([0.0, 0.5, 5.0]), st.integers(1, 12))
def test_costs_inits_and_lmbda_train_like_the_reference(problem, cost, init, lmbda, batch):
    sizes, X, y, seed = problem
    training = chapter_lists(X, y, sizes[-1])
    eta = 0.5
    lmbda = min(lmbda, 0.5 * len(training) / eta)   # keep 1 - eta * lmbda / n > 0
    reference = seeded(naive.Network, sizes, seed, cost=cost, init=init)
    reference.SGD(list(training), 2, batch, eta, lmbda=lmbda)
    fast = seeded(network.Network, sizes, seed, cost=cost, init=init)
    fast.SGD(list(training), 2, batch, eta, lmbda=lmbda)
    assert max_difference(reference, fast) <= 1e-10


@pytest.mark.parametrize("cost", list(costs.COSTS))
def test_backprop_gives_the_costs_gradient(cost):
    rng = np.random.default_rng(1)
    x, label = rng.normal(size=(6, 1)), 2
    target = np.eye(4)[[label]].T
    reference = seeded(naive.Network, [6, 5, 4], 3, cost=cost)
    fast = seeded(network.Network, [6, 5, 4], 3, cost=cost)
    for got, expected in zip(sum(fast.backprop(x, target), []), sum(reference.backprop(x, target), [])):
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


def test_default_network_is_the_chapters_and_draws_the_same_stream_for_every_init():
    chapter = seeded(network.Network, [5, 4, 3], 9)
    scaled = seeded(network.Network, [5, 4, 3], 9, init="scaled")
    assert chapter.cost is costs.QUADRATIC and chapter.init == "chapter" and scaled.init == "scaled"
    for w_chapter, w_scaled, fan_in in zip(chapter.weights, scaled.weights, (5, 4)):
        np.testing.assert_array_equal(w_chapter / np.sqrt(fan_in), w_scaled)
    np.testing.assert_array_equal(np.concatenate(list(chapter.biases)),
                                  np.concatenate(list(scaled.biases)))
    after_scaled = np.random.randn()
    seeded(network.Network, [5, 4, 3], 9)
    assert np.random.randn() == after_scaled   # both consumed the same draws


def test_large_layers_are_drawn_in_blocks_yet_equal_one_randn_call(monkeypatch):
    monkeypatch.setattr(inits, "DRAW_CHUNK", 7)   # blocks of one row of 5 (and a remainder)
    np.random.seed(4)
    expected = [np.random.randn(3, 1), np.random.randn(2, 1), np.random.randn(3, 5), np.random.randn(2, 3)]
    net = seeded(network.Network, [5, 3, 2], 4)
    for got, want in zip(list(net.biases) + list(net.weights), expected):
        np.testing.assert_array_equal(got, want)


def test_total_cost_is_each_costs_mean_plus_the_l2_term():
    rng = np.random.default_rng(2)
    X, y = rng.random((9, 4)), rng.integers(0, 3, 9)
    T = np.eye(3)[y]
    for cost in costs.COSTS.values():
        net = seeded(network.Network, [4, 5, 3], 0, cost=cost.name)
        a = net.outputs(X)
        per_sample = [cost.fn(a[i], T[i]) for i in range(9)]
        l2 = sum((w ** 2).sum() for w in net.weights)
        assert net.total_cost((X, y)) == pytest.approx(np.mean(per_sample), rel=1e-12)
        assert net.total_cost((X, y), lmbda=2.0) == pytest.approx(np.mean(per_sample) + l2 / 9, rel=1e-12)
    a, target = np.array([0.0, 1.0, 0.25]), np.array([0.0, 1.0, 1.0])
    assert costs.CROSS_ENTROPY.fn(a, target) == pytest.approx(-np.log(0.25))   # 0 ln 0 counts as 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # two saturated wrong outputs: inf, without an overflow warning
        assert costs.CROSS_ENTROPY.fn(np.array([0.0, 1.0]), np.array([1.0, 0.0])) == np.inf


def test_cost_derivative_is_the_chosen_costs():
    a, y = np.array([[0.2], [0.9]]), np.array([[0.0], [1.0]])
    np.testing.assert_allclose(network.Network([2, 2]).cost_derivative(a, y), a - y)
    np.testing.assert_allclose(network.Network([2, 2], cost="cross-entropy").cost_derivative(a, y),
                               (a - y) / (a * (1 - a)))


def test_the_records_themselves_are_taken_as_names_are():
    net = network.Network([3, 2], cost=costs.CROSS_ENTROPY, init=inits.SCALED)
    assert (net.cost, net.init) == (costs.CROSS_ENTROPY, "scaled")
    with pytest.raises(ValueError, match="init must be one of"):
        network.Network([3, 2], init=inits.Init("scaled", abs))   # a look-alike is not one


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(cost="hinge"), ValueError, r"cost must be one of 'quadratic', 'cross-entropy', got 'hinge'"),
    (dict(cost=None), ValueError, r"cost must be one of"),
    (dict(init="he"), ValueError, r"init must be one of 'chapter', 'scaled', got 'he'"),
])
def test_unknown_costs_and_inits_are_refused(kwargs, error, message):
    with pytest.raises(error, match=message):
        network.Network([3, 2], **kwargs)


@pytest.mark.parametrize("lmbda, error, message", [
    (-1.0, ValueError, r"lmbda must be finite and >= 0, got -1.0"),
    (float("nan"), ValueError, r"lmbda must be finite"),
    ("0.1", TypeError, r"lmbda must be a real number, got '0.1' \(str\)"),
    (100.0, ValueError, r"lmbda=100 is too large for eta=1 and 12 training samples: each step "
                        r"would scale the weights by 1 - eta \* lmbda / n = -7.33333"),
])
def test_bad_lmbda_is_refused_before_training(lmbda, error, message):
    rng = np.random.default_rng(0)
    net = network.Network([3, 2])
    before = net.parameters.copy()
    with pytest.raises(error, match=message):
        list(net.train((rng.random((12, 3)), rng.integers(0, 2, 12)), 1, 4, 1.0, lmbda=lmbda))
    np.testing.assert_array_equal(net.parameters, before)


def test_cost_survives_save_and_load_and_old_files_load_as_quadratic(tmp_path):
    net = network.Network([4, 3, 2], cost="cross-entropy", init="scaled")
    net.save(tmp_path / "ce.npz")
    loaded = fastnet.load(tmp_path / "ce.npz")
    assert loaded.cost is costs.CROSS_ENTROPY
    np.testing.assert_array_equal(loaded.parameters, net.parameters)
    arrays = persist.model_arrays(net)
    del arrays["cost"]
    arrays["format_version"] = np.int64(1)
    persist.write(tmp_path / "v1.npz", arrays)
    assert fastnet.load(tmp_path / "v1.npz").cost is costs.QUADRATIC


def test_cross_entropy_with_scaled_weights_learns_where_the_chapters_choice_stalls():
    """The case the book's chapter 3 makes: outputs saturated wrong learn slowly under the
    quadratic cost, quickly under cross-entropy."""
    rng = np.random.default_rng(5)
    X = rng.random((200, 20))
    y = (X[:, :10].sum(axis=1) > X[:, 10:].sum(axis=1)).astype(np.int64)
    results = {}
    for cost in costs.COSTS:
        net = seeded(network.Network, [20, 10, 2], 1, cost=cost, init="scaled")
        net.weights = [w * 30 for w in net.weights]   # saturate from the start
        *_, last = net.train((X, y), 3, 10, 0.5, test_data=(X, y))
        results[cost] = last.correct
    assert results["cross-entropy"] > results["quadratic"]


def test_private_random_generators_draw_and_shuffle_what_the_seeded_modules_would():
    rng = np.random.default_rng(3)
    X, y = rng.random((30, 6)), rng.integers(0, 3, 30)
    np.random.seed(11)
    random.seed(12)
    by_modules = network.Network([6, 4, 3], init="scaled")
    list(by_modules.train((X, y), 2, 7, 1.0))
    np.random.seed(0)
    random.seed(0)
    state = np.random.get_state(), random.getstate()
    own = network.Network([6, 4, 3], init="scaled", rng=np.random.RandomState(11))
    list(own.train((X, y), 2, 7, 1.0, rng=random.Random(12)))
    np.testing.assert_array_equal(own.parameters, by_modules.parameters)
    assert np.array_equal(np.random.get_state()[1], state[0][1]) and random.getstate() == state[1]
    with pytest.raises(TypeError, match=r"rng must be a np.random.RandomState"):
        network.Network([2, 2], rng=np.random.default_rng(0))
    with pytest.raises(TypeError, match=r"rng must be a random.Random"):
        list(own.train((X, y), 1, 7, 1.0, rng=np.random.RandomState(0)))
