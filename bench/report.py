"""Markdown tables from a pytest-benchmark JSON file of the ``bench/`` suite.

    python -m pytest bench --benchmark-enable --benchmark-json=bench.json
    python -m bench.report bench.json
"""
import json
import os
import sys

from bench.conftest import IMAGES


def best_fastnet(seconds):
    return min(seconds["fastnet_1t"], seconds["fastnet_2t"])


def verdict(value, goal, unit="x"):
    """``met``/``MISSED`` with the measured value against the goal."""
    shown = f"{value:.2f}{unit} vs >= {goal:g}{unit}"
    if value >= goal:
        return f"met ({shown})"
    return f"MISSED ({shown}: {goal / value:.2f}x short)"


def epoch_rows(runs):
    """One table row per (hidden, batch, dtype) with the targets that apply to it."""
    by_key = {(r["hidden"], r["batch"], r["dtype"]): r for r in runs}
    header = ("| net | mb | dtype | fastnet 1 thr (s) | fastnet 2 thr (s) | numpy (s) | torch (s) "
              "| reference (s) | x numpy | x reference | % GEMM roofline | targets |")
    lines = [header, "|" + "---|" * (header.count("|") - 1)]
    for (hidden, batch, dtype), r in sorted(by_key.items()):
        s = r["epoch_seconds"]
        fast = best_fastnet(s)
        roofline = r["flops_per_sample"] * IMAGES / r["gemm_flops"]
        targets = []
        x_numpy = s["numpy"] / fast
        if batch == 10 and dtype == "float64":
            targets.append("numpy " + verdict(x_numpy, {30: 3, 100: 3}.get(hidden, 2.5)))
            if hidden == 30:
                targets.append("reference " + verdict(s["reference"] / fast, 25))
            if hidden >= 1000:
                targets.append("roofline " + verdict(100 * roofline / fast, 60, "%"))
            if hidden == 1000:
                targets.append("threads " + verdict(s["fastnet_1t"] / s["fastnet_2t"], 1.6))
                f32 = by_key.get((hidden, batch, "float32"))
                if f32:
                    targets.append("float32 " + verdict(fast / best_fastnet(f32["epoch_seconds"]), 1.6))
        if hidden <= 100:
            targets.append("2 thr not slower " + verdict(s["fastnet_1t"] / s["fastnet_2t"], 0.95))
        if batch == 100 and (hidden, 10, dtype) in by_key:
            small = best_fastnet(by_key[(hidden, 10, dtype)]["epoch_seconds"])
            targets.append("mb100 vs mb10 " + verdict(small / fast, 1.0))
        cell = lambda name: f"{s[name]:.3f}" if name in s else "-"
        x_ref = f"{s['reference'] / fast:.1f}" if "reference" in s else "-"
        lines.append(f"| 784-{hidden}-10 | {batch} | {dtype} | {cell('fastnet_1t')} | "
                     f"{cell('fastnet_2t')} | {cell('numpy')} | {cell('torch')} | {cell('reference')} | "
                     f"{x_numpy:.2f} | {x_ref} | {100 * roofline / fast:.0f}% | {'; '.join(targets)} |")
    return lines


def main(path):
    with open(path) as f:
        data = json.load(f)
    infos = [b["extra_info"] for b in data["benchmarks"]]
    runs = [i for i in infos if "epoch_seconds" in i]
    print(f"Seconds per epoch of {IMAGES:,} images (median of interleaved repeats, timed on a "
          f"subsample and scaled), {os.cpu_count()} cores, "
          f"{data['machine_info'].get('cpu', {}).get('brand_raw', '')}.")
    if runs:
        gemm = runs[0]["gemm_flops"]
        print(f"GEMM roofline: numpy large matmul in the same run: {gemm / 1e9:.0f} GFLOP/s (float64).")
        print()
        print("\n".join(epoch_rows(runs)))
    for info in infos:
        if info.get("kind") == "start":
            cold, warm = info["cold"], info["warm"]
            print(f"\nStart-up (784-30-10, import + first epoch minus a steady epoch of "
                  f"{warm['steady_epoch']:.3f} s): cold (compiling) {cold['start_overhead']:.2f} s, "
                  f"warm (cached) {warm['start_overhead']:.2f} s "
                  f"({'met' if warm['start_overhead'] <= 1.0 else 'MISSED'}: <= 1 s)")
        if info.get("kind") == "accuracy":
            gap = abs(info["float64"] - info["float32"])
            print(f"\nAccuracy after {info['epochs']} epochs of {info['images']:,} images, mean of {info.get('seeds', 1)} seed(s) (784-30-10, "
                  f"mb 10, eta 3): float64 {info['float64']:.2f}%, float32 {info['float32']:.2f}%; "
                  f"gap {gap:.2f} points ({'met' if gap <= 0.3 else 'MISSED'}: <= 0.3)")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "bench.json")
