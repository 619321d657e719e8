"""`fastnet train` and its loop (fastnet.training): one seeded run exactly as the command
runs it, the options that reach the network, checkpoints that carry their run (settings
and history), resumes that refuse contradictions, and signals that stop training like
Ctrl-C with the checkpoint and the log in agreement."""
import json
import os
import random
import signal

import numpy as np
import pytest

import fastnet
import fastnet.network as network
from commands import SMALL, epoch_lines, signalled_train
from fastnet import persist, training
from twins import seeded


def log_epochs(path):
    return [json.loads(line)["epoch"] for line in path.read_text().splitlines()]


def saved_epoch(path):
    """The epochs a checkpoint has done, read without touching the global random states."""
    return training.Run.resume(path).epoch


# -- one seeded run, and the options that reach the network ----------------------------
def test_run_seeded_is_fastnet_train_with_that_seed(run, mnist):
    options = ["--sizes", "784,12,10", "--limit", "500", "--batch", "7", "--eta", "0.5",
               "--cost", "cross-entropy", "--init", "scaled", "--lmbda", "2.0", "--epochs", "3",
               "--seed", "4"]
    code, out, _ = run("train", *options)
    assert code == 0
    settings = training.Settings(sizes=(784, 12, 10), limit=500, batch=7, eta=0.5,
                                 cost="cross-entropy", init="scaled", lmbda=2.0, epochs=3, seed=4)
    (X, y), _, test = mnist
    state = random.getstate(), np.random.get_state()[1].copy()
    results = training.run_seeded(settings, (X, y), test)
    assert [result.line() for result in results] == epoch_lines(out)
    assert [result.epoch for result in results] == [0, 1, 2]
    assert random.getstate() == state[0] and np.array_equal(np.random.get_state()[1], state[1])


def test_run_seeded_needs_a_seed(mnist):
    (X, y), _, test = mnist
    with pytest.raises(TypeError, match=r"settings.seed must be an integer from 0 to 2\*\*32 - 1, got None"):
        training.run_seeded(training.Settings(sizes=(784, 10, 10), limit=10), (X, y), test)


def test_cost_init_lmbda_and_threads_reach_the_network(run, mnist, tmp_path):
    checkpoint = tmp_path / "ck.npz"
    code, _, _ = run("train", *SMALL, "--seed", "6", "--epochs", "2", "--cost", "cross-entropy",
                     "--init", "scaled", "--lmbda", "5", "--threads", "1", "--checkpoint", str(checkpoint))
    assert code == 0
    (X, y), _, test = mnist
    net = seeded(network.Network, [784, 10, 10], 6, cost="cross-entropy", init="scaled")
    list(net.train((X[:600], y[:600]), 2, 10, 3.0, test_data=test, lmbda=5.0))
    saved = fastnet.load(checkpoint)
    assert saved.cost.name == "cross-entropy"
    np.testing.assert_array_equal(saved.parameters, net.parameters)
    resumed = training.Run.resume(checkpoint, {"threads": 2})
    assert training.Run.start(training.Settings(threads=1)).net.threads == 1
    assert resumed.net.threads == 2 and resumed.settings.threads == 2


def test_a_resume_continues_the_run_with_its_own_settings(run, tmp_path):
    options = ["--sizes", "784,10,10", "--limit", "600", "--batch", "20", "--eta", "1.5",
               "--lmbda", "0.5", "--init", "scaled", "--cost", "cross-entropy", "--dtype", "float32",
               "--seed", "1"]
    code, out, _ = run("train", *options, "--epochs", "3", "--checkpoint", str(tmp_path / "all.npz"))
    three = epoch_lines(out)
    run("train", *options, "--epochs", "2", "--checkpoint", str(tmp_path / "ck.npz"))
    code, out, _ = run("train", "--epochs", "3", "--resume", str(tmp_path / "ck.npz"))
    assert code == 0 and epoch_lines(out) == three[2:]
    np.testing.assert_array_equal(fastnet.load(tmp_path / "ck.npz").parameters,
                                  fastnet.load(tmp_path / "all.npz").parameters)
    assert training.Run.resume(tmp_path / "ck.npz").settings == training.Settings(
        sizes=(784, 10, 10), limit=600, batch=20, eta=1.5, lmbda=0.5, init="scaled",
        cost="cross-entropy", dtype="float32", seed=1, epochs=3)


