"""Data sets: small records of what a data set is, finding and downloading its files, and
its contents as arrays.

A DataSet names its four IDX files (with their digests), its mirrors and its shape; MNIST
is one. `find(dataset, path)` locates the files (downloading the official ones when
missing) and returns a Source, which knows its format and loads itself.
"""

import difflib
import os
from dataclasses import dataclass
from functools import partial
from http.client import HTTPException
from math import prod
from pathlib import Path

import numpy as np

from . import downloads, readers
from .errors import FastnetFileError


@dataclass(frozen=True)
class DataSet:
    """A labelled image data set published as four IDX files, the way MNIST is."""

    name: str
    files: dict          # {file name: SHA-256 of its decompressed bytes}, in the order
                         # training images, training labels, test images, test labels
    mirrors: tuple       # base URLs the files are downloaded from, each ending in "/"
    image_shape: tuple   # (rows, columns) of one image
    classes: int         # labels are 0 .. classes - 1
    training_size: int   # images in the official training set
    test_size: int       # images in the official test set
    single_files: tuple = ()  # one-file forms accepted in a folder in place of the IDX files

    @property
    def inputs(self):
        """Pixels in one image: the size of a network's input layer."""
        return prod(self.image_shape)

    @property
    def idx_shapes(self):
        """{file name: the shape its IDX header must claim}."""
        shapes = [(self.training_size, *self.image_shape), (self.training_size,),
                  (self.test_size, *self.image_shape), (self.test_size,)]
        return dict(zip(self.files, shapes, strict=True))

    @property
    def max_bytes(self):
        """The most a one-file form may hold: every image and label at 8 bytes a value,
        and a MiB for headers."""
        return (self.training_size + self.test_size) * (self.inputs + 1) * 8 + (1 << 20)


MNIST = DataSet(
    name="MNIST",
    files={
        "train-images-idx3-ubyte.gz": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        "train-labels-idx1-ubyte.gz": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        "t10k-images-idx3-ubyte.gz": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        "t10k-labels-idx1-ubyte.gz": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    },
    mirrors=("https://ossci-datasets.s3.amazonaws.com/mnist/",
             "https://storage.googleapis.com/cvdf-datasets/mnist/"),
    image_shape=(28, 28),
    classes=10,
    training_size=60_000,
    test_size=10_000,
    single_files=("mnist.pkl.gz", "mnist.npz"),  # the chapter's pickle, Keras' archive
)

DEFAULT_FOLDER = "data"
FILE_FORMATS = {".pkl.gz": "pickle", ".pkl": "pickle", ".npz": "npz"}  # by the name's ending
NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")  # Keras' names for the official sets


@dataclass(frozen=True)
class Source:
    """Where a data set's files were found, and in which format: "idx" (a folder holding
    the four IDX files), "pickle" (the chapter's three sets) or "npz" (Keras' two)."""

    dataset: DataSet
    path: Path
    format: str

    def load(self, validation_size):
        """(training, validation, test), each a pair (X float32 (n, inputs) in [0, 1],
        y int64 (n,) labels). From the official two sets (IDX, npz) the last
        `validation_size` training images validate; a pickle holds the three sets itself."""
        return _LOADERS[self.format](self, validation_size)


def read_idx_files(dataset, folder):
    """The four arrays of `dataset`'s IDX files in `folder`, in `files` order, each verified."""
    return [_read_official(dataset, name, Path(folder) / name) for name in dataset.files]


def _read_official(dataset, name, path):
    """The array in the official IDX file `name`, read from `path`: its header must claim the
    expected shape (so a file claiming more is refused unread) and its bytes the digest."""
    shape = dataset.idx_shapes[name]
    return readers.read_idx(path, dataset.files[name], shape=shape,
                            max_bytes=prod(shape))  # the official files hold one byte a value


