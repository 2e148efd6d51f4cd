"""Helpers shared by gcsim's Python tests: where the binary and the data are, running the
command line, and small HDF5 checks."""
import hashlib
import os
import subprocess
import sys

GCSIM = os.environ.get("GCSIM", "gcsim")
ROOT = os.environ.get("GCSIM_ROOT", os.path.join(os.path.dirname(__file__), ".."))


def run(*args, check=True, timeout=900):
    """Runs gcsim with args; returns the CompletedProcess (stdout, stderr as text)."""
    p = subprocess.run([GCSIM, *map(str, args)], capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        sys.exit(f"gcsim {' '.join(map(str, args))} failed ({p.returncode}):\n{p.stderr}")
    return p


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def mc_plan(read_nv=8):
    """A minimal sweep plan for Monte Carlo tests: every sweep present, few points."""
    return ("read_dc_nv 4\nread_dc_nvin 4\nread_nv %d\nread_levels 4\nleak_dc_n 46\n"
            "leak_n0 4\nleak_tau_mult 6\nleak_points 100\nwrite_levels 4\nc2p_n 6\n"
            "readout_n 4\njobs_per_sweep 2\n" % read_nv)
