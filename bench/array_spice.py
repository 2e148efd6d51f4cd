"""Benchmark: array SPICE of `gcsim validate` in a faster mode (--spice-accuracy columns, the
default, or fast) against the reference settings (--spice-accuracy
reference), the same patterns in the same run. Rounds alternate the two; each round
simulates --samples patterns with one worker (--jobs 1, so a pattern's simulation time is
not shared with the other's).
Prints the CPU time per pattern of each (gcsim and its workers: on a shared machine the
workers' wall time, validate.json's spice_seconds, mostly measures the other jobs; median
over rounds), their ratio, and the
largest difference between the two of any column's charge (% of full scale, validate.json's
charge_full_scale_C) and of its output pulse (% of t_max).

Targets: ratio >= 10 at <= 0.1 % FS charge difference; a larger difference fails the
benchmark, and the ratio is printed against its target. The pulses are printed beside: the
converter carries a charge difference into the pulse at t_max per s_sat, so 0.1 % of full
scale is (full scale / s_sat) x 0.1 % of t_max (about 0.8 % on the silicon cell); the pulse
difference is also printed in those terms, as the charge difference it amounts to.
The default array is 8 rows x 64 columns (the reference takes a minute or two per pattern);
the ratio grows with the array: --rows 16 or 32 take the reference several minutes, and the
full 64 x 64 array, once (--rows 64 --samples 1 --rounds 1), 25 min or more.
Usage: python3 bench/array_spice.py --gcsim build/harness/gcsim [--cell cell.h5]
       [--mode columns|fast] [--rows 8] [--columns 64] [--samples 1]
       [--rounds 3] [--keep DIR]
--keep DIR keeps every run's validate.json (and the cell) in DIR.
Without --cell it characterizes silicon on the coarse test plan and fits a cell first (the
cell only sets the patterns' stored voltages and the full scale).
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile

TOL_CHARGE_PCT_FS = 0.1
TARGET_RATIO = 10


def gcsim(exe, *args):
    p = subprocess.run([exe, *map(str, args)], capture_output=True, text=True)
    if p.returncode:
        sys.exit(f"gcsim {' '.join(map(str, args))} failed:\n{p.stderr}")


def cpu_seconds():
    """CPU time of the finished children and their waited-for workers."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def validate(args, cell, mode, out):
    """validate.json of the run, with cpu_seconds_per_pattern added (gcsim and its workers)."""
    t0 = cpu_seconds()
    gcsim(args.gcsim, "validate", "--cell", cell, "--tech", "si", "--samples", args.samples,
          "--seed", args.seed, "--cells", args.rows, "--columns", args.columns, "--jobs", 1,
          "--timeout", 7200, "--spice-accuracy", mode, "--out", out)
    cpu = (cpu_seconds() - t0) / args.samples
    with open(os.path.join(out, "validate.json")) as f:
        v = json.load(f)
    v["cpu_seconds_per_pattern"] = cpu
    return v


def max_diff(a, b, key, scale):
    x, y = a["patterns"][key], b["patterns"][key]
    return 100 * max(abs(p - q) for p, q in zip(x, y)) / scale


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gcsim", required=True)
    ap.add_argument("--cell")
    ap.add_argument("--mode", choices=("columns", "fast"),
                    default="columns")
    ap.add_argument("--rows", type=int, default=8)
    ap.add_argument("--columns", type=int, default=64)
    ap.add_argument("--samples", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--keep")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        tmp = args.keep or scratch
        os.makedirs(tmp, exist_ok=True)
        cell = args.cell
        if not cell:
            root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
            curves, cell = os.path.join(tmp, "curves.h5"), os.path.join(tmp, "cell.h5")
            gcsim(args.gcsim, "characterize", "--plan",
                  os.path.join(root, "data", "sweeps", "test.plan"), "--tech", "si",
                  "--jobs", 2, "--out", curves)
            gcsim(args.gcsim, "fit", "--curves", curves, "--out", cell)
        t = {"reference": [], args.mode: []}
        w = {"reference": [], args.mode: []}
        dq = dp = 0
        for r in range(args.rounds):
            res = {}
            for mode in ("reference", args.mode):
                res[mode] = validate(args, cell, mode, os.path.join(tmp, f"{mode}{r}"))
                t[mode].append(res[mode]["cpu_seconds_per_pattern"])
                w[mode].append(res[mode]["spice_seconds_per_pattern"])
            ref, new = res["reference"], res[args.mode]
            dq = max(dq, max_diff(ref, new, "spice_charge_C", ref["charge_full_scale_C"]))
            dp = max(dp, max_diff(ref, new, "spice_pulse_s", ref["t_max_s"]))
            print(f"round {r + 1}: reference {t['reference'][-1]:.1f} CPU s/pattern "
                  f"({w['reference'][-1]:.1f} s in workers), {args.mode} "
                  f"{t[args.mode][-1]:.1f} CPU s/pattern ({w[args.mode][-1]:.1f} s in workers)",
                  flush=True)
    mr, mn = statistics.median(t["reference"]), statistics.median(t[args.mode])
    ratio = mr / mn
    met = "met" if ratio >= TARGET_RATIO else "NOT met"
    gain = ref["charge_full_scale_C"] / ref["s_sat_C"]  # % t_max per % FS of charge
    print(f"{args.rows} x {args.columns} array, {args.samples} pattern(s), median of "
          f"{args.rounds} round(s): reference {mr:.1f} CPU s/pattern, {args.mode} {mn:.1f} "
          f"CPU s/pattern, ratio {ratio:.1f}x (target >= {TARGET_RATIO}x: {met}); largest "
          f"difference: charge {dq:.4f} % FS (<= {TOL_CHARGE_PCT_FS}), pulse {dp:.4f} % t_max "
          f"(= {dp / gain:.4f} % FS of charge through the converter; "
          f"{TOL_CHARGE_PCT_FS} % FS is {TOL_CHARGE_PCT_FS * gain:.2f} % t_max)")
    if dq > TOL_CHARGE_PCT_FS or dp > TOL_CHARGE_PCT_FS * gain:
        sys.exit(f"FAIL: {args.mode} differs from the reference beyond the tolerance")


if __name__ == "__main__":
    main()
