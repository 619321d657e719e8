"""The sparse first layer (fastnet._sparse) against the reference, the dense path and itself
over thread counts: inputs from all-zero to all-non-zero, single pixels, mixed rows."""
import contextlib
import os
import random
import subprocess
import sys

import numba
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis.extra import numpy as hnp
from hypothesis import strategies as st

import fastnet.network as network
from fastnet import _sparse, _trainers, costs

import naive
from twins import chapter_lists, max_difference, seeded


#: How the inputs' zeros are laid out: a fraction of zeros, or a pattern of rows.
PATTERNS = ["all zero", "one pixel", "10%", "50%", "all non-zero", "mixed rows"]


def inputs(pattern, n, width, rng):
    X = rng.random((n, width)) + 0.1
    if pattern == "all zero":
        X[:] = 0
    elif pattern == "one pixel":
        keep = rng.integers(0, width, n)
        X[np.arange(width)[None, :] != keep[:, None]] = 0
    elif pattern.endswith("%"):
        X[rng.random(X.shape) >= int(pattern[:-1]) / 100] = 0
    elif pattern == "mixed rows":
        X[::2][rng.random(X[::2].shape) < 0.9] = 0            # every other row sparse
    return X


@st.composite
def problems(draw):
    sizes = draw(st.lists(st.integers(1, 12), min_size=2, max_size=5))
    if draw(st.booleans()):
        sizes[1] = draw(st.integers(30, 80))   # more than one unit of neurons
    n = draw(st.integers(1, 30))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    X = inputs(draw(st.sampled_from(PATTERNS)), n, sizes[0], rng)
    return sizes, X, rng.integers(0, sizes[-1], n), seed


ONE_HIDDEN = [64, 150, 7]        # 3 units of neurons in float64, 2 in float32
DEEP = [64, 70, 20, 5]


@contextlib.contextmanager
def grouping(group_from):
    """Networks made inside group a mini-batch by pixel for the update from
    ``group_from`` vectors of neurons a thread (0: always; a large number: never)."""
    before, _sparse.GROUP_FROM = _sparse.GROUP_FROM, group_from
    try:
        yield
    finally:
        _sparse.GROUP_FROM = before


NEVER, ALWAYS = 10**6, 0


@settings(max_examples=40, deadline=None)
@given(problems(), st.integers(1, 12), st.sampled_from(list(costs.COSTS)),
       st.sampled_from([0.0, 1.0]), st.sampled_from([NEVER, ALWAYS]))
def test_the_sparse_path_trains_like_the_reference(problem, batch, cost, lmbda, group_from):
    sizes, X, y, seed = problem
    training = chapter_lists(X, y, sizes[-1])
    lmbda = min(lmbda, 0.5 * len(training))   # keep 1 - eta * lmbda / n > 0
    reference = seeded(naive.Network, sizes, seed, cost=cost)
    reference.SGD(list(training), 2, batch, 1.0, lmbda=lmbda)
    with grouping(group_from):
        fast = seeded(network.Network, sizes, seed, cost=cost, sparse=True)
        fast.SGD(list(training), 2, batch, 1.0, lmbda=lmbda)
    assert max_difference(reference, fast) <= 1e-10


@settings(max_examples=25, deadline=None)
@given(problems(), st.integers(1, 12), st.sampled_from([NEVER, ALWAYS]))
def test_float32_inputs_train_a_float64_network_as_their_float64_copy(problem, batch, group_from):
    """A float64 network keeps float32 inputs' values in float32 (``to_csr``) and widens
    each in the kernels: exact, so training and evaluation (of enough rows to take the
    sparse path) give the numbers of the same values in float64 to the last bit, and the
    reference's within 1e-10."""
    sizes, X, y, seed = problem
    narrow = X.astype(np.float32)
    nets = []
    with grouping(group_from):
        for data in (narrow, narrow.astype(np.float64)):
            nets.append(seeded(network.Network, sizes, seed, sparse=True))
            list(nets[-1].train((data, y), 2, batch, 1.0, test_data=(data, y)))
    assert max_difference(nets[0], nets[1]) == 0
    many = np.repeat(narrow, -(-2 * _trainers.EVAL_BLOCK // narrow.shape[0]), axis=0)
    assert (nets[0].outputs(many) == nets[1].outputs(many.astype(np.float64))).all()
    reference = seeded(naive.Network, sizes, seed)
    reference.SGD(chapter_lists(narrow.astype(np.float64), y, sizes[-1]), 2, batch, 1.0)
    assert max_difference(reference, nets[0]) <= 1e-10
    trainer = _trainers.choose(nets[0], narrow, np.eye(sizes[-1])[y], batch, 1.0, set())
    assert trainer.inputs.values.dtype == np.float32


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 40), st.integers(1, 300), st.integers(1, 5),
       st.sampled_from([np.float64, np.float32]))
