"""The ``fastnet`` command: checkpoints and exact resume, Ctrl-C, progress, logs, evaluate,
predict, and one-line errors for bad arguments."""
import gc
import gzip
import io
import importlib.util
import json
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import fastnet
import fastnet.network as network
from commands import SMALL, epoch_lines, signalled_train
from datafiles import idx_bytes, npy_bytes, png_declaring, write, zip_bytes
from fastnet import _scoped, _trainers, cli, mnist_loader, persist
from fastnet.datasets import MNIST
from fastnet.errors import FastnetFileError
from twins import seeded


def params(path):
    return fastnet.load(path).parameters


# -- checkpoints and resume ------------------------------------------------------------
def test_two_epochs_and_a_resume_for_two_more_equal_four_epochs_bit_for_bit(run, tmp_path):
    code, out, _ = run("train", *SMALL, "--seed", "3", "--epochs", "4", "--checkpoint", str(tmp_path / "all.npz"))
    assert code == 0
    four = epoch_lines(out)
    code, out, _ = run("train", *SMALL, "--seed", "3", "--epochs", "2", "--checkpoint", str(tmp_path / "ck.npz"))
    assert code == 0 and epoch_lines(out) == four[:2]
    code, out, _ = run("train", *SMALL, "--epochs", "4", "--resume", str(tmp_path / "ck.npz"))
    assert code == 0 and epoch_lines(out) == four[2:]
    assert four[2].startswith("Epoch 2: ") and four[3].startswith("Epoch 3: ")
    assert out.splitlines()[-1].startswith("Best: ")
    np.testing.assert_array_equal(params(tmp_path / "ck.npz"), params(tmp_path / "all.npz"))
    assert persist.resume(tmp_path / "ck.npz")[1] == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["all.npz", "ck.npz"]


def test_resume_with_other_training_data_is_refused(run, tmp_path):
    run("train", *SMALL, "--epochs", "1", "--checkpoint", str(tmp_path / "ck.npz"))
    code, _, err = run("train", *SMALL, "--limit", "500", "--resume", str(tmp_path / "ck.npz"))
    assert code == 2
    assert err == (f"fastnet: error: --limit 500 contradicts {tmp_path / 'ck.npz'}, a run with --limit 600; "
                   f"leave --limit out to continue that run\n")


def interrupt_in_call(monkeypatch, count):
    """Make the ``count``-th slice of training raise KeyboardInterrupt, as Ctrl-C would.
    Every slice is a hundredth of the epoch."""
    monkeypatch.setattr(network, "SLICE_SECONDS", 0.0)
    calls = []
    train_samples = network.Network._train_samples

    def interrupted(self, *args):
        calls.append(1)
        if len(calls) == count:
            raise KeyboardInterrupt
        return train_samples(self, *args)
    monkeypatch.setattr(network.Network, "_train_samples", interrupted)


def test_ctrl_c_mid_epoch_saves_the_last_finished_epoch_and_resumes_exactly(run, tmp_path, monkeypatch):
    code, out, _ = run("train", *SMALL, "--seed", "5", "--epochs", "3", "--checkpoint", str(tmp_path / "all.npz"))
    three = epoch_lines(out)
    monkeypatch.chdir(tmp_path)
    interrupt_in_call(monkeypatch, 60 + 30)  # 600 images in slices of 10: half-way through epoch 1
    code, out, err = run("train", *SMALL, "--seed", "5", "--epochs", "3")
    assert code == cli.INTERRUPTED == 130
    assert epoch_lines(out) == three[:1]
    assert err == ("fastnet: interrupted; saved the state after 1 epoch(s) to fastnet-checkpoint.npz; "
                   "continue with --resume fastnet-checkpoint.npz\n")
    monkeypatch.undo()
    code, out, _ = run("train", *SMALL, "--epochs", "3", "--resume", str(tmp_path / "fastnet-checkpoint.npz"))
    assert code == 0 and epoch_lines(out) == three[1:]
    np.testing.assert_array_equal(params(tmp_path / "fastnet-checkpoint.npz"), params(tmp_path / "all.npz"))


