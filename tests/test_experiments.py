"""`fastnet experiments chapter1`: the runs as data, the runner on the sweep engine, and
the files it writes."""
import contextlib
import csv
import io
import json
import random
import sys

import numpy as np
import pytest

from fastnet import cli, experiments, network, sweep

ONLY = ["30-hidden", "30-hidden-eta100", "sweep-eta1"]
SEEDS = [0, 1]
EPOCHS = 2
LIMIT = 2000


def _fake(*corrects_per_seed):
    """Records of a 784-30-10 run: seed i had ``corrects_per_seed[i]`` correct of 100 per epoch."""
    return {seed: {**sweep.Run((784, 30, 10), 3.0, seed=seed)._asdict(), "sizes": [784, 30, 10],
                   "training_images": 100, "correct": corrects, "total": 100}
            for seed, corrects in enumerate(corrects_per_seed)}


def _table_rows(text):
    """The cells of every Markdown table row that is not a header or a rule."""
    rows = [[cell.strip() for cell in line.strip("|").split("|")]
            for line in text.splitlines() if line.startswith("|")]
    return [row for row in rows if row[0] not in ("run", "sizes") and not row[0].startswith("---")]


@pytest.fixture(scope="module")
def training_and_test(mnist):
    training, _, test = mnist
    return training, test


@pytest.fixture(scope="module")
def command_output(mnist_dir, tmp_path_factory):
    """The folder the real command wrote on a tiny setting (on the default local cluster,
    where Dask is installed), and what it printed."""
    out = tmp_path_factory.mktemp("chapter1")
    with contextlib.redirect_stdout(io.StringIO()) as stdout:
        status = cli.main(["experiments", "chapter1", "--epochs", str(EPOCHS),
                           "--seeds", ",".join(map(str, SEEDS)), "--limit", str(LIMIT),
                           "--only", ",".join(ONLY), "--data", str(mnist_dir), "--out", str(out)])
    assert status == 0
    return out, stdout.getvalue().splitlines()


@pytest.fixture(scope="module")
def runner_results(training_and_test):
    """The runner's numbers for the same setting, trained serially in this process."""
    (X, y), test = training_and_test
    return experiments.run([experiments.BY_NAME[name] for name in ONLY],
                           (X[:LIMIT], y[:LIMIT]), test, SEEDS, EPOCHS, workers=0, log=print)


def test_the_runs_are_the_chapters():
    by_name = experiments.BY_NAME
    assert len(by_name) == len(experiments.CHAPTER1)
    assert (by_name["30-hidden"].sizes, by_name["30-hidden"].eta) == ((784, 30, 10), 3.0)
    assert (by_name["100-hidden"].sizes, by_name["100-hidden"].eta) == ((784, 100, 10), 3.0)
    assert by_name["no-hidden"].sizes == (784, 10)
    sweep = experiments.sweep_runs(experiments.CHAPTER1)
    assert [e.eta for e in sweep] == [0.001, 0.01, 0.1, 1.0, 3.0, 10.0, 100.0]


