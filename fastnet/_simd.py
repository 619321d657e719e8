"""Explicit vectors for the kernels whose loops LLVM cannot vectorise well by itself.

Numba hands LLVM scalar loops; LLVM vectorises the innermost one. The sparse first
layer's loops run over the non-zero pixels of a sample, and what should stay in
registers is a block of neurons: LLVM would keep the block in memory and reload it for
every pixel. ``Vector`` is a value of one 512-bit register's worth of ``float64`` (8) or
``float32`` (16) numbers, an LLVM vector in SSA form, so a handful of them live in
registers across a loop. On CPUs without 512-bit registers LLVM splits each operation
in two; results are the same.

    acc = vzero(W[0, 0])                 # a Vector of W's dtype, all zeros
    acc = vfma(vload(row, j), vsplat(x), acc)
    vstore(out, j, acc)

``vload``/``vstore`` read and write ``lanes`` consecutive elements of a contiguous 1-D
array from index ``j`` (no bounds check: the caller pads its rows to whole vectors);
``get``/``put`` read and write one element so, for loops over computed indices.
"""
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, models, overload, register_model

#: Bytes in one vector: an AVX-512 register.
WIDTH = 64


class Vector(types.Type):
    """``lanes`` numbers of ``dtype`` (float32 or float64) in one register."""

    def __init__(self, dtype):
        self.dtype = dtype
        self.lanes = WIDTH // (dtype.bitwidth // 8)
        super().__init__(name=f"Vector({dtype}x{self.lanes})")


@register_model(Vector)
class _VectorModel(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):
        element = dmm.lookup(fe_type.dtype).get_value_type()
        super().__init__(dmm, fe_type, ir.VectorType(element, fe_type.lanes))


def _pointer(context, builder, array_type, array, index, vector_type):
    data = context.make_array(array_type)(context, builder, array).data
    return builder.bitcast(builder.gep(data, [index]), vector_type.as_pointer())


@intrinsic
def vload(typingctx, array, index):
    """The vector of ``array[index:index + lanes]``."""
    vector = Vector(array.dtype)

    def codegen(context, builder, signature, args):
        llvm_type = context.get_value_type(vector)
        pointer = _pointer(context, builder, signature.args[0], args[0], args[1], llvm_type)
        return builder.load(pointer, align=array.dtype.bitwidth // 8)
    return vector(array, types.intp), codegen


@intrinsic
def vstore(typingctx, array, index, value):
    """``array[index:index + lanes] = value``."""
    def codegen(context, builder, signature, args):
        pointer = _pointer(context, builder, signature.args[0], args[0], args[1], args[2].type)
        builder.store(args[2], pointer, align=array.dtype.bitwidth // 8)
        return context.get_dummy_value()
    return types.void(array, types.intp, value), codegen


@intrinsic
def get(typingctx, array, index):
    """``array[index]`` for an index known to be in bounds: no bounds check and, unlike
    Numba's indexing by a computed integer, no test for a negative index (whose code kept
    a counting loop's variables from fitting in registers)."""
    def codegen(context, builder, signature, args):
        llvm_type = context.get_value_type(array.dtype)
        pointer = _pointer(context, builder, signature.args[0], args[0], args[1], llvm_type)
        return builder.load(pointer)
    return array.dtype(array, types.intp), codegen


@intrinsic
def put(typingctx, array, index, value):
    """``array[index] = value`` for an index known to be in bounds (see ``get``)."""
    def codegen(context, builder, signature, args):
        llvm_type = context.get_value_type(array.dtype)
        item = context.cast(builder, args[2], signature.args[2], array.dtype)
        pointer = _pointer(context, builder, signature.args[0], args[0], args[1], llvm_type)
        builder.store(item, pointer)
        return context.get_dummy_value()
    return types.void(array, types.intp, value), codegen


@intrinsic
def vsplat(typingctx, scalar):
    """A vector with every lane ``scalar`` (a float32 or float64)."""
    vector = Vector(scalar)

    def codegen(context, builder, signature, args):
        llvm_type = context.get_value_type(vector)
        one = builder.insert_element(ir.Constant(llvm_type, ir.Undefined), args[0],
                                     ir.IntType(32)(0))
        mask = ir.Constant(ir.VectorType(ir.IntType(32), vector.lanes), [0] * vector.lanes)
        return builder.shuffle_vector(one, ir.Constant(llvm_type, ir.Undefined), mask)
    return vector(scalar), codegen


@intrinsic
def vzero(typingctx, like):
    """A vector of zeros of ``like``'s type (a float32 or float64 scalar)."""
    vector = Vector(like)

    def codegen(context, builder, signature, args):
        return ir.Constant(context.get_value_type(vector), None)
    return vector(like), codegen


@intrinsic
def vfma(typingctx, a, b, c):
    """``a * b + c``, lane by lane, in one fused multiply-add."""
    if not (isinstance(a, Vector) and a == b == c):
        return None

    def codegen(context, builder, signature, args):
        return _llvm_call(builder, "fma", args[0].type, a.dtype.bitwidth, args)
    return a(a, b, c), codegen


@intrinsic
def vmul(typingctx, a, b):
    """``a * b``, lane by lane."""
    if not (isinstance(a, Vector) and a == b):
        return None

    def codegen(context, builder, signature, args):
        return builder.fmul(*args)
    return a(a, b), codegen


@intrinsic
def vadd(typingctx, a, b):
    """``a + b``, lane by lane."""
    if not (isinstance(a, Vector) and a == b):
        return None

    def codegen(context, builder, signature, args):
        return builder.fadd(*args)
    return a(a, b), codegen


@intrinsic
def vsum(typingctx, a):
    """The sum of ``a``'s lanes (in a tree order fixed by the lane count)."""
    if not isinstance(a, Vector):
        return None

    def codegen(context, builder, signature, args):
        value, count = args[0], a.lanes
        while count > 1:   # halve: add the upper half onto the lower half
            count //= 2
            low = builder.shuffle_vector(value, value, ir.Constant(
                ir.VectorType(ir.IntType(32), count), list(range(count))))
            high = builder.shuffle_vector(value, value, ir.Constant(
                ir.VectorType(ir.IntType(32), count), list(range(count, 2 * count))))
            value = builder.fadd(low, high)
        return builder.extract_element(value, ir.IntType(32)(0))
    return a.dtype(a), codegen


def lanes_of(array):
    """How many of ``array``'s numbers one vector holds, as a compile-time constant."""


@overload(lanes_of)
def _lanes_of(array):
    count = WIDTH // (array.dtype.bitwidth // 8)
    return lambda array: count


@intrinsic
def prefetch(typingctx, array, index):
    """Ask for the cache line holding ``array[index]`` to be fetched into the caches (a hint:
    it never faults and changes no result)."""
    def codegen(context, builder, signature, args):
        data = context.make_array(signature.args[0])(context, builder, args[0]).data
        pointer = builder.bitcast(builder.gep(data, [args[1]]), ir.IntType(8).as_pointer())
        i32 = ir.IntType(32)
        hint = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [pointer.type, i32, i32, i32]),
            "llvm.prefetch.p0i8")
        builder.call(hint, [pointer, i32(0), i32(3), i32(1)])   # read, keep in all caches, data
        return context.get_dummy_value()
    return types.void(array, types.intp), codegen


