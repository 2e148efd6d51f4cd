"""Adds a declared /variation (the schema of cellmodel/variation.c) to a copy of a silicon
cell.h5, for chips before a variation model fitted from SPICE Monte Carlo exists. Every sigma
is a first-order estimate from published Pelgrom coefficients and the cell's device sizes
(read from the .tech file); the group's `source` attribute says so.

  sigma(dVth) = A_VT / sqrt(W L), sigma(dbeta/beta) = A_beta / sqrt(W L)  (W, L in um)
  A_VT = 2.5 mV um (40/45-nm bulk: 2 to 3.5 mV um, Kuhn et al., IEEE TED 58(8), 2011)
  A_beta = 1 % um (Kinget, IEEE JSSC 40(6), 2005)
  sigma(dC/C) of the storage capacitor = 1 % (Tripathi and Murmann, IEEE TCAS-I 61(8), 2014)

- gain: the read charge scales with the read pair's current factor: the mean of the NMOS and
  PMOS sigma(dbeta/beta) (each conducts on one side of mid-rail);
- offset: a threshold shift moves the charge curve along V: slope of the full-pulse charge at
  mid-rail (from the cell file, simulated) x the pair's sigma(dVth) in quadrature / sqrt(2);
- leak factor: the write gate's subthreshold current (half the hold leakage, the other half
  gate tunnelling, which matches well) varies as exp(dVth / (n kT/q)), n = 1.4, so
  sigma(ln f) = 0.5 x sigma(dVth_write) / (n kT/q), with the capacitor's 1 % in quadrature;
- write offset: mismatch of the write gate's charge injection, declared 1 mV;
- gain and offset independent (Pelgrom: beta and Vth mismatch are uncorrelated).

usage: python3 declare-variation.py IN_CELL.h5 TECH_FILE OUT_CELL.h5"""
import math
import shutil
import sys

import h5py
import numpy as np

A_VT_MV_UM, A_BETA_PCT_UM, SIGMA_CS = 2.5, 1.0, 0.01
N_SUB, KT_Q_V = 1.4, 0.02585
WRITE_OFFSET_V = 1e-3


def tech_params(path):
    p = {}
    for line in open(path):
        f = line.split()
        if len(f) >= 3 and f[0] == "param":
            p[f[1]] = float(f[2])
    return p


def main(cell_in, tech, cell_out):
    p = tech_params(tech)
    area = lambda w, l: math.sqrt(p[w] * 1e6 * p[l] * 1e6)
    s_vt_rn, s_vt_rp = (A_VT_MV_UM * 1e-3 / area("w_rn", "l_rn"),
                        A_VT_MV_UM * 1e-3 / area("w_rp", "l_rp"))
    s_b_rn, s_b_rp = (A_BETA_PCT_UM / 100 / area("w_rn", "l_rn"),
                      A_BETA_PCT_UM / 100 / area("w_rp", "l_rp"))
    s_vt_w = A_VT_MV_UM * 1e-3 / area("w_wn", "l_wn")
    shutil.copyfile(cell_in, cell_out)
    with h5py.File(cell_out, "a") as f:
        v = f["read/v_store"][:]
        q = f["read/charge"][-1, :]           # the full pulse
        mid = f["params"].attrs["v_mid_V"]
        slope = float(np.interp(mid, v[1:-1], np.gradient(q, v)[1:-1]))
        values = {
            "gain_sigma": ((s_b_rn + s_b_rp) / 2, "1"),
            "offset_sigma_c": (slope * math.hypot(s_vt_rn, s_vt_rp) / math.sqrt(2), "C"),
            "log_leak_sigma": (math.hypot(0.5 * s_vt_w / (N_SUB * KT_Q_V), SIGMA_CS), "1"),
            "rho_gain_offset": (0.0, "1"),
            "write_offset_sigma_v": (WRITE_OFFSET_V, "V"),
        }
        if "variation" in f:
            del f["variation"]
        g = f.create_group("variation")
        g.attrs["n_instances"] = 0           # declared: no Monte Carlo instances
        g.attrs["seed"] = 0
        g.attrs["temp_c"] = float(p.get("temp", 27))
        g.attrs["corner"] = np.bytes_("tt")
        g.attrs["source"] = np.bytes_(
            "declared: Pelgrom A_VT 2.5 mV um, A_beta 1 %% um, sigma(dC/C) 1 %% for the device "
            "sizes of %s (scripts/declare-variation.py), not a Monte Carlo fit" % tech)
        for k, (x, unit) in values.items():
            g[k] = np.array([x])
            g[k].attrs["units"] = np.bytes_(unit)
            print("%-22s %.4g %s" % (k, x, unit))


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
