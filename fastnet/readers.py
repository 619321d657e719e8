"""Bounded readers for data files: IDX (gzip'd or raw), pickles of NumPy arrays, .npz archives.

Each reader checks the sizes a file's headers claim against a limit before it allocates or
decompresses the data, and turns every failure into a FastnetFileError naming the file.
"""

import codecs
import hashlib
import io
import pickle
import tokenize
import zipfile
import zlib
from contextlib import contextmanager
from math import prod

import numpy as np

from .errors import FastnetFileError

try:  # NumPy 2
    from numpy._core import multiarray as _multiarray, numeric as _numeric
except ImportError:  # NumPy 1
    from numpy.core import multiarray as _multiarray, numeric as _numeric

try:  # ISA-L inflates gzip in two thirds of zlib's time (MNIST's training images: 0.09 s against 0.13)
    from isal import isal_zlib as _inflating
except ImportError:  # without the fast extra: zlib, the same bytes and checks
    _inflating = zlib

MAX_BYTES = 1 << 30  # default limit on the data one reader returns; callers may raise it

_GZIP_MAGIC = b"\x1f\x8b"
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_MAX_NDIM = 32
_CHUNK = 1 << 18
#: Most bytes of a gzip'd file read at a time (other threads run while a piece inflates).
_COMPRESSED_PIECE = 1 << 20
#: Most bytes one call inflates: a larger piece is new memory every time (page faults), and
#: reading the chapter's mnist.pkl.gz took 8% longer without the bound; a smaller one takes
#: Python's lock back more often.
_INFLATED_PIECE = 1 << 22
_NPZ_COMPRESSIONS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflated"}
#: By .npy format version: NumPy's header reader, and the bytes that give the header's length.
_NPY_HEADERS = {(1, 0): (np.lib.format.read_array_header_1_0, 2),
                (2, 0): (np.lib.format.read_array_header_2_0, 4)}
#: The longest header read (NumPy reads a header whole before its own check, and a 2.0
#: header may claim 4 GiB).
_MAX_NPY_HEADER = 1 << 16


def _plain_dtype(dtype, where):
    """``dtype`` if its items are plain numbers or text of some size: no Python objects
    (a pickle's object array can crash NumPy), no empty items (any count of them fits in
    no bytes)."""
    if not isinstance(dtype, np.dtype) or dtype.hasobject or dtype.itemsize == 0:
        raise pickle.UnpicklingError(f"refusing {where} of dtype {dtype!r}: fastnet reads "
                                     f"arrays of numbers")
    return dtype


class _Unpickled(np.ndarray):
    """An array as a pickle builds it: empty, then its state set. The state must hold a
    plain dtype and its data as bytes (which the bounded stream has already read)."""

    def __setstate__(self, state):
        _plain_dtype(state[-3], "an array")
        if not isinstance(state[-1], (bytes, bytearray, str)):
            raise pickle.UnpicklingError("refusing an array whose data is not bytes")
        super().__setstate__(state)


def _reconstruct(subtype, shape, dtype):
    """NumPy's pickled arrays start empty (shape ``(0,)``); one that would not is refused
    (``_reconstruct`` allocates any shape it is given, with no data behind it)."""
    if subtype is not np.ndarray or prod(shape) != 0:
        raise pickle.UnpicklingError(f"refusing an array made as {subtype!r} of shape {shape!r}")
    return _multiarray._reconstruct(_Unpickled, shape, dtype)


def _scalar(dtype, *data):
    return _multiarray.scalar(_plain_dtype(dtype, "a scalar"), *data)


def _frombuffer(buffer, dtype, shape, order):
    return _numeric._frombuffer(buffer, _plain_dtype(dtype, "an array"), shape, order)


def _plain(value):
    """What a pickle held, its arrays plain ``ndarray``s again."""
    if isinstance(value, _Unpickled):
        return value.view(np.ndarray)
    if isinstance(value, (tuple, list)):
        return type(value)(_plain(each) for each in value)
    if isinstance(value, dict):
        return {key: _plain(each) for key, each in value.items()}
    return value


