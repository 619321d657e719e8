"""How a trained network's answers compare with the true ones, beyond the count of
correct answers that ``Network.evaluate`` gives."""
import numpy as np

from fastnet import _data


def confusion_matrix(labels, predicted, classes):
    """``counts[i, j]``: how many samples of true class ``i`` were predicted as ``j``,
    an int64 array ``(classes, classes)``; its trace is the number predicted right.
    ``labels`` and ``predicted``: integer vectors of one length, values ``0..classes-1``."""
    classes = _data.check_positive_int("classes", classes)
    _data.check_bytes(f"classes={classes}", classes * classes * 8, "its counts")
    labels, predicted = np.asarray(labels), np.asarray(predicted)
    if labels.ndim != 1 or labels.shape != predicted.shape:
        raise ValueError(f"labels and predicted must be vectors of one length, got shapes "
                         f"{labels.shape} and {predicted.shape}")
    for name, values in (("labels", labels), ("predicted", predicted)):
        if values.dtype.kind not in "iu" and values.size:
            raise ValueError(f"{name} must be integers 0..{classes - 1}, got {values.dtype} values")
        if values.size and (values.min() < 0 or values.max() >= classes):
            raise ValueError(f"{name} must be integers 0..{classes - 1}, got values from "
                             f"{values.min()} to {values.max()}")
    pairs = labels.astype(np.int64) * classes + predicted.astype(np.int64)
    return np.bincount(pairs, minlength=classes * classes).reshape(classes, classes)
