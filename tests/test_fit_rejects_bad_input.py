"""`gcsim fit` on a bad curves file gives one line on stderr naming the file and the problem,
exit status 1 (not a crash or a sanitizer abort), and leaves an existing cell.h5 and JSON
byte for byte as they were: a missing file, a text file, a truncated HDF5 file, a foreign
HDF5 file, a SPICE curves file missing /c2p (allowed only for imports), a dataset of the
wrong shape, a leakage curve without an equilibrium, a write pulse width that is not a
positive time, a read charge row that falls by more than SPICE's noise (1e-6 of full scale),
and a bad --read-poly-degree. A row that falls by less (1e-9 of full scale, as SPICE's
shortest-pulse charges do) is levelled to its running maximum: the cell loads, and fit.json
counts the point and the size of the raise."""
import os
import shutil
import sys
import tempfile

import h5py
import numpy as np

import synthetic_curves as sc

failures = []
OLD_CELL, OLD_JSON = b"previous cell.h5\n", b"{\"previous\": true}\n"


def expect(d, name, curves, words, extra=(), rc_want=1):
    cell, js = os.path.join(d, "cell.h5"), os.path.join(d, "fit.json")
    for p, blob in ((cell, OLD_CELL), (js, OLD_JSON)):
        with open(p, "wb") as f:
            f.write(blob)
    r = sc.gcsim("fit", "--curves", curves, "--out", cell, "--json", js, *extra)
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    left = [n for n in os.listdir(d) if ".tmp-" in n]
    ok = (r.returncode == rc_want and len(lines) == 1 and all(w in lines[0] for w in words)
          and open(cell, "rb").read() == OLD_CELL and open(js, "rb").read() == OLD_JSON
          and not left)
    print("%-24s rc=%d  %s  %s" % (name, r.returncode, lines[0] if lines else "(no message)",
                                   "ok" if ok else "FAIL"))
    if not ok:
        failures.append(name)


def variant(d, good, name, edit):
    path = os.path.join(d, name + ".h5")
    shutil.copy(good, path)
    with h5py.File(path, "r+") as f:
        edit(f)
    return path


def main():
    d = tempfile.mkdtemp(prefix="gcsim_fit_bad_")
    good = os.path.join(d, "good_curves.h5")
    sc.write_curves(good, n_v=16, n_v0=4, n_t=50)

    expect(d, "missing file", os.path.join(d, "nope.h5"), ["nope.h5"])
    text = os.path.join(d, "text.h5")
    with open(text, "w") as f:
        f.write("not hdf5\n" * 100)
    expect(d, "text file", text, [text, "HDF5"])
    trunc = os.path.join(d, "trunc.h5")
    blob = open(good, "rb").read()
    with open(trunc, "wb") as f:
        f.write(blob[: len(blob) // 2])
    expect(d, "truncated HDF5", trunc, [trunc])
    foreign = os.path.join(d, "foreign.h5")
    with h5py.File(foreign, "w") as f:
        f["data"] = np.arange(10.0)
    expect(d, "foreign HDF5", foreign, [foreign, "format"])

    p = variant(d, good, "no_c2p", lambda f: f.__delitem__("c2p"))
    expect(d, "missing /c2p (spice)", p, [p, "/c2p", "import"])

    def wrong_shape(f):
        del f["read/charge"]
        f["read/charge"] = np.zeros((3, 3))
    p = variant(d, good, "shape", wrong_shape)
    expect(d, "wrong shape", p, [p, "read/charge"])

    def no_eq(f):
        f["leak/i_leak"][...] = 1e-12 + 0 * f["leak/i_leak"][()]
    p = variant(d, good, "no_eq", no_eq)
    expect(d, "leak without equilibrium", p, [p, "i_leak", "equilibrium"])

    def nan_value(f):
        f["read/v_store"][3] = np.nan
    p = variant(d, good, "nan", nan_value)
    expect(d, "non-finite axis", p, [p, "read/v_store"])

    for name, val in (("negative t_write", -3e-9), ("zero t_write", 0.0)):
        p = variant(d, good, name.replace(" ", "_"),
                    lambda f, val=val: f["params/t_write"].__setitem__(0, val))
        expect(d, name, p, [p, "/params/t_write", "positive"])
    p = variant(d, good, "nan_t_write", lambda f: f["params/t_write"].__setitem__(0, np.nan))
    expect(d, "NaN t_write", p, [p, "/params/t_write", "finite"])

    def falls(frac):
        def edit(f):
            q = f["read/charge"][()]
            fs = np.abs(q).max()
            q[0, 5] = q[0, 4] - frac * fs
            f["read/charge"][...] = q
        return edit
    p = variant(d, good, "falls", falls(1e-4))
    expect(d, "read charge falls", p, [p, "/read/charge", "pulse level 0", "not monotone"])

    p = variant(d, good, "noise", falls(1e-9))
    cell, js = os.path.join(d, "noise_cell.h5"), os.path.join(d, "noise_fit.json")
    r = sc.gcsim("fit", "--curves", p, "--out", cell, "--json", js)
    ok = r.returncode == 0
    if ok:
        import json
        with h5py.File(p, "r") as f:
            q = f["read/charge"][()]
            want = 1e-9 * np.abs(q).max()
        rd = json.load(open(js))["read"]
        with h5py.File(cell, "r") as f:
            row = f["read/charge"][0]
        ok = (rd["table_levelled_points"] == 1 and
              abs(rd["table_levelled_max_C"] / want - 1) < 1e-6 and row[5] == row[4] and
              np.all(np.diff(row) >= 0))
    print("%-24s %s" % ("noise-level fall levelled", "ok" if ok else "FAIL " + r.stderr))
    if not ok:
        failures.append("levelled")

    expect(d, "bad poly degree", good, ["--read-poly-degree"], ["--read-poly-degree", "99"],
           rc_want=2)

    # the good file fits and replaces the old outputs
    cell = os.path.join(d, "cell.h5")
    r = sc.gcsim("fit", "--curves", good, "--out", cell)
    ok = r.returncode == 0 and open(cell, "rb").read(8) == b"\x89HDF\r\n\x1a\n"
    print("%-24s %s" % ("good file fits", "ok" if ok else "FAIL " + r.stderr))
    if not ok:
        failures.append("good")
    return 1 if failures else 0


if __name__ == "__main__":
    rc = main()
    print("FAILED: " + ", ".join(failures) if failures else "all passed")
    sys.exit(rc)
