"""What a sweep's records say: accuracies per run, their spread over seeds per
configuration, as a Markdown table and as a plot (PNG, with the optional ``plot`` extra);
and, while they arrive, a progress bar.

A run's accuracy is its best epoch's test accuracy, as ``fastnet train``'s ``Best:`` line
gives it; a *configuration* is every setting of a run but its seed.
"""
import statistics
import sys
from typing import NamedTuple

from fastnet.errors import install_hint
from fastnet.sweep import Run

#: The settings that make a configuration, and how a table or a legend names them.
CONFIGURATION = {"sizes": "sizes", "eta": "eta", "mini_batch_size": "batch", "epochs": "epochs",
                 "dtype": "dtype", "cost": "cost", "init": "init", "lmbda": "lmbda",
                 "training_images": "images"}
assert set(CONFIGURATION) == {*Run._fields, "training_images"} - {"seed"}


def accuracies(record):
    """The test accuracy (percent) after each epoch of a run."""
    return [100.0 * correct / record["total"] for correct in record["correct"]]


def peak(record):
    """A run's best epoch's accuracy (percent); 0 for a run that diverged in its first epoch."""
    return max(accuracies(record), default=0.0)


def final(record):
    """A run's last epoch's accuracy (percent); 0 for a run that diverged in its first epoch."""
    return (accuracies(record) or [0.0])[-1]


def dashed(sizes):
    """784-30-10 for (784, 30, 10)."""
    return "-".join(str(size) for size in sizes)


