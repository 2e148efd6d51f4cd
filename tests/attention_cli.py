"""Helpers for the attention tests: write inputs, run `gcsim attention`, read the results."""
import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

GCSIM = os.environ.get("GCSIM", "gcsim")


class Run:
    """A scratch folder holding q, k, v; call() runs gcsim attention on them."""

    def __init__(self, q, k, v):
        self.dir = tempfile.mkdtemp(prefix="gcsim-attn-")
        atexit.register(shutil.rmtree, self.dir, True)
        for name, a in (("q", q), ("k", k), ("v", v)):
            np.save(os.path.join(self.dir, name + ".npy"), np.ascontiguousarray(a, np.float32))

    def call(self, args, expect_ok=True):
        out = os.path.join(self.dir, "out")
        cmd = [GCSIM, "attention", "--q", self.path("q"), "--k", self.path("k"),
               "--v", self.path("v"), "--out", out] + [str(a) for a in args]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if not expect_ok:
            return r
        if r.returncode != 0:
            sys.exit("FAIL: gcsim %s\n%s" % (" ".join(map(str, args)), r.stderr))
        res = {n: np.load(os.path.join(out, n + ".npy")) for n in ("out", "S", "phi")}
        with open(os.path.join(out, "settings.json")) as f:
            res["settings"] = json.load(f)
        return res

    def path(self, name):
        return os.path.join(self.dir, name + ".npy")


def inputs(seed, B, T, D):
    """q slightly beyond [0,1] and k, v slightly beyond [0,0.9] so the clamps are exercised."""
    rng = np.random.default_rng(seed)
    q = rng.uniform(-0.1, 1.1, (B, T, D)).astype(np.float32)
    k = rng.uniform(-0.05, 0.95, (B, T, D)).astype(np.float32)
    v = rng.uniform(-0.05, 0.95, (B, T, D)).astype(np.float32)
    return q, k, v


def max_rel(a, ref):
    return float(np.abs(a - ref).max() / max(np.abs(ref).max(), 1e-30))
