"""fastnet.readers: bounded IDX / pickle / npz readers, honest files and hostile ones."""
import gzip
import hashlib
import io
import os
import pickle

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from datafiles import IDX_CODES, SLACK, idx_bytes, npy_bytes, with_peak, write, zip_bytes
from fastnet import readers
from fastnet.errors import FastnetFileError
from fastnet.readers import MAX_BYTES, read_idx, read_npz, read_pickle

try:  # NumPy 2
    from numpy._core import multiarray as np_multiarray
except ImportError:  # NumPy 1
    from numpy.core import multiarray as np_multiarray


INFLATERS = ["zlib", "isal.isal_zlib"]


@pytest.fixture(autouse=True, params=INFLATERS)
def inflating(request, monkeypatch):
    """Every test runs with each inflater: ISA-L's (the fast extra) and zlib's (without it)."""
    module = pytest.importorskip(request.param)
    monkeypatch.setattr(readers, "_inflating", module)
    return module


def read_with_peak(path):
    """(read_idx's array or its FastnetFileError, peak bytes traced while reading)."""
    return with_peak(lambda: read_idx(path))


# ---------------------------------------------------------------- read_idx: good files

@pytest.mark.parametrize("gzipped", [False, True])
@pytest.mark.parametrize("code", sorted(IDX_CODES))
def test_read_idx_round_trips_every_type(tmp_path, code, gzipped):
    dtype = np.dtype(IDX_CODES[code])
    if dtype.kind == "f":
        array = np.random.default_rng(code).normal(size=(3, 2, 4)) * 1e3
    else:
        info = np.iinfo(dtype)
        array = np.random.default_rng(code).integers(info.min, info.max, size=(3, 2, 4), endpoint=True)
    path = write(tmp_path / "a.idx", idx_bytes(array, code), gzipped)
    result = read_idx(path)
    assert result.dtype == dtype.newbyteorder("=") and result.dtype.isnative
    assert result.shape == (3, 2, 4)
    np.testing.assert_array_equal(result, array.astype(dtype))


def test_read_idx_detects_gzip_by_content_not_name(tmp_path):
    array = np.arange(12, dtype=np.uint8).reshape(3, 4)
    raw = write(tmp_path / "looks-compressed.gz", idx_bytes(array, 0x08))
    packed = write(tmp_path / "looks-raw.idx", idx_bytes(array, 0x08), gzipped=True)
    np.testing.assert_array_equal(read_idx(raw), array)
    np.testing.assert_array_equal(read_idx(packed), array)


def test_read_idx_allows_empty_arrays(tmp_path):
    path = write(tmp_path / "empty.idx", idx_bytes(np.zeros((0, 5)), 0x0D))
    assert read_idx(path).shape == (0, 5)


def test_read_idx_checks_the_digest_of_the_decompressed_bytes(tmp_path):
    content = idx_bytes(np.arange(10, dtype=np.uint8), 0x08)
    path = write(tmp_path / "labels.gz", content, gzipped=True)
    actual = hashlib.sha256(content).hexdigest()
    np.testing.assert_array_equal(read_idx(path, sha256=actual), np.arange(10))
    with pytest.raises(FastnetFileError) as caught:
        read_idx(path, sha256="0" * 64)
    message = str(caught.value)
    assert str(path) in message and actual in message and "0" * 64 in message and "delete" in message


# ---------------------------------------------------------------- read_idx: bad files

VALID = idx_bytes(np.arange(6, dtype=np.uint8).reshape(2, 3), 0x08)
CORRUPT_IDX = {
    "empty": (b"", "not an IDX file"),
    "short magic": (b"\0\0\x08", "not an IDX file"),
    "wrong magic": (b"\x01" + VALID[1:], "not an IDX file"),
    "text": (b"hello world, not idx", "not an IDX file"),
    "unknown type": (VALID[:2] + b"\x0a" + VALID[3:], "unknown IDX type code 0a"),
    "no dimensions": (b"\0\0\x08\0", "claims 0 dimensions"),
    "absurd dimensions": (b"\0\0\x08\xc8" + bytes(800), "claims 200 dimensions"),
    "truncated dims": (VALID[:10], "truncated IDX header"),
    "truncated data": (VALID[:-1], "only 5"),
    "trailing bytes": (VALID + b"\0", "holds more"),
    "lying dims": (idx_bytes(np.zeros(4, np.uint8), 0x08, dims=(2**31,)), "promises 2147483648 bytes"),
    "lying wide dims": (idx_bytes(np.zeros(4), 0x0E, dims=(2**16, 2**16)), "promises 34359738368 bytes"),
    "impossible shape": (idx_bytes(np.zeros(0, np.uint8), 0x08, dims=(0, 2**32 - 1, 2**32 - 1)),
                         "impossible IDX shape"),
}


