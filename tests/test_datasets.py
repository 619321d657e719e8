"""fastnet.datasets: data-set records, finding and downloading their files, loading them."""
import gzip
import hashlib
import pickle
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import replace
from functools import partial
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from math import prod
from urllib.error import URLError

import numpy as np
import pytest

from datafiles import SLACK, idx_bytes, with_peak, write
from fastnet import datasets, downloads
from fastnet.datasets import MNIST, find, read_idx_files
from fastnet.errors import FastnetFileError
from fastnet.mnist_loader import load_data
from fastnet.readers import read_idx

NAMES = list(MNIST.files)

# A second IDX data set is a record of a few lines: here 3 training and 2 test images of
# 2x2 pixels, with MNIST's file names and their own digests (and, in tests, a local mirror).
SHAPES = [(3, 2, 2), (3,), (2, 2, 2), (2,)]
CONTENTS = {name: idx_bytes(np.arange(prod(shape)).reshape(shape) * 7 % 10)
            for name, shape in zip(NAMES, SHAPES)}
TINY = replace(MNIST, name="Tiny", files={name: hashlib.sha256(content).hexdigest()
                                          for name, content in CONTENTS.items()},
               mirrors=(), image_shape=(2, 2), training_size=3, test_size=2, single_files=())


def tiny_folder(folder):
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in CONTENTS.items():
        write(folder / name, content, gzipped=True)
    return folder


# ---------------------------------------------------------------- the records

