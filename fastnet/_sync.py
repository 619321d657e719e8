"""Synchronisation between the threads of one parallel region: atomics, and a barrier
that yields its core when a wait runs long and gives up the team when waits keep doing so.

A training epoch runs as ONE parallel region in which the threads meet once per
mini-batch at ``barrier``. OpenMP's own barriers spin for a long time before they sleep,
so when other work shares the cores (a second job, a busy Python thread) a waiting
thread burns the time slice its partner needs, and each meeting can cost a whole slice
(~milliseconds). This barrier spins briefly with ``pause``, then calls ``sched_yield``
between checks, handing the core to whoever is runnable. That is not enough when the
cores stay oversubscribed: a thread is off its core for a slice at a time, and every
meeting waits for it. So a waiter that waited longer than ``LONG_WAIT`` counts it, and
after ``LONG_WAITS`` such waits in a region the barrier answers "alone": the first
thread carries on with the whole work, the others leave. Where every team size computes
the same numbers (as the kernels here do), this changes the speed, never the result; the
next region starts with the full team again.

``rendezvous`` starts a region safely whatever the threading layer does: if a thread of
the team has not started within ``START_TIMEOUT`` seconds (a layer may run the region's
iterations one after another on one thread, or the machine is overloaded), the team is
closed with the threads that have arrived and the latecomers leave. The work splits so
that every team size gives the same numbers, so a smaller team computes exactly what the
full one would.

``state`` is an int64 array of ``STATE_SIZE`` zeros, made ready for each region by
``start_region``: arrivals, the team that works, the barrier's count and its generation,
the long waits counted and whether to go on alone, each on a cache line of its own. The
last two outlive a region, so that the regions of one task (an epoch trained in slices)
share what they learnt about the cores; zero the whole array to forget it.
"""
import platform
import time

import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from fastnet._jit import kernel

#: Spins with ``pause`` before a waiting thread starts yielding its core.
SPINS = 4000
#: Seconds the first thread waits for the rest of the team before working alone.
START_TIMEOUT = 0.05
#: A wait at a barrier this long (nanoseconds) means a partner was off its core.
LONG_WAIT = 250_000
#: After this many long waits in a region, the first thread goes on alone.
LONG_WAITS = 4
#: Slots of the state array: 8 int64 (a cache line) apart.
ARRIVED, GO, COUNT, GENERATION, LONG, ALONE = 0, 8, 16, 24, 32, 40
STATE_SIZE = 48
#: What ``ARRIVED`` holds once the first thread has claimed the region for itself.
CLAIMED = -(1 << 40)

_X86 = platform.machine().lower() in ("x86_64", "amd64")


def _element_pointer(context, builder, array_type, array, index):
    array = context.make_array(array_type)(context, builder, array)
    return cgutils.get_item_pointer(context, builder, array_type, array, [index], wraparound=False)


@intrinsic
def atomic_add(typingctx, array, index, value):
    """``array[index] += value`` atomically; returns the value before."""
    def codegen(context, builder, signature, args):
        pointer = _element_pointer(context, builder, signature.args[0], args[0], args[1])
        return builder.atomic_rmw("add", pointer, args[2], "seq_cst")
    return types.int64(array, index, types.int64), codegen


@intrinsic
def compare_exchange(typingctx, array, index, expected, new):
    """Set ``array[index] = new`` if it holds ``expected``, atomically; True if it did."""
    def codegen(context, builder, signature, args):
        pointer = _element_pointer(context, builder, signature.args[0], args[0], args[1])
        pair = builder.cmpxchg(pointer, args[2], args[3], "seq_cst", "seq_cst")
        return builder.extract_value(pair, 1)
    return types.boolean(array, index, types.int64, types.int64), codegen


@intrinsic
def atomic_load(typingctx, array, index):
    """``array[index]``, read atomically (never from a stale register)."""
    def codegen(context, builder, signature, args):
        pointer = _element_pointer(context, builder, signature.args[0], args[0], args[1])
        return builder.load_atomic(pointer, "seq_cst", 8)
    return types.int64(array, index), codegen


@intrinsic
def atomic_store(typingctx, array, index, value):
    """``array[index] = value``, atomically."""
    def codegen(context, builder, signature, args):
        pointer = _element_pointer(context, builder, signature.args[0], args[0], args[1])
        builder.store_atomic(args[2], pointer, "seq_cst", 8)
        return context.get_dummy_value()
    return types.void(array, index, types.int64), codegen