@pytest.mark.parametrize("gzipped", [False, True])
@pytest.mark.parametrize("case", CORRUPT_IDX)
def test_read_idx_rejects_corrupt_content(tmp_path, case, gzipped):
    content, expected = CORRUPT_IDX[case]
    path = write(tmp_path / "bad", content, gzipped)
    result, peak = read_with_peak(path)
    assert isinstance(result, FastnetFileError)
    assert str(path) in str(result) and expected in str(result)
    assert peak < 4 * len(content) + SLACK


GOOD_GZIP = gzip.compress(VALID)
CORRUPT_GZIP = {
    "bad crc": GOOD_GZIP[:-8] + bytes([GOOD_GZIP[-8] ^ 0xFF]) + GOOD_GZIP[-7:],
    "bad length": GOOD_GZIP[:-1] + bytes([GOOD_GZIP[-1] ^ 0xFF]),
    "truncated stream": GOOD_GZIP[:-10],
    "only the magic": GOOD_GZIP[:2],
    "garbage after the magic": GOOD_GZIP[:2] + b"garbage garbage garbage",
    "garbage after the member": GOOD_GZIP + b"garbage",
    "damaged deflate data": GOOD_GZIP[:12] + bytes(b ^ 0x55 for b in GOOD_GZIP[12:20]) + GOOD_GZIP[20:],
}


@pytest.mark.parametrize("case", CORRUPT_GZIP)
def test_read_idx_rejects_corrupt_gzip(tmp_path, case):
    path = write(tmp_path / "bad.gz", CORRUPT_GZIP[case])
    with pytest.raises(FastnetFileError, match="bad.gz"):
        read_idx(path)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(members=st.lists(st.binary(max_size=3000), min_size=1, max_size=4),
       padding=st.lists(st.integers(0, 3), min_size=4, max_size=4),
       reads=st.lists(st.integers(1, 4000), max_size=6), piece=st.sampled_from([1, 7, 1 << 20]),
       inflated=st.sampled_from([1, 5, 1 << 22]))
def test_gzip_is_read_as_the_gzip_module_reads_it(tmp_path, members, padding, reads, piece,
                                                  inflated):
    """Members one after the other, zero bytes between and after them skipped, any sizes
    read, read and inflated in pieces of any size: the bytes the gzip module reads."""
    blob = b"".join(gzip.compress(member, mtime=0) + bytes(zeros)
                    for member, zeros in zip(members, padding))
    path = write(tmp_path / "members.gz", blob)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(readers, "_COMPRESSED_PIECE", piece)
        patch.setattr(readers, "_INFLATED_PIECE", inflated)
        with readers._open(path) as stream:
            parts = [stream.read(size) for size in reads]
            parts.append(stream.read())
            assert stream.read() == b""
    content = b"".join(members)
    assert b"".join(parts) == gzip.decompress(blob) == content
    offsets = np.cumsum([0] + [len(part) for part in parts[:-1]])
    assert [len(part) for part in parts[:-1]] == [min(size, len(content) - offset)
                                                  for size, offset in zip(reads, offsets)]


def test_read_idx_reads_at_most_what_the_header_promises_from_a_gzip_bomb(tmp_path):
    bomb = gzip.compress(idx_bytes(np.zeros(100, np.uint8), 0x08) + bytes(20_000_000), compresslevel=1)
    path = write(tmp_path / "bomb.gz", bomb)
    result, peak = read_with_peak(path)
    assert isinstance(result, FastnetFileError) and "holds more" in str(result)
    assert peak < SLACK


