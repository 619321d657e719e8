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
import re

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


def count(name, minimum=1):
    """An integer >= ``minimum`` (1 unless said) named ``name``."""
    return argument(int, functools.partial(_data.check_positive_int, name, minimum=minimum))


#: Seeds one command may name: far beyond any sweep, so that a typo such as 0-4294967295
#: is an error, not a list that exhausts memory.
MAX_SEEDS = 1_000_000


def _seed_list(text):
    """Seeds from text such as ``0-19``, ``0,1,2`` or ``0-4,10`` (ranges include both ends).

    A range is checked against the seeds' bounds before it is expanded (``0-99999999999``
    is refused at once): its first seed out of bounds is reported as that seed alone would be."""
    ranges = []
    for part in text.split(","):
        match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", part)
        if match is None or (match[2] is not None and int(match[2]) < int(match[1])):
            raise ValueError(f"seeds must be integers or ranges such as 0-19, 0,1,2 or 0-4,10; "
                             f"got {text!r}")
        ranges.append(range(int(match[1]), int(match[2] or match[1]) + 1))
    count = 0
    for each in ranges:
        if each[-1] > _data.MAX_SEED:
            first = max(each.start, _data.MAX_SEED + 1)
            _data.check_seed(f"seeds[{count + first - each.start}]", first)
        count += len(each)
    if count > MAX_SEEDS:
        raise ValueError(f"seeds {text!r} name {count:,} seeds; a command takes at most "
                         f"{MAX_SEEDS:,}")
    return [seed for each in ranges for seed in each]


def _percent(value):
    if not 0.0 <= value <= 100.0:
        raise ValueError(f"must be a percentage from 0 to 100, got {value:g}")
    return value


def _distinct_seeds(values):
    checked = [_data.check_seed(f"seeds[{i}]", value) for i, value in enumerate(values)]
    seen = set()
    for seed in checked:
        if seed in seen:
            raise ValueError(f"seeds must differ, got {seed} twice")
        seen.add(seed)
    return checked


seed = argument(int, functools.partial(_data.check_seed, "seed"))
seeds = argument(str, lambda text: _distinct_seeds(_seed_list(text)))
percent = argument(float, _percent)
eta = argument(float, _data.check_eta)
lmbda = argument(float, functools.partial(_data.check_real, "lmbda", inclusive=True))
output_file = argument(str, paths.writable_file)
output_stream = argument(str, functools.partial(paths.writable_file, stream=True))


def _png_name(path):
    if not str(path).lower().endswith(".png"):
        raise ValueError(f"must name a .png file, got {str(path)!r}")
    return paths.writable_file(path)


png_file = argument(str, _png_name)
output_folder = argument(str, paths.writable_folder)
