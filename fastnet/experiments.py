"""``fastnet experiments chapter1``: the chapter's MNIST runs, reproduced and compared.

The runs are data (``CHAPTER1``, a list of ``Experiment``); ``run`` trains each one once
per seed on the sweep engine (``fastnet.sweep``: in parallel on Dask) and returns every
run's record; ``write_outputs`` turns them into Markdown tables of the distribution over
seeds beside the chapter's figures, a CSV of every epoch, and plots (PNG, with the optional
``plot`` extra). The records themselves stream to ``runs.jsonl`` in the output folder, so
an interrupted command, run again, trains only the runs still missing.
"""
import csv
import sys
import time
from typing import NamedTuple

from fastnet import sweep
from fastnet.sweep_report import (NO_MATPLOTLIB, Progress, accuracies, dashed, draw_panels, final,
                                  markdown_table as sweep_table, median_band, peak,
                                  plot as plot_sweep, spread)

#: Layer sizes of the learning-rate sweep; every run with these sizes is part of it.
SWEEP_SIZES = (784, 30, 10)
#: The accuracy the learning-rate sweep table counts seeds against: the chapter's "about 95%".
SWEEP_THRESHOLD = 95.0


class Experiment(NamedTuple):
    """One training set-up: what it is, what the chapter reports, what would confirm it.

    A seed's run behaves as the chapter says when its best epoch reaches ``peak_at_least``
    (percent), and its last epoch's accuracy lies in ``final_within`` (percent), where given.
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


def runs(experiments, seeds, epochs, mini_batch_size=10):
    """The sweep's runs for ``experiments``: each with each seed (a run two share, once)."""
    return list(dict.fromkeys(each for e in experiments for each in sweep.grid(
        [e.sizes], [e.eta], [mini_batch_size], [epochs], seeds=seeds)))


def run(experiments, training, test, seeds, epochs, mini_batch_size=10, **engine):
    """Train every experiment once per seed on the sweep engine: ``{name: {seed: record}}``.

    Seed ``s`` trains as ``fastnet train --seed s`` does (``random.seed(s);
    np.random.seed(s)`` before ``Network(sizes)``). ``engine``: ``sweep.run``'s keyword
    arguments (``out``, ``client``, ``scheduler``, ``workers``, ``on_start``, ``on_result``,
    ``log``).
    """
    records = sweep.run(runs(experiments, seeds, epochs, mini_batch_size), training, test,
                        **engine)
    by_setting = {(tuple(r["sizes"]), r["eta"], r["seed"]): r for r in records}
    return {e.name: {seed: by_setting[e.sizes, e.eta, seed] for seed in seeds}
            for e in experiments}


def behaves(experiment, record):
    """Whether one seed's run does what the chapter says; None where it says nothing testable."""
    checks = []
    if experiment.peak_at_least is not None:
        checks.append(peak(record) >= experiment.peak_at_least)
    if experiment.final_within is not None:
        low, high = experiment.final_within
        checks.append(low <= final(record) <= high)
    return all(checks) if checks else None


def claim(experiment):
    """What ``behaves`` checks, in words ("reach 96%"); None where nothing is checked."""
    words = []
    if experiment.peak_at_least is not None:
        words.append(f"reach {experiment.peak_at_least:g}%")
    if experiment.final_within is not None:
        words.append("end within {:g}-{:g}%".format(*experiment.final_within))
    return " and ".join(words) or None


def agreement(experiment, by_seed):
    """How many seeds behave as the chapter says, as "3 of 10"; "—" where it says nothing
    testable."""
    if claim(experiment) is None:
        return "—"
    verdicts = [behaves(experiment, record) for record in by_seed.values()]
    return f"{sum(verdicts)} of {len(verdicts)}"


def summary(experiment, by_seed):
    """One line: the chapter's figure beside the distribution over seeds."""
    s = spread(list(by_seed.values()), 0.0)
    line = (f"{experiment.name} ({dashed(experiment.sizes)}, eta {experiment.eta:g}): chapter "
            f"{experiment.chapter}; fastnet over {s.seeds} seeds: best {s.best:.2f}%, median "
            f"{s.median:.2f}%, worst {s.worst:.2f}%")
    checked = claim(experiment)
    if checked is not None:
        line += f"; {agreement(experiment, by_seed)} seeds {checked}"
    return line


# -- outputs ------------------------------------------------------------------------------
def markdown_table(experiments, results):
    """The chapter's runs beside its figures, then the 784-30-10 learning-rate sweep."""
    sections = [_chapter_table(chapter_runs(experiments), results),
                _sweep_table(sweep_runs(experiments), results)]
    return "\n".join(section for section in sections if section)