@intrinsic
def _relax(typingctx):
    """One ``pause``: tells the core this is a spin-wait (x86); nothing elsewhere."""
    def codegen(context, builder, signature, args):
        if _X86:
            pause = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), []),
                                                   "llvm.x86.sse2.pause")
            builder.call(pause, [])
        return context.get_dummy_value()
    return types.void(), codegen


@intrinsic
def _yield(typingctx):
    """``sched_yield()``: let another runnable thread have this core."""
    def codegen(context, builder, signature, args):
        function = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.IntType(32), []),
                                                  "sched_yield")
        builder.call(function, [])
        return context.get_dummy_value()
    return types.void(), codegen


def start_region(state):
    """Ready ``state`` for a new region: arrivals, team and barrier anew; what the barrier
    learnt about busy cores (``LONG``, ``ALONE``) kept."""
    state[:LONG] = 0


@kernel()
def wait_a_little(spins):
    """One step of a wait that has lasted ``spins`` steps: pause, later yield the core."""
    if spins < SPINS:
        _relax()
    else:
        _yield()


@kernel()
def barrier(state, team):
    """Wait until all ``team`` threads have called it (once each, every time). Returns the
    team to go on with: ``team``, or 1 once waits have run long too often (then only the
    thread of index 0 goes on; every thread sees the same answer)."""
    if team == 1:
        return team
    generation = atomic_load(state, GENERATION)
    if atomic_add(state, COUNT, np.int64(1)) == team - 1:
        atomic_store(state, COUNT, np.int64(0))
        if atomic_load(state, LONG) >= LONG_WAITS:
            atomic_store(state, ALONE, np.int64(1))
        atomic_add(state, GENERATION, np.int64(1))
    else:
        started, spins = _clock_ns(), 0
        while atomic_load(state, GENERATION) == generation:
            wait_a_little(spins)
            spins += 1
        if _clock_ns() - started > LONG_WAIT:
            atomic_add(state, LONG, np.int64(1))
    return np.int64(1) if atomic_load(state, ALONE) else team


@intrinsic
def _clock_ns(typingctx):
    """Nanoseconds on the monotonic clock (``clock_gettime``), from some fixed point."""
    def codegen(context, builder, signature, args):
        i64 = ir.IntType(64)
        spec = cgutils.alloca_once(builder, ir.ArrayType(i64, 2))
        clock = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.IntType(32), [ir.IntType(32), i64.as_pointer()]),
            "clock_gettime")
        fields = builder.bitcast(spec, i64.as_pointer())
        builder.call(clock, [ir.IntType(32)(time.CLOCK_MONOTONIC), fields])
        seconds = builder.load(fields)
        nanoseconds = builder.load(builder.gep(fields, [ir.IntType(32)(1)]))
        return builder.add(builder.mul(seconds, i64(1_000_000_000)), nanoseconds)
    return types.int64(), codegen


@kernel()
def rendezvous(state, team):
    """Start a thread of a region meant for ``team`` threads: ``(working, index)``, the size
    of the team that will work and this thread's place in it (by arrival), or ``(0, 0)``
    if it came too late and must leave. The first to arrive waits for the others until
    ``START_TIMEOUT``, then closes the team with whoever has arrived."""
    if team == 1:
        return team, 0
    index = atomic_add(state, ARRIVED, np.int64(1))
    if atomic_load(state, ALONE):   # an earlier region of the task found the cores busy
        return (np.int64(1), index) if index == 0 else (np.int64(0), np.int64(0))
    if index < 0:
        return 0, 0
    if index == 0:
        deadline = _clock_ns() + np.int64(START_TIMEOUT * 1e9)
        spins = 0
        while True:
            arrived = atomic_load(state, ARRIVED)
            if arrived == team or (_clock_ns() > deadline
                                   and compare_exchange(state, ARRIVED, arrived, np.int64(CLAIMED))):
                atomic_store(state, GO, arrived)
                break
            wait_a_little(spins)
            spins += 1
    spins = 0
    while atomic_load(state, GO) == 0:
        wait_a_little(spins)
        spins += 1
    return atomic_load(state, GO), index
