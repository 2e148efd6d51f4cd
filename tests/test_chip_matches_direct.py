"""A chip: every physical cell its own seeded draw of the cell's variation model (cell.h5
/variation), static for the run, evaluated by the fast path (per-cell gain and offset folded
into the stored factors, the leak factor and the stored-voltage shift as coordinates of the
cell's y) and by the slow direct reference (every cell through the cell model's own
functions, drawn one by one), on a synthetic cell with a test variation model whose sigmas
are larger than a real cell's so that every part moves the results.

Checks, and why the tolerances:
- fast (parallel and streaming) = direct with the chip on. The fast path tabulates each
  term's y on (level, ln leak factor) and interpolates bilinearly; the plan reports the
  largest single-cell error of that, measured against the exact per-cell model on and between
  the grid points, which must stay below 2e-3 of full scale here (cut 1e-6: the grids alone).
  Each S sums D cells, each off by at most that error times max|F|, so S and phi are held to
  twice the reported error (as the default cut's test in test_calibrated_matches_direct).
  out may differ by whole counter steps where a readout sits at a threshold: allowed for
  < 2 % of the elements, every other element within 20x the reported error.
- streaming = parallel (the same stored factors): S within 2e-6 of max|S|.
- the chip matters: S of a chip differs from the nominal cells' by more than 50x the
  tolerance above; two seeds differ; the same seed gives the same bytes.
- mismatch_scale 1e-9 makes the chip the nominal cells (direct evaluator, to 1e-7).
- a malformed /variation is refused in one line naming the file and the dataset.
- gcsim ppl --chips 3 twice gives the same three bits per byte, three distinct ones, a line
  per chip, and bpb_mean, bpb_std, bpb_worst of the list."""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import synthetic_cell  # noqa: E402
from attention_cli import GCSIM, Run, inputs, max_rel  # noqa: E402

LSB = 2.0 / 31
failures = []


def check(name, ok, detail=""):
    print("%-4s %s %s" % ("ok" if ok else "FAIL", name, detail))
    if not ok:
        failures.append(name)


def out_error(got, want, tol):
    diff = np.abs(got - want)
    bad = diff > tol
    steps = diff[bad] / LSB
    whole = bad.mean() < 2e-2 and (np.abs(steps - np.round(steps)) < 1e-3).all()
    return float(np.where(bad, 0, diff).max() if whole else diff.max())


def fast_equals_direct(run, cell):
    args = ["--cell", cell, "--tile", 32, "--token-period", 5e-5, "--decomp-tol", 1e-6,
            "--chips", 1, "--chip-seed", 7]
    want = run.call(args + ["--reference"])
    par = run.call(args + ["--mode", "parallel"])
    st = par["settings"]
    err = max(st["decomp_error_array1"], st["decomp_error_array2"])
    check("reported grid error %.2e < 2e-3" % err, err < 2e-3)
    for mode, got in (("parallel", par), ("streaming", run.call(args + ["--mode", "streaming"]))):
        e_s = max_rel(got["S"], want["S"])
        e_p = float(np.abs(got["phi"] - want["phi"]).max())
        e_o = out_error(got["out"], want["out"], 20 * err)
        check("chip %s S = direct" % mode, e_s <= 2 * err, "%.2e tol %.2e" % (e_s, 2 * err))
        check("chip %s phi = direct" % mode, e_p <= 2 * err, "%.2e tol %.2e" % (e_p, 2 * err))
        check("chip %s out = direct" % mode, e_o <= 20 * err, "%.2e tol %.2e" % (e_o, 20 * err))
    e = max_rel(run.call(args + ["--mode", "streaming"])["S"], par["S"])
    check("chip streaming S = parallel S", e <= 2e-6, "%.2e" % e)
    return want, 2 * err


