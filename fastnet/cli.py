"""The ``fastnet`` command: train the chapter's network on MNIST, evaluate it, read digits.

    fastnet train [--sizes 784,30,10] [--epochs 30] [--checkpoint PATH] [--resume PATH] ...
    fastnet evaluate MODEL [--data DIR]
    fastnet predict MODEL IMAGE [IMAGE ...]
    fastnet read MODEL IMAGE [IMAGE ...]
    fastnet serve MODEL [--port 8000]
    fastnet experiments chapter1 [--out DIR] [--seeds 0,1,2] ...

Mistakes in the arguments or files end with a one-line message and exit code 2; Ctrl-C
during training saves a checkpoint and exits with 130.
"""
import argparse
import contextlib
import functools
import json
import random
import sys
from pathlib import Path

import numpy as np

from fastnet import _data, experiments

INTERRUPTED = 130  # what a shell reports for a process stopped by Ctrl-C (SIGINT)
INTERRUPT_CHECKPOINT = "fastnet-checkpoint.npz"  # where Ctrl-C saves without --checkpoint
PIXELS, DIGITS = 784, 10


class CommandLineError(Exception):
    """A mistake in how ``fastnet`` was called, reported in one line."""


class _Parser(argparse.ArgumentParser):
    """An argument parser that reports mistakes in one line (no usage block), exit code 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _argument(parse, check):
    """An argparse type: ``parse`` the text, then ``check`` the value as fastnet's API does."""
    def convert(text):
        value = parse(text)  # a ValueError here reads "invalid <parse> value: 'text'"
        try:
            return check(value)
        except (ValueError, TypeError) as error:
            raise argparse.ArgumentTypeError(str(error)) from None
    convert.__name__ = parse.__name__
    return convert


def sizes(text):
    """Comma-separated layer sizes (argparse names this function in 'invalid sizes value')."""
    return [int(part) for part in text.split(",")]


def _mnist_sizes(layer_sizes):
    layer_sizes = _data.check_sizes(layer_sizes)
    if layer_sizes[0] != PIXELS or layer_sizes[-1] != DIGITS:
        raise ValueError(f"MNIST needs {PIXELS} inputs and {DIGITS} outputs, "
                         f"as in 784,30,10; got {','.join(map(str, layer_sizes))}")
    return layer_sizes


def _count(name, minimum=1):
    return _argument(int, functools.partial(_data.check_positive_int, name, minimum=minimum))


def build_parser():
    parser = _Parser(prog="fastnet", description="Train the chapter's network on MNIST, "
                                                 "evaluate it, read digits.")
    commands = parser.add_subparsers(dest="command", required=True)
    _add_train(commands)
    _add_evaluate(commands)
    _add_predict(commands)
    _add_read(commands)
    _add_serve(commands)
    _add_experiments(commands)
    return parser


def _add_train(commands):
    train = commands.add_parser(
        "train", help="train a network on MNIST, printing the chapter's epoch lines",
        description="Train a network on MNIST, printing the chapter's epoch lines. With "
                    "--resume, the network (--sizes, --dtype) and the random states come from "
                    "the checkpoint; give the same --batch, --eta, --limit for an exact continuation. "
                    f"Ctrl-C saves the last finished epoch to --checkpoint (else "
                    f"{INTERRUPT_CHECKPOINT}) and exits with {INTERRUPTED}.")
    train.add_argument("--sizes", type=_argument(sizes, _mnist_sizes), default=[784, 30, 10],
                       help="layer sizes (default 784,30,10)")
    train.add_argument("--epochs", type=_count("epochs", minimum=0), default=30,
                       help="train until this many epochs are done, counting those of --resume (default 30)")
    train.add_argument("--batch", type=_count("batch"), default=10, help="mini-batch size (default 10)")
    train.add_argument("--eta", type=_argument(float, _data.check_eta), default=3.0,
                       help="learning rate (default 3.0)")
    train.add_argument("--seed", type=_count("seed", minimum=0), default=None,
                       help="seed for random and np.random")
    train.add_argument("--dtype", choices=["float64", "float32"], default="float64",
                       help="float64 (default, the chapter's numbers) or float32 (faster)")
    _add_data(train)
    train.add_argument("--limit", type=_count("limit"), default=None,
                       help="train on the first N training images only")
    train.add_argument("--checkpoint", type=Path, default=None, metavar="PATH",
                       help="save the network and training state here after every epoch")
    train.add_argument("--resume", type=Path, default=None, metavar="PATH",
                       help="continue from this checkpoint (and keep saving to it, "
                            "unless --checkpoint says otherwise)")
    train.add_argument("--quiet", action="store_true",
                       help="no progress bar and no epoch lines, only the final 'Best' line")
    train.add_argument("--log", type=Path, default=None, metavar="PATH",
                       help="write one JSON line per epoch (epoch, correct, total, seconds, "
                            "training_cost) to this file; with --resume, append to it")
    train.set_defaults(run=run_train)


