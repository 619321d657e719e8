"""Network.save / fastnet.load and checkpoints: exact round trips, atomic writes, clear
errors for truncated or foreign files."""
import os
import random
import signal
import stat
import subprocess
import sys

import numpy as np
import pytest

import fastnet
import fastnet.network as network
from fastnet import persist
from fastnet.errors import FastnetFileError


@pytest.fixture
def net():
    np.random.seed(1)
    return network.Network([6, 5, 3])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_save_and_load_round_trip_exactly(tmp_path, dtype):
    original = network.Network([6, 5, 4, 3], dtype=dtype)
    original.save(tmp_path / "model.npz")
    state = np.random.get_state()
    loaded = fastnet.load(tmp_path / "model.npz")
    assert np.random.get_state()[2] == state[2] and np.array_equal(np.random.get_state()[1], state[1])
    assert loaded.sizes == original.sizes and loaded.dtype == original.dtype
    for got, expected in zip(loaded.weights + loaded.biases, original.weights + original.biases):
        assert got.dtype == dtype
        np.testing.assert_array_equal(got, expected)
    x = np.random.rand(6, 4)
    np.testing.assert_array_equal(loaded.feedforward(x), original.feedforward(x))


def test_the_file_is_a_plain_npz_readable_without_pickle(tmp_path, net):
    net.save(tmp_path / "model")  # the exact path given, no .npz appended
    with np.load(tmp_path / "model", allow_pickle=False) as archive:
        assert set(archive.files) == set(persist.MODEL_KEYS)
        assert archive["format_version"] == persist.FORMAT_VERSION
        assert archive["sizes"].tolist() == [6, 5, 3] and str(archive["dtype"]) == "float64"
        np.testing.assert_array_equal(archive["params"], net.parameters)


def test_an_interrupted_save_keeps_the_old_file_and_leaves_no_temporary(tmp_path, net, monkeypatch):
    path = tmp_path / "model.npz"
    net.save(path)
    old = path.read_bytes()

    def write_half_then_fail(file, **arrays):
        file.write(b"PK\x03\x04 half a zip")
        raise KeyboardInterrupt

    monkeypatch.setattr(persist.np, "savez", write_half_then_fail)
    net.weights[0][...] = 0.0
    with pytest.raises(KeyboardInterrupt):
        net.save(path)
    assert path.read_bytes() == old
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]
    np.testing.assert_array_equal(fastnet.load(path).biases[0], net.biases[0])


def test_a_save_replaces_the_file_and_goes_through_fsync(tmp_path, net, monkeypatch):
    synced = []
    monkeypatch.setattr(persist.os, "fsync", lambda fd: synced.append(fd))
    path = tmp_path / "model.npz"
    path.write_bytes(b"an older model")
    net.save(path)
    assert synced and [p.name for p in tmp_path.iterdir()] == ["model.npz"]
    np.testing.assert_array_equal(fastnet.load(path).parameters, net.parameters)


def arrays_of(net, **changes):
    arrays = persist.model_arrays(net)
    arrays.update(changes)
    return {key: value for key, value in arrays.items() if value is not None}


