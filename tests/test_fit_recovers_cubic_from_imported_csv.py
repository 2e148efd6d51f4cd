"""An I-V table of the paper's cubic, imported from a shuffled CSV and fitted with degree 3,
gives back the generating coefficients to 1e-6 µA; the cell.h5 it writes has the schema
cellmodel reads (it loads: the JSON's cellmodel_check), the SHA-256 of its curves, the read
table of all points, and the PAPER.md defaults the JSON says it used."""
import hashlib
import json
import os
import sys
import tempfile

import h5py
import numpy as np

import synthetic_curves as sc

failures = []


def check(name, ok, detail=""):
    print("%-44s %s  %s" % (name, "ok" if ok else "FAIL", detail))
    if not ok:
        failures.append(name)


def main():
    d = tempfile.mkdtemp(prefix="gcsim_fit_cubic_")
    csv, curves = os.path.join(d, "iv.csv"), os.path.join(d, "curves.h5")
    cell, js = os.path.join(d, "cell.h5"), os.path.join(d, "fit.json")
    vs, vins = sc.write_iv_csv(csv)
    r = sc.gcsim("import", "--read-iv", csv, "--out", curves, "--levels", "16")
    check("import exits 0", r.returncode == 0, r.stderr.strip())
    r = sc.gcsim("fit", "--curves", curves, "--out", cell, "--json", js,
                 "--read-poly-degree", "3")
    check("fit exits 0", r.returncode == 0, r.stderr.strip())
    if failures:
        return 1
    s = json.load(open(js))
    poly = np.array(s["read"]["poly"])
    err = np.max(np.abs(poly - np.array(sc.CUBIC)))
    check("degree-3 coefficients within 1e-6 uA", len(poly) == 4 and err < 1e-6,
          "max |diff| %.3g" % err)
    check("poly RMS residual ~ 0", s["read"]["poly_rms_uA"] < 1e-9,
          "%.3g uA" % s["read"]["poly_rms_uA"])
    check("defaults named in the JSON",
          set(s["defaults_used"]) == {"write", "c2p", "readout", "leak"} and "defaults_note" in s,
          str(s["defaults_used"]))
    check("c2p S_sat = 80 uA x T_max", abs(s["c2p"]["s_sat"] / (80e-6 * sc.T_MAX) - 1) < 1e-9,
          "%.6g C" % s["c2p"]["s_sat"])
    check("c2p t_max_s", s["c2p"]["t_max_s"] == sc.T_MAX)
    check("cellmodel loads the file", "cellmodel_check" in s)
    for key in ("read.poly_rms_uA", "read.table_heldout_rms_pct_fs", "leak.tau_s",
                "leak.model_max_err_V", "c2p.s_sat", "c2p.t_max_s"):
        a, b = key.split(".")
        check("JSON has " + key, b in s.get(a, {}))
    with h5py.File(cell, "r") as f:
        sha = hashlib.sha256(open(curves, "rb").read()).hexdigest()
        check("format gcsim-cell v1", f.attrs["format"] == b"gcsim-cell" and
              f.attrs["format_version"] == 1)
        check("source_curves_sha256", f.attrs["source_curves_sha256"].decode() == sha)
        q = f["read/charge"][()]
        check("read table keeps all points", q.shape == (16, len(vs)))
        want = np.outer(np.linspace(0, 1, 16) * sc.T_MAX, sc.g_ua(vs - sc.V_MID) * 1e-6)
        check("read table = current x pulse width", np.allclose(q, want, rtol=1e-12, atol=1e-24))
        pf = f["read/pulse_frac"][()]
        check("pulse_frac 0..1", pf[0] == 0 and pf[-1] == 1)
        check("charge has units and axes", f["read/charge"].attrs["units"] == b"C" and
              len(f["read/charge"].dims[1]) == 1)
        check("write defaults: 8 levels over 0..vdd",
              np.allclose(f["write/v_stored"][()], 0.9 * np.arange(8) / 7))
        at = f["read"].attrs
        check("residual attributes on /read",
              "table_heldout_rms_pct_fs" in at and "poly_fit_rms_uA" in at)
    return 1 if failures else 0


if __name__ == "__main__":
    rc = main()
    print("FAILED: " + ", ".join(failures) if failures else "all passed")
    sys.exit(rc)
