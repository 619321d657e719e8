"""Training on sparse inputs: the first layer multiplies non-zero pixels only.

An MNIST image has 150 non-zero pixels of 784 on average, and a multiply-add by a zero
pixel changes nothing: skipping it is exact (only the order of additions changes).

Layout:
- the inputs as CSR, made once per call (``to_csr``); a sample's pixels are visited in
  blocks of up to 4 vectors of neurons, the block's sums in registers (``_forward_block``);
  a block of a mini-batch's pixels' weights (a mini-batch of 10 MNIST images touches 382
  distinct pixels) stays in L2 between the update of one mini-batch and the forward pass
  of the next;
- the update steps each pixel's weights by every sample of the mini-batch that has it.
  A thread with few neurons steps them sample by sample in memory (``_update_sample``);
  one with many first groups the mini-batch by pixel (``_regroup``, a counting sort)
  and steps each pixel's weights in registers, loading and storing them once
  (``_update_pixels``), two blocks of 4 vectors at once where they are whole
  (``_update_half``: each entry's value and sample serve 8 vectors). Both make the same
  multiply-adds in the same order: the same numbers. The grouping keeps the two halves
  of the pixels apart (before and from pixel ``inputs // 2``): the rows of one half are
  stepped, and the next mini-batch's sums over that half's pixels made at once
  (``_forward_half``, the same numbers as ``_forward_block``, a block at a time), while
  most of the rows they need (9 in 10 on MNIST) are still in L1 or L2. Measured (epochs
  of MNIST, alternating processes): the halves against one pass each, 784-1000-10
  float64 7-10% less time on two threads and 6% on one, float32 4-5% and 7%,
  784-300-10 5%; two blocks at once against one, 784-1000-10 float64 5% less on two
  threads (0.405 s against 0.427 s) and 4% on one, float32 5%, 784-300-10 4%;
- the first layer's weights as a transposed mirror ``WT`` in strips (``strips``): a strip
  holds a block of up to 4 vectors of neurons (padded to whole vectors) for every pixel,
  a row per pixel, the rows one after the other; a block's weights of one pixel are
  contiguous, and so are the rows of neighbouring pixels (an image's non-zero pixels
  come in runs). A strip belongs to one thread's band of neurons: two threads stepping
  the same pixels' weights side by side would write neighbouring cache lines, which the
  cores' prefetchers fetch for each other (two threads of 4 vectors each took 0.23 s
  for an epoch's updates and forward passes of MNIST, against 0.06 s apart).
  ``mirror`` fills it (and a padded copy of the output layer) from the network when an
  epoch starts; ``unmirror`` writes it back when it ends;
- L2 decay scales every weight every step; here it is kept lazily as one factor
  (``W = scale * WT``), so a step still touches only its pixels' rows.

One epoch runs as one parallel region. Each thread owns a band of the first layer's
neurons (whole groups of vectors, at most ``GROUPS``): their weights and biases, and the output layer's
columns of weights that leave them. The threads meet once per mini-batch
(``_sync.barrier``), after each has summed its groups' share of the output layer's
input. Every sum runs in an order fixed by groups, pixels and samples, never by bands,
so the numbers do not depend on how many threads share the work. Networks with other
than one hidden layer run the layers above the first on one thread, between two
meetings.

The kernels an epoch calls per mini-batch and per sample are compiled without Numba's
reference counting (``_nrt=False``, the Numba developers' answer in numba#2345): they
allocate nothing. With it, every call counted every array it was given (each field of
the scratch) up and down again, atomically, on cache lines both threads write: an
epoch of 784-30-10 on two threads took 1.06 times as long, of float32 1.10 times.
"""
from typing import NamedTuple

import numpy as np
from numba import prange

from fastnet import _sync
from fastnet._fpenv import flush_subnormals, restore
from fastnet._exp import vsigmoid
from fastnet._jit import kernel
from fastnet._kernels import (CROSS_ENTROPY_CODE, _band, _block, _cross_entropy_delta,
                              _quadratic_delta, _sigmoid_all, backward, copy, layer_forward_serial)
from fastnet._layout import ALIGNMENT, aligned_zeros, padded
from fastnet._simd import (get, lanes_of, prefetch, put, vadd, vfma, vload, vmul, vsplat, vstore,
                           vsum, vzero)
from fastnet._views import flat

#: Vectors of neurons a block holds: the kernels keep a block's sums (or weights) in
#: registers (``_block_bases``: 1 to 4), the epoch and the evaluation visit a band's
#: neurons a block at a time, and each block has a strip of ``WT`` (``strips``).
BLOCK = 4
#: At most this many groups of neurons: threads split the neurons at groups, and the
#: output layer's sums are added up group by group, so neither depends on the thread count.
GROUPS = 8
#: The only fast-math liberties here: fused multiply-adds and the sign of zero. Every sum
#: is written out in a fixed order (explicit vectors), and no formula may be reassociated
#: or its division approximated: code LLVM vectorises may run some elements through
#: scalar code (by alignment, by overlap checks), and the threads' copies of the output
#: layer, each in arrays of their own, must come out equal to the last bit.
STRICT = {"nsz", "contract"}
#: Vectors of neurons from which a thread groups a mini-batch by pixel for the update.
#: Grouping costs about 0.03 s an epoch of MNIST whatever the neurons; stepping each
#: pixel's weights once saves a share of every vector's update. Measured on one thread
#: (epochs of 50,000 images, against the update sample by sample): 8 vectors 5% slower,
#: 13 (784-100-10 float64) the same, 38 (784-300-10) 12% less time, 63 and 125
#: (784-1000-10 float32 and float64) 16% and 17% less.
GROUP_FROM = 16
#: Samples of a mini-batch grouped by pixel at a time (``_regroup``): a pixel's weights
#: are stepped once per chunk, and the grouping's scratch is bounded by it.
CHUNK = 32
#: Distinct pixels ahead whose rows ``_update_pixels`` asks the caches for: rows of large
#: bands come from L3. Measured at 784-1000-10 float64 (epochs, against none): 2-4% less
#: time on two threads, 0.5-2.5% on one; 784-300-10 2%.
ROWS_AHEAD = 6
#: When the lazy decay factor falls below this, it is folded into the weights.
RENORMALISE = 2.0 ** -20


# -- inputs as CSR ---------------------------------------------------------------------------
@kernel()
def count_nonzeros(X, counts):
    """``counts[r]``: how many values of row ``r`` of ``X`` are not zero. On one thread:
    two count MNIST's training set hardly faster (3.9 ms against 4.7), and a parallel
    region's end waits for the GIL (milliseconds beside a busy Python thread)."""
    for r in range(X.shape[0]):
        row, count = X[r], 0
        for k in range(X.shape[1]):
            count += row[k] != 0
        counts[r] = count


