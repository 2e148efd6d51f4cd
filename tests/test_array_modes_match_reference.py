"""The faster array simulations of gcsim validate give the charges and pulses of the
reference simulation (--spice-accuracy reference: the whole array through read and window at
the characterization's settings):
- columns (the default): the word lines with the bit lines held at mid-rail, then the
  columns in groups of 8 with their word lines replayed; relaxed once: the word lines again
  with every cell's bit line replayed from that columns run, and the columns again; then
  the converters;
- fast: the whole array through the read only with a longer largest step, then the
  converters.

Characterizes silicon on the coarse test plan and fits a cell (it sets the patterns' stored
voltages and the full scale), then validates the same seeded patterns of an 8 x 12 array
all three ways (12 columns: two groups of columns, the second a partial one, and the 8
word-line nodes per row then serve one or two cells each) and checks, for every column of
every pattern:
- charge difference <= 0.1 % of full scale (the accuracy these modes promise; the
  model-vs-SPICE errors validate reports are about 1 % FS, so this leaves them unchanged);
- output pulse difference <= 0.1 % of t_max (15 ps for silicon: well below the converter's
  own 50 ps gate delay, r_dly * c_dly);
- each report names its settings (spice_accuracy, and the columns mode its
  spice_relaxations), and an unknown name, or --relaxations outside the columns mode, is
  refused in one line.
"""
import json
import os
import tempfile

from gcsim_test import ROOT, fail, run

PLAN = os.path.join(ROOT, "data", "sweeps", "test.plan")
TOL_CHARGE_PCT_FS = 0.1
TOL_PULSE_PCT_TMAX = 0.1
ROWS, COLS, SAMPLES = 8, 12, 2


def validate(cell, out, *extra):
    run("validate", "--cell", cell, "--tech", "si", "--samples", str(SAMPLES), "--seed", "3",
        "--cells", str(ROWS), "--columns", str(COLS), "--jobs", "2", "--out", out, *extra)
    with open(os.path.join(out, "validate.json")) as f:
        return json.load(f)


def main():
    tmp = tempfile.mkdtemp(prefix="gcsim_array_modes_")
    curves, cell = os.path.join(tmp, "curves.h5"), os.path.join(tmp, "cell.h5")
    run("characterize", "--plan", PLAN, "--jobs", "2", "--tech", "si", "--out", curves)
    run("fit", "--curves", curves, "--out", cell)
    ref = validate(cell, os.path.join(tmp, "ref"), "--spice-accuracy", "reference")
    if ref["spice_accuracy"] != "reference":
        fail(f"reference recorded as {ref['spice_accuracy']}")
    fs, tmax = ref["charge_full_scale_C"], ref["t_max_s"]
    qr, pr = ref["patterns"]["spice_charge_C"], ref["patterns"]["spice_pulse_s"]
    if len(qr) != SAMPLES * COLS:
        fail(f"expected {SAMPLES} patterns x {COLS} columns from the reference")
    # the patterns must exercise the converter, or the pulse check proves nothing
    busy = sum(1 for p in pr if 0.05 * tmax < p < 0.95 * tmax)
    if busy < len(pr) // 4:
        fail(f"only {busy} of {len(pr)} pulses inside the converter's range to compare")
    for mode, extra in (("columns", ()), ("fast", ("--spice-accuracy", "fast"))):
        new = validate(cell, os.path.join(tmp, mode), *extra)
        if new["spice_accuracy"] != mode:
            fail(f"{mode} recorded as {new['spice_accuracy']}")
        if mode == "columns" and new.get("spice_relaxations") != 1:
            fail(f"columns recorded {new.get('spice_relaxations')} relaxations, not 1")
        qn, pn = new["patterns"]["spice_charge_C"], new["patterns"]["spice_pulse_s"]
        if len(qn) != len(qr) or len(pn) != len(pr):
            fail(f"{mode}: {len(qn)} charges, {len(pn)} pulses; the reference has {len(qr)}")
        dq = 100 * max(abs(a - b) for a, b in zip(qr, qn)) / fs
        dp = 100 * max(abs(a - b) for a, b in zip(pr, pn)) / tmax
        print(f"{ROWS} x {COLS}, {SAMPLES} patterns, {mode}: largest difference charge "
              f"{dq:.5f} % FS, pulse {dp:.5f} % t_max; {busy} of {len(pr)} pulses between 5 % "
              f"and 95 % of t_max; SPICE {ref['spice_seconds_per_pattern']:.1f} s/pattern "
              f"(reference), {new['spice_seconds_per_pattern']:.1f} s/pattern ({mode})")
        if dq > TOL_CHARGE_PCT_FS:
            fail(f"{mode}: charges differ by {dq:.4f} % FS (> {TOL_CHARGE_PCT_FS})")
        if dp > TOL_PULSE_PCT_TMAX:
            fail(f"{mode}: pulses differ by {dp:.4f} % t_max (> {TOL_PULSE_PCT_TMAX})")
    for bad, flag in ((("--spice-accuracy", "sloppy"), "--spice-accuracy"),
                      (("--spice-accuracy", "fast", "--relaxations", "1"), "--relaxations")):
        p = run("validate", "--cell", cell, *bad, "--out", os.path.join(tmp, "bad"),
                check=False)
        if p.returncode == 0 or flag not in p.stderr or len(p.stderr.splitlines()) != 1:
            fail(f"{' '.join(bad)} was not refused in one line: {p.stderr!r}")


if __name__ == "__main__":
    main()
