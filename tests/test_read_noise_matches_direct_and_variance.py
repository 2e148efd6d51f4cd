"""Read noise (attention/noise.c, --read-noise): every read adds a zero-mean Gaussian charge
of variance k T C_int + 2 k T gamma g_m T_max sum(p) + conv_shot_factor q Q_conv, from the
cell's /noise, with seeded per-read streams.

Checks, and why the tolerances:
- fast (parallel and streaming) = direct with noise on, on the synthetic cell (cut 1e-6):
  both draw the same deviates, so S and phi stay within 2e-6 of the nominal tolerance of
  test_calibrated_matches_direct, out within 10x that with whole counter steps allowed for
  < 0.2 % of the elements. The noise itself is ~100x that tolerance (checked: it moves S).
- the same seed gives the same bytes; another seed other noise; the noise does not depend
  on the thread count (the noise of 1 and 2 threads agrees to float rounding, 1e-3 sigma).
- statistics (direct evaluator): z = added charge / analytic sigma over n reads; mean(z^2)
  is a chi-square over n, standard error sqrt(2/n), held to 4.5 standard errors; mean(z) to
  4.5/sqrt(n); the share beyond 2 sigma to 4.5 binomial standard errors of the Gaussian's
  4.55 %. Array 1 with all terms; then each term alone (integrator reset, cells,
  converter) must give the same z (the same deviates) to float rounding, which checks each
  term's formula exactly. Array 2 on a cell with a linear readout, all pulses saturated
  (phi = 1 exactly, so array 1's noise cannot move array 2's pulses) and one tile, where the
  readout returns the noise in counter units (--no-quant-out).
- gcsim fit writes /noise from the curves: g_m is the largest slope of the DC read current
  at the read amplitude (reproduced here from the synthetic curves), c_int and the
  temperature copied; curves without c_int give no /noise.
- a cell without /noise, a malformed /noise, a variant without a cell: one-line refusals.
- gcsim ppl --read-noise runs, records the setting and the sigmas, repeats its bits per
  byte with the same seed, and noise 100x larger changes them."""
import json
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import synthetic_cell  # noqa: E402
import synthetic_curves  # noqa: E402
from attention_cli import GCSIM, Run, inputs, max_rel  # noqa: E402

LSB = 2.0 / 31
K_B, Q_E = 1.380649e-23, 1.602176634e-19
failures = []


def check(name, ok, detail=""):
    print("%-4s %s %s" % ("ok" if ok else "FAIL", name, detail))
    if not ok:
        failures.append(name)


def out_error(got, want, tol):
    diff = np.abs(got - want)
    bad = diff > tol
    if bad.any() and bad.mean() < 2e-3:
        steps = diff[bad] / LSB
        if (np.abs(steps - np.round(steps)) < 1e-3).all():
            diff = np.where(bad, 0, diff)
    return float(diff.max())


def fast_equals_direct(run, cell):
    base = ["--cell", cell, "--tile", 32, "--token-period", 5e-5, "--decomp-tol", 1e-6]
    for extra in ([], ["--window", 48]):
        args = base + extra + ["--read-noise", "--noise-seed", 5]
        want = run.call(args + ["--reference"])
        for mode in ("parallel", "streaming"):
            got = run.call(args + ["--mode", mode])
            label = "noise %s %s" % (" ".join(map(str, extra)) or "full window", mode)
            e_s = max_rel(got["S"], want["S"])
            e_p = float(np.abs(got["phi"] - want["phi"]).max())
            e_o = out_error(got["out"], want["out"], 2e-5)
            check(label + " S = direct", e_s <= 2e-6, "%.2e" % e_s)
            check(label + " phi = direct", e_p <= 2e-6, "%.2e" % e_p)
            check(label + " out = direct", e_o <= 2e-5, "%.2e" % e_o)
    args = base + ["--reference"]
    nominal, on = run.call(args), run.call(args + ["--read-noise", "--noise-seed", 5])
    d = max_rel(on["S"], nominal["S"])
    check("the noise moves S by more than 50x the tolerance", d > 1e-4, "%.2e" % d)
    again = run.call(args + ["--read-noise", "--noise-seed", 5])
    check("the same seed: the same bytes", np.array_equal(again["S"], on["S"]) and
          np.array_equal(again["out"], on["out"]))
    other = run.call(args + ["--read-noise", "--noise-seed", 6])
    check("another seed: other noise", max_rel(other["S"], on["S"]) > 1e-4)
    st = on["settings"]["attention_config"]
    check("settings record read_noise, noise_seed, noise_scale",
          st["read_noise"] is True and st["noise_seed"] == 5 and st["noise_scale"] == 1, st)
    check("settings of a nominal run: read_noise false",
          nominal["settings"]["attention_config"]["read_noise"] is False)


