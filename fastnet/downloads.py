"""Downloading one file over HTTP(S) with a per-read timeout and an overall deadline,
through a temporary .part file that becomes the target only once verified."""

import os
import tempfile
import time
from pathlib import Path
from urllib.request import urlopen

TIMEOUT = 10    # seconds the server may stay silent
DEADLINE = 120  # seconds one file may take in all (checked after each read)
_CHUNK = 1 << 16


def fetch(url, target, verify):
    """Download `url` to `target`, checked by `verify(part_path)`, which raises to refuse it.

    Raises TimeoutError when the server stays silent for TIMEOUT seconds or the file is not
    complete after DEADLINE seconds. The .part file beside `target` is removed whatever
    happens, a KeyboardInterrupt included.
    """
    target = Path(target)
    handle, part = tempfile.mkstemp(dir=target.parent, prefix=target.name + ".", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out, urlopen(url, timeout=TIMEOUT) as response:
            _copy(response, out, time.monotonic() + DEADLINE)
        verify(part)
        os.replace(part, target)
    finally:
        Path(part).unlink(missing_ok=True)


def _copy(response, out, deadline):
    """Copy `response` to `out` a read at a time until it ends, or until `deadline` passes."""
    while chunk := response.read1(_CHUNK):
        out.write(chunk)
        if time.monotonic() > deadline:
            raise TimeoutError(f"not complete after {DEADLINE} s, the deadline for one file: "
                               "the server is too slow")