def test_each_threads_blocks_of_neurons_have_strips_of_their_own(n_in, hidden, threads, dtype):
    """``WT``'s layout: every vector of neurons of every pixel has its own place; each
    block of up to 4 vectors of a thread's band (as the epoch cuts and visits them) lies
    in a strip of its own, a row per pixel, the rows back to back, no other block's
    numbers in it; the mirror and back give the network's parameters exactly, padding
    left zero."""
    layout = network.Layout([n_in, hidden, 3])
    ws = _sparse.scratch(layout, 4, dtype, threads, network.Workspace(layout, 4, dtype))
    lanes = 64 // np.dtype(dtype).itemsize
    vectors = ws.Hp // lanes
    strip = n_in * ws.stride
    assert ws.bases.size == vectors and ws.WT.size % strip == 0
    places = (ws.bases[:, None, None] + ws.stride * np.arange(n_in)[None, :, None]
              + np.arange(lanes)[None, None, :])
    assert np.unique(places).size == places.size and places.max() < ws.WT.size
    blocks = []
    for t in range(threads):
        _, _, v_lo, v_hi = _sparse.band_of(vectors, ws.group, threads, t)
        blocks += [ws.bases[v:min(v + _sparse.BLOCK, v_hi)]
                   for v in range(v_lo, v_hi, _sparse.BLOCK)]
    assert sum(block.size for block in blocks) == vectors
    assert ws.stride == max(block.size for block in blocks) * lanes   # rows back to back
    owners = [set(block // strip) for block in blocks]
    assert all(len(owner) == 1 for owner in owners)
    assert len(set.union(*owners)) == len(blocks) == ws.WT.size // strip
    for block in blocks:
        assert block[0] % strip == 0 and (np.diff(block) == lanes).all()   # from the row's start
    net = seeded(network.Network, [n_in, hidden, 3], 1, dtype=dtype)
    before = net.parameters.copy()
    kernel_net = _trainers._kernel_net(net)
    _sparse.mirror(kernel_net, ws)
    mirrored = ws.WT[places.reshape(vectors, n_in, lanes)]
    assert np.count_nonzero(ws.WT) == np.count_nonzero(mirrored)   # nothing outside the places
    for array in (net.weights[0], net.biases[0], net.weights[1]):   # what the mirror holds
        array[...] = 0
    _sparse.unmirror(kernel_net, ws)
    assert (net.parameters == before).all()


@pytest.mark.parametrize("vectors, threads", [(18, 2), (19, 1), (24, 2), (8, 8), (30, 4)])
def test_pairs_of_blocks_are_stepped_at_once_only_where_side_by_side(vectors, threads):
    """The grouped update steps two blocks at once (``_update_half``) where each has its
    vectors one after the other in a pixel's row, which every pair of a team's own blocks
    has, and a pair that straddles two bands' strips, or blocks of one vector each, have
    not."""
    lanes, BLOCK = 8, _sparse.BLOCK
    group = -(-vectors // _sparse.GROUPS)
    _, bases, _ = _sparse.strips(64, vectors, group, threads, lanes)
    for v in range(vectors - 2 * BLOCK + 1):
        side_by_side = all((np.diff(bases[b:b + BLOCK]) == lanes).all() for b in (v, v + BLOCK))
        assert _sparse._side_by_side(bases, v, 2 * BLOCK, lanes) == side_by_side
    for t in range(threads):
        _, _, v_lo, v_hi = _sparse.band_of(vectors, group, threads, t)
        for v in range(v_lo, v_hi - 2 * BLOCK + 1, 2 * BLOCK):
            assert _sparse._side_by_side(bases, v, 2 * BLOCK, lanes)
    if threads == 2 and vectors == 18:   # going on alone: vectors 8-15 straddle two strips
        assert not _sparse._side_by_side(bases, 8, 2 * BLOCK, lanes)


@pytest.mark.parametrize("sizes", [ONE_HIDDEN, DEEP], ids=str)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("batch", [1, 10, 2 * _sparse.CHUNK + 5])   # 3 chunks, the last short
@pytest.mark.parametrize("pattern", ["one pixel", "mixed rows", "all non-zero"])
def test_grouping_by_pixel_changes_no_number(sizes, dtype, batch, pattern):
    """The update grouped by pixel makes the multiply-adds of the update sample by sample,
    in the same order: the same numbers to the last bit, also for mini-batches of more
    than one chunk, and on threads that group beside threads that do not."""
    rng = np.random.default_rng(batch)
    X = inputs(pattern, 150, sizes[0], rng)
    y = rng.integers(0, sizes[-1], 150)
    nets = []
    for group_from, threads in [(NEVER, 1), (ALWAYS, 1), (ALWAYS, 2), (6, 2), (10, 2)]:
        with grouping(group_from):
            nets.append(seeded(network.Network, sizes, 4, dtype=dtype, threads=threads,
                               sparse=True))
            list(nets[-1].train((X, y), 2, batch, 0.5, lmbda=0.5))
    for other in nets[1:]:
        assert max_difference(other, nets[0]) == 0
    if dtype == np.float64:
        reference = seeded(naive.Network, sizes, 4)
        reference.SGD(chapter_lists(X, y, sizes[-1]), 2, batch, 0.5, lmbda=0.5)
        assert max_difference(nets[0], reference) <= 1e-10


def reference_csr(X, stride):
    rows, columns = np.nonzero(X)
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=X.shape[0]))])
    return indptr, columns * stride, X[rows, columns]