def threads_do_not_matter(cell):
    q, k, v = inputs(3, 8, 128, 64)  # enough work for the heads to be spread over threads
    run = Run(q, k, v)
    args = ["--cell", cell, "--tile", 32, "--token-period", 5e-5]
    noise = []
    for n in ("1", "2"):
        os.environ["OMP_NUM_THREADS"] = n
        on = run.call(args + ["--read-noise", "--noise-seed", 9])["S"].astype(np.float64)
        noise.append(on - run.call(args)["S"])
    os.environ["OMP_NUM_THREADS"] = "2"
    d = float(np.abs(noise[0] - noise[1]).max())
    check("1 and 2 threads add the same noise", d < 1e-19, "%.2e C (sigma >= 1.1e-16)" % d)


def chi2(name, z):
    n = z.size
    m2, m1 = float(np.mean(z * z)), float(np.mean(z))
    tol2, tol1 = 4.5 * np.sqrt(2.0 / n), 4.5 / np.sqrt(n)
    check("%s: mean z^2 = 1 (n %d)" % (name, n), abs(m2 - 1) <= tol2,
          "%.4f tol %.4f" % (m2, tol2))
    check("%s: mean z = 0" % name, abs(m1) <= tol1, "%.4f tol %.4f" % (m1, tol1))
    p2 = 0.0455003  # P(|z| > 2) of a Gaussian; binomial standard error over n
    f2, tolf = float(np.mean(np.abs(z) > 2)), 4.5 * np.sqrt(p2 * (1 - p2) / n)
    check("%s: P(|z| > 2) Gaussian" % name, abs(f2 - p2) <= tolf, "%.4f tol %.4f" % (f2, tolf))


def sigmas(settings):
    s = settings["read_noise_sigma_c"]
    return (s["integrator_reset"] ** 2, s["cell_full_pulse"] ** 2,
            s["c2p_full_scale"] ** 2 / s["c2p_s_sat"], s["c2p_s_sat"],
            s["readout_full_scale"] ** 2 / s["readout_sat"], s["readout_sat"])


def array1_statistics(d, cell):
    B, T, D = 32, 48, 16
    q, k, v = inputs(11, B, T, D)
    run = Run(q, k, v)
    pulses = np.round(np.clip(q, 0, 1) * 15) / 15  # the cell's 16 pulse levels
    psum = pulses.astype(np.float64).sum(axis=2)  # (B, T): each query's sum of pulses
    args = ["--tile", 16, "--token-period", 5e-5, "--reference"]
    nominal = run.call(["--cell", cell] + args)["S"].astype(np.float64)
    rows, cols = np.tril_indices(T)
    parts = {"reset": {"gm_read_s": (0.0, "S"), "conv_shot_factor": (0.0, "1")},
             "cells": {"c_int_f": (1e-18, "F"), "conv_shot_factor": (0.0, "1")},
             "converter": {"c_int_f": (1e-18, "F"), "gm_read_s": (0.0, "S")},
             "all": {}}
    z = {}
    for name, values in parts.items():
        c = os.path.join(d, "stat-%s.h5" % name)
        synthetic_cell.write_cell(c)
        synthetic_cell.add_noise(c, values)
        got = run.call(["--cell", c, "--read-noise", "--noise-seed", 1] + args)
        reset, cellv, conv, s_sat, _, _ = sigmas(got["settings"])
        s0 = nominal[:, rows, cols]
        var = reset + cellv * psum[:, rows] + conv * np.clip(s0, 0, s_sat)
        z[name] = ((got["S"].astype(np.float64)[:, rows, cols] - s0) / np.sqrt(var)).ravel()
    chi2("array 1", z["all"])
    # Each term alone draws the same deviates: z equal to float32 rounding of S (4e-20 C)
    # over the smallest sigma (the converter's where it conveys over 10 fC: 5.7e-17 C).
    conveys = (nominal[:, rows, cols] > 1e-14).ravel()
    for name in ("reset", "cells", "converter"):
        keep = conveys if name == "converter" else np.ones_like(conveys)
        e = float(np.abs(z[name][keep] - z["all"][keep]).max())
        check("array 1, %s alone: the same deviates over its own sigma" % name, e < 2e-3,
              "%.1e" % e)