def test_an_interrupt_never_overwrites_an_earlier_runs_default_checkpoint(run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "fastnet-checkpoint.npz").write_bytes(b"an earlier run's state")
    interrupt_in_call(monkeypatch, 2)
    code, _, err = run("train", *SMALL, "--seed", "5", "--epochs", "3")
    assert code == 130 and "to fastnet-checkpoint-2.npz; continue with --resume fastnet-checkpoint-2.npz" in err
    assert (tmp_path / "fastnet-checkpoint.npz").read_bytes() == b"an earlier run's state"
    assert fastnet.load(tmp_path / "fastnet-checkpoint-2.npz").sizes == (784, 10, 10)


def test_ctrl_c_in_the_first_epoch_saves_the_starting_point(run, tmp_path, monkeypatch):
    interrupt_in_call(monkeypatch, 2)
    code, _, err = run("train", *SMALL, "--seed", "5", "--epochs", "3", "--checkpoint", str(tmp_path / "ck.npz"))
    assert code == 130 and "after 0 epoch(s)" in err
    np.random.seed(5)
    np.testing.assert_array_equal(params(tmp_path / "ck.npz"), network.Network([784, 10, 10]).parameters)


def test_sigint_stops_a_real_run_with_a_checkpoint(mnist_dir, tmp_path):
    checkpoint = tmp_path / "ck.npz"
    child, err = signalled_train(mnist_dir, signal.SIGINT, "--checkpoint", str(checkpoint))
    assert child.returncode == 130
    assert err.startswith("fastnet: interrupted; saved the state after ") and "Traceback" not in err
    net, epoch, order = persist.resume(checkpoint)
    assert epoch >= 1 and sorted(order) == list(range(600))


# -- start-up: MNIST read while the kernels load -----------------------------------------
def test_the_command_reads_its_arguments_without_numba():
    """So ``fastnet train`` starts reading MNIST before Numba and the kernels' modules load
    (and ``--help``, ``--version`` and mistakes answer at once)."""
    found = subprocess.run([sys.executable, "-c", "import sys, fastnet.cli; print('numba' in sys.modules)"],
                           capture_output=True, text=True, check=True).stdout
    assert found == "False\n"


TRAIN_AND_LIST_SCIPY = """
import sys
import fastnet.__main__
sys.argv = ["fastnet", "train", *sys.argv[1:]]
code = fastnet.__main__.main()
print(code, sorted(name for name in sys.modules if name.split(".")[0] == "scipy"))
"""


def test_training_imports_no_scipy_where_it_is_installed(mnist_dir):
    """Numba imports SciPy (and at its first kernel scipy.linalg) when it is installed;
    ``fastnet train``, which calls no BLAS, starts 0.1 s sooner without."""
    pytest.importorskip("scipy")
    found = subprocess.run([sys.executable, "-c", TRAIN_AND_LIST_SCIPY, *SMALL, "--epochs", "1",
                            "--quiet", "--data", str(mnist_dir)],
                           capture_output=True, text=True, check=True).stdout
    assert found.splitlines()[-1] == "0 []"


def test_mnist_is_read_in_a_thread_while_the_kernels_load_with_the_collector_paused(run, mnist, monkeypatch):
    """...and with Python's threads switching every ``START_SWITCH_INTERVAL``, restored after."""
    seen, interval = {}, sys.getswitchinterval()
    assert interval != cli.START_SWITCH_INTERVAL

    def read(path=None):
        seen["read on the main thread"] = threading.current_thread() is threading.main_thread()
        return mnist

    def preload(net, batch):
        seen["preload on the main thread"] = threading.current_thread() is threading.main_thread()
        seen["collector on"] = gc.isenabled()
        seen["switch interval"] = sys.getswitchinterval()
    monkeypatch.setattr(mnist_loader, "load_data", read)
    monkeypatch.setattr(_trainers, "preload", preload)
    code, out, _ = run("train", *SMALL, "--epochs", "1")
    assert code == 0 and out.startswith("Epoch 0: ") and gc.isenabled()
    assert seen.pop("switch interval") == pytest.approx(cli.START_SWITCH_INTERVAL)   # kept in µs
    assert seen == {"read on the main thread": False, "preload on the main thread": True,
                    "collector on": False}
    assert sys.getswitchinterval() == interval


