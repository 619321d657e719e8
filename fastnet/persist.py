"""Networks and training checkpoints as .npz files, written atomically, read without pickle.

A model file holds ``format_version``, ``sizes``, ``dtype`` (``"float32"`` or
``"float64"``), ``cost`` (a name in ``fastnet.costs.COSTS``) and ``params``: the flat
parameter vector, layer after layer the weights (row-major) then the biases. Version 1
files, written before costs were a choice, have no ``cost`` and load as quadratic. A
checkpoint is a model file that also holds ``epoch`` (the epochs completed), ``order`` (the
cumulative shuffle) and the states of the random streams that shuffle and draw (``random``
and ``np.random``, or the generators given), so that training resumes exactly where it
stopped; a checkpoint of ``fastnet train`` also holds ``training``, JSON text of the run's
settings and per-epoch history (see ``fastnet.training``).

Every file is written atomically: into a temporary file beside it, named with the writing
process's id, then renamed over it.
"""
import os
import random
import re
import stat
import uuid

import numpy as np

from fastnet import _data, costs, paths
from fastnet.readers import read_npz
from fastnet.errors import FastnetFileError
from fastnet.network import Network

FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)
MODEL_KEYS = ("format_version", "sizes", "dtype", "params", "cost")
CHECKPOINT_KEYS = MODEL_KEYS + ("epoch", "order", "random_state", "random_gauss",
                                "np_random_state", "np_random_gauss")
TRAINING_KEY = "training"


def save(net, path):
    """Write ``net`` to ``path`` atomically."""
    write(path, model_arrays(net))


def load(path):
    """The network saved at ``path`` (a model or a checkpoint file)."""
    return _network(path, *read(path, MODEL_KEYS))


def model_arrays(net):
    """The arrays of a model file for ``net`` (the parameters copied)."""
    return {"format_version": np.int64(FORMAT_VERSION), "sizes": np.array(net.sizes),
            "dtype": np.str_(net.dtype.name), "params": net.parameters.copy(),
            "cost": np.str_(net.cost.name)}


def checkpoint(net, epoch, order, shuffle=random, draw=np.random, training=None):
    """The arrays of a checkpoint after ``epoch`` epochs: ``net`` and ``order`` copied, the
    states of ``shuffle`` (``random`` or a ``random.Random``) and ``draw`` (``np.random`` or
    a ``np.random.RandomState``) as they are now, and the ``training`` text if given."""
    _, internal, gauss = shuffle.getstate()
    _, keys, position, has_gauss, cached = draw.get_state()
    arrays = {**model_arrays(net), "epoch": np.int64(epoch), "order": np.array(order, dtype=np.int64),
              "random_state": np.array(internal, dtype=np.int64),
              "random_gauss": np.float64(np.nan if gauss is None else gauss),  # NaN: None
              "np_random_state": np.append(keys.astype(np.int64), [position, has_gauss]),
              "np_random_gauss": np.float64(cached)}
    if training is not None:
        arrays[TRAINING_KEY] = np.str_(training)
    return arrays


def resume(path, shuffle=random, draw=np.random):
    """``(net, epoch, order)`` from the checkpoint at ``path``; puts ``shuffle`` and
    ``draw`` (by default ``random`` and ``np.random``) back in the states saved there."""
    arrays = dict(zip(CHECKPOINT_KEYS, read(path, CHECKPOINT_KEYS)))
    net = _network(path, *(arrays[key] for key in MODEL_KEYS))
    epoch, order = arrays["epoch"], arrays["order"]
    if epoch.ndim != 0 or epoch.dtype.kind not in "iu" or epoch < 0:
        raise FastnetFileError(f"{path}: epoch must be a count of epochs, got {epoch!r}")
    if order.ndim != 1 or order.dtype.kind not in "iu":
        raise FastnetFileError(f"{path}: order must be a vector of sample indices, got "
                               f"{order.dtype} of shape {order.shape}")
    try:
        order = _data.check_order(order.tolist(), len(order))
    except (ValueError, TypeError) as error:
        raise FastnetFileError(f"{path}: {error}") from None
    _restore_random_states(path, arrays, shuffle, draw)
    return net, int(epoch), order


def training_record(path):
    """The ``training`` text of the checkpoint at ``path``, or None if it has none (a model
    file, or a checkpoint of an earlier fastnet)."""
    text, = read_npz(path, [TRAINING_KEY], optional=[TRAINING_KEY])
    if text is None:
        return None
    if text.shape != () or text.dtype.kind != "U":
        raise FastnetFileError(f"{path}: {TRAINING_KEY} must be a text, got {text!r}")
    return str(text)


def write(path, arrays):
    """Write ``arrays`` as an .npz at ``path``, atomically: to a temporary file in the same
    folder, flushed to disk, then renamed over the file. The file is always either the old
    one or the complete new one; a failure removes its temporary file and names ``path``.

    A symlink is written through (its target is replaced); an existing file keeps its
    permission bits, a new one gets the usual ones (0o666 less the umask). A path naming a
    folder is an error. Temporaries that killed saves of the same file left are removed.
    """
    target = paths.file_target(path)
    _remove_abandoned_temporaries(target)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        with open(temporary, "xb") as file:
            if target.exists():
                os.chmod(temporary, stat.S_IMODE(target.stat().st_mode))
            np.savez(file, **arrays)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, target)
    except BaseException as error:
        temporary.unlink(missing_ok=True)
        if isinstance(error, OSError) and error.errno is not None:
            raise OSError(error.errno, error.strerror, os.fspath(path)) from None
        raise


