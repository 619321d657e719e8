"""The ``fastnet`` command: train the chapter's network on MNIST, evaluate it, read digits.

    fastnet train [--sizes 784,30,10] [--epochs 30] [--checkpoint PATH] [--resume PATH] ...
    fastnet evaluate MODEL [--data DIR]
    fastnet predict MODEL IMAGE [IMAGE ...]
    fastnet read MODEL IMAGE [IMAGE ...]
    fastnet serve MODEL [--port 8000]
    fastnet experiments chapter1 [--out DIR] [--seeds 0-9] ...
    fastnet sweep [--sizes 784,30,10 784,100,10] [--eta 0.5 1 3] [--seeds 0-19] [--out FILE] ...
    fastnet --version

This module reads the command line and prints; the argument types are
``fastnet.arguments``, the training loop ``fastnet.training``. Mistakes in the arguments or
files end with a one-line message and exit code 2. A signal that stops training (Ctrl-C,
SIGTERM, SIGHUP) saves the last finished epoch and exits with 128 + its number (130, 143,
129); a reader that goes away (``fastnet evaluate m.npz | head -1``) ends the command
quietly with 141, as SIGPIPE ends other commands.
"""
import argparse
import contextlib
import functools
import gc
import os
import signal
import sys
import threading
from pathlib import Path

import numpy as np

import fastnet
from fastnet import _data, _scoped, arguments, costs, experiments, inits, paths, settings, sweep
from fastnet.errors import FastnetFileError

DISTRIBUTION = "fastnet-nndl"  # the name on PyPI; the import name is fastnet
INTERRUPTED = 128 + signal.SIGINT  # what a shell reports for a process stopped by Ctrl-C
BROKEN_PIPE = 128 + 13  # 128 + SIGPIPE: what a shell reports for a command whose reader left
DEFAULT = settings.Settings()
#: Python's switch interval while ``train`` starts (``_switching_often``); its default is 5 ms.
#: Reading MNIST takes the lock back about 200 times: beside the main thread's imports and
#: kernel loads it ended 0.03-0.05 s later at 0.5 ms than at 0.05 ms.
START_SWITCH_INTERVAL = 0.00005


class CommandLineError(Exception):
    """A mistake in how ``fastnet`` was called, reported in one line."""