# -- item 10: resume and checkpoints ------------------------------------------------------
@pytest.mark.parametrize("option, value, saved", [
    ("--sizes", "784,20,10", "784,10,10"),
    ("--dtype", "float32", "float64"),
    ("--eta", "1.0", "3.0"),
    ("--batch", "20", "10"),
    ("--cost", "cross-entropy", "quadratic"),
    ("--init", "scaled", "chapter"),
    ("--lmbda", "0.1", "0.0"),
    ("--seed", "8", "7"),
    ("--limit", "500", "600"),
    ("--limit", "700", "600"),   # 600 were all the run asked for, not all there were
])
def test_resume_refuses_options_that_contradict_the_checkpoint(run, tmp_path, option, value, saved):
    checkpoint = tmp_path / "ck.npz"
    run("train", *SMALL, "--seed", "7", "--epochs", "1", "--checkpoint", str(checkpoint))
    before = checkpoint.read_bytes()
    code, out, err = run("train", *SMALL, option, value, "--epochs", "2", "--resume", str(checkpoint))
    assert code == 2 and out == ""
    assert err == (f"fastnet: error: {option} {value} contradicts {checkpoint}, a run with {option} "
                   f"{saved}; leave {option} out to continue that run\n")
    assert checkpoint.read_bytes() == before


def test_a_limit_of_all_the_images_agrees_with_a_run_that_had_none(run, tmp_path, capsys):
    # --limit 50000 (or more) on a run of all 50,000 images trains the same images.
    checkpoint = tmp_path / "ck.npz"
    code, out, _ = run("train", "--sizes", "784,10,10", "--seed", "5", "--epochs", "2",
                       "--checkpoint", str(tmp_path / "both.npz"))
    both = epoch_lines(out)
    run("train", "--sizes", "784,10,10", "--seed", "5", "--epochs", "1", "--checkpoint", str(checkpoint))
    for limit in ("50000", "70000"):
        assert training.Run.resume(checkpoint, {"limit": int(limit)}).settings.limit is None
    code, out, err = run("train", "--limit", "50000", "--epochs", "2", "--resume", str(checkpoint))
    assert code == 0 and epoch_lines(out) == both[1:], err
    np.testing.assert_array_equal(fastnet.load(checkpoint).parameters,
                                  fastnet.load(tmp_path / "both.npz").parameters)
    code, _, err = run("train", "--limit", "49999", "--epochs", "3", "--resume", str(checkpoint))
    assert code == 2 and f"--limit 49999 contradicts {checkpoint}, a run with no --limit" in err


def test_resume_refuses_a_seed_for_a_run_that_had_none(run, tmp_path):
    checkpoint = tmp_path / "ck.npz"
    run("train", *SMALL, "--epochs", "1", "--checkpoint", str(checkpoint))
    code, _, err = run("train", "--seed", "3", "--epochs", "2", "--resume", str(checkpoint))
    assert code == 2 and f"--seed 3 contradicts {checkpoint}, a run with no --seed" in err


def test_resume_with_no_epochs_left_says_so_and_prints_the_best_so_far(run, tmp_path):
    checkpoint = tmp_path / "ck.npz"
    code, out, _ = run("train", *SMALL, "--seed", "2", "--epochs", "2", "--checkpoint", str(checkpoint))
    best = out.splitlines()[-1]
    before = checkpoint.read_bytes()
    for epochs in (["--epochs", "2"], ["--epochs", "1"], []):
        code, out, err = run("train", *epochs, "--resume", str(checkpoint))
        target = epochs[1] if epochs else "2"
        assert code == 0 and out == best + "\n"
        assert err == (f"fastnet train: nothing to train: {checkpoint} has done 2 epochs and "
                       f"--epochs is {target}; give a larger --epochs to train more\n")
    assert checkpoint.read_bytes() == before


def test_best_after_a_resume_covers_the_epochs_before_it(run, tmp_path):
    options = ["--sizes", "784,10,10", "--limit", "600", "--eta", "30", "--seed", "17"]
    code, out, _ = run("train", *options, "--epochs", "4")
    four, unbroken_best = epoch_lines(out), out.splitlines()[-1]
    correct = [int(line.split()[2]) for line in four]
    assert max(correct[:2]) > max(correct[2:])     # the best epoch is one before the resume
    run("train", *options, "--epochs", "2", "--checkpoint", str(tmp_path / "ck.npz"))
    code, out, _ = run("train", *options, "--epochs", "4", "--resume", str(tmp_path / "ck.npz"))
    assert epoch_lines(out) == four[2:] and out.splitlines()[-1] == unbroken_best


