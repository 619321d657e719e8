"""Numba's thread pool, started so that its idle workers soon stop spinning.

Between parallel regions, and at a region's end while the others finish, an OpenMP
worker spins before it sleeps: GNU OpenMP (Numba's layer on Linux) about 7 ms here after
every region, LLVM's and Intel's 200 ms. A core spun on is taken from whatever else needs
it: from the first thread of a team that a busy machine broke up (``_sync``: the others
leave the region early and spin at its end), from another job, from a busy Python
thread. Measured with ``bench/test_busy.py`` (three runs each, alternating, against
GNU's default): an epoch of 784-1000-10 on 5,000 images beside a busy Python thread
0.106-0.109 s against 0.108-0.121 s (one thread alone: 0.101 s); two default
``fastnet train`` jobs at once 1.13-1.15 s against 1.23-1.27 s. The main job is as
quick as before (``farm-bench -n 20``, paired: 0.998 and 1.018). Regions follow each
other closely while a thread count is timed or progress is shown: a spin of about a
millisecond keeps those quick.

The runtimes read their settings once, when they load, which is when the pool starts.
``start`` sets them for that moment only, and only where the user has set no wait policy
of their own: child processes, and whatever reads the environment later, never see them.
"""
import os

import numba

#: The idle spin, in each runtime's terms: GNU's in spins (30,000: 0.8-1.0 ms here, against
#: 7 ms for its default of 300,000), LLVM's and Intel's in milliseconds.
IDLE_SPIN = {"GOMP_SPINCOUNT": "30000", "KMP_BLOCKTIME": "1"}
#: Any of these set by the user: their choice, left alone.
USER_SETTINGS = ("OMP_WAIT_POLICY", *IDLE_SPIN)


def start():
    """Start Numba's thread pool (nothing if it runs already): a kernel loaded from the
    cache runs its threaded callees' code without compiling (or loading) them, and nothing
    else would start the pool first."""
    ours = {} if any(name in os.environ for name in USER_SETTINGS) else IDLE_SPIN
    os.environ.update(ours)
    try:
        numba.get_num_threads()
    finally:
        for name in ours:
            del os.environ[name]
