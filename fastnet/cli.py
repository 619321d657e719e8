"""The ``fastnet`` command: ``fastnet train ...`` trains the chapter's network on MNIST."""
import argparse
import random
import sys

import numpy as np


def _sizes(text):
    try:
        return [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--sizes must be comma-separated integers such as 784,30,10, got {text!r}") from None


def build_parser():
    parser = argparse.ArgumentParser(prog="fastnet", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train a network on MNIST, printing the chapter's epoch lines")
    train.add_argument("--sizes", type=_sizes, default=[784, 30, 10], help="layer sizes (default 784,30,10)")
    train.add_argument("--epochs", type=int, default=30, help="epochs (default 30)")
    train.add_argument("--batch", type=int, default=10, help="mini-batch size (default 10)")
    train.add_argument("--eta", type=float, default=3.0, help="learning rate (default 3.0)")
    train.add_argument("--seed", type=int, default=None, help="seed for random and np.random")
    train.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    train.add_argument("--data", default=None, help="folder with the MNIST files (default $FASTNET_DATA, else ./data)")
    train.add_argument("--limit", type=int, default=None, help="train on the first N training images only")
    train.set_defaults(run=run_train)
    return parser


def run_train(args):
    from fastnet import mnist_loader, network

    (X, y), _, test = mnist_loader.load_data(args.data)
    if args.limit is not None:
        X, y = X[:args.limit], y[:args.limit]
    if args.seed is not None:
        random.seed(args.seed)
        np.random.seed(args.seed)
    net = network.Network(args.sizes, dtype=np.dtype(args.dtype))
    best = 0
    for result in net.train((X, y), args.epochs, args.batch, args.eta, test_data=test):
        print(f"{result.line()}  ({result.seconds:.2f} s)", flush=True)
        best = max(best, result.correct)
    if args.epochs:
        print(f"Best: {best} / {test[0].shape[0]} ({100.0 * best / test[0].shape[0]:.2f}%)")
    return 0


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, TypeError, FloatingPointError) as error:
        print(f"fastnet: error: {error}", file=sys.stderr)
        return 2
