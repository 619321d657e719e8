"""Training on sparse inputs: the first layer multiplies non-zero pixels only.

An MNIST image has 150 non-zero pixels of 784 on average, and a multiply-add by a zero
pixel changes nothing: skipping it is exact (only the order of additions changes).

Layout:
- the inputs as CSR, made once per call (``to_csr``): row ``r``'s pixels are
  ``indices[indptr[r]:indptr[r + 1]]`` with values ``values[...]``;
- the first layer's weights as a transposed mirror ``WT`` (one row of ``Hp`` numbers per
  pixel, ``H`` neurons padded to whole vectors), so that a pixel's weights are
  contiguous: a sample's pre-activations are a sum of the rows of its pixels, and the
  update changes exactly those rows. ``WT`` is filled from the network's own weights
  when an epoch starts and written back when it ends (``mirror``, ``unmirror``).
- L2 decay scales every weight every step; here it is kept lazily as one factor
  ``scale[0]`` (``W = scale * WT``), so a step still touches only its pixels' rows.

One epoch runs as one parallel region. Each thread owns a band of the first layer's
neurons: their weights (columns of ``WT``), biases, and the output layer's columns of
weights that leave them. The threads meet once per mini-batch (``_sync.barrier``),
after each has summed its neurons' share of the next layer's input. Neurons are cut into
fixed units of up to ``BLOCK`` vectors and every sum runs over fixed units in a fixed
order, so the numbers do not depend on how many threads share the work. Networks with
more than one hidden layer run the layers above the first on the first thread, between
two meetings.
"""
from typing import NamedTuple

import numpy as np
from numba import njit, prange

from fastnet import _sync
from fastnet._fpenv import flush_subnormals, restore
from fastnet._layout import aligned_zeros
from fastnet._kernels import FASTMATH, _band, _block, _layer_forward, _sigmoid_all, backward
from fastnet._simd import lanes_of, vadd, vfma, vload, vsplat, vstore, vzero
from fastnet.costs import CROSS_ENTROPY, QUADRATIC

#: Vectors of neurons whose sums are kept in registers together: a unit of work.
BLOCK = 4
#: When the lazy decay factor falls below this, it is folded into the weights.
RENORMALISE = 2.0 ** -20
_quadratic_delta, _cross_entropy_delta = QUADRATIC.kernel_delta, CROSS_ENTROPY.kernel_delta
CROSS_ENTROPY_CODE = CROSS_ENTROPY.code


# -- inputs as CSR -------------------------------------------------------------------------
@njit(cache=True, parallel=True)
def count_nonzeros(X, counts):
    """``counts[r]``: how many values of row ``r`` of ``X`` are not zero."""
    for r in prange(X.shape[0]):
        row, count = X[r], 0
        for k in range(X.shape[1]):
            count += row[k] != 0
        counts[r] = count


@njit(cache=True, parallel=True)
def _fill(X, indptr, indices, values):
    for r in prange(X.shape[0]):
        row, p = X[r], indptr[r]
        for k in range(X.shape[1]):
            if row[k] != 0:
                indices[p] = k
                values[p] = row[k]
                p += 1


