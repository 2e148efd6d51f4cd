"""Temperature and process corners move the silicon cell the way their documented laws say.

Runs `gcsim characterize` on a leak-sized plan (the other sweeps at their smallest) for
silicon at 27 C and 85 C and at the corners ss, tt and ff, then checks:
- the retention time constant at 85 C is shorter than at 27 C by the factor si.tech and
  README document for this cell, 1.1 to 1.5: its decay through the middle of the range is
  set by gate tunnelling, nearly athermal (tc_gate: +8.7 % at 85 C), and only near the rails
  by the write gate's subthreshold leak, which the card's BSIM4 temperature laws raise about
  12x;
- the same cell with gate tunnelling off (i_gate0 = 0), so that its write path alone drains
  the storage node, as in the published subthreshold-limited gain cells: its retention falls
  from 27 C to 85 C by 14.6x to 56x, the published rule that such retention halves every 10
  to 15 C (2^(58/15) .. 2^(58/10)); the card gives about 45x;
- mechanism by mechanism: I_leak 0.15 V from mid-rail (gate tunnelling) rises by
  1 + tc_gate * 58 K within 5 %, I_leak at the rails (subthreshold) by 2.5x or more;
- tau(ss) > tau(tt) > tau(ff) (slow corners raise |Vth|: less subthreshold leak) and the
  full-pulse read charge ss < tt < ff (less read current);
- curves.h5 and cell.h5 record temperature_C and corner;
- an unknown corner is refused with one line.
"""
import os
import sys
import tempfile

import h5py
import numpy as np

from gcsim_test import fail, run

PLAN = """read_dc_nv 4
read_dc_nvin 4
read_nv 8
read_levels 4
leak_dc_n 91
leak_n0 4
leak_tau_mult 6
leak_points 100
write_levels 4
c2p_n 6
readout_n 4
jobs_per_sweep 2
"""


def characterize(tmp, name, *extra, plan_text=PLAN):
    plan = os.path.join(tmp, name + ".plan")
    with open(plan, "w") as f:
        f.write(plan_text)
    out = os.path.join(tmp, name + ".h5")
    run("characterize", "--tech", "si", "--plan", plan, "--jobs", "2", "--out", out, *extra)
    return out


def main():
    with tempfile.TemporaryDirectory() as tmp:
        f27 = h5py.File(characterize(tmp, "t27"), "r")
        f85 = h5py.File(characterize(tmp, "t85", "--set", "temp=85"), "r")
        tau27, tau85 = f27["leak"].attrs["tau_1e_s"], f85["leak"].attrs["tau_1e_s"]
        ratio = tau27 / tau85
        print(f"tau: 27 C {tau27*1e3:.4f} ms, 85 C {tau85*1e3:.4f} ms, ratio {ratio:.3f}")
        if not 1.1 <= ratio <= 1.5:
            fail(f"tau(27 C) / tau(85 C) = {ratio:.3f} is outside the documented 1.1..1.5")
        # Without gate tunnelling the 27 C time constant is seconds; three time constants
        # of hold transient (not six) keep ngspice's step control out of trouble there.
        short = PLAN.replace("leak_tau_mult 6", "leak_tau_mult 3")
        wp = [h5py.File(characterize(tmp, f"w{t}", "--set", f"temp={t}", "--set", "i_gate0=0",
                                     plan_text=short), "r")["leak"].attrs["tau_1e_s"]
              for t in (27, 85)]
        print(f"write path alone: tau 27 C {wp[0]*1e3:.1f} ms, 85 C {wp[1]*1e3:.2f} ms, "
              f"ratio {wp[0] / wp[1]:.1f}")
        if not 2 ** (58 / 15) <= wp[0] / wp[1] <= 2 ** (58 / 10):
            fail(f"write-path-limited retention fell {wp[0] / wp[1]:.1f}x from 27 C to 85 C, "
                 f"outside the published 14.6..56x")
        v = f27["leak/dc_v"][:]
        i27, i85 = f27["leak/i_leak"][:], f85["leak/i_leak"][:]
        vdd, tc = f27["params/vdd"][0], f27["params/tc_gate"][0]
        mid = np.argmin(np.abs(v - (vdd / 2 + 0.15)))
        gate = i85[mid] / i27[mid]
        rails = min(i85[0] / i27[0], i85[-1] / i27[-1])
        print(f"I_leak(85 C) / I_leak(27 C): {gate:.3f} at {v[mid]:.3f} V "
              f"(gate law {1 + tc * 58:.3f}), {rails:.2f} at the rails")
        if abs(gate / (1 + tc * 58) - 1) > 0.05:
            fail(f"mid-range leak rose {gate:.3f}x, not the gate law's {1 + tc * 58:.3f}x")
        # at 27 C gate tunnelling is about two thirds of the leak at the rails, so a ~12x
        # subthreshold rise shows there as 2.5x or more
        if rails < 2.5:
            fail(f"leak at the rails rose only {rails:.2f}x from 27 C to 85 C")
        for f, t in ((f27, 27), (f85, 85)):
            if f.attrs["temperature_C"] != t or f.attrs["corner"] != b"tt" and \
                    f.attrs["corner"] != "tt":
                fail(f"curves.h5 at {t} C records {f.attrs['temperature_C']}, {f.attrs['corner']}")
        corner = {}
        for c in ("ss", "tt", "ff"):
            path = characterize(tmp, c, "--corner", c)
            with h5py.File(path, "r") as f:
                rec = f.attrs["corner"]
                rec = rec.decode() if isinstance(rec, bytes) else rec
                if rec != c:
                    fail(f"curves.h5 of corner {c} records corner {rec}")
                corner[c] = (f["leak"].attrs["tau_1e_s"], f["read/charge"][-1, -1])
            print(f"corner {c}: tau {corner[c][0]*1e3:.4f} ms, full read charge "
                  f"{corner[c][1]*1e15:.2f} fC")
        if not corner["ss"][0] > corner["tt"][0] > corner["ff"][0]:
            fail(f"retention does not order ss > tt > ff: {corner}")
        if not corner["ss"][1] < corner["tt"][1] < corner["ff"][1]:
            fail(f"read charge does not order ss < tt < ff: {corner}")
        bad = run("characterize", "--tech", "si", "--corner", "xx", "--out",
                  os.path.join(tmp, "x.h5"), check=False)
        if bad.returncode != 1 or "corner" not in bad.stderr or len(bad.stderr.splitlines()) != 1:
            fail(f"an unknown corner gives {bad.returncode}: {bad.stderr}")
        cell = os.path.join(tmp, "cell.h5")
        run("fit", "--curves", os.path.join(tmp, "t85.h5"), "--out", cell)
        with h5py.File(cell, "r") as f:
            if f.attrs.get("temperature_C") != 85:
                fail(f"cell.h5 records temperature {f.attrs.get('temperature_C')}, not 85")
    print("ok")


if __name__ == "__main__":
    sys.exit(main())
