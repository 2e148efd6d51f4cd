"""Values stored in curves.h5 match the ngspice command-line program run on the same netlists.

gcsim runs libngspice in worker processes; this test takes the netlists that curves.h5 stores,
runs them with the separate `ngspice` program (batch mode, raw output), reads the raw files
with an independent reader (spice_raw.py) and recomputes the stored quantities: DC currents,
transient read charges, written voltages, hold transients and converter pulse widths.
Same simulator and netlist, so they must agree to numerical noise: 1e-6 of full scale.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

import h5py
import numpy as np

from gcsim_test import ROOT, fail, run
from spice_raw import read_raw

TOL = 1e-6  # of full scale


def simulate(netlist, tmp, tag):
    cir = os.path.join(tmp, tag + ".cir")
    raw = os.path.join(tmp, tag + ".raw")
    with open(cir, "w") as f:
        f.write(netlist)
    p = subprocess.run(["ngspice", "-b", "-r", raw, cir], capture_output=True, text=True,
                       timeout=600, cwd=tmp)
    if p.returncode != 0 or not os.path.exists(raw):
        fail(f"ngspice failed on {tag}: {p.stdout[-500:]} {p.stderr[-500:]}")
    return read_raw(raw)


def compare(what, got, stored, scale):
    err = np.abs(np.asarray(got) - np.asarray(stored)).max() / scale
    print(f"{what:28s} max |cli - stored| = {err:.2e} of full scale")
    if not err <= TOL:
        fail(f"{what}: command-line ngspice differs by {err:.3e} of full scale")


def main():
    if shutil.which("ngspice") is None:
        fail("the ngspice command-line program is not installed (scripts/install-deps.sh)")
    with tempfile.TemporaryDirectory() as tmp:
        plan = os.path.join(tmp, "tiny.plan")
        with open(plan, "w") as f:
            f.write("read_dc_nv 8\nread_dc_nvin 4\nread_nv 6\nread_levels 3\nleak_dc_n 31\n"
                    "leak_n0 3\nleak_points 40\nwrite_levels 3\nc2p_n 4\nreadout_n 3\n"
                    "jobs_per_sweep 2\n")
        out = os.path.join(tmp, "curves.h5")
        run("characterize", "--tech", "si", "--plan", plan, "--out", out)
        f = h5py.File(out, "r")
        vdd, t_max = f["params/vdd"][0], f["params/t_max"][0]
        checked = set()
        for key in sorted(f["netlists"]):
            d = f["netlists"][key]
            sim = d.attrs["simulation"].decode() if isinstance(d.attrs["simulation"], bytes) \
                else d.attrs["simulation"]
            kind = sim.split("[")[0]
            # "read_tran[level 7]", "leak_tran[v0 0..4]", "c2p[q 3..3]": the numbers in brackets
            inside = sim.partition("[")[2]
            rng = re.search(r"(\d+)\.\.(\d+)", inside)
            nums = [int(rng.group(1)), int(rng.group(2))] if rng else \
                [int(x) for x in re.findall(r"\d+", inside)]
            text = d[()].decode() if isinstance(d[()], bytes) else d[()]
            r = simulate(text, tmp, key)
            if kind == "read_dc":
                a, b = nums
                nv = f["read/dc_v_store"].shape[0]
                got = r["i(vbl)"].reshape(b - a + 1, nv).T
                compare(sim, got, f["read/dc_current"][:, a:b + 1], np.abs(f["read/dc_current"][:]).max())
            elif kind == "read_tran":
                level = nums[0]
                n = f["read/v_store"].shape[0]
                got = [np.trapz(r[f"i(vbl{k})"], r["time"]) for k in range(n)]
                compare(sim, got, f["read/charge"][level], np.abs(f["read/charge"][:]).max())
            elif kind == "write":
                n = f["write/level"].shape[0]
                compare(sim, [r[f"v(sn{k})"][-1] for k in range(n)], f["write/v_stored"][:], vdd)
            elif kind == "leak_tran":
                a, b = nums
                t = f["leak/time"][:]
                got = [np.interp(t, r["time"], r[f"v(sn{k})"]) for k in range(a, b + 1)]
                compare(sim, got, f["leak/v_store"][a:b + 1], vdd)
            elif kind == "c2p":
                i = nums[0]
                compare(sim, [np.trapz(r[f"v(out{i})"], r["time"]) / vdd], [f["c2p/pulse_width"][i]],
                        t_max)
            elif kind == "readout":
                i = nums[0]
                w = (np.trapz(r[f"v(outp{i})"], r["time"]) - np.trapz(r[f"v(outn{i})"], r["time"])) / vdd
                compare(sim, [w], [f["readout/pulse_signed"][i]], t_max)
            else:
                continue
            checked.add(kind)
        missing = {"read_dc", "read_tran", "write", "leak_tran", "c2p", "readout"} - checked
        if missing:
            fail(f"no stored netlist for {missing}")
    print("ok")


if __name__ == "__main__":
    sys.exit(main())