def _llvm_call(builder, name, vector_type, bits, values):
    """Call the LLVM intrinsic ``llvm.NAME`` on vectors of ``bits``-bit floats."""
    function = cgutils.get_or_insert_function(
        builder.module, ir.FunctionType(vector_type, [vector_type] * len(values)),
        f"llvm.{name}.v{vector_type.count}f{bits}")
    return builder.call(function, values)


@intrinsic
def vfloor(typingctx, a):
    """Lane by lane, rounded down to an integer."""
    if not isinstance(a, Vector):
        return None

    def codegen(context, builder, signature, args):
        return _llvm_call(builder, "floor", args[0].type, a.dtype.bitwidth, args)
    return a(a), codegen


@intrinsic
def vmax(typingctx, a, b):
    """Lane by lane, the larger."""
    if not (isinstance(a, Vector) and a == b):
        return None

    def codegen(context, builder, signature, args):
        return _llvm_call(builder, "maxnum", args[0].type, a.dtype.bitwidth, args)
    return a(a, b), codegen


@intrinsic
def vmin(typingctx, a, b):
    """Lane by lane, the smaller."""
    if not (isinstance(a, Vector) and a == b):
        return None

    def codegen(context, builder, signature, args):
        return _llvm_call(builder, "minnum", args[0].type, a.dtype.bitwidth, args)
    return a(a, b), codegen


@intrinsic
def vdiv(typingctx, a, b):
    """``a / b``, lane by lane, correctly rounded."""
    if not (isinstance(a, Vector) and a == b):
        return None

    def codegen(context, builder, signature, args):
        return builder.fdiv(*args)
    return a(a, b), codegen


@intrinsic
def vscale2(typingctx, x, n):
    """``x * 2**n`` lane by lane, for integral ``n`` with ``2**n`` a normal number, by
    building the bits of ``2**n``."""
    if not (isinstance(x, Vector) and x == n):
        return None
    width = x.dtype.bitwidth
    mantissa, bias = {64: (52, 1023), 32: (23, 127)}[width]

    def codegen(context, builder, signature, args):
        value, exponent = args
        integers = ir.VectorType(ir.IntType(width), x.lanes)
        splat = lambda number: ir.Constant(integers, [number] * x.lanes)
        bits = builder.shl(builder.add(builder.fptosi(exponent, integers), splat(bias)), splat(mantissa))
        return builder.fmul(value, builder.bitcast(bits, value.type))
    return x(x, n), codegen
