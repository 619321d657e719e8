"""fastnet: the chapter-1 network of "Neural Networks and Deep Learning" on Numba kernels."""

__version__ = "0.1.0"
