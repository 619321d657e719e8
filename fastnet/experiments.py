"""``fastnet experiments chapter1``: the chapter's MNIST runs, reproduced and compared.

The runs are data (``CHAPTER1``, a list of ``Experiment``); ``run`` trains each one once
per seed and returns every epoch's result; ``write_outputs`` turns that into a Markdown
table beside the chapter's figures, a CSV of every epoch, and learning curves (PNG, with
the optional ``plot`` extra).
"""
import csv
import random
import sys
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np

#: Layer sizes of the learning-rate sweep; every run with these sizes is part of it.
SWEEP_SIZES = (784, 30, 10)


class Experiment(NamedTuple):
    """One training set-up: what it is, what the chapter reports, what would confirm it.

    ``peak_at_least``: the best epoch of the best seed must reach this accuracy (percent).
    ``final_within``: the best seed's last-epoch accuracy must lie in this range (percent).
    """
    name: str
    sizes: tuple[int, ...]
    eta: float
    chapter: str = ""
    says: str = ""
    peak_at_least: float | None = None
    final_within: tuple[float, float] | None = None


CHAPTER1 = [
    Experiment("30-hidden", (784, 30, 10), 3.0, "95.42% (peak, epoch 28)",
               "about 95%, best of three runs", peak_at_least=95.0),
    Experiment("100-hidden", (784, 100, 10), 3.0, "96.59%",
               "more hidden neurons help", peak_at_least=96.0),
    Experiment("100-hidden-eta0.001", (784, 100, 10), 0.001, "21.42% (epoch 29)",
               "stuck low, slowly getting better", final_within=(0.0, 50.0)),
    Experiment("30-hidden-eta100", (784, 30, 10), 100.0, "9.82% (epoch 29)",
               "no better than chance (~10%)", final_within=(5.0, 15.0)),
    Experiment("no-hidden", (784, 10), 3.0, "not given",
               "exercise: what accuracy can 784-10 reach?"),
    *(Experiment(f"sweep-eta{eta:g}", SWEEP_SIZES, eta) for eta in (0.001, 0.01, 0.1, 1.0, 10.0)),
]

BY_NAME = {experiment.name: experiment for experiment in CHAPTER1}


def chapter_runs(experiments):
    """The runs the chapter itself describes (not sweep-only), in order."""
    return [e for e in experiments if e.says]


def sweep_runs(experiments):
    """The learning-rate sweep: the runs with ``SWEEP_SIZES``, by increasing eta."""
    return sorted((e for e in experiments if e.sizes == SWEEP_SIZES), key=lambda e: e.eta)


def run(experiments, training, test, seeds, epochs, mini_batch_size=10, log=None):
    """Train every experiment once per seed: ``{name: {seed: [EpochResult, ...]}}``.

    Seed ``s`` means ``random.seed(s); np.random.seed(s)`` before ``Network(sizes)``, as a
    reader of the chapter would. ``log`` (a callable) gets a line per finished training.
    """
    from fastnet import network

    results = {}
    started = time.perf_counter()
    for experiment in experiments:
        results[experiment.name] = {}
        for seed in seeds:
            random.seed(seed)
            np.random.seed(seed)
            net = network.Network(list(experiment.sizes))
            epochs_run = list(net.train(training, epochs, mini_batch_size, experiment.eta, test))
            results[experiment.name][seed] = epochs_run
            if log is not None:
                log(_progress_line(experiment, seed, epochs_run, time.perf_counter() - started))
    return results


def _progress_line(experiment, seed, epochs_run, elapsed):
    seconds = sum(result.seconds for result in epochs_run)
    return (f"{experiment.name} seed {seed}: peak {peak(epochs_run):.2f}%, "
            f"final {final(epochs_run):.2f}% ({seconds:.1f} s; {elapsed:.0f} s elapsed)")


def accuracy(result):
    """An ``EpochResult``'s test accuracy in percent."""
    return 100.0 * result.correct / result.total


def peak(epochs_run):
    """The best epoch's accuracy (percent) of one training."""
    return max(accuracy(result) for result in epochs_run)


def final(epochs_run):
    """The last epoch's accuracy (percent) of one training."""
    return accuracy(epochs_run[-1])


def best_of_seeds(by_seed, measure):
    """``measure`` (``peak`` or ``final``) of the best seed, like the chapter's best of three."""
    return max(measure(epochs_run) for epochs_run in by_seed.values())


def verdict(experiment, by_seed):
    """"yes" / "no" whether a run behaves as the chapter says, "—" where it says nothing testable."""
    checks = []
    if experiment.peak_at_least is not None:
        checks.append(best_of_seeds(by_seed, peak) >= experiment.peak_at_least)
    if experiment.final_within is not None:
        low, high = experiment.final_within
        checks.append(low <= best_of_seeds(by_seed, final) <= high)
    if not checks:
        return "—"
    return "yes" if all(checks) else "no"


