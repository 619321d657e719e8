"""Where every layer's weights, biases and scratch rows live inside flat buffers.

Parameters: one contiguous buffer holding, layer after layer, the weights (row-major,
shape ``(sizes[l+1], sizes[l])``) and then the biases (``sizes[l+1]``).
Scratch: one buffer of activations and one of deltas for ``capacity`` samples, where
layer ``l`` holds ``(capacity, sizes[l])`` row-major starting at ``unit_offsets[l]``.
Every buffer starts on a cache line, so rows of 784 inputs never straddle one.
"""
import numpy as np

#: Bytes in a cache line, and in one AVX-512 register.
ALIGNMENT = 64


def aligned_zeros(n, dtype):
    """``np.zeros(n, dtype)`` whose first element starts on a cache line.

    A vector load that straddles two lines costs two; unaligned rows made the kernels
    about 1.4x slower with 512-bit vectors.
    """
    dtype = np.dtype(dtype)
    raw = np.zeros(n * dtype.itemsize + ALIGNMENT, dtype=np.uint8)
    start = -raw.ctypes.data % ALIGNMENT
    return raw[start:start + n * dtype.itemsize].view(dtype)


def padded(count, dtype):
    """``count`` numbers of ``dtype`` rounded up to whole cache lines (whole vectors)."""
    per_line = ALIGNMENT // np.dtype(dtype).itemsize
    return -(-count // per_line) * per_line


class Layout:
    """Shapes and offsets of a network with layer sizes ``sizes``."""

    def __init__(self, sizes):
        self.sizes = np.asarray(sizes, dtype=np.int64)
        fan_in, fan_out = self.sizes[:-1], self.sizes[1:]
        per_layer = fan_out * fan_in + fan_out
        starts = np.concatenate(([0], np.cumsum(per_layer)[:-1])).astype(np.int64)
        self.weight_offsets = starts
        self.bias_offsets = starts + fan_out * fan_in
        self.n_params = int(per_layer.sum())
        self.unit_offsets = np.concatenate(([0], np.cumsum(self.sizes)[:-1])).astype(np.int64)
        self.n_units = int(self.sizes.sum())

    def weight_shapes(self):
        """``(fan_out, fan_in)`` for every layer of weights."""
        return [(int(y), int(x)) for x, y in zip(self.sizes[:-1], self.sizes[1:])]

    def views(self, params):
        """``(weights, biases)``: lists of views into ``params`` with the chapter's shapes."""
        weights, biases = [], []
        for (y, x), w0, b0 in zip(self.weight_shapes(), self.weight_offsets, self.bias_offsets):
            weights.append(params[w0:w0 + y * x].reshape(y, x))
            biases.append(params[b0:b0 + y].reshape(y, 1))
        return weights, biases


class Workspace:
    """Scratch for forward and backward passes over up to ``capacity`` samples at once.

    Training also needs ``inputs``: for each of ``input_copies`` threads, a pair of
    buffers for the input rows of this and the next mini-batch, each starting on a cache
    line so no two threads write to the same one.
    """

    def __init__(self, layout, capacity, dtype, input_copies=0):
        self.capacity = capacity
        self.unit_offsets = layout.unit_offsets * capacity
        self.activations = aligned_zeros(layout.n_units * capacity, dtype)
        self.spare = aligned_zeros(layout.n_units * capacity, dtype)   # the next mini-batch's
        self.deltas = aligned_zeros(layout.n_units * capacity, dtype)
        slot = padded(int(layout.sizes[0]) * capacity, dtype)
        self.inputs = aligned_zeros(input_copies * 2 * slot, dtype).reshape(input_copies, 2, slot)
