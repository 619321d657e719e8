"""What the tests of the ``fastnet`` command share besides fixtures (those are in conftest.py)."""
import subprocess
import sys

#: A small, quick ``fastnet train`` setting: 600 images through 784-10-10.
SMALL = ["--sizes", "784,10,10", "--limit", "600", "--batch", "10", "--eta", "3.0"]


def epoch_lines(out):
    """The chapter's lines without the seconds."""
    return [line.split("  (")[0] for line in out.splitlines() if line.startswith("Epoch")]


def signalled_train(mnist_dir, signum, *options, cwd=None):
    """``fastnet train`` (``SMALL``, endless epochs, ``options`` after) as a process, sent
    ``signum`` once it has printed ``Epoch 0:``; returns the finished process and its stderr."""
    command = [sys.executable, "-m", "fastnet", "train", *SMALL, "--epochs", "100000",
               "--data", str(mnist_dir), *options]
    with subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True) as child:
        try:
            assert child.stdout.readline().startswith("Epoch 0: ")
            child.send_signal(signum)
            _, err = child.communicate(timeout=60)
        finally:
            child.kill()
    return child, err
