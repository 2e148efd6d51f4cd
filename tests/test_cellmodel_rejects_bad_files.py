"""Loading a damaged or foreign cell.h5 gives one line on stderr naming the file and the
object at fault (and a non-zero exit), never a crash: a missing file, a non-HDF5 file, a
truncated file, a foreign HDF5 file, a wrong format version, a missing group, dataset or
attribute, a wrong shape, a non-monotone axis, a non-finite table entry, DAC codes out of
order, a negative or NaN /params t_write_s. A good synthetic file loads, and so does one
without t_write_s (older files record none)."""
import os
import shutil
import sys

import h5py
import numpy as np

import synthetic_cell
from attention_cli import Run, inputs

failures = []


def expect(run, name, path, words):
    r = run.call(["--cell", path], expect_ok=False)
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    ok = (r.returncode != 0 and len(lines) == 1 and path in lines[0]
          and all(w in lines[0] for w in words))
    print("%-26s rc=%d  %s  %s" % (name, r.returncode, lines[0] if lines else "(no message)",
                                   "ok" if ok else "FAIL"))
    if not ok:
        failures.append(name)


def variant(run, name, edit):
    """A copy of the good file with one thing broken by edit(h5py.File)."""
    path = os.path.join(run.dir, name.replace(" ", "_") + ".h5")
    shutil.copy(os.path.join(run.dir, "cell.h5"), path)
    with h5py.File(path, "r+") as f:
        edit(f)
    return path


def main():
    q, k, v = inputs(6, 1, 10, 4)
    run = Run(q, k, v)
    good = os.path.join(run.dir, "cell.h5")
    synthetic_cell.write_cell(good)
    r = run.call(["--cell", good])
    ok = np.isfinite(r["out"]).all() and r["settings"]["cell"] == good
    print("%-26s %s" % ("good file loads", "ok" if ok else "FAIL"))
    if not ok:
        failures.append("good")

    expect(run, "missing file", os.path.join(run.dir, "nope.h5"), ["no such file"])
    text = os.path.join(run.dir, "text.h5")
    with open(text, "w") as f:
        f.write("not hdf5\n" * 100)
    expect(run, "not HDF5", text, ["HDF5"])
    trunc = os.path.join(run.dir, "trunc.h5")
    with open(good, "rb") as f:
        blob = f.read()
    with open(trunc, "wb") as f:
        f.write(blob[: len(blob) // 2])
    expect(run, "truncated", trunc, [])
    foreign = os.path.join(run.dir, "foreign.h5")
    with h5py.File(foreign, "w") as f:
        f["data"] = np.arange(10.0)
    expect(run, "foreign HDF5", foreign, ["format"])

    def set_attr(obj, name, value):
        return lambda f: f[obj].attrs.__setitem__(name, value)

    expect(run, "format version 2", variant(run, "version", set_attr("/", "format_version", 2)),
           ["format_version"])
    expect(run, "missing group", variant(run, "nogroup", lambda f: f.__delitem__("leak")),
           ["/leak"])
    expect(run, "missing dataset", variant(run, "nods", lambda f: f.__delitem__("read/charge")),
           ["read/charge"])
    expect(run, "missing attribute",
           variant(run, "noattr", lambda f: f["params"].attrs.__delitem__("t_max_s")),
           ["t_max_s"])

    for name, val in (("negative t_write_s", -20e-9), ("NaN t_write_s", np.nan)):
        expect(run, name, variant(run, name, set_attr("params", "t_write_s", val)),
               ["/params", "t_write_s"])
    old = variant(run, "no t_write_s", lambda f: f["params"].attrs.__delitem__("t_write_s"))
    # without a write time the token period cannot come from the cell: give it
    r = run.call(["--cell", old, "--token-period", "0.8e-6"], expect_ok=False)
    ok = r.returncode == 0
    print("%-26s rc=%d  %s" % ("no t_write_s loads", r.returncode, "ok" if ok else
                                "FAIL " + r.stderr.strip()))
    if not ok:
        failures.append("no t_write_s")

    def reshape_charge(f):
        c = f["read/charge"][()]
        del f["read/charge"]
        f["read/charge"] = c[:, :-1]
    expect(run, "wrong shape", variant(run, "shape", reshape_charge), ["/read/charge"])

    def shuffle_axis(f):
        a = f["read/v_store"][()]
        a[3], a[4] = a[4], a[3]
        f["read/v_store"][...] = a
    expect(run, "non-monotone axis", variant(run, "mono", shuffle_axis),
           ["/read/v_store", "ascending"])

    def nan_charge(f):
        c = f["read/charge"][()]
        c[2, 3] = np.nan
        f["read/charge"][...] = c
    expect(run, "NaN in a table", variant(run, "nan", nan_charge), ["/read/charge", "finite"])

    def levels_out_of_order(f):
        f["write/level"][...] = f["write/level"][()][::-1]
    expect(run, "DAC codes out of order", variant(run, "codes", levels_out_of_order),
           ["/write/level"])

    def short_time(f):
        t = f["leak/upper_t"][()]
        del f["leak/upper_t"]
        f["leak/upper_t"] = t[:-1]
    expect(run, "leak length mismatch", variant(run, "leak", short_time), ["leak/upper_t"])
    if failures:
        sys.exit("FAILED: %s" % failures)


if __name__ == "__main__":
    main()