def chip_matters(run, cell, chip7, tol):
    base = ["--cell", cell, "--tile", 32, "--token-period", 5e-5, "--reference"]
    nominal = run.call(base)
    d = max_rel(chip7["S"], nominal["S"])
    check("a chip differs from the nominal cells", d > 50 * tol, "%.2e vs tol %.2e" % (d, tol))
    other = run.call(base + ["--chips", 1, "--chip-seed", 8])
    d = max_rel(other["S"], chip7["S"])
    check("chips 7 and 8 differ", d > 50 * tol, "%.2e" % d)
    again = run.call(base + ["--chips", 1, "--chip-seed", 7])
    check("chip 7 again: the same S", np.array_equal(again["S"], chip7["S"]))
    tiny = run.call(base + ["--chips", 1, "--chip-seed", 7, "--mismatch-scale", 1e-9])
    d = max_rel(tiny["S"], nominal["S"])
    check("mismatch_scale 1e-9: the nominal cells", d < 1e-7, "%.2e" % d)


def malformed(run, d):
    cases = [("gain_sigma", {"gain_sigma": (-0.01, "1")}, None),
             ("rho_gain_offset", {"rho_gain_offset": (1.5, "1")}, None),
             ("offset_sigma_c", {"offset_sigma_c": (float("nan"), "C")}, None),
             ("log_leak_sigma", {"log_leak_sigma": (None, "1")}, None),
             ("write_offset_sigma_v", {"write_offset_sigma_v": (0.01, "mV")}, None),
             ("n_instances", {}, {"n_instances": -3})]
    for field, values, attrs in cases:
        bad = os.path.join(d, "bad-%s.h5" % field)
        synthetic_cell.write_cell(bad)
        synthetic_cell.add_variation(bad, values, attrs)
        r = run.call(["--cell", bad, "--chips", 1], expect_ok=False)
        msg = r.stderr.strip()
        check("malformed %s refused in one line" % field,
              r.returncode != 0 and len(msg.splitlines()) == 1 and bad in msg and field in msg,
              msg)


def ppl_chips(d, cell):
    model = os.path.join(os.environ["GCSIM_ROOT"], "data", "models", "bytes-5x256-paper-linear")
    text = os.path.join(d, "text.txt")
    with open(os.path.join(os.environ["GCSIM_DATA"], "text", "wikitext2_wiki.test.raw"),
              "rb") as f:
        open(text, "wb").write(f.read(1500))
    res = []
    for k in range(2):
        js = os.path.join(d, "chips%d.json" % k)
        r = subprocess.run([GCSIM, "ppl", "--model", model, "--text", text, "--cell", cell,
                            "--ctx", "128", "--window", "128", "--chips", "3", "--chip-seed",
                            "11", "--json", js], capture_output=True, text=True)
        if r.returncode:
            sys.exit("FAIL: gcsim ppl --chips\n" + r.stderr)
        res.append((json.load(open(js)), r.stdout))
    (a, out), (b, _) = res
    bpb = [c["bits_per_byte"] for c in a["chips"]]
    check("ppl --chips: seeds 11, 12, 13", [c["seed"] for c in a["chips"]] == [11, 12, 13])
    check("ppl --chips: the same seed, the same numbers",
          bpb == [c["bits_per_byte"] for c in b["chips"]], str(bpb))
    check("ppl --chips: three distinct chips", len(set(bpb)) == 3, str(bpb))
    check("ppl --chips: a line per chip", all("chip %d: bits per byte %.6f" % (s, x) in out
                                              for s, x in zip((11, 12, 13), bpb)), out)
    check("ppl --chips: mean, std, worst",
          abs(a["bpb_mean"] - np.mean(bpb)) < 1e-12 and
          abs(a["bpb_std"] - np.std(bpb, ddof=1)) < 1e-12 and a["bpb_worst"] == max(bpb))
    check("ppl --chips: the configuration is recorded",
          a["attention_config"]["chips"] == 3 and a["attention_config"]["chip_seed"] == 11 and
          a["cell_variation"]["gain_sigma"] == synthetic_cell.TEST_VARIATION["gain_sigma"][0])


def main():
    q, k, v = inputs(3, 2, 80, 16)
    run = Run(q, k, v)
    cell = os.path.join(run.dir, "cell.h5")
    synthetic_cell.write_cell(cell)
    synthetic_cell.add_variation(cell)
    chip7, tol = fast_equals_direct(run, cell)
    chip_matters(run, cell, chip7, tol)
    with tempfile.TemporaryDirectory() as d:
        malformed(run, d)
        ppl_chips(d, cell)
    if failures:
        sys.exit("FAILED: %d checks: %s" % (len(failures), failures))


if __name__ == "__main__":
    main()