def test_a_scoped_setting_is_put_back_also_when_the_block_raises():
    values = [1]
    with pytest.raises(KeyError), _scoped.setting(lambda: values[-1], values.append, 2):
        assert values[-1] == 2
        raise KeyError
    assert values == [1, 2, 1]


def test_an_error_reading_mnist_is_the_commands_one_line(run, monkeypatch):
    def damaged(path=None):
        raise FastnetFileError("data/train-images-idx3-ubyte.gz: it is truncated or corrupt")
    monkeypatch.setattr(mnist_loader, "load_data", damaged)
    code, out, err = run("train", *SMALL, "--epochs", "1")
    assert (code, out) == (2, "")
    assert err == "fastnet: error: data/train-images-idx3-ubyte.gz: it is truncated or corrupt\n"


def test_meanwhile_gives_the_threads_result_and_leaves_no_thread_but_on_an_interrupt():
    def alive():
        return [thread for thread in threading.enumerate() if thread.name == "test: meanwhile"]
    with cli._meanwhile(lambda: 42, "test: meanwhile") as result:
        assert result() == 42
    with cli._meanwhile(lambda: 1 / 0, "test: meanwhile") as result, pytest.raises(ZeroDivisionError):
        result()
    with pytest.raises(ValueError), cli._meanwhile(lambda: time.sleep(0.2), "test: meanwhile"):
        raise ValueError("the block failed first")   # the thread is waited for all the same
    assert not alive()
    release = threading.Event()
    with pytest.raises(KeyboardInterrupt), cli._meanwhile(lambda: release.wait(10), "test: meanwhile"):
        raise KeyboardInterrupt   # Ctrl-C: no waiting (the thread may be downloading)
    try:
        assert alive()
    finally:
        release.set()