@kernel(parallel=True)
def _fill(X, indptr, stride, offsets, values, blocks):
    """``to_csr``'s values and offsets, in ``blocks`` blocks of rows side by side."""
    n = X.shape[0]
    for b in prange(blocks):
        fill_rows(X, indptr, b * n // blocks, (b + 1) * n // blocks, stride, offsets, values)


@kernel()
def fill_rows(X, indptr, first, last, stride, offsets, values):
    """Rows ``first`` to ``last - 1`` of the CSR: row ``r``'s non-zero values of ``X``
    from ``indptr[r]`` on, with their columns' offsets. A row writes every value at the
    next free place, which moves on only past non-zero values (no branch to mispredict):
    its last zero lands on the next row's first place, which this call writes later. A
    row whose last zero would land on ``last``'s first place or past it skips zeros
    instead: no other block's place, and nothing past the end, is ever written."""
    end = indptr[last]
    for r in range(first, last):
        row, p = X[r], indptr[r]
        if indptr[r + 1] < end:
            for k in range(X.shape[1]):
                offsets[p] = k * stride
                values[p] = row[k]
                p += row[k] != 0
        else:
            for k in range(X.shape[1]):
                if row[k] != 0:
                    offsets[p] = k * stride
                    values[p] = row[k]
                    p += 1


def to_csr(X, counts, stride, threads=1):
    """``(indptr, offsets, values)``: the non-zero values of ``X`` row by row (CSR), from
    the row counts ``count_nonzeros`` made, in ``threads`` blocks of rows side by side. A
    value in column ``k`` is kept with the offset ``k * stride`` of its pixel's weights in
    ``WT``, and in ``X``'s dtype: float32 inputs stay float32 for a float64 network too
    (exact, as the kernels widen each value), a third less memory for samples read in
    random order (an epoch 3-5% quicker). Its arrays are new memory: two threads filled
    MNIST's training set in 30-35 ms against 61-79 ms on one (a new process each, 4 KiB
    pages; with huge pages 28-126 ms against 39-182 ms)."""
    indptr = np.zeros(X.shape[0] + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    offsets = np.empty(indptr[-1], dtype=np.int32)
    values = np.empty(indptr[-1], dtype=X.dtype)
    if threads > 1:
        _fill(X, indptr, np.int32(stride), offsets, values, threads)
    else:   # no parallel region (beside a busy Python thread, its end waits for the GIL)
        fill_rows(X, indptr, 0, X.shape[0], np.int32(stride), offsets, values)
    return indptr, offsets, values


def middles(indptr, offsets, inputs, stride):
    """For each row of the CSR (offsets of ``stride`` a pixel), where its second half of
    pixels starts: its first value of pixel ``inputs // 2`` or later (``_regroup`` halves
    the pixels there too)."""
    middle = np.empty(indptr.size - 1, dtype=np.int64)
    _find_middles(indptr, offsets, inputs // 2 * stride, middle)
    return middle


@kernel(_nrt=False)
def _find_middles(indptr, offsets, limit, middle):
    """``middle[r]``: the first of row ``r``'s values whose offset is ``limit`` or more
    (a row's offsets increase), by bisection."""
    for r in range(middle.size):
        lo, hi = indptr[r], indptr[r + 1]
        while lo < hi:
            mid = (lo + hi) // 2
            if offsets[mid] < limit:
                lo = mid + 1
            else:
                hi = mid
        middle[r] = lo


#: ``padded_width(neurons, dtype)``: neurons rounded up to whole vectors, the length of a
#: row of ``WT`` and of the first layer's activations during an epoch.
padded_width = padded


# -- what the kernels see ----------------------------------------------------------------------
class Network(NamedTuple):
    """The network: the flat parameters and the layout's arrays."""
    params: np.ndarray
    sizes: np.ndarray
    w_off: np.ndarray
    b_off: np.ndarray


class Inputs(NamedTuple):
    """Training samples: inputs as CSR (``to_csr``; values in the inputs' dtype, widened
    where they are used) with where each row's second half of pixels starts
    (``middles``), targets ``(n, outputs)``, and the order to take them in."""
    indptr: np.ndarray
    offsets: np.ndarray
    values: np.ndarray
    middle: np.ndarray
    targets: np.ndarray
    order: np.ndarray


class Scratch(NamedTuple):
    """Everything a sparse epoch works in besides the parameters. The first layer's
    neurons are padded to ``Hp`` (whole vectors) in every row below; the padding of the
    weights and activations stays zero, so padded neurons add nothing anywhere. Arrays of
    one row per thread have their rows padded to whole cache lines."""
    inputs: int
    Hp: int
    stride: int            # numbers in a row of a strip of ``WT`` (``strips``)
    group: int             # vectors of neurons in a group
    group_from: int        # vectors from which a thread groups by pixel (``GROUP_FROM``)
    WT: np.ndarray         # (strips * inputs * stride): the first layer's weights, a row
                           # per pixel in each strip
    bases: np.ndarray      # (Hp / lanes): where each vector of neurons starts in ``WT``'s
                           # rows (pixel k's: ``bases[v] + k * stride``)
    scale: np.ndarray      # [s]: the first layer's weights are s * WT (lazy L2 decay)
    b1: np.ndarray         # (Hp): the first layer's biases
    W2: np.ndarray         # (outputs, Hp): the output layer's weights (one hidden layer)
    A: np.ndarray          # (capacity, Hp): first-layer activations of a mini-batch
    O: np.ndarray          # (capacity, Hp): their sums over odd pixels, between two halves
    P: np.ndarray          # (capacity, Hp): their deltas
    D: np.ndarray          # (capacity, Hp): the deltas scaled for the weights' step
    partials: np.ndarray   # (2, groups, capacity * outputs, padded to a cache line): the output
                           # sums by group, each group's on lines of its own (no false sharing)
    outputs: np.ndarray    # (threads, capacity * outputs): output activations, a copy each
    output_deltas: np.ndarray  # (threads, capacity * outputs)
    output_biases: np.ndarray  # (threads, outputs): each thread's copy of the output biases
    acts: np.ndarray       # the dense workspace (activations, deltas, offsets), for the
    deltas: np.ndarray     # layers above the first in other networks
    a_off: np.ndarray
    state: np.ndarray      # the threads' meeting point (``_sync``)
    # a chunk of a mini-batch's pixels grouped by pixel (``_regroup``), each thread its own:
    tally: np.ndarray      # (threads, inputs): per pixel; zero between chunks
    distinct: np.ndarray   # (threads, inputs + 1): the chunk's distinct pixels, as first met
    ordered: np.ndarray    # (threads, inputs): their offsets in ``WT``, by how many samples
                           # have them
    classes: np.ndarray    # (threads, 3, 2 * (chunk + 1)): per half of the pixels and count
                           # of samples, how many pixels have it (row 0, ``_group``); rows
                           # 1 and 2 are the sort's cursors
    entry_samples: np.ndarray  # (threads, chunk * inputs): each entry's sample in the chunk
    entry_values: np.ndarray   # (threads, chunk * inputs): and its pixel's value


def scratch(layout, capacity, dtype, threads, workspace):
    """The ``Scratch`` for mini-batches of up to ``capacity`` samples on up to ``threads``
    threads, around the dense ``workspace`` of the same capacity."""
    sizes = layout.sizes
    n_in, Hp = int(sizes[0]), padded_width(int(sizes[1]), dtype)
    vectors = Hp * np.dtype(dtype).itemsize // ALIGNMENT
    group = -(-vectors // GROUPS)
    groups = -(-vectors // group)
    outputs = int(sizes[2]) if sizes.size == 3 else 1
    zeros = lambda *shape, of=dtype: aligned_zeros(int(np.prod(shape)), of).reshape(shape)
    # (threads, size rounded up to whole cache lines): each thread's row on lines of its own
    # (no false sharing), and always C-contiguous: the kernels' types, so their compiled
    # versions, do not depend on the sizes
    own = lambda size, of=dtype: zeros(threads, padded(size, of), of=of)
    entries = min(capacity, CHUNK) * n_in
    lanes = ALIGNMENT // np.dtype(dtype).itemsize
    stride, bases, size = strips(n_in, vectors, group, threads, lanes)
    return Scratch(
        inputs=n_in, Hp=Hp, stride=stride, group=group, group_from=GROUP_FROM, WT=zeros(size),
        bases=bases, scale=np.ones(1, dtype), b1=zeros(Hp), W2=zeros(outputs, Hp),
        A=zeros(capacity, Hp), O=zeros(capacity, Hp), P=zeros(capacity, Hp),
        D=zeros(capacity, Hp), partials=zeros(2, groups, padded(capacity * outputs, dtype)),
        outputs=own(capacity * outputs), output_deltas=own(capacity * outputs),
        output_biases=own(outputs),
        acts=workspace.activations, deltas=workspace.deltas, a_off=workspace.unit_offsets,
        state=np.zeros(_sync.STATE_SIZE, dtype=np.int64),
        tally=own(n_in, np.int64), distinct=own(n_in + 1, np.int32), ordered=own(n_in, np.int32),
        classes=zeros(threads, 3, padded(2 * (CHUNK + 1), np.int64), of=np.int64),
        entry_samples=own(entries, np.int32), entry_values=own(entries))


def strips(n_in, vectors, group, threads, lanes):
    """``(stride, bases, size)``: the layout of ``WT`` for ``n_in`` pixels and ``vectors``
    vectors of ``lanes`` neurons, in groups of ``group``, on ``threads`` threads. Each
    thread's band (as ``_train_band`` cuts them) is cut into blocks of up to ``BLOCK``
    vectors from its first (as ``_first_layer`` visits them), each block a strip of its own: a
    row of ``stride`` numbers per pixel (the widest block's), the strips one after the
    other. ``bases[v]``: where vector ``v`` starts in pixel 0's row; ``size``: ``WT``'s
    length. Any team reaches any vector through ``bases``, so the layout changes no
    number. Measured against a row of a thread's whole band per pixel (epochs of MNIST,
    four pairs of processes): 784-1000-10 2.8% less time on two threads and 3.1% on
    one, float32 2.0%; 784-300-10 and 784-100-10 within the noise (2%)."""
    bands = [band_of(vectors, group, threads, t)[2:] for t in range(threads)]
    bands = [(lo, hi) for lo, hi in bands if hi > lo]
    width = min(BLOCK, max(hi - lo for lo, hi in bands))
    stride = width * lanes
    bases = np.empty(vectors, dtype=np.int64)
    size = 0
    for lo, hi in bands:
        for first in range(lo, hi, width):
            count = min(width, hi - first)
            bases[first:first + count] = size + np.arange(count) * lanes
            size += n_in * stride
    return stride, bases, size


def one_thread_strips(n_in, Hp, dtype):
    """``strips`` of ``n_in`` pixels' weights for ``Hp`` neurons (whole vectors) of
    ``dtype``, all on one thread: the evaluation's ``WT``."""
    lanes = ALIGNMENT // np.dtype(dtype).itemsize
    return strips(n_in, Hp // lanes, Hp // lanes, 1, lanes)


def grouping_of(ws):
    """``train_epoch``'s ``grouping`` for the scratch ``ws``: None when no thread's band can
    be grouped by pixel (fewer than ``ws.group_from`` vectors of neurons in all), else an
    array (``ws.tally``)."""
    vectors = ws.Hp * ws.WT.itemsize // ALIGNMENT
    return ws.tally if vectors >= ws.group_from else None


@kernel(_nrt=False)
def band_of(vectors, group, team, me):
    """``(g_lo, g_hi, v_lo, v_hi)``: the groups of neurons thread ``me`` of ``team`` owns
    (``vectors`` vectors in groups of ``group``) and their vectors."""
    g_lo, g_hi = _band(-(-vectors // group), team, me, np.int64(1))
    return g_lo, g_hi, g_lo * group, min(vectors, g_hi * group)


# -- the mirror: the network's first layer (and output layer) in the scratch's layout ---------
@kernel()
def transpose(net, WT, stride, bases):
    """``WT`` (rows of ``stride``, one per pixel, in the strips ``bases`` locate: see
    ``strips``) = the first layer's weights transposed; the padding is left as it is
    (zero)."""
    n_in, H = net.sizes[0], net.sizes[1]
    W = _block(net.params, net.w_off[0], H, n_in)
    L = lanes_of(WT)
    for k0 in range(0, n_in, 64):   # a block of pixels at a time: both sides stay in cache
        for j in range(H):
            w, u = W[j], bases[j // L] + j % L
            for k in range(k0, min(k0 + 64, n_in)):
                WT[u + k * stride] = w[k]


@kernel()
def mirror(net, ws):
    """Copy the first layer's weights and biases (and, with one hidden layer, the output
    weights) from the network into the scratch; the decay factor starts at 1."""
    H = net.sizes[1]
    transpose(net, ws.WT, ws.stride, ws.bases)
    copy(ws.b1[:H], net.params[net.b_off[0]:net.b_off[0] + H])
    if net.sizes.size == 3:
        copy(ws.W2[:, :H], _block(net.params, net.w_off[1], net.sizes[2], H))
    ws.scale[0] = 1


@kernel()
def unmirror(net, ws):
    """Copy the scratch's weights and biases back into the network (the first layer's
    weights times the decay factor)."""
    n_in, H = net.sizes[0], net.sizes[1]
    W = _block(net.params, net.w_off[0], H, n_in)
    scale, L = ws.scale[0], lanes_of(ws.WT)
    for k0 in range(0, n_in, 64):
        for j in range(H):
            w, u = W[j], ws.bases[j // L] + j % L
            for k in range(k0, min(k0 + 64, n_in)):
                w[k] = scale * ws.WT[u + k * ws.stride]
    copy(net.params[net.b_off[0]:net.b_off[0] + H], ws.b1[:H])
    if net.sizes.size == 3:
        copy(_block(net.params, net.w_off[1], net.sizes[2], H), ws.W2[:, :H])


# -- a block of neurons over one sample's pixels ----------------------------------------------
@kernel(_nrt=False)
def _block_bases(bases, v, vectors):
    """Where the ``vectors`` (1 to 4) vectors from vector ``v`` start in a pixel's row of
    ``WT`` (``strips``); unused ones repeat the first."""
    b0 = b1 = b2 = b3 = bases[v]
    if vectors > 1:
        b1 = bases[v + 1]
    if vectors > 2:
        b2 = bases[v + 2]
    if vectors > 3:
        b3 = bases[v + 3]
    return b0, b1, b2, b3


@kernel(fastmath=STRICT, _nrt=False)
def _sum_pixels(WT, b0, b1, b2, b3, vectors, offsets, values, p, hi, e0, e1, e2, e3, o0, o1,
                o2, o3):
    """The sums ``e`` and ``o`` of ``vectors`` (1 to 4) vectors (their rows of ``WT`` at
    ``b0``...), carried on over the pixels ``p <= . < hi`` of one sample: ``p``, ``p + 2``...
    into ``e``, the others into ``o``, so the multiply-adds overlap."""
    while p < hi:
        x, u = vsplat(WT.dtype.type(get(values, p))), get(offsets, p)
        e0 = vfma(vload(WT, u + b0), x, e0)
        if vectors > 1:
            e1 = vfma(vload(WT, u + b1), x, e1)
        if vectors > 2:
            e2 = vfma(vload(WT, u + b2), x, e2)
        if vectors > 3:
            e3 = vfma(vload(WT, u + b3), x, e3)
        if p + 1 < hi:
            x, u = vsplat(WT.dtype.type(get(values, p + 1))), get(offsets, p + 1)
            o0 = vfma(vload(WT, u + b0), x, o0)
            if vectors > 1:
                o1 = vfma(vload(WT, u + b1), x, o1)
            if vectors > 2:
                o2 = vfma(vload(WT, u + b2), x, o2)
            if vectors > 3:
                o3 = vfma(vload(WT, u + b3), x, o3)
        p += 2
    return e0, e1, e2, e3, o0, o1, o2, o3


@kernel(_nrt=False)
def _load_row(WT, u, b0, b1, b2, b3, vectors):
    """The ``vectors`` (1 to 4) vectors of a block's row of ``WT`` (the pixel's row at
    ``u``, the vectors at ``b0``...: ``_block_bases``); unused ones repeat the first.
    Vectors side by side (``_load_block``) are those at ``0, lanes, 2 * lanes...``."""
    w0 = w1 = w2 = w3 = vload(WT, u + b0)
    if vectors > 1:
        w1 = vload(WT, u + b1)
    if vectors > 2:
        w2 = vload(WT, u + b2)
    if vectors > 3:
        w3 = vload(WT, u + b3)
    return w0, w1, w2, w3


@kernel(_nrt=False)
def _store_row(WT, u, b0, b1, b2, b3, vectors, w0, w1, w2, w3):
    """``_load_row``'s place = the first ``vectors`` of ``w0``..."""
    vstore(WT, u + b0, w0)
    if vectors > 1:
        vstore(WT, u + b1, w1)
    if vectors > 2:
        vstore(WT, u + b2, w2)
    if vectors > 3:
        vstore(WT, u + b3, w3)


@kernel(_nrt=False)
def _load_block(X, a, vectors):
    """The ``vectors`` (1 to 4) vectors of ``X`` from ``a``; unused ones repeat the first."""
    L = lanes_of(X)
    return _load_row(X, a, 0, L, 2 * L, 3 * L, vectors)


@kernel(_nrt=False)
def _store_block(X, a, vectors, x0, x1, x2, x3):
    """``X[a:...]`` = the first ``vectors`` (1 to 4) of ``x0``..."""
    L = lanes_of(X)
    _store_row(X, a, 0, L, 2 * L, 3 * L, vectors, x0, x1, x2, x3)


@kernel(fastmath=STRICT, _nrt=False)
def _forward_block(WT, bases, v, vectors, offsets, values, lo, hi, A, a0):
    """``A[a0 + v * lanes:...] = sum_p values[p] * WT[offsets[p] + bases[v]...]`` over the
    pixels ``lo <= p < hi`` of one sample, for ``vectors`` (1 to 4) vectors from vector
    ``v``. Even and odd pixels go to separate sums (``_sum_pixels``), added at the end: the
    same order whatever the block's width."""
    zero = vzero(WT.dtype.type(0))
    b0, b1, b2, b3 = _block_bases(bases, v, vectors)
    e0, e1, e2, e3, o0, o1, o2, o3 = _sum_pixels(WT, b0, b1, b2, b3, vectors, offsets, values,
                                                 lo, hi, zero, zero, zero, zero, zero, zero,
                                                 zero, zero)
    _store_block(A, a0 + v * lanes_of(WT), vectors, vadd(e0, o0), vadd(e1, o1), vadd(e2, o2),
                 vadd(e3, o3))


@kernel(fastmath=STRICT, _nrt=False)
def _forward_half(WT, bases, v, vectors, offsets, values, lo, mid, hi, A, O, a0, second):
    """``_forward_block`` in two calls, with the same numbers: the first (``second``
    false) sums the pixels ``lo <= p < mid`` into ``A`` (even pixels) and ``O`` (odd), the
    second carries them on over ``mid <= p < hi`` and leaves their total in ``A``."""
    a = a0 + v * lanes_of(WT)
    b0, b1, b2, b3 = _block_bases(bases, v, vectors)
    if not second:
        zero = vzero(WT.dtype.type(0))
        e0, e1, e2, e3, o0, o1, o2, o3 = _sum_pixels(WT, b0, b1, b2, b3, vectors, offsets,
                                                     values, lo, mid, zero, zero, zero, zero,
                                                     zero, zero, zero, zero)
        _store_block(A, a, vectors, e0, e1, e2, e3)
        _store_block(O, a, vectors, o0, o1, o2, o3)
        return
    e0, e1, e2, e3 = _load_block(A, a, vectors)
    o0, o1, o2, o3 = _load_block(O, a, vectors)
    if (mid - lo) % 2 == 0:
        e0, e1, e2, e3, o0, o1, o2, o3 = _sum_pixels(WT, b0, b1, b2, b3, vectors, offsets,
                                                     values, mid, hi, e0, e1, e2, e3, o0, o1,
                                                     o2, o3)
    else:   # pixel mid is an odd one: the odd sums come first
        o0, o1, o2, o3, e0, e1, e2, e3 = _sum_pixels(WT, b0, b1, b2, b3, vectors, offsets,
                                                     values, mid, hi, o0, o1, o2, o3, e0, e1,
                                                     e2, e3)
    _store_block(A, a, vectors, vadd(e0, o0), vadd(e1, o1), vadd(e2, o2), vadd(e3, o3))


@kernel(fastmath=STRICT, _nrt=False)
def _update_sample(WT, bases, v, vectors, offsets, values, lo, hi, D, d0):
    """``WT[offsets[p] + bases[v]...] += values[p] * D[d0 + v * lanes:...]`` over the
    pixels ``lo <= p < hi`` of one sample, for ``vectors`` (1 to 4) vectors from vector
    ``v``."""
    d0v, d1, d2, d3 = _load_block(D, d0 + v * lanes_of(WT), vectors)
    b0, b1, b2, b3 = _block_bases(bases, v, vectors)
    for p in range(lo, hi):
        x, u = vsplat(WT.dtype.type(get(values, p))), get(offsets, p)
        vstore(WT, u + b0, vfma(d0v, x, vload(WT, u + b0)))
        if vectors > 1:
            vstore(WT, u + b1, vfma(d1, x, vload(WT, u + b1)))
        if vectors > 2:
            vstore(WT, u + b2, vfma(d2, x, vload(WT, u + b2)))
        if vectors > 3:
            vstore(WT, u + b3, vfma(d3, x, vload(WT, u + b3)))


@kernel(_nrt=False)
def _regroup(ws, data, start, first, m, me):
    """Group the pixels of the ``m`` samples from ``start + first`` in ``data.order`` by
    pixel, in thread ``me``'s scratch: the distinct pixels (their offsets in ``WT``)
    ``ordered`` by half (``ws.inputs // 2`` on: the second) and then by how many of the
    samples have them (most first; ``classes[0, h * (m + 1) + c]`` pixels of half ``h``
    have ``c``), and each one's entries, in sample order: ``entry_samples`` (the sample's
    place in the chunk) and ``entry_values``."""
    _group(ws.tally[me], ws.distinct[me], ws.ordered[me], ws.classes[me], ws.entry_samples[me],
           ws.entry_values[me], data.indptr, data.offsets, data.values,
           data.order[start + first:start + first + m], ws.stride, ws.inputs // 2)


@kernel(_nrt=False)
def _pixel(offset, inverse):
    """The pixel whose row of ``WT`` starts at ``offset``, ``inverse`` being one over the
    row's length: exact (the product is within 2**-21 of the whole number), and cheaper
    than dividing."""
    return np.int64(offset * inverse + 0.5)


@kernel(_nrt=False)
def _group(tally, distinct, ordered, classes, samples, entries, indptr, offsets, values, rows,
           stride, half):
    """``_regroup`` of the samples ``rows``, on the arrays alone (few live values: the
    loops' variables stay in registers). A counting sort: no comparisons, no branch on
    the data."""
    m, found, inverse = rows.size, 0, 1.0 / stride
    for i in range(m):
        r = rows[i]
        for p in range(indptr[r], indptr[r + 1]):
            k = _pixel(get(offsets, p), inverse)
            seen = get(tally, k)
            put(distinct, found, k)   # kept only if new: the count moves on past it
            found += seen == 0
            put(tally, k, seen + 1)
    sizes, place, entry = classes[0], classes[1], classes[2]
    sizes[:2 * (m + 1)] = 0
    for d in range(found):
        k = get(distinct, d)
        sizes[get(tally, k) + (k >= half) * (m + 1)] += 1
    placed = used = 0
    for h in range(2):
        for c in range(m, 0, -1):
            key = h * (m + 1) + c
            place[key], entry[key] = placed, used
            placed += sizes[key]
            used += sizes[key] * c
    for d in range(found):
        k = get(distinct, d)
        c = get(tally, k)
        key = c + (k >= half) * (m + 1)
        put(ordered, place[key], k * stride)
        place[key] += 1
        put(tally, k, entry[key])   # from here on: where the pixel's next entry goes
        entry[key] += c
    for i in range(m):
        r = rows[i]
        for p in range(indptr[r], indptr[r + 1]):
            k = _pixel(get(offsets, p), inverse)
            e = get(tally, k)
            put(samples, e, i)
            put(entries, e, entries.dtype.type(get(values, p)))
            put(tally, k, e + 1)
    for d in range(found):
        put(tally, get(distinct, d), 0)


@kernel(_nrt=False)
def _prefetch_row(WT, u, b0, b1, b2, b3, vectors):
    """Start fetching ``_load_row``'s vectors into the caches."""
    prefetch(WT, u + b0)
    if vectors > 1:
        prefetch(WT, u + b1)
    if vectors > 2:
        prefetch(WT, u + b2)
    if vectors > 3:
        prefetch(WT, u + b3)


@kernel(fastmath=STRICT, _nrt=False)
def _step_row(D, r, x, vectors, w0, w1, w2, w3):
    """``w0 + x * D[r:...]``... for the first ``vectors`` (1 to 4) of ``w0``..."""
    L = lanes_of(D)
    w0 = vfma(vload(D, r), x, w0)
    if vectors > 1:
        w1 = vfma(vload(D, r + L), x, w1)
    if vectors > 2:
        w2 = vfma(vload(D, r + 2 * L), x, w2)
    if vectors > 3:
        w3 = vfma(vload(D, r + 3 * L), x, w3)
    return w0, w1, w2, w3


@kernel(fastmath=STRICT, _nrt=False)
def _update_pixels(WT, Hp, bases, v, vectors, ordered, sizes, m, samples, entries, D, d0,
                   pair):
    """``WT[u + bases[v]...] += value * D[d0 + i * Hp:...]`` for each entry (sample ``i``,
    ``value``) of each distinct pixel (its row at ``u``) of one half of ``_regroup``'s (of
    ``m`` samples: ``ordered``, ``samples`` and ``entries`` from the half's first pixel and
    entry, ``sizes`` from the half's first count), for ``vectors`` (1 to 4) vectors from
    vector ``v`` (``d0``: the chunk's first row of ``D`` plus ``v``'s lanes); with ``pair``
    not None (compiled as a version of its own), for the two whole blocks from ``v``, each
    with its vectors side by side (``_side_by_side``): each entry's value and sample are
    loaded once for 8 vectors, and the vectors' places follow from each block's first
    (fewer registers). A pixel's weights are loaded once, stepped by its samples in
    registers in sample order (the roundings of stepping them sample by sample) and
    stored once; pixels come by their count of samples, so the inner loop's length
    changes rarely (no mispredicted branch per pixel). The rows of the pixel
    ``ROWS_AHEAD`` on are fetched meanwhile."""
    L = lanes_of(WT)
    first, second = vectors, 0   # the vectors of the block, and of a second one
    b0, b1, b2, b3 = _block_bases(bases, v, vectors)
    c0, c1, c2, c3 = b0, b1, b2, b3
    if pair is not None:
        first, second = BLOCK, BLOCK
        b0, c0 = bases[v], bases[v + BLOCK]
        b1, b2, b3 = b0 + L, b0 + 2 * L, b0 + 3 * L
        c1, c2, c3 = c0 + L, c0 + 2 * L, c0 + 3 * L
    last = -1   # the last distinct pixel
    for c in range(1, m + 1):
        last += sizes[c]
    d = e = 0
    for c in range(m, 0, -1):
        for _ in range(sizes[c]):
            u, ahead = get(ordered, d), get(ordered, min(d + ROWS_AHEAD, last))
            d += 1
            _prefetch_row(WT, ahead, b0, b1, b2, b3, first)
            if second:
                _prefetch_row(WT, ahead, c0, c1, c2, c3, second)
            w0, w1, w2, w3 = _load_row(WT, u, b0, b1, b2, b3, first)
            y0 = y1 = y2 = y3 = w0
            if second:
                y0, y1, y2, y3 = _load_row(WT, u, c0, c1, c2, c3, second)
            for t in range(e, e + c):
                x, r = vsplat(get(entries, t)), d0 + get(samples, t) * Hp
                w0, w1, w2, w3 = _step_row(D, r, x, first, w0, w1, w2, w3)
                if second:
                    y0, y1, y2, y3 = _step_row(D, r + BLOCK * L, x, second, y0, y1, y2, y3)
            e += c
            _store_row(WT, u, b0, b1, b2, b3, first, w0, w1, w2, w3)
            if second:
                _store_row(WT, u, c0, c1, c2, c3, second, y0, y1, y2, y3)


@kernel(_nrt=False)
def _side_by_side(bases, v, vectors, lanes):
    """Whether each block of ``BLOCK`` vectors (of ``lanes``) from ``v`` (``vectors`` in
    all) has its vectors side by side in a row of ``WT``, as every block of ``strips``
    has. A team visits its bands' blocks from each band's first vector, so they are the
    strips' own, except where one thread goes on alone with all the bands (``_train_band``)."""
    for k in range(vectors):
        if bases[v + k] != bases[v + k - k % BLOCK] + k % BLOCK * lanes:
            return False
    return True


@kernel(fastmath=STRICT, _nrt=False)
def _update_half(ws, me, v, vectors, half, pixels, entries, m, D, d0):
    """``_update_pixels`` of half ``half`` of thread ``me``'s grouping (``pixels`` and
    ``entries`` in its first half) of ``m`` samples, for ``vectors`` (up to two blocks)
    from ``v``: two whole blocks side by side at once, else block by block."""
    d, e = half * pixels, half * entries
    ordered, sizes = ws.ordered[me][d:], ws.classes[me, 0, half * (m + 1):]
    samples, values = ws.entry_samples[me][e:], ws.entry_values[me][e:]
    L = lanes_of(ws.WT)
    if vectors == 2 * BLOCK and _side_by_side(ws.bases, v, vectors, L):
        _update_pixels(ws.WT, ws.Hp, ws.bases, v, BLOCK, ordered, sizes, m, samples, values, D,
                       d0, True)
        return
    for b in range(v, v + vectors, BLOCK):
        _update_pixels(ws.WT, ws.Hp, ws.bases, b, min(BLOCK, v + vectors - b), ordered, sizes, m,
                       samples, values, D, d0 + (b - v) * L, None)


@kernel(_nrt=False)
def _first_half(sizes, m):
    """``(pixels, entries)``: how many distinct pixels, and entries, the first half of a
    grouping of ``m`` samples has (``_regroup``)."""
    pixels = entries = 0
    for c in range(1, m + 1):
        pixels += sizes[c]
        entries += sizes[c] * c
    return pixels, entries


@kernel(_nrt=False)
def _prefetch_samples(data, start, m):
    """Start fetching the pixels and targets of the ``m`` samples from ``start`` into the
    caches: samples come in random order, and each would otherwise first wait for memory."""
    targets = flat(data.targets)
    outputs = data.targets.shape[1]
    for i in range(m):
        r = data.order[start + i]
        lo, hi = data.indptr[r], data.indptr[r + 1]
        for p in range(lo, hi, lanes_of(data.offsets)):
            prefetch(data.offsets, p)
        for p in range(lo, hi, lanes_of(data.values)):
            prefetch(data.values, p)
        prefetch(targets, r * outputs)


# -- one epoch: each thread a band of the first layer's neurons -------------------------------
@kernel(fastmath=STRICT, _nrt=False)
def _first_layer(ws, data, H, start, m, step, decay_now, scale, start_next, m_next, v_lo, v_hi,
                 me, grouping):
    """Vectors ``v_lo..v_hi`` of the first layer's ``H`` neurons: update them with the ``m``
    samples from ``start`` (deltas in ``ws.P``, ``step = eta / m``; weights
    ``scale * WT``, decayed now by ``decay_now``), then compute their activations for the
    ``m_next`` samples from ``start_next`` into ``ws.A``. Returns the new ``scale``.
    ``grouping``: see ``train_epoch``."""
    L, Hp = lanes_of(ws.WT), ws.Hp
    real = ws.WT.dtype.type
    lo, hi = v_lo * L, v_hi * L
    scale *= decay_now
    if scale < RENORMALISE:   # fold the factor into the weights before it underflows
        factor = vsplat(scale)
        for v in range(v_lo, v_hi):
            for k in range(ws.inputs):
                u = ws.bases[v] + k * ws.stride
                vstore(ws.WT, u, vmul(vload(ws.WT, u), factor))
        scale = real(1)
    P, D, A = flat(ws.P), flat(ws.D), flat(ws.A)
    weight_step, minus_step = vsplat(-step / scale), vsplat(-step)
    for v in range(v_lo, v_hi):
        total = vzero(real(0))
        for i in range(m):
            p = vload(P, i * Hp + v * L)
            total = vadd(total, p)
            vstore(D, i * Hp + v * L, vmul(weight_step, p))
        vstore(ws.b1, v * L, vfma(total, minus_step, vload(ws.b1, v * L)))
    indptr, offsets, values, order = data.indptr, data.offsets, data.values, data.order
    grouped = False
    if grouping is not None:   # (the grouping's code is compiled only then: train_epoch)
        grouped = v_hi - v_lo >= ws.group_from
    chunks = max(1, -(-m // CHUNK)) if grouped else 1
    for c in range(chunks):
        first = c * CHUNK
        samples = min(CHUNK, m - first)
        forward = m_next if c == chunks - 1 else 0   # once every chunk is stepped
        pixels = entries = 0
        if grouping is not None:
            if grouped:
                _regroup(ws, data, start, first, samples, me)
                pixels, entries = _first_half(ws.classes[me, 0], samples)
        width = 2 * BLOCK if grouped else BLOCK   # grouped: the update steps two blocks at once
        for v in range(v_lo, v_hi, width):   # a block or two of neurons: their rows stay in L2
            vectors = min(width, v_hi - v)
            if grouping is not None:
                if grouped:   # each half's rows stepped, then summed while still in the caches
                    for h in range(2):
                        _update_half(ws, me, v, vectors, h, pixels, entries, samples, D,
                                     first * Hp + v * L)
                        for b in range(v, v + vectors, BLOCK):
                            for i in range(forward):
                                r = order[start_next + i]
                                _forward_half(ws.WT, ws.bases, b, min(BLOCK, v + vectors - b),
                                              offsets, values, indptr[r], data.middle[r],
                                              indptr[r + 1], A, ws.O, i * Hp, h)
                    continue
            for i in range(m):
                r = order[start + i]
                _update_sample(ws.WT, ws.bases, v, vectors, offsets, values, indptr[r],
                               indptr[r + 1], D, i * Hp)
            for i in range(forward):
                r = order[start_next + i]
                _forward_block(ws.WT, ws.bases, v, vectors, offsets, values, indptr[r],
                               indptr[r + 1], A, i * Hp)
    neurons, factor = max(lo, min(hi, H)), vsplat(scale)
    for i in range(m_next):
        for j in range(lo, hi, L):   # explicit vectors: the same roundings for any band
            u = i * Hp + j
            vstore(A, u, vsigmoid(vfma(factor, vload(A, u), vload(ws.b1, j))))
        A[i * Hp + neurons:i * Hp + hi] = 0   # padding: no activation, so it adds to no sum
    return scale


@kernel(fastmath={"nsz", "arcp", "contract", "afn"}, _nrt=False)
def _column_sum(D, column, rows, width):
    """``sum_i D[i * width + column]`` in the order of ``i``: compiled without reassociation,
    so that no caller's vectorisation changes it (the threads' copies must stay equal)."""
    total = D.dtype.type(0)
    for i in range(rows):
        total += D[i * width + column]
    return total


@kernel(fastmath=STRICT, _nrt=False)
def _output_share(ws, m, outputs, g_lo, g_hi, slot):
    """Groups ``g_lo..g_hi``'s share of the output layer's sums for the ``m`` samples in
    ``ws.A``: one number per sample, output and group (the other threads read them all,
    so they are kept small), added up group by group later."""
    L, Hp, group = lanes_of(ws.WT), ws.Hp, ws.group
    vectors = Hp // L
    real = ws.WT.dtype.type
    A, W2, shares = flat(ws.A), flat(ws.W2), flat(ws.partials)
    for g in range(g_lo, g_hi):
        first, last = g * group, min(vectors, (g + 1) * group)
        share = (slot * ws.partials.shape[1] + g) * ws.partials.shape[2]
        for i in range(m):
            for o in range(outputs):
                total = vzero(real(0))
                for v in range(first, last):
                    total = vfma(vload(A, i * Hp + v * L), vload(W2, o * Hp + v * L), total)
                shares[share + i * outputs + o] = vsum(total)


@kernel(fastmath=STRICT, _nrt=False)
def _output_layer(ws, data, start, m, outputs, step, decay_now, cost, v_lo, v_hi, slot, me):
    """After the meeting: the output activations and deltas (each thread its own copy, all
    equal), this band's first-layer deltas into ``ws.P`` and its columns of output weights
    stepped; each thread steps its own copy of the output biases."""
    L, Hp = lanes_of(ws.WT), ws.Hp
    real = ws.WT.dtype.type
    out, D2, b2 = ws.outputs[me], ws.output_deltas[me], ws.output_biases[me]
    A, P, W2 = flat(ws.A), flat(ws.P), flat(ws.W2)
    shares = ws.partials[slot]
    for k in range(m * outputs):
        total = b2[k % outputs]
        for g in range(shares.shape[0]):
            total += shares[g, k]
        out[k] = total
    for k in range(0, m * outputs, L):   # the row is padded to whole vectors
        vstore(out, k, vsigmoid(vload(out, k)))
    for i in range(m):
        t = data.targets[data.order[start + i]]
        for o in range(outputs):
            a = out[i * outputs + o]
            D2[i * outputs + o] = (_cross_entropy_delta(a, t[o]) if cost == CROSS_ENTROPY_CODE
                                   else _quadratic_delta(a, t[o]))
    minus_one = vsplat(real(-1))
    for i in range(m):
        for v in range(v_lo, v_hi):
            total = vzero(real(0))
            for o in range(outputs):
                total = vfma(vsplat(D2[i * outputs + o]), vload(W2, o * Hp + v * L), total)
            a = vload(A, i * Hp + v * L)
            vstore(P, i * Hp + v * L, vmul(total, vfma(vmul(a, minus_one), a, a)))   # a (1 - a)
    decay, minus_step = vsplat(decay_now), vsplat(-step)
    for o in range(outputs):
        for v in range(v_lo, v_hi):
            total = vzero(real(0))
            for i in range(m):
                total = vfma(vsplat(D2[i * outputs + o]), vload(A, i * Hp + v * L), total)
            w = o * Hp + v * L
            vstore(W2, w, vfma(total, minus_step, vmul(vload(W2, w), decay)))
        b2[o] -= step * _column_sum(D2, o, m, outputs)


@kernel(fastmath=STRICT)
def _upper_layers(net, data, ws, start, m, step, decay_now, cost):
    """The layers above the first, all on one thread: forward from layer 1, backward with
    their updates, leaving layer 1's deltas in the dense workspace."""
    one = np.int64(1)
    for l in range(1, net.sizes.size - 1):
        layer_forward_serial(net.params, net.sizes, net.w_off, net.b_off, ws.acts, ws.a_off, l, m)
    backward(net.params, net.params, step, decay_now, cost, net.sizes, net.w_off, net.b_off,
             ws.acts, ws.deltas, ws.a_off, m, data.targets, data.order, start, one, one)


@kernel(fastmath=STRICT, _nrt=False)
def _train_band(net, data, ws, batch, eta, decay, cost, team, me, deep, grouping):
    """Thread ``me`` of ``team``: every mini-batch of ``data.order``, for its band (``deep``
    and ``grouping``: see ``train_epoch``)."""
    L = lanes_of(ws.WT)
    vectors = ws.Hp // L
    g_lo, g_hi, v_lo, v_hi = band_of(vectors, ws.group, team, me)
    H, outputs = net.sizes[1], net.sizes[-1]
    if deep is None:
        copy(ws.output_biases[me][:outputs], net.params[net.b_off[1]:net.b_off[1] + outputs])
    real = ws.WT.dtype.type
    n, none = data.order.size, np.int64(0)
    scale = _first_layer(ws, data, H, none, none, real(0), real(1), ws.scale[0], none,
                         min(batch, n), v_lo, v_hi, me, grouping)
    slot = none
    for start in range(0, n, batch):
        m = min(batch, n - start)
        step = eta / real(m)
        ahead = min(n, start + 2 * batch)   # the mini-batch after the next
        _prefetch_samples(data, ahead, min(batch, n - ahead))
        if deep is None:
            _output_share(ws, m, outputs, g_lo, g_hi, slot)
        else:
            lo, hi = v_lo * L, min(H, v_hi * L)
            A = _block(ws.acts, ws.a_off[1], m, H)
            for i in range(m):
                copy(A[i, lo:hi], ws.A[i, lo:hi])
        if _sync.barrier(ws.state, team) < team:   # the cores are busy: thread 0 goes on alone
            if me != 0:
                return
            team, g_lo, g_hi, v_lo, v_hi = np.int64(1), none, ws.partials.shape[1], none, vectors
        if deep is None:
            _output_layer(ws, data, start, m, outputs, step, decay, cost, v_lo, v_hi, slot, me)
        else:
            if me == 0:
                _upper_layers(net, data, ws, start, m, step, decay, cost)
            _sync.barrier(ws.state, team)
            lo, hi = v_lo * L, min(H, v_hi * L)
            P = _block(ws.deltas, ws.a_off[1], m, H)
            for i in range(m):
                copy(ws.P[i, lo:hi], P[i, lo:hi])
        scale = _first_layer(ws, data, H, start, m, step, decay, scale, start + m,
                             min(batch, n - start - m), v_lo, v_hi, me, grouping)
        slot = 1 - slot
    if _sync.barrier(ws.state, team) < team and me != 0:   # all have read scale, biases
        return
    if me == 0:
        ws.scale[0] = scale
        if deep is None:
            copy(net.params[net.b_off[1]:net.b_off[1] + outputs], ws.output_biases[me][:outputs])


@kernel(fastmath=STRICT, parallel=True)
def train_epoch(net, data, ws, batch, eta, decay, cost, threads, deep, grouping):
    """Mini-batch SGD over the samples ``data.order``, ``batch`` at a time, on ``threads``
    threads meeting once per mini-batch (twice for other than one hidden layer). ``deep``
    is None for one hidden layer, else any array (``net.sizes``): a ``None`` argument is
    known when Numba compiles, which leaves the layers above the first out of that
    version (a third of the first compilation of the main job's kernels). ``grouping``
    likewise (``grouping_of``): None leaves the grouping by pixel out, for networks in
    which no thread's band can be grouped (a quarter of the main job's first run). Call it
    with Numba's thread count set to ``threads``: then one thread is a parallel region of
    one, and runs the very code the threads of a larger one run (the same machine code,
    so the same roundings). The first layer's weights and biases (and output weights) are
    those of the mirror."""
    for t in prange(threads):
        team, me = _sync.rendezvous(ws.state, threads)
        if team > 0:
            word = flush_subnormals()
            _train_band(net, data, ws, batch, eta, decay, cost, team, me, deep, grouping)
            restore(word)


# -- evaluation: outputs of many samples ----------------------------------------------------
@kernel(fastmath=STRICT, parallel=True)
def predict(net, WT, Hp, bases, indptr, offsets, values, Z, acts, a_off, out, threads):
    """The output activations of every sample of the CSR inputs into ``out``, the first
    layer from ``WT`` (``transpose``; the strips of one thread). Each of ``threads``
    threads takes every ``threads``-th block of samples, with scratch of its own (``Z[t]``:
    rows of ``Hp``, ``acts[t]``: a dense workspace laid out by ``a_off``)."""
    n, capacity = indptr.size - 1, Z.shape[1] // Hp
    H, last = net.sizes[1], net.sizes.size - 1
    L = lanes_of(WT)
    b = net.params[net.b_off[0]:net.b_off[0] + H]
    blocks = (n + capacity - 1) // capacity
    for t in prange(threads):
        word = flush_subnormals()
        z, dense = Z[t], acts[t]
        for block in range(t, blocks, threads):
            start = block * capacity
            m = min(capacity, n - start)
            A = _block(dense, a_off[1], m, H)
            for v in range(0, Hp // L, BLOCK):   # a block of neurons over all the samples:
                for i in range(m):               # the rows of their pixels stay in the caches
                    _forward_block(WT, bases, v, min(BLOCK, Hp // L - v), offsets, values,
                                   indptr[start + i], indptr[start + i + 1], z, i * Hp)
            for i in range(m):
                a = A[i]
                for j in range(H):
                    a[j] = z[i * Hp + j] + b[j]
                _sigmoid_all(a)
            for l in range(1, last):
                layer_forward_serial(net.params, net.sizes, net.w_off, net.b_off, dense, a_off, l, m)
            copy(out[start:start + m], _block(dense, a_off[last], m, net.sizes[last]))
        restore(word)
