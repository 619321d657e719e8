"""The ``fastnet`` command: train the chapter's network on MNIST, evaluate it, read digits.

    fastnet train [--sizes 784,30,10] [--epochs 30] [--checkpoint PATH] [--resume PATH] ...
    fastnet evaluate MODEL [--data DIR]
    fastnet predict MODEL IMAGE
    fastnet experiments chapter1 [--out DIR] [--seeds 0-9] ...
    fastnet sweep [--sizes 784,30,10 784,100,10] [--eta 0.5 1 3] [--seeds 0-19] [--out FILE] ...

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

from fastnet import _data, experiments, sweep

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
    _add_experiments(commands)
    _add_sweep(commands)
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
    evaluate.add_argument("model", type=Path, help="a file written by Network.save or --checkpoint")
    _add_data(evaluate)
    evaluate.set_defaults(run=run_evaluate)


def _add_predict(commands):
    predict = commands.add_parser(
        "predict", help="the digit a saved network reads in an image (needs Pillow)")
    predict.add_argument("model", type=Path, help="a file written by Network.save or --checkpoint")
    predict.add_argument("image", type=Path,
                         help="an image of one digit, any size, light on dark or dark on light")
    predict.set_defaults(run=run_predict)


# -- experiments: seeds, runs and counts as the chapter's runs take them -------------------
def _seeds(text):
    """Seeds such as 0-19, 0,1,2 or 0-4,10, as a list."""
    try:
        return sweep.parse_seeds(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


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
                        help="folder for runs.jsonl, table.md, epochs.csv, curves.png, eta.png "
                             "(default results/chapter1); runs already in its runs.jsonl are "
                             "not trained again")
    parser.add_argument("--epochs", type=_positive, default=30, help="epochs per run (default 30)")
    parser.add_argument("--batch", type=_positive, default=10, help="mini-batch size (default 10)")
    parser.add_argument("--seeds", type=_seeds, default=list(range(10)),
                        help="seeds each run is trained with, as 0-9 or 0,1,2 (default 0-9)")
    parser.add_argument("--limit", type=_positive, default=None, help="train on the first N training images only")
    parser.add_argument("--only", type=_names, default=None,
                        help=f"comma-separated runs, of: {', '.join(experiments.BY_NAME)}")
    _add_data(parser)
    _add_cluster(parser)
    parser.set_defaults(run=experiments.run_chapter1)


# -- sweep: a grid of runs on Dask ------------------------------------------------------
def _add_sweep(commands):
    parser = commands.add_parser(
        "sweep", help="train every combination of settings and seeds, in parallel on Dask",
        description="Train every combination of the settings and seeds given, one run per "
                    "combination, each exactly as `fastnet train --seed S` would. Runs train "
                    "in parallel on a local Dask cluster (or --scheduler's), serially without "
                    f"Dask ({sweep.INSTALL_HINT}). Each finished run is appended to --out at "
                    "once; the same command again trains only the runs not in it yet. At the "
                    "end, a table per configuration of the seeds' accuracies (best epoch).")
    parser.add_argument("--sizes", type=_argument(sizes, _mnist_sizes), nargs="+",
                        default=[[784, 30, 10]], metavar="S",
                        help="layer sizes, one or more (default 784,30,10)")
    parser.add_argument("--eta", type=_argument(float, _data.check_eta), nargs="+", default=[3.0],
                        metavar="ETA", help="learning rates (default 3.0)")
    parser.add_argument("--batch", type=_count("batch"), nargs="+", default=[10],
                        metavar="N", help="mini-batch sizes (default 10)")
    parser.add_argument("--epochs", type=_count("epochs"), nargs="+", default=[30],
                        metavar="N", help="epochs per run (default 30)")
    parser.add_argument("--dtype", choices=["float64", "float32"], nargs="+", default=["float64"],
                        help="float64 (default) and/or float32")
    parser.add_argument("--seeds", type=_seeds, nargs="+", default=[list(range(10))],
                        metavar="SEEDS", help="seeds, as 0-19, 0,1,2 or 0-4,10 (default 0-9)")
    parser.add_argument("--cost", nargs="+", default=["quadratic"], metavar="COST",
                        help="costs: quadratic (default, the chapter's), cross-entropy")
    parser.add_argument("--init", nargs="+", default=["chapter"], metavar="INIT",
                        help="weight initialisations: chapter (default, N(0, 1)), scaled "
                             "(N(0, 1/inputs))")
    parser.add_argument("--lmbda", type=_argument(float, sweep.check_lmbda), nargs="+",
                        default=[0.0], metavar="LMBDA",
                        help="L2 regularisation parameters (default 0.0)")
    parser.add_argument("--limit", type=_count("limit"), default=None, metavar="N",
                        help="train on the first N training images only")
    _add_data(parser)
    parser.add_argument("--out", type=Path, default=Path("sweep.jsonl"), metavar="FILE",
                        help="append one JSON line per finished run here; runs already in it "
                             "are not trained again (default sweep.jsonl)")
    parser.add_argument("--threshold", type=_argument(float, _percent), default=95.0,
                        metavar="PERCENT", help="the table counts the seeds reaching this "
                                                "accuracy (default 95)")
    parser.add_argument("--plot", type=Path, default=None, metavar="PNG",
                        help="also draw accuracy against eta and sizes, spread over seeds "
                             "(needs matplotlib)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar or lines")
    _add_cluster(parser)
    parser.set_defaults(run=run_sweep)


def _add_cluster(parser):
    parser.add_argument("--scheduler", default=None, metavar="ADDRESS",
                        help="run on the Dask cluster of this scheduler (e.g. tcp://host:8786) "
                             "instead of a local one")
    parser.add_argument("--workers", type=_count("workers", minimum=0), default=None, metavar="N",
                        help="worker processes of the local cluster (default: one per core; "
                             "0: train one run after another in this process)")


def _percent(value):
    if not 0.0 <= value <= 100.0:
        raise ValueError(f"must be a percentage from 0 to 100, got {value:g}")
    return value


def run_sweep(args):
    """Train the runs of the grid not yet in --out, then print the table (and draw the plot)."""
    from fastnet import mnist_loader, sweep_report

    for option, path in (("--out", args.out), ("--plot", args.plot)):
        if path is not None and not path.parent.is_dir():
            raise CommandLineError(f"fastnet sweep: error: {option}: no folder {path.parent}")
    runs = sweep.grid(args.sizes, args.eta, args.batch, args.epochs, args.dtype,
                      [seed for seeds in args.seeds for seed in seeds], args.cost, args.init,
                      args.lmbda)
    (X, y), _, test = mnist_loader.load_data(args.data)
    training = (X[:args.limit], y[:args.limit])
    todo = sweep.missing(runs, len(training[1]), sweep.load_records(args.out))
    with sweep_report.Progress(len(todo), args.quiet) as progress:
        records = sweep.run(runs, training, test, out=args.out, scheduler=args.scheduler,
                            workers=args.workers, on_result=progress)
    print(f"Test accuracy of each run's best epoch on {len(test[1])} test images, over seeds:\n")
    print(sweep_report.markdown_table(records, args.threshold), end="")
    if args.plot is not None and not sweep_report.plot(records, args.plot, args.threshold):
        print("fastnet sweep: no plot: matplotlib is not installed (pip install "
              "'fastnet-nndl[plot]')", file=sys.stderr)
    return 0


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
    """Print the digit a saved network reads in an image, and its ten output activations."""
    from fastnet import persist

    net = persist.load(args.model)
    _check_mnist_network(args.model, net)
    outputs = net.feedforward(read_digit(args.image))
    print(f"Digit: {int(np.argmax(outputs))}")
    for digit, activation in enumerate(outputs):
        print(f"  {digit}: {activation:.6f}")
    return 0


def read_digit(path):
    """The image at ``path`` as MNIST pixels ``(784,)`` in [0, 1]: grayscale (transparency
    over white), 28x28, and inverted if its border is light (a dark digit on light)."""
    if not Path(path).is_file():
        raise CommandLineError(f"fastnet predict: error: {path}: no such image file")
    try:
        from PIL import Image
    except ImportError:
        raise CommandLineError("fastnet predict: error: reading images needs Pillow: "
                               "pip install 'fastnet[image]'") from None
    with Image.open(path) as image:
        rgba = image.convert("RGBA")
    gray = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba).convert("L")
    pixels = np.asarray(gray.resize((28, 28), Image.Resampling.BOX), dtype=np.float64) / 255
    border = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    return (1.0 - pixels if border.mean() > 0.5 else pixels).reshape(PIXELS)


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
