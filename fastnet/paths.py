"""Paths fastnet will write to, checked before any work is done.

A file fastnet writes (a model, a checkpoint, a log) must not name a folder, its folder
must exist and be writable; a folder it fills (experiments' outputs) may be made later,
but what of it exists must be a folder, writable. Writability is tried, not guessed from
permission bits: a temporary file is made and removed in the folder (root can write into
read-only folders; a read-only file system refuses everyone). Errors are
``FastnetFileError`` naming the path as the user gave it.
"""
import os
import tempfile
from pathlib import Path

from fastnet.errors import FastnetFileError


def file_target(path, stream=False):
    """The file a save to ``path`` replaces: ``path`` with symlinks followed (a save writes
    through a link to its target). A path ending in a separator or naming a folder is an
    error, and so is a device or a pipe (``/dev/null``: a save would replace it), unless the
    file is a ``stream`` written in place (a log may go to ``/dev/stdout``)."""
    text = os.fspath(path)
    if text.endswith(os.sep) or (os.altsep and text.endswith(os.altsep)):
        raise FastnetFileError(f"{text}: ends in a path separator, so it names a folder; "
                               f"give a file name")
    target = Path(os.path.realpath(text))
    if target.is_dir():
        raise FastnetFileError(f"{text}: is a folder; give a file name")
    if not stream and target.exists() and not target.is_file():
        raise FastnetFileError(f"{text}: is a device or a pipe, not a file; a save replaces "
                               f"the file it names")
    return target


def distinct_files(**named):
    """A FastnetFileError if two of the files ``named`` (option: path, or None) are one
    file: each would overwrite what the other wrote."""
    seen = {}
    for option, path in named.items():
        if path is None:
            continue
        target = file_target(path, stream=True)
        if target in seen:
            raise FastnetFileError(f"--{option} {path} is the file of --{seen[target][0]} "
                                   f"{seen[target][1]}; give each its own file")
        seen[target] = (option, path)


def writable_file(path, stream=False):
    """``path`` as a Path, once a file there can be written (made, replaced or appended to);
    a ``stream`` may also be a device or a pipe it can write to."""
    if stream and os.path.exists(path) and not (os.path.isfile(path) or os.path.isdir(path)):
        if not os.access(path, os.W_OK):   # a device or a pipe (/dev/stdout), links followed
            raise FastnetFileError(f"{path}: cannot write to it")
        return Path(path)
    target = file_target(path)
    _check_writable_folder(path, target.parent if Path(path).is_symlink() else Path(path).parent)
    if target.exists() and not os.access(target, os.W_OK):
        raise FastnetFileError(f"{path}: the file is read-only")
    return Path(path)


def writable_folder(path):
    """``path`` as a Path, once it is a writable folder or one that can be made (the
    nearest part of it that exists is a writable folder); nothing is made."""
    path = Path(path)
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    _check_writable_folder(path, existing)
    return path


def _check_writable_folder(path, folder):
    """Raise a FastnetFileError naming ``path`` unless ``folder`` is a folder to write in."""
    if not folder.exists():
        raise FastnetFileError(f"{path}: no folder {folder}")
    if not folder.is_dir():
        raise FastnetFileError(f"{path}: {'it' if folder == Path(path) else folder} is not a folder")
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise FastnetFileError(f"{path}: cannot write in {folder}: {error.strerror}") from None
