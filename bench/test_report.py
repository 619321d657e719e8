"""The report marks results measured in a slow spell, and only those."""
from bench.report import SPELL, spell_marker


def test_a_result_is_marked_when_the_probe_around_it_slowed():
    quickest = 0.004
    assert spell_marker({"probe": [quickest, quickest * 1.02]}, quickest) == ""
    assert spell_marker({}, quickest) == ""   # a run from before the probe
    assert 1.6 >= SPELL
    marker = spell_marker({"probe": [quickest * 1.6, quickest]}, quickest)
    assert "1.60x/1.00x" in marker