def _add_data(parser):
    parser.add_argument("--data", default=None, metavar="DIR",
                        help="folder with the MNIST files (default $FASTNET_DATA, else ./data)")


def _add_evaluate(commands):
    evaluate = commands.add_parser(
        "evaluate", help="test accuracy and confusion matrix of a saved network")
    _add_model(evaluate)
    _add_data(evaluate)
    evaluate.set_defaults(run=run_evaluate)


def _add_predict(commands):
    _add_image_command(commands, "predict", run_predict, "an image of one digit",
                       help="the digit a saved network reads in each image (needs the image extra)",
                       description="Read one digit in each image: any size, a drawing or a photo, "
                                   "dark on light or light on dark. One image: the digit and the ten "
                                   "output activations; several: a line 'IMAGE: DIGIT' each.")


def _add_read(commands):
    _add_image_command(commands, "read", run_read, "an image of a number",
                       help="the number (one or more digits) a saved network reads in each image",
                       description="Read the digits written in each image, left to right. One "
                                   "image: the digits; several: a line 'IMAGE: DIGITS' each.")


def _add_image_command(commands, name, run, image_help, **texts):
    parser = commands.add_parser(name, **texts)
    _add_model(parser)
    parser.add_argument("images", nargs="+", type=Path, metavar="IMAGE", help=image_help)
    parser.set_defaults(run=run)


def _add_serve(commands):
    serve = commands.add_parser(
        "serve", help="a local web page to draw digits on and see them read",
        description="Serve a page where you draw a digit or a number (or drop an image) and see "
                    "what the network reads, the 28x28 images it sees and its outputs. Ctrl-C stops.")
    _add_model(serve)
    serve.add_argument("--port", type=_argument(int, _port), default=8000,
                       help="port to listen on (default 8000; 0: any free port)")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default 127.0.0.1: this machine only)")
    serve.set_defaults(run=run_serve)


def _port(number):
    if not 0 <= number <= 65535:
        raise ValueError(f"port must be an integer from 0 to 65535, got {number}")
    return number


def _add_model(parser):
    parser.add_argument("model", type=Path, help="a file written by Network.save or --checkpoint")


# -- experiments: seeds, runs and counts as the chapter's runs take them -------------------
def _seeds(text):
    try:
        return [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--seeds must be comma-separated integers such as 0,1,2, got {text!r}") from None


def _positive(text):
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return int(text)


def _names(text):
    names = text.split(",")
    unknown = [name for name in names if name not in experiments.BY_NAME]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"--only: unknown run(s) {', '.join(unknown)}; known: {', '.join(experiments.BY_NAME)}")
    return names


def _add_experiments(commands):
    parser = commands.add_parser("experiments", help="reproduce the chapter's experiments on MNIST")
    parser.add_argument("suite", choices=["chapter1"], help="which chapter's runs")
    parser.add_argument("--out", type=Path, default=Path("results/chapter1"),
                        help="folder for table.md, epochs.csv, curves.png (default results/chapter1)")
    parser.add_argument("--epochs", type=_positive, default=30, help="epochs per run (default 30)")
    parser.add_argument("--batch", type=_positive, default=10, help="mini-batch size (default 10)")
    parser.add_argument("--seeds", type=_seeds, default=[0, 1, 2],
                        help="seeds, best of which is reported (default 0,1,2)")
    parser.add_argument("--limit", type=_positive, default=None, help="train on the first N training images only")
    parser.add_argument("--only", type=_names, default=None,
                        help=f"comma-separated runs, of: {', '.join(experiments.BY_NAME)}")
    _add_data(parser)
    parser.set_defaults(run=experiments.run_chapter1)


