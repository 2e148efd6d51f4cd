"""`mpirun -np N gcsim validate` shares the patterns' SPICE simulations among the ranks and
gives the serial run's validate.json: rank r simulates patterns r, r + N, ..., rank 0 gets
every result and compares. Silicon on the coarse test plan, 5 patterns of an 8-cell column
(uneven over 2 ranks) and of a 4 x 3 array over 3 ranks:
- every key of validate.json but the timings and the command line equals the serial run's
  (charges and pulses of both sides, errors, integrity), the patterns' numbers exactly;
- only rank 0 prints the result; a missing cell is one line (said by rank 0 alone).

usage: test_validate_mpi.py   (GCSIM, GCSIM_ROOT from the environment)"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

from gcsim_test import GCSIM, ROOT, run

PLAN = os.path.join(ROOT, "data", "sweeps", "test.plan")
TIMINGS = {"command", "spice_seconds", "spice_wall_seconds", "spice_seconds_per_pattern",
           "model_seconds", "model_seconds_total_once", "model_seconds_per_cell",
           "model_repeats", "speedup_model_vs_spice"}
failures = []


def expect(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def mpirun(n, *args):
    env = dict(os.environ, ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "") +
               ":detect_leaks=0")  # Open MPI's own allocations at exit have no named stack
    return subprocess.run(["mpirun", "--allow-run-as-root", "--oversubscribe", "--bind-to",
                           "none", "-np", str(n), GCSIM, *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=900)


def main():
    if not shutil.which("mpirun"):
        print("FAIL Open MPI's mpirun is installed (Debian package openmpi-bin)")
        return 1
    tmp = tempfile.mkdtemp(prefix="gcsim_validate_mpi_")
    curves, cell = os.path.join(tmp, "curves.h5"), os.path.join(tmp, "cell.h5")
    run("characterize", "--plan", PLAN, "--jobs", "2", "--tech", "si", "--out", curves)
    run("fit", "--curves", curves, "--out", cell)
    for ranks, shape in ((2, ("--cells", "8")), (3, ("--cells", "4", "--columns", "3"))):
        args = ["validate", "--cell", cell, "--tech", "si", "--samples", "5", "--seed", "3",
                "--jobs", "1", *shape]
        serial, spread = os.path.join(tmp, "s%d" % ranks), os.path.join(tmp, "m%d" % ranks)
        run(*args, "--out", serial)
        p = mpirun(ranks, *args, "--out", spread)
        expect(p.returncode == 0 and p.stdout.count("patterns: charge RMS") == 1,
               "%d ranks: exit 0, the result printed once (rc %d)" % (ranks, p.returncode))
        with open(os.path.join(serial, "validate.json")) as f:
            a = json.load(f)
        with open(os.path.join(spread, "validate.json")) as f:
            b = json.load(f)
        differ = sorted(k for k in set(a) | set(b) if k not in TIMINGS and a.get(k) != b.get(k))
        expect(not differ and a["patterns"] == b["patterns"],
               "%d ranks, %s: validate.json equals the serial run's but for timings "
               "(differing: %s; charge RMS %.4g %% FS)" % (ranks, " ".join(shape), differ,
                                                          b["column_charge_rms_pct_fs"]))
    p = mpirun(2, "validate", "--cell", os.path.join(tmp, "nope.h5"), "--out",
               os.path.join(tmp, "bad"))
    lines = [l for l in p.stderr.splitlines() if "gcsim validate" in l]
    expect(p.returncode != 0 and len(lines) == 1 and "nope.h5" in lines[0],
           "a missing cell under mpirun: one line (%s)" % (lines[0] if lines else p.stderr))
    shutil.rmtree(tmp, ignore_errors=True)
    print("%d failure(s)" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
