"""Compiled kernels: forward pass, backward pass with fused update, epoch and evaluation.

Every kernel works on the flat buffers described in ``_layout``: ``params`` (weights and
biases of all layers) and a workspace (``acts``, ``deltas``) for up to ``capacity``
samples. ``sizes``, ``w_off``, ``b_off`` and ``a_off`` are the layout's int64 arrays
(``a_off`` already scaled by the workspace capacity). Samples are rows; a layer's weights
``W`` are ``(n_out, n_in)`` row-major, as in the chapter.

How the work is laid out (one idea per kernel):

- forward: register tiles of 5 samples x 4 neurons, a dot product along the rows of
  ``A`` and ``W``, so each loaded vector of ``W`` feeds 5 FMAs and each of ``A`` 4; then
  the sigmoid over the whole layer in one vectorised loop (``_exp``);
- backward: one sweep over column blocks of ``W`` small enough for L1; per block first
  the input deltas ``P = D.W`` from the old weights, then the update ``W -= c D^T.A``
  with 4 rows x 5 samples per inner loop;
- threads: the forward pass splits neurons (rows of ``W``), the backward pass splits
  columns of ``W`` (the first layer's, which needs no input deltas, splits rows), so no
  two threads write the same element and results do not depend on the thread count. In
  training each thread copies the first layer's inputs for itself. Layers with little
  work stay serial.

Inner loops run over row slices from index 0 so that Numba drops its negative-index
wraparound and LLVM vectorises them, with 512-bit vectors where the kernel calls
``wide_vectors()`` and the CPU has them (buffers start on a cache line, see ``_layout``). Constants take the arrays' dtype (no float64
promotion in float32 mode). Integers passed from kernel to kernel are never literals
(``np.int64(0)``, not ``0``): Numba would compile a specialisation for each literal
value, which doubled the first compilation. Nothing here allocates.
"""
import numpy as np
from numba import njit, prange

from fastnet import _pool
from fastnet._codegen import wide_vectors
from fastnet.costs import CROSS_ENTROPY, QUADRATIC
from fastnet._exp import exp
from fastnet._fpenv import flush_subnormals, restore
from fastnet._jit import kernel
from fastnet._views import matrix

_pool.start()   # now: see there

#: Each cost's delta of one output (``costs``), compiled into the kernels that call it.
_quadratic_delta, _cross_entropy_delta = (njit(inline="always")(cost.kernel_delta)
                                          for cost in (QUADRATIC, CROSS_ENTROPY))
CROSS_ENTROPY_CODE = CROSS_ENTROPY.code

# Reassociation lets reductions vectorise; no nnan/ninf, so non-finite values stay visible.
FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}
#: Columns of W per backward block. Blocks bound the columns of A and P in flight; each
#: block costs a fixed setup, so whole rows up to this width beat shorter L1-sized blocks.
COLUMN_BLOCK = 1024
#: Columns per thread band in the backward pass: two cache lines of float64.
BAND_ALIGN = 16
#: Rows (neurons) per thread band: the forward pass's tile height.
ROW_ALIGN = 4
#: Columns per block when copying input rows side by side: 512 bytes of float64.
COPY_BLOCK = 64
#: Multiply-adds per layer and mini-batch below which a layer runs on one thread.
PARALLEL_WORK = 1 << 17


@kernel(fastmath=FASTMATH, error_model="numpy")
def _sigmoid_all(z):
    """``z = sigmoid(z)`` over a contiguous 1-D run of pre-activations, vectorised (NumPy's
    error model: no division-by-zero check, which ``1 + exp(-z) >= 1`` never needs, to
    branch out of the loop). For very negative ``z``, ``exp(-z)`` clamps near overflow
    and the result is tiny (0 once flushed), without a warning."""
    wide_vectors()
    one = z.dtype.type(1.0)
    for j in range(z.size):
        z[j] = one / (one + exp(-z[j]))


