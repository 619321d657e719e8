"""Ask LLVM for the widest vectors the CPU has, one function at a time.

LLVM's tuning for recent Intel cores (Ice Lake, Rocket Lake, Sapphire Rapids) prefers
256-bit vectors even where AVX-512 is present, so Numba's loops use half the register
width OpenBLAS uses. ``wide_vectors()`` marks the function that calls it with LLVM's
``"prefer-vector-width"="512"`` attribute: its loops are vectorised with 512-bit registers
where the CPU has them, and as before where it does not. It emits no code, and unlike
Numba's process-wide ``NUMBA_CPU_FEATURES`` it changes nothing outside fastnet's kernels.
"""
from numba import types
from numba.extending import intrinsic

#: LLVM's per-function attribute; llvmlite's IR builder only knows keyword attributes.
PREFER_512 = '"prefer-vector-width"="512"'


@intrinsic
def wide_vectors(typingctx):
    def codegen(context, builder, signature, args):
        set.add(builder.function.attributes, PREFER_512)
        return context.get_dummy_value()
    return types.void(), codegen
