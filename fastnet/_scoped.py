"""A setting changed for the length of a ``with`` block, and put back after it."""
import contextlib


@contextlib.contextmanager
def setting(get, put, value):
    """``put(value)`` for the block; then ``put`` what ``get()`` gave before it, also when
    the block raises."""
    before = get()
    put(value)
    try:
        yield
    finally:
        put(before)
