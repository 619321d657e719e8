"""One network used from several Python threads, and copies of networks (issue 12, items 1-2).

The kernels release the GIL inside their parallel regions, so two Python threads can be
inside one network's kernels at once; these tests run with 2 kernel threads and repeat
enough to catch a race on shared scratch."""
import copy
import pickle
import random
import threading
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
import pytest

import fastnet.network as network

rng = np.random.default_rng(0)
X = DENSE_X = rng.random((1000, 784)).astype(np.float32)
y = rng.integers(0, 10, 1000)
CALLS = 80


@pytest.fixture(scope="module")
def net():
    assert numba.get_num_threads() >= 2, "these tests need 2 kernel threads to mean anything"
    np.random.seed(0)
    return network.Network([784, 30, 10], threads=2)


def in_threads(function, threads=2, calls=CALLS):
    """``function(i)`` for ``i < calls``, spread over ``threads`` Python threads at once."""
    start = threading.Barrier(threads)

    def first(i):
        if i < threads:
            start.wait()
        return function(i)

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(first, range(calls)))


@pytest.mark.parametrize("zeros", [0.0, 0.8], ids=["dense inputs", "sparse inputs"])
def test_concurrent_feedforward_outputs_predict_and_evaluate_are_all_right(net, zeros):
    X = np.where(np.random.default_rng(1).random(DENSE_X.shape) < zeros, 0, DENSE_X)
    columns = X.T
    expected = net.feedforward(columns)
    labels, correct = net.predict(X), net.evaluate((X, y))
    results = in_threads(lambda i: [net.feedforward(columns), net.outputs(X), net.predict(X),
                                    net.evaluate((X, y))])
    wrong = sum(not (np.array_equal(f, expected) and np.array_equal(o, expected.T)
                     and np.array_equal(p, labels) and e == correct)
                for f, o, p, e in results)
    assert wrong == 0, f"{wrong} of {CALLS} concurrent calls gave a different answer"


def test_training_from_a_second_thread_is_refused_while_the_first_trains(net):
    trainee = copy.deepcopy(net)
    inside, tried = threading.Event(), threading.Event()
    errors = []

    def progress(done):
        inside.set()
        tried.wait(timeout=60)

    def first():
        list(trainee.train((X, y), 1, 10, 3.0, progress=progress))

    thread = threading.Thread(target=first)
    thread.start()
    try:
        assert inside.wait(timeout=120)
        for attempt in (lambda: trainee.SGD((X, y), 1, 10, 3.0),
                        lambda: trainee.update_mini_batch([(X[0].reshape(-1, 1), np.eye(10)[[0]].T)], 3.0)):
            try:
                attempt()
            except RuntimeError as error:
                errors.append(str(error))
    finally:
        tried.set()
        thread.join()
    assert len(errors) == 2
    assert all("being trained in another thread" in error and "copy.deepcopy(net)" in error
               for error in errors)
    list(trainee.train((X[:20], y[:20]), 1, 10, 3.0))   # free again once the first is done


def test_copies_train_side_by_side_like_the_original(net):
    """deepcopy and pickle give whole networks: their views write into their own buffer,
    and training one changes neither the other nor the original."""
    original = copy.deepcopy(net)
    copies = [copy.deepcopy(original), pickle.loads(pickle.dumps(original))]
    for twin in copies:
        assert twin.sizes == original.sizes and twin.threads == original.threads
        np.testing.assert_array_equal(twin.parameters, original.parameters)
        twin.weights[0][0, 0] = 123.0   # a write through a view reaches the copy's kernels
        assert twin.parameters[0] == 123.0 and original.parameters[0] != 123.0
        twin.weights[0][0, 0] = original.weights[0][0, 0]
    for trained in [original] + copies:
        random.seed(3)
        list(trained.train((X[:300], y[:300]), 1, 10, 3.0))
    for twin in copies:
        np.testing.assert_array_equal(twin.parameters, original.parameters)
        np.testing.assert_array_equal(twin.weights[1], original.weights[1])
    assert not np.array_equal(original.parameters, net.parameters)


class Tagged(network.Network):
    """A reader's subclass with an attribute of its own."""


def test_copies_keep_a_subclass_and_its_attributes():
    tagged = Tagged([3, 2], cost="cross-entropy")
    tagged.note = "mine"
    for twin in (copy.deepcopy(tagged), pickle.loads(pickle.dumps(tagged))):
        assert type(twin) is Tagged and twin.note == "mine" and twin.cost.name == "cross-entropy"
