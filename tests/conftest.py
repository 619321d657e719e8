"""Fixtures shared by tests: ``fastnet`` run in this process, a network trained on MNIST for
reading people's digits, and the page's server. MNIST read once (``mnist``) and its folder
(``mnist_dir``) are in the root conftest.py, shared with bench/."""
import threading

import pytest

from fastnet import cli, mnist_loader, network, server
from twins import seeded

#: Commands that read MNIST, so that ``run`` gives them the test's ``--data``.
READS_MNIST = ("train", "evaluate", "experiments", "sweep")


@pytest.fixture
def run(mnist, mnist_dir, monkeypatch, capsys):
    """``run(*argv)`` -> (exit code, stdout, stderr) of ``fastnet COMMAND ...``, with MNIST
    read once per session."""
    def load_data(path=None):
        assert path == str(mnist_dir)
        return mnist
    monkeypatch.setattr(mnist_loader, "load_data", load_data)

    def run(command, *argv):
        try:
            code = cli.main([command, *argv, *(["--data", str(mnist_dir)] if command in READS_MNIST else [])])
        except SystemExit as exit:  # argparse's way out for bad arguments
            code = exit.code
        out, err = capsys.readouterr()
        return code, out, err
    return run


@pytest.fixture(scope="session")
def digit_net(mnist, tmp_path_factory):
    """``(net, path)``: a 784-30-10 network trained 3 epochs on the 50,000 training images
    (seed 0; about 93% of the test set right), and the model file it is saved in."""
    (X, y), _, _ = mnist
    net = seeded(network.Network, [784, 30, 10], 0)
    for _ in net.train((X, y), 3, 10, 3.0, order=list(range(len(y)))):
        pass
    path = tmp_path_factory.mktemp("digit-net") / "net.npz"
    net.save(path)
    return net, path


@pytest.fixture(scope="session")
def page_server(digit_net):
    """``fastnet serve``'s server for ``digit_net`` on 127.0.0.1 and a free port, serving
    from a thread (uploads up to 200,000 bytes); stopped after."""
    pytest.importorskip("PIL.Image")
    pytest.importorskip("scipy.ndimage")
    httpd = server.DigitServer(digit_net[0], port=0, max_body=200_000)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=10)
