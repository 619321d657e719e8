"""Flush subnormal numbers to zero while a kernel runs.

Saturated sigmoids make float32 activations and deltas subnormal (below ~1.2e-38), and
x86 cores take a slow microcode path for every operation that touches one: a float32
epoch ran slower than a float64 one. Kernels call ``flush_subnormals()`` on entry (on
every thread that does work) and ``restore(word)`` on exit, so the caller's
floating-point environment is left as it was. Elsewhere both are no-ops.
"""
import platform

import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from fastnet._jit import kernel

#: MXCSR bits: flush-to-zero (results) and denormals-are-zero (inputs).
FTZ_DAZ = 0x8040


def _mxcsr_call(builder, name, slot):
    pointer = ir.IntType(8).as_pointer()
    fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), [pointer]), name)
    builder.call(fn, [builder.bitcast(slot, pointer)])


@intrinsic
def _read_mxcsr(typingctx):
    def codegen(context, builder, signature, args):
        slot = cgutils.alloca_once(builder, ir.IntType(32))
        _mxcsr_call(builder, "llvm.x86.sse.stmxcsr", slot)
        return builder.load(slot)
    return types.uint32(), codegen


@intrinsic
def _write_mxcsr(typingctx, word):
    def codegen(context, builder, signature, args):
        slot = cgutils.alloca_once_value(builder, args[0])
        _mxcsr_call(builder, "llvm.x86.sse.ldmxcsr", slot)
        return context.get_dummy_value()
    return types.void(types.uint32), codegen


if platform.machine().lower() in ("x86_64", "amd64"):
    @kernel()
    def flush_subnormals():
        """Turn on flush-to-zero on this thread; returns the word ``restore`` needs."""
        word = _read_mxcsr()
        _write_mxcsr(word | np.uint32(FTZ_DAZ))
        return word

    @kernel()
    def restore(word):
        """Put back the control word ``flush_subnormals`` returned."""
        _write_mxcsr(word)
else:
    @kernel()
    def flush_subnormals():
        """No-op: this platform keeps its default floating-point environment."""
        return np.uint32(0)

    @kernel()
    def restore(word):
        """No-op counterpart of ``flush_subnormals``."""
