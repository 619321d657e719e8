"""The costs a network can be trained on, each one record: its value and its output delta.

A cost ``C(a, y)`` of the output activations ``a = sigmoid(z)`` and the desired outputs
``y`` enters training only through the output layer's delta ``dC/dz``:

- ``quadratic`` (chapter 1): ``C = 0.5 |a - y|^2``, delta ``(a - y) a (1 - a)``;
- ``cross-entropy`` (chapter 3): ``C = -sum(y ln a + (1 - y) ln(1 - a))``, delta
  ``a - y``: without the factor ``a (1 - a)``, a saturated wrong output still learns.

Each record holds the NumPy formulas and the per-output delta that the kernels compile
(``_kernels``); ``code`` is how a kernel is told which cost it trains. This module needs
NumPy alone: the command reads its arguments with it before Numba is imported.
"""
from typing import Callable, NamedTuple

import numpy as np


class Cost(NamedTuple):
    """A cost: ``fn(a, y)`` its value for outputs ``a`` and targets ``y`` (summed over
    outputs and samples), ``delta(a, y)`` its ``dC/dz``, ``derivative(a, y)`` its ``dC/da``
    (the chapter's ``cost_derivative``), ``kernel_delta(a, y)`` the delta of one output,
    as the kernels compile and inline it."""
    name: str
    code: int
    fn: Callable
    delta: Callable
    derivative: Callable
    kernel_delta: Callable


def _quadratic_kernel_delta(a, y):
    return (a - y) * a * (type(a)(1.0) - a)   # the type of a: float32 stays float32


def _cross_entropy_kernel_delta(a, y):
    return a - y


def _cross_entropy(a, y):
    """``-sum(y ln a + (1 - y) ln(1 - a))``; a term ``0 ln 0`` counts as 0. A saturated
    wrong output's term is the largest float (the book's ``nan_to_num``), and two of them
    make the sum inf, quietly: the cost is infinite."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return float(np.sum(np.nan_to_num(-y * np.log(a) - (1 - y) * np.log(1 - a))))


def _cross_entropy_derivative(a, y):
    with np.errstate(divide="ignore", invalid="ignore"):
        return (a - y) / (a * (1 - a))


QUADRATIC = Cost("quadratic", 0, lambda a, y: 0.5 * float(np.sum((a - y) ** 2)),
                 lambda a, y: (a - y) * a * (1 - a), lambda a, y: a - y, _quadratic_kernel_delta)
CROSS_ENTROPY = Cost("cross-entropy", 1, _cross_entropy, lambda a, y: a - y,
                     _cross_entropy_derivative, _cross_entropy_kernel_delta)

#: Every cost by name; ``Network(sizes, cost=name)`` takes one of these names.
COSTS = {cost.name: cost for cost in (QUADRATIC, CROSS_ENTROPY)}


def get(cost):
    """The ``Cost`` named ``cost`` (or ``cost`` itself if it is one of ``COSTS``)."""
    if isinstance(cost, Cost) and COSTS.get(cost.name) is cost:
        return cost
    if isinstance(cost, str) and cost in COSTS:
        return COSTS[cost]
    raise ValueError(f"cost must be one of {', '.join(map(repr, COSTS))}, got {cost!r}")