def test_read_idx_refuses_a_header_over_the_limit_before_reading_the_data(tmp_path):
    # Issue 12, item 6: a few-MB gzip claiming GBs was read to the end before it failed.
    claim = idx_bytes(np.zeros(0, np.uint8), dims=(2**31,))
    path = write(tmp_path / "bomb.gz", gzip.compress(claim + bytes(30_000_000), compresslevel=1))
    result, peak = read_with_peak(path)
    assert isinstance(result, FastnetFileError)
    assert f"{path}: its header promises 2147483648 bytes" in str(result)
    assert f"over the limit of {MAX_BYTES} bytes (max_bytes={MAX_BYTES}" in str(result)
    assert peak < SLACK


def test_read_idx_limit_and_shape_are_the_callers(tmp_path):
    path = write(tmp_path / "a.idx", idx_bytes(np.arange(6, dtype=np.uint8).reshape(2, 3)))
    with pytest.raises(FastnetFileError, match="over the limit of 5 bytes"):
        read_idx(path, max_bytes=5)
    assert read_idx(path, max_bytes=6).shape == (2, 3)
    with pytest.raises(FastnetFileError, match=r"claims shape \(2, 3\), expected \(3, 2\)"):
        read_idx(path, shape=(3, 2))
    assert read_idx(path, shape=(2, 3)).tolist() == [[0, 1, 2], [3, 4, 5]]


@pytest.mark.parametrize("make", [lambda tmp: tmp / "missing.idx", lambda tmp: tmp])
def test_read_idx_rejects_missing_file_and_folder(tmp_path, make):
    with pytest.raises(FastnetFileError, match="cannot read it"):
        read_idx(make(tmp_path))


# ---------------------------------------------------------------- read_idx: fuzzing

