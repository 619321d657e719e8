"""Fixtures of the command's tests: MNIST read once, and ``fastnet`` run in this process."""
import pytest

from fastnet import cli, mnist_loader


@pytest.fixture(scope="session")
def mnist(mnist_dir):
    return mnist_loader.load_data(mnist_dir)


@pytest.fixture
def run(mnist, mnist_dir, monkeypatch, capsys):
    """``run(*argv)`` -> (exit code, stdout, stderr) of ``fastnet train/evaluate ...``, with
    MNIST read once per session."""
    def load_data(path=None):
        assert path == str(mnist_dir)
        return mnist
    monkeypatch.setattr(mnist_loader, "load_data", load_data)

    def run(command, *argv):
        try:
            code = cli.main([command, *argv, *(["--data", str(mnist_dir)] if command != "predict" else [])])
        except SystemExit as exit:  # argparse's way out for bad arguments
            code = exit.code
        out, err = capsys.readouterr()
        return code, out, err
    return run

