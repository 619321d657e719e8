"""How a new network's parameters are drawn, each way one record.

Both draw from ``np.random`` in the chapter's order, every layer's biases with
``randn(y, 1)`` and then every layer's weights with ``randn(y, x)``, so the random stream
is the same; they differ in how the weights are scaled:

- ``chapter`` (chapter 1): weights ``N(0, 1)``;
- ``scaled`` (chapter 3): weights ``N(0, 1/x)`` for ``x`` inputs, so a neuron's weighted
  input starts near 1 in size and the sigmoid is not saturated from the first step.
"""
import math
from typing import Callable, NamedTuple

import numpy as np

#: Values drawn per ``randn`` call while filling a large matrix: bounds the temporary
#: array, so building a network never holds much more than the network itself.
DRAW_CHUNK = 1 << 20


class Init(NamedTuple):
    """An initialisation: the ``N(0, 1)`` weights of a layer with ``x`` inputs are divided
    by ``weight_divisor(x)`` (as the book's ``randn(y, x) / np.sqrt(x)``)."""
    name: str
    weight_divisor: Callable


CHAPTER = Init("chapter", lambda fan_in: 1.0)
SCALED = Init("scaled", math.sqrt)

#: Every initialisation by name; ``Network(sizes, init=name)`` takes one of these names.
INITS = {init.name: init for init in (CHAPTER, SCALED)}


def get(init):
    """The ``Init`` named ``init`` (or ``init`` itself if it is one of ``INITS``), as
    ``costs.get`` takes a ``Cost``."""
    if isinstance(init, Init) and INITS.get(init.name) is init:
        return init
    if isinstance(init, str) and init in INITS:
        return INITS[init]
    raise ValueError(f"init must be one of {', '.join(map(repr, INITS))}, got {init!r}")


def draw(init, biases, weights, rng=np.random):
    """Fill the views ``biases`` and then ``weights`` (shapes ``(y, 1)`` and ``(y, x)``)
    with ``rng.randn`` draws (``np.random`` or a ``np.random.RandomState``), as
    ``randn(*shape)`` per view would, weights divided as ``init`` says.

    Large matrices are filled a block of rows at a time: ``randn(a, x)`` then
    ``randn(b, x)`` draws the same numbers as ``randn(a + b, x)``.
    """
    for b in biases:
        _fill(b, 1.0, rng)
    for w in weights:
        _fill(w, init.weight_divisor(w.shape[1]), rng)


def _fill(view, divisor, rng):
    rows, cols = view.shape
    step = max(1, DRAW_CHUNK // cols)
    for start in range(0, rows, step):
        block = rng.randn(min(step, rows - start), cols)
        if divisor != 1.0:
            block /= divisor
        view[start:start + block.shape[0]] = block
