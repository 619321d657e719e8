"""Fixtures for reading people's digits: MNIST's test set and a network trained on MNIST."""
import random

import numpy as np
import pytest

from fastnet import mnist_loader, network


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
