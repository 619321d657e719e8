"""Fixtures shared by tests/ and bench/: where the real MNIST files are, and MNIST read once.
First, before NumPy loads OpenBLAS, the pins some machines set to older kernels are dropped:
the benchmarks' peers get the machine's best (bench/conftest.py reports what runs)."""
import os
from pathlib import Path

for _pin in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
    os.environ.pop(_pin, None)

import pytest

from fastnet import mnist_loader
from fastnet.datasets import MNIST

ROOT = Path(__file__).resolve().parent


def _candidates():
    if os.environ.get("FASTNET_DATA"):
        yield Path(os.environ["FASTNET_DATA"])
    yield ROOT / "data"
    yield ROOT.parent / "shared" / "data" / "mnist"


@pytest.fixture(scope="session")
def mnist_dir():
    """The folder holding the four MNIST IDX files; fails under CI when absent, else skips."""
    for folder in _candidates():
        if all((folder / name).is_file() for name in MNIST.files):
            return folder
    message = "MNIST files not found in $FASTNET_DATA, data/ or ../shared/data/mnist"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def mnist(mnist_dir):
    """``mnist_loader.load_data()`` of the real files: (training, validation, test) arrays."""
    return mnist_loader.load_data(mnist_dir)
