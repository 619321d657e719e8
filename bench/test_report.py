"""The report marks results measured in a slow spell, and only those, and sets the first
layer's limit against the epoch."""
from bench.conftest import IMAGES
from bench.report import SPELL, floor_line, spell_marker


def test_a_result_is_marked_when_the_probe_around_it_slowed():
    quickest = 0.004
    assert spell_marker({"probe": [quickest, quickest * 1.02]}, quickest) == ""
    assert spell_marker({}, quickest) == ""   # a run from before the probe
    assert 1.6 >= SPELL
    marker = spell_marker({"probe": [quickest * 1.6, quickest]}, quickest)
    assert "1.60x/1.00x" in marker


def test_the_first_layers_limit_is_set_against_the_epoch_and_the_target():
    info = {"hidden": 1000, "dtype": "float64", "threads": 2, "images": IMAGES // 10,
            "multiply_adds": 750_000_000, "seconds": {"in_l1": 0.1, "strips": 0.22}}
    epoch = {"workload": "mnist", "hidden": 1000, "dtype": "float64",
             "epoch_seconds": {"fastnet": 0.42, "numpy": 2.9}}
    other = dict(epoch, hidden=30, epoch_seconds={"fastnet": 0.02, "numpy": 0.2})
    line = floor_line(info, [other, epoch])
    assert "0.100 s with every weight row in L1 (37.5 multiply-adds a ns" in line
    assert "needs 0.200 s; fastnet's whole epoch took 0.420 s" in line
    assert line.endswith("ten times NumPy's speed needs 0.290 s")
    assert floor_line(info, [other]).endswith("first layer needs 0.200 s")
