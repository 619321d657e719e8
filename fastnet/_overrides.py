"""The chapter's algorithm in plain NumPy, for networks whose steps a reader replaced.

A subclass of ``Network`` that overrides ``update_mini_batch``, ``backprop`` or
``cost_derivative`` (or defines ``sigmoid`` / ``sigmoid_prime``, or patches the module's)
expects training to call its version; the compiled kernels cannot. Training such a
network runs these functions instead: the chapter's code, one sample at a time, calling
the network's own methods. Correct and much slower; a warning says so once per class.
"""
import warnings

import numpy as np

_warned = set()


def warn_once(cls, replaced):
    """Tell, once per class and set of replaced steps, that training runs in NumPy."""
    key = (cls, frozenset(replaced))
    if key not in _warned:
        _warned.add(key)
        warnings.warn(f"{cls.__name__} replaces {', '.join(sorted(replaced))}: fastnet trains it "
                      f"with the chapter's algorithm in plain NumPy, which calls the replacements "
                      f"(correct, but much slower than the compiled kernels)",
                      UserWarning, stacklevel=4)


def train_samples(net, X, T, order, batch, eta, decay, own_update):
    """Mini-batch SGD over the samples ``order`` of ``X`` (targets ``T``): each mini-batch
    goes to the network's own ``update_mini_batch`` as the chapter's list of ``(x, y)``
    columns if ``own_update``, else to ``update_mini_batch`` below."""
    for start in range(0, order.size, batch):
        chosen = order[start:start + batch]
        if own_update:
            net.update_mini_batch([(x.reshape(-1, 1), t.reshape(-1, 1))
                                   for x, t in zip(X[chosen].astype(net.dtype), T[chosen])], eta)
        else:
            update_mini_batch(net, X[chosen], T[chosen], eta, decay)


def update_mini_batch(net, X, T, eta, decay):
    """The chapter's step on rows ``X`` (targets ``T``), summing ``net.backprop`` per sample;
    the weights are first scaled by ``decay`` (L2 regularisation)."""
    nabla_b = [np.zeros(b.shape) for b in net.biases]
    nabla_w = [np.zeros(w.shape) for w in net.weights]
    for x, t in zip(X, T):
        delta_b, delta_w = net.backprop(x.reshape(-1, 1), t.reshape(-1, 1))
        nabla_b = [nb + db for nb, db in zip(nabla_b, delta_b)]
        nabla_w = [nw + dw for nw, dw in zip(nabla_w, delta_w)]
    step = eta / len(X)
    net.weights = [decay * w - step * nw for w, nw in zip(net.weights, nabla_w)]
    net.biases = [b - step * nb for b, nb in zip(net.biases, nabla_b)]


def backprop(net, x, y, sigmoid, sigmoid_prime, own_derivative):
    """The chapter's backpropagation for one sample (``x``, ``y`` rows), with the given
    ``sigmoid`` and ``sigmoid_prime``. The output delta is the chapter's
    ``net.cost_derivative(a, y) * sigmoid_prime(z)``, except for a cost whose own delta
    omits that product (cross-entropy) while ``cost_derivative`` is not the network's own."""
    activation = x.reshape(-1, 1).astype(net.dtype)
    y = y.reshape(-1, 1)
    activations, zs = [activation], []
    for b, w in zip(net.biases, net.weights):
        z = w @ activation + b
        zs.append(z)
        activation = sigmoid(z)
        activations.append(activation)
    if net.cost.name == "quadratic" or own_derivative:
        delta = net.cost_derivative(activations[-1], y) * sigmoid_prime(zs[-1])
    else:
        delta = net.cost.delta(activations[-1], y)
    nabla_b, nabla_w = [None] * len(zs), [None] * len(zs)
    nabla_b[-1], nabla_w[-1] = delta, delta @ activations[-2].T
    for layer in range(2, net.num_layers):
        delta = (net.weights[-layer + 1].T @ delta) * sigmoid_prime(zs[-layer])
        nabla_b[-layer], nabla_w[-layer] = delta, delta @ activations[-layer - 1].T
    return nabla_b, nabla_w


def outputs(net, X, sigmoid):
    """The output activations for the rows of ``X``, layer by layer with ``sigmoid``."""
    A = X.astype(net.dtype).T
    for b, w in zip(net.biases, net.weights):
        A = sigmoid(w @ A + b)
    return A.T