def test_csv_has_every_epoch_of_every_run_and_seed(command_output, runner_results):
    out, _ = command_output
    with open(out / "epochs.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    assert list(rows[0]) == experiments.CSV_COLUMNS
    assert len(rows) == len(ONLY) * len(SEEDS) * EPOCHS
    for row in rows:
        record = runner_results[row["run"]][int(row["seed"])]
        epoch = int(row["epoch"])
        assert (int(row["correct"]), int(row["total"])) == (record["correct"][epoch], 10_000)
        assert float(row["accuracy"]) == pytest.approx(int(row["correct"]) / 100, abs=0.005)


def test_runs_jsonl_holds_each_run_once_as_the_serial_runner_trained_it(command_output,
                                                                        runner_results):
    out, _ = command_output
    records = [json.loads(line) for line in (out / "runs.jsonl").read_text().splitlines()]
    serial = [record for by_seed in runner_results.values() for record in by_seed.values()]
    assert sorted((sweep.record_key(r), r["parameters_sha256"]) for r in records) == sorted(
        {(sweep.record_key(r), r["parameters_sha256"]) for r in serial})   # 30-hidden is sweep-eta3


def test_table_reports_the_distribution_over_seeds(command_output, runner_results):
    out, printed = command_output
    table = _table_rows((out / "table.md").read_text())
    chapter, sweep_rows = table[:2], table[2:]
    assert [row[0] for row in chapter] == ["30-hidden", "30-hidden-eta100"]
    assert [row[1] for row in sweep_rows] == ["1", "3", "100"]
    for name, cells in [("30-hidden", chapter[0][4:7]), ("30-hidden-eta100", chapter[1][4:7]),
                        ("sweep-eta1", sweep_rows[0][3:6])]:
        peaks = sorted(max(record["correct"]) / 100 for record in runner_results[name].values())
        assert cells == [f"{peaks[-1]:.2f}%", f"{np.median(peaks):.2f}%", f"{peaks[0]:.2f}%"]
    assert chapter[0][7] == "0 of 2 reach 95%"     # 2 epochs on 2,000 images do not reach 95%
    eta100 = experiments.BY_NAME["30-hidden-eta100"]
    agreeing = experiments.agreement(eta100, runner_results[eta100.name])
    assert chapter[1][7] == f"{agreeing} end within 5-15%"
    assert printed == [experiments.summary(experiments.BY_NAME[name], runner_results[name])
                       for name in ("30-hidden", "30-hidden-eta100")]


def test_plots_are_written_with_matplotlib(command_output):
    pytest.importorskip("matplotlib")
    out, _ = command_output
    for name in ("curves.png", "eta.png"):
        assert (out / name).read_bytes().startswith(b"\x89PNG")


def test_a_diverged_seed_does_not_cut_the_others_curves_short():
    # Seed 2 diverged in its first epoch (no counts): the curve and band still cover every
    # epoch the other seeds trained, each over the seeds that reached it.
    plt = pytest.importorskip("matplotlib.pyplot")
    run = experiments.BY_NAME["30-hidden"]
    figure, ax = plt.subplots()
    try:
        experiments._plot_panel(ax, [run], "title", {run.name: _fake([90, 92, 93], [91, 95], [])})
        line, = ax.get_lines()
        assert list(line.get_xdata()) == [0, 1, 2]
        assert list(line.get_ydata()) == [90.5, 93.5, 93.0]
    finally:
        plt.close(figure)


def test_without_matplotlib_the_plot_is_skipped_with_a_note(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)       # makes `import matplotlib` fail
    run = experiments.BY_NAME["30-hidden"]
    notes = []
    experiments.write_outputs([run], {run.name: _fake([10, 20])}, tmp_path, "header\n", notes.append)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["epochs.csv", "table.md"]
    assert "matplotlib is not installed (pip install 'fastnet-nndl[plot]')" in notes[-1]


@pytest.mark.parametrize("name, results, expected", [
    ("30-hidden", _fake([90, 96, 94], [80, 85, 90], [95, 20]), "2 of 3"),    # peaks >= 95
    ("30-hidden", _fake([90, 94, 94], [80, 85, 90]), "0 of 2"),
    ("30-hidden-eta100", _fake([10, 9], [11, 12]), "2 of 2"),              # finals in 5..15
    ("30-hidden-eta100", _fake([10, 9], [11, 60]), "1 of 2"),
    ("100-hidden-eta0.001", _fake([11, 21], [70, 60]), "1 of 2"),
    ("no-hidden", _fake([50, 80]), "—"),
])
def test_agreement_counts_the_seeds_that_behave_as_the_chapter_says(name, results, expected):
    assert experiments.agreement(experiments.BY_NAME[name], results) == expected


@pytest.mark.parametrize("option, value, message", [
    ("--only", "30-hidden,nope", "argument --only: unknown run(s) nope; known: 30-hidden"),
    ("--only", "no-hidden,30-hidden,no-hidden", "argument --only: no-hidden named more than once"),
    ("--seeds", "0,a", "argument --seeds: seeds must be integers or ranges such as 0-19, 0,1,2 or 0-4,10; got '0,a'"),
    ("--epochs", "0", "argument --epochs: epochs must be an integer >= 1, got 0"),
])
def test_bad_options_are_named(option, value, message, capsys):
    with pytest.raises(SystemExit):
        cli.main(["experiments", "chapter1", option, value])
    assert message in capsys.readouterr().err


def test_no_hidden_layer_trains_on_the_engine_and_beats_chance(training_and_test):
    (X, y), test = training_and_test
    training = (X[:10_000], y[:10_000])
    results = experiments.run([experiments.BY_NAME["no-hidden"]], training, test, [0], 5,
                              workers=0, log=print)
    random.seed(0)
    np.random.seed(0)
    direct = network.Network([784, 10]).train(training, 5, 10, 3.0, test)
    record = results["no-hidden"][0]
    assert record["correct"] == [r.correct for r in direct]
    assert experiments.final(record) > 30.0                           # chance is about 10%
