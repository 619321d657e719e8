"""fastnet.datasets: IDX / pickle / npz readers, and finding, downloading, verifying MNIST."""
import gzip
import hashlib
import os
import pickle
import socket
import threading
import time
import tracemalloc
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from urllib.error import URLError

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from fastnet import datasets
from fastnet.datasets import find_mnist, read_idx, read_mnist_idx, read_npz, read_pickle
from fastnet.errors import FastnetFileError

NAMES = list(datasets.MNIST_FILES)
IDX_CODES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
SLACK = 1 << 20  # bytes any read may use beyond a small multiple of the file's content


def idx_bytes(array, code, dims=None):
    """`array` encoded as IDX with type `code` (and header `dims`, which may lie)."""
    dims = array.shape if dims is None else dims
    header = bytes([0, 0, code, len(dims)]) + np.array(dims, ">u4").tobytes()
    return header + array.astype(IDX_CODES[code]).tobytes()


def write(path, content, gzipped=False):
    path.write_bytes(gzip.compress(content) if gzipped else content)
    return path


def read_with_peak(path):
    """(read_idx's array or its FastnetFileError, peak bytes traced while reading)."""
    tracemalloc.start()
    try:
        result = read_idx(path)
    except FastnetFileError as error:
        result = error
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return result, peak


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


def test_read_idx_reads_at_most_what_the_header_promises_from_a_gzip_bomb(tmp_path):
    bomb = gzip.compress(idx_bytes(np.zeros(100, np.uint8), 0x08) + bytes(20_000_000), compresslevel=1)
    path = write(tmp_path / "bomb.gz", bomb)
    started = time.perf_counter()
    result, peak = read_with_peak(path)
    assert isinstance(result, FastnetFileError) and "holds more" in str(result)
    assert peak < SLACK and time.perf_counter() - started < 1


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


# ---------------------------------------------------------------- the real files

def test_real_mnist_files_verify_and_have_the_official_shapes(mnist_dir):
    train_images, train_labels, test_images, test_labels = read_mnist_idx(mnist_dir)
    assert train_images.shape == (60_000, 28, 28) and train_images.dtype == np.uint8
    assert test_images.shape == (10_000, 28, 28) and test_images.dtype == np.uint8
    assert train_labels.shape == (60_000,) and test_labels.shape == (10_000,)
    assert train_labels[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert set(np.unique(train_labels)) == set(range(10)) == set(np.unique(test_labels))


def test_real_labels_read_the_same_decompressed(mnist_dir, tmp_path):
    raw = write(tmp_path / "labels.idx", gzip.decompress((mnist_dir / NAMES[1]).read_bytes()))
    np.testing.assert_array_equal(read_idx(raw, sha256=datasets.MNIST_FILES[NAMES[1]]),
                                  read_idx(mnist_dir / NAMES[1]))


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


@pytest.mark.parametrize("content", [b"", b"not a pickle", pickle.dumps(ARRAYS)[:-5]])
def test_read_pickle_rejects_garbage(tmp_path, content):
    with pytest.raises(FastnetFileError, match="cannot unpickle"):
        read_pickle(write(tmp_path / "bad.pkl", content))


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
    content[100:110] = bytes(10)  # inside the stored array: the zip CRC no longer matches
    with pytest.raises(FastnetFileError, match="cannot read it as a .npz"):
        read_npz(write(path, bytes(content)), ["x_train"])


# ---------------------------------------------------------------- finding MNIST

def fake_idx_folder(folder):
    folder.mkdir(parents=True, exist_ok=True)
    for name in NAMES:
        (folder / name).write_bytes(b"")
    return folder


@pytest.fixture
def no_download(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("tried to download")
    monkeypatch.setattr(datasets, "urlopen", refuse)


def test_find_mnist_precedence_path_then_env_then_cwd_data(tmp_path, monkeypatch, no_download):
    explicit, env = fake_idx_folder(tmp_path / "explicit"), fake_idx_folder(tmp_path / "env")
    fake_idx_folder(tmp_path / "data")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FASTNET_DATA", raising=False)
    assert find_mnist().resolve() == tmp_path / "data"
    monkeypatch.setenv("FASTNET_DATA", str(env))
    assert find_mnist() == env
    assert find_mnist(explicit) == explicit
    assert find_mnist(str(explicit)) == explicit


@pytest.mark.parametrize("name", datasets.ALTERNATIVES)
def test_find_mnist_accepts_a_pickle_or_npz_in_the_folder_or_as_the_path(tmp_path, name, no_download):
    (tmp_path / name).write_bytes(b"")
    assert find_mnist(tmp_path) == tmp_path / name
    assert find_mnist(tmp_path / name) == tmp_path / name


def test_find_mnist_prefers_the_idx_files(tmp_path, no_download):
    fake_idx_folder(tmp_path)
    (tmp_path / "mnist.npz").write_bytes(b"")
    assert find_mnist(tmp_path) == tmp_path


def test_find_mnist_rejects_missing_and_unknown_files(tmp_path, no_download):
    with pytest.raises(FastnetFileError, match="no such file"):
        find_mnist(tmp_path / "mnist.npz")
    with pytest.raises(FastnetFileError, match="expected a folder"):
        find_mnist(write(tmp_path / "mnist.csv", b"1,2"))


def test_find_mnist_without_download_says_where_to_put_the_files(tmp_path, no_download):
    with pytest.raises(FastnetFileError) as caught:
        find_mnist(tmp_path, download=False)
    assert "download=False" in str(caught.value) and str(tmp_path) in str(caught.value)


def test_offline_and_missing_fails_fast_saying_where_to_put_the_files(tmp_path, monkeypatch):
    calls = []

    def offline(url, timeout):
        calls.append((url, timeout))
        raise URLError("no network")
    monkeypatch.setattr(datasets, "urlopen", offline)
    folder = tmp_path / "new" / "data"
    started = time.perf_counter()
    with pytest.raises(FastnetFileError) as caught:
        find_mnist(folder)
    assert time.perf_counter() - started < 1
    message = str(caught.value)
    assert f"Put these four files in {folder}" in message and "$FASTNET_DATA" in message
    assert all(name in message for name in NAMES) and "no network" in message
    assert [url for url, _ in calls] == [mirror + NAMES[0] for mirror in datasets.MIRRORS]
    assert all(0 < timeout <= 10 for _, timeout in calls)
    assert list(folder.iterdir()) == []


# ---------------------------------------------------------------- downloading (from a local server)

class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def mirror(tmp_path, monkeypatch):
    """A folder served on 127.0.0.1, set as the second mirror after a dead one; yields (folder, requests)."""
    root, requests = tmp_path / "mirror", []
    root.mkdir()

    class Handler(QuietHandler):
        def do_GET(self):
            requests.append(self.path.lstrip("/"))
            super().do_GET()
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(root)))
    threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True).start()
    with socket.socket() as unused:  # a port nobody listens on: the first mirror refuses at once
        unused.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{unused.getsockname()[1]}/"
    monkeypatch.setattr(datasets, "MIRRORS", (dead, f"http://127.0.0.1:{server.server_port}/"))
    yield root, requests
    server.shutdown()
    server.server_close()