# -- train ----------------------------------------------------------------------------------
def run_train(args):
    """Train, checkpointing after every epoch; on Ctrl-C save the last finished epoch."""
    from fastnet import persist

    for option, path in (("--checkpoint", args.checkpoint), ("--log", args.log)):
        if path is not None and not path.parent.is_dir():
            raise CommandLineError(f"fastnet train: error: {option}: no folder {path.parent}")
    net, first_epoch, order = _start(args)
    training, test, order = _mnist(args, order)
    save_to = args.checkpoint or args.resume
    saved = persist.checkpoint(net, first_epoch, order)
    results = []
    with open(args.log, "a" if args.resume else "w") if args.log else contextlib.nullcontext() as log:
        try:
            for result in net.train(training, max(0, args.epochs - first_epoch), args.batch,
                                    args.eta, test_data=test, order=order, first_epoch=first_epoch,
                                    progress=_progress(len(training[1]), args.quiet)):
                saved = persist.checkpoint(net, result.epoch + 1, order)
                if save_to:
                    persist.write(save_to, saved)
                if not args.quiet:
                    print(f"{result.line()}  ({result.seconds:.2f} s)", flush=True)
                if log:
                    _log_epoch(log, result, net.total_cost(training))
                results.append(result)
        except KeyboardInterrupt:
            interrupted = save_to or INTERRUPT_CHECKPOINT
            persist.write(interrupted, saved)
            print(f"fastnet: interrupted; saved the state after {saved['epoch']} epoch(s) to "
                  f"{interrupted}; continue with --resume {interrupted}", file=sys.stderr)
            return INTERRUPTED
    if results:
        best = max(result.correct for result in results)
        print(f"Best: {best} / {len(test[1])} ({100.0 * best / len(test[1]):.2f}%)")
    return 0


def _start(args):
    """``(net, first epoch, order)`` from ``--resume``, else a new, seeded network (and
    ``None``: the order is ``range(n)``)."""
    from fastnet import network, persist

    if args.resume is None:
        if args.seed is not None:
            random.seed(args.seed)
            np.random.seed(args.seed)
        return network.Network(args.sizes, dtype=args.dtype), 0, None
    net, epoch, order = persist.resume(args.resume)
    _check_mnist_network(args.resume, net)
    return net, epoch, order


def _mnist(args, order):
    """``(training, test, order)``: the first ``--limit`` MNIST training images, the test
    set, and the resumed ``order`` checked against them (or ``range(n)`` without one)."""
    from fastnet import mnist_loader

    (X, y), _, test = mnist_loader.load_data(args.data)
    training = (X[:args.limit], y[:args.limit])
    if order is None:
        return training, test, list(range(len(training[1])))
    if len(order) != len(training[1]):
        raise CommandLineError(f"fastnet train: error: {args.resume} was trained on {len(order)} "
                               f"images, this run has {len(training[1])}; give the same --limit")
    return training, test, order


def _progress(n, quiet):
    """A ``progress`` callback for ``Network.train``: a tqdm bar per epoch when stderr is a
    terminal and tqdm is installed, else one that shows nothing. Either way train then runs
    each epoch in slices, so Ctrl-C stops it within a slice, not at the end of the epoch."""
    if quiet or not sys.stderr.isatty():
        return _hidden
    try:
        from tqdm import tqdm
    except ImportError:
        return _hidden
    bar = None

    def show(done):
        nonlocal bar
        if bar is None:
            bar = tqdm(total=n, unit="img", leave=False)
        bar.update(done - bar.n)
        if done == n:
            bar.close()
            bar = None

    return show


def _hidden(done):
    """Progress shown nowhere."""


def _log_epoch(log, result, training_cost):
    """Append the epoch's result and training cost to ``log`` as a line of JSON."""
    log.write(json.dumps({**result._asdict(), "training_cost": training_cost}) + "\n")
    log.flush()