def array2_statistics(d):
    """phi = 1 everywhere (full pulses on the highest stored level saturate the c2p), one
    tile, a linear readout: (out - out_nominal) x readout_sat is the noise of each read."""
    B, T, D = 64, 32, 16
    rng = np.random.default_rng(5)
    q = np.ones((B, T, D), np.float32)
    k = np.full((B, T, D), 0.9, np.float32)
    v = rng.uniform(0.40, 0.48, (B, T, D)).astype(np.float32)  # |O| below readout full scale
    run = Run(q, k, v)
    c = os.path.join(d, "linear-readout.h5")
    synthetic_cell.write_cell(c)
    with h5py.File(c, "a") as f:
        x = f["readout/charge"][:] / (40e-6 * synthetic_cell.T_MAX)
        f["readout/pulse_signed"][...] = synthetic_cell.T_MAX * np.clip(x, -1, 1)
    synthetic_cell.add_noise(c)
    args = ["--cell", c, "--tile", T, "--no-quant-out", "--no-quant-v", "--no-decay",
            "--reference"]
    nominal = run.call(args)
    got = run.call(args + ["--read-noise", "--noise-seed", 2])
    check("array 2 statistics: every pulse saturated (phi = 1)",
          bool((nominal["phi"][:, np.tril_indices(T)[0], np.tril_indices(T)[1]] == 1).all() and
               (got["phi"][:, np.tril_indices(T)[0], np.tril_indices(T)[1]] == 1).all()))
    reset, cellv, _, _, conv, ro_sat = sigmas(got["settings"])
    o = nominal["out"].astype(np.float64) * ro_sat
    check("array 2 statistics: |O| below full scale", float(np.abs(o).max()) < 0.95 * ro_sat)
    keys = np.arange(1, T + 1, dtype=np.float64)[None, :, None]  # pulses of full width
    var = reset + cellv * keys + conv * np.abs(o)
    z = (got["out"].astype(np.float64) * ro_sat - o) / np.sqrt(var)
    chi2("array 2, all terms", z.ravel())


def fit_writes_noise(d):
    curves = os.path.join(d, "curves.h5")
    synthetic_curves.write_curves(curves)
    bare = os.path.join(d, "bare.h5")
    r = subprocess.run([GCSIM, "fit", "--curves", curves, "--out", bare], capture_output=True,
                       text=True)
    with h5py.File(bare, "r") as f:
        check("curves without c_int: no /noise", r.returncode == 0 and "noise" not in f)
    with h5py.File(curves, "a") as f:
        f.attrs["temperature_C"] = 27.0
        f["params/c_int"] = np.array([3.2e-12])
        f["params/c_int"].attrs["units"] = np.bytes_("F")
        f["params/c_int"].attrs["description"] = np.bytes_("integrator feedback capacitor")
    cell = os.path.join(d, "fitted.h5")
    r = subprocess.run([GCSIM, "fit", "--curves", curves, "--out", cell], capture_output=True,
                       text=True)
    if r.returncode:
        sys.exit("FAIL: gcsim fit\n" + r.stderr)
    vs = np.linspace(0, synthetic_curves.VDD, 64)  # write_curves' DC sweep; at v_in = vdd
    i = synthetic_curves.g_ua(vs - synthetic_curves.V_MID) * 1e-6
    gm = float(np.max(np.abs(np.diff(i) / np.diff(vs))))
    with h5py.File(cell, "r") as f:
        n = {k: float(f["noise"][k][0]) for k in f["noise"]}
    check("fit: gm_read_s = the largest slope of the DC read current",
          abs(n["gm_read_s"] / gm - 1) < 1e-9, "%.6e vs %.6e S" % (n["gm_read_s"], gm))
    check("fit: c_int_f, temperature_k, gamma 2/3, two shot noises",
          n["c_int_f"] == 3.2e-12 and abs(n["temperature_k"] - 300.15) < 1e-9 and
          abs(n["gamma_read"] - 2 / 3) < 1e-12 and n["conv_shot_factor"] == 2, n)
    return bare


