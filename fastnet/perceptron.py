"""Perceptrons, the NAND gate and the two-bit adder built from NANDs (chapter 1, start).

A perceptron with weights ``w`` and bias ``b`` outputs 1 if ``w . x + b > 0`` and 0
otherwise. The same ``(w, b)`` read as a sigmoid neuron outputs ``sigmoid(w . x + b)``;
``sigmoid_output(x, scale=c)`` evaluates that neuron with weights and bias multiplied
by ``c``, the setting of the exercises "sigmoid neurons simulating perceptrons".

    >>> adder(1, 1)
    (0, 1)
    >>> nand_gate()((1, 1))
    0
"""
import numbers

import numpy as np

from fastnet._data import check_positive_int
from fastnet.network import sigmoid


def _vector(name, value, length=None):
    """``value`` as a finite 1-D float64 array (of ``length`` entries if given)."""
    try:
        array = np.asarray(value)
        if array.dtype.kind in "USV":   # "1" is text, not a number
            raise TypeError
        array = array.astype(np.float64, copy=False)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a 1-D sequence of numbers, got {value!r}") from None
    except OverflowError:   # a Python int beyond float64
        raise ValueError(f"{name} must be finite, got {_shown(value)}") from None
    if array.ndim != 1:
        raise ValueError(f"{name} must be a 1-D sequence of numbers, got {value!r} "
                         f"(shape {array.shape})")
    if length is not None and array.size != length:
        raise ValueError(f"{name} must have {length} entries, got {array.size}: {value!r}")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} must be finite, got {value!r}")
    return array


def _real(name, value, positive=False):
    """``value`` as a finite float (and > 0 if ``positive``)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r} ({type(value).__name__})")
    try:
        number = float(value)
    except OverflowError:   # a Python int beyond float64
        number = float("inf")
    if not np.isfinite(number) or (positive and number <= 0):
        expected = "finite and > 0" if positive else "finite"
        raise ValueError(f"{name} must be {expected}, got {_shown(value)}")
    return number


def _shown(value):
    """``repr(value)``, cut short (a Python int may have thousands of digits)."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class Perceptron:
    """A perceptron in the chapter's bias form: output 1 if ``w . x + b > 0``, else 0."""

    def __init__(self, weights, bias):
        self.weights = _vector("weights", weights)
        self.bias = _real("bias", bias)

    def __repr__(self):
        return f"Perceptron(weights={self.weights.tolist()}, bias={self.bias})"

    def weighted_input(self, x):
        """``z = w . x + b`` for an input ``x`` with one entry per weight."""
        x = _vector("x", x, length=self.weights.size)
        return float(self.weights @ x) + self.bias

    def output(self, x):
        """The perceptron's output, 0 or 1."""
        return int(self.weighted_input(x) > 0)

    __call__ = output

    def sigmoid_output(self, x, scale=1.0):
        """Output of the sigmoid neuron with weights ``scale * w`` and bias ``scale * b``.

        Equals ``sigmoid(scale * z)``; huge scales give 0 or 1 without overflow
        warnings, and exactly 1/2 where ``z == 0``.
        """
        return float(sigmoid(_real("scale", scale, positive=True) * self.weighted_input(x)))

    def scaled(self, c):
        """The perceptron with all weights and the bias multiplied by ``c > 0``."""
        c = _real("c", c, positive=True)
        with np.errstate(over="ignore"):
            weights, bias = c * self.weights, c * self.bias
        if not (np.isfinite(weights).all() and np.isfinite(bias)):
            raise ValueError(f"c={c:g} makes the weights or bias overflow to inf")
        return Perceptron(weights, bias)


