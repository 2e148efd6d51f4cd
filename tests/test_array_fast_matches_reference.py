"""The fast array simulation (gcsim validate's default: the array through the read only with
a longer largest step, then each column's converter from its measured bit-line current)
gives the charges and pulses of the reference simulation (--spice-accuracy reference: the
whole array through read and window at the characterization's settings).

Characterizes silicon on the coarse test plan and fits a cell (it sets the patterns' stored
voltages and the full scale), then validates the same seeded patterns of a 4 x 16 array
(16 columns: the fast read's 8 word-line nodes per row then serve 2 cells each) both ways
and checks, for every column of every pattern:
- charge difference <= 0.1 % of full scale (the accuracy the fast settings promise; the
  model-vs-SPICE errors validate reports are about 1 % FS, so this leaves them unchanged);
- output pulse difference <= 0.1 % of t_max (15 ps for silicon: well below the converter's
  own 50 ps gate delay, r_dly * c_dly);
- both reports name their settings (spice_accuracy), and an unknown name is refused.
"""
import json
import os
import tempfile

from gcsim_test import ROOT, fail, run

PLAN = os.path.join(ROOT, "data", "sweeps", "test.plan")
TOL_CHARGE_PCT_FS = 0.1
TOL_PULSE_PCT_TMAX = 0.1


def validate(cell, out, *extra):
    run("validate", "--cell", cell, "--tech", "si", "--samples", "2", "--seed", "3",
        "--cells", "4", "--columns", "16", "--jobs", "2", "--out", out, *extra)
    with open(os.path.join(out, "validate.json")) as f:
        return json.load(f)


def main():
    tmp = tempfile.mkdtemp(prefix="gcsim_array_fast_")
    curves, cell = os.path.join(tmp, "curves.h5"), os.path.join(tmp, "cell.h5")
    run("characterize", "--plan", PLAN, "--jobs", "2", "--tech", "si", "--out", curves)
    run("fit", "--curves", curves, "--out", cell)
    ref = validate(cell, os.path.join(tmp, "ref"), "--spice-accuracy", "reference")
    fast = validate(cell, os.path.join(tmp, "fast"))
    if (ref["spice_accuracy"], fast["spice_accuracy"]) != ("reference", "fast"):
        fail(f"settings recorded as {ref['spice_accuracy']}, {fast['spice_accuracy']}")
    fs, tmax = ref["charge_full_scale_C"], ref["t_max_s"]
    qr, qf = ref["patterns"]["spice_charge_C"], fast["patterns"]["spice_charge_C"]
    pr, pf = ref["patterns"]["spice_pulse_s"], fast["patterns"]["spice_pulse_s"]
    if len(qr) != 32 or len(qf) != 32:
        fail("expected 2 patterns x 16 columns from each")
    dq = 100 * max(abs(a - b) for a, b in zip(qr, qf)) / fs
    dp = 100 * max(abs(a - b) for a, b in zip(pr, pf)) / tmax
    # the patterns must exercise the converter, or the pulse check proves nothing
    busy = sum(1 for p in pr if 0.05 * tmax < p < 0.95 * tmax)
    print(f"4 x 16, 2 patterns: largest difference charge {dq:.5f} % FS, pulse {dp:.5f} % "
          f"t_max; {busy} of 32 pulses between 5 % and 95 % of t_max; SPICE "
          f"{ref['spice_seconds_per_pattern']:.1f} s/pattern (reference), "
          f"{fast['spice_seconds_per_pattern']:.1f} s/pattern (fast)")
    if busy < 8:
        fail("too few pulses inside the converter's range to compare")
    if dq > TOL_CHARGE_PCT_FS:
        fail(f"charges differ by {dq:.4f} % FS (> {TOL_CHARGE_PCT_FS})")
    if dp > TOL_PULSE_PCT_TMAX:
        fail(f"pulses differ by {dp:.4f} % t_max (> {TOL_PULSE_PCT_TMAX})")
    p = run("validate", "--cell", cell, "--spice-accuracy", "sloppy", "--out",
            os.path.join(tmp, "bad"), check=False)
    if p.returncode == 0 or "--spice-accuracy" not in p.stderr or len(p.stderr.splitlines()) != 1:
        fail(f"an unknown --spice-accuracy was not refused in one line: {p.stderr!r}")


if __name__ == "__main__":
    main()
