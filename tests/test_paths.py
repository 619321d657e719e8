"""Output paths are checked before any work: `--checkpoint`, `--log` and `experiments --out`
that cannot be written end the command before training, naming the user's path."""
import contextlib
import os
import subprocess
import sys

import pytest

from commands import SMALL
from fastnet import paths
from fastnet.errors import FastnetFileError

#: Options and the paths they are given, relative to a folder holding a regular file notes.txt.
UNWRITABLE = [
    ("--checkpoint", "", "is a folder"),
    ("--checkpoint", "runs" + os.sep, "ends in a path separator"),
    ("--checkpoint", "notes.txt/ck.npz", "notes.txt is not a folder"),
    ("--checkpoint", "missing/ck.npz", "no folder"),
    ("--log", "", "is a folder"),
    ("--log", "notes.txt/log.jsonl", "notes.txt is not a folder"),
]


@pytest.mark.parametrize("option, name, reason", UNWRITABLE)
def test_train_checks_its_output_paths_before_training(run, tmp_path, option, name, reason):
    (tmp_path / "notes.txt").write_text("notes")
    path = str(tmp_path / name) + (os.sep if name.endswith(os.sep) else "")
    code, out, err = run("train", *SMALL, "--epochs", "1", option, path)
    assert code == 2 and out == ""
    assert err.startswith(f"fastnet train: error: argument {option}: {path}: ") and reason in err
    assert ".tmp" not in err and err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_a_device_is_no_file_to_save_over_but_a_log_may_go_to_one(run, tmp_path):
    code, _, err = run("train", *SMALL, "--epochs", "1", "--checkpoint", os.devnull)
    assert code == 2 and f"{os.devnull}: is a device or a pipe, not a file" in err
    with pytest.raises(FastnetFileError, match="is a device or a pipe"):
        paths.file_target(os.devnull)
    assert str(paths.writable_file(os.devnull, stream=True)) == os.devnull
    code, out, _ = run("train", *SMALL, "--epochs", "1", "--log", os.devnull)
    assert code == 0 and out.startswith("Epoch 0: ")


def test_a_log_to_stdout_through_a_pipe_is_written(mnist_dir):
    command = [sys.executable, "-m", "fastnet", "train", *SMALL, "--epochs", "1", "--quiet",
               "--data", str(mnist_dir), "--log", "/dev/stdout"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0].startswith('{"epoch": 0, "correct": ')


def test_a_folder_given_as_a_model_is_called_a_folder(run, tmp_path):
    code, _, err = run("evaluate", str(tmp_path))
    assert code == 2 and err == f"fastnet: error: {tmp_path}: is a folder, not a file\n"


def test_a_resumed_checkpoint_saved_in_place_is_checked_too(run, tmp_path):
    (tmp_path / "ck.npz").mkdir()
    code, out, err = run("train", *SMALL, "--resume", str(tmp_path / "ck.npz"))
    assert code == 2 and out == "" and str(tmp_path / "ck.npz") in err


@pytest.mark.parametrize("name", ["notes.txt", "notes.txt/results"])
def test_experiments_checks_out_before_any_run(run, tmp_path, name):
    (tmp_path / "notes.txt").write_text("notes")
    code, out, err = run("experiments", "chapter1", "--only", "no-hidden", "--seeds", "0",
                         "--epochs", "1", "--limit", "100", "--out", str(tmp_path / name))
    assert code == 2 and "seed 0" not in err and "no-hidden" not in err
    assert f"argument --out: {tmp_path / name}: " in err and err.count("\n") == 1


@contextlib.contextmanager
def read_only(folder):
    """``folder`` made read-only for this process for the ``with``: by its mode bits, or, for
    root (whom mode bits do not stop), by the immutable attribute (``chattr +i``)."""
    as_root = os.name == "posix" and os.geteuid() == 0
    if as_root:
        subprocess.run(["chattr", "+i", str(folder)], check=True)
    else:
        folder.chmod(0o555)
    try:
        yield
    finally:
        if as_root:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
        else:
            folder.chmod(0o755)


@pytest.mark.parametrize("argv", [["train", *SMALL, "--checkpoint"], ["train", *SMALL, "--log"],
                                  ["experiments", "chapter1", "--out"]])
def test_a_read_only_folder_is_refused_before_any_work(run, tmp_path, argv):
    folder = tmp_path / "read-only"
    folder.mkdir()
    with read_only(folder):
        code, out, err = run(*argv, str(folder / "output"))
    assert code == 2 and out == "" and f"{folder / 'output'}: cannot write in {folder}" in err


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="sysfs is Linux's")
@pytest.mark.parametrize("argv", [["train", *SMALL, "--log"], ["experiments", "chapter1", "--out"]])
def test_a_folder_no_one_may_write_in_is_refused_even_for_root(run, argv):
    code, out, err = run(*argv, "/sys/output")
    assert code == 2 and out == "" and "/sys/output: cannot write in /sys: " in err


def test_a_folder_to_be_made_is_checked_and_not_made(tmp_path):
    assert paths.writable_folder(tmp_path / "a" / "b") == tmp_path / "a" / "b"
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "a").write_text("a file")
    with pytest.raises(FastnetFileError, match=f"{tmp_path / 'a' / 'b'}: {tmp_path / 'a'} is not a folder"):
        paths.writable_folder(tmp_path / "a" / "b")


def test_a_writable_file_path_is_returned_and_nothing_is_left_behind(tmp_path):
    assert paths.writable_file(tmp_path / "ck.npz") == tmp_path / "ck.npz"
    assert list(tmp_path.iterdir()) == []


def test_without_a_checkpoint_path_the_current_folder_must_take_an_interrupts_save(
        run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with read_only(tmp_path):
        code, out, err = run("train", *SMALL, "--epochs", "1")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "cannot write in ." in err and "give --checkpoint PATH in a folder you can write" in err
