"""Fixtures for reading people's digits: MNIST, a network trained on it, the page's server."""
import random
import threading

import numpy as np
import pytest

from fastnet import mnist_loader, network, server


@pytest.fixture(scope="session")
def mnist_arrays(mnist_dir):
    """``mnist_loader.load_data()`` of the real files: (training, validation, test) arrays."""
    return mnist_loader.load_data(mnist_dir)


@pytest.fixture(scope="session")
def digit_net(mnist_arrays, tmp_path_factory):
    """``(net, path)``: a 784-30-10 network trained 3 epochs on the 50,000 training images
    (seed 0; about 93% of the test set right), and the model file it is saved in."""
    (X, y), _, _ = mnist_arrays
    random.seed(0)
    np.random.seed(0)
    net = network.Network([784, 30, 10])
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
