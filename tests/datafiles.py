"""Builders of data files for the reader and data-set tests, honest and hostile."""
import gzip
import io
import struct
import tracemalloc
import zipfile
import zlib

import numpy as np

from fastnet.errors import FastnetFileError

IDX_CODES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
SLACK = 1 << 20  # bytes any read may use beyond a small multiple of the file's content


def idx_bytes(array, code=0x08, dims=None):
    """`array` encoded as IDX with type `code` (and header `dims`, which may lie)."""
    dims = array.shape if dims is None else dims
    header = bytes([0, 0, code, len(dims)]) + np.array(dims, ">u4").tobytes()
    return header + array.astype(IDX_CODES[code]).tobytes()


def npy_bytes(descr, shape, data=b""):
    """A .npy file whose version 1.0 header claims `descr` and `shape`, then `data`."""
    header = repr({"descr": descr, "fortran_order": False, "shape": shape}).encode()
    header += b" " * (-(10 + len(header) + 1) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header + data


def zip_bytes(members, flag=0, method=None):
    """A zip of `members` ({name: bytes}, stored), every entry's flag bits or-ed with `flag`
    and its compression method set to `method`, in the local and the central headers."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    content = bytearray(buffer.getvalue())
    for signature, flag_at, method_at in ((b"PK\x03\x04", 6, 8), (b"PK\x01\x02", 8, 10)):
        start = content.find(signature)
        while start >= 0:
            content[start + flag_at] |= flag
            if method is not None:
                content[start + method_at:start + method_at + 2] = method.to_bytes(2, "little")
            start = content.find(signature, start + 1)
    return bytes(content)


def png_declaring(width, height):
    """A PNG of a few dozen bytes whose header declares ``width`` x ``height`` pixels."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b""))
            + chunk(b"IEND", b""))


def write(path, content, gzipped=False):
    path.write_bytes(gzip.compress(content) if gzipped else content)
    return path


def with_peak(read):
    """(what `read()` returns or the FastnetFileError it raises, peak bytes traced meanwhile)."""
    tracemalloc.start()
    try:
        result = read()
    except FastnetFileError as error:
        result = error
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return result, peak