@pytest.fixture
def official(monkeypatch):
    """Small stand-ins for the four official files: {name: decompressed content}, digests patched in."""
    contents = {name: idx_bytes(np.arange(i + 3, dtype=np.uint8), 0x08) for i, name in enumerate(NAMES)}
    digests = {name: hashlib.sha256(content).hexdigest() for name, content in contents.items()}
    monkeypatch.setattr(datasets, "MNIST_FILES", digests)
    return contents


def test_download_fetches_missing_files_verified_and_atomically(tmp_path, mirror, official):
    root, requests = mirror
    for name, content in official.items():
        write(root / name, content, gzipped=True)
    folder = tmp_path / "data"
    folder.mkdir()
    write(folder / NAMES[1], official[NAMES[1]], gzipped=True)  # one file already there
    assert find_mnist(folder) == folder
    assert sorted(requests) == sorted(NAMES[:1] + NAMES[2:])
    assert sorted(path.name for path in folder.iterdir()) == sorted(NAMES)
    assert [array.tolist() for array in read_mnist_idx(folder)] == [list(range(i + 3)) for i in range(4)]


@pytest.mark.parametrize("served", [
    lambda content: gzip.compress(content[:-1] + b"\x63"),
    lambda content: gzip.compress(content)[:-3],
    lambda content: b"<html>not found</html>",
])
def test_download_of_corrupt_bytes_fails_and_leaves_nothing(tmp_path, mirror, official, served):
    root, _ = mirror
    for name, content in official.items():
        (root / name).write_bytes(served(content))
    folder = tmp_path / "data"
    with pytest.raises(FastnetFileError) as caught:
        find_mnist(folder)
    assert f"Put these four files in {folder}" in str(caught.value)
    assert datasets.MIRRORS[1] + NAMES[0] in str(caught.value)
    assert list(folder.iterdir()) == []


def test_download_reports_a_digest_mismatch(tmp_path, mirror, official):
    root, _ = mirror
    write(root / NAMES[0], official[NAMES[1]], gzipped=True)
    with pytest.raises(FastnetFileError, match=f"expected {datasets.MNIST_FILES[NAMES[0]]}"):
        find_mnist(tmp_path / "data")


def test_download_reports_what_each_mirror_said(tmp_path, mirror, official):
    with pytest.raises(FastnetFileError) as caught:
        find_mnist(tmp_path / "data")
    message = str(caught.value)
    assert "Connection refused" in message and "404" in message
