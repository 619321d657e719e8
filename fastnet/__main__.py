"""The ``fastnet`` command's process: ``python -m fastnet`` and the ``fastnet`` script."""
import os
import sys


def main():
    """Run the ``fastnet`` command in this process; returns its exit code.

    Before NumPy is imported, OpenBLAS is told to start no threads (unless
    ``OPENBLAS_NUM_THREADS`` is set): the command computes on Numba's threads, never with
    BLAS on large matrices, and the pool OpenBLAS starts when it loads spins a core for
    about 0.1 s (SciPy's OpenBLAS another 0.1 s, where it is imported), beside the reading
    of MNIST and the loading of the kernels. The processes it starts inherit the setting.
    """
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from fastnet.cli import command
    return command()


if __name__ == "__main__":
    sys.exit(main())
