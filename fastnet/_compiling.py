"""A word on stderr while Numba compiles fastnet's kernels, which happens once.

The first run on a machine compiles the kernels for its CPU (tens of seconds); later runs
load them from Numba's cache in a fraction of a second. Without a word the first run
looks hung. Numba announces a compilation (and not a load from its cache) with a
``numba:compile`` event; the first one for a fastnet kernel prints ``MESSAGE`` once.
"""
import sys

from numba.core import event

MESSAGE = ("fastnet: compiling its kernels for this computer; this happens once and takes "
           "up to a minute. Later runs load them from Numba's cache (NUMBA_CACHE_DIR, else "
           "__pycache__ beside fastnet's files).")


class _Note(event.Listener):
    """Prints ``MESSAGE`` when the first fastnet kernel starts compiling."""

    def __init__(self):
        self.said = False

    def on_start(self, happening):
        function = getattr(happening.data.get("dispatcher"), "py_func", None)
        if not self.said and getattr(function, "__module__", "").startswith("fastnet."):
            self.said = True
            print(MESSAGE, file=sys.stderr, flush=True)

    def on_end(self, happening):
        pass


event.register("numba:compile", _Note())
