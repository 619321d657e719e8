"""Markdown tables from a pytest-benchmark JSON file of the ``bench/`` suite.

    python -m pytest bench --benchmark-enable --benchmark-json=bench.json
    python -m bench.report bench.json
"""
import json
import os
import sys

from bench.conftest import IMAGES, PROBE_IMAGES, SPELL

#: Issue 9's targets: (hidden, dtype) -> {peer: least speed-up}, on MNIST, mini-batch 10.
TARGETS = {(30, "float64"): {"numpy": 5, "jax": 4}, (100, "float64"): {"numpy": 6, "jax": 5},
           (1000, "float64"): {"numpy": 10, "jax": 4}, (30, "float32"): {"jax": 3},
           (100, "float32"): {"jax": 3}, (1000, "float32"): {"jax": 3}}
COLUMNS = ["fastnet", "fastnet_2t", "numpy", "jax", "torch", "reference"]


def spell_marker(info, quickest):
    """`` [speed probe before/after: ...]`` when the speed probe before or after the
    benchmark ``info`` read ``SPELL`` times ``quickest`` or more, else ``""``."""
    probes = info.get("probe", [])
    if not probes or max(probes) < SPELL * quickest:
        return ""
    before, after = (f"{seconds / quickest:.2f}x" for seconds in probes)
    return f" [speed probe before/after: {before}/{after} its quickest: a slow spell?]"


def verdict(value, goal, unit="x", most=False):
    """``met``/``MISSED`` with the measured value against the goal (at least, or at most)."""
    shown = f"{value:.2f}{unit} vs {'<=' if most else '>='} {goal:g}{unit}"
    if (value <= goal) if most else (value >= goal):
        return f"met ({shown})"
    return f"MISSED ({shown}: {value / goal if most else goal / value:.2f}x short)"


def epoch_table(runs, workload, quickest):
    header = ("| net | dtype | " + " | ".join(f"{c} (s)" for c in COLUMNS) +
              " | x numpy | x jax | x torch | needed FLOP/s, % of GEMM | dense-equivalent, % | targets |")
    lines = [header, "|" + "---|" * (header.count("|") - 1)]
    for r in sorted((r for r in runs if r["workload"] == workload),
                    key=lambda r: (r["hidden"], r["dtype"])):
        s, fast = r["epoch_seconds"], r["epoch_seconds"]["fastnet"]
        cell = lambda name: f"{s[name]:.3f}" if name in s else "-"
        ratio = lambda name: f"{s[name] / fast:.2f}" if name in s else "-"
        needed = 100 * r["needed_flops_per_sample"] * IMAGES / fast / r["gemm_flops"]
        dense = 100 * r["dense_flops_per_sample"] * IMAGES / fast / r["gemm_flops"]
        targets = [f"{peer} " + verdict(s[peer] / fast, goal)
                   for peer, goal in TARGETS.get((r["hidden"], r["dtype"]), {}).items()
                   if peer in s and workload == "mnist"]
        lines.append(f"| 784-{r['hidden']}-10 | {r['dtype']} | " + " | ".join(map(cell, COLUMNS)) +
                     f" | {ratio('numpy')} | {ratio('jax')} | {ratio('torch')} | {needed:.0f}% | "
                     f"{dense:.0f}% | {'; '.join(targets) or '-'}{spell_marker(r, quickest)} |")
    return lines


def floor_line(info, runs):
    """The epoch's limit (``bench/test_floor.py``) against fastnet's epoch and what 10x NumPy
    needs, at the same size in the same run (when it has them)."""
    s = info["seconds"]
    line = (f"The epoch's limit (784-{info['hidden']}-10 {info['dtype']}, {info['threads']} "
            f"threads, {IMAGES:,} images): {s['strips']:.3f} s on the first layer's strips as "
            f"trained, {s['in_l2']:.3f} s with each thread's strips folded onto one that stays "
            f"in its L2 (the same instructions, no row fetched from L3: "
            f"{abs(1 - s['in_l2'] / s['strips']):.0%} "
            f"{'less' if s['in_l2'] <= s['strips'] else 'more'})")
    epoch = next((r["epoch_seconds"] for r in runs if r["workload"] == "mnist" and
                  (r["hidden"], r["dtype"]) == (info["hidden"], info["dtype"])), None)
    if epoch is not None and "numpy" in epoch:
        line += f"; ten times NumPy's speed needs {epoch['numpy'] / 10:.3f} s"
    return line