class _Parser(argparse.ArgumentParser):
    """An argument parser that reports mistakes in one line (no usage block), exit code 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _commas(sizes):
    """784,30,10 for (784, 30, 10): layer sizes as --sizes takes them."""
    return ",".join(map(str, sizes))


def _not_mnist(sizes):
    """What keeps layer ``sizes`` from reading MNIST, or None if nothing does."""
    from fastnet.datasets import MNIST

    if sizes[0] != MNIST.inputs or sizes[-1] != MNIST.classes:
        return f"MNIST needs {MNIST.inputs} inputs and {MNIST.classes} outputs"
    return None


def _mnist_sizes(layer_sizes):
    layer_sizes = _data.check_sizes(layer_sizes)
    problem = _not_mnist(layer_sizes)
    if problem is not None:
        raise ValueError(f"{problem}, as in {_commas(DEFAULT.sizes)}; got {_commas(layer_sizes)}")
    return layer_sizes


def version():
    """The installed distribution's version; the package's own when it is not installed."""
    import importlib.metadata   # here: importing it takes 0.03 s of every command's start

    try:
        return importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return fastnet.__version__


class _Version(argparse.Action):
    """``--version``: print the distribution and its version (looked up only then), exit."""

    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS,
                         help="show the version and exit")

    def __call__(self, parser, namespace, values, option_string=None):
        print(f"{DISTRIBUTION} {version()}")
        parser.exit()


def build_parser():
    parser = _Parser(prog="fastnet", description="Train the chapter's network on MNIST, "
                                                 "evaluate it, read digits.")
    parser.add_argument("--version", action=_Version)
    commands = parser.add_subparsers(dest="command", required=True)
    _add_train(commands)
    _add_evaluate(commands)
    _add_predict(commands)
    _add_read(commands)
    _add_serve(commands)
    _add_experiments(commands)
    _add_sweep(commands)
    return parser


def _add_train(commands):
    train = commands.add_parser(
        "train", help="train a network on MNIST, printing the chapter's epoch lines",
        description="Train a network on MNIST, printing the chapter's epoch lines. With "
                    "--resume, the run continues with the checkpoint's settings; an option "
                    "that contradicts them is an error (--epochs may grow, --threads change). "
                    f"Ctrl-C, SIGTERM and SIGHUP save the last finished epoch to --checkpoint "
                    f"(else {settings.INTERRUPT_CHECKPOINT} here, or -2, -3, ... if taken) and "
                    f"exit with 128 + the signal's number ({INTERRUPTED} for Ctrl-C).")
    # Defaults are None here: an option given with --resume must agree with the checkpoint,
    # one not given takes the checkpoint's value (else settings.Settings' default).
    train.add_argument("--sizes", type=arguments.argument(arguments.integers("sizes"), _mnist_sizes),
                       help=f"layer sizes (default {_commas(DEFAULT.sizes)})")
    train.add_argument("--epochs", type=arguments.count("epochs"),
                       help=f"train until this many epochs are done, counting those of --resume "
                            f"(default {DEFAULT.epochs}, or the resumed run's)")
    train.add_argument("--batch", type=arguments.count("batch"),
                       help=f"mini-batch size (default {DEFAULT.batch})")
    train.add_argument("--eta", type=arguments.eta, help=f"learning rate (default {DEFAULT.eta})")
    train.add_argument("--lmbda", type=arguments.lmbda,
                       help=f"L2 regularisation, >= 0 (default {DEFAULT.lmbda})")
    train.add_argument("--cost", choices=list(costs.COSTS),
                       help=f"the cost trained on (default {DEFAULT.cost})")
    train.add_argument("--init", choices=list(inits.INITS),
                       help=f"initial weights: the chapter's N(0, 1) or N(0, 1/inputs) "
                            f"(default {DEFAULT.init})")
    train.add_argument("--seed", type=arguments.seed, help="seed for the network and the shuffles")
    train.add_argument("--dtype", choices=["float64", "float32"],
                       help="float64 (default, the chapter's numbers) or float32 (faster)")
    train.add_argument("--threads", type=arguments.count("threads"),
                       help="most threads the kernels use (default: automatic); no effect on results")
    _add_data(train)
    train.add_argument("--limit", type=arguments.count("limit"),
                       help="train on the first N training images only")
    train.add_argument("--checkpoint", type=arguments.output_file, metavar="PATH",
                       help="save the network, the run's settings and history after every epoch")
    train.add_argument("--resume", type=Path, metavar="PATH",
                       help="continue from this checkpoint (and keep saving to it, "
                            "unless --checkpoint says otherwise)")
    train.add_argument("--force", action="store_true",
                       help="let --checkpoint overwrite a file that is not a checkpoint of this network")
    train.add_argument("--quiet", action="store_true",
                       help="no progress bar and no epoch lines, only the final 'Best' line")
    train.add_argument("--log", type=arguments.output_stream, metavar="PATH",
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
    serve.add_argument("--port", type=arguments.argument(int, _port), default=8000,
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


# -- experiments ---------------------------------------------------------------------
def _names(text):
    names = text.split(",")
    unknown = [name for name in names if name not in experiments.BY_NAME]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown run(s) {', '.join(unknown)}; known: {', '.join(experiments.BY_NAME)}")
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise argparse.ArgumentTypeError(f"{', '.join(twice)} named more than once")
    return names


def _add_experiments(commands):
    parser = commands.add_parser("experiments", help="reproduce the chapter's experiments on MNIST")
    parser.add_argument("suite", choices=["chapter1"], help="which chapter's runs")
    parser.add_argument("--out", type=arguments.output_folder, default="results/chapter1",
                        help="folder for runs.jsonl, table.md, epochs.csv, curves.png, eta.png "
                             "(default results/chapter1); runs already in its runs.jsonl are "
                             "not trained again")
    parser.add_argument("--epochs", type=arguments.count("epochs"), default=DEFAULT.epochs,
                        help=f"epochs per run (default {DEFAULT.epochs})")
    parser.add_argument("--batch", type=arguments.count("batch"), default=DEFAULT.batch,
                        help=f"mini-batch size (default {DEFAULT.batch})")
    parser.add_argument("--seeds", type=arguments.seeds, default=list(range(10)),
                        help="seeds each run is trained with, as 0-9 or 0,1,2 (default 0-9)")
    parser.add_argument("--limit", type=arguments.count("limit"), default=None,
                        help="train on the first N training images only")
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
    parser.add_argument("--sizes", type=arguments.argument(arguments.integers("sizes"), _mnist_sizes),
                        nargs="+", default=[list(DEFAULT.sizes)], metavar="S",
                        help=f"layer sizes, one or more (default {_commas(DEFAULT.sizes)})")
    parser.add_argument("--eta", type=arguments.eta, nargs="+", default=[DEFAULT.eta], metavar="ETA",
                        help=f"learning rates (default {DEFAULT.eta})")
    parser.add_argument("--batch", type=arguments.count("batch"), nargs="+", default=[DEFAULT.batch],
                        metavar="N", help=f"mini-batch sizes (default {DEFAULT.batch})")
    parser.add_argument("--epochs", type=arguments.count("epochs"), nargs="+",
                        default=[DEFAULT.epochs], metavar="N",
                        help=f"epochs per run (default {DEFAULT.epochs})")
    parser.add_argument("--dtype", choices=["float64", "float32"], nargs="+", default=[DEFAULT.dtype],
                        help=f"{DEFAULT.dtype} (default) and/or float32")
    parser.add_argument("--seeds", type=arguments.seeds, nargs="+", default=[list(range(10))],
                        metavar="SEEDS", help="seeds, as 0-19, 0,1,2 or 0-4,10 (default 0-9)")
    parser.add_argument("--cost", choices=list(costs.COSTS), nargs="+", default=[DEFAULT.cost],
                        help=f"costs (default {DEFAULT.cost}, the chapter's)")
    parser.add_argument("--init", choices=list(inits.INITS), nargs="+", default=[DEFAULT.init],
                        help=f"weight initialisations (default {DEFAULT.init}, N(0, 1); scaled: "
                             "N(0, 1/inputs))")
    parser.add_argument("--lmbda", type=arguments.lmbda, nargs="+", default=[DEFAULT.lmbda],
                        metavar="LMBDA",
                        help=f"L2 regularisation parameters (default {DEFAULT.lmbda})")
    parser.add_argument("--limit", type=arguments.count("limit"), default=None, metavar="N",
                        help="train on the first N training images only")
    _add_data(parser)
    parser.add_argument("--out", type=arguments.output_file, default="sweep.jsonl", metavar="FILE",
                        help="append one JSON line per finished run here; runs already in it "
                             "are not trained again (default sweep.jsonl)")
    parser.add_argument("--threshold", type=arguments.percent, default=95.0, metavar="PERCENT",
                        help="the table counts the seeds reaching this accuracy (default 95)")
    parser.add_argument("--plot", type=arguments.png_file, default=None, metavar="PNG",
                        help="also draw accuracy against eta and sizes, spread over seeds "
                             "(needs matplotlib)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar or lines")
    _add_cluster(parser)
    parser.set_defaults(run=run_sweep)


def _add_cluster(parser):
    parser.add_argument("--scheduler", default=None, metavar="ADDRESS",
                        help="run on the Dask cluster of this scheduler (e.g. tcp://host:8786) "
                             "instead of a local one")
    parser.add_argument("--workers", type=arguments.count("workers", minimum=0), default=None,
                        metavar="N", help="worker processes of the local cluster (default: one "
                                          "per core; 0: train one run after another in this process)")


def run_sweep(args):
    """Train the runs of the grid not yet in --out, then print the table (and draw the plot)."""
    from fastnet import mnist_loader, sweep_report

    paths.distinct_files(out=args.out, plot=args.plot)
    seeds = sum(map(len, args.seeds))
    if seeds > arguments.MAX_SEEDS:
        raise ValueError(f"--seeds names {seeds:,} seeds in all; a command takes at most "
                         f"{arguments.MAX_SEEDS:,}")
    runs = sweep.grid(args.sizes, args.eta, args.batch, args.epochs, args.dtype,
                      [seed for seeds in args.seeds for seed in seeds], args.cost, args.init,
                      args.lmbda)
    (X, y), _, test = mnist_loader.load_data(args.data)
    training = (X[:args.limit], y[:args.limit])
    with sweep_report.Progress(quiet=args.quiet) as progress:
        records = sweep.run(runs, training, test, out=args.out, scheduler=args.scheduler,
                            workers=args.workers, on_start=progress.start, on_result=progress)
    print(f"Test accuracy of each run's best epoch on {len(test[1])} test images, over seeds:\n")
    print(sweep_report.markdown_table(records, args.threshold), end="")
    if args.plot is not None and not sweep_report.plot(records, args.plot, args.threshold):
        print(f"fastnet sweep: no plot: {sweep_report.NO_MATPLOTLIB}", file=sys.stderr)
    return 0


# -- train ----------------------------------------------------------------------------------
def run_train(args):
    """Train (or continue) a run, printing its epoch lines and the best; see ``training``.
    MNIST is read in a thread from the start, while this one imports Numba and loads the
    kernels: the reading (zlib, hashing, NumPy) leaves Python's lock free for them most of
    the time. Python's collector waits meanwhile (``_collector_paused``), SciPy stays out
    (``_without_scipy``), and the threads take turns often (``_switching_often``)."""
    from fastnet import mnist_loader

    paths.distinct_files(log=args.log, checkpoint=args.checkpoint)
    paths.distinct_files(log=args.log, resume=args.resume)
    reading = functools.partial(mnist_loader.load_data, args.data)
    with _meanwhile(reading, "fastnet: reading MNIST") as mnist, _collector_paused(), \
            _without_scipy(), _switching_often():
        from fastnet import _trainers, training
        started = _start_run(args)
        if started is None:
            return 0
        run, save_to = started
        _trainers.preload(run.net, run.settings.batch)
        (X, y), _, test = mnist()
        data = run.training_data(X, y)
    stopped = training.train(run, data, test, checkpoint=save_to, log=args.log,
                             progress=training.progress_bar(len(data[1]), shown=not args.quiet),
                             report=None if args.quiet else _print_epoch)
    if stopped is not None:
        by = "" if stopped.signum == signal.SIGINT else f" by {signal.Signals(stopped.signum).name}"
        print(f"fastnet: interrupted{by}; saved the state after {stopped.epoch} epoch(s) to "
              f"{stopped.path}; continue with --resume {stopped.path}", file=sys.stderr)
        return 128 + stopped.signum
    _print_best(run)
    return 0


def _start_run(args):
    """``(run, path it saves to)`` for ``args``, its files checked; None (having said
    why) if a resumed run has no epochs left."""
    from fastnet import training

    given = {name: getattr(args, name) for name in settings.Settings._fields
             if getattr(args, name) is not None}
    if args.resume is None:
        run = training.Run.start(settings.Settings(**given))
    else:
        run = training.Run.resume(args.resume, given)
        _check_mnist_network(args.resume, run.net)
    if run.epochs_left == 0:
        print(f"fastnet train: nothing to train: {args.resume} has done {run.epoch} epochs and "
              f"--epochs is {run.settings.epochs}; give a larger --epochs to train more", file=sys.stderr)
        _print_best(run)
        return None
    save_to = args.checkpoint or args.resume
    if save_to is None:   # an interrupt saves into the current folder: it must take a file
        try:
            paths.writable_folder(".")
        except FastnetFileError as error:
            raise FastnetFileError(f"{error}; an interrupted run saves its state there: give "
                                   f"--checkpoint PATH in a folder you can write") from None
    elif args.checkpoint is None:
        paths.writable_file(args.resume)
    elif not args.force:
        training.check_overwrite(args.checkpoint, run)
    return run, save_to


@contextlib.contextmanager
def _meanwhile(function, name):
    """``function()`` runs in a thread called ``name`` while the block runs; the block
    gets a function that waits for it and returns what it returned (or raises what it
    raised). Leaving the block waits for the thread too, so that none outlives the call,
    except on an interrupt: Ctrl-C must not wait for a download. A daemon: it never holds
    up the exit."""
    outcome = {}

    def call():
        try:
            outcome["value"] = function()
        except BaseException as error:   # raised in the thread that asks for the result
            outcome["error"] = error

    thread = threading.Thread(target=call, name=name, daemon=True)
    thread.start()

    def result():
        thread.join()
        if "error" in outcome:
            raise outcome["error"]
        return outcome["value"]

    try:
        yield result
    except KeyboardInterrupt:
        raise
    except BaseException:
        thread.join()
        raise
    thread.join()


def _collector_paused():
    """Python's cyclic garbage collector off for a ``with`` block (on again after it, if
    it was): starting a run makes hundreds of thousands of objects (Numba, the kernels)
    and no garbage cycles, and collections walked them over and over."""
    return _scoped.setting(gc.isenabled, _collector_on, False)


def _collector_on(on):
    """Turn Python's cyclic garbage collector on or off."""
    (gc.enable if on else gc.disable)()


