"""What the tests of the ``fastnet`` command share besides fixtures (those are in conftest.py)."""

#: A small, quick ``fastnet train`` setting: 600 images through 784-10-10.
SMALL = ["--sizes", "784,10,10", "--limit", "600", "--batch", "10", "--eta", "3.0"]


def epoch_lines(out):
    """The chapter's lines without the seconds."""
    return [line.split("  (")[0] for line in out.splitlines() if line.startswith("Epoch")]