def main(path):
    with open(path) as f:
        data = json.load(f)
    infos = [b["extra_info"] for b in data["benchmarks"]]
    runs = [i for i in infos if i.get("kind") == "epoch"]
    cpu = data["machine_info"].get("cpu", {})
    # a VM's brand may be generic ("AMD EPYC"): family and model tell its generation
    print(f"{os.cpu_count()} cores, {cpu.get('brand_raw', '')} "
          f"(family {cpu.get('family', '?')}, model {cpu.get('model', '?')}).")
    probes = [seconds for info in infos for seconds in info.get("probe", [])]
    quickest = min(probes, default=0.0)
    if probes:
        print(f"Speed probe around each benchmark (the median of five 784-30-10 float64 "
              f"epochs of {PROBE_IMAGES:,} images, two threads): {1e3 * quickest:.1f} to "
              f"{1e3 * max(probes):.1f} ms; a result is marked where the probe before or "
              f"after it read {SPELL:g} times its quickest or more (a slow spell of the "
              f"machine, or a moment of one).")
    if runs:
        print(f"Seconds per epoch of {IMAGES:,} images, mini-batch 10, eta 3 (median of "
              f"interleaved repeats in one process, whole epochs; the per-sample reference timed "
              f"on a subsample and scaled).")
        first = runs[0]
        print(f"BLAS: {first['blas']}; numpy's large matrix product in the same run: "
              f"{first['gemm_flops'] / 1e9:.0f} GFLOP/s (the GEMM peak below, per dtype).")
        for workload, title in (("mnist", "MNIST's pixels (81% zeros)"),
                                ("dense", "the same images with no zero pixel")):
            print(f"\n{title}:\n")
            print("\n".join(epoch_table(runs, workload, quickest)))
    for info in infos:
        kind, marker = info.get("kind"), spell_marker(info, quickest)
        if kind == "start":
            cold, warm = info["cold"], info["warm"]
            print(f"\nStart-up (a new process: import, load MNIST, first 784-30-10 epoch on "
                  f"{info['images']:,} images, minus a steady epoch of {warm['steady_epoch']:.3f} s): "
                  f"cold (compiling) {cold['start_overhead']:.1f} s (announced: {cold['announced']}), "
                  f"warm (cached) {warm['start_overhead']:.2f} s, of which import "
                  f"{warm['import']:.2f} s and loading MNIST {warm['load']:.2f} s{marker}")
        elif kind == "command_start":
            print(f"\nThe command's start (`fastnet train --epochs 1` on {info['images']:,} images, "
                  f"tested on the test set, the process from start to exit): first run "
                  f"{info['cold']:.1f} s (compiling; announced: {info['announced']}), cached "
                  f"{info['warm']:.2f} s (median of {info['warm_runs']}){marker}")
        elif kind == "accuracy":
            gap = abs(info["float64"] - info["float32"])
            print(f"\nAccuracy after {info['epochs']} epoch(s) of {info['images']:,} images, mean of "
                  f"{info['seeds']} seeds (784-30-10, eta 3): float64 {info['float64']:.2f}%, "
                  f"float32 {info['float32']:.2f}%; gap {gap:.2f} points "
                  f"({verdict(gap, info['bound'], ' points', most=True)}){marker}")
        elif kind == "two_jobs":
            print(f"\nTwo default `fastnet train` jobs at once ({info['epochs']} epochs, "
                  f"{info['images']:,} images): alone {info['alone']:.2f} s, together "
                  f"{info['together']:.2f} s each at most: "
                  f"{verdict(info['ratio'], 3, most=True)}{marker}")
        elif kind == "sweep":
            print(f"\nA sweep of {info['runs']} runs (784-30-10, {info['epochs']} epochs, "
                  f"{info['images']:,} images), `fastnet sweep` as a whole command: on its local "
                  f"cluster {info['cluster']:.2f} s, one after another {info['serial']:.2f} s: "
                  f"{verdict(info['speedup'], 1.7)}; the same runs as two serial sweeps side by "
                  f"side, no Dask, {info['halves']:.2f} s: {info['ceiling']:.2f}x, the most two "
                  f"processes gain on this machine{marker}")
        elif kind == "floor":
            print(f"\n{floor_line(info, runs)}{marker}")
        elif kind == "busy_thread":
            print(f"\nAn epoch of 784-{info['hidden']}-10 ({info['images']:,} images, "
                  f"{info['threads']} kernel thread{'' if str(info['threads']) == '1' else 's'}) with a busy Python thread in the process: "
                  f"{info['busy']:.3f} s against {info['alone']:.3f} s for a network that trains alone: "
                  f"{verdict(info['ratio'], 2, most=True)}{marker}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "bench.json")