def refusals(run, d, bare):
    r = run.call(["--cell", bare, "--read-noise"], expect_ok=False)
    msg = r.stderr.strip()
    check("a cell without /noise: read noise refused in one line",
          r.returncode != 0 and len(msg.splitlines()) == 1 and bare in msg and "/noise" in msg,
          msg)
    r = run.call(["--attention", "paper-cubic", "--read-noise"], expect_ok=False)
    check("paper-cubic: read noise refused in one line",
          r.returncode != 0 and len(r.stderr.strip().splitlines()) == 1, r.stderr.strip())
    cases = [("gm_read_s", (-1e-5, "S")), ("temperature_k", (float("nan"), "K")),
             ("c_int_f", (3.2e-12, "pF")), ("gamma_read", (None, "1"))]
    for field, value in cases:
        bad = os.path.join(d, "bad-%s.h5" % field)
        synthetic_cell.write_cell(bad)
        synthetic_cell.add_noise(bad, {field: value})
        r = run.call(["--cell", bad], expect_ok=False)
        msg = r.stderr.strip()
        check("malformed /noise/%s refused in one line" % field,
              r.returncode != 0 and len(msg.splitlines()) == 1 and bad in msg and field in msg,
              msg)


def ppl_runs(d, cell):
    model = os.path.join(os.environ["GCSIM_ROOT"], "data", "models", "bytes-5x256-paper-linear")
    text = os.path.join(d, "text.txt")
    with open(os.path.join(os.environ["GCSIM_DATA"], "text", "wikitext2_wiki.test.raw"),
              "rb") as f:
        open(text, "wb").write(f.read(1500))
    res = {}
    for name, extra in (("nominal", []), ("a", ["--read-noise"]), ("b", ["--read-noise"]),
                        ("x100", ["--read-noise", "--noise-scale", "100"])):
        js = os.path.join(d, "ppl-%s.json" % name)
        r = subprocess.run([GCSIM, "ppl", "--model", model, "--text", text, "--cell", cell,
                            "--ctx", "128", "--window", "128", "--json", js] + extra,
                           capture_output=True, text=True)
        if r.returncode:
            sys.exit("FAIL: gcsim ppl %s\n%s" % (" ".join(extra), r.stderr))
        with open(js) as f:
            res[name] = json.load(f)
    a, bpb = res["a"], {k: r["bits_per_byte"] for k, r in res.items()}
    check("ppl --read-noise records it and its sigmas",
          a["attention_config"]["read_noise"] is True and "read_noise_sigma_c" in a and
          "read_noise_sigma_c" not in res["nominal"])
    check("ppl --read-noise twice: the same bits per byte", bpb["a"] == bpb["b"],
          "%r %r" % (bpb["a"], bpb["b"]))
    check("ppl with 100x the noise: other bits per byte", bpb["x100"] != bpb["a"],
          "nominal %.6f, noise %.6f, x100 %.6f" % (bpb["nominal"], bpb["a"], bpb["x100"]))


def main():
    with tempfile.TemporaryDirectory() as d:
        cell = os.path.join(d, "cell.h5")
        synthetic_cell.write_cell(cell)
        synthetic_cell.add_noise(cell)
        run = Run(*inputs(7, 2, 80, 16))
        fast_equals_direct(run, cell)
        threads_do_not_matter(cell)
        array1_statistics(d, cell)
        array2_statistics(d)
        bare = fit_writes_noise(d)
        refusals(run, d, bare)
        ppl_runs(d, cell)
    if failures:
        sys.exit("FAIL: " + ", ".join(failures))
    print("all read-noise checks passed")


if __name__ == "__main__":
    main()
