"""The characterized cells obey the physics the model rests on.

Runs `gcsim characterize` on the coarse test plan for silicon, silicon with twice the
storage capacitor, and IGZO, then checks:
- doubling c_store doubles the retention time constant within 25 % (the read transistors'
  gates add a fixed capacitance, so the ratio is a little under 2);
- silicon retention time constant between 1 and 20 ms at 27 C, IGZO at least 100x longer;
- read charge monotonic in the stored voltage for every non-zero pulse level, with its zero
  crossing within +-60 mV of mid-rail;
- the charge-to-pulse output saturates at t_max = 15 ns +- 5 %, is 0 for negative charge;
- curves.h5 carries units, dimension scales and provenance.
"""
import os
import sys
import tempfile

import h5py
import numpy as np

from gcsim_test import ROOT, fail, run

PLAN = os.path.join(ROOT, "data", "sweeps", "test.plan")


def characterize(tmp, name, *extra):
    out = os.path.join(tmp, name + ".h5")
    run("characterize", "--plan", PLAN, "--jobs", "2", "--out", out, *extra)
    return h5py.File(out, "r")


def check_read(f, tech):
    vdd = f["params/vdd"][0]
    v = f["read/v_store"][:]
    q = f["read/charge"][:]
    for level in range(1, q.shape[0]):
        if not np.all(np.diff(q[level]) > 0):
            fail(f"{tech}: read charge of level {level} is not increasing in V_store: {q[level]}")
    full = q[-1]
    k = np.nonzero((full[:-1] < 0) & (full[1:] >= 0))[0]
    if len(k) != 1:
        fail(f"{tech}: full-pulse charge has no single zero crossing: {full}")
    k = k[0]
    v0 = v[k] - full[k] * (v[k + 1] - v[k]) / (full[k + 1] - full[k])
    print(f"{tech}: full-pulse charge {full[0]*1e15:.1f} .. {full[-1]*1e15:.1f} fC, zero at {v0:.4f} V")
    if abs(v0 - vdd / 2) > 0.060:
        fail(f"{tech}: zero crossing {v0:.4f} V is more than 60 mV from mid-rail")
    if abs(q[0]).max() > 1e-3 * abs(full).max():
        fail(f"{tech}: zero-width read delivers charge {abs(q[0]).max()}")


def check_c2p(f, tech):
    t_max = f["params/t_max"][0]
    q = f["c2p/charge"][:]
    w = f["c2p/pulse_width"][:]
    sat = w[q > 1.3 * f["c2p"].attrs["s_sat_nominal_C"]]
    print(f"{tech}: c2p saturates at {sat.min()*1e9:.3f}..{sat.max()*1e9:.3f} ns")
    if not (len(sat) and np.all(np.abs(sat - t_max) <= 0.05 * t_max)):
        fail(f"{tech}: c2p saturation {sat} is not 15 ns +- 5 %")
    if np.any(w[q < 0] > 0.01 * t_max):
        fail(f"{tech}: c2p gives a pulse for negative charge: {w[q < 0]}")
    if not np.all(np.diff(w) >= -0.002 * t_max):
        fail(f"{tech}: c2p pulse width is not monotone in charge: {w}")


def check_format(f, tech):
    for attr in ("ngspice_version", "gcsim_version", "command_line", "model_cards_sha256",
                 "netlist_templates_sha256", "technology_file_sha256", "temperature_C"):
        if attr not in f.attrs:
            fail(f"{tech}: curves.h5 lacks provenance attribute {attr}")
    for name in ("read/charge", "read/dc_current", "leak/v_store", "leak/i_leak", "write/v_stored",
                 "c2p/pulse_width", "readout/pulse_signed"):
        d = f[name]
        if "units" not in d.attrs:
            fail(f"{tech}: {name} has no units")
        if len(d.dims[0]) == 0:
            fail(f"{tech}: {name} has no dimension scale on axis 0")
    if len(f["netlists"]) == 0:
        fail(f"{tech}: no netlists stored")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        si = characterize(tmp, "si", "--tech", "si")
        si2 = characterize(tmp, "si2", "--tech", "si", "--set", "c_store=16f")
        igzo = characterize(tmp, "igzo", "--tech", "igzo")
        tau = si["leak"].attrs["tau_1e_s"]
        tau2 = si2["leak"].attrs["tau_1e_s"]
        tau_igzo = igzo["leak"].attrs["tau_1e_s"]
        print(f"retention: si {tau*1e3:.3f} ms, si with 2x c_store {tau2*1e3:.3f} ms "
              f"(ratio {tau2/tau:.3f}), igzo {tau_igzo:.3f} s ({tau_igzo/tau:.3g}x si)")
        if not 1e-3 <= tau <= 20e-3:
            fail(f"silicon retention {tau} s is outside 1..20 ms")
        if abs(tau2 / tau - 2) > 0.25 * 2:
            fail(f"doubling c_store changed tau by {tau2/tau:.3f}x, not 2x within 25 %")
        if tau_igzo < 100 * tau:
            fail(f"IGZO retention {tau_igzo} s is not 100x silicon's {tau} s")
        span = si["leak/time"][-1]
        if span < 5 * tau:
            fail(f"silicon hold transients cover {span/tau:.2f} time constants, not 5")
        for f, tech in ((si, "si"), (igzo, "igzo")):
            check_read(f, tech)
            check_c2p(f, tech)
            check_format(f, tech)
    print("ok")


if __name__ == "__main__":
    sys.exit(main())
