"""The model cards meet the targets their headers document.

Each device is swept with the ngspice command-line program (W = 1 um; L = 45 nm for silicon,
0.2 um for IGZO; |VDS| = 0.9 V) and the measured threshold (constant current 100 nA * W/L),
on-current, off-current (VGS = 0) and subthreshold slope are compared with the documented
values: Vth within 20 mV, Ion within 10 %, Ioff within a factor 2 (it is exponential in Vth),
SS within 5 mV/dec.
"""
import math
import os
import subprocess
import sys
import tempfile

import numpy as np

from gcsim_test import ROOT, fail
from spice_raw import read_raw

# card, model, polarity, L, VGS at Ion, (Vth V, Ion A/um, Ioff A/um, SS mV/dec)
TARGETS = [
    ("si40lp.lib", "nsvt", +1, 45e-9, 0.9, (0.37, 560e-6, 56e-12, 78)),
    ("si40lp.lib", "psvt", -1, 45e-9, 0.9, (-0.39, 235e-6, 41e-12, 78)),
    ("igzo.lib", "nigzo", +1, 0.2e-6, 2.5, (0.93, 31e-6, 1.5e-17, 82)),
]


def sweep(tmp, card, model, pol, length, vg_max):
    cir = os.path.join(tmp, model + ".cir")
    raw = os.path.join(tmp, model + ".raw")
    with open(cir, "w") as f:
        f.write(f"* {model} transfer curve\n.include {os.path.join(ROOT, 'spice', 'models', card)}\n"
                f".options gmin=1e-24 abstol=1e-24\nVd d 0 {0.9 * pol}\nVg g 0 0\n"
                f"M1 d g 0 0 {model} w=1u l={length}\n"
                f".dc Vg 0 {vg_max * pol} {0.005 * pol}\n.end\n")
    subprocess.run(["ngspice", "-b", "-r", raw, cir], capture_output=True, check=True, timeout=120)
    r = read_raw(raw)
    vg = np.abs(r["v(g)"])
    return vg, np.abs(r["i(vd)"])


def main():
    with tempfile.TemporaryDirectory() as tmp:
        for card, model, pol, length, vg_on, (vth_t, ion_t, ioff_t, ss_t) in TARGETS:
            vg, i = sweep(tmp, card, model, pol, length, vg_on)
            i_th = 100e-9 * 1e-6 / length
            vth = np.interp(math.log10(i_th), np.log10(i), vg) * pol
            ion, ioff = i[-1], i[0]
            # steepest decade in the subthreshold region (below the threshold current)
            sub = i < i_th / 10
            slopes = np.diff(vg[sub]) / np.diff(np.log10(i[sub])) * 1e3
            ss = slopes[slopes > 0].min()
            print(f"{model}: Vth {vth:+.3f} V (target {vth_t:+.2f}), Ion {ion*1e6:.1f} uA/um "
                  f"({ion_t*1e6:.0f}), Ioff {ioff:.2e} A/um ({ioff_t:.1e}), SS {ss:.1f} mV/dec "
                  f"({ss_t})")
            if abs(vth - vth_t) > 0.020:
                fail(f"{model}: Vth {vth:.3f} V misses {vth_t} V by more than 20 mV")
            if abs(ion / ion_t - 1) > 0.10:
                fail(f"{model}: Ion {ion:.3e} misses {ion_t:.3e} by more than 10 %")
            if not ioff_t / 2 <= ioff <= ioff_t * 2:
                fail(f"{model}: Ioff {ioff:.3e} is not within a factor 2 of {ioff_t:.1e}")
            if abs(ss - ss_t) > 5:
                fail(f"{model}: SS {ss:.1f} mV/dec misses {ss_t} by more than 5")
    print("ok")


if __name__ == "__main__":
    sys.exit(main())