def to_csr(X, counts):
    """``(indptr, indices, values)``: the non-zero values of ``X`` row by row (CSR), from
    the row counts ``count_nonzeros`` made; ``values`` keep ``X``'s dtype."""
    indptr = np.zeros(X.shape[0] + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    indices = np.empty(indptr[-1], dtype=np.int32)
    values = np.empty(indptr[-1], dtype=X.dtype)
    _fill(X, indptr, indices, values)
    return indptr, indices, values


# -- the mirror of the first layer's weights ----------------------------------------------
def padded_width(neurons, dtype):
    """Neurons rounded up to whole vectors: the length of a row of ``WT``."""
    per_vector = 64 // np.dtype(dtype).itemsize
    return -(-neurons // per_vector) * per_vector


@njit(cache=True)
def mirror(W, WT, Hp):
    """``WT`` (flat, ``n_in`` rows of ``Hp``) = ``W.T`` with zero padding."""
    n_out, n_in = W.shape
    for k0 in range(0, n_in, 64):   # blocks of pixels: both sides stay in cache
        for j in range(n_out):
            w = W[j]
            for k in range(k0, min(k0 + 64, n_in)):
                WT[k * Hp + j] = w[k]
    for k in range(n_in):
        WT[k * Hp + n_out:(k + 1) * Hp] = 0


@njit(cache=True)
def unmirror(WT, Hp, scale, W):
    """``W = scale * WT.T``: the mirror's values back into the network's weights."""
    n_out, n_in = W.shape
    for k0 in range(0, n_in, 64):
        for j in range(n_out):
            w = W[j]
            for k in range(k0, min(k0 + 64, n_in)):
                w[k] = scale * WT[k * Hp + j]


# -- one unit of neurons: forward and update over a sample's pixels ----------------------
@njit(cache=True, fastmath=FASTMATH)
def _forward_unit(WT, Hp, j0, vectors, indices, values, lo, hi, Z, z0):
    """``Z[z0 + j] = sum_p values[p] * WT[indices[p] * Hp + j]`` over pixels ``lo <= p < hi``
    for the ``vectors`` vectors of neurons from ``j0`` (4: in registers, two pixels at a
    time; 1: one vector, four pixels at a time)."""
    L = lanes_of(WT)
    real = WT.dtype.type
    if vectors == BLOCK:
        a0, a1, a2, a3 = vzero(real(0)), vzero(real(0)), vzero(real(0)), vzero(real(0))
        c0, c1, c2, c3 = vzero(real(0)), vzero(real(0)), vzero(real(0)), vzero(real(0))
        p = lo
        while p + 2 <= hi:
            x, y = vsplat(real(values[p])), vsplat(real(values[p + 1]))
            u, v = indices[p] * Hp + j0, indices[p + 1] * Hp + j0
            a0, c0 = vfma(vload(WT, u), x, a0), vfma(vload(WT, v), y, c0)
            a1, c1 = vfma(vload(WT, u + L), x, a1), vfma(vload(WT, v + L), y, c1)
            a2, c2 = vfma(vload(WT, u + 2 * L), x, a2), vfma(vload(WT, v + 2 * L), y, c2)
            a3, c3 = vfma(vload(WT, u + 3 * L), x, a3), vfma(vload(WT, v + 3 * L), y, c3)
            p += 2
        if p < hi:
            x, u = vsplat(real(values[p])), indices[p] * Hp + j0
            a0, a1 = vfma(vload(WT, u), x, a0), vfma(vload(WT, u + L), x, a1)
            a2, a3 = vfma(vload(WT, u + 2 * L), x, a2), vfma(vload(WT, u + 3 * L), x, a3)
        vstore(Z, z0 + j0, vadd(a0, c0))
        vstore(Z, z0 + j0 + L, vadd(a1, c1))
        vstore(Z, z0 + j0 + 2 * L, vadd(a2, c2))
        vstore(Z, z0 + j0 + 3 * L, vadd(a3, c3))
    else:
        for v0 in range(vectors):
            j = j0 + v0 * L
            a0, a1, a2, a3 = vzero(real(0)), vzero(real(0)), vzero(real(0)), vzero(real(0))
            p = lo
            while p + 4 <= hi:
                a0 = vfma(vload(WT, indices[p] * Hp + j), vsplat(real(values[p])), a0)
                a1 = vfma(vload(WT, indices[p + 1] * Hp + j), vsplat(real(values[p + 1])), a1)
                a2 = vfma(vload(WT, indices[p + 2] * Hp + j), vsplat(real(values[p + 2])), a2)
                a3 = vfma(vload(WT, indices[p + 3] * Hp + j), vsplat(real(values[p + 3])), a3)
                p += 4
            while p < hi:
                a0 = vfma(vload(WT, indices[p] * Hp + j), vsplat(real(values[p])), a0)
                p += 1
            vstore(Z, z0 + j, vadd(vadd(a0, a1), vadd(a2, a3)))


@njit(cache=True, fastmath=FASTMATH)
def _update_unit(WT, Hp, j0, vectors, indices, values, lo, hi, D, d0):
    """``WT[indices[p] * Hp + j] += values[p] * D[d0 + j]`` over pixels ``lo <= p < hi`` for
    ``vectors`` vectors of neurons from ``j0`` (``D``: one sample's scaled, negated deltas)."""
    L = lanes_of(WT)
    real = WT.dtype.type
    for v0 in range(0, vectors, 2):
        j = j0 + v0 * L
        if v0 + 1 < vectors:   # two vectors of deltas in registers per pass
            e0, e1 = vload(D, d0 + j), vload(D, d0 + j + L)
            for p in range(lo, hi):
                x, u = vsplat(real(values[p])), indices[p] * Hp + j
                vstore(WT, u, vfma(e0, x, vload(WT, u)))
                vstore(WT, u + L, vfma(e1, x, vload(WT, u + L)))
        else:
            e0 = vload(D, d0 + j)
            for p in range(lo, hi):
                u = indices[p] * Hp + j
                vstore(WT, u, vfma(e0, vsplat(real(values[p])), vload(WT, u)))


# -- the scratch of a sparse epoch -----------------------------------------------------------
class Network(NamedTuple):
    """The network as the kernels see it: the flat parameters and the layout's arrays."""
    params: np.ndarray
    sizes: np.ndarray
    w_off: np.ndarray
    b_off: np.ndarray


class Inputs(NamedTuple):
    """Training samples: inputs as CSR, targets ``(n, outputs)``, and the order to take them in."""
    indptr: np.ndarray
    indices: np.ndarray
    values: np.ndarray
    targets: np.ndarray
    order: np.ndarray


class Scratch(NamedTuple):
    """Everything a sparse epoch writes besides the parameters (see ``scratch``)."""
    WT: np.ndarray         # the first layer's weights, transposed, rows of Hp
    Hp: int
    scale: np.ndarray      # [the lazy L2 factor: W = scale * WT]
    Z: np.ndarray          # next mini-batch's first-layer sums, rows of Hp
    D: np.ndarray          # this mini-batch's first-layer deltas, scaled and negated, rows of Hp
    partials: np.ndarray   # (2, units, capacity * outputs): each unit's share of the output sums
    outputs: np.ndarray    # (threads, capacity * outputs): each thread's output activations
    output_deltas: np.ndarray  # (threads, capacity * outputs)
    output_biases: np.ndarray  # (threads, outputs): each thread's copy of the output biases
    row: np.ndarray        # (threads, Hp): a row of sums
    acts: np.ndarray       # the dense workspace's activations, deltas and offsets, for the
    deltas: np.ndarray     # layers above the first
    a_off: np.ndarray
    state: np.ndarray      # the threads' meeting point (``_sync``)


# -- one epoch: a band of neurons per thread ------------------------------------------------
@njit(cache=True, fastmath=FASTMATH)
def _first_layer(net, data, ws, start, m, step, decay_now, scale, start_next, m_next,
                 unit_lo, unit_hi):
    """This thread's band of first-layer neurons (units ``unit_lo..unit_hi``): update them
    with the mini-batch of ``m`` samples from ``start`` (deltas already in the dense
    workspace's layer 1, ``step = eta / m``, weights ``scale * WT`` decayed by
    ``decay_now``), then compute their activations for the ``m_next`` samples from
    ``start_next`` into the dense workspace's layer 1. Returns the new ``scale``."""
    H, Hp, L = net.sizes[1], ws.Hp, lanes_of(ws.WT)
    real = ws.WT.dtype.type
    vectors = Hp // L
    j_lo, j_hi = unit_lo * BLOCK * L, min(Hp, unit_hi * BLOCK * L)
    h_hi = min(H, j_hi)
    b = net.params[net.b_off[0]:net.b_off[0] + H]
    P = _block(ws.deltas, ws.a_off[1], max(m, 1), H)
    scale *= decay_now
    if scale < RENORMALISE:   # fold the factor into this band's weights before it underflows
        for k in range(net.sizes[0]):
            w = ws.WT[k * Hp + j_lo:k * Hp + j_hi]
            for j in range(j_hi - j_lo):
                w[j] *= scale
        scale = real(1)
    weight_step = -step / scale
    for i in range(m):
        d = ws.D[i * Hp:(i + 1) * Hp]
        p = P[i]
        for j in range(j_lo, h_hi):
            d[j] = weight_step * p[j]
    for j in range(j_lo, h_hi):
        total = real(0)
        for i in range(m):
            total += P[i, j]
        b[j] -= step * total
    indptr, indices, values, order = data.indptr, data.indices, data.values, data.order
    for unit in range(unit_lo, unit_hi):
        j0, count = unit * BLOCK * L, min(BLOCK, vectors - unit * BLOCK)
        for i in range(m):
            r = order[start + i]
            _update_unit(ws.WT, Hp, j0, count, indices, values, indptr[r], indptr[r + 1], ws.D, i * Hp)
        for i in range(m_next):
            r = order[start_next + i]
            _forward_unit(ws.WT, Hp, j0, count, indices, values, indptr[r], indptr[r + 1], ws.Z, i * Hp)
    A = _block(ws.acts, ws.a_off[1], max(m_next, 1), H)
    for i in range(m_next):
        z, a = ws.Z[i * Hp:(i + 1) * Hp], A[i]
        for j in range(j_lo, h_hi):
            a[j] = scale * z[j] + b[j]
        _sigmoid_all(a[j_lo:h_hi])
    return scale


@njit(cache=True, fastmath=FASTMATH)
def _output_share(net, ws, m, unit_lo, unit_hi, slot):
    """Each unit's share of the output layer's sums for the ``m`` samples in layer 1."""
    H, H2, L = net.sizes[1], net.sizes[2], lanes_of(ws.WT)
    W2 = _block(net.params, net.w_off[1], H2, H)
    A = _block(ws.acts, ws.a_off[1], m, H)
    for unit in range(unit_lo, unit_hi):
        ja, jb = unit * BLOCK * L, min(H, (unit + 1) * BLOCK * L)
        share = ws.partials[slot, unit]
        for i in range(m):
            a = A[i, ja:jb]
            for o in range(H2):
                w = W2[o, ja:jb]
                total = a.dtype.type(0)
                for j in range(jb - ja):
                    total += w[j] * a[j]
                share[i * H2 + o] = total


@njit(cache=True, fastmath=FASTMATH)
def _output_layer(net, data, ws, start, m, step, decay_now, cost, units, unit_lo, unit_hi,
                  slot, me):
    """After the meeting: the output activations and deltas (each thread its own copy, all
    equal), then this band's hidden deltas (into the dense workspace's layer 1) and its
    columns of output weights; each thread steps its own copy of the output biases."""
    H, H2 = net.sizes[1], net.sizes[2]
    out, D2 = ws.outputs[me], ws.output_deltas[me]
    b2 = ws.output_biases[me]
    for i in range(m):
        for o in range(H2):
            total = b2[o]
            for unit in range(units):
                total += ws.partials[slot, unit, i * H2 + o]
            out[i * H2 + o] = total
    _sigmoid_all(out[:m * H2])
    for i in range(m):
        t = data.targets[data.order[start + i]]
        for o in range(H2):
            a = out[i * H2 + o]
            D2[i * H2 + o] = (_cross_entropy_delta(a, t[o]) if cost == CROSS_ENTROPY_CODE
                              else _quadratic_delta(a, t[o]))
    L = lanes_of(ws.WT)
    ja, jb = unit_lo * BLOCK * L, min(H, unit_hi * BLOCK * L)
    W2 = _block(net.params, net.w_off[1], H2, H)
    A = _block(ws.acts, ws.a_off[1], m, H)
    P = _block(ws.deltas, ws.a_off[1], m, H)
    one = out.dtype.type(1)
    for i in range(m):
        p, a = P[i, ja:jb], A[i, ja:jb]
        p[:] = 0
        for o in range(H2):
            d, w = D2[i * H2 + o], W2[o, ja:jb]
            for j in range(jb - ja):
                p[j] += d * w[j]
        for j in range(jb - ja):
            p[j] *= a[j] * (one - a[j])
    row = ws.row[me][:jb - ja]
    for o in range(H2):
        row[:] = 0
        for i in range(m):
            d, a = D2[i * H2 + o], A[i, ja:jb]
            for j in range(jb - ja):
                row[j] += d * a[j]
        w = W2[o, ja:jb]
        for j in range(jb - ja):
            w[j] = w[j] * decay_now - step * row[j]
        total = out.dtype.type(0)
        for i in range(m):
            total += D2[i * H2 + o]
        b2[o] -= step * total


@njit(cache=True, fastmath=FASTMATH)
def _upper_layers(net, data, ws, start, m, step, decay_now, cost):
    """The layers above the first, all on one thread: forward from layer 1, backward with
    their updates, leaving layer 1's deltas in the dense workspace."""
    one = np.int64(1)
    for l in range(1, net.sizes.size - 1):
        _layer_forward(net.params, net.sizes, net.w_off, net.b_off, ws.acts, ws.a_off, l, m, one)
    backward(net.params, net.params, step, decay_now, cost, net.sizes, net.w_off, net.b_off,
             ws.acts, ws.deltas, ws.a_off, m, data.targets, data.order, start, one, one)


@njit(cache=True, fastmath=FASTMATH)
def _train_band(net, data, ws, batch, eta, decay, cost, team, me):
    """Thread ``me`` of ``team``: every mini-batch of ``data.order``, for its band of units."""
    L = lanes_of(ws.WT)
    units = (ws.Hp // L + BLOCK - 1) // BLOCK
    unit_lo, unit_hi = _band(units, team, me, np.int64(1))
    one_hidden = net.sizes.size == 3
    if one_hidden:
        H, H2 = net.sizes[1], net.sizes[2]
        ws.output_biases[me][:] = net.params[net.b_off[1]:net.b_off[1] + H2]
    real = ws.WT.dtype.type
    n = data.order.size
    none = np.int64(0)
    scale = _first_layer(net, data, ws, none, none, real(0), real(1), ws.scale[0], none,
                         min(batch, n), unit_lo, unit_hi)
    slot = 0
    for start in range(0, n, batch):
        m = min(batch, n - start)
        step = eta / real(m)
        if one_hidden:
            _output_share(net, ws, m, unit_lo, unit_hi, slot)
            _sync.barrier(ws.state, team)
            _output_layer(net, data, ws, start, m, step, decay, cost, units, unit_lo, unit_hi,
                          slot, me)
            slot = 1 - slot
        else:
            _sync.barrier(ws.state, team)
            if me == 0:
                _upper_layers(net, data, ws, start, m, step, decay, cost)
            _sync.barrier(ws.state, team)
        scale = _first_layer(net, data, ws, start, m, step, decay, scale, start + m,
                             min(batch, n - start - m), unit_lo, unit_hi)
    _sync.barrier(ws.state, team)   # every thread has read the shared scale and biases
    if me == 0:
        ws.scale[0] = scale
        if one_hidden:
            net.params[net.b_off[1]:net.b_off[1] + net.sizes[2]] = ws.output_biases[me]


@njit(cache=True, fastmath=FASTMATH, parallel=True)
def train_epoch(net, data, ws, batch, eta, decay, cost, threads):
    """Mini-batch SGD over the samples ``data.order``, ``batch`` at a time, on ``threads``
    threads meeting once per mini-batch (twice for deeper networks)."""
    for t in prange(threads):
        team, me = _sync.rendezvous(ws.state, threads)
        if team > 0:
            word = flush_subnormals()
            _train_band(net, data, ws, batch, eta, decay, cost, team, me)
            restore(word)


def scratch(layout, capacity, dtype, threads, workspace):
    """The ``Scratch`` of a sparse epoch over up to ``capacity`` samples a step and up to
    ``threads`` threads, around the dense ``workspace`` of the same capacity."""
    sizes = layout.sizes
    Hp = padded_width(int(sizes[1]), dtype)
    units = -(-Hp // (BLOCK * (64 // np.dtype(dtype).itemsize)))
    outputs = int(sizes[2]) if sizes.size == 3 else 1
    per_thread = lambda size: aligned_zeros(threads * size, dtype).reshape(threads, size)
    return Scratch(
        WT=aligned_zeros(int(sizes[0]) * Hp, dtype), Hp=Hp, scale=np.ones(1, dtype),
        Z=aligned_zeros(capacity * Hp, dtype), D=aligned_zeros(capacity * Hp, dtype),
        partials=aligned_zeros(2 * units * capacity * outputs, dtype).reshape(2, units, -1),
        outputs=per_thread(capacity * outputs), output_deltas=per_thread(capacity * outputs),
        output_biases=per_thread(outputs), row=per_thread(Hp),
        acts=workspace.activations, deltas=workspace.deltas, a_off=workspace.unit_offsets,
        state=np.zeros(_sync.STATE_SIZE, dtype=np.int64))