_NUMPY_HELPERS = {
    ("multiarray", "_reconstruct"): _reconstruct,
    ("multiarray", "scalar"): _scalar,
    ("numeric", "_frombuffer"): _frombuffer,
}
# Everything a pickle of NumPy arrays may name, under NumPy 1 and NumPy 2 module names.
_PICKLE_GLOBALS = {
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): codecs.encode,  # how Python 3 writes bytes at protocol 2
    **{(f"{core}.{module}", name): helper
       for core in ("numpy.core", "numpy._core")
       for (module, name), helper in _NUMPY_HELPERS.items()},
}


def read_idx(path, sha256=None, shape=None, max_bytes=MAX_BYTES):
    """The array in the IDX file at `path` (gzip'd or raw), in native byte order.

    With `sha256` (hex), the decompressed bytes must have that digest; with `shape`, the
    header must claim exactly that shape. A header claiming more than `max_bytes` of data
    is refused before any data is read.
    """
    with _read_errors(path, "cannot read it"), _open(path) as stream:
        header, dtype, dims = _read_idx_header(path, stream)
        if shape is not None and dims != tuple(shape):
            raise FastnetFileError(f"{path}: its IDX header claims shape {dims}, expected {tuple(shape)}")
        size = dtype.itemsize * prod(dims)
        promise = f"its header promises {size} bytes of {dtype} data for shape {dims}"
        _check_limit(path, promise, size, max_bytes)
        data = _read_at_most(stream, size + 1)
    if len(data) != size:
        found = f"only {len(data)}" if len(data) < size else "more"
        raise FastnetFileError(f"{path}: {promise}, the file holds {found}: it is truncated or corrupt")
    if sha256 is not None:
        digest = hashlib.sha256(header)
        digest.update(data)
        _check_digest(path, digest.hexdigest(), sha256)
    try:
        array = np.frombuffer(data, dtype).reshape(dims)
    except ValueError as error:  # a zero dimension beside absurdly large ones
        raise FastnetFileError(f"{path}: impossible IDX shape {dims}: {error}") from None
    return array.astype(dtype.newbyteorder("="), copy=False)


def read_pickle(path, max_bytes=MAX_BYTES):
    """What the pickle at `path` (gzip'd or raw) holds, admitting NumPy arrays only and
    reading at most `max_bytes` of (decompressed) pickle."""
    try:
        with _open(path) as stream:
            return _plain(_ArrayUnpickler(_Limited(stream, max_bytes), encoding="latin1").load())
    except Exception as error:  # whatever malformed input makes pickle or NumPy raise
        raise FastnetFileError(f"{path}: cannot unpickle it: {error}") from error


def read_npz(path, keys, max_bytes=MAX_BYTES, optional=()):
    """The arrays named `keys` in the .npz archive at `path`, read without pickle; None
    for each of the `optional` keys the archive lacks (a missing other key is an error).

    Each member's .npy header is checked first: an array taking the arrays read so far
    past `max_bytes` (the bound is the whole archive's), or one larger than its zip entry
    holds, is refused before its data is read.
    """
    if not zipfile.is_zipfile(path):
        raise FastnetFileError(f"{path}: not a .npz archive (not a readable zip file)")
    with _read_errors(path, "cannot read it as a .npz archive"), zipfile.ZipFile(path) as archive:
        members = {info.filename.removesuffix(".npy"): info for info in archive.infolist()}
        missing = [key for key in keys if key not in members and key not in optional]
        if missing:
            raise FastnetFileError(f"{path}: lacks arrays {missing}; it holds {list(members)}")
        arrays, used = [], 0
        for key in keys:
            array = (_read_npy(f"{path}: {members[key].filename}", archive, members[key],
                               max_bytes, used) if key in members else None)
            used += 0 if array is None else array.nbytes
            arrays.append(array)
        return arrays