def test_a_new_run_does_not_overwrite_a_checkpoint_of_another_network(run, tmp_path):
    checkpoint = tmp_path / "ck.npz"
    run("train", *SMALL, "--epochs", "1", "--checkpoint", str(checkpoint))
    before = checkpoint.read_bytes()
    other = [*SMALL, "--sizes", "784,20,10", "--epochs", "1", "--checkpoint", str(checkpoint)]
    code, out, err = run("train", *other)
    assert code == 2 and out == "" and checkpoint.read_bytes() == before
    assert err == (f"fastnet: error: --checkpoint {checkpoint} holds a checkpoint of another network "
                   f"(--sizes 784,10,10, not 784,20,10); continue it with --resume {checkpoint}, "
                   f"choose another path, or give --force to overwrite it\n")
    code, _, _ = run("train", *other, "--force")
    assert code == 0 and fastnet.load(checkpoint).sizes == (784, 20, 10)
    before = checkpoint.read_bytes()
    for again in (["--seed", "1"], []):   # the same network: another run, the same unseeded one
        code, _, err = run("train", *other, *again)
        assert code == 2 and checkpoint.read_bytes() == before and "--force" in err
    assert "holds a checkpoint of an unseeded run, which a new run cannot retrace" in err
    code, _, err = run("train", *other, "--seed", "1", "--force")
    code, _, err = run("train", *other, "--seed", "2")
    assert code == 2 and "holds a checkpoint of another run (--seed 1, not 2)" in err
    code, _, err = run("train", *other)
    assert code == 2 and "holds a checkpoint of another run (--seed 1, this run has no --seed)" in err
    code, _, _ = run("train", *other, "--seed", "1", "--epochs", "2")   # this very run: retraced
    assert code == 0 and fastnet.load(checkpoint).sizes == (784, 20, 10)


@pytest.mark.parametrize("kind", ["notes", "model"])
def test_a_new_run_does_not_overwrite_a_file_that_is_no_checkpoint(run, tmp_path, kind):
    path = tmp_path / "keep.npz"
    if kind == "notes":
        path.write_text("my notes")
    else:
        network.Network([784, 10, 10]).save(path)
    before = path.read_bytes()
    code, out, err = run("train", *SMALL, "--epochs", "1", "--checkpoint", str(path))
    assert code == 2 and out == "" and path.read_bytes() == before
    assert f"--checkpoint {path} exists and is not a fastnet checkpoint" in err and "--force" in err


def test_a_checkpoint_of_an_earlier_fastnet_without_a_record_still_resumes(run, tmp_path, mnist):
    """Checkpoints written before they carried their run: the options say how to go on."""
    (X, y), _, test = mnist
    net = seeded(network.Network, [784, 10, 10], 0)
    order = list(range(600))
    next(net.train((X[:600], y[:600]), 1, 10, 3.0, test_data=test, order=order))
    persist.write(tmp_path / "old.npz", persist.checkpoint(net, 1, order))
    code, out, _ = run("train", *SMALL, "--epochs", "2", "--resume", str(tmp_path / "old.npz"))
    assert code == 0 and [line.split(":")[0] for line in epoch_lines(out)] == ["Epoch 1"]
    assert out.splitlines()[-1].startswith("Best: ")


# -- item 7: signals -----------------------------------------------------------------
def test_ctrl_c_while_the_checkpoint_is_written_waits_for_the_log_line(run, tmp_path, monkeypatch):
    code, out, _ = run("train", *SMALL, "--seed", "1", "--epochs", "3")
    three = epoch_lines(out)
    checkpoint, log = tmp_path / "ck.npz", tmp_path / "log.jsonl"
    write = persist.write

    def write_then_ctrl_c(path, arrays):
        write(path, arrays)
        if arrays["epoch"] == 2:
            os.kill(os.getpid(), signal.SIGINT)
    monkeypatch.setattr(persist, "write", write_then_ctrl_c)
    code, out, err = run("train", *SMALL, "--seed", "1", "--epochs", "3",
                         "--checkpoint", str(checkpoint), "--log", str(log))
    assert code == 130 and epoch_lines(out) == three[:2]
    assert err == (f"fastnet: interrupted; saved the state after 2 epoch(s) to {checkpoint}; "
                   f"continue with --resume {checkpoint}\n")
    assert saved_epoch(checkpoint) == 2 and log_epochs(log) == [0, 1]
    monkeypatch.setattr(persist, "write", write)
    code, out, _ = run("train", "--log", str(log), "--resume", str(checkpoint))   # its own --epochs 3
    assert code == 0 and epoch_lines(out) == three[2:] and log_epochs(log) == [0, 1, 2]


@pytest.mark.parametrize("signum, checkpoint", [(signal.SIGTERM, None), (signal.SIGHUP, "ck.npz")])
def test_sigterm_and_sighup_save_the_last_finished_epoch_like_ctrl_c(mnist_dir, tmp_path, signum, checkpoint):
    log = tmp_path / "log.jsonl"
    child, err = signalled_train(mnist_dir, signum, "--log", str(log),
                                 *(["--checkpoint", checkpoint] if checkpoint else []), cwd=tmp_path)
    saved = checkpoint or "fastnet-checkpoint.npz"
    epoch = saved_epoch(tmp_path / saved)
    assert child.returncode == 128 + signum
    assert err == (f"fastnet: interrupted by {signal.Signals(signum).name}; saved the state after "
                   f"{epoch} epoch(s) to {saved}; continue with --resume {saved}\n")
    assert epoch >= 1 and log_epochs(log) == list(range(epoch))
    assert len(training.Run.resume(tmp_path / saved).history) == epoch
