"""Benchmark: regenerate both technologies at the default sweep plan with --jobs 1 and
--jobs 2 in the same run; print the wall times and their ratio.

Targets (2-core machine): both technologies in <= 60 s with --jobs 2, speed-up >= 1.7.
Usage: python3 bench/characterize_jobs.py --gcsim build/harness/gcsim
"""
import argparse
import os
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
    args = ap.parse_args()
    times = {}
    with tempfile.TemporaryDirectory() as tmp:
        for jobs in (1, 2):
            for tech in ("si", "igzo"):
                times[jobs, tech] = characterize(args.gcsim, tech, jobs,
                                                 os.path.join(tmp, f"{tech}{jobs}.h5"))
                print(f"{tech:5s} --jobs {jobs}: {times[jobs, tech]:7.1f} s", flush=True)
    t1 = times[1, "si"] + times[1, "igzo"]
    t2 = times[2, "si"] + times[2, "igzo"]
    print(f"both technologies: --jobs 1 {t1:.1f} s, --jobs 2 {t2:.1f} s, "
          f"speed-up {t1 / t2:.2f}x (targets: <= 60 s with --jobs 2, >= 1.7x)")


if __name__ == "__main__":
    main()