def _switching_often():
    """Python's switch interval ``START_SWITCH_INTERVAL`` for a ``with`` block. The thread
    reading MNIST takes Python's lock back after every piece of a file it reads, inflates
    (zlib's output grows in blocks: a few per piece) or hashes, and beside a thread running
    Python it waits up to an interval each time."""
    return _scoped.setting(sys.getswitchinterval, sys.setswitchinterval, START_SWITCH_INTERVAL)


@contextlib.contextmanager
def _without_scipy():
    """``import scipy`` fails in the block, if SciPy is not imported yet. Numba, when
    SciPy is installed, imports it with itself and ``scipy.linalg`` at its first kernel
    (to learn whether BLAS is there): 0.1 s of the start of a training, which calls no
    BLAS. Only Numba's ``np.correlate`` and ``np.convolve`` compiled later in the process
    then do without BLAS (``np.dot`` and the rest import SciPy when compiled). For the
    command's process, in which no other thread imports SciPy meanwhile."""
    if "scipy" in sys.modules:
        yield
        return
    sys.modules["scipy"] = None
    try:
        yield
    finally:
        if "scipy" in sys.modules and sys.modules["scipy"] is None:
            del sys.modules["scipy"]


def _print_epoch(result):
    print(f"{result.line()}  ({result.seconds:.2f} s)", flush=True)


