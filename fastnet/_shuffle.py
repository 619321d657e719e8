"""``random.shuffle``, compiled: the same permutation from the same generator state.

The chapter shuffles its training list with ``random.shuffle`` every epoch; over 50,000
samples that Python loop takes about 25 ms, a third of a fast epoch. ``shuffle`` does the
very same thing in compiled code: it reads the Mersenne Twister's state out of the
``random.Random`` (or the ``random`` module), draws exactly as CPython's
``Random.shuffle`` and ``_randbelow_with_getrandbits`` do (``getrandbits(k)`` is the next
32-bit output shifted right by ``32 - k``; a draw ``>= n`` is drawn again), and writes the
advanced state back. Generators of a subclass, which may draw differently, are shuffled
by their own ``shuffle``.
"""
import random

import numpy as np

from fastnet._jit import kernel

#: MT19937's parameters (as in CPython's _randommodule.c).
N, M = 624, 397
MATRIX_A, UPPER_MASK, LOWER_MASK = 0x9908B0DF, 0x80000000, 0x7FFFFFFF


def shuffle(generator, order):
    """Shuffle ``order``, a list or an int64 vector, in place as ``generator.shuffle(order)``
    would, where ``generator`` is the ``random`` module or a ``random.Random``; returns it
    as an int64 array too (a vector is shuffled where it is: no conversion either way)."""
    if not _is_plain(generator):
        generator.shuffle(order)
        return np.asarray(order, dtype=np.int64)
    version, internal, gauss = generator.getstate()
    state = np.array(internal[:N], dtype=np.uint32)
    permuted = order if isinstance(order, np.ndarray) else np.array(order, dtype=np.int64)
    index = _shuffle(state, np.int64(internal[N]), permuted)
    generator.setstate((version, tuple(state.tolist()) + (int(index),), gauss))
    if permuted is not order:
        order[:] = permuted.tolist()
    return permuted


def _is_plain(generator):
    """Whether ``generator`` draws as CPython's own ``random.Random`` does (the ``random``
    module's functions are bound to one, ``random._inst``)."""
    instance = random._inst if generator is random else generator
    return type(instance) is random.Random


@kernel()
def _next32(state, index):
    """``(next 32-bit output, new index)`` of MT19937 (``genrand_uint32``)."""
    if index >= N:
        for k in range(N):
            y = (np.int64(state[k]) & UPPER_MASK) | (np.int64(state[(k + 1) % N]) & LOWER_MASK)
            state[k] = np.int64(state[(k + M) % N]) ^ (y >> 1) ^ (MATRIX_A if y & 1 else 0)
        index = 0
    y = np.int64(state[index])
    y ^= y >> 11
    y ^= (y << 7) & 0x9D2C5680
    y ^= (y << 15) & 0xEFC60000
    y ^= y >> 18
    return y, index + 1


@kernel()
def _shuffle(state, index, values):
    """CPython's ``Random.shuffle`` on ``values``; returns the generator's new index."""
    for i in range(values.size - 1, 0, -1):
        n = i + 1
        bits = 0
        while n >> bits:   # n.bit_length()
            bits += 1
        while True:
            word, index = _next32(state, index)
            r = word >> (32 - bits)
            if r < n:
                break
        values[i], values[r] = values[r], values[i]
    return index