class PerceptronNetwork:
    """Perceptrons wired in feed-forward order.

    Signals are numbered: the network's inputs are ``0 .. n_inputs - 1`` and each
    neuron's output takes the next number, in the order the neurons are listed.
    ``neurons`` is a sequence of ``(perceptron, sources)``: the perceptron reads the
    signals numbered in ``sources``, one per weight (a signal may be read twice, as in
    the chapter's adder). ``outputs`` numbers the signals the network returns.
    """

    def __init__(self, n_inputs, neurons, outputs):
        self.n_inputs = check_positive_int("n_inputs", n_inputs)
        self.neurons = []
        for position, neuron in enumerate(neurons):
            if not (isinstance(neuron, (tuple, list)) and len(neuron) == 2):
                raise TypeError(f"neuron {position} must be a (Perceptron, sources) pair, got {neuron!r}")
            perceptron, sources = neuron
            if not isinstance(perceptron, Perceptron):
                raise TypeError(f"neuron {position} must be a Perceptron, got {perceptron!r}")
            if not isinstance(sources, (tuple, list, range)):
                raise TypeError(f"neuron {position}'s sources must be a sequence of signal "
                                f"numbers, got {sources!r}")
            sources = tuple(sources)
            if len(sources) != perceptron.weights.size:
                raise ValueError(f"neuron {position} has {perceptron.weights.size} weights "
                                 f"but reads {len(sources)} signals {sources}")
            self._check_signals(f"neuron {position}'s sources", sources, n_inputs + position)
            self.neurons.append((perceptron, sources))
        self.outputs = tuple(outputs)
        self._check_signals("outputs", self.outputs, n_inputs + len(self.neurons))

    @staticmethod
    def _check_signals(name, indices, available):
        bad = [i for i in indices if not isinstance(i, numbers.Integral) or not 0 <= i < available]
        if bad:
            raise ValueError(f"{name} {indices} refer to signals {bad}; "
                             f"only 0..{available - 1} exist at that point")

    def _run(self, x, fire):
        signals = list(_vector("x", x, length=self.n_inputs))
        for perceptron, sources in self.neurons:
            signals.append(fire(perceptron, [signals[i] for i in sources]))
        return tuple(signals[i] for i in self.outputs)

    def output(self, x):
        """The network's outputs (0 or 1 each) for the input ``x``."""
        return self._run(x, Perceptron.output)

    __call__ = output

    def sigmoid_output(self, x, scale=1.0):
        """Outputs when every perceptron is a sigmoid neuron with weights and biases times ``scale``."""
        return self._run(x, lambda perceptron, inputs: perceptron.sigmoid_output(inputs, scale))

    def scaled(self, c):
        """The same wiring with every weight and bias multiplied by ``c > 0``."""
        neurons = [(perceptron.scaled(c), sources) for perceptron, sources in self.neurons]
        return PerceptronNetwork(self.n_inputs, neurons, self.outputs)


def nand_gate():
    """The chapter's NAND perceptron: weights -2, -2 and bias 3."""
    return Perceptron([-2, -2], 3)


def adder_network(merged=False):
    """The chapter's two-bit adder as a network of NAND perceptrons: outputs (sum, carry).

    Signals: 0 = x1, 1 = x2, 2 = NAND(x1, x2), 3 = NAND(x1, 2), 4 = NAND(x2, 2),
    5 = sum = NAND(3, 4), 6 = carry = NAND(2, 2). The carry perceptron reads signal 2
    twice; with ``merged=True`` those two weight -2 connections become one of weight -4.
    """
    carry = (Perceptron([-4], 3), (2,)) if merged else (nand_gate(), (2, 2))
    neurons = [(nand_gate(), (0, 1)), (nand_gate(), (0, 2)), (nand_gate(), (1, 2)),
               (nand_gate(), (3, 4)), carry]
    return PerceptronNetwork(2, neurons, outputs=(5, 6))


def adder(x1, x2, merged=False):
    """``(x1 XOR x2, x1 AND x2)`` for bits ``x1``, ``x2``, computed by :func:`adder_network`."""
    for name, bit in (("x1", x1), ("x2", x2)):
        if not isinstance(bit, numbers.Integral):
            raise TypeError(f"{name} must be a bit, 0 or 1, got {bit!r} ({type(bit).__name__})")
        if bit not in (0, 1):
            raise ValueError(f"{name} must be a bit, 0 or 1, got {bit!r}")
    return adder_network(merged)((x1, x2))
