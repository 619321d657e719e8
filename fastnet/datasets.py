"""Data files: read IDX (gzip'd or raw), the chapter's mnist.pkl.gz and Keras' mnist.npz;
find MNIST, download the official files and verify them."""

import codecs
import gzip
import hashlib
import os
import pickle
import shutil
import tempfile
import zipfile
import zlib
from http.client import HTTPException
from math import prod
from pathlib import Path
from urllib.request import urlopen

import numpy as np

from .errors import FastnetFileError

try:  # NumPy 2
    from numpy._core import multiarray as _multiarray, numeric as _numeric
except ImportError:  # NumPy 1
    from numpy.core import multiarray as _multiarray, numeric as _numeric

# The official files, in the order train images, train labels, test images, test labels,
# with the SHA-256 of their decompressed bytes (the .gz bytes vary with the compressor).
MNIST_FILES = {
    "train-images-idx3-ubyte.gz": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte.gz": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte.gz": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte.gz": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
TIMEOUT = 10  # seconds a mirror may stay silent before we give up on it
DEFAULT_FOLDER = "data"
ALTERNATIVES = ("mnist.pkl.gz", "mnist.npz")  # accepted in place of the four IDX files
FILE_FORMATS = (".pkl.gz", ".pkl", ".npz")

_GZIP_MAGIC = b"\x1f\x8b"
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_MAX_NDIM = 32
_CHUNK = 1 << 18

_NUMPY_HELPERS = {
    ("multiarray", "_reconstruct"): _multiarray._reconstruct,
    ("multiarray", "scalar"): _multiarray.scalar,
    ("numeric", "_frombuffer"): _numeric._frombuffer,
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


# ---------------------------------------------------------------- readers

def read_idx(path, sha256=None):
    """The array in the IDX file at `path` (gzip'd or raw), in native byte order.

    With `sha256` (hex), the decompressed bytes must have that digest.
    """
    try:
        with _open(path) as stream:
            header, dtype, dims = _read_idx_header(path, stream)
            size = dtype.itemsize * prod(dims)
            data = _read_at_most(stream, size + 1)
    except (OSError, EOFError, zlib.error) as error:
        raise FastnetFileError(f"{path}: cannot read it: {error}") from error
    if len(data) != size:
        found = f"only {len(data)}" if len(data) < size else "more"
        raise FastnetFileError(
            f"{path}: its header promises {size} bytes of {dtype} data for shape {dims}, "
            f"the file holds {found}: it is truncated or corrupt")
    if sha256 is not None:
        digest = hashlib.sha256(header)
        digest.update(data)
        _check_digest(path, digest.hexdigest(), sha256)
    try:
        array = np.frombuffer(data, dtype).reshape(dims)
    except ValueError as error:  # a zero dimension beside absurdly large ones
        raise FastnetFileError(f"{path}: impossible IDX shape {dims}: {error}") from None
    return array.astype(dtype.newbyteorder("="), copy=False)


def read_mnist_idx(folder):
    """The four official MNIST arrays in `folder`, in MNIST_FILES order, each verified."""
    return [read_idx(Path(folder) / name, digest) for name, digest in MNIST_FILES.items()]


def read_pickle(path):
    """What the pickle at `path` (gzip'd or raw) holds, admitting NumPy arrays only."""
    try:
        with _open(path) as stream:
            return _ArrayUnpickler(stream, encoding="latin1").load()
    except Exception as error:  # whatever malformed input makes pickle or NumPy raise
        raise FastnetFileError(f"{path}: cannot unpickle it: {error}") from error


def read_npz(path, keys):
    """The arrays named `keys` in the .npz archive at `path`, loaded without pickle."""
    if not zipfile.is_zipfile(path):
        raise FastnetFileError(f"{path}: not a .npz archive (not a readable zip file)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in keys if key in archive.files}
            held = archive.files
    except (OSError, EOFError, ValueError, zipfile.BadZipFile, zlib.error) as error:
        raise FastnetFileError(f"{path}: cannot read it as a .npz archive: {error}") from error
    missing = [key for key in keys if key not in arrays]
    if missing:
        raise FastnetFileError(f"{path}: lacks arrays {missing}; it holds {held}")
    return [arrays[key] for key in keys]


class _ArrayUnpickler(pickle.Unpickler):
    """An unpickler that can build NumPy arrays and nothing else."""

    def find_class(self, module, name):
        try:
            return _PICKLE_GLOBALS[module, name]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refusing to unpickle {module}.{name}: only NumPy arrays are allowed") from None


def _open(path):
    """`path` opened for binary reading, decompressed when it starts with the gzip magic."""
    with open(path, "rb") as file:
        gzipped = file.read(2) == _GZIP_MAGIC
    return gzip.open(path) if gzipped else open(path, "rb")


def _read_at_most(stream, limit):
    """Up to `limit` bytes of `stream`, read in chunks so memory grows only with what is there."""
    data = bytearray()
    while len(data) < limit:
        chunk = stream.read(min(_CHUNK, limit - len(data)))
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


def _check_digest(path, actual, expected):
    if actual != expected:
        raise FastnetFileError(
            f"{path}: SHA-256 of the decompressed bytes is {actual}, expected {expected}: "
            "the file is damaged or not the official one; delete it and download it again")


# ---------------------------------------------------------------- find and download

def data_location(path=None):
    """Where MNIST should be: `path`, else $FASTNET_DATA, else ./data."""
    return Path(path if path is not None else os.environ.get("FASTNET_DATA") or DEFAULT_FOLDER)


def find_mnist(path=None, download=True):
    """The MNIST source: a folder holding the four IDX files, or a .pkl.gz / .npz file.

    `path` (else $FASTNET_DATA, else ./data) names a folder or such a file. A folder that
    holds neither the four IDX files nor mnist.pkl.gz / mnist.npz gets the missing IDX
    files downloaded into it (unless `download` is false).
    """
    where = data_location(path)
    if where.name.endswith(FILE_FORMATS):
        if not where.is_file():
            raise FastnetFileError(f"{where}: no such file")
        return where
    if where.is_file():
        raise FastnetFileError(
            f"{where}: expected a folder holding the four MNIST IDX files, "
            f"or a file ending in {' / '.join(FILE_FORMATS)}")
    missing = [name for name in MNIST_FILES if not (where / name).is_file()]
    if not missing:
        return where
    for alternative in ALTERNATIVES:
        if (where / alternative).is_file():
            return where / alternative
    if not download:
        raise FastnetFileError(_not_found_message(where, ["downloading is off (download=False)"]))
    download_mnist(where, missing)
    return where


def download_mnist(folder, names=tuple(MNIST_FILES)):
    """Download the official files `names` into `folder`, each verified before it lands."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        reason = f"cannot create the folder: {error}"
        raise FastnetFileError(_not_found_message(folder, [reason])) from error
    for name in names:
        failures = []
        for mirror in MIRRORS:
            try:
                _fetch(mirror + name, folder / name)
                break
            except (OSError, HTTPException, ValueError) as error:  # incl. URLError, timeouts, bad digest
                failures.append(f"{mirror}{name}: {error}")
        else:
            raise FastnetFileError(_not_found_message(folder, failures))


def _fetch(url, target):
    """Download `url` to `target` through a temporary file, renamed into place once verified."""
    handle, part = tempfile.mkstemp(dir=target.parent, prefix=target.name + ".", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out, urlopen(url, timeout=TIMEOUT) as response:
            shutil.copyfileobj(response, out)
        read_idx(part, MNIST_FILES[target.name])
    except BaseException:
        os.remove(part)
        raise
    os.replace(part, target)


def _not_found_message(folder, reasons):
    folder = folder.resolve()
    names = "".join(f"\n  {name}" for name in MNIST_FILES)
    why = "".join(f"\n  {reason}" for reason in reasons)
    return (
        f"MNIST is not in {folder} and could not be downloaded:{why}\n"
        f"Put these four files in {folder}:{names}\n"
        f"(or the chapter's {ALTERNATIVES[0]} or Keras' {ALTERNATIVES[1]}), "
        "or set $FASTNET_DATA to a folder that holds them, or pass path=.")
