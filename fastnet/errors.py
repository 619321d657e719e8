"""fastnet's own exception classes."""


class FastnetFileError(ValueError):
    """A data or model file is missing, truncated, corrupt or of a foreign format."""


class TrainingDivergedError(FloatingPointError):
    """Training produced non-finite parameters (the learning rate is too large)."""
