"""fastnet's kernels: Numba's ``njit`` with its cache on disk, loaded without its registries.

Before Numba loads a function from its cache, it "refreshes" its target: it imports and
registers every typing and lowering implementation it has (arrays, lists, dicts, random
numbers, linear algebra...), 0.1-0.2 s of Python at a process's first load, although the
cached machine code needs none of them. A ``kernel`` loads without that: only Numba's
runtime, whose functions the machine code calls, is set up first. Compiling still sets
up everything, as Numba always does before it compiles.
"""
from numba import njit
from numba.core.caching import FunctionCache
from numba.core.runtime import rtsys


class _KernelCache(FunctionCache):
    """Numba's cache of one function; a load sets up Numba's runtime only."""

    def load_overload(self, sig, target_context):
        rtsys.initialize(target_context)
        with self._guard_against_spurious_io_errors():
            return self._load_overload(sig, target_context)


def kernel(**options):
    """A decorator: ``numba.njit(cache=True, **options)``, loading from the cache as above."""
    def declare(function):
        dispatcher = njit(**options)(function)
        dispatcher._cache = _KernelCache(function)   # what cache=True does, with this cache
        return dispatcher
    return declare
