"""A column of cells on one bit line in SPICE delivers the charge the cell model's per-cell
sum predicts, and the charge-to-pulse output follows the model; so does every column of an
array whose rows share word-line drivers and wires.

Characterizes silicon on the coarse test plan, fits a cell, then runs `gcsim validate` on a
handful of seeded patterns of an 8-cell column and of a 4 x 3 array and checks:
- validate.json carries the documented keys, and the two PNGs exist (no temporaries left);
- column charge RMS error <= 2 % of full scale and max <= 5 % (the test plan tabulates
  only 4 pulse levels, so the model interpolates the 16 levels: looser than the 64-level
  default plan would allow for the max);
- output pulse RMS error <= 5 % of t_max;
- the charge the integrator holds agrees with the sense source within 1 % of full scale
  (no clipping on these patterns: the per-cell sum is not broken by the readout);
- the model side of the report is deterministic for a seed (same patterns, same charge);
- the array reports one result per column and pattern, within the same bounds;
- a missing cell file fails with one line naming it.
"""
import json
import os
import sys
import tempfile

from gcsim_test import ROOT, fail, run

PLAN = os.path.join(ROOT, "data", "sweeps", "test.plan")
KEYS = ["column_charge_rms_pct_fs", "column_charge_max_pct_fs", "pulse_rms_pct_tmax",
        "spice_seconds", "model_seconds", "speedup_model_vs_spice", "charge_full_scale_C",
        "leakage", "bit_line_and_integrator", "patterns"]


def validate(tmp, cell, out, *extra):
    run("validate", "--cell", cell, "--tech", "si", "--samples", "4", "--seed", "7",
        "--jobs", "2", "--out", out, *(extra or ("--cells", "8")))
    with open(os.path.join(out, "validate.json")) as f:
        return json.load(f)


def check(r, what):
    bi = r["bit_line_and_integrator"]
    print("%s: charge RMS %.3f %% FS (max %.3f %%), pulse RMS %.3f %% t_max, integrator vs "
          "sense %.4f %% FS, bit line far end moved %.3g V, %d clipped, speedup %.3g" %
          (what, r["column_charge_rms_pct_fs"], r["column_charge_max_pct_fs"],
           r["pulse_rms_pct_tmax"], bi["integrator_vs_sense_max_pct_fs"],
           bi["bit_line_far_end_max_excursion_V"], bi["clipped_columns"],
           r["speedup_model_vs_spice"]))
    if r["column_charge_rms_pct_fs"] > 2 or r["column_charge_max_pct_fs"] > 5:
        fail(f"{what}: charge error above 2 % FS RMS / 5 % FS max")
    if r["pulse_rms_pct_tmax"] > 5:
        fail(f"{what}: pulse error above 5 % of t_max RMS")
    if bi["clipped_columns"] == 0 and bi["integrator_vs_sense_max_pct_fs"] > 1:
        fail(f"{what}: the integrator lost charge the sense source saw, without clipping")
    if not (r["spice_seconds"] > 0 and r["model_seconds"] > 0):
        fail(f"{what}: timings are not positive")


def main():
    tmp = tempfile.mkdtemp(prefix="gcsim_validate_")
    curves, cell = os.path.join(tmp, "curves.h5"), os.path.join(tmp, "cell.h5")
    run("characterize", "--plan", PLAN, "--jobs", "2", "--tech", "si", "--out", curves)
    run("fit", "--curves", curves, "--out", cell)
    out = os.path.join(tmp, "val")
    r = validate(tmp, cell, out)
    for k in KEYS:
        if k not in r:
            fail(f"validate.json has no key {k}")
    for png in ("charge_scatter.png", "charge_error_hist.png"):
        if os.path.getsize(os.path.join(out, png)) < 1000:
            fail(f"{png} is missing or empty")
    left = [n for n in os.listdir(out) if ".tmp" in n]
    if left:
        fail(f"temporaries left in {out}: {left}")
    check(r, "column")
    # The same seed gives the same patterns: the model side must repeat exactly.
    r2 = validate(tmp, cell, os.path.join(tmp, "val2"), "--cells", "8", "--max-age", "1024")
    if r2["patterns"]["model_charge_C"] != r["patterns"]["model_charge_C"]:
        fail("the same seed gave different model charges")
    a = validate(tmp, cell, os.path.join(tmp, "array"), "--cells", "4", "--columns", "3")
    if (a["rows"], a["columns"], len(a["patterns"]["spice_charge_C"])) != (4, 3, 12):
        fail("the 4 x 3 array did not report 4 patterns x 3 columns")
    check(a, "array")
    p = run("validate", "--cell", os.path.join(tmp, "nope.h5"), "--out", out, check=False)
    lines = [l for l in p.stderr.splitlines() if l.strip()]
    if p.returncode != 1 or len(lines) != 1 or "nope.h5" not in lines[0]:
        fail(f"a missing cell gave rc {p.returncode}: {p.stderr!r}")
    print("ok")


if __name__ == "__main__":
    sys.exit(main())