@kernel()
def all_finite(values):
    """Whether no value is NaN or inf. Compiled, so the check keeps the GIL: NumPy's
    releases it, and taking it back waits out a busy Python thread's time slice (5 ms)."""
    for value in values:
        if not np.isfinite(value):
            return False
    return True


@kernel()
def copy(destination, source):
    """``destination[...] = source`` for arrays of one shape, value by value. Numba's slice
    assignment from an array formats an error message for shapes that differ, whose
    string code costs each kernel that uses it about a second of its first compilation."""
    if destination.shape != source.shape:
        raise ValueError("copy: the arrays' shapes differ")
    for index in np.ndindex(source.shape):
        destination[index] = source[index]


@kernel(fastmath=FASTMATH, inline="always")
def _block(buffer, offset, rows, cols):
    """``buffer[offset:offset + rows * cols]`` as a ``(rows, cols)`` matrix, a view; the
    layout's offsets keep it inside ``buffer`` (a check here would be an exit from the
    ``prange`` loops it is inlined into, and keep them from running in parallel)."""
    return matrix(buffer[offset:offset + rows * cols], rows, cols)


@kernel(fastmath=FASTMATH, inline="always")
def _band(n, bands, t, align):
    """``(lo, hi)``: the ``t``-th of ``bands`` contiguous parts of ``range(n)``, cut at multiples of ``align``."""
    units = (n + align - 1) // align
    lo = min(n, (units * t // bands) * align)
    hi = min(n, (units * (t + 1) // bands) * align)
    return lo, hi


@kernel(fastmath=FASTMATH)
def load_inputs(X, order, start, stop, acts):
    """Copy samples ``order[start:stop]`` of ``X`` into the input layer's rows.

    The rows are copied side by side, a block of columns at a time, so that the memory
    system fetches from all of them at once rather than one row after another.
    """
    wide_vectors()
    n_in = X.shape[1]
    for k0 in range(0, n_in, COPY_BLOCK):
        k1 = min(k0 + COPY_BLOCK, n_in)
        for i in range(stop - start):
            src = X[order[start + i], k0:k1]
            dst = acts[i * n_in + k0:i * n_in + k1]
            for k in range(k1 - k0):
                dst[k] = src[k]


# -- forward -----------------------------------------------------------------------------
@kernel(fastmath=FASTMATH)
def _affine(W, b, A, Z, m, j_lo, j_hi):
    """``Z[i, j] = A[i].W[j] + b[j]`` for samples ``i < m``, neurons ``j_lo <= j < j_hi``.

    Tiles of 5 samples x 4 neurons (20 accumulators, 29 of the 32 vector registers); an
    edge tile repeats its last sample or neuron, which writes the same value twice.
    """
    wide_vectors()
    n = A.shape[1]
    zero = A.dtype.type(0.0)
    for j0 in range(j_lo, j_hi, 4):
        j1, j2, j3 = min(j0 + 1, j_hi - 1), min(j0 + 2, j_hi - 1), min(j0 + 3, j_hi - 1)
        w0, w1, w2, w3 = W[j0], W[j1], W[j2], W[j3]
        for i0 in range(0, m, 5):
            i1, i2 = min(i0 + 1, m - 1), min(i0 + 2, m - 1)
            i3, i4 = min(i0 + 3, m - 1), min(i0 + 4, m - 1)
            a0, a1, a2, a3, a4 = A[i0], A[i1], A[i2], A[i3], A[i4]
            s00 = s01 = s02 = s03 = s10 = s11 = s12 = s13 = s20 = s21 = s22 = s23 = zero
            s30 = s31 = s32 = s33 = s40 = s41 = s42 = s43 = zero
            for k in range(n):
                y0, y1, y2, y3 = w0[k], w1[k], w2[k], w3[k]
                x = a0[k]
                s00, s01, s02, s03 = s00 + x * y0, s01 + x * y1, s02 + x * y2, s03 + x * y3
                x = a1[k]
                s10, s11, s12, s13 = s10 + x * y0, s11 + x * y1, s12 + x * y2, s13 + x * y3
                x = a2[k]
                s20, s21, s22, s23 = s20 + x * y0, s21 + x * y1, s22 + x * y2, s23 + x * y3
                x = a3[k]
                s30, s31, s32, s33 = s30 + x * y0, s31 + x * y1, s32 + x * y2, s33 + x * y3
                x = a4[k]
                s40, s41, s42, s43 = s40 + x * y0, s41 + x * y1, s42 + x * y2, s43 + x * y3
            _store_row(Z, i0, j0, j1, j2, j3, b, s00, s01, s02, s03)
            _store_row(Z, i1, j0, j1, j2, j3, b, s10, s11, s12, s13)
            _store_row(Z, i2, j0, j1, j2, j3, b, s20, s21, s22, s23)
            _store_row(Z, i3, j0, j1, j2, j3, b, s30, s31, s32, s33)
            _store_row(Z, i4, j0, j1, j2, j3, b, s40, s41, s42, s43)


@kernel(fastmath=FASTMATH, inline="always")
def _store_row(Z, i, j0, j1, j2, j3, b, s0, s1, s2, s3):
    """One sample's 4 results of a tile: ``Z[i, j] = s + b[j]``."""
    Z[i, j0], Z[i, j1], Z[i, j2], Z[i, j3] = s0 + b[j0], s1 + b[j1], s2 + b[j2], s3 + b[j3]


@kernel(fastmath=FASTMATH, parallel=True)
def _affine_threads(W, b, A, Z, m, threads):
    """``_affine`` over all neurons, split into ``threads`` bands of rows of ``W``."""
    for t in prange(threads):
        word = flush_subnormals()
        lo, hi = _band(W.shape[0], threads, t, ROW_ALIGN)
        if lo < hi:
            _affine(W, b, A, Z, m, lo, hi)
        restore(word)


@kernel(fastmath=FASTMATH)
def _layer_forward(params, sizes, w_off, b_off, acts, a_off, l, m, threads):
    """Activations of layer ``l + 1`` from those of layer ``l``, for ``m`` samples."""
    n_in, n_out = sizes[l], sizes[l + 1]
    if threads > 1 and m * n_in * n_out >= PARALLEL_WORK:
        _affine_threads(_block(params, w_off[l], n_out, n_in), params[b_off[l]:b_off[l] + n_out],
                        _block(acts, a_off[l], m, n_in), _block(acts, a_off[l + 1], m, n_out), m,
                        threads)
        _sigmoid_all(acts[a_off[l + 1]:a_off[l + 1] + m * n_out])
    else:
        layer_forward_serial(params, sizes, w_off, b_off, acts, a_off, l, m)


@kernel(fastmath=FASTMATH)
def layer_forward_serial(params, sizes, w_off, b_off, acts, a_off, l, m):
    """``_layer_forward`` on this thread alone (and without compiling the threaded code)."""
    n_in, n_out = sizes[l], sizes[l + 1]
    _affine(_block(params, w_off[l], n_out, n_in), params[b_off[l]:b_off[l] + n_out],
            _block(acts, a_off[l], m, n_in), _block(acts, a_off[l + 1], m, n_out), m,
            np.int64(0), n_out)
    _sigmoid_all(acts[a_off[l + 1]:a_off[l + 1] + m * n_out])


@kernel(fastmath=FASTMATH)
def forward(params, sizes, w_off, b_off, acts, a_off, m, threads):
    """Sigmoid activations of every layer for the ``m`` samples in the input rows."""
    for l in range(sizes.size - 1):
        _layer_forward(params, sizes, w_off, b_off, acts, a_off, l, m, threads)


# -- backward ----------------------------------------------------------------------------
@kernel(fastmath=FASTMATH)
def _output_deltas(A, D, targets, order, start, m, cost):
    """``D = dC/dz`` at the output layer for the cost with code ``cost`` (see ``costs``)."""
    wide_vectors()
    for i in range(m):
        t = targets[order[start + i]]
        if cost == CROSS_ENTROPY_CODE:
            for j in range(A.shape[1]):
                D[i, j] = _cross_entropy_delta(A[i, j], t[j])
        else:
            for j in range(A.shape[1]):
                D[i, j] = _quadratic_delta(A[i, j], t[j])


@kernel(fastmath=FASTMATH)
def _input_deltas(W, D, A, P, m, k0, k1):
    """``P[i, k] = (D[i].W[:, k]) A[i, k] (1 - A[i, k])`` for ``i < m``, ``k0 <= k < k1``.

    Per sample, 4 rows of ``W`` at a time; an edge group repeats its last row with a
    zero delta.
    """
    wide_vectors()
    n_out = W.shape[0]
    zero, one = A.dtype.type(0.0), A.dtype.type(1.0)
    for i in range(m):
        p = P[i, k0:k1]
        p[:] = zero
        for j0 in range(0, n_out, 4):
            j1, j2, j3 = min(j0 + 1, n_out - 1), min(j0 + 2, n_out - 1), min(j0 + 3, n_out - 1)
            d0 = D[i, j0]
            d1 = D[i, j1] if j0 + 1 < n_out else zero
            d2 = D[i, j2] if j0 + 2 < n_out else zero
            d3 = D[i, j3] if j0 + 3 < n_out else zero
            w0, w1, w2, w3 = W[j0, k0:k1], W[j1, k0:k1], W[j2, k0:k1], W[j3, k0:k1]
            for k in range(k1 - k0):
                p[k] += d0 * w0[k] + d1 * w1[k] + d2 * w2[k] + d3 * w3[k]
        a = A[i, k0:k1]
        for k in range(k1 - k0):
            p[k] *= a[k] * (one - a[k])


@kernel(fastmath=FASTMATH)
def _descend(W_out, scale, decay, D, A, m, j_lo, j_hi, k0, k1):
    """``W_out[j, k] = decay * W_out[j, k] - scale * sum_i D[i, j] A[i, k]`` for
    ``j_lo <= j < j_hi``, ``k0 <= k < k1`` (``decay`` is L2 weight decay; 1 leaves
    the weights' own term exact, as ``w * 1 - s`` rounds like ``w - s``).

    4 rows x 5 samples per inner loop, then the rows left over one at a time; an edge
    group of samples repeats the last sample with a zero delta. (Repeating a row instead
    would alias two written rows, and LLVM would fall back to scalar code.)
    """
    wide_vectors()
    one = D.dtype.type(1.0)
    j_four = j_lo + (j_hi - j_lo) // 4 * 4
    for j0 in range(j_lo, j_four, 4):
        w0, w1 = W_out[j0, k0:k1], W_out[j0 + 1, k0:k1]
        w2, w3 = W_out[j0 + 2, k0:k1], W_out[j0 + 3, k0:k1]
        for i0 in range(0, m, 5):
            d = decay if i0 == 0 else one   # decay once per step, with the first samples
            a0, a1, a2, a3, a4 = _rows5(A, i0, m, k0, k1)
            c00, c01, c02, c03, c04 = _deltas5(D, i0, j0, m, scale)
            c10, c11, c12, c13, c14 = _deltas5(D, i0, j0 + 1, m, scale)
            c20, c21, c22, c23, c24 = _deltas5(D, i0, j0 + 2, m, scale)
            c30, c31, c32, c33, c34 = _deltas5(D, i0, j0 + 3, m, scale)
            for k in range(k1 - k0):
                x0, x1, x2, x3, x4 = a0[k], a1[k], a2[k], a3[k], a4[k]
                w0[k] = w0[k] * d - (c00 * x0 + c01 * x1 + c02 * x2 + c03 * x3 + c04 * x4)
                w1[k] = w1[k] * d - (c10 * x0 + c11 * x1 + c12 * x2 + c13 * x3 + c14 * x4)
                w2[k] = w2[k] * d - (c20 * x0 + c21 * x1 + c22 * x2 + c23 * x3 + c24 * x4)
                w3[k] = w3[k] * d - (c30 * x0 + c31 * x1 + c32 * x2 + c33 * x3 + c34 * x4)
    for j in range(j_four, j_hi):
        w = W_out[j, k0:k1]
        for i0 in range(0, m, 5):
            d = decay if i0 == 0 else one
            a0, a1, a2, a3, a4 = _rows5(A, i0, m, k0, k1)
            c0, c1, c2, c3, c4 = _deltas5(D, i0, j, m, scale)
            for k in range(k1 - k0):
                w[k] = w[k] * d - (c0 * a0[k] + c1 * a1[k] + c2 * a2[k] + c3 * a3[k] + c4 * a4[k])


@kernel(fastmath=FASTMATH, inline="always")
def _rows5(A, i0, m, k0, k1):
    """Columns ``k0..k1`` of samples ``i0..i0+4``; past ``m`` the last sample repeats."""
    return (A[i0, k0:k1], A[min(i0 + 1, m - 1), k0:k1], A[min(i0 + 2, m - 1), k0:k1],
            A[min(i0 + 3, m - 1), k0:k1], A[min(i0 + 4, m - 1), k0:k1])


@kernel(fastmath=FASTMATH, inline="always")
def _deltas5(D, i0, j, m, scale):
    """``scale * D[i, j]`` for samples ``i0..i0+4``, 0 for a padding sample."""
    zero = D.dtype.type(0.0)
    return (scale * D[i0, j], scale * D[i0 + 1, j] if i0 + 1 < m else zero,
            scale * D[i0 + 2, j] if i0 + 2 < m else zero,
            scale * D[i0 + 3, j] if i0 + 3 < m else zero,
            scale * D[i0 + 4, j] if i0 + 4 < m else zero)


@kernel(fastmath=FASTMATH)
def _backward_block(W, W_out, scale, decay, D, A, P, m, with_inputs, j_lo, j_hi, k_lo, k_hi):
    """Rows ``j_lo..j_hi`` and columns ``k_lo..k_hi`` of one layer, in column blocks: the
    input deltas ``P`` (if ``with_inputs``; then all rows) from the old weights, then the
    update of ``W_out``."""
    for k0 in range(k_lo, k_hi, COLUMN_BLOCK):
        k1 = min(k0 + COLUMN_BLOCK, k_hi)
        if with_inputs:
            _input_deltas(W, D, A, P, m, k0, k1)
        _descend(W_out, scale, decay, D, A, m, j_lo, j_hi, k0, k1)


@kernel(fastmath=FASTMATH, parallel=True)
def _backward_threads(W, W_out, scale, decay, D, A, P, m, with_inputs, threads):
    """``_backward_block`` split over ``threads``. Input deltas sum over rows, so a layer
    that needs them splits columns; the first layer splits rows exactly as the forward
    pass does, so each thread keeps updating the rows it reads and they stay in its cache."""
    n_out, n_in = W.shape
    for t in prange(threads):
        word = flush_subnormals()
        if with_inputs:
            lo, hi = _band(n_in, threads, t, BAND_ALIGN)
            if lo < hi:
                _backward_block(W, W_out, scale, decay, D, A, P, m, with_inputs, np.int64(0), n_out,
                                lo, hi)
        else:
            lo, hi = _band(n_out, threads, t, ROW_ALIGN)
            if lo < hi:
                _backward_block(W, W_out, scale, decay, D, A, P, m, with_inputs, lo, hi, np.int64(0), n_in)
        restore(word)


@kernel(fastmath=FASTMATH)
def backward(params, out, scale, decay, cost, sizes, w_off, b_off, acts, deltas, a_off, m,
             targets, order, start, threads, lowest):
    """Backpropagate the cost (code ``cost``) of ``m`` samples and apply
    ``out = decay * out - scale * grad`` to the weights of layers ``lowest`` and up
    (biases: ``out -= scale * grad``; ``lowest = 1`` leaves the first layer to the caller).

    ``targets[order[start + i]]`` is the desired output of sample ``i``. With ``out`` the
    parameters themselves and ``scale = eta / m`` this is the mini-batch update; with
    ``out`` zeroed and ``scale = -1`` it leaves the summed gradient in ``out``. Each
    layer's input deltas are formed from its weights before those weights are updated.
    """
    last = sizes.size - 1
    _output_deltas(_block(acts, a_off[last], m, sizes[last]),
                   _block(deltas, a_off[last], m, sizes[last]), targets, order, start, m, cost)
    for l in range(last - 1, lowest - 1, -1):
        n_in, n_out = sizes[l], sizes[l + 1]
        W = _block(params, w_off[l], n_out, n_in)
        W_out = _block(out, w_off[l], n_out, n_in)
        b_out = out[b_off[l]:b_off[l] + n_out]
        A = _block(acts, a_off[l], m, n_in)
        D = _block(deltas, a_off[l + 1], m, n_out)
        P = _block(deltas, a_off[l], m, n_in)
        for j in range(n_out):
            b_out[j] -= scale * D[:, j].sum()
        if threads > 1 and m * n_in * n_out >= PARALLEL_WORK:
            _backward_threads(W, W_out, scale, decay, D, A, P, m, l > 0, threads)
        else:
            _backward_block(W, W_out, scale, decay, D, A, P, m, l > 0, np.int64(0), n_out,
                            np.int64(0), n_in)


@kernel(fastmath=FASTMATH)
def _descend_then_forward(W, b, scale, decay, D, m, X, order, start, m_next, rows, p, Z_next, j_lo, j_hi):
    """Rows ``j_lo..j_hi`` of the first layer: copy the next mini-batch (samples
    ``order[start:start + m_next]``) into ``rows[1 - p]``, then update the rows with this
    mini-batch (``rows[p]``, deltas ``D``) 4 at a time, each group then feeding the next
    mini-batch into ``Z_next`` (pre-activations) while its rows are in L1. Odd steps
    (``p = 1``) go from the last group to the first, so a band of rows larger than L2
    starts with the rows the previous step left there."""
    n_in = W.shape[1]
    load_inputs(X, order, start, start + m_next, rows[1 - p])
    A, A_next = _block(rows[p], 0, m, n_in), _block(rows[1 - p], 0, m_next, n_in)
    groups = (j_hi - j_lo + 3) // 4
    for g in range(groups):
        j0 = j_lo + 4 * (groups - 1 - g if p else g)
        j1 = min(j0 + 4, j_hi)
        for k0 in range(0, n_in, COLUMN_BLOCK):
            _descend(W, scale, decay, D, A, m, j0, j1, k0, min(k0 + COLUMN_BLOCK, n_in))
        _affine(W, b, A_next, Z_next, m_next, j0, j1)


@kernel(fastmath=FASTMATH, parallel=True)
def _descend_then_forward_threads(W, b, scale, decay, D, m, X, order, start, m_next, inputs, p, Z_next):
    """``_descend_then_forward`` split into the row bands of the other passes; thread ``t``
    copies every input row it needs into its own ``inputs[t]``, as reading rows another
    core has just written costs more than copying them from memory again."""
    threads = inputs.shape[0]
    for t in prange(threads):
        word = flush_subnormals()
        lo, hi = _band(W.shape[0], threads, t, ROW_ALIGN)
        _descend_then_forward(W, b, scale, decay, D, m, X, order, start, m_next, inputs[t], p,
                              Z_next, lo, hi)
        restore(word)


@kernel(fastmath=FASTMATH)
def _first_layer_step(params, sizes, w_off, b_off, spare, deltas, a_off, m, scale, decay,
                      X, order, start, m_next, inputs, p):
    """Update the first layer with this mini-batch (inputs in ``inputs[:, p]``, deltas in
    ``deltas``) and compute the next mini-batch's first activations into ``spare`` in the
    same sweep over W, so the largest matrix streams through the cache once per step
    instead of twice. ``inputs`` holds a pair of input buffers for each thread taking part."""
    n_in, n_out = sizes[0], sizes[1]
    W = _block(params, w_off[0], n_out, n_in)
    b = params[b_off[0]:b_off[0] + n_out]
    D = _block(deltas, a_off[1], m, n_out)
    for j in range(n_out):
        b[j] -= scale * D[:, j].sum()
    Z_next = _block(spare, a_off[1], m_next, n_out)
    if inputs.shape[0] > 1:
        _descend_then_forward_threads(W, b, scale, decay, D, m, X, order, start, m_next, inputs,
                                      p, Z_next)
    else:
        _descend_then_forward(W, b, scale, decay, D, m, X, order, start, m_next, inputs[0], p,
                              Z_next, np.int64(0), n_out)
    _sigmoid_all(spare[a_off[1]:a_off[1] + m_next * n_out])


@kernel(fastmath=FASTMATH)
def train_epoch(params, sizes, w_off, b_off, X, targets, order, batch, eta, decay, cost,
                acts, spare, deltas, a_off, inputs, threads):
    """One epoch of mini-batch SGD over samples in ``order``, ``batch`` at a time, on the
    cost with code ``cost``; every step first scales the weights by ``decay`` (L2).

    ``acts`` and ``spare`` take turns: while one holds this mini-batch, the first layer's
    update fills the other with the next mini-batch's first activations. ``inputs`` is
    ``(k, 2, batch * sizes[0])``: the input rows of this and the next mini-batch for each
    of the ``k`` threads that share the first layer (``k`` is 1 where it is too small to
    split, otherwise ``threads``).
    """
    word = flush_subnormals()
    n = order.size
    zero, one = type(eta)(0.0), type(eta)(1.0)
    none, p = np.int64(0), np.int64(1)
    _first_layer_step(params, sizes, w_off, b_off, acts, deltas, a_off, none, zero, one,
                      X, order, none, min(batch, n), inputs, p)
    p = none
    for start in range(0, n, batch):
        m = min(batch, n - start)
        for l in range(1, sizes.size - 1):
            _layer_forward(params, sizes, w_off, b_off, acts, a_off, l, m, threads)
        scale = eta / type(eta)(m)
        backward(params, params, scale, decay, cost, sizes, w_off, b_off, acts, deltas, a_off, m,
                 targets, order, start, threads, np.int64(1))
        _first_layer_step(params, sizes, w_off, b_off, spare, deltas, a_off, m, scale, decay,
                          X, order, start + m, min(batch, n - start - m), inputs, p)
        acts, spare = spare, acts
        p = 1 - p
    restore(word)


def first_layer_threads(sizes, batch, threads):
    """How many threads share the first layer's step: all of them where the layer is big
    enough to split, else one."""
    return threads if threads > 1 and batch * sizes[0] * sizes[1] >= PARALLEL_WORK else 1


@kernel(fastmath=FASTMATH)
def predict(params, sizes, w_off, b_off, X, acts, a_off, capacity, out, threads):
    """Output activations of every row of ``X`` into ``out``, ``capacity`` rows at a time."""
    word = flush_subnormals()
    n = X.shape[0]
    order = np.arange(n)
    last = sizes.size - 1
    for start in range(0, n, capacity):
        m = min(capacity, n - start)
        load_inputs(X, order, start, start + m, acts)
        forward(params, sizes, w_off, b_off, acts, a_off, m, threads)
        copy(out[start:start + m], _block(acts, a_off[last], m, sizes[last]))
    restore(word)
