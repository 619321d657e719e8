"""A word on stderr while Numba compiles fastnet's kernels, which happens once, and a
second process to share the compiling.

The first run on a machine compiles the kernels for its CPU (tens of seconds); later runs
load them from Numba's cache in a fraction of a second. Without a word the first run
looks hung. Numba announces a compilation (and not a load from its cache) with a
``numba:compile`` event; the first one for a fastnet kernel prints ``MESSAGE`` once, and
``compilations()`` counts them.

Numba compiles one kernel at a time in a process. On a first run ``second_process``
starts another Python process that compiles, for the same kind of network, the kernels a
training calls besides the epoch itself (the evaluation, the mirror's way back: about a
fifth of the main job's compiling) while this one compiles the epoch; this one then loads
them from the cache.
"""
import subprocess
import sys
from pathlib import Path

from numba.core import event

MESSAGE = ("fastnet: compiling its kernels for this computer; this happens once and takes "
           "up to a minute. Later runs load them from Numba's cache (NUMBA_CACHE_DIR, else "
           "__pycache__ beside fastnet's files).")


class _Note(event.Listener):
    """Counts the fastnet kernels that start compiling; prints ``MESSAGE`` at the first."""

    def __init__(self):
        self.compiled = 0

    def on_start(self, happening):
        function = getattr(happening.data.get("dispatcher"), "py_func", None)
        if getattr(function, "__module__", "").startswith("fastnet."):
            if not self.compiled:
                print(MESSAGE, file=sys.stderr, flush=True)
            self.compiled += 1

    def on_end(self, happening):
        pass


_NOTE = _Note()
event.register("numba:compile", _NOTE)

#: Seconds to wait for the second process before compiling its kernels here instead.
SECOND_PROCESS_WAIT = 120


def compilations():
    """How many fastnet kernels this process has compiled so far (not loaded from the cache)."""
    return _NOTE.compiled


def second_process(net, batch):
    """A process running ``_trainers.preload(..., train=False)`` for a network like ``net``
    (its sizes, dtype, cost and path) trained in mini-batches of ``batch``: this Python, in
    this environment and folder (so with this Numba cache), silent; None if it cannot
    start. It does nothing if it imports another fastnet than this one. ``finish`` it."""
    argv = [sys.executable, "-c", "from fastnet._compiling import _second; _second()", __file__,
            ",".join(map(str, net.sizes)), net.dtype.name, net.cost.name, repr(net.sparse), str(batch)]
    try:
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
    except OSError:
        return None


def finish(process, wait=True):
    """Let the ``second_process`` (if any) end, up to ``SECOND_PROCESS_WAIT`` seconds (no
    time without ``wait``), then stop it: whatever it has not cached is compiled here."""
    if process is None:
        return
    try:
        process.wait(SECOND_PROCESS_WAIT if wait else 0)
    except subprocess.TimeoutExpired:
        pass
    finally:
        process.kill()
        process.wait()


def _second():
    """The second process: ``sys.argv[1:]`` as ``second_process`` wrote them."""
    import numpy as np

    from fastnet import _trainers, network
    from fastnet._layout import Layout

    module, sizes, dtype, cost, sparse, batch = sys.argv[1:]
    if Path(module).resolve() != Path(__file__).resolve():   # its kernels would not be ours
        return
    sizes = [int(size) for size in sizes.split(",")]
    parameters = np.zeros(Layout(sizes).n_params, dtype=dtype)
    net = network.Network.from_parameters(sizes, parameters, dtype, cost, threads=1,
                                          sparse={"None": None, "True": True, "False": False}[sparse])
    _trainers.preload(net, int(batch), train=False)
