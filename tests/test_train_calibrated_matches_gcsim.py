"""The training model's calibrated attention (train/calibrated.py, float64) equals the C
library's (`gcsim attention --cell`, direct float64 reference and fast path) on a synthetic
cell.h5 with non-ideal write, read, leakage and converters (tests/synthetic_cell.py).
Window and tile smaller than T, a token period that makes leakage visible.
Pass: max |C − torch| / max |torch| ≤ 1e-4 against the reference (1e-3 against the fast path,
whose tables are compiled in float32)."""
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

ROOT = os.environ.get("GCSIM_ROOT", os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.join(ROOT, "train"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import calibrated  # noqa: E402
import model as M  # noqa: E402
import synthetic_cell  # noqa: E402

gcsim = os.environ.get("GCSIM") or (sys.argv[1] if len(sys.argv) > 1 else "gcsim")
B, T, D, WINDOW, TILE, PERIOD = 2, 120, 8, 90, 16, 3e-5
rng = np.random.default_rng(5)
q = rng.uniform(-0.1, 1.1, (B, T, D)).astype(np.float32)
k = rng.uniform(-0.05, 0.95, (B, T, D)).astype(np.float32)
v = rng.uniform(-0.05, 0.95, (B, T, D)).astype(np.float32)
fails = 0
with tempfile.TemporaryDirectory() as d:
    cell_h5 = os.path.join(d, "cell.h5")
    synthetic_cell.write_cell(cell_h5)
    cell = calibrated.Cell(cell_h5, PERIOD)
    qt, kt, vt = (torch.from_numpy(a).double() for a in (q, k, v))
    want = cell.attention(M.quant_ste(qt, 0, 1, cell.q_levels)[None], M.quant_ste(kt, 0, cell.vdd, cell.k_levels)[None],
                          M.quant_ste(vt, 0, cell.vdd, cell.k_levels)[None], WINDOW, TILE)[0].numpy()
    for name, a in (("q", q), ("k", k), ("v", v)):
        np.save(os.path.join(d, name + ".npy"), a)
    for extra, tol in ((["--reference"], 1e-4), ([], 1e-3)):
        out = os.path.join(d, "out" + "".join(extra))
        cmd = [gcsim, "attention", "--q", os.path.join(d, "q.npy"), "--k", os.path.join(d, "k.npy"),
               "--v", os.path.join(d, "v.npy"), "--cell", cell_h5, "--window", str(WINDOW), "--tile", str(TILE),
               "--token-period", str(PERIOD), "--decomp-tol", "1e-6", "--out", out] + extra
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode:
            print("FAIL gcsim attention: " + r.stderr.strip())
            fails += 1
            continue
        got = np.load(os.path.join(out, "out.npy")).astype(np.float64)
        err = np.abs(got - want).max() / np.abs(want).max()
        ok = err <= tol and np.abs(want).max() > 0.1
        print("%s calibrated %s: max rel err %.3g (tol %g), max |out| %.3f" % (
            "ok  " if ok else "FAIL", "reference" if extra else "fast path", err, tol, np.abs(want).max()))
        fails += not ok
sys.exit(1 if fails else 0)
