"""fastnet's own exception classes."""


class FastnetFileError(ValueError):
    """A data or model file is missing, truncated, corrupt or of a foreign format."""


class TrainingDivergedError(FloatingPointError):
    """Training produced non-finite parameters (the learning rate is too large)."""


def install_hint(extra):
    """``pip install 'fastnet-nndl[EXTRA]'``: the command that installs fastnet's optional
    ``extra`` (such as plot or distributed)."""
    return f"pip install 'fastnet-nndl[{extra}]'"
