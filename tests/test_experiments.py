"""`fastnet experiments chapter1`: the runs as data, the runner, and the files it writes."""
import csv
import random
import sys

import numpy as np
import pytest

from fastnet import cli, experiments, mnist_loader, network
from fastnet.network import EpochResult

ONLY = ["30-hidden", "30-hidden-eta100", "sweep-eta1"]
SEEDS = [0, 1]
EPOCHS = 2
LIMIT = 2000


def _fake(*corrects_per_seed):
    """Results of one run: seed i had ``corrects_per_seed[i]`` correct of 100 per epoch."""
    return {seed: [EpochResult(j, c, 100, 0.0) for j, c in enumerate(corrects)]
            for seed, corrects in enumerate(corrects_per_seed)}


def _table_rows(text):
    """The cells of every Markdown table row that is not a header or a rule."""
    rows = [[cell.strip() for cell in line.strip("|").split("|")]
            for line in text.splitlines() if line.startswith("|")]
    return [row for row in rows if row[0] not in ("run", "eta") and not row[0].startswith("---")]


@pytest.fixture(scope="module")
def mnist(mnist_dir):
    (X, y), _, test = mnist_loader.load_data(mnist_dir)
    return (X, y), test


@pytest.fixture(scope="module")
def command_output(mnist_dir, tmp_path_factory):
    """The folder the real command wrote on a tiny setting."""
    out = tmp_path_factory.mktemp("chapter1")
    status = cli.main(["experiments", "chapter1", "--epochs", str(EPOCHS),
                       "--seeds", ",".join(map(str, SEEDS)), "--limit", str(LIMIT),
                       "--only", ",".join(ONLY), "--data", str(mnist_dir), "--out", str(out)])
    assert status == 0
    return out


@pytest.fixture(scope="module")
def runner_results(mnist):
    """The runner's numbers for the same setting, computed directly."""
    (X, y), test = mnist
    return experiments.run([experiments.BY_NAME[name] for name in ONLY],
                           (X[:LIMIT], y[:LIMIT]), test, SEEDS, EPOCHS)


def test_the_runs_are_the_chapters():
    by_name = experiments.BY_NAME
    assert len(by_name) == len(experiments.CHAPTER1)
    assert (by_name["30-hidden"].sizes, by_name["30-hidden"].eta) == ((784, 30, 10), 3.0)
    assert (by_name["100-hidden"].sizes, by_name["100-hidden"].eta) == ((784, 100, 10), 3.0)
    assert by_name["no-hidden"].sizes == (784, 10)
    sweep = experiments.sweep_runs(experiments.CHAPTER1)
    assert [e.eta for e in sweep] == [0.001, 0.01, 0.1, 1.0, 3.0, 10.0, 100.0]


def test_csv_has_every_epoch_of_every_run_and_seed(command_output, runner_results):
    with open(command_output / "epochs.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    assert list(rows[0]) == experiments.CSV_COLUMNS
    assert len(rows) == len(ONLY) * len(SEEDS) * EPOCHS
    for row in rows:
        result = runner_results[row["run"]][int(row["seed"])][int(row["epoch"])]
        assert (int(row["correct"]), int(row["total"])) == (result.correct, 10_000)
        assert float(row["accuracy"]) == pytest.approx(result.correct / 100, abs=0.005)


def test_table_reports_the_best_of_seeds(command_output, runner_results):
    with open(command_output / "epochs.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    table = _table_rows((command_output / "table.md").read_text())
    chapter, sweep = table[:2], table[2:]
    assert [row[0] for row in chapter] == ["30-hidden", "30-hidden-eta100"]
    assert [row[0] for row in sweep] == ["1", "3", "100"]
    for name, cells in [("30-hidden", chapter[0][4:6]), ("30-hidden-eta100", chapter[1][4:6]),
                        ("sweep-eta1", sweep[0][1:3])]:
        mine = [row for row in rows if row["run"] == name]
        best_peak = max(float(row["accuracy"]) for row in mine)
        best_final = max(float(row["accuracy"]) for row in mine if int(row["epoch"]) == EPOCHS - 1)
        assert cells == [f"{best_peak:.2f}%", f"{best_final:.2f}%"]
    for row in chapter:
        assert row[-1] == experiments.verdict(experiments.BY_NAME[row[0]], runner_results[row[0]])
    assert chapter[0][-1] == "no"                  # 2 epochs on 2,000 images do not reach 95%


def test_curves_png_is_written_with_matplotlib(command_output):
    pytest.importorskip("matplotlib")
    assert (command_output / "curves.png").read_bytes().startswith(b"\x89PNG")


def test_without_matplotlib_the_plot_is_skipped_with_a_note(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)       # makes `import matplotlib` fail
    run = experiments.BY_NAME["30-hidden"]
    notes = []
    experiments.write_outputs([run], {run.name: _fake([10, 20])}, tmp_path, "header\n", notes.append)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["epochs.csv", "table.md"]
    assert "matplotlib is not installed (pip install 'fastnet-nndl[plot]')" in notes[-1]


@pytest.mark.parametrize("name, results, expected", [
    ("30-hidden", _fake([90, 96, 94], [80, 85, 90]), "yes"),            # best peak 96 >= 95
    ("30-hidden", _fake([90, 94, 94], [80, 85, 90]), "no"),
    ("30-hidden-eta100", _fake([10, 9], [11, 12]), "yes"),              # best final 12 in 5..15
    ("30-hidden-eta100", _fake([10, 9], [11, 60]), "no"),
    ("100-hidden-eta0.001", _fake([11, 21]), "yes"),
    ("no-hidden", _fake([50, 80]), "—"),
])
def test_verdict(name, results, expected):
    assert experiments.verdict(experiments.BY_NAME[name], results) == expected


@pytest.mark.parametrize("option, value, message", [
    ("--only", "30-hidden,nope", "unknown run(s) nope; known: 30-hidden"),
    ("--seeds", "0,a", "argument --seeds: invalid seeds value: '0,a'"),
    ("--epochs", "0", "argument --epochs: epochs must be an integer >= 1, got 0"),
])
def test_bad_options_are_named(option, value, message, capsys):
    with pytest.raises(SystemExit):
        cli.main(["experiments", "chapter1", option, value])
    assert message in capsys.readouterr().err


def test_no_hidden_layer_trains_on_the_engine_and_beats_chance(mnist):
    (X, y), test = mnist
    training = (X[:10_000], y[:10_000])
    results = experiments.run([experiments.BY_NAME["no-hidden"]], training, test, [0], 5)
    random.seed(0)
    np.random.seed(0)
    direct = network.Network([784, 10]).train(training, 5, 10, 3.0, test)
    epochs_run = results["no-hidden"][0]
    assert [r.correct for r in epochs_run] == [r.correct for r in direct]
    assert experiments.final(epochs_run) > 30.0                       # chance is about 10%
