"""Synthetic inputs for the calibrate tests, built from closed forms so that the fits have
known answers: a curves.h5 in the schema `gcsim characterize` writes (read table and DC
currents from the paper's cubic with a soft pulse shape, a linear leak I = G (V - 0.45)
through a known C with its analytic exponential transients, write levels, clamped-line
converters, energies), an I-V CSV of the cubic, and a helper to run gcsim."""
import os
import subprocess

import h5py
import numpy as np

CUBIC = (0.52136361, 13.61226063, -2.62044562, 46.05483778)  # µA, PAPER.md 3
T_MAX = 15e-9
T_WRITE = 3e-9            # s, write pulse width (si.tech's)
VDD = 0.9
V_MID = 0.45
C_NODE = 8.5e-15          # F
G_LEAK = 8.5e-15 / 2e-3   # A/V, so tau = C / G = 2 ms


def g_ua(y):
    c0, c1, c2, c3 = CUBIC
    return c0 + c1 * y + c2 * y**2 + c3 * y**3


def gcsim(*args):
    """Runs $GCSIM with args; returns the CompletedProcess (text output)."""
    return subprocess.run([os.environ["GCSIM"], *args], capture_output=True, text=True,
                          timeout=120)


def write_iv_csv(path, n_v=46, vins=(0.45, 0.675, 0.9), shuffle_seed=1):
    """Long-format I-V table of the cubic at the largest V_in (scaled toward 0 at lower V_in),
    rows shuffled. Returns the grid (vstore, vin)."""
    vs = np.linspace(0, VDD, n_v)
    rows = []
    for v in vs:
        for vin in vins:
            scale = (vin - V_MID) / (max(vins) - V_MID)
            rows.append((v, vin, g_ua(v - V_MID) * 1e-6 * scale))
    order = np.random.default_rng(shuffle_seed).permutation(len(rows))
    with open(path, "w") as f:
        f.write("vstore_V,vin_V,current_A\n")
        for i in order:
            f.write("%.17g,%.17g,%.17g\n" % rows[i])
    return vs, np.array(vins)


def _axis(g, name, data, units):
    g[name] = np.asarray(data, dtype=np.float64)
    g[name].attrs["units"] = np.bytes_(units)
    g[name].make_scale(name)


def write_curves(path, n_v=64, n_v0=10, n_t=400, span_taus=7.0):
    """A complete synthetic curves.h5. Returns a dict of the true parameters."""
    tau = C_NODE / G_LEAK
    with h5py.File(path, "w") as f:
        f.attrs["format"] = np.bytes_("gcsim-curves")
        f.attrs["format_version"] = 1.0
        f.attrs["technology"] = np.bytes_("synthetic")
        p = f.create_group("params")
        for name, val, unit in (("vdd", VDD, "V"), ("t_max", T_MAX, "s"),
                                ("t_write", T_WRITE, "s"), ("c_store", C_NODE, "F")):
            p[name] = np.array([val])
            p[name].attrs["units"] = np.bytes_(unit)
        r = f.create_group("read")
        r.attrs["v_in_V"], r.attrs["t_max_s"], r.attrs["v_mid_V"] = VDD, T_MAX, V_MID
        vs = np.linspace(0, VDD, n_v)
        vins = np.linspace(0, VDD, 8)
        _axis(r, "dc_v_store", vs, "V")
        _axis(r, "v_in", vins, "V")
        dc = np.outer(g_ua(vs - V_MID) * 1e-6, (vins - V_MID) / (VDD - V_MID))
        r["dc_current"] = dc
        pw = np.linspace(0, T_MAX, 16)
        _axis(r, "v_store", vs, "V")
        _axis(r, "pulse_width", pw, "s")
        # A soft pulse shape: the cell needs ~1 ns to reach its full current.
        eff = pw - 1e-9 * (1 - np.exp(-pw / 1e-9))
        r["charge"] = np.outer(eff, g_ua(vs - V_MID) * 1e-6)
        lk = f.create_group("leak")
        dv = np.linspace(0, VDD, 181)
        _axis(lk, "dc_v", dv, "V")
        lk["i_leak"] = G_LEAK * (dv - V_MID)
        lk.attrs["v_eq_V"] = V_MID
        v0 = np.linspace(0, VDD, n_v0)
        t = np.linspace(0, span_taus * tau, n_t)
        _axis(lk, "v0", v0, "V")
        _axis(lk, "time", t, "s")
        lk["v_store"] = V_MID + np.outer(v0 - V_MID, np.ones(n_t)) * np.exp(-t / tau)[None, :]
        w = f.create_group("write")
        lev = np.arange(8.0)
        w["level"], w["v_dac"] = lev, VDD * lev / 7
        w["v_stored"] = 0.002 + 0.995 * VDD * lev / 7
        s_sat = 80e-6 * T_MAX
        c = f.create_group("c2p")
        q = np.linspace(-0.3, 1.5, 48) * s_sat
        c["charge"], c["pulse_width"] = q, np.clip(q / s_sat, 0, 1) * T_MAX
        ro = f.create_group("readout")
        r_sat = 40e-6 * T_MAX
        q = np.linspace(-1.5, 1.5, 48) * r_sat
        ro["charge"], ro["pulse_signed"] = q, np.clip(q / r_sat, -1, 1) * T_MAX
        e = f.create_group("energy")
        for name, val in (("read_per_cell", 4e-14), ("write", 2e-15), ("c2p_conversion", 1e-12),
                          ("readout_conversion", 1.1e-12)):
            e[name] = np.array([val])
            e[name].attrs["units"] = np.bytes_("J")
    return {"c_node": C_NODE, "tau": tau, "s_sat": s_sat, "r_sat": 40e-6 * T_MAX,
            "t_write": T_WRITE}