def _chapter_table(experiments, results):
    if not experiments:
        return ""
    lines = ["| run | sizes | eta | chapter | fastnet best | median | worst "
             "| seeds as the chapter says | chapter says |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for e in experiments:
        s = spread(list(results[e.name].values()), 0.0)
        words = claim(e)
        checked = agreement(e, results[e.name]) + ("" if words is None else f" {words}")
        lines.append(f"| {e.name} | {dashed(e.sizes)} | {e.eta:g} | {e.chapter} "
                     f"| {s.best:.2f}% | {s.median:.2f}% | {s.worst:.2f}% | {checked} | {e.says} |")
    return "\n".join(lines) + "\n"


def _sweep_table(experiments, results):
    if not experiments:
        return ""
    records = [record for e in experiments for record in results[e.name].values()]
    return (f"Learning-rate sweep, {dashed(SWEEP_SIZES)}:\n\n"
            + sweep_table(records, SWEEP_THRESHOLD))


CSV_COLUMNS = ["run", "sizes", "eta", "seed", "epoch", "correct", "total", "accuracy"]


def csv_rows(experiments, results):
    """One row per epoch of every run and seed, as ``CSV_COLUMNS``."""
    for experiment in experiments:
        for seed, record in results[experiment.name].items():
            for epoch, (correct, percent) in enumerate(zip(record["correct"], accuracies(record))):
                yield [experiment.name, dashed(experiment.sizes), f"{experiment.eta:g}", seed,
                       epoch, correct, record["total"], f"{percent:.2f}"]


def plot_curves(experiments, results, path):
    """Test accuracy per epoch of each run, median over seeds and their range, the
    chapter's runs beside the sweep. Returns False, writing nothing, without matplotlib."""
    panels = [(chosen, title) for chosen, title in
              [(chapter_runs(experiments), "the chapter's runs"),
               (sweep_runs(experiments), f"learning-rate sweep, {dashed(SWEEP_SIZES)}")] if chosen]
    seeds = len(next(iter(results.values())))
    return draw_panels(path, panels, lambda ax, panel: _plot_panel(ax, *panel, results),
                       f"Chapter 1 on fastnet: test accuracy per epoch, median over {seeds} "
                       "seeds (line) and their range (band)", width=8)


def _plot_panel(ax, experiments, title, results):
    for experiment in experiments:
        curves = [accuracies(record) for record in results[experiment.name].values()]
        # a seed that diverged ends early: each epoch's band is over the seeds that reached it
        epochs = range(max(len(curve) for curve in curves))
        by_epoch = [[curve[j] for curve in curves if j < len(curve)] for j in epochs]
        median_band(ax, epochs, by_epoch, marker=".",
                    label=f"{dashed(experiment.sizes)}, eta {experiment.eta:g}")
    ax.set(title=title, xlabel="epoch", ylabel="test accuracy (%)", ylim=(0, 100))
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1))


def write_outputs(experiments, results, out, header, log):
    """Write table.md, epochs.csv and (with matplotlib) curves.png and eta.png into the
    folder ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "table.md").write_text(header + "\n" + markdown_table(experiments, results))
    with open(out / "epochs.csv", "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(CSV_COLUMNS)
        writer.writerows(csv_rows(experiments, results))
    sweep_records = [r for e in sweep_runs(experiments) for r in results[e.name].values()]
    if plot_curves(experiments, results, out / "curves.png"):
        plotted = ["curves.png"]
        if sweep_records and plot_sweep(sweep_records, out / "eta.png", SWEEP_THRESHOLD):
            plotted.append("eta.png")
        log(f"wrote runs.jsonl, table.md, epochs.csv and {' and '.join(plotted)} in {out}")
    else:
        log(f"wrote runs.jsonl, table.md and epochs.csv in {out}; no plots: {NO_MATPLOTLIB}")


# -- the command (its arguments are in cli.py, with the other commands') ------------------
def run_chapter1(args):
    """Run the selected experiments and write the outputs; progress and notes go to
    stderr, a line per chapter run to stdout."""
    notes = []

    def log(line):
        notes.append(line)
        print(line, file=sys.stderr, flush=True)

    from fastnet import mnist_loader

    (X, y), _, test = mnist_loader.load_data(args.data)
    training = (X[:args.limit], y[:args.limit])
    experiments = [BY_NAME[name] for name in args.only] if args.only else CHAPTER1
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with Progress() as progress:
        results = run(experiments, training, test, args.seeds, args.epochs, args.batch,
                      out=args.out / "runs.jsonl", scheduler=args.scheduler,
                      workers=args.workers, on_start=progress.start, on_result=progress, log=log)
    header = (f"{args.epochs} epochs, mini-batch {args.batch}, seeds {seeds_text(args.seeds)}, "
              f"{len(training[1])} training images, {len(test[1])} test images.\n"
              f"Run: {notes[0].removeprefix('sweep: ')}; {time.perf_counter() - started:.0f} s "
              "wall time, testing included.\n")
    write_outputs(experiments, results, args.out, header, log)
    for experiment in chapter_runs(experiments):
        print(summary(experiment, results[experiment.name]))
    return 0


def seeds_text(seeds):
    """0-9 for 0, 1, ..., 9; else the seeds joined by commas."""
    if len(seeds) > 2 and list(seeds) == list(range(seeds[0], seeds[-1] + 1)):
        return f"{seeds[0]}-{seeds[-1]}"
    return ",".join(map(str, seeds))