def _shown(field, value):
    if field == "sizes":
        return dashed(value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def configuration(record):
    """A record's settings but its seed: ``((field, value), ...)`` in ``CONFIGURATION`` order."""
    return tuple((field, tuple(record[field]) if field == "sizes" else record[field])
                 for field in CONFIGURATION)


def by_configuration(records):
    """``{configuration: [record, ...]}`` in the order configurations first appear."""
    groups = {}
    for record in records:
        groups.setdefault(configuration(record), []).append(record)
    return groups


class Spread(NamedTuple):
    """Accuracies (percent) of one configuration's runs over its seeds."""
    seeds: int
    best: float
    median: float
    worst: float
    reaching: int   # runs whose accuracy is at least the threshold asked


def spread(records, threshold):
    """The ``Spread`` of the runs ``records`` (peaks), counting those reaching ``threshold``."""
    peaks = [peak(record) for record in records]
    return Spread(len(peaks), max(peaks), statistics.median(peaks), min(peaks),
                  sum(p >= threshold for p in peaks))


def _varying(keys, always=("sizes", "eta")):
    """The fields of configuration ``keys`` whose values differ between them, and ``always``."""
    values = {}
    for key in keys:
        for field, value in key:
            values.setdefault(field, set()).add(value)
    return [field for field, seen in values.items() if field in always or len(seen) > 1]


def markdown_table(records, threshold):
    """A row per configuration: the settings that differ between them (sizes and eta
    always), the number of seeds, best, median and worst accuracy, and how many seeds reach
    ``threshold`` percent; a note under it counts runs that diverged."""
    groups = by_configuration(records)
    fields = _varying(groups)
    header = [CONFIGURATION[field] for field in fields] + [
        "seeds", "best", "median", "worst", f">= {threshold:g}%"]
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for key, group in groups.items():
        settings = dict(key)
        s = spread(group, threshold)
        cells = [_shown(field, settings[field]) for field in fields] + [
            str(s.seeds), f"{s.best:.2f}%", f"{s.median:.2f}%", f"{s.worst:.2f}%",
            f"{s.reaching} of {s.seeds}"]
        lines.append("| " + " | ".join(cells) + " |")
    diverged = sum("diverged" in record for record in records)
    if diverged:
        lines += ["", f"{diverged} of {len(records)} runs diverged (weights became NaN or inf); "
                      "each counts its epochs before, 0% if none."]
    return "\n".join(lines) + "\n"


PLOT_AXES = ("eta", "sizes")
#: Why ``plot`` and ``draw_panels`` wrote nothing, for a note to the user.
NO_MATPLOTLIB = f"matplotlib is not installed ({install_hint('plot')})"


def plot(records, path, threshold=None):
    """Accuracy against eta and against layer sizes (a panel for each that varies), a
    line per configuration through the median over seeds, every seed a dot, the range a
    band. Writes a PNG to ``path``; returns False, writing nothing, without matplotlib."""
    groups = by_configuration(records)
    axes_shown = [axis for axis in PLOT_AXES if axis in _varying(groups, always=())] or ["eta"]
    seeds = sorted({len(group) for group in groups.values()})
    counted = f"{seeds[0]}" if seeds[0] == seeds[-1] else f"{seeds[0]}-{seeds[-1]}"
    return draw_panels(path, axes_shown, lambda ax, axis: _plot_panel(ax, groups, axis, threshold),
                       f"Test accuracy (best epoch) over {counted}"
                       " seeds:\nmedian (line), each seed (dots), range (band)")


def draw_panels(path, panels, draw, title, width=7):
    """A PNG at ``path`` of ``draw(ax, panel)`` for each of ``panels``, side by side, under
    ``title``. Returns False, writing nothing, when matplotlib is not installed."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    figure, axes = plt.subplots(1, len(panels), figsize=(width * len(panels), 4.5), squeeze=False)
    for ax, panel in zip(axes[0], panels):
        draw(ax, panel)
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return True


def _plot_panel(ax, groups, axis, threshold):
    """One panel: accuracy against ``axis``, a line per configuration of the other settings."""
    series = {}
    for key, group in groups.items():
        rest = tuple(item for item in key if item[0] != axis)
        series.setdefault(rest, []).append((dict(key)[axis], [peak(record) for record in group]))
    positions = _positions(axis, [x for points in series.values() for x, _ in points])
    labels = _varying(series, always=())
    for rest, points in series.items():
        points.sort(key=lambda point: positions[point[0]])
        xs = [positions[x] for x, _ in points]
        label = ", ".join(f"{CONFIGURATION[f]} {_shown(f, v)}" for f, v in rest
                          if f in labels) or "median over seeds"
        line = median_band(ax, xs, [peaks for _, peaks in points], marker="o", label=label)
        for x, peaks in zip(xs, (peaks for _, peaks in points)):
            ax.scatter([x] * len(peaks), peaks, s=12, color=line.get_color(), alpha=0.5)
    if threshold is not None:
        ax.axhline(threshold, color="grey", linestyle="--", linewidth=1, label=f"{threshold:g}%")
    if axis == "eta" and max(positions) / min(positions) >= 10:
        ax.set_xscale("log")
        ax.minorticks_off()
    ax.set_xticks(list(positions.values()), [_shown(axis, value) for value in positions])
    ax.set_xlabel("learning rate eta" if axis == "eta" else "layer sizes")
    ax.set(ylabel="test accuracy, best epoch (%)", ylim=(0, 100))
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")


def median_band(ax, xs, samples, **plot_options):
    """At each of ``xs``, the median of its ``samples`` (a list of values each) as a line
    drawn with ``plot_options``, and their range, min to max, as a band of the line's
    colour; returns the line."""
    line, = ax.plot(xs, [statistics.median(values) for values in samples], **plot_options)
    ax.fill_between(xs, [min(values) for values in samples], [max(values) for values in samples],
                    color=line.get_color(), alpha=0.15)
    return line


def _positions(axis, values):
    """Where each value of ``axis`` sits on the x axis: eta at itself; layer sizes in
    order of their number of hidden neurons, one step apart."""
    if axis == "eta":
        return {value: value for value in values}
    ordered = sorted(set(values), key=lambda sizes: (sum(sizes[1:-1]), sizes))
    return {sizes: index for index, sizes in enumerate(ordered)}


def describe(record):
    """A run's settings in a few words: 784-30-10, eta 3, batch 10, 30 epochs, float64, seed 2
    (cost, init and lmbda where they are not the chapter's)."""
    words = [dashed(record["sizes"]), f"eta {record['eta']:g}", f"batch {record['mini_batch_size']}",
             f"{record['epochs']} epoch{'s' * (record['epochs'] != 1)}", record["dtype"]]
    words += [f"{field} {_shown(field, record[field])}" for field in ("cost", "init", "lmbda")
              if record[field] != Run._field_defaults[field]]
    return ", ".join(words + [f"seed {record['seed']}"])


class Progress:
    """``on_result`` for ``sweep.run``: a bar over ``total`` runs on a terminal with tqdm
    installed, else a line per finished run on stderr; nothing when ``quiet``. A context
    manager: leaving it closes the bar. ``start`` (``sweep.run``'s ``on_start``) gives the
    total when it is not known at construction."""

    def __init__(self, total=None, quiet=False):
        self.total, self.done, self.bar = total, 0, None
        self.quiet = quiet
        if total is not None:
            self.start(total)

    def start(self, total):
        """Count ``total`` runs to come: the bar begins here."""
        self.total = total
        if not self.quiet and sys.stderr.isatty():
            try:
                from tqdm import tqdm
            except ImportError:
                return
            self.bar = tqdm(total=total, unit="run", desc="sweep", delay=0.5)

    def __call__(self, record):
        self.done += 1
        if self.bar is not None:
            self.bar.set_postfix_str(f"last: {dashed(record['sizes'])} eta {record['eta']:g} "
                                     f"seed {record['seed']} {peak(record):.1f}%", refresh=False)
            self.bar.update()
        elif not self.quiet:
            print(f"[{self.done}/{self.total}] {describe(record)}: best {peak(record):.2f}%, "
                  f"final {final(record):.2f}% ({record['seconds']:.1f} s)", file=sys.stderr,
                  flush=True)

    def __enter__(self):
        return self

    def __exit__(self, *exception):
        if self.bar is not None:
            self.bar.close()