def _read_npy(where, archive, info, max_bytes, used):
    """The array in the .npy member `info` of `archive`, its header checked before its data
    (with `used` bytes of the archive's arrays already read)."""
    if info.flag_bits & 0x1:
        raise FastnetFileError(f"{where}: the member is encrypted; fastnet reads plain archives")
    if info.compress_type not in _NPZ_COMPRESSIONS:
        raise FastnetFileError(
            f"{where}: compression method {info.compress_type}; fastnet reads "
            f"{' or '.join(_NPZ_COMPRESSIONS.values())} members (what numpy.savez writes)")
    with archive.open(info) as member:
        version = np.lib.format.read_magic(member)
        if version not in _NPY_HEADERS:
            raise FastnetFileError(f"{where}: .npy format version {version}, expected 1.0 or 2.0")
        read_header, length_bytes = _NPY_HEADERS[version]
        start = member.tell()
        length = int.from_bytes(member.read(length_bytes), "little")
        if length > _MAX_NPY_HEADER:
            raise FastnetFileError(f"{where}: its .npy header claims {length} bytes; a header "
                                   f"holds at most {_MAX_NPY_HEADER}")
        member.seek(start)
        with _read_errors(where, "cannot read its .npy header"):
            shape, _, dtype = read_header(member)
        if dtype.itemsize == 0:
            raise FastnetFileError(f"{where}: its header claims items of {dtype}, of no bytes; "
                                   f"fastnet reads arrays of numbers")
        if min(shape, default=0) < 0:
            raise FastnetFileError(f"{where}: its header claims the impossible shape {shape}")
        if not dtype.hasobject:  # object arrays hold pickles: read_array refuses them below
            size = dtype.itemsize * prod(shape)
            promise = f"its header promises {size} bytes of {dtype} data for shape {shape}"
            if used:
                promise += f", beside the {used} bytes of the arrays before it"
            _check_limit(where, promise, used + size, max_bytes)
            if member.tell() + size != info.file_size:
                raise FastnetFileError(f"{where}: {promise}, but the member holds "
                                       f"{info.file_size - member.tell()}: it is truncated or corrupt")
        member.seek(0)
        return np.lib.format.read_array(member, allow_pickle=False)


class _ArrayUnpickler(pickle.Unpickler):
    """An unpickler that can build NumPy arrays and nothing else."""

    def find_class(self, module, name):
        try:
            return _PICKLE_GLOBALS[module, name]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refusing to unpickle {module}.{name}: only NumPy arrays are allowed") from None


class _Limited:
    """A binary stream that yields at most `limit` bytes: a request past it fails unread."""

    def __init__(self, stream, limit):
        self._stream, self._left, self._limit = stream, limit, limit

    def read(self, size=-1):
        return self._counted(self._stream.read(self._bounded(size)))

    def readline(self, size=-1):
        return self._counted(self._stream.readline(self._bounded(size)))

    def readinto(self, buffer):
        with memoryview(buffer) as view:
            return self._counted(self._stream.readinto(view[:self._bounded(len(view))]))

    def _bounded(self, size):
        """`size` if that much is left; for -1 ("all"), one byte more than is left."""
        if size is None or size < 0:
            return self._left + 1
        if size > self._left:
            self._over()
        return size

    def _counted(self, data):
        """`data` (or a count of bytes read), taken from what is left."""
        self._left -= data if isinstance(data, int) else len(data)
        if self._left < 0:
            self._over()
        return data

    def _over(self):
        raise FastnetFileError(f"it is longer than {_limit(self._limit)}")


@contextmanager
def _read_errors(path, doing):
    """Turns what reading a damaged file raises into a FastnetFileError naming `path`."""
    try:
        yield
    except FastnetFileError:
        raise
    except (OSError, EOFError, ValueError, OverflowError, NotImplementedError, zipfile.BadZipFile,
            zlib.error, _inflating.error, SyntaxError, tokenize.TokenError) as error:
        # NotImplementedError: zip features zipfile lacks; SyntaxError and TokenError: a
        # .npy header NumPy cannot parse
        reason = str(error) or ("it ends too soon" if isinstance(error, EOFError) else type(error).__name__)
        raise FastnetFileError(f"{path}: {doing}: {reason}") from error


def _open(path):
    """`path` opened for binary reading, decompressed when it starts with the gzip magic."""
    file = open(path, "rb")
    try:
        gzipped = file.read(2) == _GZIP_MAGIC
        file.seek(0)
    except BaseException:
        file.close()
        raise
    return io.BufferedReader(_Gunzip(file)) if gzipped else file