# -- progress, quiet, log --------------------------------------------------------------
def test_training_in_slices_for_progress_is_bit_identical(monkeypatch):
    monkeypatch.setattr(network, "SLICE_SECONDS", 0.0)   # the smallest slices: the most of them
    rng = np.random.default_rng(2)
    X, y = rng.random((1234, 6)), rng.integers(0, 3, 1234)
    nets, reports = [], []
    for progress in (None, reports.append):
        nets.append(seeded(network.Network, [6, 5, 3], 1))
        list(nets[-1].train((X, y), 2, 7, 3.0, progress=progress))
    np.testing.assert_array_equal(nets[0].parameters, nets[1].parameters)
    first_epoch = reports[:len(reports) // 2]
    assert reports == first_epoch * 2 and first_epoch[-1] == 1234
    assert 50 <= len(first_epoch) <= network.PROGRESS_STEPS
    assert all(done % 7 == 0 for done in first_epoch[:-1]) and first_epoch == sorted(first_epoch)


@pytest.mark.parametrize("speed", [1e3, 1e5])
def test_an_epoch_in_slices_of_about_slice_seconds(speed):
    """After its first slice, a hundredth of the epoch, each slice is what the last one's
    speed (samples a second) trains in ``SLICE_SECONDS``, whole mini-batches."""
    smallest = 7 * -(-1234 // (7 * network.PROGRESS_STEPS))
    wanted = speed * network.SLICE_SECONDS
    step = network._slice_samples(smallest, smallest / speed, smallest, 7)
    assert step % 7 == 0 and wanted - 7 < step <= wanted
    assert network._slice_samples(smallest, 10.0, smallest, 7) == smallest   # never smaller
    assert network._slice_samples(smallest, 0.0, smallest, 7) > 10**6   # too quick to time


def test_quick_epochs_come_in_few_slices():
    rng = np.random.default_rng(2)
    X, y = rng.random((1234, 6)), rng.integers(0, 3, 1234)
    reports = []
    list(seeded(network.Network, [6, 5, 3], 1).train((X, y), 1, 7, 3.0, progress=reports.append))
    assert reports[0] == 7 * -(-1234 // (7 * network.PROGRESS_STEPS)) and reports[-1] == 1234
    assert len(reports) < 10   # 1234 samples train in far less than SLICE_SECONDS


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_on_a_terminal_only_and_never_when_quiet(run, monkeypatch):
    pytest.importorskip("tqdm")
    monkeypatch.setattr(sys, "stderr", Terminal())
    run("train", *SMALL, "--epochs", "1")
    assert "/600 [" in sys.stderr.getvalue() and "img/s" in sys.stderr.getvalue()
    monkeypatch.setattr(sys, "stderr", Terminal())
    code, out, _ = run("train", *SMALL, "--epochs", "2", "--quiet")
    assert code == 0 and sys.stderr.getvalue() == ""
    assert len(out.splitlines()) == 1 and out.startswith("Best: ")
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    run("train", *SMALL, "--epochs", "1")
    assert sys.stderr.getvalue() == ""


def test_without_tqdm_there_is_no_bar_and_no_error(run, monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm now raises ImportError
    monkeypatch.setattr(sys, "stderr", Terminal())
    code, out, _ = run("train", *SMALL, "--epochs", "1")
    assert code == 0 and sys.stderr.getvalue() == "" and epoch_lines(out)


def test_log_writes_a_json_line_per_epoch_with_the_training_cost(run, tmp_path, mnist):
    log, checkpoint = tmp_path / "metrics.jsonl", tmp_path / "ck.npz"
    code, out, _ = run("train", *SMALL, "--epochs", "2", "--log", str(log), "--checkpoint", str(checkpoint))
    run("train", *SMALL, "--epochs", "3", "--log", str(log), "--resume", str(checkpoint))
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [line["epoch"] for line in lines] == [0, 1, 2]
    assert set(lines[0]) == {"epoch", "correct", "total", "seconds", "training_cost"}
    assert f"Epoch 0: {lines[0]['correct']} / {lines[0]['total']}" in out and lines[0]["total"] == 10000
    (X, y), _, _ = mnist
    assert lines[-1]["training_cost"] == fastnet.load(checkpoint).total_cost((X[:600], y[:600]))
    assert 0 < lines[-1]["training_cost"] < lines[0]["training_cost"] < 0.5


def test_a_cost_that_overflows_is_logged_as_null_in_strict_json(run, tmp_path):
    log = tmp_path / "metrics.jsonl"
    code, _, err = run("train", *SMALL[:-2], "--eta", "1e10", "--cost", "cross-entropy", "--epochs", "1",
                       "--log", str(log))
    def no_constants(name):
        raise ValueError(f"{name} is not JSON")
    [line] = [json.loads(text, parse_constant=no_constants) for text in log.read_text().splitlines()]
    assert code == 0 and line["training_cost"] is None and "Warning" not in err


def test_a_log_on_the_checkpoint_or_a_refused_lmbda_leaves_files_alone(run, tmp_path):
    log = tmp_path / "metrics.jsonl"
    log.write_text("an earlier run's log\n")
    code, _, err = run("train", *SMALL, "--epochs", "1", "--checkpoint", str(log), "--log", str(log))
    assert code == 2 and err == (f"fastnet: error: --checkpoint {log} is the file of --log {log}; "
                                 f"give each its own file\n")
    code, _, err = run("train", *SMALL, "--epochs", "1", "--lmbda", "1e300", "--log", str(log))
    assert code == 2 and "lmbda=1e+300 is too large" in err
    assert log.read_text() == "an earlier run's log\n"


def test_cost_is_the_mean_quadratic_cost():
    net = network.Network([3, 2])
    X, y = np.random.rand(5, 3), np.array([0, 1, 1, 0, 1])
    outputs = net.feedforward(X.T).T
    expected = np.mean([0.5 * np.sum((a - np.eye(2)[label]) ** 2) for a, label in zip(outputs, y)])
    assert net.total_cost((X, y)) == pytest.approx(expected, rel=1e-12)


# -- evaluate and predict --------------------------------------------------------------
@pytest.fixture(scope="module")
def model(mnist, tmp_path_factory):
    (X, y), _, _ = mnist
    net = seeded(network.Network, [784, 20, 10], 0)
    net.SGD((X[:3000], y[:3000]), 2, 10, 3.0)
    path = tmp_path_factory.mktemp("model") / "model.npz"
    net.save(path)
    return path


def test_evaluate_prints_accuracy_and_confusion_matrix(run, model, mnist):
    code, out, _ = run("evaluate", str(model))
    _, _, test = mnist
    correct = fastnet.load(model).evaluate(test)
    lines = out.splitlines()
    assert code == 0
    assert lines[0] == f"Test accuracy: {correct} / 10000 ({correct / 100:.2f}%)"
    matrix = np.array([[int(c) for c in line.split()[1:]] for line in lines[3:]])
    assert matrix.shape == (10, 10) and matrix.sum() == 10000 and np.trace(matrix) == correct
    assert (matrix.sum(axis=1) == np.bincount(test[1], minlength=10)).all()


def digit_png(pixels, path, scale=5):
    """Save 28x28 pixels in [0, 1] as an upscaled, dark-on-light image file."""
    Image = pytest.importorskip("PIL.Image")
    gray = 255 - np.rint(pixels.reshape(28, 28) * 255).astype(np.uint8)
    Image.fromarray(gray, "L").resize((28 * scale, 28 * scale), Image.Resampling.NEAREST).save(path)
    return path


def test_predict_prints_the_digit_and_the_ten_activations_of_the_prepared_image(run, model, mnist, tmp_path):
    from fastnet import images
    _, _, (X_test, _) = mnist
    net = fastnet.load(model)
    image = digit_png(X_test[0], tmp_path / "digit.png")
    code, out, _ = run("predict", str(model), str(image))
    expected = net.feedforward(images.prepare(image))
    lines = out.splitlines()
    assert code == 0 and len(lines) == 11
    assert lines[0] == f"Digit: {np.argmax(expected)}" == f"Digit: {np.argmax(net.feedforward(X_test[0]))}"
    assert [line.split(":")[0] for line in lines[1:]] == [f"  {digit}" for digit in range(10)]
    np.testing.assert_allclose([float(line.split(":")[1]) for line in lines[1:]], expected, atol=1e-6)


def test_predict_and_read_several_images_print_a_line_each_and_go_on_past_a_bad_one(run, model, mnist, tmp_path):
    _, _, (X_test, _) = mnist
    net = fastnet.load(model)
    paths = [digit_png(X_test[index], tmp_path / f"digit{index}.png") for index in range(3)]
    digit_png(np.zeros(784), tmp_path / "blank.png")
    argv = [str(paths[0]), str(tmp_path / "blank.png"), str(paths[1]), str(paths[2])]
    expected = np.argmax(net.feedforward(X_test[:3].T), axis=0)
    for command in ("predict", "read"):
        code, out, err = run(command, str(model), *argv)
        assert code == 2
        assert out.splitlines() == [f"{path}: {digit}" for path, digit in zip(paths, expected)]
        assert err == f"fastnet: error: {tmp_path / 'blank.png'}: no ink found: the image is blank " \
                      f"(or its ink is too faint to tell from the paper)\n"


def test_read_prints_just_the_digits_of_one_image(run, digit_net, mnist, tmp_path):
    """The first five MNIST test digits side by side, as MNIST gives them, 4x larger."""
    Image = pytest.importorskip("PIL.Image")
    _, model = digit_net
    _, _, (X_test, y_test) = mnist
    row = np.hstack([np.pad(X_test[index].reshape(28, 28), ((0, 0), (4, 4))) for index in range(5)])
    Image.fromarray(255 - np.rint(row * 255).astype(np.uint8)).resize((row.shape[1] * 4, 112)).save(tmp_path / "n.png")
    code, out, _ = run("read", str(model), str(tmp_path / "n.png"))
    assert code == 0 and out == "".join(map(str, y_test[:5])) + "\n" == "72104\n"


@pytest.mark.parametrize("side", [30000, 10000])
def test_a_decompression_bomb_is_one_line_error(run, model, tmp_path, side):
    """A 65-byte PNG that declares 30000x30000 pixels (Pillow alone raises its own traceback),
    or 10000x10000 (Pillow alone warns)."""
    pytest.importorskip("PIL.Image")
    pytest.importorskip("scipy.ndimage")
    (tmp_path / "bomb.png").write_bytes(png_declaring(side, side))
    for command in ("predict", "read"):
        code, out, err = run(command, str(model), str(tmp_path / "bomb.png"))
        assert code == 2 and out == ""
        assert err.startswith(f"fastnet: error: {tmp_path / 'bomb.png'}: refused: it declares more than ")
        assert err.count("\n") == 1 and "Traceback" not in err


HOSTILE_MODELS = {  # issue 12, item 6, through the command: each member is the same trap
    "claims 10^11 floats": (dict(), npy_bytes("<f8", (10**11,), bytes(800)), "promises 800000000000 bytes"),
    "sizes overflow int64": (dict(), npy_bytes("<f8", (10**20, 1)), "promises 800000000000000000000 bytes"),
    "compression method 98": (dict(method=98), npy_bytes("<f8", (3,), bytes(24)), "compression method 98"),
    "encrypted": (dict(flag=0x1), npy_bytes("<f8", (3,), bytes(24)), "the member is encrypted"),
}


@pytest.mark.parametrize("case", HOSTILE_MODELS)
def test_a_hostile_model_file_is_one_line_error(run, tmp_path, case):
    options, member, message = HOSTILE_MODELS[case]
    names = ["format_version", "sizes", "dtype", "params"]
    path = write(tmp_path / "hostile.npz", zip_bytes({f"{name}.npy": member for name in names}, **options))
    for command in ("evaluate", "predict"):
        code, out, err = run(command, str(path), *(["x.png"] if command == "predict" else []))
        assert (code, out) == (2, "")
        assert err.startswith(f"fastnet: error: {path}: format_version.npy: ") and message in err
        assert err.count("\n") == 1 and "Traceback" not in err


def test_a_hostile_mnist_folder_is_one_line_error(tmp_path, capsys):
    """A small gzip whose IDX header claims ten times MNIST's images: refused from the header."""
    claim = idx_bytes(np.zeros(0), dims=(600_000, 28, 28))
    names = list(MNIST.files)
    write(tmp_path / names[0], gzip.compress(claim + bytes(1_000_000), compresslevel=1))
    for name in names[1:]:
        write(tmp_path / name, b"")
    assert cli.main(["train", "--sizes", "784,10,10", "--epochs", "1", "--data", str(tmp_path)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("fastnet: error: ") and "claims shape (600000, 28, 28), expected (60000, 28, 28)" in err


def test_predict_without_pillow_says_how_to_get_it(run, model, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "PIL", None)
    (tmp_path / "digit.png").write_bytes(b"an image Pillow would read")
    for command, *argv in [("predict", str(tmp_path / "digit.png")), ("read", str(tmp_path / "digit.png")),
                           ("serve", "--port", "0")]:
        code, _, err = run(command, str(model), *argv)
        assert code == 2
        assert err == (f"fastnet {command}: error: reading images needs Pillow and SciPy (PIL is missing): "
                       f"pip install 'fastnet-nndl[image]'\n")


# -- bad arguments: exit code 2, one line, no traceback ---------------------------------
@pytest.mark.parametrize("argv, message", [
    (["train", "--sizes", "784,0,10"], "fastnet train: error: argument --sizes: sizes[1] must be an "
                                       "integer >= 1, got 0 (see fastnet train --help)"),
    (["train", "--sizes", "784,x,10"], "fastnet train: error: argument --sizes: invalid sizes value: '784,x,10'"),
    (["train", "--sizes", "100,10"], "argument --sizes: MNIST needs 784 inputs and 10 outputs, as in 784,30,10; got 100,10"),
    (["train", "--sizes", "784"], "argument --sizes: sizes must name at least 2 layers (inputs and outputs), got [784]"),
    (["train", "--eta", "-1"], "fastnet train: error: argument --eta: eta must be finite and > 0, got -1.0"),
    (["train", "--eta", "nan"], "argument --eta: eta must be finite and > 0, got nan"),
    (["train", "--eta", "fast"], "argument --eta: invalid float value: 'fast'"),
    (["train", "--batch", "0"], "fastnet train: error: argument --batch: batch must be an integer >= 1, got 0"),
    (["train", "--batch", "2.5"], "argument --batch: invalid int value: '2.5'"),
    (["train", "--epochs", "0"], "argument --epochs: epochs must be an integer >= 1, got 0"),
    (["train", "--limit", "0"], "argument --limit: limit must be an integer >= 1, got 0"),
    (["train", "--seed", "-2"], "argument --seed: seed must be an integer from 0 to 2**32 - 1, got -2"),
    (["train", "--dtype", "float16"], "argument --dtype: invalid choice: 'float16'"),
    (["train", "--checkpoint", "/no/such/folder/ck.npz"], "fastnet train: error: argument --checkpoint: "
                                                          "/no/such/folder/ck.npz: no folder /no/such/folder"),
    (["train", "--log", "/no/such/folder/log.jsonl"], "fastnet train: error: argument --log: "
                                                      "/no/such/folder/log.jsonl: no folder /no/such/folder"),
    (["train", "--resume", "/no/such/ck.npz"], "fastnet: error: /no/such/ck.npz: no such file"),
    (["train", "--frobnicate"], "fastnet: error: unrecognized arguments: --frobnicate"),
    (["fly"], "fastnet: error: argument command: invalid choice: 'fly'"),
    ([], "fastnet: error: the following arguments are required: command"),
    (["evaluate"], "fastnet evaluate: error: the following arguments are required: model"),
    (["evaluate", "missing.npz"], "fastnet: error: missing.npz: no such file"),
    (["predict", "missing.npz", "digit.png"], "fastnet: error: missing.npz: no such file"),
    (["read", "missing.npz", "digit.png"], "fastnet: error: missing.npz: no such file"),
    (["serve", "missing.npz"], "fastnet: error: missing.npz: no such file"),
    (["predict", "model.npz"], "fastnet predict: error: the following arguments are required: IMAGE"),
    (["serve", "model.npz", "--port", "65536"], "argument --port: port must be an integer from 0 to 65535, got 65536"),
])
def test_bad_arguments_exit_2_with_one_line(argv, message, capsys):
    try:
        code = cli.main(argv)
    except SystemExit as exit:  # argparse's way out, as for --help
        code = exit.code
    assert code == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and message in err and "Traceback" not in err


def test_bad_files_exit_2_with_one_line(run, model, tmp_path):
    (tmp_path / "corrupt.npz").write_bytes(model.read_bytes()[:500])
    (tmp_path / "not-an-image.png").write_text("hello")
    network.Network([5, 3]).save(tmp_path / "small.npz")
    cases = [
        (("evaluate", str(tmp_path / "corrupt.npz")), "corrupt.npz: not a .npz archive (not a readable zip file)"),
        (("train", *SMALL, "--resume", str(model)), "model.npz: lacks arrays ['epoch', 'order'"),
        (("evaluate", str(tmp_path / "small.npz")), "small.npz holds a network with sizes [5, 3]; "
                                                     "MNIST needs 784 inputs and 10 outputs"),
        (("predict", str(model), str(tmp_path / "missing.png")), "missing.png: no such image file"),
    ]
    if importlib.util.find_spec("PIL") is not None:
        cases.append((("predict", str(model), str(tmp_path / "not-an-image.png")),
                      "not-an-image.png: not an image fastnet reads"))
    for argv, message in cases:
        code, out, err = run(*argv)
        assert code == 2 and err.count("\n") == 1 and message in err, (argv, err)
