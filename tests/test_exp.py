"""The kernels' vectorisable exp against NumPy's, in both precisions."""
import numpy as np
import pytest
from numba import njit

from numba import types

from fastnet._exp import RANGE, exp
from fastnet._kernels import FASTMATH


@njit(fastmath=FASTMATH)   # as the kernels call it: their reassociation must not reach exp
def exp_all(x, out):
    for i in range(x.size):
        out[i] = exp(x[i])


@pytest.mark.parametrize("dtype, numba_type", [(np.float64, types.float64),
                                               (np.float32, types.float32)])
def test_exp_is_within_one_unit_in_the_last_place_over_its_range(dtype, numba_type):
    lowest, highest = RANGE[numba_type]
    rng = np.random.default_rng(0)
    x = np.concatenate([np.linspace(lowest, highest, 200_001), rng.normal(0, 5, 100_000),
                        [0.0, -0.0, 1e-300, np.log(2) / 2, -np.log(2) / 2]]).astype(dtype)
    out = np.empty_like(x)
    exp_all(x, out)
    expected = np.exp(x.astype(np.longdouble))
    ulps = np.abs(out - expected) / (expected * np.finfo(dtype).eps)
    assert ulps.max() <= 1.0
    assert out.dtype == dtype


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_exp_clamps_instead_of_overflowing(dtype):
    x = np.array([-1e4, -800.0, 800.0, 1e4, -np.inf, np.inf], dtype=dtype)
    out = np.empty_like(x)
    exp_all(x, out)
    assert np.isfinite(out).all()
    assert out[0] == out[1] == out[4] and 0 < out[0] < 1e-30
    assert out[2] == out[3] == out[5] and out[2] > np.finfo(dtype).max / 10
