"""A reader's subclass that replaces a step of the chapter's algorithm is honoured: training
runs the chapter's algorithm in NumPy calling the replacement, and says so once."""
import warnings

import numpy as np
import pytest

import fastnet.network as network
from twins import seeded

rng = np.random.default_rng(0)
X = rng.normal(size=(23, 5))
y = rng.integers(0, 3, 23)


def trained(cls, eta=2.0, epochs=2, **kwargs):
    net = seeded(cls, [5, 4, 3], 1, **kwargs)
    list(net.train((X, y), epochs, 7, eta))
    return net


def assert_same(a, b, atol=1e-10):
    for p, q in zip(list(a.weights) + list(a.biases), list(b.weights) + list(b.biases)):
        np.testing.assert_allclose(p, q, rtol=0, atol=atol)


class Doubled(network.Network):
    """The quadratic cost doubled: every gradient doubles, as if eta were doubled."""

    def cost_derivative(self, output_activations, y):
        return 2 * (output_activations - y)


def test_an_overridden_cost_derivative_is_used_and_warned_about_once():
    with pytest.warns(UserWarning, match=r"Doubled replaces cost_derivative: fastnet trains it with "
                                         r"the chapter's algorithm in plain NumPy") as caught:
        doubled = trained(Doubled, eta=1.0)
        trained(Doubled, eta=1.0)
    assert len([w for w in caught if "Doubled" in str(w.message)]) == 1
    assert_same(doubled, trained(network.Network, eta=2.0))
    assert np.abs(doubled.weights[0] - trained(network.Network, eta=1.0).weights[0]).max() > 1e-3


@pytest.mark.parametrize("cost", ["quadratic", "cross-entropy"])
def test_the_numpy_path_trains_like_the_kernels(cost):
    class Same(network.Network):
        def cost_derivative(self, output_activations, y):
            return super().cost_derivative(output_activations, y)

    with pytest.warns(UserWarning, match="replaces cost_derivative"):
        slow = trained(Same, cost=cost)
    assert_same(slow, trained(network.Network, cost=cost))


class Steps(network.Network):
    """Counts mini-batches and replaces backprop with the kernels' own, via super()."""

    def update_mini_batch(self, mini_batch, eta):
        self.steps = getattr(self, "steps", 0) + 1
        super().update_mini_batch(mini_batch, eta)


class OwnBackprop(network.Network):
    def backprop(self, x, y):
        self.calls = getattr(self, "calls", 0) + 1
        return super().backprop(x, y)


def test_overridden_update_mini_batch_and_backprop_are_called():
    with pytest.warns(UserWarning, match="replaces update_mini_batch"):
        steps = trained(Steps)
    assert steps.steps == 2 * 4   # 23 samples in mini-batches of 7, two epochs
    assert_same(steps, trained(network.Network))
    with pytest.warns(UserWarning, match="replaces backprop"):
        own = trained(OwnBackprop)
    assert own.calls == 2 * 23
    assert_same(own, trained(network.Network))


def test_lmbda_with_an_overridden_update_mini_batch_is_an_error():
    net = Steps([5, 4, 3])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match=r"lmbda needs fastnet's update_mini_batch, but Steps "
                                             r"replaces it"):
            list(net.train((X, y), 1, 7, 1.0, lmbda=1.0))


def test_a_patched_module_sigmoid_is_used(monkeypatch):
    """A reader who swaps the module's sigmoid (here for an equal one, computed another way)
    gets it called during training."""
    calls = []

    def sigmoid(z):
        calls.append(1)
        return 0.5 * (1 + np.tanh(z / 2))

    monkeypatch.setattr(network, "sigmoid", sigmoid)
    with pytest.warns(UserWarning, match="replaces sigmoid"):
        patched = trained(network.Network)
    monkeypatch.undo()
    assert calls
    assert_same(patched, trained(network.Network), atol=1e-9)


class SteepSigmoid(network.Network):
    @staticmethod
    def sigmoid(z):
        return 1 / (1 + np.exp(-2 * z))

    @staticmethod
    def sigmoid_prime(z):
        s = 1 / (1 + np.exp(-2 * z))
        return 2 * s * (1 - s)


def test_sigmoid_methods_of_a_subclass_are_used_in_backprop():
    net = SteepSigmoid([5, 4, 3])
    x, target = X[0].reshape(-1, 1), np.eye(3)[[y[0]]].T
    with pytest.warns(UserWarning, match="replaces sigmoid, sigmoid_prime"):
        list(net.train((X, y), 1, 7, 1.0))
    plain = network.Network.from_parameters(net.sizes, net.parameters)
    assert not np.allclose(net.backprop(x, target)[0][0], plain.backprop(x, target)[0][0])