def _print_best(run):
    """The best epoch of the run, all of it (resumes included), if one was tested."""
    best = run.best()
    if best is not None:
        correct, total = best
        print(f"Best: {correct} / {total} ({100.0 * correct / total:.2f}%)")


# -- evaluate and predict ---------------------------------------------------------------
def run_evaluate(args):
    """Print the test accuracy and the confusion matrix of a saved network."""
    from fastnet import metrics, mnist_loader, persist
    from fastnet.datasets import MNIST

    net = persist.load(args.model)
    _check_mnist_network(args.model, net)
    _, _, (X, y) = mnist_loader.load_data(args.data)
    confusion = metrics.confusion_matrix(y, net.predict(X), MNIST.classes)
    correct = int(np.trace(confusion))
    print(f"Test accuracy: {correct} / {len(y)} ({100.0 * correct / len(y):.2f}%)")
    print("Confusion matrix (rows: true digit, columns: predicted digit):")
    print("     " + "".join(f"{digit:>6}" for digit in range(MNIST.classes)))
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
    problem = _not_mnist(net.sizes)
    if problem is not None:
        raise CommandLineError(f"fastnet: error: {path} holds a network with sizes "
                               f"{list(net.sizes)}; {problem}")


def main(argv=None):
    """Run the ``fastnet`` command with ``argv`` (default: sys.argv); returns the exit code."""
    try:
        args = build_parser().parse_args(argv)
        code = args.run(args)
        sys.stdout.flush()  # a reader that has gone shows here, not at exit
        return code
    except BrokenPipeError:
        _discard_stdout()
        return BROKEN_PIPE
    except CommandLineError as error:
        print(error, file=sys.stderr)
    except (ValueError, TypeError, FloatingPointError, OSError) as error:
        print(f"fastnet: error: {error}", file=sys.stderr)
    except KeyboardInterrupt as stop:  # before training, or after it
        print("fastnet: interrupted", file=sys.stderr)
        return 128 + getattr(stop, "signum", signal.SIGINT)
    return 2


def command():
    """The ``fastnet`` command (run by ``fastnet.__main__``): ``main()``'s exit code,
    after which Python's collections at exit skip every object there is (``gc.freeze``):
    a process that ends frees nothing by them, and after training they took about 0.1 s
    of a run's wall time."""
    code = main()
    gc.freeze()
    return code


def _discard_stdout():
    """Point stdout at the null device, so the output still buffered for a reader that has
    gone is dropped at exit instead of raising BrokenPipeError again."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):  # a stdout without a file descriptor
        pass