def test_real_mnist_files_verify_and_have_the_records_shapes(mnist_dir):
    arrays = read_idx_files(MNIST, mnist_dir)
    assert [array.shape for array in arrays] == list(MNIST.idx_shapes.values())
    train_images, train_labels, test_images, test_labels = arrays
    assert train_images.shape[1:] == MNIST.image_shape and prod(MNIST.image_shape) == MNIST.inputs
    assert train_images.dtype == test_images.dtype == np.uint8
    assert train_labels[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert set(np.unique(train_labels)) == set(range(MNIST.classes)) == set(np.unique(test_labels))


def test_real_labels_read_the_same_decompressed(mnist_dir, tmp_path):
    raw = write(tmp_path / "labels.idx", gzip.decompress((mnist_dir / NAMES[1]).read_bytes()))
    np.testing.assert_array_equal(read_idx(raw, sha256=MNIST.files[NAMES[1]]),
                                  read_idx(mnist_dir / NAMES[1]))


def test_a_second_idx_data_set_loads_through_the_same_path(tmp_path):
    source = find(TINY, tiny_folder(tmp_path), download=False)
    assert (source.path, source.format) == (tmp_path, "idx")
    (X, y), (X_val, y_val), (X_test, y_test) = source.load(validation_size=1)
    assert X.shape == (2, 4) and X_val.shape == (1, 4) and X_test.shape == (2, 4)
    assert X.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_array_equal(np.concatenate([X, X_val]) * 255, np.arange(12).reshape(3, 4) * 7 % 10)
    assert [y.tolist(), y_val.tolist(), y_test.tolist()] == [[0, 7], [4], [0, 7]]


def test_another_data_sets_files_are_refused_from_their_headers(tmp_path):
    with pytest.raises(FastnetFileError, match=r"claims shape \(3, 2, 2\), expected \(60000, 28, 28\)"):
        find(MNIST, tiny_folder(tmp_path)).load(10_000)


def test_an_mnist_file_claiming_more_images_is_refused_before_reading(tmp_path):
    # Issue 12, item 6: a small gzip claiming more than MNIST was decompressed to the end.
    claim = idx_bytes(np.zeros(0), dims=(600_000, 28, 28))
    write(tmp_path / NAMES[0], gzip.compress(claim + bytes(20_000_000), compresslevel=1))
    for name in NAMES[1:]:
        write(tmp_path / name, b"")
    result, peak = with_peak(lambda: load_data(tmp_path))
    assert isinstance(result, FastnetFileError)
    assert f"{NAMES[0]}: its IDX header claims shape (600000, 28, 28), expected (60000, 28, 28)" in str(result)
    assert peak < SLACK


def write_tiny_sets(path, train_count):
    """Tiny-shaped sets of zeros at `path` (.npz: the official two; .pkl.gz: the chapter's three)."""
    images, labels = np.zeros((train_count, 4)), np.zeros(train_count, np.uint8)
    test = (np.zeros((2, 4)), np.zeros(2, np.uint8))
    if path.name.endswith(".npz"):
        np.savez_compressed(path, x_train=images, y_train=labels, x_test=test[0], y_test=test[1])
    else:
        write(path, pickle.dumps(((images, labels), test, test), protocol=4), gzipped=True)
    return path


@pytest.mark.parametrize("name", ["tiny.npz", "tiny.pkl.gz"])
def test_a_one_file_form_is_bounded_by_the_records_sizes(tmp_path, name):
    path = write_tiny_sets(tmp_path / name, 200_000)
    with pytest.raises(FastnetFileError, match=f"{name}: .*the limit of {TINY.max_bytes} bytes"):
        find(TINY, path).load(1)
    training, _, _ = find(TINY, write_tiny_sets(path, 3)).load(1)
    assert len(training[0]) == (2 if name.endswith(".npz") else 3)  # a pickle holds its own split


# ---------------------------------------------------------------- finding

def fake_idx_folder(folder):
    folder.mkdir(parents=True, exist_ok=True)
    for name in NAMES:
        (folder / name).write_bytes(b"")
    return folder


@pytest.fixture
def no_download(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("tried to download")
    monkeypatch.setattr(downloads, "urlopen", refuse)


def test_find_precedence_path_then_env_then_cwd_data(tmp_path, monkeypatch, no_download):
    explicit, env = fake_idx_folder(tmp_path / "explicit"), fake_idx_folder(tmp_path / "env")
    fake_idx_folder(tmp_path / "data")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FASTNET_DATA", raising=False)
    assert find(MNIST).path.resolve() == tmp_path / "data"
    monkeypatch.setenv("FASTNET_DATA", str(env))
    assert find(MNIST).path == env
    assert find(MNIST, explicit).path == explicit
    assert find(MNIST, str(explicit)) == find(MNIST, explicit)
    assert find(MNIST, explicit).format == "idx"


@pytest.mark.parametrize("name, form", [("mnist.pkl.gz", "pickle"), ("mnist.npz", "npz")])
def test_find_accepts_a_pickle_or_npz_in_the_folder_or_as_the_path(tmp_path, name, form, no_download):
    assert name in MNIST.single_files
    (tmp_path / name).write_bytes(b"")
    assert (find(MNIST, tmp_path).path, find(MNIST, tmp_path).format) == (tmp_path / name, form)
    assert find(MNIST, tmp_path / name) == find(MNIST, tmp_path)
    renamed = (tmp_path / name).rename(tmp_path / ("digits" + name.removeprefix("mnist")))
    assert find(MNIST, renamed).format == form  # a file given by path: its ending says the format


def test_find_prefers_the_idx_files(tmp_path, no_download):
    fake_idx_folder(tmp_path)
    (tmp_path / "mnist.npz").write_bytes(b"")
    assert find(MNIST, tmp_path).path == tmp_path


def test_find_rejects_missing_and_unknown_files(tmp_path, no_download):
    with pytest.raises(FastnetFileError, match="mnist.npz: no such file"):
        find(MNIST, tmp_path / "mnist.npz")
    with pytest.raises(FastnetFileError, match="expected a folder"):
        find(MNIST, write(tmp_path / "mnist.csv", b"1,2"))


def test_a_mistyped_folder_is_an_error_and_is_not_created(tmp_path, no_download):
    # Issue 12, item 11: `--data dta` was created as a folder and MNIST downloaded into it.
    (tmp_path / "data").mkdir()
    with pytest.raises(FastnetFileError) as caught:
        find(MNIST, tmp_path / "dta")
    assert str(caught.value) == f"{tmp_path / 'dta'}: no such folder; did you mean {tmp_path / 'data'}?"
    assert not (tmp_path / "dta").exists()
    with pytest.raises(FastnetFileError, match=r"elsewhere: no such folder$"):
        find(MNIST, tmp_path / "elsewhere")


def test_find_without_download_says_where_to_put_the_files_and_how_to_name_them(tmp_path, no_download):
    # Issue 12, item 12: the message named only path=, not the command line's --data.
    with pytest.raises(FastnetFileError) as caught:
        find(MNIST, tmp_path, download=False)
    message = str(caught.value)
    assert "download=False" in message and f"Put these four files in {tmp_path}" in message
    assert "mnist.pkl.gz or mnist.npz" in message
    assert "path= (in Python) or --data (on the fastnet command line)" in message


def test_offline_creates_only_the_default_folder_and_says_where_to_put_the_files(tmp_path, monkeypatch):
    calls = []

    def offline(url, timeout, deadline):
        calls.append((url, timeout))
        raise URLError("no network")
    monkeypatch.setattr(downloads, "urlopen", offline)
    folder = tmp_path / "new" / "data"
    monkeypatch.setenv("FASTNET_DATA", str(folder))
    with pytest.raises(FastnetFileError) as caught:
        find(MNIST)
    message = str(caught.value)
    assert f"Put these four files in {folder}" in message and "$FASTNET_DATA" in message
    assert all(name in message for name in NAMES) and "no network" in message
    assert [url for url, _ in calls] == [mirror + NAMES[0] for mirror in MNIST.mirrors]
    assert all(timeout == downloads.TIMEOUT for _, timeout in calls)
    assert list(folder.iterdir()) == []


# ---------------------------------------------------------------- downloading (from a local server)

def serve(handler):
    """A ThreadingHTTPServer on 127.0.0.1 running `handler` in a thread; its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}/"


def stop(server):
    server.shutdown()
    server.server_close()


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def mirror(tmp_path):
    """A folder served on 127.0.0.1; yields (folder, requested paths, Tiny with a dead mirror
    and then this one)."""
    root, requests = tmp_path / "mirror", []
    root.mkdir()

    class Handler(QuietHandler):
        def do_GET(self):
            requests.append(self.path.lstrip("/"))
            super().do_GET()
    server, url = serve(partial(Handler, directory=str(root)))
    with socket.socket() as unused:  # a port nobody listens on: the first mirror refuses at once
        unused.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{unused.getsockname()[1]}/"
    yield root, requests, replace(TINY, mirrors=(dead, url))
    stop(server)


def test_download_fetches_missing_files_verified_and_atomically(tmp_path, mirror):
    root, requests, tiny = mirror
    tiny_folder(root)
    folder = tmp_path / "data"
    folder.mkdir()
    write(folder / NAMES[1], CONTENTS[NAMES[1]], gzipped=True)  # one file already there
    assert find(tiny, folder) == find(tiny, folder, download=False)
    assert sorted(requests) == sorted(NAMES[:1] + NAMES[2:])
    assert sorted(path.name for path in folder.iterdir()) == sorted(NAMES)
    assert [array.shape for array in read_idx_files(tiny, folder)] == SHAPES


@pytest.mark.parametrize("served", [
    lambda content: gzip.compress(content[:-1] + b"\x63"),
    lambda content: gzip.compress(content)[:-3],
    lambda content: b"<html>not found</html>",
])
def test_download_of_corrupt_bytes_fails_and_leaves_nothing(tmp_path, mirror, served):
    root, _, tiny = mirror
    for name, content in CONTENTS.items():
        (root / name).write_bytes(served(content))
    folder = tmp_path / "data"
    folder.mkdir()
    with pytest.raises(FastnetFileError) as caught:
        find(tiny, folder)
    assert f"Put these four files in {folder}" in str(caught.value)
    assert tiny.mirrors[1] + NAMES[0] in str(caught.value)
    assert list(folder.iterdir()) == []


def test_download_reports_a_digest_mismatch(tmp_path, mirror):
    root, _, tiny = mirror
    wrong = bytearray(CONTENTS[NAMES[0]])
    wrong[-1] ^= 1
    write(root / NAMES[0], bytes(wrong), gzipped=True)
    with pytest.raises(FastnetFileError, match=f"expected {tiny.files[NAMES[0]]}"):
        find(tiny, tmp_path)


def test_download_reports_what_each_mirror_said(tmp_path, mirror):
    with pytest.raises(FastnetFileError) as caught:
        find(mirror[2], tmp_path)
    message = str(caught.value)
    assert "Connection refused" in message and "404" in message


@pytest.fixture
def drip():
    """A server on 127.0.0.1 that answers every request with a byte every 20 ms; its URL."""
    stopping = threading.Event()

    class Drip(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", "1000")   # within the limit: only time ends it
            self.end_headers()
            try:
                while not stopping.wait(0.02):
                    self.wfile.write(b"\0")
                    self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):  # the client gave up
                pass

        def log_message(self, *args):
            pass
    server, url = serve(Drip)
    yield url
    stopping.set()
    stop(server)


def test_a_dripping_download_gives_up_at_the_deadline_and_leaves_no_part_file(tmp_path, drip, monkeypatch):
    # Issue 12, item 11: a server sending a byte every 2 s kept the download going for ever.
    monkeypatch.setattr(downloads, "DEADLINE", 0.3)
    with pytest.raises(FastnetFileError) as caught:
        find(replace(TINY, mirrors=(drip,)), tmp_path)
    assert f"{drip}{NAMES[0]}: not complete after 0.3 s, the deadline for one file" in str(caught.value)
    assert list(tmp_path.iterdir()) == []


def test_a_server_trickling_its_headers_is_given_up_at_the_deadline_too(tmp_path, monkeypatch):
    # Every header byte comes within the per-read timeout, so only the deadline can end it.
    stopping = threading.Event()

    class Trickle(BaseHTTPRequestHandler):
        def do_GET(self):
            self.wfile.write(b"HTTP/1.0 200 OK\r\n")
            try:
                while not stopping.wait(0.02):
                    self.wfile.write(b"X")
                    self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, *args):
            pass
    server, url = serve(Trickle)
    monkeypatch.setattr(downloads, "DEADLINE", 0.3)
    outcome = []
    worker = threading.Thread(target=lambda: outcome.append(
        pytest.raises(FastnetFileError, find, replace(TINY, mirrors=(url,)), tmp_path)))
    worker.start()
    worker.join(60)   # without the deadline, it would trickle on for ever
    stopping.set()
    stop(server)
    assert not worker.is_alive()
    assert f"{url}{NAMES[0]}: not complete after 0.3 s, the deadline for one file" in str(outcome[0].value)
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def flood():
    """A server on 127.0.0.1 that answers /announce with a Content-Length of 10**30 and
    anything else with zeros until the client stops reading; its URL and a list of the
    bytes it sent per request."""
    sent = []

    class Flood(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"   # no length: the body ends when the connection does

        def do_GET(self):
            self.send_response(200)
            if self.path.startswith("/announce"):
                self.send_header("Content-Length", str(10**30))
            self.end_headers()
            sent.append(0)
            try:
                while sent[-1] < 1 << 30:
                    self.wfile.write(bytes(1 << 16))
                    sent[-1] += 1 << 16
            except (BrokenPipeError, ConnectionResetError):  # the client gave up
                pass

        def log_message(self, *args):
            pass
    server, url = serve(Flood)
    yield url, sent
    stop(server)


@pytest.mark.parametrize("where, message", [
    ("", "the server sent more than {} bytes, the most the file can have"),
    ("announce/", "the server announces 1000000000000000000 bytes; the file has at most {}"),
])
def test_a_download_larger_than_the_file_can_be_is_cut_off(tmp_path, flood, where, message):
    # A hostile or broken mirror must not fill the disk: reading stops at the limit.
    url, sent = flood
    with pytest.raises(FastnetFileError) as caught:
        find(replace(TINY, mirrors=(url + where,)), tmp_path)
    limit = datasets._download_limit(TINY, NAMES[0])
    assert f"{url}{where}{NAMES[0]}: {message.format(limit)}" in str(caught.value)
    assert list(tmp_path.iterdir()) == []
    time.sleep(0.2)   # the server notices the closed connection
    assert sent[0] < 64 * (1 << 20), "the download was not cut off"


def test_the_official_files_are_within_the_download_limit(mnist_dir):
    for name in MNIST.files:
        size = (mnist_dir / name).stat().st_size
        assert size <= datasets._download_limit(MNIST, name)
        assert len(gzip.decompress((mnist_dir / name).read_bytes())) <= datasets._download_limit(MNIST, name)


def test_an_interrupted_download_leaves_no_part_file(tmp_path, drip):
    script = ("import sys; from dataclasses import replace; from fastnet import datasets; "
              "datasets.download_files(replace(datasets.MNIST, mirrors=(sys.argv[1],)), sys.argv[2])")
    command = [sys.executable, "-c", script, drip, str(tmp_path)]
    with subprocess.Popen(command, stderr=subprocess.PIPE, text=True) as process:
        try:
            while not list(tmp_path.glob("*.part")):  # the download has started
                assert process.poll() is None, process.stderr.read()
                time.sleep(0.01)
            process.send_signal(signal.SIGINT)
            _, stderr = process.communicate(timeout=60)
        finally:
            process.kill()
    assert process.returncode != 0 and "KeyboardInterrupt" in stderr
    assert list(tmp_path.iterdir()) == []
