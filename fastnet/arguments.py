"""The argument types of the ``fastnet`` command, one for each kind of value, shared by
every command: a count, a seed, a learning rate or an output path is read and checked the
same way wherever it is given, by the checks fastnet's API uses, so a mistake reads the
same in every command ("argument --epochs: epochs must be an integer >= 1, got 0").

Counts (epochs, mini-batch size, images, threads) are at least 1 everywhere: a run of no
epochs or no images does nothing, which is a mistake, not a request (``--epochs`` with
``--resume`` counts the checkpoint's epochs too; a target already reached is reported).
Output paths are checked when the command line is read, before any work.
"""
import argparse
import functools

from fastnet import _data, paths


def argument(parse, check):
    """An argparse type: ``parse`` the text, then ``check`` the value as fastnet's API does;
    a failed parse reads "invalid <parse's name> value: 'text'"."""
    def convert(text):
        value = parse(text)
        try:
            return check(value)
        except (ValueError, TypeError) as error:
            raise argparse.ArgumentTypeError(str(error)) from None
    convert.__name__ = parse.__name__
    return convert


def integers(name):
    """A parse of comma-separated integers, named ``name`` in argparse's messages."""
    def parse(text):
        return [int(part) for part in text.split(",")]
    parse.__name__ = name
    return parse


def count(name):
    """An integer >= 1 named ``name``."""
    return argument(int, functools.partial(_data.check_positive_int, name))


def _distinct_seeds(values):
    checked = [_data.check_seed(f"seeds[{i}]", value) for i, value in enumerate(values)]
    repeated = next((seed for i, seed in enumerate(checked) if seed in checked[:i]), None)
    if repeated is not None:
        raise ValueError(f"seeds must differ, got {repeated} twice")
    return checked


seed = argument(int, functools.partial(_data.check_seed, "seed"))
seeds = argument(integers("seeds"), _distinct_seeds)
eta = argument(float, _data.check_eta)
lmbda = argument(float, functools.partial(_data.check_real, "lmbda", inclusive=True))
output_file = argument(str, paths.writable_file)
output_folder = argument(str, paths.writable_folder)
