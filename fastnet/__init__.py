"""fastnet: the chapter-1 network of "Neural Networks and Deep Learning" on Numba kernels.

``fastnet.load(path)`` reads a network saved by ``Network.save``; it is imported on first
use, so ``import fastnet`` stays cheap.
"""

__version__ = "0.1.0"  # the version of the distribution fastnet-nndl (pyproject reads it here)


def __getattr__(name):
    if name == "load":
        from fastnet.persist import load
        return load
    raise AttributeError(f"module 'fastnet' has no attribute {name!r}")
