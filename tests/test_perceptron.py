"""Perceptrons, NAND, the adder, and the exercises "sigmoid neurons simulating perceptrons"."""
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastnet.perceptron import Perceptron, PerceptronNetwork, adder, adder_network, nand_gate

BITS = (0, 1)
PAIRS = list(itertools.product(BITS, BITS))


@st.composite
def networks_and_inputs(draw):
    """A random layered perceptron network and a binary input for it.

    Weights are integers and biases half-integers, so every perceptron's ``w . x + b``
    on binary inputs is at least 1/2 away from 0: scaling cannot flip it by rounding, and
    the premise of part II of the exercise (``w . x + b != 0``) holds.
    """
    n_inputs = draw(st.integers(1, 3))
    previous = list(range(n_inputs))
    neurons = []
    for width in draw(st.lists(st.integers(1, 3), min_size=1, max_size=3)):
        first = n_inputs + len(neurons)
        for _ in range(width):
            weights = draw(st.lists(st.integers(-4, 4), min_size=len(previous),
                                    max_size=len(previous)))
            bias = draw(st.integers(-4, 3)) + 0.5
            neurons.append((Perceptron(weights, bias), previous))
        previous = list(range(first, first + width))
    network = PerceptronNetwork(n_inputs, neurons, outputs=previous)
    x = draw(st.lists(st.sampled_from(BITS), min_size=n_inputs, max_size=n_inputs))
    return network, x


# --- the perceptron rule and NAND -------------------------------------------------------

def test_rule_is_strictly_positive_weighted_input():
    p = Perceptron([1, 1], -1)
    assert p.output([1, 1]) == 1          # z = 1
    assert p.output([1, 0]) == 0          # z = 0: the chapter's rule gives 0
    assert p.output([0, 0]) == 0          # z = -1
    assert p([1, 1]) == p.output([1, 1])


def test_real_valued_inputs_and_weights():
    p = Perceptron([0.5, -0.25, 2.0], 0.1)
    assert p.weighted_input([1.0, 2.0, 0.25]) == pytest.approx(0.5 - 0.5 + 0.5 + 0.1)
    assert p.output([0.0, 1.0, 0.0]) == 0   # z = -0.15


@pytest.mark.parametrize("x1, x2", PAIRS)
def test_nand_gate(x1, x2):
    nand = nand_gate()
    assert nand.weights.tolist() == [-2.0, -2.0] and nand.bias == 3.0
    assert nand((x1, x2)) == 1 - (x1 & x2)


# --- the adder ------------------------------------------------------------------------------

@pytest.mark.parametrize("merged", [False, True])
@pytest.mark.parametrize("x1, x2", PAIRS)
def test_adder_truth_table(x1, x2, merged):
    assert adder(x1, x2, merged=merged) == (x1 ^ x2, x1 & x2)


def test_adder_is_built_from_nands_only():
    for perceptron, sources in adder_network().neurons:
        assert perceptron.weights.tolist() == [-2.0, -2.0] and perceptron.bias == 3.0
        assert len(sources) == 2


def test_merged_adder_replaces_the_doubled_connection_by_weight_minus_4():
    doubled, _ = adder_network(merged=False).neurons[-1]
    merged, sources = adder_network(merged=True).neurons[-1]
    assert adder_network(merged=False).neurons[-1][1] == (2, 2)
    assert sources == (2,) and merged.weights.tolist() == [-4.0] and merged.bias == 3.0
    for bit in BITS:   # the chapter's "prove to yourself that this is equivalent"
        assert merged.weighted_input([bit]) == doubled.weighted_input([bit, bit])


# --- part I: scaling by c > 0 changes nothing ---------------------------------------------

@settings(max_examples=300, deadline=None)
@given(networks_and_inputs(), st.floats(1e-6, 1e6))
def test_scaling_a_network_keeps_its_behaviour(network_and_x, c):
    network, x = network_and_x
    assert network.scaled(c)(x) == network(x)


@given(st.floats(1e-6, 1e6), st.booleans())
def test_scaling_the_adder_keeps_its_truth_table(c, merged):
    scaled = adder_network(merged).scaled(c)
    for x1, x2 in PAIRS:
        assert scaled((x1, x2)) == (x1 ^ x2, x1 & x2)


def test_scaling_multiplies_every_weight_and_bias():
    scaled = nand_gate().scaled(2.5)
    assert scaled.weights.tolist() == [-5.0, -5.0] and scaled.bias == 7.5


# --- part II: sigmoid neurons with weights times c -> the perceptrons as c -> infinity ------

@pytest.mark.filterwarnings("error")
@settings(max_examples=300, deadline=None)
@given(networks_and_inputs())
def test_sigmoid_network_tends_to_the_perceptron_network(network_and_x):
    network, x = network_and_x
    expected = np.array(network(x), dtype=float)
    assert np.abs(np.array(network.sigmoid_output(x, scale=1e3)) - expected).max() < 1e-12
    assert network.sigmoid_output(x, scale=1e300) == network(x)


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("merged", [False, True])
def test_sigmoid_adder_error_shrinks_with_c(merged):
    network = adder_network(merged)

    def error(c):
        return max(abs(s - p) for x in PAIRS
                   for s, p in zip(network.sigmoid_output(x, scale=c), network(x)))

    errors = [error(c) for c in (1, 3, 10, 30, 100, 1e300)]
    assert errors[0] > 0.1                      # plain sigmoids are far from the perceptrons
    assert all(a > b for a, b in zip(errors, errors[1:-1]))
    assert errors[-2] < 1e-30 and errors[-1] == 0.0


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("c", [1.0, 1e3, 1e300])
def test_zero_weighted_input_stays_at_one_half(c):
    p = Perceptron([1, -1], 0)
    assert p.output([1, 1]) == 0
    assert p.sigmoid_output([1, 1], scale=c) == 0.5