def _remove_abandoned_temporaries(target):
    """Remove the temporaries of saves of ``target`` whose process no longer runs (POSIX:
    elsewhere there is no harmless way to ask whether a process runs)."""
    if os.name != "posix":
        return
    pattern = re.compile(rf"\.{re.escape(target.name)}\.(\d+)\.[0-9a-f]{{12}}\.tmp")
    try:
        names = os.listdir(target.parent)
    except OSError:
        return  # no folder to clean; the save itself reports why it cannot write there
    for name in names:
        match = pattern.fullmatch(name)
        if match and not _running(int(match[1])):
            (target.parent / name).unlink(missing_ok=True)


def _running(pid):
    """Whether a process with id ``pid`` exists."""
    try:
        os.kill(pid, 0)  # signal 0 only asks
    except (ProcessLookupError, OverflowError):
        return False
    except PermissionError:  # another user's process
        pass
    return True


def read(path, keys):
    """The arrays ``keys`` of the fastnet file at ``path``, its format version checked; a
    version 1 file's missing ``cost`` reads as quadratic."""
    if not os.path.isfile(path):
        raise FastnetFileError(f"{path}: {'is a folder, not a file' if os.path.isdir(path) else 'no such file'}")
    stored = [key for key in keys if key != "cost"]
    arrays = dict(zip(stored, read_npz(path, stored)))
    version = arrays["format_version"]
    if version.shape != () or version.dtype.kind not in "iu" or version not in READABLE_VERSIONS:
        raise FastnetFileError(f"{path}: format version {version}; this fastnet reads "
                               f"versions {', '.join(map(str, READABLE_VERSIONS))}")
    arrays["cost"] = read_npz(path, ["cost"])[0] if version >= 2 else np.str_(costs.QUADRATIC.name)
    return [arrays[key] for key in keys]


def _network(path, version, sizes, dtype, params, cost):
    """A ``Network`` holding ``params``, once every array is checked; ``np.random`` untouched."""
    if sizes.ndim != 1 or sizes.dtype.kind not in "iu":
        raise FastnetFileError(f"{path}: sizes must be a list of integers, got {sizes!r}")
    try:
        sizes = _data.check_sizes(sizes.tolist())
    except ValueError as error:
        raise FastnetFileError(f"{path}: {error}") from None
    if dtype.shape != () or str(dtype) not in ("float32", "float64"):
        raise FastnetFileError(f"{path}: dtype must be 'float32' or 'float64', got {dtype!r}")
    if cost.shape != () or str(cost) not in costs.COSTS:
        raise FastnetFileError(f"{path}: cost must be one of {', '.join(costs.COSTS)}, got {cost!r}")
    if params.dtype != str(dtype):
        raise FastnetFileError(f"{path}: params must be {dtype} values, got {params.dtype}")
    if not np.isfinite(params).all():
        raise FastnetFileError(f"{path}: params hold NaN or inf")
    try:
        return Network.from_parameters(sizes, params, cost=str(cost))
    except ValueError as error:
        raise FastnetFileError(f"{path}: {error}") from None


def _restore_random_states(path, arrays, shuffle, draw):
    """Set ``shuffle`` and ``draw`` to the states in a checkpoint's ``arrays``."""
    np_state, state = arrays["np_random_state"], arrays["random_state"]
    if state.shape != (625,) or state.dtype.kind not in "iu":
        raise FastnetFileError(f"{path}: random_state must be 625 integers (random.getstate()'s), "
                               f"got {state.dtype} of shape {state.shape}")
    if not _is_mt19937_state(np_state):
        raise FastnetFileError(f"{path}: np_random_state must be 624 32-bit keys, a position "
                               f"0..624 and a flag 0 or 1")
    try:   # every value converted before either generator is set: a bad one changes neither
        gauss, np_gauss = float(arrays["random_gauss"]), float(arrays["np_random_gauss"])
        shuffle.setstate((3, tuple(state.tolist()),
                          None if np.isnan(gauss) else gauss))
        draw.set_state(("MT19937", np_state[:624].astype(np.uint32), int(np_state[624]),
                        int(np_state[625]), np_gauss))
    except (ValueError, TypeError, OverflowError) as error:
        raise FastnetFileError(f"{path}: the saved state of random is invalid: {error}") from None


def _is_mt19937_state(state):
    """Whether ``state`` is 624 keys, a position and a has-gauss flag that ``np.random``
    accepts (it does not check the position itself)."""
    if state.shape != (626,) or state.dtype.kind not in "iu":
        return False
    keys, (position, has_gauss) = state[:624], state[624:].tolist()
    return bool(((keys >= 0) & (keys < 2**32)).all()) and 0 <= position <= 624 and has_gauss in (0, 1)
