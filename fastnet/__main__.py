"""The ``fastnet`` command's process: ``python -m fastnet`` and the ``fastnet`` script."""
import os
import sys


def main():
    """Run the ``fastnet`` command in this process; returns its exit code.

    Before NumPy is imported, OpenBLAS is told to start no threads (unless
    ``OPENBLAS_NUM_THREADS`` is set): the command computes on Numba's threads, never with
    BLAS on large matrices, and the pool OpenBLAS starts when it loads spins a core for
    about 0.1 s (SciPy's OpenBLAS another 0.1 s, where it is imported), beside the reading
    of MNIST and the loading of the kernels. NumPy is told not to ask Linux for huge pages
    for large arrays (unless ``NUMPY_MADVISE_HUGEPAGE`` is set): on a VM whose memory is
    fragmented, the kernel compacts memory to find them, and filling MNIST's 188 MB of
    floats took 0.04-0.5 s with them against a steady 0.11 s without. The processes it
    starts inherit both settings.
    """
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")
    from fastnet.cli import command
    return command()


if __name__ == "__main__":
    sys.exit(main())