@settings(max_examples=100, deadline=None)
@given(hnp.arrays(np.float32, st.tuples(st.integers(0, 9), st.integers(1, 6)),
                  elements=st.sampled_from([0.0, 0.0, 0.5, 1.0])),
       st.integers(1, 4))
@example(np.array([[1, 0, 0], [0, 0, 0], [2, 3, 0], [0, 4, 0], [0, 0, 0]], np.float32), 2)
# a block ends with a row of zeros after a row ending in a zero, whose last zero must stay in
# the block; rows of zeros end the CSR: nothing is written past its end
def test_csr_holds_the_non_zero_values_whatever_the_threads(X, threads):
    n = X.shape[0]
    counts = np.empty(n, dtype=np.int64)
    _sparse.count_nonzeros(X, counts)
    expected = reference_csr(X, 5)
    found = _sparse.to_csr(X, counts, 5, threads)   # blocks of rows, on Numba's threads
    for array, reference in zip(found, expected):
        assert array.shape == reference.shape and (array == reference).all()
    assert found[2].dtype == X.dtype   # float32 inputs stay float32 (exact for either network)
    # the blocks written last to first, into arrays with room past the end: no block writes
    # another's places, and the room stays untouched
    offsets, values = np.full(found[1].size + 1, -1, np.int32), np.full(found[2].size + 1, -1.0)
    for b in reversed(range(threads)):
        _sparse.fill_rows(X, found[0], b * n // threads, (b + 1) * n // threads, np.int32(5),
                          offsets, values)
    assert (offsets[:-1] == expected[1]).all() and (values[:-1] == expected[2]).all()
    assert offsets[-1] == -1 and values[-1] == -1


@given(hnp.arrays(np.float32, st.tuples(st.integers(0, 9), st.integers(1, 9)),
                  elements=st.sampled_from([0.0, 0.0, 0.5, 1.0])))
def test_each_rows_second_half_of_pixels_is_found(X):
    """``middles``: where each row's pixels from ``inputs // 2`` on start in the CSR."""
    counts = np.empty(X.shape[0], dtype=np.int64)
    _sparse.count_nonzeros(X, counts)
    indptr, offsets, _ = _sparse.to_csr(X, counts, 5)
    middle = _sparse.middles(indptr, offsets, X.shape[1], 5)
    half = X.shape[1] // 2
    for r, row in enumerate(X):
        assert middle[r] - indptr[r] == np.count_nonzero(row[:half])


