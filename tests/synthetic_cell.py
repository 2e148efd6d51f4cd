"""A small synthetic cell.h5 in the calibrate module's schema (see cellmodel/load.c), built
from the paper's cubic with deliberate non-idealities so that the calibrated path is
exercised beyond the preset: the read charge is not exactly linear in the pulse width, the
write transfer has an offset, leakage is asymmetric and non-exponential, and both converters
are gently curved. Usable as a module (write_cell) or a script (python3 synthetic_cell.py
OUT.h5)."""
import sys

import h5py
import numpy as np

CUBIC = (0.52136361, 13.61226063, -2.62044562, 46.05483778)
T_MAX = 15e-9
T_WRITE = 20e-9   # s: the presets' write time, 65 ns - 3 T_max


def g_ua(y):
    c0, c1, c2, c3 = CUBIC
    return c0 + c1 * y + c2 * y**2 + c3 * y**3


def leak_side(v_start, v_eq, tau, n=40):
    """Time for a node to relax from v_start: dV/dt = -(V-v_eq)/tau · (1 + 2|V-v_eq|),
    integrated in closed form, sampled on voltages from v_start toward v_eq."""
    dv0 = abs(v_start - v_eq)
    dv = dv0 * np.geomspace(1.0, 1e-3, n)
    # ∫ dV / (x (1+2x)) = ln(x/(1+2x)); t(x) = tau (ln(dv0/(1+2dv0)) - ln(x/(1+2x)))
    t = tau * (np.log(dv0 / (1 + 2 * dv0)) - np.log(dv / (1 + 2 * dv)))
    v = v_eq + np.sign(v_start - v_eq) * dv
    return v, t


def write_cell(path, technology="synthetic-test"):
    with h5py.File(path, "w") as f:
        # Fixed-length strings, as gcsim's own writer (gc_h5_attr_str) makes them.
        f.attrs["format"] = np.bytes_("gcsim-cell")
        f.attrs["format_version"] = 1
        f.attrs["technology"] = np.bytes_(technology)
        p = f.create_group("params")
        p.attrs["v_mid_V"] = 0.45
        p.attrs["t_max_s"] = T_MAX
        p.attrs["vdd_V"] = 0.9
        p.attrs["t_write_s"] = T_WRITE
        w = f.create_group("write")
        lev = np.arange(8)
        w["level"] = lev.astype(np.float64)
        w["v_stored"] = 0.01 + 0.88 * lev / 7 + 0.004 * np.sin(lev)   # feed-through offset
        r = f.create_group("read")
        pf = np.linspace(0, 1, 16)
        vs = np.linspace(0, 0.9, 46)
        r["pulse_frac"] = pf
        r["v_store"] = vs
        shape = pf[:, None] * (1 + 0.08 * (1 - pf[:, None]))      # rise time: sub-linear
        r["charge"] = shape * T_MAX * g_ua(vs[None, :] - 0.45) * 1e-6
        lk = f.create_group("leak")
        lk.attrs["v_eq_V"] = 0.44
        lk.attrs["tau_tail_s"] = 4e-3
        uv, ut = leak_side(0.9, 0.44, 4e-3)
        lv, lt = leak_side(0.0, 0.44, 6e-3)
        lk["upper_v"], lk["upper_t"] = uv, ut
        lk["lower_v"], lk["lower_t"] = lv, lt
        s_sat = 80e-6 * T_MAX
        c = f.create_group("c2p")
        c.attrs["s_sat_C"] = s_sat
        c.attrs["t_max_s"] = T_MAX
        x = np.linspace(-0.2, 1.3, 61)
        c["charge"] = x * s_sat
        c["pulse"] = T_MAX * np.clip(x + 0.05 * x * (1 - x), 0, 1)
        ro = f.create_group("readout")
        r_sat = 40e-6 * T_MAX
        x = np.linspace(-1.5, 1.5, 61)
        ro["charge"] = x * r_sat
        ro["pulse_signed"] = T_MAX * np.clip(x + 0.03 * x * (1 - x * x), -1, 1)


# Sigmas of a test variation model: larger than a real cell's so that every part of the
# per-cell model (gain, offset, leak factor, write offset) moves the results visibly.
TEST_VARIATION = {"gain_sigma": (0.05, "1"), "offset_sigma_c": (2e-15, "C"),
                  "log_leak_sigma": (0.4, "1"), "rho_gain_offset": (0.3, "1"),
                  "write_offset_sigma_v": (0.01, "V")}


def add_variation(path, values=None, attrs=None):
    """Adds (or replaces) /variation in the schema of cellmodel/variation.c. values maps a
    dataset name to (number, unit); attrs overrides the group's attributes."""
    values = dict(TEST_VARIATION, **(values or {}))
    a = {"n_instances": 200, "seed": 1, "temp_c": 27.0, "corner": "tt",
         "source": "synthetic test model"}
    a.update(attrs or {})
    with h5py.File(path, "a") as f:
        if "variation" in f:
            del f["variation"]
        g = f.create_group("variation")
        for k, x in a.items():
            g.attrs[k] = np.bytes_(x) if isinstance(x, str) else x
        for k, (x, unit) in values.items():
            if x is None:
                continue
            g[k] = np.array([x], np.float64)
            g[k].attrs["units"] = np.bytes_(unit)


# A noise model with a real silicon cell's magnitudes (cellmodel/noise.c's schema).
TEST_NOISE = {"temperature_k": (300.15, "K"), "c_int_f": (3.2e-12, "F"),
              "gm_read_s": (3.3e-5, "S"), "gamma_read": (2.0 / 3, "1"),
              "conv_shot_factor": (2.0, "1")}


def add_noise(path, values=None):
    """Adds (or replaces) /noise; values maps a dataset name to (number, unit), None leaves
    it out."""
    values = dict(TEST_NOISE, **(values or {}))
    with h5py.File(path, "a") as f:
        if "noise" in f:
            del f["noise"]
        g = f.create_group("noise")
        for k, (x, unit) in values.items():
            if x is None:
                continue
            g[k] = np.array([x], np.float64)
            g[k].attrs["units"] = np.bytes_(unit)


if __name__ == "__main__":
    write_cell(sys.argv[1])
