"""Answers to chapter 1's exercises that are a set of weights rather than a training run."""
import numpy as np

#: Size of every weight of :func:`bitwise_layer`.
BITWISE_WEIGHT = 10.0


def bitwise_layer():
    """Weights ``(4, 10)`` and biases ``(4, 1)`` of a sigmoid layer from digit outputs to bits.

    The layer reads the chapter's 10 output activations (the correct digit's >= 0.99,
    every other <= 0.01) and gives the digit's 4-bit binary, most significant bit first,
    as sigmoid outputs read as 1 when > 0.5. Bit ``k`` of the result weights digit ``d``
    by +10 if ``d`` has that bit set and by -10 if not; the biases are 0. So when the bit
    is 1 its weighted input is at least 10 * 0.99 - 9 * 10 * 0.01 = 9.0, and when it is 0
    at most -9.0: the outputs are above 0.9998 or below 0.0002.
    """
    digits = np.arange(10)
    shifts = np.arange(3, -1, -1)[:, None]                 # bit 3 (MSB) first
    bits = (digits[None, :] >> shifts) & 1                 # (4, 10): bit k of digit d
    weights = np.where(bits == 1, BITWISE_WEIGHT, -BITWISE_WEIGHT)
    return weights, np.zeros((4, 1))