# -- evaluate and predict ---------------------------------------------------------------
def run_evaluate(args):
    """Print the test accuracy and the confusion matrix of a saved network."""
    from fastnet import mnist_loader, persist

    net = persist.load(args.model)
    _check_mnist_network(args.model, net)
    _, _, (X, y) = mnist_loader.load_data(args.data)
    predicted = np.argmax(net.feedforward(X.T), axis=0)
    confusion = np.bincount(y * DIGITS + predicted, minlength=DIGITS * DIGITS).reshape(DIGITS, DIGITS)
    correct = int(np.trace(confusion))
    print(f"Test accuracy: {correct} / {len(y)} ({100.0 * correct / len(y):.2f}%)")
    print("Confusion matrix (rows: true digit, columns: predicted digit):")
    print("     " + "".join(f"{digit:>6}" for digit in range(DIGITS)))
    for digit, row in enumerate(confusion):
        print(f"{digit:>5}" + "".join(f"{count:>6}" for count in row))
    return 0


def run_predict(args):
    """Print the digit a saved network reads in each image (prepared as MNIST's digits were):
    for one image the digit and the ten activations, for several a line each."""
    from fastnet import images

    net = _image_network(args)

    def show(path, pixels):
        outputs = net.feedforward(pixels)
        if len(args.images) > 1:
            print(f"{path}: {int(np.argmax(outputs))}")
            return
        print(f"Digit: {int(np.argmax(outputs))}")
        for digit, activation in enumerate(outputs):
            print(f"  {digit}: {activation:.6f}")
    return _each_image(args, images.prepare, show)


def run_read(args):
    """Print the digits a saved network reads in each image: the digits alone for one
    image, a line 'IMAGE: DIGITS' each for several."""
    from fastnet import reading

    net = _image_network(args)

    def show(path, digits):
        number = "".join(str(digit.digit) for digit in digits)
        print(f"{path}: {number}" if len(args.images) > 1 else number)
    return _each_image(args, functools.partial(reading.read_number, net), show)


def run_serve(args):
    """Serve the drawing page until Ctrl-C."""
    from fastnet import server

    net = _image_network(args)
    try:
        httpd = server.DigitServer(net, args.host, args.port)
    except OSError as error:
        raise CommandLineError(f"fastnet serve: error: cannot listen on {args.host}:{args.port}: "
                               f"{error.strerror or error}") from None
    print(f"fastnet: reading digits at {httpd.url}  (Ctrl-C stops)", flush=True)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()
    return 0


def _image_network(args):
    """The MNIST network in ``args.model``, once Pillow and SciPy are known to be there."""
    from fastnet import images, persist

    try:
        images.libraries()
    except ImportError as error:
        raise CommandLineError(f"fastnet {args.command}: error: {error}") from None
    images.refuse_bombs_quietly()
    net = persist.load(args.model)
    _check_mnist_network(args.model, net)
    return net


def _each_image(args, read, show):
    """``show(path, read(path))`` for each of ``args.images``; an image that cannot be read
    gets its one-line error and the others are still read. Exit code 2 if any failed."""
    from fastnet.errors import FastnetFileError

    failed = False
    for path in args.images:
        try:
            result = read(path)
        except FastnetFileError as error:
            print(f"fastnet: error: {error}", file=sys.stderr)
            failed = True
        except ValueError as error:
            print(f"fastnet: error: {path}: {error}", file=sys.stderr)
            failed = True
        else:
            show(path, result)
    return 2 if failed else 0


def _check_mnist_network(path, net):
    if net.sizes[0] != PIXELS or net.sizes[-1] != DIGITS:
        raise CommandLineError(f"fastnet: error: {path} holds a network with sizes {list(net.sizes)}; "
                               f"MNIST needs {PIXELS} inputs and {DIGITS} outputs")


def main(argv=None):
    """Run the ``fastnet`` command with ``argv`` (default: sys.argv); returns the exit code."""
    try:
        args = build_parser().parse_args(argv)
        return args.run(args)
    except CommandLineError as error:
        print(error, file=sys.stderr)
    except (ValueError, TypeError, FloatingPointError, OSError) as error:
        print(f"fastnet: error: {error}", file=sys.stderr)
    except KeyboardInterrupt:
        print("fastnet: interrupted", file=sys.stderr)
        return INTERRUPTED
    return 2
