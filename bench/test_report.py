"""The report marks results measured in a slow spell, and only those, and sets the
epoch's limit against the target."""
from bench.report import SPELL, floor_line, spell_marker


def test_a_result_is_marked_when_the_probe_around_it_slowed():
    quickest = 0.004
    assert spell_marker({"probe": [quickest, quickest * 1.02]}, quickest) == ""
    assert spell_marker({}, quickest) == ""   # a run from before the probe
    assert 1.6 >= SPELL
    marker = spell_marker({"probe": [quickest * 1.6, quickest]}, quickest)
    assert "1.60x/1.00x" in marker


def test_the_epochs_limit_is_set_against_the_target():
    info = {"hidden": 1000, "dtype": "float64", "threads": 2, "images": 500,
            "seconds": {"strips": 0.44, "in_l2": 0.33}}
    epoch = {"workload": "mnist", "hidden": 1000, "dtype": "float64",
             "epoch_seconds": {"fastnet": 0.42, "numpy": 2.9}}
    other = dict(epoch, hidden=30, epoch_seconds={"fastnet": 0.02, "numpy": 0.2})
    line = floor_line(info, [other, epoch])
    assert "0.440 s on the first layer's strips as trained, 0.330 s with" in line
    assert "no row fetched from L3: 25% less); ten times NumPy's speed needs 0.290 s" in line
    assert floor_line(info, [other]).endswith("25% less)")
    info["seconds"]["in_l2"] = 0.462
    assert floor_line(info, [other]).endswith("5% more)")
