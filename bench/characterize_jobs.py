"""Benchmark: regenerate both technologies at the default sweep plan with --jobs 1 and
--jobs 2 in the same run; print the wall times and their ratio. The two settings alternate,
--repeat times; the ratio is of the medians (on a shared 2-core machine a single round of
either setting can be 30 % off; the median of interleaved rounds is what repeats), the
fastest rounds are printed beside it.

Targets (2-core machine): both technologies in <= 60 s with --jobs 2, speed-up >= 1.7.
Usage: python3 bench/characterize_jobs.py --gcsim build/harness/gcsim [--repeat 5]
"""
import argparse
import os
import statistics
import subprocess
import tempfile
import time


def characterize(gcsim, tech, jobs, out):
    t0 = time.monotonic()
    subprocess.run([gcsim, "characterize", "--tech", tech, "--jobs", str(jobs), "--out", out],
                   check=True, capture_output=True)
    return time.monotonic() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gcsim", required=True)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    rounds = {1: [], 2: []}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeat):
            for jobs in (1, 2):
                t = {tech: characterize(args.gcsim, tech, jobs,
                                        os.path.join(tmp, f"{tech}{jobs}.h5"))
                     for tech in ("si", "igzo")}
                rounds[jobs].append(t["si"] + t["igzo"])
                print(f"round {r + 1} --jobs {jobs}: si {t['si']:.1f} s, igzo {t['igzo']:.1f} s, "
                      f"both {rounds[jobs][-1]:.1f} s", flush=True)
    m1, m2 = statistics.median(rounds[1]), statistics.median(rounds[2])
    print(f"both technologies, median of {args.repeat} rounds: --jobs 1 {m1:.1f} s, --jobs 2 "
          f"{m2:.1f} s, speed-up {m1 / m2:.2f}x (fastest rounds {min(rounds[1]):.1f} s, "
          f"{min(rounds[2]):.1f} s) (targets: <= 60 s with --jobs 2, >= 1.7x)")


if __name__ == "__main__":
    main()
