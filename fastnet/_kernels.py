"""Compiled kernels: forward pass, backward pass with fused update, epoch and evaluation.

Every kernel works on the flat buffers described in ``_layout``: ``params`` (weights and
biases of all layers), and a workspace (``acts``, ``deltas``, ``row``) for up to
``capacity`` samples. ``sizes``, ``w_off``, ``b_off`` and ``a_off`` are the layout's
int64 arrays (``a_off`` already scaled by the workspace capacity). Samples are rows.
Nothing here allocates per mini-batch.
"""
import numpy as np
from numba import njit

# Reassociation lets reductions vectorise; no nnan/ninf, so non-finite values stay visible.
FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}


@njit(cache=True, fastmath=FASTMATH, inline="always")
def _sigmoid(z):
    # exp(-z) may become inf for very negative z: 1 / inf is exactly 0, and no warning.
    return 1.0 / (1.0 + np.exp(-z))


@njit(cache=True, fastmath=FASTMATH, inline="always")
def _block(buffer, offset, rows, cols):
    return buffer[offset:offset + rows * cols].reshape((rows, cols))


@njit(cache=True, fastmath=FASTMATH)
def load_inputs(X, order, start, stop, acts):
    """Copy samples ``order[start:stop]`` of ``X`` into the input layer's rows."""
    n_in = X.shape[1]
    for i in range(stop - start):
        src = X[order[start + i]]
        for k in range(n_in):
            acts[i * n_in + k] = src[k]


@njit(cache=True, fastmath=FASTMATH)
def forward(params, sizes, w_off, b_off, acts, a_off, m):
    """Sigmoid activations of every layer for the ``m`` samples in the input rows."""
    for l in range(sizes.size - 1):
        n_in, n_out = sizes[l], sizes[l + 1]
        W = _block(params, w_off[l], n_out, n_in)
        b = params[b_off[l]:b_off[l] + n_out]
        A = _block(acts, a_off[l], m, n_in)
        Z = _block(acts, a_off[l + 1], m, n_out)
        for j in range(n_out):
            for i in range(m):
                s = 0.0
                for k in range(n_in):
                    s += W[j, k] * A[i, k]
                Z[i, j] = _sigmoid(s + b[j])


@njit(cache=True, fastmath=FASTMATH)
def backward(params, out, scale, sizes, w_off, b_off, acts, deltas, a_off, m,
             targets, order, start, row):
    """Backpropagate the quadratic cost of ``m`` samples and apply ``out -= scale * grad``.

    ``targets[order[start + i]]`` is the desired output of sample ``i``. With ``out`` the
    parameters themselves and ``scale = eta / m`` this is the mini-batch update; with
    ``out`` zeroed and ``scale = -1`` it leaves the summed gradient in ``out``. Each
    layer's deltas are formed from its weights before those weights are updated.
    """
    last = sizes.size - 1
    n_out = sizes[last]
    A = _block(acts, a_off[last], m, n_out)
    D = _block(deltas, a_off[last], m, n_out)
    for i in range(m):
        t = targets[order[start + i]]
        for j in range(n_out):
            a = A[i, j]
            D[i, j] = (a - t[j]) * a * (1.0 - a)
    for l in range(last - 1, -1, -1):
        n_in, n_out = sizes[l], sizes[l + 1]
        W = _block(params, w_off[l], n_out, n_in)
        W_out = _block(out, w_off[l], n_out, n_in)
        b_out = out[b_off[l]:b_off[l] + n_out]
        A = _block(acts, a_off[l], m, n_in)
        D = _block(deltas, a_off[l + 1], m, n_out)
        P = _block(deltas, a_off[l], m, n_in)
        g = row[:n_in]
        if l > 0:
            P[:, :] = 0.0
        for j in range(n_out):
            if l > 0:
                for i in range(m):
                    d = D[i, j]
                    for k in range(n_in):
                        P[i, k] += d * W[j, k]
            g[:] = 0.0
            gb = 0.0
            for i in range(m):
                d = D[i, j]
                gb += d
                for k in range(n_in):
                    g[k] += d * A[i, k]
            for k in range(n_in):
                W_out[j, k] -= scale * g[k]
            b_out[j] -= scale * gb
        if l > 0:
            for i in range(m):
                for k in range(n_in):
                    a = A[i, k]
                    P[i, k] *= a * (1.0 - a)


@njit(cache=True, fastmath=FASTMATH)
def train_epoch(params, sizes, w_off, b_off, X, targets, order, batch, eta,
                acts, deltas, a_off, row):
    """One epoch of mini-batch SGD over samples in ``order``, ``batch`` at a time."""
    n = order.size
    for start in range(0, n, batch):
        m = min(batch, n - start)
        load_inputs(X, order, start, start + m, acts)
        forward(params, sizes, w_off, b_off, acts, a_off, m)
        backward(params, params, eta / m, sizes, w_off, b_off, acts, deltas, a_off, m,
                 targets, order, start, row)


@njit(cache=True, fastmath=FASTMATH)
def predict(params, sizes, w_off, b_off, X, acts, a_off, capacity, out):
    """Output activations of every row of ``X`` into ``out``, ``capacity`` rows at a time."""
    n = X.shape[0]
    order = np.arange(n)
    last = sizes.size - 1
    for start in range(0, n, capacity):
        m = min(capacity, n - start)
        load_inputs(X, order, start, start + m, acts)
        forward(params, sizes, w_off, b_off, acts, a_off, m)
        out[start:start + m] = _block(acts, a_off[last], m, sizes[last])
