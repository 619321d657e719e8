"""The compiled shuffle draws exactly what ``random.shuffle`` draws."""
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastnet import _shuffle


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 3000), st.integers(0, 700))
def test_the_same_permutation_and_the_same_state_after(seed, length, draws_before):
    ours, theirs = random.Random(seed), random.Random(seed)
    for generator in (ours, theirs):   # the state's index anywhere in its 624 words
        for _ in range(draws_before):
            generator.getrandbits(32)
    mine, expected = list(range(length)), list(range(length))
    _shuffle.shuffle(ours, mine)
    theirs.shuffle(expected)
    assert mine == expected
    assert ours.getstate() == theirs.getstate()
    vector = np.array(mine)   # an int64 vector: shuffled where it is, as the list is
    assert _shuffle.shuffle(ours, vector) is vector
    theirs.shuffle(expected)
    assert vector.tolist() == expected and ours.getstate() == theirs.getstate()


def test_the_random_module_itself_is_shuffled_like_random_shuffle():
    random.seed(5)
    expected = list(range(50_000))
    random.shuffle(expected)
    after = random.random()
    random.seed(5)
    mine = list(range(50_000))
    _shuffle.shuffle(random, mine)
    assert mine == expected and random.random() == after


def test_a_subclass_draws_its_own_way():
    class Reversing(random.Random):
        def shuffle(self, x):
            x.reverse()

    order = [1, 2, 3]
    _shuffle.shuffle(Reversing(0), order)
    assert order == [3, 2, 1]


@pytest.mark.parametrize("values", [[0], [], list(range(10))[::-1]])
def test_values_are_permuted_not_replaced(values):
    mine = list(values)
    _shuffle.shuffle(random.Random(1), mine)
    assert sorted(mine) == sorted(values)
