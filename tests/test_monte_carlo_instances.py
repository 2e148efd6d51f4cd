"""`gcsim characterize --mc N --seed S` simulates N mismatched cells, each its own recorded draw.

On a small plan for silicon:
- /mc records n_instances and the seed; each /mc/NNN records its draw (dvt, mu, k_cs) and
  its netlists carry exactly those instance parameters on every gcell;
- with every mismatch coefficient set to 0 the instances' read charge, I_leak(V) and stored
  voltages equal the nominal sweeps bit for bit (the instance parameters are then no-ops);
- with the .tech coefficients the instances differ from the nominal cell and from each
  other, and a second run with the same seed gives the same curves.
"""
import os
import re
import sys
import tempfile

import h5py
import numpy as np

from gcsim_test import fail, run, mc_plan

PLAN = mc_plan()
ZERO = ["--set", "a_vt_n=0", "--set", "a_vt_p=0", "--set", "a_beta_n=0", "--set", "a_beta_p=0",
        "--set", "sigma_cs=0"]


def characterize(tmp, name, *extra):
    plan = os.path.join(tmp, "mc.plan")
    with open(plan, "w") as f:
        f.write(PLAN)
    out = os.path.join(tmp, name + ".h5")
    run("characterize", "--tech", "si", "--plan", plan, "--jobs", "2", "--out", out, *extra)
    return h5py.File(out, "r")


def curves(g):
    return [g["read/charge"][:], g["leak/i_leak"][:], g["write/v_stored"][:]]


def main():
    with tempfile.TemporaryDirectory() as tmp:
        f = characterize(tmp, "mc", "--mc", "3", "--seed", "5")
        mc = f["mc"]
        if mc.attrs["n_instances"] != 3 or mc.attrs["seed"] != 5 or len(mc) != 3:
            fail(f"/mc records {dict(mc.attrs)} with {len(mc)} instances, not 3 with seed 5")
        nominal = curves(f)
        for k in ("000", "001", "002"):
            g = mc[k]
            dvt, mu, k_cs = g["dvt"][:], g["mu"][:], g["k_cs"][0]
            for name in g["netlists"]:
                text = g["netlists"][name][()].decode()
                for line in (l for l in text.splitlines() if re.match(r"X\S+ .* gcell", l)):
                    vals = dict(re.findall(r"(\w+)=(\S+)", line))
                    got = [float(vals[f"dvt_{d}"]) for d in ("wn", "wp", "rn", "rp")]
                    if not np.allclose(got, dvt, rtol=1e-7, atol=0) or \
                            abs(float(vals["k_cs"]) / k_cs - 1) > 1e-7 or \
                            abs(float(vals["mu_rn"]) / mu[2] - 1) > 1e-7:
                        fail(f"instance {k} netlist {name}: {line} does not carry its draw "
                             f"{dvt} {mu} {k_cs}")
            inst = curves(g)
            d = [np.max(np.abs(a - b)) / np.max(np.abs(b)) for a, b in zip(inst, nominal)]
            print(f"instance {k}: dvt {np.round(dvt * 1e3, 2)} mV, mu {np.round(mu, 3)}, "
                  f"k_cs {k_cs:.4f}; largest relative change of charge, leak, stored V: "
                  f"{d[0]:.3g}, {d[1]:.3g}, {d[2]:.3g}")
            if d[0] < 1e-3 or d[1] < 1e-4:
                fail(f"instance {k} reads and leaks like the nominal cell: {d}")
        if np.array_equal(mc["000/read/charge"][:], mc["001/read/charge"][:]):
            fail("instances 0 and 1 have the same read charge")
        again = characterize(tmp, "again", "--mc", "3", "--seed", "5")
        for k in ("000", "002"):
            for a, b in zip(curves(mc[k]), curves(again["mc"][k])):
                if not np.array_equal(a, b):
                    fail(f"instance {k} differs between two runs with seed 5")
        z = characterize(tmp, "zero", "--mc", "2", "--seed", "5", *ZERO)
        for k in ("000", "001"):
            for a, b, what in zip(curves(z["mc"][k]), curves(z), ("charge", "leak", "write")):
                if not np.array_equal(a, b):
                    fail(f"with zero coefficients instance {k}'s {what} differs from nominal "
                         f"by {np.max(np.abs(a - b))}")
    print("ok")


if __name__ == "__main__":
    sys.exit(main())
