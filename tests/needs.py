"""Optional dependencies the tests need: under CI a missing one fails, elsewhere it skips."""
import os

import pytest


def needed(message):
    """Stop for a missing dependency described by ``message``: fail under CI (``$CI`` set),
    else skip: the test when called from a test or fixture, the whole module when called
    while the module is imported."""
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message, allow_module_level=True)
