"""A synthetic linear leak, I_leak = G (V - 0.45) through a known C, with its analytic hold
transients: the fit recovers C (both sides and overall) and tau = C / G, the decay model
matches the exponential to < 0.1 mV (in calibrate's own evaluation, through cellmodel's
loader, and independently here from the written time-to-voltage tables), and the read table
of a smooth 64-point sweep interpolates held-out points to <= 0.5 % of full scale; the write
pulse width of the curves' /params reaches cell.h5's /params t_write_s and the JSON. A
leakage CSV through `gcsim import --leak` gives back the assumed C (and, recording no write
time, writes no t_write_s)."""
import json
import os
import sys
import tempfile

import h5py
import numpy as np

import synthetic_curves as sc

failures = []


def check(name, ok, detail=""):
    print("%-46s %s  %s" % (name, "ok" if ok else "FAIL", detail))
    if not ok:
        failures.append(name)


def table_error(f, side, tau):
    """Max voltage error of the written table against the analytic decay from the range end:
    t(V) = tau ln(d0 / d), so V(t) at the table's t differs from the table's V by this."""
    v = f["leak/%s_v" % side][()]
    t = f["leak/%s_t" % side][()]
    d0 = v[0] - sc.V_MID
    exact = sc.V_MID + d0 * np.exp(-t / tau)
    return np.max(np.abs(v - exact))


def synthetic_spice(d):
    curves, cell, js = (os.path.join(d, n) for n in ("curves.h5", "cell.h5", "fit.json"))
    truth = sc.write_curves(curves)
    r = sc.gcsim("fit", "--curves", curves, "--out", cell, "--json", js)
    check("fit exits 0", r.returncode == 0, r.stderr.strip())
    if r.returncode:
        return
    s = json.load(open(js))
    lk = s["leak"]
    for key in ("c_node_F", "c_upper_F", "c_lower_F"):
        check("recovers C (%s) to 1e-4" % key, abs(lk[key] / truth["c_node"] - 1) < 1e-4,
              "%.6g F" % lk[key])
    check("recovers tau to 1e-4", abs(lk["tau_s"] / truth["tau"] - 1) < 1e-4,
          "%.6g s" % lk["tau_s"])
    check("tail tau = C / G", abs(lk["tau_tail_s"] / truth["tau"] - 1) < 1e-4)
    check("v_eq = 0.45 V", abs(lk["v_eq_V"] - 0.45) < 1e-9, "%.12g" % lk["v_eq_V"])
    check("model max error < 0.1 mV", lk["model_max_err_V"] < 1e-4,
          "%.3g V over %.3g tau" % (lk["model_max_err_V"], lk["span_taus"]))
    check("held-out model error < 0.1 mV", lk["model_heldout"]["max"] < 1e-4 and
          lk["model_heldout"]["n"] > 0, "%.3g V" % lk["model_heldout"]["max"])
    check("through cellmodel < 0.1 mV", s["cellmodel_check"]["leak_max_err_V"] < 1e-4,
          "%.3g V" % s["cellmodel_check"]["leak_max_err_V"])
    with h5py.File(cell, "r") as f:
        for side in ("upper", "lower"):
            e = table_error(f, side, truth["tau"])
            check("%s table vs analytic < 0.1 mV" % side, e < 1e-4, "%.3g V" % e)
        check("tables start at time 0", f["leak/upper_t"][0] == 0 and f["leak/lower_t"][0] == 0)
        check("c_node_F attribute", abs(f["leak"].attrs["c_node_F"] / truth["c_node"] - 1) < 1e-4)
        check("/params t_write_s = curves' t_write",
              f["params"].attrs.get("t_write_s") == truth["t_write"],
              str(f["params"].attrs.get("t_write_s")))
    check("JSON t_write_s", s.get("t_write_s") == truth["t_write"], str(s.get("t_write_s")))
    rd = s["read"]
    check("read table held-out <= 0.5 % FS", rd["table_heldout_max_pct_fs"] <= 0.5,
          "rms %.3g %%, max %.3g %%" % (rd["table_heldout_rms_pct_fs"],
                                        rd["table_heldout_max_pct_fs"]))
    check("c2p S_sat recovered", abs(s["c2p"]["s_sat"] / truth["s_sat"] - 1) < 1e-9)
    ro = s["readout"]
    check("readout saturates at 40 uA x T_max", abs(ro["sat_high_C"] / truth["r_sat"] - 1) < 1e-9)
    check("energies copied", s["energy_J"]["write"] == 2e-15)


def imported_leak(d):
    """Transients as CSV: I_leak is derived with the assumed C, so the fit must give it back."""
    iv, lcsv = os.path.join(d, "iv.csv"), os.path.join(d, "leak.csv")
    curves, cell, js = (os.path.join(d, n) for n in ("imp.h5", "imp_cell.h5", "imp.json"))
    sc.write_iv_csv(iv)
    tau = 3e-3
    t = np.linspace(0, 7 * tau, 800)
    with open(lcsv, "w") as f:
        f.write("v0_V,time_s,vstore_V\n")
        for v0 in (0.0, 0.2, 0.7, 0.9):
            for ti in t:
                f.write("%.17g,%.17g,%.17g\n" % (v0, ti, 0.45 + (v0 - 0.45) * np.exp(-ti / tau)))
    r = sc.gcsim("import", "--read-iv", iv, "--leak", lcsv, "--c-node", "12e-15", "--out", curves)
    check("import --leak exits 0", r.returncode == 0, r.stderr.strip())
    r = sc.gcsim("fit", "--curves", curves, "--out", cell, "--json", js)
    check("fit of imported leak exits 0", r.returncode == 0, r.stderr.strip())
    if r.returncode:
        return
    lk = json.load(open(js))["leak"]
    check("imported: C = assumed C within 1 %", abs(lk["c_node_F"] / 12e-15 - 1) < 0.01,
          "%.4g F" % lk["c_node_F"])
    check("imported: tau within 1 %", abs(lk["tau_s"] / tau - 1) < 0.01, "%.4g s" % lk["tau_s"])
    check("imported: model max error < 1 mV", lk["model_max_err_V"] < 1e-3,
          "%.3g V" % lk["model_max_err_V"])
    check("imported: assumed C reported", lk.get("c_node_assumed_F") == 12e-15)
    with h5py.File(cell, "r") as f:
        check("imported: no t_write_s recorded", "t_write_s" not in f["params"].attrs)


def main():
    d = tempfile.mkdtemp(prefix="gcsim_fit_leak_")
    synthetic_spice(d)
    imported_leak(d)
    return 1 if failures else 0


if __name__ == "__main__":
    rc = main()
    print("FAILED: " + ", ".join(failures) if failures else "all passed")
    sys.exit(rc)