# -- outputs ------------------------------------------------------------------------------
def markdown_table(experiments, results):
    """The chapter's runs beside its figures, then the 784-30-10 learning-rate sweep."""
    sections = [_chapter_table(chapter_runs(experiments), results),
                _sweep_table(sweep_runs(experiments), results)]
    return "\n".join(section for section in sections if section)


def _chapter_table(experiments, results):
    if not experiments:
        return ""
    lines = ["| run | sizes | eta | chapter | fastnet peak (best seed) | fastnet final epoch "
             "(best seed) | chapter says | behaves as the chapter says |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for e in experiments:
        by_seed = results[e.name]
        lines.append(f"| {e.name} | {_dashed(e.sizes)} | {e.eta:g} | {e.chapter} "
                     f"| {best_of_seeds(by_seed, peak):.2f}% | {best_of_seeds(by_seed, final):.2f}% "
                     f"| {e.says} | {verdict(e, by_seed)} |")
    return "\n".join(lines) + "\n"


def _sweep_table(experiments, results):
    if not experiments:
        return ""
    lines = [f"Learning-rate sweep, {_dashed(SWEEP_SIZES)}:", "",
             "| eta | peak (best seed) | final epoch (best seed) |", "| --- | --- | --- |"]
    lines += [f"| {e.eta:g} | {best_of_seeds(results[e.name], peak):.2f}% "
              f"| {best_of_seeds(results[e.name], final):.2f}% |" for e in experiments]
    return "\n".join(lines) + "\n"


def _dashed(sizes):
    """784-30-10 for (784, 30, 10)."""
    return "-".join(str(size) for size in sizes)


CSV_COLUMNS = ["run", "sizes", "eta", "seed", "epoch", "correct", "total", "accuracy", "seconds"]


def csv_rows(experiments, results):
    """One row per epoch of every run and seed, as ``CSV_COLUMNS``."""
    for experiment in experiments:
        for seed, epochs_run in results[experiment.name].items():
            for result in epochs_run:
                yield [experiment.name, _dashed(experiment.sizes), f"{experiment.eta:g}", seed,
                       result.epoch, result.correct, result.total, f"{accuracy(result):.2f}",
                       f"{result.seconds:.3f}"]


def plot_curves(experiments, results, path):
    """Test accuracy per epoch of each run's best seed, the chapter's runs beside the sweep.

    Returns False, writing nothing, when matplotlib is not installed.
    """
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    panels = [(runs, title) for runs, title in
              [(chapter_runs(experiments), "the chapter's runs"),
               (sweep_runs(experiments), f"learning-rate sweep, {_dashed(SWEEP_SIZES)}")] if runs]
    figure, axes = plt.subplots(1, len(panels), figsize=(8 * len(panels), 4.5), squeeze=False)
    for ax, (runs, title) in zip(axes[0], panels):
        _plot_panel(ax, runs, results, title)
    figure.suptitle("Chapter 1 on fastnet: test accuracy per epoch (best seed of each run)")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return True


def _plot_panel(ax, experiments, results, title):
    for experiment in experiments:
        epochs_run = max(results[experiment.name].values(), key=peak)
        ax.plot([r.epoch for r in epochs_run], [accuracy(r) for r in epochs_run],
                marker=".", label=f"{_dashed(experiment.sizes)}, eta {experiment.eta:g}")
    ax.set(title=title, xlabel="epoch", ylabel="test accuracy (%)", ylim=(0, 100))
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1))


def write_outputs(experiments, results, out, header, log):
    """Write table.md, epochs.csv and (with matplotlib) curves.png into the folder ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "table.md").write_text(header + "\n" + markdown_table(experiments, results))
    with open(out / "epochs.csv", "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(CSV_COLUMNS)
        writer.writerows(csv_rows(experiments, results))
    if plot_curves(experiments, results, out / "curves.png"):
        log(f"wrote table.md, epochs.csv and curves.png in {out}")
    else:
        log(f"wrote table.md and epochs.csv in {out}; no curves.png: matplotlib is not "
            "installed (pip install 'fastnet-nndl[plot]')")


# -- the command (its arguments are in cli.py, with the other commands') ------------------
def run_chapter1(args):
    """Run the selected experiments and write the outputs; progress goes to stderr."""
    def log(line):
        print(line, file=sys.stderr, flush=True)

    from fastnet import mnist_loader

    (X, y), _, test = mnist_loader.load_data(args.data)
    training = (X[:args.limit], y[:args.limit])
    experiments = [BY_NAME[name] for name in args.only] if args.only else CHAPTER1
    started = time.perf_counter()
    results = run(experiments, training, test, args.seeds, args.epochs, args.batch, log)
    header = (f"{args.epochs} epochs, mini-batch {args.batch}, seeds {','.join(map(str, args.seeds))}, "
              f"{len(training[1])} training images, {len(test[1])} test images; "
              f"{time.perf_counter() - started:.0f} s of training and testing.\n")
    write_outputs(experiments, results, args.out, header, log)
    return 0