def _download_limit(dataset, name):
    """The most bytes the official file `name` may take, gzip'd or raw: its IDX header and
    one byte a value, and what gzip adds to incompressible data (5 bytes a 64 KiB block,
    its own header and trailer, which a KiB covers)."""
    shape = dataset.idx_shapes[name]
    size = 4 + 4 * len(shape) + prod(shape)
    return size + 5 * (size // 65535 + 1) + 1024


# ---------------------------------------------------------------- find and download

def data_location(path=None):
    """Where data sets are: `path`, else $FASTNET_DATA, else ./data."""
    return Path(path if path is not None else os.environ.get("FASTNET_DATA") or DEFAULT_FOLDER)


def find(dataset, path=None, download=True):
    """The Source of `dataset`: a folder holding its IDX files, or a .pkl.gz / .pkl / .npz file.

    `path` (else $FASTNET_DATA, else ./data) names a folder or such a file. A folder that
    holds neither the IDX files nor one of the data set's single files gets the missing IDX
    files downloaded into it (unless `download` is false). Only the default folder is
    created; a `path` that does not exist is an error.
    """
    where = data_location(path)
    file_format = _format_of(where)
    if file_format:
        if not where.is_file():
            raise _no_such("file", where)
        return Source(dataset, where, file_format)
    if where.is_file():
        raise FastnetFileError(
            f"{where}: expected a folder holding the four {dataset.name} IDX files, "
            f"or a file ending in {' / '.join(FILE_FORMATS)}")
    if not where.is_dir() and path is not None:
        raise _no_such("folder", where)
    missing = [name for name in dataset.files if not (where / name).is_file()]
    if not missing:
        return Source(dataset, where, "idx")
    for name in dataset.single_files:
        if (where / name).is_file():
            return Source(dataset, where / name, _format_of(where / name))
    if not download:
        raise FastnetFileError(_not_found_message(dataset, where, ["downloading is off (download=False)"]))
    download_files(dataset, where, missing)
    return Source(dataset, where, "idx")


def download_files(dataset, folder, names=None):
    """Download `dataset`'s IDX files `names` (default: all) into `folder`, creating it;
    each is verified before it lands. The first mirror that gives a good file wins."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        reason = f"cannot create the folder: {error}"
        raise FastnetFileError(_not_found_message(dataset, folder, [reason])) from error
    for name in dataset.files if names is None else names:
        failures = []
        for mirror in dataset.mirrors:
            try:
                downloads.fetch(mirror + name, folder / name, partial(_read_official, dataset, name),
                                _download_limit(dataset, name))
                break
            except (OSError, HTTPException, ValueError) as error:  # incl. URLError, timeouts, bad digest
                failures.append(f"{mirror}{name}: {error}")
        else:
            raise FastnetFileError(_not_found_message(dataset, folder, failures))


def _format_of(path):
    """The format a file name's ending names ("pickle", "npz"), else None."""
    return next((form for ending, form in FILE_FORMATS.items() if path.name.endswith(ending)), None)


def _no_such(kind, where):
    """The error for a `where` that does not exist, suggesting a close name beside it."""
    beside = [entry.name for entry in where.parent.iterdir()] if where.parent.is_dir() else []
    close = difflib.get_close_matches(where.name, beside, n=1)
    hint = f"; did you mean {where.parent / close[0]}?" if close else ""
    return FastnetFileError(f"{where}: no such {kind}{hint}")


def _not_found_message(dataset, folder, reasons):
    folder = folder.resolve()
    names = "".join(f"\n  {name}" for name in dataset.files)
    others = f"\n(or {' or '.join(dataset.single_files)})" if dataset.single_files else ""
    why = "".join(f"\n  {reason}" for reason in reasons)
    return (
        f"{dataset.name} is not in {folder} and could not be downloaded:{why}\n"
        f"Put these four files in {folder}:{names}{others}\n"
        "or set $FASTNET_DATA to a folder that holds them, or name the folder with "
        "path= (in Python) or --data (on the fastnet command line).")


# ---------------------------------------------------------------- files -> arrays

def _load_idx(source, validation_size):
    return _split(source, validation_size, *read_idx_files(source.dataset, source.path))


def _load_npz(source, validation_size):
    arrays = readers.read_npz(source.path, NPZ_KEYS, max_bytes=source.dataset.max_bytes)
    return _split(source, validation_size, *arrays)


def _load_pickle(source, validation_size):
    """The three (X, y) pairs of the chapter's pickle, checked."""
    data = readers.read_pickle(source.path, max_bytes=source.dataset.max_bytes)
    if not (_is_sequence(data, 3) and all(_is_sequence(pair, 2) for pair in data)):
        raise FastnetFileError(
            f"{source.path}: expected ((X, y), (X, y), (X, y)) as in the chapter's mnist.pkl.gz, "
            f"found a {type(data).__name__}")
    parts = ("training", "validation", "test")
    return tuple(_checked(source, part, *pair) for part, pair in zip(parts, data))


_LOADERS = {"idx": _load_idx, "npz": _load_npz, "pickle": _load_pickle}


def _is_sequence(value, length):
    return isinstance(value, (tuple, list)) and len(value) == length


def _split(source, validation_size, train_images, train_labels, test_images, test_labels):
    """Three sets from the official two: the last `validation_size` training images validate."""
    images, labels = _checked(source, "training", train_images, train_labels)
    cut = len(labels) - validation_size
    if cut <= 0:
        raise FastnetFileError(
            f"{source.path}: only {len(labels)} training images; need more than {validation_size} "
            f"to hold out the last {validation_size} for validation")
    test = _checked(source, "test", test_images, test_labels)
    return (images[:cut], labels[:cut]), (images[cut:], labels[cut:]), test


def _checked(source, part, images, labels):
    """(X, y) as float32 (n, inputs) in [0, 1] and int64 (n,) labels, else FastnetFileError."""
    where, dataset = f"{source.path}: {part}", source.dataset
    if not (isinstance(images, np.ndarray) and isinstance(labels, np.ndarray)):
        raise FastnetFileError(f"{where} set is not a pair of NumPy arrays: found "
                               f"({type(images).__name__}, {type(labels).__name__})")
    if images.shape[1:] == dataset.image_shape:
        images = images.reshape(-1, dataset.inputs)
    if images.ndim != 2 or images.shape[1] != dataset.inputs:
        raise FastnetFileError(f"{where} images have shape {images.shape}, expected "
                               f"(n, {dataset.inputs}) or (n, {', '.join(map(str, dataset.image_shape))})")
    if labels.shape != (len(images),):
        raise FastnetFileError(
            f"{where} labels have shape {labels.shape}, expected ({len(images)},), one per image")
    classes = f"integer classes 0..{dataset.classes - 1}"
    if labels.dtype.kind not in "iu":
        raise FastnetFileError(f"{where} labels must be {classes}, found {labels.dtype}")
    if labels.size and not (labels.min() >= 0 and labels.max() < dataset.classes):
        raise FastnetFileError(f"{where} labels must be {classes}, "
                               f"found values {labels.min()}..{labels.max()}")
    return _scaled(where, images), labels.astype(np.int64)


def _scaled(where, images):
    """Pixels as float32 in [0, 1]: bytes are divided by 255, floats kept as they are."""
    if images.dtype == np.uint8:
        return np.divide(images, np.float32(255), dtype=np.float32)   # one pass
    if images.dtype.kind != "f":
        raise FastnetFileError(f"{where} images are {images.dtype}, expected uint8 or float")
    pixels = images.astype(np.float32, copy=False)
    if not np.all((pixels >= 0) & (pixels <= 1)):
        raise FastnetFileError(f"{where} images have values outside [0, 1] (or NaN)")
    return pixels