@pytest.mark.filterwarnings("error")
def test_zero_weighted_input_can_flip_a_later_neuron():
    # Neuron 2 has z = 0; the perceptron feeds 0 on, the sigmoid feeds 1/2, which makes
    # neuron 3's z = 4 * 1/2 - 1 = 1 > 0 instead of -1: its limit is 1, not 0.
    network = PerceptronNetwork(2, [(Perceptron([1, -1], 0), (0, 1)),
                                    (Perceptron([4], -1), (2,))], outputs=(2, 3))
    assert network((1, 1)) == (0, 0)
    for c in (1e2, 1e6, 1e300):
        assert network.sigmoid_output((1, 1), scale=c) == (0.5, 1.0)


def test_sigmoid_output_at_scale_one_is_the_sigmoid():
    p = Perceptron([2.0, -1.0], 0.5)
    assert p.sigmoid_output([1.0, 0.5]) == pytest.approx(1 / (1 + np.exp(-2.0)), rel=1e-15)


# --- bad input -------------------------------------------------------------------------------

@pytest.mark.parametrize("weights, error, match", [
    ([[1, 2]], ValueError, r"weights must be a 1-D .*\[\[1, 2\]\]"),
    (3.0, ValueError, r"weights must be a 1-D .*3\.0"),
    (["a", "b"], TypeError, r"weights must be a 1-D sequence of numbers, got \['a', 'b'\]"),
    ([1, float("nan")], ValueError, r"weights must be finite, got \[1, nan\]"),
    (["-2", "-2"], TypeError, r"weights must be a 1-D sequence of numbers, got \['-2', '-2'\]"),
    ([10**400], ValueError, r"weights must be finite, got \[1000000000.{46}\.\.\.$"),
])
def test_bad_weights(weights, error, match):
    with pytest.raises(error, match=match):
        Perceptron(weights, 0)


@pytest.mark.parametrize("bias, error, match", [
    (float("inf"), ValueError, "bias must be finite, got inf"),
    ("3", TypeError, "bias must be a real number, got '3'"),
    (True, TypeError, "bias must be a real number, got True"),
    (10**400, ValueError, r"bias must be finite, got 1000000000.{47}\.\.\.$"),
])
def test_bad_bias(bias, error, match):
    with pytest.raises(error, match=match):
        Perceptron([1, 1], bias)


def test_bad_x():
    with pytest.raises(ValueError, match=r"x must have 2 entries, got 3: \[1, 0, 1\]"):
        nand_gate()([1, 0, 1])
    with pytest.raises(ValueError, match="x must be finite"):
        nand_gate()([1, float("nan")])
    with pytest.raises(TypeError, match=r"x must be a 1-D sequence of numbers, got \['1', '1'\]"):
        nand_gate()(["1", "1"])   # was read as the number 1


def test_a_scale_that_overflows_the_weights_names_it():
    with pytest.raises(ValueError, match=r"^c=1e\+308 makes the weights or bias overflow to inf$"):
        nand_gate().scaled(1e308)
    with pytest.raises(ValueError, match=r"scale must be finite and > 0, got 1000"):
        nand_gate().sigmoid_output([1, 1], scale=10**400)


@pytest.mark.parametrize("scale", [0, -1.0, float("inf")])
def test_bad_scale(scale):
    with pytest.raises(ValueError, match=f"scale must be finite and > 0, got {scale}"):
        nand_gate().sigmoid_output([1, 1], scale=scale)
    with pytest.raises(ValueError, match=f"c must be finite and > 0, got {scale}"):
        adder_network().scaled(scale)


@pytest.mark.parametrize("x1, error, match", [
    (2, ValueError, "x1 must be a bit, 0 or 1, got 2"),
    (0.5, TypeError, "x1 must be a bit, 0 or 1, got 0.5"),
])
def test_bad_adder_bits(x1, error, match):
    with pytest.raises(error, match=match):
        adder(x1, 0)


@pytest.mark.parametrize("neurons, outputs, error, match", [
    ([(nand_gate(), (0, 2))], (2,), ValueError, r"neuron 0's sources \(0, 2\) refer to signals \[2\]"),
    ([(nand_gate(), (0,))], (2,), ValueError, r"neuron 0 has 2 weights but reads 1 signals"),
    ([(nand_gate(), (0, 1))], (3,), ValueError, r"outputs \(3,\) refer to signals \[3\]"),
    ([([-2, -2], (0, 1))], (2,), TypeError, r"neuron 0 must be a Perceptron"),
    ([nand_gate()], (2,), TypeError, r"neuron 0 must be a \(Perceptron, sources\) pair, got Perceptron"),
    ([(nand_gate(), 2)], (2,), TypeError, r"neuron 0's sources must be a sequence of signal numbers, got 2"),
])
def test_bad_wiring(neurons, outputs, error, match):
    with pytest.raises(error, match=match):
        PerceptronNetwork(2, neurons, outputs)
