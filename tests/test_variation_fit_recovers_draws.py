"""`gcsim fit` recovers the variation model from Monte Carlo curves.

A small `characterize --mc 2` gives a real curves file; its /mc is then rebuilt with 40
instances made from the nominal curves by known per-instance transforms (numpy draws):
read charge gain_k * q0 + offset_k * p, retention estimate tau0 / f_k (capacitor factor 1),
stored voltages shifted by s_k. The fitted /variation of cell.h5 must give back the sample
standard deviations and the gain-offset correlation of those draws (to 1e-6 relative: the
fit is exact least squares on exact data), a residual of zero to rounding, and fit.json must
report the same numbers. On the real (SPICE) instances, the gain and offset of each instance
are checked against numpy's least squares of the same table. --variation with curves that
have no Monte Carlo is refused with one line, and so is a /mc that announces more instances
than it holds (before anything is allocated for them).
"""
import json
import os
import sys
import tempfile

import h5py
import numpy as np

from gcsim_test import fail, run, mc_plan

PLAN = mc_plan()
N = 40


def close(a, b, rel, what):
    if not abs(a - b) <= rel * max(abs(b), 1e-300):
        fail(f"{what}: fit {a!r}, expected {b!r}")


def fit(tmp, curves, name):
    cell, js = os.path.join(tmp, name + ".cell.h5"), os.path.join(tmp, name + ".json")
    run("fit", "--curves", curves, "--out", cell, "--json", js)
    with open(js) as f:
        return h5py.File(cell, "r"), json.load(f)["variation"]


def main():
    with tempfile.TemporaryDirectory() as tmp:
        plan = os.path.join(tmp, "mc.plan")
        with open(plan, "w") as f:
            f.write(PLAN)
        real = os.path.join(tmp, "real.h5")
        run("characterize", "--tech", "si", "--plan", plan, "--mc", "2", "--seed", "9",
            "--out", real)
        with h5py.File(real, "r") as f:
            q0 = f["read/charge"][:]
            p = f["read/pulse_width"][:] / f["read/pulse_width"][-1]
            P = np.repeat(p[:, None], q0.shape[1], 1)
            A = np.stack([q0.ravel(), P.ravel()], 1)
            ref = [np.linalg.lstsq(A, f[f"mc/{k:03d}/read/charge"][:].ravel(), rcond=None)[0]
                   for k in range(2)]
        plain = os.path.join(tmp, "plain.h5")
        run("characterize", "--tech", "si", "--plan", plan, "--out", plain)
        bad = run("fit", "--curves", plain, "--variation", plain, "--out",
                  os.path.join(tmp, "bad.cell.h5"), check=False)
        if bad.returncode != 1 or "/mc" not in bad.stderr or len(bad.stderr.splitlines()) != 1:
            fail(f"--variation without a Monte Carlo gives {bad.returncode}: {bad.stderr}")
        cell, js = fit(tmp, real, "real")
        g_ref = np.array([r[0] for r in ref])
        o_ref = np.array([r[1] for r in ref])
        close(js["gain_sigma"], np.std(g_ref, ddof=1), 1e-6, "SPICE instances: gain sigma")
        close(js["offset_sigma_C"], np.std(o_ref, ddof=1), 1e-6, "SPICE instances: offset sigma")
        print(f"SPICE instances: gains {g_ref}, offsets {o_ref * 1e15} fC: fit agrees")

        synth = os.path.join(tmp, "synth.h5")
        rng = np.random.default_rng(7)
        gain = 1 + 0.03 * rng.standard_normal(N)
        offset = 2e-15 * (0.5 * (gain - 1) / 0.03 + rng.standard_normal(N))
        leak = np.exp(0.2 * rng.standard_normal(N))
        shift = 1e-3 * rng.standard_normal(N)
        with h5py.File(real, "r") as src, h5py.File(synth, "w") as dst:
            for name in src:
                if name != "mc":
                    src.copy(name, dst)
            for a, v in src.attrs.items():
                dst.attrs[a] = v
            mc = dst.create_group("mc")
            mc.attrs["n_instances"] = float(N)
            mc.attrs["seed"] = 9.0
            tau0 = src["leak"].attrs["tau_estimate_s"]
            w0 = src["write/v_stored"][:]
            for k in range(N):
                g = mc.create_group(f"{k:03d}")
                src.copy("read", g)
                src.copy("write", g)
                src.copy("leak", g)
                del g["read/charge"]
                g["read/charge"] = gain[k] * q0 + offset[k] * P
                g["leak"].attrs["tau_estimate_s"] = tau0 / leak[k]
                del g["write/v_stored"]
                g["write/v_stored"] = w0 + shift[k]
                g["k_cs"] = np.array([1.0])
        cell, js = fit(tmp, synth, "synth")
        v = cell["variation"]
        expect = {
            "gain_sigma": np.std(gain, ddof=1),
            "offset_sigma_c": np.std(offset, ddof=1),
            "log_leak_sigma": np.std(np.log(leak), ddof=1),
            "rho_gain_offset": np.corrcoef(gain, offset)[0, 1],
            "write_offset_sigma_v": np.std(shift, ddof=1),
        }
        for name, want in expect.items():
            d = v[name]
            if d.shape != (1,) or "units" not in d.attrs or "description" not in d.attrs:
                fail(f"/variation/{name} is not a 1-element dataset with units and description")
            close(d[0], want, 1e-6, f"/variation/{name}")
        for a in ("n_instances", "seed", "temp_c", "corner", "source"):
            if a not in v.attrs:
                fail(f"/variation lacks attribute {a}")
        if v.attrs["n_instances"] != N or v.attrs["seed"] != 9:
            fail(f"/variation records {v.attrs['n_instances']} instances, seed {v.attrs['seed']}")
        close(js["gain_sigma"], expect["gain_sigma"], 1e-6, "fit.json gain_sigma")
        close(js["log_leak_sigma"], expect["log_leak_sigma"], 1e-6, "fit.json log_leak_sigma")
        if js["read_resid"]["rms"] > 1e-9 * np.abs(q0).max():
            fail(f"exact gain-offset instances leave a residual {js['read_resid']}")
        with h5py.File(synth, "a") as f:
            f["mc"].attrs["n_instances"] = float(N + 5)
        bad = run("fit", "--curves", synth, "--out", os.path.join(tmp, "bad2.cell.h5"),
                  check=False)
        if bad.returncode != 1 or f"{N + 4:03d}" not in bad.stderr:
            fail(f"/mc announcing more instances than it holds gives {bad.returncode}: "
                 f"{bad.stderr}")
        print("synthetic instances: " + ", ".join(f"{k} {v[k][0]:.4g}" for k in expect) +
              ": recovered")
    print("ok")


if __name__ == "__main__":
    sys.exit(main())