class _Gunzip(io.RawIOBase):
    """The decompressed bytes of the gzip'd `file`, its members one after the other (zero
    bytes between them skipped), as Python's gzip module reads them. A large read is
    inflated into the caller's buffer by calls of up to 4 MiB each (ISA-L's where the fast
    extra is installed, else zlib's), from pieces of the file that double up to a MiB (so a
    small file takes little memory); both let other threads run meanwhile. The gzip module takes Python's lock back every 8 KiB of input,
    and beside a thread running Python each time waits its turn."""

    def __init__(self, file):
        self._file = file
        self._inflater = None   # None between members
        self._input = b""
        self._piece = min(1 << 12, _COMPRESSED_PIECE)

    def readable(self):
        return True

    def readinto(self, buffer):
        with memoryview(buffer) as view, view.cast("B") as out:
            filled = 0
            while filled < len(out) and self._ready():
                piece = self._inflater.decompress(self._input, min(len(out) - filled,
                                                                   _INFLATED_PIECE))
                out[filled:filled + len(piece)] = piece
                filled += len(piece)
                if self._inflater.eof:
                    self._input, self._inflater = self._inflater.unused_data, None
                else:
                    self._input = self._inflater.unconsumed_tail
            return filled

    def _ready(self):
        """Whether there is input to inflate and an inflater for it (a new one where a
        member starts, past any zero bytes), reading the file as needed; False at its end.
        EOFError if the file ends inside a member."""
        while not self._input or self._inflater is None:
            if not self._input:
                self._input = self._file.read(self._piece)
                self._piece = min(2 * self._piece, _COMPRESSED_PIECE)
                if not self._input:
                    if self._inflater is not None:
                        raise EOFError("compressed file ended before the end-of-stream "
                                       "marker was reached")
                    return False
            if self._inflater is None:
                self._input = self._input.lstrip(b"\0")
                if self._input:
                    self._inflater = _inflating.decompressobj(16 + zlib.MAX_WBITS)   # gzip's format
        return True

    def close(self):
        self._file.close()
        super().close()


def _read_at_most(stream, limit):
    """Up to `limit` bytes of `stream`, read in chunks that double from `_CHUNK` up to
    `_INFLATED_PIECE`, so that memory grows only with what is there and a large read
    takes few calls."""
    data = bytearray()
    while len(data) < limit:
        chunk = stream.read(min(max(_CHUNK, len(data)), _INFLATED_PIECE, limit - len(data)))
        if not chunk:
            break
        data += chunk
    return data


def _read_idx_header(path, stream):
    """(raw header bytes, big-endian dtype, dims) from the start of an IDX stream."""
    magic = _read_at_most(stream, 4)
    if len(magic) < 4 or magic[:2] != b"\0\0":
        raise FastnetFileError(
            f"{path}: not an IDX file: it starts with {bytes(magic[:4]).hex(' ') or 'nothing'}, "
            "expected 00 00 <type> <ndim>")
    code, ndim = magic[2], magic[3]
    if code not in _IDX_DTYPES:
        known = " ".join(f"{c:02x}" for c in _IDX_DTYPES)
        raise FastnetFileError(f"{path}: unknown IDX type code {code:02x}, expected one of {known}")
    if not 1 <= ndim <= _MAX_NDIM:
        raise FastnetFileError(f"{path}: IDX header claims {ndim} dimensions, expected 1..{_MAX_NDIM}")
    dims = _read_at_most(stream, 4 * ndim)
    if len(dims) < 4 * ndim:
        raise FastnetFileError(f"{path}: truncated IDX header: {ndim} dimensions need {4 * ndim} bytes")
    shape = tuple(int(dim) for dim in np.frombuffer(dims, ">u4"))
    return magic + dims, np.dtype(_IDX_DTYPES[code]), shape


def _check_limit(where, promise, size, max_bytes):
    if size > max_bytes:
        raise FastnetFileError(f"{where}: {promise}, over {_limit(max_bytes)}")


def _limit(max_bytes):
    return f"the limit of {max_bytes} bytes (max_bytes={max_bytes}; raise it to read a larger file)"


def _check_digest(path, actual, expected):
    if actual != expected:
        raise FastnetFileError(
            f"{path}: SHA-256 of the decompressed bytes is {actual}, expected {expected}: "
            "the file is damaged or not the official one; delete it and download it again")