@pytest.mark.parametrize("sizes", [ONE_HIDDEN, DEEP, [64, 9]], ids=str)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_thread_counts_give_identical_numbers(sizes, dtype):
    rng = np.random.default_rng(1)
    X = inputs("mixed rows", 57, sizes[0], rng)
    y = rng.integers(0, sizes[-1], 57)
    nets = []
    for threads in (1, 2, 3):
        nets.append(seeded(network.Network, sizes, 2, dtype=dtype, threads=threads, sparse=True))
        list(nets[-1].train((X, y), 2, 10, 0.5, lmbda=0.5))
    for other in nets[1:]:
        assert max_difference(other, nets[0]) == 0


def test_sparse_and_dense_paths_agree_on_mnist(mnist):
    (X, y), _, (X_test, y_test) = mnist
    results = {}
    for sparse in (True, False):
        net = seeded(network.Network, [784, 30, 10], 0, sparse=sparse)
        results[sparse] = (list(net.train((X[:3000], y[:3000]), 1, 10, 3.0,
                                          test_data=(X_test[:1000], y_test[:1000]))), net)
    assert max_difference(results[True][1], results[False][1]) <= 1e-9
    assert results[True][0][0].correct == results[False][0][0].correct


def test_decay_folded_into_the_weights_when_its_factor_gets_small():
    """L2 decay is kept as one factor while it is above 2**-20; a strong decay makes it
    fall below within a few steps, and the result still matches the reference."""
    rng = np.random.default_rng(4)
    X, y = inputs("50%", 40, 12, rng), rng.integers(0, 3, 40)
    training = chapter_lists(X, y, 3)
    eta, lmbda = 1.0, 20.0      # each step scales the weights by 1 - 20/40 = 0.5
    assert (1 - eta * lmbda / 40) ** 40 < _sparse.RENORMALISE
    reference = seeded(naive.Network, [12, 40, 3], 5)
    reference.SGD(list(training), 1, 1, eta, lmbda=lmbda)
    fast = seeded(network.Network, [12, 40, 3], 5, sparse=True)
    fast.SGD(list(training), 1, 1, eta, lmbda=lmbda)
    assert max_difference(reference, fast) <= 1e-10 * max(1.0, np.abs(reference.weights[0]).max())


def test_the_path_is_chosen_by_density_unless_forced():
    rng = np.random.default_rng(0)
    T = np.eye(3)[rng.integers(0, 3, 20)]
    sparse_X, dense_X = inputs("10%", 20, 8, rng), inputs("all non-zero", 20, 8, rng)
    chosen = lambda net, X: type(_trainers.choose(net, X, T, 5, 1.0, set())).__name__
    assert chosen(network.Network([8, 4, 3]), sparse_X) == "SparseTrainer"
    assert chosen(network.Network([8, 4, 3]), dense_X) == "DenseTrainer"
    assert chosen(network.Network([8, 4, 3], sparse=True), dense_X) == "SparseTrainer"
    assert chosen(network.Network([8, 4, 3], sparse=False), sparse_X) == "DenseTrainer"
    with pytest.raises(ValueError, match=r"sparse must be True, False or None \(choose by density\), got 'yes'"):
        network.Network([8, 4, 3], sparse="yes")


def test_weights_written_between_epochs_are_trained_on_and_views_stay_current():
    rng = np.random.default_rng(6)
    X, y = inputs("10%", 30, 16, rng), rng.integers(0, 4, 30)
    net = seeded(network.Network, [16, 20, 4], 7, sparse=True)
    view = net.weights[0]
    twin = network.Network.from_parameters(net.sizes, net.parameters, sparse=False)
    for epoch_net in (net, twin):
        random.seed(8)
        run = epoch_net.train((X, y), 2, 5, 1.0)
        next(run)
        epoch_net.weights[0][0, :] = 0.25   # between epochs, through a view
        list(run)
    assert max_difference(net, twin) <= 1e-12
    np.testing.assert_array_equal(view, net.weights[0])