BAD_FILES = {
    "missing": (None, r"missing.npz: no such file"),
    "random bytes": (np.random.default_rng(0).bytes(3000), r"not a .npz archive"),
    "empty": (b"", r"not a .npz archive"),
    "a .npy": ("npy", r"not a .npz archive"),
    "foreign npz": ({"x_train": np.zeros(3)}, r"lacks arrays \['format_version', 'sizes', 'dtype', 'params'\]"),
    "no params": (dict(params=None), r"lacks arrays \['params'\]"),
    "future version": (dict(format_version=np.int64(3)), r"format version 3; this fastnet reads versions 1, 2"),
    "text version": (dict(format_version=np.str_("one")), r"format version one"),
    "short params": (dict(params=np.zeros(10)), r"parameters must be 53 values for sizes \(6, 5, 3\), "
                                                 r"got shape \(10,\)"),
    "params of another dtype": (dict(params=np.zeros(53, np.float32)), r"params must be float64 values, got float32"),
    "NaN params": (dict(params=np.full(53, np.nan)), r"params hold NaN or inf"),
    "zero size": (dict(sizes=np.array([6, 0, 3])), r"sizes\[1\] must be an integer >= 1, got 0"),
    "one layer": (dict(sizes=np.array([6])), r"sizes must name at least 2 layers"),
    "float sizes": (dict(sizes=np.array([6.0, 3.0])), r"sizes must be a list of integers"),
    "huge sizes": (dict(sizes=np.array([10**9, 10**9])), r"sizes \(1000000000, 1000000000\): 1,000,000,001,000,000,000 "
                                                 r"parameters need [\d,.]+ GiB as float64, more than this machine's"),
    "int dtype": (dict(dtype=np.str_("int8")), r"dtype must be 'float32' or 'float64', got array\('int8'"),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_bad_model_files_are_clear_errors(tmp_path, net, case):
    content, message = BAD_FILES[case]
    path = tmp_path / "missing.npz"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content == "npy":
        np.save(tmp_path / "model.npy", np.zeros(3))
        path = tmp_path / "model.npy"
    elif isinstance(content, dict):
        with open(path, "wb") as file:
            np.savez(file, **(content if "x_train" in content else arrays_of(net, **content)))
    with pytest.raises(FastnetFileError, match=message):
        fastnet.load(path)
    assert issubclass(FastnetFileError, ValueError)


def test_truncated_and_corrupted_model_files(tmp_path, net):
    net.save(tmp_path / "good.npz")
    good = (tmp_path / "good.npz").read_bytes()
    for cut in (10, len(good) // 2, len(good) - 1):
        (tmp_path / "bad.npz").write_bytes(good[:cut])
        with pytest.raises(FastnetFileError, match=r"bad.npz: "):
            fastnet.load(tmp_path / "bad.npz")
    middle = len(good) // 2
    (tmp_path / "bad.npz").write_bytes(good[:middle] + bytes([good[middle] ^ 0xFF]) + good[middle + 1:])
    with pytest.raises(FastnetFileError, match=r"bad.npz: "):
        fastnet.load(tmp_path / "bad.npz")


def test_a_pickled_object_array_is_refused(tmp_path, net):
    with open(tmp_path / "evil.npz", "wb") as file:
        np.savez(file, **arrays_of(net, sizes=np.array([6, 5, 3], dtype=object)))
    with pytest.raises(FastnetFileError, match=r"Object arrays cannot be loaded when allow_pickle=False"):
        fastnet.load(tmp_path / "evil.npz")


# -- checkpoints --------------------------------------------------------------------------
def test_checkpoint_resume_restores_network_order_and_random_states(tmp_path, net):
    random.seed(3)
    np.random.seed(4)
    random.gauss(0, 1)  # leaves a cached value behind
    np.random.standard_normal()
    order = [2, 0, 1, 3]
    persist.write(tmp_path / "ck.npz", persist.checkpoint(net, 7, order))
    expected = [random.random(), random.gauss(0, 1), np.random.standard_normal(3)]
    random.seed(99)
    np.random.seed(99)
    loaded, epoch, loaded_order = persist.resume(tmp_path / "ck.npz")
    got = [random.random(), random.gauss(0, 1), np.random.standard_normal(3)]
    assert epoch == 7 and loaded_order == order
    assert got[:2] == expected[:2]
    np.testing.assert_array_equal(got[2], expected[2])
    np.testing.assert_array_equal(loaded.parameters, net.parameters)
    np.testing.assert_array_equal(fastnet.load(tmp_path / "ck.npz").parameters, net.parameters)


@pytest.mark.parametrize("change, message", [
    (dict(epoch=np.int64(-1)), r"epoch must be a count of epochs"),
    (dict(epoch=np.float64(1.5)), r"epoch must be a count of epochs"),
    (dict(order=np.array([0, 0, 1])), r"order must hold each of the sample indices 0..2 once"),
    (dict(np_random_state=np.zeros(3, dtype=np.int64)), r"np_random_state must be 624 32-bit keys"),
    (dict(np_random_state=np.full(626, 10**6)), r"np_random_state must be 624 32-bit keys, a position 0..624"),
    (dict(random_state=np.zeros(5, dtype=np.int64)), r"random_state must be 625 integers"),
    (dict(order=np.ndarray((10**8,), "V0")), r"order.npy: its header claims items of \|V0, of no bytes"),
    (dict(order=np.zeros((3, 4), dtype=np.int64)), r"order must be a vector of sample indices"),
    (dict(random_state=np.full(625, -1)), r"the saved state of random is invalid"),
    (dict(random_gauss=np.zeros(3)), r"the saved state of random is invalid"),
])
def test_bad_checkpoints_are_clear_errors(tmp_path, net, change, message):
    arrays = persist.checkpoint(net, 2, [1, 0, 2])
    arrays.update(change)
    persist.write(tmp_path / "ck.npz", arrays)
    with pytest.raises(FastnetFileError, match=message):
        persist.resume(tmp_path / "ck.npz")


def test_a_refused_checkpoint_leaves_the_random_states_alone(tmp_path, net):
    arrays = persist.checkpoint(net, 2, [1, 0, 2])
    arrays["np_random_gauss"] = np.str_("x")
    persist.write(tmp_path / "ck.npz", arrays)
    random.seed(7)
    before = random.getstate()
    with pytest.raises(FastnetFileError, match="the saved state of random is invalid"):
        persist.resume(tmp_path / "ck.npz")
    assert random.getstate() == before


def test_a_model_file_is_not_a_checkpoint(tmp_path, net):
    net.save(tmp_path / "model.npz")
    with pytest.raises(FastnetFileError, match=r"lacks arrays \['epoch', 'order'"):
        persist.resume(tmp_path / "model.npz")


def test_import_fastnet_is_cheap_and_load_is_there_on_demand():
    code = ("import sys, fastnet; assert 'numpy' not in sys.modules; "
            "assert fastnet.load.__module__ == 'fastnet.persist'")
    subprocess.run([sys.executable, "-c", code], check=True)
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        fastnet.nothing


# -- where and how a save writes ------------------------------------------------------
def test_a_save_writes_through_a_symlink_to_its_target(tmp_path, net):
    target = tmp_path / "models" / "model.npz"
    target.parent.mkdir()
    target.write_bytes(b"an older model")
    link = tmp_path / "latest.npz"
    link.symlink_to(target)
    net.save(link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    np.testing.assert_array_equal(fastnet.load(target).parameters, net.parameters)
    assert [p.name for p in target.parent.iterdir()] == ["model.npz"]


def test_a_save_keeps_a_files_permissions_and_new_files_follow_the_umask(tmp_path, net):
    path = tmp_path / "model.npz"
    path.write_bytes(b"an older model")
    path.chmod(0o600)
    net.save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    umask = os.umask(0o027)
    try:
        net.save(tmp_path / "new.npz")
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "new.npz").stat().st_mode) == 0o640


@pytest.mark.parametrize("name, message", [("runs" + os.sep, r"ends in a path separator"),
                                           ("models", r"models: is a folder")])
def test_a_save_to_a_folder_is_an_error(tmp_path, net, name, message):
    (tmp_path / "models").mkdir()
    with pytest.raises(FastnetFileError, match=message):
        net.save(str(tmp_path) + os.sep + name)
    assert [p.name for p in tmp_path.iterdir()] == ["models"] and not any((tmp_path / "models").iterdir())


def test_a_failed_save_names_the_path_given_not_a_temporary(tmp_path, net):
    with pytest.raises(FileNotFoundError) as error:
        net.save(tmp_path / "missing" / "model.npz")
    assert error.value.filename == str(tmp_path / "missing" / "model.npz") and ".tmp" not in str(error.value)


SLOW_SAVE = """
import sys, time
import numpy as np
from fastnet import persist
def savez(file, **arrays):
    file.write(b"PK half a zip"); file.flush()
    print("writing", flush=True)
    time.sleep(120)
persist.np.savez = savez
persist.write(sys.argv[1], {"x": np.zeros(3)})
"""


def test_temporaries_of_killed_saves_are_removed_and_live_ones_kept(tmp_path, net):
    path = tmp_path / "model.npz"
    with subprocess.Popen([sys.executable, "-c", SLOW_SAVE, str(path)], stdout=subprocess.PIPE,
                          text=True) as child:
        try:
            assert child.stdout.readline() == "writing\n"
            net.save(path)                                # the other save is still under way
            assert len(list(tmp_path.iterdir())) == 2
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=60)
        finally:
            child.kill()
    assert len(list(tmp_path.iterdir())) == 2             # kill -9 left its temporary behind
    net.save(path)
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]
    np.testing.assert_array_equal(fastnet.load(path).parameters, net.parameters)
