"""The bitwise-representation exercise: a sigmoid layer from 10 digit outputs to 4 bits."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastnet.exercises import bitwise_layer


def binary(digit):
    """The digit's 4 bits, most significant first."""
    return [int(b) for b in format(digit, "04b")]


def weighted_inputs(activations):
    weights, biases = bitwise_layer()
    return (weights @ np.asarray(activations, dtype=float).reshape(10, 1) + biases).ravel()


def test_shapes_and_dtype():
    weights, biases = bitwise_layer()
    assert weights.shape == (4, 10) and biases.shape == (4, 1)
    assert weights.dtype == biases.dtype == np.float64


@settings(max_examples=500, deadline=None)
@given(digit=st.integers(0, 9), correct=st.floats(0.99, 1.0),
       others=st.lists(st.floats(0.0, 0.01), min_size=9, max_size=9))
def test_every_digit_gives_its_bits(digit, correct, others):
    activations = others[:digit] + [correct] + others[digit:]
    outputs = 1 / (1 + np.exp(-weighted_inputs(activations)))
    assert (outputs > 0.5).astype(int).tolist() == binary(digit)
    assert np.abs(outputs - binary(digit)).max() < 1e-3     # a real margin, not just > 0.5


@pytest.mark.parametrize("digit", range(10))
def test_worst_case_margin(digit):
    # For each bit, the wrong digits that push against it sit at 0.01, the rest at 0.
    weights, _ = bitwise_layer()
    sign = np.where(np.array(binary(digit)) == 1, 1.0, -1.0)
    for bit in range(4):
        pushes_against = sign[bit] * weights[bit] < 0
        activations = np.where(pushes_against, 0.01, 0.0)
        activations[digit] = 0.99
        assert sign[bit] * weighted_inputs(activations)[bit] >= 9.0 - 1e-12