# Each example overwrites the same file in tmp_path, so sharing the fixture is fine.
FUZZ = settings(max_examples=200, deadline=2000,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


def check_reads_safely(tmp_path, content, gzipped):
    """read_idx returns an array no bigger than the content or raises FastnetFileError,
    using memory bounded by the file and its content."""
    path = write(tmp_path / "fuzz", content, gzipped)
    result, peak = read_with_peak(path)
    if isinstance(result, np.ndarray):
        assert result.nbytes <= len(content)
    assert peak < 4 * (len(content) + path.stat().st_size) + SLACK


@FUZZ
@given(content=st.binary(max_size=400), gzipped=st.booleans())
def test_fuzz_random_bytes(tmp_path, content, gzipped):
    check_reads_safely(tmp_path, content, gzipped)


@st.composite
def mutated_idx(draw):
    """A well-formed small IDX file, then damaged: lying dims, flipped bytes, truncated or extended."""
    code = draw(st.sampled_from(sorted(IDX_CODES)))
    dims = draw(st.lists(st.integers(0, 6), min_size=1, max_size=4))
    content = bytearray(idx_bytes(np.ones(dims), code))
    for index in draw(st.lists(st.integers(0, len(dims) - 1), max_size=2)):
        lie = draw(st.sampled_from([2**31, 2**32 - 1, 2**16, 7]))
        content[4 + 4 * index: 8 + 4 * index] = lie.to_bytes(4, "big")
    flips = st.tuples(st.integers(0, len(content)), st.integers(0, 255))
    for position, value in draw(st.lists(flips, max_size=3)):
        if position < len(content):
            content[position] = value
    cut = draw(st.integers(0, len(content)))
    return bytes(content[:cut] if draw(st.booleans()) else content + draw(st.binary(max_size=8)))


@FUZZ
@given(content=mutated_idx(), gzipped=st.booleans())
def test_fuzz_mutated_headers(tmp_path, content, gzipped):
    check_reads_safely(tmp_path, content, gzipped)


@FUZZ
@given(position=st.integers(0, len(GOOD_GZIP) - 1), value=st.integers(0, 255))
def test_fuzz_damaged_gzip(tmp_path, position, value):
    damaged = bytearray(GOOD_GZIP)
    damaged[position] = value
    path = write(tmp_path / "fuzz.gz", bytes(damaged))
    try:
        assert read_idx(path).nbytes <= len(VALID)
    except FastnetFileError:
        pass


# ---------------------------------------------------------------- pickles

ARRAYS = ((np.linspace(0, 1, 12, dtype=np.float32).reshape(3, 4), np.array([1, 2, 3])),) * 3

# What Python 2's cPickle wrote for numpy.array([0, 128, 255], dtype=uint8): str, not bytes.
PY2_PICKLE = (
    b"\x80\x02cnumpy.core.multiarray\n_reconstruct\nq\x01cnumpy\nndarray\nq\x02K\x00\x85U\x01b\x87R"
    b"q\x03(K\x01K\x03\x85cnumpy\ndtype\nq\x04U\x02u1K\x00K\x01\x87Rq\x05(K\x03U\x01|NNNJ\xff\xff\xff\xff"
    b"J\xff\xff\xff\xffK\x00tb\x89U\x03\x00\x80\xfftb."
)


@pytest.mark.parametrize("protocol", [2, 4, 5])
@pytest.mark.parametrize("gzipped", [False, True])
def test_read_pickle_round_trips_numpy_arrays(tmp_path, protocol, gzipped):
    data = (*ARRAYS, np.float32(0.5), np.int64(7), np.dtype(">i2"))
    path = write(tmp_path / "mnist.pkl.gz", pickle.dumps(data, protocol=protocol), gzipped)
    loaded = read_pickle(path)
    for (x, y), (x2, y2) in zip(ARRAYS, loaded[:3]):
        np.testing.assert_array_equal(x, x2)
        np.testing.assert_array_equal(y, y2)
    assert loaded[3:] == data[3:]


def test_read_pickle_reads_python2_strings_as_latin1(tmp_path):
    path = write(tmp_path / "py2.pkl.gz", PY2_PICKLE, gzipped=True)
    np.testing.assert_array_equal(read_pickle(path), np.array([0, 128, 255], np.uint8))


class Exploit:
    """Unpickling this calls `action` with `args`."""

    def __init__(self, action, *args):
        self.action, self.args = action, args

    def __reduce__(self):
        return self.action, self.args


@pytest.mark.parametrize("attack, refused", [
    (lambda marker: Exploit(os.system, f"touch {marker}"), os.system.__module__ + ".system"),
    (lambda marker: Exploit(exec, f"open({str(marker)!r}, 'w').write('pwned')"), "__builtin__.exec"),
    (lambda marker: Exploit(np.save, str(marker), np.zeros(1)), "numpy.save"),
])
def test_read_pickle_refuses_anything_but_arrays_and_calls_nothing(tmp_path, attack, refused):
    marker = tmp_path / "pwned"
    payload = pickle.dumps((ARRAYS[0], attack(marker)), protocol=2)
    path = write(tmp_path / "evil.pkl.gz", payload, gzipped=True)
    with pytest.raises(FastnetFileError, match=f"refusing to unpickle {refused}"):
        read_pickle(path)
    assert not list(tmp_path.glob("pwned*"))


class EmptyArray:
    """Pickles as NumPy pickles an array: made empty, then given ``state``."""

    def __init__(self, state):
        self.state = state

    def __reduce__(self):
        return np_multiarray._reconstruct, (np.ndarray, (0,), b"b"), self.state


@pytest.mark.parametrize("attack, refused", [
    # made at its full size with no data behind it: 1.6 GB from 120 bytes
    (Exploit(np_multiarray._reconstruct, np.ndarray, (2_000_000, 784), "B"), "refusing an array made as"),
    # an object array's state: NumPy 2 crashes the interpreter on this one
    (EmptyArray((1, (10,), np.dtype("O"), False, [])), "refusing an array of dtype dtype('O')"),
    (EmptyArray((1, (10**9,), np.dtype("V0"), False, "")), "refusing an array of dtype dtype('V')"),
    (EmptyArray((1, (3,), np.dtype("<f8"), False, [1.0, 2.0, 3.0])), "whose data is not bytes"),
])
def test_read_pickle_refuses_arrays_that_are_not_numbers_in_bytes(tmp_path, attack, refused):
    path = write(tmp_path / "evil.pkl", pickle.dumps((ARRAYS[0], attack), protocol=2))
    result, peak = with_peak(lambda: read_pickle(path, max_bytes=1000))
    assert isinstance(result, FastnetFileError) and refused in str(result)
    assert peak < SLACK


@pytest.mark.parametrize("content", [b"", b"not a pickle", pickle.dumps(ARRAYS)[:-5]])
def test_read_pickle_rejects_garbage(tmp_path, content):
    with pytest.raises(FastnetFileError, match="cannot unpickle"):
        read_pickle(write(tmp_path / "bad.pkl", content))


def test_read_pickle_refuses_more_than_its_limit(tmp_path):
    path = write(tmp_path / "big.pkl.gz", pickle.dumps(np.zeros(100_000), protocol=4), gzipped=True)
    with pytest.raises(FastnetFileError, match=r"big.pkl.gz: .*longer than the limit of 100000 bytes "
                                               r"\(max_bytes=100000"):
        read_pickle(path, max_bytes=100_000)
    assert read_pickle(path, max_bytes=900_000).shape == (100_000,)


# ---------------------------------------------------------------- npz

def test_read_npz_returns_the_named_arrays_in_order(tmp_path):
    path = tmp_path / "mnist.npz"
    np.savez_compressed(path, y_train=np.arange(3), x_train=np.ones((3, 28, 28), np.uint8), extra=np.zeros(1))
    x, y = read_npz(path, ["x_train", "y_train"])
    assert x.shape == (3, 28, 28) and y.tolist() == [0, 1, 2]


def test_read_npz_names_missing_arrays(tmp_path):
    path = tmp_path / "mnist.npz"
    np.savez(path, x_train=np.zeros(2))
    with pytest.raises(FastnetFileError, match=r"lacks arrays \['y_train'\]"):
        read_npz(path, ["x_train", "y_train"])


def test_read_npz_refuses_pickled_object_arrays(tmp_path):
    path = tmp_path / "mnist.npz"
    np.savez(path, x_train=np.array([Exploit(os.system, "echo pwned")], dtype=object))
    with pytest.raises(FastnetFileError, match="cannot read it as a .npz"):
        read_npz(path, ["x_train"])


def test_read_npz_rejects_non_zip_and_damaged_zip(tmp_path):
    with pytest.raises(FastnetFileError, match="not a .npz archive"):
        read_npz(write(tmp_path / "a.npz", b"plain text"), ["x_train"])
    path = tmp_path / "b.npz"
    np.savez(path, x_train=np.arange(1000))
    content = bytearray(path.read_bytes())
    content[100:110] = bytes(10)  # inside the stored member's header: the zip CRC no longer matches
    with pytest.raises(FastnetFileError, match=r"b.npz: x_train.npy: cannot read its .npy header"):
        read_npz(write(path, bytes(content)), ["x_train"])


SMALL = {"x.npy": npy_bytes("<f8", (3,), bytes(24))}
HOSTILE_NPZ = {  # issue 12, item 6: each was a raw MemoryError, OverflowError, ... or read it all
    "claims 10^11 floats": (zip_bytes({"x.npy": npy_bytes("<f8", (10**11,), bytes(800))}),
                            f"promises 800000000000 bytes of float64 data for shape (100000000000,), "
                            f"over the limit of {MAX_BYTES} bytes"),
    "sizes overflow int64": (zip_bytes({"x.npy": npy_bytes("<f8", (10**20, 1))}),
                             "promises 800000000000000000000 bytes"),
    "sizes wrap in int64": (zip_bytes({"x.npy": npy_bytes("<u1", (2**62, 4))}),
                            "promises 18446744073709551616 bytes"),
    "more than the member holds": (zip_bytes({"x.npy": npy_bytes("<f8", (10**7,), bytes(800))}),
                                   "promises 80000000 bytes of float64 data for shape (10000000,), "
                                   "but the member holds 800"),
    "compression method 98": (zip_bytes(SMALL, method=98), "compression method 98; fastnet reads stored"),
    "encrypted": (zip_bytes(SMALL, flag=0x1), "the member is encrypted"),
    "npy format 3.0": (zip_bytes({"x.npy": b"\x93NUMPY\x03\x00" + bytes(100)}), "format version (3, 0)"),
    # NumPy reads a header whole before its own check, and a 2.0 header may claim 4 GiB
    "a header of 400 MiB": (zip_bytes({"x.npy": b"\x93NUMPY\x02\x00" + (400 << 20).to_bytes(4, "little")
                                                + b" " * 100}), "its .npy header claims 419430400 bytes"),
    "a header NumPy cannot parse": (zip_bytes({"x.npy": b"\x93NUMPY\x01\x00\x1d\x00{'descr': '<i8', 'shape': (2,"}),
                                    "cannot read its .npy header"),
    "10^8 items of no bytes": (zip_bytes({"x.npy": npy_bytes("|V0", (10**8,))}), "items of |V0, of no bytes"),
}


@pytest.mark.parametrize("case", HOSTILE_NPZ)
def test_read_npz_refuses_hostile_members_from_their_headers(tmp_path, case):
    content, expected = HOSTILE_NPZ[case]
    path = write(tmp_path / "hostile.npz", content)
    result, peak = with_peak(lambda: read_npz(path, ["x"]))
    assert isinstance(result, FastnetFileError)
    assert f"{path}: x.npy: " in str(result) and expected in str(result)
    assert peak < SLACK


def test_read_npz_limit_is_the_callers(tmp_path):
    path = tmp_path / "a.npz"
    np.savez_compressed(path, x=np.arange(100.0))
    with pytest.raises(FastnetFileError, match=r"a.npz: x.npy: .* over the limit of 799 bytes \(max_bytes=799"):
        read_npz(path, ["x"], max_bytes=799)
    np.testing.assert_array_equal(read_npz(path, ["x"], max_bytes=800)[0], np.arange(100.0))


def test_read_npz_limit_bounds_the_whole_archive(tmp_path):
    path = write(tmp_path / "many.npz", zip_bytes({f"{name}.npy": npy_bytes("<f8", (50,), bytes(400))
                                                   for name in "abc"}))
    assert [a.size for a in read_npz(path, ["a", "b"], max_bytes=1000)] == [50, 50]
    with pytest.raises(FastnetFileError, match=r"many.npz: c.npy: its header promises 400 bytes of "
                                               r"float64 data for shape \(50,\), beside the 800 bytes "
                                               r"of the arrays before it, over the limit of 1000 bytes"):
        read_npz(path, ["a", "b", "c"], max_bytes=1000)


def test_read_npz_reads_fortran_order_and_version_2_headers(tmp_path):
    array = np.asfortranarray(np.arange(12, dtype=np.int16).reshape(3, 4))
    members = {}
    for name, version in (("v1", (1, 0)), ("v2", (2, 0))):
        buffer = io.BytesIO()
        np.lib.format.write_array(buffer, array, version=version)
        members[f"{name}.npy"] = buffer.getvalue()
    v1, v2 = read_npz(write(tmp_path / "a.npz", zip_bytes(members)), ["v1", "v2"])
    for read in (v1, v2):
        np.testing.assert_array_equal(read, array)
        assert read.flags.f_contiguous


def npz_bytes(compressed):
    buffer = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buffer, x=np.arange(40.0).reshape(5, 8), y=np.arange(5))
    return buffer.getvalue()


@FUZZ
@given(compressed=st.booleans(), flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=4),
       cut=st.integers(0, 2000))
def test_fuzz_damaged_npz(tmp_path, compressed, flips, cut):
    """read_npz returns arrays no bigger than the file's honest content or raises
    FastnetFileError, using memory bounded by the file."""
    content = bytearray(npz_bytes(compressed))
    for position, value in flips:
        content[position % len(content)] = value
    path = write(tmp_path / "fuzz.npz", bytes(content[:cut]))
    result, peak = with_peak(lambda: read_npz(path, ["x", "y"]))
    if not isinstance(result, FastnetFileError):
        assert sum(array.nbytes for array in result) <= 400
    assert peak < 4 * len(content) + SLACK