def test_an_interrupt_mid_epoch_leaves_the_weights_written_back(monkeypatch):
    monkeypatch.setattr(network, "SLICE_SECONDS", 0.0)   # a hundred slices
    rng = np.random.default_rng(9)
    X, y = inputs("10%", 200, 16, rng), rng.integers(0, 4, 200)
    net = seeded(network.Network, [16, 20, 4], 7, sparse=True)
    before = net.parameters.copy()
    calls = []

    def progress(done):
        calls.append(done)
        if len(calls) == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        list(net.train((X, y), 1, 1, 1.0, progress=progress))
    first_layer = slice(0, 16 * 20)
    assert not np.array_equal(net.parameters[first_layer], before[first_layer])
    assert np.isfinite(net.parameters).all()


@pytest.mark.parametrize("sparse", [True, False])
def test_an_evaluation_starts_only_the_threads_it_uses(monkeypatch, sparse):
    """A parallel region of one thread on Numba's whole pool would wake the others for
    nothing (they spin a while: a core taken on a busy machine)."""
    kernels = _sparse if sparse else _trainers._kernels
    predict, seen = kernels.predict, []

    def counted(*args):
        seen.append((numba.get_num_threads(), args[-1]))
        return predict(*args)
    monkeypatch.setattr(kernels, "predict", counted)
    rng = np.random.default_rng(5)
    X = inputs("10%", 300, 16, rng)
    for threads in (1, numba.get_num_threads()):
        net = seeded(network.Network, [16, 20, 4], 1, sparse=sparse, threads=threads)
        net.outputs(X)
    assert seen == [(1, 1), (numba.get_num_threads(),) * 2]


@pytest.mark.parametrize("sizes", [ONE_HIDDEN, DEEP, [64, 9]], ids=str)
@pytest.mark.parametrize("pattern", ["10%", "mixed rows", "all zero"])
def test_sparse_evaluation_gives_the_dense_outputs(sizes, pattern):
    rng = np.random.default_rng(7)
    X = inputs(pattern, 300, sizes[0], rng)
    y = rng.integers(0, sizes[-1], 300)
    sparse = seeded(network.Network, sizes, 3, sparse=True)
    dense = network.Network.from_parameters(sizes, sparse.parameters, sparse=False)
    assert _trainers.outputs(sparse, X).__name__ == "sparse"   # the path under test
    np.testing.assert_allclose(sparse.outputs(X), dense.outputs(X), rtol=0, atol=1e-12)
    np.testing.assert_allclose(sparse.feedforward(X.T), dense.feedforward(X.T), rtol=0, atol=1e-12)
    assert sparse.evaluate((X, y)) == dense.evaluate((X, y))
    sparse.threads = 1
    np.testing.assert_array_equal(sparse.outputs(X), network.Network.from_parameters(
        sizes, sparse.parameters, sparse=True, threads=2).outputs(X))


@pytest.mark.parametrize("sizes, group_from", [
    (ONE_HIDDEN, _sparse.GROUP_FROM), (DEEP, _sparse.GROUP_FROM),
    # 18 vectors in groups of 3, bands from vectors 0 and 9: going on alone, thread 0
    # meets a pair of blocks that straddles the bands' strips (``_side_by_side``)
    ([64, 144, 5], ALWAYS)], ids=str)
@pytest.mark.parametrize("found", ["long waits", "alone"])
def test_a_team_that_goes_on_alone_computes_what_one_thread_does(monkeypatch, sizes, group_from,
                                                                 found):
    """Busy cores (``_sync``: waits at the barrier ran long) make thread 0 finish the epoch
    alone, from the next meeting ("long waits") or from the region's start ("alone")."""
    from fastnet import _sync
    slot = {"long waits": _sync.LONG, "alone": _sync.ALONE}[found]
    value = {"long waits": _sync.LONG_WAITS, "alone": 1}[found]
    regions = []

    def busy_from_the_start(state):
        state[:_sync.LONG] = 0
        state[slot] = value
        regions.append(state)

    rng = np.random.default_rng(3)
    X = inputs("mixed rows", 57, sizes[0], rng)
    y = rng.integers(0, sizes[-1], 57)
    with grouping(group_from):
        alone = seeded(network.Network, sizes, 2, threads=1, sparse=True)
        list(alone.train((X, y), 2, 10, 0.5, lmbda=0.5))
        monkeypatch.setattr(_sync, "start_region", busy_from_the_start)
        team = seeded(network.Network, sizes, 2, threads=2, sparse=True)
        list(team.train((X, y), 2, 10, 0.5, lmbda=0.5))
    assert regions and all(state[_sync.ALONE] == 1 for state in regions)   # it went alone
    assert max_difference(team, alone) == 0


