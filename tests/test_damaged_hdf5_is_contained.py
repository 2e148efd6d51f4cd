"""A damaged HDF5 input never crashes gcsim: libhdf5 runs in a child process
(common/h5_file.c), so a file that overflows libhdf5's heap, makes it jump to a wild address
or ask for an impossible allocation is one line naming the file, exit status 1, no sanitizer
report, and no output touched.

Inputs: three mutated cell.h5 files kept in tests/data (found by flipping bytes of
synthetic_cell.py's file; in-process, libhdf5 1.10.8 overflows its heap in
H5O__msg_iterate_real <- H5Aexists, dereferences a wild pointer in the same place, and asks
malloc for 2^62 bytes in H5C_protect), each read as a cell (`gcsim attention --cell`) and as
curves (`gcsim fit --curves`); then seeded random byte mutations of a good cell.h5 and
curves.h5, which must each load or fail cleanly."""
import os
import random
import shutil
import subprocess
import sys
import tempfile

import numpy as np

import synthetic_cell
import synthetic_curves
from gcsim_test import GCSIM, ROOT, sha256

DATA = os.path.join(ROOT, "tests", "data")
CRASHERS = ["cell_libhdf5_heap_overflow.h5", "cell_libhdf5_segv.h5",
            "cell_libhdf5_huge_alloc.h5"]
failures = []


def gcsim(*args):
    return subprocess.run([GCSIM, *map(str, args)], capture_output=True, text=True,
                          timeout=300)


def clean_failure(name, p, needles):
    """Exit 1..127, one line naming needles, no sanitizer report."""
    err = p.stderr.strip()
    lines = err.splitlines()
    ok = (1 <= p.returncode <= 127 and len(lines) == 1 and "Sanitizer" not in err
          and "runtime error" not in err and all(n in lines[0] for n in needles))
    print("%-44s rc=%d %s %s" % (name, p.returncode, lines[0][:150] if lines else "(nothing)",
                                 "ok" if ok else "FAIL"))
    if not ok:
        print(err[-3000:])
        failures.append(name)


def clean_any(name, p):
    """A mutant may still load (exit 0) or fail in one line; never crash."""
    err = p.stderr
    bad = ("Sanitizer" in err or "runtime error" in err or p.returncode < 0
           or p.returncode > 127 or (p.returncode != 0 and len(err.strip().splitlines()) != 1))
    if bad:
        print("%s: rc=%d\n%s" % (name, p.returncode, err[-3000:]))
        failures.append(name)
    return p.returncode


def main():
    tmp = tempfile.mkdtemp(prefix="gcsim_h5_contained_")
    try:
        rng = np.random.default_rng(3)
        for n in ("q", "k", "v"):
            np.save(os.path.join(tmp, n + ".npy"),
                    rng.uniform(0, 0.9, (1, 6, 4)).astype(np.float32))
        att = ["attention", "--q", os.path.join(tmp, "q.npy"), "--k",
               os.path.join(tmp, "k.npy"), "--v", os.path.join(tmp, "v.npy")]
        curves = os.path.join(tmp, "curves.h5")
        synthetic_curves.write_curves(curves)
        out = os.path.join(tmp, "cell.h5")
        p = gcsim("fit", "--curves", curves, "--out", out)
        if p.returncode:
            sys.exit("fit of the synthetic curves failed:\n" + p.stderr)
        before = sha256(out)

        # the three crashers, as cell and as curves; the previous cell.h5 survives
        for f in CRASHERS:
            path = os.path.join(DATA, f)
            clean_failure(f + " as --cell", gcsim(*att, "--out", os.path.join(tmp, "o"),
                                                   "--cell", path),
                          [path, "damaged HDF5 file"])
            clean_failure(f + " as --curves", gcsim("fit", "--curves", path, "--out", out),
                          [path, "damaged HDF5 file"])
        if sha256(out) != before:
            failures.append("cell.h5 changed by a failed fit")
        leftovers = [n for n in os.listdir(tmp) if ".tmp-" in n]
        if leftovers:
            failures.append("temporary files left: %s" % leftovers)

        # seeded byte mutations: load or fail in one line, never crash
        good_cell = os.path.join(tmp, "good_cell.h5")
        synthetic_cell.write_cell(good_cell)
        r = random.Random(20)
        counts = {"cell": [0, 0], "curves": [0, 0]}
        for kind, src, n in (("cell", good_cell, 40), ("curves", curves, 15)):
            blob = open(src, "rb").read()
            for i in range(n):
                b = bytearray(blob)
                for _ in range(r.randint(1, 6)):
                    j = r.randrange(len(b))
                    b[j] = r.choice([0, 0xff, r.randrange(256), b[j] ^ (1 << r.randrange(8))])
                m = os.path.join(tmp, "mutant.h5")
                with open(m, "wb") as g:
                    g.write(b)
                if kind == "cell":
                    p = gcsim(*att, "--out", os.path.join(tmp, "o"), "--cell", m)
                else:
                    p = gcsim("fit", "--curves", m, "--out", os.path.join(tmp, "mutant_cell.h5"))
                rc = clean_any("%s mutant %d" % (kind, i), p)
                counts[kind][rc == 0] += 1
        print("mutants (refused, loaded):", counts)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print("FAILED:", failures)
        sys.exit(1)


if __name__ == "__main__":
    main()
