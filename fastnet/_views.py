"""Views of arrays made inside the kernels, without Numba's ``reshape``.

Numba compiles ``reshape`` with a helper whose environment lives in ``numba.np.arrayobj``:
a process that loads from the cache a kernel using it imports that module (with the
string and hashing modules it needs), 35 ms before the first epoch. These are the views
``reshape`` gives of C-contiguous arrays, made from the array's own pointer.
"""
from numba import types
from numba.core import cgutils
from numba.core.imputils import impl_ret_borrowed
from numba.extending import intrinsic


def _view(context, builder, source_type, source, view_type, shape):
    """The array of ``view_type`` over ``source``'s data, C-contiguous with ``shape``."""
    array = context.make_array(source_type)(context, builder, source)
    view = context.make_array(view_type)(context, builder)
    strides, stride = [], array.itemsize
    for size in reversed(shape):
        strides.insert(0, stride)
        stride = builder.mul(stride, size)
    context.populate_array(view, data=array.data, shape=cgutils.pack_array(builder, shape),
                           strides=cgutils.pack_array(builder, strides),
                           itemsize=array.itemsize, meminfo=array.meminfo, parent=array.parent)
    return impl_ret_borrowed(context, builder, view_type, view._getvalue())


@intrinsic
def flat(typingctx, array):
    """The C-contiguous ``array`` as a vector of its elements: ``array.reshape(-1)``."""
    if not (isinstance(array, types.Array) and array.layout == "C"):
        return None
    view_type = array.copy(ndim=1)

    def codegen(context, builder, signature, args):
        size = context.make_array(signature.args[0])(context, builder, args[0]).nitems
        return _view(context, builder, signature.args[0], args[0], view_type, [size])
    return view_type(array), codegen


@intrinsic
def matrix(typingctx, vector, rows, cols):
    """The C-contiguous ``vector`` of ``rows * cols`` elements as a ``(rows, cols)``
    matrix: ``vector.reshape((rows, cols))``, unchecked (as Numba's indexing is)."""
    if not (isinstance(vector, types.Array) and vector.ndim == 1 and vector.layout == "C"):
        return None
    view_type = vector.copy(ndim=2)

    def codegen(context, builder, signature, args):
        shape = [context.cast(builder, value, kind, types.intp)
                 for value, kind in zip(args[1:], signature.args[1:])]
        return _view(context, builder, signature.args[0], args[0], view_type, shape)
    return view_type(vector, rows, cols), codegen