# -- the thread count chosen by timing -----------------------------------------------------
@pytest.mark.parametrize("more, chosen", [(0.8, 2), (0.9, 2), (0.95, 1), (1.5, 1)])
def test_thread_choice_keeps_more_threads_only_when_clearly_faster(more, chosen):
    """Slices alternate one thread and two; the first of each is not timed (it starts the
    thread pool); after CHOICE_TRIALS timed slices each, two are kept only when their median
    time a sample is at most CHOICE_MARGIN of one thread's."""
    choice = _trainers.ThreadChoice(2)
    seconds = {1: [9.0, 1.0, 1.2, 0.9], 2: [9.0, more, more * 5, more * 0.1]}
    for trial in range(_trainers.CHOICE_TRIALS + 1):
        for _ in range(2):
            threads = choice.next()
            assert choice.chosen is None and threads == (1, 2)[choice.slices[2] < choice.slices[1]]
            choice.record(threads, 100, 100 * seconds[threads][trial])
    assert choice.chosen == chosen and choice.next() == chosen


def test_an_automatic_thread_count_is_chosen_by_timing_and_changes_no_number(monkeypatch):
    # A fake clock makes two threads twice as fast: after the first epoch's timed slices the
    # network trains on two, and it is bit-identical to one trained on one thread.
    from fastnet import _sync
    monkeypatch.setattr(_trainers.numba, "get_num_threads", lambda: 2)
    clock, regions = [0.0], []
    monkeypatch.setattr(_trainers.time, "perf_counter", lambda: clock[0])
    run = _trainers.SparseTrainer._run

    def timed(trainer, order, eta, threads):
        regions.append((len(order), threads))
        clock[0] += len(order) / threads
        run(trainer, order, eta, threads)
        trainer.scratch.state[_sync.ALONE] = 0   # busy real cores are another test's case
    monkeypatch.setattr(_trainers.SparseTrainer, "_run", timed)
    rng = np.random.default_rng(4)
    n, part = 5000, 10 * -(-_trainers.CHOICE_MIN_SLICE // 10)
    X, y = inputs("10%", n, 64, rng), rng.integers(0, 7, n)
    auto = seeded(network.Network, [64, 20, 7], 5, sparse=True)
    list(auto.train((X[:200], y[:200]), 1, 10, 0.5, rng=random.Random(0)))
    assert regions == [(200, 1)]   # too few samples to time: one thread, nothing chosen
    regions.clear()
    list(auto.train((X, y), 2, 10, 0.5, rng=random.Random(1)))
    slices = 2 * (_trainers.CHOICE_TRIALS + 1)
    timed = [(part, 1), (part, 2)] * (slices // 2)
    assert regions == timed + [(n - slices * part, 2), (n, 2)]   # the epoch's rest, the next
    assert auto._workspaces[("thread choice", 2, 10)].chosen == 2
    list(auto.train((X, y), 1, 10, 0.5, rng=random.Random(2)))   # a later call keeps the choice
    assert regions[-1] == (n, 2)
    # with progress shown the epoch comes in slices of 1/100 (the fake clock makes every
    # slice look long): 25,000 samples make them long enough to time
    big = inputs("10%", 25_000, 64, rng), rng.integers(0, 7, 25_000)
    shown = seeded(network.Network, [64, 20, 7], 5, sparse=True)
    list(shown.train(big, 1, 10, 0.5, progress=lambda done: None))
    assert shown._workspaces[("thread choice", 2, 10)].chosen == 2
    one = seeded(network.Network, [64, 20, 7], 5, sparse=True, threads=1)
    list(one.train((X[:200], y[:200]), 1, 10, 0.5, rng=random.Random(0)))
    list(one.train((X, y), 2, 10, 0.5, rng=random.Random(1)))
    list(one.train((X, y), 1, 10, 0.5, rng=random.Random(2)))
    assert max_difference(auto, one) == 0


def test_a_team_that_found_the_cores_busy_leaves_one_thread_chosen_for_some_epochs(monkeypatch):
    # After a region went alone (another job or a busy Python thread on the cores), the
    # automatic count is one for CHOICE_AGAIN_AFTER epochs (the timed two would keep meeting
    # the same contention), then it is timed again: the cores may be free by then.
    from fastnet import _sync
    monkeypatch.setattr(_trainers.numba, "get_num_threads", lambda: 2)
    rng = np.random.default_rng(4)
    X, y = inputs("10%", 5000, 64, rng), rng.integers(0, 7, 5000)
    net = seeded(network.Network, [64, 20, 7], 5, sparse=True)
    list(net.train((X, y), 1, 10, 0.5))
    (choice,) = [value for key, value in net._workspaces.items() if key[0] == "thread choice"]
    choice.chosen = 2   # as if timed faster
    start_region, run = _sync.start_region, _trainers.SparseTrainer._run

    def busy(state):
        start_region(state)
        state[_sync.ALONE] = 1
    monkeypatch.setattr(_sync, "start_region", busy)
    list(net.train((X, y), 1, 10, 0.5))
    assert choice.chosen == 1
    monkeypatch.setattr(_sync, "start_region", start_region)   # the cores are free again
    counts = []

    def counted(trainer, order, eta, threads):
        counts.append(threads)
        run(trainer, order, eta, threads)
    monkeypatch.setattr(_trainers.SparseTrainer, "_run", counted)
    again = _trainers.CHOICE_AGAIN_AFTER
    list(net.train((X, y), again - 1, 10, 0.5))
    assert counts == [1] * (again - 1) and choice.chosen is None   # an epoch each, one thread
    list(net.train((X, y), 1, 10, 0.5))
    assert counts[again - 1:again + 1] == [1, 2] and choice.chosen in (1, 2)   # timed again


def test_a_thread_choice_of_one_is_made_again_after_epochs_on_it():
    """Three epochs after the first break, then twice as many after each next, at most 24."""
    choice = _trainers.ThreadChoice(2)
    choice.epoch_done()   # nothing chosen yet: nothing counted
    for wait in [3, 6, 12, 24, 24]:
        choice.found_busy()   # a team broke up
        for _ in range(wait - 1):
            choice.epoch_done()
            assert choice.next() == 1
        choice.epoch_done()
        assert choice.chosen is None and choice.next() == 1
        assert choice.slices == {1: 0, 2: 0} and choice.seconds == {1: [], 2: []}
        choice.chosen = 2   # timed faster again
        for _ in range(2 * _trainers.CHOICE_AGAIN_AT_MOST):
            choice.epoch_done()
        assert choice.chosen == 2   # more threads are kept until a team breaks up


LIVE_MEMORY = """
import gc
import numpy as np
from numba.core.runtime import rtsys
import fastnet.network as network

rng = np.random.default_rng(0)
X = (rng.random((600, 784)) * (rng.random((600, 784)) < 0.2)).astype(np.float32)
y = rng.integers(0, 10, 600)


def live():
    stats = rtsys.get_allocation_stats()
    return stats.alloc - stats.free, stats.mi_alloc - stats.mi_free


def train(sizes, threads):
    net = network.Network(sizes, threads=threads)
    list(net.train((X, y), 1, 10, 3.0, test_data=(X[:100], y[:100])))
    net.predict(X[:100])


for sizes, threads in (([784, 30, 10], 2), ([784, 300, 10], 1), ([784, 300, 10], 2),
                       ([784, 30, 20, 10], 2)):
    train(sizes, threads)   # kernels loaded, scratch made once
    gc.collect()
    before = live()
    train(sizes, threads)
    gc.collect()
    print(sizes, threads, before == live())
"""


def test_kernels_without_reference_counting_leave_no_memory_behind():
    """The sparse kernels run without Numba's reference counts (``_nrt=False``): nothing
    they are given or make may keep memory alive after a training (Numba's counts of live
    allocations, with its statistics on, are the same before and after one)."""
    found = subprocess.run([sys.executable, "-c", LIVE_MEMORY], capture_output=True, text=True,
                           check=True, env={**os.environ, "NUMBA_NRT_STATS": "1"}).stdout
    lines = found.splitlines()
    assert len(lines) == 4 and all(line.endswith(" True") for line in lines), found
