"""What a training run is: its ``Settings``, with the chapter's defaults, and the names the
``fastnet train`` command and its checkpoints use for them.

NumPy alone: the command reads its arguments with these before Numba is imported (it
reads MNIST meanwhile, see ``cli.run_train``). ``training`` runs them.
"""
from typing import NamedTuple

from fastnet import costs, inits

#: Where an interrupted run without a checkpoint path saves.
INTERRUPT_CHECKPOINT = "fastnet-checkpoint.npz"


class Settings(NamedTuple):
    """A run: the network (``sizes``, ``dtype``, ``cost``, ``init``), its training
    (``epochs`` in all, mini-batch size ``batch``, learning rate ``eta``, L2 ``lmbda``,
    ``seed``, None for an unseeded run), on the first ``limit`` training images (None: all).
    ``threads`` caps the kernels' threads; it changes no result and is not recorded."""
    sizes: tuple = (784, 30, 10)
    epochs: int = 30
    batch: int = 10
    eta: float = 3.0
    seed: int | None = None
    dtype: str = "float64"
    cost: str = costs.QUADRATIC.name
    init: str = inits.CHAPTER.name
    lmbda: float = 0.0
    limit: int | None = None
    threads: int | None = None


#: The settings that say which network a run trains.
NETWORK = ("sizes", "dtype", "cost", "init")
#: The settings a checkpoint records beside its model arrays (which hold sizes, dtype, cost).
RECORDED = ("epochs", "batch", "eta", "seed", "init", "lmbda", "limit")
